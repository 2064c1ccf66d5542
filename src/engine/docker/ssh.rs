//! The ssh transport to a remote engine: the `ssh` command line, one login checked
//! before the first call, the machine an ssh alias names, and the bollard client whose
//! every connection is `ssh HOST docker system dial-stdio` (the connector itself is
//! [`super::ssh_dial`]).

use bollard::Docker;

use super::ssh_dial;
use super::{CALL_TIMEOUT, LONG_CALL_TIMEOUT};
use crate::engine::Endpoint;

/// The `ssh` command (program first) that reaches the engine's machine, then runs
/// `remote` there: never a password prompt (the command has no terminal), a bounded
/// connect, no pseudo-terminal.
pub(super) fn ssh_argv(endpoint: &Endpoint, remote: &[&str]) -> Vec<String> {
    let Endpoint::Ssh {
        user,
        host,
        port,
        command,
    } = endpoint
    else {
        return Vec::new();
    };
    let mut argv = command.clone();
    argv.extend(
        [
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=30",
            "-o",
            "ServerAliveInterval=30",
            "-T",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    if let Some(user) = user {
        argv.extend(["-l".to_string(), user.clone()]);
    }
    if let Some(port) = port {
        argv.extend(["-p".to_string(), port.to_string()]);
    }
    // `--`: a host name can never be read as an option.
    argv.extend(["--".to_string(), host.clone()]);
    argv.extend(remote.iter().map(|s| s.to_string()));
    argv
}

/// The remote command of each ssh connection: the docker CLI's own relay between its
/// standard input and output and the engine's socket there.
const DIAL_STDIO: [&str; 3] = ["docker", "system", "dial-stdio"];

/// One ssh login before anything else, so that a refused key or a missing `docker`
/// says so in ssh's words instead of as a closed connection.
pub(super) async fn ssh_preflight(argv: &[String]) -> Result<(), String> {
    let mut command = tokio::process::Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .args(["docker", "version", "--format", "{{.Server.Version}}"])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(CALL_TIMEOUT, command.output()).await {
        Err(_) => return Err("ssh gave no answer within 60s".into()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("`{}` is not installed on this machine", argv[0]));
        }
        Ok(Err(e)) => return Err(format!("cannot run `{}`: {e}", argv[0])),
        Ok(Ok(output)) => output,
    };
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    Err(format!(
        "`ssh … docker version` exited with {}: {}",
        output.status.code().unwrap_or(-1),
        last.trim()
    ))
}

/// The name ssh really connects to (`HostName` of an alias in `~/.ssh/config`), else
/// the name as given.
pub(super) async fn ssh_hostname(endpoint: &Endpoint) -> String {
    let Endpoint::Ssh { host, command, .. } = endpoint else {
        return String::new();
    };
    let output = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .args(["-G", "--", host])
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    output
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("hostname ").map(str::to_string))
        })
        .unwrap_or_else(|| host.clone())
}

/// A client whose every connection is a fresh `ssh HOST docker system dial-stdio`
/// (pooled and kept alive like any HTTP connection, so not one login per call).
pub(super) fn ssh_transport(argv: Vec<String>) -> Result<Docker, bollard::errors::Error> {
    let mut argv = argv;
    argv.extend(DIAL_STDIO.iter().map(|s| s.to_string()));
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(ssh_dial::SshDial::new(argv));
    let client = std::sync::Arc::new(client);
    Docker::connect_with_custom_transport(
        move |request: bollard::BollardRequest| {
            let client = std::sync::Arc::clone(&client);
            async move {
                client
                    .request(request)
                    .await
                    .map_err(bollard::errors::Error::from)
            }
        },
        // Requests need an authority; the connector ignores it.
        Some("http://docker.ssh"),
        LONG_CALL_TIMEOUT.as_secs(),
        bollard::API_DEFAULT_VERSION,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn ssh_never_prompts_and_takes_the_host_after_the_options() {
        let endpoint = crate::engine::Endpoint::parse("ssh://me@build-box:2222", None).unwrap();
        assert_eq!(
            super::ssh_argv(&endpoint, &super::DIAL_STDIO).join(" "),
            "ssh -o BatchMode=yes -o ConnectTimeout=30 -o ServerAliveInterval=30 -T -l me -p 2222 -- build-box docker system dial-stdio"
        );
    }
}
