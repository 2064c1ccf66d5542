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
    crate::runner::parse_scenario(Path::new("unit.yaml"), text).expect("test scenario is valid")
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
    rehearse_with(engine, text, images_dir()).await
}

/// [`rehearse`] with the recipes of `images`.
async fn rehearse_with(
    engine: &FakeEngine,
    text: &str,
    images: tempfile::TempDir,
) -> (Report, Vec<RunEvent>) {
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

#[tokio::test]
async fn what_cleanup_cannot_remove_is_told_to_the_reporters_not_printed() {
    let engine = FakeEngine::healthy();
    *engine.gone_after.lock().unwrap() = Some("do-change".into());
    let images = images_dir();
    let mut notices = Vec::new();
    let _ = run(
        &engine,
        &scenario(SCENARIO),
        &options(&images),
        &mut |event: &RunEvent| {
            if let RunEvent::Notice { message } = event {
                notices.push(message.clone());
            }
        },
    )
    .await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].starts_with("warning: the engine is gone: ")
            && notices[0].ends_with("run `rehearse gc` once it is back"),
        "{notices:?}"
    );
}

const CUTOVER: &str = r#"
name: unit
hosts:
  old: {image: site}
  new: {image: site}
steps:
  - name: cutover
    cutover: {from: old, to: new, site: notes.example.test}
"#;

const NGINX_SITE: &str = "server {\n    listen 80 default_server;\n    server_name notes.example.test;\n    root /var/www/html;\n}\n";

/// An old host running nginx (not Apache) whose `nginx -t` exits with `test_exit`.
fn nginx_host(test_exit: i64) -> FakeEngine {
    use base64::Engine as _;
    FakeEngine::new(move |_, argv| {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        match argv[..] {
            ["systemctl", "is-active", "--quiet", "nginx"] => ok(""),
            ["systemctl", "is-active", "--quiet", _] => ExecOutput {
                exit_code: 3,
                ..ExecOutput::default()
            },
            ["nginx", "-t"] => ExecOutput {
                exit_code: test_exit,
                stdout: String::new(),
                stderr: "nginx: [emerg] unknown directive \"proxy_bogus\" in /etc/nginx/sites-enabled/default:5\n".into(),
            },
            ["sh", "-c", script, "sh", path] if script.starts_with("base64 -w0") => {
                let text = if path == "/etc/hosts" {
                    "127.0.0.1\tlocalhost\n"
                } else {
                    NGINX_SITE
                };
                ok(&base64::engine::general_purpose::STANDARD.encode(text))
            }
            _ => ok("running\n"),
        }
    })
}

/// What was written to `path`, in order.
fn writes(engine: &FakeEngine, path: &str) -> Vec<String> {
    use base64::Engine as _;
    engine
        .calls()
        .iter()
        .filter(|c| c.contains("base64 -d") && c.contains(&format!(" {path} ")))
        .map(|c| {
            let encoded = c.rsplit(' ').next().unwrap();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap();
            String::from_utf8(bytes).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn an_nginx_cutover_rewrites_the_site_keeps_the_original_and_reloads() {
    let engine = nginx_host(0);
    let (report, _) = rehearse(&engine, CUTOVER).await;
    assert_eq!(report.verdict, Verdict::Go, "{:?}", report.steps);
    let site = writes(&engine, "/etc/nginx/sites-enabled/default");
    assert_eq!(site.len(), 1);
    assert!(
        site[0].contains("proxy_pass http://notes.example.test;"),
        "{}",
        site[0]
    );
    assert_eq!(
        writes(
            &engine,
            "/var/backups/rehearse/etc_nginx_sites-enabled_default.before-cutover"
        ),
        [NGINX_SITE]
    );
    assert!(
        writes(&engine, "/etc/hosts")[0].ends_with("\tnotes.example.test\t# rehearse cutover\n")
    );
    let calls = short_calls(&engine);
    assert!(
        calls
            .iter()
            .any(|c| c.ends_with(": systemctl reload nginx")),
        "{calls:#?}"
    );
    assert!(!calls.iter().any(|c| c.contains("a2enmod")), "{calls:#?}");
}

#[tokio::test]
async fn a_failing_nginx_test_restores_the_site_and_does_not_reload() {
    let engine = nginx_host(1);
    let (report, _) = rehearse(&engine, CUTOVER).await;
    assert_eq!(report.verdict, Verdict::NoGo);
    let site = writes(&engine, "/etc/nginx/sites-enabled/default");
    assert_eq!(site.len(), 2, "rewritten, then restored");
    assert_eq!(site[1], NGINX_SITE);
    let keys: Vec<&str> = report.findings.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["cutover.configtest-failed"]);
    assert!(
        report.steps[1]
            .detail
            .as_deref()
            .unwrap()
            .ends_with("nginx was not reloaded and `/etc/nginx/sites-enabled/default` was restored, the old site still serves")
    );
    assert!(
        !engine
            .calls()
            .iter()
            .any(|c| c.contains("systemctl reload"))
    );
}

#[tokio::test]
async fn a_cutover_needs_to_know_the_web_server() {
    // The healthy fake answers "active" for every unit: both servers seem to run.
    let engine = FakeEngine::healthy();
    let (report, _) = rehearse(&engine, CUTOVER).await;
    assert_eq!(
        report.steps[1].detail.as_deref(),
        Some(
            "both apache2 and nginx are active on `old`: name the one serving `notes.example.test` with `server`"
        )
    );
    let text = CUTOVER.replace(
        "site: notes.example.test}",
        "site: notes.example.test, server: nginx}",
    );
    let engine = nginx_host(0);
    let (report, _) = rehearse(&engine, &text).await;
    assert_eq!(report.verdict, Verdict::Go);
    assert!(!engine.calls().iter().any(|c| c.contains("is-active")));
}

const RESTORE: &str = r#"
name: unit
hosts:
  web: {image: site}
  vault: {image: site, init: none}
probes:
  never:
    exec: {host: web, command: never-up}
    retry: {interval: 10ms, deadline: 450ms}
steps:
  - name: backups
    backup: {host: web, command: dump-it, path: /var/backups/shop, to: vault, every: 100ms}
  - name: time passes
    probe: never
    allow_failure: true
  - lose-host: web
  - name: restore
    restore: {host: web, from: vault, path: /var/backups/shop, command: restore-it, count: count-rows}
"#;

/// An engine where the first `count-rows` says 445 rows and the next ones 401.
fn counting_engine(
    fail: Option<&'static str>,
) -> (FakeEngine, std::sync::Arc<std::sync::atomic::AtomicU32>) {
    let counts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let seen = std::sync::Arc::clone(&counts);
    let engine = FakeEngine::new(move |_, argv| {
        let command = argv.last().map(String::as_str).unwrap_or_default();
        if Some(command) == fail {
            return ExecOutput {
                exit_code: 1,
                stdout: String::new(),
                stderr: format!("{command}: no database selected\n"),
            };
        }
        match command {
            "never-up" => ExecOutput {
                exit_code: 1,
                ..ExecOutput::default()
            },
            "count-rows" => {
                let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                ok(if n == 0 { "445\n" } else { "401\n" })
            }
            "--wait" => ok("running\n"),
            _ => ok(""),
        }
    });
    (engine, counts)
}

#[tokio::test]
async fn backups_repeat_until_the_host_is_lost_and_the_latest_is_restored() {
    let (engine, counts) = counting_engine(None);
    let (report, _) = rehearse(&engine, RESTORE).await;
    assert_eq!(report.verdict, Verdict::Go, "{:#?}", report.steps);
    let calls = short_calls(&engine);
    let copies: Vec<&String> = calls
        .iter()
        .filter(|c| c.starts_with("copy web:/var/backups/shop "))
        .collect();
    // One by the step, then one every 100 ms for about 450 ms.
    assert!(copies.len() >= 4, "{calls:#?}");
    let latest = copies.len();
    for (n, copy) in copies.iter().enumerate() {
        assert_eq!(
            copy.as_str(),
            format!(
                "copy web:/var/backups/shop net-vault:/var/lib/rehearse-backups/web/{}",
                n + 1
            )
        );
    }
    // The host is lost (counted first), started fresh from its image, and the latest
    // copy goes back where the backup was taken.
    let lost = calls
        .iter()
        .position(|c| c == "remove container web")
        .unwrap();
    assert_eq!(calls[lost - 1], "exec web: sh -c count-rows");
    // Backups stop with the host.
    assert!(
        calls[lost..]
            .iter()
            .all(|c| !c.starts_with("copy web:") && c != "exec web: sh -c dump-it"),
        "{calls:#?}"
    );
    let image = &report.environment.images[0].reference;
    assert_eq!(calls[lost + 1], format!("run web from {image}"));
    assert!(calls.contains(&format!(
        "copy net-vault:/var/lib/rehearse-backups/web/{latest}/shop web:/var/backups"
    )));
    let restored = calls
        .iter()
        .position(|c| c == "exec web: sh -c restore-it")
        .unwrap();
    assert_eq!(calls[restored + 1], "exec web: sh -c count-rows");
    assert_eq!(counts.load(std::sync::atomic::Ordering::SeqCst), 2);

    let restore = report.steps.iter().find(|s| s.name == "restore").unwrap();
    let recovery = restore.recovery.as_ref().unwrap();
    assert_eq!(recovery.backups_taken as usize, latest);
    assert_eq!(recovery.backups_failed, 0);
    let numbers: Vec<u32> = recovery.backups.iter().map(|b| b.number).collect();
    assert_eq!(numbers, (1..=latest as u32).collect::<Vec<_>>());
    assert!(
        recovery
            .backups
            .iter()
            .all(|b| b.bytes == Some(0) && b.error.is_none())
    );
    // Start to start, every 100 ms.
    let starts: Vec<u64> = recovery.backups.iter().map(|b| b.started_ms).collect();
    assert!(
        starts
            .windows(2)
            .all(|w| (80..=200).contains(&(w[1] - w[0]))),
        "{starts:?}"
    );
    assert!(recovery.seconds_since_last_backup <= 0.2, "{recovery:#?}");
    assert_eq!(
        (
            recovery.rows_before,
            recovery.rows_after,
            recovery.rows_lost
        ),
        (Some(445), Some(401), Some(44))
    );
    assert_eq!(recovery.lost_in_step, "lose web");
    assert!(recovery.restore_ms.is_some());
    assert!(engine.live_resources().is_empty());
}

#[tokio::test]
async fn a_restore_procedure_that_fails_fails_the_step_with_its_output() {
    let (engine, _) = counting_engine(Some("restore-it"));
    let (report, _) = rehearse(&engine, RESTORE).await;
    assert_eq!(report.verdict, Verdict::NoGo);
    let restore = report.steps.iter().find(|s| s.name == "restore").unwrap();
    assert_eq!(restore.status, StepStatus::Failed);
    let detail = restore.detail.as_deref().unwrap();
    assert!(
        detail.starts_with("the restore command failed on the fresh `web`")
            && detail.contains("no database selected"),
        "{detail}"
    );
    assert!(engine.live_resources().is_empty());
}

#[tokio::test]
async fn without_a_backup_on_the_store_there_is_nothing_to_restore() {
    let (engine, _) = counting_engine(Some("dump-it"));
    let text = RESTORE.replace("every: 100ms}", "every: 100ms}\n    allow_failure: true");
    let (report, _) = rehearse(&engine, &text).await;
    assert_eq!(report.verdict, Verdict::NoGo);
    let backup = report.steps.iter().find(|s| s.name == "backups").unwrap();
    assert_eq!(
        backup.detail.as_deref(),
        Some("`dump-it` on `web` exited with 1: dump-it: no database selected")
    );
    let restore = report.steps.iter().find(|s| s.name == "restore").unwrap();
    assert_eq!(
        restore.detail.as_deref(),
        Some(
            "no backup of `web` reached `vault` before `web` was lost: nothing to restore (1 attempt failed)"
        )
    );
}

#[tokio::test]
async fn secrets_never_reach_events_report_or_logs() {
    const SECRET: &str = "Pw-0ae1f2";
    let text = r#"
name: unit
hosts:
  web: {image: site}
steps:
  - exec: {host: web, command: 'echo ${env:UNIT_PW}'}
  - exec: {host: web, command: 'fail ${env:UNIT_PW}'}
"#;
    let lookup = |name: &str| (name == "UNIT_PW").then(|| SECRET.to_string());
    let scenario = crate::runner::parse_scenario_with_env(
        Path::new("unit.yaml"),
        text,
        &lookup,
        crate::scenario::UnsetEnv::Refuse,
    )
    .unwrap();
    let engine = FakeEngine::new(|_, argv| {
        let line = argv.last().cloned().unwrap_or_default();
        if let Some(secret) = line.strip_prefix("fail ") {
            ExecOutput {
                exit_code: 1,
                stdout: String::new(),
                stderr: format!("denied for {secret}\n"),
            }
        } else if let Some(secret) = line.strip_prefix("echo ") {
            ok(&format!("{secret}\n"))
        } else {
            ok("running\n")
        }
    });
    let images = images_dir();
    let logs = tempfile::tempdir().unwrap();
    let mut options = options(&images);
    options.logs_dir = Some(logs.path().to_path_buf());
    let mut events = Vec::new();
    let report = run(&engine, &scenario, &options, &mut |e: &RunEvent| {
        events.push(format!("{e:?}"))
    })
    .await
    .unwrap();
    // The secret did flow: the fake engine saw it in the commands.
    assert!(engine.calls().iter().any(|c| c.contains(SECRET)));
    let json = serde_json::to_string(&report).unwrap();
    let events = events.join("\n");
    let mut log_text = String::new();
    for entry in std::fs::read_dir(logs.path()).unwrap() {
        log_text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    assert!(!log_text.is_empty());
    for (what, text) in [("report", &json), ("events", &events), ("logs", &log_text)] {
        assert!(!text.contains(SECRET), "{what} leaks the secret: {text}");
        assert!(text.contains("[redacted:UNIT_PW]"), "{what}: {text}");
    }
    assert!(json.contains("denied for [redacted:UNIT_PW]"), "{json}");
}

#[tokio::test]
async fn host_files_are_put_in_before_the_host_boots_and_escapes_stop_the_run_early() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("scenario/conf")).unwrap();
    std::fs::write(dir.path().join("scenario/conf/shop.conf"), "x\n").unwrap();
    std::fs::write(dir.path().join("outside.conf"), "y\n").unwrap();
    std::os::unix::fs::symlink("../outside.conf", dir.path().join("scenario/link.conf")).unwrap();
    let text = |src: &str| {
        format!(
            "name: unit\nhosts:\n  web:\n    image: site\n    files: [{{src: {src}, dest: /etc/shop.conf, mode: '0600'}}]\nsteps:\n  - exec: {{host: web, command: x}}\n"
        )
    };
    let path = dir.path().join("scenario/unit.yaml");
    let images = images_dir();

    let scenario = crate::runner::parse_scenario(&path, &text("conf/shop.conf")).unwrap();
    let engine = FakeEngine::healthy();
    let report = run(
        &engine,
        &scenario,
        &options(&images),
        &mut |_: &RunEvent| {},
    )
    .await
    .unwrap();
    assert_eq!(report.verdict, Verdict::Go);
    let calls = short_calls(&engine);
    let put = calls.iter().position(|c| c.starts_with("put ")).unwrap();
    assert!(
        calls[put].ends_with("conf/shop.conf web:/etc/shop.conf mode 600"),
        "{calls:?}"
    );
    assert!(calls[put - 1].starts_with("run web from"), "{calls:?}");

    let scenario = crate::runner::parse_scenario(&path, &text("link.conf")).unwrap();
    let engine = FakeEngine::healthy();
    let error = run(
        &engine,
        &scenario,
        &options(&images),
        &mut |_: &RunEvent| {},
    )
    .await
    .unwrap_err();
    assert!(error.is_input_error());
    assert!(error.to_string().contains("is a link to"), "{error}");
    assert!(engine.calls().is_empty(), "{:?}", engine.calls());
}

#[tokio::test]
async fn an_error_quoting_a_secret_is_redacted() {
    let text = "name: unit\nhosts:\n  web:\n    image: site\n    files: [{src: '${env:UNIT_FILE}', dest: /etc/x}]\nsteps:\n  - exec: {host: web, command: x}\n";
    let lookup = |_: &str| Some("private-name.key".to_string());
    let dir = tempfile::tempdir().unwrap();
    let scenario = crate::runner::parse_scenario_with_env(
        &dir.path().join("unit.yaml"),
        text,
        &lookup,
        crate::scenario::UnsetEnv::Refuse,
    )
    .unwrap();
    let images = images_dir();
    let error = run(
        &FakeEngine::healthy(),
        &scenario,
        &options(&images),
        &mut |_: &RunEvent| {},
    )
    .await
    .unwrap_err();
    let message = error.to_string();
    assert!(!message.contains("private-name.key"), "{message}");
    assert!(message.contains("[redacted:UNIT_FILE]"), "{message}");
    assert!(error.is_input_error());
}

const THREE_HOSTS: &str = r#"
name: unit
hosts:
  web: {image: site}
  db: {image: base}
  cache: {image: site}
steps:
  - exec: {host: web, command: x}
"#;

/// An images folder with recipes `site` and `base` on one suite.
fn two_recipes() -> tempfile::TempDir {
    let dir = images_dir();
    let recipe = dir.path().join("base");
    std::fs::create_dir_all(&recipe).unwrap();
    std::fs::write(
        recipe.join("recipe.yaml"),
        "suite: bookworm\npackages: [curl]\n",
    )
    .unwrap();
    dir
}

async fn three_hosts(engine: &FakeEngine) -> (Report, Vec<RunEvent>) {
    rehearse_with(engine, THREE_HOSTS, two_recipes()).await
}

fn position(calls: &[String], what: impl Fn(&str) -> bool) -> Vec<usize> {
    calls
        .iter()
        .enumerate()
        .filter(|(_, c)| what(c))
        .map(|(i, _)| i)
        .collect()
}

#[tokio::test]
async fn hosts_are_all_created_before_any_boot_is_awaited() {
    let engine = FakeEngine::healthy();
    engine.slow.store(true, std::sync::atomic::Ordering::SeqCst);
    let (report, events) = three_hosts(&engine).await;
    assert_eq!(report.verdict, Verdict::Go, "{report:#?}");
    let calls = engine.calls();
    let runs = position(&calls, |c| c.starts_with("run "));
    let boots = position(&calls, |c| c.contains("is-system-running"));
    assert_eq!((runs.len(), boots.len()), (3, 3), "{calls:#?}");
    assert!(
        runs.iter().max() < boots.iter().min(),
        "a boot was awaited before every host was created: {calls:#?}"
    );
    let ready = events
        .iter()
        .filter(|e| matches!(e, RunEvent::HostReady { .. }))
        .count();
    assert_eq!(ready, 3);
}

#[tokio::test]
async fn distinct_recipes_build_at_once_and_each_is_built_once() {
    let engine = FakeEngine::healthy();
    engine.slow.store(true, std::sync::atomic::Ordering::SeqCst);
    engine
        .absent_images
        .lock()
        .unwrap()
        .extend(["rehearse/site:".to_string(), "rehearse/base:".to_string()]);
    let (report, _) = three_hosts(&engine).await;
    assert_eq!(report.verdict, Verdict::Go, "{report:#?}");
    let calls = engine.calls();
    let started = position(&calls, |c| c.starts_with("build started "));
    let done = position(&calls, |c| c.starts_with("build rehearse/"));
    assert_eq!((started.len(), done.len()), (2, 2), "{calls:#?}");
    assert!(
        started.iter().max() < done.iter().min(),
        "the second recipe waited for the first: {calls:#?}"
    );
    let web = &report.environment.images[0];
    assert!(!web.cached);
    assert_eq!(web.reference, report.environment.images[2].reference);
}

#[tokio::test]
async fn a_host_that_does_not_boot_fails_provision_with_its_reason_and_leaves_nothing() {
    let engine = FakeEngine::new(|container, argv| {
        if argv.first().map(String::as_str) == Some("systemctl") {
            if container.ends_with("-db") {
                ok("maintenance\n")
            } else {
                ok("running\n")
            }
        } else {
            ok("")
        }
    });
    let (report, _) = three_hosts(&engine).await;
    assert_eq!(report.verdict, Verdict::NoGo);
    let provision = &report.steps[0];
    assert_eq!(provision.status, StepStatus::Failed);
    let detail = provision.detail.as_deref().unwrap_or_default();
    assert!(
        detail.contains("host `db` did not boot") && detail.contains("maintenance"),
        "{detail}"
    );
    assert!(engine.live_resources().is_empty(), "{:?}", engine.calls());
}

mod faults;

#[tokio::test]
async fn a_remote_engine_s_hosts_publish_the_probed_ports_and_are_probed_there() {
    // The "published" port is a listener of this test on this machine's loopback.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let engine = FakeEngine::healthy();
    *engine.publish_on.lock().unwrap() = Some(port);
    let images = images_dir();
    let mut options = options(&images);
    options.publish = Some("127.0.0.1".parse().unwrap());
    let text = r#"
name: unit
hosts:
  web: {image: site}
  db: {image: site}
probes:
  db-up:
    tcp: {host: db, port: 5432}
    retry: {interval: 10ms, deadline: 1s}
steps:
  - name: before
    probe: db-up
  - reboot: db
  - name: after
    probe: db-up
"#;
    let mut events = Vec::new();
    let report = run(&engine, &scenario(text), &options, &mut |e: &RunEvent| {
        events.push(e.clone())
    })
    .await
    .unwrap();
    assert_eq!(report.verdict, Verdict::Go, "{report:#?}");
    let calls = short_calls(&engine);
    // Only the host that is probed publishes, and only the probed port.
    assert!(
        calls.contains(&"publish net-db 5432".to_string()),
        "{calls:?}"
    );
    assert!(
        !calls.iter().any(|c| c.starts_with("publish web")),
        "{calls:?}"
    );
    let evidence = &report.steps[1].checks[0].evidence.summary;
    assert_eq!(
        evidence,
        &format!("connected to 127.0.0.1:{port} (port 5432 published at 127.0.0.1:{port})")
    );
    let ready: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::HostReady { host, address, .. } if host == "db" => Some(address.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        ready,
        [format!(
            "127.0.0.1, probed through published ports 5432 at 127.0.0.1:{port}"
        )]
    );
}

#[tokio::test]
async fn a_host_asking_for_more_cpus_than_the_engine_has_is_told_what_it_gets() {
    let engine = FakeEngine::healthy();
    let (_, events) = rehearse(
        &engine,
        "name: unit\nhosts:\n  web: {image: site, cpus: 64}\nsteps:\n  - exec: {host: web, command: \"true\"}\n",
    )
    .await;
    let notices: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Notice { message } => Some(message),
            _ => None,
        })
        .collect();
    assert!(
        notices
            .iter()
            .any(|m| *m == "host `web` asks for 64 CPUs but the engine has 2: it gets 2"),
        "{notices:?}"
    );
}
