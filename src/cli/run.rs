//! `rehearse run`: rehearse a scenario and give the verdict. Several scenarios, a
//! folder of them or a shard of the list (`--shard K/N`) are handed to [`super::matrix`].

use std::io::IsTerminal;
use std::path::Path;

use super::signals::watch_signals;

use super::check::{check_recipes, load_scenario};
use super::scenario_files::ScenarioFiles;
use super::{EngineChoice, OutputArg, RunArgs, use_color};
use crate::exit_code;
use crate::report::terminal::{Detail, LiveView, render_summary, verdict_line};
use crate::report::{Verdict, write_all};
use crate::runner::{RunOptions, new_run_id, run as run_scenario};
use crate::scenario::{Scenario, UnsetEnv};

pub async fn run(args: &RunArgs, engine_choice: &EngineChoice) -> i32 {
    // Every scenario is validated before anything runs, and every error is shown: with
    // `--shard`, every scenario of the list, not only the shard's, so that each CI job
    // fails on any invalid file rather than only the job that would have rehearsed it.
    let expanded = ScenarioFiles::expand(&args.scenarios);
    let mut invalid = !expanded.errors.is_empty();
    for error in &expanded.errors {
        errln!("{error}");
    }
    let mut scenarios = Vec::new();
    for path in &expanded.files {
        match load_scenario(path, UnsetEnv::Refuse).and_then(|s| validate(&s).map(|()| s)) {
            Ok(scenario) => scenarios.push((path.clone(), scenario)),
            Err(message) => {
                errln!("{message}");
                invalid = true;
            }
        }
    }
    if invalid {
        return exit_code::INVALID_INPUT;
    }
    // Recipes are checked up front too, before any engine is asked (a bad one found by a
    // run half-way through a matrix would waste the others' time), for the whole list
    // like the scenarios.
    let problems: Vec<String> = scenarios
        .iter()
        .flat_map(|(path, scenario)| {
            check_recipes(scenario, &args.build.settings(Some(path)).images_dir)
        })
        .collect();
    if !problems.is_empty() {
        for problem in problems {
            errln!("{problem}");
        }
        return exit_code::INVALID_INPUT;
    }
    // A folder or a shard is a matrix whatever its count, so that the report folder's
    // layout does not depend on how many scenarios a folder or a shard holds.
    let matrix = scenarios.len() > 1 || expanded.any_folder || args.shard.is_some();
    if !matrix && let [(path, scenario)] = scenarios.as_slice() {
        return run_one(args, path, scenario, engine_choice).await;
    }
    if args.from.is_some() {
        // A step is named in one scenario; which checkpoint would the others start from?
        if scenarios.len() > 1 {
            errln!(
                "error: `--from` takes one scenario, not {}",
                scenarios.len()
            );
        } else {
            errln!(
                "error: `--from` takes one scenario file, not a folder: name the scenario's file"
            );
        }
        return exit_code::INVALID_INPUT;
    }
    if let Some(dir) = &args.report_dir
        && let Err(message) = usable_report_dir(dir)
    {
        errln!("error: {message}");
        return exit_code::INVALID_INPUT;
    }
    let total = scenarios.len();
    if let Some(shard) = args.shard {
        scenarios = shard.select(scenarios);
    }
    super::matrix::run_matrix(
        args,
        scenarios,
        args.shard.map(|shard| (shard, total)),
        engine_choice,
    )
    .await
}

/// What `load_scenario` cannot see: files the hosts get (their links and sizes need
/// the file system) — checked again by the runner, here so a bad reference is invalid
/// input before an engine is reached. Warns about secrets too short to redact safely.
fn validate(scenario: &Scenario) -> Result<(), String> {
    if let Err(e) = crate::runner::host_copies(scenario) {
        let redactor = crate::redact::Redactor::new(&scenario.secrets);
        return Err(format!("error: {}", redactor.redact(&e.to_string())));
    }
    for secret in &scenario.secrets {
        if secret.value.chars().count() < crate::redact::SHORT_SECRET {
            errln!(
                "warning: `{}` is shorter than {} characters: it is redacted only where it stands alone, not inside longer words",
                secret.name,
                crate::redact::SHORT_SECRET
            );
        }
    }
    Ok(())
}

/// Whether a report can be written into `dir`: it is a folder, or the nearest folder
/// above it that exists is one, and this user may write there. Asked before any engine
/// is, so a bad `--report-dir` is not found after the rehearsal; nothing is left.
pub(super) fn usable_report_dir(dir: &Path) -> Result<(), String> {
    let cannot = |why: String| format!("cannot write the report into `{}`: {why}", dir.display());
    let mut existing = dir.to_path_buf();
    loop {
        match std::fs::metadata(&existing) {
            Ok(meta) if meta.is_dir() => break,
            Ok(_) => {
                return Err(cannot(format!(
                    "`{}` is a file, not a folder; give --report-dir a folder",
                    existing.display()
                )));
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                existing = match existing.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                    _ => std::path::PathBuf::from("."),
                };
            }
            Err(e) => return Err(cannot(e.to_string())),
        }
    }
    let probe = existing.join(format!(".rehearse-write-test-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(cannot(format!("`{}`: {e}", existing.display()))),
    }
}

/// One scenario: live progress, its summary, its report folder, its exit code.
async fn run_one(
    args: &RunArgs,
    path: &Path,
    scenario: &Scenario,
    engine_choice: &EngineChoice,
) -> i32 {
    let from_step = match args.from.as_deref() {
        Some(from) => match crate::runner::checkpoint::resolve_from(scenario, from) {
            Ok(index) => Some(index),
            Err(message) => {
                errln!("error: {message}");
                return exit_code::INVALID_INPUT;
            }
        },
        None => None,
    };
    let dir = args
        .report_dir
        .clone()
        .unwrap_or_else(|| super::default_report_dir(&scenario.name, jiff::Timestamp::now()));
    if let Err(message) = usable_report_dir(&dir) {
        errln!("error: {message}");
        return exit_code::INVALID_INPUT;
    }
    let mut engine = match super::connect(engine_choice).await {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    remove_dead_leftovers(&engine).await;
    // Cleans up should this process die without doing so; a kept replica is kept.
    let _watchdog = (!args.keep).then(|| super::watchdog::start(engine_choice));
    // Started before provisioning, stopped (dropped) when the command ends.
    let publish = match super::publish_address(&mut engine, engine_choice).await {
        Ok(publish) => publish,
        Err(code) => return code,
    };
    let apt_cache = match args.build.start_apt_cache(engine_choice).await {
        Ok(cache) => cache,
        Err(code) => return code,
    };
    let mut options = RunOptions::new(new_run_id(&scenario.name), args.build.settings(Some(path)));
    super::use_apt_cache(&mut options, apt_cache.as_ref());
    options.publish = publish;
    options.keep = args.keep;
    options.checkpoints = !args.no_checkpoints;
    options.from_step = from_step;
    options.logs_dir = Some(dir.join("logs"));
    watch_signals(options.cancel.clone());

    let detail = detail(args);
    let stderr = std::io::stderr();
    let interactive = stderr.is_terminal();
    let color = use_color(interactive);
    let mut view = LiveView::new(stderr, detail, color, super::spinner(interactive));
    let report = match run_scenario(&engine, scenario, &options, &mut view).await {
        Ok(report) => report,
        Err(e) => {
            let redactor = crate::redact::Redactor::new(&scenario.secrets);
            errln!("error: {}", redactor.redact(&e.to_string()));
            return if e.is_input_error() {
                exit_code::INVALID_INPUT
            } else {
                exit_code::ENVIRONMENT
            };
        }
    };
    let stdout = std::io::stdout();
    let color_out = use_color(stdout.is_terminal());
    let mut out = stdout.lock();
    let printed = match args.output {
        OutputArg::Table => render_summary(&report, &mut out, color_out),
        OutputArg::Json => {
            // The JSON is for scripts; the person watching still reads the verdict.
            errln!("{}", verdict_line(&report, color));
            serde_json::to_writer_pretty(&mut out, &report)
                .map_err(std::io::Error::from)
                .and_then(|()| std::io::Write::write_all(&mut out, b"\n"))
        }
    };
    if let Err(e) = super::printed(printed) {
        errln!("error: cannot print the summary: {e}");
    }
    match write_all(&dir, &report) {
        Ok(paths) => {
            let names: Vec<String> = paths
                .iter()
                .skip(1)
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .collect();
            errln!(
                "report: {} (and {} beside it)",
                paths[0].display(),
                names.join(", ")
            );
        }
        Err(e) => {
            errln!(
                "error: cannot write the report into `{}`: {e}",
                dir.display()
            );
            return exit_code::ENVIRONMENT;
        }
    }
    if report.interrupted {
        exit_code::INTERRUPTED
    } else if report.verdict == Verdict::Go {
        exit_code::GO
    } else {
        exit_code::NO_GO
    }
}

/// Remove what runs killed on this machine left behind (`kill -9`, a crash, a lost
/// machine): only runs whose process is gone, never replicas kept with `--keep`, never
/// a run in progress in another process. A failure here only warns.
pub(super) async fn remove_dead_leftovers(engine: &crate::engine::DockerEngine) {
    let options = crate::gc::GcOptions {
        spare_kept: true,
        ..crate::gc::GcOptions::default()
    };
    match crate::gc::collect(engine, options, None).await {
        Ok(summary) => {
            if !summary.dead_runs.is_empty() {
                errln!(
                    "removed {} resource(s) left by dead run(s) {}",
                    summary.removed.len(),
                    summary.dead_runs.join(", ")
                );
            }
            for error in &summary.errors {
                errln!("warning: cannot remove {error}; `rehearse gc` will retry");
            }
        }
        Err(e) => errln!("warning: cannot look for leftovers of dead runs: {e}"),
    }
}

/// How much the live view shows.
pub(super) fn detail(args: &RunArgs) -> Detail {
    if args.quiet {
        Detail::Quiet
    } else if args.verbose {
        Detail::Verbose
    } else {
        Detail::Normal
    }
}
