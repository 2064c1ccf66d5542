//! `backup` step: the application's own backup procedure, run on its host, and the
//! result kept on another host. The first backup is taken by the step itself (a backup
//! procedure that fails fails the step); with `every`, the next ones run in the
//! background until the host is lost or the run ends.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{StepContext, StepResult};
use crate::engine::Engine;
use crate::runner::backups::{self, BackupJob, BackupRecord, BackupSchedule, BackupTarget};

use super::RunStep;
use crate::scenario::decode_fields;
use crate::scenario::format::{CopiedPath, HostRef, Opt, Span};
use crate::scenario::{Command, StepInput, StepSpec, distinct_hosts};
use crate::yaml::Node;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// Run the application's own backup procedure on `host` (`command` writes the backup
/// into `path`), then keep a copy of `path` on another host, `to`: a backup kept only
/// on the host is lost with it. With `every`, again and again in the background (like
/// cron) until the host is lost or the run ends.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupStep {
    #[serde(with = "HostRef")]
    pub host: String,
    pub command: Command,
    /// Absolute path on `host` the command writes the backup into (a file or a directory).
    #[serde(with = "CopiedPath")]
    pub path: String,
    /// The host that keeps the copies (the off-host backup store).
    #[serde(with = "HostRef")]
    pub to: String,
    /// Repeat at this interval (start to start) in the background.
    #[serde(default, with = "Opt::<Span>")]
    pub every: Option<Duration>,
}

impl StepSpec for BackupStep {
    const KIND: &'static str = "backup";

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(600)
    }

    fn derived_name(&self) -> String {
        format!("backup {} to {}", self.host, self.to)
    }

    fn decode(input: &StepInput<'_>, body: &Spanned<Node>) -> Option<Self> {
        let step: Self = decode_fields(input, body)?;
        distinct_hosts(input, body, (&step.host, &step.to), "to").then_some(step)
    }
}

impl RunStep for BackupStep {
    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        run(self, cx).await
    }
}

pub(super) async fn run<E: Engine>(step: &BackupStep, cx: &mut StepContext<'_, E>) -> StepResult {
    StepResult::from_outcome(backup(step, cx).await)
}

async fn backup<E: Engine>(
    step: &BackupStep,
    cx: &mut StepContext<'_, E>,
) -> Result<String, String> {
    let container = cx
        .container(&step.host)
        .ok_or_else(|| format!("host `{}` is not running", step.host))?;
    let store_container = cx
        .container(&step.to)
        .ok_or_else(|| format!("host `{}` is not running", step.to))?;
    let target = BackupTarget {
        host: step.host.clone(),
        container,
        command: step.command.clone(),
        path: step.path.clone(),
        store_container,
        timeout: cx.timeout,
    };
    // A second `backup` step of the same path continues its numbering: the restore
    // takes the latest copy of them all.
    let existing = cx
        .state
        .backups
        .iter()
        .find(|s| s.host == step.host && s.store == step.to && s.path == step.path);
    let (records, stop) = match existing {
        Some(schedule) => (Arc::clone(&schedule.records), schedule.stop.clone()),
        None => {
            let schedule = BackupSchedule {
                host: step.host.clone(),
                store: step.to.clone(),
                path: step.path.clone(),
                records: Arc::new(Mutex::new(Vec::new())),
                stop: CancellationToken::new(),
            };
            let shared = (Arc::clone(&schedule.records), schedule.stop.clone());
            cx.state.backups.push(schedule);
            shared
        }
    };
    let number = records.lock().unwrap_or_else(|e| e.into_inner()).len() as u32 + 1;
    cx.progress(format!(
        "backing up {} and copying {} to {}",
        step.host, step.path, step.to
    ));
    let started = Instant::now();
    let outcome = backups::take(cx.engine, &target, number).await;
    let finished = Instant::now();
    records
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(BackupRecord {
            number,
            started,
            finished,
            outcome: outcome.clone(),
        });
    let bytes = outcome?;
    let mut summary = format!(
        "backup {number} of `{}` kept on `{}` ({} in {:.1} s)",
        step.host,
        step.to,
        bytesize::ByteSize(bytes),
        finished.duration_since(started).as_secs_f64()
    );
    if let Some(every) = step.every {
        let job = BackupJob {
            target,
            every,
            next: started + every,
            number: number + 1,
            records,
            stop,
        };
        if let Some(jobs) = &cx.state.backup_jobs {
            jobs.send(job)
                .map_err(|_| "the background backups have stopped".to_string())?;
        }
        summary.push_str(&format!(
            "; again every {} until `{}` is lost or the run ends",
            humantime::format_duration(every),
            step.host
        ));
    }
    Ok(summary)
}
