//! Every kind of finding a rehearsal can report, declared once: its stable key, severity,
//! whether it inhibits the change, what makes it fire and what to do about it. The checks
//! build their findings from these declarations ([`FindingKind::found`]), and
//! `rehearse findings` and the book's list of findings are generated from [`ALL`], so
//! neither can drift from the code.
//!
//! A new kind is one declaration in the file of its area, added to [`ALL`]. A check of
//! the host around a hop of an upgrade (most of what Debian's release notes warn about)
//! is one module under `checks/`: its kind, the facts it reads and how it judges them
//! ([`HostCheck`]), added to [`ALL`] and [`CHECKS`]. The [`catalogue`] says which item of
//! the release notes each one covers.

mod apt;
pub mod catalogue;
mod checks;
mod host_check;
mod packages;
mod sandbox;
mod services;
mod stack;

pub use host_check::{Facts, Found, HostCheck, for_hop, hop_script, judge_hop};

pub use apt::*;
pub use packages::*;
pub use sandbox::*;
pub use services::*;
pub use stack::*;

use crate::model::{Finding, Severity};

/// One kind of finding, as the checks raise it and the docs list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindingKind {
    /// Stable identifier (`area.what`), for scripts, gates and `rehearse diff`.
    pub key: &'static str,
    pub severity: Severity,
    /// An inhibitor forces NO-GO: the change must not go ahead as it is.
    pub inhibitor: bool,
    /// When the check runs.
    pub when: When,
    /// What the check reads and what makes it fire.
    pub trigger: &'static str,
    /// What to do about it; a check may word a more precise one (`found_with`).
    pub remediation: &'static str,
}

/// When a check runs in a rehearsal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum When {
    /// Each time a host boots (provision, reboot).
    Boot,
    /// Before the upgrade changes anything.
    BeforeUpgrade,
    /// While the upgrade runs (the sources' rewrite, apt itself).
    DuringUpgrade,
    /// After each hop of an upgrade and its reboot.
    AfterHop,
    /// At the end of the run, over what the application logged since the upgrade.
    EndOfRun,
    /// During a reverse-proxy cutover.
    Cutover,
}

impl When {
    pub fn as_str(self) -> &'static str {
        match self {
            When::Boot => "each boot",
            When::BeforeUpgrade => "before the upgrade",
            When::DuringUpgrade => "during the upgrade",
            When::AfterHop => "after each hop",
            When::EndOfRun => "end of the run",
            When::Cutover => "cutover",
        }
    }
}

impl FindingKind {
    /// A finding of this kind on `host`, with the kind's remediation.
    pub fn found(&self, host: &str, message: String, evidence: Vec<String>) -> Finding {
        self.found_with(host, message, self.remediation.to_string(), evidence)
    }

    /// A finding of this kind with a remediation worded for the case at hand.
    pub fn found_with(
        &self,
        host: &str,
        message: String,
        remediation: String,
        evidence: Vec<String>,
    ) -> Finding {
        Finding {
            key: self.key.to_string(),
            severity: self.severity,
            inhibitor: self.inhibitor,
            host: Some(host.to_string()),
            message,
            remediation,
            evidence,
        }
    }
}

/// Every kind, in the order the docs list them: by when they are checked, then by key.
pub fn all() -> Vec<&'static FindingKind> {
    let mut kinds: Vec<&'static FindingKind> = ALL.to_vec();
    kinds.sort_by_key(|k| (k.when, k.key));
    kinds
}

/// Every kind of finding the checks can raise.
pub const ALL: &[&FindingKind] = &[
    &HELD_PACKAGES,
    &DPKG_AUDIT,
    &USR_NOT_MERGED,
    &UNIT_CONDITION_UNMET,
    &STALE_SECURITY_SUITE,
    &SOURCE_OLD_RELEASE,
    &UPGRADE_FAILED,
    &PROTECTED_REMOVED,
    &SERVICE_NOT_RUNNING,
    &SERVICE_DISABLED,
    &SERVICE_REMOVED,
    &SERVICE_REPLACED,
    &SYSTEMD_DEGRADED,
    &APACHE_CONFIGTEST_FAILED,
    &PHP_MODULE_MISSING,
    &PHP_NO_HANDLER,
    &PHP_FATAL_ERRORS,
    &MARIADB_NOT_RUNNING,
    &MARIADB_UPGRADE_NEEDED,
    &POSTGRESQL_OLD_CLUSTER,
    &CONFFILES_PENDING,
    &PACKAGES_CONFIG_ONLY,
    &PACKAGES_KEPT_BACK,
    &PACKAGES_OBSOLETE,
    &CUTOVER_CONFIGTEST_FAILED,
    &DISK_SPACE_SHORT,
    &checks::ssh_dsa_keys::KIND,
    &checks::ssh_pam_environment::KIND,
    &checks::lastlog::KIND,
    &checks::dovecot_config::KIND,
    &checks::apt_pins::KIND,
    &checks::non_debian::KIND,
    &checks::pip_system::KIND,
    &checks::resolved_split::KIND,
    &checks::rsyslog_files::KIND,
    &checks::sysctl_conf::KIND,
    &checks::firmware_component::KIND,
    &checks::ldap_tls::KIND,
    &checks::crypttab_plain::KIND,
    &checks::apt_sources_extra::PROPOSED_KIND,
    &checks::apt_sources_extra::BACKPORTS_KIND,
    &checks::gpgv::KIND,
    &checks::cryptsetup_split::KIND,
    &checks::tz_legacy::KIND,
    &checks::mariadb_shutdown::KIND,
    &checks::rabbitmq::DIRECT_KIND,
    &checks::rabbitmq::HA_KIND,
    &checks::slapd_backend::KIND,
    &checks::ntpsec::KIND,
    &checks::samba_vfs::KIND,
    &checks::puppet::KIND,
    &checks::adduser_conf::KIND,
    &checks::point_release::KIND,
    &checks::dash_circumflex::KIND,
    &checks::journal_remote_trust::KIND,
    &checks::rsyslog_timestamps::KIND,
    &checks::mariadb_versioned::KIND,
    &checks::bacula_catalog::KIND,
    &checks::libvirt_drivers::KIND,
    &checks::architecture::UNSUPPORTED_KIND,
    &checks::architecture::TIME_T_KIND,
];

/// Every check of the host around a hop; each one's kind is in [`ALL`] too.
pub const CHECKS: &[&HostCheck] = &[
    &checks::ssh_dsa_keys::CHECK,
    &checks::ssh_pam_environment::CHECK,
    &checks::lastlog::CHECK,
    &checks::dovecot_config::CHECK,
    &checks::apt_pins::CHECK,
    &checks::non_debian::CHECK,
    &checks::pip_system::CHECK,
    &checks::resolved_split::CHECK,
    &checks::rsyslog_files::CHECK,
    &checks::sysctl_conf::CHECK,
    &checks::firmware_component::CHECK,
    &checks::ldap_tls::CHECK,
    &checks::crypttab_plain::CHECK,
    &checks::apt_sources_extra::PROPOSED_CHECK,
    &checks::apt_sources_extra::BACKPORTS_CHECK,
    &checks::gpgv::CHECK,
    &checks::cryptsetup_split::CHECK,
    &checks::tz_legacy::CHECK,
    &checks::mariadb_shutdown::CHECK,
    &checks::rabbitmq::DIRECT,
    &checks::rabbitmq::HA,
    &checks::slapd_backend::CHECK,
    &checks::ntpsec::CHECK,
    &checks::samba_vfs::CHECK,
    &checks::puppet::CHECK,
    &checks::adduser_conf::CHECK,
    &checks::point_release::CHECK,
    &checks::dash_circumflex::CHECK,
    &checks::journal_remote_trust::CHECK,
    &checks::rsyslog_timestamps::CHECK,
    &checks::mariadb_versioned::CHECK,
    &checks::bacula_catalog::CHECK,
    &checks::libvirt_drivers::CHECK,
    &checks::architecture::UNSUPPORTED,
    &checks::architecture::TIME_T,
];

/// The list as a Markdown table: the book's page of findings is this text.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| finding | severity | inhibitor | checked | what makes it fire | what to do |\n|---|---|---|---|---|---|\n",
    );
    for k in all() {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            k.key,
            k.severity.as_str(),
            if k.inhibitor { "yes" } else { "no" },
            k.when.as_str(),
            k.trigger.replace('|', "\\|"),
            k.remediation.replace('|', "\\|"),
        ));
    }
    out
}

/// The list for reading in a terminal: each kind in a short paragraph.
pub fn text_list() -> String {
    let mut out = String::new();
    for k in all() {
        out.push_str(&format!(
            "{}  {}{}, {}\n  fires when: {}\n  what to do: {}\n\n",
            k.key,
            k.severity.as_str(),
            if k.inhibitor { ", inhibitor" } else { "" },
            k.when.as_str(),
            k.trigger,
            k.remediation,
        ));
    }
    out
}

/// The list as JSON, for scripts: an array of objects with the declaration's fields.
pub fn json_list() -> String {
    let kinds: Vec<serde_json::Value> = all()
        .into_iter()
        .map(|k| {
            serde_json::json!({
                "key": k.key,
                "severity": k.severity.as_str(),
                "inhibitor": k.inhibitor,
                "when": k.when.as_str(),
                "trigger": k.trigger,
                "remediation": k.remediation,
            })
        })
        .collect();
    serde_json::to_string_pretty(&kinds).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for k in ALL {
            assert!(seen.insert(k.key), "`{}` declared twice", k.key);
            let (area, what) = k.key.split_once('.').expect("area.what");
            for part in [area, what] {
                assert!(
                    !part.is_empty()
                        && part
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                    "`{}`: lowercase words joined by '-', one '.'",
                    k.key
                );
            }
            assert!(
                !k.trigger.is_empty() && !k.remediation.is_empty(),
                "{}",
                k.key
            );
        }
    }

    #[test]
    fn a_finding_carries_its_kinds_declaration() {
        let f = HELD_PACKAGES.found("web", "m".into(), vec!["e".into()]);
        assert_eq!(f.key, "apt.held-packages");
        assert_eq!((f.severity, f.inhibitor), (Severity::High, true));
        assert_eq!(f.remediation, HELD_PACKAGES.remediation);
        assert_eq!(f.host.as_deref(), Some("web"));
    }
}
