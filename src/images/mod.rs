//! Image recipes: what goes into a host's image (Debian suite, packages, files,
//! build commands, enabled units), read from `images/<name>/recipe.yaml`.
pub mod recipe;
