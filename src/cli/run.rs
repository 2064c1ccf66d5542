//! `rehearse run`: rehearse a scenario and give the verdict.

use std::io::IsTerminal;
use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use super::check::load_scenario;
use super::{OutputArg, RunArgs, use_color};
use crate::exit_code;
use crate::report::terminal::{Detail, LiveView, render_summary};
use crate::report::{Verdict, write_all};
use crate::runner::{RunOptions, new_run_id, run as run_scenario};
use crate::scenario::UnsetEnv;

pub async fn run(args: &RunArgs) -> i32 {
    let scenario = match load_scenario(&args.scenario, UnsetEnv::Refuse) {
        Ok(scenario) => scenario,
        Err(message) => {
            eprintln!("{message}");
            return exit_code::INVALID_INPUT;
        }
    };
    // Checked again by the runner; here so that a bad file reference is invalid input
    // even before an engine is reached.
    if let Err(e) = crate::local_files::host_copies(&scenario) {
        let redactor = crate::redact::Redactor::new(&scenario.secrets);
        eprintln!("error: {}", redactor.redact(&e.to_string()));
        return exit_code::INVALID_INPUT;
    }
    for secret in &scenario.secrets {
        if secret.value.chars().count() < crate::redact::SHORT_SECRET {
            eprintln!(
                "warning: `{}` is shorter than {} characters: it is redacted only where it stands alone, not inside longer words",
                secret.name,
                crate::redact::SHORT_SECRET
            );
        }
    }
    let engine = match super::connect().await {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let dir = args.report_dir.clone().unwrap_or_else(|| {
        let stamp = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        PathBuf::from("rehearse-report").join(format!("{}-{stamp}", scenario.name))
    });
    let mut options = RunOptions::new(
        new_run_id(&scenario.name),
        args.build.settings(Some(&args.scenario)),
    );
    options.keep = args.keep;
    options.logs_dir = Some(dir.join("logs"));
    watch_signals(options.cancel.clone());

    let detail = if args.quiet {
        Detail::Quiet
    } else if args.verbose {
        Detail::Verbose
    } else {
        Detail::Normal
    };
    let stderr = std::io::stderr();
    let interactive = stderr.is_terminal();
    let color = use_color(interactive);
    let mut view = LiveView::new(stderr, detail, color, interactive);
    let report = match run_scenario(&engine, &scenario, &options, &mut view).await {
        Ok(report) => report,
        Err(e) => {
            let redactor = crate::redact::Redactor::new(&scenario.secrets);
            eprintln!("error: {}", redactor.redact(&e.to_string()));
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
        OutputArg::Json => serde_json::to_writer_pretty(&mut out, &report)
            .map_err(std::io::Error::other)
            .and_then(|()| std::io::Write::write_all(&mut out, b"\n")),
    };
    if let Err(e) = printed {
        eprintln!("error: cannot print the summary: {e}");
    }
    match write_all(&dir, &report) {
        Ok(paths) => {
            let names: Vec<String> = paths
                .iter()
                .skip(1)
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .collect();
            eprintln!(
                "report: {} (and {} beside it)",
                paths[0].display(),
                names.join(", ")
            );
        }
        Err(e) => {
            eprintln!(
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

/// First SIGINT/SIGTERM: cancel the run (it cleans up and reports). Second: leave now;
/// `rehearse gc` removes what is left.
fn watch_signals(cancel: CancellationToken) {
    tokio::spawn(async move {
        wait_for_signal().await;
        eprintln!(
            "\ninterrupted: stopping the run and cleaning up (press Ctrl-C again to leave at once)"
        );
        cancel.cancel();
        wait_for_signal().await;
        eprintln!("leaving without cleanup; run `rehearse gc` to remove what is left");
        std::process::exit(exit_code::INTERRUPTED);
    });
}

async fn wait_for_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
