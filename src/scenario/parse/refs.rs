//! References by name to the scenario's hosts, probes and monitors, which must exist.

#[allow(unused_imports)]
use super::*;

/// Names that probes and steps may refer to, checked by `format::HostRef` and the like.
/// Taken from the map keys, so a host with a mistake inside is still a valid reference
/// (no second, spurious error).
#[derive(Debug, Clone)]
pub struct Refs {
    pub(in crate::scenario) hosts: Vec<String>,
    pub(in crate::scenario) probes: Vec<String>,
    pub(in crate::scenario) monitors: Vec<String>,
}

pub(super) fn key_names(node: Option<&Spanned<Node>>) -> Vec<String> {
    match node.map(|node| &node.value) {
        Some(Node::Map(entries)) => entries.iter().map(|(key, _)| key.value.clone()).collect(),
        _ => Vec::new(),
    }
}
