//! The scenario files a command line names (`run` and `check`): files as given, and a
//! folder replaced by the scenarios directly in it, sorted by path.

use std::path::{Path, PathBuf};

/// The files of a command line's scenario arguments, in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ScenarioFiles {
    /// Every file, in the order of the arguments; each folder's files sorted by path.
    pub files: Vec<PathBuf>,
    /// Whether any argument was a folder.
    pub any_folder: bool,
    /// Folders that cannot be read or hold no scenario, each ready to print.
    pub errors: Vec<String>,
}

impl ScenarioFiles {
    /// Expand the arguments. An argument that is not a folder is kept as a file, even
    /// one that does not exist: reading it says why it cannot be read, with the others'
    /// errors.
    pub fn expand(arguments: &[PathBuf]) -> Self {
        let mut expanded = ScenarioFiles::default();
        for argument in arguments {
            if !argument.is_dir() {
                expanded.files.push(argument.clone());
                continue;
            }
            expanded.any_folder = true;
            match scenarios_in(argument) {
                Ok(files) if files.is_empty() => expanded.errors.push(format!(
                    "error: folder `{}` holds no scenario: no `*.yaml` or `*.yml` file directly in it (subfolders are not searched); name the folder that holds them, or the files",
                    argument.display()
                )),
                Ok(files) => expanded.files.extend(files),
                Err(e) => expanded.errors.push(format!(
                    "error: cannot read folder `{}`: {e}",
                    argument.display()
                )),
            }
        }
        expanded
    }
}

/// The `*.yaml` and `*.yml` files directly in `dir` (links to files included; hidden
/// files and subfolders left out), sorted by path so that every CI job sees one order.
fn scenarios_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let scenario = !name.starts_with('.')
            && (name.ends_with(".yaml") || name.ends_with(".yml"))
            && path.is_file();
        if scenario {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::write(path, "").unwrap();
    }

    #[test]
    fn a_folder_is_its_yaml_files_sorted_without_subfolders_or_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in [
            "b.yml",
            "a.yaml",
            "c.yaml",
            "notes.md",
            ".hidden.yaml",
            "yaml",
        ] {
            touch(&root.join(name));
        }
        std::fs::create_dir(root.join("drills")).unwrap();
        touch(&root.join("drills/d.yaml"));
        std::fs::create_dir(root.join("folder.yaml")).unwrap();
        let expanded = ScenarioFiles::expand(&[root.to_path_buf()]);
        assert_eq!(
            expanded,
            ScenarioFiles {
                files: vec![root.join("a.yaml"), root.join("b.yml"), root.join("c.yaml")],
                any_folder: true,
                errors: vec![],
            }
        );
    }

    #[test]
    fn folders_and_files_mix_in_the_order_given() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("s")).unwrap();
        touch(&root.join("s/y.yaml"));
        touch(&root.join("s/x.yaml"));
        let expanded = ScenarioFiles::expand(&[
            root.join("z.yaml"),
            root.join("s"),
            PathBuf::from("missing.yaml"),
        ]);
        assert_eq!(
            expanded.files,
            [
                root.join("z.yaml"),
                root.join("s/x.yaml"),
                root.join("s/y.yaml"),
                PathBuf::from("missing.yaml")
            ]
        );
        assert!(expanded.errors.is_empty());
        let files_only = ScenarioFiles::expand(&[PathBuf::from("a.yaml")]);
        assert!(!files_only.any_folder);
    }

    #[test]
    fn an_empty_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("readme.txt"));
        let expanded = ScenarioFiles::expand(&[dir.path().to_path_buf()]);
        assert!(expanded.files.is_empty());
        assert_eq!(
            expanded.errors,
            [format!(
                "error: folder `{}` holds no scenario: no `*.yaml` or `*.yml` file directly in it (subfolders are not searched); name the folder that holds them, or the files",
                dir.path().display()
            )]
        );
    }
}
