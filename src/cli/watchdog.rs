//! The watchdog: a second `rehearse` process (the same binary, in a hidden mode) that
//! outlives the one running the rehearsal and removes what its runs created when that
//! process ends without cleaning up — killed with SIGKILL (the OOM killer, a cancelled
//! CI job), crashed, or gone with its terminal. testcontainers' reaper (Ryuk) gives the
//! same guarantee from a container; this one needs no image.
//!
//! The two are tied by a pipe: the watchdog reads its standard input, whose other end
//! only the rehearsal's process holds. The kernel closes that end however the process
//! ends, so the watchdog sees end-of-file at once. A process that ends normally writes
//! `done` first (its runs cleaned up after themselves) and waits for the watchdog to
//! leave. The watchdog has a process group of its own, so a Ctrl-C or a signal sent to
//! the terminal's group does not take it along, and it ignores SIGINT, SIGTERM and
//! SIGHUP; it removes only resources labelled with its process's owner string
//! (`rehearse.owner`, see [`crate::owner`]), never those kept with `--keep`.

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};

use tokio::io::AsyncReadExt;

use super::EngineChoice;

/// The hidden command line of the watchdog.
pub const COMMAND: &str = "__watchdog";
/// What a process that ended normally writes to its watchdog.
const DONE: &[u8] = b"done\n";

/// A running watchdog of this process; told "done" and waited for when dropped.
#[derive(Debug)]
pub struct Watchdog {
    child: Child,
    pipe: Option<ChildStdin>,
}

/// Start the watchdog of this process for resources made through `engine`. `None`
/// (with a warning) when it cannot start: the run goes on, as before it existed.
pub fn start(engine: &EngineChoice) -> Option<Watchdog> {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            errln!(
                "warning: cannot start the watchdog that cleans up if this process is killed: {e}"
            );
            return None;
        }
    };
    let mut command = Command::new(exe);
    command
        .args([COMMAND, "--owner", &crate::owner::current()])
        .args(["--docker-host", &engine.endpoint.url()]);
    if matches!(
        engine.endpoint,
        crate::engine::Endpoint::Tcp { tls: Some(_), .. }
    ) {
        command.arg("--tls-verify");
    }
    use std::os::unix::process::CommandExt;
    let spawned = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn();
    match spawned {
        Ok(mut child) => {
            let pipe = child.stdin.take();
            Some(Watchdog { child, pipe })
        }
        Err(e) => {
            errln!(
                "warning: cannot start the watchdog that cleans up if this process is killed: {e}"
            );
            None
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Unwinding from a panic, the runs did not clean up: closing the pipe without a
        // word lets the watchdog do it, on its own time.
        if std::thread::panicking() {
            drop(self.pipe.take());
            return;
        }
        if let Some(mut pipe) = self.pipe.take() {
            let _ = pipe.write_all(DONE);
        }
        let _ = self.child.wait();
    }
}

/// The watchdog's own life: wait for its process to end; clean up after it unless it
/// said it was done. Returns the exit code.
pub async fn serve(owner: &str, engine: &EngineChoice) -> i32 {
    use tokio::signal::unix::{SignalKind, signal};
    // Handled, these no longer end the process; kept alive until it returns.
    let _ignored: Vec<_> = [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
    ]
    .into_iter()
    .filter_map(|kind| signal(kind).ok())
    .collect();
    let mut said = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut said).await;
    if said.ends_with(DONE) {
        return crate::exit_code::GO;
    }
    let engine = match super::connect(engine).await {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    match crate::gc::collect_owned(&engine, owner).await {
        Ok(summary) if summary.removed.is_empty() => crate::exit_code::GO,
        Ok(summary) => {
            errln!(
                "rehearse: the process running {} ended without cleaning up; its watchdog removed {} resource(s){}",
                summary.dead_runs.join(", "),
                summary.removed.len(),
                if summary.errors.is_empty() {
                    String::new()
                } else {
                    format!(" but not: {}", summary.errors.join("; "))
                }
            );
            crate::exit_code::GO
        }
        Err(e) => {
            errln!(
                "rehearse: the watchdog could not clean up after its process: {e}; run `rehearse gc`"
            );
            crate::exit_code::ENVIRONMENT
        }
    }
}
