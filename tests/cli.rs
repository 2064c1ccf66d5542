//! The real CLI in a temp dir, without Docker: validation, schema, exit codes.

mod common;

use common::*;

#[test]
fn check_accepts_the_shipped_scenarios() {
    let output = rehearse(&[
        "check",
        "scenarios/smoke-static-site.yaml",
        "scenarios/smoke-broken.yaml",
        "tests/scenarios/reboot-disabled-service.yaml",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "ok: scenarios/smoke-static-site.yaml (1 hosts, 3 probes, 3 steps)\n\
         ok: scenarios/smoke-broken.yaml (1 hosts, 1 probes, 3 steps)\n\
         ok: tests/scenarios/reboot-disabled-service.yaml (1 hosts, 1 probes, 4 steps)\n"
    );
}

#[test]
fn check_reports_every_error_with_position_caret_and_suggestion() {
    let output = rehearse(&["check", "tests/scenarios/invalid.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(text(&output.stdout), "");
    let expected = "\
error: unknown key `imgae` in host `web`
  --> tests/scenarios/invalid.yaml:5:5
   |
 5 |     imgae: static-site
   |     ^^^^^
   = help: did you mean `image`?

error: unknown host `webb` in probe `homepage`
  --> tests/scenarios/invalid.yaml:9:13
   |
 9 |       host: webb
   |             ^^^^
   = help: did you mean `web`?

error: expected an integer for `port`, found a string
   --> tests/scenarios/invalid.yaml:10:13
    |
 10 |       port: eighty
    |             ^^^^^^

error: unknown probe `hompage` in step 1
   --> tests/scenarios/invalid.yaml:12:23
    |
 12 |   - probe: [homepage, hompage]
    |                       ^^^^^^^
    = help: did you mean `homepage`?

error: invalid duration `soon` for `timeout`
   --> tests/scenarios/invalid.yaml:14:14
    |
 14 |     timeout: soon
    |              ^^^^
    = help: write a number with a unit, like `500ms`, `30s`, `2m` or `1h`

5 errors in tests/scenarios/invalid.yaml
";
    assert_eq!(text(&output.stderr), expected);
}

#[test]
fn check_names_a_missing_recipe_and_lists_the_available_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(
        &path,
        "name: s\nhosts:\n  web: {image: no-such-recipe}\nsteps:\n  - reboot: web\n",
    )
    .unwrap();
    let images = root().join("images");
    let output = rehearse(&[
        "check",
        path.to_str().unwrap(),
        "--images-dir",
        images.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("host `web`"), "{stderr}");
    assert!(
        stderr.contains("no image recipe `no-such-recipe`"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "recipes there: lamp-bookworm, lamp-bullseye, static-site, web-pgsql-bookworm"
        ),
        "{stderr}"
    );
}

#[test]
fn check_says_when_the_file_cannot_be_read() {
    let output = rehearse(&["check", "no/such/file.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).starts_with("error: cannot read scenario `no/such/file.yaml`"));
}

#[test]
fn run_rejects_an_invalid_scenario_before_touching_docker() {
    // An engine address that cannot answer: exit 2 proves the engine was never asked.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(["run", "tests/scenarios/invalid.yaml"])
        .current_dir(root())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("5 errors in tests/scenarios/invalid.yaml"));
}

#[test]
fn run_of_several_scenarios_validates_them_all_before_any_run() {
    // One good scenario among two bad ones: every error is shown, nothing runs (an
    // engine that cannot answer proves it was never asked), no report folder appears.
    let dir = tempfile::tempdir().unwrap();
    let report_dir = dir.path().join("matrix");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args([
            "run",
            "scenarios/smoke-static-site.yaml",
            "tests/scenarios/invalid.yaml",
            "no/such/file.yaml",
            "--jobs",
            "2",
            "--report-dir",
        ])
        .arg(&report_dir)
        .current_dir(root())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("5 errors in tests/scenarios/invalid.yaml"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: cannot read scenario `no/such/file.yaml`"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("cannot reach the Docker engine"),
        "{stderr}"
    );
    assert_eq!(text(&output.stdout), "");
    assert!(!report_dir.exists());
}

#[test]
fn run_of_several_scenarios_checks_their_recipes_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(
        &path,
        "name: s\nhosts:\n  web: {image: no-such-recipe}\nsteps:\n  - reboot: web\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(["run", "scenarios/smoke-static-site.yaml"])
        .arg(&path)
        .args(["--images-dir", root().join("images").to_str().unwrap()])
        .current_dir(root())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no-such-recipe"), "{stderr}");
}

#[test]
fn run_from_takes_one_scenario() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args([
            "run",
            "scenarios/smoke-static-site.yaml",
            "scenarios/smoke-broken.yaml",
            "--from",
            "2",
        ])
        .current_dir(root())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: `--from` takes one scenario, not 2\n"
    );
}

#[test]
fn run_jobs_must_be_at_least_one() {
    let output = rehearse(&[
        "run",
        "scenarios/smoke-static-site.yaml",
        "scenarios/smoke-broken.yaml",
        "--jobs",
        "0",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("--jobs <N>"), "{stderr}");
}

#[test]
fn run_without_an_engine_is_an_environment_error() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(["run", "scenarios/smoke-static-site.yaml"])
        .current_dir(root())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot reach the Docker engine"),
        "{stderr}"
    );
}

#[test]
fn bad_flags_are_invalid_input() {
    let output = rehearse(&[
        "run",
        "scenarios/smoke-static-site.yaml",
        "--base-source",
        "magic",
    ]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn schema_is_json_schema_for_scenarios() {
    let output = rehearse(&["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let top: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    for key in ["name", "hosts", "probes", "steps", "gates"] {
        assert!(top.iter().any(|k| *k == key), "missing `{key}` in {top:?}");
    }
}

#[test]
fn report_renders_a_folder_again_and_explains_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("tests/fixtures/reports/smoke-broken.json"),
        dir.path().join("report.json"),
    )
    .unwrap();
    let output = rehearse(&["report", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    for name in ["report.html", "report.md", "junit.xml"] {
        let written = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(!written.is_empty(), "{name}");
        assert!(text(&output.stdout).contains(name));
    }
    let output = rehearse(&["report", dir.path().to_str().unwrap(), "--stdout"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("give exactly one `--format`"));

    std::fs::write(dir.path().join("report.json"), "{\"verdict\": \"GO\"}").unwrap();
    let output = rehearse(&["report", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("is not a rehearse report (line 1, column")
            && stderr.contains("missing field"),
        "{stderr}"
    );
    let output = rehearse(&["report", "no/such/folder"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("cannot read `no/such/folder"));
}

#[test]
fn diff_says_what_changed_between_two_rehearsals() {
    let naive = "tests/fixtures/reports/move-naive.json";
    let broken = "tests/fixtures/reports/smoke-broken.json";
    let output = rehearse(&["diff", naive, naive]);
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stdout).contains("no difference"));
    let output = rehearse(&["diff", broken, naive, "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let diff: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(diff["before"]["scenario"], "smoke-broken");
    assert_eq!(diff["after"]["scenario"], "migrate-cutover-naive");
    assert!(!diff["steps"].as_array().unwrap().is_empty());
    assert!(!diff["gates"].as_array().unwrap().is_empty());
}

#[test]
fn schema_report_is_json_schema_for_report_json() {
    let output = rehearse(&["schema", "--report"]);
    assert_eq!(output.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(schema["properties"]["gates"].is_object());
}

#[test]
fn run_refuses_an_unset_env_variable_before_touching_docker() {
    let output = rehearse(&["run", "tests/scenarios/env-unset.yaml"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let expected = "\
error: environment variable `REHEARSE_TEST_NEVER_SET` is not set, but `hosts.web.env.SHOP_DB_PASSWORD` uses it
  --> tests/scenarios/env-unset.yaml:7:25
   |
 7 |       SHOP_DB_PASSWORD: ${env:REHEARSE_TEST_NEVER_SET}
   |                         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
   = help: set it before running, e.g. `export REHEARSE_TEST_NEVER_SET=...`

1 error in tests/scenarios/env-unset.yaml
";
    assert_eq!(text(&output.stderr), expected);
}

#[test]
fn check_only_warns_about_an_unset_env_variable() {
    let output = rehearse(&["check", "tests/scenarios/env-unset.yaml"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stderr),
        "warning: environment variable `REHEARSE_TEST_NEVER_SET` is not set \
         (tests/scenarios/env-unset.yaml:7:25, `hosts.web.env.SHOP_DB_PASSWORD`); \
         `rehearse run` needs it: `export REHEARSE_TEST_NEVER_SET=...`\n"
    );
}

#[test]
fn a_secret_in_an_invalid_value_is_redacted_from_the_error() {
    let output = rehearse_with_env(
        &["check", "tests/scenarios/env-invalid-alias.yaml"],
        &[("REHEARSE_TEST_ALIAS", "not a/hostname")],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("not a/hostname"), "{stderr}");
    assert!(
        stderr.contains("[redacted:REHEARSE_TEST_ALIAS]"),
        "{stderr}"
    );
}

#[test]
fn the_shipped_drills_are_valid_scenarios() {
    let drills: Vec<String> = std::fs::read_dir(root().join("scenarios/drills"))
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            (path.extension()? == "yaml").then(|| {
                format!(
                    "scenarios/drills/{}",
                    path.file_name().unwrap().to_string_lossy()
                )
            })
        })
        .collect();
    assert_eq!(drills.len(), 4, "{drills:?}");
    let mut args = vec!["check"];
    args.extend(drills.iter().map(String::as_str));
    let output = rehearse(&args);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    // Each drill's answer is a file of its own, beside and not inside the drill.
    for drill in &drills {
        let name = drill
            .trim_start_matches("scenarios/drills/")
            .trim_end_matches(".yaml");
        assert!(
            root()
                .join(format!("scenarios/drills/answers/{name}.md"))
                .is_file(),
            "{name}"
        );
        let text = std::fs::read_to_string(root().join(drill)).unwrap();
        assert!(!text.contains("```"), "{drill} holds its answer");
    }
}

#[test]
fn drill_commands_explain_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("drill.json");
    let state = state.to_str().unwrap();

    let output = rehearse(&[
        "drill",
        "scenarios/smoke-static-site.yaml",
        "--state",
        state,
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: `scenarios/smoke-static-site.yaml` has no `drill:` section: a drill needs a briefing and the checks that prove the repair (see README, \"Training drills\"); use `rehearse run` for a rehearsal\n"
    );

    let output = rehearse(&["drill", "status", "--state", state]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        format!(
            "error: no drill is running (no state file `{state}`): start one with `rehearse drill FILE`\n"
        )
    );
    let output = rehearse(&["shell", "web", "--state", state]);
    assert_eq!(output.status.code(), Some(2));

    let output = rehearse(&["drill", "--state", state]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("name a drill file"),
        "{}",
        text(&output.stderr)
    );

    // A host the drill does not have: its hosts, and the nearest name.
    std::fs::write(
        dir.path().join("drill.json"),
        r#"{"scenario": "d", "scenario_path": "/d.yaml", "run_id": "d-1", "network": "rh-d-1",
            "hosts": [{"name": "web", "container_id": "c1", "address": "172.18.0.2"},
                      {"name": "vault", "container_id": "c2", "address": "172.18.0.3"}],
            "briefed_at": "2026-11-26T18:00:00Z", "attempts": 0, "hints_used": 0,
            "baseline": null, "report_dir": "/tmp/r", "solved": null}"#,
    )
    .unwrap();
    let output = rehearse(&["shell", "wbe", "--state", state]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: drill `d` has no host `wbe`: its hosts are `web`, `vault`; did you mean `web`?\n"
    );
}
