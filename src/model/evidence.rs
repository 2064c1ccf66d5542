//! What a probe attempt saw: the evidence kept in reports and events.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What one attempt saw: enough for an admin to tell why it failed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    /// One line: what was expected and what came back.
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_excerpt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub passed: bool,
    pub evidence: Evidence,
}

impl Attempt {
    pub fn pass(evidence: Evidence) -> Self {
        Attempt {
            passed: true,
            evidence,
        }
    }

    pub fn fail(evidence: Evidence) -> Self {
        Attempt {
            passed: false,
            evidence,
        }
    }
}
