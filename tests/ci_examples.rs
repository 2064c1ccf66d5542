//! The CI examples (`examples/ci/`) are valid YAML, split the scenarios with `--shard`,
//! keep and publish the JUnit files where a sharded run writes them, and their
//! `rehearse run` line is accepted by the real CLI: the examples cannot rot unseen.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(root().join("examples/ci").join(name)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name} is not YAML: {e}"))
}

/// The one line of `script` that calls `rehearse run`.
fn rehearse_line<'a>(script: impl IntoIterator<Item = &'a str>) -> String {
    let lines: Vec<&str> = script
        .into_iter()
        .flat_map(str::lines)
        .map(str::trim)
        .filter(|line| line.starts_with("rehearse run "))
        .collect();
    assert_eq!(lines.len(), 1, "one `rehearse run` line: {lines:?}");
    lines[0].to_string()
}

/// The line's words once the CI variables are replaced (no word has a space then), with
/// the quotes around them taken off.
fn words(line: &str, variables: &[(&str, String)]) -> Vec<String> {
    let mut line = line.to_string();
    for (name, value) in variables {
        line = line.replace(name, value);
    }
    assert!(!line.contains('$'), "a variable left in `{line}`");
    line.split_whitespace()
        .map(|word| word.trim_matches('"').to_string())
        .collect()
}

/// The value after `flag` in `words`.
fn flag<'a>(words: &'a [String], name: &str) -> &'a str {
    let at = words
        .iter()
        .position(|w| w == name)
        .unwrap_or_else(|| panic!("no `{name}` in {words:?}"));
    &words[at + 1]
}

/// Whether `path` matches a glob whose segments are names with at most one `*`, or
/// `**` (any number of segments): enough for the examples' artifact paths.
fn matches(glob: &str, path: &str) -> bool {
    fn segment(glob: &str, name: &str) -> bool {
        match glob.split_once('*') {
            Some((before, after)) => {
                name.len() >= before.len() + after.len()
                    && name.starts_with(before)
                    && name.ends_with(after)
            }
            None => glob == name,
        }
    }
    fn go(glob: &[&str], path: &[&str]) -> bool {
        match (glob.first(), path.first()) {
            (None, None) => true,
            (Some(&"**"), _) => go(&glob[1..], path) || (!path.is_empty() && go(glob, &path[1..])),
            (Some(g), Some(p)) => segment(g, p) && go(&glob[1..], &path[1..]),
            _ => false,
        }
    }
    let glob: Vec<&str> = glob.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    go(&glob, &path)
}

/// Run the example's `rehearse run` words against the real CLI, from the repository's
/// root, with an engine that cannot answer: the flags parse and every shipped scenario
/// validates (exit 3 from the engine, or 0 for a shard with nothing to rehearse).
/// Returns how many scenarios the shard took.
fn run_offline(words: &[String]) -> usize {
    assert_eq!(&words[..2], ["rehearse", "run"]);
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = words[1..].to_vec();
    let at = args.iter().position(|w| w == "--report-dir").unwrap();
    args[at + 1] = dir.path().join(&args[at + 1]).display().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(&args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    let shard = flag(words, "--shard");
    match output.status.code() {
        Some(0) => {
            assert!(stderr.starts_with(&format!("shard {shard} has no scenario")));
            0
        }
        Some(3) => {
            let first = stderr.lines().next().unwrap();
            assert!(
                stderr.contains("cannot reach the Docker engine"),
                "{stderr}"
            );
            let taken = first
                .strip_prefix(&format!("shard {shard}: "))
                .unwrap_or_else(|| panic!("{stderr}"));
            taken.split(' ').next().unwrap().parse().unwrap()
        }
        code => panic!("`{}` exited with {code:?}: {stderr}", words.join(" ")),
    }
}

fn shipped_scenarios() -> usize {
    std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .filter(|e| {
            let path = e.as_ref().unwrap().path();
            path.is_file() && path.extension().is_some_and(|x| x == "yaml" || x == "yml")
        })
        .count()
}

fn steps(job: &Value) -> &Vec<Value> {
    job["steps"].as_array().expect("a job with steps")
}

fn uses<'a>(job: &'a Value, action: &str) -> Vec<&'a Value> {
    steps(job)
        .iter()
        .filter(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
        .collect()
}

#[test]
fn the_github_actions_example_shards_the_scenarios_and_publishes_junit() {
    let workflow = load("github-actions.yml");
    let job = &workflow["jobs"]["rehearse"];
    let shards: Vec<u64> = job["strategy"]["matrix"]["shard"]
        .as_array()
        .expect("a matrix of shards")
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    assert_eq!(shards, [1, 2, 3]);
    assert_eq!(job["strategy"]["fail-fast"], false);

    let scripts: Vec<&str> = steps(job)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    let setup = scripts.join("\n");
    assert!(setup.contains("apt-get install"), "{setup}");
    assert!(setup.contains("mmdebstrap"), "{setup}");
    assert!(setup.contains("docker info"), "{setup}");
    let cache = uses(job, "actions/cache@");
    assert_eq!(cache.len(), 1);
    assert_eq!(cache[0]["with"]["path"], "~/.cache/rehearse/apt");

    let line = rehearse_line(scripts);
    let mut taken = 0;
    for shard in &shards {
        let words = words(&line, &[("${{ matrix.shard }}", shard.to_string())]);
        assert_eq!(flag(&words, "--shard"), format!("{shard}/{}", shards.len()));
        taken += run_offline(&words);
        // Where the sharded run writes each scenario's junit.xml is kept.
        let report_dir = flag(&words, "--report-dir");
        let upload = uses(job, "actions/upload-artifact@");
        assert_eq!(upload.len(), 1);
        assert_eq!(upload[0]["if"], "always()");
        let paths = upload[0]["with"]["path"].as_str().unwrap();
        for file in ["junit.xml", "report.json", "report.html"] {
            let written = format!("{report_dir}/smoke-static-site/{file}");
            assert!(
                paths.lines().any(|glob| matches(glob.trim(), &written)),
                "{written} is not uploaded by {paths}"
            );
        }
        assert!(
            paths
                .lines()
                .any(|glob| matches(glob.trim(), &format!("{report_dir}/matrix.json")))
        );
    }
    assert_eq!(
        taken,
        shipped_scenarios(),
        "the shards cover every scenario once"
    );

    // Every shard's artifact is downloaded and its junit.xml files published.
    let publish = &workflow["jobs"]["junit"];
    assert_eq!(publish["if"], "always()");
    assert_eq!(publish["needs"], "rehearse");
    let download = uses(publish, "actions/download-artifact@");
    assert_eq!(download.len(), 1);
    let folder = download[0]["with"]["path"].as_str().unwrap();
    let reporter = uses(publish, "EnricoMi/publish-unit-test-result-action@");
    assert_eq!(reporter.len(), 1);
    let files = reporter[0]["with"]["files"].as_str().unwrap();
    assert!(
        matches(
            files,
            &format!("{folder}/rehearse-report-shard-1/shard-1/smoke-static-site/junit.xml")
        ),
        "{files}"
    );
}

#[test]
fn the_gitlab_example_shards_the_scenarios_and_reports_junit() {
    let pipeline = load("gitlab-ci.yml");
    let job = &pipeline["rehearse"];
    let total = job["parallel"].as_u64().expect("`parallel: N`");
    assert_eq!(total, 3);
    let script: Vec<&str> = job["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    let line = rehearse_line(script);
    assert!(
        line.contains("--shard \"$CI_NODE_INDEX/$CI_NODE_TOTAL\""),
        "{line}"
    );
    let artifacts = &job["artifacts"];
    assert_eq!(artifacts["when"], "always");
    let junit = artifacts["reports"]["junit"]
        .as_str()
        .expect("a junit report");
    let mut taken = 0;
    for index in 1..=total {
        let words = words(
            &line,
            &[
                ("$CI_NODE_INDEX", index.to_string()),
                ("$CI_NODE_TOTAL", total.to_string()),
            ],
        );
        taken += run_offline(&words);
        let written = format!(
            "{}/smoke-static-site/junit.xml",
            flag(&words, "--report-dir")
        );
        assert!(matches(junit, &written), "{written} is not {junit}");
    }
    assert_eq!(
        taken,
        shipped_scenarios(),
        "the jobs cover every scenario once"
    );

    // The package cache is kept where GitLab's cache can reach it.
    let cache_dir = job["variables"]["REHEARSE_CACHE_DIR"].as_str().unwrap();
    let kept = job["cache"]["paths"][0].as_str().unwrap();
    assert_eq!(cache_dir, format!("$CI_PROJECT_DIR/{kept}"));
}

#[test]
fn the_glob_matcher_of_these_tests() {
    assert!(matches("a/**/j.xml", "a/j.xml"));
    assert!(matches("a/**/j.xml", "a/b/c/j.xml"));
    assert!(matches("a/*/*/j.xml", "a/b/c/j.xml"));
    assert!(!matches("a/*/*/j.xml", "a/b/j.xml"));
    assert!(!matches("a/*/j.xml", "a/b/k.xml"));
    assert!(matches("a/**/report.*", "a/b/report.json"));
    assert!(!matches("a/**/report.*", "a/b/junit.xml"));
}
