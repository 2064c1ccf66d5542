//! Writing an import: `images/<name>/recipe.yaml`, the captured files under
//! `images/<name>/files/` with their modes and links, and `scenarios/<name>.yaml`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::ImportError;
use crate::capture::ReadBundle;
use crate::capture::bundle::FileKind;

/// Where an import goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportTargets {
    pub recipe_dir: PathBuf,
    pub scenario: PathBuf,
}

impl ImportTargets {
    pub fn new(images_dir: &Path, scenarios_dir: &Path, name: &str) -> Self {
        ImportTargets {
            recipe_dir: images_dir.join(name),
            scenario: scenarios_dir.join(format!("{name}.yaml")),
        }
    }

    /// Refuse to replace an earlier import unless `force`.
    pub fn check_free(&self, force: bool) -> Result<(), ImportError> {
        if force {
            return Ok(());
        }
        for path in [&self.recipe_dir, &self.scenario] {
            if path.exists() {
                return Err(ImportError::Exists { path: path.clone() });
            }
        }
        Ok(())
    }
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> ImportError + use<> {
    let path = path.to_path_buf();
    move |source| ImportError::Write { path, source }
}

/// Write the recipe, its files and the scenario.
pub fn write_import(
    targets: &ImportTargets,
    read: &ReadBundle,
    recipe: &str,
    scenario: &str,
) -> Result<(), ImportError> {
    let files_dir = targets.recipe_dir.join("files");
    if files_dir.exists() {
        // A forced re-import replaces the captured files it wrote before.
        std::fs::remove_dir_all(&files_dir).map_err(write_error(&files_dir))?;
    }
    std::fs::create_dir_all(&targets.recipe_dir).map_err(write_error(&targets.recipe_dir))?;
    let mut dirs = Vec::new();
    let mut links = Vec::new();
    for (index, file) in read.bundle.files.iter().enumerate() {
        // Under `files/` and nowhere else: no `..`, no absolute part (checked again
        // here, whoever called), and no link exists yet to write through.
        let parts =
            super::validate::confined_path(&file.path).ok_or_else(|| super::InvalidValue {
                field: format!("files[{index}].path"),
                value: file.path.clone(),
                expected: "an absolute path without `.`, `..` or empty parts",
            })?;
        let local = parts
            .iter()
            .fold(files_dir.clone(), |path, part| path.join(part));
        if let Some(parent) = local.parent() {
            std::fs::create_dir_all(parent).map_err(write_error(parent))?;
        }
        // Permission bits only: no set-user-id, set-group-id or sticky bit from a bundle.
        let mode = file.mode & 0o777;
        match file.kind {
            FileKind::Dir => {
                std::fs::create_dir_all(&local).map_err(write_error(&local))?;
                dirs.push((local, mode));
            }
            FileKind::File => {
                let data = read
                    .file(&file.path)
                    .ok_or_else(|| ImportError::MissingContents {
                        path: file.path.clone(),
                    })?;
                // A new file each: a path listed twice is refused, not written through.
                let mut out = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&local)
                    .map_err(write_error(&local))?;
                std::io::Write::write_all(&mut out, data).map_err(write_error(&local))?;
                std::fs::set_permissions(&local, std::fs::Permissions::from_mode(mode))
                    .map_err(write_error(&local))?;
            }
            FileKind::Link => links.push((local, file.target.clone().unwrap_or_default())),
        }
    }
    // Links last: nothing is written after them, so nothing goes through one.
    for (local, target) in links {
        std::os::unix::fs::symlink(&target, &local).map_err(write_error(&local))?;
    }
    // Folder modes last, deepest first: a read-only folder must not stop its contents.
    for (dir, mode) in dirs.iter().rev() {
        // Owner access is kept so this folder can be rewritten (`--force`); the host's
        // root had it anyway, whatever the mode said.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o700))
            .map_err(write_error(dir))?;
    }
    let recipe_path = targets.recipe_dir.join("recipe.yaml");
    std::fs::write(&recipe_path, recipe).map_err(write_error(&recipe_path))?;
    if let Some(parent) = targets.scenario.parent() {
        std::fs::create_dir_all(parent).map_err(write_error(parent))?;
    }
    std::fs::write(&targets.scenario, scenario).map_err(write_error(&targets.scenario))?;
    Ok(())
}
