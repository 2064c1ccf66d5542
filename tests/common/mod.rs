//! Helpers shared by the CLI and Docker-backed tests: they run the real `rehearse`
//! binary and inspect the real engine with the `docker` CLI.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `rehearse` binary, run from the repository root.
pub fn rehearse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("the rehearse binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether a Docker engine answers. With `REHEARSE_REQUIRE_DOCKER=1` (CI) a missing
/// engine fails the test instead of skipping it.
pub fn docker_available() -> bool {
    let answers = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !answers {
        if std::env::var("REHEARSE_REQUIRE_DOCKER").as_deref() == Ok("1") {
            panic!("REHEARSE_REQUIRE_DOCKER=1 but no Docker engine answers `docker info`");
        }
        eprintln!(
            "skipped: no Docker engine (set REHEARSE_REQUIRE_DOCKER=1 to make this a failure)"
        );
    }
    answers
}

static IMAGES: Mutex<Option<String>> = Mutex::new(None);

/// Build the test images once per test process (later calls hit the cache); returns
/// the first build's progress output.
pub fn images_ready() -> String {
    let mut built = IMAGES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(output) = built.as_ref() {
        return output.clone();
    }
    let output = rehearse(&["images", "build", "static-site"]);
    let stderr = text(&output.stderr);
    assert!(
        output.status.success(),
        "building the test images failed:\n{}\n{stderr}",
        text(&output.stdout)
    );
    *built = Some(stderr.clone());
    stderr
}

/// Containers, networks and volumes still labelled with this run id.
pub fn leftovers(run_id: &str) -> Vec<String> {
    let filter = format!("label=rehearse.run={run_id}");
    let mut found = Vec::new();
    for args in [
        vec!["ps", "-aq", "--filter", &filter],
        vec!["network", "ls", "-q", "--filter", &filter],
        vec!["volume", "ls", "-q", "--filter", &filter],
    ] {
        let output = Command::new("docker")
            .args(&args)
            .output()
            .expect("docker runs");
        found.extend(
            text(&output.stdout)
                .lines()
                .map(|l| format!("{} {l}", args[0])),
        );
    }
    found
}

/// Read `report.json` from a report folder.
pub fn report(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json exists");
    serde_json::from_str(&text).expect("report.json is JSON")
}
