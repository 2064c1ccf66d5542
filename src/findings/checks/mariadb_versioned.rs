//! bookworm's MariaDB packages drop the version from their names (`mariadb-server`, not
//! `mariadb-server-10.5`). The upgrade goes through transitional packages that keep the
//! old names for one release; a host whose tooling (configuration management, pins,
//! holds, install scripts) names the versioned packages keeps working now, and breaks
//! at the next upgrade when the transitional packages are gone.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "mariadb.versioned-package-names",
    severity: Severity::Low,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "on the upgrade to bookworm: a versioned MariaDB package (`mariadb-server-10.5`, `mariadb-client-10.5`…) was installed by its name (marked manually installed) before the hop, or APT's pins name one",
    remediation: "name the versionless packages (`mariadb-server`, `mariadb-client`) in configuration management, pins and holds, then mark the versioned ones automatic (`apt-mark auto mariadb-server-10.5`) so the next upgrade can drop them",
};

/// `manual NAME` for each versioned MariaDB package installed by name, `pin FILE:LINE`
/// for each pin that names one.
const BEFORE: &str = r#"
apt-mark showmanual | grep -E '^mariadb-(server|client)(-core)?-10\.[0-9]+$' | sed 's/^/manual /'
grep -HnsE 'mariadb-(server|client)(-core)?-10\.[0-9]+' /etc/apt/preferences /etc/apt/preferences.d/* | head -n 10 | sed -E 's/^([^:]+:[0-9]+):.*/pin \1/'
"#;

/// `now NAME VERSION` for each versioned MariaDB package still installed.
const AFTER: &str = r#"
dpkg-query -W -f '${db:Status-Abbrev}|${Package}|${Version}\n' 'mariadb-*' 2>/dev/null |
  sed -nE 's/^ii \|(mariadb-(server|client)(-core)?-10\.[0-9]+)\|(.*)$/now \1 \4/p'
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: Some("bookworm"),
    before: BEFORE,
    after: AFTER,
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let manual = Facts::tagged(&facts.before, "manual");
    let pins = Facts::tagged(&facts.before, "pin");
    if manual.is_empty() && pins.is_empty() {
        return None;
    }
    let now = Facts::tagged(&facts.after, "now");
    let mut evidence: Vec<String> = manual
        .iter()
        .map(|name| {
            let version = now
                .iter()
                .find_map(|n| n.strip_prefix(name)?.strip_prefix(' '));
            match version {
                Some(version) => format!(
                    "{name}: installed by its versioned name before the upgrade; now {version}, a transitional package"
                ),
                None => format!(
                    "{name}: installed by its versioned name before the upgrade; removed by it"
                ),
            }
        })
        .collect();
    evidence.extend(
        pins.iter()
            .map(|p| format!("{p}: a pin names a versioned MariaDB package")),
    );
    Some(Found::new(
        format!(
            "the host names MariaDB's versioned packages, which {} keeps only as transitional packages: tooling that installs or pins them by these names breaks at the next upgrade",
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
    fn versioned_packages_installed_by_name_are_found() {
        let found = judge(&facts(
            "bullseye",
            "bookworm",
            "manual mariadb-server-10.5\nmanual mariadb-client-10.5\npin /etc/apt/preferences.d/db:1",
            "now mariadb-server-10.5 1:10.11.19-0+deb12u1",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            [
                "mariadb-server-10.5: installed by its versioned name before the upgrade; now 1:10.11.19-0+deb12u1, a transitional package",
                "mariadb-client-10.5: installed by its versioned name before the upgrade; removed by it",
                "/etc/apt/preferences.d/db:1: a pin names a versioned MariaDB package"
            ]
        );
        assert!(
            judge(&facts(
                "bullseye",
                "bookworm",
                "",
                "now mariadb-server-10.5 1"
            ))
            .is_none()
        );
    }
}
