//! Span-aware YAML reading shared by scenario and image recipe parsing.
//!
//! `serde-saphyr` reads the text into a generic [`Node`] tree where every key and
//! value keeps its source location. A [`Decoder`] then walks that tree, turning it
//! into typed values while collecting every problem as a [`Diagnostic`], so one
//! pass reports all mistakes at once. Nothing here does I/O.

pub mod de;
mod decoder;
mod diagnostic;
mod node;
mod source_text;
mod suggest;
mod syntax_error;

pub use de::{Here, Typed, here};
pub use decoder::{Decoder, MapDecoder, parse_byte_size as decoder_parse_byte_size};
pub use diagnostic::{Diagnostic, Diagnostics, Mark};
pub use node::{Node, load};
pub use source_text::source_text;
pub use suggest::{closest, one_of};
