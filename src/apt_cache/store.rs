//! The package cache on disk: `DIR/<host>/<path>` holds one record per file of the
//! mirror — a header (a magic line, then the lengths of the metadata and of the body)
//! followed by the metadata (JSON: the `ETag`, `Last-Modified` and `Content-Type` the
//! mirror sent) and the body as the mirror sent it.
//!
//! Why one record: validators kept apart from their body (the old `<path>.meta`) can be
//! paired with another version of it by a crash between two renames or by a reader in
//! between; the mirror then answers 304 to a body it did not send, and a stale index is
//! served. A record is written to a temporary file in the same folder and renamed into
//! place, so a reader sees a whole old record or a whole new one. A file without the
//! magic line (the old layout) or whose lengths do not add up counts as not cached: it
//! is fetched again and overwritten, never misread.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// The first line of every record; another version of the layout gets another line.
const MAGIC: &[u8] = b"rehearse-apt-cache-record 1\n";
/// The lengths line: `<metadata length> <body length>\n`, each 20 digits, so that the
/// body's length, known only at the end, is written in place over the placeholder.
const LENGTHS_LEN: usize = 20 + 1 + 20 + 1;
/// Longest metadata read back: three header values.
const META_LIMIT: u64 = 64 * 1024;

/// What the mirror said about a cached file, for the next conditional request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// How a file of a Debian repository may be cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Package files (`pool/`) and `by-hash/` files never change under their name.
    Immutable,
    /// Everything else (`InRelease`, `Packages*`, …) is revalidated on every request.
    Revalidate,
}

/// A request path the cache refuses: it would leave the cache folder or name no file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadPath(pub String);

/// One file of one mirror, as the cache sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey {
    /// The file's record.
    pub path: PathBuf,
    pub freshness: Freshness,
}

/// A cached file, opened: the record positioned at the body.
#[derive(Debug)]
pub struct CachedFile {
    pub body: tokio::fs::File,
    pub length: u64,
    pub meta: FileMeta,
}

impl CacheKey {
    /// Where `authority` (`host` or `host:port`) + `request_path` (as sent, still
    /// percent-encoded) lives under `root`. `..` and `.` segments, encoded or not, are
    /// refused, as are empty segments and names the cache's own files end with
    /// (`.part`: downloads in progress; `.meta`: the sidecars of the old layout).
    pub fn new(root: &Path, authority: &str, request_path: &str) -> Result<CacheKey, BadPath> {
        let host_dir = authority.replace(':', "_");
        if host_dir.is_empty() || host_dir.starts_with('.') || host_dir.contains('/') {
            return Err(BadPath(format!("bad host `{authority}`")));
        }
        let Some(rest) = request_path.strip_prefix('/') else {
            return Err(BadPath(format!("path `{request_path}` is not absolute")));
        };
        let mut path = root.join(host_dir);
        let mut segments = Vec::new();
        for segment in rest.split('/') {
            // `%xx` escapes decoded (bytes that are not UTF-8 are replaced), for checking.
            let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
            if decoded.is_empty()
                || decoded == "."
                || decoded == ".."
                || decoded.contains(['/', '\\', '\0'])
            {
                return Err(BadPath(format!(
                    "path `{request_path}` has an empty, `.` or `..` segment"
                )));
            }
            segments.push(segment);
            path.push(segment);
        }
        if segments.last().is_some_and(|s| {
            let decoded = percent_encoding::percent_decode_str(s).decode_utf8_lossy();
            decoded.ends_with(".meta") || decoded.ends_with(".part")
        }) {
            return Err(BadPath(format!("path `{request_path}` is not cacheable")));
        }
        let freshness = if segments.iter().any(|s| *s == "pool" || *s == "by-hash") {
            Freshness::Immutable
        } else {
            Freshness::Revalidate
        };
        Ok(CacheKey { path, freshness })
    }

    /// The cached file, if there is a whole record of it.
    pub async fn open(&self) -> Option<CachedFile> {
        let mut file = tokio::fs::File::open(&self.path).await.ok()?;
        let total = file.metadata().await.ok()?.len();
        let mut head = [0u8; MAGIC.len() + LENGTHS_LEN];
        file.read_exact(&mut head).await.ok()?;
        let (magic, lengths) = head.split_at(MAGIC.len());
        if magic != MAGIC {
            return None;
        }
        let (meta_length, length) = parse_lengths(lengths)?;
        if meta_length > META_LIMIT
            || (head.len() as u64)
                .checked_add(meta_length)?
                .checked_add(length)?
                != total
        {
            return None;
        }
        let mut meta = vec![0u8; usize::try_from(meta_length).ok()?];
        file.read_exact(&mut meta).await.ok()?;
        let meta = serde_json::from_slice(&meta).ok()?;
        Some(CachedFile {
            body: file,
            length,
            meta,
        })
    }

    /// A temporary record beside the cached one, to download the body into.
    pub async fn begin(&self, meta: &FileMeta) -> std::io::Result<PendingFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let Some(dir) = self.path.parent() else {
            return Err(std::io::Error::other(format!(
                "`{}` has no parent folder",
                self.path.display()
            )));
        };
        tokio::fs::create_dir_all(dir).await?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = dir.join(format!(
            ".{name}.{}.{}.part",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .await?;
        // Removed on drop from here on, whatever fails below.
        let mut pending = PendingFile {
            temp: Some(temp),
            file: None,
            written: 0,
        };
        let meta = serde_json::to_vec(meta).map_err(std::io::Error::other)?;
        let mut head = MAGIC.to_vec();
        head.extend_from_slice(format_lengths(meta.len() as u64, 0).as_bytes());
        head.extend_from_slice(&meta);
        file.write_all(&head).await?;
        pending.file = Some(file);
        Ok(pending)
    }
}

fn format_lengths(meta: u64, body: u64) -> String {
    format!("{meta:020} {body:020}\n")
}

fn parse_lengths(line: &[u8]) -> Option<(u64, u64)> {
    let line = std::str::from_utf8(line).ok()?.strip_suffix('\n')?;
    let (meta, body) = line.split_once(' ')?;
    let digits = |s: &str| s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(meta) || !digits(body) {
        return None;
    }
    Some((meta.parse().ok()?, body.parse().ok()?))
}

/// A download in progress; removed unless [`PendingFile::commit`] is called.
#[derive(Debug)]
pub struct PendingFile {
    temp: Option<PathBuf>,
    file: Option<tokio::fs::File>,
    pub written: u64,
}

impl PendingFile {
    pub async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Err(std::io::Error::other(
                "the download was already put in place",
            ));
        };
        file.write_all(data).await?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Write the body's length in the header and rename the record into place: a
    /// reader sees the old record or the new one, whole. A sidecar of the old layout
    /// left beside it goes too.
    pub async fn commit(mut self, key: &CacheKey) -> std::io::Result<()> {
        let (Some(mut file), Some(temp)) = (self.file.take(), self.temp.clone()) else {
            return Err(std::io::Error::other(
                "the download was already put in place",
            ));
        };
        file.flush().await?;
        // The metadata's length is in the header already; only the body's changes.
        file.seek(std::io::SeekFrom::Start(MAGIC.len() as u64 + 21))
            .await?;
        file.write_all(format!("{:020}", self.written).as_bytes())
            .await?;
        file.flush().await?;
        drop(file);
        tokio::fs::rename(&temp, &key.path).await?;
        // In place: nothing left to remove.
        self.temp = None;
        let mut old_meta = key.path.as_os_str().to_owned();
        old_meta.push(".meta");
        let _ = tokio::fs::remove_file(PathBuf::from(old_meta)).await;
        Ok(())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str) -> Result<CacheKey, BadPath> {
        CacheKey::new(Path::new("/cache"), "deb.debian.org", path)
    }

    #[test]
    fn pool_and_by_hash_files_are_immutable_the_rest_is_revalidated() {
        let deb = key("/debian/pool/main/h/hello/hello_2.10-3_amd64.deb").unwrap();
        assert_eq!(deb.freshness, Freshness::Immutable);
        assert_eq!(
            deb.path,
            Path::new("/cache/deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb")
        );
        let by_hash = key("/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/ab12").unwrap();
        assert_eq!(by_hash.freshness, Freshness::Immutable);
        for index in [
            "/debian/dists/bookworm/InRelease",
            "/debian/dists/bookworm/main/binary-amd64/Packages.xz",
            "/debian/dists/bookworm/main/i18n/Translation-en.bz2",
            "/debian/README",
        ] {
            assert_eq!(
                key(index).unwrap().freshness,
                Freshness::Revalidate,
                "{index}"
            );
        }
    }

    #[test]
    fn traversal_and_odd_paths_are_refused() {
        for bad in [
            "/debian/../etc/passwd",
            "/debian/%2e%2e/etc/passwd",
            "/debian/%2E%2E/x",
            "/debian/./x",
            "/debian//x",
            "/debian/dists/",
            "/debian/a%2fb",
            "/debian/x.meta",
            "/debian/.x.deb.12.0.part",
            "/debian/x.m%65ta",
            "relative",
        ] {
            assert!(key(bad).is_err(), "{bad}");
        }
        assert!(CacheKey::new(Path::new("/c"), "..", "/x").is_err());
        // An epoch in a package file name is sent encoded, and kept so.
        let epoch = key("/debian/pool/main/p/perl/perl_1%3a5.36_amd64.deb").unwrap();
        assert!(epoch.path.ends_with("perl_1%3a5.36_amd64.deb"));
        assert_eq!(
            CacheKey::new(Path::new("/c"), "mirror:8080", "/x")
                .unwrap()
                .path,
            Path::new("/c/mirror_8080/x")
        );
    }

    fn meta(etag: &str) -> FileMeta {
        FileMeta {
            etag: Some(etag.into()),
            last_modified: None,
            content_type: Some("application/octet-stream".into()),
        }
    }

    async fn store(key: &CacheKey, meta: &FileMeta, body: &[u8]) {
        let mut pending = key.begin(meta).await.unwrap();
        pending.write(body).await.unwrap();
        pending.commit(key).await.unwrap();
    }

    async fn read(key: &CacheKey) -> Option<(FileMeta, Vec<u8>)> {
        let mut cached = key.open().await?;
        let mut body = Vec::new();
        cached.body.read_to_end(&mut body).await.unwrap();
        assert_eq!(body.len() as u64, cached.length);
        Some((cached.meta, body))
    }

    #[tokio::test]
    async fn a_record_holds_the_metadata_and_the_body_together() {
        let dir = tempfile::tempdir().unwrap();
        let key = CacheKey::new(dir.path(), "deb.debian.org", "/debian/dists/x/InRelease").unwrap();
        assert!(key.open().await.is_none());
        store(&key, &meta("\"v1\""), b"version 1").await;
        assert_eq!(
            read(&key).await,
            Some((meta("\"v1\""), b"version 1".to_vec()))
        );
        // A new version replaces both at once.
        store(&key, &meta("\"v2\""), b"the second version").await;
        assert_eq!(
            read(&key).await,
            Some((meta("\"v2\""), b"the second version".to_vec()))
        );
        // One file: nothing beside it.
        let names: Vec<_> = std::fs::read_dir(key.path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["InRelease"]);
    }

    #[tokio::test]
    async fn a_record_cut_short_or_of_the_old_layout_is_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let key = CacheKey::new(dir.path(), "deb.debian.org", "/debian/pool/x.deb").unwrap();
        store(&key, &meta("\"v1\""), b"a whole package").await;
        let whole = std::fs::read(&key.path).unwrap();
        for broken in [
            whole[..whole.len() - 1].to_vec(),
            [whole.as_slice(), b"more"].concat(),
            whole[..MAGIC.len() + 5].to_vec(),
            Vec::new(),
            // The old layout: the body alone (its `.meta` beside it).
            b"a whole package".to_vec(),
            // Another version of the layout.
            [
                b"rehearse-apt-cache-record 2\n".as_slice(),
                &whole[MAGIC.len()..],
            ]
            .concat(),
        ] {
            std::fs::write(&key.path, &broken).unwrap();
            assert!(
                key.open().await.is_none(),
                "{:?}",
                String::from_utf8_lossy(&broken)
            );
        }
    }

    #[tokio::test]
    async fn a_download_not_committed_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let key = CacheKey::new(dir.path(), "deb.debian.org", "/debian/pool/x.deb").unwrap();
        let mut pending = key.begin(&meta("\"v1\"")).await.unwrap();
        pending.write(b"half a pack").await.unwrap();
        drop(pending);
        assert!(key.open().await.is_none());
        let left: Vec<_> = std::fs::read_dir(key.path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
