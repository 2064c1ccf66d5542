//! Installed packages read from dpkg's and apt's own files (`/var/lib/dpkg/status`,
//! `/var/lib/apt/extended_states`): reading files runs nothing on the host.

use std::collections::HashSet;

use super::bundle::Package;

/// The fields of one stanza (`Key: value` lines; continuation lines are skipped).
fn stanzas(text: &str) -> impl Iterator<Item = Vec<(&str, &str)>> {
    text.split("\n\n").filter_map(|block| {
        let fields: Vec<(&str, &str)> = block
            .lines()
            .filter(|line| !line.starts_with([' ', '\t']))
            .filter_map(|line| line.split_once(':'))
            .map(|(key, value)| (key.trim(), value.trim()))
            .collect();
        (!fields.is_empty()).then_some(fields)
    })
}

fn field<'a>(fields: &[(&str, &'a str)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| *v)
}

/// `(name, architecture)` of the packages apt marked as installed automatically.
pub fn auto_installed(extended_states: &str) -> HashSet<(String, String)> {
    stanzas(extended_states)
        .filter(|f| field(f, "Auto-Installed") == Some("1"))
        .filter_map(|f| {
            Some((
                field(&f, "Package")?.to_string(),
                field(&f, "Architecture").unwrap_or("").to_string(),
            ))
        })
        .collect()
}

/// The installed packages of a dpkg status file, sorted by name and architecture,
/// with apt's manual/auto marks and dpkg's holds.
pub fn installed_packages(status: &str, extended_states: &str) -> Vec<Package> {
    let auto = auto_installed(extended_states);
    let mut packages: Vec<Package> = stanzas(status)
        .filter_map(|f| {
            let state: Vec<&str> = field(&f, "Status")?.split_whitespace().collect();
            if state.get(2) != Some(&"installed") {
                return None;
            }
            let name = field(&f, "Package")?.to_string();
            let architecture = field(&f, "Architecture").unwrap_or("").to_string();
            let is_auto = auto.contains(&(name.clone(), architecture.clone()))
                // apt records `all` packages under the native architecture.
                || auto.iter().any(|(n, _)| *n == name && architecture == "all");
            Some(Package {
                version: field(&f, "Version")?.to_string(),
                manual: !is_auto,
                held: state.first() == Some(&"hold"),
                name,
                architecture,
            })
        })
        .collect();
    packages.sort_by(|a, b| (&a.name, &a.architecture).cmp(&(&b.name, &b.architecture)));
    packages
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "\
Package: apache2
Status: install ok installed
Priority: optional
Architecture: amd64
Version: 2.4.62-1~deb12u2
Description: Apache HTTP Server
 The Apache HTTP Server Project's goal is to build a secure, efficient and
 extensible HTTP server: Package: not-a-field

Package: apache2-data
Status: install ok installed
Architecture: all
Version: 2.4.62-1~deb12u2

Package: mariadb-server
Status: hold ok installed
Architecture: amd64
Version: 1:10.11.11-0+deb12u1

Package: libapache2-mod-php7.4
Status: deinstall ok config-files
Architecture: amd64
Version: 7.4.33-1+deb11u5
";

    const EXTENDED: &str = "\
Package: apache2-data
Architecture: amd64
Auto-Installed: 1

Package: mariadb-server
Architecture: amd64
Auto-Installed: 0
";

    #[test]
    fn installed_packages_with_marks_and_holds() {
        let packages = installed_packages(STATUS, EXTENDED);
        let package = |name: &str, version: &str, arch: &str, manual, held| Package {
            name: name.into(),
            version: version.into(),
            architecture: arch.into(),
            manual,
            held,
        };
        assert_eq!(
            packages,
            [
                package("apache2", "2.4.62-1~deb12u2", "amd64", true, false),
                package("apache2-data", "2.4.62-1~deb12u2", "all", false, false),
                package(
                    "mariadb-server",
                    "1:10.11.11-0+deb12u1",
                    "amd64",
                    true,
                    true
                ),
            ]
        );
    }

    #[test]
    fn no_extended_states_means_everything_is_manual() {
        assert!(installed_packages(STATUS, "").iter().all(|p| p.manual));
    }
}
