//! `upgrade` step: a Debian major upgrade of one host, one release at a time.
//!
//! Per hop: APT sources rewritten for the next release (both formats), `apt-get
//! update`, `upgrade --without-new-pkgs`, `full-upgrade`, then a reboot, the host's
//! state compared with before, the stack checked, and the step's probes run. Findings
//! do not fail the step: they reach the verdict through the gates.

mod apt;
pub(crate) mod checks;
pub(crate) mod host_state;
pub(super) mod sources;
mod space;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use self::apt::{CommandLog, Streamed, apt_get, environment, run_logged};
use self::host_state::{HostState, PackageDiff, SNAPSHOT_SCRIPT};
use super::reboot::reboot_host;
use super::{StepContext, StepResult};
use crate::debian::release::{Hop, upgrade_path};
use crate::engine::Engine;
use crate::findings::When;
use crate::model::Finding;
use crate::probe::Evidence;
use crate::report::{CheckReport, HopReport, UpgradeReport};
use crate::runner::{RunEvent, log_watch};

use super::RunStep;
use crate::scenario::StepSpec;
use crate::scenario::format::{HostRef, MirrorUrl, Opt, ProbeRefs, Release, StringOrList};
use schemars::JsonSchema;
use serde::Deserialize;

/// A Debian major upgrade of one host, one release at a time, the way the release
/// notes advise: sources rewritten, `apt-get update`, `upgrade --without-new-pkgs`,
/// `full-upgrade`, reboot; checked before, between and after the hops.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpgradeStep {
    #[serde(with = "HostRef")]
    pub host: String,
    /// Target release codename; may be several releases ahead.
    #[serde(with = "Release")]
    pub to: String,
    /// Packages that must still be installed afterwards (removing one inhibits the change).
    #[serde(default, with = "StringOrList")]
    pub protect: Vec<String>,
    #[serde(default)]
    pub conffiles: ConffilePolicy,
    /// Reboot after each hop (default) so services are checked as they come up at boot.
    #[serde(default = "yes")]
    pub reboot: bool,
    /// Point Debian's entries at this mirror while rewriting (default: keep their URIs).
    #[serde(default, with = "Opt::<MirrorUrl>")]
    pub mirror: Option<String>,
    #[serde(default, with = "Opt::<MirrorUrl>")]
    pub security_mirror: Option<String>,
    /// Probes run after each hop.
    #[serde(default, with = "ProbeRefs")]
    pub probes: Vec<String>,
}

/// What dpkg does with a configuration file changed both locally and by the package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConffilePolicy {
    /// Keep the local file; the maintainer's version is left next to it (`.dpkg-dist`).
    #[default]
    Keep,
    /// Install the maintainer's version; the local one is kept as `.dpkg-old`.
    Maintainer,
}

impl StepSpec for UpgradeStep {
    const KIND: &'static str = "upgrade";

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(3600)
    }

    fn derived_name(&self) -> String {
        format!("upgrade {} to {}", self.host, self.to)
    }
}

impl RunStep for UpgradeStep {
    const RISKY: bool = true;

    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        run(self, cx).await
    }
}

/// `reboot` is on unless set off.
fn yes() -> bool {
    true
}

/// What says why a unit (`$1`) is not running: its program when that no longer exists,
/// and the last lines of its journal of this boot.
const UNIT_FACTS: &str = r#"
printf '### missing_program\n'
program=$(systemctl show -p ExecStart --value "$1" 2>/dev/null | sed -n 's/.*path=\([^ ;]*\).*/\1/p' | head -n 1)
if [ -n "$program" ] && [ ! -e "$program" ]; then echo "$program"; fi
printf '### journal\n'
journalctl -u "$1" -b --no-pager -o cat 2>/dev/null | tail -n 5
true
"#;

/// Timeouts of the commands inside a hop; the step's own timeout bounds the whole.
const UPDATE_TIMEOUT: Duration = Duration::from_secs(600);
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(3000);
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

pub(in crate::runner) async fn run<E: Engine>(
    step: &UpgradeStep,
    cx: &mut StepContext<'_, E>,
) -> StepResult {
    let Some(container) = cx.container(&step.host) else {
        return StepResult::failed(format!("host `{}` is not running", step.host));
    };
    let mut upgrade = Upgrade::new(step, container);
    let outcome = upgrade.run(cx).await;
    let mut result = match outcome {
        Ok(()) => StepResult {
            passed: upgrade.failed_probes.is_empty(),
            detail: Some(upgrade.summary()),
            ..StepResult::default()
        },
        Err(detail) => StepResult::failed(detail),
    };
    if !upgrade.failed_probes.is_empty() {
        let probes = upgrade.failed_probes.join("; ");
        result.detail = Some(format!("{}; {probes}", result.detail.unwrap_or_default()));
    }
    result.checks = std::mem::take(&mut upgrade.checks);
    result.logs = std::mem::take(&mut upgrade.logs);
    result.upgrade = Some(UpgradeReport {
        host: step.host.clone(),
        target: step.to.clone(),
        hops: std::mem::take(&mut upgrade.hops),
    });
    result.evidence = upgrade.tail_evidence();
    result
}

/// The state of one upgrade as it goes.
struct Upgrade<'s> {
    step: &'s UpgradeStep,
    container: String,
    started: Instant,
    hops: Vec<HopReport>,
    checks: Vec<CheckReport>,
    failed_probes: Vec<String>,
    logs: Vec<String>,
    /// The last lines of the log, for the step's evidence.
    last_output: String,
}

impl<'s> Upgrade<'s> {
    fn new(step: &'s UpgradeStep, container: String) -> Self {
        Upgrade {
            step,
            container,
            started: Instant::now(),
            hops: Vec::new(),
            checks: Vec::new(),
            failed_probes: Vec::new(),
            logs: Vec::new(),
            last_output: String::new(),
        }
    }

    fn summary(&self) -> String {
        let hops: Vec<String> = self
            .hops
            .iter()
            .map(|h| {
                format!(
                    "{} → {}: {} upgraded, {} new, {} removed",
                    h.from,
                    h.to,
                    h.upgraded.len(),
                    h.added.len(),
                    h.removed.len()
                )
            })
            .collect();
        format!(
            "{} in {:.0}s",
            hops.join("; "),
            self.started.elapsed().as_secs_f64()
        )
    }

    fn tail_evidence(&self) -> Option<Evidence> {
        if self.last_output.is_empty() {
            return None;
        }
        let lines: Vec<&str> = self.last_output.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        Some(Evidence {
            summary: "last lines of the upgrade log".into(),
            output: Some(tail),
            ..Evidence::default()
        })
    }

    async fn run<E: Engine>(&mut self, cx: &mut StepContext<'_, E>) -> Result<(), String> {
        let before = self.snapshot(cx).await?;
        for finding in checks::before_upgrade(&self.step.host, &before, &self.step.to) {
            cx.report_finding(finding);
        }
        let path = upgrade_path(&before.codename, &self.step.to)
            .map_err(|e| format!("cannot plan the upgrade of `{}`: {e}", self.step.host))?;
        let mut previous = before.clone();
        for hop in path {
            previous = self.hop(cx, &hop, &previous).await?;
        }
        Ok(())
    }

    async fn snapshot<E: Engine>(&self, cx: &StepContext<'_, E>) -> Result<HostState, String> {
        let argv = ["sh".to_string(), "-c".into(), SNAPSHOT_SCRIPT.into()];
        let output = cx
            .engine
            .exec(&self.container, &argv, SCRIPT_TIMEOUT)
            .await
            .map_err(|e| format!("cannot read the state of host `{}`: {e}", self.step.host))?;
        Ok(HostState::parse(&output.stdout))
    }

    /// One release to the next. Returns the host's state after it.
    async fn hop<E: Engine>(
        &mut self,
        cx: &mut StepContext<'_, E>,
        hop: &Hop,
        previous: &HostState,
    ) -> Result<HostState, String> {
        let hop_started = Instant::now();
        let host = self.step.host.clone();
        // The checks of what the release notes warn about: their facts before anything
        // changes, judged now for the checks of the host as it is, kept for after the hop.
        let host_checks = crate::findings::for_hop(hop.to);
        cx.progress(format!(
            "{host}: {} → {}: checking the host",
            hop.from, hop.to
        ));
        let facts_before = self.host_facts(cx, &host_checks, false).await?;
        for finding in crate::findings::judge_hop(
            &host,
            &host_checks,
            When::BeforeUpgrade,
            hop.from,
            hop.to,
            &facts_before,
            &BTreeMap::new(),
        ) {
            cx.report_finding(finding);
        }
        cx.progress(format!(
            "{host}: {} → {}: rewriting APT sources",
            hop.from, hop.to
        ));
        let mut file = cx
            .open_log(&format!("upgrade-{host}-{}-{}", hop.from, hop.to))
            .map(|(file, path)| {
                self.logs.push(path);
                file
            });
        let mut text = String::new();
        let mut log = CommandLog {
            file: file.as_mut(),
            text: &mut text,
        };

        let rewrite = sources::rewrite_host(cx, &self.container, self.step, hop, &mut log).await;
        // Reported once apt has fetched from them: its warnings about a source join
        // the evidence of the finding that names it.
        let mut source_findings = match rewrite {
            Ok(found) => found,
            Err(e) => {
                self.last_output = text;
                return Err(e);
            }
        };

        let env = environment(self.step.conffiles);
        let commands: [(Vec<String>, Duration); 3] = [
            (vec!["apt-get".into(), "update".into()], UPDATE_TIMEOUT),
            (
                apt_get(self.step.conffiles, &["upgrade", "--without-new-pkgs"]),
                UPGRADE_TIMEOUT,
            ),
            (
                apt_get(self.step.conffiles, &["full-upgrade"]),
                UPGRADE_TIMEOUT,
            ),
        ];
        let mut apt_failure = None;
        let apt_started = Instant::now();
        for (at, (argv, timeout)) in commands.into_iter().enumerate() {
            let sink = &mut *cx.sink;
            let index = cx.index;
            let prefix = format!("{host}: {} → {}", hop.from, hop.to);
            let result = run_logged(
                cx.engine,
                &self.container,
                &argv,
                &env,
                timeout.min(cx.timeout),
                &mut log,
                &mut |output| match output {
                    Streamed::Line(line) => sink.event(&RunEvent::StepOutput {
                        index,
                        host: host.to_string(),
                        line: line.to_string(),
                    }),
                    Streamed::Progress(message) => sink.event(&RunEvent::StepProgress {
                        index,
                        message: format!("{prefix}: {message}"),
                    }),
                },
            )
            .await;
            apt_failure = match &result {
                Ok(output) if output.exit_code == 0 => None,
                Ok(output) => Some(format!(
                    "`{}` exited with {}",
                    argv.join(" "),
                    output.exit_code
                )),
                Err(e) => Some(e.clone()),
            };
            if apt_failure.is_some() {
                break;
            }
            if at == 0 {
                // The new release's lists are in: what the upgrade needs, against what is free.
                self.check_space(cx, hop, &mut log).await;
            }
        }
        let apt_ms = apt_started.elapsed().as_millis() as u64;
        checks::attach_fetch_lines(&mut source_findings, log.text);
        for finding in source_findings {
            cx.report_finding(finding);
        }
        if let Some(detail) = &apt_failure {
            cx.report_finding(failed_upgrade(&host, hop, detail, log.text));
        }
        self.last_output = text;

        // After a failed upgrade the host is left as the real one would be: no reboot,
        // but its state and stack are still checked, to show what is broken.
        let reboot_started = Instant::now();
        if self.step.reboot && apt_failure.is_none() {
            let when = format!("after the upgrade to {}", hop.to);
            reboot_host(cx, &host, &self.container, &when).await?;
        }
        let reboot_ms = reboot_started.elapsed().as_millis() as u64;
        // Three reads of the host that change nothing, side by side rather than one
        // after another.
        let (after, facts, facts_after) = tokio::try_join!(
            self.snapshot(cx),
            self.stack_facts(cx),
            self.host_facts(cx, &host_checks, true),
        )?;
        let units = self.unit_states(cx, previous, &after).await;
        for mut finding in checks::after_hop(&host, previous, &after, &self.step.protect, &units) {
            if finding.key == "service.not-running" {
                finding.evidence = self
                    .why_not_running(cx, &finding.evidence, previous, &after)
                    .await;
            }
            cx.report_finding(finding);
        }
        for finding in checks::stack(&host, &facts, &after) {
            cx.report_finding(finding);
        }
        for finding in crate::findings::judge_hop(
            &host,
            &host_checks,
            When::AfterHop,
            hop.from,
            hop.to,
            &facts_before,
            &facts_after,
        ) {
            cx.report_finding(finding);
        }
        if after.installed.contains_key("apache2") {
            let offset =
                log_watch::file_size(cx.engine, &self.container, "/var/log/apache2/error.log")
                    .await;
            cx.state.log_watches.retain(|w| {
                !(w.host == host && w.kind.key == crate::findings::PHP_FATAL_ERRORS.key)
            });
            cx.state.log_watches.push(log_watch::php_errors(
                &host,
                &self.container,
                offset,
                hop.to,
            ));
        }
        let diff = PackageDiff::between(previous, &after);
        self.hops.push(HopReport {
            from: hop.from.to_string(),
            to: hop.to.to_string(),
            debian_version_before: previous.debian_version.clone(),
            debian_version_after: after.debian_version.clone(),
            duration_ms: hop_started.elapsed().as_millis() as u64,
            apt_ms,
            reboot_ms,
            upgraded: diff
                .upgraded
                .iter()
                .map(|(name, old, new)| format!("{name} {old} → {new}"))
                .collect(),
            added: diff.added.iter().map(|(n, v)| format!("{n} {v}")).collect(),
            removed: diff
                .removed
                .iter()
                .map(|(n, v)| format!("{n} {v}"))
                .collect(),
        });
        if let Some(detail) = apt_failure {
            return Err(format!("{} → {}: {detail}", hop.from, hop.to));
        }
        self.probe(cx, hop).await;
        Ok(after)
    }

    /// apt's estimate of the space the hop needs, logged, and a finding when the replica
    /// has less. Without an estimate (apt could not make one) nothing is claimed.
    async fn check_space<E: Engine>(
        &self,
        cx: &mut StepContext<'_, E>,
        hop: &Hop,
        log: &mut CommandLog<'_>,
    ) {
        let argv = ["sh".to_string(), "-c".into(), space::SCRIPT.into()];
        let Ok(output) = cx.engine.exec(&self.container, &argv, SCRIPT_TIMEOUT).await else {
            return;
        };
        let Some(space) = space::Space::parse(&output.stdout) else {
            return;
        };
        log.line(&format!("# space: {}", space.summary()));
        cx.progress(format!(
            "{}: {} → {}: {}",
            self.step.host,
            hop.from,
            hop.to,
            space.summary()
        ));
        if let Some(finding) = space.finding(&self.step.host, hop.to) {
            cx.report_finding(finding);
        }
    }

    /// The facts of `host_checks`, before the hop or after it, by their keys.
    async fn host_facts<E: Engine>(
        &self,
        cx: &StepContext<'_, E>,
        host_checks: &[&crate::findings::HostCheck],
        after: bool,
    ) -> Result<BTreeMap<String, Vec<String>>, String> {
        let script = crate::findings::hop_script(host_checks, after);
        let argv = ["sh".to_string(), "-c".into(), script];
        let output = cx
            .engine
            .exec(&self.container, &argv, SCRIPT_TIMEOUT)
            .await
            .map_err(|e| format!("cannot check host `{}`: {e}", self.step.host))?;
        Ok(checks::sections(&output.stdout))
    }

    async fn stack_facts<E: Engine>(
        &self,
        cx: &StepContext<'_, E>,
    ) -> Result<std::collections::BTreeMap<String, Vec<String>>, String> {
        let argv = ["sh".to_string(), "-c".into(), checks::STACK_SCRIPT.into()];
        let output = cx
            .engine
            .exec(&self.container, &argv, SCRIPT_TIMEOUT)
            .await
            .map_err(|e| format!("cannot check the stack of host `{}`: {e}", self.step.host))?;
        Ok(checks::sections(&output.stdout))
    }

    /// What systemd says of each service that ran before the hop and not after it.
    async fn unit_states<E: Engine>(
        &self,
        cx: &StepContext<'_, E>,
        before: &HostState,
        after: &HostState,
    ) -> BTreeMap<String, checks::UnitState> {
        let mut units = BTreeMap::new();
        for unit in checks::stopped_services(before, after) {
            let argv = [
                "sh".to_string(),
                "-c".into(),
                checks::UNIT_STATE_SCRIPT.into(),
                "sh".into(),
                unit.clone(),
            ];
            if let Ok(output) = cx.engine.exec(&self.container, &argv, SCRIPT_TIMEOUT).await {
                units.insert(unit, checks::UnitState::parse(&output.stdout));
            }
        }
        units
    }

    /// Each unit that did not start, then what says why: the last lines of its journal
    /// of this boot, and its program when that is gone (naming the package that shipped
    /// it, when the upgrade removed that package).
    async fn why_not_running<E: Engine>(
        &self,
        cx: &StepContext<'_, E>,
        units: &[String],
        before: &HostState,
        after: &HostState,
    ) -> Vec<String> {
        let mut evidence = Vec::new();
        for unit in units {
            evidence.push(unit.clone());
            let argv = [
                "sh".to_string(),
                "-c".into(),
                UNIT_FACTS.into(),
                "sh".into(),
                unit.clone(),
            ];
            let Ok(output) = cx.engine.exec(&self.container, &argv, SCRIPT_TIMEOUT).await else {
                continue;
            };
            let facts = checks::sections(&output.stdout);
            let lines = |name: &str| facts.get(name).cloned().unwrap_or_default();
            for program in lines("missing_program") {
                evidence.push(checks::program_gone(unit, &program, before, after));
            }
            for line in lines("journal") {
                evidence.push(format!("{unit} journal: {line}"));
            }
        }
        evidence
    }

    /// The step's probes, after each hop.
    async fn probe<E: Engine>(&mut self, cx: &mut StepContext<'_, E>, hop: &Hop) {
        for name in &self.step.probes {
            let Some(check) = cx.check_probe(name).await else {
                continue;
            };
            if !check.passed {
                self.failed_probes.push(format!(
                    "after {} → {}: probe `{name}`: {}",
                    hop.from, hop.to, check.evidence.summary
                ));
            }
            self.checks.push(check);
        }
    }
}

/// The upgrade itself failed: the real host would be left half-upgraded.
fn failed_upgrade(host: &str, hop: &Hop, detail: &str, log: &str) -> Finding {
    let lines: Vec<String> = log.lines().map(str::to_string).collect();
    // dpkg's error lines with the indented reason that follows each (" end of file on
    // stdin at conffile prompt", " installed … subprocess returned error exit status 1").
    let mut errors: Vec<String> = Vec::new();
    let mut in_error = false;
    for line in &lines {
        let reason = in_error && line.starts_with(' ');
        in_error = line.starts_with("dpkg: error") || reason;
        if line.starts_with("E:")
            || line.starts_with("dpkg: error")
            || line.contains("Errors were encountered")
            || reason
        {
            errors.push(line.clone());
        }
    }
    let evidence = if errors.is_empty() {
        lines[lines.len().saturating_sub(20)..].to_vec()
    } else {
        errors
    };
    crate::findings::UPGRADE_FAILED.found(
        host,
        format!(
            "the upgrade from {} to {} failed: {detail}",
            hop.from, hop.to
        ),
        evidence,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_upgrade_shows_dpkgs_errors_with_their_reasons() {
        let hop = Hop {
            from: "bullseye",
            to: "bookworm",
        };
        let log = "Setting up foo (1.0) ...\n\
dpkg: error processing package foo (--configure):\n end of file on stdin at conffile prompt\n\
Setting up bar (2.0) ...\n\
Errors were encountered while processing:\n foo\n\
E: Sub-process /usr/bin/dpkg returned an error code (1)\n";
        let found = failed_upgrade("web", &hop, "`apt-get full-upgrade` exited with 100", log);
        assert_eq!(
            found.evidence,
            [
                "dpkg: error processing package foo (--configure):",
                " end of file on stdin at conffile prompt",
                "Errors were encountered while processing:",
                "E: Sub-process /usr/bin/dpkg returned an error code (1)",
            ]
        );
    }
}
