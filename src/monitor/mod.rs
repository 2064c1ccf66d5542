//! Continuous monitors: an open-loop HTTP prober. Requests go out on a fixed schedule
//! whatever the answers do, each timed from its *scheduled* send time, so a stall or an
//! outage shows up as measured unavailability and latency instead of silently slowing
//! the prober down (coordinated omission).

mod analysis;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use analysis::{MonitorReport, UnavailabilityWindow, analyse};

use crate::scenario::{HttpMethod, Monitor};

/// The outcome of one scheduled request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// When it was due, from the monitor's start.
    pub scheduled: Duration,
    /// From the scheduled time to the end of the response (or the failure).
    pub latency: Duration,
    pub ok: bool,
    pub status: Option<u16>,
    /// The value of the monitor's marker header: which host served.
    pub served_by: Option<String>,
    pub error: Option<String>,
}

/// A monitor sending requests in the background until stopped.
#[derive(Debug)]
pub struct RunningMonitor {
    pub name: String,
    rate: u32,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<Vec<Sample>>>,
}

impl RunningMonitor {
    /// Stop sending, wait for the requests in flight, and analyse what was seen.
    pub async fn stop(mut self) -> MonitorReport {
        self.stop.cancel();
        let samples = match self.task.take() {
            Some(task) => task.await.unwrap_or_default(),
            None => Vec::new(),
        };
        analyse(&self.name, self.rate, &samples)
    }
}

impl Drop for RunningMonitor {
    fn drop(&mut self) {
        // A monitor dropped without `stop` (the run was cancelled) must not keep sending.
        self.stop.cancel();
    }
}

/// Start a monitor against a host at `address`.
pub fn start(monitor: &Monitor, address: IpAddr) -> Result<RunningMonitor, String> {
    let http = &monitor.http;
    let target = SocketAddr::new(address, http.port);
    // One connection per request, like independent visitors: a reused keep-alive
    // connection that the server closes as the next request goes out (a graceful reload
    // does that) would count a failure no real visitor sees, since browsers retry those.
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(http.timeout)
        .pool_max_idle_per_host(0);
    let url = match &http.vhost {
        Some(name) => {
            builder = builder.resolve(name, target);
            format!("http://{name}:{}{}", http.port, http.path)
        }
        None => format!("http://{target}{}", http.path),
    };
    let client = builder
        .build()
        .map_err(|e| format!("cannot set up monitor `{}`: {e}", monitor.name))?;
    let request = Request {
        client,
        url,
        method: match http.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Head => reqwest::Method::HEAD,
        },
        status: http.expect.status,
        body_contains: http.expect.body_contains.clone(),
        marker: monitor.marker_header.clone(),
    };
    let stop = CancellationToken::new();
    let interval = Duration::from_secs_f64(1.0 / f64::from(monitor.rate.max(1)));
    // Requests in flight are capped, or a hung server would grow them without bound;
    // one over the cap counts as failed at its scheduled time: the prober stays open-loop.
    let max_in_flight =
        ((http.timeout.as_secs_f64() / interval.as_secs_f64()) as usize + 16).min(20_000);
    let task = tokio::spawn(schedule(
        std::sync::Arc::new(request),
        interval,
        max_in_flight,
        stop.clone(),
    ));
    Ok(RunningMonitor {
        name: monitor.name.clone(),
        rate: monitor.rate,
        stop,
        task: Some(task),
    })
}

#[derive(Debug)]
struct Request {
    client: reqwest::Client,
    url: String,
    method: reqwest::Method,
    status: u16,
    body_contains: Vec<String>,
    marker: Option<String>,
}

async fn schedule(
    request: std::sync::Arc<Request>,
    interval: Duration,
    max_in_flight: usize,
    stop: CancellationToken,
) -> Vec<Sample> {
    let started = Instant::now();
    let mut in_flight: JoinSet<Sample> = JoinSet::new();
    let mut samples = Vec::new();
    let mut sent: u32 = 0;
    loop {
        let due = started + interval * sent;
        tokio::select! {
            () = stop.cancelled() => break,
            Some(done) = in_flight.join_next() => {
                if let Ok(sample) = done {
                    samples.push(sample);
                }
            }
            () = tokio::time::sleep_until(due.into()) => {
                let scheduled = due - started;
                sent += 1;
                if in_flight.len() >= max_in_flight {
                    samples.push(Sample {
                        scheduled,
                        latency: Duration::ZERO,
                        ok: false,
                        status: None,
                        served_by: None,
                        error: Some("not sent: too many requests still unanswered".into()),
                    });
                    continue;
                }
                // Shared, not copied: this runs hundreds of times a second.
                in_flight.spawn(send(std::sync::Arc::clone(&request), due, scheduled));
            }
        }
    }
    while let Some(done) = in_flight.join_next().await {
        if let Ok(sample) = done {
            samples.push(sample);
        }
    }
    samples.sort_by_key(|s| s.scheduled);
    samples
}

async fn send(request: std::sync::Arc<Request>, due: Instant, scheduled: Duration) -> Sample {
    let result = request
        .client
        .request(request.method.clone(), &request.url)
        .send()
        .await;
    let mut sample = Sample {
        scheduled,
        latency: Duration::ZERO,
        ok: false,
        status: None,
        served_by: None,
        error: None,
    };
    match result {
        Ok(response) => {
            let status = response.status().as_u16();
            sample.status = Some(status);
            sample.served_by = request.marker.as_ref().and_then(|name| {
                response
                    .headers()
                    .get(name.as_str())
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            });
            let body_ok = if request.body_contains.is_empty() {
                true
            } else {
                match response.text().await {
                    Ok(body) => request
                        .body_contains
                        .iter()
                        .all(|s| body.contains(s.as_str())),
                    Err(e) => {
                        sample.error = Some(format!("body: {e}"));
                        false
                    }
                }
            };
            sample.ok = status == request.status && body_ok;
            if !sample.ok && sample.error.is_none() {
                sample.error = Some(format!("answered {status}, expected {}", request.status));
            }
        }
        Err(e) => {
            let mut cause: &dyn std::error::Error = &e;
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            sample.error = Some(if e.is_timeout() {
                "no answer in time".to_string()
            } else {
                cause.to_string()
            });
        }
    }
    sample.latency = due.elapsed();
    sample
}

/// How many samples each host served, by marker value.
pub fn served_by(samples: &[Sample]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for sample in samples.iter().filter(|s| s.ok) {
        let key = sample
            .served_by
            .clone()
            .unwrap_or_else(|| "(no marker)".into());
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}
