//! `report.md`: the report in Markdown, for pull requests and tickets — the verdict and
//! why first, then inhibitors, gates, steps, monitors, upgrades, findings, and what a GO
//! does not cover.

use std::io::{self, Write};

use super::{Report, StepStatus, UpgradeReport, Verdict, text};
use crate::model::Finding;
use crate::model::MonitorReport;
use crate::monitor::LatencySummary;

/// Render the report as Markdown.
pub fn render_markdown(report: &Report, out: &mut impl Write) -> io::Result<()> {
    title(report, out)?;
    inhibitors(report, out)?;
    gates(report, out)?;
    steps(report, out)?;
    probes(report, out)?;
    monitors(report, out)?;
    recoveries(report, out)?;
    upgrades(report, out)?;
    findings(report, out)?;
    not_covered(report, out)
}

fn title(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let mark = match report.verdict {
        _ if report.interrupted => "⏹️",
        Verdict::Go => "✅",
        Verdict::NoGo => "❌",
    };
    writeln!(
        out,
        "## {mark} {}: `{}`",
        report.headline(),
        report.scenario
    )?;
    writeln!(out)?;
    if let Some(gate) = report
        .gates
        .iter()
        .find(|g| !g.passed)
        .filter(|_| !report.interrupted)
    {
        writeln!(
            out,
            "**Why:** gate `{}` failed: {}",
            gate.name,
            inline(&gate.detail)
        )?;
        writeln!(out)?;
    }
    if report.interrupted {
        match report.steps.iter().find(|s| s.interrupted) {
            Some(step) => writeln!(
                out,
                "**The run was interrupted during step `{}`, before it finished:** nothing was judged.",
                step.name
            )?,
            None => writeln!(
                out,
                "**The run was interrupted before it finished:** nothing was judged."
            )?,
        }
        writeln!(out)?;
    }
    if let Some(resumed) = &report.resumed_from {
        writeln!(
            out,
            "**Resumed at step `{}`** from the checkpoint run `{}` saved at {}: the steps before it were not run again.",
            resumed.step, resumed.run_id, resumed.taken_at
        )?;
        writeln!(out)?;
    }
    writeln!(
        out,
        "Scenario `{}`, run `{}`, started {}, took {}; rehearse {}.",
        report.scenario_path,
        report.run_id,
        report.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        text::seconds(report.duration_ms),
        report.tool_version
    )?;
    if let Some(drill) = &report.drill {
        writeln!(out)?;
        writeln!(out, "Training drill: {}.", drill.summary_line())?;
    }
    if let Some(apt_cache) = report.apt_cache.as_ref().filter(|c| c.used()) {
        writeln!(out)?;
        writeln!(out, "Package cache: {}.", apt_cache.summary_line())?;
    }
    writeln!(out)
}

fn inhibitors(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let inhibitors: Vec<&Finding> = report.findings.iter().filter(|f| f.inhibitor).collect();
    if inhibitors.is_empty() {
        return Ok(());
    }
    writeln!(out, "### Inhibitors")?;
    writeln!(out)?;
    for finding in inhibitors {
        finding_item(finding, out)?;
    }
    writeln!(out)
}

/// One finding as a list item: what, where, how to fix it, and the evidence folded.
fn finding_item(finding: &Finding, out: &mut impl Write) -> io::Result<()> {
    let host = finding
        .host
        .as_deref()
        .map(|h| format!(" on `{h}`"))
        .unwrap_or_default();
    writeln!(
        out,
        "- **`{}`** ({}{host}): {}",
        finding.key,
        finding.severity.as_str(),
        inline(&finding.message)
    )?;
    writeln!(out, "  - Remediation: {}", inline(&finding.remediation))?;
    if !finding.evidence.is_empty() {
        writeln!(out, "  - Evidence:")?;
        writeln!(out)?;
        code_block(&finding.evidence.join("\n"), "    ", out)?;
    }
    Ok(())
}

fn gates(report: &Report, out: &mut impl Write) -> io::Result<()> {
    if report.gates.is_empty() {
        return Ok(());
    }
    writeln!(out, "### Gates")?;
    writeln!(out)?;
    writeln!(out, "| | Gate | Value | Limit | Detail |")?;
    writeln!(out, "|---|---|---:|---:|---|")?;
    for gate in &report.gates {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            match (
                gate.passed,
                report.interrupted && gate.name == crate::verdict::STEPS_GATE
            ) {
                (true, _) => "✅",
                (false, true) => "⏹️",
                (false, false) => "❌",
            },
            cell(&gate.name),
            cell(&gate.value_text()),
            cell(&gate.limit_text()),
            cell(&gate.detail)
        )?;
    }
    writeln!(out)
}

fn steps(report: &Report, out: &mut impl Write) -> io::Result<()> {
    if report.steps.is_empty() {
        return Ok(());
    }
    writeln!(out, "### Steps")?;
    writeln!(out)?;
    writeln!(out, "| | Step | Kind | Status | Time | Detail |")?;
    writeln!(out, "|---|---|---|---|---:|---|")?;
    for step in &report.steps {
        let (mark, status) = match step.status {
            StepStatus::Passed => ("✅", "passed".to_string()),
            StepStatus::Failed if step.allow_failure => ("⚠️", "failed (allowed)".to_string()),
            StepStatus::Failed => ("❌", "failed".to_string()),
            StepStatus::Skipped if step.interrupted => ("⏹️", "interrupted".to_string()),
            StepStatus::Skipped => ("⏭️", "skipped".to_string()),
        };
        writeln!(
            out,
            "| {mark} | {} | {} | {status} | {} | {} |",
            cell(&step.name),
            cell(&step.kind),
            text::seconds(step.duration_ms),
            cell(step.detail.as_deref().unwrap_or(""))
        )?;
    }
    writeln!(out)?;
    // The evidence of failed steps, folded: the table says what, this says why.
    for step in report
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Failed)
    {
        let evidence = text::step_evidence(step);
        if evidence.is_empty() {
            continue;
        }
        writeln!(
            out,
            "<details><summary>Evidence of the failed step <code>{}</code></summary>",
            html(&step.name)
        )?;
        writeln!(out)?;
        code_block(&evidence, "", out)?;
        writeln!(out, "</details>")?;
        writeln!(out)?;
    }
    Ok(())
}

fn probes(report: &Report, out: &mut impl Write) -> io::Result<()> {
    if report.probes.is_empty() {
        return Ok(());
    }
    writeln!(out, "### Probes")?;
    writeln!(out)?;
    writeln!(
        out,
        "| | Probe | Kind | Host | Failed checks | Failed attempts | Last failure |"
    )?;
    writeln!(out, "|---|---|---|---|---:|---:|---|")?;
    for probe in &report.probes {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} of {} | {} of {} | {} |",
            if probe.failed_checks == 0 {
                "✅"
            } else {
                "❌"
            },
            cell(&probe.name),
            cell(&probe.kind),
            cell(&probe.host),
            probe.failed_checks,
            probe.checks,
            probe.failures,
            probe.attempts,
            cell(
                probe
                    .last_failure
                    .as_ref()
                    .map_or("", |e| e.summary.as_str())
            )
        )?;
    }
    writeln!(out)
}

fn monitors(report: &Report, out: &mut impl Write) -> io::Result<()> {
    if report.monitors.is_empty() {
        return Ok(());
    }
    writeln!(out, "### Monitors")?;
    writeln!(out)?;
    writeln!(
        out,
        "| Monitor | Sent | Failed | Timed out | Longest unavailability | p99 before | p99 during | p99 after | Writes lost | Writes split |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for monitor in &report.monitors {
        let (before, during, after) = match &monitor.phases {
            Some(p) => (
                p99(p.before.as_ref()),
                p99(p.during.as_ref()),
                p99(p.after.as_ref()),
            ),
            // No change happened while it ran: the whole run is "before".
            None => (p99(monitor.latency.as_ref()), "–".into(), "–".into()),
        };
        let (lost, split) = writes(monitor);
        writeln!(
            out,
            "| {} | {} | {} | {} | {} ms | {before} | {during} | {after} | {lost} | {split} |",
            cell(&monitor.name),
            monitor.sent,
            monitor.failed,
            monitor.timeouts,
            monitor.longest_unavailability_ms,
        )?;
    }
    writeln!(out)?;
    for monitor in &report.monitors {
        let Some(writes) = &monitor.writes else {
            continue;
        };
        for problem in &writes.problems {
            writeln!(out, "- `{}`: {}", monitor.name, inline(problem))?;
        }
    }
    Ok(())
}

/// Hosts lost and restored: the recovery point and the time to restore.
fn recoveries(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let restores: Vec<_> = report
        .steps
        .iter()
        .filter_map(|s| s.recovery.as_ref().map(|r| (s, r)))
        .collect();
    if restores.is_empty() {
        return Ok(());
    }
    writeln!(out, "### Restores")?;
    writeln!(out)?;
    writeln!(
        out,
        "| Restore | Host | Backups kept | Last backup before the loss | Rows lost | Writes lost | Restore time | Down for |"
    )?;
    writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|")?;
    let seconds = |ms: Option<u64>| {
        ms.map_or("–".to_string(), |ms| {
            format!("{:.1} s", ms as f64 / 1000.0)
        })
    };
    for (step, r) in &restores {
        let rows = match (r.rows_lost, r.rows_before, r.rows_after) {
            (Some(lost), Some(before), Some(after)) => format!("{lost} ({before} → {after})"),
            _ => "–".to_string(),
        };
        let mut kept = format!("{} on {}", r.backups_taken, cell(&r.from));
        if r.backups_failed > 0 {
            kept.push_str(&format!(", {} failed", r.backups_failed));
        }
        writeln!(
            out,
            "| {} | {} | {kept} | {:.1} s | {rows} | {} | {} | {} |",
            cell(&step.name),
            cell(&r.host),
            r.seconds_since_last_backup,
            r.lost_writes.map_or("–".to_string(), |w| w.to_string()),
            seconds(r.restore_ms),
            seconds(r.downtime_ms),
        )?;
    }
    writeln!(out)?;
    for (step, r) in &restores {
        for problem in &r.problems {
            writeln!(out, "- `{}`: {}", step.name, inline(problem))?;
        }
        for backup in &r.backups {
            if let Some(error) = &backup.error {
                writeln!(
                    out,
                    "- `{}`: backup {} failed: {}",
                    step.name,
                    backup.number,
                    inline(error)
                )?;
            }
        }
    }
    Ok(())
}

fn p99(latency: Option<&LatencySummary>) -> String {
    latency.map_or("–".into(), |l| format!("{:.1} ms", l.p99_ms))
}

/// Lost and split writes as `lost of acknowledged`, or why they were not measured.
fn writes(monitor: &MonitorReport) -> (String, String) {
    let Some(w) = &monitor.writes else {
        return ("–".into(), "–".into());
    };
    let lost = if w.lost_measured() {
        format!("{} of {}", w.lost, w.acknowledged)
    } else {
        "not measured".into()
    };
    let split = if w.split_measured() {
        format!("{} of {}", w.split, w.acknowledged)
    } else {
        "not measured".into()
    };
    (lost, split)
}

fn upgrades(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let upgrades: Vec<&UpgradeReport> = report
        .steps
        .iter()
        .filter_map(|s| s.upgrade.as_ref())
        .collect();
    if upgrades.is_empty() {
        return Ok(());
    }
    writeln!(out, "### Upgrades")?;
    writeln!(out)?;
    for upgrade in upgrades {
        writeln!(out, "Host `{}` to {}:", upgrade.host, upgrade.target)?;
        writeln!(out)?;
        for hop in &upgrade.hops {
            writeln!(
                out,
                "<details><summary>{} → {} (Debian {} → {}): {} upgraded, {} added, {} removed in {} (apt {}, reboot {})</summary>",
                html(&hop.from),
                html(&hop.to),
                html(&hop.debian_version_before),
                html(&hop.debian_version_after),
                hop.upgraded.len(),
                hop.added.len(),
                hop.removed.len(),
                text::seconds(hop.duration_ms),
                text::seconds(hop.apt_ms),
                text::seconds(hop.reboot_ms),
            )?;
            writeln!(out)?;
            for (label, packages) in [
                ("Upgraded", &hop.upgraded),
                ("Added", &hop.added),
                ("Removed", &hop.removed),
            ] {
                if packages.is_empty() {
                    continue;
                }
                writeln!(out, "{label}:")?;
                writeln!(out)?;
                code_block(&packages.join("\n"), "", out)?;
            }
            writeln!(out, "</details>")?;
            writeln!(out)?;
        }
    }
    Ok(())
}

fn findings(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let mut others: Vec<&Finding> = report.findings.iter().filter(|f| !f.inhibitor).collect();
    if others.is_empty() {
        return Ok(());
    }
    others.sort_by_key(|f| std::cmp::Reverse(f.severity));
    writeln!(out, "### Findings")?;
    writeln!(out)?;
    for finding in others {
        finding_item(finding, out)?;
    }
    writeln!(out)
}

fn not_covered(report: &Report, out: &mut impl Write) -> io::Result<()> {
    if report.not_covered.is_empty() {
        return Ok(());
    }
    writeln!(out, "### What a GO does not cover")?;
    writeln!(out)?;
    for item in &report.not_covered {
        writeln!(out, "- {}", inline(item))?;
    }
    Ok(())
}

/// A table cell: a `|` would end the cell and a newline the row.
fn cell(text: &str) -> String {
    no_tags(text)
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}

/// Text in a paragraph or list item: a newline would end the item.
fn inline(text: &str) -> String {
    no_tags(text)
        .replace("\r\n", " ")
        .replace(['\n', '\r'], " ")
}

/// `<` outside code spans as `&lt;`, so `<Location>` in a detail is shown rather than
/// taken for HTML, and `[`, `]`, `!` escaped, so text from a server (a page's title, an
/// error message) cannot make a link or an image; inside a code span an entity would
/// show as typed, and none is needed.
fn no_tags(text: &str) -> String {
    let spans: Vec<&str> = text.split('`').collect();
    // An unmatched last backtick opens no code span.
    let unmatched = spans.len().is_multiple_of(2);
    let mut out = String::with_capacity(text.len());
    for (i, span) in spans.iter().enumerate() {
        if i > 0 {
            out.push('`');
        }
        let in_code = i % 2 == 1 && !(unmatched && i == spans.len() - 1);
        if in_code {
            out.push_str(span);
        } else {
            out.push_str(
                &span
                    .replace('\\', "\\\\")
                    .replace('<', "&lt;")
                    .replace('[', "\\[")
                    .replace(']', "\\]")
                    .replace('!', "\\!"),
            );
        }
    }
    out
}

/// Text inside an HTML element (`<summary>`), where Markdown is not read.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A fenced code block, its fence longer than any run of backticks inside.
fn code_block(content: &str, indent: &str, out: &mut impl Write) -> io::Result<()> {
    let longest = content.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    writeln!(out, "{indent}{fence}")?;
    for line in content.lines() {
        if line.is_empty() {
            writeln!(out)?;
        } else {
            writeln!(out, "{indent}{line}")?;
        }
    }
    writeln!(out, "{indent}{fence}")?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(text: &str) -> Report {
        serde_json::from_str(text).unwrap()
    }

    fn render(report: &Report) -> String {
        let mut out = Vec::new();
        render_markdown(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn snapshots() {
        for (name, text) in [
            (
                "markdown_move_naive",
                include_str!("../../tests/fixtures/reports/move-naive.json"),
            ),
            (
                "markdown_lamp_upgrade",
                include_str!("../../tests/fixtures/reports/lamp-upgrade.json"),
            ),
            (
                "markdown_smoke_broken",
                include_str!("../../tests/fixtures/reports/smoke-broken.json"),
            ),
            (
                "markdown_restore_shop",
                include_str!("../../tests/fixtures/reports/restore-shop.json"),
            ),
        ] {
            insta::assert_snapshot!(name, render(&fixture(text)));
        }
    }

    #[test]
    fn the_title_says_the_verdict_and_why() {
        let broken = render(&fixture(include_str!(
            "../../tests/fixtures/reports/smoke-broken.json"
        )));
        assert!(broken.starts_with("## ❌ NO-GO: `smoke-broken`\n"));
        assert!(broken.contains("**Why:** gate `steps passed` failed: `site still up`"));
        let lamp = render(&fixture(include_str!(
            "../../tests/fixtures/reports/lamp-upgrade.json"
        )));
        assert!(lamp.starts_with("## ✅ GO: `lamp-bullseye-to-bookworm`\n"));
        assert!(!lamp.contains("**Why:**"));
    }

    #[test]
    fn table_cells_escape_pipes_and_newlines() {
        let mut report = fixture(include_str!(
            "../../tests/fixtures/reports/smoke-broken.json"
        ));
        report.steps[0].detail = Some("grep a|b failed\nsecond line\r\nthird".into());
        let markdown = render(&report);
        let row = markdown
            .lines()
            .find(|l| l.starts_with("| ✅ | provision |"))
            .unwrap();
        assert_eq!(
            row,
            "| ✅ | provision | provision | passed | 1.0 s | grep a\\|b failed<br>second line<br>third |"
        );
        // Every row of the steps table keeps its six cells.
        let cells = |line: &str| line.replace("\\|", "").matches('|').count();
        let header = markdown
            .lines()
            .find(|l| l.starts_with("| | Step |"))
            .unwrap();
        assert_eq!(cells(row), cells(header));
    }

    #[test]
    fn text_from_a_server_makes_no_link_nor_image() {
        assert_eq!(
            inline("title: ![pixel](http://evil.test/p.png) [click](http://evil.test) `[kept]`"),
            "title: \\!\\[pixel\\](http://evil.test/p.png) \\[click\\](http://evil.test) `[kept]`"
        );
        assert_eq!(inline("a \\[b"), "a \\\\\\[b");
    }

    #[test]
    fn angle_brackets_outside_code_spans_are_not_taken_for_html() {
        assert_eq!(
            cell("<Location /> in `<Proxy *>` and a <b> tag"),
            "&lt;Location /> in `<Proxy *>` and a &lt;b> tag"
        );
        assert_eq!(inline("a ` <x>"), "a ` &lt;x>");
    }

    #[test]
    fn code_blocks_outgrow_backticks_inside() {
        let mut out = Vec::new();
        code_block("a ``` b", "", &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "````\na ``` b\n````\n\n");
    }
}
