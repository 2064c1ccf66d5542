//! A monitor's results taken in as they arrive, so its memory does not grow with how
//! long it runs: latency histograms by segment of the run, the per-second timeline, the
//! longest unavailability windows, counters, and for writers one compact record a write.
//!
//! Results arrive in the order requests end, not the order they were due; they wait in
//! a buffer (as many as are in flight) and are taken in by scheduled time, which is what
//! unavailability windows and the timeline are about.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;

use super::{Phases, Sample};
use crate::model::{
    LatencySummary, MonitorReport, PhaseLatency, PhaseRequests, RequestCounts, TimelineBucket,
    UnavailabilityWindow, WritesReport,
};

/// Unavailability windows kept, longest first.
const WINDOWS_KEPT: usize = 5;
/// Distinct marker values counted by name; the server sets them, so any more are
/// counted together.
const MARKERS_KEPT: usize = 64;
const NO_MARKER: &str = "(no marker)";
const OTHER_MARKER: &str = "(other)";
/// Latency is recorded in microseconds, from 1 µs to an hour.
const HIGHEST_MICROS: u64 = 3_600_000_000;
/// Results waiting for an earlier one beyond this are taken in without it: a result
/// that never comes must not hold the others (and memory) forever.
const MAX_WAITING: usize = 100_000;

/// Where boundaries between segments are: shared by a running monitor (which adds
/// them as the run's moments begin and end) and its aggregate.
pub type Boundaries = Arc<Mutex<Vec<Duration>>>;

/// What a monitor has seen so far, aggregated.
#[derive(Debug)]
pub struct Aggregate {
    interval: Duration,
    /// Results that ended before one due earlier.
    waiting: BTreeMap<u32, Sample>,
    /// The number of the next result to take in.
    next: u32,
    boundaries: Boundaries,
    /// Latency of the successful requests, a histogram for each stretch of time between
    /// two boundaries: the phases of a change are put together from them at the end.
    segments: Vec<Segment>,
    sent: u64,
    failed: u64,
    timeouts: u64,
    /// When the last request taken in was due.
    last: Option<Duration>,
    open_window: Option<UnavailabilityWindow>,
    /// The longest windows, longest first.
    windows: Vec<UnavailabilityWindow>,
    longest_ms: u64,
    markers: Markers,
    /// Successful requests by marker: index 0 none, then [`Markers::names`], then other.
    served: Vec<u64>,
    /// Requests by the target their client resolved the site to.
    clients: BTreeMap<u8, u64>,
    timeline: Vec<TimelineBucket>,
    /// Latencies of the timeline's last second's successful requests.
    second: Vec<Duration>,
    writes: Option<WriteLog>,
}

#[derive(Debug)]
struct Segment {
    start: Duration,
    latency: Option<Histogram<u32>>,
    requests: RequestCounts,
}

impl Segment {
    fn new(start: Duration) -> Segment {
        Segment {
            start,
            latency: None,
            requests: RequestCounts::default(),
        }
    }
}

impl Aggregate {
    /// An empty aggregate for a monitor sending `rate` requests a second; `writes` keeps
    /// a record of each request for checking writes against the databases.
    pub fn new(rate: u32, writes: bool, boundaries: Boundaries) -> Aggregate {
        let interval = interval(rate);
        Aggregate {
            interval,
            waiting: BTreeMap::new(),
            next: 0,
            boundaries,
            segments: vec![Segment::new(Duration::ZERO)],
            sent: 0,
            failed: 0,
            timeouts: 0,
            last: None,
            open_window: None,
            windows: Vec::new(),
            longest_ms: 0,
            markers: Markers::default(),
            served: Vec::new(),
            clients: BTreeMap::new(),
            timeline: Vec::new(),
            second: Vec::new(),
            writes: writes.then(|| WriteLog {
                interval,
                records: Vec::new(),
                markers: Vec::new(),
            }),
        }
    }

    /// Take in one request's outcome, in any order.
    pub fn record(&mut self, sample: Sample) {
        if sample.seq < self.next {
            // Came after the ones due later were taken in without it (see MAX_WAITING).
            self.take(sample, false);
            return;
        }
        self.waiting.insert(sample.seq, sample);
        if self.waiting.len() > MAX_WAITING
            && let Some((&first, _)) = self.waiting.first_key_value()
        {
            self.next = first;
        }
        while let Some(sample) = self.waiting.remove(&self.next) {
            self.next += 1;
            self.take(sample, true);
        }
    }

    /// Take in what is still waiting (the monitor stopped) and close the last second and
    /// the open window.
    pub fn finish(&mut self) {
        for (_, sample) in std::mem::take(&mut self.waiting) {
            self.next = sample.seq + 1;
            self.take(sample, true);
        }
        self.close_second();
        if let (Some(mut window), Some(last)) = (self.open_window.take(), self.last) {
            window.end_ms = (last + self.interval).as_millis() as u64;
            self.keep_window(window);
        }
    }

    /// The writes' records, for checking them against the databases.
    pub fn writes(&self) -> Option<&WriteLog> {
        self.writes.as_ref()
    }

    fn take(&mut self, sample: Sample, in_order: bool) {
        self.sent += 1;
        if !sample.ok {
            self.failed += 1;
        }
        if sample.timed_out {
            self.timeouts += 1;
        }
        *self.clients.entry(sample.via).or_insert(0) += 1;
        let marker = self.markers.index(sample.served_by.as_deref());
        if let Some(log) = &mut self.writes {
            log.put(&sample, marker, &self.markers);
        }
        if in_order {
            self.enter_segments(sample.scheduled);
            self.timeline_at(sample.scheduled);
        }
        let second = sample.scheduled.as_secs() as usize;
        if let Some(bucket) = self.timeline.get_mut(second) {
            if sample.ok {
                bucket.ok += 1;
            } else {
                bucket.failed += 1;
            }
        }
        // The segment the request was due in: the last one, unless it came late.
        let segment = if in_order {
            self.segments.len() - 1
        } else {
            self.segments
                .iter()
                .rposition(|s| s.start <= sample.scheduled)
                .unwrap_or(0)
        };
        if let Some(segment) = self.segments.get_mut(segment) {
            segment.requests += RequestCounts {
                sent: 1,
                failed: u64::from(!sample.ok),
                timeouts: u64::from(sample.timed_out),
            };
        }
        if sample.ok {
            let index = usize::from(marker);
            if self.served.len() <= index {
                self.served.resize(index + 1, 0);
            }
            self.served[index] += 1;
            if let Some(segment) = self.segments.get_mut(segment) {
                let micros = (sample.latency.as_micros() as u64).clamp(1, HIGHEST_MICROS);
                // Resizable and within its bounds: recording cannot fail.
                let _ = segment.latency.get_or_insert_with(histogram).record(micros);
            }
            if in_order && second + 1 == self.timeline.len() {
                self.second.push(sample.latency);
            }
        }
        if in_order {
            self.window(&sample);
            self.last = Some(
                self.last
                    .map_or(sample.scheduled, |l| l.max(sample.scheduled)),
            );
        }
    }

    /// Start the segments whose boundary `scheduled` has reached.
    fn enter_segments(&mut self, scheduled: Duration) {
        let boundaries = self.boundaries.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(&start) = boundaries.get(self.segments.len() - 1) {
            if start > scheduled {
                break;
            }
            self.segments.push(Segment::new(start));
        }
    }

    /// Make the timeline reach `scheduled`'s second, closing the seconds before it.
    fn timeline_at(&mut self, scheduled: Duration) {
        let second = scheduled.as_secs();
        while self.timeline.len() as u64 <= second {
            self.close_second();
            self.timeline.push(TimelineBucket {
                second: self.timeline.len() as u64,
                ok: 0,
                failed: 0,
                p50_ms: None,
                max_ms: None,
            });
        }
    }

    /// The median and highest latency of the timeline's last second.
    fn close_second(&mut self) {
        let Some(bucket) = self.timeline.last_mut() else {
            return;
        };
        let ms = |d: Duration| (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
        self.second.sort_unstable();
        bucket.p50_ms = self.second.get(self.second.len() / 2).copied().map(ms);
        bucket.max_ms = self.second.last().copied().map(ms);
        self.second.clear();
    }

    /// An unavailability window runs from the first failed request's scheduled time to
    /// the next successful one's.
    fn window(&mut self, sample: &Sample) {
        let at = sample.scheduled.as_millis() as u64;
        match (&mut self.open_window, sample.ok) {
            (None, false) => {
                self.open_window = Some(UnavailabilityWindow {
                    start_ms: at,
                    end_ms: at,
                    failed_requests: 1,
                    first_error: sample.error.clone().unwrap_or_default(),
                });
            }
            (Some(window), false) => window.failed_requests += 1,
            (Some(_), true) => {
                if let Some(mut window) = self.open_window.take() {
                    window.end_ms = at;
                    self.keep_window(window);
                }
            }
            (None, true) => {}
        }
    }

    /// Keep the longest windows, longest first; of equal ones, the earliest.
    fn keep_window(&mut self, window: UnavailabilityWindow) {
        let length = window.length_ms();
        self.longest_ms = self.longest_ms.max(length);
        let at = self
            .windows
            .iter()
            .position(|w| w.length_ms() < length)
            .unwrap_or(self.windows.len());
        if at < WINDOWS_KEPT {
            self.windows.insert(at, window);
            self.windows.truncate(WINDOWS_KEPT);
        }
    }

    /// What the report keeps, once [`Aggregate::finish`]ed: `hosts` names the targets
    /// by [`Sample::via`]; the change's start and end, when given, are boundaries.
    pub fn report(
        &self,
        name: &str,
        rate: u32,
        hosts: &[String],
        phases: &Phases,
        writes: Option<WritesReport>,
    ) -> MonitorReport {
        let merged = |keep: &dyn Fn(Duration) -> bool| {
            let mut all: Option<Histogram<u32>> = None;
            for segment in self.segments.iter().filter(|s| keep(s.start)) {
                if let Some(latency) = &segment.latency {
                    match &mut all {
                        Some(all) => {
                            // Same bounds, resizable: adding cannot fail.
                            let _ = all.add(latency);
                        }
                        None => all = Some(latency.clone()),
                    }
                }
            }
            all.as_ref().and_then(summary)
        };
        let counted = |keep: &dyn Fn(Duration) -> bool| {
            let mut all = RequestCounts::default();
            for segment in self.segments.iter().filter(|s| keep(s.start)) {
                all += segment.requests;
            }
            all
        };
        MonitorReport {
            name: name.to_string(),
            rate,
            duration_ms: self
                .last
                .map_or(Duration::ZERO, |last| last + self.interval)
                .as_millis() as u64,
            sent: self.sent,
            failed: self.failed,
            timeouts: self.timeouts,
            longest_unavailability_ms: self.longest_ms,
            unavailability_windows: self.windows.clone(),
            latency: merged(&|_| true),
            served_by: self
                .served
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(index, n)| (self.markers.name(index as u8).to_string(), *n))
                .fold(BTreeMap::new(), |mut map, (name, n)| {
                    *map.entry(name).or_insert(0) += n;
                    map
                }),
            clients: self
                .clients
                .iter()
                .map(|(via, n)| {
                    let host = hosts
                        .get(usize::from(*via))
                        .map_or_else(|| format!("target {via}"), Clone::clone);
                    (host, *n)
                })
                .collect(),
            phases: phases.change.map(|(start, end)| PhaseLatency {
                change_start_ms: start.as_millis() as u64,
                change_end_ms: end.as_millis() as u64,
                before: merged(&|at| at < start),
                during: merged(&|at| at >= start && at < end),
                after: merged(&|at| at >= end),
                requests: Some(PhaseRequests {
                    before: counted(&|at| at < start),
                    during: counted(&|at| at >= start && at < end),
                    after: counted(&|at| at >= end),
                }),
            }),
            marks: phases.marks.clone(),
            writes,
            timeline: self.timeline.clone(),
        }
    }
}

/// The time between two requests at `rate` a second.
pub fn interval(rate: u32) -> Duration {
    Duration::from_secs_f64(1.0 / f64::from(rate.max(1)))
}

fn histogram() -> Histogram<u32> {
    // Resizable: it grows to the highest latency seen, not to an hour up front.
    let mut histogram = Histogram::new(3).expect("3 significant figures are supported");
    histogram.auto(true);
    histogram
}

fn summary(histogram: &Histogram<u32>) -> Option<LatencySummary> {
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

/// The marker values seen, numbered from 1 (0: no marker; `u8::MAX`: one of too many).
#[derive(Debug, Default)]
struct Markers {
    names: Vec<String>,
}

impl Markers {
    fn index(&mut self, value: Option<&str>) -> u8 {
        let Some(value) = value else {
            return 0;
        };
        if let Some(at) = self.names.iter().position(|n| n == value) {
            return at as u8 + 1;
        }
        if self.names.len() < MARKERS_KEPT {
            self.names.push(value.to_string());
            self.names.len() as u8
        } else {
            u8::MAX
        }
    }

    fn name(&self, index: u8) -> &str {
        match index {
            0 => NO_MARKER,
            u8::MAX => OTHER_MARKER,
            n => self
                .names
                .get(usize::from(n) - 1)
                .map_or(OTHER_MARKER, String::as_str),
        }
    }
}

/// One record of four bytes a request of a writer monitor: what the writes' check
/// needs to count lost and split writes and give examples.
#[derive(Debug)]
pub struct WriteLog {
    interval: Duration,
    records: Vec<WriteRecord>,
    /// The marker values, as numbered in the records.
    markers: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default)]
struct WriteRecord {
    /// 0: no answer.
    status: u16,
    marker: u8,
    flags: u8,
}

const SEEN: u8 = 1;
const ACKNOWLEDGED: u8 = 2;
const MOVED: u8 = 4;

/// One write, as the check reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write<'a> {
    pub seq: u32,
    /// When it was due, from the monitor's start.
    pub scheduled: Duration,
    pub acknowledged: bool,
    pub status: Option<u16>,
    /// The target its client resolved the site to ([`Sample::via`]).
    pub via: u8,
    pub served_by: Option<&'a str>,
}

impl WriteLog {
    fn put(&mut self, sample: &Sample, marker: u8, markers: &Markers) {
        let at = sample.seq as usize;
        if self.records.len() <= at {
            self.records.resize(at + 1, WriteRecord::default());
        }
        let mut flags = SEEN;
        if sample.ok {
            flags |= ACKNOWLEDGED;
        }
        if sample.via != 0 {
            flags |= MOVED;
        }
        self.records[at] = WriteRecord {
            status: sample.status.unwrap_or(0),
            marker,
            flags,
        };
        if self.markers.len() < markers.names.len() {
            self.markers.clone_from(&markers.names);
        }
    }

    /// The writes, in the order they were due.
    pub fn iter(&self) -> impl Iterator<Item = Write<'_>> {
        self.records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.flags & SEEN != 0)
            .map(|(seq, r)| Write {
                seq: seq as u32,
                scheduled: self.interval * seq as u32,
                acknowledged: r.flags & ACKNOWLEDGED != 0,
                status: (r.status != 0).then_some(r.status),
                via: u8::from(r.flags & MOVED != 0),
                served_by: match r.marker {
                    0 => None,
                    u8::MAX => Some(OTHER_MARKER),
                    n => Some(
                        self.markers
                            .get(usize::from(n) - 1)
                            .map_or(OTHER_MARKER, String::as_str),
                    ),
                },
            })
    }

    /// How many writes were sent.
    pub fn sent(&self) -> u64 {
        self.iter().count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seq: u32, ok: bool, latency_ms: u64) -> Sample {
        Sample {
            scheduled: Duration::from_millis(u64::from(seq) * 100),
            latency: Duration::from_millis(latency_ms),
            ok,
            timed_out: false,
            status: ok.then_some(200),
            served_by: ok.then(|| "old".into()),
            error: (!ok).then(|| format!("failure {seq}")),
            seq,
            via: 0,
        }
    }

    fn report(aggregate: &mut Aggregate) -> MonitorReport {
        aggregate.finish();
        aggregate.report("m", 10, &[], &Phases::default(), None)
    }

    #[test]
    fn results_ending_out_of_order_are_taken_in_by_scheduled_time() {
        // Fails 10–19 (1.0–2.0 s); the results end in reverse order in blocks of five.
        let samples: Vec<Sample> = (0..40)
            .map(|seq| sample(seq, !(10..20).contains(&seq), 3))
            .collect();
        let mut ordered = Aggregate::new(10, false, Boundaries::default());
        for sample in samples.iter().cloned() {
            ordered.record(sample);
        }
        let mut shuffled = Aggregate::new(10, false, Boundaries::default());
        for block in samples.chunks(5) {
            for sample in block.iter().rev().cloned() {
                shuffled.record(sample);
            }
        }
        let (ordered, shuffled) = (report(&mut ordered), report(&mut shuffled));
        assert_eq!(ordered, shuffled);
        assert_eq!(
            ordered.unavailability_windows,
            [UnavailabilityWindow {
                start_ms: 1000,
                end_ms: 2000,
                failed_requests: 10,
                first_error: "failure 10".into(),
            }]
        );
        assert_eq!(ordered.timeline.len(), 4);
        assert_eq!(
            (ordered.timeline[1].ok, ordered.timeline[1].failed),
            (0, 10)
        );
    }

    #[test]
    fn what_is_kept_does_not_grow_with_the_requests() {
        // An hour at 10 a second with a short failure every minute: the waiting buffer
        // stays empty, five windows are kept, one histogram, one bucket a second.
        let mut aggregate = Aggregate::new(10, false, Boundaries::default());
        for seq in 0..36_000 {
            aggregate.record(sample(seq, seq % 600 >= 3, 2 + u64::from(seq % 7)));
            assert!(aggregate.waiting.is_empty());
        }
        assert_eq!(aggregate.windows.len(), WINDOWS_KEPT);
        assert_eq!(aggregate.segments.len(), 1);
        assert_eq!(aggregate.timeline.len(), 3600);
        assert!(aggregate.second.len() <= 10);
        let report = report(&mut aggregate);
        assert_eq!((report.sent, report.failed), (36_000, 180));
        assert_eq!(report.longest_unavailability_ms, 300);
    }

    #[test]
    fn a_result_that_never_comes_does_not_hold_the_others() {
        let mut aggregate = Aggregate::new(1000, false, Boundaries::default());
        // Request 0 never ends; the others do.
        for seq in 1..=(MAX_WAITING as u32 + 10) {
            aggregate.record(sample(seq, true, 1));
        }
        assert!(aggregate.waiting.is_empty());
        assert_eq!(aggregate.sent, MAX_WAITING as u64 + 10);
        // It ends after all: counted, out of order.
        aggregate.record(sample(0, true, 9000));
        assert_eq!(aggregate.sent, MAX_WAITING as u64 + 11);
    }

    #[test]
    fn segments_start_at_boundaries_added_while_running() {
        let boundaries = Boundaries::default();
        let mut aggregate = Aggregate::new(10, false, Arc::clone(&boundaries));
        for seq in 0..20 {
            aggregate.record(sample(seq, true, 1));
        }
        boundaries.lock().unwrap().push(Duration::from_secs(2));
        for seq in 20..40 {
            aggregate.record(sample(seq, true, 50));
        }
        boundaries.lock().unwrap().push(Duration::from_secs(4));
        for seq in 40..60 {
            aggregate.record(sample(seq, true, 5));
        }
        aggregate.finish();
        let phases = Phases {
            change: Some((Duration::from_secs(2), Duration::from_secs(4))),
            marks: vec![],
        };
        let report = aggregate.report("m", 10, &[], &phases, None);
        let phases = report.phases.unwrap();
        // Three significant figures, as recorded.
        let about = |ms: f64, expected: f64| (ms - expected).abs() < expected / 500.0;
        assert!(about(phases.before.unwrap().max_ms, 1.0));
        assert!(about(phases.during.unwrap().p50_ms, 50.0));
        assert!(about(phases.after.unwrap().max_ms, 5.0));
        assert!(about(report.latency.unwrap().max_ms, 50.0));
        let requests = phases.requests.unwrap();
        assert_eq!(
            (
                requests.before.sent,
                requests.during.sent,
                requests.after.sent
            ),
            (20, 20, 20)
        );
    }

    #[test]
    fn marker_values_beyond_the_kept_ones_are_counted_together() {
        let mut aggregate = Aggregate::new(10, true, Boundaries::default());
        for seq in 0..100 {
            let mut s = sample(seq, true, 1);
            s.served_by = Some(format!("host-{seq}"));
            aggregate.record(s);
        }
        let report = report(&mut aggregate);
        assert_eq!(report.served_by.len(), MARKERS_KEPT + 1);
        assert_eq!(report.served_by[OTHER_MARKER], 100 - MARKERS_KEPT as u64);
        let writes: Vec<Write> = aggregate.writes().unwrap().iter().collect();
        assert_eq!(writes[3].served_by, Some("host-3"));
        assert_eq!(writes[99].served_by, Some(OTHER_MARKER));
        assert_eq!(writes[99].scheduled, Duration::from_millis(9900));
    }
}
