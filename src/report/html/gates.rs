//! The gates section: each gate, its value against its limit, failed rows marked.

use std::io::{self, Write};

use super::escape::{escape, prose};
use crate::report::GateReport;

/// One row per gate, as the scenario lists them.
/// In an interrupted run the steps gate says so instead of FAIL.
pub(super) fn section(
    gates: &[GateReport],
    interrupted: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(
        out,
        "<section id=\"gates\"><h2>Gates</h2><table><thead><tr><th>gate</th><th>result</th><th class=\"num\">value</th><th class=\"num\">limit</th><th>detail</th></tr></thead><tbody>"
    )?;
    for gate in gates {
        writeln!(
            out,
            "<tr{}><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            if gate.passed { "" } else { " class=\"failed\"" },
            escape(&gate.name),
            if gate.passed {
                "<span class=\"pass\">pass</span>"
            } else if interrupted && gate.name == crate::verdict::STEPS_GATE {
                "<span class=\"allowed\">INTERRUPTED</span>"
            } else {
                "<span class=\"fail\">FAIL</span>"
            },
            escape(&gate.value_text()),
            escape(&gate.limit_text()),
            prose(&gate.detail)
        )?;
    }
    writeln!(out, "</tbody></table></section>")
}
