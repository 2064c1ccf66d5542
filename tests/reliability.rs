//! Docker-backed reliability tests: runs side by side, and a host that dies mid-step.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

#[test]
fn two_runs_of_one_scenario_at_once_both_finish() {
    if !docker_available() {
        return;
    }
    images_ready();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let children: Vec<_> = dirs
        .iter()
        .map(|dir| {
            Command::new(env!("CARGO_BIN_EXE_rehearse"))
                .args([
                    "run",
                    "scenarios/smoke-static-site.yaml",
                    "-q",
                    "--report-dir",
                ])
                .arg(dir.path())
                .current_dir(root())
                .env("NO_COLOR", "1")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut run_ids = Vec::new();
    for (child, dir) in children.into_iter().zip(&dirs) {
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        let report = report(dir.path());
        assert_eq!(report["verdict"], "GO");
        run_ids.push(report["run_id"].as_str().unwrap().to_string());
    }
    assert_ne!(run_ids[0], run_ids[1]);
    for id in &run_ids {
        assert_eq!(leftovers(id), Vec::<String>::new());
    }
}

#[test]
fn a_host_killed_mid_step_fails_the_step_with_the_reason() {
    if !docker_available() {
        return;
    }
    images_ready();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(["run", "tests/scenarios/host-killed.yaml", "--report-dir"])
        .arg(dir.path())
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the step's command runs in the host, then kill the host.
    let started = Instant::now();
    let container = loop {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the host never started its job"
        );
        let ps = Command::new("docker")
            .args([
                "ps",
                "-q",
                "--filter",
                "label=rehearse.scenario=host-killed",
                "--filter",
                "label=rehearse.owner",
            ])
            .output()
            .unwrap();
        let ids: Vec<String> = text(&ps.stdout).lines().map(str::to_string).collect();
        let running = ids.iter().find(|id| {
            Command::new("docker")
                .args(["exec", id.as_str(), "test", "-f", "/tmp/started"])
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        });
        if let Some(id) = running {
            break id.clone();
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let killed = Command::new("docker")
        .args(["kill", &container])
        .output()
        .unwrap();
    assert!(killed.status.success(), "{}", text(&killed.stderr));
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let report = report(dir.path());
    let job = step(&report, "a long job");
    assert_eq!(job["status"], "failed");
    let detail = job["detail"].as_str().unwrap();
    assert!(
        detail.contains("host `web` is not running: exit code"),
        "{detail}"
    );
    assert_eq!(
        leftovers(report["run_id"].as_str().unwrap()),
        Vec::<String>::new()
    );
}

#[test]
fn a_command_killed_for_lack_of_memory_fails_its_step_saying_so() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/out-of-memory.yaml", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let greedy = step(&run.report, "a greedy job");
    assert_eq!(greedy["status"], "failed");
    let detail = greedy["detail"].as_str().unwrap();
    assert!(
        detail.contains("host `web` ran out of memory: the kernel killed 1 process(es) in it; its limit is 128 MiB, raise it with `memory:`"),
        "{detail}"
    );
    assert_clean(&run);
}
