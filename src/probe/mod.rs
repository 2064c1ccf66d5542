//! Probes: one-shot health checks run from the `rehearse` process against the replica.
//!
//! A probe is data ([`crate::scenario::ProbeKind`]); each kind's attempt lives in its own
//! file. [`check`] retries attempts until one passes or the probe's deadline passes.

mod exec;
mod http;
mod tcp;

pub use exec::judge as judge_exec;
pub use http::judge as judge_http;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::scenario::{Probe, ProbeKind};

/// Where the hosts of a run can be reached.
#[derive(Debug, Clone, Default)]
pub struct HostAddresses {
    hosts: BTreeMap<String, ReachableHost>,
}

#[derive(Debug, Clone)]
pub struct ReachableHost {
    pub container_id: String,
    pub address: IpAddr,
}

impl HostAddresses {
    pub fn insert(&mut self, host: &str, container_id: String, address: IpAddr) {
        self.hosts.insert(
            host.to_string(),
            ReachableHost {
                container_id,
                address,
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

    pub fn iter(&self) -> impl Iterator<Item = (&String, &ReachableHost)> {
        self.hosts.iter()
    }
}

/// What one attempt saw: enough for an admin to tell why it failed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    /// One line: what was expected and what came back.
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_excerpt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub passed: bool,
    pub evidence: Evidence,
}

impl Attempt {
    pub fn pass(evidence: Evidence) -> Self {
        Attempt {
            passed: true,
            evidence,
        }
    }

    pub fn fail(evidence: Evidence) -> Self {
        Attempt {
            passed: false,
            evidence,
        }
    }

    fn unreachable_host(host: &str) -> Self {
        Attempt::fail(Evidence {
            summary: format!("host `{host}` is not running in this rehearsal"),
            ..Evidence::default()
        })
    }
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
        return Attempt::unreachable_host(probe.kind.host());
    };
    match &probe.kind {
        ProbeKind::Http(p) => http::attempt(p, host).await,
        ProbeKind::Tcp(p) => tcp::attempt(p, host).await,
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
