//! Checkpoints: every host saved before each risky step (`upgrade`, `migrate`,
//! `cutover`) and at every `snapshot` step, kept between runs under a hash of all that
//! led there — the tool version, the mirrors, the hosts and their images' content
//! hashes, and every step before. `run --from STEP` starts from the checkpoint taken
//! before STEP when that hash still matches, instead of repeating the steps before it.
//!
//! Checkpoints belong to no run (they outlive it on purpose, like cached images): their
//! `rehearse.run` label is empty, `rehearse gc` leaves them, `rehearse gc --images`
//! removes them, and a new checkpoint of a scenario's step replaces the older ones.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::{MonitorAction, MonitorStep};
use crate::engine::{
    CHECKPOINT_LABEL, Engine, EngineError, FileCopy, KEEP_LABEL, OWNER_LABEL, RUN_LABEL,
};
use crate::images::BuildSettings;
use crate::report::ImageReport;
use crate::scenario::{Scenario, StepKind};

/// Label naming the scenario a checkpoint belongs to.
const SCENARIO_LABEL: &str = "rehearse.checkpoint.scenario";
/// Label naming the step a checkpoint was taken before (`<number>-<name>`).
const STEP_LABEL: &str = "rehearse.checkpoint.step";
const HOST_LABEL: &str = "rehearse.checkpoint.host";
const TAKEN_BY_LABEL: &str = "rehearse.checkpoint.run";
const TAKEN_AT_LABEL: &str = "rehearse.checkpoint.time";

/// Whether the run saves a checkpoint before this step on its own.
pub fn is_risky(kind: &StepKind) -> bool {
    super::steps::is_risky(kind)
}

/// The hash of what the hosts are made of: tool version, mirrors, hosts, images, and
/// the content of the local files each host gets (`copies`, from `host_copies`): an
/// edited file is another state, even under the same name.
pub fn base_hash(
    scenario: &Scenario,
    build: &BuildSettings,
    images: &[ImageReport],
    copies: &BTreeMap<String, Vec<FileCopy>>,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION"));
    hasher.update([0]);
    hasher.update(&build.mirror);
    hasher.update([0]);
    hasher.update(&build.security_mirror);
    // Hashed without the secrets' values: the key is a label anyone may read, and a
    // value could be guessed back from it.
    let redactor = crate::redact::Redactor::new(&scenario.secrets);
    for host in &scenario.hosts {
        hasher.update([0]);
        hasher.update(redactor.redact(&format!("{host:?}")).as_bytes());
        for image in images.iter().filter(|i| i.host == host.name) {
            hasher.update([0]);
            hasher.update(&image.content_hash);
        }
        for copy in copies.get(&host.name).into_iter().flatten() {
            hasher.update([0]);
            hash_file(&mut hasher, &copy.local);
        }
    }
    hex(&hasher.finalize())
}

/// A local file's content into `hasher`, read in chunks; a file that cannot be read
/// counts as its error (copying it fails later, saying why).
fn hash_file(hasher: &mut Sha256, path: &std::path::Path) {
    use std::io::Read;
    let read = std::fs::File::open(path).and_then(|mut file| {
        let mut buffer = vec![0u8; 64 * 1024];
        let mut content = Sha256::new();
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                return Ok(content.finalize());
            }
            content.update(&buffer[..n]);
        }
    });
    match read {
        Ok(digest) => hasher.update(digest),
        Err(e) => hasher.update(format!("unreadable: {e}")),
    }
}

/// The key of the state before step `index` (0-based in `scenario.steps`).
pub fn key(base: &str, scenario: &Scenario, index: usize) -> String {
    let mut hasher = Sha256::new();
    hasher.update(base);
    let redactor = crate::redact::Redactor::new(&scenario.secrets);
    for step in &scenario.steps[..index] {
        hasher.update([0]);
        hasher.update(redactor.redact(&format!("{step:?}")).as_bytes());
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The names of the environment variables the scenario gives `host`: a saved image
/// keeps none of their values (secrets among them), they are given again at start.
pub(crate) fn env_names(scenario: &Scenario, host: &str) -> Vec<String> {
    scenario
        .host(host)
        .map(|h| h.env.iter().map(|(name, _)| name.clone()).collect())
        .unwrap_or_default()
}

/// Image reference of one host's checkpoint.
fn reference(scenario: &str, key: &str, host: &str) -> String {
    format!("rehearse/checkpoint-{scenario}:{}-{host}", &key[..12])
}

fn step_label(scenario: &Scenario, index: usize) -> String {
    format!("{}-{}", index + 1, scenario.steps[index].name)
}

/// Save every host (`hosts`: name → container) as the checkpoint before step `index`,
/// then remove the scenario's older checkpoints of that step. Returns host → image.
pub async fn save<E: Engine>(
    engine: &E,
    scenario: &Scenario,
    run_id: &str,
    key: &str,
    index: usize,
    hosts: &[(String, String)],
) -> Result<BTreeMap<String, String>, EngineError> {
    let taken_at = jiff::Timestamp::now().to_string();
    let mut saved = BTreeMap::new();
    for (host, container) in hosts {
        let image = reference(&scenario.name, key, host);
        // A commit inherits the container's labels: blank the run's, or `gc` would take
        // the checkpoint for a dead run's leftover.
        let labels = BTreeMap::from([
            (RUN_LABEL.to_string(), String::new()),
            (OWNER_LABEL.to_string(), String::new()),
            (KEEP_LABEL.to_string(), String::new()),
            (CHECKPOINT_LABEL.to_string(), key.to_string()),
            (SCENARIO_LABEL.to_string(), scenario.name.clone()),
            (STEP_LABEL.to_string(), step_label(scenario, index)),
            (HOST_LABEL.to_string(), host.clone()),
            (TAKEN_BY_LABEL.to_string(), run_id.to_string()),
            (TAKEN_AT_LABEL.to_string(), taken_at.clone()),
        ]);
        engine
            .commit_container(container, &image, &labels, &env_names(scenario, host))
            .await?;
        saved.insert(host.clone(), image);
    }
    prune(engine, scenario, key, index).await;
    Ok(saved)
}

/// Remove the scenario's checkpoints of step `index` made from another state, and
/// untagged ones (a concurrent run of the same scenario took the tag over).
async fn prune<E: Engine>(engine: &E, scenario: &Scenario, key: &str, index: usize) {
    let Ok(images) = engine
        .list_images(&format!("{SCENARIO_LABEL}={}", scenario.name))
        .await
    else {
        return;
    };
    let step = step_label(scenario, index);
    for image in images {
        let same_step = image.labels.get(STEP_LABEL) == Some(&step);
        let current = image.labels.get(CHECKPOINT_LABEL).map(String::as_str) == Some(key);
        let tagged = image.tags.iter().any(|t| t != "<none>:<none>");
        if same_step && (!current || !tagged) {
            // Still used by a container of a run in progress: it goes with a later prune.
            let _ = engine.remove_image(&image.id).await;
        }
    }
}

/// A checkpoint found for `run --from`.
#[derive(Debug, Clone)]
pub struct Found {
    /// Host → image.
    pub images: BTreeMap<String, String>,
    /// The run that took it, and when.
    pub run_id: String,
    pub taken_at: String,
}

/// The checkpoint with this key for every host of the scenario, if there is one.
pub async fn find<E: Engine>(
    engine: &E,
    scenario: &Scenario,
    key: &str,
) -> Result<Option<Found>, EngineError> {
    let images = engine
        .list_images(&format!("{CHECKPOINT_LABEL}={key}"))
        .await?;
    let mut found = Found {
        images: BTreeMap::new(),
        run_id: String::new(),
        taken_at: String::new(),
    };
    for host in &scenario.hosts {
        let reference = reference(&scenario.name, key, &host.name);
        let Some(image) = images.iter().find(|i| i.tags.contains(&reference)) else {
            return Ok(None);
        };
        found.run_id = image
            .labels
            .get(TAKEN_BY_LABEL)
            .cloned()
            .unwrap_or_default();
        found.taken_at = image
            .labels
            .get(TAKEN_AT_LABEL)
            .cloned()
            .unwrap_or_default();
        found.images.insert(host.name.clone(), reference);
    }
    Ok(Some(found))
}

/// Why a run cannot resume from the step `--from` names. Each is invalid input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FromStepError {
    #[error(
        "`--from {from}`: the scenario has steps 1 to {}: {}",
        steps.len(),
        numbered(steps)
    )]
    OutOfRange { from: String, steps: Vec<String> },
    #[error("`--from {from}`: no such step; the steps are {}", numbered(steps))]
    NoSuchStep { from: String, steps: Vec<String> },
    #[error("`--from {from}`: that is the first step; a run starts there anyway")]
    FirstStep { from: String },
    /// `resume_points`: the steps a run may resume from.
    #[error(
        "`--from {from}`: no checkpoint is taken before step `{step}` (only before upgrade, migrate and cutover steps, and after a `snapshot` step); {}",
        resume_advice(resume_points)
    )]
    NoCheckpoint {
        from: String,
        step: String,
        resume_points: Vec<String>,
    },
    #[error(
        "`--from {from}`: monitor {} starts before step `{step}` and is still running there; a resumed run cannot measure it — resume from a step before it starts or after it stops",
        quoted(monitors)
    )]
    MonitorRunning {
        from: String,
        step: String,
        monitors: Vec<String>,
    },
    #[error(
        "`--from {from}`: restore step `{restore}` needs the backups of step `{backup}`, which a resumed run does not take; resume from a step before `{backup}`"
    )]
    BackupsNotTaken {
        from: String,
        restore: String,
        backup: String,
    },
}

/// `1 `seed`, 2 `watch``: step names with their numbers.
fn numbered(steps: &[String]) -> String {
    steps
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{} `{name}`", i + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn resume_advice(resume_points: &[String]) -> String {
    if resume_points.is_empty() {
        "add a `snapshot` step before it".to_string()
    } else {
        format!(
            "resume from {} or add a `snapshot` step before it",
            quoted(resume_points)
        )
    }
}

/// The step `--from` names (a step name or its number, 1 = the first step after
/// provision), checked against what a resumed run cannot do. Returns its index in
/// `scenario.steps`.
pub fn resolve_from(scenario: &Scenario, from: &str) -> Result<usize, FromStepError> {
    let steps = || -> Vec<String> { scenario.steps.iter().map(|s| s.name.clone()).collect() };
    let index = match from.parse::<usize>() {
        Ok(number) if (1..=scenario.steps.len()).contains(&number) => number - 1,
        Ok(_) => {
            return Err(FromStepError::OutOfRange {
                from: from.to_string(),
                steps: steps(),
            });
        }
        Err(_) => scenario
            .steps
            .iter()
            .position(|s| s.name == from)
            .ok_or_else(|| FromStepError::NoSuchStep {
                from: from.to_string(),
                steps: steps(),
            })?,
    };
    if index == 0 {
        return Err(FromStepError::FirstStep {
            from: from.to_string(),
        });
    }
    let step = &scenario.steps[index];
    let after_snapshot = scenario.steps[index - 1]
        .kind
        .get::<crate::runner::SnapshotStep>()
        .is_some();
    if !is_risky(&step.kind) && !after_snapshot {
        let resume_points: Vec<String> = (1..scenario.steps.len())
            .filter(|&i| {
                is_risky(&scenario.steps[i].kind)
                    || scenario.steps[i - 1]
                        .kind
                        .get::<crate::runner::SnapshotStep>()
                        .is_some()
            })
            .map(|i| scenario.steps[i].name.clone())
            .collect();
        return Err(FromStepError::NoCheckpoint {
            from: from.to_string(),
            step: step.name.clone(),
            resume_points,
        });
    }
    // Monitors measure the whole change: one running across the resume point would
    // measure only half of it.
    let mut running: Vec<&str> = Vec::new();
    for step in &scenario.steps[..index] {
        if let Some(m) = step.kind.get::<MonitorStep>() {
            for name in &m.monitors {
                match m.action {
                    MonitorAction::Start => running.push(name),
                    MonitorAction::Stop => running.retain(|n| n != name),
                }
            }
        }
    }
    if !running.is_empty() {
        return Err(FromStepError::MonitorRunning {
            from: from.to_string(),
            step: step.name.clone(),
            monitors: running.iter().map(|n| n.to_string()).collect(),
        });
    }
    // Backups are taken by the run, in the run: a restore after the resume point would
    // have none of those taken before it.
    let backup_before = scenario.steps[..index]
        .iter()
        .find(|s| s.kind.get::<crate::runner::BackupStep>().is_some());
    let restore_after = scenario.steps[index..]
        .iter()
        .find(|s| s.kind.get::<crate::runner::RestoreStep>().is_some());
    if let (Some(backup), Some(restore)) = (backup_before, restore_after) {
        return Err(FromStepError::BackupsNotTaken {
            from: from.to_string(),
            restore: restore.name.clone(),
            backup: backup.name.clone(),
        });
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = "name: t\nhosts:\n  web: {image: static-site}\n  db: {image: static-site}\nmonitors:\n  site:\n    http: {host: web, path: /}\nprobes:\n  home:\n    http: {host: web, path: /}\nsteps:\n  - name: seed\n    exec: {host: web, command: seed}\n  - name: watch\n    monitor: {start: site}\n  - name: upgrade\n    upgrade: {host: web, to: trixie}\n  - name: unwatch\n    monitor: {stop: site}\n  - snapshot: upgraded\n  - name: check\n    probe: [home]\n  - name: move\n    migrate: {from: web, to: db, files: [/srv]}\n";

    fn scenario(source: &str) -> Scenario {
        crate::runner::parse_scenario(std::path::Path::new("t.yaml"), source)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn build() -> BuildSettings {
        BuildSettings {
            mirror: "http://deb.debian.org/debian".into(),
            security_mirror: "http://deb.debian.org/debian-security".into(),
            base_source: crate::images::BaseSource::Auto,
            images_dir: "images".into(),
            apt_proxy: None,
        }
    }

    #[test]
    fn a_key_holds_nothing_of_the_secrets_values() {
        let source = "name: t\nhosts:\n  web:\n    image: static-site\n    env: {TOKEN: \"${env:T}\"}\nsteps:\n  - exec: {host: web, command: \"echo ${env:T}\"}\n  - snapshot: s\n";
        let with = |value: &str| {
            let value = value.to_string();
            crate::runner::parse_scenario_with_env(
                std::path::Path::new("t.yaml"),
                source,
                &move |_| Some(value.clone()),
                crate::scenario::UnsetEnv::Refuse,
            )
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let (a, b) = (with("first \"secret\" & <x>"), with("second-secret"));
        let (base_a, base_b) = (
            base_hash(&a, &build(), &[], &none()),
            base_hash(&b, &build(), &[], &none()),
        );
        assert_eq!(base_a, base_b);
        assert_eq!(key(&base_a, &a, 1), key(&base_b, &b, 1));
    }

    #[test]
    fn a_key_depends_on_the_steps_before_only() {
        let original = scenario(SCENARIO);
        let base = base_hash(&original, &build(), &[], &none());
        let key = |s: &Scenario| key(&base, s, 5);
        // A later step or a probe's definition changed: same key.
        let later = scenario(&SCENARIO.replace("files: [/srv]", "files: [/var]"));
        assert_eq!(key(&later), key(&original));
        let probe = scenario(&SCENARIO.replace(
            "home:\n    http: {host: web, path: /}",
            "home:\n    http: {host: web, path: /x}",
        ));
        assert_eq!(key(&probe), key(&original));
        // A step before changed: another key.
        let earlier = scenario(&SCENARIO.replace("command: seed", "command: seed2"));
        assert_ne!(key(&earlier), key(&original));
        // Another host, image or mirror: another base.
        let host = scenario(&SCENARIO.replace(
            "db: {image: static-site}",
            "db: {image: static-site, cpus: 1}",
        ));
        assert_ne!(base_hash(&host, &build(), &[], &none()), base);
        let image = ImageReport {
            host: "web".into(),
            recipe: "static-site".into(),
            reference: "r".into(),
            id: None,
            content_hash: "abc".into(),
            base: String::new(),
            cached: true,
        };
        assert_ne!(base_hash(&original, &build(), &[image], &none()), base);
        let mut mirror = build();
        mirror.mirror = "http://archive.debian.org/debian".into();
        assert_ne!(base_hash(&original, &mirror, &[], &none()), base);
    }

    fn none() -> BTreeMap<String, Vec<FileCopy>> {
        BTreeMap::new()
    }

    #[test]
    fn a_base_depends_on_the_content_of_the_hosts_files() {
        let original = scenario(SCENARIO);
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("site.conf");
        let copies = || {
            BTreeMap::from([(
                "web".to_string(),
                vec![FileCopy {
                    local: local.clone(),
                    dest: "/etc/site.conf".into(),
                    mode: 0o644,
                }],
            )])
        };
        std::fs::write(&local, "first\n").unwrap();
        let first = base_hash(&original, &build(), &[], &copies());
        assert_eq!(base_hash(&original, &build(), &[], &copies()), first);
        assert_ne!(base_hash(&original, &build(), &[], &none()), first);
        std::fs::write(&local, "edited\n").unwrap();
        assert_ne!(base_hash(&original, &build(), &[], &copies()), first);
    }

    #[test]
    fn from_accepts_checkpointed_steps_by_name_or_number() {
        let s = scenario(SCENARIO);
        assert_eq!(resolve_from(&s, "check"), Ok(5));
        assert_eq!(resolve_from(&s, "7"), Ok(6));
        assert_eq!(resolve_from(&s, "move"), Ok(6));
    }

    #[test]
    fn from_refuses_what_a_resumed_run_cannot_do() {
        let s = scenario(SCENARIO);
        let error = resolve_from(&s, "nope").unwrap_err().to_string();
        assert!(
            error.contains("no such step; the steps are 1 `seed`, 2 `watch`"),
            "{error}"
        );
        assert!(
            resolve_from(&s, "9")
                .unwrap_err()
                .to_string()
                .contains("the scenario has steps 1 to 7")
        );
        assert!(
            resolve_from(&s, "seed")
                .unwrap_err()
                .to_string()
                .contains("the first step")
        );
        assert_eq!(
            resolve_from(&s, "unwatch").unwrap_err().to_string(),
            "`--from unwatch`: no checkpoint is taken before step `unwatch` (only before upgrade, migrate and cutover steps, and after a `snapshot` step); resume from `upgrade`, `check`, `move` or add a `snapshot` step before it"
        );
        let restore = scenario(
            "name: t\nhosts:\n  web: {image: s}\n  vault: {image: s}\nsteps:\n  - name: back up\n    backup: {host: web, command: dump, path: /srv/b, to: vault}\n  - snapshot: saved\n  - name: lose it\n    restore: {host: web, from: vault, path: /srv/b, command: load}\n",
        );
        let error = resolve_from(&restore, "lose it").unwrap_err().to_string();
        assert!(
            error.contains("restore step `lose it` needs the backups of step `back up`"),
            "{error}"
        );
        // The upgrade has a checkpoint, but the monitor started before it still runs.
        assert_eq!(
            resolve_from(&s, "upgrade").unwrap_err().to_string(),
            "`--from upgrade`: monitor `site` starts before step `upgrade` and is still running there; a resumed run cannot measure it — resume from a step before it starts or after it stops"
        );
    }
}
