//! Events the runner emits while it works; reporters consume them and never touch
//! the runner's I/O.

use std::time::Duration;

use super::{Attempt, Finding, ImageEvent, StepStatus, Verdict};
use crate::redact::Redactor;

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
    /// A line a command of the running step printed on a host (stdout or stderr).
    StepOutput {
        index: usize,
        host: String,
        line: String,
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
        /// A failure of this step is allowed (`allow_failure: true`).
        allow_failure: bool,
        duration: Duration,
        detail: Option<String>,
    },
    Finding(Finding),
    /// Something the user should know that is not a finding about the replica: a
    /// resource that could not be removed, a package cache out of reach. The text
    /// starts with its level (`warning: …`, `notice: …`).
    Notice {
        message: String,
    },
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

impl RunEvent {
    /// The event with every secret value replaced by its marker.
    pub fn redacted(&self, r: &Redactor) -> RunEvent {
        let text = |s: &String| r.redact(s).into_owned();
        match self {
            RunEvent::Started {
                run_id,
                scenario,
                steps,
            } => RunEvent::Started {
                run_id: text(run_id),
                scenario: text(scenario),
                steps: *steps,
            },
            RunEvent::Image(event) => RunEvent::Image(match event {
                ImageEvent::CacheHit { what, reference } => ImageEvent::CacheHit {
                    what: text(what),
                    reference: text(reference),
                },
                ImageEvent::Building { what, reference } => ImageEvent::Building {
                    what: text(what),
                    reference: text(reference),
                },
                ImageEvent::Output { what, line } => ImageEvent::Output {
                    what: text(what),
                    line: text(line),
                },
                ImageEvent::Built {
                    what,
                    reference,
                    duration,
                } => ImageEvent::Built {
                    what: text(what),
                    reference: text(reference),
                    duration: *duration,
                },
            }),
            RunEvent::HostStarting { host } => RunEvent::HostStarting { host: text(host) },
            RunEvent::HostReady {
                host,
                address,
                boot,
            } => RunEvent::HostReady {
                host: text(host),
                address: text(address),
                boot: *boot,
            },
            RunEvent::StepStarted {
                index,
                total,
                name,
                kind,
            } => RunEvent::StepStarted {
                index: *index,
                total: *total,
                name: text(name),
                kind,
            },
            RunEvent::StepProgress { index, message } => RunEvent::StepProgress {
                index: *index,
                message: text(message),
            },
            RunEvent::StepOutput { index, host, line } => RunEvent::StepOutput {
                index: *index,
                host: text(host),
                line: text(line),
            },
            RunEvent::ProbeAttempt {
                probe,
                attempt,
                result,
            } => RunEvent::ProbeAttempt {
                probe: text(probe),
                attempt: *attempt,
                result: Attempt {
                    passed: result.passed,
                    evidence: r.redact_serialized(&result.evidence),
                },
            },
            RunEvent::StepFinished {
                index,
                name,
                status,
                allow_failure,
                duration,
                detail,
            } => RunEvent::StepFinished {
                index: *index,
                name: text(name),
                status: *status,
                allow_failure: *allow_failure,
                duration: *duration,
                detail: detail.as_ref().map(text),
            },
            RunEvent::Finding(finding) => RunEvent::Finding(r.redact_serialized(finding)),
            RunEvent::Notice { message } => RunEvent::Notice {
                message: text(message),
            },
            RunEvent::CleanupStarted { resources } => RunEvent::CleanupStarted {
                resources: *resources,
            },
            RunEvent::Kept { hosts, network } => RunEvent::Kept {
                hosts: hosts.iter().map(|(h, id)| (text(h), text(id))).collect(),
                network: text(network),
            },
            RunEvent::Finished { verdict, duration } => RunEvent::Finished {
                verdict: *verdict,
                duration: *duration,
            },
        }
    }
}

/// Hands every event on with the run's secrets redacted: the runner wraps the sink it
/// is given in one, so no reporter ever sees a secret value.
pub(crate) struct RedactingSink<'a> {
    pub inner: &'a mut dyn EventSink,
    pub redactor: &'a Redactor,
}

impl EventSink for RedactingSink<'_> {
    fn event(&mut self, event: &RunEvent) {
        if self.redactor.is_empty() {
            self.inner.event(event);
        } else {
            self.inner.event(&event.redacted(self.redactor));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::Secret;

    #[test]
    fn progress_details_and_evidence_are_redacted() {
        let redactor = Redactor::new(&[Secret {
            name: "PW".into(),
            value: "pa55word".into(),
        }]);
        let mut seen = Vec::new();
        {
            let mut record = |event: &RunEvent| seen.push(format!("{event:?}"));
            let mut sink = RedactingSink {
                inner: &mut record,
                redactor: &redactor,
            };
            sink.event(&RunEvent::StepProgress {
                index: 1,
                message: "web$ echo pa55word".into(),
            });
            sink.event(&RunEvent::ProbeAttempt {
                probe: "p".into(),
                attempt: 1,
                result: Attempt::fail(crate::model::Evidence {
                    summary: "got pa55word".into(),
                    output: Some("pa55word\n".into()),
                    ..Default::default()
                }),
            });
        }
        let all = seen.join("\n");
        assert!(!all.contains("pa55word"), "{all}");
        assert_eq!(all.matches("[redacted:PW]").count(), 3, "{all}");
    }
}
