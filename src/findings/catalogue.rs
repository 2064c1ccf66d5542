//! What Debian's release notes warn about, item by item, and what a rehearsal does with
//! each: the items of chapter 5 ("Issues to be aware of") of the notes for bookworm
//! (upgrading from bullseye) and trixie (from bookworm), and the items of chapter 4
//! (preparing the upgrade) that a server admin acts on. Each one is detected (a kind of
//! finding, and the Docker test that plants it on a real replica), or not detectable in
//! a replica (and why), or not applicable to a server. The book's table is generated from
//! this list (`rehearse findings --catalogue`), so a user sees what a GO covers.
//!
//! Titles are ours, close to the notes' headings; section numbers are left out because
//! they change between point releases.

/// One item of the release notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// The release the item is about the upgrade to.
    pub release: &'static str,
    /// The notes' chapter: 4 (preparing and upgrading) or 5 (issues to be aware of).
    pub chapter: u8,
    pub title: &'static str,
    pub status: Status,
}

/// What a rehearsal does with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A finding of this key, planted on a real replica in this test (`file::function`).
    Detected {
        key: &'static str,
        test: &'static str,
    },
    /// A replica cannot show it, for this reason.
    NotDetectable(&'static str),
    /// It does not concern a server, for this reason.
    NotApplicable(&'static str),
    /// Detectable, but no check yet: what a check would read.
    NotYet(&'static str),
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Detected { .. } => "detected",
            Status::NotDetectable(_) => "not detectable in a replica",
            Status::NotApplicable(_) => "not applicable",
            Status::NotYet(_) => "not checked yet",
        }
    }
}

const BEFORE: &str = "tests/upgrade.rs::problems_before_the_upgrade_are_found";
const PHP: &str = "tests/upgrade.rs::php_fatal_errors_and_what_the_upgrade_leaves_behind_are_found";
const BOOKWORM: &str = "tests/release_notes.rs::bookworms_release_notes_items_are_found";
const TRIXIE: &str = "tests/release_notes.rs::trixies_release_notes_items_are_found";
const TRIXIE_BEFORE: &str = "tests/release_notes.rs::what_trixies_release_notes_ask_to_check_first_is_found_before_anything_changes";
const I386: &str = "tests/release_notes.rs::an_i386_host_is_told_not_to_upgrade_to_trixie";
const SERVICES: &str =
    "tests/release_notes.rs::services_trixie_cannot_upgrade_as_they_are_are_found";

use Status::*;

/// Every item, bookworm's then trixie's, chapter 4's then chapter 5's, in the notes' order.
pub const ITEMS: &[Item] = &[
    // bookworm, chapter 4
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Back up data and configuration before upgrading",
        status: NotDetectable(
            "a backup is taken on the real host; a rehearsal keeps its own evidence and checkpoints instead",
        ),
    },
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Upgrade only from bullseye; skipping a release is not supported",
        status: NotApplicable(
            "the rehearsal upgrades one release at a time, as the notes ask: a host two releases behind goes through the one in between",
        ),
    },
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Upgrade to bullseye's last point release first",
        status: Detected {
            key: "apt.point-release-behind",
            test: BOOKWORM,
        },
    },
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Packages from backports",
        status: Detected {
            key: "apt.backports-installed",
            test: TRIXIE_BEFORE,
        },
    },
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Prepare the package database: no half-installed or unconfigured package",
        status: Detected {
            key: "dpkg.audit",
            test: BEFORE,
        },
    },
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Remove obsolete packages",
        status: Detected {
            key: "packages.obsolete",
            test: PHP,
        },
    },
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Remove non-Debian packages",
        status: Detected {
            key: "packages.non-debian",
            test: TRIXIE,
        },
    },
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Clean up leftover configuration files",
        status: Detected {
            key: "conffiles.pending",
            test: PHP,
        },
    },
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Remove proposed-updates from the sources",
        status: Detected {
            key: "apt.proposed-updates",
            test: TRIXIE_BEFORE,
        },
    },
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Unofficial sources may not have the new release",
        status: Detected {
            key: "apt.source-old-release",
            test: BEFORE,
        },
    },
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Disable APT pinning",
        status: Detected {
            key: "apt.pinning",
            test: TRIXIE,
        },
    },
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Make sure gpgv is installed",
        status: Detected {
            key: "apt.gpgv-missing",
            test: TRIXIE_BEFORE,
        },
    },
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Check package status: held packages",
        status: Detected {
            key: "apt.held-packages",
            test: BEFORE,
        },
    },
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Prepare the APT sources: every entry on the new release, the new security suite name",
        status: Detected {
            key: "apt.stale-security-suite",
            test: BEFORE,
        },
    },
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Make sure there is enough disk space for the download and the upgrade",
        status: NotDetectable(
            "the replica's disk is the engine's, not the host's: the upgrade log records apt's estimate of what the hop needs (`# space:`) to compare with the real host's `df`, and `disk.space-short` fires only when the replica itself is short",
        ),
    },
    Item {
        release: "bookworm",
        chapter: 4,
        title: "Install the kernel metapackage so the kernel follows the release",
        status: NotDetectable(
            "a container runs the kernel of the machine under it; the replica has no kernel of its own",
        ),
    },
    // bookworm, chapter 5
    Item {
        release: "bookworm",
        chapter: 5,
        title: "Non-free firmware moved to the non-free-firmware component",
        status: Detected {
            key: "apt.non-free-firmware",
            test: BOOKWORM,
        },
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "Packages that set the system clock: ntp replaced by ntpsec",
        status: Detected {
            key: "time.ntp-replaced",
            test: BOOKWORM,
        },
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "Puppet upgraded from 5 to 7",
        status: Detected {
            key: "puppet.major-upgrade",
            test: BOOKWORM,
        },
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "youtube-dl replaced by yt-dlp",
        status: NotApplicable("a desktop tool"),
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "Fcitx 4 and 5 no longer co-installable",
        status: NotApplicable("a desktop input method"),
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "MariaDB package names no longer include the version",
        status: Detected {
            key: "mariadb.versioned-package-names",
            test: BOOKWORM,
        },
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "System logging: rsyslog no longer needed, the journal is persistent",
        status: NotApplicable(
            "an upgraded host keeps rsyslog and its files (seen on a bullseye replica upgraded with rsyslog); only new installs go without it",
        ),
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "rsyslog writes high-precision timestamps: log analyzers such as logcheck",
        status: Detected {
            key: "rsyslog.timestamp-format",
            test: BOOKWORM,
        },
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "rsyslog creates fewer log files",
        status: Detected {
            key: "rsyslog.files-not-written",
            test: BOOKWORM,
        },
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "slapd upgrade may need manual intervention (bdb and hdb backends gone)",
        status: Detected {
            key: "slapd.bdb-hdb-backend",
            test: BOOKWORM,
        },
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "GRUB no longer runs os-prober",
        status: NotDetectable("a container has no boot loader"),
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "GNOME has reduced support for screen readers",
        status: NotApplicable("a desktop"),
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "polkit: local authority `.pkla` rules deprecated",
        status: NotApplicable(
            "the upgrade installs `polkitd-pkla`, which keeps `.pkla` rules working: seen on a bullseye replica with a `.pkla` rule, upgraded",
        ),
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "A merged /usr is now required",
        status: Detected {
            key: "sandbox.usr-not-merged",
            test: BEFORE,
        },
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "Unsupported upgrades from buster fail on libcrypt1",
        status: NotApplicable(
            "the rehearsal upgrades one release at a time, as the notes ask: a host two releases behind goes through the one in between",
        ),
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "Limitations in security support (browsers, Go and Rust programs)",
        status: NotApplicable("a support policy, nothing the upgrade changes on a host"),
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "Python interpreters marked externally-managed: pip no longer installs into the system",
        status: Detected {
            key: "python.pip-packages-lost",
            test: BOOKWORM,
        },
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "Limited hardware-accelerated video in VLC",
        status: NotApplicable("a desktop video player"),
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "systemd-resolved split into its own package",
        status: Detected {
            key: "dns.resolved-not-installed",
            test: BOOKWORM,
        },
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "systemd-boot split into its own package",
        status: NotDetectable("a container has no boot loader"),
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "systemd-journal-remote no longer uses GnuTLS",
        status: Detected {
            key: "journal-remote.trust-option",
            test: BOOKWORM,
        },
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "Extensive changes in adduser",
        status: Detected {
            key: "adduser.config-kept",
            test: BOOKWORM,
        },
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "Predictable names for Xen network interfaces",
        status: NotDetectable("a container's interfaces are the engine's, not the hypervisor's"),
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "dash handles the circumflex in patterns differently",
        status: Detected {
            key: "dash.circumflex-patterns",
            test: BOOKWORM,
        },
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "netcat-openbsd supports abstract sockets",
        status: NotApplicable(
            "changes only what `nc -U @name` means; no configuration is affected",
        ),
    },
    Item {
        release: "bookworm",
        chapter: 5,
        title: "Noteworthy obsolete packages",
        status: Detected {
            key: "packages.obsolete",
            test: PHP,
        },
    },
    // trixie, chapter 4
    Item {
        release: "trixie",
        chapter: 4,
        title: "Upgrade only from bookworm; skipping a release is not supported",
        status: NotApplicable(
            "the rehearsal upgrades one release at a time, as the notes ask: a host two releases behind goes through the one in between",
        ),
    },
    Item {
        release: "trixie",
        chapter: 4,
        title: "Upgrade to bookworm's last point release first",
        status: Detected {
            key: "apt.point-release-behind",
            test: TRIXIE,
        },
    },
    Item {
        release: "trixie",
        chapter: 4,
        title: "Packages from backports",
        status: Detected {
            key: "apt.backports-installed",
            test: TRIXIE_BEFORE,
        },
    },
    Item {
        release: "trixie",
        chapter: 4,
        title: "Remove proposed-updates from the sources",
        status: Detected {
            key: "apt.proposed-updates",
            test: TRIXIE_BEFORE,
        },
    },
    Item {
        release: "trixie",
        chapter: 4,
        title: "Make sure gpgv is installed",
        status: Detected {
            key: "apt.gpgv-missing",
            test: TRIXIE_BEFORE,
        },
    },
    Item {
        release: "trixie",
        chapter: 4,
        title: "Remove non-Debian packages",
        status: Detected {
            key: "packages.non-debian",
            test: TRIXIE,
        },
    },
    Item {
        release: "trixie",
        chapter: 4,
        title: "Disable APT pinning",
        status: Detected {
            key: "apt.pinning",
            test: TRIXIE,
        },
    },
    Item {
        release: "trixie",
        chapter: 4,
        title: "Make sure there is enough disk space for the download and the upgrade",
        status: NotDetectable(
            "the replica's disk is the engine's, not the host's: the upgrade log records apt's estimate of what the hop needs (`# space:`) to compare with the real host's `df`, and `disk.space-short` fires only when the replica itself is short",
        ),
    },
    // trixie, chapter 5
    Item {
        release: "trixie",
        chapter: 5,
        title: "Interrupted remote upgrades: upgrade OpenSSH in bookworm first",
        status: Detected {
            key: "apt.point-release-behind",
            test: TRIXIE,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "Reduced support for i386",
        status: Detected {
            key: "arch.unsupported",
            test: I386,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "MIPS architectures removed",
        status: NotDetectable(
            "not on this project's engines: a replica runs on the engine's CPU, and none here is a MIPS machine (replicas are not emulated). On an engine that is, a recipe with `architecture: mipsel` gets `arch.unsupported`, the check the i386 test plants",
        ),
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "/tmp is now a tmpfs",
        status: NotDetectable(
            "the replica's /tmp is a tmpfs on every release: a container may not mount one itself where trixie's systemd would, and its size limit follows the real host's memory",
        ),
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "openssh-server no longer reads ~/.pam_environment",
        status: Detected {
            key: "ssh.pam-environment",
            test: TRIXIE,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "OpenSSH no longer supports DSA keys",
        status: Detected {
            key: "ssh.dsa-keys",
            test: TRIXIE,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "last, lastb and lastlog replaced",
        status: Detected {
            key: "login.records-commands-gone",
            test: TRIXIE,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "Encrypted filesystems need the systemd-cryptsetup package",
        status: Detected {
            key: "crypttab.cryptsetup-missing",
            test: TRIXIE,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "Default settings of plain-mode dm-crypt devices changed",
        status: Detected {
            key: "crypttab.plain-mode-defaults",
            test: TRIXIE_BEFORE,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "RabbitMQ no longer supports HA queues",
        status: Detected {
            key: "rabbitmq.ha-queues",
            test: SERVICES,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "RabbitMQ cannot be upgraded directly from bookworm",
        status: Detected {
            key: "rabbitmq.no-direct-upgrade",
            test: SERVICES,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "MariaDB major upgrades need a clean shutdown",
        status: Detected {
            key: "mariadb.unclean-shutdown",
            test: SERVICES,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "ping no longer runs with elevated privileges",
        status: NotDetectable(
            "ping's rights come from the kernel's `ping_group_range`, which the engine sets for the container",
        ),
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "Network interface names may change",
        status: NotDetectable("a container's interfaces are the engine's virtual ones"),
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "Dovecot configuration changes (2.4)",
        status: Detected {
            key: "dovecot.config-invalid",
            test: SERVICES,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "Significant changes to libvirt packaging",
        status: Detected {
            key: "libvirt.drivers-lost",
            test: TRIXIE,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "Samba: Active Directory domain controller packaging",
        status: NotApplicable(
            "the upgrade installs `samba-ad-dc` with `samba`: seen on a bookworm replica running Samba, upgraded",
        ),
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "Samba: VFS modules",
        status: Detected {
            key: "samba.vfs-module-missing",
            test: TRIXIE,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "OpenLDAP TLS now provided by OpenSSL",
        status: Detected {
            key: "ldap.gnutls-tls-settings",
            test: TRIXIE_BEFORE,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "bacula-director: the database schema update needs much disk space and time",
        status: Detected {
            key: "bacula.catalog-upgrade",
            test: TRIXIE_BEFORE,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "dpkg warns about directories it cannot remove",
        status: NotApplicable(
            "harmless warnings of the merged /usr's completion; nothing to act on",
        ),
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "WirePlumber has a new configuration system",
        status: NotApplicable("a desktop audio session manager"),
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "strongSwan moves to the charon-systemd daemon",
        status: NotDetectable(
            "IPsec needs the kernel's XFRM and `NET_ADMIN`, which a replica lacks, so a tunnel cannot be shown working; the upgrade keeps `strongswan-starter` and the `ipsec.conf` setup installed (seen on a replica)",
        ),
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "/etc/sysctl.conf is no longer read",
        status: Detected {
            key: "sysctl.conf-not-read",
            test: TRIXIE,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "Legacy time zone names moved to tzdata-legacy",
        status: Detected {
            key: "tzdata.legacy-names",
            test: TRIXIE,
        },
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "A separate /boot partition may be too small",
        status: NotDetectable("a container has no /boot of its own"),
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "64-bit time_t on 32-bit architectures (armel, armhf)",
        status: NotDetectable(
            "not on this project's amd64 engines: a replica runs on the engine's CPU, and an armel or armhf one needs an ARM engine (an arm64 machine runs both). There, a recipe with `architecture: armhf` gets `arch.time-t-abi`, from the same check as `arch.unsupported`",
        ),
    },
    Item {
        release: "trixie",
        chapter: 5,
        title: "Limitations in security support (browsers, Go and Rust programs)",
        status: NotApplicable("a support policy, nothing the upgrade changes on a host"),
    },
];

impl Item {
    /// The status with its reason, the key and the test (empty when none).
    fn columns(&self) -> (String, &'static str, &'static str) {
        match self.status {
            Detected { key, test } => (self.status.as_str().to_string(), key, test),
            NotDetectable(why) | NotApplicable(why) => {
                (format!("{}: {why}", self.status.as_str()), "", "")
            }
            NotYet(what) => (
                format!("{} (a check would read {what})", self.status.as_str()),
                "",
                "",
            ),
        }
    }
}

/// The catalogue for reading in a terminal.
pub fn text_list() -> String {
    let mut out = String::new();
    for item in ITEMS {
        let (status, key, test) = item.columns();
        out.push_str(&format!(
            "{} (chapter {}): {}\n  {status}\n",
            item.release, item.chapter, item.title
        ));
        if !key.is_empty() {
            out.push_str(&format!("  finding {key}, planted in {test}\n"));
        }
        out.push('\n');
    }
    let detected = ITEMS
        .iter()
        .filter(|i| matches!(i.status, Detected { .. }))
        .count();
    out.push_str(&format!("{detected} of {} items detected\n", ITEMS.len()));
    out
}

/// The catalogue as JSON, for scripts.
pub fn json_list() -> String {
    let items: Vec<serde_json::Value> = ITEMS
        .iter()
        .map(|item| {
            let (_, key, test) = item.columns();
            let reason = match item.status {
                Detected { .. } => "",
                NotDetectable(why) | NotApplicable(why) | NotYet(why) => why,
            };
            serde_json::json!({
                "release": item.release,
                "chapter": item.chapter,
                "item": item.title,
                "status": item.status.as_str(),
                "reason": reason,
                "finding": key,
                "test": test,
            })
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_default()
}

/// The catalogue as a Markdown table, for the book.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| release | chapter | item | status | finding | test |\n|---|---|---|---|---|---|\n",
    );
    for item in ITEMS {
        let (status, key, test) = item.columns();
        let code = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                format!("`{s}`")
            }
        };
        let (key, test) = (code(key), code(test));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            item.release,
            item.chapter,
            item.title.replace('|', "\\|"),
            status.replace('|', "\\|"),
            key,
            test,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_detected_item_names_a_declared_kind() {
        for item in ITEMS {
            if let Detected { key, test } = item.status {
                assert!(
                    super::super::ALL.iter().any(|k| k.key == key),
                    "{}: `{key}` is not declared",
                    item.title
                );
                assert!(
                    test.starts_with("tests/") && test.contains(".rs::"),
                    "{test}"
                );
            }
            assert!(["bookworm", "trixie"].contains(&item.release));
            assert!([4, 5].contains(&item.chapter));
        }
    }

    #[test]
    fn every_release_notes_check_is_in_the_catalogue() {
        for check in super::super::CHECKS {
            if check.to.is_some() {
                // Detected, or named by an item no replica here can plant (an
                // architecture this project's engines do not run).
                let named = format!("`{}`", check.kind.key);
                assert!(
                    ITEMS.iter().any(|i| match i.status {
                        Detected { key, .. } => key == check.kind.key,
                        NotDetectable(why) => why.contains(&named),
                        _ => false,
                    }),
                    "`{}` checks an item of the notes the catalogue does not list",
                    check.kind.key
                );
            }
        }
    }
}
