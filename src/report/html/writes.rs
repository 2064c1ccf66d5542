//! A monitor's writes: sent, acknowledged, stored, lost and split, with examples of
//! the lost and split ones, and what could not be measured.

use std::io::{self, Write};

use super::escape::{escape, prose};
use super::words::seconds;
use crate::monitor::{WriteExample, WritesReport};

/// The writes' counts, then the evidence of a loss or a split.
pub(super) fn summary(writes: &WritesReport, out: &mut impl Write) -> io::Result<()> {
    let stored = |n: Option<u64>| n.map_or("not measured".to_string(), |n| n.to_string());
    let class = |n: u64| if n > 0 { "lost" } else { "pass" };
    writeln!(
        out,
        "<h3>Writes</h3><dl class=\"facts\"><dt>sent</dt><dd>{} ({} acknowledged)</dd><dt>stored</dt><dd>{} in the database serving after the move, {} in the old one</dd><dt>lost</dt><dd><span class=\"{}\">{}</span> acknowledged but missing</dd><dt>split</dt><dd><span class=\"{}\">{}</span> reached the old database after the switch{}</dd></dl>",
        writes.sent,
        writes.acknowledged,
        stored(writes.stored),
        stored(writes.stored_old),
        class(writes.lost),
        writes.lost,
        class(writes.split),
        writes.split,
        writes
            .switch_at_ms
            .map_or_else(String::new, |ms| format!(" (at {})", seconds(ms)))
    )?;
    for (what, examples) in [
        ("lost", &writes.lost_examples),
        ("split", &writes.split_examples),
    ] {
        if !examples.is_empty() {
            write_examples(what, examples, out)?;
        }
    }
    if !writes.problems.is_empty() {
        writeln!(out, "<p><strong>Not measured:</strong></p><ul>")?;
        for problem in &writes.problems {
            writeln!(out, "<li>{}</li>", prose(problem))?;
        }
        writeln!(out, "</ul>")?;
    }
    Ok(())
}

fn write_examples(what: &str, examples: &[WriteExample], out: &mut impl Write) -> io::Result<()> {
    // Lost or split writes are the evidence of a NO-GO: shown unfolded.
    writeln!(
        out,
        "<details open><summary>Examples of {what} writes ({})</summary><table><thead><tr><th>token</th><th class=\"num\">sent at</th><th class=\"num\">status</th><th>client resolved to</th><th>served by</th></tr></thead><tbody>",
        examples.len()
    )?;
    for example in examples {
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&example.token),
            seconds(example.sent_at_ms),
            example
                .status
                .map_or("no answer".to_string(), |s| s.to_string()),
            escape(&example.client_host),
            example.served_by.as_deref().map_or(String::new(), escape)
        )?;
    }
    writeln!(out, "</tbody></table></details>")
}
