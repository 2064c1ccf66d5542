//! bookworm's rsyslog writes fewer files (no `daemon.log`, `messages`, `debug`,
//! `mail.info`…: their lines go to `syslog`), and a host upgraded with the default
//! configuration follows. What reads those files (fail2ban jails, log shippers,
//! monitoring) then watches files that no longer grow.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "rsyslog.files-not-written",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "configuration under `/etc` names a file in `/var/log` that rsyslog's configuration wrote before the hop and no longer writes after it",
    remediation: "point what reads these files at the ones rsyslog still writes (`syslog`, `mail.log`) or at the journal, or add the rules back in a file of `/etc/rsyslog.d/`",
};

/// The `/var/log` files rsyslog's rules name.
const BEFORE: &str = r#"
cat /etc/rsyslog.conf /etc/rsyslog.d/*.conf | grep -v '^[[:space:]]*#' | grep -oE '/var/log/[A-Za-z0-9._/-]+' | sort -u | sed 's/^/writes /'
"#;

/// The same, and where the rest of `/etc` names `/var/log` files (rsyslog's own
/// configuration and rotation list left out).
const AFTER: &str = r#"
cat /etc/rsyslog.conf /etc/rsyslog.d/*.conf | grep -v '^[[:space:]]*#' | grep -oE '/var/log/[A-Za-z0-9._/-]+' | sort -u | sed 's/^/writes /'
grep -rnoE '/var/log/[A-Za-z0-9._-]+' /etc --exclude=rsyslog.conf --exclude-dir=rsyslog.d --exclude=rsyslog --exclude='*.dpkg-*' --exclude='*.ucf-*' | head -n 300 | sed 's/^/ref /'
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: BEFORE,
    after: AFTER,
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let wrote = Facts::tagged(&facts.before, "writes");
    let writes = Facts::tagged(&facts.after, "writes");
    let stopped: Vec<&str> = wrote
        .iter()
        .copied()
        .filter(|f| !writes.contains(f))
        .collect();
    // `/etc/fail2ban/jail.local:2:/var/log/daemon.log`
    let evidence: Vec<String> = Facts::tagged(&facts.after, "ref")
        .into_iter()
        .filter_map(|r| {
            let (place, path) = r.rsplit_once(':')?;
            stopped.contains(&path).then(|| {
                format!(
                    "{place}: reads {path}, which rsyslog no longer writes on {}",
                    facts.to
                )
            })
        })
        .collect();
    if evidence.is_empty() {
        return None;
    }
    Some(Found::new(
        format!(
            "{} configuration line(s) name log files rsyslog stopped writing with the upgrade to {} ({})",
            evidence.len(),
            facts.to,
            stopped.join(", ")
        ),
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn a_reader_of_a_file_no_longer_written_is_named() {
        let found = judge(&facts(
            "bullseye",
            "bookworm",
            "writes /var/log/daemon.log\nwrites /var/log/syslog",
            "writes /var/log/syslog\nref /etc/fail2ban/jail.local:2:/var/log/daemon.log\nref /etc/logwatch.conf:1:/var/log/syslog",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            [
                "/etc/fail2ban/jail.local:2: reads /var/log/daemon.log, which rsyslog no longer writes on bookworm"
            ]
        );
    }

    #[test]
    fn files_still_written_or_never_written_are_no_finding() {
        let after =
            "writes /var/log/syslog\nref /etc/x:1:/var/log/syslog\nref /etc/y:1:/var/log/app.log";
        assert_eq!(
            judge(&facts(
                "bullseye",
                "bookworm",
                "writes /var/log/syslog",
                after
            )),
            None
        );
    }
}
