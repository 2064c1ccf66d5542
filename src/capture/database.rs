//! Database servers found in the packages, and their dumps when asked for
//! (`--db-schema`, `--db-sample N`, `--db-dump`). The dump tools only read:
//! `mysqldump --single-transaction --skip-lock-tables` (no locks), `pg_dumpall` and
//! `psql` `COPY (SELECT ...) TO STDOUT`, run as the database's admin user.

use std::path::Path;
use std::process::{Command, Stdio};

use super::bundle::{DatabaseServer, Package};

/// What to dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpMode {
    Schema,
    /// The schema and the first N rows of every table.
    Sample(u64),
    Full,
}

impl DumpMode {
    pub fn name(self) -> &'static str {
        match self {
            DumpMode::Schema => "schema",
            DumpMode::Sample(_) => "sample",
            DumpMode::Full => "full",
        }
    }
}

/// The database servers the packages show, and PostgreSQL's clusters from
/// `/etc/postgresql/<version>/<name>`.
pub fn database_servers(packages: &[Package], root: &Path) -> Vec<DatabaseServer> {
    let mut servers = Vec::new();
    for package in packages {
        let name = package.name.as_str();
        let kind = if name == "mariadb-server" || name.starts_with("mariadb-server-1") {
            "mariadb"
        } else if name == "mysql-server" || name.starts_with("mysql-server-") {
            "mysql"
        } else if name
            .strip_prefix("postgresql-")
            .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
        {
            "postgresql"
        } else {
            continue;
        };
        let clusters = if kind == "postgresql" {
            let major = &name["postgresql-".len()..];
            clusters(root, major)
        } else {
            Vec::new()
        };
        servers.push(DatabaseServer {
            kind: kind.to_string(),
            package: package.name.clone(),
            version: package.version.clone(),
            clusters,
        });
    }
    // `mariadb-server` and `mariadb-server-10.5` are one server: keep the versioned one.
    let versioned: Vec<String> = servers
        .iter()
        .filter(|s| s.package.contains("server-"))
        .map(|s| s.kind.clone())
        .collect();
    servers.retain(|s| s.package.contains("server-") || !versioned.contains(&s.kind));
    servers
}

fn clusters(root: &Path, major: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root.join("etc/postgresql").join(major)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| format!("{major}/{}", e.file_name().to_string_lossy()))
        .collect();
    names.sort();
    names
}

/// PHP versions from `php8.2-*`, `libapache2-mod-php8.2` package names, sorted.
pub fn php_versions(packages: &[Package]) -> Vec<String> {
    let mut versions: Vec<String> = packages
        .iter()
        .filter_map(|p| {
            let rest = p
                .name
                .strip_prefix("libapache2-mod-php")
                .or_else(|| p.name.strip_prefix("php"))?;
            let version: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            (version.contains('.') && version.starts_with(|c: char| c.is_ascii_digit()))
                .then_some(version)
        })
        .collect();
    versions.sort();
    versions.dedup();
    versions
}

/// The command that dumps `kind` in `mode` to standard output.
pub fn dump_command(kind: &str, mode: DumpMode) -> Vec<String> {
    match (kind, mode) {
        ("postgresql", DumpMode::Schema) => strings(&[
            "runuser",
            "-u",
            "postgres",
            "--",
            "pg_dumpall",
            "--schema-only",
        ]),
        ("postgresql", DumpMode::Full) => {
            strings(&["runuser", "-u", "postgres", "--", "pg_dumpall"])
        }
        ("postgresql", DumpMode::Sample(rows)) => {
            // The schema, then the first rows of every table of every database, as COPY
            // blocks (a `COPY (SELECT ...) TO STDOUT` only reads).
            let script = format!(
                "set -e; pg_dumpall --schema-only; \
                 for db in $(psql -XAtc \"SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate\"); do \
                 echo \"\\\\connect $db\"; \
                 for t in $(psql -XAt -d \"$db\" -c \"SELECT quote_ident(schemaname)||'.'||quote_ident(tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema')\"); do \
                 echo \"COPY $t FROM stdin;\"; \
                 psql -qXAt -d \"$db\" -c \"COPY (SELECT * FROM $t LIMIT {rows}) TO STDOUT\"; \
                 echo '\\.'; done; done"
            );
            vec![
                "runuser".into(),
                "-u".into(),
                "postgres".into(),
                "--".into(),
                "sh".into(),
                "-c".into(),
                script,
            ]
        }
        (_, mode) => {
            let mut argv = strings(&[
                "mysqldump",
                "--all-databases",
                "--single-transaction",
                "--skip-lock-tables",
                "--routines",
                "--events",
            ]);
            match mode {
                DumpMode::Schema => argv.push("--no-data".into()),
                DumpMode::Sample(rows) => argv.push(format!("--where=1 LIMIT {rows}")),
                DumpMode::Full => {}
            }
            argv
        }
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Why a database dump was not taken.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("cannot write `{}`: {source}", dest.display())]
    Create {
        dest: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// The command ran and failed; `stderr` is what it said, trimmed.
    #[error("`{command}` failed: {stderr}")]
    Failed { command: String, stderr: String },
}

/// Run a dump command with its output going to `dest`; the error says what failed.
pub fn run_dump(argv: &[String], dest: &Path) -> Result<(), DumpError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    // A dump holds production data: only its owner may read it.
    let create = || {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(dest)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    };
    let file = create().map_err(|source| DumpError::Create {
        dest: dest.to_path_buf(),
        source,
    })?;
    let output = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(Stdio::piped())
        .output()
        .map_err(|source| DumpError::Spawn {
            program: argv[0].clone(),
            source,
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(DumpError::Failed {
            command: argv.join(" "),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, version: &str) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            architecture: "amd64".into(),
            manual: true,
            held: false,
        }
    }

    #[test]
    fn servers_and_php_from_packages() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc/postgresql/15/main")).unwrap();
        let packages = [
            package("libapache2-mod-php8.2", "8.2.28-1~deb12u1"),
            package("mariadb-server", "1:10.11.11-0+deb12u1"),
            package("mariadb-server-10.5", "1:10.5.26-0+deb11u2"),
            package("php-mysql", "2:8.2+93"),
            package("php8.2-mysql", "8.2.28-1~deb12u1"),
            package("postgresql-15", "15.13-0+deb12u1"),
            package("postgresql-common", "248"),
        ];
        assert_eq!(
            database_servers(&packages, dir.path()),
            [
                DatabaseServer {
                    kind: "mariadb".into(),
                    package: "mariadb-server-10.5".into(),
                    version: "1:10.5.26-0+deb11u2".into(),
                    clusters: vec![],
                },
                DatabaseServer {
                    kind: "postgresql".into(),
                    package: "postgresql-15".into(),
                    version: "15.13-0+deb12u1".into(),
                    clusters: vec!["15/main".into()],
                },
            ]
        );
        assert_eq!(php_versions(&packages), ["8.2"]);
    }

    #[test]
    fn dumps_only_read() {
        assert_eq!(
            dump_command("mariadb", DumpMode::Schema).join(" "),
            "mysqldump --all-databases --single-transaction --skip-lock-tables --routines --events --no-data"
        );
        assert_eq!(
            dump_command("postgresql", DumpMode::Schema).join(" "),
            "runuser -u postgres -- pg_dumpall --schema-only"
        );
    }
}
