//! `junit.xml`: the report for CI dashboards. One `<testsuites>` and one test suite named
//! after the scenario; one test case per step (`steps`), probe (`probes`), gate (`gates`)
//! and inhibiting finding (`findings`), so a NO-GO shows up as failed tests and a GO as
//! none.

use std::io::{self, Write};
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use super::{GateReport, ProbeReport, Report, StepReport, StepStatus, text};
use crate::model::Finding;

/// Render the report as JUnit XML.
pub fn render_junit(report: &Report, out: &mut impl Write) -> io::Result<()> {
    // Made whole first, so that an error writing `out` keeps its kind (a closed pipe).
    let text = junit_report(report).to_string().map_err(io::Error::other)?;
    out.write_all(text.as_bytes())
}

/// The report as quick-junit's model.
fn junit_report(report: &Report) -> quick_junit::Report {
    let time = Duration::from_millis(report.duration_ms);

    let mut suite = TestSuite::new(&report.scenario);
    suite.set_time(time);
    if let Some(started) = timestamp(report.started_at) {
        suite.set_timestamp(started);
    }
    suite.add_properties([
        Property::new("verdict", report.verdict.as_str()),
        Property::new("run_id", &report.run_id),
        Property::new("tool_version", &report.tool_version),
    ]);
    suite.add_test_cases(report.steps.iter().map(step_case));
    suite.add_test_cases(report.probes.iter().map(probe_case));
    suite.add_test_cases(report.gates.iter().map(gate_case));
    suite.add_test_cases(
        report
            .findings
            .iter()
            .filter(|f| f.inhibitor)
            .map(finding_case),
    );
    if report.interrupted {
        suite.set_system_err("the run was interrupted before it finished");
    }

    // The start time goes on the suite only: a `timestamp` on `<testsuites>` is an
    // extension the common JUnit schema (junit-10.xsd) rejects.
    let mut junit = quick_junit::Report::new(&report.scenario);
    junit.set_time(time);
    junit.add_test_suite(suite);
    junit
}

fn step_case(step: &StepReport) -> TestCase {
    let evidence = text::step_evidence(step);
    let (status, out) = match step.status {
        StepStatus::Passed => (TestCaseStatus::success(), step.detail.clone()),
        // An allowed failure does not fail the run, so it does not fail the suite either;
        // what happened stays in the case's output.
        StepStatus::Failed if step.allow_failure => (
            TestCaseStatus::success(),
            Some(format!(
                "failed where failure is allowed: {}",
                step.detail.as_deref().unwrap_or("no detail")
            )),
        ),
        StepStatus::Failed => {
            let mut status = failure(
                step.detail
                    .clone()
                    .unwrap_or_else(|| format!("step `{}` failed", step.name)),
                &step.kind,
            );
            if !evidence.is_empty() {
                status.set_description(&evidence);
            }
            (status, None)
        }
        StepStatus::Skipped => {
            let mut status = TestCaseStatus::skipped();
            if let Some(detail) = &step.detail {
                status.set_message(detail);
            }
            (status, None)
        }
    };
    let mut case = TestCase::new(&step.name, status);
    case.set_classname("steps")
        .set_time(Duration::from_millis(step.duration_ms));
    let out = match (
        out,
        step.status == StepStatus::Failed && !step.allow_failure,
    ) {
        (out, true) => out,
        (Some(out), false) if !evidence.is_empty() => Some(format!("{out}\n\n{evidence}")),
        (None, false) if !evidence.is_empty() => Some(evidence),
        (out, false) => out,
    };
    if let Some(out) = out {
        case.set_system_out(out);
    }
    case
}

fn probe_case(probe: &ProbeReport) -> TestCase {
    let counts = format!(
        "{} of {} check(s) failed; {} of {} attempt(s) failed",
        probe.failed_checks, probe.checks, probe.failures, probe.attempts
    );
    let status = if probe.failed_checks == 0 {
        TestCaseStatus::success()
    } else {
        let message = match &probe.last_failure {
            Some(e) => format!("{} check(s) failed: {}", probe.failed_checks, e.summary),
            None => format!("{} check(s) failed", probe.failed_checks),
        };
        let mut status = failure(message, &probe.kind);
        let description = match &probe.last_failure {
            Some(e) => format!("{counts}\n\nlast failure:\n{}", text::evidence(e)),
            None => counts.clone(),
        };
        status.set_description(description);
        status
    };
    let mut case = TestCase::new(&probe.name, status);
    case.set_classname("probes").set_system_out(format!(
        "{} probe on `{}`: {counts}",
        probe.kind, probe.host
    ));
    case
}

fn gate_case(gate: &GateReport) -> TestCase {
    let value = format!("value {}, limit {}", gate.value_text(), gate.limit_text());
    let status = if gate.passed {
        TestCaseStatus::success()
    } else {
        let mut status = failure(gate.detail.clone(), "gate");
        status.set_description(value.clone());
        status
    };
    let mut case = TestCase::new(&gate.name, status);
    case.set_classname("gates");
    if gate.passed {
        case.set_system_out(format!("{}\n{value}", gate.detail));
    }
    case
}

fn finding_case(finding: &Finding) -> TestCase {
    let mut description = format!("remediation: {}", finding.remediation);
    if !finding.evidence.is_empty() {
        description.push_str("\n\nevidence:\n");
        description.push_str(&finding.evidence.join("\n"));
    }
    let mut status = failure(finding.message.clone(), finding.severity.as_str());
    status.set_description(description);
    let name = match &finding.host {
        Some(host) => format!("{} on {host}", finding.key),
        None => finding.key.clone(),
    };
    let mut case = TestCase::new(name, status);
    case.set_classname("findings");
    case
}

fn failure(message: String, ty: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status.set_message(message).set_type(ty);
    status
}

/// jiff's timestamp as chrono's, which quick-junit speaks.
fn timestamp(at: jiff::Timestamp) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::from_timestamp(at.as_second(), at.subsec_nanosecond().unsigned_abs())
        .map(|t| t.fixed_offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(text: &str) -> Report {
        serde_json::from_str(text).unwrap()
    }

    fn move_naive() -> Report {
        fixture(include_str!("../../tests/fixtures/reports/move-naive.json"))
    }

    fn lamp_upgrade() -> Report {
        fixture(include_str!(
            "../../tests/fixtures/reports/lamp-upgrade.json"
        ))
    }

    fn smoke_broken() -> Report {
        fixture(include_str!(
            "../../tests/fixtures/reports/smoke-broken.json"
        ))
    }

    fn render(report: &Report) -> String {
        let mut out = Vec::new();
        render_junit(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Render, parse back with quick-junit's deserialiser, and return the one suite.
    fn round_trip(report: &Report) -> (quick_junit::Report, TestSuite) {
        let parsed = quick_junit::Report::deserialize_from_str(&render(report)).unwrap();
        assert_eq!(parsed.test_suites.len(), 1);
        let suite = parsed.test_suites[0].clone();
        (parsed, suite)
    }

    fn failure_message<'a>(suite: &'a TestSuite, classname: &str, name: &str) -> &'a str {
        let case = suite
            .test_cases
            .iter()
            .find(|c| c.classname.as_deref() == Some(classname) && c.name.as_str() == name)
            .unwrap_or_else(|| panic!("no case {classname}::{name}"));
        match &case.status {
            TestCaseStatus::NonSuccess {
                kind: NonSuccessKind::Failure,
                message,
                ..
            } => message.as_deref().unwrap(),
            other => panic!("{classname}::{name} did not fail: {other:?}"),
        }
    }

    fn property<'a>(suite: &'a TestSuite, name: &str) -> &'a str {
        suite
            .properties
            .iter()
            .find(|p| p.name.as_str() == name)
            .unwrap()
            .value
            .as_str()
    }

    #[test]
    fn snapshots() {
        insta::assert_snapshot!("junit_move_naive", render(&move_naive()));
        insta::assert_snapshot!("junit_lamp_upgrade", render(&lamp_upgrade()));
        insta::assert_snapshot!("junit_smoke_broken", render(&smoke_broken()));
    }

    #[test]
    fn move_naive_round_trips_with_the_lost_writes_gate_failed() {
        let report = move_naive();
        let (parsed, suite) = round_trip(&report);
        // 11 steps + 0 probes + 5 gates + 0 inhibitors; the failed copy is allowed.
        assert_eq!(
            (parsed.tests, parsed.failures, parsed.errors, parsed.skipped),
            (16, 1, 0, 0)
        );
        assert_eq!(parsed.name.as_deref(), Some("migrate-cutover-naive"));
        assert_eq!(suite.name.as_str(), report.scenario);
        assert_eq!((suite.tests, suite.failures, suite.skipped), (16, 1, 0));
        let gate = report
            .gates
            .iter()
            .find(|g| g.name == "lost_writes")
            .unwrap();
        assert_eq!(failure_message(&suite, "gates", "lost_writes"), gate.detail);
        assert_eq!(property(&suite, "verdict"), "NO-GO");
        assert_eq!(property(&suite, "run_id"), report.run_id);
        assert_eq!(property(&suite, "tool_version"), report.tool_version);
        let classes = |class: &str| {
            suite
                .test_cases
                .iter()
                .filter(|c| c.classname.as_deref() == Some(class))
                .count()
        };
        assert_eq!(
            (classes("steps"), classes("probes"), classes("gates")),
            (11, 0, 5)
        );
    }

    #[test]
    fn a_go_report_has_no_failure() {
        let report = lamp_upgrade();
        let (parsed, suite) = round_trip(&report);
        // 5 steps + 4 probes + 4 gates; its three findings do not inhibit.
        assert_eq!(
            (parsed.tests, parsed.failures, parsed.errors, parsed.skipped),
            (13, 0, 0, 0)
        );
        assert_eq!(property(&suite, "verdict"), "GO");
        assert!(
            suite
                .test_cases
                .iter()
                .all(|c| matches!(c.status, TestCaseStatus::Success { .. }))
        );
        let upgrade = suite
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == "upgrade to bookworm")
            .unwrap();
        assert_eq!(upgrade.time, Some(Duration::from_millis(94_845)));
        // JUnit timestamps keep milliseconds.
        let expected = report.started_at.as_millisecond();
        assert_eq!(suite.timestamp.unwrap().timestamp_millis(), expected);
        assert_eq!(parsed.timestamp, None);
    }

    #[test]
    fn smoke_broken_fails_its_step_probe_and_gate() {
        let report = smoke_broken();
        let (parsed, suite) = round_trip(&report);
        // 4 steps + 1 probe + 2 gates.
        assert_eq!(
            (parsed.tests, parsed.failures, parsed.errors, parsed.skipped),
            (7, 3, 0, 0)
        );
        let step = &report.steps[3];
        assert_eq!(
            failure_message(&suite, "steps", "site still up"),
            step.detail.as_deref().unwrap()
        );
        assert_eq!(
            failure_message(&suite, "probes", "homepage"),
            "1 check(s) failed: http://www.example.test:80/ (at 172.24.0.2:80): Connection refused"
        );
        assert_eq!(
            failure_message(&suite, "gates", "steps passed"),
            report.gates[0].detail
        );
        let case = suite
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == "site still up")
            .unwrap();
        let TestCaseStatus::NonSuccess { description, .. } = &case.status else {
            unreachable!()
        };
        assert!(
            description
                .as_deref()
                .unwrap()
                .contains("probe `homepage` failed after 5 attempt(s)")
        );
    }

    #[test]
    fn skipped_steps_and_inhibitors_are_counted() {
        let mut report = smoke_broken();
        report.steps.push(StepReport {
            name: "after the fix".into(),
            kind: "probe".into(),
            status: StepStatus::Skipped,
            started_ms: None,
            duration_ms: 0,
            detail: Some("an earlier step failed".into()),
            checks: vec![],
            evidence: None,
            logs: vec![],
            upgrade: None,
            recovery: None,
            allow_failure: false,
            interrupted: false,
            checkpoint_ms: None,
        });
        report.findings.push(Finding {
            key: "apache.configtest".into(),
            severity: crate::scenario::Severity::High,
            inhibitor: true,
            host: Some("old".into()),
            message: "`apache2ctl configtest` fails: Invalid command 'Order'".into(),
            remediation: "replace `Order deny,allow` with `Require all granted`".into(),
            evidence: vec!["AH00526: Syntax error on line 12".into()],
        });
        report.findings.push(Finding {
            key: "packages.obsolete".into(),
            severity: crate::scenario::Severity::Low,
            inhibitor: false,
            host: None,
            message: "1 obsolete package".into(),
            remediation: "remove it".into(),
            evidence: vec![],
        });
        let (parsed, suite) = round_trip(&report);
        assert_eq!((parsed.tests, parsed.failures, parsed.skipped), (9, 4, 1));
        assert_eq!(
            failure_message(&suite, "findings", "apache.configtest on old"),
            report.findings[0].message
        );
        let skipped = suite
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == "after the fix")
            .unwrap();
        assert!(matches!(
            &skipped.status,
            TestCaseStatus::Skipped { message: Some(m), .. } if m.as_str() == "an earlier step failed"
        ));
    }
}
