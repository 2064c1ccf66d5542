//! trixie no longer reads `/etc/sysctl.conf`: procps drops it (a file the admin changed is
//! kept aside as `/etc/sysctl.conf.dpkg-bak`) with the `/etc/sysctl.d/99-sysctl.conf`
//! link that made systemd-sysctl read it, so its kernel settings are no longer applied
//! at boot.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "sysctl.conf-not-read",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "`/etc/sysctl.conf` had settings before the hop, and after it nothing in `/etc/sysctl.d` reads the file (or the file is gone)",
    remediation: "move the settings to a file of `/etc/sysctl.d/` (e.g. `/etc/sysctl.d/local.conf`) and check them with `sysctl --system`",
};

const BEFORE: &str = r#"
grep -nEv '^[[:space:]]*([#;]|$)' /etc/sysctl.conf | cut -c1-200 | sed 's/^/setting /'
"#;

const AFTER: &str = r#"
[ -e /etc/sysctl.conf ] && echo "present=yes"
for f in /etc/sysctl.d/*.conf /usr/lib/sysctl.d/*.conf /run/sysctl.d/*.conf; do
  [ "$(readlink -f "$f")" = /etc/sysctl.conf ] && echo "read_by $f"
done
for f in /etc/sysctl.conf.dpkg-bak /etc/sysctl.conf.dpkg-old; do [ -e "$f" ] && echo "kept $f"; done
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: BEFORE,
    after: AFTER,
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let settings = Facts::tagged(&facts.before, "setting");
    if settings.is_empty() {
        return None;
    }
    let present = Facts::value(&facts.after, "present") == Some("yes");
    let read = !Facts::tagged(&facts.after, "read_by").is_empty();
    if present && read {
        return None;
    }
    let mut evidence: Vec<String> = settings
        .iter()
        .map(|s| format!("/etc/sysctl.conf:{}", s.replacen(':', ": ", 1)))
        .collect();
    if !present {
        evidence.push(format!("/etc/sysctl.conf is gone on {}", facts.to));
    } else {
        evidence.push(format!(
            "no file of /etc/sysctl.d reads /etc/sysctl.conf on {}",
            facts.to
        ));
    }
    for kept in Facts::tagged(&facts.after, "kept") {
        evidence.push(format!(
            "{kept}: the old file, kept aside and read by nothing"
        ));
    }
    Some(Found::new(
        format!(
            "{} kernel setting(s) of /etc/sysctl.conf are no longer applied at boot after the upgrade to {}",
            settings.len(),
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
    fn settings_no_longer_read_are_listed_with_where_the_file_went() {
        let found = judge(&facts(
            "bookworm",
            "trixie",
            "setting 78:net.core.somaxconn = 1024",
            "kept /etc/sysctl.conf.dpkg-bak",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            [
                "/etc/sysctl.conf:78: net.core.somaxconn = 1024",
                "/etc/sysctl.conf is gone on trixie",
                "/etc/sysctl.conf.dpkg-bak: the old file, kept aside and read by nothing"
            ]
        );
    }

    #[test]
    fn a_file_still_read_or_without_settings_is_no_finding() {
        let read = "present=yes\nread_by /etc/sysctl.d/99-sysctl.conf";
        assert_eq!(
            judge(&facts("bullseye", "bookworm", "setting 1:a = 1", read)),
            None
        );
        assert_eq!(
            judge(&facts(
                "bookworm",
                "trixie",
                "",
                "kept /etc/sysctl.conf.dpkg-bak"
            )),
            None
        );
    }
}
