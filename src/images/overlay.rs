//! A recipe's `overlay:` folder, copied onto `/` of the image with its modes and
//! symbolic links (what `rehearse import` writes for a captured host's `/etc`).
//!
//! Links are kept as links and never followed, so a link pointing outside the recipe
//! folder (`/lib/systemd/system/apache2.service`) reads nothing from this machine.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::ImageError;
use super::context_entry::{ContextEntry, EntryKind};

/// Every entry under the overlay folder, sorted by path, as entries of the archive
/// unpacked onto `/` (paths relative to it).
pub fn read_overlay(recipe_dir: &Path, overlay: &Path) -> Result<Vec<ContextEntry>, ImageError> {
    let root = recipe_dir.join(overlay);
    let meta = std::fs::symlink_metadata(&root).map_err(io(&root))?;
    if !meta.is_dir() {
        return Err(ImageError::Io {
            path: root,
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the recipe's `overlay` must be a folder inside the recipe folder (not a link)",
            ),
        });
    }
    let mut entries = Vec::new();
    walk(&root, "", &mut entries)?;
    Ok(entries)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ImageError + use<> {
    let path = path.to_path_buf();
    move |source| ImageError::Io { path, source }
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<ContextEntry>) -> Result<(), ImageError> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let name = name.to_string_lossy().into_owned();
        let relative = format!("{prefix}{name}");
        let meta = std::fs::symlink_metadata(&path).map_err(io(&path))?;
        let mode = meta.permissions().mode() & 0o7777;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).map_err(io(&path))?;
            let target = target.to_string_lossy().into_owned();
            out.push(ContextEntry {
                path: relative.clone(),
                hashed_meta: Some(format!("link {target}")),
                kind: EntryKind::Link(target),
                data: Vec::new(),
                mode: 0o777,
            });
        } else if meta.is_dir() {
            out.push(ContextEntry {
                path: relative.clone(),
                kind: EntryKind::Dir,
                data: Vec::new(),
                mode,
                hashed_meta: Some(format!("dir {mode:o}")),
            });
            walk(&path, &format!("{relative}/"), out)?;
        } else if meta.is_file() {
            let data = std::fs::read(&path).map_err(io(&path))?;
            out.push(ContextEntry {
                path: relative.clone(),
                kind: EntryKind::File,
                data,
                mode,
                hashed_meta: Some(format!("file {mode:o}")),
            });
        }
        // Sockets, fifos and devices have no place in an image recipe: skipped.
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_modes_and_links_sorted_without_following_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("files/etc/app");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("b.conf"), "b").unwrap();
        std::fs::set_permissions(root.join("b.conf"), std::fs::Permissions::from_mode(0o640))
            .unwrap();
        std::os::unix::fs::symlink("/etc/shadow", root.join("a-link")).unwrap();
        let entries = read_overlay(dir.path(), Path::new("files")).unwrap();
        let summary: Vec<_> = entries
            .iter()
            .map(|e| (e.path.as_str(), e.kind.clone(), e.mode, e.data.len()))
            .collect();
        assert_eq!(
            summary,
            [
                ("etc", EntryKind::Dir, 0o755, 0),
                ("etc/app", EntryKind::Dir, 0o755, 0),
                (
                    "etc/app/a-link",
                    EntryKind::Link("/etc/shadow".into()),
                    0o777,
                    0
                ),
                ("etc/app/b.conf", EntryKind::File, 0o640, 1),
            ]
        );
    }
}
