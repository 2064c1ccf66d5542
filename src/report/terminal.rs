//! The terminal: a live view of the run on stderr while it works, and a final
//! summary (steps, gates, findings, verdict) rendered into any `io::Write`.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use comfy_table::{
    Attribute, Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED,
};
use indicatif::{ProgressBar, ProgressStyle};
use owo_colors::OwoColorize;

use super::{Report, StepStatus, Verdict};
use crate::model::{EventSink, ImageEvent, RunEvent};

/// The summary's width in columns: its tables and its wrapped verdict line.
const WIDTH: usize = 120;

/// Off a terminal (a CI log), how long the live view may stay silent while a step or a
/// build says what it is doing: then one line with the latest of it.
pub const HEARTBEAT: Duration = Duration::from_secs(30);

/// How much the live view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Nothing but errors, and on a terminal one line of progress that is erased at
    /// the end.
    Quiet,
    /// Steps, hosts and images; long outputs only as a spinner line on a terminal.
    Normal,
    /// Also every line of build output.
    Verbose,
}

/// Where the spinner of a live view is drawn (e.g. `ProgressDrawTarget::stderr`).
pub type SpinnerTarget = fn() -> indicatif::ProgressDrawTarget;

/// Renders run events as they happen.
#[derive(Debug)]
pub struct LiveView<W: Write + Send> {
    out: W,
    detail: Detail,
    color: bool,
    spinner: Option<ProgressBar>,
    interactive: bool,
    spinner_target: Option<SpinnerTarget>,
    /// Put before every line, so the lines of runs side by side tell whose they are.
    prefix: String,
    /// The running step, as `[3/5] upgrade`.
    step: String,
    /// Off a terminal: the longest silence while work goes on ([`HEARTBEAT`]), when
    /// the last line was written, and when the running step or build started.
    heartbeat: Duration,
    last_line: Instant,
    working_since: Instant,
    /// Whether the running step has said how far it is (apt's packages): then its
    /// commands' output lines are not what a heartbeat shows.
    step_has_progress: bool,
}

impl<W: Write + Send> LiveView<W> {
    /// `spinner` adds a spinner with the latest output line, drawn where it says (the
    /// CLI's terminal); give it on a terminal only.
    pub fn new(out: W, detail: Detail, color: bool, spinner: Option<SpinnerTarget>) -> Self {
        LiveView {
            out,
            detail,
            color,
            spinner: None,
            interactive: spinner.is_some(),
            spinner_target: spinner,
            prefix: String::new(),
            step: String::new(),
            heartbeat: HEARTBEAT,
            last_line: Instant::now(),
            working_since: Instant::now(),
            step_has_progress: false,
        }
    }

    /// Off a terminal, say what is going on after `every` without a line (default
    /// [`HEARTBEAT`]).
    pub fn with_heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every;
        self
    }

    /// Start every line with `prefix` (e.g. `"smoke | "`). Each line goes out in one
    /// write, so views of runs side by side sharing stderr never split each other's lines.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// One line of the live view; what it quotes (names, messages, output of the
    /// replica) cannot drive the terminal ([`crate::escape::terminal`]).
    fn line(&mut self, text: &str) {
        if self.detail == Detail::Quiet {
            return;
        }
        let line = crate::escape::terminal(&format!("{}{text}", self.prefix));
        self.last_line = Instant::now();
        match &self.spinner {
            Some(spinner) => spinner.println(line),
            None => {
                let _ = self.out.write_all(format!("{line}\n").as_bytes());
            }
        }
    }

    fn start_spinner(&mut self, message: String) {
        let Some(target) = self.spinner_target else {
            return;
        };
        let spinner = ProgressBar::with_draw_target(None, target());
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>4} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        spinner.enable_steady_tick(Duration::from_millis(120));
        spinner.set_message(crate::escape::terminal(&message));
        self.spinner = Some(spinner);
    }

    fn spinner_message(&mut self, message: &str) {
        if let Some(spinner) = &self.spinner {
            // Quiet, the spinner is the only line: it says which step it is about.
            let message = if self.detail == Detail::Quiet && !self.step.is_empty() {
                format!("{}: {message}", self.step)
            } else {
                message.to_string()
            };
            spinner.set_message(crate::escape::terminal(&message));
        } else {
            self.heartbeat(message);
        }
    }

    /// Off a terminal, where no spinner shows the latest progress, a line with it once
    /// the view has been silent for a while: a CI log shows the run is alive, and where.
    fn heartbeat(&mut self, message: &str) {
        if self.heartbeat_due() {
            let elapsed = self.working_since.elapsed().as_secs();
            self.line(&format!("      … {elapsed}s: {message}"));
        }
    }

    /// Whether a heartbeat line would be printed now (checked before building one from
    /// each of a command's output lines).
    fn heartbeat_due(&self) -> bool {
        !self.interactive
            && self.detail == Detail::Normal
            && self.last_line.elapsed() >= self.heartbeat
    }

    fn stop_spinner(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }

    fn paint_status(&self, status: StepStatus, allow_failure: bool) -> String {
        let text = match (status, allow_failure) {
            (StepStatus::Passed, _) => "ok",
            (StepStatus::Failed, true) => "failed (allowed)",
            (StepStatus::Failed, false) => "FAILED",
            (StepStatus::Skipped, _) => "skipped",
        };
        if !self.color {
            return text.to_string();
        }
        match (status, allow_failure) {
            (StepStatus::Passed, _) => text.green().to_string(),
            (StepStatus::Failed, true) => text.yellow().bold().to_string(),
            (StepStatus::Failed, false) => text.red().bold().to_string(),
            (StepStatus::Skipped, _) => text.yellow().to_string(),
        }
    }

    fn image_event(&mut self, event: &ImageEvent) {
        match event {
            ImageEvent::CacheHit { what, reference } => {
                self.line(&format!("      {what}: cache hit ({reference})"))
            }
            ImageEvent::Building { what, reference } => {
                self.working_since = Instant::now();
                self.line(&format!("      {what}: building {reference}"))
            }
            ImageEvent::Output { what, line } => {
                if self.detail == Detail::Verbose {
                    self.line(&format!("        {what} | {line}"));
                } else {
                    self.spinner_message(&format!("{what}: {line}"));
                }
            }
            ImageEvent::Built {
                what,
                reference,
                duration,
            } => self.line(&format!(
                "      {what}: built {reference} in {:.1}s",
                duration.as_secs_f64()
            )),
        }
    }
}

impl<W: Write + Send> EventSink for LiveView<W> {
    fn event(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Started {
                run_id, scenario, ..
            } => self.line(&format!("rehearsing `{scenario}` (run {run_id})")),
            RunEvent::Image(image) => self.image_event(image),
            RunEvent::HostStarting { host } => {
                self.spinner_message(&format!("starting host `{host}`"))
            }
            RunEvent::HostReady {
                host,
                address,
                boot,
            } => self.line(&format!(
                "      host `{host}` up at {address} (booted in {:.1}s)",
                boot.as_secs_f64()
            )),
            RunEvent::StepStarted {
                index,
                total,
                name,
                kind,
            } => {
                // The kind only when the name does not already say it.
                self.step = format!("[{}/{total}] {name}", index + 1);
                self.working_since = Instant::now();
                self.step_has_progress = false;
                if name == kind {
                    self.line(&self.step.clone());
                } else {
                    self.line(&format!("{} ({kind})", self.step));
                }
                let message = if self.detail == Detail::Quiet {
                    self.step.clone()
                } else {
                    name.clone()
                };
                self.start_spinner(message);
            }
            RunEvent::StepProgress { message, .. } => {
                self.step_has_progress = true;
                if self.detail == Detail::Verbose && !self.interactive {
                    self.line(&format!("      {message}"));
                } else {
                    // The spinner's line, or off a terminal the heartbeat.
                    self.spinner_message(message);
                }
            }
            RunEvent::StepOutput { host, line, .. } => {
                if self.detail == Detail::Verbose {
                    self.line(&format!("        {host} | {line}"));
                } else if !self.step_has_progress && !line.trim().is_empty() && self.heartbeat_due()
                {
                    // A command's output is all a long `exec` says of its progress.
                    self.heartbeat(&format!("{host} | {line}"));
                }
            }
            RunEvent::ProbeAttempt {
                probe,
                attempt,
                result,
            } => {
                let state = if result.passed { "ok" } else { "failing" };
                self.spinner_message(&format!(
                    "probe `{probe}` attempt {attempt}: {state}: {}",
                    result.evidence.summary
                ));
            }
            RunEvent::StepFinished {
                status,
                allow_failure,
                duration,
                detail,
                ..
            } => {
                self.stop_spinner();
                let status = self.paint_status(*status, *allow_failure);
                let detail = detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default();
                self.line(&format!(
                    "      {status} in {:.1}s{detail}",
                    duration.as_secs_f64()
                ));
            }
            RunEvent::Finding(finding) => self.line(&format!(
                "      finding [{}] {}: {}",
                finding.severity.as_str(),
                finding.key,
                finding.message
            )),
            RunEvent::Notice { message } => self.line(message),
            RunEvent::CleanupStarted { resources } => {
                self.stop_spinner();
                self.line(&format!(
                    "cleaning up {}",
                    crate::words::plural(*resources, "resource")
                ));
            }
            RunEvent::Kept { hosts, network } => {
                self.stop_spinner();
                self.line(&format!(
                    "kept the replica (network `{network}`); enter a host with:"
                ));
                for (host, id) in hosts {
                    let short: String = id.chars().take(12).collect();
                    self.line(&format!(
                        "  docker exec -it {short} bash    # host `{host}`"
                    ));
                }
                self.line("remove it with `rehearse gc` when done");
            }
            RunEvent::Finished { .. } => self.stop_spinner(),
        }
    }
}

/// The final summary: steps, gates, findings and the verdict.
pub fn render_summary(report: &Report, out: &mut impl Write, color: bool) -> io::Result<()> {
    // Made whole, then written with what it quotes unable to drive the terminal.
    let mut text = Vec::new();
    write_summary(report, &mut text, color)?;
    out.write_all(crate::escape::terminal(&String::from_utf8_lossy(&text)).as_bytes())
}

fn write_summary(report: &Report, out: &mut impl Write, color: bool) -> io::Result<()> {
    let mut steps = table(&["step", "kind", "status", "time", "detail"]);
    if color {
        steps.enforce_styling();
    }
    for step in &report.steps {
        steps.add_row(vec![
            Cell::new(&step.name),
            Cell::new(&step.kind),
            step_status(step),
            Cell::new(format!("{:.1}s", step.duration_ms as f64 / 1000.0)),
            Cell::new(step.detail.as_deref().unwrap_or("")),
        ]);
    }
    writeln!(out, "{steps}")?;
    if let Some(resumed) = &report.resumed_from {
        writeln!(
            out,
            "resumed at step `{}` from the checkpoint run {} saved at {}: the steps before it were not run again",
            resumed.step, resumed.run_id, resumed.taken_at
        )?;
    }
    // A run that fetched no package has nothing to say about the cache.
    if let Some(apt_cache) = report.apt_cache.as_ref().filter(|c| c.used()) {
        writeln!(out, "apt cache: {}", apt_cache.summary_line())?;
    }
    if !report.monitors.is_empty() {
        writeln!(out, "{}", monitors_table(&report.monitors))?;
    }
    if report.steps.iter().any(|s| s.recovery.is_some()) {
        writeln!(out, "{}", recovery_table(&report.steps))?;
    }
    let mut gates = table(&["gate", "result", "value", "limit", "detail"]);
    if color {
        gates.enforce_styling();
    }
    for gate in &report.gates {
        let result = if gate.passed {
            Cell::new("pass").fg(Color::Green)
        } else if report.interrupted && gate.name == crate::verdict::STEPS_GATE {
            // Not a failure of the steps: they were stopped.
            Cell::new("INTERRUPTED")
                .fg(Color::Yellow)
                .add_attribute(Attribute::Bold)
        } else {
            Cell::new("FAIL")
                .fg(Color::Red)
                .add_attribute(Attribute::Bold)
        };
        gates.add_row(vec![
            Cell::new(&gate.name),
            result,
            Cell::new(gate.value_text()),
            Cell::new(gate.limit_text()),
            Cell::new(&gate.detail),
        ]);
    }
    writeln!(out, "{gates}")?;
    if !report.findings.is_empty() {
        let mut findings = table(&["finding", "severity", "inhibitor", "message", "remediation"]);
        let mut sorted: Vec<_> = report.findings.iter().collect();
        sorted.sort_by_key(|f| (!f.inhibitor, std::cmp::Reverse(f.severity)));
        for f in sorted {
            findings.add_row(vec![
                Cell::new(&f.key),
                Cell::new(f.severity.as_str()),
                Cell::new(if f.inhibitor { "yes" } else { "no" }),
                Cell::new(&f.message),
                Cell::new(&f.remediation),
            ]);
        }
        writeln!(out, "{findings}")?;
    }
    writeln!(out, "{}", verdict_line(report, color))
}

/// The last line: the verdict, the scenario, the time, and why when it is not GO,
/// wrapped between words at the tables' width.
pub fn verdict_line(report: &Report, color: bool) -> String {
    let (verdict, why) = if report.interrupted {
        let during = report
            .steps
            .iter()
            .find(|s| s.interrupted)
            .map(|s| format!(", during step `{}`", s.name))
            .unwrap_or_default();
        (
            "INTERRUPTED",
            format!(" — stopped before it finished{during}: nothing was judged"),
        )
    } else {
        let why = report
            .gates
            .iter()
            .find(|g| !g.passed)
            .map(|g| format!(" — gate `{}` failed: {}", g.name, g.detail))
            .unwrap_or_default();
        (report.verdict.as_str(), why)
    };
    // Gate details quote the replica: unable to drive the terminal wherever it goes.
    let text = crate::escape::terminal(&format!(
        "{verdict}: `{}` in {:.1}s{why}",
        report.scenario,
        report.duration_ms as f64 / 1000.0
    ));
    let options = textwrap::Options::new(WIDTH)
        .subsequent_indent("  ")
        .break_words(false);
    let mut lines = textwrap::wrap(&text, options);
    if color && let Some(first) = lines.first_mut() {
        let painted = match (report.interrupted, report.verdict) {
            (true, _) => verdict.yellow().bold().to_string(),
            (false, Verdict::Go) => verdict.green().bold().to_string(),
            (false, Verdict::NoGo) => verdict.red().bold().to_string(),
        };
        *first = std::borrow::Cow::Owned(first.replacen(verdict, &painted, 1));
    }
    lines.join("\n")
}

/// A step's status as the summary shows it: an allowed failure and an interrupted step
/// say so, in amber.
fn step_status(step: &crate::report::StepReport) -> Cell {
    match step.status {
        StepStatus::Passed => Cell::new("passed").fg(Color::Green),
        StepStatus::Failed if step.allow_failure => Cell::new("failed (allowed)")
            .fg(Color::Yellow)
            .add_attribute(Attribute::Bold),
        StepStatus::Failed => Cell::new("failed")
            .fg(Color::Red)
            .add_attribute(Attribute::Bold),
        StepStatus::Skipped if step.interrupted => Cell::new("interrupted")
            .fg(Color::Yellow)
            .add_attribute(Attribute::Bold),
        StepStatus::Skipped => Cell::new("skipped").fg(Color::DarkGrey),
    }
}

/// What each monitor measured: requests, unavailability, p99 by phase, who served,
/// and writes.
fn monitors_table(monitors: &[crate::monitor::MonitorReport]) -> Table {
    let mut table = table(&[
        "monitor",
        "sent",
        "failed",
        "longest outage",
        "p99 before / during / after",
        "served by",
        "writes",
    ]);
    let p99 = |l: Option<&crate::monitor::LatencySummary>| {
        l.map_or("-".to_string(), |l| format!("{:.1}", l.p99_ms))
    };
    for m in monitors {
        let latency = match &m.phases {
            Some(p) => format!(
                "{} / {} / {} ms",
                p99(p.before.as_ref()),
                p99(p.during.as_ref()),
                p99(p.after.as_ref())
            ),
            None => format!("{} ms (no change)", p99(m.latency.as_ref())),
        };
        let served: Vec<String> = m
            .served_by
            .iter()
            .map(|(host, n)| format!("{host}: {n}"))
            .collect();
        let writes = m.writes.as_ref().map_or("-".to_string(), |w| {
            let mut text = format!(
                "{} acknowledged, {} lost, {} split",
                w.acknowledged, w.lost, w.split
            );
            if !w.problems.is_empty() {
                text.push_str(&format!(" ({})", w.problems.join("; ")));
            }
            text
        });
        table.add_row(vec![
            Cell::new(&m.name),
            Cell::new(m.sent),
            Cell::new(format!("{}{}", m.failed, m.timed_out_note())),
            Cell::new(format!("{} ms", m.longest_unavailability_ms)),
            Cell::new(latency),
            Cell::new(served.join(", ")),
            Cell::new(writes),
        ]);
    }
    table
}

/// What each restore recovered: backups, the data lost (time, rows, writes), the time
/// to restore.
fn recovery_table(steps: &[crate::report::StepReport]) -> Table {
    let mut table = table(&[
        "restore",
        "backups",
        "last backup before the loss",
        "rows lost",
        "writes lost",
        "restore time",
        "down for",
    ]);
    let ms = |value: Option<u64>| {
        value.map_or("-".to_string(), |v| format!("{:.1} s", v as f64 / 1000.0))
    };
    for step in steps {
        let Some(r) = &step.recovery else {
            continue;
        };
        let rows = match (r.rows_lost, r.rows_before, r.rows_after) {
            (Some(lost), Some(before), Some(after)) => format!("{lost} ({before} → {after})"),
            _ => "-".to_string(),
        };
        let mut backups = format!("{} kept on {}", r.backups_taken, r.from);
        if r.backups_failed > 0 {
            backups.push_str(&format!(", {} failed", r.backups_failed));
        }
        table.add_row(vec![
            Cell::new(format!("{} ({})", step.name, r.host)),
            Cell::new(backups),
            Cell::new(format!("{:.1} s", r.seconds_since_last_backup)),
            Cell::new(rows),
            Cell::new(r.lost_writes.map_or("-".to_string(), |w| w.to_string())),
            Cell::new(ms(r.restore_ms)),
            Cell::new(ms(r.downtime_ms)),
        ]);
    }
    table
}

pub(super) fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(WIDTH as u16)
        .set_header(header.to_vec());
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(fixture: &str) -> String {
        let report: Report = serde_json::from_str(fixture).unwrap();
        let mut out = Vec::new();
        render_summary(&report, &mut out, false).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn summary_of_a_no_go_move() {
        let text = summary(include_str!("../../tests/fixtures/reports/move-naive.json"));
        // The verdict line says why, and no colour escapes without a terminal.
        assert!(text.contains("NO-GO: `migrate-cutover-naive`"));
        assert!(text.contains("gate `lost_writes` failed"));
        assert!(!text.contains('\u{1b}'));
        insta::assert_snapshot!("summary_move_naive", text);
    }

    #[test]
    fn summary_of_a_go_upgrade() {
        let text = summary(include_str!(
            "../../tests/fixtures/reports/lamp-upgrade.json"
        ));
        assert!(text.contains("GO: `lamp-bullseye-to-bookworm`"));
        insta::assert_snapshot!("summary_lamp_upgrade", text);
    }

    /// The cells of the first table row whose first cell is `first`.
    fn row(text: &str, first: &str) -> Vec<String> {
        text.lines()
            .map(|line| {
                line.trim_matches(|c| c == '│' || c == ' ')
                    .split('┆')
                    .map(|cell| cell.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .find(|cells| cells[0] == first)
            .unwrap_or_else(|| panic!("no row `{first}` in\n{text}"))
    }

    /// A real report, changed by `edit`, with its gates judged again by today's verdict.
    fn judged_again(fixture: &str, interrupted: bool, edit: impl FnOnce(&mut Report)) -> Report {
        let mut report: Report = serde_json::from_str(fixture).unwrap();
        report.interrupted = interrupted;
        edit(&mut report);
        (report.gates, report.verdict) = crate::verdict::evaluate(
            &[],
            &report.steps,
            &report.probes,
            &report.findings,
            &report.monitors,
            interrupted,
        );
        report
    }

    #[test]
    fn gate_values_say_what_they_count() {
        let report = judged_again(
            include_str!("../../tests/fixtures/reports/smoke-broken.json"),
            false,
            |_| {},
        );
        let mut text = Vec::new();
        render_summary(&report, &mut text, false).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert_eq!(
            row(&text, "steps passed")[1..4],
            ["FAIL", "1 failed step", "0 failed steps"],
            "{text}"
        );
        assert_eq!(
            row(&text, "no inhibitors")[1..4],
            ["pass", "0 inhibitors", "0 inhibitors"],
            "{text}"
        );
    }

    #[test]
    fn an_interrupted_run_says_so_and_names_the_step_it_stopped() {
        let report = judged_again(
            include_str!("../../tests/fixtures/reports/smoke-broken.json"),
            true,
            |report| {
                // The step that was running: skipped (it did not finish), marked interrupted.
                let step = report.steps.last_mut().unwrap();
                step.status = StepStatus::Skipped;
                step.interrupted = true;
                step.duration_ms = 2300;
            },
        );
        let mut text = Vec::new();
        render_summary(&report, &mut text, false).unwrap();
        let text = String::from_utf8(text).unwrap();
        let name = &report.steps.last().unwrap().name;
        assert_eq!(row(&text, name)[2], "interrupted", "{text}");
        assert_eq!(row(&text, "steps passed")[1], "INTERRUPTED", "{text}");
        assert!(
            report.gates[0].detail.starts_with(&format!(
                "the run was interrupted during step `{name}`, after 2.3 s"
            )),
            "{text}"
        );
        let last = text.lines().rev().find(|l| !l.starts_with("  ")).unwrap();
        assert!(
            last.starts_with("INTERRUPTED: `smoke-broken` in "),
            "{text}"
        );
        assert!(!text.contains("NO-GO"), "{text}");
    }

    #[test]
    fn summary_says_what_the_package_cache_did() {
        let mut report: Report = serde_json::from_str(include_str!(
            "../../tests/fixtures/reports/lamp-upgrade.json"
        ))
        .unwrap();
        let mut out = Vec::new();
        render_summary(&report, &mut out, false).unwrap();
        assert!(!String::from_utf8(out).unwrap().contains("apt cache"));
        report.apt_cache = Some(crate::report::AptCacheReport::default());
        let mut out = Vec::new();
        render_summary(&report, &mut out, false).unwrap();
        assert!(!String::from_utf8(out).unwrap().contains("apt cache"));
        report.apt_cache = Some(crate::report::AptCacheReport {
            hits: 812,
            misses: 3,
            upstream_bytes: 1_258_291,
            cached_bytes: 95_735_603,
        });
        let mut out = Vec::new();
        render_summary(&report, &mut out, false).unwrap();
        assert!(String::from_utf8(out).unwrap().contains(
            "apt cache: 812 hits, 3 misses, 1.2 MiB from the mirror, 91.3 MiB from the cache\n"
        ));
    }

    #[test]
    fn summary_of_a_broken_smoke_run() {
        let text = summary(include_str!(
            "../../tests/fixtures/reports/smoke-broken.json"
        ));
        insta::assert_snapshot!("summary_smoke_broken", text);
    }

    #[test]
    fn a_prefixed_view_starts_every_line_with_its_prefix() {
        let mut out = Vec::new();
        {
            let mut view =
                LiveView::new(&mut out, Detail::Normal, false, None).with_prefix("smoke   | ");
            view.event(&RunEvent::Started {
                run_id: "smoke-abc".into(),
                scenario: "smoke".into(),
                steps: 2,
            });
            view.event(&RunEvent::StepStarted {
                index: 0,
                total: 2,
                name: "provision".into(),
                kind: "provision",
            });
            view.event(&RunEvent::Kept {
                hosts: vec![("web".into(), "0123456789abcdef".into())],
                network: "rh-smoke-abc".into(),
            });
        }
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("smoke   | rehearsing `smoke` (run smoke-abc)\n"));
        assert!(text.contains("smoke   | [1/2] provision\n"));
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(text.lines().all(|l| l.starts_with("smoke   | ")), "{text}");
    }

    #[test]
    fn quiet_keeps_one_line_of_progress_on_a_terminal_and_verbose_streams_output() {
        let mut out = Vec::new();
        {
            let mut view = LiveView::new(
                &mut out,
                Detail::Quiet,
                false,
                Some(indicatif::ProgressDrawTarget::hidden),
            );
            view.event(&RunEvent::StepStarted {
                index: 2,
                total: 5,
                name: "upgrade to bookworm".into(),
                kind: "upgrade",
            });
            let spinner = view.spinner.clone().expect("a spinner, quiet or not");
            assert_eq!(spinner.message(), "[3/5] upgrade to bookworm");
            view.event(&RunEvent::StepProgress {
                index: 2,
                message: "web: bullseye → bookworm: 120/467 packages".into(),
            });
            assert_eq!(
                spinner.message(),
                "[3/5] upgrade to bookworm: web: bullseye → bookworm: 120/467 packages"
            );
            view.event(&RunEvent::StepOutput {
                index: 2,
                host: "web".into(),
                line: "Unpacking apache2".into(),
            });
        }
        // Nothing else is printed: the spinner line is erased at the end.
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));

        let mut out = Vec::new();
        {
            let mut view = LiveView::new(&mut out, Detail::Verbose, false, None);
            view.event(&RunEvent::StepOutput {
                index: 2,
                host: "web".into(),
                line: "Unpacking apache2".into(),
            });
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "        web | Unpacking apache2\n"
        );
    }

    #[test]
    fn off_a_terminal_a_long_step_says_where_it_is_after_a_silence() {
        let upgrade = |view: &mut LiveView<&mut Vec<u8>>| {
            view.event(&RunEvent::StepStarted {
                index: 2,
                total: 5,
                name: "upgrade to bookworm".into(),
                kind: "upgrade",
            });
            for done in [1, 2] {
                view.event(&RunEvent::StepProgress {
                    index: 2,
                    message: format!("web: bullseye → bookworm: {done}/467 packages"),
                });
            }
            view.event(&RunEvent::StepOutput {
                index: 2,
                host: "web".into(),
                line: "Unpacking apache2".into(),
            });
            view.event(&RunEvent::ProbeAttempt {
                probe: "shop".into(),
                attempt: 3,
                result: crate::model::Attempt::fail(crate::model::Evidence {
                    summary: "connection refused".into(),
                    ..Default::default()
                }),
            });
        };
        // Silent for the heartbeat's length: each piece of progress gets a line.
        let mut out = Vec::new();
        upgrade(
            &mut LiveView::new(&mut out, Detail::Normal, false, None)
                .with_heartbeat(Duration::ZERO),
        );
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "[3/5] upgrade to bookworm (upgrade)",
                "      … 0s: web: bullseye → bookworm: 1/467 packages",
                "      … 0s: web: bullseye → bookworm: 2/467 packages",
                "      … 0s: probe `shop` attempt 3: failing: connection refused",
            ],
            "{text}"
        );
        // A step that says nothing of its progress (a long `exec`): its output lines,
        // blank ones left out.
        let mut out = Vec::new();
        {
            let mut view =
                LiveView::new(&mut out, Detail::Normal, false, None).with_heartbeat(Duration::ZERO);
            view.event(&RunEvent::StepStarted {
                index: 0,
                total: 1,
                name: "reindex".into(),
                kind: "exec",
            });
            for line in ["indexing 1/3", "", "indexing 2/3"] {
                view.event(&RunEvent::StepOutput {
                    index: 0,
                    host: "db".into(),
                    line: line.into(),
                });
            }
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[1/1] reindex (exec)\n      … 0s: db | indexing 1/3\n      … 0s: db | indexing 2/3\n"
        );
        // Within it (the default, 30 s), nothing but the step; quiet or verbose, no
        // heartbeat either (verbose prints every piece of progress anyway).
        for (detail, lines) in [
            (Detail::Normal, 1),
            (Detail::Quiet, 0),
            (Detail::Verbose, 4),
        ] {
            let mut out = Vec::new();
            upgrade(&mut LiveView::new(&mut out, detail, false, None));
            let text = String::from_utf8(out).unwrap();
            assert_eq!(text.lines().count(), lines, "{detail:?}: {text}");
        }
    }

    #[test]
    fn names_and_output_cannot_drive_the_terminal() {
        let mut out = Vec::new();
        {
            let mut view = LiveView::new(&mut out, Detail::Normal, false, None);
            view.event(&RunEvent::StepStarted {
                index: 0,
                total: 1,
                name: "step \u{1b}]0;PWNED\u{7}\u{1b}[2J".into(),
                kind: "exec",
            });
            view.event(&RunEvent::Notice {
                message: "apt said \r\u{8}\u{1b}[1A".into(),
            });
        }
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\r'));
        assert!(
            text.contains("step \\u{1b}]0;PWNED\\u{7}\\u{1b}[2J"),
            "{text}"
        );

        let mut report: Report = serde_json::from_str(include_str!(
            "../../tests/fixtures/reports/smoke-broken.json"
        ))
        .unwrap();
        report.steps[0].name = "\u{1b}]0;PWNED\u{7}".into();
        let mut out = Vec::new();
        render_summary(&report, &mut out, true).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.contains("\u{1b}]") && !text.contains('\u{7}'),
            "{text}"
        );
    }

    #[test]
    fn summary_of_a_restore() {
        let text = summary(include_str!(
            "../../tests/fixtures/reports/restore-shop.json"
        ));
        assert!(text.contains("44 (445 → 401)"), "{text}");
        insta::assert_snapshot!("summary_restore_shop", text);
    }

    #[test]
    fn colour_only_when_asked() {
        let report: Report = serde_json::from_str(include_str!(
            "../../tests/fixtures/reports/smoke-broken.json"
        ))
        .unwrap();
        let mut out = Vec::new();
        render_summary(&report, &mut out, true).unwrap();
        assert!(String::from_utf8(out).unwrap().contains('\u{1b}'));
    }
}
