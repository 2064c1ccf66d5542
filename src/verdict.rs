//! The verdict: GO only if every gate holds. Besides the scenario's own gates every
//! run has two built-in ones: all steps passed, and no finding inhibits the change.

use crate::model::{
    Finding, GateReport, MonitorReport, ProbeReport, RecoveryReport, StepReport, StepStatus,
    Verdict, WritesReport,
};
use crate::scenario::{Gate, GateKind};
use crate::words::plural;

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
            .chain(&default_write_gates(gates, monitors))
            .map(|g| scenario_gate(g, steps, probes, findings, monitors)),
    );
    let verdict = if reports.iter().all(|g| g.passed) {
        Verdict::Go
    } else {
        Verdict::NoGo
    };
    (reports, verdict)
}

/// The built-in gate that every step passed (or failed where allowed).
pub const STEPS_GATE: &str = "steps passed";

fn steps_gate(steps: &[StepReport], interrupted: bool) -> GateReport {
    let failed: Vec<&StepReport> = steps
        .iter()
        .filter(|s| s.status == StepStatus::Failed && !s.allow_failure)
        .collect();
    let count = |status: StepStatus| steps.iter().filter(|s| s.status == status).count();
    let allowed = steps
        .iter()
        .filter(|s| s.status == StepStatus::Failed && s.allow_failure)
        .count();
    let detail = if interrupted {
        match steps.iter().find(|s| s.interrupted) {
            Some(step) => format!(
                "the run was interrupted during step `{}`, after {:.1} s: the steps after it did not run",
                step.name,
                step.duration_ms as f64 / 1000.0
            ),
            None => "the run was interrupted before every step ran".to_string(),
        }
    } else if failed.is_empty() {
        let mut text = plural(count(StepStatus::Passed), "step") + " passed";
        if allowed > 0 {
            text.push_str(&format!("; {allowed} failed where failure is allowed"));
        }
        let skipped = count(StepStatus::Skipped);
        if skipped > 0 {
            text.push_str(&format!("; {skipped} skipped"));
        }
        text
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
        name: STEPS_GATE.into(),
        passed: failed.is_empty() && !interrupted,
        value: failed.len() as f64,
        limit: 0.0,
        unit: "failed steps".into(),
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
        unit: "inhibitors".into(),
        detail,
    }
}

fn scenario_gate(
    gate: &Gate,
    steps: &[StepReport],
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
                unit: "failed checks".into(),
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
                unit: "findings".into(),
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
                unit: "ms".into(),
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
                unit: "failed requests".into(),
                detail: if selected.is_empty() {
                    "no monitor ran, so failed requests were not counted".into()
                } else {
                    format!("{failed} of {sent} requests failed (limit {limit})")
                },
            }
        }
        GateKind::LostWrites { monitor, limit } => {
            writes_gate(gate, monitors, monitor.as_deref(), *limit, false)
        }
        GateKind::SplitWrites { monitor, limit } => {
            writes_gate(gate, monitors, monitor.as_deref(), *limit, true)
        }
        GateKind::P99Latency { monitor, max_ratio } => {
            p99_gate(gate, monitors, monitor.as_deref(), *max_ratio)
        }
        GateKind::RecoveryPoint { limit } => recovery_gate(gate, steps, *limit),
    }
}

/// The data every restore lost, in time, against the limit.
fn recovery_gate(gate: &Gate, steps: &[StepReport], limit: std::time::Duration) -> GateReport {
    let limit_s = limit.as_secs_f64();
    let restores: Vec<(&str, &RecoveryReport)> = steps
        .iter()
        .filter_map(|s| s.recovery.as_ref().map(|r| (s.name.as_str(), r)))
        .collect();
    let worst = restores.iter().max_by(|a, b| {
        a.1.data_loss_window_s()
            .total_cmp(&b.1.data_loss_window_s())
    });
    let Some((step, worst)) = worst else {
        return GateReport {
            name: gate.name.clone(),
            passed: false,
            value: 0.0,
            limit: limit_s,
            unit: "s".into(),
            detail: "no restore ran, so the recovery point was not measured".into(),
        };
    };
    let window = worst.data_loss_window_s();
    let mut detail = format!(
        "`{step}`: data written in the last {window:.1} s before `{}` was lost is gone (the last backup that reached `{}` began {:.1} s before the loss",
        worst.host, worst.from, worst.seconds_since_last_backup
    );
    if let Some(oldest) = worst.oldest_lost_write_s
        && oldest > worst.seconds_since_last_backup
    {
        detail.push_str(&format!(
            "; but a write sent {oldest:.1} s before the loss, before that backup began, is missing: it was still in flight as the backup began, or the backup does not hold everything"
        ));
    }
    detail.push(')');
    if let Some(rows) = worst.rows_lost {
        detail.push_str(&format!("; {rows} rows lost"));
    }
    if let Some(writes) = worst.lost_writes {
        detail.push_str(&format!("; {writes} acknowledged writes lost"));
    }
    detail.push_str(&format!(" (limit {})", humantime::format_duration(limit)));
    GateReport {
        name: gate.name.clone(),
        passed: window <= limit_s,
        value: (window * 10.0).round() / 10.0,
        limit: limit_s,
        unit: "s".into(),
        detail,
    }
}

/// Writes are never allowed to go missing or split by default: when a monitor tracked
/// writes, `lost_writes` (and, when the old database was listed, `split_writes`) gates
/// with limit 0 apply unless the scenario sets its own.
fn default_write_gates(gates: &[Gate], monitors: &[MonitorReport]) -> Vec<Gate> {
    let mut defaults = Vec::new();
    let writers: Vec<&WritesReport> = monitors.iter().filter_map(|m| m.writes.as_ref()).collect();
    let has = |wanted: fn(&GateKind) -> bool| gates.iter().any(|g| wanted(&g.kind));
    // A restore rehearsal expects the writes after the last backup to be lost: its
    // `recovery_point` gate bounds them in time instead.
    if !writers.is_empty()
        && !has(|k| {
            matches!(
                k,
                GateKind::LostWrites { .. } | GateKind::RecoveryPoint { .. }
            )
        })
    {
        defaults.push(Gate {
            name: "lost_writes".into(),
            kind: GateKind::LostWrites {
                monitor: None,
                limit: 0,
            },
        });
    }
    if writers.iter().any(|w| w.stored_old.is_some())
        && !has(|k| matches!(k, GateKind::SplitWrites { .. }))
    {
        defaults.push(Gate {
            name: "split_writes".into(),
            kind: GateKind::SplitWrites {
                monitor: None,
                limit: 0,
            },
        });
    }
    defaults
}

/// Lost or split writes of the writer monitors a gate is about.
fn writes_gate(
    gate: &Gate,
    monitors: &[MonitorReport],
    monitor: Option<&str>,
    limit: u64,
    split: bool,
) -> GateReport {
    let noun = if split { "split" } else { "lost" };
    let writers: Vec<(&str, &WritesReport)> = select_monitors(monitors, monitor)
        .into_iter()
        .filter_map(|m| m.writes.as_ref().map(|w| (m.name.as_str(), w)))
        .collect();
    let unmeasured: Vec<String> = writers
        .iter()
        .filter(|(_, w)| {
            if split {
                !w.split_measured()
            } else {
                !w.lost_measured()
            }
        })
        .map(|(name, w)| format!("monitor `{name}`: {}", w.problems.join("; ")))
        .collect();
    let count: u64 = writers
        .iter()
        .map(|(_, w)| if split { w.split } else { w.lost })
        .sum();
    let examples: Vec<String> = writers
        .iter()
        .flat_map(|(_, w)| {
            if split {
                &w.split_examples
            } else {
                &w.lost_examples
            }
        })
        .take(3)
        .map(|e| {
            format!(
                "{} (sent at {:.1} s via {}, answered {}{})",
                e.token,
                e.sent_at_ms as f64 / 1000.0,
                e.client_host,
                e.status.map_or("nothing".to_string(), |s| s.to_string()),
                e.served_by
                    .as_ref()
                    .map(|by| format!(" by {by}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    let acknowledged: u64 = writers.iter().map(|(_, w)| w.acknowledged).sum();
    let detail = if writers.is_empty() {
        format!("no monitor tracked writes, so {noun} writes were not measured")
    } else if !unmeasured.is_empty() {
        format!("{noun} writes not measured: {}", unmeasured.join("; "))
    } else if split {
        let switch = writers
            .iter()
            .find_map(|(_, w)| w.switch_at_ms)
            .map(|ms| format!(" at {:.1} s", ms as f64 / 1000.0))
            .unwrap_or_default();
        let mut text = format!(
            "{count} writes reached the old database after the switch{switch} (the cutover's end, or the DNS switch's start without one; limit {limit})"
        );
        if !examples.is_empty() {
            text.push_str(&format!(", e.g. {}", examples.join(", ")));
        }
        text
    } else {
        let mut text = format!(
            "{count} of {acknowledged} acknowledged writes are missing from the database that serves after the move (limit {limit})"
        );
        if !examples.is_empty() {
            text.push_str(&format!(", e.g. {}", examples.join(", ")));
        }
        text
    };
    GateReport {
        name: gate.name.clone(),
        passed: !writers.is_empty() && unmeasured.is_empty() && count <= limit,
        value: count as f64,
        limit: limit as f64,
        unit: format!("{noun} writes"),
        detail,
    }
}

/// The worst ratio of p99 latency after the change to before it.
fn p99_gate(
    gate: &Gate,
    monitors: &[MonitorReport],
    monitor: Option<&str>,
    max_ratio: f64,
) -> GateReport {
    let mut worst: Option<(f64, &str, f64, f64)> = None;
    let mut unmeasured = Vec::new();
    for m in select_monitors(monitors, monitor) {
        let phases = m.phases.as_ref();
        let before = phases.and_then(|p| p.before.as_ref()).map(|l| l.p99_ms);
        let after = phases.and_then(|p| p.after.as_ref()).map(|l| l.p99_ms);
        match (before, after) {
            (Some(before), Some(after)) if before > 0.0 => {
                let ratio = after / before;
                if worst.is_none_or(|(w, ..)| ratio > w) {
                    worst = Some((ratio, m.name.as_str(), before, after));
                }
            }
            _ => unmeasured.push(format!("`{}`", m.name)),
        }
    }
    let (passed, value, detail) = match worst {
        _ if !unmeasured.is_empty() => (
            false,
            0.0,
            format!(
                "no latency both before and after a cutover or DNS switch for monitor {}: start it before the change and stop it after",
                unmeasured.join(", ")
            ),
        ),
        None => (
            false,
            0.0,
            "no monitor ran, so latency was not measured".to_string(),
        ),
        Some((ratio, name, before, after)) => (
            ratio <= max_ratio,
            (ratio * 100.0).round() / 100.0,
            format!(
                "p99 latency of `{name}` went from {before:.1} ms before the change to {after:.1} ms after: {ratio:.2}× (limit {max_ratio}×)"
            ),
        ),
    };
    GateReport {
        name: gate.name.clone(),
        passed,
        value,
        limit: max_ratio,
        unit: "× before".into(),
        detail,
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
            started_ms: None,
            duration_ms: 1,
            detail: None,
            checks: vec![],
            evidence: None,
            logs: vec![],
            upgrade: None,
            recovery: None,
            allow_failure,
            interrupted: false,
            checkpoint_ms: None,
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

    /// A writer monitor's report, analysed from synthetic samples: 10 writes, the
    /// listed ones stored in each database, the switch at 0.5 s; latency 2 ms before
    /// the change (0.3–0.6 s) and `after_ms` after it.
    fn writer(serving: &[u32], old: Option<&[u32]>, after_ms: u64) -> MonitorReport {
        use std::time::Duration;
        let samples: Vec<crate::monitor::Sample> = (0..10)
            .map(|i| crate::monitor::Sample {
                scheduled: Duration::from_millis(u64::from(i) * 100),
                latency: Duration::from_millis(if i < 6 { 2 } else { after_ms }),
                ok: true,
                timed_out: false,
                status: Some(201),
                served_by: Some("old".into()),
                error: None,
                seq: i,
                via: 0,
            })
            .collect();
        let tokens = |ids: &[u32]| ids.iter().map(|i| crate::monitor::token("w", *i)).collect();
        let switch = Some(Duration::from_millis(500));
        let phases = crate::monitor::Phases {
            change: Some((Duration::from_millis(300), Duration::from_millis(600))),
            marks: vec![],
        };
        let results = crate::monitor::aggregate(10, &samples, &phases, true);
        let writes = crate::monitor::check_writes(
            "w",
            results.writes().unwrap(),
            &["old".into()],
            Ok(tokens(serving)),
            old.map(|ids| Ok(tokens(ids))),
            switch,
        );
        results.report("w", 10, &[], &phases, Some(writes))
    }

    #[test]
    fn tracked_writes_get_lost_and_split_gates_by_default() {
        let steps = [step("a", StepStatus::Passed, false)];
        let all: Vec<u32> = (0..10).collect();
        let (reports, verdict) = evaluate(
            &[],
            &steps,
            &[],
            &[],
            &[writer(&all, Some(&[0, 1]), 2)],
            false,
        );
        assert_eq!(verdict, Verdict::Go);
        let names: Vec<&str> = reports.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "steps passed",
                "no inhibitors",
                "lost_writes",
                "split_writes"
            ]
        );

        // Writes 3 and 4 never reached the new database; 7 reached the old one late.
        let (reports, verdict) = evaluate(
            &[],
            &steps,
            &[],
            &[],
            &[writer(
                &[0, 1, 2, 5, 6, 7, 8, 9],
                Some(&[0, 1, 2, 3, 4, 7]),
                2,
            )],
            false,
        );
        assert_eq!(verdict, Verdict::NoGo);
        assert_eq!((reports[2].value, reports[2].passed), (2.0, false));
        assert!(
            reports[2]
                .detail
                .starts_with("2 of 10 acknowledged writes are missing")
        );
        assert!(
            reports[2]
                .detail
                .contains("rh-w-3 (sent at 0.3 s via old, answered 201 by old)")
        );
        assert_eq!((reports[3].value, reports[3].passed), (1.0, false));
        assert!(
            reports[3].detail.contains("after the switch at 0.5 s"),
            "{}",
            reports[3].detail
        );

        // A scenario's own limit replaces the default; without the old database
        // listed, split writes are not gated by default.
        let gates = [Gate {
            name: "lost_writes".into(),
            kind: GateKind::LostWrites {
                monitor: Some("w".into()),
                limit: 2,
            },
        }];
        let (reports, verdict) = evaluate(
            &gates,
            &steps,
            &[],
            &[],
            &[writer(&[0, 1, 2, 5, 6, 7, 8, 9], None, 2)],
            false,
        );
        assert_eq!(verdict, Verdict::Go);
        assert_eq!(reports.len(), 3);
    }

    #[test]
    fn p99_latency_compares_after_with_before() {
        let steps = [step("a", StepStatus::Passed, false)];
        let all: Vec<u32> = (0..10).collect();
        let gates = [Gate {
            name: "p99_latency".into(),
            kind: GateKind::P99Latency {
                monitor: None,
                max_ratio: 3.0,
            },
        }];
        let (reports, _) = evaluate(&gates, &steps, &[], &[], &[writer(&all, None, 5)], false);
        let gate = reports.iter().find(|g| g.name == "p99_latency").unwrap();
        assert!(gate.passed, "{gate:?}");
        assert_eq!(gate.value, 2.5);
        let (reports, verdict) =
            evaluate(&gates, &steps, &[], &[], &[writer(&all, None, 9)], false);
        assert_eq!(verdict, Verdict::NoGo);
        let gate = reports.iter().find(|g| g.name == "p99_latency").unwrap();
        assert_eq!(gate.value, 4.5);
        assert!(
            gate.detail
                .contains("from 2.0 ms before the change to 9.0 ms after"),
            "{}",
            gate.detail
        );
        // Without a monitor, nothing was measured: that is no pass.
        let (reports, _) = evaluate(&gates, &steps, &[], &[], &[], false);
        assert!(!reports[2].passed);
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

    fn restored(seconds: f64, oldest_lost_write_s: Option<f64>) -> StepReport {
        let mut step = step("restore", StepStatus::Passed, false);
        step.recovery = Some(RecoveryReport {
            host: "web".into(),
            from: "vault".into(),
            lost_in_step: "lose".into(),
            lost_at_ms: 30_000,
            backups_taken: 3,
            backups_failed: 0,
            seconds_since_last_backup: seconds,
            rows_before: Some(445),
            rows_after: Some(401),
            rows_lost: Some(44),
            lost_writes: Some(44),
            oldest_lost_write_s,
            restore_ms: Some(2600),
            downtime_ms: Some(3200),
            problems: vec![],
            backups: vec![],
        });
        step
    }

    #[test]
    fn the_recovery_point_gate_bounds_the_data_lost_in_time() {
        let gate = Gate {
            name: "recovery_point".into(),
            kind: GateKind::RecoveryPoint {
                limit: std::time::Duration::from_secs(15),
            },
        };
        let (gates, verdict) = evaluate(
            std::slice::from_ref(&gate),
            &[restored(4.4, Some(4.3))],
            &[],
            &[],
            &[],
            false,
        );
        assert_eq!(verdict, Verdict::Go);
        assert_eq!((gates[2].value, gates[2].limit), (4.4, 15.0));
        assert_eq!(
            gates[2].detail,
            "`restore`: data written in the last 4.4 s before `web` was lost is gone (the last backup that reached `vault` began 4.4 s before the loss); 44 rows lost; 44 acknowledged writes lost (limit 15s)"
        );
        // A write lost from before the backup began: the backup missed data.
        let (gates, verdict) = evaluate(
            std::slice::from_ref(&gate),
            &[restored(4.4, Some(40.0))],
            &[],
            &[],
            &[],
            false,
        );
        assert_eq!(verdict, Verdict::NoGo);
        assert_eq!(gates[2].value, 40.0);
        assert!(
            gates[2].detail.contains(
                "a write sent 40.0 s before the loss, before that backup began, is missing"
            ),
            "{}",
            gates[2].detail
        );
        // No restore ran: nothing was measured, which is no GO.
        let (gates, verdict) = evaluate(
            std::slice::from_ref(&gate),
            &[step("a", StepStatus::Passed, false)],
            &[],
            &[],
            &[],
            false,
        );
        assert_eq!(verdict, Verdict::NoGo);
        assert_eq!(
            gates[2].detail,
            "no restore ran, so the recovery point was not measured"
        );
    }

    #[test]
    fn a_recovery_point_gate_replaces_the_default_lost_writes_gate() {
        let monitors = [writer(&[0, 1, 2, 3, 4, 5], None, 2)];
        let gate = Gate {
            name: "recovery_point".into(),
            kind: GateKind::RecoveryPoint {
                limit: std::time::Duration::from_secs(15),
            },
        };
        let (gates, verdict) = evaluate(
            std::slice::from_ref(&gate),
            &[restored(4.4, Some(0.4))],
            &[],
            &[],
            &monitors,
            false,
        );
        let names: Vec<&str> = gates.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["steps passed", "no inhibitors", "recovery_point"]);
        assert_eq!(verdict, Verdict::Go);
        let (gates, _) = evaluate(&[], &[], &[], &[], &monitors, false);
        assert!(gates.iter().any(|g| g.name == "lost_writes" && !g.passed));
    }
}
