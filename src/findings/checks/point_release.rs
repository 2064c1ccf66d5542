//! The notes' first step of every upgrade: bring the host to the current release's last
//! point release (and its security updates) before changing the sources. A host that
//! is behind upgrades from a state the release was never tested from; trixie's notes
//! name one case: an `openssh-server` older than 1:9.2p1-2+deb12u7 can drop the SSH
//! session the upgrade runs in.
//!
//! The check asks APT, with the host's own sources still in place, what a
//! `full-upgrade` within the current release would change.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "apt.point-release-behind",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::BeforeUpgrade,
    trigger: "before the sources change: packages that a `full-upgrade` within the current release (its point releases and security updates) would still upgrade; on the trixie hop, an `openssh-server` older than 1:9.2p1-2+deb12u7 is named apart",
    remediation: "run `apt update && apt full-upgrade` with the current release's sources, reboot if the kernel or libc changed, then upgrade to the next release; a replica built long ago from a recipe is behind by its age: remove its cached images (`rehearse gc --images`) and build them again to rehearse from today's state",
};

/// The OpenSSH server before this version may be interrupted by the upgrade to trixie
/// (trixie's notes, "Interrupted remote upgrades").
const SSH_FIXED: &str = "1:9.2p1-2+deb12u7";

/// `behind NAME OLD NEW ORIGIN` for each package APT would upgrade within the release;
/// `ssh-old VERSION` when openssh-server is older than [`SSH_FIXED`] (written out in the
/// script: a test keeps the two equal); `update=failed` when the lists cannot be
/// refreshed (nothing is judged then).
const BEFORE: &str = r#"
apt-get update -qq >/dev/null 2>&1 || { echo "update=failed"; exit 0; }
apt-get -s -q dist-upgrade | sed -nE 's/^Inst ([^ ]+) \[([^]]+)\] \(([^ ]+) ([^ ]+).*/behind \1 \2 \3 \4/p'
v=$(dpkg-query -W -f '${db:Status-Abbrev}|${Version}' openssh-server 2>/dev/null)
case "$v" in
  "ii |"*) v=${v#*|}; dpkg --compare-versions "$v" lt "1:9.2p1-2+deb12u7" && echo "ssh-old $v" ;;
esac
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: BEFORE,
    after: "",
    judge,
};

/// How many packages the evidence names one by one.
const LISTED: usize = 15;

fn judge(facts: &Facts) -> Option<Found> {
    let behind = Facts::tagged(&facts.before, "behind");
    if behind.is_empty() {
        return None;
    }
    let mut evidence = Vec::new();
    if facts.to == "trixie"
        && let Some(old) = Facts::tagged(&facts.before, "ssh-old").first()
    {
        evidence.push(format!(
            "openssh-server {old} is older than {SSH_FIXED}: trixie's notes warn that upgrading it can cut the SSH session the upgrade runs in; upgrade it within {} first",
            facts.from
        ));
    }
    for line in behind.iter().take(LISTED) {
        let mut words = line.split_whitespace();
        let (Some(name), Some(old), Some(new)) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        let origin = words.next().unwrap_or("");
        evidence.push(format!("{name} {old} → {new} ({origin})"));
    }
    if behind.len() > LISTED {
        evidence.push(format!("and {} more", behind.len() - LISTED));
    }
    Some(Found::new(
        format!(
            "{} package(s) are behind {}'s latest point release or security updates: the notes ask to bring the host up to date within {} before upgrading to {}",
            behind.len(),
            facts.from,
            facts.from,
            facts.to
        ),
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn the_script_names_the_fixed_openssh() {
        assert!(BEFORE.contains(&format!("lt \"{SSH_FIXED}\"")));
    }

    #[test]
    fn packages_behind_are_listed_with_both_versions() {
        let found = judge(&facts(
            "bookworm",
            "trixie",
            "behind tzdata 2025b-0+deb12u1 2025b-0+deb12u2 Debian:12.12/stable\nbehind libc6 2.36-9+deb12u9 2.36-9+deb12u10 Debian-Security:12/stable-security",
            "",
        ))
        .unwrap();
        assert!(
            found
                .message
                .starts_with("2 package(s) are behind bookworm's")
        );
        assert_eq!(
            found.evidence,
            [
                "tzdata 2025b-0+deb12u1 → 2025b-0+deb12u2 (Debian:12.12/stable)",
                "libc6 2.36-9+deb12u9 → 2.36-9+deb12u10 (Debian-Security:12/stable-security)"
            ]
        );
    }

    #[test]
    fn an_openssh_that_can_cut_the_session_is_named_first_on_the_trixie_hop() {
        let before = "behind openssh-server 1:9.2p1-2+deb12u5 1:9.2p1-2+deb12u7 Debian:12.12/stable\nssh-old 1:9.2p1-2+deb12u5";
        let found = judge(&facts("bookworm", "trixie", before, "")).unwrap();
        assert!(found.evidence[0].starts_with("openssh-server 1:9.2p1-2+deb12u5 is older"));
        assert_eq!(found.evidence.len(), 2);
        let found = judge(&facts("bullseye", "bookworm", before, "")).unwrap();
        assert_eq!(found.evidence.len(), 1, "{:?}", found.evidence);
    }

    #[test]
    fn an_up_to_date_host_or_unreadable_lists_say_nothing() {
        assert!(judge(&facts("bookworm", "trixie", "", "")).is_none());
        assert!(judge(&facts("bookworm", "trixie", "update=failed", "")).is_none());
    }

    #[test]
    fn a_long_list_is_cut() {
        let before: String = (0..20)
            .map(|i| format!("behind p{i} 1 2 Debian:12.12/stable\n"))
            .collect();
        let found = judge(&facts("bookworm", "trixie", &before, "")).unwrap();
        assert_eq!(found.evidence.len(), LISTED + 1);
        assert_eq!(found.evidence.last().unwrap(), "and 5 more");
    }
}
