//! Plain-text pieces shared by the file renderers (JUnit, Markdown): evidence as lines,
//! durations and numbers as people read them.

use crate::probe::Evidence;

use super::{StepReport, StepStatus};

/// Evidence as plain text: the summary first, then what came back.
pub fn evidence(evidence: &Evidence) -> String {
    let mut lines = vec![evidence.summary.clone()];
    if let Some(status) = evidence.status {
        lines.push(format!("status: {status}"));
    }
    if let Some(code) = evidence.exit_code {
        lines.push(format!("exit code: {code}"));
    }
    if let Some(output) = evidence.output.as_deref().filter(|o| !o.trim().is_empty()) {
        lines.push(format!("output:\n{}", output.trim_end()));
    }
    if let Some(body) = evidence
        .body_excerpt
        .as_deref()
        .filter(|b| !b.trim().is_empty())
    {
        lines.push(format!("body excerpt:\n{}", body.trim_end()));
    }
    lines.join("\n")
}

/// What a step saw: its own evidence, then each failed check's (each passed one's too
/// when none failed and the step did), headed by the probe's name.
pub fn step_evidence(step: &StepReport) -> String {
    let mut parts = Vec::new();
    if let Some(e) = &step.evidence {
        parts.push(evidence(e));
    }
    let failed = step.status == StepStatus::Failed;
    for check in step.checks.iter().filter(|c| !failed || !c.passed) {
        let verdict = if check.passed { "passed" } else { "failed" };
        parts.push(format!(
            "probe `{}` {verdict} after {} attempt(s) in {}:\n{}",
            check.probe,
            check.attempts,
            seconds(check.duration_ms),
            evidence(&check.evidence)
        ));
    }
    if !step.logs.is_empty() {
        parts.push(format!("logs: {}", step.logs.join(", ")));
    }
    parts.join("\n\n")
}

/// `1.0 s`, `95.6 s`: a tenth of a second is what a step's time needs.
pub fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}
