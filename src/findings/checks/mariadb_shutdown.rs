//! trixie's MariaDB (11.8) upgrades bookworm's data (10.11) reliably only after a clean
//! shutdown: a server that crashed, or was killed, and was left stopped hands the new
//! version a crash recovery it may not be able to do.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "mariadb.unclean-shutdown",
    severity: Severity::High,
    inhibitor: false,
    when: When::BeforeUpgrade,
    trigger: "before the upgrade to trixie: MariaDB is installed, not running, and systemd recorded that its last stop was not clean (its unit's `Result` is not `success`)",
    remediation: "start MariaDB on bookworm and stop it cleanly (`systemctl start mariadb && systemctl stop mariadb`, or leave it running: the upgrade stops it cleanly) before upgrading",
};

const BEFORE: &str = r#"
[ -x /usr/sbin/mariadbd ] || [ -x /usr/sbin/mysqld ] || exit 0
for unit in mariadb.service mysql.service; do
  systemctl cat "$unit" >/dev/null 2>&1 || continue
  echo "unit=$unit"
  systemctl show -p ActiveState -p Result -p ExecMainStatus "$unit"
  journalctl -u "$unit" --no-pager -o cat -n 3 | cut -c1-200 | sed 's/^/journal /'
  break
done
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: Some("trixie"),
    before: BEFORE,
    after: "",
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let unit = Facts::value(&facts.before, "unit")?;
    let state = Facts::value(&facts.before, "ActiveState")?;
    let result = Facts::value(&facts.before, "Result")?;
    if state == "active" || state == "activating" || result == "success" {
        return None;
    }
    let mut evidence = vec![format!(
        "{unit}: {state}, last result {result} (main process status {})",
        Facts::value(&facts.before, "ExecMainStatus").unwrap_or("?")
    )];
    evidence.extend(
        Facts::tagged(&facts.before, "journal")
            .iter()
            .map(|l| format!("{unit} journal: {l}")),
    );
    Some(Found::new(
        format!(
            "MariaDB is stopped and its last stop was not clean ({result}): {}'s MariaDB may fail to recover the data of {}'s",
            facts.to, facts.from
        ),
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn a_server_left_stopped_after_a_crash_is_named() {
        let found = judge(&facts(
            "bookworm",
            "trixie",
            "unit=mariadb.service\nActiveState=inactive\nResult=signal\nExecMainStatus=9\njournal mariadb.service: Failed with result 'signal'.",
            "",
        ))
        .unwrap();
        assert_eq!(
            found.evidence[0],
            "mariadb.service: inactive, last result signal (main process status 9)"
        );
        assert_eq!(found.evidence.len(), 2);
    }

    #[test]
    fn a_running_or_cleanly_stopped_server_is_no_finding() {
        let running = "unit=mariadb.service\nActiveState=active\nResult=success";
        assert_eq!(judge(&facts("bookworm", "trixie", running, "")), None);
        let stopped = "unit=mariadb.service\nActiveState=inactive\nResult=success";
        assert_eq!(judge(&facts("bookworm", "trixie", stopped, "")), None);
    }
}
