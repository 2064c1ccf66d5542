//! Reading a file the tool is handed — a scenario, a recipe, a `report.json`, a drill's
//! state, a capture bundle — only if it is a regular file and only up to a limit, so
//! that `/dev/zero`, a FIFO or a file of 100 GB given by mistake (or on purpose) is a
//! clear error at once instead of a hang or a machine out of memory.

use std::io::Read;
use std::path::Path;

/// How much of one kind of file the tool reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Most bytes.
    pub bytes: u64,
    /// What such a file is, for messages: "a scenario".
    pub what: &'static str,
}

const MIB: u64 = 1024 * 1024;

/// A scenario file (a large one is a few hundred lines).
pub const SCENARIO: Limit = Limit {
    bytes: 4 * MIB,
    what: "a scenario",
};
/// An image recipe.
pub const RECIPE: Limit = Limit {
    bytes: 4 * MIB,
    what: "a recipe",
};
/// A report's `report.json` (an hour of monitoring is a few MiB).
pub const REPORT: Limit = Limit {
    bytes: 64 * MIB,
    what: "a report.json",
};
/// One file inside a capture bundle (the capture copies files of at most 1 MiB by
/// default; `--max-file-size` may raise that).
pub const BUNDLE_ENTRY: Limit = Limit {
    bytes: 64 * MIB,
    what: "a file in a bundle",
};
/// All the files of a capture bundle together (database dumps are not read).
pub const BUNDLE_FILES: Limit = Limit {
    bytes: 512 * MIB,
    what: "the files of a bundle",
};
/// A drill's saved state.
pub const DRILL_STATE: Limit = Limit {
    bytes: 4 * MIB,
    what: "a drill state",
};

/// Read all of `path`, if it is a regular file of at most `limit.bytes`. The error says
/// what is wrong with the file (not a regular file, too large) and names the limit; the
/// caller names the file.
pub fn read(path: &Path, limit: Limit) -> std::io::Result<Vec<u8>> {
    let file = open(path, limit)?;
    let size = file.metadata()?.len();
    if size > limit.bytes {
        return Err(too_large(limit));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // A file growing meanwhile is still cut one byte past the limit.
    file.take(limit.bytes + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit.bytes {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// Open `path` to stream it, if it is a regular file; the reader bounds what it takes.
pub fn open(path: &Path, limit: Limit) -> std::io::Result<std::fs::File> {
    // Asked before opening: opening a FIFO would wait for a writer.
    check_kind(&std::fs::metadata(path)?, limit)?;
    let file = std::fs::File::open(path)?;
    // What was opened is what was asked about (not swapped meanwhile).
    check_kind(&file.metadata()?, limit)?;
    Ok(file)
}

/// The error for a file or stream that holds more than `limit` allows.
pub fn too_large(limit: Limit) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "it is larger than {}, the most {} may be",
            bytesize::ByteSize(limit.bytes),
            limit.what
        ),
    )
}

/// [`read`] as UTF-8 text.
pub fn read_to_string(path: &Path, limit: Limit) -> std::io::Result<String> {
    String::from_utf8(read(path, limit)?).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it is not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn check_kind(meta: &std::fs::Metadata, limit: Limit) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    let name = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "it is {name}, not a regular file; give the path of {}",
            limit.what
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limit = Limit {
        bytes: 16,
        what: "a test file",
    };

    #[test]
    fn only_a_regular_file_within_the_limit_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok");
        std::fs::write(&ok, "0123456789abcdef").unwrap();
        assert_eq!(read(&ok, SMALL).unwrap().len(), 16);

        let big = dir.path().join("big");
        std::fs::write(&big, "0123456789abcdefX").unwrap();
        let e = read(&big, SMALL).unwrap_err().to_string();
        assert_eq!(e, "it is larger than 16 B, the most a test file may be");

        let e = read(Path::new("/dev/zero"), SMALL).unwrap_err().to_string();
        assert_eq!(
            e,
            "it is a character device, not a regular file; give the path of a test file"
        );
        let e = read(dir.path(), SMALL).unwrap_err().to_string();
        assert!(e.starts_with("it is a folder"), "{e}");
    }

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let e = read(&fifo, SMALL).unwrap_err().to_string();
        assert!(e.starts_with("it is a FIFO"), "{e}");
    }
}
