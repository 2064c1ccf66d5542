//! `rehearse run A.yaml B.yaml C.yaml --jobs N`: several rehearsals in one process, at
//! most N at once, each on its own replica with its own run id. Progress lines carry the
//! run's name; at the end one combined table replaces the runs' own summaries, and
//! `matrix.json` sums the runs up beside their report folders.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::run::{detail, remove_dead_leftovers};
use super::signals::watch_signals;
use super::{OutputArg, RunArgs, Shard, use_color};
use crate::engine::DockerEngine;
use crate::exit_code;
use crate::report::matrix::{MatrixRun, MatrixShard, MatrixSummary, RunStatus, write_matrix_json};
use crate::report::terminal::{Detail, LiveView};
use crate::report::write_all;
use crate::runner::{RunOptions, new_run_id, run as run_scenario};
use crate::scenario::Scenario;

/// One rehearsal of the matrix, ready to start.
#[derive(Debug)]
struct PlannedRun {
    name: String,
    /// `name` padded to the longest name, then a separator: lines of runs side by side
    /// line up.
    prefix: String,
    scenario: Scenario,
    report_dir: PathBuf,
    options: RunOptions,
}

/// How the runs show their progress.
#[derive(Debug, Clone, Copy)]
struct ViewSettings {
    detail: Detail,
    color: bool,
}

/// Rehearse every (already validated, recipes included) scenario; returns the combined
/// exit code. With `--shard K/N`, `shard` is it and how many scenarios the whole list
/// holds (these are its share).
pub(super) async fn run_matrix(
    args: &RunArgs,
    scenarios: Vec<(PathBuf, Scenario)>,
    shard: Option<(Shard, usize)>,
    engine_choice: &super::EngineChoice,
) -> i32 {
    if let Some((shard, total)) = shard {
        if scenarios.is_empty() {
            errln!("{}", shard.empty_notice(total));
            return empty_shard(args, matrix_shard(shard, total));
        }
        if detail(args) != Detail::Quiet {
            errln!("shard {shard}: {} of {total} scenario(s)", scenarios.len());
        }
    }
    let shard = shard.map(|(shard, total)| matrix_shard(shard, total));
    let mut engine = match super::connect(engine_choice).await {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    // Once for the whole matrix: the runs of this process are alive, so never taken.
    remove_dead_leftovers(&engine).await;
    // Cleans up should this process die without doing so.
    let _watchdog = (!args.keep).then(|| super::watchdog::start(engine_choice));
    // One cache for the whole matrix: the runs share what each downloads.
    let publish = match super::publish_address(&mut engine, engine_choice).await {
        Ok(publish) => publish,
        Err(code) => return code,
    };
    let apt_cache = match args.build.start_apt_cache(engine_choice).await {
        Ok(cache) => cache,
        Err(code) => return code,
    };
    let started_at = jiff::Timestamp::now();
    let clock = Instant::now();
    let matrix_dir = matrix_dir(args, started_at);
    let names = unique_names(scenarios.iter().map(|(path, s)| base_name(path, s)));
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let cancel = CancellationToken::new();
    watch_signals(cancel.clone());

    let planned: Vec<PlannedRun> = scenarios
        .into_iter()
        .zip(names)
        .map(|((path, scenario), name)| {
            let report_dir = matrix_dir.join(&name);
            let mut options =
                RunOptions::new(new_run_id(&scenario.name), args.build.settings(Some(&path)));
            options.keep = args.keep;
            options.publish = publish;
            options.checkpoints = !args.no_checkpoints;
            options.logs_dir = Some(report_dir.join("logs"));
            super::use_apt_cache(&mut options, apt_cache.as_ref());
            // A child token: Ctrl-C cancels every run, a run never cancels the others.
            options.cancel = cancel.child_token();
            PlannedRun {
                prefix: format!("{name:<width$} | "),
                name,
                scenario,
                report_dir,
                options,
            }
        })
        .collect();
    let jobs = usize::from(args.jobs);
    // The runs are futures polled together here rather than spawned tasks: the runner's
    // future is not `Send` (its event sink is borrowed across awaits), and a run spends
    // its time waiting on the engine and probes (continuous monitors have tasks of their
    // own), not computing. The semaphore is fair, so runs start in the order given.
    let slots = Semaphore::new(jobs);
    let view = ViewSettings {
        detail: detail(args),
        color: use_color(std::io::stderr().is_terminal()),
    };
    let runs = futures_util::future::join_all(
        planned
            .iter()
            .map(|plan| rehearse_one(&engine, plan, &slots, view)),
    )
    .await;

    let mut summary =
        MatrixSummary::new(started_at, clock.elapsed().as_millis() as u64, jobs, runs);
    summary.shard = shard;
    let mut code = summary.exit_code;
    match write_matrix_json(&matrix_dir, &summary) {
        Ok(path) => errln!("matrix summary: {}", path.display()),
        Err(e) => {
            errln!(
                "error: cannot write the matrix summary into `{}`: {e}",
                matrix_dir.display()
            );
            code = exit_code::combine([code, exit_code::ENVIRONMENT]);
        }
    }
    let stdout = std::io::stdout();
    let color_out = use_color(stdout.is_terminal());
    let mut out = stdout.lock();
    let printed = match args.output {
        OutputArg::Table => {
            for run in &mut summary.runs {
                run.report = None;
            }
            crate::report::matrix::render_matrix_summary(&summary, &mut out, color_out)
        }
        OutputArg::Json => {
            // The JSON is for scripts; the person watching still reads the verdict.
            errln!(
                "{}",
                crate::report::matrix::matrix_verdict_line(
                    &summary,
                    use_color(std::io::stderr().is_terminal())
                )
            );
            serde_json::to_writer_pretty(&mut out, &summary)
                .map_err(std::io::Error::from)
                .and_then(|()| std::io::Write::write_all(&mut out, b"\n"))
        }
    };
    if let Err(e) = super::printed(printed) {
        errln!("error: cannot print the summary: {e}");
    }
    code
}

/// A shard that takes no scenario (more CI jobs than scenarios): not an error. Its
/// `matrix.json` (no runs, GO) is written all the same, so every job leaves a summary
/// saying which shard it was; no engine is needed.
fn empty_shard(args: &RunArgs, shard: MatrixShard) -> i32 {
    let started_at = jiff::Timestamp::now();
    let matrix_dir = matrix_dir(args, started_at);
    let mut summary = MatrixSummary::new(started_at, 0, usize::from(args.jobs), Vec::new());
    summary.shard = Some(shard);
    if let Err(e) = write_matrix_json(&matrix_dir, &summary) {
        errln!(
            "error: cannot write the matrix summary into `{}`: {e}",
            matrix_dir.display()
        );
        return exit_code::ENVIRONMENT;
    }
    if args.output == OutputArg::Json {
        let mut out = std::io::stdout().lock();
        let printed = serde_json::to_writer_pretty(&mut out, &summary)
            .map_err(std::io::Error::from)
            .and_then(|()| std::io::Write::write_all(&mut out, b"\n"));
        if let Err(e) = super::printed(printed) {
            errln!("error: cannot print the summary: {e}");
        }
    }
    summary.exit_code
}

/// What `matrix.json` says of the shard.
fn matrix_shard(shard: Shard, total: usize) -> MatrixShard {
    MatrixShard {
        index: shard.number(),
        count: shard.count(),
        total,
    }
}

/// Wait for a free slot, rehearse, write the report folder; never fails, the outcome
/// says how it went.
async fn rehearse_one(
    engine: &DockerEngine,
    plan: &PlannedRun,
    slots: &Semaphore,
    view: ViewSettings,
) -> MatrixRun {
    let cancel = &plan.options.cancel;
    let _slot = tokio::select! {
        biased;
        () = cancel.cancelled() => return not_run(plan),
        slot = slots.acquire() => match slot {
            Ok(slot) => slot,
            Err(_) => return not_run(plan),
        },
    };
    // Line mode, never the spinner: one spinner line cannot show several runs.
    let mut live = LiveView::new(std::io::stderr(), view.detail, view.color, None)
        .with_prefix(plan.prefix.clone());
    let clock = Instant::now();
    let quiet = view.detail == Detail::Quiet;
    match run_scenario(engine, &plan.scenario, &plan.options, &mut live).await {
        Ok(report) => {
            let mut run =
                MatrixRun::from_report(plan.name.clone(), &report, plan.report_dir.clone());
            match write_all(&plan.report_dir, &report) {
                Ok(_) if !quiet => errln!(
                    "{}{} in {:.1}s; report in {}",
                    plan.prefix,
                    outcome_word(&run),
                    report.duration_ms as f64 / 1000.0,
                    plan.report_dir.display()
                ),
                Ok(_) => {}
                Err(e) => {
                    let message = format!(
                        "cannot write the report into `{}`: {e}",
                        plan.report_dir.display()
                    );
                    errln!("{}error: {message}", plan.prefix);
                    run.report_dir = None;
                    run.exit_code = exit_code::combine([run.exit_code, exit_code::ENVIRONMENT]);
                    run.error = Some(message);
                }
            }
            run.report = Some(Box::new(report));
            run
        }
        Err(e) => {
            errln!("{}error: {e}", plan.prefix);
            MatrixRun {
                status: RunStatus::Error,
                exit_code: if e.is_input_error() {
                    exit_code::INVALID_INPUT
                } else {
                    exit_code::ENVIRONMENT
                },
                duration_ms: clock.elapsed().as_millis() as u64,
                error: Some(e.to_string()),
                ..not_run(plan)
            }
        }
    }
}

fn outcome_word(run: &MatrixRun) -> &'static str {
    match (run.status, run.verdict) {
        (RunStatus::Interrupted, _) => "interrupted",
        (_, Some(verdict)) => verdict.as_str(),
        (_, None) => "error",
    }
}

/// A run the matrix never started (interrupted before its turn).
fn not_run(plan: &PlannedRun) -> MatrixRun {
    MatrixRun {
        name: plan.name.clone(),
        scenario: plan.scenario.name.clone(),
        scenario_path: plan.scenario.path.display().to_string(),
        run_id: plan.options.run_id.clone(),
        status: RunStatus::NotRun,
        verdict: None,
        exit_code: exit_code::INTERRUPTED,
        duration_ms: 0,
        failed_gates: 0,
        failed_steps: 0,
        report_dir: None,
        error: None,
        report: None,
    }
}

/// Where the matrix goes without `--report-dir`: `rehearse-report/matrix-<time>/`.
/// `--report-dir`, else `rehearse-report/matrix-<time>/`.
fn matrix_dir(args: &RunArgs, started_at: jiff::Timestamp) -> PathBuf {
    args.report_dir
        .clone()
        .unwrap_or_else(|| default_matrix_dir(&started_at.strftime("%Y%m%dT%H%M%SZ").to_string()))
}

fn default_matrix_dir(stamp: &str) -> PathBuf {
    PathBuf::from("rehearse-report").join(format!("matrix-{stamp}"))
}

/// A run's name before it is made unique: the scenario file's stem (what the user
/// typed, and two variants of one scenario usually differ there), else the scenario's
/// name.
fn base_name(path: &Path, scenario: &Scenario) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .map_or_else(|| scenario.name.clone(), str::to_string)
}

/// Make names unique in order: the second `x` becomes `x-2`, the third `x-3`, skipping
/// any name already taken (so the same file given twice gets two folders).
fn unique_names(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut taken = HashSet::new();
    names
        .into_iter()
        .map(|base| {
            let mut name = base.clone();
            let mut n = 2;
            while !taken.insert(name.clone()) {
                name = format!("{base}-{n}");
                n += 1;
            }
            name
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        unique_names(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn distinct_names_are_kept() {
        assert_eq!(names(&["a", "b", "c"]), ["a", "b", "c"]);
    }

    #[test]
    fn the_same_scenario_twice_gets_two_folders() {
        assert_eq!(
            names(&["smoke", "broken", "smoke"]),
            ["smoke", "broken", "smoke-2"]
        );
        assert_eq!(names(&["x", "x", "x"]), ["x", "x-2", "x-3"]);
    }

    #[test]
    fn a_suffix_never_takes_a_name_already_given() {
        assert_eq!(names(&["x", "x-2", "x"]), ["x", "x-2", "x-3"]);
        assert_eq!(names(&["x", "x", "x-2"]), ["x", "x-2", "x-2-2"]);
    }

    #[test]
    fn a_name_is_the_file_stem_else_the_scenario_name() {
        let scenario = crate::runner::parse_scenario(
            Path::new("s.yaml"),
            "name: lamp-upgrade\nhosts:\n  web: {image: static-site}\nsteps:\n  - reboot: web\n",
        )
        .unwrap();
        assert_eq!(
            base_name(Path::new("scenarios/lamp-variant-b.yaml"), &scenario),
            "lamp-variant-b"
        );
        assert_eq!(base_name(Path::new(""), &scenario), "lamp-upgrade");
    }

    #[test]
    fn the_default_matrix_folder() {
        assert_eq!(
            default_matrix_dir("20261122T080000Z"),
            Path::new("rehearse-report/matrix-20261122T080000Z")
        );
        let dir = default_matrix_dir("t");
        let folders: Vec<PathBuf> = names(&["smoke", "smoke"])
            .iter()
            .map(|n| dir.join(n))
            .collect();
        assert_eq!(
            folders,
            [
                PathBuf::from("rehearse-report/matrix-t/smoke"),
                PathBuf::from("rehearse-report/matrix-t/smoke-2")
            ]
        );
    }
}
