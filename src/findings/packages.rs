//! Packages and their configuration files after a hop.

use super::{FindingKind, When};
use crate::model::Severity;

pub const PROTECTED_REMOVED: FindingKind = FindingKind {
    key: "packages.protected-removed",
    severity: Severity::High,
    inhibitor: true,
    when: When::AfterHop,
    trigger: "a package the step's `protect` lists is gone after the hop",
    remediation: "find what conflicts with them (`apt-get -s full-upgrade`), install their successors explicitly, or hold back the upgrade",
};

pub const CONFFILES_PENDING: FindingKind = FindingKind {
    key: "conffiles.pending",
    severity: Severity::Low,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "new `.dpkg-dist`, `.dpkg-new`, `.dpkg-old` or `.ucf-*` files under `/etc`",
    remediation: "compare each with the active file (`diff -u FILE FILE.dpkg-dist`) and merge what the new release needs, then remove the copy",
};

pub const PACKAGES_CONFIG_ONLY: FindingKind = FindingKind {
    key: "packages.config-only",
    severity: Severity::Low,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "packages newly left in `rc` state (removed, configuration kept)",
    remediation: "check that nothing still uses their configuration, then purge them (`apt-get purge PACKAGE`)",
};

pub const PACKAGES_KEPT_BACK: FindingKind = FindingKind {
    key: "packages.kept-back",
    severity: Severity::High,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "installed packages the new release has a newer version of (`apt list --upgradable`): held ones marked `(held)`, each with the version kept and the new release's",
    remediation: "release the holds (`apt-mark unhold PACKAGE`) and run `apt-get full-upgrade` again, or make sure the old versions work on the new release; `apt-get -s full-upgrade` shows what keeps the others back",
};

pub const PACKAGES_OBSOLETE: FindingKind = FindingKind {
    key: "packages.obsolete",
    severity: Severity::Low,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "installed packages no configured source provides (`[installed,local]`)",
    remediation: "check whether they are still needed; remove them or find their successors (`apt list '~o'`)",
};
