//! Findings: what a rehearsal discovered, Leapp-style — a stable key, a severity,
//! whether it inhibits the change (forces NO-GO), the evidence and a remediation hint.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown severity `{text}`: expected info, low, medium or high"
                ))
            })
    }
}

impl JsonSchema for Severity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Severity".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": Severity::ALL.map(Severity::as_str),
        })
    }
}

/// Severity of a finding, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}
