//! The package changes section: per `upgrade` step, each hop's Debian versions, times
//! and the packages upgraded, added and removed.

use std::io::{self, Write};

use super::escape::escape;
use super::words::seconds;
use crate::report::{HopReport, StepReport, UpgradeReport};

/// Package changes per hop of every `upgrade` step.
pub(super) fn section(steps: &[StepReport], out: &mut impl Write) -> io::Result<()> {
    let upgrades: Vec<(&StepReport, &UpgradeReport)> = steps
        .iter()
        .filter_map(|s| s.upgrade.as_ref().map(|u| (s, u)))
        .collect();
    if upgrades.is_empty() {
        return Ok(());
    }
    writeln!(out, "<section id=\"packages\"><h2>Package changes</h2>")?;
    for (step, upgrade) in upgrades {
        writeln!(
            out,
            "<h3>{} <span class=\"muted\">· host</span> {} <span class=\"muted\">· target</span> {}</h3>",
            escape(&step.name),
            escape(&upgrade.host),
            escape(&upgrade.target)
        )?;
        for hop in &upgrade.hops {
            hop_section(hop, out)?;
        }
    }
    writeln!(out, "</section>")
}

fn hop_section(hop: &HopReport, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "<p><strong>{} → {}</strong>: Debian {} → {} in {} (apt and dpkg {}, reboot {}) · <strong>{}</strong> upgraded, <strong>{}</strong> added, <strong>{}</strong> removed</p>",
        escape(&hop.from),
        escape(&hop.to),
        escape(&hop.debian_version_before),
        escape(&hop.debian_version_after),
        seconds(hop.duration_ms),
        seconds(hop.apt_ms),
        seconds(hop.reboot_ms),
        hop.upgraded.len(),
        hop.added.len(),
        hop.removed.len()
    )?;
    for (what, packages) in [
        ("upgraded", &hop.upgraded),
        ("added", &hop.added),
        ("removed", &hop.removed),
    ] {
        if packages.is_empty() {
            continue;
        }
        writeln!(
            out,
            "<details><summary>{} {what}</summary><ul class=\"packages\">",
            packages.len()
        )?;
        for package in packages {
            writeln!(out, "<li>{}</li>", escape(package))?;
        }
        writeln!(out, "</ul></details>")?;
    }
    Ok(())
}
