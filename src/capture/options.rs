//! What `rehearse capture` is asked to collect.

use std::path::PathBuf;

use super::database::DumpMode;

/// Validated options of one capture.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// The bundle to write; it must not exist unless `force`.
    pub output: PathBuf,
    pub force: bool,
    /// The host's root folder: `/` on the host itself (a mounted image elsewhere: then
    /// no command is run and only files are read).
    pub root: PathBuf,
    /// `/etc` trees to capture (absolute paths on the host).
    pub trees: Vec<String>,
    pub redact: bool,
    pub max_file_size: u64,
    /// Database dumps to take; empty: no database is touched.
    pub dumps: Vec<DumpMode>,
}

/// One mebibyte: the default largest file captured.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1024 * 1024;

impl CaptureOptions {
    /// Whether this capture reads the running system (and may ask its tools).
    pub fn live(&self) -> bool {
        self.root == std::path::Path::new("/")
    }
}
