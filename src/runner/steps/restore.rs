//! `restore` step: a lost host (see `lose-host`; lost here first if no step did it) is
//! rebuilt on a fresh replica from the latest backup that reached the store, with the
//! application's own restore procedure. The step reports the recovery point — the rows
//! and the time of data lost — and the time to restore.

use std::time::{Duration, Instant};

use super::{StepContext, StepResult};
use crate::engine::Engine;
use crate::report::{BackupAttempt, RecoveryReport, StepReport};
use crate::runner::backups::{self, recovery_point, rows_lost};
use crate::runner::{Rehearsal, provision};

use super::lose_host::{lose, run_count};
use super::{BackupStep, RunStep};
use crate::scenario::decode_fields;
use crate::scenario::format::{CopiedPath, HostRef, ProbeRefs};
use crate::scenario::{Command, ExecExpect, StepInput, StepSequence, StepSpec, distinct_hosts};
use crate::yaml::{Mark, Node};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// Rebuild a lost host from its backup: a fresh replica started from the host's image
/// (not from its last state), the latest backup that reached `from` copied back into
/// `path`, the application's restore `command` run, then the `probes`. The host is lost
/// first if no `lose-host` step did it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreStep {
    #[serde(with = "HostRef")]
    pub host: String,
    /// The host that keeps the backups.
    #[serde(with = "HostRef")]
    pub from: String,
    /// Where the backup goes back on the fresh host: the `path` of the `backup` step.
    #[serde(with = "CopiedPath")]
    pub path: String,
    pub command: Command,
    /// Prints the number of rows the data holds (e.g. `SELECT COUNT(*)`), run just before
    /// the loss and after the restore: the difference is the rows lost.
    #[serde(default)]
    pub count: Option<Command>,
    #[serde(default, with = "ProbeRefs")]
    pub probes: Vec<String>,
}

impl StepSpec for RestoreStep {
    /// An earlier `backup` step keeps the same path of the same host on the host it
    /// restores from.
    fn check_in_sequence(&self, seq: &StepSequence<'_>) {
        // Fields that were missing or wrong are already reported.
        if self.host.is_empty() || self.from.is_empty() || self.path.is_empty() {
            return;
        }
        let backups: Vec<&BackupStep> = seq
            .earlier()
            .iter()
            .filter_map(|s| s.kind.get::<BackupStep>())
            .collect();
        if backups
            .iter()
            .any(|b| b.host == self.host && b.to == self.from && b.path == self.path)
        {
            return;
        }
        let help = match backups.iter().find(|b| b.host == self.host) {
            None => format!(
                "add a `backup` step of `{}` to `{}` before it",
                self.host, self.from
            ),
            Some(b) => format!(
                "the earlier backup of `{}` keeps `{}` on `{}`",
                self.host, b.path, b.to
            ),
        };
        seq.d.error_with_help(
            Mark::of(seq.item()),
            format!(
                "`restore` of `{}` from `{}`, but no earlier `backup` step keeps `{}` of `{}` there",
                self.host, self.from, self.path, self.host
            ),
            help,
        );
    }

    const KIND: &'static str = "restore";

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(1800)
    }

    fn derived_name(&self) -> String {
        format!("restore {} from {}", self.host, self.from)
    }

    fn decode(input: &StepInput<'_>, body: &Spanned<Node>) -> Option<Self> {
        let step: Self = decode_fields(input, body)?;
        distinct_hosts(input, body, (&step.host, &step.from), "from").then_some(step)
    }
}

impl RunStep for RestoreStep {
    const MOMENT: bool = true;

    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        restore(self, cx).await
    }
}

pub(super) async fn restore<E: Engine>(
    step: &RestoreStep,
    cx: &mut StepContext<'_, E>,
) -> StepResult {
    match restore_host(step, cx).await {
        Ok(result) => result,
        Err(detail) => StepResult::failed(detail),
    }
}

async fn restore_host<E: Engine>(
    step: &RestoreStep,
    cx: &mut StepContext<'_, E>,
) -> Result<StepResult, String> {
    let host_name = &step.host;
    let mut said = Vec::new();
    if cx.container(host_name).is_some() {
        said.push(lose(cx, host_name, step.count.as_ref()).await?);
    }
    let loss = cx
        .state
        .losses
        .remove(host_name)
        .ok_or_else(|| format!("host `{host_name}` was not lost"))?;
    let schedule = cx
        .state
        .backups
        .iter()
        .find(|s| s.host == *host_name && s.store == step.from && s.path == step.path)
        .ok_or_else(|| {
            format!(
                "no backup of `{}` on `{host_name}` was kept on `{}`",
                step.path, step.from
            )
        })?;
    let records = schedule.records();
    let point = recovery_point(&records, loss.at);
    let Some(number) = point.latest else {
        return Err(format!(
            "no backup of `{host_name}` reached `{}` before `{host_name}` was lost: nothing to restore ({} failed)",
            step.from,
            match point.failed {
                1 => "1 attempt".to_string(),
                n => format!("{n} attempts"),
            }
        ));
    };
    let store = cx.container(&step.from).ok_or_else(|| {
        format!(
            "host `{}` is not running: the backups kept there are gone too",
            step.from
        )
    })?;
    let host = cx
        .scenario
        .host(host_name)
        .ok_or_else(|| format!("host `{host_name}` is not in the scenario"))?;
    let image = cx
        .state
        .environment
        .images
        .iter()
        .find(|i| i.host == *host_name)
        .map(|i| i.reference.clone())
        .ok_or_else(|| format!("no image is known for host `{host_name}`"))?;

    cx.progress(format!("starting a fresh {host_name}"));
    let started = Instant::now();
    let rehearsal = Rehearsal {
        engine: cx.engine,
        scenario: cx.scenario,
        options: cx.options,
        created: cx.created,
        redactor: cx.redactor,
    };
    // A fresh replica: the scenario's files for the host go in again, as at provision.
    let files = crate::runner::host_copies(cx.scenario)
        .map_err(|e| e.to_string())?
        .remove(host_name)
        .unwrap_or_default();
    match provision::start_host(&rehearsal, host, &image, files, cx.sink, cx.state).await {
        Ok(Ok(())) => {}
        Ok(Err(detail)) => return Err(detail),
        Err(e) => return Err(format!("cannot start host `{host_name}`: {e}")),
    }
    let container = cx
        .container(host_name)
        .ok_or_else(|| format!("host `{host_name}` did not start"))?;

    cx.progress(format!(
        "copying backup {number} from {} to {host_name}",
        step.from
    ));
    let parent = parent_of(&step.path);
    let prepare = [
        "sh".to_string(),
        "-c".to_string(),
        "rm -rf \"$1\" && mkdir -p \"$2\"".to_string(),
        "sh".to_string(),
        step.path.clone(),
        parent.clone(),
    ];
    let prepared = cx
        .engine
        .exec(&container, &prepare, cx.timeout)
        .await
        .map_err(|e| format!("preparing `{parent}` on `{host_name}`: {e}"))?;
    if prepared.exit_code != 0 {
        return Err(format!(
            "cannot prepare `{parent}` on `{host_name}`: {}",
            prepared.stderr.trim()
        ));
    }
    let kept = format!(
        "{}/{}",
        backups::store_dir(host_name, number),
        base_name(&step.path)
    );
    cx.engine
        .copy_path(&store, &kept, &container, &parent, cx.timeout)
        .await
        .map_err(|e| format!("copying backup {number} from `{}`: {e}", step.from))?;

    cx.progress(format!("{host_name}$ {}", step.command.display()));
    let output = cx
        .engine
        .exec(&container, &step.command.to_argv(), cx.timeout)
        .await
        .map_err(|e| format!("cannot run `{}`: {e}", step.command.display()))?;
    let judged = crate::probe::judge_exec(&step.command.display(), &ExecExpect::default(), &output);
    if !judged.passed {
        return Ok(StepResult {
            passed: false,
            detail: Some(format!(
                "the restore command failed on the fresh `{host_name}`: {}",
                judged.evidence.summary
            )),
            evidence: Some(judged.evidence),
            ..StepResult::default()
        });
    }

    let mut problems = Vec::new();
    let rows_before = match loss.rows_before {
        Some(Ok(rows)) => Some(rows),
        Some(Err(why)) => {
            problems.push(format!("rows before the loss not counted: {why}"));
            None
        }
        None => None,
    };
    // Counted before any traffic reaches the restored host.
    let rows_after = match &step.count {
        Some(command) => match run_count(cx, &container, host_name, command).await {
            Ok(rows) => Some(rows),
            Err(why) => {
                problems.push(format!("rows after the restore not counted: {why}"));
                None
            }
        },
        None => None,
    };
    if cx.state.hosts.get(host_name).is_some() {
        for monitor in &cx.state.running_monitors {
            if !monitor.aims_at(host_name) {
                continue;
            }
            let back = cx
                .state
                .hosts
                .target(host_name, monitor.port())
                .map_err(|e| e.to_string())
                .and_then(|target| {
                    monitor
                        .host_back(host_name, target.address)
                        .map_err(|e| e.to_string())
                });
            if let Err(why) = back {
                problems.push(why);
            }
        }
    }

    let checks = cx.check_probes(&step.probes).await;
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.probe.as_str())
        .collect();
    let green = failed.is_empty();
    let restore_time = started.elapsed();
    let since_latest = point.since_latest.unwrap_or_default();
    let recovery = RecoveryReport {
        host: host_name.clone(),
        from: step.from.clone(),
        lost_in_step: loss.step.clone(),
        lost_at_ms: cx.state.started.map_or(0, |run| {
            loss.at.saturating_duration_since(run).as_millis() as u64
        }),
        backups_taken: point.taken,
        backups_failed: point.failed,
        seconds_since_last_backup: round_tenth(since_latest.as_secs_f64()),
        rows_before,
        rows_after,
        rows_lost: rows_lost(rows_before, rows_after),
        lost_writes: None,
        oldest_lost_write_s: None,
        restore_ms: green.then_some(restore_time.as_millis() as u64),
        downtime_ms: green.then(|| loss.at.elapsed().as_millis() as u64),
        problems,
        backups: records
            .iter()
            .filter(|r| r.started <= loss.at)
            .map(|r| BackupAttempt {
                number: r.number,
                started_ms: cx.state.started.map_or(0, |run| {
                    r.started.saturating_duration_since(run).as_millis() as u64
                }),
                duration_ms: r.finished.saturating_duration_since(r.started).as_millis() as u64,
                bytes: r.outcome.as_ref().ok().copied(),
                error: r.outcome.as_ref().err().cloned(),
            })
            .collect(),
    };
    let mut detail = said;
    detail.push(format!(
        "restored `{host_name}` from backup {number} of {} (it began {:.1} s before the loss)",
        point.taken,
        since_latest.as_secs_f64()
    ));
    if let Some(rows) = recovery.rows_lost {
        detail.push(format!(
            "{rows} rows lost ({} before, {} after)",
            rows_before.unwrap_or_default(),
            rows_after.unwrap_or_default()
        ));
    }
    if green {
        detail.push(format!(
            "{}back in {:.1} s",
            if checks.is_empty() {
                String::new()
            } else {
                format!("probes pass ({}): ", step.probes.join(", "))
            },
            restore_time.as_secs_f64()
        ));
    } else {
        detail.push(format!("but probe {} failed", failed.join(", ")));
    }
    Ok(StepResult {
        passed: green,
        detail: Some(detail.join("; ")),
        checks,
        evidence: Some(judged.evidence),
        recovery: Some(recovery),
        ..StepResult::default()
    })
}

fn round_tenth(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn parent_of(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) | None => "/".into(),
        Some(at) => trimmed[..at].to_string(),
    }
}

fn base_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// Once the monitors have stopped: the acknowledged writes each restore lost, from the
/// writer monitors that ran when its host was lost, and how long before the loss the
/// oldest of them was sent.
pub(in crate::runner) fn attribute_lost_writes(
    steps: &mut [StepReport],
    monitors: &[crate::monitor::MonitorReport],
) {
    for step in steps.iter_mut() {
        let Some(recovery) = step.recovery.as_mut() else {
            continue;
        };
        let mut lost = None;
        let mut oldest: Option<f64> = None;
        for monitor in monitors {
            let Some(writes) = monitor.writes.as_ref().filter(|w| w.lost_measured()) else {
                continue;
            };
            let Some(loss) = monitor
                .marks
                .iter()
                .find(|m| m.label == recovery.lost_in_step)
            else {
                continue;
            };
            *lost.get_or_insert(0) += writes.lost;
            if let Some(first) = writes.lost_examples.first() {
                let age = loss.start_ms.saturating_sub(first.sent_at_ms) as f64 / 1000.0;
                oldest = Some(oldest.map_or(age, |o: f64| o.max(age)));
            }
        }
        recovery.lost_writes = lost;
        recovery.oldest_lost_write_s = oldest.map(round_tenth);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::monitor::{MarkReport, Phases, Sample, aggregate, check_writes, token};

    /// A writer that sent 10 orders, one every 100 ms, all acknowledged; the host was
    /// lost at 800 ms and the restored database holds orders 0 to 5.
    fn writer(mark: &str) -> crate::monitor::MonitorReport {
        let samples: Vec<Sample> = (0..10)
            .map(|i| Sample {
                scheduled: Duration::from_millis(u64::from(i) * 100),
                latency: Duration::from_millis(3),
                ok: i < 8,
                timed_out: false,
                status: Some(if i < 8 { 201 } else { 503 }),
                served_by: None,
                error: None,
                seq: i,
                via: 0,
            })
            .collect();
        let stored = (0..6).map(|i| token("orders", i)).collect();
        let phases = Phases {
            change: None,
            marks: vec![MarkReport {
                label: mark.into(),
                kind: "lose-host".into(),
                start_ms: 800,
                end_ms: 900,
            }],
        };
        let results = aggregate(10, &samples, &phases, true);
        let log = results.writes().unwrap();
        let writes = check_writes("orders", log, &["web".into()], Ok(stored), None, None);
        results.report("orders", 10, &[], &phases, Some(writes))
    }

    fn restore_step() -> StepReport {
        StepReport {
            name: "restore".into(),
            kind: "restore".into(),
            status: crate::report::StepStatus::Passed,
            started_ms: Some(900),
            duration_ms: 2000,
            detail: None,
            checks: vec![],
            evidence: None,
            logs: vec![],
            upgrade: None,
            allow_failure: false,
            interrupted: false,
            checkpoint_ms: None,
            recovery: Some(RecoveryReport {
                host: "web".into(),
                from: "vault".into(),
                lost_in_step: "lose web".into(),
                lost_at_ms: 800,
                backups_taken: 2,
                backups_failed: 0,
                seconds_since_last_backup: 0.3,
                rows_before: Some(8),
                rows_after: Some(6),
                rows_lost: Some(2),
                lost_writes: None,
                oldest_lost_write_s: None,
                restore_ms: Some(2000),
                downtime_ms: Some(2100),
                problems: vec![],
                backups: vec![],
            }),
        }
    }

    #[test]
    fn lost_writes_are_those_of_the_monitors_that_saw_the_loss() {
        let mut steps = vec![restore_step()];
        attribute_lost_writes(&mut steps, &[writer("lose web")]);
        let recovery = steps[0].recovery.as_ref().unwrap();
        // Orders 6 and 7 were acknowledged after the backup; 8 and 9 failed: not lost.
        assert_eq!(recovery.lost_writes, Some(2));
        assert_eq!(recovery.oldest_lost_write_s, Some(0.2));

        // A monitor that did not run across this loss says nothing about it.
        let mut steps = vec![restore_step()];
        attribute_lost_writes(&mut steps, &[writer("another step")]);
        let recovery = steps[0].recovery.as_ref().unwrap();
        assert_eq!(
            (recovery.lost_writes, recovery.oldest_lost_write_s),
            (None, None)
        );
    }

    #[test]
    fn paths_split_into_parent_and_name() {
        assert_eq!(parent_of("/var/backups/shop/"), "/var/backups");
        assert_eq!(base_name("/var/backups/shop/"), "shop");
        assert_eq!(parent_of("/dump.sql"), "/");
        assert_eq!(base_name("/dump.sql"), "dump.sql");
    }
}
