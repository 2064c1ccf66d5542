//! The layers of `src/` go one way: a module uses only modules below it, and only the
//! CLI writes to the terminal. This test reads the `crate::…` paths of every file and
//! fails on an edge against the order drawn in the contributor chapter, so the order is
//! kept by a test, not a comment.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layer diagram of the contributor chapter, top to bottom: each line of its `text`
/// block under "## Layers" names modules, separated by commas, before a description.
/// A module may use the modules of the lines below its own, and on its own line those
/// to its right.
fn layers() -> Vec<Vec<String>> {
    let chapter =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src/contributing/architecture.md");
    let text = std::fs::read_to_string(&chapter).unwrap();
    let section = &text[text.find("## Layers").expect("a `## Layers` section")..];
    let block = &section[section.find("```text\n").expect("a text block") + "```text\n".len()..];
    let block = &block[..block.find("```").unwrap()];
    block
        .lines()
        .map(|line| {
            // The names end where the description starts: two spaces in a row.
            let names = line.split("  ").next().unwrap();
            names
                .split(',')
                .map(|name| name.trim().to_string())
                .collect()
        })
        .collect()
}

/// Where a module sits in `layers`: its line, then its place on the line.
fn rank(layers: &[Vec<String>], module: &str) -> Option<(usize, usize)> {
    layers.iter().enumerate().find_map(|(line, names)| {
        names
            .iter()
            .position(|name| *name == module)
            .map(|place| (line, place))
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/runner/steps/exec.rs` → `runner`; `src/verdict.rs` → `verdict`.
fn top_module(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_string()
}

/// The text without comments, so doc links and prose do not count as uses, and
/// without its test module: tests use what they test from anywhere (the scenario
/// parser's tests parse with the runner's step kinds), like the files under `tests/`.
fn code_only(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|pair| pair[0].trim() == "#[cfg(test)]" && pair[1].starts_with("mod "))
        .unwrap_or(lines.len());
    lines[..end]
        .iter()
        .map(|line| match line.find("//") {
            // A `//` inside a string literal (a URL) is rare in these files; the
            // module paths checked never follow one on the same line.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a file names through `crate::x` (also `crate::{x, y::z}`).
fn uses(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        // `$crate::` in a macro, or a longer name ending in `crate`.
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn source_files() -> (PathBuf, Vec<PathBuf>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    (src, files)
}

#[test]
fn every_module_uses_only_modules_below_it() {
    let (src, files) = source_files();
    let layers = layers();
    let mut wrong = Vec::new();
    let mut unknown = BTreeSet::new();
    for file in &files {
        let module = top_module(&src, file);
        let test_file = file.file_name().is_some_and(|n| n == "tests.rs")
            || file.components().any(|c| c.as_os_str() == "tests");
        if test_file {
            continue;
        }
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(own) = rank(&layers, &module) else {
            unknown.insert(module);
            continue;
        };
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        for used in uses(&code) {
            if used == module {
                continue;
            }
            match rank(&layers, &used) {
                Some(other) if other > own => {}
                Some(_) => wrong.push(format!(
                    "{}: `{module}` uses `crate::{used}`, which is not below it",
                    file.strip_prefix(&src).unwrap().display()
                )),
                None => {
                    unknown.insert(used);
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules missing from the layer diagram of docs/src/contributing/architecture.md: {unknown:?}"
    );
    assert!(
        wrong.is_empty(),
        "edges against the layer order:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_module_of_the_crate_has_a_layer() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let declared: BTreeSet<&str> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("pub mod "))
        .map(|rest| rest.trim_end_matches(';'))
        .collect();
    let layers = layers();
    let layered: BTreeSet<&str> = layers.iter().flatten().map(String::as_str).collect();
    assert_eq!(declared, layered, "src/lib.rs and the layer order disagree");
}

#[test]
fn the_parser_of_uses_reads_groups_and_skips_comments() {
    let code = code_only(
        "use crate::engine::Engine;\nuse crate::{model::Finding, redact};\n// see crate::cli\n$crate::x\n#[cfg(test)]\nmod tests {\n    use crate::runner;\n}\n",
    );
    let found: Vec<String> = uses(&code).into_iter().collect();
    assert_eq!(found, ["engine", "model", "redact"]);
    let layers = layers();
    assert!(rank(&layers, "cli") < rank(&layers, "engine"));
    assert!(
        rank(&layers, "images") < rank(&layers, "debian"),
        "left uses right on one line"
    );
}

#[test]
fn nothing_but_the_cli_writes_to_the_terminal() {
    let (src, files) = source_files();
    const WRITERS: &[&str] = &[
        "eprintln!",
        "println!",
        "eprint!(",
        "print!(",
        "dbg!(",
        "io::stdout",
        "io::stderr",
        "io::stdin",
        "ProgressDrawTarget::stderr",
        "ProgressDrawTarget::stdout",
        "new_spinner(",
    ];
    let mut wrong = Vec::new();
    for file in &files {
        let module = top_module(&src, file);
        if module == "cli" || module == "main" {
            continue;
        }
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        for (number, line) in code.lines().enumerate() {
            if let Some(writer) = WRITERS.iter().find(|w| line.contains(*w)) {
                wrong.push(format!(
                    "{}:{}: `{writer}` outside the CLI",
                    file.strip_prefix(&src).unwrap().display(),
                    number + 1
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
