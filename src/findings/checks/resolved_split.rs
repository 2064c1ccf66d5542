//! In bookworm systemd-resolved is a package of its own, which the upgrade does not
//! install: a host that resolved names through it is left without its resolver.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "dns.resolved-not-installed",
    severity: Severity::High,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "systemd-resolved was enabled before the hop and its package is not installed after it",
    remediation: "install `systemd-resolved` as part of the upgrade (`apt-get install systemd-resolved` right after `full-upgrade`), or point `/etc/resolv.conf` at real name servers first",
};

const BEFORE: &str = r#"
echo "enabled=$(systemctl is-enabled systemd-resolved.service)"
echo "resolv_conf=$(readlink /etc/resolv.conf)"
"#;

const AFTER: &str = r#"
echo "installed=$(dpkg-query -W -f '${db:Status-Abbrev}' systemd-resolved | cut -c1-2)"
echo "active=$(systemctl is-active systemd-resolved.service)"
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: BEFORE,
    after: AFTER,
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let enabled = Facts::value(&facts.before, "enabled") == Some("enabled");
    let installed = Facts::value(&facts.after, "installed") == Some("ii");
    if !enabled || installed || facts.after.is_empty() {
        return None;
    }
    let mut evidence = vec![
        format!("systemd-resolved.service enabled on {}", facts.from),
        format!(
            "package systemd-resolved not installed on {}; the service is {}",
            facts.to,
            Facts::value(&facts.after, "active").unwrap_or("?")
        ),
    ];
    if let Some(link) =
        Facts::value(&facts.before, "resolv_conf").filter(|l| l.contains("systemd/resolve"))
    {
        evidence.push(format!(
            "/etc/resolv.conf → {link}: names no longer resolve"
        ));
    }
    Some(Found::new(
        format!(
            "systemd-resolved, enabled on {}, is not installed after the upgrade to {}: it is a package of its own there, and the host no longer has the resolver it used",
            facts.from, facts.to
        ),
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn a_resolver_the_upgrade_dropped_is_reported() {
        let found = judge(&facts(
            "bullseye",
            "bookworm",
            "enabled=enabled\nresolv_conf=../run/systemd/resolve/stub-resolv.conf",
            "installed=un\nactive=inactive",
        ))
        .unwrap();
        assert_eq!(found.evidence.len(), 3);
        assert!(found.evidence[2].contains("names no longer resolve"));
    }

    #[test]
    fn a_resolver_installed_or_never_enabled_is_no_finding() {
        assert_eq!(
            judge(&facts(
                "bullseye",
                "bookworm",
                "enabled=enabled",
                "installed=ii"
            )),
            None
        );
        assert_eq!(
            judge(&facts(
                "bullseye",
                "bookworm",
                "enabled=disabled",
                "installed=un"
            )),
            None
        );
    }
}
