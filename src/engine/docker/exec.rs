//! Running a command in a container without a terminal and collecting its output,
//! handing out each line as it comes; and stopping it inside the container when it
//! runs out of time.
//!
//! The engine has no call that stops an exec: dropping its stream leaves the command
//! running (an `apt-get` that timed out would go on under the next step). So every
//! command gets a variable of its own, `REHEARSE_EXEC=<token>`, which every process it
//! starts inherits; a command that times out, or whose caller gives up on it (a step's
//! own timeout), is stopped by killing every process of the container carrying that
//! token: SIGTERM, then SIGKILL a second later for what is left. What it handed to
//! systemd (a service it started) is not its own and keeps running, as on a real host.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures_util::StreamExt;

use super::call::within;
use super::{CALL_TIMEOUT, DockerEngine};
use crate::engine::{EngineError, ExecOutput};

pub(super) async fn streaming(
    engine: &DockerEngine,
    id: &str,
    argv: &[String],
    env: &[(String, String)],
    timeout: Duration,
    on_line: &mut (dyn FnMut(&str) + Send),
) -> Result<ExecOutput, EngineError> {
    let token = new_token();
    let mut env = engine.env_for(id, env);
    env.push((TOKEN_VARIABLE.to_string(), token.clone()));
    run(engine, id, argv, &env, timeout, on_line, Some(token)).await
}

/// Run `argv` in container `id`; when `token` is given it marks the command, which is
/// stopped if it does not finish.
async fn run(
    engine: &DockerEngine,
    id: &str,
    argv: &[String],
    env: &[(String, String)],
    timeout: Duration,
    on_line: &mut (dyn FnMut(&str) + Send),
    token: Option<String>,
) -> Result<ExecOutput, EngineError> {
    let object = argv.join(" ");
    let config = ExecConfig {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        // No stdin: a command that would prompt reads end-of-file instead of hanging.
        attach_stdin: Some(false),
        env: (!env.is_empty()).then(|| env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        cmd: Some(argv.to_vec()),
        ..Default::default()
    };
    let created = within(
        "create exec",
        id,
        CALL_TIMEOUT,
        engine.docker.create_exec(id, config),
    )
    .await?;
    // From here on, a marked command that does not finish is stopped.
    let mut guard = token.map(|token| Unfinished {
        engine: engine.clone(),
        container: id.to_string(),
        token,
        finished: false,
    });
    let collect = async {
        let started = engine
            .docker
            .start_exec(
                &created.id,
                Some(StartExecOptions {
                    detach: false,
                    tty: false,
                    output_capacity: None,
                }),
            )
            .await?;
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let mut pending = String::new();
        if let StartExecResults::Attached { mut output, .. } = started {
            while let Some(chunk) = output.next().await {
                let message = match chunk? {
                    bollard::container::LogOutput::StdOut { message }
                    | bollard::container::LogOutput::Console { message } => {
                        stdout.extend_from_slice(&message);
                        message
                    }
                    bollard::container::LogOutput::StdErr { message } => {
                        stderr.extend_from_slice(&message);
                        message
                    }
                    bollard::container::LogOutput::StdIn { .. } => continue,
                };
                // Chunks split lines anywhere: hand out whole lines only.
                pending.push_str(&String::from_utf8_lossy(&message));
                while let Some(pos) = pending.find('\n') {
                    let line: String = pending.drain(..=pos).collect();
                    on_line(line.trim_end_matches(['\n', '\r']));
                }
            }
        }
        if !pending.is_empty() {
            on_line(&pending);
        }
        Ok::<_, bollard::errors::Error>((stdout, stderr))
    };
    let collected = within("exec", &object, timeout, collect).await;
    let (stdout, stderr) = match (collected, guard.as_mut()) {
        (Ok(output), guard) => {
            if let Some(guard) = guard {
                guard.finished = true;
            }
            output
        }
        (Err(e), Some(guard)) => {
            guard.finished = true;
            stop(engine, id, &guard.token).await;
            return Err(e);
        }
        (Err(e), None) => return Err(e),
    };
    let inspected = within(
        "inspect exec",
        &object,
        CALL_TIMEOUT,
        engine.docker.inspect_exec(&created.id),
    )
    .await?;
    Ok(ExecOutput {
        exit_code: inspected.exit_code.unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// The variable that marks every process of one command.
const TOKEN_VARIABLE: &str = "REHEARSE_EXEC";
/// How long stopping a command may take.
const STOP_LIMIT: Duration = Duration::from_secs(15);

/// Kill every process of the container whose environment holds `REHEARSE_EXEC=$1`
/// (itself aside): SIGTERM, then SIGKILL while any is left.
const STOP_SCRIPT: &str = r#"t="REHEARSE_EXEC=$1"
for sig in TERM KILL KILL KILL; do
  found=
  for e in /proc/[0-9]*/environ; do
    p=${e#/proc/}; p=${p%/environ}
    [ "$p" = "$$" ] && continue
    if tr '\0' '\n' < "$e" 2>/dev/null | grep -qxF "$t"; then kill -$sig "$p" 2>/dev/null; found=1; fi
  done
  [ -z "$found" ] && exit 0
  sleep 1
done
exit 1"#;

fn new_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}-{}-{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Stop the command marked `token` in container `id` (best effort: a container that
/// is gone has nothing left to stop).
pub(super) async fn stop(engine: &DockerEngine, id: &str, token: &str) {
    // Unmarked, or it would kill itself.
    let argv = ["sh", "-c", STOP_SCRIPT, "sh", token].map(String::from);
    let _ = Box::pin(run(engine, id, &argv, &[], STOP_LIMIT, &mut |_| {}, None)).await;
}

/// A command whose caller may give up on it (drop the future): the command is then
/// stopped in the background, and [`settle`] waits for that before anyone reports.
struct Unfinished {
    engine: DockerEngine,
    container: String,
    token: String,
    finished: bool,
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (engine, container, token) = (
            self.engine.clone(),
            std::mem::take(&mut self.container),
            std::mem::take(&mut self.token),
        );
        in_background(&runtime, &engine.clone(), async move {
            stop(&engine, &container, &token).await
        });
    }
}

/// Run `work` (cleanup whose caller gave up on it) on `runtime`; [`settle`] waits for it.
pub(super) fn in_background(
    runtime: &tokio::runtime::Handle,
    engine: &DockerEngine,
    work: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let task = runtime.spawn(work);
    engine
        .stopping
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(task);
}

/// Wait until every command given up on has been stopped.
pub(super) async fn settle(engine: &DockerEngine) {
    loop {
        let tasks: Vec<_> =
            std::mem::take(&mut *engine.stopping.lock().unwrap_or_else(|e| e.into_inner()));
        if tasks.is_empty() {
            return;
        }
        for task in tasks {
            let _ = task.await;
        }
    }
}
