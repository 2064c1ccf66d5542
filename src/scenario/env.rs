//! `${env:NAME}` placeholders in a scenario's string values.
//!
//! They are substituted in the YAML tree before it is decoded, so that every string
//! value may carry one (commands, host `env`, probe URLs and headers...) and the
//! values are validated as what will really be used. The environment is reached only
//! through the lookup function the caller passes, so this stays free of I/O.
//!
//! `$${env:NAME}` is the escape: it stands for the literal text `${env:NAME}`. Any
//! other `$` (a shell's `$HOME`, `${HOME}`, `$$`) is left alone.

use serde_saphyr::Spanned;

use crate::redact::Secret;
use crate::yaml::{Diagnostic, Mark, Node};

const OPEN: &str = "${env:";

/// What to do with a placeholder whose variable is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsetEnv {
    /// An error at the placeholder (`rehearse run`).
    Refuse,
    /// Leave the placeholder as it is and list it (`rehearse check`, which validates
    /// the file without needing the secrets).
    Keep,
}

/// A placeholder whose variable was not set, left as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsetReference {
    pub name: String,
    /// Where the value holding it is: `hosts.web.env.DB_PASSWORD`.
    pub key: String,
    pub mark: Mark,
}

/// What substitution found.
#[derive(Debug, Default)]
pub(super) struct Substitution {
    pub secrets: Vec<Secret>,
    pub unset: Vec<UnsetReference>,
    pub errors: Vec<Diagnostic>,
}

/// Replaces the placeholders of every string value in the tree.
pub(super) fn substitute(
    root: &mut Spanned<Node>,
    source: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: UnsetEnv,
) -> Substitution {
    let mut walk = Walk {
        source,
        lookup,
        unset,
        found: Substitution::default(),
    };
    walk.node(root, None);
    walk.found
}

/// Where a value is, as a chain on the stack: the text (`hosts.web.env.X`) is only
/// made when a placeholder needs it, so a huge tree costs no allocation per node.
#[derive(Debug)]
struct KeyPath<'p> {
    parent: Option<&'p KeyPath<'p>>,
    segment: Segment<'p>,
}

#[derive(Debug)]
enum Segment<'p> {
    Key(&'p str),
    Index(usize),
}

impl KeyPath<'_> {
    fn text(path: Option<&KeyPath<'_>>) -> String {
        let mut segments = Vec::new();
        let mut at = path;
        while let Some(path) = at {
            segments.push(&path.segment);
            at = path.parent;
        }
        let mut text = String::new();
        for segment in segments.into_iter().rev() {
            match segment {
                Segment::Key(key) if text.is_empty() => text.push_str(key),
                Segment::Key(key) => {
                    text.push('.');
                    text.push_str(key);
                }
                Segment::Index(index) => text.push_str(&format!("[{index}]")),
            }
        }
        text
    }
}

struct Walk<'a> {
    source: &'a str,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    unset: UnsetEnv,
    found: Substitution,
}

impl Walk<'_> {
    fn node(&mut self, node: &mut Spanned<Node>, path: Option<&KeyPath<'_>>) {
        let mark = Mark::of(node);
        match &mut node.value {
            Node::Str(text) => {
                if text.contains(OPEN) {
                    let key = KeyPath::text(path);
                    *text = self.text(text, &key, mark);
                }
            }
            Node::Seq(items) => {
                for (index, item) in items.iter_mut().enumerate() {
                    let here = KeyPath {
                        parent: path,
                        segment: Segment::Index(index),
                    };
                    self.node(item, Some(&here));
                }
            }
            Node::Map(entries) => {
                for (name, value) in entries.iter_mut() {
                    let here = KeyPath {
                        parent: path,
                        segment: Segment::Key(&name.value),
                    };
                    self.node(value, Some(&here));
                }
            }
            Node::Null | Node::Bool(_) | Node::Int(_) | Node::Float(_) => {}
        }
    }

    fn text(&mut self, text: &str, key: &str, mark: Mark) -> String {
        let (source, lookup, unset) = (self.source, self.lookup, self.unset);
        substitute_text(text, key, mark, source, lookup, unset, &mut self.found)
    }
}

/// One piece of a string value.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
    /// `${env:` without a valid name and a closing brace.
    Malformed(&'a str),
}

fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        if at > 0 && rest[..at].ends_with('$') {
            // `$${env:` is the escape for a literal `${env:`.
            out.push(Piece::Text(&rest[..at - 1]));
            out.push(Piece::Text(OPEN));
            rest = &rest[at + OPEN.len()..];
            continue;
        }
        out.push(Piece::Text(&rest[..at]));
        let after = &rest[at + OPEN.len()..];
        match after.find('}') {
            Some(end) if is_env_name(&after[..end]) => {
                out.push(Piece::Placeholder(&after[..end]));
                rest = &after[end + 1..];
            }
            _ => {
                let shown: String = rest[at..].chars().take(40).collect();
                out.push(Piece::Malformed(&rest[at..at + shown.len()]));
                rest = &rest[at + shown.len()..];
            }
        }
    }
    out.push(Piece::Text(rest));
    out
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn substitute_text(
    text: &str,
    key: &str,
    mark: Mark,
    source: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: UnsetEnv,
    found: &mut Substitution,
) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in pieces(text) {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Placeholder(name) => {
                let placeholder = format!("{OPEN}{name}}}");
                match lookup(name) {
                    Some(value) => {
                        out.push_str(&value);
                        if !found.secrets.iter().any(|s| s.name == name) {
                            found.secrets.push(Secret {
                                name: name.to_string(),
                                value,
                            });
                        }
                    }
                    None => {
                        let at = locate(source, mark, &placeholder);
                        match unset {
                            UnsetEnv::Refuse => found.errors.push(
                                Diagnostic::new(
                                    at,
                                    format!(
                                        "environment variable `{name}` is not set, but `{key}` uses it"
                                    ),
                                )
                                .with_help(format!(
                                    "set it before running, e.g. `export {name}=...`"
                                )),
                            ),
                            UnsetEnv::Keep => found.unset.push(UnsetReference {
                                name: name.to_string(),
                                key: key.to_string(),
                                mark: at,
                            }),
                        }
                        out.push_str(&placeholder);
                    }
                }
            }
            Piece::Malformed(shown) => {
                let at = locate(source, mark, shown);
                found.errors.push(
                    Diagnostic::new(at, format!("invalid placeholder `{shown}` in `{key}`"))
                        .with_help(
                            "write `${env:NAME}` with a variable name of letters, digits and `_`, or `$${env:` for the literal text",
                        ),
                );
                out.push_str(shown);
            }
        }
    }
    out
}

/// Where `needle` is in the source, looked for from the value's start (a few lines
/// on, for block scalars); the value itself when it cannot be found (escaped text).
fn locate(source: &str, value: Mark, needle: &str) -> Mark {
    for (offset, line) in source
        .lines()
        .skip(value.line.saturating_sub(1))
        .take(50)
        .enumerate()
    {
        let from = if offset == 0 {
            line.char_indices()
                .nth(value.column.saturating_sub(1))
                .map_or(line.len(), |(i, _)| i)
        } else {
            0
        };
        if let Some(found) = line[from..].find(needle) {
            let column = line[..from + found].chars().count() + 1;
            return Mark::new(value.line + offset, column, needle.chars().count());
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::load;

    fn env(name: &str) -> Option<String> {
        match name {
            "DB_PASS" => Some("s3cret".into()),
            "TOKEN" => Some("tok-123".into()),
            _ => None,
        }
    }

    fn run(source: &str, unset: UnsetEnv) -> (Spanned<Node>, Substitution) {
        let mut root = load(source).unwrap();
        let found = substitute(&mut root, source, &env, unset);
        (root, found)
    }

    fn value_of<'a>(node: &'a Spanned<Node>, path: &[&str]) -> &'a Node {
        let mut node = node;
        for key in path {
            let Node::Map(entries) = &node.value else {
                panic!("not a map")
            };
            node = &entries.iter().find(|(k, _)| k.value == *key).unwrap().1;
        }
        &node.value
    }

    #[test]
    fn placeholders_are_replaced_and_secrets_recorded_once() {
        let source =
            "a:\n  b: \"pw=${env:DB_PASS} t=${env:TOKEN}\"\n  c: [x, \"${env:DB_PASS}\"]\n  n: 3\n";
        let (root, found) = run(source, UnsetEnv::Refuse);
        assert!(found.errors.is_empty(), "{:?}", found.errors);
        assert_eq!(
            value_of(&root, &["a", "b"]),
            &Node::Str("pw=s3cret t=tok-123".into())
        );
        let names: Vec<&str> = found.secrets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["DB_PASS", "TOKEN"]);
    }

    #[test]
    fn an_unset_variable_is_an_error_at_its_placeholder_naming_the_key() {
        let source = "hosts:\n  web:\n    env:\n      PASSWORD: \"x ${env:NOPE_NOT_SET}\"\n";
        let (_, found) = run(source, UnsetEnv::Refuse);
        assert_eq!(found.errors.len(), 1);
        let error = &found.errors[0];
        assert_eq!((error.line, error.column, error.width), (4, 20, 19));
        assert_eq!(
            error.message,
            "environment variable `NOPE_NOT_SET` is not set, but `hosts.web.env.PASSWORD` uses it"
        );
        assert_eq!(
            error.help.as_deref(),
            Some("set it before running, e.g. `export NOPE_NOT_SET=...`")
        );
    }

    #[test]
    fn kept_placeholders_are_listed_and_left_in_place() {
        let source = "steps:\n  - exec: {host: web, command: \"echo ${env:NOPE}\"}\n";
        let (root, found) = run(source, UnsetEnv::Keep);
        assert!(found.errors.is_empty());
        assert_eq!(found.unset.len(), 1);
        assert_eq!(found.unset[0].key, "steps[0].exec.command");
        assert_eq!(
            (found.unset[0].mark.line, found.unset[0].mark.column),
            (2, 38)
        );
        let Node::Seq(steps) = value_of(&root, &["steps"]) else {
            panic!()
        };
        assert_eq!(
            value_of(&steps[0], &["exec", "command"]),
            &Node::Str("echo ${env:NOPE}".into())
        );
    }

    #[test]
    fn escapes_and_other_dollars_are_left_alone() {
        let source = "a: 'echo $${env:DB_PASS} $HOME ${HOME} $$ ${env:DB_PASS}'\n";
        let (root, found) = run(source, UnsetEnv::Refuse);
        assert!(found.errors.is_empty());
        assert_eq!(
            value_of(&root, &["a"]),
            &Node::Str("echo ${env:DB_PASS} $HOME ${HOME} $$ s3cret".into())
        );
    }

    #[test]
    fn malformed_placeholders_are_errors() {
        for text in ["${env:}", "${env:9X}", "${env:A-B}", "${env:UNCLOSED"] {
            let source = format!("a: '{text}'\n");
            let (_, found) = run(&source, UnsetEnv::Refuse);
            assert_eq!(found.errors.len(), 1, "{text}");
            assert!(
                found.errors[0].message.starts_with("invalid placeholder"),
                "{}",
                found.errors[0].message
            );
            assert_eq!(found.errors[0].column, 5, "{text}");
        }
    }
}
