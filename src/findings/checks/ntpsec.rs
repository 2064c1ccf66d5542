//! bookworm replaces `ntp` with `ntpsec`: a transitional `ntp` package pulls it in, the
//! service becomes `ntpsec.service` (`ntp.service` is its alias) and its configuration
//! `/etc/ntpsec/ntp.conf`. What the admin changed in `/etc/ntp.conf` must be there.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "time.ntp-replaced",
    severity: Severity::Info,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "`ntp` was installed before the hop and `ntpsec` replaces it after it; the evidence says which of the old configuration's `server` and `pool` lines the new one has",
    remediation: "check that `/etc/ntpsec/ntp.conf` has your servers and restrictions, then remove the transitional `ntp` package; the notes name chrony and systemd-timesyncd as the other choices",
};

const BEFORE: &str = r#"
echo "ntp=$(dpkg-query -W -f '${db:Status-Abbrev}${Version}' ntp)"
grep -nE '^[[:space:]]*(server|pool|peer)[[:space:]]' /etc/ntp.conf | cut -c1-200 | sed 's/^/server /'
"#;

const AFTER: &str = r#"
echo "ntpsec=$(dpkg-query -W -f '${db:Status-Abbrev}${Version}' ntpsec)"
grep -nE '^[[:space:]]*(server|pool|peer)[[:space:]]' /etc/ntpsec/ntp.conf | cut -c1-200 | sed 's/^/server /'
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: BEFORE,
    after: AFTER,
    judge,
};

/// `ii 1:4.2.8p15+dfsg-1` → the version, when installed.
fn installed(value: Option<&str>) -> Option<&str> {
    value?.strip_prefix("ii").map(str::trim)
}

fn judge(facts: &Facts) -> Option<Found> {
    // The real ntp, not bookworm's transitional package (its version names ntpsec's).
    let ntp = installed(Facts::value(&facts.before, "ntp")).filter(|v| !v.contains('~'))?;
    let ntpsec = installed(Facts::value(&facts.after, "ntpsec"))?;
    let new: Vec<&str> = Facts::tagged(&facts.after, "server");
    let mut evidence = vec![format!(
        "ntp {ntp} on {} → ntpsec {ntpsec} on {}",
        facts.from, facts.to
    )];
    for line in Facts::tagged(&facts.before, "server") {
        let (number, text) = line.split_once(':').unwrap_or(("?", line));
        match new
            .iter()
            .find(|n| n.split_once(':').map(|(_, t)| t.trim()) == Some(text.trim()))
        {
            Some(kept) => {
                let (at, kept) = kept.split_once(':').unwrap_or(("?", kept));
                evidence.push(format!("/etc/ntpsec/ntp.conf:{at}: {}", kept.trim()));
            }
            None => evidence.push(format!(
                "/etc/ntp.conf:{number}: {} is not in /etc/ntpsec/ntp.conf",
                text.trim()
            )),
        }
    }
    let missing = evidence
        .iter()
        .filter(|e| e.ends_with("is not in /etc/ntpsec/ntp.conf"))
        .count();
    Some(Found::new(
        format!(
            "ntp is replaced by ntpsec on {}: the service is now ntpsec.service and its configuration /etc/ntpsec/ntp.conf ({})",
            facts.to,
            if missing == 0 {
                "it has every time server of /etc/ntp.conf".to_string()
            } else {
                format!("{missing} time server line(s) of /etc/ntp.conf are missing from it")
            }
        ),
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn the_servers_carried_over_and_those_missing_are_shown() {
        let found = judge(&facts(
            "bullseye",
            "bookworm",
            "ntp=ii 1:4.2.8p15+dfsg-1\nserver 23:server time.example.test iburst\nserver 24:pool 1.debian.pool.ntp.org iburst",
            "ntpsec=ii 1.2.2+dfsg1-1+deb12u1\nserver 23:server time.example.test iburst",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            [
                "ntp 1:4.2.8p15+dfsg-1 on bullseye → ntpsec 1.2.2+dfsg1-1+deb12u1 on bookworm",
                "/etc/ntpsec/ntp.conf:23: server time.example.test iburst",
                "/etc/ntp.conf:24: pool 1.debian.pool.ntp.org iburst is not in /etc/ntpsec/ntp.conf"
            ]
        );
        assert!(
            found.message.contains("1 time server line(s)"),
            "{}",
            found.message
        );
    }

    #[test]
    fn no_ntp_or_the_transitional_one_is_no_finding() {
        let after = "ntpsec=ii 1.2.2";
        assert_eq!(judge(&facts("bullseye", "bookworm", "ntp=", after)), None);
        let transitional = "ntp=ii 1:4.2.8p15+dfsg-2~1.2.2+dfsg1-1+deb12u1";
        assert_eq!(
            judge(&facts("bookworm", "trixie", transitional, after)),
            None
        );
    }
}
