//! Enabled and running systemd units. Enabled units are read from the `*.wants/`
//! links under `/etc/systemd/system`; running services are asked of systemctl with
//! `list-units`, which only reads.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Units enabled through `/etc/systemd/system/*.wants/` (and `*.requires/`), sorted.
pub fn enabled_units(root: &Path) -> Vec<String> {
    let mut units = Vec::new();
    let Ok(entries) = std::fs::read_dir(root.join("etc/systemd/system")) else {
        return units;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.ends_with(".wants") || name.ends_with(".requires")) {
            continue;
        }
        let Ok(links) = std::fs::read_dir(entry.path()) else {
            continue;
        };
        units.extend(
            links
                .filter_map(Result::ok)
                .map(|link| link.file_name().to_string_lossy().into_owned())
                // rehearse's own, when the captured machine is itself a replica.
                .filter(|unit| unit != crate::engine::keep_etc::UNIT),
        );
    }
    units.sort();
    units.dedup();
    units
}

/// The package whose file list (`/var/lib/dpkg/info/*.list`) holds each unit's file
/// (`getty@tty1.service` is shipped as `getty@.service`).
pub fn unit_owners(root: &Path, units: &[String]) -> BTreeMap<String, String> {
    let file_of = |unit: &str| match unit.split_once('@') {
        Some((stem, rest)) => {
            let suffix = rest.rsplit_once('.').map(|(_, s)| s).unwrap_or("service");
            format!("{stem}@.{suffix}")
        }
        None => unit.to_string(),
    };
    let wanted: BTreeMap<String, Vec<&String>> =
        units.iter().fold(BTreeMap::new(), |mut map, unit| {
            map.entry(file_of(unit)).or_default().push(unit);
            map
        });
    let mut owners = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(root.join("var/lib/dpkg/info")) else {
        return owners;
    };
    let mut lists: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "list"))
        .collect();
    lists.sort();
    for list in lists {
        let Ok(text) = std::fs::read_to_string(&list) else {
            continue;
        };
        let stem = list.file_stem().unwrap_or_default().to_string_lossy();
        let package = stem.split(':').next().unwrap_or(&stem).to_string();
        for line in text.lines() {
            if !line.contains("/systemd/system/") {
                continue;
            }
            let name = line.rsplit('/').next().unwrap_or(line);
            if let Some(units) = wanted.get(name) {
                for unit in units {
                    owners
                        .entry(unit.to_string())
                        .or_insert_with(|| package.clone());
                }
            }
        }
    }
    owners
}

/// The first column of `systemctl list-units` output without its legend.
pub fn parse_unit_list(output: &str) -> Vec<String> {
    let mut units: Vec<String> = output
        .lines()
        .filter_map(|line| {
            line.trim_start_matches(['●', '*', ' '])
                .split_whitespace()
                .next()
        })
        .map(str::to_string)
        .collect();
    units.sort();
    units.dedup();
    units
}

/// Why the running services could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ListUnitsError {
    #[error("cannot run `systemctl list-units`: {0}")]
    Spawn(#[source] std::io::Error),
    /// `systemctl` ran and failed; what it said, trimmed.
    #[error("`systemctl list-units` failed: {stderr}")]
    Failed { stderr: String },
}

/// Services running now, or why they could not be listed.
pub fn running_services() -> Result<Vec<String>, ListUnitsError> {
    let output = Command::new("systemctl")
        .args([
            "list-units",
            "--type=service",
            "--state=running",
            "--no-legend",
            "--no-pager",
            "--plain",
        ])
        .output()
        .map_err(ListUnitsError::Spawn)?;
    if !output.status.success() {
        return Err(ListUnitsError::Failed {
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(parse_unit_list(&String::from_utf8_lossy(&output.stdout)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enabled_units_from_wants_links() {
        let dir = tempfile::tempdir().unwrap();
        let wants = dir
            .path()
            .join("etc/systemd/system/multi-user.target.wants");
        std::fs::create_dir_all(&wants).unwrap();
        let timers = dir.path().join("etc/systemd/system/timers.target.wants");
        std::fs::create_dir_all(&timers).unwrap();
        for (folder, unit) in [
            (&wants, "apache2.service"),
            (&wants, "mariadb.service"),
            (&timers, "apt-daily.timer"),
        ] {
            std::os::unix::fs::symlink(format!("/lib/systemd/system/{unit}"), folder.join(unit))
                .unwrap();
        }
        std::fs::write(dir.path().join("etc/systemd/system/custom.service"), "").unwrap();
        assert_eq!(
            enabled_units(dir.path()),
            ["apache2.service", "apt-daily.timer", "mariadb.service"]
        );
    }

    #[test]
    fn owners_from_dpkg_file_lists() {
        let dir = tempfile::tempdir().unwrap();
        let info = dir.path().join("var/lib/dpkg/info");
        std::fs::create_dir_all(&info).unwrap();
        std::fs::write(
            info.join("apache2.list"),
            "/lib/systemd/system/apache2.service\n/lib/systemd/system/apache2@.service\n",
        )
        .unwrap();
        std::fs::write(
            info.join("util-linux:amd64.list"),
            "/usr/lib/systemd/system/getty@.service\n",
        )
        .unwrap();
        let units = ["apache2.service", "getty@tty1.service", "custom.service"]
            .map(String::from)
            .to_vec();
        let owners: Vec<_> = unit_owners(dir.path(), &units).into_iter().collect();
        assert_eq!(
            owners,
            [
                ("apache2.service".to_string(), "apache2".to_string()),
                ("getty@tty1.service".to_string(), "util-linux".to_string()),
            ]
        );
    }

    #[test]
    fn unit_list_first_column() {
        let output = "apache2.service loaded active running The Apache HTTP Server\n\
● mariadb.service loaded active running MariaDB 10.11.11 database server\n";
        assert_eq!(
            parse_unit_list(output),
            ["apache2.service", "mariadb.service"]
        );
    }
}
