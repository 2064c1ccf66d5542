//! An engine that goes away in the middle of a run. The run talks to the Docker engine
//! through a socket relay of this test's own (`DOCKER_HOST=unix://<relay>`); the relay
//! is shut down while a step runs — the listener closed and every connection cut, as
//! when dockerd crashes — and the run must end at once with exit 3 and a message
//! saying the engine is gone: not a panic, not a hang, not a NO-GO blamed on the stack.

mod common;

use std::io::Read;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// Relays a Unix socket to the real engine's until cut.
struct Relay {
    path: std::path::PathBuf,
    streams: Arc<Mutex<Vec<UnixStream>>>,
    _dir: tempfile::TempDir,
}

impl Relay {
    fn start(engine: &str) -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let streams: Arc<Mutex<Vec<UnixStream>>> = Arc::default();
        let engine = engine.to_string();
        let kept = Arc::clone(&streams);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let Ok(server) = UnixStream::connect(&engine) else {
                    break;
                };
                let mut all = kept.lock().unwrap();
                all.push(client.try_clone().unwrap());
                all.push(server.try_clone().unwrap());
                drop(all);
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Relay {
            path,
            streams,
            _dir: dir,
        }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// The engine is gone: nothing listens any more, every connection is cut.
    fn cut(&self) {
        std::fs::remove_file(&self.path).unwrap();
        for stream in self.streams.lock().unwrap().iter() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

fn pipe(mut from: UnixStream, mut to: UnixStream) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buffer) {
            if n == 0 || std::io::Write::write_all(&mut to, &buffer[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

/// The real engine's socket, from `DOCKER_HOST` or the default.
fn engine_socket() -> String {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if host.starts_with("unix://") => host["unix://".len()..].to_string(),
        _ => "/var/run/docker.sock".to_string(),
    }
}

#[test]
fn an_engine_gone_mid_step_ends_the_run_with_exit_3() {
    if !engine_alone() {
        return;
    }
    images_ready();
    let relay = Relay::start(&engine_socket());
    let dir = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args(["run", "tests/scenarios/interrupt-me.yaml", "--report-dir"])
        .arg(dir.path())
        .current_dir(root())
        .env("DOCKER_HOST", relay.host())
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Cut when the step's command runs in the host.
    let owner = owner_of(run.id());
    let started = Instant::now();
    let (container, run_id) = loop {
        let ps = Command::new("docker")
            .args([
                "ps",
                "--format",
                "{{.ID}} {{.Label \"rehearse.run\"}}",
                "--filter",
            ])
            .arg(format!("label=rehearse.owner={owner}"))
            .output()
            .unwrap();
        let line = text(&ps.stdout).trim().to_string();
        if let Some((container, run_id)) = line.split_once(' ') {
            let busy = Command::new("docker")
                .args(["exec", container, "pgrep", "-x", "sleep"])
                .output()
                .is_ok_and(|o| o.status.success());
            if busy {
                break (container.to_string(), run_id.to_string());
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the run never started its step"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    relay.cut();
    let cut = Instant::now();
    let output = run.wait_with_output().unwrap();
    let noticed = cut.elapsed();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(
            "error: cannot reach the Docker engine (it stopped answering during step `long work`"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("the engine is gone: 2 resources of this run could not be removed; run `rehearse gc` once it is back"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The step's command had two minutes to go: the run did not wait for it.
    assert!(
        noticed < Duration::from_secs(60),
        "noticed after {noticed:?}"
    );
    // The engine is back (it never left): `gc` removes what the run could not.
    assert_eq!(
        leftovers(&run_id).len(),
        3,
        "{container}, its network and its cgroup parent"
    );
    let gc = rehearse(&["gc"]);
    assert!(gc.status.success(), "{}", text(&gc.stderr));
    assert_eq!(leftovers(&run_id), Vec::<String>::new());
}
