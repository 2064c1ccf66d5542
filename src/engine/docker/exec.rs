//! Running a command in a container without a terminal and collecting its output,
//! handing out each line as it comes.

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
    let object = argv.join(" ");
    let env = engine.env_for(id, env);
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
    let (stdout, stderr) = within("exec", &object, timeout, collect).await?;
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
