//! APT preferences (pins) choose versions by their own rules: during an upgrade they can
//! keep packages on the old release's versions or pull the wrong ones in, which is why
//! the release notes ask to disable them for the upgrade.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "apt.pinning",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::BeforeUpgrade,
    trigger: "pins in `/etc/apt/preferences` or `/etc/apt/preferences.d/`, or `APT::Default-Release` set, before the upgrade",
    remediation: "disable the pins and `APT::Default-Release` for the upgrade (move the files aside), then bring back only what the new release still needs",
};

/// Each stanza of each preferences file on one line (comments dropped), then the
/// default release if one is set.
const BEFORE: &str = r#"
for f in /etc/apt/preferences /etc/apt/preferences.d/*; do
  [ -f "$f" ] || continue
  case "$f" in *.disabled|*.dpkg-*|*.ucf-*|*~) continue;; esac
  grep -v '^[[:space:]]*#' "$f" | awk -v f="$f" 'BEGIN {RS=""} {gsub(/\n+/, "; "); print "pin " f ": " substr($0, 1, 300)}'
done
apt-config dump 2>/dev/null | sed -n 's/^APT::Default-Release "\(.*\)";$/default \1/p'
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: BEFORE,
    after: "",
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let pins: Vec<&str> = Facts::tagged(&facts.before, "pin")
        .into_iter()
        .filter(|stanza| stanza.contains("Pin:") || stanza.contains("Pin-Priority:"))
        .collect();
    let default = Facts::tagged(&facts.before, "default")
        .into_iter()
        .find(|d| !d.is_empty());
    if pins.is_empty() && default.is_none() {
        return None;
    }
    let mut evidence: Vec<String> = pins.iter().map(|p| p.to_string()).collect();
    if let Some(release) = default {
        evidence.push(format!("APT::Default-Release \"{release}\""));
    }
    Some(Found::new(
        format!(
            "{} pin(s){} are in force: during the upgrade to {} they can keep packages on {}'s versions",
            pins.len(),
            if default.is_some() {
                " and a default release"
            } else {
                ""
            },
            facts.to,
            facts.from
        ),
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn each_pin_is_shown_with_its_file() {
        let found = judge(&facts(
            "bullseye",
            "bookworm",
            "pin /etc/apt/preferences.d/curl: Package: curl; Pin: version 7.74*; Pin-Priority: 1001",
            "",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            ["/etc/apt/preferences.d/curl: Package: curl; Pin: version 7.74*; Pin-Priority: 1001"]
        );
        assert!(
            found
                .message
                .contains("keep packages on bullseye's versions")
        );
    }

    #[test]
    fn a_default_release_counts_and_a_file_of_comments_does_not() {
        let found = judge(&facts("bullseye", "bookworm", "default bullseye", "")).unwrap();
        assert_eq!(found.evidence, ["APT::Default-Release \"bullseye\""]);
        assert_eq!(
            judge(&facts(
                "bullseye",
                "bookworm",
                "pin /etc/apt/preferences: Explanation: none",
                ""
            )),
            None
        );
    }
}
