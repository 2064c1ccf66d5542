//! From bookworm, Debian's firmware packages are in a component of their own,
//! `non-free-firmware`: a host whose sources do not name it gets no more updates for the
//! firmware and microcode it has installed. The rehearsal's rewrite of the sources adds
//! the component where `non-free` is used; the real host needs the same change.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "apt.non-free-firmware",
    severity: Severity::Low,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "installed packages that the new release files in the `non-free-firmware` component (firmware, CPU microcode)",
    remediation: "add `non-free-firmware` to each Debian entry of the real host's sources that has `non-free` (the rehearsal did so on the replica); without it these packages get no updates",
};

const BEFORE: &str = r#"
dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Section}\n' | awk '$1 == "ii" {print "section " $2 " " $3}' | grep ' non-free'
"#;

const AFTER: &str = r#"
dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Section}\n' | awk '$1 == "ii" && $3 ~ /^non-free-firmware/ {print "firmware " $2 " " $3}'
grep -rhsE '^[^#]*non-free-firmware' /etc/apt/sources.list /etc/apt/sources.list.d/ | head -n 10 | sed 's/^/source /'
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: BEFORE,
    after: AFTER,
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    // Packages in the component after the hop that were not there before it.
    let before: Vec<&str> = Facts::tagged(&facts.before, "section");
    let moved: Vec<&str> = Facts::tagged(&facts.after, "firmware")
        .into_iter()
        .filter(|line| {
            let name = line.split_whitespace().next().unwrap_or("");
            !before.iter().any(|b| {
                b.split_whitespace().next() == Some(name) && b.contains(" non-free-firmware")
            })
        })
        .collect();
    if moved.is_empty() {
        return None;
    }
    let mut evidence: Vec<String> = moved
        .iter()
        .map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next().unwrap_or("");
            let section = words.next().unwrap_or("");
            let old = before
                .iter()
                .find(|b| b.split_whitespace().next() == Some(name))
                .and_then(|b| b.split_whitespace().nth(1))
                .unwrap_or("?");
            format!(
                "{name}: section {old} on {}, {section} on {}",
                facts.from, facts.to
            )
        })
        .collect();
    evidence.extend(
        Facts::tagged(&facts.after, "source")
            .iter()
            .map(|s| format!("replica's sources after the rewrite: {s}")),
    );
    Some(Found::new(
        format!(
            "{} installed package(s) come from the `non-free-firmware` component on {}: the real host's sources must name it",
            moved.len(),
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
    fn firmware_that_moved_to_the_new_component_is_named() {
        let found = judge(&facts(
            "bullseye",
            "bookworm",
            "section amd64-microcode non-free/admin",
            "firmware amd64-microcode non-free-firmware/admin\nsource deb http://deb.debian.org/debian bookworm main non-free non-free-firmware",
        ))
        .unwrap();
        assert_eq!(
            found.evidence[0],
            "amd64-microcode: section non-free/admin on bullseye, non-free-firmware/admin on bookworm"
        );
        assert_eq!(found.evidence.len(), 2);
    }

    #[test]
    fn firmware_already_in_the_component_is_no_finding() {
        let before = "section amd64-microcode non-free-firmware/admin";
        let after = "firmware amd64-microcode non-free-firmware/admin";
        assert_eq!(judge(&facts("bookworm", "trixie", before, after)), None);
    }
}
