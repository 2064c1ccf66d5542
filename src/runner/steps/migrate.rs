//! `migrate` step: bring the application to the new host. File trees stream from one
//! container to the other as a tar archive (ownership, modes, contents kept; never
//! whole in memory); databases are dumped on the old host, the dumps streamed the same
//! way, and restored on the new one. Then both sides are compared: every path's type,
//! mode, owner and checksum; every table's row count and a content checksum computed
//! the same way on any server version.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::{StepContext, StepResult};
use crate::engine::Engine;

use super::RunStep;
use crate::scenario::decode_fields;
use crate::scenario::format::{CopiedPaths, DatabaseName, HostRef};
use crate::scenario::{StepInput, StepSpec, two_hosts};
use crate::yaml::Mark;
use crate::yaml::Node;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// Bring the application from one host to another: file trees copied as they are
/// (ownership, modes, contents) and databases dumped and restored, then verified —
/// file checksums equal, table row counts and checksums equal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrateStep {
    #[serde(with = "HostRef")]
    pub from: String,
    #[serde(with = "HostRef")]
    pub to: String,
    /// Absolute paths (directories or files); each replaces the same path on `to`.
    #[serde(default, with = "CopiedPaths")]
    pub files: Vec<String>,
    #[serde(default)]
    pub databases: Vec<DatabaseCopy>,
    /// Compare source and copy afterwards (default); a difference fails the step.
    #[serde(default = "yes")]
    pub verify: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(from = "DatabaseSpec")]
#[schemars(with = "DatabaseSpec")]
pub struct DatabaseCopy {
    pub engine: DatabaseEngine,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseEngine {
    /// MariaDB or MySQL: `mysqldump` and `mysql`.
    Mariadb,
    /// PostgreSQL: `pg_dump -Fc` and `pg_restore`.
    Postgresql,
}

impl DatabaseEngine {
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseEngine::Mariadb => "mariadb",
            DatabaseEngine::Postgresql => "postgresql",
        }
    }
}

/// A `databases` item as written: the engine, then the database's name.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase", rename = "Database")]
enum DatabaseSpec {
    /// A MariaDB or MySQL database (mysqldump, mysql).
    Mariadb(#[serde(with = "DatabaseName")] String),
    /// A PostgreSQL database (pg_dump -Fc, pg_restore).
    Postgresql(#[serde(with = "DatabaseName")] String),
}

impl From<DatabaseSpec> for DatabaseCopy {
    fn from(spec: DatabaseSpec) -> Self {
        let (engine, name) = match spec {
            DatabaseSpec::Mariadb(name) => (DatabaseEngine::Mariadb, name),
            DatabaseSpec::Postgresql(name) => (DatabaseEngine::Postgresql, name),
        };
        DatabaseCopy { engine, name }
    }
}

fn yes() -> bool {
    true
}

impl StepSpec for MigrateStep {
    const KIND: &'static str = "migrate";

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(1800)
    }

    fn derived_name(&self) -> String {
        format!("migrate {} → {}", self.from, self.to)
    }

    fn decode(input: &StepInput<'_>, body: &Spanned<Node>) -> Option<Self> {
        let step: Self = decode_fields(input, body)?;
        if step.files.is_empty() && step.databases.is_empty() {
            input.d.error_with_help(
                Mark::of(body),
                format!("`migrate` of {} copies nothing", input.what),
                "give `files` (absolute paths) or `databases` (e.g. `- mariadb: shop`), or both",
            );
            return None;
        }
        two_hosts(input, body, &step.from, &step.to).then_some(step)
    }
}

impl RunStep for MigrateStep {
    const RISKY: bool = true;
    const MOMENT: bool = true;

    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        run(self, cx).await
    }
}

/// Where dumps wait on both hosts; removed afterwards.
const WORK_DIR: &str = "/var/tmp/rehearse-migrate";
/// Differences shown in the step's detail.
const SHOWN: usize = 5;

/// Lines describing a tree: type, mode, owner and path of every entry, then the
/// checksum of every file. `summary` prints only the line count and a digest.
const MANIFEST: &str = r#"set -e
cd "$(dirname "$1")"
b=$(basename "$1")
manifest() {
  find "$b" -printf '%y %m %u:%g %p -> %l\n' | LC_ALL=C sort
  find "$b" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
}
if [ "$2" = summary ]; then
  echo "$(find "$b" -type f | wc -l) $(manifest | sha256sum | cut -d' ' -f1)"
else
  manifest
fi"#;

/// Each table of a MariaDB database: name, row count, and the sum of the CRC32 of its
/// rows (the same on any server version, whatever the row format).
const MARIADB_TABLES: &str = r#"set -e
db=$1
mysql -N -B -e "SELECT table_name FROM information_schema.tables WHERE table_schema='$db' AND table_type='BASE TABLE' ORDER BY table_name" |
while read -r t; do
  cols=$(mysql -N -B -e "SELECT GROUP_CONCAT(CONCAT('\`', column_name, '\`') ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema='$db' AND table_name='$t'")
  mysql -N -B "$db" -e "SELECT '$t', COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', $cols))), 0) FROM \`$t\`"
done"#;

/// Each table of a PostgreSQL database: name, row count, and the sum of the first 60
/// bits of the MD5 of each row's text (order-free, the same on any server version).
const POSTGRESQL_TABLES: &str = r#"set -e
db=$1
tab=$(printf '\t')
runuser -u postgres -- psql -X -At -F "$tab" -d "$db" -c "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2" |
while IFS="$tab" read -r s t; do
  runuser -u postgres -- psql -X -At -F "$tab" -d "$db" -c "SELECT '$s.$t', count(*), coalesce(sum(('x' || substr(md5(r::text), 1, 15))::bit(60)::bigint), 0) FROM \"$s\".\"$t\" r"
done"#;

pub(super) async fn run<E: Engine>(step: &MigrateStep, cx: &mut StepContext<'_, E>) -> StepResult {
    let outcome = migrate(step, cx).await;
    // Dumps are not left on either host, whatever happened.
    for host in [&step.from, &step.to] {
        if let Some(container) = cx.container(host) {
            let _ = shell(cx, &container, host, "rm -rf \"$1\"", &[WORK_DIR]).await;
        }
    }
    StepResult::from_outcome(outcome)
}

async fn migrate<E: Engine>(
    step: &MigrateStep,
    cx: &mut StepContext<'_, E>,
) -> Result<String, String> {
    let from = cx
        .container(&step.from)
        .ok_or_else(|| format!("host `{}` is not running", step.from))?;
    let to = cx
        .container(&step.to)
        .ok_or_else(|| format!("host `{}` is not running", step.to))?;
    let started = Instant::now();
    let mut copied_bytes = 0u64;

    for path in &step.files {
        cx.progress(format!("copying {path} from {} to {}", step.from, step.to));
        shell(cx, &from, &step.from, "test -e \"$1\"", &[path])
            .await
            .map_err(|_| format!("`{path}` does not exist on `{}`", step.from))?;
        let parent = parent_of(path);
        // The copy replaces the path: files only the new host had would otherwise stay.
        shell(
            cx,
            &to,
            &step.to,
            "rm -rf \"$1\" && mkdir -p \"$2\"",
            &[path, &parent],
        )
        .await?;
        copied_bytes += cx
            .engine
            .copy_path(&from, path, &to, &parent, cx.timeout)
            .await
            .map_err(|e| format!("copying `{path}`: {e}"))?;
    }

    if !step.databases.is_empty() {
        for (container, host) in [(&from, &step.from), (&to, &step.to)] {
            shell(
                cx,
                container,
                host,
                "rm -rf \"$1\" && mkdir -p \"$1\" && chmod 1777 \"$1\"",
                &[WORK_DIR],
            )
            .await?;
        }
        for db in &step.databases {
            cx.progress(format!(
                "dumping {} database `{}` on {}",
                db.engine.as_str(),
                db.name,
                step.from
            ));
            shell(
                cx,
                &from,
                &step.from,
                dump_script(db),
                &[WORK_DIR, &db.name],
            )
            .await
            .map_err(|e| format!("dumping database `{}`: {e}", db.name))?;
        }
        cx.progress(format!("copying the dumps to {}", step.to));
        copied_bytes += cx
            .engine
            .copy_path(
                &from,
                WORK_DIR,
                &to,
                parent_of(WORK_DIR).as_str(),
                cx.timeout,
            )
            .await
            .map_err(|e| format!("copying the dumps: {e}"))?;
        for db in &step.databases {
            cx.progress(format!("restoring database `{}` on {}", db.name, step.to));
            shell(cx, &to, &step.to, restore_script(db), &[WORK_DIR, &db.name])
                .await
                .map_err(|e| format!("restoring database `{}`: {e}", db.name))?;
        }
    }
    let copy_time = started.elapsed();
    let mut summary = format!(
        "copied {} in {:.1} s",
        what_was_copied(step, copied_bytes),
        copy_time.as_secs_f64()
    );
    if !step.verify {
        return Ok(summary);
    }

    cx.progress("verifying the copy".into());
    let mut differences = Vec::new();
    let mut verified = Vec::new();
    for path in &step.files {
        let (files, diff) = compare_tree(cx, step, &from, &to, path).await?;
        differences.extend(diff);
        verified.push(format!("{path}: {files} files"));
    }
    for db in &step.databases {
        let (tables, diff) = compare_database(cx, step, &from, &to, db).await?;
        differences.extend(diff);
        verified.push(format!("`{}`: {tables} tables", db.name));
    }
    if !differences.is_empty() {
        let count = differences.len();
        differences.truncate(SHOWN);
        return Err(format!(
            "{summary}, but the copy differs from `{}` ({count} difference{}; the data may have changed during the copy): {}",
            step.from,
            if count == 1 { "" } else { "s" },
            differences.join("; ")
        ));
    }
    summary.push_str(&format!(
        "; verified equal on both hosts ({})",
        verified.join(", ")
    ));
    Ok(summary)
}

fn what_was_copied(step: &MigrateStep, bytes: u64) -> String {
    let mut parts = Vec::new();
    if !step.files.is_empty() {
        parts.push(format!(
            "{} path{}",
            step.files.len(),
            if step.files.len() == 1 { "" } else { "s" }
        ));
    }
    if !step.databases.is_empty() {
        let names: Vec<String> = step
            .databases
            .iter()
            .map(|db| format!("{} `{}`", db.engine.as_str(), db.name))
            .collect();
        parts.push(format!("database {}", names.join(", ")));
    }
    let size = if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.0} kB", (bytes as f64 / 1e3).ceil())
    };
    format!("{} ({size} streamed)", parts.join(" and "))
}

fn dump_script(db: &DatabaseCopy) -> &'static str {
    match db.engine {
        DatabaseEngine::Mariadb => {
            "mysqldump --single-transaction --routines --triggers --events --databases \"$2\" > \"$1/$2.sql\""
        }
        DatabaseEngine::Postgresql => {
            "runuser -u postgres -- pg_dumpall --globals-only > \"$1/$2.globals.sql\" && runuser -u postgres -- pg_dump -Fc -f \"$1/$2.dump\" \"$2\""
        }
    }
}

fn restore_script(db: &DatabaseCopy) -> &'static str {
    match db.engine {
        DatabaseEngine::Mariadb => "mysql < \"$1/$2.sql\"",
        // Roles first: the dump's objects belong to them. Roles the new server already
        // has are reported by psql and skipped; that is expected.
        DatabaseEngine::Postgresql => {
            "runuser -u postgres -- psql -X -q -f \"$1/$2.globals.sql\" postgres >/dev/null 2>&1; runuser -u postgres -- pg_restore --clean --if-exists --create -d postgres \"$1/$2.dump\""
        }
    }
}

fn parent_of(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) | None => "/".into(),
        Some(at) => trimmed[..at].to_string(),
    }
}

/// Compare a tree on both hosts: returns its file count and the differences.
async fn compare_tree<E: Engine>(
    cx: &mut StepContext<'_, E>,
    step: &MigrateStep,
    from: &str,
    to: &str,
    path: &str,
) -> Result<(u64, Vec<String>), String> {
    let old = shell(cx, from, &step.from, MANIFEST, &[path, "summary"]).await?;
    let new = shell(cx, to, &step.to, MANIFEST, &[path, "summary"]).await?;
    let files = old
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if old.trim() == new.trim() {
        return Ok((files, Vec::new()));
    }
    // Only a tree that differs is listed in full, to say how.
    let old = shell(cx, from, &step.from, MANIFEST, &[path, "full"]).await?;
    let new = shell(cx, to, &step.to, MANIFEST, &[path, "full"]).await?;
    Ok((
        files,
        manifest_differences(&old, &new, &step.from, &step.to),
    ))
}

/// Lines of one manifest missing from the other, as readable differences.
pub fn manifest_differences(old: &str, new: &str, from: &str, to: &str) -> Vec<String> {
    let old: BTreeSet<&str> = old.lines().collect();
    let new: BTreeSet<&str> = new.lines().collect();
    let mut differences: Vec<String> = old
        .difference(&new)
        .map(|line| format!("on `{from}` only: {line}"))
        .collect();
    differences.extend(
        new.difference(&old)
            .map(|line| format!("on `{to}` only: {line}")),
    );
    differences
}

/// Compare a database's tables on both hosts: returns the table count and differences.
async fn compare_database<E: Engine>(
    cx: &mut StepContext<'_, E>,
    step: &MigrateStep,
    from: &str,
    to: &str,
    db: &DatabaseCopy,
) -> Result<(usize, Vec<String>), String> {
    let script = match db.engine {
        DatabaseEngine::Mariadb => MARIADB_TABLES,
        DatabaseEngine::Postgresql => POSTGRESQL_TABLES,
    };
    let old = parse_tables(&shell(cx, from, &step.from, script, &[&db.name]).await?);
    let new = parse_tables(&shell(cx, to, &step.to, script, &[&db.name]).await?);
    Ok((
        old.len(),
        table_differences(&db.name, &old, &new, &step.from, &step.to),
    ))
}

/// Table → (rows, checksum), from `table<TAB>rows<TAB>checksum` lines.
pub fn parse_tables(output: &str) -> BTreeMap<String, (u64, String)> {
    output
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let table = fields.next()?.to_string();
            let rows = fields.next()?.trim().parse().ok()?;
            let checksum = fields.next()?.trim().to_string();
            Some((table, (rows, checksum)))
        })
        .collect()
}

pub fn table_differences(
    db: &str,
    old: &BTreeMap<String, (u64, String)>,
    new: &BTreeMap<String, (u64, String)>,
    from: &str,
    to: &str,
) -> Vec<String> {
    let mut differences = Vec::new();
    for (table, (rows, checksum)) in old {
        match new.get(table) {
            None => differences.push(format!("table `{db}.{table}` is missing on `{to}`")),
            Some((new_rows, _)) if new_rows != rows => differences.push(format!(
                "table `{db}.{table}`: {rows} rows on `{from}`, {new_rows} on `{to}`"
            )),
            Some((_, new_checksum)) if new_checksum != checksum => differences.push(format!(
                "table `{db}.{table}`: same row count ({rows}) but different contents"
            )),
            Some(_) => {}
        }
    }
    for table in new.keys().filter(|t| !old.contains_key(*t)) {
        differences.push(format!("table `{db}.{table}` exists only on `{to}`"));
    }
    differences
}

/// Run a script with arguments (`$1`, `$2`...) in a host; its stdout, or why it failed.
async fn shell<E: Engine>(
    cx: &StepContext<'_, E>,
    container: &str,
    host: &str,
    script: &str,
    args: &[&str],
) -> Result<String, String> {
    let mut argv = vec!["sh".to_string(), "-c".into(), script.into(), "sh".into()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let limit = cx.timeout.max(Duration::from_secs(30));
    let output = cx
        .engine
        .exec(container, &argv, limit)
        .await
        .map_err(|e| format!("on `{host}`: {e}"))?;
    if output.exit_code != 0 {
        return Err(format!(
            "on `{host}`: exit code {}: {}",
            output.exit_code,
            crate::probe::excerpt(&output.stderr, 400)
        ));
    }
    Ok(output.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents() {
        assert_eq!(parent_of("/var/www/html"), "/var/www");
        assert_eq!(parent_of("/var/www/html/"), "/var/www");
        assert_eq!(parent_of("/srv"), "/");
    }

    #[test]
    fn tree_differences_name_the_side() {
        let old = "d 755 root:root html -> \nf 644 www-data:www-data html/a -> \nabc  html/a\n";
        let new = "d 755 root:root html -> \nf 644 root:root html/a -> \nabc  html/a\n";
        assert_eq!(
            manifest_differences(old, new, "old", "new"),
            [
                "on `old` only: f 644 www-data:www-data html/a -> ",
                "on `new` only: f 644 root:root html/a -> "
            ]
        );
    }

    #[test]
    fn table_differences_say_rows_contents_and_missing_tables() {
        let old = parse_tables("items\t500\t123\norders\t1204\t9\nvisits\t3\t7\n");
        let new = parse_tables("items\t500\t124\norders\t1180\t8\nextra\t0\t0\n");
        assert_eq!(
            table_differences("shop", &old, &new, "old", "new"),
            [
                "table `shop.items`: same row count (500) but different contents",
                "table `shop.orders`: 1204 rows on `old`, 1180 on `new`",
                "table `shop.visits` is missing on `new`",
                "table `shop.extra` exists only on `new`",
            ]
        );
    }
}
