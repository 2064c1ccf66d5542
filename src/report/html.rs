//! `report.html`: one self-contained page for people — no external assets, no script,
//! readable offline. It answers first (the verdict and why), then what blocks (inhibitors),
//! then the evidence: gates, steps, monitors, package changes, environment. Every string
//! from the report goes through [`escape`].

mod chart;

use std::io::{self, Write};

use super::{GateReport, HopReport, Report, StepReport, StepStatus, UpgradeReport, Verdict};
use crate::finding::Finding;
use crate::monitor::{LatencySummary, MonitorReport, WriteExample, WritesReport};
use crate::probe::Evidence;

/// The page's style sheet, inlined: the page loads nothing.
const STYLE: &str = include_str!("html/style.css");

/// Text made safe for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Render the report as a self-contained HTML page.
pub fn render_html(report: &Report, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} {} — rehearse</title>\n<style>\n{STYLE}</style>\n</head>\n<body>",
        report.verdict.as_str(),
        escape(&report.scenario)
    )?;
    banner(report, out)?;
    navigation(report, out)?;
    writeln!(out, "<main>")?;
    findings(&report.findings, out)?;
    gates(&report.gates, out)?;
    steps(report, out)?;
    restores(&report.steps, out)?;
    for (index, monitor) in report.monitors.iter().enumerate() {
        monitor_section(index, monitor, out)?;
    }
    upgrades(&report.steps, out)?;
    environment(report, out)?;
    writeln!(out, "</main>\n</body>\n</html>")
}

/// The verdict, what ran and when, and the one-line reason.
fn banner(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let class = match report.verdict {
        Verdict::Go => "go",
        Verdict::NoGo => "nogo",
    };
    let why = match report.gates.iter().find(|g| !g.passed) {
        Some(gate) => format!(
            "Why: gate “{}” failed — {}",
            escape(&gate.name),
            escape(&gate.detail)
        ),
        None if report.interrupted => "Why: the run was interrupted before it finished".into(),
        None => format!("All {} gates hold.", report.gates.len()),
    };
    writeln!(
        out,
        "<header class=\"banner {class}\"><div class=\"inner\"><div class=\"verdict\">{}</div><div><h1>{}</h1><p>Started {} · took {} · {} steps{}</p><p class=\"why\">{why}</p></div></div></header>",
        report.verdict.as_str(),
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

fn navigation(report: &Report, out: &mut impl Write) -> io::Result<()> {
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

/// Inhibitors first, then the rest by severity, highest first.
fn findings(findings: &[Finding], out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "<section id=\"findings\"><h2>Findings</h2>")?;
    if findings.is_empty() {
        writeln!(out, "<p class=\"muted\">No findings.</p>")?;
    }
    let (inhibitors, mut others): (Vec<&Finding>, Vec<&Finding>) =
        findings.iter().partition(|f| f.inhibitor);
    if !inhibitors.is_empty() {
        writeln!(out, "<h3>Inhibitors — each forces NO-GO</h3>")?;
        for finding in inhibitors {
            finding_card(finding, out)?;
        }
    }
    others.sort_by_key(|f| std::cmp::Reverse(f.severity));
    if !others.is_empty() {
        writeln!(out, "<h3>Other findings, by severity</h3>")?;
        for finding in others {
            finding_card(finding, out)?;
        }
    }
    writeln!(out, "</section>")
}

fn finding_card(finding: &Finding, out: &mut impl Write) -> io::Result<()> {
    let severity = finding.severity.as_str();
    let inhibitor = if finding.inhibitor { " inhibitor" } else { "" };
    write!(
        out,
        "<div class=\"finding {severity}{inhibitor}\"><p><span class=\"badge {severity}\">{severity}</span> "
    )?;
    if finding.inhibitor {
        write!(out, "<span class=\"badge inhibitor\">inhibitor</span> ")?;
    }
    write!(out, "<code>{}</code>", escape(&finding.key))?;
    if let Some(host) = &finding.host {
        write!(out, " on <strong>{}</strong>", escape(host))?;
    }
    writeln!(
        out,
        "</p><p>{}</p><p><strong>Remediation:</strong> {}</p>",
        escape(&finding.message),
        escape(&finding.remediation)
    )?;
    if !finding.evidence.is_empty() {
        writeln!(
            out,
            "<details><summary>Evidence ({})</summary><pre>{}</pre></details>",
            plural(finding.evidence.len(), "line"),
            escape(&finding.evidence.join("\n"))
        )?;
    }
    writeln!(out, "</div>")
}

fn gates(gates: &[GateReport], out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "<section id=\"gates\"><h2>Gates</h2><table><thead><tr><th>gate</th><th>result</th><th class=\"num\">value</th><th class=\"num\">limit</th><th>detail</th></tr></thead><tbody>"
    )?;
    for gate in gates {
        writeln!(
            out,
            "<tr{}><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            if gate.passed { "" } else { " class=\"failed\"" },
            escape(&gate.name),
            if gate.passed {
                "<span class=\"pass\">pass</span>"
            } else {
                "<span class=\"fail\">FAIL</span>"
            },
            gate.value,
            gate.limit,
            escape(&gate.detail)
        )?;
    }
    writeln!(out, "</tbody></table></section>")
}

/// The step timeline, the steps' table with their evidence, and the probes over the run.
fn steps(report: &Report, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "<section id=\"steps\"><h2>Steps</h2>")?;
    if report.steps.is_empty() {
        writeln!(out, "<p class=\"muted\">No step ran.</p></section>")?;
        return Ok(());
    }
    chart::step_timeline(&report.steps, out)?;
    writeln!(out, "<p class=\"legend\">{}</p>", step_legend())?;
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
            write!(out, "{}", escape(detail))?;
        }
        step_evidence(step, out)?;
        writeln!(out, "</td></tr>")?;
    }
    writeln!(out, "</tbody></table>")?;
    if !report.probes.is_empty() {
        writeln!(
            out,
            "<h3>Probes over the run</h3><table><thead><tr><th>probe</th><th>kind</th><th>host</th><th class=\"num\">checks failed</th><th class=\"num\">attempts failed</th><th>last failure</th></tr></thead><tbody>"
        )?;
        for probe in &report.probes {
            writeln!(
                out,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{} of {}</td><td class=\"num\">{} of {}</td><td>{}</td></tr>",
                escape(&probe.name),
                escape(&probe.kind),
                escape(&probe.host),
                probe.failed_checks,
                probe.checks,
                probe.failures,
                probe.attempts,
                probe
                    .last_failure
                    .as_ref()
                    .map_or_else(String::new, |e| escape(&e.summary))
            )?;
        }
        writeln!(out, "</tbody></table>")?;
    }
    writeln!(out, "</section>")
}

fn step_legend() -> String {
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

fn swatch(colour: &str, label: &str) -> String {
    format!(
        "<span><i class=\"swatch\" style=\"background:{colour}\"></i>{}</span>",
        escape(label)
    )
}

fn step_status(step: &StepReport) -> &'static str {
    match step.status {
        StepStatus::Passed => "<span class=\"pass\">passed</span>",
        StepStatus::Failed if step.allow_failure => {
            "<span class=\"allowed\">failed (allowed)</span>"
        }
        StepStatus::Failed => "<span class=\"fail\">FAILED</span>",
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
        evidence(&check.evidence, out)?;
    }
    if let Some(seen) = &step.evidence {
        evidence(seen, out)?;
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

fn evidence(evidence: &Evidence, out: &mut impl Write) -> io::Result<()> {
    write!(out, "<p class=\"mono\">{}", escape(&evidence.summary))?;
    if let Some(status) = evidence.status {
        write!(out, " · HTTP {status}")?;
    }
    if let Some(code) = evidence.exit_code {
        write!(out, " · exit code {code}")?;
    }
    writeln!(out, "</p>")?;
    for text in [&evidence.body_excerpt, &evidence.output]
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
    {
        writeln!(out, "<pre>{}</pre>", escape(text))?;
    }
    Ok(())
}

/// A monitor: its chart, then the numbers behind it.
fn monitor_section(index: usize, monitor: &MonitorReport, out: &mut impl Write) -> io::Result<()> {
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
        writeln!(
            out,
            "<p class=\"legend\">{} · latency on a log scale, from the scheduled send time</p>",
            legend.join("")
        )?;
    }
    let failed_class = if monitor.failed > 0 { "lost" } else { "pass" };
    writeln!(
        out,
        "<dl class=\"facts\"><dt>requests</dt><dd>{} sent, <span class=\"{failed_class}\">{} failed</span></dd><dt>longest unavailability</dt><dd><span class=\"{failed_class}\">{}</span></dd>",
        monitor.sent,
        monitor.failed,
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
        writes_summary(writes, out)?;
    }
    writeln!(out, "</section>")
}

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

/// Percentiles over the whole monitor, and before, during and after the change.
fn latency_table(monitor: &MonitorReport, out: &mut impl Write) -> io::Result<()> {
    let mut rows: Vec<(String, Option<&LatencySummary>)> = Vec::new();
    if let Some(phases) = &monitor.phases {
        rows.push((
            format!(
                "before ({} – {})",
                seconds(0),
                seconds(phases.change_start_ms)
            ),
            phases.before.as_ref(),
        ));
        rows.push((
            format!(
                "during the change ({} – {})",
                seconds(phases.change_start_ms),
                seconds(phases.change_end_ms)
            ),
            phases.during.as_ref(),
        ));
        rows.push((
            format!("after (from {})", seconds(phases.change_end_ms)),
            phases.after.as_ref(),
        ));
    }
    rows.push(("whole run".to_string(), monitor.latency.as_ref()));
    writeln!(
        out,
        "<table><thead><tr><th>latency of successful requests</th><th class=\"num\">p50</th><th class=\"num\">p99</th><th class=\"num\">p99.9</th><th class=\"num\">max</th></tr></thead><tbody>"
    )?;
    for (label, summary) in rows {
        match summary {
            Some(l) => writeln!(
                out,
                "<tr><td>{label}</td><td class=\"num\">{}</td><td class=\"num\"><strong>{}</strong></td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                milliseconds(l.p50_ms),
                milliseconds(l.p99_ms),
                milliseconds(l.p999_ms),
                milliseconds(l.max_ms)
            )?,
            None => writeln!(
                out,
                "<tr><td>{label}</td><td colspan=\"4\" class=\"muted\">no successful request</td></tr>"
            )?,
        }
    }
    writeln!(out, "</tbody></table>")
}

fn writes_summary(writes: &WritesReport, out: &mut impl Write) -> io::Result<()> {
    let stored = |n: Option<u64>| n.map_or("not measured".to_string(), |n| n.to_string());
    let class = |n: u64| if n > 0 { "lost" } else { "pass" };
    writeln!(
        out,
        "<h3>Writes</h3><dl class=\"facts\"><dt>sent</dt><dd>{} ({} acknowledged)</dd><dt>stored</dt><dd>{} in the database serving after the move, {} in the old one</dd><dt>lost</dt><dd><span class=\"{}\">{}</span> acknowledged but missing</dd><dt>split</dt><dd><span class=\"{}\">{}</span> reached the old database after the switch{}</dd></dl>",
        writes.sent,
        writes.acknowledged,
        stored(writes.stored),
        stored(writes.stored_old),
        class(writes.lost),
        writes.lost,
        class(writes.split),
        writes.split,
        writes
            .switch_at_ms
            .map_or_else(String::new, |ms| format!(" (at {})", seconds(ms)))
    )?;
    for (what, examples) in [
        ("lost", &writes.lost_examples),
        ("split", &writes.split_examples),
    ] {
        if !examples.is_empty() {
            write_examples(what, examples, out)?;
        }
    }
    if !writes.problems.is_empty() {
        writeln!(out, "<p><strong>Not measured:</strong></p><ul>")?;
        for problem in &writes.problems {
            writeln!(out, "<li>{}</li>", escape(problem))?;
        }
        writeln!(out, "</ul>")?;
    }
    Ok(())
}

fn write_examples(what: &str, examples: &[WriteExample], out: &mut impl Write) -> io::Result<()> {
    // Lost or split writes are the evidence of a NO-GO: shown unfolded.
    writeln!(
        out,
        "<details open><summary>Examples of {what} writes ({})</summary><table><thead><tr><th>token</th><th class=\"num\">sent at</th><th class=\"num\">status</th><th>client resolved to</th><th>served by</th></tr></thead><tbody>",
        examples.len()
    )?;
    for example in examples {
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&example.token),
            seconds(example.sent_at_ms),
            example
                .status
                .map_or("no answer".to_string(), |s| s.to_string()),
            escape(&example.client_host),
            example.served_by.as_deref().map_or(String::new(), escape)
        )?;
    }
    writeln!(out, "</tbody></table></details>")
}

/// Package changes per hop of every `upgrade` step.
fn upgrades(steps: &[StepReport], out: &mut impl Write) -> io::Result<()> {
    let upgrades: Vec<(&StepReport, &UpgradeReport)> = steps
        .iter()
        .filter_map(|s| s.upgrade.as_ref().map(|u| (s, u)))
        .collect();
    if upgrades.is_empty() {
        return Ok(());
    }
    writeln!(out, "<section id=\"packages\"><h2>Package changes</h2>")?;
    for (step, upgrade) in upgrades {
        writeln!(
            out,
            "<h3>{} <span class=\"muted\">· host</span> {} <span class=\"muted\">· target</span> {}</h3>",
            escape(&step.name),
            escape(&upgrade.host),
            escape(&upgrade.target)
        )?;
        for hop in &upgrade.hops {
            hop_section(hop, out)?;
        }
    }
    writeln!(out, "</section>")
}

fn hop_section(hop: &HopReport, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "<p><strong>{} → {}</strong>: Debian {} → {} in {} (apt and dpkg {}, reboot {}) · <strong>{}</strong> upgraded, <strong>{}</strong> added, <strong>{}</strong> removed</p>",
        escape(&hop.from),
        escape(&hop.to),
        escape(&hop.debian_version_before),
        escape(&hop.debian_version_after),
        seconds(hop.duration_ms),
        seconds(hop.apt_ms),
        seconds(hop.reboot_ms),
        hop.upgraded.len(),
        hop.added.len(),
        hop.removed.len()
    )?;
    for (what, packages) in [
        ("upgraded", &hop.upgraded),
        ("added", &hop.added),
        ("removed", &hop.removed),
    ] {
        if packages.is_empty() {
            continue;
        }
        writeln!(
            out,
            "<details><summary>{} {what}</summary><ul class=\"packages\">",
            packages.len()
        )?;
        for package in packages {
            writeln!(out, "<li>{}</li>", escape(package))?;
        }
        writeln!(out, "</ul></details>")?;
    }
    Ok(())
}

/// Where the rehearsal ran, and what a GO does not say.
fn environment(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let env = &report.environment;
    writeln!(
        out,
        "<section id=\"environment\"><h2>Environment</h2><dl class=\"facts\"><dt>engine</dt><dd>Docker {} (API {})</dd><dt>cgroup</dt><dd>v{}</dd><dt>Debian mirror</dt><dd><code>{}</code></dd><dt>scenario file</dt><dd><code>{}</code></dd><dt>run id</dt><dd><code>{}</code></dd><dt>rehearse</dt><dd>{}</dd>{}</dl>",
        escape(&env.engine_version),
        escape(&env.api_version),
        escape(&env.cgroup_version),
        escape(&env.mirror),
        escape(&report.scenario_path),
        escape(&report.run_id),
        escape(&report.tool_version),
        report
            .apt_cache
            .map(|counters| format!(
                "<dt>apt cache</dt><dd>{}</dd>",
                escape(&crate::apt_cache::summary_line(&counters))
            ))
            .into_iter()
            .chain(report.drill.as_ref().map(|drill| format!(
                "<dt>training drill</dt><dd>{}</dd>",
                escape(&drill.summary_line())
            )))
            .collect::<String>()
    )?;
    if !env.images.is_empty() {
        writeln!(
            out,
            "<table><thead><tr><th>host</th><th>recipe</th><th>image</th><th>content hash</th><th>base</th><th>cached</th></tr></thead><tbody>"
        )?;
        for image in &env.images {
            writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td><code class=\"hash\">{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                escape(&image.host),
                escape(&image.recipe),
                escape(&image.reference),
                escape(&image.content_hash),
                escape(&image.base),
                if image.cached { "yes" } else { "built" }
            )?;
        }
        writeln!(out, "</tbody></table>")?;
    }
    writeln!(
        out,
        "</section>\n<section id=\"not-covered\"><h2>What a GO does not cover</h2><ul>"
    )?;
    for item in &report.not_covered {
        writeln!(out, "<li>{}</li>", escape(item))?;
    }
    writeln!(out, "</ul></section>")
}

/// `1 line`, `3 lines`.
/// Hosts lost and restored: the recovery point (data lost in time, rows and writes)
/// and the time to restore.
fn restores(steps: &[StepReport], out: &mut impl Write) -> io::Result<()> {
    let restores: Vec<_> = steps
        .iter()
        .filter_map(|s| s.recovery.as_ref().map(|r| (s, r)))
        .collect();
    if restores.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<section id=\"restores\"><h2>Restores</h2><table><thead><tr><th>restore</th><th>host</th><th class=\"num\">backups kept</th><th class=\"num\">last backup before the loss</th><th class=\"num\">rows lost</th><th class=\"num\">writes lost</th><th class=\"num\">restore time</th><th class=\"num\">down for</th></tr></thead><tbody>"
    )?;
    let time = |ms: Option<u64>| ms.map_or("–".to_string(), seconds);
    for (step, r) in &restores {
        let rows = match (r.rows_lost, r.rows_before, r.rows_after) {
            (Some(lost), Some(before), Some(after)) => format!("{lost} ({before} → {after})"),
            _ => "–".to_string(),
        };
        let mut kept = format!("{} on <code>{}</code>", r.backups_taken, escape(&r.from));
        if r.backups_failed > 0 {
            kept.push_str(&format!(", {} failed", r.backups_failed));
        }
        writeln!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{kept}</td><td class=\"num\">{:.1} s</td><td class=\"num\">{rows}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&step.name),
            escape(&r.host),
            r.seconds_since_last_backup,
            r.lost_writes.map_or("–".to_string(), |w| w.to_string()),
            time(r.restore_ms),
            time(r.downtime_ms),
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    for (step, r) in &restores {
        let failed = r.backups.iter().filter_map(|b| {
            b.error
                .as_ref()
                .map(|e| format!("backup {} failed: {e}", b.number))
        });
        for problem in r.problems.iter().cloned().chain(failed) {
            writeln!(
                out,
                "<p class=\"muted\"><code>{}</code>: {}</p>",
                escape(&step.name),
                escape(&problem)
            )?;
        }
    }
    writeln!(out, "</section>")
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Milliseconds for people: `850 ms`, `4.0 s`, `1 min 35 s`.
fn seconds(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {:02} s", ms / 60_000, ms / 1000 % 60),
    }
}

fn milliseconds(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// At most `max` characters, with an ellipsis when cut (before escaping, so no entity
/// is cut in half).
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: [(&str, &str); 4] = [
        (
            "move-naive",
            include_str!("../../tests/fixtures/reports/move-naive.json"),
        ),
        (
            "lamp-upgrade",
            include_str!("../../tests/fixtures/reports/lamp-upgrade.json"),
        ),
        (
            "smoke-broken",
            include_str!("../../tests/fixtures/reports/smoke-broken.json"),
        ),
        (
            "restore-shop",
            include_str!("../../tests/fixtures/reports/restore-shop.json"),
        ),
    ];

    fn report(name: &str) -> Report {
        let (_, text) = FIXTURES.iter().find(|(n, _)| *n == name).unwrap();
        serde_json::from_str(text).unwrap()
    }

    fn render(report: &Report) -> String {
        let mut out = Vec::new();
        render_html(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn move_naive_page() {
        insta::assert_snapshot!(render(&report("move-naive")));
    }

    #[test]
    fn lamp_upgrade_page() {
        insta::assert_snapshot!(render(&report("lamp-upgrade")));
    }

    #[test]
    fn smoke_broken_page() {
        insta::assert_snapshot!(render(&report("smoke-broken")));
    }

    #[test]
    fn restore_shop_page() {
        let page = render(&report("restore-shop"));
        assert!(page.contains("<a href=\"#restores\">Restores</a>"));
        assert!(page.contains("44 (445 → 401)"));
        insta::assert_snapshot!(page);
    }

    #[test]
    fn escape_makes_markup_text() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("plain → text"), "plain → text");
    }

    #[test]
    fn a_script_in_a_finding_is_shown_not_run() {
        let mut report = report("smoke-broken");
        report.findings.push(Finding {
            key: "x.<b>".into(),
            severity: crate::scenario::Severity::High,
            inhibitor: true,
            host: Some("<img src=x onerror=alert(1)>".into()),
            message: "<script>alert(1)</script>".into(),
            remediation: "\"><script>".into(),
            evidence: vec!["</pre><script>".into()],
        });
        report.steps[0].name = "<script>step</script>".into();
        report.scenario = "<script>scenario</script>".into();
        let page = render(&report);
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    /// `src=`/`href=` values with a scheme (`http:`, `data:`...) or protocol-relative,
    /// and the tags and CSS that load something.
    fn external_references(page: &str) -> Vec<String> {
        let lower = page.to_lowercase();
        let mut found = Vec::new();
        for marker in ["src=", "href="] {
            for (at, _) in lower.match_indices(marker) {
                let value = lower[at + marker.len()..]
                    .trim_start_matches(['"', '\''])
                    .split(['"', '\'', ' ', '>'])
                    .next()
                    .unwrap_or_default();
                let scheme = value
                    .split_once(':')
                    .is_some_and(|(s, _)| s.chars().all(|c| c.is_ascii_alphanumeric()));
                if scheme || value.starts_with("//") {
                    found.push(format!("{marker}{value}"));
                }
            }
        }
        for banned in ["<script", "<link", "<img", "<iframe", "@import", "url("] {
            if lower.contains(banned) {
                found.push(banned.to_string());
            }
        }
        found
    }

    #[test]
    fn no_external_assets() {
        for (name, _) in FIXTURES {
            let page = render(&report(name));
            assert_eq!(external_references(&page), Vec::<String>::new(), "{name}");
            // Addresses in the report are text, never links.
            assert!(page.contains("http://deb.debian.org/debian"), "{name}");
        }
        assert_eq!(
            external_references(
                r##"<a href="#gates"></a><svg xmlns="http://www.w3.org/2000/svg"></svg><a HREF='https://x.test/'></a><image href=//cdn.test/a.png>"##
            ),
            ["href=https://x.test/", "href=//cdn.test/a.png"]
        );
    }

    #[test]
    fn the_banner_says_why() {
        let page = render(&report("move-naive"));
        assert!(page.contains("<div class=\"verdict\">NO-GO</div>"));
        assert!(page.contains("Why: gate “lost_writes” failed — 99 of 449"));
        let page = render(&report("lamp-upgrade"));
        assert!(page.contains("<header class=\"banner go\">"));
        assert!(page.contains("All 4 gates hold."));
    }

    #[test]
    fn inhibitors_come_before_other_findings() {
        let mut report = report("lamp-upgrade");
        let mut inhibitor = report.findings[0].clone();
        inhibitor.key = "apache.config-test".into();
        inhibitor.inhibitor = true;
        report.findings.push(inhibitor);
        let page = render(&report);
        let first = page.find("apache.config-test").unwrap();
        let other = page.find("conffiles.pending").unwrap();
        assert!(first < other);
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(seconds(850), "850 ms");
        assert_eq!(seconds(4025), "4.0 s");
        assert_eq!(seconds(94_845), "1 min 34 s");
    }
}
