//! The selected configuration trees (`/etc/apache2`...): every file, folder and link
//! with its mode and owner; secrets never copied or redacted; big files skipped.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::bundle::{CapturedFile, FileKind, Redaction, SkippedFile};
use super::redaction;

/// The trees captured when `--etc` is not given (those that exist).
pub const DEFAULT_TREES: &[&str] = &[
    "/etc/apache2",
    "/etc/nginx",
    "/etc/php",
    "/etc/mysql",
    "/etc/postgresql",
    "/etc/cron.d",
    "/etc/systemd/system",
];

/// How trees are read.
#[derive(Debug, Clone)]
pub struct TreeRules {
    /// Redact secret values (off with `--no-redact`; never-copied files stay out).
    pub redact: bool,
    /// Largest file copied, in bytes.
    pub max_file_size: u64,
    pub users: HashMap<u32, String>,
    pub groups: HashMap<u32, String>,
}

/// What the trees gave.
#[derive(Debug, Default)]
pub struct TreeCapture {
    pub files: Vec<CapturedFile>,
    /// Contents of regular files, by absolute path.
    pub contents: Vec<(String, Vec<u8>)>,
    pub skipped: Vec<SkippedFile>,
    pub redactions: Vec<Redaction>,
}

impl TreeCapture {
    /// Read one tree (`/etc/apache2`) of the host whose root is `root`.
    pub fn add_tree(&mut self, root: &Path, tree: &str, rules: &TreeRules) {
        let local = root.join(tree.trim_start_matches('/'));
        self.add_path(&local, tree, rules);
    }

    fn skip(&mut self, path: &str, reason: impl Into<String>) {
        self.skipped.push(SkippedFile {
            path: path.to_string(),
            reason: reason.into(),
        });
    }

    fn add_path(&mut self, local: &Path, path: &str, rules: &TreeRules) {
        let meta = match std::fs::symlink_metadata(local) {
            Ok(meta) => meta,
            Err(e) => return self.skip(path, format!("unreadable: {e}")),
        };
        let owner = |id: u32, names: &HashMap<u32, String>| {
            names.get(&id).cloned().unwrap_or_else(|| id.to_string())
        };
        let mut record = CapturedFile {
            path: path.to_string(),
            kind: FileKind::File,
            mode: meta.mode() & 0o7777,
            owner: owner(meta.uid(), &rules.users),
            group: owner(meta.gid(), &rules.groups),
            size: 0,
            target: None,
        };
        if path.rsplit('/').next() == Some(crate::engine::keep_etc::UNIT) {
            // Put there by rehearse when the captured machine is itself a replica.
            return self.skip(path, "rehearse's own keeper of /etc files, not the host's");
        }
        if let Some(reason) = redaction::never_copied(path, None) {
            return self.skip(path, format!("never copied: {reason}"));
        }
        let file_type = meta.file_type();
        if file_type.is_symlink() {
            match std::fs::read_link(local) {
                Ok(target) => {
                    record.kind = FileKind::Link;
                    record.target = Some(target.to_string_lossy().into_owned());
                    self.files.push(record);
                }
                Err(e) => self.skip(path, format!("unreadable link: {e}")),
            }
        } else if file_type.is_dir() {
            record.kind = FileKind::Dir;
            let entries = match std::fs::read_dir(local) {
                Ok(entries) => entries,
                Err(e) => return self.skip(path, format!("unreadable folder: {e}")),
            };
            self.files.push(record);
            let mut names: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name())
                .collect();
            names.sort();
            for name in names {
                let child = format!("{path}/{}", name.to_string_lossy());
                self.add_path(&local.join(&name), &child, rules);
            }
        } else if file_type.is_file() {
            if meta.len() > rules.max_file_size {
                return self.skip(
                    path,
                    format!(
                        "larger than the limit ({} bytes > {} bytes; raise --max-file-size)",
                        meta.len(),
                        rules.max_file_size
                    ),
                );
            }
            let data = match std::fs::read(local) {
                Ok(data) => data,
                Err(e) => return self.skip(path, format!("unreadable: {e}")),
            };
            if let Some(reason) = redaction::never_copied(path, Some(&data)) {
                return self.skip(path, format!("never copied: {reason}"));
            }
            let data = match (rules.redact, String::from_utf8(data)) {
                (true, Ok(text)) => {
                    let (redacted, found) = redaction::redact_text(&text);
                    self.redactions
                        .extend(found.into_iter().map(|(line, key)| Redaction {
                            file: path.to_string(),
                            line,
                            key,
                        }));
                    redacted.into_bytes()
                }
                (_, Ok(text)) => text.into_bytes(),
                (_, Err(binary)) => binary.into_bytes(),
            };
            record.size = data.len() as u64;
            self.files.push(record);
            self.contents.push((path.to_string(), data));
        } else {
            self.skip(path, "not a regular file, folder or link");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn rules(redact: bool) -> TreeRules {
        TreeRules {
            redact,
            max_file_size: 64,
            users: HashMap::new(),
            groups: HashMap::new(),
        }
    }

    #[test]
    fn files_links_secrets_and_limits() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc/app");
        std::fs::create_dir_all(etc.join("conf.d")).unwrap();
        std::fs::write(etc.join("app.conf"), "user = app\npassword = s3cret\n").unwrap();
        std::fs::set_permissions(etc.join("app.conf"), std::fs::Permissions::from_mode(0o640))
            .unwrap();
        std::fs::write(etc.join("server.key"), "key").unwrap();
        std::fs::write(etc.join("big.txt"), "x".repeat(65)).unwrap();
        std::os::unix::fs::symlink("../app.conf", etc.join("conf.d/link.conf")).unwrap();
        let mut capture = TreeCapture::default();
        capture.add_tree(dir.path(), "/etc/app", &rules(true));
        let files: Vec<_> = capture
            .files
            .iter()
            .map(|f| {
                (
                    f.path.as_str(),
                    f.kind.clone(),
                    f.mode,
                    f.size,
                    f.target.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            files,
            [
                ("/etc/app", FileKind::Dir, 0o755, 0, None),
                ("/etc/app/app.conf", FileKind::File, 0o640, 33, None),
                ("/etc/app/conf.d", FileKind::Dir, 0o755, 0, None),
                (
                    "/etc/app/conf.d/link.conf",
                    FileKind::Link,
                    0o777,
                    0,
                    Some("../app.conf")
                ),
            ]
        );
        assert_eq!(
            capture.contents,
            [(
                "/etc/app/app.conf".to_string(),
                b"user = app\npassword = <redacted>\n".to_vec()
            )]
        );
        assert_eq!(
            capture.redactions,
            [Redaction {
                file: "/etc/app/app.conf".into(),
                line: 2,
                key: "password".into()
            }]
        );
        let skipped: Vec<_> = capture
            .skipped
            .iter()
            .map(|s| format!("{}: {}", s.path, s.reason))
            .collect();
        assert_eq!(
            skipped,
            [
                "/etc/app/big.txt: larger than the limit (65 bytes > 64 bytes; raise --max-file-size)",
                "/etc/app/server.key: never copied: private key (*.key)",
            ]
        );

        let mut plain = TreeCapture::default();
        plain.add_tree(dir.path(), "/etc/app", &rules(false));
        assert!(plain.redactions.is_empty());
        assert!(String::from_utf8_lossy(&plain.contents[0].1).contains("s3cret"));
    }
}
