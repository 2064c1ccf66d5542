//! systemd and the services it runs.

use super::{FindingKind, When};
use crate::model::Severity;

pub const SYSTEMD_DEGRADED: FindingKind = FindingKind {
    key: "systemd.degraded",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::Boot,
    trigger: "units failed at boot (`systemctl --failed`)",
    remediation: "inspect the failed units (`systemctl --failed`, `journalctl -u UNIT`) and fix or disable them",
};

pub const SERVICE_NOT_RUNNING: FindingKind = FindingKind {
    key: "service.not-running",
    severity: Severity::High,
    inhibitor: true,
    when: When::AfterHop,
    trigger: "a service enabled and running before, still enabled, is not running after the reboot; the evidence gives each unit's last journal lines of this boot, and its program when that is gone, naming the package that shipped it when the upgrade removed it",
    remediation: "look at `systemctl status UNIT` and `journalctl -b -u UNIT`; fix the configuration or the package the service now comes from",
};

pub const SERVICE_DISABLED: FindingKind = FindingKind {
    key: "service.disabled",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "a service enabled and running before was disabled by the upgrade; its unit file is still there",
    remediation: "check why (`/etc/default/…`, the package's NEWS) and enable the service again (`systemctl enable --now UNIT`) if it is needed",
};

pub const SERVICE_REMOVED: FindingKind = FindingKind {
    key: "service.removed",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "a service that ran before has no unit file left (nor a template for its instance), and nothing like it runs",
    remediation: "find which package provides that function on the new release and install and enable it",
};

pub const SERVICE_REPLACED: FindingKind = FindingKind {
    key: "service.replaced",
    severity: Severity::Info,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "a service replaced by its new version (`php8.2-fpm` → `php8.4-fpm`)",
    remediation: "check that configuration made for the old unit (drop-ins, pools, sockets named after the version) was carried over",
};
