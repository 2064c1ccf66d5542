//! Backups taken by `backup` steps: one taken now, then, with `every`, again and again
//! in the background until the host is lost or the run ends, like cron. Each copy lands
//! in a directory of its own on the store host, so a copy cut short by the loss never
//! spoils the one before it. Also the recovery-point arithmetic of a restore.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::scenario::Command;

/// Where the store host keeps the copies: `STORE_DIR/<host>/<number>/<name of path>`.
pub(crate) const STORE_DIR: &str = "/var/lib/rehearse-backups";

/// One backup attempt.
#[derive(Debug, Clone)]
pub(crate) struct BackupRecord {
    /// Numbered from 1 per schedule.
    pub number: u32,
    pub started: Instant,
    pub finished: Instant,
    /// Bytes copied to the store, or why the backup did not reach it.
    pub outcome: Result<u64, String>,
}

/// The backups of one path of one host kept on one store host.
#[derive(Debug)]
pub(crate) struct BackupSchedule {
    pub host: String,
    pub store: String,
    pub path: String,
    /// Every attempt so far, shared with the background task.
    pub records: Arc<Mutex<Vec<BackupRecord>>>,
    /// Cancelled when the host (or the store) is lost.
    pub stop: CancellationToken,
}

impl BackupSchedule {
    pub fn records(&self) -> Vec<BackupRecord> {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Where a backup is taken and kept.
#[derive(Debug, Clone)]
pub(crate) struct BackupTarget {
    pub host: String,
    pub container: String,
    pub command: Command,
    pub path: String,
    pub store_container: String,
    /// Each command or copy may take this long.
    pub timeout: Duration,
}

impl BackupTarget {
    /// The directory on the store that holds copy `number`.
    pub fn store_dir(&self, number: u32) -> String {
        store_dir(&self.host, number)
    }
}

pub(crate) fn store_dir(host: &str, number: u32) -> String {
    format!("{STORE_DIR}/{host}/{number}")
}

/// Backups repeated in the background, handed to [`drive`].
#[derive(Debug)]
pub(crate) struct BackupJob {
    pub target: BackupTarget,
    pub every: Duration,
    /// When the next backup is due, and its number.
    pub next: Instant,
    pub number: u32,
    pub records: Arc<Mutex<Vec<BackupRecord>>>,
    pub stop: CancellationToken,
}

/// Take one backup: the application's command on the host, then its output copied to
/// the store.
pub(crate) async fn take<E: Engine>(
    engine: &E,
    target: &BackupTarget,
    number: u32,
) -> Result<u64, String> {
    let output = engine
        .exec(&target.container, &target.command.to_argv(), target.timeout)
        .await
        .map_err(|e| format!("`{}` on `{}`: {e}", target.command.display(), target.host))?;
    if output.exit_code != 0 {
        let said = if output.stderr.trim().is_empty() {
            output.stdout.trim()
        } else {
            output.stderr.trim()
        };
        return Err(format!(
            "`{}` on `{}` exited with {}{}",
            target.command.display(),
            target.host,
            output.exit_code,
            if said.is_empty() {
                String::new()
            } else {
                format!(": {}", crate::probe::excerpt(said, 300))
            }
        ));
    }
    let dir = target.store_dir(number);
    let mkdir = ["mkdir".to_string(), "-p".to_string(), dir.clone()];
    let made = engine
        .exec(&target.store_container, &mkdir, target.timeout)
        .await
        .map_err(|e| format!("preparing `{dir}` on the store: {e}"))?;
    if made.exit_code != 0 {
        return Err(format!(
            "cannot create `{dir}` on the store: {}",
            made.stderr.trim()
        ));
    }
    engine
        .copy_path(
            &target.container,
            &target.path,
            &target.store_container,
            &dir,
            target.timeout,
        )
        .await
        .map_err(|e| format!("copying `{}` to the store: {e}", target.path))
}

/// Run the background backups handed over `jobs` until dropped (the run's end). Runs
/// beside the steps in the run's own task, so it may borrow the engine.
pub(crate) async fn drive<E: Engine>(engine: &E, mut jobs: UnboundedReceiver<BackupJob>) {
    let mut running = FuturesUnordered::new();
    let mut open = true;
    loop {
        tokio::select! {
            job = jobs.recv(), if open => match job {
                Some(job) => running.push(repeat(engine, job)),
                None => open = false,
            },
            Some(()) = running.next(), if !running.is_empty() => {}
            else => std::future::pending::<()>().await,
        }
    }
}

async fn repeat<E: Engine>(engine: &E, mut job: BackupJob) {
    loop {
        tokio::select! {
            () = job.stop.cancelled() => return,
            () = tokio::time::sleep_until(job.next.into()) => {}
        }
        let started = Instant::now();
        let outcome = tokio::select! {
            () = job.stop.cancelled() => Err("the host was lost before the backup finished".to_string()),
            outcome = take(engine, &job.target, job.number) => outcome,
        };
        job.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(BackupRecord {
                number: job.number,
                started,
                finished: Instant::now(),
                outcome,
            });
        if job.stop.is_cancelled() {
            return;
        }
        job.number += 1;
        // Start to start, like cron; a backup that overran is followed at once.
        job.next = (job.next + job.every).max(Instant::now());
    }
}

/// What the backups of a host amount to at its loss.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecoveryPoint {
    /// Backups that reached the store before the loss.
    pub taken: u32,
    /// Attempts that failed, or that the loss interrupted.
    pub failed: u32,
    /// The copy to restore: the last one that reached the store before the loss.
    pub latest: Option<u32>,
    /// From the start of that backup to the loss.
    pub since_latest: Option<Duration>,
}

/// The recovery point of a host lost at `lost_at`. The latest backup's data may be from
/// any moment between its start and its end (a consistent dump is from its start), so
/// the window of data at risk is counted from its start.
pub(crate) fn recovery_point(records: &[BackupRecord], lost_at: Instant) -> RecoveryPoint {
    let reached: Vec<&BackupRecord> = records
        .iter()
        .filter(|r| r.outcome.is_ok() && r.finished <= lost_at)
        .collect();
    let latest = reached.iter().max_by_key(|r| r.started);
    RecoveryPoint {
        taken: reached.len() as u32,
        failed: (records.len() - reached.len()) as u32,
        latest: latest.map(|r| r.number),
        since_latest: latest.map(|r| lost_at.saturating_duration_since(r.started)),
    }
}

/// A `count` output that does not start with a number of rows; `printed` is shortened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`count` printed `{printed}`, not a number of rows")]
pub(crate) struct NotACount {
    pub printed: String,
}

/// A row count as `count` printed it: the first word of the output, a whole number.
pub(crate) fn parse_count(output: &str) -> Result<u64, NotACount> {
    let word = output.split_whitespace().next().unwrap_or_default();
    word.parse().map_err(|_| NotACount {
        printed: crate::probe::excerpt(output.trim(), 80),
    })
}

/// Rows before the loss minus rows after the restore.
pub(crate) fn rows_lost(before: Option<u64>, after: Option<u64>) -> Option<i64> {
    let (before, after) = (before?, after?);
    Some(before as i64 - after as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(start: &Instant, number: u32, from_s: u64, to_s: u64, ok: bool) -> BackupRecord {
        BackupRecord {
            number,
            started: *start + Duration::from_secs(from_s),
            finished: *start + Duration::from_secs(to_s),
            outcome: if ok { Ok(100) } else { Err("failed".into()) },
        }
    }

    #[test]
    fn the_recovery_point_counts_from_the_start_of_the_last_backup_that_reached_the_store() {
        let t0 = Instant::now();
        let records = [
            record(&t0, 1, 0, 1, true),
            record(&t0, 2, 10, 11, true),
            record(&t0, 3, 20, 21, false),
            // Interrupted by the loss at 35 s.
            record(&t0, 4, 30, 35, false),
        ];
        let point = recovery_point(&records, t0 + Duration::from_secs(35));
        assert_eq!(point.taken, 2);
        assert_eq!(point.failed, 2);
        assert_eq!(point.latest, Some(2));
        assert_eq!(point.since_latest, Some(Duration::from_secs(25)));
    }

    #[test]
    fn a_backup_that_ends_after_the_loss_does_not_count() {
        let t0 = Instant::now();
        let records = [record(&t0, 1, 0, 1, true), record(&t0, 2, 10, 12, true)];
        let point = recovery_point(&records, t0 + Duration::from_secs(11));
        assert_eq!((point.taken, point.failed, point.latest), (1, 1, Some(1)));
        assert_eq!(point.since_latest, Some(Duration::from_secs(11)));
    }

    #[test]
    fn no_backup_no_recovery_point() {
        let t0 = Instant::now();
        let point = recovery_point(&[record(&t0, 1, 0, 1, false)], t0);
        assert_eq!((point.taken, point.failed, point.latest), (0, 1, None));
        assert_eq!(point.since_latest, None);
    }

    #[test]
    fn counts_are_read_and_subtracted() {
        assert_eq!(parse_count("283\n"), Ok(283));
        assert_eq!(parse_count("  42 rows"), Ok(42));
        let error = parse_count("ERROR 1146: Table 'shop.orders' doesn't exist")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("`count` printed `ERROR 1146"), "{error}");
        assert!(parse_count("").is_err());
        assert_eq!(rows_lost(Some(300), Some(283)), Some(17));
        assert_eq!(rows_lost(Some(3), Some(5)), Some(-2));
        assert_eq!(rows_lost(None, Some(5)), None);
    }

    #[test]
    fn each_copy_has_a_directory_of_its_own() {
        assert_eq!(store_dir("web", 3), "/var/lib/rehearse-backups/web/3");
    }
}
