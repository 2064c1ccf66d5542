//! The findings section: inhibitors first, then the rest by severity, each as a card
//! with its remediation and folded evidence.

use std::io::{self, Write};

use super::escape::{escape, prose};
use super::words::plural;
use crate::model::Finding;

/// Inhibitors first, then the rest by severity, highest first.
pub(super) fn section(findings: &[Finding], out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "<section id=\"findings\"><h2>Findings</h2>")?;
    if findings.is_empty() {
        writeln!(out, "<p class=\"muted\">No findings.</p>")?;
    }
    let (inhibitors, mut others): (Vec<&Finding>, Vec<&Finding>) =
        findings.iter().partition(|f| f.inhibitor);
    if !inhibitors.is_empty() {
        writeln!(out, "<h3>Inhibitors — each forces NO-GO</h3>")?;
        for finding in inhibitors {
            finding_card(finding, out)?;
        }
    }
    others.sort_by_key(|f| std::cmp::Reverse(f.severity));
    if !others.is_empty() {
        writeln!(out, "<h3>Other findings, by severity</h3>")?;
        for finding in others {
            finding_card(finding, out)?;
        }
    }
    writeln!(out, "</section>")
}

fn finding_card(finding: &Finding, out: &mut impl Write) -> io::Result<()> {
    let severity = finding.severity.as_str();
    let inhibitor = if finding.inhibitor { " inhibitor" } else { "" };
    write!(
        out,
        "<div class=\"finding {severity}{inhibitor}\"><p><span class=\"badge {severity}\">{severity}</span> "
    )?;
    if finding.inhibitor {
        write!(out, "<span class=\"badge inhibitor\">inhibitor</span> ")?;
    }
    write!(out, "<code>{}</code>", escape(&finding.key))?;
    if let Some(host) = &finding.host {
        write!(out, " on <strong>{}</strong>", escape(host))?;
    }
    writeln!(
        out,
        "</p><p>{}</p><p><strong>Remediation:</strong> {}</p>",
        prose(&finding.message),
        prose(&finding.remediation)
    )?;
    if !finding.evidence.is_empty() {
        writeln!(
            out,
            "<details><summary>Evidence ({})</summary><pre>{}</pre></details>",
            plural(finding.evidence.len(), "line"),
            escape(&finding.evidence.join("\n"))
        )?;
    }
    writeln!(out, "</div>")
}
