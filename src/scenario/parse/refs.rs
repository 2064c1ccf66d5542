//! References by name to the scenario's hosts, probes and monitors, which must exist.

#[allow(unused_imports)]
use super::*;

/// Names that probes and steps may refer to. Taken from the map keys, so a host
/// with a mistake inside is still a valid reference (no second, spurious error).
#[derive(Debug, Clone)]
pub struct Refs {
    pub(in crate::scenario) hosts: Vec<String>,
    pub(in crate::scenario) probes: Vec<String>,
    pub(in crate::scenario) monitors: Vec<String>,
}

impl Refs {
    pub fn host(&self, d: &Decoder, node: &Spanned<Node>, context: &str) -> Option<String> {
        resolve(d, node, "host", &self.hosts, context)
    }

    pub fn probe(&self, d: &Decoder, node: &Spanned<Node>, context: &str) -> Option<String> {
        resolve(d, node, "probe", &self.probes, context)
    }

    /// A probe name or a list of them; the ones that exist.
    pub fn probes(&self, d: &Decoder, node: &Spanned<Node>, context: &str) -> Vec<String> {
        one_or_many(node)
            .iter()
            .filter_map(|item| self.probe(d, item, context))
            .collect()
    }

    pub fn monitor(&self, d: &Decoder, node: &Spanned<Node>, context: &str) -> Option<String> {
        resolve(d, node, "monitor", &self.monitors, context)
    }
}

pub(super) fn key_names(node: Option<&Spanned<Node>>) -> Vec<String> {
    match node.map(|node| &node.value) {
        Some(Node::Map(entries)) => entries.iter().map(|(key, _)| key.value.clone()).collect(),
        _ => Vec::new(),
    }
}

/// A reference by name to a host or probe, which must exist.
pub(super) fn resolve(
    d: &Decoder,
    node: &Spanned<Node>,
    noun: &str,
    known: &[String],
    context: &str,
) -> Option<String> {
    let name = d.str(node, &format!("`{noun}`"))?;
    if known.contains(&name) {
        return Some(name);
    }
    let help = match closest(&name, known.iter().map(String::as_str)) {
        Some(near) => format!("did you mean `{near}`?"),
        None if known.is_empty() => format!("no {noun}s are defined"),
        None => format!(
            "defined {noun}s: {}",
            one_of(known.iter().map(String::as_str))
        ),
    };
    d.error_with_help(
        Mark::of(node),
        format!("unknown {noun} `{name}` in {context}"),
        help,
    );
    None
}

/// A string alone or a list of them, as the nodes to decode.
pub fn one_or_many(node: &Spanned<Node>) -> Vec<&Spanned<Node>> {
    match &node.value {
        Node::Seq(items) => items.iter().collect(),
        _ => vec![node],
    }
}
