//! Docker-backed: the hosts of a scenario come up at once. The scenario's three hosts
//! can only boot together (each one's boot waits until the next is on the network), so
//! hosts started one after another would never get past the first.

mod common;

use common::*;

#[test]
fn three_hosts_that_need_each_other_to_boot_come_up_together() {
    if !docker_available() {
        return;
    }
    // One after another, the first host would hang until the boot timeout (2 min).
    let run = run_scenario("tests/scenarios/three-hosts.yaml", &[]);
    assert_eq!(run.code, 0, "{run}");
    let provision = step(&run.report, "provision");
    assert_eq!(provision["status"], "passed");
    assert!(
        provision["detail"]
            .as_str()
            .unwrap()
            .starts_with("3 hosts up"),
        "{provision}"
    );
    // Each host reached the next by name, and its waiting unit finished.
    for name in ["web-sees-cache", "db-sees-web", "cache-sees-db"] {
        assert_eq!(probe(&run.report, name)["failures"], 0, "{name}");
    }
    for host in ["web", "db", "cache"] {
        assert!(
            run.stderr.contains(&format!("host `{host}` up at")),
            "{}",
            run.stderr
        );
    }
    assert_reports_valid(&run);
    assert_clean(&run);
}
