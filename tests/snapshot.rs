//! Docker-backed tests of snapshots and rollback: real `docker commit` of a running
//! systemd host with Apache, PHP and MariaDB, and a real return to it.

mod common;

use common::*;

#[test]
fn rollback_returns_probes_and_data_to_the_baseline() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/rollback-shop.yaml", &[]);
    assert_eq!(run.code, 0, "{run}");
    let report = &run.report;
    // The change really broke the site: the probe that can fail did.
    assert_eq!(step(report, "the site is down")["status"], "failed");
    let snapshot = step(report, "snapshot before-change");
    assert_eq!(snapshot["status"], "passed", "{snapshot:#}");
    let rollback = step(report, "roll back");
    assert_eq!(rollback["status"], "passed", "{rollback:#}");
    let detail = rollback["detail"].as_str().unwrap();
    assert!(
        detail.contains("web back to snapshot `before-change` in")
            && detail.contains("baseline probes pass: shop, catalogue"),
        "{detail}"
    );
    let checks = rollback["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2);
    for check in checks {
        assert_eq!(check["passed"], true, "{check:#}");
    }
    // The same data as before the change: 200 orders, the whole catalogue.
    assert!(
        checks[0]["evidence"]["body_excerpt"]
            .as_str()
            .unwrap()
            .contains("500 items, 200 orders")
    );
    // No snapshot image, container or network of the run is left.
    assert_clean(&run);
}
