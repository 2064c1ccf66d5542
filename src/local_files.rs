//! Local files that a scenario (host `files:`) or an image recipe (`files:`) copies
//! into a host: where they may come from and how big they may be.
//!
//! A file reference names a path relative to the folder of the file that holds it (the
//! scenario's or the recipe's) and must stay inside that folder: no absolute path, no
//! `..`, and no symbolic link that leads out of it — unless the scenario says
//! `allow_files_outside: true`. The parser refuses the first two without I/O; the
//! link check needs the file system, so it is done here, when the files are read.
//!
//! Files are streamed into the host as a tar archive, never read whole into memory.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use bytes::Bytes;

use crate::engine::{ByteStream, FileCopy};
pub use crate::scenario::FileLimits;
use crate::scenario::Scenario;

/// A file reference that cannot be used. `key` is where it is written
/// (`hosts.web.files[0].src`) and `file` the scenario or recipe holding it.
#[derive(Debug, thiserror::Error)]
pub enum LocalFileError {
    #[error(
        "`{key}` in `{}`: `{}` leaves the folder `{}`; refer to files inside it (or, in a scenario, set `allow_files_outside: true`)",
        file.display(), src.display(), dir.display()
    )]
    Outside {
        file: PathBuf,
        key: String,
        src: PathBuf,
        dir: PathBuf,
    },
    #[error(
        "`{key}` in `{}`: `{}` is a link to `{}`, outside the folder `{}`; copy the file into the folder (or, in a scenario, set `allow_files_outside: true`)",
        file.display(), src.display(), target.display(), dir.display()
    )]
    LinkOutside {
        file: PathBuf,
        key: String,
        src: PathBuf,
        target: PathBuf,
        dir: PathBuf,
    },
    #[error("`{key}` in `{}`: cannot read `{}`: {source}", file.display(), src.display())]
    Unreadable {
        file: PathBuf,
        key: String,
        src: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{key}` in `{}`: `{}` is not a regular file", file.display(), src.display())]
    NotAFile {
        file: PathBuf,
        key: String,
        src: PathBuf,
    },
    #[error(
        "`{key}` in `{}`: `{}` is {} bytes, more than the limit of {} bytes per file; raise `file_limits: {{per_file: ...}}` if it is meant to be copied",
        file.display(), src.display(), size, limit
    )]
    TooLarge {
        file: PathBuf,
        key: String,
        src: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error(
        "the files of `{}` add up to {} bytes (at `{}`, `{key}`), more than the limit of {} bytes in all; raise `file_limits: {{total: ...}}` if they are meant to be copied",
        file.display(), total, src.display(), limit
    )]
    TotalTooLarge {
        file: PathBuf,
        key: String,
        src: PathBuf,
        total: u64,
        limit: u64,
    },
}

/// A reference checked against the file system: the real path and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedFile {
    pub path: PathBuf,
    pub size: u64,
}

/// Where a reference is written, for messages.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The scenario or recipe file.
    pub file: &'a Path,
    /// `hosts.web.files[0].src`.
    pub key: &'a str,
}

/// Resolves `src` against `dir` (the folder of the scenario or recipe): it must be a
/// regular file inside `dir`, also once symbolic links are followed, unless `allow_outside`.
pub fn resolve(
    dir: &Path,
    src: &Path,
    allow_outside: bool,
    origin: Origin<'_>,
) -> Result<ResolvedFile, LocalFileError> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let unreadable = |source| LocalFileError::Unreadable {
        file: origin.file.to_path_buf(),
        key: origin.key.to_string(),
        src: src.to_path_buf(),
        source,
    };
    let leaves = src.is_absolute()
        || src
            .components()
            .any(|part| matches!(part, Component::ParentDir | Component::Prefix(_)));
    if leaves && !allow_outside {
        return Err(LocalFileError::Outside {
            file: origin.file.to_path_buf(),
            key: origin.key.to_string(),
            src: src.to_path_buf(),
            dir: dir.to_path_buf(),
        });
    }
    let joined = dir.join(src);
    let real = joined.canonicalize().map_err(unreadable)?;
    if !allow_outside {
        let real_dir = dir.canonicalize().map_err(unreadable)?;
        if !real.starts_with(&real_dir) {
            return Err(LocalFileError::LinkOutside {
                file: origin.file.to_path_buf(),
                key: origin.key.to_string(),
                src: src.to_path_buf(),
                target: real,
                dir: dir.to_path_buf(),
            });
        }
    }
    let metadata = std::fs::metadata(&real).map_err(unreadable)?;
    if !metadata.is_file() {
        return Err(LocalFileError::NotAFile {
            file: origin.file.to_path_buf(),
            key: origin.key.to_string(),
            src: src.to_path_buf(),
        });
    }
    Ok(ResolvedFile {
        path: real,
        size: metadata.len(),
    })
}

/// Keeps the running total of a set of files within `limits`.
#[derive(Debug)]
pub struct SizeBudget {
    limits: FileLimits,
    total: u64,
}

impl SizeBudget {
    pub fn new(limits: FileLimits) -> Self {
        SizeBudget { limits, total: 0 }
    }

    pub fn take(
        &mut self,
        src: &Path,
        file: &ResolvedFile,
        origin: Origin<'_>,
    ) -> Result<(), LocalFileError> {
        if file.size > self.limits.per_file {
            return Err(LocalFileError::TooLarge {
                file: origin.file.to_path_buf(),
                key: origin.key.to_string(),
                src: src.to_path_buf(),
                size: file.size,
                limit: self.limits.per_file,
            });
        }
        self.total = self.total.saturating_add(file.size);
        if self.total > self.limits.total {
            return Err(LocalFileError::TotalTooLarge {
                file: origin.file.to_path_buf(),
                key: origin.key.to_string(),
                src: src.to_path_buf(),
                total: self.total,
                limit: self.limits.total,
            });
        }
        Ok(())
    }
}

/// Every host's `files:` checked against the file system and the scenario's limits,
/// ready to be copied: host name → its files, in the scenario's order.
pub fn host_copies(
    scenario: &Scenario,
) -> Result<std::collections::BTreeMap<String, Vec<FileCopy>>, LocalFileError> {
    let dir = scenario.path.parent().unwrap_or(Path::new("."));
    let mut budget = SizeBudget::new(scenario.file_limits);
    let mut copies = std::collections::BTreeMap::new();
    for host in &scenario.hosts {
        let mut files = Vec::new();
        for (index, file) in host.files.iter().enumerate() {
            let key = format!("hosts.{}.files[{index}].src", host.name);
            let origin = Origin {
                file: &scenario.path,
                key: &key,
            };
            let resolved = resolve(dir, &file.src, scenario.allow_files_outside, origin)?;
            budget.take(&file.src, &resolved, origin)?;
            files.push(FileCopy {
                local: resolved.path,
                dest: file.dest.clone(),
                mode: file.mode,
            });
        }
        copies.insert(host.name.clone(), files);
    }
    Ok(copies)
}

/// Chunks of at most this many bytes wait between the file reader and the engine.
const CHUNK: usize = 256 * 1024;

/// A tar archive of `files` (each at its `dest`, owned by root, with its mode), made
/// on a blocking thread while the engine reads it: memory holds a few chunks, never a
/// whole file. The archive is meant to be extracted at `/`.
pub fn archive_stream(files: Vec<FileCopy>) -> ByteStream {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let writer = ChannelWriter {
            sender: sender.clone(),
            pending: Vec::with_capacity(CHUNK),
        };
        let result = write_archive(writer, &files);
        if let Err(e) = result {
            let _ = sender.blocking_send(Err(e));
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(receiver))
}

fn write_archive(writer: ChannelWriter, files: &[FileCopy]) -> std::io::Result<()> {
    let mut builder = tar::Builder::new(writer);
    for copy in files {
        let mut file = std::fs::File::open(&copy.local)?;
        let size = file.metadata()?.len();
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(copy.mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
        );
        header.set_entry_type(tar::EntryType::Regular);
        let name = copy.dest.trim_start_matches('/');
        // A file that grows meanwhile is cut at the size checked against the limits.
        builder.append_data(&mut header, name, std::io::Read::take(&mut file, size))?;
    }
    let mut writer = builder.into_inner()?;
    writer.flush()
}

/// Hands what is written to the engine's upload in chunks.
struct ChannelWriter {
    sender: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    pending: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(data);
        if self.pending.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.pending,
            Vec::with_capacity(CHUNK),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::other("the engine stopped reading the files"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin<'static> {
        Origin {
            file: Path::new("s.yaml"),
            key: "hosts.web.files[0].src",
        }
    }

    /// A scenario folder `site/` with `conf/a.conf`, next to a file `secret.txt`.
    fn tree() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("site/conf")).unwrap();
        std::fs::write(root.path().join("site/conf/a.conf"), "inside\n").unwrap();
        std::fs::write(root.path().join("secret.txt"), "outside\n").unwrap();
        root
    }

    #[test]
    fn a_file_inside_the_folder_resolves_with_its_size() {
        let root = tree();
        let dir = root.path().join("site");
        let file = resolve(&dir, Path::new("conf/a.conf"), false, origin()).unwrap();
        assert_eq!(file.size, 7);
        assert!(file.path.ends_with("site/conf/a.conf"));
    }

    #[test]
    fn dot_dot_and_absolute_paths_leave_the_folder() {
        let root = tree();
        let dir = root.path().join("site");
        for src in ["../secret.txt", "conf/../../secret.txt", "/etc/hostname"] {
            let error = resolve(&dir, Path::new(src), false, origin()).unwrap_err();
            assert!(
                matches!(error, LocalFileError::Outside { .. }),
                "{src}: {error}"
            );
            let text = error.to_string();
            assert!(
                text.contains("`hosts.web.files[0].src` in `s.yaml`"),
                "{text}"
            );
            assert!(text.contains("allow_files_outside: true"), "{text}");
        }
        // Allowed explicitly, the same reference is fine.
        let file = resolve(&dir, Path::new("../secret.txt"), true, origin()).unwrap();
        assert_eq!(file.size, 8);
    }

    #[test]
    fn a_link_leading_outside_is_refused_and_one_inside_is_fine() {
        let root = tree();
        let dir = root.path().join("site");
        std::os::unix::fs::symlink(root.path().join("secret.txt"), dir.join("escape")).unwrap();
        std::os::unix::fs::symlink("conf/a.conf", dir.join("inside")).unwrap();
        std::os::unix::fs::symlink(root.path(), dir.join("up")).unwrap();
        for src in ["escape", "up/secret.txt"] {
            let error = resolve(&dir, Path::new(src), false, origin()).unwrap_err();
            assert!(
                matches!(error, LocalFileError::LinkOutside { .. }),
                "{src}: {error}"
            );
            assert!(error.to_string().contains("secret.txt"), "{error}");
        }
        let file = resolve(&dir, Path::new("inside"), false, origin()).unwrap();
        assert!(file.path.ends_with("conf/a.conf"));
        assert!(resolve(&dir, Path::new("escape"), true, origin()).is_ok());
    }

    #[test]
    fn missing_files_and_folders_are_explained() {
        let root = tree();
        let dir = root.path().join("site");
        let missing = resolve(&dir, Path::new("nope.conf"), false, origin()).unwrap_err();
        assert!(
            matches!(missing, LocalFileError::Unreadable { .. }),
            "{missing}"
        );
        let folder = resolve(&dir, Path::new("conf"), false, origin()).unwrap_err();
        assert!(
            matches!(folder, LocalFileError::NotAFile { .. }),
            "{folder}"
        );
    }

    #[test]
    fn sizes_are_limited_per_file_and_in_total() {
        let mut budget = SizeBudget::new(FileLimits {
            per_file: 100,
            total: 150,
        });
        let file = |size| ResolvedFile {
            path: PathBuf::from("x"),
            size,
        };
        let big = budget
            .take(Path::new("big.bin"), &file(101), origin())
            .unwrap_err();
        assert_eq!(
            big.to_string(),
            "`hosts.web.files[0].src` in `s.yaml`: `big.bin` is 101 bytes, more than the limit of 100 bytes per file; raise `file_limits: {per_file: ...}` if it is meant to be copied"
        );
        budget.take(Path::new("a"), &file(100), origin()).unwrap();
        let total = budget
            .take(Path::new("b"), &file(60), origin())
            .unwrap_err();
        assert!(
            matches!(total, LocalFileError::TotalTooLarge { total: 160, .. }),
            "{total}"
        );
    }

    #[tokio::test]
    async fn the_archive_streams_each_file_at_its_destination_with_its_mode() {
        use futures_util::StreamExt;
        let root = tree();
        let big = root.path().join("big.bin");
        std::fs::write(&big, vec![7u8; 3 * CHUNK + 5]).unwrap();
        let files = vec![
            FileCopy {
                local: root.path().join("site/conf/a.conf"),
                dest: "/etc/app/a.conf".into(),
                mode: 0o640,
            },
            FileCopy {
                local: big,
                dest: "/srv/big.bin".into(),
                mode: 0o600,
            },
        ];
        let mut stream = archive_stream(files);
        let mut bytes = Vec::new();
        let mut chunks = 0;
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(&chunk.unwrap());
            chunks += 1;
        }
        assert!(chunks > 1, "the archive came in one piece");
        let mut archive = tar::Archive::new(bytes.as_slice());
        let entries: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.size().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("etc/app/a.conf".to_string(), 0o640, 7),
                ("srv/big.bin".to_string(), 0o600, 3 * CHUNK as u64 + 5)
            ]
        );
    }
}
