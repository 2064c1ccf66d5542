//! Span-aware YAML reading shared by scenario and image recipe parsing.
