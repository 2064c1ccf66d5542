//! One module per check of the host around a hop: its kind of finding, the facts it
//! reads and how it judges them. Most are items of Debian's release notes (see
//! [`super::catalogue`]).

pub mod adduser_conf;
pub mod apt_pins;
pub mod apt_sources_extra;
pub mod architecture;
pub mod bacula_catalog;
pub mod cryptsetup_split;
pub mod crypttab_plain;
pub mod dash_circumflex;
pub mod dovecot_config;
pub mod firmware_component;
pub mod gpgv;
pub mod journal_remote_trust;
pub mod lastlog;
pub mod ldap_tls;
pub mod libvirt_drivers;
pub mod mariadb_shutdown;
pub mod mariadb_versioned;
pub mod non_debian;
pub mod ntpsec;
pub mod pip_system;
pub mod point_release;
pub mod puppet;
pub mod rabbitmq;
pub mod resolved_split;
pub mod rsyslog_files;
pub mod rsyslog_timestamps;
pub mod samba_vfs;
pub mod slapd_backend;
pub mod ssh_dsa_keys;
pub mod ssh_pam_environment;
pub mod sysctl_conf;
pub mod tz_legacy;

#[cfg(test)]
pub(crate) fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
pub(crate) fn facts(from: &str, to: &str, before: &str, after: &str) -> super::Facts {
    super::Facts {
        from: from.into(),
        to: to.into(),
        before: lines(before),
        after: lines(after),
    }
}
