//! `report.json`: the contract scripts and CI rely on (see DESIGN.md). Extend it; never
//! rename or remove a field.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Evidence, Finding, MonitorReport};

/// Bump on an incompatible change of the report's shape.
pub const SCHEMA_VERSION: u32 = 1;

/// What a GO never covers, stated in every report.
pub const NOT_COVERED: &[&str] = &[
    "the kernel, bootloader, firmware and hardware of the real host (the replica shares the engine's kernel)",
    "anything on the real host that the replica does not reproduce (packages, data, configuration not in the image recipe)",
    "load, traffic patterns and external services the scenario does not probe",
    "for a move: real DNS propagation, resolver caches and client retries, and the network between the real hosts (the rehearsal compresses propagation and runs on one local network)",
    "for a restore: the real backups and the store that keeps them (the rehearsal backs up the replica's data to a container beside it), and the time a real rebuild takes (a fresh replica starts from a ready image)",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Verdict {
    #[serde(rename = "GO")]
    Go,
    #[serde(rename = "NO-GO")]
    NoGo,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Go => "GO",
            Verdict::NoGo => "NO-GO",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Passed,
    Failed,
    Skipped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Passed => "passed",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub schema_version: u32,
    pub tool_version: String,
    pub run_id: String,
    pub scenario: String,
    pub scenario_path: String,
    pub verdict: Verdict,
    pub started_at: jiff::Timestamp,
    pub duration_ms: u64,
    /// The run was stopped by a signal before it finished.
    pub interrupted: bool,
    pub environment: Environment,
    pub steps: Vec<StepReport>,
    pub probes: Vec<ProbeReport>,
    /// Continuous monitors: requests sent, failures, unavailability, latency.
    pub monitors: Vec<MonitorReport>,
    pub findings: Vec<Finding>,
    pub gates: Vec<GateReport>,
    pub not_covered: Vec<String>,
    /// Set when the run started from a checkpoint (`run --from`): the steps before
    /// `step` were not run again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_from: Option<ResumedFrom>,
    /// What the package cache did during the run; absent when it was off (`--no-apt-cache`,
    /// or `--apt-proxy` naming the user's own proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apt_cache: Option<AptCacheReport>,
    /// Set for a training drill's check attempt (`rehearse drill status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<DrillReport>,
}

impl Report {
    /// The headline a person reads: `GO`, `NO-GO`, or `INTERRUPTED` for a run stopped
    /// before it finished (whose `verdict` is NO-GO: nothing was judged).
    pub fn headline(&self) -> &'static str {
        if self.interrupted {
            "INTERRUPTED"
        } else {
            self.verdict.as_str()
        }
    }
}

/// A training drill as it stands after a check attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DrillReport {
    /// Every check passes and no more data was lost than the drill allows.
    pub solved: bool,
    /// Times the checks ran, this one included.
    pub attempts: u32,
    pub hints_used: u32,
    pub hints_total: u32,
    /// From the briefing to the first attempt that solved the drill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_repair_ms: Option<u64>,
    /// Rows counted before the incident; absent when the drill counts no data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_before: Option<u64>,
    /// Rows counted now; absent when they could not be counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_now: Option<u64>,
    /// Rows lost (`data_before - data_now`); absent when the drill counts no data or the
    /// count failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_lost: Option<u64>,
    /// Rows the drill allows to lose (e.g. those written after the last backup).
    #[serde(default)]
    pub data_max_loss: u64,
}

impl DrillReport {
    /// "solved: time to repair 2m 13s, 3 check attempt(s), 1 of 3 hint(s), no data lost".
    pub fn summary_line(&self) -> String {
        let data = match (self.data_lost, self.data_before) {
            (_, None) => String::new(),
            (Some(0), _) => ", no data lost".into(),
            (Some(lost), _) => format!(
                ", {lost} row(s) lost (at most {} allowed)",
                self.data_max_loss
            ),
            (None, Some(_)) => ", the data could not be counted".into(),
        };
        let head = match (self.solved, self.time_to_repair_ms) {
            (true, Some(ms)) => format!(
                "solved: time to repair {}",
                humantime::format_duration(std::time::Duration::from_secs(ms / 1000))
            ),
            (true, None) => "solved".into(),
            (false, _) => "not solved yet".into(),
        };
        format!(
            "{head}, {} check attempt(s), {} of {} hint(s){data}",
            self.attempts, self.hints_used, self.hints_total
        )
    }
}

/// Requests apt made through the package cache (see `--cache-dir`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AptCacheReport {
    /// Requests answered from the cache, including indexes the mirror said were unchanged.
    pub hits: u64,
    /// Files fetched from the mirror.
    pub misses: u64,
    /// Bytes downloaded from the mirror.
    pub upstream_bytes: u64,
    /// Bytes served from the cache.
    pub cached_bytes: u64,
}

impl AptCacheReport {
    /// What happened since `earlier` (counters of the same cache).
    pub fn since(self, earlier: AptCacheReport) -> AptCacheReport {
        AptCacheReport {
            hits: self.hits.saturating_sub(earlier.hits),
            misses: self.misses.saturating_sub(earlier.misses),
            upstream_bytes: self.upstream_bytes.saturating_sub(earlier.upstream_bytes),
            cached_bytes: self.cached_bytes.saturating_sub(earlier.cached_bytes),
        }
    }

    /// Whether apt asked the cache for anything at all.
    pub fn used(&self) -> bool {
        self.hits + self.misses > 0
    }

    /// The summary line: "812 hits, 3 misses, 1.2 MiB from the mirror, 91.3 MiB from the cache".
    pub fn summary_line(&self) -> String {
        format!(
            "{} hit{}, {} miss{}, {} from the mirror, {} from the cache",
            self.hits,
            if self.hits == 1 { "" } else { "s" },
            self.misses,
            if self.misses == 1 { "" } else { "es" },
            bytesize::ByteSize(self.upstream_bytes),
            bytesize::ByteSize(self.cached_bytes)
        )
    }
}

/// The checkpoint a resumed run (`run --from`) started from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResumedFrom {
    /// The first step this run carried out.
    pub step: String,
    /// The run that took the checkpoint.
    pub run_id: String,
    /// When it was taken (RFC 3339).
    pub taken_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct Environment {
    pub engine_version: String,
    pub api_version: String,
    pub cgroup_version: String,
    /// Set when the replicas' systemd could write the engine machine's whole cgroup
    /// tree: what that risks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_risk: Option<String>,
    /// Where the engine keeps containers' files (`overlay2`, `fuse-overlayfs`…): it
    /// decides how fast dpkg runs in the replicas.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub storage_driver: String,
    pub mirror: String,
    pub images: Vec<ImageReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImageReport {
    pub host: String,
    pub recipe: String,
    pub reference: String,
    /// The engine's image id (`sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub content_hash: String,
    pub base: String,
    pub cached: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StepReport {
    pub name: String,
    pub kind: String,
    pub status: StepStatus,
    /// When it started, from the start of the run (none: it never ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<u64>,
    pub duration_ms: u64,
    /// Why it failed or was skipped, or what it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckReport>,
    /// What an `exec` step's command printed, or what a `reboot` saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// Full logs kept in the report folder (paths relative to it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<String>,
    /// What an `upgrade` step did, hop by hop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradeReport>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_failure: bool,
    /// The run was interrupted while this step ran (its status is `skipped`: it did not
    /// finish, so it neither passed nor failed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// Milliseconds spent saving a checkpoint of every host before the step (not
    /// counted in `duration_ms`); absent when none was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_ms: Option<u64>,
    /// What a `restore` step recovered, and what was lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<RecoveryReport>,
}

/// A host lost and rebuilt from its backups: the recovery point (data lost, in rows and
/// in time) and the time to restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecoveryReport {
    pub host: String,
    /// The host the backups were kept on.
    pub from: String,
    /// The step in which the host was lost.
    pub lost_in_step: String,
    /// When the host was lost, from the start of the run.
    pub lost_at_ms: u64,
    /// Backups of the host that reached `from` before the loss.
    pub backups_taken: u32,
    /// Backup attempts that failed or that the loss interrupted.
    pub backups_failed: u32,
    /// From the start of the last backup restored to the loss: what was written in
    /// this window may be missing from the backup.
    pub seconds_since_last_backup: f64,
    /// `count` run on the host just before the loss (none: no `count`, or it failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_before: Option<u64>,
    /// `count` run on the restored host, before any traffic reached it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_after: Option<u64>,
    /// `rows_before - rows_after` (negative: the restore holds more rows than the host had).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_lost: Option<i64>,
    /// Acknowledged writes of the writer monitors running at the loss missing afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_writes: Option<u64>,
    /// How long before the loss the oldest lost write was sent: beyond
    /// `seconds_since_last_backup`, a write from before the backup began is missing
    /// (in flight as it began, or data the backup does not hold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_lost_write_s: Option<f64>,
    /// From starting the fresh host to the probes passing (none: they did not pass).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_ms: Option<u64>,
    /// From the loss to the probes passing on the restored host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downtime_ms: Option<u64>,
    /// What could not be measured, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Every backup attempt of the host to `from` up to the loss, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backups: Vec<BackupAttempt>,
}

/// One backup: the application's command and the copy to the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BackupAttempt {
    /// Numbered from 1.
    pub number: u32,
    /// When it started, from the start of the run.
    pub started_ms: u64,
    pub duration_ms: u64,
    /// Bytes copied to the store (none: it did not reach it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Why it did not reach the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RecoveryReport {
    /// The span of data lost, in seconds: from the start of the last backup, or from
    /// the oldest lost write if that is earlier, to the loss.
    pub fn data_loss_window_s(&self) -> f64 {
        self.seconds_since_last_backup
            .max(self.oldest_lost_write_s.unwrap_or(0.0))
    }
}

/// A Debian major upgrade of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UpgradeReport {
    pub host: String,
    pub target: String,
    pub hops: Vec<HopReport>,
}

/// One release to the next: versions before and after, and the package changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HopReport {
    pub from: String,
    pub to: String,
    pub debian_version_before: String,
    pub debian_version_after: String,
    pub duration_ms: u64,
    /// Of which inside apt and dpkg (`update`, `upgrade`, `full-upgrade`).
    pub apt_ms: u64,
    /// Of which rebooting and waiting for systemd.
    pub reboot_ms: u64,
    /// `name old → new`
    pub upgraded: Vec<String>,
    /// `name version`
    pub added: Vec<String>,
    /// `name version`
    pub removed: Vec<String>,
}

/// One probe check inside a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckReport {
    pub probe: String,
    pub passed: bool,
    pub attempts: u32,
    pub duration_ms: u64,
    pub evidence: Evidence,
}

/// A probe over the whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeReport {
    pub name: String,
    pub kind: String,
    pub host: String,
    /// Attempts made, over every check of this probe.
    pub attempts: u32,
    /// Failed attempts (retries that later passed count too).
    pub failures: u32,
    pub checks: u32,
    pub failed_checks: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GateReport {
    pub name: String,
    pub passed: bool,
    pub value: f64,
    pub limit: f64,
    /// What `value` and `limit` count (`failed steps`, `ms`…); reports before Dec 2026
    /// lack it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unit: String,
    pub detail: String,
}

impl GateReport {
    /// `value` with its unit, as people read it: `0 failed steps`, `250 ms`.
    pub fn value_text(&self) -> String {
        quantity(self.value, &self.unit)
    }

    /// `limit` with its unit.
    pub fn limit_text(&self) -> String {
        quantity(self.limit, &self.unit)
    }
}

/// `value` and `unit`, the unit's nouns singular for one (`1 failed step`; `1 ms`).
fn quantity(value: f64, unit: &str) -> String {
    let number = crate::words::number(value);
    if unit.is_empty() {
        return number;
    }
    if value != 1.0 {
        return format!("{number} {unit}");
    }
    let singular: Vec<&str> = unit
        .split(' ')
        .map(|word| match word.strip_suffix('s') {
            Some(stem) if word.len() > 2 => stem,
            _ => word,
        })
        .collect();
    format!("{number} {}", singular.join(" "))
}
