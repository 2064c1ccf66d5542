//! `run --from STEP`: checkpoints saved by one run (at a `snapshot` step, and on their
//! own before risky steps) let the next run start there — with the hosts exactly as the
//! first run left them — and only while the hosts and earlier steps are unchanged.

mod common;

use common::*;

fn marker(report: &serde_json::Value, name: &str) -> String {
    let step = step(report, name);
    assert_eq!(step["status"], "passed", "{step:#}");
    let output = step["evidence"]["output"]
        .as_str()
        .unwrap_or_default()
        .trim();
    assert_eq!(output.len(), 36, "a uuid in {step:#}");
    output.to_string()
}

#[test]
fn a_run_resumes_from_the_checkpoints_of_the_one_before() {
    if !docker_available() {
        return;
    }
    remove_checkpoints("resume");
    let scenario = "tests/scenarios/resume.yaml";
    let first = run_scenario(scenario, &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let written = marker(&first.report, "read the marker");
    assert_eq!(marker(&first.report, "the copy has the marker"), written);
    assert!(first.report.get("resumed_from").is_none());
    let migrate = step(&first.report, "upgrade-like change");
    assert!(migrate["checkpoint_ms"].as_u64().is_some(), "{migrate:#}");
    // The snapshot step is the checkpoint before the step after it: nothing saved twice.
    assert!(
        step(&first.report, "read the marker")
            .get("checkpoint_ms")
            .is_none()
    );
    assert_clean(&first);

    // From the explicit snapshot: the marker the first run wrote, not a new one.
    let second = run_scenario(scenario, &["--from", "read the marker"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let resumed = &second.report["resumed_from"];
    assert_eq!(resumed["step"], "read the marker");
    assert_eq!(resumed["run_id"], first.report["run_id"]);
    for name in ["write a marker", "snapshot marked"] {
        let skipped = step(&second.report, name);
        assert_eq!(skipped["status"], "skipped", "{skipped:#}");
        assert!(
            skipped["detail"]
                .as_str()
                .unwrap()
                .starts_with("not run again"),
            "{skipped:#}"
        );
    }
    assert_eq!(marker(&second.report, "read the marker"), written);
    assert_clean(&second);

    // From the checkpoint saved on its own before the migrate step; the second run
    // saved it again (same state), replacing the first run's.
    let third = run_scenario(scenario, &["--from", "5"]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(
        third.report["resumed_from"]["run_id"],
        second.report["run_id"]
    );
    assert_eq!(marker(&third.report, "the copy has the marker"), written);
    assert_clean(&third);

    // A step with no checkpoint before it is refused before anything starts.
    let refused = rehearse(&["run", scenario, "--from", "the site answers"]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("no checkpoint is taken before step `the site answers`")
            && stderr.contains("resume from `read the marker`, `upgrade-like change`"),
        "{stderr}"
    );

    // Change a step before the resume point: the checkpoint no longer matches.
    let tmp = tempfile::tempdir().unwrap();
    let changed = tmp.path().join("resume.yaml");
    let source = std::fs::read_to_string(root().join(scenario)).unwrap();
    std::fs::write(&changed, source.replace("> /srv/marker", ">> /srv/marker")).unwrap();
    let images = root().join("images");
    let stale = rehearse(&[
        "run",
        changed.to_str().unwrap(),
        "--images-dir",
        images.to_str().unwrap(),
        "--from",
        "read the marker",
        "--report-dir",
        tmp.path().join("report").to_str().unwrap(),
    ]);
    let stderr = text(&stale.stderr);
    assert_eq!(stale.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no checkpoint before step `read the marker` matches this scenario"),
        "{stderr}"
    );
    remove_checkpoints("resume");
}

/// A scenario in a temp folder whose host gets a local file that its first step edits.
fn files_scenario(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::write(dir.join("page.html"), "<p>as shipped</p>\n").unwrap();
    let path = dir.join("resume-files.yaml");
    std::fs::write(
        &path,
        "name: resume-files\n\
         hosts:\n  web:\n    image: static-site\n    files:\n      - {src: page.html, dest: /var/www/html/page.html}\n\
         steps:\n  \
         - name: a step edits the file\n    exec: {host: web, command: \"echo '<p>edited by a step</p>' >> /var/www/html/page.html\"}\n  \
         - snapshot: edited\n  \
         - name: read the file\n    exec: {host: web, command: \"cat /var/www/html/page.html\"}\n",
    )
    .unwrap();
    path
}

#[test]
fn a_resumed_run_keeps_what_earlier_steps_did_to_files_and_an_edited_file_is_another_state() {
    if !docker_available() {
        return;
    }
    remove_checkpoints("resume-files");
    let dir = tempfile::tempdir().unwrap();
    let scenario = files_scenario(dir.path());
    let scenario = scenario.to_str().unwrap();
    let images = root().join("images");
    let images = ["--images-dir", images.to_str().unwrap()];
    let first = run_scenario(scenario, &images);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_clean(&first);

    // Resumed: the file as the skipped step left it, not copied again on top.
    let mut args = images.to_vec();
    args.extend(["--from", "read the file"]);
    let second = run_scenario(scenario, &args);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    let read = step(&second.report, "read the file");
    let output = read["evidence"]["output"].as_str().unwrap_or_default();
    assert!(
        output.contains("as shipped") && output.contains("edited by a step"),
        "{read:#}"
    );
    assert_clean(&second);

    // The local file edited: the checkpoint no longer matches.
    std::fs::write(dir.path().join("page.html"), "<p>edited here</p>\n").unwrap();
    let mut run = vec!["run", scenario];
    run.extend(args);
    let third = rehearse(&run);
    let stderr = text(&third.stderr);
    assert_eq!(third.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no checkpoint before step `read the file` matches"),
        "{stderr}"
    );

    // Checkpoints outlive runs until `gc --checkpoints` (optionally by age) removes them.
    let listed = |args: &[&str]| {
        let output = rehearse(args);
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let young = listed(&["gc", "--checkpoints", "--older-than", "1h", "--dry-run"]);
    assert!(!young.contains("checkpoint-resume-files"), "{young}");
    let all = listed(&["gc", "--checkpoints", "--dry-run"]);
    assert!(
        all.contains("would remove image rehearse/checkpoint-resume-files:"),
        "{all}"
    );
    remove_checkpoints("resume-files");
}
