//! Several rehearsals run together (`rehearse run A.yaml B.yaml --jobs 2`): the combined
//! summary written as `matrix.json` beside the runs' report folders, and the one table
//! printed at the end instead of each run's own summary.

use crate::words::plural;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use comfy_table::Cell;
use owo_colors::OwoColorize;
use serde::{Deserialize, Serialize};

use super::{Report, StepStatus, Verdict};
use crate::exit_code;

/// Bump on an incompatible change of `matrix.json`'s shape.
pub const MATRIX_SCHEMA_VERSION: u32 = 1;

/// The file the combined summary is written to, in the matrix folder.
pub const MATRIX_FILE: &str = "matrix.json";

/// Every rehearsal of the matrix, in the order the scenarios were given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixSummary {
    pub schema_version: u32,
    /// "GO" only when every rehearsal answered GO, else "NO-GO".
    pub verdict: Verdict,
    /// The combined exit code (see [`crate::exit_code::combine`]).
    pub exit_code: i32,
    pub started_at: jiff::Timestamp,
    pub duration_ms: u64,
    /// How many rehearsals ran at once at most.
    pub jobs: usize,
    /// With `--shard K/N`: which share of the scenarios these runs are. Absent
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<MatrixShard>,
    pub runs: Vec<MatrixRun>,
}

/// The share of a longer list of scenarios a sharded matrix rehearsed
/// (`rehearse run ... --shard K/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixShard {
    /// K: this shard's number, from 1.
    pub index: u32,
    /// N: how many shards the list was split into.
    pub count: u32,
    /// How many scenarios the whole list holds, every shard's (folders expanded).
    pub total: usize,
}

/// How one rehearsal of the matrix ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// It ran to the end and gave a verdict.
    Finished,
    /// It was stopped by a signal; its report is marked `interrupted`.
    Interrupted,
    /// It could not be carried out (engine, environment, recipe); no verdict.
    Error,
    /// The matrix was interrupted before its turn came.
    NotRun,
}

/// One rehearsal of the matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixRun {
    /// Unique within the matrix: the name of the run's report folder and the prefix of
    /// its progress lines.
    pub name: String,
    /// The scenario's own name.
    pub scenario: String,
    pub scenario_path: String,
    pub run_id: String,
    pub status: RunStatus,
    /// `None` when the rehearsal gave no verdict (error, not run).
    pub verdict: Option<Verdict>,
    pub exit_code: i32,
    pub duration_ms: u64,
    pub failed_gates: usize,
    pub failed_steps: usize,
    /// The run's report folder; `None` when no report was written (error, not run).
    pub report_dir: Option<PathBuf>,
    /// Why the rehearsal could not be carried out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The run's whole report: included in `--output json`, left out of `matrix.json`
    /// (it is in the run's folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Box<Report>>,
}

impl MatrixRun {
    /// A rehearsal that gave a report.
    pub fn from_report(name: String, report: &Report, report_dir: PathBuf) -> Self {
        MatrixRun {
            name,
            scenario: report.scenario.clone(),
            scenario_path: report.scenario_path.clone(),
            run_id: report.run_id.clone(),
            status: if report.interrupted {
                RunStatus::Interrupted
            } else {
                RunStatus::Finished
            },
            verdict: Some(report.verdict),
            exit_code: if report.interrupted {
                exit_code::INTERRUPTED
            } else if report.verdict == Verdict::Go {
                exit_code::GO
            } else {
                exit_code::NO_GO
            },
            duration_ms: report.duration_ms,
            failed_gates: report.gates.iter().filter(|g| !g.passed).count(),
            failed_steps: report
                .steps
                .iter()
                .filter(|s| s.status == StepStatus::Failed)
                .count(),
            report_dir: Some(report_dir),
            error: None,
            report: None,
        }
    }
}

impl MatrixSummary {
    /// Sum up the runs; the verdict and exit code follow from theirs.
    pub fn new(
        started_at: jiff::Timestamp,
        duration_ms: u64,
        jobs: usize,
        runs: Vec<MatrixRun>,
    ) -> Self {
        let exit_code = exit_code::combine(runs.iter().map(|r| r.exit_code));
        MatrixSummary {
            schema_version: MATRIX_SCHEMA_VERSION,
            verdict: if exit_code == exit_code::GO {
                Verdict::Go
            } else {
                Verdict::NoGo
            },
            exit_code,
            started_at,
            duration_ms,
            jobs,
            shard: None,
            runs,
        }
    }

    /// The summary without the runs' whole reports, as written to `matrix.json`.
    pub fn without_reports(&self) -> MatrixSummary {
        let mut summary = self.clone();
        for run in &mut summary.runs {
            run.report = None;
        }
        summary
    }
}

/// Write `matrix.json` (without the runs' whole reports) into `dir`; returns its path.
pub fn write_matrix_json(dir: &Path, summary: &MatrixSummary) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(MATRIX_FILE);
    let mut text =
        serde_json::to_string_pretty(&summary.without_reports()).map_err(io::Error::other)?;
    text.push('\n');
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The combined table (one row per rehearsal), the errors, then the overall verdict line.
pub fn render_matrix_summary(
    summary: &MatrixSummary,
    out: &mut impl Write,
    color: bool,
) -> io::Result<()> {
    let mut table = super::terminal::table(&[
        "scenario",
        "verdict",
        "time",
        "failed gates",
        "failed steps",
        "report",
    ]);
    for run in &summary.runs {
        table.add_row(vec![
            Cell::new(&run.name),
            Cell::new(outcome(run)),
            Cell::new(format!("{:.1}s", run.duration_ms as f64 / 1000.0)),
            Cell::new(run.failed_gates),
            Cell::new(run.failed_steps),
            Cell::new(
                run.report_dir
                    .as_ref()
                    .map_or("-".to_string(), |d| d.display().to_string()),
            ),
        ]);
    }
    writeln!(out, "{table}")?;
    for run in &summary.runs {
        if let Some(error) = &run.error {
            writeln!(out, "error in `{}`: {error}", run.name)?;
        }
    }
    writeln!(out, "{}", matrix_verdict_line(summary, color))
}

/// The matrix's last line: its verdict, how many runs ended how, the time and exit code.
pub fn matrix_verdict_line(summary: &MatrixSummary, color: bool) -> String {
    let word = match summary.exit_code {
        exit_code::GO => "GO",
        exit_code::NO_GO => "NO-GO",
        exit_code::INTERRUPTED => "INTERRUPTED",
        _ => "ERROR",
    };
    let painted = match (color, summary.exit_code) {
        (false, _) => word.to_string(),
        (true, exit_code::GO) => word.green().bold().to_string(),
        (true, exit_code::INTERRUPTED) => word.yellow().bold().to_string(),
        (true, _) => word.red().bold().to_string(),
    };
    let count = |wanted: &str| summary.runs.iter().filter(|r| outcome(r) == wanted).count();
    let scenarios = plural(summary.runs.len(), "scenario");
    let mut parts = vec![match summary.shard {
        Some(shard) => format!(
            "{scenarios} of {} (shard {}/{})",
            shard.total, shard.index, shard.count
        ),
        None => scenarios,
    }];
    for (label, wanted) in [
        ("GO", "GO"),
        ("NO-GO", "NO-GO"),
        ("interrupted", "interrupted"),
        ("error", "error"),
        ("not run", "not run"),
    ] {
        let n = count(wanted);
        if n > 0 {
            parts.push(if label == "error" {
                plural(n, label)
            } else {
                format!("{n} {label}")
            });
        }
    }
    format!(
        "{painted}: {} in {:.1}s (exit {})",
        parts.join(", "),
        summary.duration_ms as f64 / 1000.0,
        summary.exit_code
    )
}

/// What the verdict column says about a run.
fn outcome(run: &MatrixRun) -> &'static str {
    match (run.status, run.verdict) {
        (RunStatus::Finished, Some(verdict)) => verdict.as_str(),
        (RunStatus::Finished, None) | (RunStatus::Error, _) => "error",
        (RunStatus::Interrupted, _) => "interrupted",
        (RunStatus::NotRun, _) => "not run",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Report {
        let text = match name {
            "broken" => include_str!("../../tests/fixtures/reports/smoke-broken.json"),
            _ => include_str!("../../tests/fixtures/reports/lamp-upgrade.json"),
        };
        serde_json::from_str(text).unwrap()
    }

    fn summary() -> MatrixSummary {
        let go = fixture("go");
        let broken = fixture("broken");
        let mut interrupted = fixture("go");
        interrupted.interrupted = true;
        interrupted.verdict = Verdict::NoGo;
        let runs = vec![
            MatrixRun::from_report("lamp".into(), &go, "m/lamp".into()),
            MatrixRun::from_report("broken".into(), &broken, "m/broken".into()),
            MatrixRun::from_report("lamp-2".into(), &interrupted, "m/lamp-2".into()),
            MatrixRun {
                name: "other".into(),
                scenario: "other".into(),
                scenario_path: "other.yaml".into(),
                run_id: "other-abcdef".into(),
                status: RunStatus::Error,
                verdict: None,
                exit_code: exit_code::ENVIRONMENT,
                duration_ms: 1200,
                failed_gates: 0,
                failed_steps: 0,
                report_dir: None,
                error: Some("cannot reach the Docker engine".into()),
                report: None,
            },
        ];
        let started = "2026-11-22T08:00:00Z".parse().unwrap();
        MatrixSummary::new(started, 75_000, 2, runs)
    }

    #[test]
    fn a_run_from_its_report_counts_failures_and_its_exit_code() {
        let broken = MatrixRun::from_report("b".into(), &fixture("broken"), "d".into());
        assert_eq!(broken.verdict, Some(Verdict::NoGo));
        assert_eq!(broken.exit_code, exit_code::NO_GO);
        assert!(broken.failed_gates > 0);
        assert!(broken.failed_steps > 0);
        let go = MatrixRun::from_report("g".into(), &fixture("go"), "d".into());
        assert_eq!((go.exit_code, go.failed_gates, go.failed_steps), (0, 0, 0));
    }

    #[test]
    fn the_summary_takes_the_most_serious_exit_code() {
        let summary = summary();
        assert_eq!(summary.exit_code, exit_code::ENVIRONMENT);
        assert_eq!(summary.verdict, Verdict::NoGo);
    }

    #[test]
    fn matrix_json_leaves_the_whole_reports_out() {
        let mut summary = summary();
        summary.runs[0].report = Some(Box::new(fixture("go")));
        let dir = tempfile::tempdir().unwrap();
        let path = write_matrix_json(dir.path(), &summary).unwrap();
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(written["runs"].as_array().unwrap().len(), 4);
        assert!(written["runs"][0].get("report").is_none());
        assert_eq!(written["runs"][1]["verdict"], "NO-GO");
        assert_eq!(written["runs"][2]["status"], "interrupted");
        assert_eq!(written["runs"][3]["verdict"], serde_json::Value::Null);
        assert_eq!(written["exit_code"], 3);
    }

    #[test]
    fn matrix_json_records_the_shard_only_when_sharded() {
        let dir = tempfile::tempdir().unwrap();
        let read = |summary: &MatrixSummary| -> serde_json::Value {
            let path = write_matrix_json(dir.path(), summary).unwrap();
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
        };
        let mut summary = summary();
        assert!(read(&summary).get("shard").is_none());
        summary.shard = Some(MatrixShard {
            index: 2,
            count: 3,
            total: 11,
        });
        let written = read(&summary);
        assert_eq!(
            written["shard"],
            serde_json::json!({"index": 2, "count": 3, "total": 11})
        );
        assert_eq!(written["runs"].as_array().unwrap().len(), 4);
        let back: MatrixSummary = serde_json::from_value(written).unwrap();
        assert_eq!(back.shard, summary.shard);
        let mut out = Vec::new();
        render_matrix_summary(&summary, &mut out, false).unwrap();
        assert!(
            String::from_utf8(out).unwrap().ends_with(
                "ERROR: 4 scenarios of 11 (shard 2/3), 1 GO, 1 NO-GO, 1 interrupted, 1 error in 75.0s (exit 3)\n"
            )
        );
    }

    #[test]
    fn the_combined_table() {
        let mut out = Vec::new();
        render_matrix_summary(&summary(), &mut out, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with(
            "ERROR: 4 scenarios, 1 GO, 1 NO-GO, 1 interrupted, 1 error in 75.0s (exit 3)\n"
        ));
        insta::assert_snapshot!("matrix_summary", text);
    }
}
