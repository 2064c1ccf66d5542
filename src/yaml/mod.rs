//! Span-aware YAML reading shared by scenario and image recipe parsing.
/// TEMPORARY
#[derive(Debug)]
pub struct Diagnostics;
impl std::fmt::Display for Diagnostics { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "x") } }
impl std::error::Error for Diagnostics {}
