//! The host's release, name, architecture and `/usr` layout, read from its files.

use std::collections::HashMap;
use std::path::Path;

use super::bundle::{OsRelease, Package};

/// The fields of an `os-release` file that say which release this is.
pub fn parse_os_release(text: &str) -> OsRelease {
    let mut release = OsRelease::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value
            .trim()
            .trim_matches('"')
            .trim_matches('\'')
            .to_string();
        match key.trim() {
            "ID" => release.id = value,
            "VERSION_ID" => release.version_id = value,
            "VERSION_CODENAME" => release.version_codename = value,
            "PRETTY_NAME" => release.pretty_name = value,
            _ => {}
        }
    }
    release
}

/// Whether `/bin`, `/sbin` and `/lib` are links into `/usr` (merged `/usr`).
pub fn usr_merged(root: &Path) -> bool {
    ["bin", "sbin", "lib"].iter().all(|dir| {
        std::fs::read_link(root.join(dir)).is_ok_and(|target| {
            target.to_string_lossy().trim_start_matches('/') == format!("usr/{dir}")
        })
    })
}

/// The host's name: `/etc/hostname`, else the kernel's.
pub fn hostname(root: &Path) -> String {
    [
        root.join("etc/hostname"),
        root.join("proc/sys/kernel/hostname"),
    ]
    .iter()
    .filter_map(|path| std::fs::read_to_string(path).ok())
    .map(|name| name.trim().to_string())
    .find(|name| !name.is_empty())
    .unwrap_or_else(|| "host".to_string())
}

/// dpkg's native architecture: that of the `dpkg` package itself.
pub fn architecture(packages: &[Package]) -> String {
    packages
        .iter()
        .find(|p| p.name == "dpkg")
        .map(|p| p.architecture.clone())
        .unwrap_or_else(|| std::env::consts::ARCH.replace("x86_64", "amd64"))
}

/// Numeric id → name, from an `/etc/passwd` or `/etc/group` file.
pub fn id_names(text: &str) -> HashMap<u32, String> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let id = fields.nth(1)?.parse().ok()?;
            Some((id, name.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_fields() {
        let text = r#"PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
"#;
        assert_eq!(
            parse_os_release(text),
            OsRelease {
                id: "debian".into(),
                version_id: "12".into(),
                version_codename: "bookworm".into(),
                pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
            }
        );
    }

    #[test]
    fn merged_usr_needs_every_link() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["bin", "sbin"] {
            std::os::unix::fs::symlink(format!("usr/{name}"), dir.path().join(name)).unwrap();
        }
        std::fs::create_dir(dir.path().join("lib")).unwrap();
        assert!(!usr_merged(dir.path()));
        std::fs::remove_dir(dir.path().join("lib")).unwrap();
        std::os::unix::fs::symlink("usr/lib", dir.path().join("lib")).unwrap();
        assert!(usr_merged(dir.path()));
    }

    #[test]
    fn ids_to_names() {
        let names = id_names(
            "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n",
        );
        assert_eq!(names[&33], "www-data");
        assert_eq!(names[&0], "root");
    }
}
