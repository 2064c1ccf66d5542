//! `rehearse diff`: what changed between two rehearsals of a change — "did my fix
//! help?". Verdict, steps, findings that appeared or went away, gates that moved,
//! and the package changes of upgrades.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use serde::Serialize;

use super::{Report, StepStatus, Verdict};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportDiff {
    pub before: Side,
    pub after: Side,
    pub verdict_changed: bool,
    /// Steps whose status changed: name, before, after (`absent` when missing).
    pub steps: Vec<Change>,
    /// Findings (`key` or `key@host`) only in the later report.
    pub findings_appeared: Vec<String>,
    /// Findings only in the earlier report.
    pub findings_gone: Vec<String>,
    pub gates: Vec<GateChange>,
    /// Package changes of the upgrades (`upgraded name old → new`, `added name
    /// version`, `removed name version`) only in the later report.
    pub packages_appeared: Vec<String>,
    pub packages_gone: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    pub run_id: String,
    pub scenario: String,
    pub verdict: Verdict,
    pub started_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub name: String,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateChange {
    pub name: String,
    pub passed_before: Option<bool>,
    pub passed_after: Option<bool>,
    pub value_before: Option<f64>,
    pub value_after: Option<f64>,
}

impl ReportDiff {
    /// Nothing but the run ids and times differ.
    pub fn is_empty(&self) -> bool {
        !self.verdict_changed
            && self.steps.is_empty()
            && self.findings_appeared.is_empty()
            && self.findings_gone.is_empty()
            && self.gates.is_empty()
            && self.packages_appeared.is_empty()
            && self.packages_gone.is_empty()
    }
}

pub fn compare(before: &Report, after: &Report) -> ReportDiff {
    let side = |r: &Report| Side {
        run_id: r.run_id.clone(),
        scenario: r.scenario.clone(),
        verdict: r.verdict,
        started_at: r.started_at.to_string(),
    };
    let (findings_appeared, findings_gone) = set_difference(findings(before), findings(after));
    let (packages_appeared, packages_gone) = set_difference(packages(before), packages(after));
    ReportDiff {
        before: side(before),
        after: side(after),
        verdict_changed: before.verdict != after.verdict,
        steps: step_changes(before, after),
        findings_appeared,
        findings_gone,
        gates: gate_changes(before, after),
        packages_appeared,
        packages_gone,
    }
}

/// (only in `after`, only in `before`).
fn set_difference(before: BTreeSet<String>, after: BTreeSet<String>) -> (Vec<String>, Vec<String>) {
    (
        after.difference(&before).cloned().collect(),
        before.difference(&after).cloned().collect(),
    )
}

fn findings(report: &Report) -> BTreeSet<String> {
    report
        .findings
        .iter()
        .map(|f| match &f.host {
            Some(host) => format!("{}@{host}", f.key),
            None => f.key.clone(),
        })
        .collect()
}

fn packages(report: &Report) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for hop in report
        .steps
        .iter()
        .filter_map(|s| s.upgrade.as_ref())
        .flat_map(|u| &u.hops)
    {
        set.extend(hop.upgraded.iter().map(|p| format!("upgraded {p}")));
        set.extend(hop.added.iter().map(|p| format!("added {p}")));
        set.extend(hop.removed.iter().map(|p| format!("removed {p}")));
    }
    set
}

fn step_changes(before: &Report, after: &Report) -> Vec<Change> {
    let status = |r: &Report| -> BTreeMap<String, StepStatus> {
        r.steps.iter().map(|s| (s.name.clone(), s.status)).collect()
    };
    let (old, new) = (status(before), status(after));
    let mut names: Vec<&String> = after.steps.iter().map(|s| &s.name).collect();
    names.extend(
        before
            .steps
            .iter()
            .map(|s| &s.name)
            .filter(|n| !new.contains_key(*n)),
    );
    let show = |s: Option<&StepStatus>| s.map_or("absent", |s| s.as_str()).to_string();
    names
        .into_iter()
        .filter(|n| old.get(*n) != new.get(*n))
        .map(|n| Change {
            name: n.clone(),
            before: show(old.get(n)),
            after: show(new.get(n)),
        })
        .collect()
}

fn gate_changes(before: &Report, after: &Report) -> Vec<GateChange> {
    let mut names: Vec<&String> = after.gates.iter().map(|g| &g.name).collect();
    names.extend(
        before
            .gates
            .iter()
            .map(|g| &g.name)
            .filter(|n| !after.gates.iter().any(|g| &g.name == *n)),
    );
    names
        .into_iter()
        .filter_map(|name| {
            let old = before.gates.iter().find(|g| &g.name == name);
            let new = after.gates.iter().find(|g| &g.name == name);
            let change = GateChange {
                name: name.clone(),
                passed_before: old.map(|g| g.passed),
                passed_after: new.map(|g| g.passed),
                value_before: old.map(|g| g.value),
                value_after: new.map(|g| g.value),
            };
            (change.passed_before != change.passed_after
                || change.value_before != change.value_after)
                .then_some(change)
        })
        .collect()
}

/// The difference for people.
pub fn render(diff: &ReportDiff, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "before: {} {} ({}, {})",
        diff.before.scenario,
        diff.before.verdict.as_str(),
        diff.before.run_id,
        diff.before.started_at
    )?;
    writeln!(
        out,
        "after:  {} {} ({}, {})",
        diff.after.scenario,
        diff.after.verdict.as_str(),
        diff.after.run_id,
        diff.after.started_at
    )?;
    if diff.is_empty() {
        return writeln!(
            out,
            "no difference in verdict, steps, findings, gates or packages"
        );
    }
    if diff.verdict_changed {
        writeln!(
            out,
            "verdict: {} → {}",
            diff.before.verdict.as_str(),
            diff.after.verdict.as_str()
        )?;
    }
    for step in &diff.steps {
        writeln!(
            out,
            "step `{}`: {} → {}",
            step.name, step.before, step.after
        )?;
    }
    for finding in &diff.findings_appeared {
        writeln!(out, "+ finding {finding}")?;
    }
    for finding in &diff.findings_gone {
        writeln!(out, "- finding {finding}")?;
    }
    let passed = |p: Option<bool>| match p {
        Some(true) => "pass",
        Some(false) => "FAIL",
        None => "absent",
    };
    let value = |v: Option<f64>| v.map_or("-".to_string(), |v| v.to_string());
    for gate in &diff.gates {
        writeln!(
            out,
            "gate `{}`: {} {} → {} {}",
            gate.name,
            passed(gate.passed_before),
            value(gate.value_before),
            passed(gate.passed_after),
            value(gate.value_after)
        )?;
    }
    for package in &diff.packages_appeared {
        writeln!(out, "+ {package}")?;
    }
    for package in &diff.packages_gone {
        writeln!(out, "- {package}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive() -> Report {
        serde_json::from_str(include_str!("../../tests/fixtures/reports/move-naive.json")).unwrap()
    }

    #[test]
    fn a_report_against_itself_has_no_difference() {
        let diff = compare(&naive(), &naive());
        assert!(diff.is_empty(), "{diff:#?}");
        let mut text = Vec::new();
        render(&diff, &mut text).unwrap();
        assert!(
            String::from_utf8(text)
                .unwrap()
                .ends_with("no difference in verdict, steps, findings, gates or packages\n")
        );
    }

    #[test]
    fn a_fix_shows_as_verdict_gate_step_and_finding_changes() {
        let before = naive();
        let mut after = naive();
        after.verdict = Verdict::Go;
        for gate in &mut after.gates {
            if gate.name == "lost_writes" {
                gate.passed = true;
                gate.value = 0.0;
            }
        }
        after.steps[5].status = StepStatus::Passed;
        after.findings.push(crate::model::Finding {
            key: "service.disabled".into(),
            severity: crate::scenario::Severity::Medium,
            inhibitor: false,
            host: Some("old".into()),
            message: "m".into(),
            remediation: "r".into(),
            evidence: vec![],
        });
        let diff = compare(&before, &after);
        assert!(diff.verdict_changed);
        assert_eq!(diff.findings_appeared, ["service.disabled@old"]);
        assert_eq!(diff.steps.len(), 1);
        assert_eq!(diff.gates.len(), 1);
        let mut text = Vec::new();
        render(&diff, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("verdict: NO-GO → GO"), "{text}");
        let lost = before
            .gates
            .iter()
            .find(|g| g.name == "lost_writes")
            .unwrap();
        assert!(
            text.contains(&format!("gate `lost_writes`: FAIL {} → pass 0", lost.value)),
            "{text}"
        );
        assert!(
            text.contains("step `copy the files and the database`: failed → passed"),
            "{text}"
        );
        assert!(text.contains("+ finding service.disabled@old"), "{text}");
    }
}
