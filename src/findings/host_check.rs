//! Checks of a host around one hop of an upgrade, each declared in one module: the facts
//! it reads (a shell script run in the replica before the hop, and one after it), and a
//! pure function that judges them. The upgrade step runs every check that applies to the
//! hop in one command before the hop and one after it, so a new check costs no round trip.
//!
//! A check reads what the replica shows, never the machine running `rehearse`; what it
//! reads may be hostile, and is only ever compared and quoted as evidence.

use std::collections::BTreeMap;

use super::{FindingKind, When};
use crate::model::Finding;

/// One check: its kind of finding, which upgrades it is about, and how it finds it.
#[derive(Debug, Clone, Copy)]
pub struct HostCheck {
    pub kind: &'static FindingKind,
    /// The release the hop goes to (`"trixie"`), or `None` for every hop.
    pub to: Option<&'static str>,
    /// Prints the facts before the hop (before the APT sources change).
    pub before: &'static str,
    /// Prints the facts after the hop and its reboot; only for checks of [`When::AfterHop`].
    pub after: &'static str,
    pub judge: fn(&Facts) -> Option<Found>,
}

/// What a check's scripts printed, and the hop they were printed around.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub from: String,
    pub to: String,
    /// The non-blank lines the `before` script printed.
    pub before: Vec<String>,
    /// The non-blank lines the `after` script printed (empty before the hop).
    pub after: Vec<String>,
}

impl Facts {
    /// The value of the first `name=value` line of `lines`.
    pub fn value<'a>(lines: &'a [String], name: &str) -> Option<&'a str> {
        lines.iter().find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::trim)
        })
    }

    /// What a `TAG NAME yes|no` fact printed before and after the hop says was there
    /// before (`yes`) and is gone after it (`no`): each NAME.
    pub fn lost<'a>(&'a self, tag: &str) -> Vec<&'a str> {
        let had: Vec<&str> = Self::tagged(&self.before, tag)
            .into_iter()
            .filter_map(|l| l.strip_suffix(" yes"))
            .collect();
        Self::tagged(&self.after, tag)
            .into_iter()
            .filter_map(|l| l.strip_suffix(" no"))
            .filter(|name| had.contains(name))
            .collect()
    }

    /// The rest of each line of `lines` that starts with `tag ` (the tag and one space removed).
    pub fn tagged<'a>(lines: &'a [String], tag: &str) -> Vec<&'a str> {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')))
            .collect()
    }
}

/// What a check found: the finding's text and the evidence (the kind gives the remediation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub message: String,
    pub evidence: Vec<String>,
}

impl Found {
    /// A finding's text and evidence, with the kind's remediation.
    pub fn new(message: String, evidence: Vec<String>) -> Found {
        Found { message, evidence }
    }

    /// One piece of evidence per line, the message told how many: `None` without lines.
    pub fn each_line(lines: &[&str], message: impl FnOnce(usize) -> String) -> Option<Found> {
        if lines.is_empty() {
            return None;
        }
        Some(Found::new(
            message(lines.len()),
            lines.iter().map(|l| l.to_string()).collect(),
        ))
    }
}

impl HostCheck {
    /// Whether the check is about the hop to `to`.
    pub fn applies_to(&self, to: &str) -> bool {
        self.to.is_none_or(|release| release == to)
    }

    /// Its script before the hop, or after it.
    fn body(&self, after: bool) -> &'static str {
        if after { self.after } else { self.before }
    }

    /// The finding, if the facts show the problem.
    pub fn finding(&self, host: &str, facts: &Facts) -> Option<Finding> {
        let found = (self.judge)(facts)?;
        Some(self.kind.found(host, found.message, found.evidence))
    }
}

/// The checks about the hop to `to`.
pub fn for_hop(to: &str) -> Vec<&'static HostCheck> {
    super::CHECKS
        .iter()
        .copied()
        .filter(|c| c.applies_to(to))
        .collect()
}

/// Shell functions the checks' scripts may use: `section NAME` prints a header; `homes`
/// prints the home of each login account (root's and real users'), one per line.
const PRELUDE: &str = r#"section() { printf '### %s\n' "$1"; }
homes() { getent passwd | awk -F: '$3 == 0 || ($3 >= 1000 && $3 < 65534) {print $6}' | sort -u; }
"#;

/// One script printing every check's facts under a `### key` header. Each check runs
/// in a subshell of its own with its errors discarded, so one check's failure cannot
/// hide another's facts.
/// Checks that share a script (two kinds judged on the same facts) run it once, under
/// the first one's key.
pub fn hop_script(checks: &[&HostCheck], after: bool) -> String {
    let mut script = String::from(PRELUDE);
    for check in checks {
        let body = check.body(after);
        if body.trim().is_empty() || section_of(checks, check, after) != check.kind.key {
            continue;
        }
        script.push_str(&format!(
            "section {}\n( {}\n) 2>/dev/null </dev/null\n",
            check.kind.key,
            body.trim()
        ));
    }
    script.push_str("true\n");
    script
}

/// Judge `checks` on the sections of the scripts' output: the findings of the checks of
/// `when` ([`When::BeforeUpgrade`] before the hop, [`When::AfterHop`] after it).
pub fn judge_hop(
    host: &str,
    checks: &[&HostCheck],
    when: When,
    from: &str,
    to: &str,
    before: &BTreeMap<String, Vec<String>>,
    after: &BTreeMap<String, Vec<String>>,
) -> Vec<Finding> {
    checks
        .iter()
        .filter(|c| c.kind.when == when)
        .filter_map(|c| {
            let read = |sections: &BTreeMap<String, Vec<String>>, after: bool| {
                let section = section_of(checks, c, after);
                sections.get(section).cloned().unwrap_or_default()
            };
            let facts = Facts {
                from: from.to_string(),
                to: to.to_string(),
                before: read(before, false),
                after: read(after, true),
            };
            c.finding(host, &facts)
        })
        .collect()
}

/// The section `check`'s facts are printed under: the key of the first of `checks`
/// with the same script (its own when it has none, and so no section).
fn section_of(checks: &[&HostCheck], check: &HostCheck, after: bool) -> &'static str {
    let body = check.body(after);
    if body.trim().is_empty() {
        return check.kind.key;
    }
    checks
        .iter()
        .find(|c| c.body(after) == body)
        .map_or(check.kind.key, |c| c.kind.key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_runs_when_its_kind_says_and_reads_what_it_needs() {
        for check in super::super::CHECKS {
            let key = check.kind.key;
            assert!(
                matches!(check.kind.when, When::BeforeUpgrade | When::AfterHop),
                "{key}: a host check runs before the upgrade or after a hop"
            );
            assert_eq!(
                !check.after.trim().is_empty(),
                check.kind.when == When::AfterHop,
                "{key}: only a check of what the hop changed reads facts after it"
            );
            if let Some(to) = check.to {
                assert!(["bookworm", "trixie"].contains(&to), "{key}: release {to}");
            }
            // Nothing to judge, nothing found.
            assert_eq!(
                (check.judge)(&Facts::default()),
                None,
                "{key} fires on no facts"
            );
        }
    }

    #[test]
    fn the_script_runs_each_checks_script_once_under_a_section() {
        let checks = for_hop("trixie");
        let script = hop_script(&checks, false);
        for check in &checks {
            if !check.before.trim().is_empty() {
                let section = section_of(&checks, check, false);
                assert!(script.contains(&format!("section {section}\n")));
                assert_eq!(script.matches(check.before.trim()).count(), 1);
            }
        }
        assert!(script.ends_with("true\n"));
    }

    #[test]
    fn checks_sharing_a_script_each_judge_its_facts() {
        use crate::findings::checks::rabbitmq;
        let checks = [&rabbitmq::DIRECT, &rabbitmq::HA];
        let script = hop_script(&checks, false);
        assert!(script.contains("section rabbitmq.no-direct-upgrade\n"));
        assert!(!script.contains("section rabbitmq.ha-queues"));
        let before = BTreeMap::from([(
            "rabbitmq.no-direct-upgrade".to_string(),
            vec![
                "installed=ii 3.10.8-1.1".to_string(),
                "policy /: ha-all ^ all {\"ha-mode\":\"all\"}".to_string(),
            ],
        )]);
        let found = judge_hop(
            "web",
            &checks,
            When::BeforeUpgrade,
            "bookworm",
            "trixie",
            &before,
            &BTreeMap::new(),
        );
        let keys: Vec<&str> = found.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["rabbitmq.no-direct-upgrade", "rabbitmq.ha-queues"]);
    }

    #[test]
    fn tagged_lines_and_values_are_read_exactly() {
        let lines: Vec<String> = ["exit=1", "exitcode=2", "key /home/a", "keys x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(Facts::value(&lines, "exit"), Some("1"));
        assert_eq!(Facts::tagged(&lines, "key"), vec!["/home/a"]);
    }
}
