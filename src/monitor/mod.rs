//! Continuous monitors: an open-loop HTTP prober. Requests go out on a fixed schedule
//! whatever the answers do, each timed from its *scheduled* send time, so a stall or an
//! outage shows up as measured unavailability and latency instead of silently slowing
//! the prober down (coordinated omission).

mod aggregate;
mod analysis;
mod writes;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{self, HeaderValue};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use aggregate::{Aggregate, Boundaries, Write, WriteLog};
pub use analysis::{Phases, aggregate, analyse, analyse_with};
pub use writes::{check_writes, parse_tokens};

pub use crate::model::{
    LatencySummary, MarkReport, MonitorReport, PhaseLatency, TimelineBucket, UnavailabilityWindow,
    WriteExample, WritesReport,
};

use crate::scenario::{Connection, HttpMethod, Monitor};

/// The outcome of one scheduled request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// When it was due, from the monitor's start.
    pub scheduled: Duration,
    /// From the scheduled time to the last byte of the response (or the failure).
    pub latency: Duration,
    pub ok: bool,
    /// No complete answer within the timeout (a failure too).
    pub timed_out: bool,
    pub status: Option<u16>,
    /// The value of the monitor's marker header: which host served.
    pub served_by: Option<String>,
    pub error: Option<String>,
    /// The request's number, from 0; a writer's token ends with it.
    pub seq: u32,
    /// The host the request's client resolved the site to: 0 the monitor's own host,
    /// 1 the host a DNS switch moves clients to.
    pub via: u8,
}

impl Sample {
    /// A request without a (good) answer: `error` says why, when known; no status and
    /// no marker yet. `send` starts from one and fills it in as the answer comes.
    pub fn failed(
        scheduled: Duration,
        latency: Duration,
        seq: u32,
        via: u8,
        error: Option<String>,
    ) -> Self {
        Self {
            scheduled,
            latency,
            ok: false,
            timed_out: false,
            status: None,
            served_by: None,
            error,
            seq,
            via,
        }
    }
}

/// A monitor sending requests in the background until stopped.
#[derive(Debug)]
pub struct RunningMonitor {
    pub name: String,
    rate: u32,
    started: Instant,
    targets: Arc<Targets>,
    tally: Arc<Tally>,
    /// Where the run's moments began and ended while it ran.
    boundaries: Boundaries,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<Aggregate>>,
}

/// Answers counted as they come, for progress while the monitor runs.
#[derive(Debug, Default)]
struct Tally {
    /// Requests due so far (sent, or counted failed at once).
    due: std::sync::atomic::AtomicU64,
    answered: std::sync::atomic::AtomicU64,
    failed: std::sync::atomic::AtomicU64,
}

impl Tally {
    fn record(&self, sample: Sample, aggregate: &mut Aggregate) {
        self.answered.fetch_add(1, Ordering::Relaxed);
        if !sample.ok {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        aggregate.record(sample);
    }
}

/// What a stopped monitor saw, aggregated.
#[derive(Debug)]
pub struct StoppedMonitor {
    pub name: String,
    pub rate: u32,
    /// When the first request was due.
    pub started: Instant,
    /// Host names by [`Sample::via`].
    pub hosts: Vec<String>,
    pub results: Aggregate,
}

impl RunningMonitor {
    /// Stop sending, wait for the requests in flight, and report what was seen.
    pub async fn stop(self) -> MonitorReport {
        let stopped = self.stop_aggregate().await;
        stopped.results.report(
            &stopped.name,
            stopped.rate,
            &stopped.hosts,
            &Phases::default(),
            None,
        )
    }

    /// Stop sending and wait for the requests in flight.
    pub async fn stop_aggregate(mut self) -> StoppedMonitor {
        self.stop.cancel();
        let mut results = match self.task.take() {
            Some(task) => task.await.ok(),
            None => None,
        }
        .unwrap_or_else(|| Aggregate::new(self.rate, false, Boundaries::default()));
        results.finish();
        let mut hosts = vec![self.targets.primary_host.clone()];
        if let Some(alternate) = self.targets.alternate.get() {
            hosts.push(alternate.host.clone());
        }
        StoppedMonitor {
            name: self.name.clone(),
            rate: self.rate,
            started: self.started,
            hosts,
            results,
        }
    }

    /// A moment of the run begins or ends at `at`: latency is kept apart on each side,
    /// so that it can be told before, during and after a change.
    pub fn boundary(&self, at: Instant) {
        self.boundaries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(at.saturating_duration_since(self.started));
    }

    /// When the first request was due.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Requests answered (or given up) so far, and how many of them failed.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.tally.answered.load(Ordering::Relaxed),
            self.tally.failed.load(Ordering::Relaxed),
        )
    }

    /// Requests sent and not yet answered (nor given up).
    pub fn in_flight(&self) -> u64 {
        self.tally
            .due
            .load(Ordering::Relaxed)
            .saturating_sub(self.tally.answered.load(Ordering::Relaxed))
    }

    /// The port its requests go to on a host (the prober may reach it elsewhere: see
    /// [`crate::probe::HostAddresses::target`]).
    pub fn port(&self) -> u16 {
        self.targets.http.port
    }

    /// Whether the monitor's own host is `host`.
    pub fn aims_at(&self, host: &str) -> bool {
        self.targets.primary_host == host
    }

    /// The host clients move to in a DNS switch; from now on [`RunningMonitor::set_share`]
    /// says how many of them resolve the site to it. Only one switch per monitor.
    pub fn switch_to(&self, host: &str, address: SocketAddr) -> Result<(), MonitorError> {
        let target = Target::new(&self.name, host, &self.targets, address)?;
        self.targets
            .alternate
            .set(Arc::new(target))
            .map_err(|_| MonitorError::AlreadySwitched {
                monitor: self.name.clone(),
            })
    }

    /// The monitor's own host was lost: from now on its requests fail at once, as a
    /// client finds nothing at the address. No-op for another host.
    pub fn host_lost(&self, host: &str) {
        if self.targets.primary_host == host {
            *self
                .targets
                .primary
                .write()
                .unwrap_or_else(|e| e.into_inner()) = None;
        }
    }

    /// The monitor's own host is back at `address` (rebuilt): requests go there again.
    /// No-op for another host.
    pub fn host_back(&self, host: &str, address: SocketAddr) -> Result<(), MonitorError> {
        if self.targets.primary_host != host {
            return Ok(());
        }
        let target = Target::new(&self.name, host, &self.targets, address)?;
        *self
            .targets
            .primary
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(target));
        Ok(())
    }

    /// The share (0.0 to 1.0) of clients that resolve the site to the switch target.
    pub fn set_share(&self, share: f64) {
        let permille = (share.clamp(0.0, 1.0) * 1000.0).round() as u32;
        self.targets
            .share_permille
            .store(permille, Ordering::Relaxed);
    }
}

impl Drop for RunningMonitor {
    fn drop(&mut self) {
        // A monitor dropped without `stop` (the run was cancelled) must not keep sending.
        self.stop.cancel();
    }
}

/// Why a monitor cannot send its requests where it is told.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("cannot set up monitor `{monitor}`: {problem}")]
    Client { monitor: String, problem: String },
    #[error("the clients of monitor `{monitor}` already switched once")]
    AlreadySwitched { monitor: String },
}

/// Start a monitor against its host, whose port the prober reaches at `address`.
pub fn start(monitor: &Monitor, address: SocketAddr) -> Result<RunningMonitor, MonitorError> {
    let http = &monitor.http;
    let mut targets = Targets {
        http: http.clone(),
        connection: monitor.connection,
        primary_host: http.host.clone(),
        primary: RwLock::new(None),
        alternate: OnceLock::new(),
        share_permille: AtomicU32::new(0),
    };
    let primary = Target::new(&monitor.name, &http.host, &targets, address)?;
    targets.primary = RwLock::new(Some(Arc::new(primary)));
    let targets = Arc::new(targets);
    let request = Request {
        targets: Arc::clone(&targets),
        method: match http.method {
            HttpMethod::Get => hyper::Method::GET,
            HttpMethod::Head => hyper::Method::HEAD,
            HttpMethod::Post => hyper::Method::POST,
        },
        status: http.expect.status,
        body_contains: http.expect.body_contains.clone(),
        marker: monitor.marker_header.clone(),
        token_field: monitor.writes.as_ref().map(|w| w.field.clone()),
        token_prefix: token_prefix(&monitor.name),
    };
    let stop = CancellationToken::new();
    let interval = aggregate::interval(monitor.rate);
    // Requests in flight are capped, or a hung server would grow them without bound;
    // one over the cap counts as failed at its scheduled time: the prober stays open-loop.
    let max_in_flight =
        ((http.timeout.as_secs_f64() / interval.as_secs_f64()) as usize + 16).min(20_000);
    let started = Instant::now();
    let tally = Arc::new(Tally::default());
    let boundaries = Boundaries::default();
    let aggregate = Aggregate::new(
        monitor.rate,
        monitor.writes.is_some(),
        Arc::clone(&boundaries),
    );
    let task = tokio::spawn(schedule(
        Arc::new(request),
        aggregate,
        Arc::clone(&tally),
        started,
        interval,
        max_in_flight,
        stop.clone(),
    ));
    Ok(RunningMonitor {
        name: monitor.name.clone(),
        rate: monitor.rate,
        started,
        targets,
        tally,
        boundaries,
        stop,
        task: Some(task),
    })
}

/// The token of a writer monitor's request number `seq`.
pub fn token(monitor: &str, seq: u32) -> String {
    format!("{}{seq}", token_prefix(monitor))
}

fn token_prefix(monitor: &str) -> String {
    format!("rh-{monitor}-")
}

/// Where the site's name resolves for the monitor's clients.
#[derive(Debug)]
struct Targets {
    http: crate::scenario::HttpProbe,
    connection: Connection,
    primary_host: String,
    /// Where the monitor's own host answers; `None` while the host is lost.
    primary: RwLock<Option<Arc<Target>>>,
    /// The host clients move to in a DNS switch.
    alternate: OnceLock<Arc<Target>>,
    /// How many clients in a thousand resolve to `alternate`.
    share_permille: AtomicU32,
}

impl Targets {
    /// Which target request `seq` goes to. Each request stands for a different client;
    /// a client moves once its resolver cache expires, so the clients that moved at a
    /// share keep resolving to the new host as the share grows.
    /// `None`: the host is lost, there is nothing to send to.
    fn pick(&self, seq: u32) -> (u8, Option<Arc<Target>>) {
        let share = self.share_permille.load(Ordering::Relaxed);
        match self.alternate.get() {
            Some(alternate) if client_position(seq) < share => (1, Some(Arc::clone(alternate))),
            _ => (
                0,
                self.primary
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone(),
            ),
        }
    }
}

/// A client's place (0..1000) in the order in which clients pick up a DNS change:
/// spread evenly, not by request order.
fn client_position(seq: u32) -> u32 {
    (seq.wrapping_mul(2_654_435_761) >> 16) % 1000
}

/// The read buffer of each connection: enough for a typical response head in one read;
/// hyper's default (8 KiB, growing) costs its size in every request in flight, and a
/// monitor against a stalled host has up to `rate × timeout` of them (issue 21).
const READ_BUFFER: usize = 2048;

/// Where requests of one resolution go: hyper's client (its connection pool), without
/// the layers a general client adds (redirects, retries, proxies), which a monitor never
/// uses and which cost memory in every request in flight.
#[derive(Debug)]
struct Target {
    host: String,
    client: Client<HttpConnector, Full<Bytes>>,
    /// The host's address and the path: requests connect to the address itself.
    uri: hyper::Uri,
    /// The virtual host's name, sent as `Host` (else the address is).
    host_header: Option<HeaderValue>,
}

impl Target {
    fn new(
        monitor: &str,
        host: &str,
        targets: &Targets,
        target: SocketAddr,
    ) -> Result<Target, MonitorError> {
        let http = &targets.http;
        let problem = |problem: String| MonitorError::Client {
            monitor: monitor.to_string(),
            problem,
        };
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_timer(TokioTimer::new())
            .http1_read_buf_exact_size(READ_BUFFER);
        if targets.connection == Connection::New {
            // One connection per request, like independent visitors: a reused
            // connection that the server closes as the next request goes out (a
            // graceful reload does that) would count a failure no real visitor sees.
            builder.pool_max_idle_per_host(0);
        }
        let uri = format!("http://{target}{}", http.path)
            .parse()
            .map_err(|e| problem(format!("path `{}`: {e}", http.path)))?;
        let host_header = match &http.vhost {
            Some(name) if http.port == 80 => Some(name.clone()),
            Some(name) => Some(format!("{name}:{}", http.port)),
            None => None,
        }
        .map(|name| {
            HeaderValue::from_str(&name).map_err(|e| problem(format!("vhost `{name}`: {e}")))
        })
        .transpose()?;
        Ok(Target {
            host: host.to_string(),
            client: builder.build(connector),
            uri,
            host_header,
        })
    }
}

#[derive(Debug)]
struct Request {
    targets: Arc<Targets>,
    method: hyper::Method,
    status: u16,
    body_contains: Vec<String>,
    marker: Option<String>,
    /// A writer's form field for its token.
    token_field: Option<String>,
    token_prefix: String,
}

async fn schedule(
    request: Arc<Request>,
    mut aggregate: Aggregate,
    tally: Arc<Tally>,
    started: Instant,
    interval: Duration,
    max_in_flight: usize,
    stop: CancellationToken,
) -> Aggregate {
    let mut in_flight: JoinSet<Sample> = JoinSet::new();
    let mut sent: u32 = 0;
    loop {
        let due = started + interval * sent;
        tokio::select! {
            () = stop.cancelled() => break,
            Some(done) = in_flight.join_next() => {
                if let Ok(sample) = done {
                    tally.record(sample, &mut aggregate);
                }
            }
            () = tokio::time::sleep_until(due.into()) => {
                let scheduled = due - started;
                let seq = sent;
                sent += 1;
                tally.due.fetch_add(1, Ordering::Relaxed);
                if in_flight.len() >= max_in_flight {
                    let error = Some("not sent: too many requests still unanswered".into());
                    let via = request.targets.pick(seq).0;
                    let sample = Sample::failed(scheduled, Duration::ZERO, seq, via, error);
                    tally.record(sample, &mut aggregate);
                    continue;
                }
                // Shared, not copied: this runs hundreds of times a second.
                in_flight.spawn(send(Arc::clone(&request), due, scheduled, seq));
            }
        }
    }
    while let Some(done) = in_flight.join_next().await {
        if let Ok(sample) = done {
            tally.record(sample, &mut aggregate);
        }
    }
    aggregate
}

async fn send(request: Arc<Request>, due: Instant, scheduled: Duration, seq: u32) -> Sample {
    let (via, target) = request.targets.pick(seq);
    let Some(target) = target else {
        let error = format!(
            "host `{}` is lost: nothing answers",
            request.targets.primary_host
        );
        return Sample::failed(scheduled, due.elapsed(), seq, via, Some(error));
    };
    let mut builder = hyper::Request::builder()
        .method(request.method.clone())
        .uri(target.uri.clone());
    if let Some(name) = &target.host_header {
        builder = builder.header(header::HOST, name.clone());
    }
    if request.targets.connection == Connection::New {
        // The server closes first, so it, not the prober, keeps each connection's
        // TIME_WAIT: one new connection per request would otherwise use up the
        // prober's local ports within a minute at a few hundred requests a second.
        builder = builder.header(header::CONNECTION, "close");
    }
    let body = match &request.token_field {
        Some(field) => {
            builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Full::new(Bytes::from(format!(
                "{field}={}{seq}",
                request.token_prefix
            )))
        }
        None => Full::new(Bytes::new()),
    };
    // Failed until the whole answer is in and checked.
    let mut sample = Sample::failed(scheduled, Duration::ZERO, seq, via, None);
    let outgoing = match builder.body(body) {
        Ok(outgoing) => outgoing,
        Err(e) => {
            sample.error = Some(format!("cannot make the request: {e}"));
            sample.latency = due.elapsed();
            return sample;
        }
    };
    // The whole exchange, to the last byte of the body, within the timeout; what the
    // answer said so far is kept when time runs out.
    let keep = !request.body_contains.is_empty();
    let mut body = Vec::new();
    let exchange = async {
        let response = target
            .client
            .request(outgoing)
            .await
            .map_err(|e| crate::words::root_cause(&e))?;
        sample.status = Some(response.status().as_u16());
        sample.served_by = request.marker.as_ref().and_then(|name| {
            response
                .headers()
                .get(name.as_str())
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        });
        // To the last byte, as a visitor waits for it; kept only as far as the
        // expected text needs it.
        let mut incoming = response.into_body();
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|e| format!("body: {}", crate::words::root_cause(&e)))?;
            if let (true, Some(chunk)) = (keep, frame.data_ref()) {
                let room = crate::probe::MAX_BODY.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
        }
        Ok::<(), String>(())
    };
    match tokio::time::timeout(request.targets.http.timeout, exchange).await {
        Err(_) => {
            sample.timed_out = true;
            sample.error = Some(if sample.status.is_some() {
                "no complete answer in time".to_string()
            } else {
                "no answer in time".to_string()
            });
        }
        Ok(Err(error)) => sample.error = Some(error),
        Ok(Ok(())) => {
            let status = sample.status.unwrap_or_default();
            let text = String::from_utf8_lossy(&body);
            let body_ok = request
                .body_contains
                .iter()
                .all(|s| text.contains(s.as_str()));
            sample.ok = status == request.status && body_ok;
            if !sample.ok {
                sample.error = Some(if status == request.status {
                    "the body lacks the expected text".to_string()
                } else {
                    format!("answered {status}, expected {}", request.status)
                });
            }
        }
    }
    sample.latency = due.elapsed();
    sample
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{HttpExpect, HttpProbe};

    fn targets() -> Targets {
        let http = HttpProbe {
            host: "old".into(),
            port: 80,
            path: "/".into(),
            vhost: Some("www.example.test".into()),
            method: HttpMethod::Get,
            timeout: Duration::from_secs(1),
            expect: HttpExpect::default(),
        };
        let targets = Targets {
            http,
            connection: Connection::New,
            primary_host: "old".into(),
            primary: RwLock::new(None),
            alternate: OnceLock::new(),
            share_permille: AtomicU32::new(0),
        };
        let old = Target::new("m", "old", &targets, "10.0.0.2:80".parse().unwrap()).unwrap();
        *targets.primary.write().unwrap() = Some(Arc::new(old));
        targets
    }

    fn moved(targets: &Targets) -> Vec<u32> {
        (0..10_000)
            .filter(|seq| targets.pick(*seq).0 == 1)
            .collect()
    }

    #[test]
    fn a_dns_switch_moves_a_growing_share_of_clients_for_good() {
        let targets = targets();
        targets.share_permille.store(1000, Ordering::Relaxed);
        // Before the switch target is known, everyone resolves to the old host.
        assert!(moved(&targets).is_empty());
        let new = Target::new("m", "new", &targets, "10.0.0.3:80".parse().unwrap()).unwrap();
        assert_eq!(new.uri, "http://10.0.0.3:80/");
        assert_eq!(new.host_header.as_ref().unwrap(), "www.example.test");
        targets.alternate.set(Arc::new(new)).unwrap();
        let mut before: Vec<u32> = Vec::new();
        for share in [0, 100, 500, 900, 1000] {
            targets.share_permille.store(share, Ordering::Relaxed);
            let now = moved(&targets);
            // Spread over the requests, not in request order: about the share, ±2 %.
            let expected = f64::from(share) * 10.0;
            assert!(
                (now.len() as f64 - expected).abs() <= 200.0,
                "{share}‰: {} moved",
                now.len()
            );
            // A client that moved keeps resolving to the new host.
            assert!(before.iter().all(|seq| now.contains(seq)), "{share}‰");
            before = now;
        }
        assert_eq!(before.len(), 10_000);
    }

    #[test]
    fn a_lost_host_gets_no_requests_until_it_is_back() {
        let monitor = stopped_monitor();
        assert!(monitor.targets.pick(0).1.is_some());
        monitor.host_lost("other");
        assert!(monitor.targets.pick(0).1.is_some());
        monitor.host_lost("old");
        assert!(monitor.targets.pick(0).1.is_none());
        monitor
            .host_back("old", "10.0.0.9:80".parse().unwrap())
            .unwrap();
        let target = monitor.targets.pick(0).1.unwrap();
        assert_eq!(target.host, "old");
    }

    /// A monitor whose sending task never started, for its targets.
    fn stopped_monitor() -> RunningMonitor {
        RunningMonitor {
            name: "m".into(),
            rate: 1,
            started: Instant::now(),
            targets: Arc::new(targets()),
            tally: Arc::new(Tally::default()),
            boundaries: Boundaries::default(),
            stop: CancellationToken::new(),
            task: None,
        }
    }

    /// A server on the loopback that answers every request with its headers at once and
    /// its five-byte body after `body_after`.
    async fn slow_body_server(body_after: Duration) -> SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n";
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.flush().await;
                    tokio::time::sleep(body_after).await;
                    let _ = stream.write_all(b"hello").await;
                });
            }
        });
        address
    }

    fn monitor_of(timeout: Duration) -> Monitor {
        Monitor {
            name: "m".into(),
            http: crate::scenario::HttpProbe {
                host: "web".into(),
                port: 80,
                path: "/".into(),
                vhost: None,
                method: HttpMethod::Get,
                timeout,
                expect: crate::scenario::HttpExpect::default(),
            },
            rate: 10,
            marker_header: None,
            writes: None,
            connection: Connection::New,
        }
    }

    #[tokio::test]
    async fn latency_runs_to_the_last_byte_and_timeouts_have_their_own_count() {
        // The body comes 300 ms after the headers: that is what a visitor waits.
        let address = slow_body_server(Duration::from_millis(300)).await;
        let running = start(&monitor_of(Duration::from_secs(2)), address).unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let report = running.stop().await;
        assert!(report.sent >= 3, "{report:?}");
        assert_eq!((report.failed, report.timeouts), (0, 0), "{report:?}");
        let latency = report.latency.unwrap();
        assert!(latency.p50_ms >= 300.0, "{latency:?}");

        // With a 100 ms timeout every request times out, headers or not.
        let running = start(&monitor_of(Duration::from_millis(100)), address).unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let report = running.stop().await;
        assert!(report.sent >= 3, "{report:?}");
        assert_eq!(report.failed, report.sent, "{report:?}");
        assert_eq!(report.timeouts, report.sent, "{report:?}");
        assert!(report.latency.is_none());
        assert_eq!(
            report.unavailability_windows[0].first_error,
            "no complete answer in time"
        );
    }

    /// A server on the loopback that keeps connections open and answers each request on
    /// them; it counts the connections it accepted.
    async fn keep_alive_server() -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let mut pending = Vec::new();
                    let mut buffer = [0u8; 1024];
                    loop {
                        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            let request = String::from_utf8_lossy(&pending[..end]).to_lowercase();
                            pending.drain(..end + 4);
                            let close = request.contains("connection: close");
                            let head = if close { "Connection: close\r\n" } else { "" };
                            let answer =
                                format!("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n{head}\r\nhello");
                            if stream.write_all(answer.as_bytes()).await.is_err() || close {
                                return;
                            }
                        }
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&buffer[..n]),
                        }
                    }
                });
            }
        });
        (address, accepted)
    }

    #[tokio::test]
    async fn keep_alive_clients_reuse_connections_and_new_ones_do_not() {
        for (connection, reused) in [(Connection::New, false), (Connection::KeepAlive, true)] {
            let (address, accepted) = keep_alive_server().await;
            let mut monitor = monitor_of(Duration::from_secs(2));
            monitor.rate = 50;
            monitor.connection = connection;
            let running = start(&monitor, address).unwrap();
            tokio::time::sleep(Duration::from_millis(400)).await;
            let report = running.stop().await;
            let accepted = accepted.load(Ordering::Relaxed) as u64;
            assert_eq!(report.failed, 0, "{connection:?}: {report:?}");
            assert!(report.sent >= 10, "{connection:?}: {report:?}");
            if reused {
                // Sequential requests share one connection; on a loaded machine a stall
                // lets a few fall due at once, each needing a connection of its own.
                assert!(
                    accepted * 2 < report.sent,
                    "{connection:?}: {accepted} connections for {}",
                    report.sent
                );
            } else {
                assert_eq!(accepted, report.sent, "{connection:?}");
            }
        }
    }

    #[test]
    fn tokens_name_the_monitor_and_the_request() {
        assert_eq!(token("orders", 42), "rh-orders-42");
    }
}
