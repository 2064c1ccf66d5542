//! bookworm's adduser changes extensively (options, defaults such as `DIR_MODE=0700`) and
//! makes `/etc/adduser.conf` a configuration file dpkg manages: a file the admin changed is
//! kept as it was, with the new version set aside, so accounts are created by the old
//! settings under the new program.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "adduser.config-kept",
    severity: Severity::Low,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "`/etc/adduser.conf` was changed locally before the hop (it differs from the package's copy, `DIR_MODE` aside, or from the conffile dpkg installed), and after it the new release's version is set aside (`.dpkg-dist`)",
    remediation: "read adduser's NEWS (`/usr/share/doc/adduser/NEWS.Debian.gz`), merge `/etc/adduser.conf.dpkg-dist` into your file, and test the scripts that create accounts",
};

/// Before bookworm the package copies `/usr/share/adduser/adduser.conf` once; from
/// bookworm on the file is a conffile whose installed hash dpkg records.
const BEFORE: &str = r#"
[ -f /etc/adduser.conf ] || exit 0
if [ -f /usr/share/adduser/adduser.conf ]; then
  [ "$(grep -v '^DIR_MODE' /etc/adduser.conf | md5sum)" != "$(grep -v '^DIR_MODE' /usr/share/adduser/adduser.conf | md5sum)" ] && echo "modified=yes"
else
  recorded=$(dpkg-query -W -f '${Conffiles}\n' adduser | awk '$1 == "/etc/adduser.conf" {print $2}')
  [ -n "$recorded" ] && [ "$(md5sum < /etc/adduser.conf | cut -d' ' -f1)" != "$recorded" ] && echo "modified=yes"
fi
echo "version=$(dpkg-query -W -f '${Version}' adduser)"
"#;

const AFTER: &str = r#"
echo "version=$(dpkg-query -W -f '${Version}' adduser)"
[ -e /etc/adduser.conf.dpkg-dist ] && echo "set_aside=/etc/adduser.conf.dpkg-dist"
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: BEFORE,
    after: AFTER,
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    Facts::value(&facts.before, "modified").filter(|m| *m == "yes")?;
    let set_aside = Facts::value(&facts.after, "set_aside")?;
    let version = |lines| Facts::value(lines, "version").unwrap_or("?");
    Some(Found::new(
        format!(
            "your /etc/adduser.conf was kept through the new adduser of {}; its new settings are in {set_aside}",
            facts.to
        ),
        vec![
            format!(
                "adduser {} → {}",
                version(&facts.before),
                version(&facts.after)
            ),
            "/etc/adduser.conf: changed locally, kept".to_string(),
            format!("{set_aside}: the new release's version"),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn a_changed_configuration_kept_through_the_new_adduser_is_reported() {
        let found = judge(&facts(
            "bullseye",
            "bookworm",
            "modified=yes\nversion=3.118+deb11u1",
            "version=3.134\nset_aside=/etc/adduser.conf.dpkg-dist",
        ))
        .unwrap();
        assert_eq!(found.evidence[0], "adduser 3.118+deb11u1 → 3.134");
        // Unchanged, or nothing set aside: nothing to merge.
        let after = "set_aside=/etc/adduser.conf.dpkg-dist";
        assert_eq!(
            judge(&facts("bullseye", "bookworm", "version=3.118", after)),
            None
        );
        assert_eq!(
            judge(&facts(
                "bullseye",
                "bookworm",
                "modified=yes",
                "version=3.134"
            )),
            None
        );
    }
}
