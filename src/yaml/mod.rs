//! Span-aware YAML reading shared by scenario and image recipe parsing.
//!
//! `serde-saphyr` reads the text into a generic [`Node`] tree where every key and
//! value keeps its source location. [`Typed`] (in [`de`]) then reads the tree into
//! any type with a derived `Deserialize` and `JsonSchema`, collecting every problem
//! as a [`Diagnostic`] so one pass reports all mistakes at once; the scenario is read
//! that way. A [`Decoder`] walks the tree by hand, key by key (the image recipes and a
//! step's common keys). Nothing here does I/O.

pub mod de;
mod decoder;
mod diagnostic;
mod node;
mod source_text;
mod suggest;
mod syntax_error;

pub use de::{Here, Typed, here};
pub use decoder::{Decoder, MapDecoder, parse_byte_size};
pub use diagnostic::{Diagnostic, Diagnostics, Mark};
pub use node::{Node, load};
pub use source_text::source_text;
pub use suggest::{closest, one_of};
