//! Interrupting the tool mid-upgrade: SIGINT makes the run clean up after itself and
//! report `interrupted`; after SIGKILL, `rehearse gc` (or the next run) removes what
//! the dead run left — and only that: a run in progress beside it is untouched.
//!
//! One test on purpose: the cases share a survivor run and must not overlap with other
//! runs' own cleanup (a run started in parallel would remove a killed run's leftovers
//! before the test could see `gc` do it).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{docker_available, images_ready, leftovers, owner_of, rehearse, report, root, text};

/// A `rehearse run` in the background, its report going to `dir`.
fn spawn_run(scenario: &str, dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(["run", scenario, "--report-dir", dir.to_str().unwrap()])
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rehearse starts")
}

fn docker(args: &[&str]) -> String {
    let output = Command::new("docker").args(args).output().unwrap();
    text(&output.stdout).trim().to_string()
}

/// The container of a run's host, once it exists.
fn container_of(owner: &str, deadline: Duration) -> String {
    let started = Instant::now();
    loop {
        let id = docker(&[
            "ps",
            "-q",
            "--filter",
            &format!("label=rehearse.owner={owner}"),
        ]);
        if !id.is_empty() {
            return id;
        }
        assert!(
            started.elapsed() < deadline,
            "no container for owner {owner}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The run id of the resources an owner created.
fn run_id_of(container: &str) -> String {
    docker(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"rehearse.run\"}}",
        container,
    ])
}

/// Start an upgrade rehearsal and wait until dpkg is at work inside the host.
fn upgrade_in_progress(dir: &std::path::Path) -> (Child, String, String) {
    let child = spawn_run("tests/scenarios/interrupt-upgrade.yaml", dir);
    let owner = owner_of(child.id());
    let container = container_of(&owner, Duration::from_secs(180));
    let run_id = run_id_of(&container);
    let started = Instant::now();
    loop {
        let busy = Command::new("docker")
            .args(["exec", &container, "pgrep", "-x", "dpkg"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if busy {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "dpkg never ran in run {run_id}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    (child, container, run_id)
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} failed");
}

#[test]
fn interrupted_and_killed_upgrades_leave_nothing_and_spare_a_concurrent_run() {
    if !docker_available() {
        return;
    }
    images_ready();
    let tmp = tempfile::tempdir().unwrap();

    // A run in progress in another process, for the whole test.
    let survivor = spawn_run(
        "tests/scenarios/survivor.yaml",
        &tmp.path().join("survivor"),
    );
    let survivor_owner = owner_of(survivor.id());
    let survivor_host = container_of(&survivor_owner, Duration::from_secs(120));
    let survivor_run = run_id_of(&survivor_host);
    let survivor_resources = leftovers(&survivor_run);
    assert_eq!(survivor_resources.len(), 2, "{survivor_resources:?}");

    // SIGINT mid-upgrade: the run cleans up after itself and says it was interrupted.
    let dir = tmp.path().join("sigint");
    let (child, _, run_id) = upgrade_in_progress(&dir);
    signal(&child, "INT");
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let interrupted = report(&dir);
    assert_eq!(interrupted["interrupted"], true);
    assert_eq!(interrupted["verdict"], "NO-GO");
    assert_eq!(interrupted["run_id"], run_id.as_str());
    assert_eq!(interrupted["steps"][1]["name"], "upgrade");
    assert_eq!(interrupted["steps"][1]["status"], "skipped");
    assert_eq!(leftovers(&run_id), Vec::<String>::new());

    // SIGKILL mid-upgrade: the tool cannot clean up; `rehearse gc` does, and leaves the
    // survivor alone because its process is alive.
    let (mut child, _, run_id) = upgrade_in_progress(&tmp.path().join("sigkill"));
    signal(&child, "KILL");
    let _ = child.wait();
    let left = leftovers(&run_id);
    assert_eq!(left.len(), 2, "a container and a network: {left:?}");
    let gc = rehearse(&["gc"]);
    let gc_out = text(&gc.stdout);
    assert!(gc.status.success(), "{gc_out}{}", text(&gc.stderr));
    assert_eq!(leftovers(&run_id), Vec::<String>::new(), "{gc_out}");
    assert!(
        gc_out.contains(&format!("run {survivor_run} is still alive")),
        "{gc_out}"
    );
    assert_eq!(leftovers(&survivor_run), survivor_resources);

    // Killed again: this time the next run removes the dead run's leftovers itself.
    let (mut child, _, run_id) = upgrade_in_progress(&tmp.path().join("sigkill-2"));
    signal(&child, "KILL");
    let _ = child.wait();
    assert_eq!(leftovers(&run_id).len(), 2);
    let next = rehearse(&[
        "run",
        "scenarios/smoke-static-site.yaml",
        "--report-dir",
        tmp.path().join("next").to_str().unwrap(),
        "--quiet",
    ]);
    let next_err = text(&next.stderr);
    assert!(
        next_err.contains(&format!("left by dead run(s) {run_id}")),
        "{next_err}"
    );
    assert_eq!(leftovers(&run_id), Vec::<String>::new());
    assert_eq!(leftovers(&survivor_run), survivor_resources);

    // The survivor was never disturbed: released, it finishes GO.
    docker(&["exec", &survivor_host, "touch", "/tmp/release"]);
    let output = survivor.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let survived = report(&tmp.path().join("survivor"));
    assert_eq!(survived["verdict"], "GO");
    assert_eq!(leftovers(&survivor_run), Vec::<String>::new());
}
