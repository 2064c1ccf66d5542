//! From a monitor's samples to what the report says: failures, unavailability windows,
//! latency percentiles, who served.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::{Sample, WritesReport, served_by};
use crate::model::{
    LatencySummary, MarkReport, MonitorReport, PhaseLatency, TimelineBucket, UnavailabilityWindow,
};

/// When the change happened while the monitor ran, and the moments to mark.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Phases {
    /// From the start of the first cutover or DNS switch to the end of the last one,
    /// from the monitor's start.
    pub change: Option<(Duration, Duration)>,
    pub marks: Vec<MarkReport>,
}

/// Analyse samples sorted by scheduled time.
pub fn analyse(name: &str, rate: u32, samples: &[Sample]) -> MonitorReport {
    analyse_with(name, rate, samples, &[], &Phases::default(), None)
}

/// Analyse samples sorted by scheduled time, with the host names by
/// [`Sample::via`], the change's phases, and the writes' check.
pub fn analyse_with(
    name: &str,
    rate: u32,
    samples: &[Sample],
    hosts: &[String],
    phases: &Phases,
    writes: Option<WritesReport>,
) -> MonitorReport {
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let mut windows = unavailability(samples, interval);
    windows.sort_by_key(|w| std::cmp::Reverse(w.length_ms()));
    let longest = windows.first().map_or(0, UnavailabilityWindow::length_ms);
    windows.truncate(5);
    let duration = samples
        .last()
        .map_or(Duration::ZERO, |s| s.scheduled + interval);
    MonitorReport {
        name: name.to_string(),
        rate,
        duration_ms: duration.as_millis() as u64,
        sent: samples.len() as u64,
        failed: samples.iter().filter(|s| !s.ok).count() as u64,
        longest_unavailability_ms: longest,
        unavailability_windows: windows,
        latency: latency(samples.iter()),
        served_by: served_by(samples),
        clients: clients(samples, hosts),
        phases: phases.change.map(|(start, end)| PhaseLatency {
            change_start_ms: start.as_millis() as u64,
            change_end_ms: end.as_millis() as u64,
            before: latency(samples.iter().filter(|s| s.scheduled < start)),
            during: latency(
                samples
                    .iter()
                    .filter(|s| s.scheduled >= start && s.scheduled < end),
            ),
            after: latency(samples.iter().filter(|s| s.scheduled >= end)),
        }),
        marks: phases.marks.clone(),
        writes,
        timeline: timeline(samples),
    }
}

fn clients(samples: &[Sample], hosts: &[String]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for sample in samples {
        let host = hosts
            .get(usize::from(sample.via))
            .map_or_else(|| format!("target {}", sample.via), Clone::clone);
        *counts.entry(host).or_insert(0) += 1;
    }
    counts
}

fn unavailability(samples: &[Sample], interval: Duration) -> Vec<UnavailabilityWindow> {
    let mut windows = Vec::new();
    let mut open: Option<UnavailabilityWindow> = None;
    for sample in samples {
        let at = sample.scheduled.as_millis() as u64;
        match (&mut open, sample.ok) {
            (None, false) => {
                open = Some(UnavailabilityWindow {
                    start_ms: at,
                    end_ms: at,
                    failed_requests: 1,
                    first_error: sample.error.clone().unwrap_or_default(),
                })
            }
            (Some(window), false) => window.failed_requests += 1,
            (Some(_), true) => {
                let mut window = open.take().expect("a window is open");
                window.end_ms = at;
                windows.push(window);
            }
            (None, true) => {}
        }
    }
    if let (Some(mut window), Some(last)) = (open, samples.last()) {
        window.end_ms = (last.scheduled + interval).as_millis() as u64;
        windows.push(window);
    }
    windows
}

fn latency<'a>(samples: impl Iterator<Item = &'a Sample>) -> Option<LatencySummary> {
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).ok()?;
    for sample in samples.filter(|s| s.ok) {
        let micros = (sample.latency.as_micros() as u64).clamp(1, 3_600_000_000);
        histogram.record(micros).ok()?;
    }
    if histogram.is_empty() {
        return None;
    }
    let ms = |micros: u64| micros as f64 / 1000.0;
    Some(LatencySummary {
        p50_ms: ms(histogram.value_at_quantile(0.5)),
        p99_ms: ms(histogram.value_at_quantile(0.99)),
        p999_ms: ms(histogram.value_at_quantile(0.999)),
        max_ms: ms(histogram.max()),
    })
}

fn timeline(samples: &[Sample]) -> Vec<TimelineBucket> {
    let mut buckets: Vec<TimelineBucket> = Vec::new();
    let mut latencies: Vec<Vec<Duration>> = Vec::new();
    for sample in samples {
        let second = sample.scheduled.as_secs();
        while buckets.len() as u64 <= second {
            buckets.push(TimelineBucket {
                second: buckets.len() as u64,
                ok: 0,
                failed: 0,
                p50_ms: None,
                max_ms: None,
            });
            latencies.push(Vec::new());
        }
        let bucket = &mut buckets[second as usize];
        if sample.ok {
            bucket.ok += 1;
            latencies[second as usize].push(sample.latency);
        } else {
            bucket.failed += 1;
        }
    }
    let ms = |d: Duration| (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    for (bucket, mut seen) in buckets.iter_mut().zip(latencies) {
        seen.sort_unstable();
        bucket.p50_ms = seen.get(seen.len() / 2).copied().map(ms);
        bucket.max_ms = seen.last().copied().map(ms);
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10 requests/s for 6 s; failing from 1.5 s to 4.0 s (exclusive).
    fn samples() -> Vec<Sample> {
        (0..60)
            .map(|i| {
                let at = Duration::from_millis(i * 100);
                let ok = !(1500..4000).contains(&(i * 100));
                Sample {
                    scheduled: at,
                    latency: Duration::from_millis(if ok { 2 + i % 3 } else { 1 }),
                    ok,
                    status: ok.then_some(200),
                    served_by: ok.then(|| if i < 30 { "old".into() } else { "new".into() }),
                    error: (!ok).then(|| "Connection refused".into()),
                    seq: i as u32,
                    via: u8::from(i >= 40),
                }
            })
            .collect()
    }

    #[test]
    fn an_outage_is_one_window_from_first_failure_to_next_success() {
        let report = analyse("site", 10, &samples());
        assert_eq!(report.sent, 60);
        assert_eq!(report.failed, 25);
        assert_eq!(report.longest_unavailability_ms, 2500);
        assert_eq!(
            report.unavailability_windows,
            [UnavailabilityWindow {
                start_ms: 1500,
                end_ms: 4000,
                failed_requests: 25,
                first_error: "Connection refused".into()
            }]
        );
        assert_eq!(report.duration_ms, 6000);
    }

    #[test]
    fn an_outage_until_the_end_lasts_until_the_end() {
        let mut samples = samples();
        samples.truncate(30);
        let report = analyse("site", 10, &samples);
        assert_eq!(report.unavailability_windows[0].start_ms, 1500);
        assert_eq!(report.unavailability_windows[0].end_ms, 3000);
    }

    #[test]
    fn latency_served_by_and_timeline() {
        let report = analyse("site", 10, &samples());
        let latency = report.latency.unwrap();
        // Three significant digits, as recorded.
        assert!((latency.max_ms - 4.0).abs() < 0.01, "{latency:?}");
        assert!((latency.p50_ms - 3.0).abs() < 0.01, "{latency:?}");
        assert_eq!(report.served_by["old"], 15);
        assert_eq!(report.served_by["new"], 20);
        assert_eq!(report.timeline.len(), 6);
        assert_eq!(
            report.timeline[2],
            TimelineBucket {
                second: 2,
                ok: 0,
                failed: 10,
                p50_ms: None,
                max_ms: None,
            }
        );
        assert_eq!(
            report.timeline[1],
            TimelineBucket {
                second: 1,
                ok: 5,
                failed: 5,
                p50_ms: Some(3.0),
                max_ms: Some(4.0),
            }
        );
    }

    #[test]
    fn latency_by_phase_and_clients_by_host() {
        let mut samples = samples();
        for sample in &mut samples[45..] {
            sample.latency = Duration::from_millis(50);
        }
        let phases = Phases {
            change: Some((Duration::from_secs(1), Duration::from_millis(4500))),
            marks: vec![],
        };
        let hosts = ["old".to_string(), "new".to_string()];
        let report = analyse_with("site", 10, &samples, &hosts, &phases, None);
        let phases = report.phases.unwrap();
        assert_eq!((phases.change_start_ms, phases.change_end_ms), (1000, 4500));
        assert!(phases.before.unwrap().max_ms < 5.0);
        assert!((phases.after.unwrap().p50_ms - 50.0).abs() < 0.1);
        // Between 1.0 and 4.5 s only 1.0–1.5 and 4.0–4.5 succeeded.
        assert!(phases.during.is_some());
        assert_eq!(report.clients["old"], 40);
        assert_eq!(report.clients["new"], 20);
    }

    #[test]
    fn no_samples_no_windows() {
        let report = analyse("site", 200, &[]);
        assert_eq!((report.sent, report.longest_unavailability_ms), (0, 0));
        assert!(report.latency.is_none());
    }
}
