//! APT and dpkg: the package system's state and sources.

use super::{FindingKind, When};
use crate::model::Severity;

pub const HELD_PACKAGES: FindingKind = FindingKind {
    key: "apt.held-packages",
    severity: Severity::High,
    inhibitor: true,
    when: When::BeforeUpgrade,
    trigger: "`apt-mark showhold` lists packages",
    remediation: "release the holds (`apt-mark unhold PACKAGE`) or make sure the held versions work on the new release",
};

pub const DPKG_AUDIT: FindingKind = FindingKind {
    key: "dpkg.audit",
    severity: Severity::High,
    inhibitor: true,
    when: When::BeforeUpgrade,
    trigger: "`dpkg --audit` reports half-installed or unconfigured packages",
    remediation: "finish or undo the pending package operations (`dpkg --configure -a`, `apt-get -f install`) before upgrading",
};

pub const STALE_SECURITY_SUITE: FindingKind = FindingKind {
    key: "apt.stale-security-suite",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::DuringUpgrade,
    trigger: "a `<release>/updates` security entry on bullseye or later (it fetches nothing)",
    remediation: "use `<release>-security` (the rehearsal rewrote it for the upgrade)",
};

pub const SOURCE_OLD_RELEASE: FindingKind = FindingKind {
    key: "apt.source-old-release",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::DuringUpgrade,
    trigger: "an APT source not from Debian still names the old release after the rewrite; apt's fetch errors for it join the evidence",
    remediation: "check that each vendor publishes a repository for the new release, switch to it, or disable the source during the upgrade",
};

pub const UPGRADE_FAILED: FindingKind = FindingKind {
    key: "upgrade.failed",
    severity: Severity::High,
    inhibitor: true,
    when: When::DuringUpgrade,
    trigger: "an apt command of the upgrade failed; its `E:` and dpkg error lines, with the reason dpkg gives under each, are the evidence",
    remediation: "read the upgrade log in the report folder; fix the failing package's cause on the real host before upgrading",
};

pub const DISK_SPACE_SHORT: FindingKind = FindingKind {
    key: "disk.space-short",
    severity: Severity::High,
    inhibitor: true,
    when: When::DuringUpgrade,
    trigger: "once the new release's lists are in, apt's estimate (download, then growth of the installed system) is more than `df` shows free where the archives go and where they are unpacked; the upgrade log records the estimate on every hop",
    remediation: "free space (`apt-get clean`, old kernels, logs) or grow the filesystem before upgrading; compare the estimate in the upgrade log with the real host's `df`, since the replica's disk is not the host's",
};
