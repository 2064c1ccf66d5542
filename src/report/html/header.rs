//! The top of the page: the banner with the verdict and why, and the links to each
//! section below it.

use std::io::{self, Write};

use super::escape::{escape, prose};
use super::words::seconds;
use crate::report::{Report, Verdict};

/// The verdict, what ran and when, and the one-line reason.
pub(super) fn banner(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let class = match report.verdict {
        _ if report.interrupted => "interrupted",
        Verdict::Go => "go",
        Verdict::NoGo => "nogo",
    };
    let during = report
        .steps
        .iter()
        .find(|s| s.interrupted)
        .map(|s| format!(", during step “{}”", escape(&s.name)))
        .unwrap_or_default();
    let why = match report.gates.iter().find(|g| !g.passed) {
        _ if report.interrupted => {
            format!("Stopped before it finished{during}: nothing was judged.")
        }
        Some(gate) => format!(
            "Why: gate “{}” failed — {}",
            escape(&gate.name),
            prose(&gate.detail)
        ),
        None => format!("All {} gates hold.", report.gates.len()),
    };
    writeln!(
        out,
        "<header class=\"banner {class}\"><div class=\"inner\"><div class=\"verdict\">{}</div><div><h1>{}</h1><p>Started {} · took {} · {} steps{}</p><p class=\"why\">{why}</p></div></div></header>",
        report.headline(),
        escape(&report.scenario),
        report.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        seconds(report.duration_ms),
        report.steps.len(),
        match (&report.resumed_from, report.interrupted) {
            (_, true) => " · <strong>interrupted</strong>".to_string(),
            (Some(resumed), false) => format!(
                " · resumed at step “{}” from the checkpoint of run {}",
                escape(&resumed.step),
                escape(&resumed.run_id)
            ),
            (None, false) => String::new(),
        },
    )
}

/// One link per section the page has, in the page's order.
pub(super) fn navigation(report: &Report, out: &mut impl Write) -> io::Result<()> {
    write!(
        out,
        "<nav><a href=\"#findings\">Findings ({})</a><a href=\"#gates\">Gates</a><a href=\"#steps\">Steps</a>",
        report.findings.len()
    )?;
    if report.steps.iter().any(|s| s.recovery.is_some()) {
        write!(out, "<a href=\"#restores\">Restores</a>")?;
    }
    for (i, monitor) in report.monitors.iter().enumerate() {
        write!(
            out,
            "<a href=\"#monitor-{i}\">Monitor {}</a>",
            escape(&monitor.name)
        )?;
    }
    if report.steps.iter().any(|s| s.upgrade.is_some()) {
        write!(out, "<a href=\"#packages\">Packages</a>")?;
    }
    writeln!(
        out,
        "<a href=\"#environment\">Environment</a><a href=\"#not-covered\">Not covered</a></nav>"
    )
}
