//! `drain-check` step: the last part of the second story's move. After the DNS switch
//! the old host's access log is watched until no client reaches it directly any more;
//! only then can it be switched off. Requests from the replica's own hosts (a proxy
//! in front of it, a health check from a neighbour) and from the host itself are not
//! clients and are left out.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::{StepContext, StepResult};
use crate::engine::Engine;

use super::RunStep;
use crate::scenario::StepSpec;
use crate::scenario::format::{AbsolutePath, HostRef, Opt, Span};
use schemars::JsonSchema;
use serde::Deserialize;

/// Watch a host's web access log until it stops receiving requests directly from
/// clients (requests from the replica's own hosts, such as proxied ones, excluded).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DrainCheckStep {
    #[serde(with = "HostRef")]
    pub host: String,
    /// The access log (default: Apache's or nginx's, whichever the host has).
    #[serde(default, with = "Opt::<AbsolutePath>")]
    pub log: Option<String>,
    /// How long without a direct request counts as drained.
    #[serde(default = "five_seconds", with = "Span")]
    pub quiet: Duration,
}

fn five_seconds() -> Duration {
    Duration::from_secs(5)
}

impl StepSpec for DrainCheckStep {
    const KIND: &'static str = "drain-check";

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(120)
    }

    fn derived_name(&self) -> String {
        format!("drain check {}", self.host)
    }
}

impl RunStep for DrainCheckStep {
    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        run(self, cx).await
    }
}

const POLL: Duration = Duration::from_millis(500);
const EXEC_TIMEOUT: Duration = Duration::from_secs(30);
/// Read at most this much of the log per poll; the rest is read on the next one.
const MAX_READ: u64 = 4 << 20;
/// How much of the log before the step is read for the last direct request.
const LOOK_BACK: u64 = 1 << 20;
const DEFAULT_LOGS: &[&str] = &["/var/log/apache2/access.log", "/var/log/nginx/access.log"];

/// One access-log line: who asked, and when (as the log writes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRequest {
    pub client: IpAddr,
    pub time: Option<String>,
}

/// The client address and time of a line in Apache's or nginx's common or combined
/// format (`1.2.3.4 - - [22/Nov/2026:10:00:00 +0000] "GET / ..."`).
pub fn parse_line(line: &str) -> Option<LogRequest> {
    let client = line.split_whitespace().next()?.parse().ok()?;
    let time = line
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(time, _)| time.to_string());
    Some(LogRequest { client, time })
}

/// Direct requests since the last poll, by client, and the last one's time.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Tally {
    direct: BTreeMap<IpAddr, u64>,
    excluded: u64,
    last_direct_time: Option<String>,
}

impl Tally {
    fn add(&mut self, text: &str, replica: &HashSet<IpAddr>) {
        for request in text.lines().filter_map(parse_line) {
            if replica.contains(&request.client) || request.client.is_loopback() {
                self.excluded += 1;
            } else {
                *self.direct.entry(request.client).or_insert(0) += 1;
                if request.time.is_some() {
                    self.last_direct_time = request.time;
                }
            }
        }
    }

    fn direct_total(&self) -> u64 {
        self.direct.values().sum()
    }

    fn clients(&self) -> String {
        self.direct
            .iter()
            .map(|(client, n)| format!("{client} ({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub(super) async fn run<E: Engine>(
    step: &DrainCheckStep,
    cx: &mut StepContext<'_, E>,
) -> StepResult {
    StepResult::from_outcome(drain(step, cx).await)
}

async fn drain<E: Engine>(
    step: &DrainCheckStep,
    cx: &mut StepContext<'_, E>,
) -> Result<String, String> {
    let container = cx
        .container(&step.host)
        .ok_or_else(|| format!("host `{}` is not running", step.host))?;
    let replica: HashSet<IpAddr> = cx.state.hosts.iter().map(|(_, h)| h.address).collect();
    let log = match &step.log {
        Some(log) => log.clone(),
        None => find_log(cx.engine, &container).await?,
    };
    let (mut offset, before) = read_from(cx.engine, &container, &log, None).await?;
    let mut earlier = Tally::default();
    earlier.add(&before, &replica);
    cx.progress(format!(
        "watching {log} on {} for direct requests",
        step.host
    ));

    let started = Instant::now();
    // Stop short of the step's own timeout, so the failure says what was seen.
    let deadline = started + cx.timeout.saturating_sub(Duration::from_secs(2));
    let mut quiet_since = started;
    let mut during = Tally::default();
    let mut recent = Tally::default();
    let mut recent_since = started;
    loop {
        tokio::time::sleep(POLL).await;
        let (next, text) = read_from(cx.engine, &container, &log, Some(offset)).await?;
        offset = next;
        let mut tally = Tally::default();
        tally.add(&text, &replica);
        if tally.direct_total() > 0 {
            quiet_since = Instant::now();
            if recent_since.elapsed() > step.quiet {
                recent = Tally::default();
                recent_since = Instant::now();
            }
            for (client, n) in &tally.direct {
                *recent.direct.entry(*client).or_insert(0) += n;
                *during.direct.entry(*client).or_insert(0) += n;
            }
            during.last_direct_time = tally.last_direct_time.clone();
            cx.progress(format!(
                "{} direct requests to {} in the last {} ms, from {}",
                tally.direct_total(),
                step.host,
                POLL.as_millis(),
                tally.clients()
            ));
        }
        during.excluded += tally.excluded;
        if quiet_since.elapsed() >= step.quiet {
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "`{}` still receives direct requests after {}: {} since the check began, lately from {}; clients still resolve the site to it (is the DNS switch complete?)",
                step.host,
                humantime::format_duration(Duration::from_secs(started.elapsed().as_secs())),
                during.direct_total(),
                recent.clients(),
            ));
        }
    }
    let last = during
        .last_direct_time
        .as_ref()
        .or(earlier.last_direct_time.as_ref())
        .map_or(
            "no direct request in the log's recent past".to_string(),
            |t| format!("the last direct request was logged at {t}"),
        );
    Ok(format!(
        "`{}` drained: no direct request for {} ({log}); {last}; {} direct requests during the check, {} from the replica's own hosts left out",
        step.host,
        humantime::format_duration(step.quiet),
        during.direct_total(),
        during.excluded,
    ))
}

async fn find_log<E: Engine>(engine: &E, container: &str) -> Result<String, String> {
    for log in DEFAULT_LOGS {
        let argv = ["test".to_string(), "-f".into(), log.to_string()];
        if let Ok(output) = engine.exec(container, &argv, EXEC_TIMEOUT).await
            && output.exit_code == 0
        {
            return Ok(log.to_string());
        }
    }
    Err(format!(
        "no access log found at {}: give the step a `log`",
        DEFAULT_LOGS.join(" or ")
    ))
}

/// The log's size and its text from `offset` (a bounded amount), or when `offset` is
/// `None` its last [`LOOK_BACK`] bytes. A log that shrank was rotated: read it anew.
async fn read_from<E: Engine>(
    engine: &E,
    container: &str,
    log: &str,
    offset: Option<u64>,
) -> Result<(u64, String), String> {
    let script = r#"size=$(stat -c %s "$1") || exit 1
from=$2
if [ "$from" = tail ]; then from=$(( size > $3 ? size - $3 : 0 )); fi
if [ "$from" -gt "$size" ]; then from=0; fi
echo "$size"
tail -c +$((from + 1)) "$1" | head -c $(( size - from < $4 ? size - from : $4 ))"#;
    let argv = [
        "sh".to_string(),
        "-c".into(),
        script.into(),
        "sh".into(),
        log.to_string(),
        offset.map_or("tail".into(), |o| o.to_string()),
        LOOK_BACK.to_string(),
        MAX_READ.to_string(),
    ];
    let output = engine
        .exec(container, &argv, EXEC_TIMEOUT)
        .await
        .map_err(|e| format!("cannot read `{log}`: {e}"))?;
    if output.exit_code != 0 {
        return Err(format!("cannot read `{log}`: {}", output.stderr.trim()));
    }
    let (size, text) = output
        .stdout
        .split_once('\n')
        .unwrap_or((&output.stdout, ""));
    let size: u64 = size
        .trim()
        .parse()
        .map_err(|_| format!("cannot read `{log}`: unexpected size `{size}`"))?;
    let start = match offset {
        Some(o) if o <= size => o,
        Some(_) => 0,
        None => size,
    };
    // The look-back starts mid-line when the log is longer: drop that piece.
    let text = if offset.is_none() && size > LOOK_BACK {
        text.split_once('\n').map_or("", |(_, rest)| rest)
    } else {
        text
    };
    // Only whole lines count; a partial last line is read again next time.
    let whole = text.rfind('\n').map_or(0, |at| at + 1);
    let next = if offset.is_none() {
        start
    } else {
        start + whole as u64
    };
    Ok((next, text[..whole].to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_give_client_and_time() {
        let line = r#"172.18.0.1 - - [22/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 45 "-" "-""#;
        assert_eq!(
            parse_line(line),
            Some(LogRequest {
                client: "172.18.0.1".parse().unwrap(),
                time: Some("22/Nov/2026:10:00:00 +0000".into())
            })
        );
        assert_eq!(parse_line("garbage line"), None);
        assert_eq!(parse_line(""), None);
    }

    #[test]
    fn replica_hosts_and_loopback_are_not_clients() {
        let replica: HashSet<IpAddr> = ["172.18.0.3".parse().unwrap()].into();
        let mut tally = Tally::default();
        tally.add(
            "172.18.0.1 - - [t1] \"GET /\"\n172.18.0.3 - - [t2] \"GET /\"\n127.0.0.1 - - [t3] \"GET /\"\n172.18.0.1 - - [t4] \"GET /\"\n",
            &replica,
        );
        assert_eq!(tally.direct_total(), 2);
        assert_eq!(tally.excluded, 2);
        assert_eq!(tally.last_direct_time.as_deref(), Some("t4"));
        assert_eq!(tally.clients(), "172.18.0.1 (2)");
    }
}
