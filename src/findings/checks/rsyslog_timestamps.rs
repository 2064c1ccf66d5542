//! bookworm's rsyslog writes its files with high-precision RFC 3339 timestamps
//! (`2023-06-10T10:00:01.123456+02:00`) instead of the traditional `Jun 10 10:00:01`:
//! the default configuration no longer selects the traditional format. logcheck's rules
//! and other readers that match the old date stop matching: logcheck then mails every
//! line as unexpected, or a local rule ignores nothing.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "rsyslog.timestamp-format",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "rsyslog's configuration selected the traditional file format before the hop and no longer does after it, on a host with logcheck installed",
    remediation: "update logcheck's local rules (and other parsers of the log files) for RFC 3339 dates, or keep the old format with `$ActionFileDefaultTemplate RSYSLOG_TraditionalFileFormat` in a file of `/etc/rsyslog.d/`",
};

/// `format=traditional|rfc3339` and `reader logcheck` when installed (a macro, so the
/// after-hop script can reuse it as text).
macro_rules! format_facts {
    () => {
        r#"
command -v rsyslogd >/dev/null || exit 0
if cat /etc/rsyslog.conf /etc/rsyslog.d/*.conf 2>/dev/null | grep -v '^[[:space:]]*#' | grep -q 'RSYSLOG_TraditionalFileFormat'; then
  echo "format=traditional"
else
  echo "format=rfc3339"
fi
[ "$(dpkg-query -W -f '${db:Status-Abbrev}' logcheck 2>/dev/null)" = "ii " ] && echo "reader logcheck"
"#
    };
}

const BEFORE: &str = format_facts!();

/// The same, and the start of the last line of `/var/log/syslog` once rsyslog wrote one.
const AFTER: &str = concat!(
    format_facts!(),
    r#"logger -t rehearse "timestamp format check"
sleep 1
tail -n 1 /var/log/syslog | cut -c 1-80 | sed 's/^/sample /'
"#
);

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: Some("bookworm"),
    before: BEFORE,
    after: AFTER,
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let changed = Facts::value(&facts.before, "format") == Some("traditional")
        && Facts::value(&facts.after, "format") == Some("rfc3339");
    let readers = Facts::tagged(&facts.after, "reader");
    if !changed || readers.is_empty() {
        return None;
    }
    let mut evidence = vec![
        "rsyslog's configuration selected RSYSLOG_TraditionalFileFormat before the upgrade and no longer does".to_string(),
    ];
    evidence.extend(
        Facts::tagged(&facts.after, "sample")
            .into_iter()
            .map(|line| format!("/var/log/syslog now: {line}")),
    );
    evidence.extend(
        readers
            .iter()
            .map(|r| format!("{r} is installed: its rules match the traditional date")),
    );
    Some(Found::new(
        format!(
            "rsyslog writes RFC 3339 timestamps after the upgrade to {}: {} no longer match(es) the log lines as before",
            facts.to,
            readers.join(", ")
        ),
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn a_changed_format_with_logcheck_is_found() {
        let found = judge(&facts(
            "bullseye",
            "bookworm",
            "format=traditional\nreader logcheck",
            "format=rfc3339\nreader logcheck\nsample 2026-12-03T13:01:02.123456+00:00 web rehearse: timestamp format check",
        ))
        .unwrap();
        assert_eq!(found.evidence.len(), 3);
        assert!(found.evidence[1].contains("2026-12-03T13:01:02"));
    }

    #[test]
    fn without_logcheck_or_with_the_format_kept_nothing_is_found() {
        assert!(
            judge(&facts(
                "bullseye",
                "bookworm",
                "format=traditional",
                "format=rfc3339"
            ))
            .is_none()
        );
        assert!(
            judge(&facts(
                "bullseye",
                "bookworm",
                "format=traditional\nreader logcheck",
                "format=traditional\nreader logcheck"
            ))
            .is_none()
        );
    }
}
