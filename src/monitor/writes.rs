//! Write tracking: the tokens a writer monitor sent, checked against the tokens the
//! databases hold once it stops. Lost writes were acknowledged and are missing where
//! the site is served from after the move; split writes reached the old database
//! after the cutover, so two databases took writes at once.

use std::collections::HashSet;
use std::time::Duration;

use super::aggregate::{Write, WriteLog};
use super::token;
use crate::model::{WriteExample, WritesReport};

/// Examples kept for each kind of problem.
const EXAMPLES: usize = 5;

/// Compare what a writer monitor sent with what the databases hold. `serving` and
/// `old` are the token listings (or why they could not be had); `switch_at` is the
/// cutover moment from the monitor's start.
pub fn check_writes(
    monitor: &str,
    log: &WriteLog,
    hosts: &[String],
    serving: Result<HashSet<String>, String>,
    old: Option<Result<HashSet<String>, String>>,
    switch_at: Option<Duration>,
) -> WritesReport {
    let example = |write: &Write| WriteExample {
        token: token(monitor, write.seq),
        sent_at_ms: write.scheduled.as_millis() as u64,
        status: write.status,
        client_host: hosts
            .get(usize::from(write.via))
            .cloned()
            .unwrap_or_default(),
        served_by: write.served_by.map(str::to_string),
    };
    let mut report = WritesReport {
        sent: log.sent(),
        acknowledged: log.iter().filter(|w| w.acknowledged).count() as u64,
        stored: None,
        stored_old: None,
        lost: 0,
        lost_examples: Vec::new(),
        split: 0,
        split_examples: Vec::new(),
        switch_at_ms: switch_at.map(|at| at.as_millis() as u64),
        problems: Vec::new(),
    };
    match serving {
        Ok(stored) => {
            report.stored = Some(
                log.iter()
                    .filter(|w| stored.contains(&token(monitor, w.seq)))
                    .count() as u64,
            );
            for write in log
                .iter()
                .filter(|w| w.acknowledged && !stored.contains(&token(monitor, w.seq)))
            {
                report.lost += 1;
                if report.lost_examples.len() < EXAMPLES {
                    report.lost_examples.push(example(&write));
                }
            }
        }
        Err(why) => report.problems.push(format!(
            "lost writes not measured: listing the serving database failed: {why}"
        )),
    }
    match (old, switch_at) {
        (None, _) => {}
        (Some(Err(why)), _) => report.problems.push(format!(
            "split writes not measured: listing the old database failed: {why}"
        )),
        (Some(Ok(stored_old)), switch_at) => {
            report.stored_old = Some(
                log.iter()
                    .filter(|w| stored_old.contains(&token(monitor, w.seq)))
                    .count() as u64,
            );
            match switch_at {
                None => report.problems.push(
                    "split writes not measured: no cutover or DNS switch happened while the monitor ran"
                        .into(),
                ),
                Some(at) => {
                    for write in log.iter().filter(|w| {
                        w.scheduled >= at && stored_old.contains(&token(monitor, w.seq))
                    }) {
                        report.split += 1;
                        if report.split_examples.len() < EXAMPLES {
                            report.split_examples.push(example(&write));
                        }
                    }
                }
            }
        }
    }
    report
}

/// The tokens in a listing's output: one a line, blanks ignored.
pub fn parse_tokens(output: &str) -> HashSet<String> {
    output
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{Aggregate, Phases, Sample, aggregate};

    /// 10 writes a second for 2 s; 5 to 7 failed; the cutover is at 1 s.
    fn writes() -> Aggregate {
        let samples: Vec<Sample> = (0..20)
            .map(|i| Sample {
                scheduled: Duration::from_millis(u64::from(i) * 100),
                latency: Duration::from_millis(3),
                ok: !(5..8).contains(&i),
                timed_out: false,
                status: Some(if (5..8).contains(&i) { 503 } else { 200 }),
                served_by: Some(if i < 10 { "old".into() } else { "new".into() }),
                error: None,
                seq: i,
                via: 0,
            })
            .collect();
        aggregate(10, &samples, &Phases::default(), true)
    }

    fn tokens(range: impl Iterator<Item = u32>) -> HashSet<String> {
        range.map(|i| token("w", i)).collect()
    }

    #[test]
    fn acknowledged_writes_missing_after_the_move_are_lost() {
        // The dump was taken after write 2: 3 and 4 were acknowledged by the old host
        // and never reached the new database; 5–7 failed and do not count.
        let serving = tokens((0..3).chain(8..20));
        let report = check_writes(
            "w",
            writes().writes().unwrap(),
            &["old".into()],
            Ok(serving),
            None,
            Some(Duration::from_secs(1)),
        );
        assert_eq!((report.sent, report.acknowledged), (20, 17));
        assert_eq!(report.stored, Some(15));
        assert_eq!(report.lost, 2);
        let lost: Vec<&str> = report
            .lost_examples
            .iter()
            .map(|e| e.token.as_str())
            .collect();
        assert_eq!(lost, ["rh-w-3", "rh-w-4"]);
        assert_eq!(report.lost_examples[0].sent_at_ms, 300);
        assert!(!report.split_measured());
    }

    #[test]
    fn writes_reaching_the_old_database_after_the_cutover_are_split() {
        let serving = tokens((0..20).filter(|i| *i != 12 && *i != 15));
        // 12 and 15 went to the old database after the cutover at 1 s.
        let old = tokens((0..10).chain([12, 15]));
        let report = check_writes(
            "w",
            writes().writes().unwrap(),
            &["old".into()],
            Ok(serving),
            Some(Ok(old)),
            Some(Duration::from_secs(1)),
        );
        assert_eq!(report.split, 2);
        assert_eq!(report.lost, 2);
        assert_eq!(report.split_examples[1].token, "rh-w-15");
        assert!(report.split_measured() && report.lost_measured());
    }

    #[test]
    fn a_failed_listing_is_not_a_zero() {
        let report = check_writes(
            "w",
            writes().writes().unwrap(),
            &["old".into()],
            Err("mysql: command not found".into()),
            Some(Ok(HashSet::new())),
            None,
        );
        assert!(!report.lost_measured() && !report.split_measured());
        assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
        assert!(report.problems[0].contains("command not found"));
    }

    #[test]
    fn listings_ignore_blank_lines_and_spaces() {
        assert_eq!(parse_tokens("rh-w-1\n\n  rh-w-2 \n"), tokens(1..3));
    }
}
