//! Docker-backed: several scenarios in one `rehearse run`, two at once, the same one twice.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

#[test]
fn a_matrix_of_three_runs_two_at_once_and_leaves_nothing_behind() {
    if !docker_available() {
        return;
    }
    images_ready();
    let dir = tempfile::tempdir().unwrap();
    let matrix_dir = dir.path().join("matrix");
    let output = Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args([
            "run",
            "scenarios/smoke-static-site.yaml",
            "scenarios/smoke-broken.yaml",
            "scenarios/smoke-static-site.yaml",
            "--jobs",
            "2",
            "--report-dir",
        ])
        .arg(&matrix_dir)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");

    // One folder per run, the same scenario twice in two folders, each with its verdict.
    let expected = [
        ("smoke-static-site", "GO"),
        ("smoke-broken", "NO-GO"),
        ("smoke-static-site-2", "GO"),
    ];
    let mut run_ids = Vec::new();
    for (name, verdict) in expected {
        let report = report(&matrix_dir.join(name));
        assert_eq!(report["verdict"], verdict, "{name}");
        run_ids.push(report["run_id"].as_str().unwrap().to_string());
    }
    run_ids.sort();
    run_ids.dedup();
    assert_eq!(run_ids.len(), 3, "each run has its own id: {run_ids:?}");

    // The combined summary names all three, in the order given.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(matrix_dir.join("matrix.json")).unwrap())
            .unwrap();
    assert_eq!(summary["exit_code"], 1);
    assert_eq!(summary["verdict"], "NO-GO");
    let runs = summary["runs"].as_array().unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, expected.map(|(name, _)| name));
    for (run, (name, verdict)) in runs.iter().zip(expected) {
        assert_eq!(run["verdict"], verdict);
        assert_eq!(
            run["report_dir"].as_str().unwrap(),
            matrix_dir.join(name).to_str().unwrap()
        );
        assert!(run.get("report").is_none());
    }
    assert_eq!(runs[1]["exit_code"], 1);
    assert!(runs[1]["failed_gates"].as_u64().unwrap() > 0);

    // One combined table on stdout, not each run's summary; then the overall line.
    for (name, _) in expected {
        assert!(stdout.contains(name), "{stdout}");
    }
    assert!(
        !stdout.contains("gate `"),
        "a run's own summary leaked: {stdout}"
    );
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("NO-GO: 3 scenarios, 2 GO, 1 NO-GO in "),
        "{stdout}"
    );
    // Progress lines say whose they are.
    for line in stderr.lines().filter(|l| l.contains("[1/")) {
        assert!(
            expected.iter().any(|(name, _)| line.starts_with(name)),
            "unprefixed progress line: {line}"
        );
    }

    for id in &run_ids {
        assert_eq!(
            leftovers(id),
            Vec::<String>::new(),
            "run {id} left resources"
        );
    }
}

#[test]
fn ctrl_c_stops_every_run_of_a_matrix_and_the_waiting_one_never_starts() {
    if !docker_available() {
        return;
    }
    images_ready();
    let dir = tempfile::tempdir().unwrap();
    let matrix_dir = dir.path().join("matrix");
    let child = Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args([
            "run",
            "scenarios/smoke-broken.yaml",
            "scenarios/smoke-broken.yaml",
            "scenarios/smoke-static-site.yaml",
            "--jobs",
            "2",
            "-q",
            "--report-dir",
        ])
        .arg(&matrix_dir)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until both running rehearsals of this process have a host up (smoke-broken
    // then waits seconds for a probe that cannot pass), then press Ctrl-C.
    let ours = format!("/{}/", child.id());
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the runs never started"
        );
        let ps = Command::new("docker")
            .args([
                "ps",
                "--filter",
                "label=rehearse.scenario=smoke-broken",
                "--format",
                "{{.Label \"rehearse.owner\"}}",
            ])
            .output()
            .unwrap();
        if text(&ps.stdout)
            .lines()
            .filter(|l| l.contains(&ours))
            .count()
            == 2
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    signal(&child, "INT");
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(matrix_dir.join("matrix.json")).unwrap())
            .unwrap();
    assert_eq!(summary["exit_code"], 130);
    let runs = summary["runs"].as_array().unwrap();
    let statuses: Vec<&str> = runs.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["interrupted", "interrupted", "not-run"]);
    for name in ["smoke-broken", "smoke-broken-2"] {
        let report = report(&matrix_dir.join(name));
        assert_eq!(report["interrupted"], true);
        let id = report["run_id"].as_str().unwrap();
        assert_eq!(
            leftovers(id),
            Vec::<String>::new(),
            "run {id} left resources"
        );
    }
    assert!(!matrix_dir.join("smoke-static-site").exists());
}

#[test]
fn two_shards_of_a_folder_rehearse_one_scenario_each() {
    if !docker_available() {
        return;
    }
    images_ready();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("scenarios");
    std::fs::create_dir(&folder).unwrap();
    let scenario =
        std::fs::read_to_string(root().join("scenarios/smoke-static-site.yaml")).unwrap();
    for name in ["one", "two"] {
        std::fs::write(folder.join(format!("{name}.yaml")), &scenario).unwrap();
    }
    for (shard, name) in [("1/2", "one"), ("2/2", "two")] {
        let report_dir = dir.path().join(format!("shard-{}", &shard[..1]));
        let output = Command::new(env!("CARGO_BIN_EXE_rehearse"))
            .arg("run")
            .arg(&folder)
            .args(["--shard", shard, "--images-dir"])
            .arg(root().join("images"))
            .arg("--report-dir")
            .arg(&report_dir)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{shard}: {stderr}");
        assert!(
            stderr.starts_with(&format!("shard {shard}: 1 of 2 scenario(s)\n")),
            "{stderr}"
        );
        // A shard of one is a matrix all the same: the same layout in every CI job.
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(report_dir.join("matrix.json")).unwrap())
                .unwrap();
        let index: u64 = shard[..1].parse().unwrap();
        assert_eq!(
            summary["shard"],
            serde_json::json!({"index": index, "count": 2, "total": 2})
        );
        let runs = summary["runs"].as_array().unwrap();
        let names: Vec<&str> = runs.iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(names, [name], "{shard}");
        assert!(report_dir.join(name).join("junit.xml").is_file());
        let report = report(&report_dir.join(name));
        assert_eq!(report["verdict"], "GO");
        let id = report["run_id"].as_str().unwrap();
        assert_eq!(
            leftovers(id),
            Vec::<String>::new(),
            "run {id} left resources"
        );
    }
}
