//! Docker-backed drill: every kind of fault applied to real systemd hosts (Apache on
//! one, MariaDB on the other), each proven to take effect by real probes and commands,
//! and each undone by `revert`, proven the same way. One run keeps it short.

mod common;

use common::*;

fn detail<'a>(report: &'a serde_json::Value, name: &str) -> &'a str {
    step(report, name)["detail"].as_str().unwrap_or_default()
}

#[test]
fn every_fault_takes_effect_and_revert_undoes_it() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/faults-drill.yaml", &[]);
    let report = &run.report;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(report["verdict"], "GO");

    // Only the steps that must fail while a fault is in place failed, and they did.
    let failed: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] != "passed")
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        [
            "site down while stopped",
            "site unreachable while disconnected"
        ],
        "{:#}",
        report["steps"]
    );
    for name in [
        "site down while stopped",
        "site unreachable while disconnected",
    ] {
        let check = &step(report, name)["checks"][0];
        assert_eq!(check["passed"], false, "{check:#}");
    }

    // Every fault says what it broke, in an admin's words.
    assert_eq!(detail(report, "apache stopped"), "apache2 stopped on web");
    assert_eq!(
        detail(report, "apache 2.2 syntax"),
        "/etc/apache2/apache2.conf on web: added `Order deny,allow`"
    );
    assert_eq!(
        detail(report, "listen typo"),
        "/etc/apache2/ports.conf on web: replaced `Listen 80` with `Lisen 80`"
    );
    assert_eq!(
        detail(report, "shop resolves wrong"),
        "shop.example.test resolves to 10.9.9.9 on web (/etc/hosts)"
    );
    // /dev/shm is 64 MiB: asking for 1G writes what is free and leaves nothing.
    let shm = detail(report, "shm full");
    assert!(
        shm.starts_with(
            "/dev/shm on web filled: 64.0 MiB (67108864 bytes) written to /dev/shm/.rehearse-fill"
        ) && shm.ends_with(", 0 bytes left free"),
        "{shm}"
    );
    assert!(
        detail(report, "var tmp 16M").starts_with(
            "/var/tmp on web filled: 16.0 MiB (16777216 bytes) written to /var/tmp/.rehearse-fill"
        ),
        "{}",
        detail(report, "var tmp 16M")
    );
    assert_eq!(
        detail(report, "upgrade interrupted"),
        "APT sources on web half-rewritten from bookworm to trixie, as after an interrupted upgrade: 2 of 3 Debian entries moved (/etc/apt/sources.list)"
    );
    let disconnected = detail(report, "cable pulled");
    assert!(
        disconnected.starts_with("web disconnected from the run's network `rh-faults-drill-"),
        "{disconnected}"
    );
    let reconnected = detail(report, "revert cable pulled");
    assert!(
        reconnected.starts_with("reverted: web connected again to `rh-faults-drill-")
            && reconnected.contains("as web, www.example.test (address "),
        "{reconnected}"
    );
    assert_eq!(
        detail(report, "database dies mid-write"),
        "mariadb killed (SIGKILL) on db while the write was still running: what it had not made durable is lost"
    );
    assert_eq!(
        detail(report, "revert database dies mid-write"),
        "reverted: mariadb started on db"
    );
    let orders = step(report, "some orders written, not all")["evidence"]["output"]
        .as_str()
        .unwrap_or_default();
    assert!(orders.contains(" orders"), "{orders}");
    // Both config breaks undone, newest first.
    assert_eq!(
        detail(report, "revert apache 2.2 syntax, listen typo"),
        "reverted: /etc/apache2/ports.conf put back as it was on web; /etc/apache2/apache2.conf put back as it was on web"
    );
    assert_eq!(
        detail(report, "revert all"),
        "no fault is in place: nothing to undo"
    );
    assert_reports_valid(&run);
    assert_clean(&run);
}
