//! The first stage on this machine: the files of every package, unpacked from each
//! `.deb`'s `data.tar.*` into one root filesystem tar, merged-`/usr` (`/bin`, `/sbin`,
//! `/lib*` are links into `/usr`, and what a package puts there goes under `/usr`), with
//! an empty package database and the `.deb`s themselves in apt's archive folder for
//! the second stage to install with `dpkg`, as debootstrap's second stage does.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Top-level folders that merged-`/usr` turns into links on this architecture: the
/// list debootstrap (and mmdebstrap) use.
fn merged_dirs(arch: &str) -> &'static [&'static str] {
    match arch {
        "amd64" | "x32" => &["bin", "sbin", "lib", "lib32", "lib64", "libx32"],
        "i386" => &["bin", "sbin", "lib", "lib64", "libx32"],
        "mips" | "mipsel" | "ppc64" | "sparc64" => &["bin", "sbin", "lib", "lib32", "lib64"],
        "mips64el" => &["bin", "sbin", "lib", "lib32", "lib64", "libo32"],
        "powerpc" | "ppc64el" | "sparc" => &["bin", "sbin", "lib", "lib64"],
        "s390x" => &["bin", "sbin", "lib", "lib32"],
        _ => &["bin", "sbin", "lib"],
    }
}

/// Where the `.deb`s wait for the second stage.
pub const ARCHIVES: &str = "var/cache/apt/archives";

/// Writes the first-stage root filesystem.
pub struct Rootfs {
    builder: tar::Builder<Vec<u8>>,
    dirs: BTreeSet<PathBuf>,
    merged: &'static [&'static str],
    mtime: u64,
}

impl Rootfs {
    pub fn new(arch: &str) -> std::io::Result<Self> {
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut rootfs = Rootfs {
            builder: tar::Builder::new(Vec::new()),
            dirs: BTreeSet::new(),
            merged: merged_dirs(arch),
            mtime,
        };
        for dir in [
            "usr",
            "var/lib/dpkg/info",
            "var/lib/dpkg/updates",
            ARCHIVES,
            "etc/apt",
        ] {
            rootfs.dir(Path::new(dir), 0o755)?;
        }
        for link in rootfs.merged {
            rootfs.dir(&Path::new("usr").join(link), 0o755)?;
            let mut header = rootfs.header(tar::EntryType::Symlink, 0o777);
            rootfs
                .builder
                .append_link(&mut header, link, format!("usr/{link}"))?;
        }
        for (path, body) in [
            ("var/lib/dpkg/status", String::new()),
            ("var/lib/dpkg/available", String::new()),
            ("var/lib/dpkg/arch", format!("{arch}\n")),
        ] {
            rootfs.file(path, body.as_bytes(), 0o644)?;
        }
        Ok(rootfs)
    }

    fn header(&self, kind: tar::EntryType, mode: u32) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(self.mtime);
        header.set_size(0);
        header
    }

    /// A folder and the ones above it, each once.
    fn dir(&mut self, path: &Path, mode: u32) -> std::io::Result<()> {
        let mut at = PathBuf::new();
        for component in path.components() {
            at.push(component);
            if self.dirs.insert(at.clone()) {
                let mut header = self.header(tar::EntryType::Directory, mode);
                self.builder
                    .append_data(&mut header, &at, std::io::empty())?;
            }
        }
        Ok(())
    }

    /// A file of our own.
    pub fn file(&mut self, path: &str, body: &[u8], mode: u32) -> std::io::Result<()> {
        let mut header = self.header(tar::EntryType::Regular, mode);
        header.set_size(body.len() as u64);
        self.builder.append_data(&mut header, path, body)
    }

    /// Unpack the files of `deb` (named `name` for messages) and keep the `.deb` itself
    /// for the second stage as `file_name`.
    pub fn add_deb(&mut self, name: &str, file_name: &str, deb: &[u8]) -> Result<(), String> {
        let data = data_tar(deb).map_err(|e| format!("`{name}`: {e}"))?;
        let mut archive = tar::Archive::new(data);
        let entries = archive
            .entries()
            .map_err(|e| format!("`{name}`: reading its files: {e}"))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("`{name}`: reading its files: {e}"))?;
            self.add_entry(entry)
                .map_err(|e| format!("`{name}`: unpacking: {e}"))?;
        }
        self.file(&format!("{ARCHIVES}/{file_name}"), deb, 0o644)
            .map_err(|e| format!("`{name}`: {e}"))
    }

    fn add_entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> std::io::Result<()> {
        let Some(path) = self.merged_path(&entry.path()?) else {
            return Ok(());
        };
        // `/bin` as the link into /usr that trixie's base-files ships: ours is made.
        if entry.header().entry_type().is_symlink()
            && self.merged.iter().any(|d| path == Path::new("usr").join(d))
        {
            return Ok(());
        }
        let mut header = entry.header().clone();
        let kind = header.entry_type();
        if kind.is_dir() {
            if let Some(parent) = path.parent() {
                self.dir(parent, 0o755)?;
            }
            if self.dirs.insert(path.clone()) {
                header.set_size(0);
                self.builder
                    .append_data(&mut header, &path, std::io::empty())?;
            }
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            self.dir(parent, 0o755)?;
        }
        match kind {
            tar::EntryType::Symlink => {
                let target = entry.link_name()?.unwrap_or_default().into_owned();
                self.builder.append_link(&mut header, &path, target)
            }
            tar::EntryType::Link => {
                let target = entry.link_name()?.unwrap_or_default().into_owned();
                let target = self.merged_path(&target).unwrap_or(target);
                self.builder.append_link(&mut header, &path, target)
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                self.builder.append_data(&mut header, &path, &mut entry)
            }
            // Nothing else (devices, fifos) belongs in a package's files.
            _ => Ok(()),
        }
    }

    /// `./bin/ls` → `usr/bin/ls`; `./` and anything leaving the root → `None`.
    fn merged_path(&self, path: &Path) -> Option<PathBuf> {
        let mut parts = Vec::new();
        for component in path.components() {
            match component {
                Component::Normal(part) => parts.push(part),
                Component::CurDir => {}
                _ => return None,
            }
        }
        let first = parts.first()?.to_str()?;
        let mut out = PathBuf::new();
        if self.merged.contains(&first) {
            out.push("usr");
        }
        out.extend(parts);
        Some(out)
    }

    pub fn finish(self) -> std::io::Result<Vec<u8>> {
        self.builder.into_inner()
    }
}

impl std::fmt::Debug for Rootfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rootfs")
            .field("dirs", &self.dirs.len())
            .finish()
    }
}

/// The decompressed `data.tar` of a `.deb`.
fn data_tar(deb: &[u8]) -> Result<Box<dyn Read + '_>, String> {
    let mut archive = ar::Archive::new(deb);
    while let Some(entry) = archive.next_entry() {
        let entry = entry.map_err(|e| format!("not a .deb: {e}"))?;
        let id = String::from_utf8_lossy(entry.header().identifier()).into_owned();
        let id = id.trim_end_matches('/');
        if !id.starts_with("data.tar") {
            continue;
        }
        // The member's bytes, by offset: `ar` entries borrow the archive.
        let mut body = Vec::with_capacity(entry.header().size() as usize);
        let mut entry = entry;
        entry
            .read_to_end(&mut body)
            .map_err(|e| format!("reading {id}: {e}"))?;
        let reader: Box<dyn Read> = match id {
            "data.tar.xz" => Box::new(liblzma::read::XzDecoder::new(std::io::Cursor::new(body))),
            "data.tar.gz" => Box::new(flate2::read::GzDecoder::new(std::io::Cursor::new(body))),
            "data.tar" => Box::new(std::io::Cursor::new(body)),
            other => {
                return Err(format!(
                    "its files are in `{other}`, a compression rehearse cannot read"
                ));
            }
        };
        return Ok(reader);
    }
    Err("no data.tar member: not a .deb".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deb(files: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut data = tar::Builder::new(Vec::new());
        for (path, kind, content) in files {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(0o755);
            header.set_size(0);
            match kind {
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    data.append_link(&mut header, path, content).unwrap()
                }
                _ => {
                    header.set_size(content.len() as u64);
                    data.append_data(&mut header, path, content.as_bytes())
                        .unwrap()
                }
            }
        }
        let data = data.into_inner().unwrap();
        let mut compressed = Vec::new();
        liblzma::read::XzEncoder::new(data.as_slice(), 1)
            .read_to_end(&mut compressed)
            .unwrap();
        let mut deb = ar::Builder::new(Vec::new());
        for (name, body) in [
            ("debian-binary", b"2.0\n".to_vec()),
            ("control.tar.xz", Vec::new()),
            ("data.tar.xz", compressed),
        ] {
            let header = ar::Header::new(name.as_bytes().to_vec(), body.len() as u64);
            deb.append(&header, body.as_slice()).unwrap();
        }
        deb.into_inner().unwrap()
    }

    #[test]
    fn files_land_merged_under_usr_with_the_deb_kept() {
        let deb = deb(&[
            ("./", tar::EntryType::Directory, ""),
            ("./bin/", tar::EntryType::Directory, ""),
            ("./bin/sh", tar::EntryType::Symlink, "dash"),
            ("./lib64", tar::EntryType::Symlink, "usr/lib64"),
            ("./bin/dash", tar::EntryType::Regular, "#!dash"),
            ("./sbin/x", tar::EntryType::Link, "./bin/dash"),
            (
                "./usr/share/doc/dash/copyright",
                tar::EntryType::Regular,
                "c",
            ),
        ]);
        let mut rootfs = Rootfs::new("amd64").unwrap();
        rootfs.add_deb("dash", "dash_1_amd64.deb", &deb).unwrap();
        let tar = rootfs.finish().unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let link = entry
                .link_name()
                .unwrap()
                .map(|l| l.to_string_lossy().into_owned());
            seen.push((path, link));
        }
        let has = |path: &str, link: Option<&str>| {
            seen.iter()
                .any(|(p, l)| p.trim_end_matches('/') == path && l.as_deref() == link)
        };
        assert!(has("bin", Some("usr/bin")), "{seen:?}");
        assert!(has("lib64", Some("usr/lib64")));
        // trixie's base-files ships the links itself: ours stand, not a link in /usr.
        assert!(!has("usr/lib64", Some("usr/lib64")));
        assert!(has("usr/bin/sh", Some("dash")));
        assert!(has("usr/bin/dash", None));
        assert!(has("usr/sbin/x", Some("usr/bin/dash")));
        assert!(has("usr/share/doc/dash/copyright", None));
        assert!(has("var/lib/dpkg/status", None));
        assert!(has("var/cache/apt/archives/dash_1_amd64.deb", None));
        // A path leaving the root is dropped (the tar crate cannot even write one).
        assert_eq!(rootfs_paths("../escape"), None);
        assert_eq!(rootfs_paths("./lib/x"), Some("usr/lib/x".into()));
        // Each folder once.
        let usr_bin = seen
            .iter()
            .filter(|(p, _)| p.trim_end_matches('/') == "usr/bin")
            .count();
        assert_eq!(usr_bin, 1);
    }

    fn rootfs_paths(path: &str) -> Option<String> {
        let rootfs = Rootfs::new("amd64").unwrap();
        rootfs
            .merged_path(Path::new(path))
            .map(|p| p.to_string_lossy().into_owned())
    }

    #[test]
    fn a_deb_without_data_is_refused() {
        let mut rootfs = Rootfs::new("amd64").unwrap();
        let error = rootfs.add_deb("x", "x.deb", b"not an ar").unwrap_err();
        assert!(error.starts_with("`x`:"), "{error}");
    }
}
