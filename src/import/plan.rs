//! What an imported recipe and scenario hold, worked out from a bundle (and, when the
//! mirror was asked, the versions it still has), before anything is written.

use std::collections::BTreeSet;

use super::mirror_versions::MirrorVersions;
use crate::capture::bundle::{Bundle, FileKind};

/// The recipe and scenario contents of one import, and what they cannot reproduce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportPlan {
    /// Recipe, scenario and host name.
    pub name: String,
    pub suite: String,
    /// The next Debian release, the scenario's upgrade target.
    pub next_suite: Option<String>,
    /// Recipe `packages`: manual ones first, then those installed as dependencies.
    pub packages: Vec<String>,
    /// Recipe `auto`: listed packages that were installed as dependencies.
    pub auto: Vec<String>,
    pub held: Vec<String>,
    pub enable: Vec<String>,
    /// Recipe `commands`: links the packages add that the host does not have, owners.
    pub commands: Vec<String>,
    /// What the replica will not have as the host has it, one line each.
    pub not_reproduced: Vec<String>,
}

/// A name usable as recipe, scenario and host name: lowercase letters, digits and `-`,
/// starting with a letter, at most 31 characters.
pub fn sanitize_name(raw: &str) -> String {
    let mut name: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    let mut name = name.trim_matches('-').to_string();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name = format!("host-{name}");
    }
    name.truncate(31);
    name.trim_end_matches('-').to_string()
}

/// Shell single quotes.
pub use crate::escape::shell as shell_quote;

impl ImportPlan {
    /// Plan an import; `mirror` is `None` when versions were not checked (then no
    /// version is pinned).
    pub fn new(bundle: &Bundle, name: &str, mirror: Option<&MirrorVersions>) -> Self {
        let suite = bundle.host.os.version_codename.clone();
        let next_suite = crate::debian::release::version_of(&suite)
            .and_then(|v| crate::debian::release::codename_of(v + 1))
            .map(str::to_string);
        let native = &bundle.host.architecture;
        let mut not_reproduced = Vec::new();
        let mut packages = Vec::new();
        let mut auto_listed = Vec::new();
        let mut auto = Vec::new();
        let mut included = BTreeSet::new();
        let mut gone_auto = Vec::new();
        for package in &bundle.packages {
            let pinned = format!("{}={}", package.name, package.version);
            if package.architecture != *native && package.architecture != "all" {
                not_reproduced.push(format!(
                    "package of another architecture: {}:{} {}",
                    package.name, package.architecture, package.version
                ));
                continue;
            }
            match mirror {
                None if package.manual => {
                    packages.push(package.name.clone());
                    included.insert(package.name.clone());
                }
                None => {}
                Some(mirror) if mirror.has(&package.name, &package.version) => {
                    included.insert(package.name.clone());
                    if package.manual {
                        packages.push(pinned);
                    } else {
                        auto_listed.push(pinned);
                        auto.push(package.name.clone());
                    }
                }
                Some(mirror) if mirror.knows(&package.name) => {
                    if package.manual {
                        packages.push(package.name.clone());
                        included.insert(package.name.clone());
                        not_reproduced.push(format!(
                            "version gone from the mirror: {} {} (the mirror's current version is installed)",
                            package.name, package.version
                        ));
                    } else {
                        gone_auto.push(format!("{} {}", package.name, package.version));
                    }
                }
                Some(_) => not_reproduced.push(format!(
                    "not in the Debian mirror (another source, or no longer in Debian): {} {}{}",
                    package.name,
                    package.version,
                    if package.manual {
                        ""
                    } else {
                        " (a dependency)"
                    }
                )),
            }
        }
        if mirror.is_none() {
            not_reproduced.push(
                "versions not checked against the mirror (--no-mirror-check): the manual packages are installed at the mirror's current versions, their dependencies as apt chooses"
                    .into(),
            );
        }
        if !gone_auto.is_empty() {
            not_reproduced.push(format!(
                "dependencies whose version is gone from the mirror (apt chooses): {}",
                gone_auto.join(", ")
            ));
        }
        packages.extend(auto_listed);
        let held = bundle
            .packages
            .iter()
            .filter(|p| p.held && included.contains(&p.name))
            .map(|p| p.name.clone())
            .collect();

        let captured_unit_files: BTreeSet<String> = bundle
            .files
            .iter()
            .filter(|f| f.kind == FileKind::File)
            .filter_map(|f| f.path.strip_prefix("/etc/systemd/system/"))
            .map(str::to_string)
            .collect();
        let mut enable = Vec::new();
        for unit in &bundle.units.enabled {
            // Its package is installed on the replica: by the recipe, or as part of the
            // suite's base image (`dpkg`'s and `e2fsprogs`' timers).
            let owned = bundle.units.owners.get(unit).is_some_and(|package| {
                included.contains(package) || mirror.is_some_and(|m| m.in_base(package))
            });
            if owned || captured_unit_files.contains(unit) {
                enable.push(unit.clone());
            } else {
                not_reproduced.push(format!(
                    "enabled unit left out of `enable`: {unit} ({})",
                    match bundle.units.owners.get(unit) {
                        Some(package) => format!("its package `{package}` is not installed"),
                        None => "no package or captured file ships it".to_string(),
                    }
                ));
            }
        }

        let mut commands = Vec::new();
        // A `*-enabled` folder holds exactly what the host enables: links the packages
        // add by default (Apache's `000-default.conf`) go, the captured ones stay.
        for dir in bundle
            .files
            .iter()
            .filter(|f| f.kind == FileKind::Dir && f.path.ends_with("-enabled"))
        {
            let keep: Vec<String> = bundle
                .files
                .iter()
                .filter(|f| {
                    f.path
                        .strip_prefix(&format!("{}/", dir.path))
                        .is_some_and(|rest| !rest.contains('/'))
                })
                .map(|f| {
                    format!(
                        "! -name {}",
                        shell_quote(f.path.rsplit('/').next().unwrap_or(""))
                    )
                })
                .collect();
            let mut command = format!(
                "find {} -mindepth 1 -maxdepth 1 -type l",
                shell_quote(&dir.path)
            );
            for clause in keep {
                command.push(' ');
                command.push_str(&clause);
            }
            command.push_str(" -delete");
            commands.push(command);
        }
        for file in &bundle.files {
            if file.kind != FileKind::Link && (file.owner != "root" || file.group != "root") {
                commands.push(format!(
                    "chown {}:{} {}",
                    file.owner,
                    file.group,
                    shell_quote(&file.path)
                ));
            }
        }

        for skipped in &bundle.skipped {
            not_reproduced.push(format!(
                "file not captured: {} ({})",
                skipped.path, skipped.reason
            ));
        }
        for redaction in &bundle.redactions {
            not_reproduced.push(format!(
                "value redacted: {} line {} (`{}`): set it in the replica yourself",
                redaction.file, redaction.line, redaction.key
            ));
        }
        for database in &bundle.databases {
            let dumped: Vec<&str> = bundle
                .dumps
                .iter()
                .filter(|d| d.kind == database.kind)
                .map(|d| d.path.as_str())
                .collect();
            not_reproduced.push(if dumped.is_empty() {
                format!(
                    "database data: {} {} not captured (capture with --db-schema, --db-sample N or --db-dump)",
                    database.kind, database.version
                )
            } else {
                format!(
                    "database data: {} {} is in the bundle ({}) but not loaded; load it with an `exec` step",
                    database.kind,
                    database.version,
                    dumped.join(", ")
                )
            });
        }
        let foreign_sources: Vec<&str> = bundle
            .apt_sources
            .iter()
            .filter(|s| {
                s.content.lines().any(|line| {
                    let line = line.trim();
                    (line.starts_with("deb") || line.starts_with("URIs:"))
                        && !line.contains("debian.org")
                })
            })
            .map(|s| s.path.as_str())
            .collect();
        if !foreign_sources.is_empty() {
            not_reproduced.push(format!(
                "APT sources outside debian.org not configured in the replica: {}",
                foreign_sources.join(", ")
            ));
        }
        if !bundle.host.usr_merged {
            not_reproduced.push(
                "the host's /usr is not merged, the replica's is: the real upgrade needs the `usrmerge` conversion, the replica does not show it"
                    .into(),
            );
        }
        if next_suite.is_none() {
            not_reproduced.push(format!(
                "no Debian release after `{suite}` is known: the scenario has no upgrade step"
            ));
        }
        ImportPlan {
            name: name.to_string(),
            suite,
            next_suite,
            packages,
            auto,
            held,
            enable,
            commands,
            not_reproduced,
        }
    }
}
