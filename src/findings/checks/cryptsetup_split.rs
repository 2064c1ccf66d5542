//! In trixie, what sets up the volumes of `/etc/crypttab` at boot (systemd's cryptsetup
//! generator) is a package of its own, `systemd-cryptsetup`, which the upgrade brings in
//! only as a recommendation: on a host that installs no recommended packages, the
//! encrypted volumes are no longer opened at boot.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "crypttab.cryptsetup-missing",
    severity: Severity::High,
    inhibitor: true,
    when: When::AfterHop,
    trigger: "`/etc/crypttab` has entries and, after the hop, systemd's cryptsetup generator is not installed (package `systemd-cryptsetup`)",
    remediation: "install `systemd-cryptsetup` as part of the upgrade (`apt-get install systemd-cryptsetup` before rebooting), especially where `APT::Install-Recommends` is off",
};

const BEFORE: &str = r#"
grep -nEv '^[[:space:]]*(#|$)' /etc/crypttab | cut -c1-200 | sed 's/^/entry /'
"#;

const AFTER: &str = r#"
for g in /usr/lib/systemd/system-generators/systemd-cryptsetup-generator /lib/systemd/system-generators/systemd-cryptsetup-generator; do
  [ -e "$g" ] && echo "generator=yes"
done
echo "package=$(dpkg-query -W -f '${db:Status-Abbrev}' systemd-cryptsetup | cut -c1-2)"
apt-config dump APT::Install-Recommends | sed -n 's/^APT::Install-Recommends "\(.*\)";$/recommends=\1/p'
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: BEFORE,
    after: AFTER,
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let entries = Facts::tagged(&facts.before, "entry");
    if entries.is_empty() || facts.after.is_empty() {
        return None;
    }
    if Facts::value(&facts.after, "generator") == Some("yes") {
        return None;
    }
    let mut evidence: Vec<String> = entries
        .iter()
        .map(|e| format!("/etc/crypttab:{}", e.replacen(':', ": ", 1)))
        .collect();
    evidence.push(format!(
        "package systemd-cryptsetup: {} on {}; no systemd-cryptsetup-generator",
        match Facts::value(&facts.after, "package") {
            Some("ii") => "installed",
            _ => "not installed",
        },
        facts.to
    ));
    if let Some(value) = Facts::value(&facts.after, "recommends").filter(|v| !v.is_empty()) {
        evidence.push(format!("APT::Install-Recommends \"{value}\""));
    }
    Some(Found::new(
        format!(
            "{} encrypted volume(s) of /etc/crypttab are no longer set up at boot on {}: systemd-cryptsetup is not installed",
            entries.len(),
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
    fn volumes_nothing_opens_any_more_are_named() {
        let found = judge(&facts(
            "bookworm",
            "trixie",
            "entry 1:data UUID=0b1d none luks,noauto",
            "package=un\nrecommends=false",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            [
                "/etc/crypttab:1: data UUID=0b1d none luks,noauto",
                "package systemd-cryptsetup: not installed on trixie; no systemd-cryptsetup-generator",
                "APT::Install-Recommends \"false\""
            ]
        );
    }

    #[test]
    fn a_generator_or_no_volume_is_no_finding() {
        let entry = "entry 1:data UUID=0b1d none luks";
        assert_eq!(
            judge(&facts(
                "bookworm",
                "trixie",
                entry,
                "generator=yes\npackage=ii"
            )),
            None
        );
        assert_eq!(judge(&facts("bookworm", "trixie", "", "package=un")), None);
    }
}
