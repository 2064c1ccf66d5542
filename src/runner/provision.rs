//! The `provision` step every run starts with: images ready, network created, hosts
//! started and booted.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use super::systemd::{BootState, wait_booted};
use super::{
    Created, EventSink, Rehearsal, RunError, RunEvent, RunState, network_name, run_labels,
};
use crate::engine::{ContainerSpec, Engine, FileCopy};
use crate::finding::Finding;
use crate::images::{BuiltImage, ensure_image};
use crate::report::{ImageReport, StepReport, StepStatus};
use crate::scenario::{Host, Init, Severity};

/// Limits every host gets unless the scenario sets its own: a runaway upgrade or a fork
/// bomb in a replica must not take the machine running it down.
pub(super) const DEFAULT_MEMORY: u64 = 2 << 30;
const DEFAULT_CPUS: f64 = 2.0;
const DEFAULT_PIDS: i64 = 4096;

/// Provision the replica. Returns `Ok(false)` when a host failed to come up (the run
/// goes on to a NO-GO), `Err` when the environment cannot carry out the rehearsal.
pub(super) async fn provision<E: Engine>(
    r: &Rehearsal<'_, E>,
    sink: &mut dyn EventSink,
    state: &mut RunState,
) -> Result<bool, RunError> {
    let (engine, scenario, options) = (r.engine, r.scenario, r.options);
    let total = scenario.steps.len() + 1;
    let started = Instant::now();
    sink.event(&RunEvent::StepStarted {
        index: 0,
        total,
        name: "provision".into(),
        kind: "provision",
    });
    // Files are checked before anything is created: a reference leaving the scenario's
    // folder or a file over the limits is the user's input to fix.
    let mut copies = crate::local_files::host_copies(scenario)?;
    let info = engine.info().await?;
    state.environment.engine_version = info.server_version.clone();
    state.environment.api_version = info.api_version.clone();
    state.environment.cgroup_version = info.cgroup_version.as_str().to_string();
    state.engine_cpus = info.cpus;

    let images = prepare_images(r, sink, state).await?;
    let base = super::checkpoint::base_hash(scenario, &options.build, &state.environment.images);
    if let Some(from) = options.from_step {
        let key = super::checkpoint::key(&base, scenario, from);
        let step = scenario.steps[from].name.clone();
        sink.event(&RunEvent::StepProgress {
            index: 0,
            message: format!("looking for the checkpoint before step `{step}`"),
        });
        let found = super::checkpoint::find(engine, scenario, &key)
            .await?
            .ok_or(RunError::NoCheckpoint { step })?;
        state.resumed = Some(found);
    }
    state.checkpoint_base = Some(base);

    let labels = run_labels(options, scenario);
    let network_name = network_name(options);
    let network_id = engine.create_network(&network_name, &labels).await?;
    lock(r.created).network = Some((network_id, network_name.clone()));

    let mut failure = None;
    for host in &scenario.hosts {
        let image = match &state.resumed {
            Some(found) => found.images[&host.name].clone(),
            None => images[&host.image].reference.clone(),
        };
        let files = copies.remove(&host.name).unwrap_or_default();
        if let Err(detail) = start_host(r, host, &image, files, sink, state).await? {
            // A host cannot fail to boot "because of the stack" when the engine is gone.
            if let Err(e) = engine.info().await
                && e.is_connection()
            {
                return Err(RunError::Engine(crate::engine::EngineError::Connect {
                    detail: format!(
                        "it stopped answering while host `{}` started: {e}",
                        host.name
                    ),
                }));
            }
            failure = Some(detail);
            break;
        }
    }
    let status = if failure.is_some() {
        StepStatus::Failed
    } else {
        StepStatus::Passed
    };
    let detail = failure.clone().or_else(|| {
        Some(format!(
            "{} host(s) up on network `{network_name}`{}",
            scenario.hosts.len(),
            match &state.resumed {
                Some(found) => format!(
                    ", started from the checkpoint run {} took at {}",
                    found.run_id, found.taken_at
                ),
                None => String::new(),
            }
        ))
    });
    sink.event(&RunEvent::StepFinished {
        index: 0,
        name: "provision".into(),
        status,
        duration: started.elapsed(),
        detail: detail.clone(),
    });
    state.steps.push(StepReport {
        name: "provision".into(),
        kind: "provision".into(),
        status,
        started_ms: state
            .started
            .map(|run| started.saturating_duration_since(run).as_millis() as u64),
        duration_ms: started.elapsed().as_millis() as u64,
        detail,
        checks: vec![],
        evidence: None,
        logs: vec![],
        upgrade: None,
        recovery: None,
        allow_failure: false,
        checkpoint_ms: None,
    });
    Ok(failure.is_none())
}

fn lock(created: &Mutex<Created>) -> std::sync::MutexGuard<'_, Created> {
    created.lock().unwrap_or_else(|e| e.into_inner())
}

/// Build (or find in the cache) the image of every recipe the hosts use.
async fn prepare_images<E: Engine>(
    r: &Rehearsal<'_, E>,
    sink: &mut dyn EventSink,
    state: &mut RunState,
) -> Result<BTreeMap<String, BuiltImage>, RunError> {
    let (engine, scenario, options) = (r.engine, r.scenario, r.options);
    let mut images: BTreeMap<String, BuiltImage> = BTreeMap::new();
    for host in &scenario.hosts {
        if !images.contains_key(&host.image) {
            let built = ensure_image(engine, &options.build, &host.image, &mut |e| {
                sink.event(&RunEvent::Image(e))
            })
            .await?;
            images.insert(host.image.clone(), built);
        }
        let built = &images[&host.image];
        state.environment.images.push(ImageReport {
            host: host.name.clone(),
            recipe: built.recipe.clone(),
            reference: built.reference.clone(),
            id: engine.image_id(&built.reference).await?,
            content_hash: built.content_hash.clone(),
            base: built.base.clone(),
            cached: built.cached,
        });
    }
    Ok(images)
}

/// Start one host and wait for it to boot. The inner `Err` is a host that did not
/// come up (a result); the outer one an engine failure.
pub(super) async fn start_host<E: Engine>(
    r: &Rehearsal<'_, E>,
    host: &Host,
    image: &str,
    files: Vec<FileCopy>,
    sink: &mut dyn EventSink,
    state: &mut RunState,
) -> Result<Result<(), String>, RunError> {
    let (engine, options) = (r.engine, r.options);
    let network = &network_name(options);
    let started = Instant::now();
    sink.event(&RunEvent::HostStarting {
        host: host.name.clone(),
    });
    let systemd = host.init == Init::Systemd;
    let mut host_labels = run_labels(options, r.scenario);
    host_labels.insert("rehearse.host".into(), host.name.clone());
    let mut aliases = vec![host.name.clone()];
    aliases.extend(host.aliases.iter().cloned());
    let spec = ContainerSpec {
        name: format!("rh-{}-{}", options.run_id, host.name),
        hostname: host.name.clone(),
        image: image.to_string(),
        network: network.to_string(),
        aliases,
        labels: host_labels,
        env: host.env.clone(),
        cmd: if systemd {
            vec!["/sbin/init".into()]
        } else {
            vec!["sleep".into(), "infinity".into()]
        },
        systemd,
        memory: Some(host.memory.unwrap_or(DEFAULT_MEMORY)),
        // At most the machine's CPUs: the engine refuses more.
        cpus: Some(
            host.cpus
                .unwrap_or(DEFAULT_CPUS)
                .min(f64::from(state.engine_cpus.max(1))),
        ),
        pids: Some(host.pids.unwrap_or(DEFAULT_PIDS)),
        files,
    };
    let id = engine.run_container(&spec).await?;
    lock(r.created)
        .containers
        .push((host.name.clone(), id.clone()));
    if systemd {
        match wait_booted(engine, &id, options.boot_timeout).await {
            Ok(BootState::Running) => {}
            Ok(BootState::Degraded { failed_units }) => {
                record_degraded(state, sink, &host.name, &failed_units, "at first boot")
            }
            Err(detail) => return Ok(Err(format!("host `{}` did not boot: {detail}", host.name))),
        }
    }
    super::apt_proxy::configure_host(r, &id, network).await?;
    let address = engine.container_ip(&id, network).await?;
    state.hosts.insert(&host.name, id, address);
    sink.event(&RunEvent::HostReady {
        host: host.name.clone(),
        address: address.to_string(),
        boot: started.elapsed(),
    });
    Ok(Ok(()))
}

/// A degraded boot is a finding, not a failure: the service checks say whether it matters.
pub(super) fn record_degraded(
    state: &mut RunState,
    sink: &mut dyn EventSink,
    host: &str,
    failed_units: &str,
    when: &str,
) {
    let finding = Finding {
        key: "systemd.degraded".into(),
        severity: Severity::Medium,
        inhibitor: false,
        host: Some(host.to_string()),
        message: format!("host `{host}` booted degraded {when}: some systemd units failed"),
        remediation: "inspect the failed units (`systemctl --failed`, `journalctl -u UNIT`) and fix or disable them".into(),
        evidence: failed_units.lines().map(str::to_string).collect(),
    };
    sink.event(&RunEvent::Finding(finding.clone()));
    state.findings.push(finding);
}
