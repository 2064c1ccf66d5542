//! What the probes saw: the table of each probe over the whole run, and one check's
//! evidence (summary, status, then the body or output it got back).

use std::io::{self, Write};

use super::escape::escape;
use crate::probe::Evidence;
use crate::report::ProbeReport;

/// Each probe over the run: its failed checks and attempts, and its last failure.
/// Nothing when the scenario has no probe.
pub(super) fn table(probes: &[ProbeReport], out: &mut impl Write) -> io::Result<()> {
    if probes.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<h3>Probes over the run</h3><table><thead><tr><th>probe</th><th>kind</th><th>host</th><th class=\"num\">checks failed</th><th class=\"num\">attempts failed</th><th>last failure</th></tr></thead><tbody>"
    )?;
    for probe in probes {
        writeln!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{} of {}</td><td class=\"num\">{} of {}</td><td>{}</td></tr>",
            escape(&probe.name),
            escape(&probe.kind),
            escape(&probe.host),
            probe.failed_checks,
            probe.checks,
            probe.failures,
            probe.attempts,
            probe
                .last_failure
                .as_ref()
                .map_or_else(String::new, |e| escape(&e.summary))
        )?;
    }
    writeln!(out, "</tbody></table>")
}

/// A check's evidence: the summary line, then what came back, preformatted.
pub(super) fn evidence(evidence: &Evidence, out: &mut impl Write) -> io::Result<()> {
    write!(out, "<p class=\"mono\">{}", escape(&evidence.summary))?;
    if let Some(status) = evidence.status {
        write!(out, " · HTTP {status}")?;
    }
    if let Some(code) = evidence.exit_code {
        write!(out, " · exit code {code}")?;
    }
    writeln!(out, "</p>")?;
    for text in [&evidence.body_excerpt, &evidence.output]
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
    {
        writeln!(out, "<pre>{}</pre>", escape(text))?;
    }
    Ok(())
}
