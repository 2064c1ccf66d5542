//! Docker-backed tests of the `upgrade` step: real Debian 11 → 12 upgrades of a real
//! LAMP replica, clean and with planted problems. Each takes a minute or two.

mod common;

use common::*;

#[test]
fn lamp_reference_upgrade_keeps_the_site_and_the_data() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("scenarios/lamp-bullseye-to-bookworm.yaml", &[]);
    let report = &run.report;
    // The verdict is what this stack really does: on these packages the shop survives.
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(report["verdict"], "GO");
    let upgrade = step(report, "upgrade to bookworm");
    assert_eq!(upgrade["status"], "passed", "{upgrade:#}");
    // Off a terminal, the upgrade (over a minute) says where it is while it works.
    assert!(
        run.stderr.lines().any(|line| line.starts_with("      … ")
            && line.contains(": web: bullseye → bookworm: ")
            && line.contains(" packages")),
        "no progress line during the upgrade:\n{}",
        run.stderr
    );
    let hop = &upgrade["upgrade"]["hops"][0];
    assert_eq!(
        (hop["from"].as_str(), hop["to"].as_str()),
        (Some("bullseye"), Some("bookworm"))
    );
    assert!(
        hop["debian_version_before"]
            .as_str()
            .unwrap()
            .starts_with("11.")
    );
    assert!(
        hop["debian_version_after"]
            .as_str()
            .unwrap()
            .starts_with("12.")
    );
    let upgraded = hop["upgraded"].as_array().unwrap();
    assert!(
        upgraded
            .iter()
            .any(|p| p.as_str().unwrap().starts_with("mariadb-server ")),
        "{hop:#}"
    );
    let removed: Vec<&str> = hop["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        removed
            .iter()
            .any(|p| p.starts_with("libapache2-mod-php7.4 ")),
        "{removed:?}"
    );
    // The same catalogue before and after, and PHP really changed under the site.
    let data = probe(report, "catalogue-data");
    assert_eq!(
        (data["checks"].as_u64(), data["failed_checks"].as_u64()),
        (Some(3), Some(0))
    );
    let after = step(report, "after the upgrade");
    let shop = after["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["probe"] == "shop")
        .unwrap();
    assert!(
        shop["evidence"]["body_excerpt"]
            .as_str()
            .unwrap()
            .contains("PHP 8.2"),
        "{shop:#}"
    );
    let baseline = step(report, "baseline");
    let shop = baseline["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["probe"] == "shop")
        .unwrap();
    assert!(
        shop["evidence"]["body_excerpt"]
            .as_str()
            .unwrap()
            .contains("PHP 7.4"),
        "{shop:#}"
    );
    // The full apt log is kept in the report folder.
    let log = upgrade["logs"][0].as_str().unwrap();
    let text = std::fs::read_to_string(run.dir.path().join("report").join(log)).unwrap();
    assert!(text.contains("$ apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold full-upgrade"));
    assert!(text.contains("# exit code 0"));
    // apt's estimate of the space the hop needs, with what the replica had free.
    assert!(
        text.lines().any(|l| l.starts_with("# space: ")
            && l.contains(" to download, ")
            && l.contains(" free on ")),
        "no space estimate in the upgrade log"
    );
    // The real leftovers of this upgrade are reported, and nothing planted-only.
    let keys = finding_keys(report);
    assert!(
        keys.contains(&"packages.config-only".to_string()),
        "{keys:?}"
    );
    assert_nothing_planted(report);
    assert_no_inhibitor(report);
    assert_clean(&run);
}

#[test]
fn problems_before_the_upgrade_are_found() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/upgrade-planted-before.yaml", &[]);
    let report = &run.report;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(finding(report, "apt.held-packages")["evidence"][0], "curl");
    assert_eq!(finding(report, "apt.held-packages")["inhibitor"], true);
    let audit = finding(report, "dpkg.audit");
    assert!(
        audit["evidence"][0]
            .as_str()
            .unwrap()
            .contains("unpacked but not yet configured"),
        "{audit:#}"
    );
    // Judged with the lists the image came with: nothing refreshed them before the check.
    let vendor_agent = finding(report, "packages.non-debian");
    assert_eq!(
        vendor_agent["evidence"],
        serde_json::json!(["acme-agent 2.1: from no configured source"]),
        "{vendor_agent:#}"
    );
    assert_eq!(
        finding(report, "sandbox.usr-not-merged")["inhibitor"],
        false
    );
    let stale = finding(report, "apt.stale-security-suite");
    assert!(
        stale["evidence"][0]
            .as_str()
            .unwrap()
            .contains("bullseye/updates"),
        "{stale:#}"
    );
    let vendor = finding(report, "apt.source-old-release");
    assert!(
        vendor["evidence"][0]
            .as_str()
            .unwrap()
            .starts_with("/etc/apt/sources.list.d/vendor.list:1:"),
        "{vendor:#}"
    );
    // With what apt said when it fetched from that source.
    assert!(
        vendor["evidence"].as_array().unwrap()[1..].iter().any(|l| {
            let l = l.as_str().unwrap();
            (l.starts_with("E:") || l.starts_with("Err:")) && l.contains("file:/srv/vendor-repo")
        }),
        "{vendor:#}"
    );
    // The vendor's repository does not exist: `apt-get update` fails, and says why.
    let failed = finding(report, "upgrade.failed");
    assert!(
        failed["evidence"][0]
            .as_str()
            .unwrap()
            .contains("file:/srv/vendor-repo"),
        "{failed:#}"
    );
    assert_eq!(step(report, "upgrade")["status"], "failed");
    assert_clean(&run);
}

#[test]
fn problems_the_upgrade_causes_are_found() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/upgrade-planted-after.yaml", &[]);
    let report = &run.report;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        finding(report, "packages.protected-removed")["evidence"][0],
        "libapache2-mod-php7.4"
    );
    let stopped = finding(report, "service.not-running")["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    let units: Vec<&String> = stopped.iter().filter(|l| !l.contains(' ')).collect();
    assert_eq!(
        units,
        ["apache2.service", "mariadb.service"],
        "{stopped:#?}"
    );
    // Each with the journal of its failed start: MariaDB names the unknown option.
    assert!(
        stopped
            .iter()
            .any(|l| l.starts_with("mariadb.service journal: ")
                && l.contains("innodb_buffer_pool_chunk_limit")),
        "{stopped:#?}"
    );
    assert!(
        stopped
            .iter()
            .any(|l| l.starts_with("apache2.service journal: ")),
        "{stopped:#?}"
    );
    let apache = finding(report, "apache.configtest-failed");
    assert!(
        apache["message"].as_str().unwrap().contains("php74.load"),
        "{apache:#}"
    );
    assert!(
        apache["message"]
            .as_str()
            .unwrap()
            .contains("Cannot load /usr/lib/apache2/modules/libphp7.4.so")
    );
    assert!(
        finding(report, "php.module-missing")["evidence"][0]
            .as_str()
            .unwrap()
            .starts_with("missing /etc/apache2/mods-enabled/php74.load")
    );
    // The hand-made module is still enabled, so bookworm's mod_php would not enable
    // itself: no PHP handler works.
    assert_planted(report, "php.no-handler", "high", true, "php74.load");
    // And the two services that failed at the reboot leave systemd degraded.
    assert_planted(
        report,
        "systemd.degraded",
        "medium",
        false,
        "apache2.service",
    );
    assert_planted(
        report,
        "systemd.degraded",
        "medium",
        false,
        "mariadb.service",
    );
    // sysstat's unit is still there after the upgrade, only disabled.
    let disabled = finding(report, "service.disabled");
    assert_eq!(
        (&disabled["severity"], &disabled["inhibitor"]),
        (&serde_json::json!("medium"), &serde_json::json!(false))
    );
    assert_eq!(disabled["evidence"], serde_json::json!(["sysstat.service"]));
    assert!(
        !finding_keys(report).contains(&"service.removed".to_string()),
        "{:#}",
        report["findings"]
    );
    let mariadb = finding(report, "mariadb.not-running");
    let journal = mariadb["evidence"].as_array().unwrap();
    assert!(
        journal.iter().any(|l| l
            .as_str()
            .unwrap()
            .contains("innodb_buffer_pool_chunk_limit")),
        "{mariadb:#}"
    );
    assert_clean(&run);
}

#[test]
fn php_fatal_errors_and_what_the_upgrade_leaves_behind_are_found() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/upgrade-planted-php.yaml", &[]);
    let report = &run.report;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        step(report, "the legacy page works on PHP 7.4")["status"],
        "passed"
    );
    assert_eq!(
        step(report, "the legacy page after the upgrade")["status"],
        "failed"
    );
    let stale = finding(report, "mariadb.upgrade-needed");
    assert!(
        stale["message"]
            .as_str()
            .unwrap()
            .contains("10.5 but the server is 10.11"),
        "{stale:#}"
    );
    let fatal = finding(report, "php.fatal-errors");
    let evidence = fatal["evidence"].as_array().unwrap();
    // Each probe attempt logs the same error: one line says it, with the count.
    assert_eq!(evidence.len(), 1, "{fatal:#}");
    let line = evidence[0].as_str().unwrap();
    assert!(
        line.contains("Call to undefined function each()"),
        "{fatal:#}"
    );
    assert!(line.contains(" [×"), "{fatal:#}");

    // What the upgrade left behind, planted on the same host.
    assert_planted(report, "apt.held-packages", "high", true, "curl");
    assert_planted(report, "packages.kept-back", "high", false, "curl");
    let kept = finding(report, "packages.kept-back")["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert!(
        kept.iter().any(|l| l.starts_with("curl 7.74")
            && l.contains("(held) kept from bullseye; bookworm has 7.88")),
        "{kept:#?}"
    );
    assert_planted(
        report,
        "service.replaced",
        "info",
        false,
        "php7.4-fpm.service → php8.2-fpm.service",
    );
    assert_planted(
        report,
        "service.removed",
        "medium",
        false,
        "acme-agent.service",
    );
    assert_planted(
        report,
        "service.not-running",
        "high",
        true,
        "legacy-worker.service: its program /usr/bin/php7.4 is gone with the package `php7.4-cli`, removed by the upgrade",
    );
    assert_planted(report, "packages.obsolete", "low", false, "acme-tools");
    assert_planted(
        report,
        "conffiles.pending",
        "low",
        false,
        "/etc/mysql/mariadb.conf.d/50-server.cnf.dpkg-dist",
    );
    assert_clean(&run);
}

#[test]
fn bookworm_to_trixie_shows_the_postgresql_cluster_left_behind() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("scenarios/web-bookworm-to-trixie.yaml", &[]);
    let report = &run.report;
    assert_eq!(run.code, 0, "{run}");
    let hop = &step(report, "upgrade to trixie")["upgrade"]["hops"][0];
    assert!(
        hop["debian_version_after"]
            .as_str()
            .unwrap()
            .starts_with("13."),
        "{hop:#}"
    );
    // The site keeps working: PHP moved to 8.4, the data is still served by PostgreSQL 15.
    let after = step(report, "after the upgrade");
    let notes = after["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["probe"] == "notes")
        .unwrap();
    let body = notes["evidence"]["body_excerpt"].as_str().unwrap();
    assert!(
        body.contains("PHP 8.4") && body.contains("PostgreSQL 15"),
        "{body}"
    );
    assert_eq!(probe(report, "notes-data")["failed_checks"], 0);
    // ...which the report makes visible: the cluster is on an unsupported major version.
    let cluster = finding(report, "postgresql.old-cluster");
    assert_eq!(cluster["inhibitor"], false);
    assert!(
        cluster["message"]
            .as_str()
            .unwrap()
            .contains("installed 17"),
        "{cluster:#}"
    );
    assert!(
        cluster["evidence"][0]
            .as_str()
            .unwrap()
            .starts_with("15  main    5432 online")
            || cluster["evidence"][0]
                .as_str()
                .unwrap()
                .starts_with("15 main"),
        "{cluster:#}"
    );
    assert!(
        cluster["remediation"]
            .as_str()
            .unwrap()
            .contains("pg_upgradecluster")
    );
    let keys = finding_keys(report);
    assert!(
        !keys.contains(&"service.not-running".to_string()),
        "{keys:?}"
    );
    // sysstat (which PostgreSQL recommends) runs on bookworm; trixie's package follows
    // its own setting, off by default, and disables the unit: the report says so.
    assert_planted(
        report,
        "service.disabled",
        "medium",
        false,
        "sysstat.service",
    );
    assert_planted(
        report,
        "service.replaced",
        "info",
        false,
        "php8.2-fpm.service → php8.4-fpm.service",
    );
    assert_nothing_planted(report);
    assert_no_inhibitor(report);
    assert_clean(&run);
}
