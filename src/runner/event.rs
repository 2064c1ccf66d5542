//! Events the runner emits while it works; reporters consume them and never touch
//! the runner's I/O.

use std::time::Duration;

use crate::finding::Finding;
use crate::images::ImageEvent;
use crate::probe::Attempt;
use crate::report::{StepStatus, Verdict};

#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    Started {
        run_id: String,
        scenario: String,
        steps: usize,
    },
    Image(ImageEvent),
    HostStarting {
        host: String,
    },
    HostReady {
        host: String,
        address: String,
        boot: Duration,
    },
    StepStarted {
        index: usize,
        total: usize,
        name: String,
        kind: &'static str,
    },
    /// A line of progress for the running step.
    StepProgress {
        index: usize,
        message: String,
    },
    ProbeAttempt {
        probe: String,
        attempt: u32,
        result: Attempt,
    },
    StepFinished {
        index: usize,
        name: String,
        status: StepStatus,
        duration: Duration,
        detail: Option<String>,
    },
    Finding(Finding),
    CleanupStarted {
        resources: usize,
    },
    /// The replica was kept for inspection (`--keep`).
    Kept {
        hosts: Vec<(String, String)>,
        network: String,
    },
    Finished {
        verdict: Verdict,
        duration: Duration,
    },
}

/// Something that wants to hear about the run as it happens.
pub trait EventSink: Send {
    fn event(&mut self, event: &RunEvent);
}

impl<F: FnMut(&RunEvent) + Send> EventSink for F {
    fn event(&mut self, event: &RunEvent) {
        self(event)
    }
}
