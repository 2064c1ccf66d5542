//! From a monitor's samples to what the report says: failures, unavailability windows,
//! latency percentiles, who served. A running monitor aggregates as results arrive
//! ([`Aggregate`]); these take a list of samples the same way (tests, examples).

use std::time::Duration;

use super::aggregate::{Aggregate, Boundaries};
use super::{Sample, WritesReport};
use crate::model::{MarkReport, MonitorReport};

/// When the change happened while the monitor ran, and the moments to mark.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Phases {
    /// From the start of the first cutover or DNS switch to the end of the last one,
    /// from the monitor's start.
    pub change: Option<(Duration, Duration)>,
    pub marks: Vec<MarkReport>,
}

/// Analyse a monitor's samples, in any order.
pub fn analyse(name: &str, rate: u32, samples: &[Sample]) -> MonitorReport {
    analyse_with(name, rate, samples, &[], &Phases::default(), None)
}

/// Analyse a monitor's samples, in any order, with the host names by
/// [`Sample::via`], the change's phases, and the writes' check.
pub fn analyse_with(
    name: &str,
    rate: u32,
    samples: &[Sample],
    hosts: &[String],
    phases: &Phases,
    writes: Option<WritesReport>,
) -> MonitorReport {
    aggregate(rate, samples, phases, false).report(name, rate, hosts, phases, writes)
}

/// Take in a monitor's samples, in any order, as the running monitor does, with the
/// change's start and end as boundaries; `writes` keeps the writes' records.
pub fn aggregate(rate: u32, samples: &[Sample], phases: &Phases, writes: bool) -> Aggregate {
    let boundaries: Boundaries = Boundaries::default();
    if let Some((start, end)) = phases.change {
        boundaries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend([start, end]);
    }
    let mut aggregate = Aggregate::new(rate, writes, boundaries);
    for sample in samples {
        aggregate.record(sample.clone());
    }
    aggregate.finish();
    aggregate
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TimelineBucket, UnavailabilityWindow};

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
                    timed_out: false,
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
