//! Findings: what a rehearsal discovered, Leapp-style — a stable key, a severity,
//! whether it inhibits the change (forces NO-GO), the evidence and a remediation hint.

use serde::Serialize;

use crate::scenario::Severity;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier, e.g. `systemd.degraded`, for scripts and diffs.
    pub key: String,
    pub severity: Severity,
    pub inhibitor: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub message: String,
    pub remediation: String,
    /// Log lines or command output that show it.
    pub evidence: Vec<String>,
}

impl Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
