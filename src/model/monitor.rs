//! What a monitor measured, as the report keeps it: unavailability windows, latency,
//! the timeline, who served, and acknowledged writes.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A run of failed requests: from the first failed one's scheduled time to the next
/// successful one's (or to the end of monitoring).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UnavailabilityWindow {
    pub start_ms: u64,
    pub end_ms: u64,
    pub failed_requests: u64,
    /// What the first failed request saw.
    pub first_error: String,
}

impl UnavailabilityWindow {
    pub fn length_ms(&self) -> u64 {
        self.end_ms - self.start_ms
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencySummary {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// One second of the monitor's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TimelineBucket {
    pub second: u64,
    pub ok: u64,
    pub failed: u64,
    /// Median and highest latency of the second's successful requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ms: Option<f64>,
}

/// A moment of the run shown on the monitor's timeline (a cutover, a DNS switch...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MarkReport {
    /// The step's name.
    pub label: String,
    /// The step's kind.
    pub kind: String,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// Latency before, during and after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhaseLatency {
    pub change_start_ms: u64,
    pub change_end_ms: u64,
    pub before: Option<LatencySummary>,
    pub during: Option<LatencySummary>,
    pub after: Option<LatencySummary>,
    /// Requests, failures and timeouts in each phase (reports before Dec 2026 lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<PhaseRequests>,
}

/// How many requests were due in each phase, and how many of them failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PhaseRequests {
    pub before: RequestCounts,
    pub during: RequestCounts,
    pub after: RequestCounts,
}

/// Requests sent, failed, and of those failed, timed out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RequestCounts {
    pub sent: u64,
    pub failed: u64,
    pub timeouts: u64,
}

impl std::ops::AddAssign for RequestCounts {
    fn add_assign(&mut self, other: RequestCounts) {
        self.sent += other.sent;
        self.failed += other.failed;
        self.timeouts += other.timeouts;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MonitorReport {
    pub name: String,
    /// Requests per second asked for.
    pub rate: u32,
    pub duration_ms: u64,
    pub sent: u64,
    /// Requests that failed (timeouts included).
    pub failed: u64,
    /// Of the failed requests, those with no complete answer within the timeout.
    #[serde(default)]
    pub timeouts: u64,
    pub longest_unavailability_ms: u64,
    /// The longest windows, longest first (at most five).
    pub unavailability_windows: Vec<UnavailabilityWindow>,
    /// Latency from the scheduled send time to the last byte, of the successful requests.
    pub latency: Option<LatencySummary>,
    pub served_by: BTreeMap<String, u64>,
    /// Requests by the host their client resolved the site to (two populations
    /// during a DNS switch).
    pub clients: BTreeMap<String, u64>,
    /// Latency before, during and after the change, when one happened while monitoring.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phases: Option<PhaseLatency>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<MarkReport>,
    /// Acknowledged writes checked against the databases (writer monitors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writes: Option<WritesReport>,
    pub timeline: Vec<TimelineBucket>,
}

impl MonitorReport {
    /// What every view adds after its failed requests: ` (3 timed out)`, or nothing.
    pub fn timed_out_note(&self) -> String {
        if self.timeouts > 0 {
            format!(" ({} timed out)", self.timeouts)
        } else {
            String::new()
        }
    }
}

/// One write, as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WriteExample {
    pub token: String,
    /// When it was due, from the monitor's start.
    pub sent_at_ms: u64,
    /// The status it got (none: no answer).
    pub status: Option<u16>,
    /// The host whose name the client resolved the site to.
    pub client_host: String,
    /// The marker header of the answer: which host served it.
    pub served_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WritesReport {
    pub sent: u64,
    /// Writes answered with the expected status.
    pub acknowledged: u64,
    /// This monitor's tokens found in the database that serves after the move.
    pub stored: Option<u64>,
    /// This monitor's tokens found in the old database.
    pub stored_old: Option<u64>,
    /// Acknowledged writes missing from the serving database.
    pub lost: u64,
    pub lost_examples: Vec<WriteExample>,
    /// Writes sent after the cutover that reached the old database.
    pub split: u64,
    pub split_examples: Vec<WriteExample>,
    /// The cutover moment split writes are counted from, from the monitor's start.
    pub switch_at_ms: Option<u64>,
    /// What could not be measured, and why (a listing that failed, no cutover).
    pub problems: Vec<String>,
}

impl WritesReport {
    /// Whether lost writes were measured.
    pub fn lost_measured(&self) -> bool {
        self.stored.is_some()
    }

    /// Whether split writes were measured.
    pub fn split_measured(&self) -> bool {
        self.stored_old.is_some() && self.switch_at_ms.is_some()
    }
}
