//! trixie's Bacula (15) updates the Director's catalog schema from 9.6's: the update
//! needs time and free space of the order of the catalog's size. bacula-common's
//! pre-installation script asks to confirm it (a critical debconf question whose
//! default is "no"): an unattended upgrade stops there, with dpkg's error, unless the
//! answer is preseeded.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "bacula.catalog-upgrade",
    severity: Severity::High,
    inhibitor: true,
    when: When::BeforeUpgrade,
    trigger: "before the upgrade to trixie: a `bacula-director-mysql`, `-pgsql` or `-sqlite3` older than 13.0.0 (its catalog's schema is updated by the upgrade, which asks to confirm)",
    remediation: "back up the catalog, make sure its file system has at least the catalog's size free, plan the time, and for an unattended upgrade preseed the answer (`echo 'bacula-common bacula-common/db_upgrade_needs_space boolean true' | debconf-set-selections`)",
};

/// `director NAME VERSION` for an installed director older than 13, `catalog BYTES` and
/// `free BYTES WHERE` where the database can be asked.
const BEFORE: &str = r#"
for p in bacula-director-mysql bacula-director-pgsql bacula-director-sqlite3; do
  v=$(dpkg-query -W -f '${db:Status-Abbrev}|${Version}' "$p" 2>/dev/null)
  case "$v" in "ii |"*) v=${v#*|}; dpkg --compare-versions "$v" lt 13.0.0 && echo "director $p $v" ;; esac
done
if [ -f /var/lib/bacula/bacula.db ]; then
  echo "catalog $(stat -c %s /var/lib/bacula/bacula.db)"; echo "free $(df -B1 --output=avail /var/lib/bacula | tail -n 1 | tr -d ' ') /var/lib/bacula"
elif command -v mysql >/dev/null && mysql -NBe 'select 1' >/dev/null 2>&1; then
  echo "catalog $(mysql -NBe "select coalesce(sum(data_length + index_length), 0) from information_schema.tables where table_schema = 'bacula'")"
  d=$(mysql -NBe 'select @@datadir'); echo "free $(df -B1 --output=avail "$d" | tail -n 1 | tr -d ' ') $d"
elif command -v psql >/dev/null; then
  echo "catalog $(su postgres -s /bin/sh -c "psql -tAc \"select pg_database_size('bacula')\"" 2>/dev/null)"
fi
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: Some("trixie"),
    before: BEFORE,
    after: "",
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let directors = Facts::tagged(&facts.before, "director");
    let director = directors.first()?;
    let mut evidence = vec![format!(
        "{director}: the upgrade to {} updates its catalog's schema, and bacula-common asks to confirm it first (an unattended upgrade answers no and stops)",
        facts.to
    )];
    let catalog = Facts::tagged(&facts.before, "catalog")
        .first()
        .and_then(|c| c.parse::<u64>().ok());
    if let Some(bytes) = catalog {
        evidence.push(format!("catalog: {}", bytesize::ByteSize(bytes)));
    }
    if let Some(free) = Facts::tagged(&facts.before, "free").first()
        && let Some((bytes, place)) = free.split_once(' ')
        && let Ok(bytes) = bytes.parse::<u64>()
    {
        evidence.push(format!("free on {place}: {}", bytesize::ByteSize(bytes)));
    }
    Some(Found::new(
        format!(
            "Bacula's Director catalog is updated by the upgrade to {}: it needs time and free space, and stops an unattended upgrade unless confirmed",
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
    fn an_old_director_with_its_catalog_is_found() {
        let found = judge(&facts(
            "bookworm",
            "trixie",
            "director bacula-director-mysql 9.6.7-7\ncatalog 770048\nfree 81300000000 /var/lib/mysql/",
            "",
        ))
        .unwrap();
        assert!(found.evidence[0].starts_with("bacula-director-mysql 9.6.7-7:"));
        assert_eq!(found.evidence.len(), 3);
        assert!(found.evidence[1].starts_with("catalog: "));
        assert!(judge(&facts("bookworm", "trixie", "catalog 1", "")).is_none());
    }
}
