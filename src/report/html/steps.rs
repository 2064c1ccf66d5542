//! The steps section: the timeline chart and its legend, then each step's row with its
//! checks, evidence and logs folded (unfolded when it decides the verdict), then the
//! probes over the run.

use std::io::{self, Write};

use super::escape::{escape, prose};
use super::words::{plural, seconds};
use super::{chart, legend, probes};
use crate::report::{Report, StepReport, StepStatus};

/// The step timeline, the steps' table with their evidence, and the probes over the run.
pub(super) fn section(report: &Report, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "<section id=\"steps\"><h2>Steps</h2>")?;
    if report.steps.is_empty() {
        writeln!(out, "<p class=\"muted\">No step ran.</p></section>")?;
        return Ok(());
    }
    chart::step_timeline(&report.steps, out)?;
    writeln!(out, "<p class=\"legend\">{}</p>", legend::steps())?;
    writeln!(
        out,
        "<table><thead><tr><th class=\"num\">#</th><th>step</th><th>kind</th><th>status</th><th class=\"num\">time</th><th>detail</th></tr></thead><tbody>"
    )?;
    for (i, step) in report.steps.iter().enumerate() {
        write!(
            out,
            "<tr{}><td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td>",
            if step.status == StepStatus::Failed && !step.allow_failure {
                " class=\"failed\""
            } else {
                ""
            },
            i + 1,
            escape(&step.name),
            escape(&step.kind),
            step_status(step),
            seconds(step.duration_ms)
        )?;
        if let Some(detail) = &step.detail {
            write!(out, "{}", prose(detail))?;
        }
        step_evidence(step, out)?;
        writeln!(out, "</td></tr>")?;
    }
    writeln!(out, "</tbody></table>")?;
    probes::table(&report.probes, out)?;
    writeln!(out, "</section>")
}

fn step_status(step: &StepReport) -> &'static str {
    match step.status {
        StepStatus::Passed => "<span class=\"pass\">passed</span>",
        StepStatus::Failed if step.allow_failure => {
            "<span class=\"allowed\">failed (allowed)</span>"
        }
        StepStatus::Failed => "<span class=\"fail\">FAILED</span>",
        StepStatus::Skipped if step.interrupted => "<span class=\"allowed\">interrupted</span>",
        StepStatus::Skipped => "<span class=\"skip\">skipped</span>",
    }
}

/// A step's checks, evidence and log paths, folded.
fn step_evidence(step: &StepReport, out: &mut impl Write) -> io::Result<()> {
    let mut parts = Vec::new();
    if !step.checks.is_empty() {
        let failed = step.checks.iter().filter(|c| !c.passed).count();
        parts.push(match failed {
            0 => plural(step.checks.len(), "check"),
            _ => format!("{}, {failed} failed", plural(step.checks.len(), "check")),
        });
    }
    if step.evidence.is_some() {
        parts.push("evidence".to_string());
    }
    if !step.logs.is_empty() {
        parts.push(plural(step.logs.len(), "log"));
    }
    if parts.is_empty() {
        return Ok(());
    }
    // A failure that decides the verdict shows its evidence unfolded.
    let open = if step.status == StepStatus::Failed && !step.allow_failure {
        " open"
    } else {
        ""
    };
    writeln!(
        out,
        "<details{open}><summary>{}</summary>",
        parts.join(", ")
    )?;
    for check in &step.checks {
        writeln!(
            out,
            "<p>{} probe <code>{}</code> · {} attempts · {}</p>",
            if check.passed {
                "<span class=\"pass\">pass</span>"
            } else {
                "<span class=\"fail\">FAIL</span>"
            },
            escape(&check.probe),
            check.attempts,
            seconds(check.duration_ms)
        )?;
        probes::evidence(&check.evidence, out)?;
    }
    if let Some(seen) = &step.evidence {
        probes::evidence(seen, out)?;
    }
    if !step.logs.is_empty() {
        writeln!(out, "<p>Logs, in the report folder:</p><ul>")?;
        for log in &step.logs {
            writeln!(out, "<li><code>{}</code></li>", escape(log))?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</details>")
}
