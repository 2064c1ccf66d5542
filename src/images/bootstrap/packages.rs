//! A suite's `Packages` indexes and the set a minimal Debian system is made of.
//!
//! mmdebstrap's `minbase` is every `Essential: yes` package, `apt`, and every
//! `Priority: required` package, with what they depend on. The first stage needs the
//! packages that make `dpkg` and `apt` work (the essential ones and `apt`, with their
//! dependencies, chosen here the way apt chooses: the first alternative that exists);
//! the rest is then installed by that apt, as mmdebstrap does.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use debversion::Version;

use super::archive::Vouched;

/// One binary package of an index.
#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    pub version: Version,
    pub priority: String,
    pub essential: bool,
    /// `Pre-Depends` then `Depends`: each a list of alternatives.
    pub depends: Vec<Vec<String>>,
    pub provides: Vec<String>,
    /// The mirror it comes from, and its path there.
    pub mirror: String,
    pub filename: String,
    pub vouched: Vouched,
}

impl Package {
    pub fn url(&self) -> String {
        format!("{}/{}", self.mirror.trim_end_matches('/'), self.filename)
    }
}

/// The packages of several indexes (a suite, its updates, its security suite), each
/// at its highest version, as apt would pick it.
#[derive(Debug, Default)]
pub struct Index {
    packages: HashMap<String, Package>,
    /// Virtual package → the real packages that provide it.
    providers: HashMap<String, BTreeSet<String>>,
}

impl Index {
    /// Add the stanzas of one `Packages` file from `mirror` for `arch` (and `all`).
    pub fn add(&mut self, text: &str, mirror: &str, arch: &str) -> Result<(), String> {
        let document: deb822_fast::Deb822 = text.parse().map_err(|e| format!("{e:?}"))?;
        for stanza in document.iter() {
            let field = |name: &str| stanza.get(name).map(str::trim).unwrap_or_default();
            let architecture = field("Architecture");
            if architecture != arch && architecture != "all" {
                continue;
            }
            let (Ok(version), Ok(size)) =
                (field("Version").parse::<Version>(), field("Size").parse())
            else {
                continue;
            };
            let package = Package {
                name: field("Package").to_string(),
                version,
                priority: field("Priority").to_string(),
                essential: field("Essential") == "yes",
                depends: relations(field("Pre-Depends"))
                    .into_iter()
                    .chain(relations(field("Depends")))
                    .collect(),
                provides: relations(field("Provides")).into_iter().flatten().collect(),
                mirror: mirror.to_string(),
                filename: field("Filename").to_string(),
                vouched: Vouched {
                    size,
                    sha256: field("SHA256").to_string(),
                },
            };
            if package.name.is_empty() || package.filename.is_empty() {
                continue;
            }
            let newer = self
                .packages
                .get(&package.name)
                .is_none_or(|known| package.version > known.version);
            if newer {
                for provided in &package.provides {
                    self.providers
                        .entry(provided.clone())
                        .or_default()
                        .insert(package.name.clone());
                }
                self.packages.insert(package.name.clone(), package);
            }
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Package> {
        self.packages.get(name)
    }

    /// Names of the packages that `Essential: yes` marks.
    pub fn essential(&self) -> Vec<String> {
        self.select(|p| p.essential)
    }

    /// Names of the `Priority: required` packages.
    pub fn required(&self) -> Vec<String> {
        self.select(|p| p.priority == "required")
    }

    fn select(&self, keep: impl Fn(&Package) -> bool) -> Vec<String> {
        let mut names: Vec<String> = self
            .packages
            .values()
            .filter(|p| keep(p))
            .map(|p| p.name.clone())
            .collect();
        names.sort();
        names
    }

    /// `seeds` and everything they depend on, by name; an error names what nothing
    /// provides.
    pub fn closure(&self, seeds: &[String]) -> Result<BTreeMap<String, &Package>, String> {
        // Every seed counts as chosen from the start: a dependency one of them
        // satisfies (`usrmerge | usr-is-merged` with `usr-is-merged` asked for) takes it.
        let mut chosen: BTreeMap<String, &Package> = BTreeMap::new();
        for seed in seeds {
            let package = self
                .packages
                .get(seed)
                .ok_or_else(|| format!("no package `{seed}` in the index (asked for)"))?;
            chosen.insert(seed.clone(), package);
        }
        let mut todo: Vec<String> = seeds.to_vec();
        let mut expanded: BTreeSet<String> = BTreeSet::new();
        while let Some(name) = todo.pop() {
            if !expanded.insert(name.clone()) {
                continue;
            }
            let package = chosen[&name];
            for alternatives in &package.depends {
                // Already satisfied by a package chosen (or providing it)?
                let satisfied = alternatives.iter().any(|a| {
                    chosen.contains_key(a)
                        || self
                            .providers
                            .get(a)
                            .is_some_and(|p| p.iter().any(|p| chosen.contains_key(p)))
                });
                if satisfied {
                    continue;
                }
                let pick = alternatives.iter().find_map(|a| self.real_for(a));
                let Some(pick) = pick else {
                    return Err(format!(
                        "nothing in the index satisfies `{}` (needed by `{name}`)",
                        alternatives.join(" | ")
                    ));
                };
                chosen.insert(pick.clone(), &self.packages[&pick]);
                todo.push(pick);
            }
        }
        Ok(chosen)
    }

    /// A real package for `name`: itself, or the provider apt would take (the one of
    /// the highest priority, then the first by name).
    fn real_for(&self, name: &str) -> Option<String> {
        if self.packages.contains_key(name) {
            return Some(name.to_string());
        }
        let providers = self.providers.get(name)?;
        providers
            .iter()
            .filter_map(|p| self.packages.get(p))
            .min_by_key(|p| (priority_rank(&p.priority), p.name.clone()))
            .map(|p| p.name.clone())
    }
}

fn priority_rank(priority: &str) -> u8 {
    match priority {
        "required" => 0,
        "important" => 1,
        "standard" => 2,
        "optional" => 3,
        _ => 4,
    }
}

/// A relation field (`a (>= 1) | b:any, c [amd64]`) as lists of alternative names.
/// Versions are left out: one index holds one version of each package, the highest.
fn relations(field: &str) -> Vec<Vec<String>> {
    field
        .split(',')
        .map(|group| {
            group
                .split('|')
                .filter_map(|alternative| {
                    let name = alternative
                        .trim()
                        .split(|c: char| c.is_whitespace() || c == '(' || c == '[' || c == '<')
                        .next()?;
                    let name = name.split(':').next()?.trim();
                    (!name.is_empty()).then(|| name.to_string())
                })
                .collect::<Vec<_>>()
        })
        .filter(|alternatives| !alternatives.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = "\
Package: dpkg
Version: 1.21.22
Architecture: amd64
Essential: yes
Priority: required
Pre-Depends: libc6 (>= 2.34), tar (>= 1.28-1)
Filename: pool/main/d/dpkg/dpkg_1.21.22_amd64.deb
Size: 10
SHA256: aa

Package: libc6
Version: 2.36-9
Architecture: amd64
Priority: optional
Depends: libgcc-s1
Filename: pool/main/g/glibc/libc6_2.36-9_amd64.deb
Size: 10
SHA256: bb

Package: libgcc-s1
Version: 12.2.0-14
Architecture: amd64
Priority: optional
Filename: pool/main/g/gcc-12/libgcc-s1_12.2.0-14_amd64.deb
Size: 10
SHA256: cc

Package: tar
Version: 1.34
Architecture: amd64
Essential: yes
Priority: required
Depends: awk | gawk
Filename: pool/main/t/tar/tar_1.34_amd64.deb
Size: 10
SHA256: dd

Package: mawk
Version: 1.3.4
Architecture: amd64
Priority: required
Provides: awk
Filename: pool/main/m/mawk/mawk_1.3.4_amd64.deb
Size: 10
SHA256: ee

Package: gawk
Version: 5.2.1
Architecture: amd64
Priority: optional
Provides: awk
Filename: pool/main/g/gawk/gawk_5.2.1_amd64.deb
Size: 10
SHA256: ff

Package: arm-only
Version: 1
Architecture: arm64
Essential: yes
Filename: pool/a.deb
Size: 1
SHA256: 00
";

    #[test]
    fn the_closure_takes_first_alternatives_and_the_required_provider() {
        let mut index = Index::default();
        index.add(INDEX, "http://m/debian", "amd64").unwrap();
        assert_eq!(index.essential(), ["dpkg", "tar"]);
        assert_eq!(index.required(), ["dpkg", "mawk", "tar"]);
        let closure = index.closure(&index.essential()).unwrap();
        assert_eq!(
            closure.keys().collect::<Vec<_>>(),
            ["dpkg", "libc6", "libgcc-s1", "mawk", "tar"]
        );
        assert_eq!(
            closure["dpkg"].url(),
            "http://m/debian/pool/main/d/dpkg/dpkg_1.21.22_amd64.deb"
        );
    }

    #[test]
    fn the_highest_version_across_indexes_wins() {
        let mut index = Index::default();
        index.add(INDEX, "http://m/debian", "amd64").unwrap();
        let update = "Package: libc6\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\n\
                      Filename: pool/updates/libc6.deb\nSize: 11\nSHA256: 11\n";
        index
            .add(update, "http://s/debian-security", "amd64")
            .unwrap();
        let older = "Package: tar\nVersion: 1.30\nArchitecture: amd64\n\
                     Filename: pool/old/tar.deb\nSize: 1\nSHA256: 22\n";
        index
            .add(older, "http://s/debian-security", "amd64")
            .unwrap();
        assert_eq!(
            index.get("libc6").unwrap().url(),
            "http://s/debian-security/pool/updates/libc6.deb"
        );
        assert_eq!(index.get("tar").unwrap().version.to_string(), "1.34");
    }

    #[test]
    fn an_alternative_asked_for_is_taken_over_the_first() {
        let mut index = Index::default();
        index.add(INDEX, "http://m/debian", "amd64").unwrap();
        let closure = index.closure(&["tar".into(), "gawk".into()]).unwrap();
        assert!(closure.contains_key("gawk") && !closure.contains_key("mawk"));
    }

    #[test]
    fn a_missing_dependency_is_named() {
        let mut index = Index::default();
        index
            .add("Package: a\nVersion: 1\nArchitecture: all\nDepends: b | c\nFilename: a.deb\nSize: 1\nSHA256: 0\n", "m", "amd64")
            .unwrap();
        let error = index.closure(&["a".into()]).unwrap_err();
        assert!(
            error.contains("`b | c`") && error.contains("`a`"),
            "{error}"
        );
    }

    #[test]
    fn relations_keep_names_only() {
        assert_eq!(
            relations("libc6 (>= 2.34), awk | gawk:any, foo [amd64] <!nocheck>"),
            vec![
                vec!["libc6".to_string()],
                vec!["awk".into(), "gawk".into()],
                vec!["foo".into()]
            ]
        );
        assert!(relations("").is_empty());
    }
}
