//! Run the continuous HTTP prober alone against one URL and print what it measured, with
//! the CPU it took. Used by `bench/prober.sh`; handy by hand too:
//!
//! ```text
//! cargo run --release --example prober -- --url http://172.17.0.2/ --rate 1000 --duration 10s
//! ```
//!
//! The output is one JSON object: the monitor's own report (`report`), plus the wall-clock
//! start (`started_at_unix`, to line the unavailability windows up with events timed
//! elsewhere), the achieved rates and the process's user and system CPU seconds.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Parser;
use rehearse::monitor::MonitorReport;
use rehearse::scenario::{Connection, HttpExpect, HttpMethod, HttpProbe, Monitor};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(about = "Run the open-loop HTTP prober against one URL and report what it measured")]
struct Args {
    /// `http://IP[:PORT]/PATH`: an address, not a name (use `--vhost` for the name).
    #[arg(long)]
    url: String,
    /// Requests per second.
    #[arg(long)]
    rate: u32,
    /// How long to send, e.g. `10s`.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    duration: Duration,
    /// Virtual host name sent as `Host` and resolved to the URL's address.
    #[arg(long)]
    vhost: Option<String>,
    /// Reuse connections from a pool (`connection: keep-alive`) instead of one per request.
    #[arg(long)]
    keep_alive: bool,
    /// Timeout of one request (the scenario default is 5 s).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    timeout: Duration,
}

#[derive(Debug, Serialize)]
struct Output {
    url: String,
    vhost: Option<String>,
    /// When the monitor started, in seconds since the Unix epoch; the report's
    /// `start_ms`/`end_ms` count from here.
    started_at_unix: f64,
    /// From the start to the end of `stop()`, which waits for the requests in flight.
    wall_s: f64,
    /// Requests sent per second of the asked duration.
    achieved_rate: f64,
    /// Successful answers per second of wall time (drain included).
    ok_per_s: f64,
    cpu_user_s: f64,
    cpu_system_s: f64,
    /// CPU seconds per second of wall time: how many cores the prober kept busy.
    cores_used: f64,
    report: MonitorReport,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (address, port, path) = parse_url(&args.url)?;
    let monitor = Monitor {
        name: "prober".into(),
        http: HttpProbe {
            host: "target".into(),
            port,
            path,
            vhost: args.vhost.clone(),
            method: HttpMethod::Get,
            timeout: args.timeout,
            expect: HttpExpect::default(),
        },
        rate: args.rate,
        marker_header: None,
        writes: None,
        connection: if args.keep_alive {
            Connection::KeepAlive
        } else {
            Connection::New
        },
    };
    let ticks = clock_ticks_per_second();
    let cpu_before = process_cpu_ticks()?;
    let started_at = SystemTime::now();
    let clock = Instant::now();
    let running = rehearse::monitor::start(&monitor, std::net::SocketAddr::new(address, port))
        .map_err(anyhow::Error::msg)?;
    tokio::time::sleep(args.duration).await;
    let report = running.stop().await;
    let wall = clock.elapsed().as_secs_f64();
    let cpu_after = process_cpu_ticks()?;
    let user = (cpu_after.0 - cpu_before.0) as f64 / ticks;
    let system = (cpu_after.1 - cpu_before.1) as f64 / ticks;
    let output = Output {
        url: args.url,
        vhost: args.vhost,
        started_at_unix: started_at.duration_since(UNIX_EPOCH)?.as_secs_f64(),
        wall_s: wall,
        achieved_rate: report.sent as f64 / args.duration.as_secs_f64(),
        ok_per_s: (report.sent - report.failed) as f64 / wall,
        cpu_user_s: user,
        cpu_system_s: system,
        cores_used: (user + system) / wall,
        report,
    };
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(())
}

/// `http://IP[:PORT]/PATH` → address, port, path.
fn parse_url(url: &str) -> anyhow::Result<(IpAddr, u16, String)> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("`{url}` is not an http:// URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], rest[at..].to_string()),
        None => (rest, "/".to_string()),
    };
    if let Ok(address) = authority.parse::<IpAddr>() {
        return Ok((address, 80, path));
    }
    if let Ok(socket) = authority.parse::<SocketAddr>() {
        return Ok((socket.ip(), socket.port(), path));
    }
    if let Some(v6) = authority
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
    {
        return Ok((v6.parse().context("bad IPv6 address")?, 80, path));
    }
    bail!("`{authority}` is not an IP address (with an optional port)")
}

/// User and system CPU time of the whole process (all threads), in clock ticks:
/// fields 14 and 15 of `/proc/self/stat`.
fn process_cpu_ticks() -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("cannot read /proc/self/stat")?;
    // The command name (field 2) may hold spaces and parentheses: skip past its last ')'.
    let after_name = &stat[stat.rfind(')').context("odd /proc/self/stat")? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user = fields.next().context("no utime")?.parse()?;
    let system = fields.next().context("no stime")?.parse()?;
    Ok((user, system))
}

/// `USER_HZ`, the unit of `/proc/self/stat` times: asked of `getconf` (no libc call
/// without unsafe code), 100 if that fails, which is its value on common architectures.
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_and_without_port_and_path() {
        let (a, p, path) = parse_url("http://172.17.0.2/").unwrap();
        assert_eq!(
            (a.to_string(), p, path.as_str()),
            ("172.17.0.2".into(), 80, "/")
        );
        let (_, p, path) = parse_url("http://10.0.0.1:8080/x?y").unwrap();
        assert_eq!((p, path.as_str()), (8080, "/x?y"));
        let (_, p, path) = parse_url("http://10.0.0.1").unwrap();
        assert_eq!((p, path.as_str()), (80, "/"));
        assert!(parse_url("http://example.test/").is_err());
        assert!(parse_url("https://10.0.0.1/").is_err());
    }
}
