//! The runner's logic over a scripted engine: step order, failure handling, findings,
//! cancellation and cleanup. The real engine is exercised by `tests/docker.rs`.

use std::path::Path;

use super::*;
use crate::engine::ExecOutput;
use crate::engine::fake::{FakeEngine, ok};
use crate::report::Verdict;

const SCENARIO: &str = r#"
name: unit
hosts:
  web: {image: site}
probes:
  up:
    exec: {host: web, command: check-up}
    retry: {interval: 10ms, deadline: 30ms}
steps:
  - name: before
    probe: up
  - name: change
    exec: {host: web, command: do-change}
  - reboot: web
  - name: after
    probe: up
"#;

fn scenario(text: &str) -> Scenario {
    crate::scenario::parse(Path::new("unit.yaml"), text).expect("test scenario is valid")
}

/// An images folder holding recipe `site`.
fn images_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let recipe = dir.path().join("site");
    std::fs::create_dir_all(&recipe).unwrap();
    std::fs::write(
        recipe.join("recipe.yaml"),
        "suite: bookworm\npackages: [apache2]\n",
    )
    .unwrap();
    dir
}

fn options(images: &tempfile::TempDir) -> RunOptions {
    let build = BuildSettings {
        images_dir: images.path().to_path_buf(),
        ..BuildSettings::default()
    };
    let mut options = RunOptions::new("unit-1".into(), build);
    options.boot_timeout = Duration::from_secs(5);
    options
}

async fn rehearse(engine: &FakeEngine, text: &str) -> (Report, Vec<RunEvent>) {
    let images = images_dir();
    let mut events = Vec::new();
    let report = run(
        engine,
        &scenario(text),
        &options(&images),
        &mut |e: &RunEvent| events.push(e.clone()),
    )
    .await
    .expect("the run is carried out");
    (report, events)
}

/// The calls an engine saw, without the container/network names.
fn short_calls(engine: &FakeEngine) -> Vec<String> {
    engine
        .calls()
        .into_iter()
        .map(|c| {
            c.replace("rh-unit-1-web", "web")
                .replace("rh-unit-1", "net")
        })
        .collect()
}

fn statuses(report: &Report) -> Vec<(&str, StepStatus)> {
    report
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.status))
        .collect()
}

#[tokio::test]
async fn steps_run_in_order_between_provision_and_cleanup() {
    let engine = FakeEngine::healthy();
    let (report, _) = rehearse(&engine, SCENARIO).await;
    assert_eq!(report.verdict, Verdict::Go);
    let image = &report.environment.images[0].reference;
    assert_eq!(
        short_calls(&engine),
        [
            "create network net".to_string(),
            format!("run web from {image}"),
            "exec web: systemctl is-system-running --wait".into(),
            "exec web: sh -c check-up".into(),
            "exec web: sh -c do-change".into(),
            "restart web".into(),
            "exec web: systemctl is-system-running --wait".into(),
            "exec web: sh -c check-up".into(),
            "remove container web".into(),
            "remove network net".into(),
        ]
    );
    assert!(engine.live_resources().is_empty());
    assert_eq!(
        statuses(&report),
        [
            ("provision", StepStatus::Passed),
            ("before", StepStatus::Passed),
            ("change", StepStatus::Passed),
            ("reboot web", StepStatus::Passed),
            ("after", StepStatus::Passed),
        ]
    );
}

#[tokio::test]
async fn a_failed_step_skips_the_rest_and_is_no_go_with_evidence() {
    let engine = FakeEngine::new(|_, argv| match argv.last().map(String::as_str) {
        Some("do-change") => ExecOutput {
            exit_code: 100,
            stdout: String::new(),
            stderr: "E: dpkg was interrupted\n".into(),
        },
        _ => ok("running\n"),
    });
    let (report, _) = rehearse(&engine, SCENARIO).await;
    assert_eq!(report.verdict, Verdict::NoGo);
    assert_eq!(
        statuses(&report),
        [
            ("provision", StepStatus::Passed),
            ("before", StepStatus::Passed),
            ("change", StepStatus::Failed),
            ("reboot web", StepStatus::Skipped),
            ("after", StepStatus::Skipped),
        ]
    );
    let change = &report.steps[2];
    assert_eq!(
        change.detail.as_deref(),
        Some("`do-change` exited with 100 (E: dpkg was interrupted), expected 0")
    );
    assert_eq!(
        change.evidence.as_ref().unwrap().output.as_deref(),
        Some("E: dpkg was interrupted")
    );
    assert!(!engine.calls().iter().any(|c| c.starts_with("restart")));
    assert!(
        engine.live_resources().is_empty(),
        "cleanup happens on NO-GO too"
    );
}

#[tokio::test]
async fn a_failing_probe_is_retried_until_its_deadline() {
    let engine = FakeEngine::new(|_, argv| match argv.last().map(String::as_str) {
        Some("check-up") => ExecOutput {
            exit_code: 3,
            stdout: "inactive\n".into(),
            stderr: String::new(),
        },
        _ => ok("running\n"),
    });
    let (report, events) = rehearse(&engine, SCENARIO).await;
    assert_eq!(report.verdict, Verdict::NoGo);
    let probe = &report.probes[0];
    assert!(probe.attempts >= 2, "retried: {probe:?}");
    assert_eq!(probe.failures, probe.attempts);
    assert_eq!((probe.checks, probe.failed_checks), (1, 1));
    let attempts = events
        .iter()
        .filter(|e| matches!(e, RunEvent::ProbeAttempt { .. }))
        .count();
    assert_eq!(attempts as u32, probe.attempts);
}

#[tokio::test]
async fn allow_failure_records_the_failure_and_goes_on() {
    let text = SCENARIO.replace(
        "    exec: {host: web, command: do-change}",
        "    exec: {host: web, command: do-change}\n    allow_failure: true",
    );
    let engine = FakeEngine::new(|_, argv| match argv.last().map(String::as_str) {
        Some("do-change") => ExecOutput {
            exit_code: 1,
            ..ExecOutput::default()
        },
        _ => ok("running\n"),
    });
    let (report, _) = rehearse(&engine, &text).await;
    assert_eq!(report.steps[2].status, StepStatus::Failed);
    assert_eq!(report.steps[4].status, StepStatus::Passed);
    assert_eq!(report.verdict, Verdict::Go);
}

#[tokio::test]
async fn a_degraded_boot_is_a_finding_not_a_failure() {
    let engine = FakeEngine::new(|_, argv| {
        if argv.get(1).map(String::as_str) == Some("is-system-running") {
            ok("degraded\n")
        } else if argv.get(1).map(String::as_str) == Some("--failed") {
            ok("mariadb.service loaded failed failed MariaDB\n")
        } else {
            ok("")
        }
    });
    let (report, _) = rehearse(&engine, SCENARIO).await;
    assert_eq!(report.verdict, Verdict::Go);
    assert_eq!(report.findings.len(), 2, "first boot and reboot");
    let finding = &report.findings[0];
    assert_eq!(finding.key, "systemd.degraded");
    assert!(!finding.inhibitor);
    assert_eq!(
        finding.evidence,
        ["mariadb.service loaded failed failed MariaDB"]
    );
}

#[tokio::test]
async fn systemd_not_up_yet_is_asked_again() {
    let asked = std::sync::atomic::AtomicUsize::new(0);
    let engine = FakeEngine::new(move |_, argv| {
        if argv.get(1).map(String::as_str) == Some("is-system-running")
            && asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2
        {
            ExecOutput {
                exit_code: 1,
                stdout: String::new(),
                stderr: "Failed to connect to bus: No such file or directory\n".into(),
            }
        } else {
            ok("running\n")
        }
    });
    let (report, _) = rehearse(&engine, SCENARIO).await;
    assert_eq!(report.verdict, Verdict::Go);
    let waits = engine
        .calls()
        .iter()
        .filter(|c| c.contains("is-system-running"))
        .count();
    assert_eq!(
        waits, 4,
        "two refusals, then the first boot, then the reboot"
    );
}

#[tokio::test]
async fn cancellation_stops_cleans_up_and_reports_interrupted() {
    let text = SCENARIO.replace(
        "    exec: {host: web, command: do-change}",
        "    exec: {host: web, command: do-change}\n  - name: wait\n    probe: slow",
    )
    .replace(
        "probes:\n",
        "probes:\n  slow:\n    tcp: {host: web, port: 9}\n    retry: {interval: 50ms, deadline: 1h}\n",
    );
    let engine = FakeEngine::healthy();
    let images = images_dir();
    let options = options(&images);
    let cancel = options.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
    });
    let report = run(&engine, &scenario(&text), &options, &mut |_: &RunEvent| {})
        .await
        .unwrap();
    assert!(report.interrupted);
    assert_eq!(report.verdict, Verdict::NoGo);
    assert_eq!(report.steps.last().unwrap().status, StepStatus::Skipped);
    assert!(engine.live_resources().is_empty());
}

#[tokio::test]
async fn keep_leaves_the_replica_and_says_how_to_enter_it() {
    let engine = FakeEngine::healthy();
    let images = images_dir();
    let mut options = options(&images);
    options.keep = true;
    let mut kept = None;
    run(
        &engine,
        &scenario(SCENARIO),
        &options,
        &mut |e: &RunEvent| {
            if let RunEvent::Kept { hosts, .. } = e {
                kept = Some(hosts.clone());
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(
        kept,
        Some(vec![("web".to_string(), "rh-unit-1-web".to_string())])
    );
    assert_eq!(engine.live_resources().len(), 2);
    let labels = &engine.live_resources()[0].labels;
    assert_eq!(labels[crate::engine::RUN_LABEL], "unit-1");
    assert_eq!(labels[crate::engine::OWNER_LABEL], crate::owner::current());
}

#[tokio::test]
async fn an_engine_that_goes_away_is_an_environment_error_not_a_no_go() {
    let engine = FakeEngine::healthy();
    *engine.gone_after.lock().unwrap() = Some("do-change".into());
    let images = images_dir();
    let result = run(
        &engine,
        &scenario(SCENARIO),
        &options(&images),
        &mut |_: &RunEvent| {},
    )
    .await;
    let error = result.expect_err("the run cannot be carried out");
    assert!(
        matches!(error, RunError::Engine(EngineError::Connect { .. })),
        "{error}"
    );
}
