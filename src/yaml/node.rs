//! A generic YAML tree that keeps the source location of every key and value.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, Location, Options, Spanned};

use super::diagnostic::{Diagnostic, Mark};

/// One YAML value. Maps keep their order and their duplicate keys (the decoder
/// reports duplicates, so they are not silently dropped by the parser).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl Node {
    /// How the value is named in "expected X, found Y" messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Node::Null => "an empty value",
            Node::Bool(_) => "a boolean",
            Node::Int(_) => "an integer",
            Node::Float(_) => "a number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a map",
        }
    }

    fn is_scalar(&self) -> bool {
        !matches!(self, Node::Seq(_) | Node::Map(_))
    }
}

impl Mark {
    pub const fn new(line: usize, column: usize, width: usize) -> Mark {
        Mark {
            line,
            column,
            width,
        }
    }

    /// Where a value is; collections are marked by their first character only.
    pub fn of(node: &Spanned<Node>) -> Mark {
        let width = if node.value.is_scalar() {
            span_width(&node.referenced)
        } else {
            1
        };
        Mark::at(&node.referenced, width)
    }

    /// Where a map key is.
    pub fn of_key(key: &Spanned<String>) -> Mark {
        Mark::at(&key.referenced, span_width(&key.referenced))
    }

    pub(super) fn at(location: &Location, width: usize) -> Mark {
        Mark {
            line: to_usize(location.line()).max(1),
            column: to_usize(location.column()).max(1),
            width,
        }
    }
}

fn span_width(location: &Location) -> usize {
    to_usize(location.span().len())
}

fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// Most nodes a scenario, recipe or drill state may hold.
const MAX_NODES: usize = 100_000;

/// Parses YAML text into a tree; a syntax error becomes one diagnostic, in plain
/// words where the parser's are not.
pub fn load(source: &str) -> Result<Spanned<Node>, Diagnostic> {
    let mut options = Options::default();
    options.duplicate_keys = DuplicateKeyPolicy::PassThrough;
    // A scenario or recipe is plain data: `!python/object:…` and the like are refused.
    options.reject_unsupported_tags = true;
    // Scenarios and recipes are small (a few thousand nodes): a file past these limits
    // is refused early instead of being expanded (an alias bomb) to the parser's far
    // larger defaults.
    let mut budget = options.budget.clone().unwrap_or_default();
    budget.max_nodes = MAX_NODES;
    budget.max_events = 4 * MAX_NODES;
    options.budget = Some(budget.clone());
    let root = serde_saphyr::from_str_with_options(source, options)
        .map_err(|error| super::syntax_error::diagnose(source, &error, &budget))?;
    match binary_value(source) {
        Some(diagnostic) => Err(diagnostic),
        None => Ok(root),
    }
}

/// A `!!binary` value, which the parser decodes: it would hide its text (a command, a
/// URL) from whoever reads the file, so it is refused where it is written.
fn binary_value(source: &str) -> Option<Diagnostic> {
    use serde_saphyr::granit_parser::{Event, Parser};
    for item in Parser::new_from_str(source) {
        let (event, span) = item.ok()?;
        if let Event::Scalar(_, _, _, Some(tag)) = &event
            && tag.suffix_in_namespace("tag:yaml.org,2002:").as_deref() == Some("binary")
        {
            let at = Mark::new(span.start.line(), span.start.col() + 1, 1);
            return Some(
                Diagnostic::new(at, "a `!!binary` value is not accepted")
                    .with_help("write the text itself, so that whoever reads the file sees it"),
            );
        }
    }
    None
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Node, E> {
        Ok(Node::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Node, E> {
        Ok(Node::Int(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Node, E> {
        // Beyond i64 no field of ours is valid anyway; keep the magnitude.
        Ok(i64::try_from(value).map_or(Node::Float(value as f64), Node::Int))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Node, E> {
        Ok(Node::Float(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Node, E> {
        Ok(Node::Str(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> Result<Node, E> {
        Ok(Node::Str(value))
    }

    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Node, E> {
        Err(E::custom(
            "binary values (`!!binary`) are not accepted: write the text itself",
        ))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(node: &Spanned<Node>) -> &[(Spanned<String>, Spanned<Node>)] {
        match &node.value {
            Node::Map(entries) => entries,
            other => panic!("expected a map, got {other:?}"),
        }
    }

    fn mark(line: usize, column: usize, width: usize) -> Mark {
        Mark::new(line, column, width)
    }

    #[test]
    fn nested_keys_and_values_keep_their_spans() {
        let source = "name: x\nhosts:\n  web:\n    image: \"static\"\n    aliases: [a.test, b]\n";
        let root = load(source).unwrap();
        let top = entries(&root);
        assert_eq!(top[0].0.value, "name");
        assert_eq!(Mark::of(&top[0].1), mark(1, 7, 1));
        let hosts = entries(&top[1].1);
        assert_eq!(Mark::of_key(&hosts[0].0), mark(3, 3, 3));
        let web = entries(&hosts[0].1);
        assert_eq!(Mark::of_key(&web[0].0), mark(4, 5, 5));
        assert_eq!(web[0].1.value, Node::Str("static".into()));
        assert_eq!(Mark::of(&web[0].1), mark(4, 12, 8));
        let Node::Seq(aliases) = &web[1].1.value else {
            panic!("aliases is not a list")
        };
        assert_eq!(Mark::of(&web[1].1), mark(5, 14, 1));
        assert_eq!(Mark::of(&aliases[1]), mark(5, 23, 1));
    }

    #[test]
    fn scalars_get_their_yaml_types() {
        let root = load("a: 1\nb: 1.5\nc: true\nd: ~\ne: text\n").unwrap();
        let values: Vec<_> = entries(&root)
            .iter()
            .map(|(_, v)| v.value.clone())
            .collect();
        assert_eq!(
            values,
            [
                Node::Int(1),
                Node::Float(1.5),
                Node::Bool(true),
                Node::Null,
                Node::Str("text".into())
            ]
        );
    }

    #[test]
    fn duplicate_keys_are_kept_for_the_decoder() {
        let root = load("a: 1\na: 2\n").unwrap();
        assert_eq!(entries(&root).len(), 2);
    }

    #[test]
    fn syntax_error_is_one_diagnostic_where_the_mistake_is() {
        // The parser stops at `db:`; the mistake is the `[` that is never closed.
        let error = load("name: x\nhosts:\n  web: [a, b\n  db: 1\n").unwrap_err();
        assert_eq!((error.line, error.column), (3, 8));
        assert!(
            error.message.starts_with("invalid YAML: "),
            "{}",
            error.message
        );
    }
}
