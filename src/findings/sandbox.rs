//! About the replica rather than the real host: where the two would differ.

use super::{FindingKind, When};
use crate::model::Severity;

pub const USR_NOT_MERGED: FindingKind = FindingKind {
    key: "sandbox.usr-not-merged",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::BeforeUpgrade,
    trigger: "`/bin`, `/sbin` or `/lib` is not a link into `/usr` (upgrading to bookworm or later): the real host converts with `usrmerge`, the replica's overlay cannot",
    remediation: "on the real host, install `usrmerge` before the upgrade and reboot; rebuild the replica from a merged-/usr image to rehearse the rest",
};

pub const UNIT_CONDITION_UNMET: FindingKind = FindingKind {
    key: "sandbox.unit-condition-unmet",
    severity: Severity::Low,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "a service enabled and running before the hop was skipped after it because of a condition no container meets (`ConditionCapability`, `ConditionVirtualization`), e.g. ntpsec's `CAP_SYS_TIME`: on the real host it starts",
    remediation: "nothing to change for the replica; on the real host, check the service after the upgrade (`systemctl status UNIT`)",
};
