//! Upgrade findings: each one a real check of the replica (facts gathered by a script,
//! judged here by pure functions), Leapp-style: key, severity, inhibitor, evidence,
//! remediation.

use std::collections::{BTreeMap, BTreeSet};

use super::host_state::HostState;
pub use super::host_state::sections;
use crate::findings::{self, FindingKind};
use crate::model::Finding;

/// Facts about the stack on the host after a hop, each under a `### name` header.
pub const STACK_SCRIPT: &str = r#"
section() { printf '### %s\n' "$1"; }
section apache
if command -v apache2ctl >/dev/null 2>&1; then apache2ctl configtest 2>&1; echo "exit=$?"; fi
section php_modules
for f in /etc/apache2/mods-enabled/php*.load; do
  [ -e "$f" ] || [ -L "$f" ] || continue
  if [ ! -e "$f" ]; then echo "dangling $f"; continue; fi
  so=$(awk '$1 == "LoadModule" {print $3}' "$f")
  if [ -e "$so" ]; then echo "ok $f $so"; else echo "missing $f $so"; fi
done
section php_handlers
ls /etc/apache2/conf-enabled/ 2>/dev/null | grep -E '^php.*-fpm\.conf$'
section mariadb
if [ -x /usr/sbin/mariadbd ] || [ -x /usr/sbin/mysqld ]; then
  echo "active=$(systemctl is-active mariadb 2>/dev/null || systemctl is-active mysql 2>/dev/null)"
  echo "upgrade_info=$(head -c 64 /var/lib/mysql/mysql_upgrade_info 2>/dev/null | tr -d '\0')"
  echo "server=$( (/usr/sbin/mariadbd --version || /usr/sbin/mysqld --version) 2>/dev/null | head -n1)"
fi
section mariadb_journal
journalctl -u mariadb -b --no-pager -o cat 2>/dev/null | grep -E '\[ERROR\]|Failed|failed' | tail -n 10
section postgresql
if command -v pg_lsclusters >/dev/null 2>&1; then pg_lsclusters -h 2>/dev/null; fi
section postgresql_installed
ls /usr/lib/postgresql 2>/dev/null
true
"#;

/// Checks of the host before the first hop.
pub fn before_upgrade(host: &str, state: &HostState, target: &str) -> Vec<Finding> {
    let mut found = Vec::new();
    if !state.holds.is_empty() {
        found.push(findings::HELD_PACKAGES.found(
            host,
            format!(
                "{} held package(s) will not be upgraded and can block the upgrade: {}",
                state.holds.len(),
                state.holds.join(", ")
            ),
            state.holds.clone(),
        ));
    }
    if !state.audit.trim().is_empty() {
        found.push(findings::DPKG_AUDIT.found(
            host,
            "dpkg reports half-installed or unconfigured packages".into(),
            state.audit.lines().map(str::to_string).collect(),
        ));
    }
    let needs_merged = crate::debian::release::version_of(target).is_some_and(|v| v >= 12);
    if !state.merged_usr && needs_merged {
        found.push(findings::USR_NOT_MERGED.found(
                        host,
            "the host's /usr is not merged: on the real host the upgrade installs `usrmerge`, which converts /bin, /sbin and /lib into links; the replica's overlay filesystem cannot be converted, so the rehearsal may fail where the real upgrade would not".into(),
            vec!["/bin, /sbin or /lib is a directory, not a link into /usr".into()],
        ));
    }
    found
}

/// What systemd says of a service that ran before the hop and does not after it: the
/// unit it is now (an alias resolves to its unit: `ntp.service` → `ntpsec.service`), and
/// the start conditions it did not meet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitState {
    pub id: String,
    pub unmet: Vec<String>,
}

/// Prints, for the unit `$1`, its id (`### id`) and each condition that stopped it from
/// starting (`### unmet`, as `ConditionCapability=CAP_SYS_TIME`).
pub const UNIT_STATE_SCRIPT: &str = r#"
printf '### id\n'
systemctl show -p Id --value "$1" 2>/dev/null
printf '### unmet\n'
systemctl status --no-pager "$1" 2>/dev/null | sed -n 's/.*\(Condition[A-Za-z]*=[^ ]*\) was not met.*/\1/p'
true
"#;

impl UnitState {
    pub fn parse(output: &str) -> UnitState {
        let facts = sections(output);
        UnitState {
            id: facts
                .get("id")
                .and_then(|l| l.first())
                .map(|l| l.trim().to_string())
                .unwrap_or_default(),
            unmet: facts.get("unmet").cloned().unwrap_or_default(),
        }
    }

    /// Conditions a container never meets while the real host does: the capabilities
    /// the engine drops, and being a container at all.
    fn only_container_conditions(&self) -> bool {
        !self.unmet.is_empty()
            && self.unmet.iter().all(|c| {
                c.starts_with("ConditionCapability=") || c.starts_with("ConditionVirtualization=")
            })
    }
}

/// The services enabled and running before the hop that are not running after it.
pub fn stopped_services(before: &HostState, after: &HostState) -> Vec<String> {
    before
        .enabled_services
        .intersection(&before.active_services)
        .filter(|s| !after.active_services.contains(*s))
        .cloned()
        .collect()
}

/// Checks comparing the host before the upgrade with after a hop (and its reboot).
/// `units` says what systemd knows of each of the [`stopped_services`].
pub fn after_hop(
    host: &str,
    before: &HostState,
    after: &HostState,
    protect: &[String],
    units: &BTreeMap<String, UnitState>,
) -> Vec<Finding> {
    let mut found = Vec::new();
    let removed: Vec<&String> = protect
        .iter()
        .filter(|p| before.installed.contains_key(*p) && !after.installed.contains_key(*p))
        .collect();
    if !removed.is_empty() {
        let names: Vec<String> = removed.iter().map(|s| s.to_string()).collect();
        found.push(findings::PROTECTED_REMOVED.found(
            host,
            format!(
                "the upgrade removed protected package(s): {}",
                names.join(", ")
            ),
            names,
        ));
    }
    let stopped = stopped_services(before, after);
    // A versioned successor running instead (php8.2-fpm → php8.4-fpm), or the unit the
    // name is now an alias of, is the normal course of an upgrade; a unit that is gone
    // went with its package; a package may disable its own service (following a setting
    // of the admin's, or a new default): a change to review; a unit skipped for a
    // condition no container meets would start on the real host. Only a service still
    // enabled that did not start is a failure.
    let mut replaced = Vec::new();
    let mut removed = Vec::new();
    let mut disabled = Vec::new();
    let mut down = Vec::new();
    let mut sandboxed = Vec::new();
    for unit in &stopped {
        let state = units.get(unit).cloned().unwrap_or_default();
        let alias = (!state.id.is_empty() && state.id != *unit).then_some(state.id.as_str());
        let successor = after
            .active_services
            .iter()
            .filter(|s| !before.active_services.contains(*s))
            .find(|s| unversioned(s) == unversioned(unit) || Some(s.as_str()) == alias);
        if let Some(next) = successor {
            replaced.push(format!("{unit} → {next}"));
        } else if state.only_container_conditions() {
            let now = alias.map(|a| format!(" (now {a})")).unwrap_or_default();
            sandboxed.push(format!("{unit}{now}: {}", state.unmet.join(", ")));
        } else if !after.known_services.is_empty() && !unit_exists(&after.known_services, unit) {
            removed.push(unit.clone());
        } else if !after.enabled_services.is_empty() && !after.enabled_services.contains(unit) {
            disabled.push(unit.clone());
        } else {
            down.push(unit.clone());
        }
    }
    if !sandboxed.is_empty() {
        found.push(findings::UNIT_CONDITION_UNMET.found(
            host,
            format!(
                "service(s) that ran before the upgrade were skipped after it for a condition no container meets, so the replica cannot show whether they work: {}",
                sandboxed.join("; ")
            ),
            sandboxed,
        ));
    }
    if !disabled.is_empty() {
        found.push(findings::SERVICE_DISABLED.found(
            host,
            format!(
                "the upgrade disabled service(s) that were enabled and running: {}",
                disabled.join(", ")
            ),
            disabled,
        ));
    }
    if !down.is_empty() {
        found.push(findings::SERVICE_NOT_RUNNING.found(
                        host,
            format!(
                "service(s) enabled and running before the upgrade are not running after the reboot: {}",
                down.join(", ")
            ),
            down,
        ));
    }
    if !replaced.is_empty() {
        found.push(findings::SERVICE_REPLACED.found(
            host,
            format!(
                "service(s) replaced by the new release's version: {}",
                replaced.join(", ")
            ),
            replaced,
        ));
    }
    if !removed.is_empty() {
        found.push(findings::SERVICE_REMOVED.found(
            host,
            format!(
                "service(s) that ran before the upgrade no longer exist: {}",
                removed.join(", ")
            ),
            removed,
        ));
    }
    let new_leftovers: Vec<String> = after
        .conffile_leftovers
        .iter()
        .filter(|f| !before.conffile_leftovers.contains(f))
        .cloned()
        .collect();
    if !new_leftovers.is_empty() {
        found.push(findings::CONFFILES_PENDING.found(
                        host,
            format!(
                "{} configuration file(s) were left beside the active one (`.dpkg-dist` is the maintainer's new version kept aside, `.dpkg-old` your old one replaced)",
                new_leftovers.len()
            ),
            new_leftovers,
        ));
    }
    let new_rc: Vec<String> = after
        .config_only
        .iter()
        .filter(|p| !before.config_only.contains(*p))
        .cloned()
        .collect();
    if !new_rc.is_empty() {
        found.push(findings::PACKAGES_CONFIG_ONLY.found(
            host,
            format!(
                "{} package(s) were removed but left their configuration (`rc`)",
                new_rc.len()
            ),
            new_rc,
        ));
    }
    if !after.upgradable.is_empty() {
        let evidence: Vec<String> = after
            .upgradable
            .iter()
            .map(|u| {
                let held = if before.holds.contains(&u.name) {
                    " (held)"
                } else {
                    ""
                };
                format!(
                    "{} {}{held} kept from {}; {} has {}",
                    u.name, u.installed, before.codename, after.codename, u.candidate
                )
            })
            .collect();
        let held = after
            .upgradable
            .iter()
            .filter(|u| before.holds.contains(&u.name))
            .count();
        found.push(findings::PACKAGES_KEPT_BACK.found(
                        host,
            format!(
                "{} package(s) stayed on {}'s version although {} has a newer one ({held} held, the others kept back with them): the host runs a mix of both releases",
                after.upgradable.len(),
                before.codename,
                after.codename
            ),
            evidence,
        ));
    }
    if !after.obsolete.is_empty() {
        found.push(findings::PACKAGES_OBSOLETE.found(
            host,
            format!(
                "{} installed package(s) are in no configured source any more",
                after.obsolete.len()
            ),
            after.obsolete.clone(),
        ));
    }
    found
}

/// Checks of the services of the stack after a hop, from [`STACK_SCRIPT`]'s output.
pub fn stack(host: &str, facts: &BTreeMap<String, Vec<String>>, after: &HostState) -> Vec<Finding> {
    let mut found = Vec::new();
    let get = |name: &str| facts.get(name).cloned().unwrap_or_default();
    let apache = get("apache");
    if apache
        .last()
        .is_some_and(|l| l.starts_with("exit=") && l != "exit=0")
    {
        let output: Vec<String> = apache[..apache.len() - 1].to_vec();
        found.push(apache_configtest_failed(
            &findings::APACHE_CONFIGTEST_FAILED,
            host,
            "after the upgrade",
            output,
        ));
    }
    let modules = get("php_modules");
    let broken: Vec<String> = modules
        .iter()
        .filter(|l| l.starts_with("dangling ") || l.starts_with("missing "))
        .cloned()
        .collect();
    if !broken.is_empty() {
        found.push(findings::PHP_MODULE_MISSING.found(
            host,
            "Apache still loads a PHP module the upgrade removed".into(),
            broken,
        ));
    }
    let mod_php_installed = after
        .installed
        .keys()
        .any(|p| p.starts_with("libapache2-mod-php"));
    let working_php = modules.iter().any(|l| l.starts_with("ok "));
    let fpm = !get("php_handlers").is_empty();
    if mod_php_installed && !working_php && !fpm {
        found.push(findings::PHP_NO_HANDLER.found(
                        host,
            "no PHP handler is enabled in Apache: PHP pages would be served as source text or not at all".into(),
            modules.clone(),
        ));
    }
    let mariadb = get("mariadb");
    if !mariadb.is_empty() {
        let value = |key: &str| {
            mariadb
                .iter()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        if value("active") != "active" {
            found.push(findings::MARIADB_NOT_RUNNING.found(
                host,
                format!(
                    "the MariaDB server is not running after the upgrade (state: {})",
                    value("active")
                ),
                get("mariadb_journal"),
            ));
        } else if let Some(finding) =
            mariadb_upgrade_needed(host, &value("upgrade_info"), &value("server"))
        {
            found.push(finding);
        }
    }
    if let Some(finding) =
        old_postgresql_cluster(host, &get("postgresql"), &get("postgresql_installed"))
    {
        found.push(finding);
    }
    found
}

/// Apache's configuration test failed: name the directive and the file, and for 2.2-style
/// access control suggest its 2.4 form.
pub fn apache_configtest_failed(
    kind: &FindingKind,
    host: &str,
    when: &str,
    output: Vec<String>,
) -> Finding {
    // Apache says where ("Syntax error on line N of FILE:") and, on the next line,
    // what ("Invalid command 'Order'...", "Cannot load ... into server").
    let directive = match output.iter().position(|l| l.contains("Syntax error")) {
        Some(at) => format!(
            "{} {}",
            output[at].trim(),
            output.get(at + 1).map(|l| l.trim()).unwrap_or("")
        ),
        None => output.first().cloned().unwrap_or_default(),
    };
    let access_compat = output
        .iter()
        .any(|l| l.contains("'Order'") || l.contains("'Allow'") || l.contains("'Deny'"));
    let remediation = if access_compat {
        "Apache 2.4 without mod_access_compat: replace `Order`/`Allow`/`Deny` with `Require all granted` (or enable `access_compat` for now)"
    } else {
        findings::APACHE_CONFIGTEST_FAILED.remediation
    };
    kind.found_with(
        host,
        format!(
            "Apache's configuration test fails {when}: {}",
            directive.trim()
        ),
        remediation.to_string(),
        output,
    )
}

/// A unit name without its version: `php8.2-fpm.service` → `php-fpm.service`.
/// Whether `unit` still has a unit file (or is loaded): itself, or for an instance
/// (`getty@tty1.service`) its template (`getty@.service`).
fn unit_exists(known: &BTreeSet<String>, unit: &str) -> bool {
    if known.contains(unit) {
        return true;
    }
    match unit.split_once('@') {
        Some((prefix, _)) => known.contains(&format!("{prefix}@.service")),
        None => false,
    }
}

fn unversioned(unit: &str) -> String {
    let (stem, suffix) = unit.rsplit_once('.').unwrap_or((unit, ""));
    let stem: String = stem
        .chars()
        .filter(|c| !c.is_ascii_digit() && *c != '.')
        .collect();
    format!("{stem}.{suffix}")
}

/// `mysql_upgrade_info` records the version the data was last upgraded for; when the
/// server's major version differs, `mariadb-upgrade` has not run yet.
fn mariadb_upgrade_needed(host: &str, upgrade_info: &str, server: &str) -> Option<Finding> {
    let data = major_minor(upgrade_info)?;
    let running = server.split_whitespace().find_map(|word| {
        major_minor(word).filter(|_| word.chars().next().is_some_and(|c| c.is_ascii_digit()))
    })?;
    (data != running).then(|| {
        findings::MARIADB_UPGRADE_NEEDED.found(
                        host,
            format!(
                "the MariaDB data was last upgraded for {}.{} but the server is {}.{}: `mariadb-upgrade` has not run",
                data.0, data.1, running.0, running.1
            ),
            vec![format!("mysql_upgrade_info: {upgrade_info}"), format!("server: {server}")],
        )
    })
}

fn major_minor(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// After a PostgreSQL major upgrade Debian keeps the old cluster serving from the old
/// binaries; the newest installed version's cluster is empty until `pg_upgradecluster`.
fn old_postgresql_cluster(
    host: &str,
    clusters: &[String],
    installed: &[String],
) -> Option<Finding> {
    let newest = installed
        .iter()
        .filter_map(|v| v.trim().parse::<u32>().ok())
        .max()?;
    let old: Vec<String> = clusters
        .iter()
        .filter(|line| {
            line.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u32>().ok())
                .is_some_and(|v| v < newest)
        })
        .cloned()
        .collect();
    let new_cluster_exists = clusters.iter().any(|line| {
        line.split_whitespace()
            .next()
            .and_then(|v| v.parse::<u32>().ok())
            == Some(newest)
    });
    let remediation = if new_cluster_exists {
        format!(
            "drop the new empty cluster and upgrade the old one: `pg_dropcluster --stop {newest} main && pg_upgradecluster OLD main`, then remove the old postgresql package"
        )
    } else {
        "upgrade the old cluster: `pg_upgradecluster OLD main`, check the application, then `pg_dropcluster OLD main` and remove the old postgresql package".to_string()
    };
    (!old.is_empty()).then(|| {
        findings::POSTGRESQL_OLD_CLUSTER.found_with(
            host,
            format!(
                "PostgreSQL cluster(s) still run on an older major version than the installed {newest}: the data is served by binaries the new release no longer supports"
            ),
            remediation,
            clusters.to_vec(),
        )
    })
}

/// Why a unit's `program` is gone: the package that shipped it before the upgrade (as
/// dpkg said then) when the upgrade removed it.
pub fn program_gone(unit: &str, program: &str, before: &HostState, after: &HostState) -> String {
    let owner = before
        .programs
        .values()
        .find(|(path, _)| path == program)
        .and_then(|(_, owner)| owner.as_deref());
    match owner {
        Some(package) if !after.installed.contains_key(package) => format!(
            "{unit}: its program {program} is gone with the package `{package}`, removed by the upgrade"
        ),
        Some(package) => format!(
            "{unit}: its program {program} no longer exists (the package `{package}` that shipped it is still installed, at {})",
            after.installed[package]
        ),
        None => format!("{unit}: its program {program} no longer exists"),
    }
}

/// Apt's own lines about fetching from a source (`W: Failed to fetch …`, `Err:…`,
/// `E: The repository … does not have a Release file`) added to the evidence of the
/// findings that name that source in theirs (its URI).
pub fn attach_fetch_lines(findings: &mut [Finding], log: &str) {
    let said: Vec<&str> = log
        .lines()
        .filter(|l| ["W:", "E:", "Err:", "N:"].iter().any(|p| l.starts_with(p)))
        .collect();
    for finding in findings {
        let uris: Vec<String> = finding
            .evidence
            .iter()
            .flat_map(|line| line.split_whitespace())
            .filter(|word| word.contains("://") || word.starts_with("file:"))
            .map(|uri| uri.trim_end_matches('/').to_string())
            .collect();
        let mut lines: Vec<String> = said
            .iter()
            .filter(|l| uris.iter().any(|uri| l.contains(uri.as_str())))
            .map(|l| l.to_string())
            .collect();
        lines.dedup();
        finding.evidence.extend(lines);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(installed: &[&str]) -> HostState {
        HostState {
            installed: installed
                .iter()
                .map(|p| (p.to_string(), "1".to_string()))
                .collect(),
            merged_usr: true,
            ..HostState::default()
        }
    }

    #[test]
    fn a_missing_program_names_the_removed_package_that_shipped_it() {
        let mut before = state(&["php7.4-cli", "apache2"]);
        before.programs.insert(
            "worker.service".into(),
            ("/usr/bin/php7.4".into(), Some("php7.4-cli".into())),
        );
        let after = state(&["apache2"]);
        assert_eq!(
            program_gone("worker.service", "/usr/bin/php7.4", &before, &after),
            "worker.service: its program /usr/bin/php7.4 is gone with the package `php7.4-cli`, removed by the upgrade"
        );
        assert_eq!(
            program_gone("x.service", "/usr/local/bin/x", &before, &after),
            "x.service: its program /usr/local/bin/x no longer exists"
        );
    }

    #[test]
    fn packages_left_on_the_old_release_are_named_with_both_versions() {
        let mut before = state(&["curl", "libcurl4"]);
        before.codename = "bullseye".into();
        before.holds = vec!["curl".into()];
        let mut after = before.clone();
        after.codename = "bookworm".into();
        after.upgradable = vec![
            super::super::host_state::Upgradable {
                name: "curl".into(),
                installed: "7.74.0-1.3+deb11u14".into(),
                candidate: "7.88.1-10+deb12u12".into(),
            },
            super::super::host_state::Upgradable {
                name: "libcurl4".into(),
                installed: "7.74.0-1.3+deb11u14".into(),
                candidate: "7.88.1-10+deb12u12".into(),
            },
        ];
        let found = after_hop("web", &before, &after, &[], &BTreeMap::new());
        let kept = found
            .iter()
            .find(|f| f.key == "packages.kept-back")
            .unwrap();
        assert!(!kept.inhibitor);
        assert!(kept.message.contains("1 held"), "{}", kept.message);
        assert_eq!(
            kept.evidence,
            [
                "curl 7.74.0-1.3+deb11u14 (held) kept from bullseye; bookworm has 7.88.1-10+deb12u12",
                "libcurl4 7.74.0-1.3+deb11u14 kept from bullseye; bookworm has 7.88.1-10+deb12u12"
            ]
        );
    }

    #[test]
    fn apts_fetch_errors_join_the_finding_of_their_source() {
        let mut findings = vec![findings::SOURCE_OLD_RELEASE.found_with(
            "web",
            "x".into(),
            "y".into(),
            vec!["/etc/apt/sources.list.d/vendor.list:1: deb [trusted=yes] file:/srv/vendor-repo bullseye main".into()],
        )];
        let log = "Hit:1 http://deb.debian.org/debian bookworm InRelease\n\
Err:2 file:/srv/vendor-repo bullseye Release\n  File not found\n\
E: The repository 'file:/srv/vendor-repo bullseye Release' does not have a Release file.\n\
W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease\n";
        attach_fetch_lines(&mut findings, log);
        assert_eq!(
            &findings[0].evidence[1..],
            [
                "Err:2 file:/srv/vendor-repo bullseye Release",
                "E: The repository 'file:/srv/vendor-repo bullseye Release' does not have a Release file."
            ]
        );
    }

    #[test]
    fn holds_audit_and_unmerged_usr_are_found_before_the_upgrade() {
        let mut before = state(&["mariadb-server"]);
        before.holds = vec!["mariadb-server".into()];
        before.audit = "The following packages are only half configured".into();
        before.merged_usr = false;
        let keys: Vec<(String, bool)> = before_upgrade("db", &before, "bookworm")
            .into_iter()
            .map(|f| (f.key, f.inhibitor))
            .collect();
        assert_eq!(
            keys,
            [
                ("apt.held-packages".into(), true),
                ("dpkg.audit".into(), true),
                ("sandbox.usr-not-merged".into(), false)
            ]
        );
        assert!(before_upgrade("db", &state(&[]), "bookworm").is_empty());
    }

    #[test]
    fn protected_removal_and_stopped_services_inhibit() {
        let mut before = state(&["mariadb-server", "apache2"]);
        before.enabled_services = ["apache2.service".to_string(), "mariadb.service".into()].into();
        before.active_services = before.enabled_services.clone();
        let mut after = state(&["apache2"]);
        after.active_services = ["apache2.service".to_string()].into();
        after.conffile_leftovers = vec!["/etc/mysql/my.cnf.dpkg-dist".into()];
        let found = after_hop(
            "db",
            &before,
            &after,
            &["mariadb-server".into(), "absent".into()],
            &BTreeMap::new(),
        );
        let keys: Vec<&str> = found.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "packages.protected-removed",
                "service.not-running",
                "conffiles.pending"
            ]
        );
        assert_eq!(found[0].evidence, ["mariadb-server"]);
        assert_eq!(found[1].evidence, ["mariadb.service"]);
    }

    #[test]
    fn a_service_replaced_by_its_next_version_is_not_a_failure() {
        let mut before = state(&["php8.2-fpm"]);
        before.enabled_services =
            ["php8.2-fpm.service".to_string(), "sysstat.service".into()].into();
        before.active_services = before.enabled_services.clone();
        let mut after = state(&["php8.4-fpm"]);
        after.known_services = [
            "php8.4-fpm.service".to_string(),
            "sysstat.service".into(),
            "cron.service".into(),
        ]
        .into();
        after.active_services = ["php8.4-fpm.service".to_string()].into();
        after.enabled_services = ["php8.4-fpm.service".to_string(), "cron.service".into()].into();
        before.enabled_services.insert("cron.service".into());
        before.active_services.insert("cron.service".into());
        let found = after_hop("web", &before, &after, &[], &BTreeMap::new());
        let keys: Vec<(&str, bool)> = found
            .iter()
            .map(|f| (f.key.as_str(), f.inhibitor))
            .collect();
        assert_eq!(
            keys,
            [
                ("service.disabled", false),
                ("service.not-running", true),
                ("service.replaced", false)
            ]
        );
        assert_eq!(found[0].evidence, ["sysstat.service"]);
        assert_eq!(found[1].evidence, ["cron.service"]);
        assert_eq!(
            found[2].evidence,
            ["php8.2-fpm.service → php8.4-fpm.service"]
        );
        assert_eq!(unversioned("php8.2-fpm.service"), "php-fpm.service");
    }

    #[test]
    fn a_unit_with_its_file_left_is_disabled_not_removed() {
        // sysstat after bullseye → bookworm: its unit file is there, it is not loaded.
        let mut before = state(&["sysstat"]);
        before.enabled_services =
            ["sysstat.service".to_string(), "getty@tty1.service".into()].into();
        before.active_services = before.enabled_services.clone();
        let mut after = state(&["sysstat"]);
        after.known_services = ["sysstat.service".to_string(), "getty@.service".into()].into();
        after.enabled_services = ["cron.service".to_string()].into();
        let found = after_hop("web", &before, &after, &[], &BTreeMap::new());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].key, "service.disabled");
        assert_eq!(found[0].evidence, ["getty@tty1.service", "sysstat.service"]);
        assert!(unit_exists(&after.known_services, "getty@tty2.service"));
        assert!(!unit_exists(&after.known_services, "rsync.service"));
    }

    #[test]
    fn a_service_gone_with_its_package_and_no_successor_is_reported_as_removed() {
        let mut before = state(&["rsync"]);
        before.enabled_services = ["rsync.service".to_string()].into();
        before.active_services = before.enabled_services.clone();
        let mut after = state(&[]);
        after.known_services = ["cron.service".to_string()].into();
        let found = after_hop("web", &before, &after, &[], &BTreeMap::new());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(
            (found[0].key.as_str(), found[0].inhibitor),
            ("service.removed", false)
        );
        assert_eq!(found[0].evidence, ["rsync.service"]);
    }

    #[test]
    fn apache_config_failure_names_the_directive_and_suggests_require() {
        let output = "### apache\nAH00526: Syntax error on line 12 of /etc/apache2/sites-enabled/000-default.conf:\nInvalid command 'Order', perhaps misspelled or defined by a module not included in the server configuration\nexit=1\n### php_modules\nok /etc/apache2/mods-enabled/php8.2.load /usr/lib/apache2/modules/libphp8.2.so\n";
        let found = stack("web", &sections(output), &state(&["libapache2-mod-php8.2"]));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].key, "apache.configtest-failed");
        assert!(found[0].message.contains("Invalid command 'Order'"));
        assert!(found[0].remediation.contains("Require all granted"));
    }

    #[test]
    fn php_module_left_behind_and_no_handler() {
        let output = "### apache\nSyntax OK\nexit=0\n### php_modules\ndangling /etc/apache2/mods-enabled/php7.4.load\n";
        let found = stack("web", &sections(output), &state(&["libapache2-mod-php8.2"]));
        let keys: Vec<&str> = found.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["php.module-missing", "php.no-handler"]);
    }

    #[test]
    fn mariadb_down_or_not_upgraded() {
        let down = "### mariadb\nactive=failed\nupgrade_info=10.5.26-MariaDB\nserver=/usr/sbin/mariadbd  Ver 10.11.14-MariaDB-0+deb12u2 for debian-linux-gnu\n### mariadb_journal\n[ERROR] Aborting\n";
        let found = stack("db", &sections(down), &state(&[]));
        assert_eq!(found[0].key, "mariadb.not-running");
        assert_eq!(found[0].evidence, ["[ERROR] Aborting"]);
        let stale = down.replace("active=failed", "active=active");
        let found = stack("db", &sections(&stale), &state(&[]));
        assert_eq!(found[0].key, "mariadb.upgrade-needed");
        assert!(
            found[0].message.contains("10.5 but the server is 10.11"),
            "{}",
            found[0].message
        );
        let current = stale.replace("10.5.26", "10.11.14");
        assert!(stack("db", &sections(&current), &state(&[])).is_empty());
    }

    #[test]
    fn postgresql_cluster_left_on_the_old_version() {
        let output = "### postgresql\n13  main    5432 online postgres /var/lib/postgresql/13/main /var/log/postgresql/postgresql-13-main.log\n15  main    5433 online postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log\n### postgresql_installed\n13\n15\n";
        let found = stack("db", &sections(output), &state(&[]));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, "postgresql.old-cluster");
        // Both clusters are shown: the old one serving, the new one empty beside it.
        assert_eq!(found[0].evidence.len(), 2);
        assert!(
            found[0]
                .remediation
                .contains("pg_dropcluster --stop 15 main")
        );
    }

    #[test]
    fn a_service_skipped_for_a_condition_no_container_meets_is_the_replicas_limit() {
        let state = |active: &[&str]| HostState {
            enabled_services: ["ntp.service".to_string()].into(),
            active_services: active.iter().map(|s| s.to_string()).collect(),
            known_services: ["ntp.service".to_string(), "ntpsec.service".to_string()].into(),
            ..HostState::default()
        };
        let (before, after) = (state(&["ntp.service"]), state(&[]));
        let skipped = UnitState::parse(
            "### id\nntpsec.service\n### unmet\nConditionCapability=CAP_SYS_TIME\n",
        );
        let units = BTreeMap::from([("ntp.service".to_string(), skipped)]);
        let found = after_hop("web", &before, &after, &[], &units);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].key, "sandbox.unit-condition-unmet");
        assert_eq!(
            found[0].evidence,
            ["ntp.service (now ntpsec.service): ConditionCapability=CAP_SYS_TIME"]
        );
        // Another condition unmet (a file the upgrade removed) is the host's: not running.
        let real = UnitState::parse("### id\nntp.service\n### unmet\nConditionPathExists=/etc/x\n");
        let units = BTreeMap::from([("ntp.service".to_string(), real)]);
        let found = after_hop("web", &before, &after, &[], &units);
        assert_eq!(found[0].key, "service.not-running");
        // The alias's unit running: replaced, nothing to fix.
        let after = state(&["ntpsec.service"]);
        let renamed = UnitState::parse("### id\nntpsec.service\n### unmet\n");
        let units = BTreeMap::from([("ntp.service".to_string(), renamed)]);
        let found = after_hop("web", &before, &after, &[], &units);
        assert_eq!(found[0].key, "service.replaced");
        assert_eq!(found[0].evidence, ["ntp.service → ntpsec.service"]);
    }
}
