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
        "ok: scenarios/smoke-static-site.yaml (1 host, 3 probes, 3 steps)\n\
         ok: scenarios/smoke-broken.yaml (1 host, 1 probe, 3 steps)\n\
         ok: tests/scenarios/reboot-disabled-service.yaml (1 host, 1 probe, 4 steps)\n"
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
  |
  = help: did you mean `image`?

error: unknown host `webb` in probe `homepage`
 --> tests/scenarios/invalid.yaml:9:13
  |
9 |       host: webb
  |             ^^^^
  |
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
   |
   = help: did you mean `homepage`?

error: invalid duration `soon` for `timeout`
  --> tests/scenarios/invalid.yaml:14:14
   |
14 |     timeout: soon
   |              ^^^^
   |
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
fn check_gives_the_offset_of_the_first_byte_that_is_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.yaml");
    std::fs::write(&path, b"name: caf\xe9\nhosts: {}\n").unwrap();
    let output = rehearse(&["check", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let path = path.display();
    assert_eq!(
        text(&output.stderr),
        format!(
            "\
error: invalid UTF-8: byte 0xE9 at byte offset 9
 --> {path}:1:10
  |
1 | name: caf\u{FFFD}
  |          ^
  |
  = help: YAML files are UTF-8: convert it, from Latin-1 for example with `iconv -f latin1 -t utf-8`

1 error in {path}
"
        )
    );
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
  |
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
        "error: `scenarios/smoke-static-site.yaml` has no `drill:` section: a drill needs a briefing and the checks that prove the repair (see the book, \"Training drills\": docs/src/drills.md); use `rehearse run` for a rehearsal\n"
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
    // Another engine than the drill's: said, with the flag to pass.
    let recorded = std::fs::read_to_string(dir.path().join("drill.json")).unwrap();
    std::fs::write(
        dir.path().join("drill.json"),
        recorded.replace(
            "\"solved\": null",
            "\"solved\": null, \"engine\": \"tcp://10.0.0.5:2375\"",
        ),
    )
    .unwrap();
    let output = rehearse(&[
        "shell",
        "web",
        "--state",
        state,
        "--docker-host",
        "unix:///var/run/docker.sock",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: drill `d` runs on the engine at `tcp://10.0.0.5:2375`, not `unix:///var/run/docker.sock`: pass `--docker-host tcp://10.0.0.5:2375` (or set DOCKER_HOST)\n"
    );
    std::fs::write(dir.path().join("drill.json"), recorded).unwrap();
    let output = rehearse(&["shell", "wbe", "--state", state]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: drill `d` has no host `wbe`: its hosts are `web`, `vault`; did you mean `web`?\n"
    );
}

/// A valid scenario on the shipped `static-site` recipe.
const TINY: &str = "name: tiny\nhosts:\n  web: {image: static-site}\nsteps:\n  - reboot: web\n";

/// A folder of tiny scenarios named as given (a name with `/` makes a subfolder).
fn scenario_folder(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, TINY).unwrap();
    }
    dir
}

/// The CLI with `--images-dir` set to the repository's, and an engine address that
/// cannot answer: anything but exit 3 proves the engine was never asked.
fn rehearse_offline(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(args)
        .args(["--images-dir", root().join("images").to_str().unwrap()])
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap()
}

fn ok_lines(dir: &std::path::Path, names: &[&str]) -> String {
    names
        .iter()
        .map(|name| {
            format!(
                "ok: {} (1 host, 0 probes, 1 step)\n",
                dir.join(name).display()
            )
        })
        .collect()
}

#[test]
fn check_of_a_folder_takes_its_scenarios_sorted_not_its_subfolders() {
    let folder = scenario_folder(&["c.yaml", "a.yaml", "b.yml", "drills/d.yaml", ".e.yaml"]);
    std::fs::write(folder.path().join("notes.txt"), "not a scenario").unwrap();
    let dir = folder.path();
    let output = rehearse_offline(&[
        "check",
        "scenarios/smoke-broken.yaml",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        format!(
            "ok: scenarios/smoke-broken.yaml (1 host, 1 probe, 3 steps)\n{}",
            ok_lines(dir, &["a.yaml", "b.yml", "c.yaml"])
        )
    );
    assert_eq!(text(&output.stderr), "");
}

#[test]
fn check_of_the_shipped_scenarios_folder_leaves_the_drills_out() {
    let output = rehearse(&["check", "scenarios/"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let listed: Vec<&str> = stdout
        .lines()
        .map(|l| l.trim_start_matches("ok: ").split(' ').next().unwrap())
        .collect();
    let mut shipped: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml"))
        .map(|name| format!("scenarios/{name}"))
        .collect();
    shipped.sort();
    assert_eq!(listed, shipped);
    assert!(!stdout.contains("drills"), "{stdout}");
}

#[test]
fn shards_cover_every_scenario_of_a_folder_exactly_once() {
    let folder = scenario_folder(&["e.yaml", "d.yaml", "c.yaml", "b.yaml", "a.yaml"]);
    let dir = folder.path();
    let expected = [
        ("1/3", vec!["a.yaml", "d.yaml"]),
        ("2/3", vec!["b.yaml", "e.yaml"]),
        ("3/3", vec!["c.yaml"]),
    ];
    let mut seen = String::new();
    for (shard, names) in expected {
        let output = rehearse_offline(&["check", dir.to_str().unwrap(), "--shard", shard]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        assert_eq!(text(&output.stdout), ok_lines(dir, &names), "shard {shard}");
        assert_eq!(text(&output.stderr), "");
        seen.push_str(&text(&output.stdout));
    }
    let mut seen: Vec<&str> = seen.lines().collect();
    seen.sort_unstable();
    let all = ok_lines(dir, &["a.yaml", "b.yaml", "c.yaml", "d.yaml", "e.yaml"]);
    assert_eq!(seen, all.lines().collect::<Vec<_>>());
}

#[test]
fn run_rehearses_only_its_shard_and_says_which() {
    // The shard's count is printed before the engine is asked (which cannot answer).
    let folder = scenario_folder(&["a.yaml", "b.yaml", "c.yaml", "d.yaml", "e.yaml"]);
    let output = rehearse_offline(&["run", folder.path().to_str().unwrap(), "--shard", "2/3"]);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("shard 2/3: 2 of 5 scenario(s)\nerror: cannot reach the Docker engine"),
        "{stderr}"
    );
}

#[test]
fn a_shard_that_takes_no_scenario_is_go_and_leaves_a_summary() {
    let folder = scenario_folder(&["a.yaml", "b.yaml"]);
    let dir = folder.path().to_str().unwrap();
    let output = rehearse_offline(&["check", dir, "--shard", "3/4"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "");
    assert_eq!(
        text(&output.stderr),
        "shard 3/4 has no scenario (2 in all)\n"
    );

    // No engine is needed for nothing to rehearse; matrix.json says which shard it was.
    let report_dir = folder.path().join("report");
    let output = rehearse_offline(&[
        "run",
        dir,
        "--shard",
        "3/4",
        "--report-dir",
        report_dir.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "");
    assert_eq!(
        text(&output.stderr),
        "shard 3/4 has no scenario (2 in all)\n"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report_dir.join("matrix.json")).unwrap())
            .unwrap();
    assert_eq!(summary["verdict"], "GO");
    assert_eq!(summary["exit_code"], 0);
    assert_eq!(
        summary["shard"],
        serde_json::json!({"index": 3, "count": 4, "total": 2})
    );
    assert_eq!(summary["runs"], serde_json::json!([]));
}

#[test]
fn an_empty_folder_is_invalid_input() {
    let folder = scenario_folder(&["drills/d.yaml"]);
    let dir = folder.path().to_str().unwrap();
    let expected = format!(
        "error: folder `{dir}` holds no scenario: no `*.yaml` or `*.yml` file directly in it (subfolders are not searched); name the folder that holds them, or the files\n"
    );
    let output = rehearse_offline(&["check", dir]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(text(&output.stderr), expected);
    // With a good file beside it: still invalid, and nothing runs.
    let output = rehearse_offline(&["run", "scenarios/smoke-static-site.yaml", dir]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(text(&output.stderr), expected);
}

#[test]
fn every_scenario_is_validated_before_sharding() {
    // Shard 1/2 takes only `a.yaml`; the invalid `b.yaml` fails it all the same.
    let folder = scenario_folder(&["a.yaml"]);
    std::fs::write(folder.path().join("b.yaml"), "name: b\nhostz: {}\n").unwrap();
    let dir = folder.path().to_str().unwrap();
    let expected = format!(
        "\
error: missing key `steps` in the scenario
 --> {dir}/b.yaml:1:1
  |
1 | name: b
  | ^

error: unknown key `hostz` in the scenario
 --> {dir}/b.yaml:2:1
  |
2 | hostz: {{}}
  | ^^^^^
  |
  = help: did you mean `hosts`?

2 errors in {dir}/b.yaml
"
    );
    let output = rehearse_offline(&["check", dir, "--shard", "1/2"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(text(&output.stderr), expected);
    assert_eq!(text(&output.stdout), ok_lines(folder.path(), &["a.yaml"]));
    // Nothing runs: the engine, which cannot answer, is never asked.
    let output = rehearse_offline(&["run", dir, "--shard", "1/2"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(text(&output.stderr), expected);
}

#[test]
fn bad_shards_are_invalid_input_saying_what_is_allowed() {
    for (value, reason) in [
        ("0/3", "shards are numbered from 1: use `1/3` to `3/3`"),
        ("4/3", "there is no shard 4 of 3: use `1/3` to `3/3`"),
        (
            "x",
            "expected `K/N`, this job's shard and the number of shards, like `1/3`; found `x`",
        ),
    ] {
        for command in ["run", "check"] {
            let output = rehearse(&[command, "scenarios/", "--shard", value]);
            assert_eq!(output.status.code(), Some(2), "{command} {value}");
            assert_eq!(
                text(&output.stderr),
                format!(
                    "error: invalid value '{value}' for '--shard <K/N>': {reason}\n\nFor more information, try '--help'.\n"
                ),
                "{command} {value}"
            );
        }
    }
}

#[test]
fn run_from_takes_one_file_not_a_folder_nor_a_shard() {
    let folder = scenario_folder(&["a.yaml"]);
    let dir = folder.path().to_str().unwrap();
    let output = rehearse_offline(&["run", dir, "--from", "1"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: `--from` takes one scenario file, not a folder: name the scenario's file\n"
    );
    let output = rehearse_offline(&["run", dir, "--from", "1", "--shard", "1/2"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "error: the argument '--from <STEP>' cannot be used with '--shard <K/N>'\n\n\
         Usage: rehearse run --from <STEP> --images-dir <DIR> <SCENARIO|DIR>...\n\n\
         For more information, try '--help'.\n"
    );
}

/// Run the CLI with its stdout already closed by the reader (as `rehearse … | head -c1`
/// once head has its byte): returns the exit code and stderr.
fn with_closed_stdout(args: &[&str]) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    (output.status.code(), text(&output.stderr))
}

#[test]
fn a_closed_stdout_ends_each_command_quietly_with_its_normal_code() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("tests/fixtures/reports/smoke-broken.json"),
        dir.path().join("report.json"),
    )
    .unwrap();
    let report_dir = dir.path().to_str().unwrap();
    let naive = "tests/fixtures/reports/move-naive.json";
    let broken = "tests/fixtures/reports/smoke-broken.json";
    let mut commands: Vec<(Vec<&str>, i32)> = vec![
        (vec!["check", "scenarios"], 0),
        (vec!["check", "scenarios/smoke-static-site.yaml"], 0),
        (vec!["schema"], 0),
        (vec!["schema", "--report"], 0),
        (
            vec!["report", report_dir, "--stdout", "--format", "html"],
            0,
        ),
        (
            vec!["report", report_dir, "--stdout", "--format", "junit"],
            0,
        ),
        (vec!["report", report_dir, "--stdout", "--format", "md"], 0),
        (vec!["report", report_dir], 0),
        (vec!["diff", broken, naive], 0),
        (vec!["diff", broken, naive, "--json"], 0),
        (vec!["--help"], 0),
        (vec!["run", "--help"], 0),
        (vec!["--version"], 0),
    ];
    if docker_available() {
        commands.push((vec!["images", "list"], 0));
        commands.push((vec!["gc", "--dry-run"], 0));
    }
    for (args, code) in commands {
        let (status, stderr) = with_closed_stdout(&args);
        assert_eq!(status, Some(code), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked")
                && !stderr.contains("Broken pipe")
                && !stderr.contains("error"),
            "{args:?}: {stderr}"
        );
    }
}

/// The CLI under a memory cap (`ulimit -v`), with no engine reachable; a run that does
/// not end in a minute is killed (and the test fails), so a hang cannot stall CI.
fn capped(args: &[&str]) -> (Option<i32>, String) {
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2000000 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_rehearse"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            let output = child.wait_with_output().unwrap();
            return (output.status.code(), text(&output.stderr));
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("{args:?} still runs after a minute");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_device_a_fifo_or_a_huge_file_is_refused_naming_it_and_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.yaml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // 100 MB that take no room: a sparse file.
    let huge = dir.path().join("huge.yaml");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(100 * 1000 * 1000)
        .unwrap();
    let report = "tests/fixtures/reports/smoke-broken.json";
    for (input, said) in [
        ("/dev/zero", "it is a character device, not a regular file"),
        (fifo.to_str().unwrap(), "it is a FIFO, not a regular file"),
        (huge.to_str().unwrap(), "it is larger than"),
    ] {
        for args in [
            vec!["check", input],
            vec!["run", input],
            vec!["report", input],
            vec!["diff", input, report],
            vec!["diff", report, input],
        ] {
            let (code, stderr) = capped(&args);
            assert_eq!(code, Some(2), "{args:?}: {stderr}");
            assert!(
                stderr.contains(input),
                "{args:?} does not name the file: {stderr}"
            );
            assert!(stderr.contains(said), "{args:?}: {stderr}");
            if said == "it is larger than" {
                assert!(
                    stderr.contains("the most"),
                    "{args:?} names no limit: {stderr}"
                );
            }
        }
        if said != "it is larger than" {
            let (code, stderr) = capped(&["import", input]);
            assert_eq!(code, Some(2), "import {input}: {stderr}");
            assert!(stderr.contains(input) && stderr.contains(said), "{stderr}");
        }
    }
    // A bundle is read entry by entry: one too large is refused, named with the limit.
    let bundle = dir.path().join("big.rehearse-bundle.tar.gz");
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&bundle).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(100 * 1000 * 1000);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(
        &mut header,
        "files/etc/big.conf",
        std::io::Read::take(std::io::repeat(b'x'), 100 * 1000 * 1000),
    )
    .unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    let (code, stderr) = capped(&["import", bundle.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("files/etc/big.conf")
            && stderr.contains("the most a file in a bundle may be"),
        "{stderr}"
    );
}

#[test]
fn control_characters_of_a_scenario_do_not_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.yaml");
    std::fs::write(
        &path,
        "name: hostile\nhosts:\n  web: {image: static-site, aliases: [\"\\e]0;PWNED\\a\\e[2J\"]}\nsteps:\n  - name: \"\\e[2J\\rstep\"\n    exec: {host: web, command: \"true\"}\n",
    )
    .unwrap();
    for args in [
        vec!["check", path.to_str().unwrap()],
        vec!["run", path.to_str().unwrap()],
    ] {
        let output = rehearse_offline(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(
            !stderr.contains('\u{1b}') && !stderr.contains('\u{7}') && !stderr.contains('\r'),
            "{args:?}: {stderr:?}"
        );
        assert!(stderr.contains("PWNED"), "{args:?}: {stderr}");
    }
}

/// A scenario file in a fresh folder.
fn scenario_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap().to_string();
    (dir, path)
}

#[test]
fn what_would_fail_later_is_invalid_input_before_any_engine_is_asked() {
    let cases: &[(&str, &[&str])] = &[
        (
            "name: t\nhosts:\n  web: {image: static-site, memory: 4m}\nsteps:\n  - exec: {host: web, command: \"true\"}\n",
            &[
                "s.yaml:3:37",
                "`memory` of host `web` is 4.0 MiB, less than the engine accepts",
            ],
        ),
        (
            "name: t\nhosts:\n  a: {image: static-site, aliases: [www.x.test]}\n  b: {image: static-site, aliases: [www.x.test]}\nsteps:\n  - exec: {host: a, command: \"true\"}\n",
            &[
                "s.yaml:4:37",
                "`www.x.test` of host `b` is already an alias of host `a`",
            ],
        ),
        (
            "name: t\nhosts:\n  web: {image: static-site}\nsteps:\n  - name: \" \"\n    exec: {host: web, command: \"true\"}\n",
            &["s.yaml:5:11", "empty step name"],
        ),
        (
            "name: t\ndescription: !!binary aGVsbG8=\nhosts:\n  web: {image: static-site}\nsteps:\n  - exec: {host: web, command: \"true\"}\n",
            &["s.yaml:2:", "a `!!binary` value is not accepted"],
        ),
        (
            "name: t\nhosts:\n  web: {image: !python/object:os.system static-site}\nsteps:\n  - exec: {host: web, command: \"true\"}\n",
            &["s.yaml:3:", "unsupported tag `!python/object:os.system`"],
        ),
        (
            "name: t\nhosts:\n  web: {image: static-site}\nsteps:\n  - exec: {host: web, command: \"true\"}\n    timeout: 1.5\n",
            &["s.yaml:6:14", "invalid duration `1.5`", "`1500ms`"],
        ),
        (
            "name: t\nhosts:\n  web: {image: static-site}\nsteps:\n  - name: up\n    upgrade: {host: web, to: bookworm}\n",
            &[
                "s.yaml:6:30",
                "`to: bookworm` in step `up` is not after `bookworm`",
                "the next is trixie",
            ],
        ),
        (
            "name: t\nhosts:\n  web: {image: no-such-recipe}\nsteps:\n  - exec: {host: web, command: \"true\"}\n",
            &["no-such-recipe"],
        ),
    ];
    for (source, said) in cases {
        let (_dir, path) = scenario_file(source);
        for command in ["check", "run"] {
            let output = rehearse_offline(&[command, &path]);
            let stderr = text(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(2),
                "{command} {source}: {stderr}"
            );
            for part in *said {
                assert!(stderr.contains(part), "{command}: `{part}` not in {stderr}");
            }
        }
    }
    // A quoted whole number of seconds is a duration like the bare one.
    let (_dir, path) = scenario_file(
        "name: t\nhosts:\n  web: {image: static-site}\nsteps:\n  - exec: {host: web, command: \"true\"}\n    timeout: \"30\"\n",
    );
    let output = rehearse_offline(&["check", &path]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));

    // A report folder that cannot be written is refused before the engine is asked.
    let (_dir, path) = scenario_file(
        "name: t\nhosts:\n  web: {image: static-site}\nsteps:\n  - exec: {host: web, command: \"true\"}\n",
    );
    for (dir, said) in [
        (
            "/etc/hostname/report",
            "`/etc/hostname` is a file, not a folder",
        ),
        (
            "/proc/rehearse-report",
            "cannot write the report into `/proc/rehearse-report`",
        ),
    ] {
        let output = rehearse_offline(&["run", &path, "--report-dir", dir]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{dir}: {stderr}");
        assert!(stderr.contains(said), "{stderr}");
        assert!(!std::path::Path::new(dir).exists());
    }
}

/// Every command's help says what its exit codes mean, and only the commands that use
/// an engine take the engine's flags.
#[test]
fn help_tells_exit_codes_and_engine_flags_only_where_an_engine_is_used() {
    let engine_commands: &[&[&str]] = &[
        &["run"],
        &["images", "build"],
        &["images", "list"],
        &["gc"],
        &["drill"],
        &["drill", "status"],
        &["drill", "end"],
        &["shell"],
        &["import"],
    ];
    let other_commands: &[&[&str]] = &[
        &["check"],
        &["schema"],
        &["report"],
        &["diff"],
        &["capture"],
        &["completions"],
        &["man"],
    ];
    for (command, uses_engine) in engine_commands
        .iter()
        .map(|c| (c, true))
        .chain(other_commands.iter().map(|c| (c, false)))
    {
        let mut argv = command.to_vec();
        argv.push("--help");
        let output = rehearse(&argv);
        let help = text(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{command:?}");
        assert_eq!(
            help.contains("--docker-host"),
            uses_engine,
            "{command:?}:\n{help}"
        );
        assert!(help.contains("Exit codes:"), "{command:?}:\n{help}");
    }
    let build = text(&rehearse(&["images", "build", "--help"]).stdout);
    assert!(build.contains("[RECIPE]..."), "{build}");
    assert!(build.contains("Recipes to build"), "{build}");
}

/// The book's list of findings is what `rehearse findings --format md` prints, which is
/// made from the declarations the checks use: neither can drift from the code.
#[test]
fn the_books_release_notes_catalogue_is_the_codes_and_names_real_tests() {
    let output = rehearse(&["findings", "--release-notes", "--format", "md"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    let page = std::fs::read_to_string(root().join("docs/src/release-notes.md")).unwrap();
    let generated = page
        .split_once("<!-- generated: rehearse findings --release-notes --format md -->\n")
        .and_then(|(_, rest)| rest.split_once("<!-- end of generated -->"))
        .map(|(table, _)| table)
        .expect("docs/src/release-notes.md has the generated markers");
    assert_eq!(
        generated, table,
        "docs/src/release-notes.md is out of date: put the output of `rehearse findings --release-notes --format md` between its markers"
    );
    // Each detected item names a test that exists and asserts the item's finding.
    let json: serde_json::Value = serde_json::from_slice(
        &rehearse(&["findings", "--release-notes", "--format", "json"]).stdout,
    )
    .unwrap();
    let items = json.as_array().unwrap();
    assert_eq!(items.len(), table.lines().count() - 2);
    let mut detected = 0;
    for item in items.iter().filter(|i| i["status"] == "detected") {
        detected += 1;
        let key = item["finding"].as_str().unwrap();
        let (file, function) = item["test"].as_str().unwrap().split_once("::").unwrap();
        let source = std::fs::read_to_string(root().join(file)).unwrap();
        let start = source
            .find(&format!("fn {function}()"))
            .unwrap_or_else(|| panic!("{file} has no test `{function}`"));
        let body = &source[start..];
        let body = &body[..body.find("\n}\n").unwrap_or(body.len())];
        assert!(
            body.contains(&format!("\"{key}\"")),
            "{file}::{function} does not assert `{key}` ({})",
            item["item"]
        );
    }
    assert!(detected >= 15, "{detected} items detected");
    // The text form ends with the count.
    let text_form = text(&rehearse(&["findings", "--release-notes"]).stdout);
    assert!(
        text_form.contains(&format!("{detected} of {} items detected", items.len())),
        "{text_form}"
    );
}

#[test]
fn the_books_list_of_findings_is_the_one_the_checks_declare() {
    let output = rehearse(&["findings", "--format", "md"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    let page = std::fs::read_to_string(root().join("docs/src/findings.md")).unwrap();
    let generated = page
        .split_once("<!-- generated: rehearse findings --format md -->\n")
        .and_then(|(_, rest)| rest.split_once("<!-- end of generated -->"))
        .map(|(table, _)| table)
        .expect("docs/src/findings.md has the generated markers");
    assert_eq!(
        generated, table,
        "docs/src/findings.md is out of date: put the output of `rehearse findings --format md` between its markers"
    );
    for key in [
        "apt.held-packages",
        "cutover.configtest-failed",
        "php.fatal-errors",
    ] {
        assert!(table.contains(&format!("| `{key}` |")), "{key} missing");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&rehearse(&["findings", "--format", "json"]).stdout).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), table.lines().count() - 2);
    assert!(
        rows.iter()
            .all(|r| r["key"].is_string() && r["inhibitor"].is_boolean())
    );
}

/// Shell completions and the manual page come from the same definition as the parser.
#[test]
fn completions_and_the_manual_page_are_generated_and_well_formed() {
    let bash = rehearse(&["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0));
    let script = text(&bash.stdout);
    for word in ["run", "images", "drill", "--report-dir", "--docker-host"] {
        assert!(
            script.contains(word),
            "{word} missing from the bash completion"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rehearse.bash");
    std::fs::write(&path, &bash.stdout).unwrap();
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .unwrap();
    assert!(syntax.status.success(), "{}", text(&syntax.stderr));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let output = rehearse(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        assert!(text(&output.stdout).contains("rehearse"), "{shell}");
    }

    let man = rehearse(&["man"]);
    assert_eq!(man.status.code(), Some(0));
    let page = text(&man.stdout);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH rehearse"),
        "{page}"
    );
    for word in ["run", "images", "drill", "capture", "Exit codes"] {
        assert!(page.contains(word), "{word} missing from the manual page");
    }
    // Rendered as man would, without a warning, where groff is installed.
    let groff = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    if let Ok(mut groff) = groff {
        use std::io::Write;
        groff.stdin.take().unwrap().write_all(&man.stdout).unwrap();
        let rendered = groff.wait_with_output().unwrap();
        assert!(rendered.status.success());
        assert_eq!(text(&rendered.stderr), "", "groff warnings");
    }
}
