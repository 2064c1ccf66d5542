//! The book under `docs/` and the README keep their links: every relative link lands on a
//! file that exists and, with `#anchor`, on a heading of it (mdBook's anchor rule), a
//! chapter's links stay inside the book, and `docs/src/SUMMARY.md` lists exactly the
//! chapters there are. No Docker, no mdBook: CI builds the book separately.

use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};

use regex::Regex;

/// The book's sources, relative to the repository root.
const BOOK_SRC: &str = "docs/src";

#[test]
fn every_relative_link_of_the_readme_and_the_book_lands() {
    let problems = check_links(&root());
    assert!(
        problems.is_empty(),
        "{} broken link(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_summary_lists_every_chapter_and_only_chapters_that_exist() {
    let problems = check_summary(&root());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn anchors_follow_mdbooks_rule() {
    let text = "# Checkpoints and `run --from`\n\
                ## What a GO does *not* cover\n\
                ## `junit.xml`\n\
                ## Writers: lost and split writes\n\
                ```sh\n# a comment, not a heading\n```\n\
                ## `junit.xml`\n\
                ### See [the gates](gates.md)\n";
    let found = anchors(text);
    let expected: HashSet<String> = [
        "checkpoints-and-run---from",
        "what-a-go-does-not-cover",
        "junitxml",
        "writers-lost-and-split-writes",
        "junitxml-1",
        "see-the-gates",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(found, expected);
}

#[test]
fn links_in_code_are_not_links() {
    let text = "See [the gates](gates.md#names) and [`upgrade`](steps/upgrade.md).\n\
                `[not](a-link.md)` and ``[nor](this.md)``\n\
                ```yaml\n[neither](in-a-fence.md)\n```\n\
                [ref]: reference.md\n\
                [web](https://example.test/x.md) [mail](mailto:a@b.test)\n";
    let found: Vec<(usize, String)> = links(text);
    assert_eq!(
        found,
        [
            (1, "gates.md#names".to_string()),
            (1, "steps/upgrade.md".to_string()),
            (6, "reference.md".to_string()),
        ]
    );
}

#[test]
fn the_checker_finds_broken_links_and_unlisted_chapters() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join(BOOK_SRC);
    std::fs::create_dir_all(src.join("steps")).unwrap();
    let write = |path: &str, text: &str| std::fs::write(dir.path().join(path), text).unwrap();
    write(
        "README.md",
        "# rehearse\n[ok](docs/src/intro.md#welcome) [gone](docs/src/gone.md) [file](Cargo.toml)\n",
    );
    write("Cargo.toml", "");
    write(
        "docs/src/SUMMARY.md",
        "# Summary\n\n[Intro](intro.md)\n- [Upgrade](steps/upgrade.md)\n- [Missing](missing.md)\n",
    );
    write(
        "docs/src/intro.md",
        "# Welcome\n[up](steps/upgrade.md#findings) [bad](steps/upgrade.md#nope)\n[out](../../Cargo.toml) [self](#welcome) [no](#nowhere)\n",
    );
    write("docs/src/steps/upgrade.md", "# Upgrade\n## Findings\n");
    write("docs/src/stray.md", "# Not in the summary\n");

    let links = check_links(dir.path());
    assert_eq!(
        links,
        [
            "README.md:2: `docs/src/gone.md`: no such file",
            "docs/src/SUMMARY.md:5: `missing.md`: no such file",
            "docs/src/intro.md:2: `steps/upgrade.md#nope`: no heading `nope` in docs/src/steps/upgrade.md",
            "docs/src/intro.md:3: `../../Cargo.toml`: leaves docs/src, which is all the built book holds",
            "docs/src/intro.md:3: `#nowhere`: no heading `nowhere` in docs/src/intro.md",
        ]
    );
    let summary = check_summary(dir.path());
    assert_eq!(
        summary,
        [
            "docs/src/SUMMARY.md: lists `missing.md`, which does not exist",
            "docs/src/stray.md: a chapter not listed in docs/src/SUMMARY.md",
        ]
    );
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `README.md` and every Markdown file of the book, relative to `root`, sorted.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::from("README.md")];
    found.extend(markdown_under(root, Path::new(BOOK_SRC)));
    found.sort();
    found
}

fn markdown_under(root: &Path, dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return found;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let relative = dir.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            found.extend(markdown_under(root, &relative));
        } else if relative.extension().is_some_and(|e| e == "md") {
            found.push(relative);
        }
    }
    found
}

fn read(root: &Path, relative: &Path) -> String {
    std::fs::read_to_string(root.join(relative))
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", relative.display()))
}

/// Every broken relative link, as `file:line: `target`: why`.
fn check_links(root: &Path) -> Vec<String> {
    let book = Path::new(BOOK_SRC);
    let mut anchors_of: BTreeMap<PathBuf, HashSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for document in documents(root) {
        let text = read(root, &document);
        let folder = document.parent().unwrap_or(Path::new(""));
        for (line, target) in links(&text) {
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let resolved = if path.is_empty() {
                document.clone()
            } else {
                match normalize(&folder.join(path)) {
                    Some(resolved) => resolved,
                    None => {
                        problems.push(format!(
                            "{}:{line}: `{target}`: leaves the repository",
                            document.display()
                        ));
                        continue;
                    }
                }
            };
            let problem = if document.starts_with(book) && !resolved.starts_with(book) {
                Some(format!(
                    "leaves {BOOK_SRC}, which is all the built book holds"
                ))
            } else if !root.join(&resolved).exists() {
                Some("no such file".to_string())
            } else {
                anchor.and_then(|anchor| {
                    if resolved.extension().is_none_or(|e| e != "md") {
                        return Some(format!(
                            "an anchor into {}, which has no headings",
                            resolved.display()
                        ));
                    }
                    let known = anchors_of
                        .entry(resolved.clone())
                        .or_insert_with(|| anchors(&read(root, &resolved)));
                    (!known.contains(anchor))
                        .then(|| format!("no heading `{anchor}` in {}", resolved.display()))
                })
            };
            if let Some(problem) = problem {
                problems.push(format!(
                    "{}:{line}: `{target}`: {problem}",
                    document.display()
                ));
            }
        }
    }
    problems
}

/// Chapters not listed in `SUMMARY.md`, and entries of it with no file.
fn check_summary(root: &Path) -> Vec<String> {
    let book = Path::new(BOOK_SRC);
    let summary = book.join("SUMMARY.md");
    let listed: HashSet<PathBuf> = links(&read(root, &summary))
        .into_iter()
        .filter_map(|(_, target)| {
            let path = target.split('#').next().unwrap_or_default();
            if path.is_empty() {
                None
            } else {
                normalize(&book.join(path))
            }
        })
        .collect();
    let chapters: HashSet<PathBuf> = markdown_under(root, book)
        .into_iter()
        .filter(|path| *path != summary)
        .collect();
    let mut problems: Vec<String> = listed
        .iter()
        .filter(|path| !root.join(path).exists())
        .map(|path| {
            format!(
                "{}: lists `{}`, which does not exist",
                summary.display(),
                path.strip_prefix(book).unwrap_or(path).display()
            )
        })
        .collect();
    problems.extend(chapters.difference(&listed).map(|path| {
        format!(
            "{}: a chapter not listed in {}",
            path.display(),
            summary.display()
        )
    }));
    problems.sort();
    problems
}

/// `path` with `.` and `..` resolved without touching the disk; `None` when it climbs
/// above its start.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(part) => parts.push(part),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

/// Lines of `text` outside fenced code blocks, numbered from 1.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"]
            .into_iter()
            .find(|marker| trimmed.starts_with(marker));
        match (fence, marker) {
            (None, Some(marker)) => fence = Some(marker),
            (Some(open), Some(marker)) if open == marker => fence = None,
            (None, None) => lines.push((index + 1, line)),
            _ => {}
        }
    }
    lines
}

/// `line` without its inline code spans (`` `code` ``, ``` ``code`` ```).
fn without_code(line: &str) -> String {
    let mut kept = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        kept.push_str(&rest[..start]);
        let run = rest[start..].chars().take_while(|&c| c == '`').count();
        let after = &rest[start + run..];
        let closing = after.match_indices(&"`".repeat(run)).find(|(at, _)| {
            !after[at + run..].starts_with('`') && (*at == 0 || !after[..*at].ends_with('`'))
        });
        match closing {
            Some((at, _)) => rest = &after[at + run..],
            None => {
                kept.push_str(&rest[start..start + run]);
                rest = after;
            }
        }
    }
    kept.push_str(rest);
    kept
}

/// The relative link targets of a Markdown text, with their line numbers: inline links and
/// images, and reference definitions. Links with a scheme (`https:`, `mailto:`) are left
/// out, and so is whatever is in code.
fn links(text: &str) -> Vec<(usize, String)> {
    let inline = Regex::new(r#"\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)"#).unwrap();
    let definition = Regex::new(r"^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?").unwrap();
    let scheme = Regex::new(r"^[A-Za-z][A-Za-z0-9+.-]*:").unwrap();
    let mut found = Vec::new();
    for (number, line) in prose_lines(text) {
        let line = without_code(line);
        let targets = inline
            .captures_iter(&line)
            .chain(definition.captures_iter(&line))
            .map(|c| c[1].to_string());
        for target in targets {
            if !target.is_empty() && !scheme.is_match(&target) {
                found.push((number, target));
            }
        }
    }
    found
}

/// The anchors mdBook gives a chapter's headings: the heading's text, trimmed and
/// lowercased, letters, digits, `_` and `-` kept, whitespace turned into `-`, the rest
/// dropped; a repeated anchor gets `-1`, `-2`...
fn anchors(text: &str) -> HashSet<String> {
    let heading = Regex::new(r"^#{1,6}\s+(.*?)\s*#*\s*$").unwrap();
    let link = Regex::new(r"!?\[([^\]]*)\]\([^)]*\)").unwrap();
    let mut used = HashSet::new();
    for (_, line) in prose_lines(text) {
        let Some(captures) = heading.captures(line) else {
            continue;
        };
        let shown = link.replace_all(&captures[1], "$1").replace('`', "");
        let id: String = shown
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| {
                if c.is_alphanumeric() || c == '_' || c == '-' {
                    Some(c)
                } else if c.is_whitespace() {
                    Some('-')
                } else {
                    None
                }
            })
            .collect();
        let mut unique = id.clone();
        let mut counter = 1;
        while !used.insert(unique.clone()) {
            unique = format!("{id}-{counter}");
            counter += 1;
        }
    }
    used
}
