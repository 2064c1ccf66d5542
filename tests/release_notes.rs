//! Docker-backed tests of the checks of what Debian's release notes warn about: each
//! item planted on a real replica, upgraded for real, and found with its evidence. Several
//! independent items share one upgraded replica; each test takes one to three minutes.
//! The clean reference upgrades (tests/upgrade.rs) show none of these findings.

mod common;

use common::*;

#[test]
fn bookworms_release_notes_items_are_found() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/upgrade-planted-bookworm.yaml", &[]);
    let report = &run.report;
    assert_eq!(
        step(report, "upgrade")["status"],
        "passed",
        "{}",
        run.stderr
    );
    assert_planted(
        report,
        "dns.resolved-not-installed",
        "high",
        false,
        "package systemd-resolved not installed on bookworm",
    );
    // The generic check sees the service gone; the release notes' check says why.
    assert_planted(
        report,
        "service.removed",
        "medium",
        false,
        "systemd-resolved.service",
    );
    assert_planted(
        report,
        "python.pip-packages-lost",
        "high",
        false,
        "hellopkg-1.0 in /usr/local/lib/python3.9/dist-packages: not on python3.11's path",
    );
    assert_planted(
        report,
        "python.pip-packages-lost",
        "high",
        false,
        "/usr/lib/python3.11/EXTERNALLY-MANAGED",
    );
    assert_planted(
        report,
        "rsyslog.files-not-written",
        "medium",
        false,
        "/etc/fail2ban/jail.local:3: reads /var/log/daemon.log",
    );
    assert_planted(
        report,
        "apt.non-free-firmware",
        "low",
        false,
        "amd64-microcode: section non-free/admin on bullseye, non-free-firmware/admin on bookworm",
    );
    // Found before anything changed; and indeed slapd does not start on bookworm.
    assert_planted(report, "slapd.bdb-hdb-backend", "high", true, "hdb");
    assert_planted(report, "systemd.degraded", "medium", false, "slapd.service");
    // ntpsec replaces ntp, and does not start in a container (no CAP_SYS_TIME): that is
    // the replica's limit, not a service the upgrade broke.
    let keys = finding_keys(report);
    assert!(
        !keys.contains(&"service.not-running".to_string()),
        "{:#}",
        finding(report, "service.not-running")
    );
    assert_planted(
        report,
        "sandbox.unit-condition-unmet",
        "low",
        false,
        "ntp.service (now ntpsec.service): ConditionCapability=CAP_SYS_TIME",
    );
    assert_planted(
        report,
        "time.ntp-replaced",
        "info",
        false,
        "/etc/ntpsec/ntp.conf:23: server time.example.test iburst",
    );
    assert_planted(
        report,
        "puppet.major-upgrade",
        "medium",
        false,
        "puppet 5.5.22 on bullseye → 7.",
    );
    assert_planted(
        report,
        "adduser.config-kept",
        "low",
        false,
        "/etc/adduser.conf.dpkg-dist: the new release's version",
    );
    assert_planted(
        report,
        "journal-remote.trust-option",
        "high",
        true,
        "/etc/systemd/system/systemd-journal-remote.service.d/trust.conf:3: ExecStart=/lib/systemd/systemd-journal-remote --listen-https=-3 --trust=all",
    );
    assert_planted(
        report,
        "apt.point-release-behind",
        "medium",
        false,
        "systemd-journal-remote 247.3-7+deb11u5 → ",
    );
    assert_planted(
        report,
        "dash.circumflex-patterns",
        "medium",
        false,
        "/usr/local/bin/check-arg:3: [^0-9]*) echo \"not a number: $1\" ;;",
    );
    assert_planted(
        report,
        "rsyslog.timestamp-format",
        "medium",
        false,
        "logcheck is installed",
    );
    // The evidence shows a line rsyslog wrote after the upgrade, in the new format.
    assert_planted(
        report,
        "rsyslog.timestamp-format",
        "medium",
        false,
        "/var/log/syslog now: 20",
    );
    assert_planted(
        report,
        "mariadb.versioned-package-names",
        "low",
        false,
        "mariadb-server-10.5: installed by its versioned name before the upgrade; now 1:10.11.",
    );
    assert_clean(&run);
}

#[test]
fn trixies_release_notes_items_are_found() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/upgrade-planted-trixie.yaml", &[]);
    let report = &run.report;
    // A DSA key that is someone's only way in inhibits the upgrade.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        step(report, "upgrade")["status"],
        "passed",
        "{}",
        run.stderr
    );
    assert_planted(
        report,
        "ssh.dsa-keys",
        "high",
        true,
        "/home/alice/.ssh/authorized_keys:1: ssh-dss key alice@old-laptop",
    );
    assert_planted(
        report,
        "ssh.pam-environment",
        "medium",
        false,
        "/home/alice/.pam_environment: 1 setting(s)",
    );
    assert_planted(
        report,
        "sysctl.conf-not-read",
        "medium",
        false,
        "net.core.somaxconn = 1024",
    );
    assert_planted(
        report,
        "sysctl.conf-not-read",
        "medium",
        false,
        "/etc/sysctl.conf.dpkg-bak",
    );
    assert_planted(
        report,
        "login.records-commands-gone",
        "medium",
        false,
        "/etc/cron.daily/report-logins:2: calls `lastlog`, gone on trixie",
    );
    assert_planted(
        report,
        "packages.non-debian",
        "medium",
        false,
        "acme-agent 2.1: from no configured source",
    );
    assert_planted(
        report,
        "apt.pinning",
        "medium",
        false,
        "/etc/apt/preferences.d/acme: Package: acme-agent; Pin: version 2.1; Pin-Priority: 1001",
    );
    assert_planted(
        report,
        "crypttab.cryptsetup-missing",
        "high",
        true,
        "package systemd-cryptsetup: not installed on trixie",
    );
    assert_planted(
        report,
        "tzdata.legacy-names",
        "medium",
        false,
        "/etc/cron.d/report-logins:1: US/Eastern, gone from /usr/share/zoneinfo on trixie",
    );
    assert_planted(
        report,
        "samba.vfs-module-missing",
        "high",
        true,
        "share [data]: VFS module `glusterfs` is gone on trixie (package samba-vfs-glusterfs)",
    );
    assert_planted(
        report,
        "libvirt.drivers-lost",
        "high",
        false,
        "libvirt_storage_backend_disk.so: gone (in trixie it is package libvirt-daemon-driver-storage-disk)",
    );
    assert_planted(
        report,
        "apt.point-release-behind",
        "medium",
        false,
        "openssh-server 1:9.2p1-2+deb12u",
    );
    // sshd's default ECDSA host key is no DSA key (a defect once: 'ecdsa' contains 'dsa').
    let dsa = finding(report, "ssh.dsa-keys");
    assert!(!dsa["evidence"].to_string().contains("ecdsa"), "{dsa}");
    // Found before anything changed: the report lists them before the upgrade's own.
    let keys = finding_keys(report);
    let before = keys.iter().position(|k| k == "ssh.dsa-keys").unwrap();
    let after = keys
        .iter()
        .position(|k| k == "sysctl.conf-not-read")
        .unwrap();
    assert!(before < after, "{keys:?}");
    assert_clean(&run);
}

#[test]
fn services_trixie_cannot_upgrade_as_they_are_are_found() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/upgrade-planted-trixie-services.yaml", &[]);
    let report = &run.report;
    assert_eq!(run.code, 1, "{}", run.stderr);
    // Found before anything changed.
    assert_planted(
        report,
        "rabbitmq.no-direct-upgrade",
        "high",
        true,
        "rabbitmq-server 3.",
    );
    assert_planted(report, "rabbitmq.ha-queues", "high", true, "ha-all");
    assert_planted(
        report,
        "mariadb.unclean-shutdown",
        "high",
        false,
        "mariadb.service: inactive, last result signal",
    );
    // The new Dovecot cannot start and RabbitMQ's package fails to configure: the upgrade
    // fails as it would on the real host, and the checks say why.
    assert_eq!(step(report, "upgrade")["status"], "failed");
    // trixie's Dovecot names the first thing it rejects (`mail_location` once, now the
    // missing `dovecot_config_version`): the check shows what the new one says.
    assert_planted(
        report,
        "dovecot.config-invalid",
        "high",
        true,
        "dovecot-core 1:2.3",
    );
    assert_planted(
        report,
        "dovecot.config-invalid",
        "high",
        true,
        "doveconf: Fatal: Error in configuration file",
    );
    assert_planted(report, "upgrade.failed", "high", true, "dovecot-core");
    assert_planted(report, "upgrade.failed", "high", true, "rabbitmq-server");
    assert_clean(&run);
}

#[test]
fn what_trixies_release_notes_ask_to_check_first_is_found_before_anything_changes() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/upgrade-planted-trixie-before.yaml", &[]);
    let report = &run.report;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_planted(
        report,
        "apt.backports-installed",
        "low",
        false,
        "dh-elpa-helper 2.1.9~bpo12+1",
    );
    assert_planted(
        report,
        "apt.proposed-updates",
        "medium",
        false,
        "/etc/apt/sources.list.d/proposed-updates.list:1:deb http://deb.debian.org/debian bookworm-proposed-updates main",
    );
    assert_planted(
        report,
        "ldap.gnutls-tls-settings",
        "high",
        false,
        "/etc/ldap/ldap.conf:",
    );
    assert_planted(
        report,
        "crypttab.plain-mode-defaults",
        "high",
        true,
        "secret /dev/disk/by-partlabel/secret none plain,noauto",
    );
    assert_planted(report, "apt.gpgv-missing", "high", true, "no gpgv on PATH");
    assert_planted(
        report,
        "bacula.catalog-upgrade",
        "high",
        true,
        "bacula-director-sqlite3 9.6.",
    );
    // Without gpgv the new release's lists cannot be verified: the upgrade stops there.
    assert_eq!(step(report, "upgrade")["status"], "failed");
    let failed = finding(report, "upgrade.failed");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("`apt-get update`"),
        "{failed:#}"
    );
    assert_clean(&run);
}

#[test]
fn an_i386_host_is_told_not_to_upgrade_to_trixie() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/architectures/upgrade-planted-i386.yaml", &[]);
    let report = &run.report;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_planted(
        report,
        "arch.unsupported",
        "high",
        true,
        "dpkg --print-architecture: i386",
    );
    // The replica's userland upgrades (trixie still builds i386 packages): only the
    // check says what the real host would lose.
    assert_eq!(
        step(report, "upgrade")["status"],
        "passed",
        "{}",
        run.stderr
    );
    assert_clean(&run);
}
