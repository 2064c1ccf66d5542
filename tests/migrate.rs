//! Docker-backed tests of the second story's move: migrate, cutover, DNS switch and
//! drain, measured by monitors that read and write. Real Apache, PHP, MariaDB and
//! PostgreSQL in the replicas, real HTTP from the test process.

mod common;

use common::*;
use serde_json::Value;

fn gate<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("no gate `{name}` in {:#}", report["gates"]))
}

fn monitor<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["monitors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no monitor `{name}`"))
}

#[test]
fn the_correct_move_is_go_with_measured_unavailability_and_no_lost_write() {
    if !docker_available() {
        return;
    }
    let _alone = measuring_alone();
    let run = run_scenario("scenarios/migrate-cutover-apache.yaml", &[]);
    assert_eq!(run.code, 0, "{run}");
    let report = &run.report;
    assert_eq!(report["verdict"], "GO");

    // Every gate the issue names is there, with its measured value and limit.
    for name in [
        "max_unavailability",
        "max_failed_requests",
        "lost_writes",
        "split_writes",
        "p99_latency",
    ] {
        let gate = gate(report, name);
        assert_eq!(gate["passed"], true, "{gate:#}");
        assert!(gate["value"].is_number() && gate["limit"].is_number());
    }
    assert_eq!(gate(report, "lost_writes")["value"], 0.0);

    let visitors = monitor(report, "visitors");
    assert_eq!(visitors["failed"], 0, "{visitors:#}");
    assert_eq!(visitors["longest_unavailability_ms"], 0);
    // Both populations were seen, and both hosts served.
    assert!(visitors["clients"]["old"].as_u64().unwrap() > 0);
    assert!(visitors["clients"]["new"].as_u64().unwrap() > 0);
    assert!(visitors["served_by"]["old"].as_u64().unwrap() > 0);
    assert!(visitors["served_by"]["new"].as_u64().unwrap() > 0);
    let phases = &visitors["phases"];
    for phase in ["before", "during", "after"] {
        assert!(phases[phase]["p99_ms"].is_number(), "{phases:#}");
    }
    let kinds: Vec<&str> = visitors["marks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["migrate", "migrate", "cutover", "dns-switch"]);

    // Orders failed while writes were stopped — refused, not lost — and every
    // acknowledged one is in the new database.
    let orders = monitor(report, "orders");
    let writes = &orders["writes"];
    assert_eq!(writes["lost"], 0, "{writes:#}");
    assert_eq!(writes["split"], 0, "{writes:#}");
    assert!(writes["acknowledged"].as_u64().unwrap() > 100, "{writes:#}");
    // A write may be stored yet unacknowledged (its answer timed out), not the reverse.
    assert!(
        writes["stored"].as_u64().unwrap() >= writes["acknowledged"].as_u64().unwrap(),
        "{writes:#}"
    );
    assert!(orders["failed"].as_u64().unwrap() > 0, "{orders:#}");

    let copy = step(report, "final copy of the database");
    assert!(
        copy["detail"]
            .as_str()
            .unwrap()
            .contains("verified equal on both hosts"),
        "{copy:#}"
    );
    let drain = step(report, "the old host drains");
    assert!(
        drain["detail"].as_str().unwrap().contains("`old` drained"),
        "{drain:#}"
    );
    assert_clean(&run);
}

#[test]
fn the_naive_move_is_no_go_with_the_lost_writes_counted() {
    if !docker_available() {
        return;
    }
    let _alone = measuring_alone();
    let run = run_scenario("scenarios/migrate-cutover-naive.yaml", &[]);
    assert_eq!(run.code, 1, "{run}");
    let report = &run.report;
    let lost = gate(report, "lost_writes");
    assert_eq!(lost["passed"], false);
    let count = lost["value"].as_f64().unwrap();
    // 20 orders/s for the ~3 s between the dump and the cutover, at least.
    assert!(count >= 20.0, "{lost:#}");
    assert!(
        lost["detail"].as_str().unwrap().contains("rh-orders-"),
        "examples are named: {lost:#}"
    );
    let writes = &monitor(report, "orders")["writes"];
    assert_eq!(writes["lost"].as_f64().unwrap(), count);
    // The lost orders were answered by the old host, which kept them to itself.
    for example in writes["lost_examples"].as_array().unwrap() {
        assert_eq!(example["served_by"], "old", "{example:#}");
        assert_eq!(example["status"], 201);
    }
    // The migration's own verification saw the orders table change under it.
    let copy = step(report, "copy the files and the database");
    assert_eq!(copy["status"], "failed");
    let detail = copy["detail"].as_str().unwrap();
    assert!(
        detail.contains("table `shop.orders`") && detail.contains("rows on `old`"),
        "{detail}"
    );
    // Visitors saw nothing wrong: the loss is silent without write tracking.
    assert_eq!(gate(report, "max_unavailability")["passed"], true);
    assert_reports_valid(&run);
    assert_clean(&run);
}

#[test]
fn a_dns_switch_without_a_proxy_splits_writes_and_the_old_host_never_drains() {
    if !docker_available() {
        return;
    }
    let _alone = measuring_alone();
    let run = run_scenario("tests/scenarios/dns-switch-without-proxy.yaml", &[]);
    assert_eq!(run.code, 1, "{run}");
    let report = &run.report;
    let split = gate(report, "split_writes");
    assert_eq!(split["passed"], false, "{split:#}");
    assert!(split["value"].as_f64().unwrap() > 0.0, "{split:#}");
    let writes = &monitor(report, "orders")["writes"];
    let switch_at = writes["switch_at_ms"].as_u64().unwrap();
    for example in writes["split_examples"].as_array().unwrap() {
        assert!(example["sent_at_ms"].as_u64().unwrap() >= switch_at);
        assert_eq!(example["served_by"], "old", "{example:#}");
    }
    let drain = step(report, "drain before the switch");
    assert_eq!(drain["status"], "failed");
    assert!(
        drain["detail"]
            .as_str()
            .unwrap()
            .contains("still receives direct requests"),
        "{drain:#}"
    );
    assert_clean(&run);
}

#[test]
fn a_postgresql_application_moves_with_its_role_files_owners_and_modes() {
    if !docker_available() {
        return;
    }
    let _alone = measuring_alone();
    let run = run_scenario("tests/scenarios/migrate-postgresql.yaml", &[]);
    assert_eq!(run.code, 0, "{run}");
    let detail = step(&run.report, "move the notes application")["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        detail.contains("verified equal on both hosts")
            && detail.contains("/srv/notes/attachments: 5 files")
            && detail.contains("`notes`: 2 tables"),
        "{detail}"
    );
    assert_clean(&run);
}
