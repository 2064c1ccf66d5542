//! Interrupting the tool mid-upgrade: SIGINT makes the run clean up after itself and
//! report `interrupted`; after SIGKILL its watchdog removes what it left within 10 s;
//! with the watchdog killed too, `rehearse gc` (or the next run) does — and only that:
//! a run in progress beside it is untouched.
//!
//! One test on purpose: the cases share a survivor run and must not overlap with other
//! runs' own cleanup (a run started in parallel would remove a killed run's leftovers
//! before the test could see `gc` do it).

mod common;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::*;

/// Start an upgrade rehearsal and wait until dpkg is at work inside the host.
fn upgrade_in_progress(dir: &std::path::Path) -> (Child, String, String) {
    let child = spawn_run("tests/scenarios/interrupt-upgrade.yaml", dir);
    let owner = owner_of(child.id());
    assert!(
        within(Duration::from_secs(10), || watchdog_of(&owner).is_some()),
        "no watchdog for {owner}"
    );
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
    (child, owner, run_id)
}

/// SIGKILL a run's watchdog, then the run: nothing is left to clean up after it.
fn kill_with_watchdog(child: &mut Child, owner: &str) {
    let watchdog = watchdog_of(owner).expect("a watchdog");
    let status = Command::new("kill")
        .args(["-KILL", &watchdog.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    signal(child, "KILL");
    let _ = child.wait();
}

#[test]
fn interrupted_and_killed_upgrades_leave_nothing_and_spare_a_concurrent_run() {
    if !engine_alone() {
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
    assert_eq!(survivor_resources.len(), 3, "{survivor_resources:?}");

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

    // SIGKILL mid-upgrade: the tool cannot clean up; its watchdog does, within 10 s,
    // without `gc`, and leaves the survivor alone.
    let (mut child, owner, run_id) = upgrade_in_progress(&tmp.path().join("sigkill"));
    assert!(!leftovers(&run_id).is_empty());
    signal(&child, "KILL");
    let _ = child.wait();
    let killed = Instant::now();
    assert!(
        within(Duration::from_secs(10), || leftovers(&run_id).is_empty()),
        "10 s after SIGKILL the run still has {:?}",
        leftovers(&run_id)
    );
    eprintln!("the watchdog cleaned up in {:?}", killed.elapsed());
    assert!(within(Duration::from_secs(5), || watchdog_of(&owner).is_none()));
    assert_eq!(leftovers(&survivor_run), survivor_resources);

    // The run and its watchdog killed at once (the whole machine's processes, say):
    // `rehearse gc` removes what is left, and leaves the survivor alone because its
    // process is alive.
    let (mut child, owner, run_id) = upgrade_in_progress(&tmp.path().join("sigkill-2"));
    kill_with_watchdog(&mut child, &owner);
    let left = leftovers(&run_id);
    assert_eq!(left.len(), 3, "a container, a network, a cgroup: {left:?}");
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
    let (mut child, owner, run_id) = upgrade_in_progress(&tmp.path().join("sigkill-3"));
    kill_with_watchdog(&mut child, &owner);
    assert_eq!(leftovers(&run_id).len(), 3);
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
