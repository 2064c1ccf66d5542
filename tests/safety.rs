//! A replica cannot touch the machine it runs on (issue 19): its cgroups are its own,
//! a command that times out is stopped inside it, its published ports listen only
//! where asked, and nothing outlives the run even when `rehearse` does not.

mod common;

use common::*;

#[test]
fn a_replica_writes_only_its_own_cgroups_and_its_systemd_still_works() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/cgroup-confined.yaml", &[]);
    assert_eq!(run.code, 0, "{run}");
    for name in [
        "the root cgroup refuses a process",
        "the sibling's limit cannot be changed",
        "other containers' cgroups cannot be changed",
        "a unit with MemoryMax= gets its limit",
        "after the reboot",
    ] {
        assert_eq!(step(&run.report, name)["status"], "passed", "{name}");
    }
    // This machine's engine confines replicas: nothing to warn about.
    assert!(run.report["environment"].get("cgroup_risk").is_none());
    assert!(!run.stderr.contains("whole cgroup tree"), "{}", run.stderr);
    assert_clean(&run);
}

#[test]
fn a_command_that_times_out_is_stopped_inside_the_replica() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/timeout-stops.yaml", &[]);
    let report = &run.report;
    let timed_out = step(report, "a step that times out");
    assert_eq!(timed_out["status"], "failed", "{}", run.stdout);
    assert!(
        timed_out["detail"]
            .as_str()
            .is_some_and(|d| d.contains("timed out after 2s")),
        "{timed_out}"
    );
    assert_eq!(step(report, "a probe that times out")["status"], "failed");
    assert_eq!(
        step(report, "no sleep is left")["status"],
        "passed",
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(run.code, 0, "{run}");
    assert_clean(&run);
}

#[test]
fn published_ports_listen_on_loopback_unless_told_otherwise() {
    if !docker_available() {
        return;
    }
    let run = run_scenario(
        "tests/scenarios/remote-static-site.yaml",
        &["--publish-ports", "--keep", "--no-checkpoints"],
    );
    let run_id = run.report["run_id"].as_str().unwrap().to_string();
    let ports = std::process::Command::new("docker")
        .args([
            "ps",
            "--filter",
            &format!("label=rehearse.run={run_id}"),
            "--format",
            "{{.Ports}}",
        ])
        .output()
        .unwrap();
    let ports = text(&ports.stdout);
    // The kept replica, removed by its run id (`rehearse gc` would also remove what
    // other tests' runs keep).
    drop(Cleanup {
        run_ids: vec![run_id.clone()],
        recipe: None,
    });
    assert_eq!(run.code, 0, "{run}");
    assert!(ports.contains("127.0.0.1:"), "{ports}");
    assert!(!ports.contains("0.0.0.0"), "{ports}");
    assert!(
        run.stderr
            .contains("the hosts are probed through the ports the engine at `unix:///var/run/docker.sock` publishes on 127.0.0.1"),
        "{}",
        run.stderr
    );
    assert_clean(&run);
}

#[test]
fn a_run_killed_while_provisioning_leaves_nothing_and_a_normal_run_no_watchdog() {
    if !engine_alone() {
        return;
    }
    images_ready();
    let tmp = tempfile::tempdir().unwrap();
    // Two hosts: killed when the first container exists, before the run is up.
    let mut child = spawn_run("tests/scenarios/cgroup-confined.yaml", tmp.path());
    let owner = owner_of(child.id());
    let container = container_of(&owner, std::time::Duration::from_secs(120));
    let run_id = run_id_of(&container);
    let status = std::process::Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = child.wait();
    assert!(
        within(std::time::Duration::from_secs(10), || leftovers(&run_id)
            .is_empty()),
        "10 s after SIGKILL the run still has {:?}",
        leftovers(&run_id)
    );
    assert!(within(std::time::Duration::from_secs(5), || watchdog_of(
        &owner
    )
    .is_none()));

    // What a run killed together with its watchdog would leave on a cgroup v1 engine,
    // an empty cgroup parent, `rehearse gc` sweeps. (Here, not in a test of its own:
    // a `gc` running beside the watchdog above would race it.)
    let parent = std::path::Path::new("/sys/fs/cgroup/memory/docker/rehearse/rh-gc-sweep-test-web");
    if std::path::Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists()
        && std::fs::create_dir_all(parent).is_ok()
    {
        // Left over for a while (what gc sweeps is at least a minute old).
        backdate(parent);
        // But not the parent of a replica that still exists: one stopped, or between
        // the two halves of a reboot, has an empty parent its next start needs. Nor a
        // helper a live process is about to start. Nor a parent just made: a container
        // created after gc listed them (a rollback creates a host again under its name)
        // has an empty one until it starts.
        let fresh = std::path::Path::new("/sys/fs/cgroup/memory/docker/rehearse")
            .join(format!("rh-gc-fresh-{}", std::process::id()));
        std::fs::create_dir_all(&fresh).unwrap();
        let name = format!("rh-gc-spares-{}", std::process::id());
        // A recipe's image, not the newest labelled one: that may be another test's
        // checkpoint, which goes when its run ends.
        let image = docker(&["images", "-q", "rehearse/static-site"]);
        let image = image.lines().next().expect("a test image").to_string();
        let stopped = docker(&[
            "create",
            "--name",
            &name,
            "--label",
            "rehearse.gc-test=1",
            "--cgroup-parent",
            &format!("/docker/rehearse/{name}"),
            &image,
            "true",
        ]);
        docker(&["start", "-a", &stopped]);
        let stopped_parent =
            std::path::Path::new("/sys/fs/cgroup/memory/docker/rehearse").join(&name);
        assert!(
            stopped_parent.exists(),
            "the engine made no {}",
            stopped_parent.display()
        );
        let helper = docker(&[
            "create",
            "--label",
            "rehearse.helper=cgroups",
            "--label",
            &format!("rehearse.owner={}", owner_of(std::process::id())),
            &image,
            "true",
        ]);

        let output = rehearse(&["gc"]);
        let helper_left = !docker(&["ps", "-aq", "--filter", &format!("id={helper}")]).is_empty();
        let stopped_parent_left = stopped_parent.exists();
        let fresh_left = fresh.exists();
        let _ = std::fs::remove_dir(&fresh);
        docker(&["rm", "-f", &stopped, &helper]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert!(!parent.exists(), "gc left {}", parent.display());
        assert!(
            stopped_parent_left,
            "gc removed the cgroup parent of existing {name}"
        );
        assert!(
            helper_left,
            "gc removed a helper its live owner had just created"
        );
        assert!(fresh_left, "gc removed {}, made just now", fresh.display());

        // Once that container is gone, its parent goes at the next gc.
        backdate(&stopped_parent);
        let output = rehearse(&["gc"]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert!(
            !stopped_parent.exists(),
            "gc left {}",
            stopped_parent.display()
        );

        // The image gc starts its helper from may go between gc listing the images and
        // creating the helper: a run that ends removes its checkpoints, another `gc
        // --images` the cached images. gc then uses another one.
        let vanishing = format!("rehearse-gc-race-test:{}", std::process::id());
        let built = std::process::Command::new("docker")
            .args(["build", "-q", "-t", &vanishing, "-"])
            .env("DOCKER_BUILDKIT", "0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut build| {
                use std::io::Write;
                let dockerfile = format!("FROM {image}\nLABEL rehearse.gc-race-test=1\n");
                build
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(dockerfile.as_bytes())?;
                build.wait_with_output()
            })
            .unwrap();
        assert!(built.status.success(), "cannot build {vanishing}");
        let vanishing_id = docker(&["image", "inspect", "--format", "{{.Id}}", &vanishing]);
        let socket_dir = tempfile::tempdir().unwrap();
        let (socket, removed) = engine_that_loses(socket_dir.path(), &vanishing_id);
        std::fs::create_dir_all(parent).unwrap();
        backdate(parent);
        let output = rehearse_with_env(
            &["gc"],
            &[("DOCKER_HOST", &format!("unix://{}", socket.display()))],
        );
        let still_there = std::process::Command::new("docker")
            .args(["image", "inspect", &vanishing_id])
            .output()
            .unwrap()
            .status
            .success();
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &vanishing])
            .output();
        assert!(
            removed.load(std::sync::atomic::Ordering::SeqCst) && !still_there,
            "gc did not start its helper from the newest cached image, {vanishing}: \
             the test removed nothing\n{}",
            text(&output.stderr)
        );
        assert!(
            output.status.success(),
            "gc failed when the image it listed was gone\n{}",
            text(&output.stderr)
        );
        assert!(
            !parent.exists(),
            "gc left {} when the image it listed was gone",
            parent.display()
        );
    }

    // A run that ends normally leaves no watchdog behind.
    let child = spawn_run("tests/scenarios/timeout-stops.yaml", &tmp.path().join("b"));
    let owner = owner_of(child.id());
    assert!(within(std::time::Duration::from_secs(10), || watchdog_of(
        &owner
    )
    .is_some()));
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(watchdog_of(&owner), None);
}

/// A socket in front of the engine's that, just before it forwards the creation of a
/// cgroup helper from image `image`, removes that image: the engine then answers as
/// it does when the image went between gc listing the images and using one. Returns
/// the socket and whether it removed the image.
fn engine_that_loses(
    dir: &std::path::Path,
    image: &str,
) -> (
    std::path::PathBuf,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let socket = dir.join("engine.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let removed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (image, flag) = (image.to_string(), removed.clone());
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let (image, flag) = (image.clone(), flag.clone());
            std::thread::spawn(move || forward_requests(client, &image, &flag));
        }
    });
    (socket, removed)
}

/// Forward one connection's requests to the engine, its answers back untouched.
fn forward_requests(
    client: std::os::unix::net::UnixStream,
    image: &str,
    removed: &std::sync::atomic::AtomicBool,
) {
    use std::io::{BufRead, Read, Write};
    let Ok(mut engine) = std::os::unix::net::UnixStream::connect("/var/run/docker.sock") else {
        return;
    };
    let (Ok(mut answers), Ok(mut back)) = (engine.try_clone(), client.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut answers, &mut back);
        let _ = back.shutdown(std::net::Shutdown::Write);
    });
    let mut requests = std::io::BufReader::new(client);
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = Vec::new();
            match requests.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => head.extend_from_slice(&line),
            }
            if line == b"\r\n" {
                break;
            }
        }
        let lower = String::from_utf8_lossy(&head).to_ascii_lowercase();
        if lower.contains("transfer-encoding: chunked") || lower.contains("upgrade:") {
            // Not a request this test looks into: the rest of the connection as is.
            let _ = engine.write_all(&head);
            let _ = std::io::copy(&mut requests, &mut engine);
            return;
        }
        let length = lower
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if requests.read_exact(&mut body).is_err() {
            return;
        }
        let body_text = String::from_utf8_lossy(&body);
        if lower.starts_with("post ")
            && lower.contains("/containers/create")
            && body_text.contains("rehearse.helper")
            && body_text.contains(image)
            && !removed.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            // A helper of another test's run may be using it for a moment (every run
            // sweeps): until it is gone. Whether it went, the test asks the engine.
            let started = std::time::Instant::now();
            while started.elapsed() < std::time::Duration::from_secs(30) {
                let removed = std::process::Command::new("docker")
                    .args(["rmi", image])
                    .env_remove("DOCKER_HOST")
                    .output()
                    .is_ok_and(|output| output.status.success());
                if removed {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        }
        if engine.write_all(&head).is_err() || engine.write_all(&body).is_err() {
            return;
        }
    }
}

/// Make a replica's cgroup parent look five minutes old in every hierarchy, as one a
/// killed run left.
fn backdate(parent: &std::path::Path) {
    let name = parent.file_name().unwrap();
    for hierarchy in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let dir = hierarchy.path().join("docker/rehearse").join(name);
        if !dir.is_dir() {
            continue;
        }
        let status = std::process::Command::new("touch")
            .args(["-d", "-5 min"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "cannot backdate {}", dir.display());
    }
}

/// Make a container frozen behind its engine's back run again (what the fixed tool
/// does itself), so that a failing test leaves nothing stuck on this machine.
fn thaw(container: &str) {
    // The engine does not answer about the container: its short id names the cgroup.
    let found = std::process::Command::new("find")
        .args(["/sys/fs/cgroup/freezer", "-type", "d", "-name"])
        .arg(format!("{container}*"))
        .output();
    if let Ok(found) = found {
        for dir in text(&found.stdout).lines() {
            let _ = std::fs::write(format!("{dir}/freezer.state"), "THAWED");
        }
    }
}

#[test]
fn a_docker_exec_racing_a_checkpoint_never_leaves_the_host_frozen() {
    if !docker_available() {
        return;
    }
    images_ready();
    let tmp = tempfile::tempdir().unwrap();
    let scenario = "tests/scenarios/exec-during-checkpoint.yaml";
    remove_checkpoints("exec-during-checkpoint");
    let mut child = spawn_run(scenario, tmp.path());
    let owner = owner_of(child.id());
    let container = container_of(&owner, std::time::Duration::from_secs(180));
    // Admins' `docker exec`s, three at a time, as long as the run lasts.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let execs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let admins: Vec<_> = (0..3)
        .map(|_| {
            let (done, execs, container) = (done.clone(), execs.clone(), container.clone());
            std::thread::spawn(move || {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::process::Command::new("timeout")
                        .args(["20", "docker", "exec", &container, "true"])
                        .output();
                    execs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > std::time::Duration::from_secs(240) {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let paused = std::process::Command::new("timeout")
        .args([
            "10",
            "docker",
            "inspect",
            "-f",
            "{{.State.Paused}}",
            &container,
        ])
        .output()
        .map(|o| text(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if status.is_none() {
        // Stuck: free the container from here, so the machine is usable again.
        thaw(&container);
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for admin in admins {
        admin.join().unwrap();
    }
    let execs = execs.load(std::sync::atomic::Ordering::Relaxed);
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        remove_checkpoints("exec-during-checkpoint");
        panic!("the run hung for 240 s after {execs} execs (host paused: `{paused}`)");
    };
    // The run has exited: what is left of its output is read whole.
    let stderr = text(&child.wait_with_output().unwrap().stderr);
    remove_checkpoints("exec-during-checkpoint");
    assert_eq!(status.code(), Some(0), "{stderr}");
    let report = report(tmp.path());
    for name in ["first", "second", "third", "fourth", "fifth"] {
        let name = format!("snapshot {name}");
        assert_eq!(
            step(&report, &name)["status"],
            "passed",
            "{name}: {report:#}"
        );
    }
    assert_eq!(step(&report, "the host still answers")["status"], "passed");
    let run_id = report["run_id"].as_str().unwrap();
    assert_eq!(leftovers(run_id), Vec::<String>::new());
    let took: Vec<String> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {}ms", s["name"], s["duration_ms"]))
        .collect();
    eprintln!("{execs} execs beside the run: {took:?}");
}
