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
use crate::images::{BuiltImage, ensure_image};
use crate::report::{ImageReport, StepReport, StepStatus};
use crate::scenario::{Host, Init, ProbeKind, Scenario};

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
    state.step_started = Some(started);
    sink.event(&RunEvent::StepStarted {
        index: 0,
        total,
        name: "provision".into(),
        kind: "provision",
    });
    // Files are checked before anything is created: a reference leaving the scenario's
    // folder or a file over the limits is the user's input to fix.
    let mut copies = host_copies(scenario)?;
    let info = engine.info().await?;
    state.environment.engine_version = info.server_version.clone();
    state.environment.api_version = info.api_version.clone();
    state.environment.cgroup_version = info.cgroup_version.as_str().to_string();
    state.environment.storage_driver = info.storage_driver.clone();
    if let Some(message) = info.storage_notice() {
        sink.event(&RunEvent::Notice { message });
    }
    state.engine_cpus = info.cpus;
    if scenario.hosts.iter().any(|h| h.init == Init::Systemd)
        && let Some(risk) = info.cgroup_risk()
    {
        sink.event(&RunEvent::Notice {
            message: risk.clone(),
        });
        state.environment.cgroup_risk = Some(risk);
    }

    let images = prepare_images(r, sink, state).await?;
    let base =
        super::checkpoint::base_hash(scenario, &options.build, &state.environment.images, &copies);
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

    // Every host is created and booted at once: a three-host replica comes up in the
    // time of its slowest host, not the sum of them. Results are recorded in the
    // scenario's order, so reports read the same whatever order the boots end in.
    let failure = {
        let shared = Mutex::new(&mut *sink);
        let engine_cpus = state.engine_cpus;
        let starts = scenario.hosts.iter().map(|host| {
            let image = match &state.resumed {
                Some(found) => found.images[&host.name].clone(),
                None => images[&host.image].reference.clone(),
            };
            // A checkpoint holds the files as the steps before it left them: copying
            // them again would undo what those steps did.
            let files = match &state.resumed {
                Some(_) => Vec::new(),
                None => copies.remove(&host.name).unwrap_or_default(),
            };
            bring_up(r, host, image, files, engine_cpus, &shared)
        });
        let started_hosts = futures_util::future::join_all(starts.collect::<Vec<_>>()).await;
        let sink = shared.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut failures = Vec::new();
        for (host, up) in scenario.hosts.iter().zip(started_hosts) {
            if let Err(detail) = record_host(host, up?, sink, state) {
                failures.push(detail);
            }
        }
        if !failures.is_empty() {
            // A host cannot fail to boot "because of the stack" when the engine is gone.
            if let Err(e) = engine.info().await
                && e.is_connection()
            {
                return Err(RunError::Engine(crate::engine::EngineError::Connect {
                    detail: format!("it stopped answering while the hosts started: {e}"),
                }));
            }
        }
        (!failures.is_empty()).then(|| failures.join("; "))
    };
    let status = if failure.is_some() {
        StepStatus::Failed
    } else {
        StepStatus::Passed
    };
    let detail = failure.clone().or_else(|| {
        Some(format!(
            "{} up on network `{network_name}`{}",
            crate::words::plural(scenario.hosts.len(), "host"),
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
        allow_failure: false,
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
        interrupted: false,
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
    // Distinct recipes build at once (each waits on the network and dpkg more than on
    // the CPU); a base two recipes share is made once (`build_turn`), the other waits.
    let mut recipes: Vec<&str> = Vec::new();
    for host in &scenario.hosts {
        if !recipes.contains(&host.image.as_str()) {
            recipes.push(&host.image);
        }
    }
    let images: BTreeMap<String, BuiltImage> = {
        let shared = Mutex::new(&mut *sink);
        let builds = recipes.iter().map(|recipe| {
            let shared = &shared;
            async move {
                ensure_image(engine, &options.build, recipe, &mut |e| {
                    emit(shared, &RunEvent::Image(e))
                })
                .await
            }
        });
        let results = futures_util::future::join_all(builds.collect::<Vec<_>>()).await;
        let mut images = BTreeMap::new();
        for (recipe, built) in recipes.iter().zip(results) {
            images.insert(recipe.to_string(), built?);
        }
        images
    };
    for host in &scenario.hosts {
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
    let shared = Mutex::new(&mut *sink);
    let up = bring_up(
        r,
        host,
        image.to_string(),
        files,
        state.engine_cpus,
        &shared,
    )
    .await?;
    let sink = shared.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(record_host(host, up, sink, state))
}

/// A host the engine started, and how its boot went.
struct HostUp {
    id: String,
    /// The address on the run's network, once booted; the reason it did not boot if not.
    booted: Result<Booted, String>,
}

#[derive(Debug)]
struct Booted {
    address: std::net::IpAddr,
    reach: crate::probe::Reach,
    /// Failed units, when systemd came up degraded.
    degraded: Option<String>,
}

/// Create one host's container and wait for its boot. Touches nothing shared but the
/// list of created resources (for cleanup) and the event sink, so several hosts can
/// come up at once.
async fn bring_up<E: Engine>(
    r: &Rehearsal<'_, E>,
    host: &Host,
    image: String,
    files: Vec<FileCopy>,
    engine_cpus: u32,
    sink: &Mutex<&mut (dyn EventSink + '_)>,
) -> Result<HostUp, RunError> {
    let (engine, options) = (r.engine, r.options);
    let network = &network_name(options);
    let started = Instant::now();
    emit(
        sink,
        &RunEvent::HostStarting {
            host: host.name.clone(),
        },
    );
    let systemd = host.init == Init::Systemd;
    if let Some(cpus) = host.cpus
        && cpus > f64::from(engine_cpus.max(1))
    {
        emit(
            sink,
            &RunEvent::Notice {
                message: format!(
                    "host `{}` asks for {cpus} CPUs but the engine has {}: it gets {}",
                    host.name,
                    engine_cpus.max(1),
                    engine_cpus.max(1)
                ),
            },
        );
    }
    let mut host_labels = run_labels(options, r.scenario);
    host_labels.insert("rehearse.host".into(), host.name.clone());
    let aliases = network_aliases(host);
    // A variable holding a secret is given to each command, never written into the
    // container's configuration: no snapshot or checkpoint image keeps it.
    let (exec_env, env) = host
        .env
        .iter()
        .cloned()
        .partition(|(_, value)| holds_secret(r.scenario, value));
    let spec = ContainerSpec {
        name: format!("rh-{}-{}", options.run_id, host.name),
        hostname: host.name.clone(),
        image,
        network: network.to_string(),
        aliases,
        labels: host_labels,
        env,
        exec_env,
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
                .min(f64::from(engine_cpus.max(1))),
        ),
        pids: Some(host.pids.unwrap_or(DEFAULT_PIDS)),
        files,
        publish: if options.publish.is_some() {
            probed_ports(r.scenario, &host.name)
        } else {
            Vec::new()
        },
    };
    let id = engine.run_container(&spec).await?;
    lock(r.created)
        .containers
        .push((host.name.clone(), id.clone()));
    let mut degraded = None;
    if systemd {
        match wait_booted(engine, &id, options.boot_timeout).await {
            Ok(BootState::Running) => {}
            Ok(BootState::Degraded { failed_units }) => degraded = Some(failed_units),
            Err(detail) => {
                return Ok(HostUp {
                    id,
                    booted: Err(format!("host `{}` did not boot: {detail}", host.name)),
                });
            }
        }
    }
    if let Some(message) = super::apt_proxy::configure_host(r, &id, network).await? {
        emit(sink, &RunEvent::Notice { message });
    }
    let (address, reach) = super::locate(engine, options.publish, &id, network).await?;
    emit(
        sink,
        &RunEvent::HostReady {
            host: host.name.clone(),
            address: format!("{address}{}", super::reach_note(&reach)),
            boot: started.elapsed(),
        },
    );
    Ok(HostUp {
        id,
        booted: Ok(Booted {
            address,
            reach,
            degraded,
        }),
    })
}

/// Whether `value` holds (part of) a secret the scenario took from the environment.
fn holds_secret(scenario: &Scenario, value: &str) -> bool {
    scenario
        .secrets
        .iter()
        .any(|s| !s.value.is_empty() && value.contains(&s.value))
}

/// The TCP ports of `host` that the prober uses (probes, monitors, and the monitors a
/// DNS switch moves to it): what is published when the prober cannot reach the host's
/// own address.
pub(crate) fn probed_ports(scenario: &Scenario, host: &str) -> Vec<u16> {
    let mut ports = std::collections::BTreeSet::new();
    for probe in &scenario.probes {
        match &probe.kind {
            ProbeKind::Http(p) if p.host == host => {
                ports.insert(p.port);
            }
            ProbeKind::Tcp(p) if p.host == host => {
                ports.insert(p.port);
            }
            _ => {}
        }
    }
    for monitor in &scenario.monitors {
        if monitor.http.host == host {
            ports.insert(monitor.http.port);
        }
    }
    for step in &scenario.steps {
        if let Some(switch) = step.kind.get::<crate::runner::DnsSwitchStep>()
            && switch.to == host
        {
            for monitor in &scenario.monitors {
                if switch.monitors.is_empty() || switch.monitors.contains(&monitor.name) {
                    ports.insert(monitor.http.port);
                }
            }
        }
    }
    ports.into_iter().collect()
}

/// The names a host answers to on the run's network: its own, then its `aliases`.
pub(super) fn network_aliases(host: &Host) -> Vec<String> {
    let mut aliases = vec![host.name.clone()];
    aliases.extend(host.aliases.iter().cloned());
    aliases
}

/// Record a host that came up in the run's state (its address, a degraded boot).
fn record_host(
    host: &Host,
    up: HostUp,
    sink: &mut dyn EventSink,
    state: &mut RunState,
) -> Result<(), String> {
    let booted = up.booted?;
    if let Some(failed_units) = &booted.degraded {
        record_degraded(state, sink, &host.name, failed_units, "at first boot");
    }
    state
        .hosts
        .insert_reach(&host.name, up.id, booted.address, booted.reach);
    Ok(())
}

fn emit(sink: &Mutex<&mut (dyn EventSink + '_)>, event: &RunEvent) {
    sink.lock().unwrap_or_else(|e| e.into_inner()).event(event);
}

/// A host the engine restarted, back: its systemd waited for (when it boots with it), a
/// degraded boot recorded as a finding (`when` saying at which moment), and the address
/// the engine gave it learnt again. `None` for a host without systemd; the `Err` says why
/// the host did not come back.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn came_back<E: Engine>(
    engine: &E,
    scenario: &Scenario,
    options: &super::RunOptions,
    state: &mut RunState,
    sink: &mut dyn EventSink,
    host: &str,
    container: &str,
    when: &str,
) -> Result<Option<BootState>, String> {
    let mut boot = None;
    if scenario.host(host).is_none_or(|h| h.init == Init::Systemd) {
        let booted = wait_booted(engine, container, options.boot_timeout)
            .await
            .map_err(|detail| format!("host `{host}` did not come back {when}: {detail}"))?;
        if let BootState::Degraded { failed_units } = &booted {
            record_degraded(state, sink, host, failed_units, when);
        }
        boot = Some(booted);
    }
    // The engine may hand out a new address on restart.
    let network = network_name(options);
    let (address, reach) = super::locate(engine, options.publish, container, &network)
        .await
        .map_err(|e| format!("host `{host}` has no address {when}: {e}"))?;
    state
        .hosts
        .insert_reach(host, container.to_string(), address, reach);
    Ok(boot)
}

/// A degraded boot is a finding, not a failure: the service checks say whether it matters.
pub(super) fn record_degraded(
    state: &mut RunState,
    sink: &mut dyn EventSink,
    host: &str,
    failed_units: &str,
    when: &str,
) {
    let finding = crate::findings::SYSTEMD_DEGRADED.found(
        host,
        format!("host `{host}` booted degraded {when}: some systemd units failed"),
        failed_units.lines().map(str::to_string).collect(),
    );
    sink.event(&RunEvent::Finding(finding.clone()));
    state.findings.push(finding);
}

/// Every host's `files:` checked against the file system and the scenario's limits,
/// ready to be copied: host name → its files, in the scenario's order.
pub fn host_copies(
    scenario: &Scenario,
) -> Result<std::collections::BTreeMap<String, Vec<FileCopy>>, crate::local_files::LocalFileError> {
    let dir = scenario.path.parent().unwrap_or(std::path::Path::new("."));
    let mut budget = crate::local_files::SizeBudget::new(scenario.file_limits);
    let mut copies = std::collections::BTreeMap::new();
    for host in &scenario.hosts {
        let mut files = Vec::new();
        for (index, file) in host.files.iter().enumerate() {
            let key = format!("hosts.{}.files[{index}].src", host.name);
            let origin = crate::local_files::Origin {
                file: &scenario.path,
                key: &key,
            };
            let resolved =
                crate::local_files::resolve(dir, &file.src, scenario.allow_files_outside, origin)?;
            budget.take(&file.src, &resolved, origin)?;
            files.push(FileCopy {
                local: resolved.path,
                dest: file.dest.clone(),
                mode: file.mode,
            });
        }
        copies.insert(host.name.clone(), files);
    }
    Ok(copies)
}

#[cfg(test)]
mod tests {
    use super::probed_ports;

    #[test]
    fn publishes_the_ports_probes_monitors_and_dns_switches_use() {
        let scenario = crate::runner::parse_scenario(
            std::path::Path::new("p.yaml"),
            r#"
name: p
hosts:
  old: {image: site}
  new: {image: site}
  db: {image: site}
probes:
  site: {http: {host: old, port: 8080, path: /}}
  mysql: {tcp: {host: db, port: 3306}}
  files: {exec: {host: db, command: "true"}}
monitors:
  visitors: {http: {host: old, port: 80, path: /}, rate: 10}
steps:
  - monitor: {start: visitors}
  - dns-switch: {to: new, over: 1s}
  - monitor: {stop: visitors}
"#,
        )
        .expect("valid");
        assert_eq!(probed_ports(&scenario, "old"), [80, 8080]);
        assert_eq!(probed_ports(&scenario, "new"), [80]);
        assert_eq!(probed_ports(&scenario, "db"), [3306]);
    }
}
