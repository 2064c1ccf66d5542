//! TEMPORARY stub replaced by the real recipe parser.
use std::path::{Path, PathBuf};
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe { pub description: Option<String>, pub suite: String, pub packages: Vec<String>, pub files: Vec<RecipeFile>, pub commands: Vec<String>, pub enable: Vec<String> }
#[derive(Debug, Clone, PartialEq)]
pub struct RecipeFile { pub src: PathBuf, pub dest: String, pub mode: Option<u32> }
pub fn parse(_path: &Path, _source: &str) -> Result<Recipe, crate::yaml::Diagnostics> { unimplemented!() }
