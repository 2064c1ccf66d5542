//! Docker-backed tests of the shipped training drills. Each drill is started for real,
//! its checks must fail before the repair, the trainer's answer (the ```sh blocks of
//! `scenarios/drills/answers/<name>.md`) is applied through `rehearse shell`, and the
//! checks must then pass, with the figures in the report; `drill end` leaves nothing.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

/// A drill in a temporary folder of its own (state file and reports); the replica is
/// removed when the test ends, passed or not.
struct DrillRun {
    dir: tempfile::TempDir,
}

impl DrillRun {
    fn new() -> Self {
        DrillRun {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("drill.json")
    }

    fn reports(&self) -> PathBuf {
        self.dir.path().join("reports")
    }

    /// `rehearse ARGS` with this drill's state file; code, stdout, stderr.
    fn rehearse(&self, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rehearse"))
            .args(args)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .env("REHEARSE_DRILL_STATE", self.state())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the rehearse binary runs");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(input.as_bytes()).unwrap();
        }
        let output = child.wait_with_output().unwrap();
        (
            output.status.code().unwrap_or(-1),
            text(&output.stdout),
            text(&output.stderr),
        )
    }

    fn run_id(&self) -> Option<String> {
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(self.state()).ok()?).ok()?;
        state["run_id"].as_str().map(str::to_string)
    }

    fn report(&self) -> serde_json::Value {
        report(&self.reports())
    }
}

impl Drop for DrillRun {
    fn drop(&mut self) {
        if self.state().exists() {
            let _ = self.rehearse(&["drill", "end"], None);
        }
    }
}

/// The answer's shell blocks: (host, script), in order.
fn answer_blocks(answer: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join(answer)).unwrap();
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(host) = line.strip_prefix("```sh host=") {
            let script: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
            blocks.push((host.trim().to_string(), script.join("\n") + "\n"));
        }
    }
    assert!(
        !blocks.is_empty(),
        "{} has no ```sh host=… block",
        answer.display()
    );
    blocks
}

/// What every drill must do: start broken, fail its checks, pass them after the
/// trainer's answer, report it, and leave nothing behind.
fn drill_is_solved_by_its_answer(name: &str, failing_before: &[&str], secret_words: &[&str]) {
    if !docker_available() {
        return;
    }
    images_ready();
    let drill = DrillRun::new();
    let file = format!("scenarios/drills/{name}.yaml");
    let reports = drill.reports();
    let (code, stdout, stderr) = drill.rehearse(
        &["drill", &file, "--report-dir", reports.to_str().unwrap()],
        None,
    );
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains(&format!("== drill: drill-{name} ==")),
        "{stdout}"
    );
    assert!(stdout.contains("rehearse drill status"), "{stdout}");
    assert!(stdout.contains("rehearse shell "), "{stdout}");
    // The trainee's screen does not give the setup away.
    for word in secret_words {
        assert!(
            !stdout.contains(word) && !stderr.contains(word),
            "`{word}` shown to the trainee:\n{stdout}\n{stderr}"
        );
    }
    let run_id = drill.run_id().expect("the drill saved its state");

    // Before the repair: the checks say which fail, the report is a NO-GO.
    let (code, stdout, stderr) = drill.rehearse(&["drill", "status"], None);
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    for check in failing_before {
        assert!(stdout.contains(&format!("✗ {check}")), "{check}:\n{stdout}");
    }
    assert!(stdout.contains("not yet:"), "{stdout}");
    let before = drill.report();
    assert_eq!(before["verdict"], "NO-GO");
    assert_eq!(before["drill"]["solved"], false);
    assert_eq!(before["drill"]["attempts"], 1);

    // A hint, then the trainer's answer through `rehearse shell`.
    let (code, stdout, _) = drill.rehearse(&["drill", "status", "--hint"], None);
    assert_eq!(code, 1);
    assert!(stdout.contains("hint 1/"), "{stdout}");
    for (host, script) in answer_blocks(Path::new(&format!("scenarios/drills/answers/{name}.md"))) {
        let (code, stdout, stderr) =
            drill.rehearse(&["shell", &host, "--", "sh", "-e"], Some(&script));
        assert_eq!(
            code, 0,
            "answer on `{host}` failed:\n{script}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
    }

    let (code, stdout, stderr) = drill.rehearse(&["drill", "status"], None);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("drill solved: time to repair"), "{stdout}");
    let after = drill.report();
    assert_eq!(after["verdict"], "GO", "{after:#}");
    let figures = &after["drill"];
    assert_eq!(figures["solved"], true);
    assert_eq!(figures["attempts"], 3);
    assert_eq!(figures["hints_used"], 1);
    assert!(
        figures["time_to_repair_ms"].as_u64().unwrap() > 0,
        "{figures:#}"
    );
    if figures.get("data_before").is_some() {
        assert_eq!(
            figures["data_lost"],
            figures["data_before"].as_u64().unwrap() - figures["data_now"].as_u64().unwrap()
        );
        assert!(
            figures["data_lost"].as_u64().unwrap() <= figures["data_max_loss"].as_u64().unwrap()
        );
    }
    assert_report_matches_schema(&after);

    let (code, stdout, _) = drill.rehearse(&["drill", "end"], None);
    assert_eq!(code, 0);
    assert!(stdout.contains("solved in"), "{stdout}");
    assert!(!drill.state().exists());
    assert_eq!(leftovers(&run_id), Vec::<String>::new());
}

fn assert_report_matches_schema(report: &serde_json::Value) {
    let output = rehearse(&["schema", "--report"]);
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_upgrade_that_breaks_the_site() {
    drill_is_solved_by_its_answer(
        "upgrade-breaks-the-site",
        &["shop"],
        &["versioned packages", "hurried"],
    );
}

#[test]
fn the_cutover_on_apache_24() {
    drill_is_solved_by_its_answer(
        "cutover-apache24",
        &["old-proxies-to-new"],
        &["old procedure's notes", "compatibility module"],
    );
}
