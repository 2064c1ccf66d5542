//! The text of an imported `recipe.yaml`: a comment block with what the replica does
//! not reproduce, then the recipe.

use super::plan::ImportPlan;
use crate::capture::bundle::Bundle;

/// A YAML double-quoted scalar (JSON strings are valid YAML).
pub fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("strings always serialize")
}

/// `# ` before each line of a comment block. Text from the bundle cannot end the
/// comment: a newline or any other control character in it is written escaped.
pub fn comment_block(out: &mut String, lines: &[String]) {
    for line in lines {
        let line = crate::escape::controls(line);
        out.push_str(&format!("# {line}\n").replace("# \n", "#\n"));
    }
}

fn list(out: &mut String, key: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    out.push_str(&format!("{key}:\n"));
    for item in items {
        out.push_str(&format!("  - {}\n", quoted(item)));
    }
}

/// The lines of the "not reproduced" block, shared by the recipe and the terminal.
pub fn not_reproduced_lines(plan: &ImportPlan) -> Vec<String> {
    if plan.not_reproduced.is_empty() {
        return vec!["Not reproduced: nothing known.".into()];
    }
    let mut lines = vec!["Not reproduced by this replica:".to_string()];
    lines.extend(plan.not_reproduced.iter().map(|line| format!("- {line}")));
    lines
}

/// The recipe text.
pub fn recipe_text(bundle: &Bundle, plan: &ImportPlan) -> String {
    let mut out = String::new();
    let mut header = vec![
        format!(
            "Imported by `rehearse import` from the capture of `{}` ({}, {}, captured {}).",
            bundle.host.hostname,
            bundle.host.os.pretty_name,
            bundle.host.architecture,
            bundle.captured_at
        ),
        format!(
            "{} packages pinned to the captured versions the mirror still has; the captured /etc trees are in `files/`.",
            plan.packages.iter().filter(|p| p.contains('=')).count()
        ),
        String::new(),
    ];
    header.extend(not_reproduced_lines(plan));
    comment_block(&mut out, &header);
    out.push_str(&format!(
        "description: {}\n",
        quoted(&format!(
            "Imported from {} ({})",
            bundle.host.hostname, bundle.host.os.pretty_name
        ))
    ));
    out.push_str(&format!("suite: {}\n", plan.suite));
    list(&mut out, "packages", &plan.packages);
    list(&mut out, "auto", &plan.auto);
    list(&mut out, "held", &plan.held);
    if !bundle.files.is_empty() {
        out.push_str("overlay: files\n");
    }
    list(&mut out, "commands", &plan.commands);
    list(&mut out, "enable", &plan.enable);
    out
}
