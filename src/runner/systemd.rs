//! Waiting for a host's systemd to finish booting, after a start or a reboot.

use std::time::{Duration, Instant};

use crate::engine::{Engine, EngineError};

/// How a finished boot went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootState {
    Running,
    /// Booted, but some units failed: a finding, not a hang.
    Degraded {
        failed_units: String,
    },
}

/// Why a host did not finish booting.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// systemd answered `maintenance` or `stopping`.
    #[error("systemd reports the system is {state}")]
    Stopping { state: String },
    /// The engine itself stopped answering.
    #[error(transparent)]
    Engine(EngineError),
    #[error(
        "the container stopped (status {status}, exit code {}{})",
        exit_code.unwrap_or(-1),
        if *oom_killed { ", killed for lack of memory" } else { "" }
    )]
    ContainerStopped {
        status: String,
        exit_code: Option<i64>,
        oom_killed: bool,
    },
    /// `last`: systemd's last answer, or the engine's last error.
    #[error(
        "systemd did not finish booting within {}: {last}",
        humantime::format_duration(*deadline)
    )]
    Timeout { deadline: Duration, last: String },
}

/// Wait until `systemctl is-system-running --wait` gives a final answer.
///
/// Right after a (re)start systemd's bus is not up yet and `systemctl` answers
/// "Failed to connect to bus": that means "ask again", not "failed".
pub async fn wait_booted<E: Engine>(
    engine: &E,
    container_id: &str,
    deadline: Duration,
) -> Result<BootState, BootError> {
    let started = Instant::now();
    let argv = ["systemctl", "is-system-running", "--wait"].map(String::from);
    let mut last = String::from("no answer from systemctl");
    while started.elapsed() < deadline {
        let remaining = deadline.saturating_sub(started.elapsed());
        match engine.exec(container_id, &argv, remaining).await {
            Ok(output) => {
                let state = output.stdout.trim().to_string();
                match state.as_str() {
                    "running" => return Ok(BootState::Running),
                    "degraded" => {
                        let failed = failed_units(engine, container_id).await;
                        return Ok(BootState::Degraded {
                            failed_units: failed,
                        });
                    }
                    // "offline" shows up while PID 1 is still starting: ask again.
                    "maintenance" | "stopping" => {
                        return Err(BootError::Stopping { state });
                    }
                    _ => {
                        last = format!("{} {}", state, output.stderr.trim())
                            .trim()
                            .to_string()
                    }
                }
            }
            Err(e) if e.is_connection() => return Err(BootError::Engine(e)),
            Err(e) => {
                last = e.to_string();
                if let Ok(state) = engine.container_state(container_id).await
                    && !state.running
                {
                    return Err(BootError::ContainerStopped {
                        status: state.status,
                        exit_code: state.exit_code,
                        oom_killed: state.oom_killed,
                    });
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(BootError::Timeout { deadline, last })
}

async fn failed_units<E: Engine>(engine: &E, container_id: &str) -> String {
    let argv = [
        "systemctl",
        "--failed",
        "--no-legend",
        "--plain",
        "--no-pager",
    ]
    .map(String::from);
    match engine
        .exec(container_id, &argv, Duration::from_secs(30))
        .await
    {
        Ok(output) => output.stdout.trim().to_string(),
        Err(e) => format!("(cannot list failed units: {e})"),
    }
}
