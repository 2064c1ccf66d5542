//! bookworm's OpenLDAP (2.5) has no `bdb` or `hdb` backend: a slapd with a database on
//! either does not start after the upgrade (its configuration loads a module that no
//! longer exists), and the data must be moved to `mdb` by hand.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "slapd.bdb-hdb-backend",
    severity: Severity::High,
    inhibitor: true,
    when: When::BeforeUpgrade,
    trigger: "before the upgrade to bookworm: a slapd database on the `bdb` or `hdb` backend (`olcDatabase` in `/etc/ldap/slapd.d`, `database` in `slapd.conf`)",
    remediation: "before upgrading, export each such database (`slapcat -n N`), recreate it on `mdb` and import it (`slapadd`), and remove `back_bdb`/`back_hdb` from the modules slapd loads",
};

const BEFORE: &str = r#"
[ -d /etc/ldap/slapd.d ] && grep -rHE '^olcDatabase: (\{[0-9]+\})?(bdb|hdb)[[:space:]]*$' /etc/ldap/slapd.d | sed 's/^/database /'
[ -f /etc/ldap/slapd.conf ] && grep -HnE '^[[:space:]]*database[[:space:]]+(bdb|hdb)' /etc/ldap/slapd.conf | sed 's/^/database /'
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: Some("bookworm"),
    before: BEFORE,
    after: "",
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    Found::each_line(&Facts::tagged(&facts.before, "database"), |n| {
        format!(
            "{n} slapd database(s) use a backend {}'s OpenLDAP no longer has (bdb, hdb): slapd will not start after the upgrade",
            facts.to
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn databases_on_a_removed_backend_are_named() {
        let found = judge(&facts(
            "bullseye",
            "bookworm",
            "database /etc/ldap/slapd.d/cn=config/olcDatabase={2}hdb.ldif:olcDatabase: {2}hdb",
            "",
        ))
        .unwrap();
        assert_eq!(found.evidence.len(), 1);
        assert_eq!(judge(&facts("bullseye", "bookworm", "", "")), None);
    }
}
