//! `report.html`: one self-contained page (no external assets) for people.

use std::io::{self, Write};

use super::Report;

/// Render the report as a self-contained HTML page.
pub fn render_html(report: &Report, out: &mut impl Write) -> io::Result<()> {
    // Placeholder until the full page lands: the verdict, so the file is never empty.
    writeln!(
        out,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body><h1>{}</h1></body></html>",
        report.scenario,
        report.verdict.as_str()
    )
}
