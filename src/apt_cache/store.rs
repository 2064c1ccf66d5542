//! The package cache on disk: `DIR/<host>/<path>` holds the body of each file as the
//! mirror sent it, and `DIR/<host>/<path>.meta` (JSON) the validators needed to
//! revalidate it (`ETag`, `Last-Modified`). Files are written to a temporary file in
//! the same folder and renamed into place, so a reader never sees half a file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

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
    /// The file's body.
    pub path: PathBuf,
    pub freshness: Freshness,
}

impl CacheKey {
    /// Where `authority` (`host` or `host:port`) + `request_path` (as sent, still
    /// percent-encoded) lives under `root`. `..` and `.` segments, encoded or not, are
    /// refused, as are empty segments and names ending in `.meta` (the sidecars).
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
        if segments.last().is_some_and(|s| s.ends_with(".meta")) {
            return Err(BadPath(format!("path `{request_path}` is not cacheable")));
        }
        let freshness = if segments.iter().any(|s| *s == "pool" || *s == "by-hash") {
            Freshness::Immutable
        } else {
            Freshness::Revalidate
        };
        Ok(CacheKey { path, freshness })
    }

    fn meta_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".meta");
        PathBuf::from(name)
    }

    /// The cached body and its metadata, if the file is cached.
    pub async fn open(&self) -> Option<(tokio::fs::File, u64, FileMeta)> {
        let file = tokio::fs::File::open(&self.path).await.ok()?;
        let length = file.metadata().await.ok()?.len();
        let meta = tokio::fs::read(self.meta_path())
            .await
            .ok()
            .and_then(|data| serde_json::from_slice(&data).ok())
            .unwrap_or_default();
        Some((file, length, meta))
    }

    /// A temporary file beside the cached one, to download into.
    pub async fn begin(&self) -> std::io::Result<PendingFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = self.path.parent().expect("a cache key has a parent folder");
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
        let file = tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&temp)
            .await?;
        Ok(PendingFile {
            temp: Some(temp),
            file: Some(file),
            written: 0,
        })
    }
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
        let file = self.file.as_mut().expect("written before commit");
        file.write_all(data).await?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Put the file in place (metadata first, then the body: a crash in between leaves
    /// validators that no longer match, which costs a download, never a stale answer).
    /// Returns the same file, rewound, to serve from.
    pub async fn commit(
        mut self,
        key: &CacheKey,
        meta: &FileMeta,
    ) -> std::io::Result<tokio::fs::File> {
        let mut file = self.file.take().expect("committed once");
        file.flush().await?;
        let temp = self.temp.take().expect("committed once");
        let meta_temp = temp.with_extension("meta.part");
        let result = async {
            tokio::fs::write(
                &meta_temp,
                serde_json::to_vec(meta).map_err(std::io::Error::other)?,
            )
            .await?;
            tokio::fs::rename(&meta_temp, key.meta_path()).await?;
            tokio::fs::rename(&temp, &key.path).await
        }
        .await;
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&meta_temp).await;
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(e);
        }
        file.rewind().await?;
        Ok(file)
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
}
