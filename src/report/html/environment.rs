//! The last sections: where the rehearsal ran (engine, mirror, images) and what a GO
//! does not cover.

use std::io::{self, Write};

use super::escape::escape;
use crate::report::Report;

/// Where the rehearsal ran, and what a GO does not say.
pub(super) fn section(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let env = &report.environment;
    writeln!(
        out,
        "<section id=\"environment\"><h2>Environment</h2><dl class=\"facts\"><dt>engine</dt><dd>Docker {} (API {}{})</dd><dt>cgroup</dt><dd>v{}{}</dd><dt>Debian mirror</dt><dd><code>{}</code></dd><dt>scenario file</dt><dd><code>{}</code></dd><dt>run id</dt><dd><code>{}</code></dd><dt>rehearse</dt><dd>{}</dd>{}</dl>",
        escape(&env.engine_version),
        escape(&env.api_version),
        if env.storage_driver.is_empty() {
            String::new()
        } else {
            format!(", storage <code>{}</code>", escape(&env.storage_driver))
        },
        escape(&env.cgroup_version),
        env.cgroup_risk
            .as_ref()
            .map(|risk| format!(" <strong>not confined: {}</strong>", escape(risk)))
            .unwrap_or_default(),
        escape(&env.mirror),
        escape(&report.scenario_path),
        escape(&report.run_id),
        escape(&report.tool_version),
        report
            .apt_cache
            .filter(|counters| counters.used())
            .map(|counters| format!(
                "<dt>apt cache</dt><dd>{}</dd>",
                escape(&counters.summary_line())
            ))
            .into_iter()
            .chain(report.drill.as_ref().map(|drill| format!(
                "<dt>training drill</dt><dd>{}</dd>",
                escape(&drill.summary_line())
            )))
            .collect::<String>()
    )?;
    if !env.images.is_empty() {
        writeln!(
            out,
            "<table><thead><tr><th>host</th><th>recipe</th><th>image</th><th>content hash</th><th>base</th><th>cached</th></tr></thead><tbody>"
        )?;
        for image in &env.images {
            writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td><code class=\"hash\">{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                escape(&image.host),
                escape(&image.recipe),
                escape(&image.reference),
                escape(&image.content_hash),
                escape(&image.base),
                if image.cached { "yes" } else { "built" }
            )?;
        }
        writeln!(out, "</tbody></table>")?;
    }
    writeln!(
        out,
        "</section>\n<section id=\"not-covered\"><h2>What a GO does not cover</h2><ul>"
    )?;
    for item in &report.not_covered {
        writeln!(out, "<li>{}</li>", escape(item))?;
    }
    writeln!(out, "</ul></section>")
}
