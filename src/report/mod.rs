//! The report of a run: the data behind `report.json` and the reporters that render
//! events and reports for people.

mod model;
pub mod terminal;

pub use model::*;

use std::path::{Path, PathBuf};

/// Write `report.json` into `dir` (created if needed); returns the file's path.
pub fn write_json(dir: &Path, report: &Report) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("report.json");
    let mut text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    text.push('\n');
    std::fs::write(&path, text)?;
    Ok(path)
}
