//! Secrets from the environment (`${env:NAME}`) against the real engine: the value
//! really flows into the host, commands, errors and probes, and no output of the run
//! shows it — only its `[redacted:NAME]` marker.

mod common;

use std::path::Path;

use common::*;

const SCENARIO: &str = "tests/scenarios/secrets.yaml";
const MARKER: &str = "[redacted:REHEARSE_TEST_SECRET]";

/// A value unique to this test run, so that finding it anywhere is a real leak.
fn secret() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("Sekr3t-{}-{nanos:x}", std::process::id())
}

/// Every file under a folder, with its path.
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            found.push((path.display().to_string(), text));
        }
    }
    found
}

fn assert_no_leak(run: &RunResult, secret: &str) {
    let dir = run.dir.path().join("report");
    let mut outputs = vec![
        ("stdout".to_string(), run.stdout.clone()),
        ("stderr".to_string(), run.stderr.clone()),
    ];
    let files = files_under(&dir);
    for name in ["report.json", "report.html", "report.md", "junit.xml"] {
        assert!(
            files.iter().any(|(path, _)| path.ends_with(name)),
            "the run wrote no {name}"
        );
    }
    let logs: Vec<_> = files.iter().filter(|(p, _)| p.contains("/logs/")).collect();
    assert!(logs.len() >= 3, "expected a log per exec step: {logs:?}");
    outputs.extend(files.iter().cloned());
    for (what, text) in &outputs {
        assert!(!text.contains(secret), "{what} shows the secret:\n{text}");
    }
    // The value did go through: its marker stands where it was.
    for name in ["report.json", "report.html", "report.md", "junit.xml"] {
        let (_, text) = outputs.iter().find(|(p, _)| p.ends_with(name)).unwrap();
        assert!(text.contains(MARKER), "{name} has no marker:\n{text}");
    }
    assert!(
        logs.iter()
            .any(|(_, text)| text.contains(&format!("token is {MARKER}"))),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|(_, text)| text.contains(&format!("denied for {MARKER}"))),
        "{logs:?}"
    );
    assert!(run.stderr.contains(MARKER), "{}", run.stderr);
}

#[test]
fn a_secret_never_shows_in_any_output() {
    if !docker_available() {
        return;
    }
    let secret = secret();
    let run = run_scenario_with_env(
        SCENARIO,
        &["--verbose"],
        &[("REHEARSE_TEST_SECRET", &secret)],
    );
    // The failures are allowed: GO.
    assert_eq!(run.code, 0, "{run}");
    let report = &run.report;
    // The secret really flowed: the host had it, the command printed it, the failure
    // and the probe carried it.
    assert_eq!(step(report, "the host got the secret")["status"], "passed");
    let echo = step(report, &format!("exec web: echo \"token is {MARKER}\""));
    assert_eq!(echo["status"], "passed", "{echo:#}");
    let failed = step(report, "a failure quoting the secret");
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["evidence"]["output"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("denied for {MARKER}"))
            || failed["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(MARKER),
        "{failed:#}"
    );
    let probe = step(report, "a probe whose URL holds the secret");
    assert_eq!(probe["status"], "failed");
    assert!(probe.to_string().contains(MARKER), "{probe:#}");
    assert!(run.stdout.contains(MARKER), "{}", run.stdout);
    assert_no_leak(&run, &secret);
    assert_reports_valid(&run);
    assert_clean(&run);
}

#[test]
fn a_secret_never_shows_in_json_output() {
    if !docker_available() {
        return;
    }
    let secret = secret();
    let run = run_scenario_with_env(
        SCENARIO,
        &["--output", "json"],
        &[("REHEARSE_TEST_SECRET", &secret)],
    );
    // The failures are allowed: GO.
    assert_eq!(run.code, 0, "{run}");
    let printed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(printed, run.report);
    assert!(run.stdout.contains(MARKER));
    // Whoever watches still reads the verdict, on standard error.
    let verdict = format!("GO: `{}` in ", run.report["scenario"].as_str().unwrap());
    assert!(
        run.stderr.lines().any(|l| l.starts_with(&verdict)),
        "{}",
        run.stderr
    );
    assert_no_leak(&run, &secret);
    assert_clean(&run);
}

/// The forms a value takes in a URL, an HTML page or a JSON string.
fn encoded(secret: &str) -> Vec<String> {
    let percent: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let json = serde_json::to_string(secret).unwrap();
    vec![
        secret.to_string(),
        percent.clone(),
        percent.replace("%20", "+"),
        secret
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;"),
        json[1..json.len() - 1].to_string(),
    ]
}

#[test]
fn a_secret_with_special_characters_is_in_no_output_and_no_image_left() {
    if !docker_available() {
        return;
    }
    let scenario = "tests/scenarios/secrets-saved.yaml";
    remove_checkpoints("secrets-saved");
    let secret = format!("S3k/r&e+t%\"<x> y{}", secret());
    let run = run_scenario_with_env(
        scenario,
        &["--verbose"],
        &[("REHEARSE_TEST_SECRET", &secret)],
    );
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        step(&run.report, "the host has it again after the rollback")["status"],
        "passed"
    );
    let forms = encoded(&secret);
    let mut outputs = vec![
        ("stdout".to_string(), run.stdout.clone()),
        ("stderr".to_string(), run.stderr.clone()),
    ];
    outputs.extend(files_under(&run.dir.path().join("report")));
    // Every image the run leaves: its checkpoints (config, environment, labels).
    let ids = std::process::Command::new("docker")
        .args([
            "images",
            "-q",
            "--filter",
            "label=rehearse.checkpoint.scenario=secrets-saved",
        ])
        .output()
        .unwrap();
    let ids: Vec<String> = text(&ids.stdout).lines().map(str::to_string).collect();
    assert!(!ids.is_empty(), "the snapshot left no checkpoint");
    for id in &ids {
        let inspect = std::process::Command::new("docker")
            .args(["image", "inspect", id])
            .output()
            .unwrap();
        let json = text(&inspect.stdout);
        assert!(json.contains("\"SHOP_TOKEN=\""), "{json}");
        outputs.push((format!("image {id}"), json));
    }
    remove_checkpoints("secrets-saved");
    for (what, text) in &outputs {
        for form in &forms {
            assert!(
                !text.contains(form.as_str()),
                "{what} shows the secret as `{form}`:\n{text}"
            );
        }
    }
    // The value went through: the host printed it, and the log shows its marker.
    assert!(
        outputs
            .iter()
            .any(|(what, text)| what.contains("/logs/")
                && text.contains(&format!("token is {MARKER}"))),
        "no log shows the marker"
    );
    assert_clean(&run);
}
