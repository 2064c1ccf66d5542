//! APT sources: rewriting a release's entries for the next release, in both formats
//! (one-line `sources.list` and deb822 `.sources`). Pure text in, text out.
//!
//! Debian's own entries (on a `debian.org` host or on a mirror the scenario names) are
//! moved to the target release, with the security suite renamed where it changed and
//! `non-free-firmware` added where `non-free` is used. Third-party entries are left as
//! they are and reported: their vendor decides whether a repository for the new
//! release exists.

use super::release::{has_non_free_firmware, security_suite};

/// Mirrors to point Debian's entries at while rewriting (e.g. leaving archive.debian.org
/// when upgrading from buster). `None` keeps each entry's URI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorOverride {
    pub mirror: Option<String>,
    pub security_mirror: Option<String>,
}

/// One entry that still names the old release after the rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftEntry {
    pub line: usize,
    pub text: String,
}

/// The result of rewriting one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    pub text: String,
    /// Entries that were changed, as `old → new` lines.
    pub changes: Vec<String>,
    /// How many entries (one-line entries or deb822 stanzas) were moved to the new release.
    pub entries: usize,
    /// Third-party entries still on the old release.
    pub left: Vec<LeftEntry>,
}

/// How a suite of the old release maps to the new one; `None` when it is not the old
/// release's.
fn map_suite(suite: &str, from: &str, to: &str) -> Option<(String, bool)> {
    if suite == from {
        return Some((to.to_string(), false));
    }
    if suite == format!("{from}/updates") || suite == format!("{from}-security") {
        return Some((security_suite(to), true));
    }
    for tail in ["-updates", "-backports", "-proposed-updates"] {
        if suite == format!("{from}{tail}") {
            return Some((format!("{to}{tail}"), false));
        }
    }
    None
}

fn is_debian_uri(uri: &str, mirrors: &MirrorOverride, known: &[&str]) -> bool {
    let host = uri
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    let host = host.split('@').next_back().unwrap_or(host);
    let host = host.split(':').next().unwrap_or(host);
    host == "debian.org"
        || host.ends_with(".debian.org")
        || [
            mirrors.mirror.as_deref(),
            mirrors.security_mirror.as_deref(),
        ]
        .into_iter()
        .flatten()
        .chain(known.iter().copied())
        .any(|m| uri.trim_end_matches('/') == m.trim_end_matches('/'))
}

fn add_firmware(components: &mut Vec<String>, to: &str) -> bool {
    if has_non_free_firmware(to)
        && components.iter().any(|c| c == "non-free")
        && !components.iter().any(|c| c == "non-free-firmware")
    {
        components.push("non-free-firmware".into());
        return true;
    }
    false
}

/// Rewrite a one-line-format file (`sources.list`, `*.list`).
/// `known_mirrors` are extra URIs that count as Debian's own (the run's mirrors).
pub fn rewrite_list(
    text: &str,
    from: &str,
    to: &str,
    mirrors: &MirrorOverride,
    known_mirrors: &[&str],
) -> Rewrite {
    rewrite_list_first(text, from, to, mirrors, known_mirrors, usize::MAX)
}

/// Like [`rewrite_list`], moving only the first `limit` Debian entries: the others stay
/// on `from`, as after a rewrite cut short.
pub fn rewrite_list_first(
    text: &str,
    from: &str,
    to: &str,
    mirrors: &MirrorOverride,
    known_mirrors: &[&str],
    limit: usize,
) -> Rewrite {
    let mut out = Vec::new();
    let mut changes = Vec::new();
    let mut left = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let Some(entry) = OneLine::parse(line) else {
            out.push(line.to_string());
            continue;
        };
        let Some((new_suite, security)) = map_suite(&entry.suite, from, to) else {
            out.push(line.to_string());
            continue;
        };
        if !is_debian_uri(&entry.uri, mirrors, known_mirrors) {
            left.push(LeftEntry {
                line: index + 1,
                text: line.trim().to_string(),
            });
            out.push(line.to_string());
            continue;
        }
        if changes.len() == limit {
            out.push(line.to_string());
            continue;
        }
        let mut new = entry.clone();
        new.suite = new_suite;
        let override_uri = if security {
            &mirrors.security_mirror
        } else {
            &mirrors.mirror
        };
        if let Some(uri) = override_uri {
            new.uri = uri.clone();
        }
        add_firmware(&mut new.components, to);
        let rendered = new.render();
        changes.push(format!("{} → {}", line.trim(), rendered));
        out.push(rendered);
    }
    Rewrite {
        text: join_lines(out, text),
        entries: changes.len(),
        changes,
        left,
    }
}

/// Keep the file's final newline (or its absence).
fn join_lines(lines: Vec<String>, original: &str) -> String {
    let mut text = lines.join("\n");
    if original.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// `deb [options] URI SUITE COMPONENTS...`
#[derive(Debug, Clone, PartialEq, Eq)]
struct OneLine {
    kind: String,
    options: Option<String>,
    uri: String,
    suite: String,
    components: Vec<String>,
    comment: Option<String>,
}

impl OneLine {
    fn parse(line: &str) -> Option<OneLine> {
        let (body, comment) = match line.split_once('#') {
            Some((body, comment)) => (body, Some(comment.to_string())),
            None => (line, None),
        };
        let body = body.trim();
        let (kind, rest) = body.split_once(char::is_whitespace)?;
        if kind != "deb" && kind != "deb-src" {
            return None;
        }
        let rest = rest.trim_start();
        let (options, rest) = if let Some(stripped) = rest.strip_prefix('[') {
            let (options, rest) = stripped.split_once(']')?;
            (Some(options.trim().to_string()), rest.trim_start())
        } else {
            (None, rest)
        };
        let mut words = rest.split_whitespace();
        let uri = words.next()?.to_string();
        let suite = words.next()?.to_string();
        Some(OneLine {
            kind: kind.to_string(),
            options,
            uri,
            suite,
            components: words.map(str::to_string).collect(),
            comment,
        })
    }

    fn render(&self) -> String {
        let mut text = self.kind.clone();
        if let Some(options) = &self.options {
            text.push_str(&format!(" [{options}]"));
        }
        text.push_str(&format!(" {} {}", self.uri, self.suite));
        for component in &self.components {
            text.push(' ');
            text.push_str(component);
        }
        if let Some(comment) = &self.comment {
            text.push_str(&format!(" #{comment}"));
        }
        text
    }
}

/// Rewrite a deb822-format file (`*.sources`).
pub fn rewrite_deb822(
    text: &str,
    from: &str,
    to: &str,
    mirrors: &MirrorOverride,
    known_mirrors: &[&str],
) -> Rewrite {
    rewrite_deb822_first(text, from, to, mirrors, known_mirrors, usize::MAX)
}

/// Like [`rewrite_deb822`], moving only the first `limit` Debian stanzas.
pub fn rewrite_deb822_first(
    text: &str,
    from: &str,
    to: &str,
    mirrors: &MirrorOverride,
    known_mirrors: &[&str],
    limit: usize,
) -> Rewrite {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let mut changes = Vec::new();
    let mut left = Vec::new();
    let mut entries = 0;
    // Stanzas are runs of non-blank lines.
    let mut start = 0;
    while start < lines.len() && entries < limit {
        if lines[start].trim().is_empty() {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < lines.len() && !lines[end].trim().is_empty() {
            end += 1;
        }
        entries += usize::from(rewrite_stanza(
            &lines,
            start,
            end,
            from,
            to,
            mirrors,
            known_mirrors,
            &mut out,
            &mut changes,
            &mut left,
        ));
        start = end;
    }
    Rewrite {
        text: join_lines(out, text),
        changes,
        entries,
        left,
    }
}

fn field<'a>(lines: &[&'a str], start: usize, end: usize, name: &str) -> Option<(usize, &'a str)> {
    (start..end).find_map(|i| {
        let (key, value) = lines[i].split_once(':')?;
        (key.trim().eq_ignore_ascii_case(name)).then(|| (i, value.trim()))
    })
}

#[allow(clippy::too_many_arguments)]
fn rewrite_stanza(
    lines: &[&str],
    start: usize,
    end: usize,
    from: &str,
    to: &str,
    mirrors: &MirrorOverride,
    known_mirrors: &[&str],
    out: &mut [String],
    changes: &mut Vec<String>,
    left: &mut Vec<LeftEntry>,
) -> bool {
    let Some((suites_line, suites)) = field(lines, start, end, "Suites") else {
        return false;
    };
    let mapped: Vec<Option<(String, bool)>> = suites
        .split_whitespace()
        .map(|s| map_suite(s, from, to))
        .collect();
    if mapped.iter().all(Option::is_none) {
        return false;
    }
    let uris = field(lines, start, end, "URIs");
    let debian = uris.is_some_and(|(_, u)| {
        u.split_whitespace()
            .all(|uri| is_debian_uri(uri, mirrors, known_mirrors))
    });
    if !debian {
        left.push(LeftEntry {
            line: suites_line + 1,
            text: lines[start..end].join(" | "),
        });
        return false;
    }
    let new_suites: Vec<String> = suites
        .split_whitespace()
        .zip(&mapped)
        .map(|(old, new)| new.as_ref().map_or(old.to_string(), |(s, _)| s.clone()))
        .collect();
    let security = mapped.iter().flatten().any(|(_, security)| *security);
    out[suites_line] = format!("Suites: {}", new_suites.join(" "));
    changes.push(format!(
        "Suites: {suites} → Suites: {}",
        new_suites.join(" ")
    ));
    let override_uri = if security {
        &mirrors.security_mirror
    } else {
        &mirrors.mirror
    };
    if let (Some(uri), Some((uris_line, old))) = (override_uri, uris) {
        out[uris_line] = format!("URIs: {uri}");
        changes.push(format!("URIs: {old} → URIs: {uri}"));
    }
    if let Some((components_line, components)) = field(lines, start, end, "Components") {
        let mut list: Vec<String> = components.split_whitespace().map(str::to_string).collect();
        if add_firmware(&mut list, to) {
            out[components_line] = format!("Components: {}", list.join(" "));
            changes.push(format!(
                "Components: {components} → Components: {}",
                list.join(" ")
            ));
        }
    }
    true
}

/// Entries naming a security suite the way releases before bullseye did
/// (`<codename>/updates`) on a release that no longer has it: they fetch nothing.
pub fn stale_security_entries(text: &str, codename: &str) -> Vec<LeftEntry> {
    let stale = format!("{codename}/updates");
    if security_suite(codename) == stale {
        return Vec::new();
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let body = line.split('#').next().unwrap_or("");
            body.split_whitespace().any(|word| word == stale)
        })
        .map(|(index, line)| LeftEntry {
            line: index + 1,
            text: line.trim().to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "\
# Main mirror
deb http://deb.debian.org/debian bullseye main contrib non-free
deb-src http://deb.debian.org/debian bullseye main
deb http://deb.debian.org/debian bullseye-updates main
deb http://security.debian.org/debian-security bullseye-security main
deb [arch=amd64 signed-by=/usr/share/keyrings/sury.gpg] https://packages.sury.org/php/ bullseye main
deb http://deb.debian.org/debian bullseye-backports main # for newer kernels
";

    #[test]
    fn one_line_entries_move_to_the_next_release() {
        let r = rewrite_list(
            LIST,
            "bullseye",
            "bookworm",
            &MirrorOverride::default(),
            &[],
        );
        assert_eq!(
            r.text,
            "\
# Main mirror
deb http://deb.debian.org/debian bookworm main contrib non-free non-free-firmware
deb-src http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://security.debian.org/debian-security bookworm-security main
deb [arch=amd64 signed-by=/usr/share/keyrings/sury.gpg] https://packages.sury.org/php/ bullseye main
deb http://deb.debian.org/debian bookworm-backports main # for newer kernels
"
        );
        assert_eq!(r.changes.len(), 5);
        assert_eq!(
            r.left,
            [LeftEntry {
                line: 6,
                text: LIST.lines().nth(5).unwrap().into()
            }]
        );
    }

    #[test]
    fn buster_security_naming_and_archive_mirror_are_replaced() {
        let text = "deb http://archive.debian.org/debian buster main\n\
                    deb http://archive.debian.org/debian-security buster/updates main\n";
        let mirrors = MirrorOverride {
            mirror: Some("http://deb.debian.org/debian".into()),
            security_mirror: Some("http://deb.debian.org/debian-security".into()),
        };
        let r = rewrite_list(text, "buster", "bullseye", &mirrors, &[]);
        assert_eq!(
            r.text,
            "deb http://deb.debian.org/debian bullseye main\n\
             deb http://deb.debian.org/debian-security bullseye-security main\n"
        );
    }

    #[test]
    fn a_named_mirror_counts_as_debian() {
        let text = "deb http://mirror.example.net/debian bullseye main\n";
        let r = rewrite_list(
            text,
            "bullseye",
            "bookworm",
            &MirrorOverride::default(),
            &["http://mirror.example.net/debian/"],
        );
        assert_eq!(
            r.text,
            "deb http://mirror.example.net/debian bookworm main\n"
        );
        let r = rewrite_list(
            text,
            "bullseye",
            "bookworm",
            &MirrorOverride::default(),
            &[],
        );
        assert_eq!(r.left.len(), 1);
    }

    #[test]
    fn deb822_stanzas_are_rewritten_field_by_field() {
        let text = "\
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: https://apt.example.com/repo
Suites: bookworm
Components: main
";
        let r = rewrite_deb822(text, "bookworm", "trixie", &MirrorOverride::default(), &[]);
        assert_eq!(
            r.text,
            "\
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie trixie-updates
Components: main non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: trixie-security
Components: main

Types: deb
URIs: https://apt.example.com/repo
Suites: bookworm
Components: main
"
        );
        assert_eq!(r.left.len(), 1);
        assert_eq!(r.left[0].line, 14);
    }

    #[test]
    fn stale_security_naming_is_found_on_bullseye_only() {
        let text =
            "deb http://security.debian.org bullseye/updates main\n# deb x bullseye/updates main\n";
        assert_eq!(stale_security_entries(text, "bullseye").len(), 1);
        assert!(stale_security_entries("deb x buster/updates main\n", "buster").is_empty());
    }

    #[test]
    fn a_rewrite_cut_short_moves_only_the_first_entries() {
        let none = MirrorOverride::default();
        let r = rewrite_list_first(LIST, "bullseye", "bookworm", &none, &[], 3);
        assert_eq!(r.entries, 3);
        let lines: Vec<&str> = r.text.lines().collect();
        assert_eq!(
            lines[1..5],
            [
                "deb http://deb.debian.org/debian bookworm main contrib non-free non-free-firmware",
                "deb-src http://deb.debian.org/debian bookworm main",
                "deb http://deb.debian.org/debian bookworm-updates main",
                "deb http://security.debian.org/debian-security bullseye-security main",
            ]
        );
        assert!(lines[6].contains("bullseye-backports"));
        assert_eq!(
            rewrite_list(LIST, "bullseye", "bookworm", &none, &[]).entries,
            5
        );

        let deb822 = "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n";
        let r = rewrite_deb822_first(deb822, "bookworm", "trixie", &none, &[], 1);
        assert_eq!(r.entries, 1);
        assert_eq!(
            r.text,
            deb822.replacen("bookworm bookworm-updates", "trixie trixie-updates", 1)
        );
        assert_eq!(
            rewrite_deb822(deb822, "bookworm", "trixie", &none, &[]).entries,
            2
        );
    }
}
