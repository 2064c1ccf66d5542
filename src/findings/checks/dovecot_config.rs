//! Dovecot's configuration must pass its own test after a hop: trixie's Dovecot 2.4 reads
//! a format incompatible with 2.3's, and a configuration the admin changed is kept as it
//! was, so the mail server does not start.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "dovecot.config-invalid",
    severity: Severity::High,
    inhibitor: true,
    when: When::AfterHop,
    trigger: "Dovecot is installed and `doveconf -n` rejects its configuration after the hop (it accepted it before)",
    remediation: "port the configuration to the new Dovecot (for 2.4: `dovecot_config_version`, `mail_driver` and `mail_path` instead of `mail_location`; see /usr/share/doc/dovecot-core/NEWS.Debian.gz), test it with `doveconf -n`, then upgrade",
};

const SCRIPT: &str = r#"
command -v doveconf >/dev/null || exit 0
errors=$(doveconf -n 2>&1 >/dev/null); echo "exit=$?"
printf '%s\n' "$errors" | head -n 5 | cut -c1-300 | sed 's/^/error /'
dpkg-query -W -f 'version=${Version}\n' dovecot-core
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: SCRIPT,
    after: SCRIPT,
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let failed = Facts::value(&facts.after, "exit").is_some_and(|e| e != "0");
    let passed_before = Facts::value(&facts.before, "exit") == Some("0");
    if !failed || !passed_before {
        return None;
    }
    let version = |lines| Facts::value(lines, "version").unwrap_or("?");
    let mut evidence = vec![format!(
        "dovecot-core {} → {}: `doveconf -n` exits with {}",
        version(&facts.before),
        version(&facts.after),
        Facts::value(&facts.after, "exit").unwrap_or("?")
    )];
    evidence.extend(
        Facts::tagged(&facts.after, "error")
            .iter()
            .map(|l| l.to_string()),
    );
    Some(Found::new(
        format!(
            "Dovecot's configuration, valid on {}, is rejected on {}: the mail server cannot start",
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
    fn a_configuration_the_new_dovecot_rejects_is_shown_with_its_error() {
        let found = judge(&facts(
            "bookworm",
            "trixie",
            "exit=0\nversion=1:2.3.19.1+dfsg1-2.1",
            "exit=89\nerror doveconf: Fatal: Error in configuration file /etc/dovecot/dovecot.conf line 1: Unknown setting\nversion=1:2.4.1+dfsg1-6",
        ))
        .unwrap();
        assert_eq!(found.evidence.len(), 2);
        assert!(found.evidence[0].contains("1:2.3.19.1+dfsg1-2.1 → 1:2.4.1+dfsg1-6"));
    }

    #[test]
    fn a_configuration_broken_before_the_hop_is_not_the_hops_doing() {
        assert_eq!(
            judge(&facts("bookworm", "trixie", "exit=89", "exit=89")),
            None
        );
        assert_eq!(
            judge(&facts("bookworm", "trixie", "exit=0", "exit=0")),
            None
        );
    }
}
