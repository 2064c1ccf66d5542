//! `junit.xml`: one test suite per scenario, one test case per step, probe and gate.

use std::io::{self, Write};

use super::Report;

/// Render the report as JUnit XML.
pub fn render_junit(report: &Report, out: &mut impl Write) -> io::Result<()> {
    // Placeholder until the full renderer lands.
    writeln!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><testsuites name=\"{}\"/>",
        report.scenario
    )
}
