//! The gates section: each gate, its value against its limit, failed rows marked.

use std::io::{self, Write};

use super::escape::escape;
use crate::report::GateReport;

/// One row per gate, as the scenario lists them.
pub(super) fn section(gates: &[GateReport], out: &mut impl Write) -> io::Result<()> {
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
            } else {
                "<span class=\"fail\">FAIL</span>"
            },
            gate.value,
            gate.limit,
            escape(&gate.detail)
        )?;
    }
    writeln!(out, "</tbody></table></section>")
}
