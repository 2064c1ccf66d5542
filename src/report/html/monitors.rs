//! A monitor's section: its chart and legend, requests and unavailability, where the
//! requests went, latency before, during and after the change, and its writes.

use std::io::{self, Write};

use super::escape::escape;
use super::words::{milliseconds, seconds};
use super::{chart, legend, writes};
use crate::model::RequestCounts;
use crate::monitor::{LatencySummary, MonitorReport};

/// A monitor: its chart, then the numbers behind it.
pub(super) fn section(
    index: usize,
    monitor: &MonitorReport,
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(
        out,
        "<section id=\"monitor-{index}\"><h2>Monitor {} <span class=\"muted\">· {} requests/s for {}</span></h2>",
        escape(&monitor.name),
        monitor.rate,
        seconds(monitor.duration_ms)
    )?;
    if monitor.timeline.is_empty() {
        writeln!(out, "<p class=\"muted\">No request was sent.</p>")?;
    } else {
        chart::monitor_chart(monitor, out)?;
        writeln!(
            out,
            "<p class=\"legend\">{} · latency on a log scale, from the scheduled send time</p>",
            legend::monitor(monitor)
        )?;
    }
    let failed_class = if monitor.failed > 0 { "lost" } else { "pass" };
    writeln!(
        out,
        "<dl class=\"facts\"><dt>requests</dt><dd>{} sent, <span class=\"{failed_class}\">{} failed</span>{}</dd><dt>longest unavailability</dt><dd><span class=\"{failed_class}\">{}</span></dd>",
        monitor.sent,
        monitor.failed,
        monitor.timed_out_note(),
        seconds(monitor.longest_unavailability_ms)
    )?;
    if !monitor.served_by.is_empty() {
        writeln!(
            out,
            "<dt>served by</dt><dd>{}</dd>",
            counts(&monitor.served_by)
        )?;
    }
    if !monitor.clients.is_empty() {
        writeln!(
            out,
            "<dt>clients resolved to</dt><dd>{}</dd>",
            counts(&monitor.clients)
        )?;
    }
    writeln!(out, "</dl>")?;
    latency_table(monitor, out)?;
    if !monitor.unavailability_windows.is_empty() {
        writeln!(
            out,
            "<details><summary>Unavailability windows ({})</summary><table><thead><tr><th class=\"num\">from</th><th class=\"num\">to</th><th class=\"num\">length</th><th class=\"num\">failed</th><th>first error</th></tr></thead><tbody>",
            monitor.unavailability_windows.len()
        )?;
        for window in &monitor.unavailability_windows {
            writeln!(
                out,
                "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"mono\">{}</td></tr>",
                seconds(window.start_ms),
                seconds(window.end_ms),
                seconds(window.length_ms()),
                window.failed_requests,
                escape(&window.first_error)
            )?;
        }
        writeln!(out, "</tbody></table></details>")?;
    }
    if let Some(writes) = &monitor.writes {
        writes::summary(writes, out)?;
    }
    writeln!(out, "</section>")
}

/// `host n (p%)` for each host, by name.
fn counts(counts: &std::collections::BTreeMap<String, u64>) -> String {
    let total: u64 = counts.values().sum::<u64>().max(1);
    counts
        .iter()
        .map(|(host, n)| {
            format!(
                "<strong>{}</strong> {n} ({:.0}%)",
                escape(host),
                *n as f64 * 100.0 / total as f64
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Percentiles over the whole monitor, and before, during and after the change, beside
/// the requests that failed and timed out in each.
fn latency_table(monitor: &MonitorReport, out: &mut impl Write) -> io::Result<()> {
    type Row<'a> = (String, Option<RequestCounts>, Option<&'a LatencySummary>);
    let mut rows: Vec<Row> = Vec::new();
    if let Some(phases) = &monitor.phases {
        let requests = phases.requests.as_ref();
        rows.push((
            format!(
                "before ({} – {})",
                seconds(0),
                seconds(phases.change_start_ms)
            ),
            requests.map(|r| r.before),
            phases.before.as_ref(),
        ));
        rows.push((
            format!(
                "during the change ({} – {})",
                seconds(phases.change_start_ms),
                seconds(phases.change_end_ms)
            ),
            requests.map(|r| r.during),
            phases.during.as_ref(),
        ));
        rows.push((
            format!("after (from {})", seconds(phases.change_end_ms)),
            requests.map(|r| r.after),
            phases.after.as_ref(),
        ));
    }
    rows.push((
        "whole run".to_string(),
        Some(RequestCounts {
            sent: monitor.sent,
            failed: monitor.failed,
            timeouts: monitor.timeouts,
        }),
        monitor.latency.as_ref(),
    ));
    writeln!(
        out,
        "<div class=\"scroll\"><table><thead><tr><th>requests</th><th class=\"num\">sent</th><th class=\"num\">failed</th><th class=\"num\">timed out</th><th class=\"num\">p50</th><th class=\"num\">p99</th><th class=\"num\">p99.9</th><th class=\"num\">max</th></tr></thead><tbody>"
    )?;
    for (label, counts, summary) in rows {
        let counts = match counts {
            Some(c) => format!(
                "<td class=\"num\">{}</td><td class=\"num\"><span class=\"{}\">{}</span></td><td class=\"num\"><span class=\"{}\">{}</span></td>",
                c.sent,
                if c.failed > 0 { "lost" } else { "pass" },
                c.failed,
                if c.timeouts > 0 { "lost" } else { "pass" },
                c.timeouts
            ),
            None => "<td class=\"num muted\">–</td><td class=\"num muted\">–</td><td class=\"num muted\">–</td>".to_string(),
        };
        match summary {
            Some(l) => writeln!(
                out,
                "<tr><td>{label}</td>{counts}<td class=\"num\">{}</td><td class=\"num\"><strong>{}</strong></td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                milliseconds(l.p50_ms),
                milliseconds(l.p99_ms),
                milliseconds(l.p999_ms),
                milliseconds(l.max_ms)
            )?,
            None => writeln!(
                out,
                "<tr><td>{label}</td>{counts}<td colspan=\"4\" class=\"muted\">no successful request</td></tr>"
            )?,
        }
    }
    writeln!(
        out,
        "</tbody></table></div><p class=\"legend\">Latency of the successful requests, from the scheduled send time to the last byte of the answer; failed requests (timeouts included) are counted apart.</p>"
    )
}
