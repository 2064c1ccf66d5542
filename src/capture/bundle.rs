//! The capture bundle's `bundle.json`: what `rehearse capture` saw on a host, and what
//! `rehearse import` turns into a recipe and a scenario.
//!
//! The bundle is a gzip'd tar holding `bundle.json`, the captured files under `files/`
//! (their absolute path without the leading `/`) and database dumps under `db/`.

use serde::{Deserialize, Serialize};

/// Bump when a field changes meaning or goes away; new optional fields keep it.
pub const BUNDLE_FORMAT: u32 = 1;

/// Everything a capture collected, except file contents and dumps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// [`BUNDLE_FORMAT`] of the tool that wrote it.
    pub format: u32,
    /// `rehearse` version that captured.
    pub tool_version: String,
    /// When (RFC 3339, UTC).
    pub captured_at: String,
    pub host: HostFacts,
    /// APT source files, verbatim.
    pub apt_sources: Vec<AptSourceFile>,
    pub packages: Vec<Package>,
    pub units: Units,
    pub ports: Vec<ListeningPort>,
    pub web: WebServers,
    /// PHP versions installed (`8.2`), from the packages.
    pub php: Vec<String>,
    pub databases: Vec<DatabaseServer>,
    /// Files captured under the selected `/etc` trees (contents in `files/`).
    pub files: Vec<CapturedFile>,
    /// Files left out, and why.
    pub skipped: Vec<SkippedFile>,
    /// Values replaced by `<redacted>` in captured files.
    pub redactions: Vec<Redaction>,
    /// Whether secrets were redacted (`--no-redact` turns it off).
    pub redacted: bool,
    /// Database dumps taken (contents in `db/`).
    pub dumps: Vec<DatabaseDump>,
    /// What could not be read, for the record.
    pub notes: Vec<String>,
}

/// The host's identity and release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFacts {
    pub hostname: String,
    /// dpkg architecture (`amd64`).
    pub architecture: String,
    /// `/bin`, `/sbin` and `/lib` are links into `/usr`.
    pub usr_merged: bool,
    pub os: OsRelease,
}

/// Fields of `/etc/os-release`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OsRelease {
    pub id: String,
    pub version_id: String,
    pub version_codename: String,
    pub pretty_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AptSourceFile {
    pub path: String,
    pub content: String,
}

/// An installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub architecture: String,
    /// Installed on request (not `Auto-Installed` in apt's extended states).
    pub manual: bool,
    /// dpkg selection `hold`.
    pub held: bool,
}

/// systemd units.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Units {
    /// Enabled units (`apache2.service`), sorted.
    pub enabled: Vec<String>,
    /// Services running at capture time, sorted.
    pub running: Vec<String>,
    /// The package shipping each enabled unit's file, where dpkg knows one (units of
    /// the admin's own, under `/etc/systemd/system`, have none).
    #[serde(default)]
    pub owners: std::collections::BTreeMap<String, String>,
}

/// A TCP socket in the LISTEN state.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ListeningPort {
    pub port: u16,
    /// Local address (`0.0.0.0`, `::`, `127.0.0.1`).
    pub address: String,
    /// The owning process's name, when it could be read.
    pub process: Option<String>,
}

/// Web servers found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WebServers {
    pub apache: Option<WebServer>,
    pub nginx: Option<WebServer>,
}

/// One web server: its package version, modules (Apache) and virtual hosts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WebServer {
    pub version: Option<String>,
    /// Enabled modules (Apache's `mods-enabled/*.load`), sorted.
    pub modules: Vec<String>,
    pub vhosts: Vec<Vhost>,
}

/// A virtual host of a web server's enabled sites.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Vhost {
    /// The file it is defined in.
    pub file: String,
    pub server_name: Option<String>,
    pub aliases: Vec<String>,
    pub port: u16,
    pub tls: bool,
    pub document_root: Option<String>,
}

/// A database server installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseServer {
    /// `mariadb`, `mysql` or `postgresql`.
    pub kind: String,
    pub package: String,
    pub version: String,
    /// PostgreSQL clusters (`15/main`).
    pub clusters: Vec<String>,
}

/// What a captured path is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    File,
    Dir,
    Link,
}

/// A captured path with its metadata; a file's contents are in the bundle at
/// `files/<path without the leading />`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedFile {
    pub path: String,
    pub kind: FileKind,
    /// Permission bits.
    pub mode: u32,
    pub owner: String,
    pub group: String,
    /// Bytes (files only).
    pub size: u64,
    /// A link's target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// A path under a captured tree that was left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedFile {
    pub path: String,
    pub reason: String,
}

/// One value replaced by `<redacted>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    pub file: String,
    /// 1-based.
    pub line: usize,
    pub key: String,
}

/// A database dump in the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseDump {
    /// `mariadb`, `mysql` or `postgresql`.
    pub kind: String,
    /// `schema`, `sample` (with `rows`) or `full`.
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Path in the bundle (`db/mariadb-schema.sql`).
    pub path: String,
    pub size: u64,
}

impl Bundle {
    /// The manual packages, sorted by name.
    pub fn manual_packages(&self) -> impl Iterator<Item = &Package> {
        self.packages.iter().filter(|p| p.manual)
    }
}

/// A small LAMP host's bundle, for tests.
#[cfg(test)]
pub(crate) fn sample_bundle() -> Bundle {
    let package = |name: &str, version: &str, manual: bool| Package {
        name: name.into(),
        version: version.into(),
        architecture: "amd64".into(),
        manual,
        held: false,
    };
    let file = |path: &str, kind: FileKind, mode: u32, target: Option<&str>| CapturedFile {
        path: path.into(),
        kind,
        mode,
        owner: "root".into(),
        group: "root".into(),
        size: 0,
        target: target.map(str::to_string),
    };
    Bundle {
        format: BUNDLE_FORMAT,
        tool_version: "0.1.0".into(),
        captured_at: "2026-11-26T19:00:00Z".into(),
        host: HostFacts {
            hostname: "web1".into(),
            architecture: "amd64".into(),
            usr_merged: true,
            os: OsRelease {
                id: "debian".into(),
                version_id: "12".into(),
                version_codename: "bookworm".into(),
                pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
            },
        },
        apt_sources: vec![AptSourceFile {
            path: "/etc/apt/sources.list.d/debian.sources".into(),
            content: "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n".into(),
        }],
        packages: vec![
            package("apache2", "2.4.62-1~deb12u2", true),
            package("apache2-data", "2.4.62-1~deb12u2", false),
            Package {
                held: true,
                ..package("mariadb-server", "1:10.11.11-0+deb12u1", true)
            },
            package("shop-tools", "1.0", true),
            package("php8.2", "8.2.20-1~deb12u1", true),
        ],
        units: Units {
            enabled: vec!["apache2.service".into(), "mariadb.service".into()],
            running: vec!["apache2.service".into(), "mariadb.service".into()],
            owners: [
                ("apache2.service".to_string(), "apache2".to_string()),
                ("mariadb.service".to_string(), "mariadb-server".to_string()),
            ]
            .into_iter()
            .collect(),
        },
        ports: vec![
            ListeningPort {
                port: 80,
                address: "0.0.0.0".into(),
                process: Some("apache2".into()),
            },
            ListeningPort {
                port: 3306,
                address: "127.0.0.1".into(),
                process: Some("mariadbd".into()),
            },
        ],
        web: WebServers {
            apache: Some(WebServer {
                version: Some("2.4.62-1~deb12u2".into()),
                modules: vec!["php8.2".into(), "rewrite".into()],
                vhosts: vec![Vhost {
                    file: "/etc/apache2/sites-enabled/shop.conf".into(),
                    server_name: Some("shop.example.test".into()),
                    aliases: vec!["www.shop.example.test".into()],
                    port: 80,
                    tls: false,
                    document_root: Some("/var/www/shop".into()),
                }],
            }),
            nginx: None,
        },
        php: vec!["8.2".into()],
        databases: vec![DatabaseServer {
            kind: "mariadb".into(),
            package: "mariadb-server".into(),
            version: "1:10.11.11-0+deb12u1".into(),
            clusters: vec![],
        }],
        files: vec![
            file("/etc/apache2", FileKind::Dir, 0o755, None),
            file("/etc/apache2/sites-available", FileKind::Dir, 0o755, None),
            CapturedFile {
                size: 19,
                ..file(
                    "/etc/apache2/sites-available/shop.conf",
                    FileKind::File,
                    0o644,
                    None,
                )
            },
            file("/etc/apache2/sites-enabled", FileKind::Dir, 0o755, None),
            file(
                "/etc/apache2/sites-enabled/shop.conf",
                FileKind::Link,
                0o777,
                Some("../sites-available/shop.conf"),
            ),
            CapturedFile {
                owner: "root".into(),
                group: "www-data".into(),
                size: 30,
                ..file("/etc/apache2/shop.env", FileKind::File, 0o640, None)
            },
        ],
        skipped: vec![SkippedFile {
            path: "/etc/mysql/debian.cnf".into(),
            reason: "never copied: password file".into(),
        }],
        redactions: vec![Redaction {
            file: "/etc/apache2/shop.env".into(),
            line: 2,
            key: "DB_PASSWORD".into(),
        }],
        redacted: true,
        dumps: vec![],
        notes: vec![],
    }
}
