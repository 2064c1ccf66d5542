//! One entry of an archive an image is made with (a build context, or the files a
//! recipe's setup script finds on `/`): a file, a folder or a symbolic link.

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    /// A symbolic link to this target, kept as a link (never followed).
    Link(String),
}

/// An entry of such an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    /// Path inside the context.
    pub path: String,
    pub kind: EntryKind,
    pub data: Vec<u8>,
    /// Permission bits.
    pub mode: u32,
    /// Extra text that goes into the image's content hash (mode and link target of an
    /// overlay entry); `None` for recipe `files:`, whose mode is in the setup script.
    pub hashed_meta: Option<String>,
}

impl ContextEntry {
    /// A recipe `files:` entry.
    pub fn file(path: String, data: Vec<u8>, mode: u32) -> Self {
        ContextEntry {
            path,
            kind: EntryKind::File,
            data,
            mode,
            hashed_meta: None,
        }
    }
}
