//! Two kinds of APT source the release notes ask to look at before an upgrade:
//! `proposed-updates` (packages not yet released, which the notes ask to remove), and
//! backports (packages from the next release built for this one, which the upgrade
//! treats like any other: check each one still makes sense).

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const PROPOSED_KIND: FindingKind = FindingKind {
    key: "apt.proposed-updates",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::BeforeUpgrade,
    trigger: "an APT source of `proposed-updates` before the upgrade",
    remediation: "remove the `proposed-updates` entries for the upgrade (the notes advise it); add the new release's back afterwards only if you need it",
};

pub const BACKPORTS_KIND: FindingKind = FindingKind {
    key: "apt.backports-installed",
    severity: Severity::Low,
    inhibitor: false,
    when: When::BeforeUpgrade,
    trigger: "installed packages whose version is a backport (`~bpo`) before the upgrade",
    remediation: "check each one: the new release usually has the same or a newer version; remove the backports entry for the upgrade and add the new release's backports only if you still need them",
};

/// Source lines (both formats) naming proposed-updates, comments left out.
const PROPOSED_SCRIPT: &str = r#"
grep -rHnE '^[^#]*-proposed-updates' /etc/apt/sources.list /etc/apt/sources.list.d/ | grep -E '\.(list|sources):' | sed 's/^/source /'
"#;

const BACKPORTS_SCRIPT: &str = r#"
dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Version}\n' | awk '$1 == "ii" && $3 ~ /~bpo/ {print "backport " $2 " " $3}'
"#;

pub const PROPOSED_CHECK: HostCheck = HostCheck {
    kind: &PROPOSED_KIND,
    to: None,
    before: PROPOSED_SCRIPT,
    after: "",
    judge: judge_proposed,
};

pub const BACKPORTS_CHECK: HostCheck = HostCheck {
    kind: &BACKPORTS_KIND,
    to: None,
    before: BACKPORTS_SCRIPT,
    after: "",
    judge: judge_backports,
};

fn judge_proposed(facts: &Facts) -> Option<Found> {
    let sources = Facts::tagged(&facts.before, "source");
    if sources.is_empty() {
        return None;
    }
    Some(Found::new(
        format!(
            "{} APT source(s) of proposed-updates: the upgrade to {} would take packages not yet released",
            sources.len(),
            facts.to
        ),
        sources.iter().map(|s| s.to_string()).collect(),
    ))
}

fn judge_backports(facts: &Facts) -> Option<Found> {
    let packages = Facts::tagged(&facts.before, "backport");
    if packages.is_empty() {
        return None;
    }
    Some(Found::new(
        format!(
            "{} installed package(s) come from {}'s backports: the upgrade to {} replaces them only when {} has a newer version",
            packages.len(),
            facts.from,
            facts.to,
            facts.to
        ),
        packages.iter().map(|p| p.to_string()).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn proposed_updates_and_backports_are_named() {
        let found = judge_proposed(&facts(
            "bookworm",
            "trixie",
            "source /etc/apt/sources.list.d/p.list:1:deb http://deb.debian.org/debian bookworm-proposed-updates main",
            "",
        ))
        .unwrap();
        assert_eq!(found.evidence.len(), 1);
        let found = judge_backports(&facts(
            "bookworm",
            "trixie",
            "backport hello 2.10-3~bpo12+1",
            "",
        ))
        .unwrap();
        assert_eq!(found.evidence, ["hello 2.10-3~bpo12+1"]);
    }

    #[test]
    fn nothing_planted_nothing_found() {
        assert_eq!(judge_proposed(&facts("bookworm", "trixie", "", "")), None);
        assert_eq!(judge_backports(&facts("bookworm", "trixie", "", "")), None);
    }
}
