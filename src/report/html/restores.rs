//! The restores section: for each host lost and restored, the recovery point and the
//! time to restore.

use std::io::{self, Write};

use super::escape::{escape, prose};
use super::words::seconds;
use crate::report::StepReport;

/// Hosts lost and restored: the recovery point (data lost in time, rows and writes)
/// and the time to restore.
pub(super) fn section(steps: &[StepReport], out: &mut impl Write) -> io::Result<()> {
    let restores: Vec<_> = steps
        .iter()
        .filter_map(|s| s.recovery.as_ref().map(|r| (s, r)))
        .collect();
    if restores.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<section id=\"restores\"><h2>Restores</h2><table><thead><tr><th>restore</th><th>host</th><th class=\"num\">backups kept</th><th class=\"num\">last backup before the loss</th><th class=\"num\">rows lost</th><th class=\"num\">writes lost</th><th class=\"num\">restore time</th><th class=\"num\">down for</th></tr></thead><tbody>"
    )?;
    let time = |ms: Option<u64>| ms.map_or("–".to_string(), seconds);
    for (step, r) in &restores {
        let rows = match (r.rows_lost, r.rows_before, r.rows_after) {
            (Some(lost), Some(before), Some(after)) => format!("{lost} ({before} → {after})"),
            _ => "–".to_string(),
        };
        let mut kept = format!("{} on <code>{}</code>", r.backups_taken, escape(&r.from));
        if r.backups_failed > 0 {
            kept.push_str(&format!(", {} failed", r.backups_failed));
        }
        writeln!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{kept}</td><td class=\"num\">{:.1} s</td><td class=\"num\">{rows}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&step.name),
            escape(&r.host),
            r.seconds_since_last_backup,
            r.lost_writes.map_or("–".to_string(), |w| w.to_string()),
            time(r.restore_ms),
            time(r.downtime_ms),
        )?;
    }
    writeln!(out, "</tbody></table>")?;
    for (step, r) in &restores {
        let failed = r.backups.iter().filter_map(|b| {
            b.error
                .as_ref()
                .map(|e| format!("backup {} failed: {e}", b.number))
        });
        for problem in r.problems.iter().cloned().chain(failed) {
            writeln!(
                out,
                "<p class=\"muted\"><code>{}</code>: {}</p>",
                escape(&step.name),
                prose(&problem)
            )?;
        }
    }
    writeln!(out, "</section>")
}
