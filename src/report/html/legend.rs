//! The legends under the charts: a colour swatch beside each label, in the colours
//! [`super::chart`] draws with.

use super::chart;
use super::escape::escape;
use crate::monitor::MonitorReport;
use crate::report::StepStatus;

/// The step timeline's legend: one swatch per status.
pub(super) fn steps() -> String {
    [
        (StepStatus::Passed, false, "passed"),
        (StepStatus::Failed, false, "failed"),
        (StepStatus::Failed, true, "failed, allowed"),
        (StepStatus::Skipped, false, "skipped"),
    ]
    .iter()
    .map(|(status, allow_failure, label)| {
        swatch(chart::step_colour(*status, *allow_failure), label)
    })
    .collect()
}

/// A monitor chart's legend: its three series, then each kind of marked moment.
pub(super) fn monitor(monitor: &MonitorReport) -> String {
    let mut legend = vec![
        swatch("#0969da", "median latency per second"),
        swatch("#fb8500", "highest latency per second"),
        swatch(
            "#cf222e",
            if monitor.failed > 0 {
                "failed requests per second"
            } else {
                "failed requests per second (none)"
            },
        ),
    ];
    let mut kinds: Vec<&str> = Vec::new();
    for mark in &monitor.marks {
        if !kinds.contains(&mark.kind.as_str()) {
            kinds.push(&mark.kind);
        }
    }
    for kind in kinds {
        legend.push(swatch(chart::mark_colour(kind), kind));
    }
    legend.join("")
}

/// A square of `colour` before its label.
/// A square of `colour` before its label.
fn swatch(colour: &str, label: &str) -> String {
    format!(
        "<span><i class=\"swatch\" style=\"background:{colour}\"></i>{}</span>",
        escape(label)
    )
}
