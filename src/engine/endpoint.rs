//! Where the Docker engine is: a `DOCKER_HOST`-style address (`unix://`, `tcp://` with or
//! without TLS, `ssh://`), read the way the docker CLI reads it, and whether that engine
//! runs on another machine. Pure: files and names are only looked at when connecting
//! (see [`super::DockerEngine::connect`]).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The engine's socket when nothing else is said.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// The docker CLI's ports: plain HTTP, and HTTP over TLS.
const PLAIN_PORT: u16 = 2375;
const TLS_PORT: u16 = 2376;

/// How to reach the Docker engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A socket on this machine (`unix:///var/run/docker.sock`).
    Unix { path: PathBuf },
    /// HTTP over TCP (`tcp://HOST:PORT`), with TLS when `tls` is set.
    Tcp {
        host: String,
        port: u16,
        tls: Option<TlsFiles>,
    },
    /// The engine of another machine through ssh (`ssh://[USER@]HOST[:PORT]`): each
    /// connection is `ssh … docker system dial-stdio`, as the docker CLI does.
    Ssh {
        user: Option<String>,
        host: String,
        port: Option<u16>,
        /// The ssh program and options of its own (`REHEARSE_SSH_COMMAND`, default `ssh`).
        command: Vec<String>,
    },
}

/// The client certificate and the authority the engine's certificate must come from
/// (`DOCKER_CERT_PATH`'s `ca.pem`, `cert.pem`, `key.pem`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    pub fn in_dir(dir: &Path) -> TlsFiles {
        TlsFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }
}

/// What the command line and the environment say about the engine, before checking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointSettings {
    /// `--docker-host`, else `DOCKER_HOST`.
    pub docker_host: Option<String>,
    /// `--tls-verify`, or `DOCKER_TLS_VERIFY` set to anything but empty.
    pub tls_verify: bool,
    /// `DOCKER_CERT_PATH`.
    pub cert_path: Option<PathBuf>,
    /// `HOME`, for the default certificate folder `~/.docker`.
    pub home: Option<PathBuf>,
    /// `REHEARSE_SSH_COMMAND`: the ssh program and options for `ssh://` engines
    /// (like `GIT_SSH_COMMAND`), split on whitespace.
    pub ssh_command: Option<String>,
}

impl EndpointSettings {
    /// The settings from the flags, completed by the environment (`lookup` reads a
    /// variable; empty counts as unset, as for the docker CLI).
    pub fn from_env(
        docker_host: Option<String>,
        tls_verify: bool,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> EndpointSettings {
        let set = |name: &str| lookup(name).filter(|v| !v.is_empty());
        EndpointSettings {
            docker_host: docker_host
                .filter(|v| !v.is_empty())
                .or_else(|| set("DOCKER_HOST")),
            tls_verify: tls_verify || set("DOCKER_TLS_VERIFY").is_some(),
            cert_path: set("DOCKER_CERT_PATH").map(PathBuf::from),
            home: set("HOME").map(PathBuf::from),
            ssh_command: set("REHEARSE_SSH_COMMAND"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error(
        "engine address `{url}` is not supported: use `unix:///PATH`, `tcp://HOST:PORT` or `ssh://[USER@]HOST[:PORT]`"
    )]
    Scheme { url: String },
    #[error("engine address `{url}` names no {what}: {hint}")]
    Missing {
        url: String,
        what: &'static str,
        hint: &'static str,
    },
    #[error("engine address `{url}` has an invalid port `{port}`: give a number from 1 to 65535")]
    Port { url: String, port: String },
    #[error(
        "`--tls-verify` (or DOCKER_TLS_VERIFY) needs a `tcp://` engine address, not `{url}`: ssh and sockets are secured otherwise"
    )]
    TlsNeedsTcp { url: String },
    #[error(
        "no folder for the TLS certificates: set DOCKER_CERT_PATH to the folder holding `ca.pem`, `cert.pem` and `key.pem`"
    )]
    NoCertPath,
}

impl Endpoint {
    /// Read the engine address the docker CLI way: `unix:///var/run/docker.sock` when
    /// none is given; `tcp://` without a port is 2375, or 2376 with TLS.
    pub fn from_settings(settings: &EndpointSettings) -> Result<Endpoint, EndpointError> {
        let url = settings
            .docker_host
            .clone()
            .unwrap_or_else(|| format!("unix://{DEFAULT_SOCKET}"));
        let tls = if settings.tls_verify {
            let dir = settings
                .cert_path
                .clone()
                .or_else(|| settings.home.as_ref().map(|home| home.join(".docker")))
                .ok_or(EndpointError::NoCertPath)?;
            Some(TlsFiles::in_dir(&dir))
        } else {
            None
        };
        let mut endpoint = Endpoint::parse(&url, tls)?;
        if let (Endpoint::Ssh { command, .. }, Some(own)) = (&mut endpoint, &settings.ssh_command) {
            let words: Vec<String> = own.split_whitespace().map(str::to_string).collect();
            if !words.is_empty() {
                *command = words;
            }
        }
        Ok(endpoint)
    }

    /// Parse one address; `tls` applies to `tcp://` only.
    pub fn parse(url: &str, tls: Option<TlsFiles>) -> Result<Endpoint, EndpointError> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| EndpointError::Scheme { url: url.into() })?;
        let wants_tls = tls.is_some();
        let endpoint = match scheme {
            "unix" => {
                if rest.is_empty() {
                    return Err(EndpointError::Missing {
                        url: url.into(),
                        what: "socket",
                        hint: "write `unix:///var/run/docker.sock`",
                    });
                }
                Endpoint::Unix {
                    path: PathBuf::from(rest),
                }
            }
            "tcp" => {
                let authority = rest.strip_suffix('/').unwrap_or(rest);
                if authority.contains('/') || authority.contains('@') {
                    return Err(EndpointError::Scheme { url: url.into() });
                }
                let (host, port) = split_host_port(url, authority)?;
                let port = port.unwrap_or(if tls.is_some() { TLS_PORT } else { PLAIN_PORT });
                Endpoint::Tcp { host, port, tls }
            }
            "ssh" => {
                let authority = rest.strip_suffix('/').unwrap_or(rest);
                if authority.contains('/') {
                    return Err(EndpointError::Scheme { url: url.into() });
                }
                let (user, host_port) = match authority.rsplit_once('@') {
                    Some((user, host_port)) if !user.is_empty() => {
                        (Some(user.to_string()), host_port)
                    }
                    Some(_) => {
                        return Err(EndpointError::Missing {
                            url: url.into(),
                            what: "user before `@`",
                            hint: "write `ssh://USER@HOST`, or leave the user out",
                        });
                    }
                    None => (None, authority),
                };
                let (host, port) = split_host_port(url, host_port)?;
                Endpoint::Ssh {
                    user,
                    host,
                    port,
                    command: vec!["ssh".to_string()],
                }
            }
            _ => return Err(EndpointError::Scheme { url: url.into() }),
        };
        if wants_tls && !matches!(endpoint, Endpoint::Tcp { .. }) {
            return Err(EndpointError::TlsNeedsTcp { url: url.into() });
        }
        Ok(endpoint)
    }

    /// The address as the user would write it.
    pub fn url(&self) -> String {
        match self {
            Endpoint::Unix { path } => format!("unix://{}", path.display()),
            Endpoint::Tcp { host, port, .. } => format!("tcp://{}:{port}", bracketed(host)),
            Endpoint::Ssh {
                user, host, port, ..
            } => {
                let user = user.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
                let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                format!("ssh://{user}{}{port}", bracketed(host))
            }
        }
    }

    /// The engine's machine as named in the address (`None`: a socket on this one).
    pub fn machine(&self) -> Option<&str> {
        match self {
            Endpoint::Unix { .. } => None,
            Endpoint::Tcp { host, .. } | Endpoint::Ssh { host, .. } => Some(host),
        }
    }

    /// Whether the engine is on another machine: its containers' addresses do not
    /// answer here, and a proxy on this machine is out of their reach.
    pub fn is_remote(&self) -> bool {
        self.machine().is_some_and(|host| {
            host != "localhost" && !host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        })
    }
}

fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// `HOST`, `HOST:PORT`, `[V6]` or `[V6]:PORT`.
fn split_host_port(url: &str, authority: &str) -> Result<(String, Option<u16>), EndpointError> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| EndpointError::Scheme { url: url.into() })?;
            match after {
                "" => (host, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None => return Err(EndpointError::Scheme { url: url.into() }),
                },
            }
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err(EndpointError::Missing {
            url: url.into(),
            what: "host",
            hint: "write the engine's machine after `://`, e.g. `tcp://10.0.0.5:2375`",
        });
    }
    let port = match port {
        Some(text) => match text.parse::<u16>() {
            Ok(port) if port > 0 => Some(port),
            _ => {
                return Err(EndpointError::Port {
                    url: url.into(),
                    port: text.into(),
                });
            }
        },
        None => None,
    };
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<Endpoint, EndpointError> {
        Endpoint::parse(url, None)
    }

    #[test]
    fn reads_unix_tcp_and_ssh_addresses() {
        assert_eq!(
            parse("unix:///var/run/docker.sock"),
            Ok(Endpoint::Unix {
                path: "/var/run/docker.sock".into()
            })
        );
        assert_eq!(
            parse("tcp://10.0.0.5:2375"),
            Ok(Endpoint::Tcp {
                host: "10.0.0.5".into(),
                port: 2375,
                tls: None
            })
        );
        assert_eq!(
            parse("tcp://build-box/").map(|e| e.url()),
            Ok("tcp://build-box:2375".into())
        );
        assert_eq!(
            parse("tcp://[fd00::5]:2376"),
            Ok(Endpoint::Tcp {
                host: "fd00::5".into(),
                port: 2376,
                tls: None
            })
        );
        assert_eq!(
            parse("ssh://me@build-box:2222"),
            Ok(Endpoint::Ssh {
                user: Some("me".into()),
                host: "build-box".into(),
                port: Some(2222),
                command: vec!["ssh".into()],
            })
        );
        assert_eq!(
            parse("ssh://build-box").map(|e| e.url()),
            Ok("ssh://build-box".into())
        );
    }

    #[test]
    fn refuses_what_the_docker_cli_refuses_and_says_how_to_write_it() {
        assert_eq!(
            parse("http://x").unwrap_err().to_string(),
            "engine address `http://x` is not supported: use `unix:///PATH`, `tcp://HOST:PORT` or `ssh://[USER@]HOST[:PORT]`"
        );
        assert!(matches!(
            parse("/var/run/docker.sock"),
            Err(EndpointError::Scheme { .. })
        ));
        assert_eq!(
            parse("tcp://:2375").unwrap_err().to_string(),
            "engine address `tcp://:2375` names no host: write the engine's machine after `://`, e.g. `tcp://10.0.0.5:2375`"
        );
        assert_eq!(
            parse("tcp://h:99999").unwrap_err().to_string(),
            "engine address `tcp://h:99999` has an invalid port `99999`: give a number from 1 to 65535"
        );
        assert!(matches!(
            parse("ssh://@h"),
            Err(EndpointError::Missing { .. })
        ));
        assert!(matches!(
            parse("unix://"),
            Err(EndpointError::Missing { .. })
        ));
    }

    #[test]
    fn tls_comes_from_the_environment_like_the_docker_cli() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let settings = EndpointSettings::from_env(
            None,
            false,
            env(&[
                ("DOCKER_HOST", "tcp://engine.example"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", "/certs"),
            ]),
        );
        assert_eq!(
            Endpoint::from_settings(&settings),
            Ok(Endpoint::Tcp {
                host: "engine.example".into(),
                port: 2376,
                tls: Some(TlsFiles {
                    ca: "/certs/ca.pem".into(),
                    cert: "/certs/cert.pem".into(),
                    key: "/certs/key.pem".into(),
                })
            })
        );
        // The flag wins over the environment; an empty variable is unset; the
        // certificates default to ~/.docker.
        let settings = EndpointSettings::from_env(
            Some("tcp://10.0.0.5:2376".into()),
            true,
            env(&[
                ("DOCKER_HOST", "unix:///other.sock"),
                ("DOCKER_CERT_PATH", ""),
                ("HOME", "/home/me"),
            ]),
        );
        match Endpoint::from_settings(&settings) {
            Ok(Endpoint::Tcp { host, tls, .. }) => {
                assert_eq!(host, "10.0.0.5");
                assert_eq!(tls.unwrap().ca, PathBuf::from("/home/me/.docker/ca.pem"));
            }
            other => panic!("{other:?}"),
        }
        let plain = EndpointSettings::from_env(None, false, env(&[("DOCKER_TLS_VERIFY", "")]));
        assert_eq!(
            Endpoint::from_settings(&plain),
            Ok(Endpoint::Unix {
                path: DEFAULT_SOCKET.into()
            })
        );
        let ssh_tls = EndpointSettings::from_env(
            Some("ssh://me@box".into()),
            true,
            env(&[("HOME", "/home/me")]),
        );
        assert!(matches!(
            Endpoint::from_settings(&ssh_tls),
            Err(EndpointError::TlsNeedsTcp { .. })
        ));
        let own_ssh = EndpointSettings::from_env(
            Some("ssh://box".into()),
            false,
            env(&[("REHEARSE_SSH_COMMAND", "ssh -i /keys/ci -F /dev/null")]),
        );
        match Endpoint::from_settings(&own_ssh) {
            Ok(Endpoint::Ssh { command, .. }) => {
                assert_eq!(command, ["ssh", "-i", "/keys/ci", "-F", "/dev/null"])
            }
            other => panic!("{other:?}"),
        }
        let nowhere = EndpointSettings::from_env(Some("tcp://h".into()), true, env(&[]));
        assert_eq!(
            Endpoint::from_settings(&nowhere),
            Err(EndpointError::NoCertPath)
        );
    }

    #[test]
    fn only_an_engine_on_another_machine_is_remote() {
        let remote = |url: &str| parse(url).unwrap().is_remote();
        assert!(!remote("unix:///var/run/docker.sock"));
        assert!(!remote("tcp://127.0.0.1:2375"));
        assert!(!remote("tcp://localhost:2375"));
        assert!(!remote("tcp://[::1]:2375"));
        assert!(!remote("ssh://me@localhost"));
        assert!(remote("tcp://10.0.0.5:2376"));
        assert!(remote("ssh://me@build-box"));
    }
}
