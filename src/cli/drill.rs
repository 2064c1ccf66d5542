//! `rehearse drill`: start a training drill, check the trainee's repair, end it.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::check::load_scenario;
use super::{DrillArgs, DrillCommand, DrillStartArgs, DrillStatusArgs, StateArg, use_color};
use crate::drill::{Attempt, DrillHost, DrillState, Solved};
use crate::engine::{DockerEngine, Engine};
use crate::exit_code;
use crate::report::StepStatus;
use crate::report::terminal::{Detail, LiveView};
use crate::runner::{EventSink, RunEvent, RunOptions, new_run_id, run_with_outcome};
use crate::scenario::{Drill, ProbeKind, Scenario, UnsetEnv};

pub async fn drill(args: &DrillArgs, engine_choice: &super::EngineChoice) -> i32 {
    match &args.command {
        Some(DrillCommand::Status(status_args)) => status(status_args, engine_choice).await,
        Some(DrillCommand::End { state }) => end(state, engine_choice).await,
        None => match &args.start.file {
            Some(file) => start(file, &args.start, engine_choice).await,
            None => {
                errln!("error: name a drill file (`rehearse drill FILE`), or `status` / `end`");
                exit_code::INVALID_INPUT
            }
        },
    }
}

impl StateArg {
    pub(super) fn path(&self) -> Result<PathBuf, i32> {
        self.state
            .clone()
            .or_else(crate::drill::default_state_path)
            .ok_or_else(|| {
                errln!(
                    "error: neither XDG_STATE_HOME nor HOME is set: pass --state FILE for the drill's state"
                );
                exit_code::INVALID_INPUT
            })
    }
}

/// Build the replica, run the drill's steps, make sure something is broken, brief.
async fn start(file: &Path, args: &DrillStartArgs, engine_choice: &super::EngineChoice) -> i32 {
    let scenario = match load_scenario(file, UnsetEnv::Refuse) {
        Ok(scenario) => scenario,
        Err(message) => {
            errln!("{message}");
            return exit_code::INVALID_INPUT;
        }
    };
    let Some(drill) = scenario.drill.clone() else {
        errln!(
            "error: `{}` has no `drill:` section: a drill needs a briefing and the checks that prove the repair (see the book, \"Training drills\": docs/src/drills.md); use `rehearse run` for a rehearsal",
            file.display()
        );
        return exit_code::INVALID_INPUT;
    };
    if let Err(e) = crate::runner::host_copies(&scenario) {
        errln!("error: {e}");
        return exit_code::INVALID_INPUT;
    }
    let state_path = match args.state.path() {
        Ok(path) => path,
        Err(code) => return code,
    };
    let mut engine = match super::connect(engine_choice).await {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    if let Some(code) =
        refuse_second_drill(&engine, &engine_choice.endpoint.url(), &state_path).await
    {
        return code;
    }
    super::run::remove_dead_leftovers(&engine).await;
    let publish = match super::publish_address(&mut engine, engine_choice).await {
        Ok(publish) => publish,
        Err(code) => return code,
    };
    let apt_cache = match args.build.start_apt_cache(engine_choice).await {
        Ok(cache) => cache,
        Err(code) => return code,
    };
    let mut options = RunOptions::new(new_run_id(&scenario.name), args.build.settings(Some(file)));
    super::use_apt_cache(&mut options, apt_cache.as_ref());
    options.publish = publish;
    options.keep = true;
    options.checkpoints = false;
    options.drill_baseline = true;
    super::signals::watch_signals(options.cancel.clone());

    errln!("preparing drill `{}`…", scenario.name);
    let outcome = if args.verbose {
        let stderr = std::io::stderr();
        let interactive = stderr.is_terminal();
        let mut view = LiveView::new(
            stderr,
            Detail::Normal,
            use_color(interactive),
            super::spinner(interactive),
        );
        // The drill says itself how to enter and remove its replica.
        let mut sink = |event: &RunEvent| {
            if !matches!(event, RunEvent::Kept { .. }) {
                view.event(event);
            }
        };
        run_with_outcome(&engine, &scenario, &options, &mut sink).await
    } else {
        // The steps' names would tell the trainee what was broken: only counts are shown.
        let mut view = SetupView::default();
        run_with_outcome(&engine, &scenario, &options, &mut view).await
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
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
    let Some(kept) = outcome.kept else {
        errln!("error: the drill's replica was not kept");
        return exit_code::ENVIRONMENT;
    };
    let report = &outcome.report;
    if report.interrupted {
        remove_replica(&engine, &options.run_id).await;
        return exit_code::INTERRUPTED;
    }
    // The drill must reach its starting point: every setup step that may not fail passed.
    if let Some(failed) = report
        .steps
        .iter()
        .find(|s| s.status != StepStatus::Passed && !s.allow_failure)
    {
        remove_replica(&engine, &options.run_id).await;
        errln!(
            "error: the drill's setup did not reach its starting point: step `{}` {}: {}",
            failed.name,
            failed.status.as_str(),
            failed.detail.as_deref().unwrap_or("no detail")
        );
        return exit_code::NO_GO;
    }
    let baseline = match (&drill.data, outcome.baseline) {
        (None, _) => None,
        (Some(_), Some(Ok(count))) => Some(count),
        (Some(_), other) => {
            remove_replica(&engine, &options.run_id).await;
            let why = match other {
                Some(Err(why)) => why,
                _ => "its step was never reached".into(),
            };
            errln!("error: the drill's data could not be counted before the incident: {why}");
            return exit_code::NO_GO;
        }
    };
    let dir = args.report_dir.clone().unwrap_or_else(|| {
        super::default_report_dir(&format!("drill-{}", scenario.name), jiff::Timestamp::now())
    });
    let mut state = DrillState {
        scenario: scenario.name.clone(),
        scenario_path: std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf()),
        run_id: options.run_id.clone(),
        network: kept.network.clone(),
        publish: options.publish,
        hosts: kept
            .hosts
            .iter()
            .map(|(name, host)| DrillHost {
                name: name.clone(),
                container_id: host.container_id.clone(),
                address: host.address,
                reach: host.reach.clone(),
            })
            .collect(),
        briefed_at: jiff::Timestamp::now(),
        attempts: 0,
        hints_used: 0,
        baseline,
        report_dir: std::path::absolute(&dir).unwrap_or(dir),
        solved: None,
        engine: Some(engine_choice.endpoint.url()),
    };
    // A drill whose checks already pass has nothing to repair: its steps break nothing
    // its checks test.
    let first = crate::drill::attempt(&engine, &scenario, &drill, &mut state).await;
    if first.solved() {
        remove_replica(&engine, &options.run_id).await;
        errln!(
            "error: drill `{}` is not broken after its setup: every check passes; its steps must break what its checks test",
            scenario.name
        );
        return exit_code::NO_GO;
    }
    state.briefed_at = jiff::Timestamp::now();
    if let Err(e) = state.save(&state_path) {
        remove_replica(&engine, &options.run_id).await;
        errln!("error: {e}");
        return exit_code::ENVIRONMENT;
    }
    brief(&scenario, &drill, &state, &state_path);
    exit_code::GO
}

/// The running drill's state, when this command talks to the engine its replica runs
/// on; otherwise the error is printed and the exit code returned.
pub(super) fn load_state(
    path: &Path,
    engine_choice: &super::EngineChoice,
) -> Result<DrillState, i32> {
    let state = DrillState::load(path).map_err(|e| {
        errln!("error: {e}");
        exit_code::INVALID_INPUT
    })?;
    let here = engine_choice.endpoint.url();
    match &state.engine {
        Some(there) if *there != here => {
            errln!(
                "error: drill `{}` runs on the engine at `{there}`, not `{here}`: pass `--docker-host {there}` (or set DOCKER_HOST)",
                state.scenario
            );
            Err(exit_code::INVALID_INPUT)
        }
        _ => Ok(state),
    }
}

/// A drill already running (its replica still there) is not replaced by accident.
async fn refuse_second_drill(
    engine: &DockerEngine,
    engine_url: &str,
    state_path: &Path,
) -> Option<i32> {
    let running = DrillState::load(state_path).ok()?;
    // A drill on another engine cannot be looked at from here: it may well be alive.
    let elsewhere = running
        .engine
        .as_deref()
        .filter(|there| *there != engine_url);
    if elsewhere.is_none() && !replica_alive(engine, &running).await {
        return None;
    }
    let end = match elsewhere {
        Some(there) => format!("`rehearse drill end --docker-host {there}`"),
        None => "`rehearse drill end`".to_string(),
    };
    errln!(
        "error: drill `{}` is still running (its replica is {}): end it with {end} first, or use another --state file",
        running.scenario,
        running.run_id
    );
    Some(exit_code::INVALID_INPUT)
}

async fn replica_alive(engine: &DockerEngine, state: &DrillState) -> bool {
    match engine.list_labelled(crate::engine::RUN_LABEL).await {
        Ok(resources) => resources.iter().any(|r| {
            r.labels.get(crate::engine::RUN_LABEL).map(String::as_str) == Some(&state.run_id)
        }),
        Err(_) => true,
    }
}

async fn remove_replica(engine: &DockerEngine, run_id: &str) {
    let options = crate::gc::GcOptions {
        force: true,
        ..crate::gc::GcOptions::default()
    };
    match crate::gc::collect(engine, options, Some(run_id)).await {
        Ok(summary) => {
            for error in &summary.errors {
                errln!("warning: cannot remove {error}; `rehearse gc` will retry");
            }
        }
        Err(e) => {
            errln!("warning: cannot remove the drill's replica ({e}); `rehearse gc` will")
        }
    }
}

/// What the trainee is told: the situation, where the site is, how to work and check.
fn brief(scenario: &Scenario, drill: &Drill, state: &DrillState, state_path: &Path) {
    let mut out = String::new();
    out.push_str(&format!("\n== drill: {} ==\n\n", scenario.name));
    for line in drill.briefing.trim_end().lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str("\nhosts:\n");
    for host in &state.hosts {
        let aliases = scenario
            .host(&host.name)
            .map(|h| h.aliases.join(", "))
            .unwrap_or_default();
        let aliases = if aliases.is_empty() {
            String::new()
        } else {
            format!("  (answers to {aliases})")
        };
        out.push_str(&format!(
            "  {:<12} {}{aliases}   rehearse shell {}\n",
            host.name, host.address, host.name
        ));
    }
    let sites = sites(scenario, drill, state);
    if !sites.is_empty() {
        out.push_str("\nthe site, from this machine:\n");
        for site in sites {
            out.push_str(&format!("  {site}\n"));
        }
    }
    let hints = drill.hints.len();
    out.push_str(&format!(
        "\nwhen you think it is repaired:  rehearse drill status\n\
         a hint ({hints} available):        rehearse drill status --hint\n\
         to stop and remove the replica: rehearse drill end\n\
         (state: {})\n",
        state_path.display()
    ));
    outln!("{out}");
}

/// `curl` lines for the drill's HTTP checks, virtual host included.
fn sites(scenario: &Scenario, drill: &Drill, state: &DrillState) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for name in &drill.checks {
        let Some(ProbeKind::Http(http)) = scenario.probe(name).map(|p| &p.kind) else {
            continue;
        };
        // Where the checks reach it: the host's own address, or a published port.
        let Ok(target) = state.addresses().target(&http.host, http.port) else {
            continue;
        };
        let port = if target.address.port() == 80 {
            String::new()
        } else {
            format!(":{}", target.address.port())
        };
        let address = target.address.ip();
        let line = match &http.vhost {
            Some(vhost) => format!(
                "curl -H 'Host: {vhost}' http://{address}{port}{}",
                http.path
            ),
            None => format!("curl http://{address}{port}{}", http.path),
        };
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    lines
}

/// Run the checks, say which still fail (not why they fail: that is the drill), and
/// end with the figures once they all pass.
async fn status(args: &DrillStatusArgs, engine_choice: &super::EngineChoice) -> i32 {
    let state_path = match args.state.path() {
        Ok(path) => path,
        Err(code) => return code,
    };
    let mut state = match load_state(&state_path, engine_choice) {
        Ok(state) => state,
        Err(code) => return code,
    };
    let scenario = match load_scenario(&state.scenario_path, UnsetEnv::Refuse) {
        Ok(scenario) => scenario,
        Err(message) => {
            errln!("{message}");
            return exit_code::INVALID_INPUT;
        }
    };
    let Some(drill) = scenario.drill.clone() else {
        errln!(
            "error: `{}` no longer has a `drill:` section",
            state.scenario_path.display()
        );
        return exit_code::INVALID_INPUT;
    };
    let engine = match super::connect(engine_choice).await {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    if !replica_alive(&engine, &state).await {
        errln!(
            "error: the replica of drill `{}` is gone (run {}): start the drill again with `rehearse drill {}`",
            state.scenario,
            state.run_id,
            state.scenario_path.display()
        );
        return exit_code::ENVIRONMENT;
    }
    if args.hint {
        if (state.hints_used as usize) < drill.hints.len() {
            state.hints_used += 1;
        } else if drill.hints.is_empty() {
            outln!("this drill has no hints");
        } else {
            outln!("no more hints: all {} are shown below", drill.hints.len());
        }
    }
    for (number, hint) in drill
        .hints
        .iter()
        .take(state.hints_used as usize)
        .enumerate()
    {
        outln!("hint {}/{}: {}", number + 1, drill.hints.len(), hint.trim());
    }
    state.attempts += 1;
    errln!(
        "checking drill `{}` (attempt {})…",
        state.scenario,
        state.attempts
    );
    let attempt = crate::drill::attempt(&engine, &scenario, &drill, &mut state).await;
    if attempt.solved() && state.solved.is_none() {
        state.solved = Some(Solved {
            at: jiff::Timestamp::now(),
            attempts: state.attempts,
            hints_used: state.hints_used,
            data_lost: attempt.data.as_ref().and_then(|d| d.lost()),
        });
    }
    if let Err(e) = state.save(&state_path) {
        errln!("error: {e}");
        return exit_code::ENVIRONMENT;
    }
    let report = crate::drill::report(&scenario, &state, &attempt);
    let color = use_color(std::io::stdout().is_terminal());
    out!("{}", render_attempt(&state, &drill, &attempt, color));
    match crate::report::write_all(&state.report_dir, &report) {
        Ok(paths) => errln!("report: {}", paths[0].display()),
        Err(e) => {
            errln!(
                "error: cannot write the report into `{}`: {e}",
                state.report_dir.display()
            );
            return exit_code::ENVIRONMENT;
        }
    }
    if attempt.solved() {
        exit_code::GO
    } else {
        exit_code::NO_GO
    }
}

/// The attempt for the trainee: each check passes or not, the data, then either what
/// is left or the drill's figures.
pub fn render_attempt(state: &DrillState, drill: &Drill, attempt: &Attempt, color: bool) -> String {
    use owo_colors::OwoColorize;
    let mark = |passed: bool| match (passed, color) {
        (true, true) => "✓".green().to_string(),
        (false, true) => "✗".red().to_string(),
        (true, false) => "✓".to_string(),
        (false, false) => "✗".to_string(),
    };
    let mut out = String::new();
    for reboot in &attempt.reboots {
        match &reboot.outcome {
            Ok(_) => out.push_str(&format!("  ↻ {} rebooted before the checks\n", reboot.host)),
            Err(why) => out.push_str(&format!("  {} {why}\n", mark(false))),
        }
    }
    for check in &attempt.checks {
        out.push_str(&format!(
            "  {} {}\n",
            mark(check.outcome.passed),
            check.probe
        ));
    }
    if let Some(data) = &attempt.data {
        out.push_str(&format!(
            "  {} data: {}\n",
            mark(data.kept()),
            crate::drill::data_detail(data)
        ));
    }
    let elapsed = jiff::Timestamp::now().duration_since(state.briefed_at);
    if attempt.solved() {
        let solved = state.solved.as_ref();
        let took = solved
            .map(|s| s.at.duration_since(state.briefed_at))
            .unwrap_or(elapsed);
        let data = match attempt.data.as_ref().and_then(|d| d.lost()) {
            None => String::new(),
            Some(0) => ", no data lost".into(),
            Some(lost) => format!(", {lost} row(s) lost (within the allowed)"),
        };
        out.push_str(&format!(
            "\ndrill solved: time to repair {}, {} check attempt(s), {} of {} hint(s) used{data}\n",
            human(took),
            solved.map_or(state.attempts, |s| s.attempts),
            solved.map_or(state.hints_used, |s| s.hints_used),
            drill.hints.len()
        ));
        out.push_str("end it with `rehearse drill end` (removes the replica)\n");
    } else {
        let failing = attempt.failing().count()
            + usize::from(attempt.data.as_ref().is_some_and(|d| !d.kept()));
        out.push_str(&format!(
            "\nnot yet: {failing} check(s) still fail ({} since the briefing, attempt {}); ",
            human(elapsed),
            state.attempts
        ));
        if (state.hints_used as usize) < drill.hints.len() {
            out.push_str(&format!(
                "a hint: `rehearse drill status --hint` ({} of {} used)\n",
                state.hints_used,
                drill.hints.len()
            ));
        } else {
            out.push_str("keep going\n");
        }
    }
    out
}

/// "12m 4s": whole seconds.
fn human(duration: jiff::SignedDuration) -> String {
    let secs = duration.as_secs().max(0) as u64;
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

/// Remove the drill's replica and forget the drill.
async fn end(state_arg: &StateArg, engine_choice: &super::EngineChoice) -> i32 {
    let state_path = match state_arg.path() {
        Ok(path) => path,
        Err(code) => return code,
    };
    let state = match load_state(&state_path, engine_choice) {
        Ok(state) => state,
        Err(code) => return code,
    };
    let engine = match super::connect(engine_choice).await {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    remove_replica(&engine, &state.run_id).await;
    if let Err(e) = std::fs::remove_file(&state_path) {
        errln!("warning: cannot remove `{}`: {e}", state_path.display());
    }
    match &state.solved {
        Some(solved) => outln!(
            "drill `{}` ended: solved in {} after {} check attempt(s) and {} hint(s); replica removed",
            state.scenario,
            human(solved.at.duration_since(state.briefed_at)),
            solved.attempts,
            solved.hints_used
        ),
        None => outln!(
            "drill `{}` ended unsolved after {} check attempt(s); replica removed",
            state.scenario,
            state.attempts
        ),
    }
    exit_code::GO
}

/// Setup progress that names no step: building, hosts, "step 3 of 5".
#[derive(Debug, Default)]
struct SetupView {
    last: Option<String>,
}

impl EventSink for SetupView {
    fn event(&mut self, event: &RunEvent) {
        let line = match event {
            RunEvent::Image(crate::images::ImageEvent::Building { what, .. }) => {
                Some(format!("  building {what}…"))
            }
            RunEvent::HostReady { host, .. } => Some(format!("  host {host} is up")),
            RunEvent::StepStarted { index, total, .. } if *index > 0 => Some(format!(
                "  setting the scene: step {index} of {}",
                total - 1
            )),
            _ => None,
        };
        if let Some(line) = line
            && self.last.as_ref() != Some(&line)
        {
            errln!("{line}");
            self.last = Some(line);
        }
    }
}
