//! bookworm builds systemd-journal-remote and systemd-journal-gatewayd without GnuTLS:
//! their `--trust` option is gone, and a unit that still passes it fails to start, so
//! the central log server stops receiving logs.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "journal-remote.trust-option",
    severity: Severity::High,
    inhibitor: true,
    when: When::BeforeUpgrade,
    trigger: "before the upgrade to bookworm: a unit or drop-in under `/etc/systemd/system` that runs `systemd-journal-remote` or `systemd-journal-gatewayd` with `--trust` (bookworm's builds, without GnuTLS, have no such option)",
    remediation: "remove `--trust` from the unit's `ExecStart=` before upgrading, then check on the upgraded replica that the service starts and its clients can still send",
};

/// `trust FILE:LINE: TEXT` for each `ExecStart=` that passes `--trust` to either program.
const BEFORE: &str = r#"
grep -rsHnE '^[[:space:]]*ExecStart=.*systemd-journal-(remote|gatewayd).*--trust' /etc/systemd/system | head -n 20 |
  sed -E 's/^([^:]+:[0-9]+):[[:space:]]*/trust \1: /'
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: Some("bookworm"),
    before: BEFORE,
    after: "",
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    Found::each_line(&Facts::tagged(&facts.before, "trust"), |n| {
        format!(
            "{n} unit line(s) pass `--trust` to systemd-journal-remote or -gatewayd: bookworm's builds no longer have that option, and the service will not start"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn a_unit_passing_trust_is_named() {
        let found = judge(&facts(
            "bullseye",
            "bookworm",
            "trust /etc/systemd/system/systemd-journal-remote.service.d/trust.conf:3: ExecStart=/lib/systemd/systemd-journal-remote --trust=all",
            "",
        ))
        .unwrap();
        assert_eq!(found.evidence.len(), 1);
        assert!(found.evidence[0].ends_with("--trust=all"));
        assert!(judge(&facts("bullseye", "bookworm", "", "")).is_none());
    }
}
