//! trixie moves the legacy time zone names (`US/Eastern`, `Canada/Pacific`, `Etc/...`
//! aliases and the like) to `tzdata-legacy`, which the upgrade does not install. The
//! system's own zone is converted; a name written in an application's configuration is
//! not, and the program falls back to UTC (PHP does so without an error).

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "tzdata.legacy-names",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "a time zone named in configuration (PHP's `date.timezone`, `TZ` and `CRON_TZ`, MariaDB's `default-time-zone`, PostgreSQL's `timezone`, units' `Environment=TZ=`) existed before the hop and is gone from `/usr/share/zoneinfo` after it",
    remediation: "use the canonical name (`America/New_York` for `US/Eastern`), or install `tzdata-legacy`",
};

/// `zone FILE:LINE NAME yes|no`: each zone named in configuration, and whether
/// /usr/share/zoneinfo has it.
const SCRIPT: &str = r#"
{
  grep -HnsE '^[[:space:]]*date\.timezone[[:space:]]*=' /etc/php/*/*/php.ini /etc/php/*/*/conf.d/*.ini
  grep -HnsE '^[[:space:]]*(CRON_TZ|TZ)=' /etc/crontab /etc/cron.d/* /etc/environment /etc/default/*
  grep -rHnsE '^[[:space:]]*default[-_]time[-_]zone[[:space:]]*=' /etc/mysql
  grep -HnsE '^[[:space:]]*(log_)?timezone[[:space:]]*=' /etc/postgresql/*/*/postgresql.conf
  grep -rHnsE '^[[:space:]]*Environment=.*TZ=' /etc/systemd/system
} | sed -nE "s/^([^:]+:[0-9]+):.*(timezone|TZ|time[-_]zone)[[:space:]]*=[[:space:]]*[\"']?([A-Za-z][A-Za-z0-9_+-]*\/[A-Za-z0-9_+/-]+).*/\1 \3/p" | head -n 50 |
while read -r place zone; do
  if [ -e "/usr/share/zoneinfo/$zone" ]; then echo "zone $place $zone yes"; else echo "zone $place $zone no"; fi
done
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: SCRIPT,
    after: SCRIPT,
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let evidence: Vec<String> = facts
        .lost("zone")
        .into_iter()
        .filter_map(|name| {
            let (place, zone) = name.split_once(' ')?;
            Some(format!(
                "{place}: {zone}, gone from /usr/share/zoneinfo on {}",
                facts.to
            ))
        })
        .collect();
    if evidence.is_empty() {
        return None;
    }
    Some(Found::new(
        format!(
            "{} time zone name(s) in configuration no longer exist on {} (they moved to tzdata-legacy): the programs fall back to another zone, UTC for PHP",
            evidence.len(),
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
    fn a_zone_name_the_hop_removed_is_named_where_it_is_used() {
        let found = judge(&facts(
            "bookworm",
            "trixie",
            "zone /etc/cron.d/report:1 US/Eastern yes\nzone /etc/php/8.2/apache2/php.ini:9 Europe/Paris yes",
            "zone /etc/cron.d/report:1 US/Eastern no\nzone /etc/php/8.2/apache2/php.ini:9 Europe/Paris yes",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            ["/etc/cron.d/report:1: US/Eastern, gone from /usr/share/zoneinfo on trixie"]
        );
    }

    #[test]
    fn a_name_already_missing_before_is_not_the_hops_doing() {
        let zone = "zone /etc/environment:1 Mars/Olympus no";
        assert_eq!(judge(&facts("bookworm", "trixie", zone, zone)), None);
    }
}
