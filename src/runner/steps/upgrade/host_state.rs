//! What an upgrade changes, read off the host in one command: release, packages,
//! holds, dpkg's audit, enabled and running services, leftover conffiles.

use std::collections::{BTreeMap, BTreeSet};

/// A shell script printing each fact under a `### name` header. It avoids
/// `systemctl list-unit-files`, which takes seconds: enabled services are the links in
/// `/etc/systemd/system/*.wants`, known ones those systemd has loaded and those with a
/// unit file (a service disabled and stopped is not loaded, but it still exists).
pub const SNAPSHOT_SCRIPT: &str = r#"
section() { printf '### %s\n' "$1"; }
section codename; (. /etc/os-release; echo "${VERSION_CODENAME:-}")
section debian_version; cat /etc/debian_version
section packages; dpkg-query -W -f '${db:Status-Abbrev}\t${Package}\t${Version}\n'
section holds; apt-mark showhold
section audit; dpkg --audit 2>&1
section enabled; ls /etc/systemd/system/*.wants/ /etc/systemd/system/*.requires/ 2>/dev/null | grep '\.service$' | sort -u
section services; { systemctl list-units --all --type=service --no-legend --plain --no-pager 2>/dev/null | awk '$2 != "not-found" {print $1}'; for d in /etc/systemd/system /run/systemd/system /lib/systemd/system /usr/lib/systemd/system; do ls "$d" 2>/dev/null | grep '\.service$'; done; } | sort -u
section active; systemctl list-units --type=service --state=active --no-legend --plain --no-pager 2>/dev/null | awk '{print $1}'
section merged_usr; if [ -L /bin ] && [ -L /lib ] && [ -L /sbin ]; then echo yes; else echo no; fi
section conffiles; find /etc \( -name '*.dpkg-dist' -o -name '*.dpkg-new' -o -name '*.dpkg-old' -o -name '*.ucf-dist' -o -name '*.ucf-old' -o -name '*.ucf-new' \) 2>/dev/null | sort
section obsolete; apt list --installed 2>/dev/null | grep -E '\[installed,local\]' | cut -d/ -f1
section upgradable; apt list --upgradable 2>/dev/null | grep -F '[upgradable from: '
section programs
programs=$(for unit in $(systemctl list-units --type=service --state=active --no-legend --plain --no-pager 2>/dev/null | awk '{print $1}'); do
  program=$(systemctl show -p ExecStart --value "$unit" 2>/dev/null | sed -n 's/.*path=\([^ ;]*\).*/\1/p' | head -n 1)
  [ -n "$program" ] && echo "$unit $program"
done)
echo "$programs"
section program_owners
echo "$programs" | cut -d' ' -f2 | sort -u | xargs -r dpkg -S 2>/dev/null
true
"#;

/// The sections of a `### name` script output: each header's non-blank lines.
pub fn sections(output: &str) -> BTreeMap<String, Vec<String>> {
    let mut sections: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in output.lines() {
        if let Some(name) = line.strip_prefix("### ") {
            current = name.trim().to_string();
            sections.entry(current.clone()).or_default();
        } else if !current.is_empty() && !line.trim().is_empty() {
            sections
                .entry(current.clone())
                .or_default()
                .push(line.to_string());
        }
    }
    sections
}

/// The facts of one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostState {
    pub codename: String,
    pub debian_version: String,
    /// Installed packages and their versions.
    pub installed: BTreeMap<String, String>,
    /// Packages removed but with configuration files left (`rc`).
    pub config_only: BTreeSet<String>,
    pub holds: Vec<String>,
    /// `dpkg --audit` output: empty when dpkg is consistent.
    pub audit: String,
    pub enabled_services: BTreeSet<String>,
    pub active_services: BTreeSet<String>,
    /// Every service unit the host knows, whatever its state.
    pub known_services: BTreeSet<String>,
    pub merged_usr: bool,
    /// `.dpkg-dist`, `.ucf-dist`... files under /etc.
    pub conffile_leftovers: Vec<String>,
    /// Installed packages no configured source provides any more.
    pub obsolete: Vec<String>,
    /// Installed packages the configured sources have a newer version of.
    pub upgradable: Vec<Upgradable>,
    /// Each running service's program (the first of its `ExecStart`), and the package
    /// that ships it when dpkg knows one.
    pub programs: BTreeMap<String, (String, Option<String>)>,
}

/// A package a newer version of which the configured sources offer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upgradable {
    pub name: String,
    pub installed: String,
    pub candidate: String,
}

impl Upgradable {
    /// One line of `apt list --upgradable`:
    /// `curl/oldstable 7.88.1-10+deb12u12 amd64 [upgradable from: 7.74.0-1.3+deb11u14]`.
    fn parse(line: &str) -> Option<Upgradable> {
        let (head, from) = line.split_once("[upgradable from: ")?;
        let mut fields = head.split_whitespace();
        let name = fields.next()?.split('/').next()?.to_string();
        let candidate = fields.next()?.to_string();
        Some(Upgradable {
            name,
            installed: from.trim_end().trim_end_matches(']').to_string(),
            candidate,
        })
    }
}

impl HostState {
    /// Parse the output of [`SNAPSHOT_SCRIPT`].
    pub fn parse(output: &str) -> HostState {
        let sections = sections(output);
        let lines = |name: &str| sections.get(name).cloned().unwrap_or_default();
        let first = |name: &str| {
            lines(name)
                .first()
                .map(|l| l.trim().to_string())
                .unwrap_or_default()
        };
        let mut state = HostState {
            codename: first("codename"),
            debian_version: first("debian_version"),
            holds: lines("holds")
                .iter()
                .map(|l| l.trim().to_string())
                .collect(),
            audit: lines("audit").join("\n"),
            enabled_services: lines("enabled")
                .iter()
                .map(|l| l.trim().to_string())
                .collect(),
            active_services: lines("active")
                .iter()
                .map(|l| l.trim().to_string())
                .collect(),
            known_services: lines("services")
                .iter()
                .map(|l| l.trim().to_string())
                .collect(),
            merged_usr: first("merged_usr") == "yes",
            conffile_leftovers: lines("conffiles")
                .iter()
                .map(|l| l.trim().to_string())
                .collect(),
            obsolete: lines("obsolete")
                .iter()
                .map(|l| l.trim().to_string())
                .collect(),
            upgradable: lines("upgradable")
                .iter()
                .filter_map(|l| Upgradable::parse(l))
                .collect(),
            ..HostState::default()
        };
        // `dpkg -S` says `package[, other]: /path`.
        let owners: BTreeMap<String, String> = lines("program_owners")
            .iter()
            .filter_map(|l| {
                let (packages, path) = l.split_once(": ")?;
                let first = packages.split(',').next()?.trim();
                let package = first.split(':').next()?.to_string();
                Some((path.trim().to_string(), package))
            })
            .collect();
        for line in lines("programs") {
            if let Some((unit, program)) = line.trim().split_once(' ') {
                let owner = owners.get(program).cloned();
                state
                    .programs
                    .insert(unit.to_string(), (program.to_string(), owner));
            }
        }
        for line in lines("packages") {
            let mut fields = line.split('\t');
            let (Some(status), Some(name), Some(version)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            match status.trim() {
                // Installed, whatever the selection (install, hold).
                s if s.len() >= 2 && &s[1..2] == "i" => {
                    state
                        .installed
                        .insert(name.to_string(), version.to_string());
                }
                "rc" => {
                    state.config_only.insert(name.to_string());
                }
                _ => {}
            }
        }
        state
    }
}

/// How the package set changed between two states.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageDiff {
    pub upgraded: Vec<(String, String, String)>,
    pub added: Vec<(String, String)>,
    pub removed: Vec<(String, String)>,
}

impl PackageDiff {
    pub fn between(before: &HostState, after: &HostState) -> PackageDiff {
        let mut diff = PackageDiff::default();
        for (name, old) in &before.installed {
            match after.installed.get(name) {
                Some(new) if new != old => {
                    diff.upgraded.push((name.clone(), old.clone(), new.clone()))
                }
                Some(_) => {}
                None => diff.removed.push((name.clone(), old.clone())),
            }
        }
        for (name, new) in &after.installed {
            if !before.installed.contains_key(name) {
                diff.added.push((name.clone(), new.clone()));
            }
        }
        diff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upgradable_line_reads_name_and_both_versions() {
        assert_eq!(
            Upgradable::parse(
                "curl/oldstable,oldstable-security 7.88.1-10+deb12u12 amd64 [upgradable from: 7.74.0-1.3+deb11u14]"
            ),
            Some(Upgradable {
                name: "curl".into(),
                installed: "7.74.0-1.3+deb11u14".into(),
                candidate: "7.88.1-10+deb12u12".into(),
            })
        );
        assert_eq!(Upgradable::parse("Listing..."), None);
    }

    #[test]
    fn each_running_services_program_is_read_with_its_package() {
        let state = HostState::parse(
            "### programs\nworker.service /usr/bin/php7.4\nown.service /usr/local/bin/own\n### program_owners\nphp7.4-cli: /usr/bin/php7.4\n",
        );
        assert_eq!(
            state.programs["worker.service"],
            (
                "/usr/bin/php7.4".to_string(),
                Some("php7.4-cli".to_string())
            )
        );
        assert_eq!(state.programs["own.service"].1, None);
    }

    const OUTPUT: &str = "### codename
bullseye
### debian_version
11.11
### packages
ii \tapache2\t2.4.62-1~deb11u1
hi \tmariadb-server\t1:10.5.26-0+deb11u2
rc \tlibapache2-mod-php7.3\t7.3.31-1
un \tnothing\t
### holds
mariadb-server
### audit
### enabled
apache2.service
mariadb.service
### services
apache2.service
mariadb.service
cron.service
### active
apache2.service
### merged_usr
yes
### conffiles
/etc/apache2/apache2.conf.dpkg-dist
### obsolete
";

    #[test]
    fn parses_every_section() {
        let state = HostState::parse(OUTPUT);
        assert_eq!(state.codename, "bullseye");
        assert_eq!(state.debian_version, "11.11");
        assert_eq!(state.installed.len(), 2);
        assert_eq!(state.installed["mariadb-server"], "1:10.5.26-0+deb11u2");
        assert_eq!(
            state.config_only.iter().collect::<Vec<_>>(),
            ["libapache2-mod-php7.3"]
        );
        assert_eq!(state.holds, ["mariadb-server"]);
        assert_eq!(state.audit, "");
        assert!(state.enabled_services.contains("mariadb.service"));
        assert!(!state.active_services.contains("mariadb.service"));
        assert_eq!(state.known_services.len(), 3);
        assert!(state.merged_usr);
        assert_eq!(
            state.conffile_leftovers,
            ["/etc/apache2/apache2.conf.dpkg-dist"]
        );
        assert!(state.obsolete.is_empty());
    }

    #[test]
    fn diff_lists_upgraded_added_and_removed() {
        let before = HostState::parse(OUTPUT);
        let mut after = before.clone();
        after
            .installed
            .insert("apache2".into(), "2.4.65-1~deb12u1".into());
        after.installed.remove("mariadb-server");
        after
            .installed
            .insert("php8.2".into(), "8.2.29-1~deb12u1".into());
        let diff = PackageDiff::between(&before, &after);
        assert_eq!(
            diff.upgraded,
            [(
                "apache2".into(),
                "2.4.62-1~deb11u1".into(),
                "2.4.65-1~deb12u1".into()
            )]
        );
        assert_eq!(diff.added, [("php8.2".into(), "8.2.29-1~deb12u1".into())]);
        assert_eq!(
            diff.removed,
            [("mariadb-server".into(), "1:10.5.26-0+deb11u2".into())]
        );
    }
}
