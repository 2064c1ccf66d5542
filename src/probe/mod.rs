//! Probes: one-shot health checks run from the `rehearse` process against the replica.
//!
//! A probe is data ([`crate::scenario::ProbeKind`]); each kind's attempt lives in its own
//! file. [`check`] retries attempts until one passes or the probe's deadline passes.

mod count;
mod exec;
mod http;
mod tcp;

pub use count::{CountError, count};
pub use exec::judge as judge_exec;
pub use http::MAX_BODY;
pub use http::judge as judge_http;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::scenario::{Probe, ProbeKind};

/// Where the hosts of a run are reached: the run's address book.
///
/// Each host has its address on the run's network (where the other hosts reach it) and,
/// for the prober in this process, a [`Reach`]: that same address (a local engine), or
/// the ports the engine published on its machine (a remote engine, `--publish-ports`).
#[derive(Debug, Clone, Default)]
pub struct HostAddresses {
    hosts: BTreeMap<String, ReachableHost>,
}

#[derive(Debug, Clone)]
pub struct ReachableHost {
    pub container_id: String,
    /// The host's address on the run's network.
    pub address: IpAddr,
    /// How this process reaches the host's ports.
    pub reach: Reach,
}

/// How the prober reaches a host's ports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// At the container's own address (this machine runs the engine).
    #[default]
    Direct,
    /// Only through the ports published on the engine's machine: container port →
    /// the address there.
    Published(BTreeMap<u16, SocketAddr>),
}

impl Reach {
    /// The ports the engine published (container port → its port there), reached at
    /// `engine`, the engine's machine.
    pub fn published(engine: IpAddr, ports: &BTreeMap<u16, u16>) -> Reach {
        Reach::Published(
            ports
                .iter()
                .map(|(port, published)| (*port, SocketAddr::new(engine, *published)))
                .collect(),
        )
    }

    pub fn is_direct(&self) -> bool {
        matches!(self, Reach::Direct)
    }
}

/// Where the prober sends what is meant for one port of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeTarget {
    pub address: SocketAddr,
    /// The container's port, published at `address` on the engine's machine.
    pub published: Option<u16>,
}

impl ProbeTarget {
    /// For evidence: where a published port was reached (empty when direct).
    pub fn note(&self) -> String {
        match self.published {
            Some(port) => format!(" (port {port} published at {})", self.address),
            None => String::new(),
        }
    }
}

/// Why the prober cannot reach a port of a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("host `{host}` is not running")]
    NotRunning { host: String },
    /// A remote engine published only the ports the scenario names; `published` lists them.
    #[error(
        "port {port} of host `{host}` is not published on the engine's machine (published: {}); only the ports the scenario's probes and monitors name are",
        published_list(published)
    )]
    NotPublished {
        host: String,
        port: u16,
        published: Vec<u16>,
    },
}

fn published_list(ports: &[u16]) -> String {
    if ports.is_empty() {
        "none".to_string()
    } else {
        let list: Vec<String> = ports.iter().map(u16::to_string).collect();
        list.join(", ")
    }
}

impl ReachableHost {
    /// Where the prober reaches `port` of this host (named `host`).
    pub fn target(&self, host: &str, port: u16) -> Result<ProbeTarget, TargetError> {
        match &self.reach {
            Reach::Direct => Ok(ProbeTarget {
                address: SocketAddr::new(self.address, port),
                published: None,
            }),
            Reach::Published(ports) => match ports.get(&port) {
                Some(address) => Ok(ProbeTarget {
                    address: *address,
                    published: Some(port),
                }),
                None => Err(TargetError::NotPublished {
                    host: host.to_string(),
                    port,
                    published: ports.keys().copied().collect(),
                }),
            },
        }
    }
}

impl HostAddresses {
    /// A host reached at its own address.
    pub fn insert(&mut self, host: &str, container_id: String, address: IpAddr) {
        self.insert_reach(host, container_id, address, Reach::Direct);
    }

    pub fn insert_reach(
        &mut self,
        host: &str,
        container_id: String,
        address: IpAddr,
        reach: Reach,
    ) {
        self.hosts.insert(
            host.to_string(),
            ReachableHost {
                container_id,
                address,
                reach,
            },
        );
    }

    /// Forget a host that is gone (lost, not yet rebuilt).
    pub fn remove(&mut self, host: &str) -> Option<ReachableHost> {
        self.hosts.remove(host)
    }

    pub fn get(&self, host: &str) -> Option<&ReachableHost> {
        self.hosts.get(host)
    }

    /// Where the prober reaches `port` of `host`.
    pub fn target(&self, host: &str, port: u16) -> Result<ProbeTarget, TargetError> {
        self.hosts
            .get(host)
            .ok_or_else(|| TargetError::NotRunning {
                host: host.to_string(),
            })?
            .target(host, port)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &ReachableHost)> {
        self.hosts.iter()
    }
}

pub use crate::model::{Attempt, Evidence};

fn unreachable_host(host: &str) -> Attempt {
    Attempt::fail(Evidence {
        summary: format!("host `{host}` is not running in this rehearsal"),
        ..Evidence::default()
    })
}

/// The result of a check: attempts until one passed or the deadline passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    pub probe: String,
    pub passed: bool,
    pub attempts: u32,
    pub failures: u32,
    pub duration: Duration,
    /// The passing attempt's evidence, or the last failure's.
    pub evidence: Evidence,
}

/// Shorten text for evidence, on a character boundary.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let trimmed = text.trim();
    if trimmed.chars().count() <= max_chars {
        return trimmed.to_string();
    }
    let cut: String = trimmed.chars().take(max_chars).collect();
    format!("{cut}…")
}

/// One attempt of a probe, whatever its kind.
pub async fn attempt<E: Engine>(probe: &Probe, engine: &E, hosts: &HostAddresses) -> Attempt {
    let Some(host) = hosts.get(probe.kind.host()) else {
        return unreachable_host(probe.kind.host());
    };
    let unpublished = |why: TargetError| {
        Attempt::fail(Evidence {
            summary: why.to_string(),
            ..Evidence::default()
        })
    };
    match &probe.kind {
        ProbeKind::Http(p) => match host.target(&p.host, p.port) {
            Ok(target) => http::attempt(p, target).await,
            Err(why) => unpublished(why),
        },
        ProbeKind::Tcp(p) => match host.target(&p.host, p.port) {
            Ok(target) => tcp::attempt(p, target).await,
            Err(why) => unpublished(why),
        },
        ProbeKind::Exec(p) => exec::attempt(p, engine, host).await,
    }
}

/// Retry a probe every `retry.interval` until it passes or `retry.deadline` has passed.
/// `on_attempt` sees each attempt as it happens.
pub async fn check<E: Engine>(
    probe: &Probe,
    engine: &E,
    hosts: &HostAddresses,
    on_attempt: &mut (dyn FnMut(u32, &Attempt) + Send),
) -> CheckOutcome {
    let started = Instant::now();
    let mut attempts = 0;
    let mut failures = 0;
    loop {
        let scheduled = Instant::now();
        let result = attempt(probe, engine, hosts).await;
        attempts += 1;
        on_attempt(attempts, &result);
        let out_of_time = started.elapsed() + probe.retry.interval > probe.retry.deadline;
        if result.passed || out_of_time {
            if !result.passed {
                failures += 1;
            }
            return CheckOutcome {
                probe: probe.name.clone(),
                passed: result.passed,
                attempts,
                failures,
                duration: started.elapsed(),
                evidence: result.evidence,
            };
        }
        failures += 1;
        // Attempts are scheduled at a fixed interval, not interval-after-the-last-one.
        let next = scheduled + probe.retry.interval;
        tokio::time::sleep_until(next.into()).await;
    }
}

#[cfg(test)]
mod address_book_tests {
    use super::*;

    #[test]
    fn a_local_engine_s_hosts_are_probed_at_their_own_address() {
        let mut book = HostAddresses::default();
        book.insert("web", "c1".into(), "172.18.0.2".parse().unwrap());
        assert_eq!(
            book.target("web", 8080),
            Ok(ProbeTarget {
                address: "172.18.0.2:8080".parse().unwrap(),
                published: None
            })
        );
        assert_eq!(book.target("web", 8080).unwrap().note(), "");
        assert_eq!(
            book.target("db", 3306).unwrap_err().to_string(),
            "host `db` is not running"
        );
    }

    #[test]
    fn a_remote_engine_s_hosts_are_probed_at_their_published_ports() {
        let mut book = HostAddresses::default();
        let reach = Reach::published(
            "10.0.0.5".parse().unwrap(),
            &BTreeMap::from([(80, 49153), (443, 49154)]),
        );
        book.insert_reach("web", "c1".into(), "172.18.0.2".parse().unwrap(), reach);
        let target = book.target("web", 80).unwrap();
        assert_eq!(target.address, "10.0.0.5:49153".parse().unwrap());
        assert_eq!(target.note(), " (port 80 published at 10.0.0.5:49153)");
        // The other hosts still reach it at its address on the run's network.
        assert_eq!(
            book.get("web").unwrap().address,
            "172.18.0.2".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            book.target("web", 8080).unwrap_err().to_string(),
            "port 8080 of host `web` is not published on the engine's machine (published: 80, 443); only the ports the scenario's probes and monitors name are"
        );
    }
}
