//! Debian releases in order, and the one-release-at-a-time path of a major upgrade.

/// Releases `rehearse` knows, oldest first, with their major version numbers.
pub const RELEASES: &[(&str, u32)] = &[
    ("jessie", 8),
    ("stretch", 9),
    ("buster", 10),
    ("bullseye", 11),
    ("bookworm", 12),
    ("trixie", 13),
    ("forky", 14),
];

/// The major version of a codename.
pub fn version_of(codename: &str) -> Option<u32> {
    RELEASES
        .iter()
        .find(|(name, _)| *name == codename)
        .map(|(_, v)| *v)
}

/// The codename of a major version.
pub fn codename_of(version: u32) -> Option<&'static str> {
    RELEASES
        .iter()
        .find(|(_, v)| *v == version)
        .map(|(name, _)| *name)
}

pub fn codenames() -> impl Iterator<Item = &'static str> {
    RELEASES.iter().map(|(name, _)| *name)
}

/// One hop of an upgrade: from one release to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub from: &'static str,
    pub to: &'static str,
}

/// Why there is no upgrade path between two releases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpgradePathError {
    #[error("unknown Debian release `{codename}`")]
    UnknownRelease { codename: String },
    #[error(
        "the host runs Debian {from_version} (`{from}`), which is not older than the target `{to}` (Debian {to_version})"
    )]
    NotOlder {
        from: String,
        from_version: u32,
        to: String,
        to_version: u32,
    },
}

/// The hops from `from` to `to`, one release at a time, as Debian supports.
pub fn upgrade_path(from: &str, to: &str) -> Result<Vec<Hop>, UpgradePathError> {
    let known = |codename: &str| {
        version_of(codename).ok_or_else(|| UpgradePathError::UnknownRelease {
            codename: codename.to_string(),
        })
    };
    let start = known(from)?;
    let end = known(to)?;
    if end <= start {
        return Err(UpgradePathError::NotOlder {
            from: from.to_string(),
            from_version: start,
            to: to.to_string(),
            to_version: end,
        });
    }
    Ok((start..end)
        .map(|v| Hop {
            from: codename_of(v).expect("versions between known releases are known"),
            to: codename_of(v + 1).expect("versions between known releases are known"),
        })
        .collect())
}

/// The security suite of a release: `<codename>/updates` until buster,
/// `<codename>-security` from bullseye on.
pub fn security_suite(codename: &str) -> String {
    if version_of(codename).is_some_and(|v| v <= 10) {
        format!("{codename}/updates")
    } else {
        format!("{codename}-security")
    }
}

/// Whether a release splits firmware into the `non-free-firmware` component (bookworm on).
pub fn has_non_free_firmware(codename: &str) -> bool {
    version_of(codename).is_some_and(|v| v >= 12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hop() {
        assert_eq!(
            upgrade_path("bullseye", "bookworm").unwrap(),
            [Hop {
                from: "bullseye",
                to: "bookworm"
            }]
        );
    }

    #[test]
    fn multi_hop_goes_one_release_at_a_time() {
        assert_eq!(
            upgrade_path("buster", "trixie").unwrap(),
            [
                Hop {
                    from: "buster",
                    to: "bullseye"
                },
                Hop {
                    from: "bullseye",
                    to: "bookworm"
                },
                Hop {
                    from: "bookworm",
                    to: "trixie"
                },
            ]
        );
    }

    #[test]
    fn no_downgrade_no_sideways_no_unknown() {
        assert!(
            upgrade_path("bookworm", "bookworm")
                .unwrap_err()
                .to_string()
                .contains("not older")
        );
        assert!(upgrade_path("trixie", "bullseye").is_err());
        assert_eq!(
            upgrade_path("sid", "trixie").unwrap_err().to_string(),
            "unknown Debian release `sid`"
        );
    }

    #[test]
    fn security_suite_naming_changed_in_bullseye() {
        assert_eq!(security_suite("buster"), "buster/updates");
        assert_eq!(security_suite("bullseye"), "bullseye-security");
        assert!(!has_non_free_firmware("bullseye"));
        assert!(has_non_free_firmware("bookworm"));
    }
}
