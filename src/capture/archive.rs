//! Writing and reading a capture bundle: a gzip'd tar with `bundle.json` first, then
//! the captured files under `files/` and the dumps under `db/`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::bundle::{BUNDLE_FORMAT, Bundle};

/// The bundle's name for `bundle.json`.
pub const BUNDLE_JSON: &str = "bundle.json";

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot write the bundle `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the bundle `{}`: {source}; is it a file written by `rehearse capture`?", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read `{entry}` in the bundle `{}`: {source}", path.display())]
    Entry {
        path: PathBuf,
        entry: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` holds no `bundle.json`; is it a file written by `rehearse capture`?", path.display())]
    NoManifest { path: PathBuf },
    #[error("`bundle.json` in `{}` is invalid: {source}", path.display())]
    Manifest {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "`{}` is bundle format {found}, this rehearse reads format {BUNDLE_FORMAT}; capture it again with this version",
        path.display()
    )]
    Format { path: PathBuf, found: u32 },
}

/// Writes a bundle to `dest` (normally `FILE.partial`, renamed by the caller).
pub struct BundleWriter {
    path: PathBuf,
    tar: tar::Builder<GzEncoder<std::fs::File>>,
}

impl std::fmt::Debug for BundleWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleWriter")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl BundleWriter {
    pub fn create(path: &Path, bundle: &Bundle) -> Result<Self, BundleError> {
        use std::os::unix::fs::OpenOptionsExt;
        // Only its owner may read it: it holds a production host's configuration.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| BundleError::Write {
                path: path.to_path_buf(),
                source,
            })?;
        let mut writer = BundleWriter {
            path: path.to_path_buf(),
            tar: tar::Builder::new(GzEncoder::new(file, Compression::default())),
        };
        let json = serde_json::to_vec_pretty(bundle).expect("a bundle always serializes");
        writer.add(BUNDLE_JSON, &json, 0o644)?;
        Ok(writer)
    }

    fn error(&self, source: std::io::Error) -> BundleError {
        BundleError::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// Add a file's contents at `name` in the bundle.
    pub fn add(&mut self, name: &str, data: &[u8], mode: u32) -> Result<(), BundleError> {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_cksum();
        self.tar
            .append_data(&mut header, name, data)
            .map_err(|e| self.error(e))
    }

    /// Add a local file (a dump) at `name`, streamed.
    pub fn add_file(&mut self, name: &str, local: &Path) -> Result<(), BundleError> {
        let mut file = std::fs::File::open(local).map_err(|e| self.error(e))?;
        self.tar
            .append_file(name, &mut file)
            .map_err(|e| self.error(e))
    }

    /// Finish the archive and flush it to disk.
    pub fn finish(self) -> Result<(), BundleError> {
        let path = self.path.clone();
        let error = |source| BundleError::Write {
            path: path.clone(),
            source,
        };
        let gz = self.tar.into_inner().map_err(error)?;
        let file = gz.finish().map_err(error)?;
        file.sync_all().map_err(error)
    }
}

/// A bundle read back: its manifest and every other entry's contents by name.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadBundle {
    pub bundle: Bundle,
    pub entries: BTreeMap<String, Vec<u8>>,
}

impl ReadBundle {
    /// The captured contents of a host file (`/etc/apache2/apache2.conf`).
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.entries
            .get(&format!("files/{}", path.trim_start_matches('/')))
            .map(Vec::as_slice)
    }
}

/// Read a whole bundle into memory (files are at most the capture's size limit; dumps
/// are read too, since import copies nothing of them but their names).
pub fn read_bundle(path: &Path) -> Result<ReadBundle, BundleError> {
    let read_error = |source| BundleError::Read {
        path: path.to_path_buf(),
        source,
    };
    use crate::input_file::{BUNDLE_ENTRY, BUNDLE_FILES, too_large};
    let file = crate::input_file::open(path, BUNDLE_FILES).map_err(read_error)?;
    let mut archive = tar::Archive::new(GzDecoder::new(file));
    let mut manifest = None;
    let mut entries = BTreeMap::new();
    let mut total: u64 = 0;
    for entry in archive.entries().map_err(read_error)? {
        let mut entry = entry.map_err(read_error)?;
        let name = entry
            .path()
            .map_err(read_error)?
            .to_string_lossy()
            .into_owned();
        if name.starts_with("db/") {
            // Dumps can be big and import does not use their contents.
            entries.insert(name, Vec::new());
            continue;
        }
        // Every entry is bounded, and so are all of them together.
        let mut data = Vec::new();
        (&mut entry)
            .take(BUNDLE_ENTRY.bytes + 1)
            .read_to_end(&mut data)
            .map_err(read_error)?;
        if data.len() as u64 > BUNDLE_ENTRY.bytes {
            return Err(BundleError::Entry {
                path: path.to_path_buf(),
                entry: name,
                source: too_large(BUNDLE_ENTRY),
            });
        }
        total += data.len() as u64;
        if total > BUNDLE_FILES.bytes {
            return Err(read_error(too_large(BUNDLE_FILES)));
        }
        if name == BUNDLE_JSON {
            manifest = Some(data);
        } else {
            entries.insert(name, data);
        }
    }
    let manifest = manifest.ok_or_else(|| BundleError::NoManifest {
        path: path.to_path_buf(),
    })?;
    // The format is checked before the rest, so an incompatible bundle says so.
    let format: Option<u32> = serde_json::from_slice::<serde_json::Value>(&manifest)
        .ok()
        .and_then(|v| v.get("format")?.as_u64())
        .and_then(|f| u32::try_from(f).ok());
    if let Some(found) = format
        && found != BUNDLE_FORMAT
    {
        return Err(BundleError::Format {
            path: path.to_path_buf(),
            found,
        });
    }
    let bundle = serde_json::from_slice(&manifest).map_err(|source| BundleError::Manifest {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(ReadBundle { bundle, entries })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::bundle::sample_bundle;

    #[test]
    fn a_bundle_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.rehearse-bundle.tar.gz");
        let bundle = sample_bundle();
        let mut writer = BundleWriter::create(&path, &bundle).unwrap();
        writer
            .add(
                "files/etc/apache2/sites-available/shop.conf",
                b"<VirtualHost *:80>\n",
                0o644,
            )
            .unwrap();
        let dump = dir.path().join("dump.sql");
        std::fs::write(&dump, "CREATE TABLE t (id int);\n").unwrap();
        writer.add_file("db/mariadb-schema.sql", &dump).unwrap();
        writer.finish().unwrap();

        let read = read_bundle(&path).unwrap();
        assert_eq!(read.bundle, bundle);
        assert_eq!(
            read.file("/etc/apache2/sites-available/shop.conf"),
            Some(b"<VirtualHost *:80>\n".as_slice())
        );
        assert_eq!(
            read.entries.keys().collect::<Vec<_>>(),
            [
                "db/mariadb-schema.sql",
                "files/etc/apache2/sites-available/shop.conf"
            ]
        );
        // An existing file is never overwritten.
        assert!(BundleWriter::create(&path, &bundle).is_err());
    }

    #[test]
    fn another_format_is_refused_with_a_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.tar.gz");
        let mut bundle = sample_bundle();
        bundle.format = 99;
        BundleWriter::create(&path, &bundle)
            .unwrap()
            .finish()
            .unwrap();
        let error = read_bundle(&path).unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "`{}` is bundle format 99, this rehearse reads format 1; capture it again with this version",
                path.display()
            )
        );
    }
}
