//! `rehearse shell`: a command in a container attached to the input, output and error
//! streams the caller hands over (the CLI's own), with a TTY that follows the sizes the
//! caller reports, or with plain pipes. The engine never touches the terminal itself.

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures_util::StreamExt;

use super::call::{call_err, within};
use super::{CALL_TIMEOUT, DockerEngine};
use crate::engine::EngineError;

/// The terminal an attached command runs in: with a TTY (an interactive shell) or
/// with plain pipes (a script fed on standard input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    /// A pseudo-terminal of this many columns and rows.
    Tty {
        columns: u16,
        rows: u16,
    },
    Pipes,
}

/// The streams an attached command is connected to, and the terminal's new sizes.
pub struct AttachedIo {
    pub input: Box<dyn tokio::io::AsyncRead + Send + Unpin>,
    pub output: Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
    pub error: Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
    /// (columns, rows) each time the caller's terminal is resized; the container's
    /// TTY follows.
    pub resizes: Option<tokio::sync::mpsc::UnboundedReceiver<(u16, u16)>>,
}

impl std::fmt::Debug for AttachedIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachedIo").finish_non_exhaustive()
    }
}

impl DockerEngine {
    /// Run a command in a container attached to `io` (`docker exec -i`, with `-t` for
    /// [`Terminal::Tty`]) until it ends, and return its exit code. End of input closes
    /// the command's input. With a TTY the container's terminal follows the sizes sent
    /// on `io.resizes`; the caller puts its terminal in raw mode.
    pub async fn exec_attached(
        &self,
        id: &str,
        argv: &[String],
        terminal: Terminal,
        io: AttachedIo,
    ) -> Result<i64, EngineError> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let object = argv.join(" ");
        let tty = matches!(terminal, Terminal::Tty { .. });
        let config = ExecConfig {
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(tty),
            env: Some(
                self.env_for(id, &[])
                    .into_iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .chain(tty.then(|| "TERM=xterm-256color".to_string()))
                    .collect(),
            ),
            cmd: Some(argv.to_vec()),
            ..Default::default()
        };
        let created = within(
            "create exec",
            id,
            CALL_TIMEOUT,
            self.docker.create_exec(id, config),
        )
        .await?;
        let started = within(
            "start exec",
            &object,
            CALL_TIMEOUT,
            self.docker.start_exec(
                &created.id,
                Some(StartExecOptions {
                    detach: false,
                    tty,
                    output_capacity: None,
                }),
            ),
        )
        .await?;
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = started
        else {
            return Err(EngineError::Other(format!(
                "the engine did not attach to `{object}`"
            )));
        };
        let mut resizer = None;
        if let Terminal::Tty { columns, rows } = terminal {
            if columns > 0 && rows > 0 {
                self.resize_exec(&created.id, columns, rows).await;
            }
            // The container's terminal follows the caller's when it is resized.
            if let Some(mut resizes) = io.resizes {
                let engine = self.clone();
                let exec_id = created.id.clone();
                resizer = Some(tokio::spawn(async move {
                    while let Some((columns, rows)) = resizes.recv().await {
                        if columns > 0 && rows > 0 {
                            engine.resize_exec(&exec_id, columns, rows).await;
                        }
                    }
                }));
            }
        }
        let mut stdin = io.input;
        let feeder = tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            loop {
                match stdin.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if input.write_all(&buf[..n]).await.is_err() || input.flush().await.is_err()
                        {
                            return;
                        }
                    }
                }
            }
            // End of input: the command reads end-of-file.
            let _ = input.shutdown().await;
        });
        let (mut stdout, mut stderr) = (io.output, io.error);
        let mut failure = None;
        while let Some(chunk) = output.next().await {
            let written = match chunk {
                Ok(
                    bollard::container::LogOutput::StdOut { message }
                    | bollard::container::LogOutput::Console { message },
                ) => {
                    async {
                        stdout.write_all(&message).await?;
                        stdout.flush().await
                    }
                    .await
                }
                Ok(bollard::container::LogOutput::StdErr { message }) => {
                    async {
                        stderr.write_all(&message).await?;
                        stderr.flush().await
                    }
                    .await
                }
                Ok(bollard::container::LogOutput::StdIn { .. }) => Ok(()),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            // Our own output closed (a pipe to `head`, say): nothing more to show.
            if written.is_err() {
                break;
            }
        }
        feeder.abort();
        if let Some(resizer) = resizer {
            resizer.abort();
        }
        if let Some(e) = failure {
            return Err(call_err("exec", &object)(e));
        }
        let inspected = within(
            "inspect exec",
            &object,
            CALL_TIMEOUT,
            self.docker.inspect_exec(&created.id),
        )
        .await?;
        Ok(inspected.exit_code.unwrap_or(-1))
    }

    /// Best effort: a terminal of the wrong size is an annoyance, not a failure.
    async fn resize_exec(&self, exec_id: &str, columns: u16, rows: u16) {
        let _ = self
            .docker
            .resize_exec(
                exec_id,
                bollard::exec::ResizeExecOptions {
                    height: rows,
                    width: columns,
                },
            )
            .await;
    }
}
