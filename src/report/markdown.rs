//! `report.md`: the report in Markdown, for pull requests and tickets.

use std::io::{self, Write};

use super::Report;

/// Render the report as Markdown.
pub fn render_markdown(report: &Report, out: &mut impl Write) -> io::Result<()> {
    // Placeholder until the full renderer lands.
    writeln!(out, "# {}: {}", report.scenario, report.verdict.as_str())
}
