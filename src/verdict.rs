//! The verdict: GO only if every gate holds. Besides the scenario's own gates every
//! run has two built-in ones: all steps passed, and no finding inhibits the change.

use crate::finding::Finding;
use crate::report::{GateReport, MonitorReport, ProbeReport, StepReport, StepStatus, Verdict};
use crate::scenario::{Gate, GateKind};

/// Evaluate the built-in and scenario gates; returns them with the verdict.
pub fn evaluate(
    gates: &[Gate],
    steps: &[StepReport],
    probes: &[ProbeReport],
    findings: &[Finding],
    monitors: &[MonitorReport],
    interrupted: bool,
) -> (Vec<GateReport>, Verdict) {
    let mut reports = vec![steps_gate(steps, interrupted), inhibitors_gate(findings)];
    reports.extend(
        gates
            .iter()
            .map(|g| scenario_gate(g, probes, findings, monitors)),
    );
    let verdict = if reports.iter().all(|g| g.passed) {
        Verdict::Go
    } else {
        Verdict::NoGo
    };
    (reports, verdict)
}

fn steps_gate(steps: &[StepReport], interrupted: bool) -> GateReport {
    let failed: Vec<&StepReport> = steps
        .iter()
        .filter(|s| s.status == StepStatus::Failed && !s.allow_failure)
        .collect();
    let detail = if interrupted {
        "the run was interrupted before every step ran".to_string()
    } else if failed.is_empty() {
        format!("{} steps passed", steps.len())
    } else {
        let names: Vec<String> = failed
            .iter()
            .map(|s| match &s.detail {
                Some(d) => format!("`{}`: {d}", s.name),
                None => format!("`{}`", s.name),
            })
            .collect();
        names.join("; ")
    };
    GateReport {
        name: "steps passed".into(),
        passed: failed.is_empty() && !interrupted,
        value: failed.len() as f64,
        limit: 0.0,
        detail,
    }
}

fn inhibitors_gate(findings: &[Finding]) -> GateReport {
    let inhibitors: Vec<&Finding> = findings.iter().filter(|f| f.inhibitor).collect();
    let detail = if inhibitors.is_empty() {
        "no finding inhibits the change".to_string()
    } else {
        inhibitors
            .iter()
            .map(|f| format!("{}: {}", f.key, f.message))
            .collect::<Vec<_>>()
            .join("; ")
    };
    GateReport {
        name: "no inhibitors".into(),
        passed: inhibitors.is_empty(),
        value: inhibitors.len() as f64,
        limit: 0.0,
        detail,
    }
}

fn scenario_gate(
    gate: &Gate,
    probes: &[ProbeReport],
    findings: &[Finding],
    monitors: &[MonitorReport],
) -> GateReport {
    match &gate.kind {
        GateKind::MaxFailedChecks { probe, limit } => {
            let selected: Vec<&ProbeReport> = probes
                .iter()
                .filter(|p| probe.as_deref().is_none_or(|name| p.name == name))
                .collect();
            let failed: u64 = selected.iter().map(|p| u64::from(p.failed_checks)).sum();
            let checks: u64 = selected.iter().map(|p| u64::from(p.checks)).sum();
            let subject = probe
                .as_ref()
                .map_or("all probes".to_string(), |p| format!("probe `{p}`"));
            GateReport {
                name: gate.name.clone(),
                passed: failed <= *limit,
                value: failed as f64,
                limit: *limit as f64,
                detail: format!("{failed} of {checks} checks of {subject} failed (limit {limit})"),
            }
        }
        GateKind::MaxFindings { severity, limit } => {
            let count = findings.iter().filter(|f| f.severity >= *severity).count() as u64;
            GateReport {
                name: gate.name.clone(),
                passed: count <= *limit,
                value: count as f64,
                limit: *limit as f64,
                detail: format!(
                    "{count} findings of severity {} or higher (limit {limit})",
                    severity.as_str()
                ),
            }
        }
        GateKind::MaxUnavailability { monitor, limit } => {
            let selected = select_monitors(monitors, monitor.as_deref());
            let worst = selected.iter().max_by_key(|m| m.longest_unavailability_ms);
            let value = worst.map_or(0, |m| m.longest_unavailability_ms);
            let limit_ms = limit.as_millis() as u64;
            GateReport {
                name: gate.name.clone(),
                passed: value <= limit_ms && !selected.is_empty(),
                value: value as f64,
                limit: limit_ms as f64,
                detail: match worst {
                    Some(m) => format!(
                        "longest unavailability {value} ms (monitor `{}`, {} of {} requests failed; limit {limit_ms} ms)",
                        m.name, m.failed, m.sent
                    ),
                    None => "no monitor ran, so availability was not measured".into(),
                },
            }
        }
        GateKind::MaxFailedRequests { monitor, limit } => {
            let selected = select_monitors(monitors, monitor.as_deref());
            let failed: u64 = selected.iter().map(|m| m.failed).sum();
            let sent: u64 = selected.iter().map(|m| m.sent).sum();
            GateReport {
                name: gate.name.clone(),
                passed: failed <= *limit && !selected.is_empty(),
                value: failed as f64,
                limit: *limit as f64,
                detail: if selected.is_empty() {
                    "no monitor ran, so failed requests were not counted".into()
                } else {
                    format!("{failed} of {sent} requests failed (limit {limit})")
                },
            }
        }
    }
}

/// The monitors a gate is about: one by name, or all.
fn select_monitors<'a>(
    monitors: &'a [MonitorReport],
    name: Option<&str>,
) -> Vec<&'a MonitorReport> {
    monitors
        .iter()
        .filter(|m| name.is_none_or(|n| m.name == n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Severity;

    fn step(name: &str, status: StepStatus, allow_failure: bool) -> StepReport {
        StepReport {
            name: name.into(),
            kind: "exec".into(),
            status,
            duration_ms: 1,
            detail: None,
            checks: vec![],
            evidence: None,
            logs: vec![],
            upgrade: None,
            allow_failure,
        }
    }

    fn probe(name: &str, checks: u32, failed_checks: u32) -> ProbeReport {
        ProbeReport {
            name: name.into(),
            kind: "http".into(),
            host: "web".into(),
            attempts: checks,
            failures: failed_checks,
            checks,
            failed_checks,
            last_failure: None,
        }
    }

    fn finding(severity: Severity, inhibitor: bool) -> Finding {
        Finding {
            key: "k".into(),
            severity,
            inhibitor,
            host: None,
            message: "m".into(),
            remediation: "r".into(),
            evidence: vec![],
        }
    }

    #[test]
    fn go_when_all_steps_pass_and_nothing_inhibits() {
        let steps = [step("a", StepStatus::Passed, false)];
        let (gates, verdict) = evaluate(
            &[],
            &steps,
            &[],
            &[finding(Severity::Low, false)],
            &[],
            false,
        );
        assert_eq!(verdict, Verdict::Go);
        assert_eq!(gates.len(), 2);
    }

    #[test]
    fn a_failed_step_is_no_go_unless_allowed_to_fail() {
        let failed = [step("a", StepStatus::Failed, false)];
        assert_eq!(
            evaluate(&[], &failed, &[], &[], &[], false).1,
            Verdict::NoGo
        );
        let allowed = [step("a", StepStatus::Failed, true)];
        assert_eq!(evaluate(&[], &allowed, &[], &[], &[], false).1, Verdict::Go);
    }

    #[test]
    fn an_inhibitor_or_an_interruption_is_no_go() {
        let steps = [step("a", StepStatus::Passed, false)];
        let (gates, verdict) = evaluate(
            &[],
            &steps,
            &[],
            &[finding(Severity::High, true)],
            &[],
            false,
        );
        assert_eq!(verdict, Verdict::NoGo);
        assert!(!gates[1].passed);
        assert_eq!(evaluate(&[], &steps, &[], &[], &[], true).1, Verdict::NoGo);
    }

    #[test]
    fn scenario_gates_measure_probes_and_findings() {
        let steps = [step("a", StepStatus::Failed, true)];
        let probes = [probe("home", 3, 1), probe("db", 2, 0)];
        let gates = [
            Gate {
                name: "home tolerates one".into(),
                kind: GateKind::MaxFailedChecks {
                    probe: Some("home".into()),
                    limit: 1,
                },
            },
            Gate {
                name: "none overall".into(),
                kind: GateKind::MaxFailedChecks {
                    probe: None,
                    limit: 0,
                },
            },
            Gate {
                name: "no medium findings".into(),
                kind: GateKind::MaxFindings {
                    severity: Severity::Medium,
                    limit: 0,
                },
            },
        ];
        let findings = [finding(Severity::Low, false)];
        let (reports, verdict) = evaluate(&gates, &steps, &probes, &findings, &[], false);
        assert_eq!(verdict, Verdict::NoGo);
        let passed: Vec<bool> = reports.iter().map(|g| g.passed).collect();
        assert_eq!(passed, [true, true, true, false, true]);
        assert_eq!(
            reports[3].detail,
            "1 of 5 checks of all probes failed (limit 0)"
        );
    }
}
