//! Docker-backed tests of the `cutover` step on nginx hosts: real nginx, PHP-FPM and
//! PostgreSQL replicas, a real graceful reload measured by a monitor.

mod common;

use common::*;

#[test]
fn an_nginx_proxy_cutover_loses_no_request_and_serves_the_new_host() {
    if !docker_available() {
        return;
    }
    // Measured (no request may fail): with the engine to itself.
    let _alone = measuring_alone();
    let run = run_scenario("tests/scenarios/cutover-nginx.yaml", &[]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.report["verdict"], "GO");
    let cutover = step(&run.report, "cutover");
    assert_eq!(cutover["kind"], "cutover");
    assert_eq!(cutover["status"], "passed");
    // nginx was found without the scenario naming it.
    let detail = cutover["detail"].as_str().unwrap();
    assert!(detail.contains("with nginx"), "{detail}");
    assert!(
        detail.contains("/var/backups/rehearse/etc_nginx_sites-enabled_default.before-cutover"),
        "{detail}"
    );
    // Through the old host, the static page and the dynamic site now come from the new one.
    let after = step(&run.report, "the old host now proxies to the new one");
    assert_eq!(after["status"], "passed", "{after:#}");
    let checks = after["checks"].as_array().unwrap();
    assert!(
        checks[0]["evidence"]["body_excerpt"]
            .as_str()
            .unwrap()
            .contains("served by the new host"),
        "{after:#}"
    );
    assert!(
        checks[1]["evidence"]["body_excerpt"]
            .as_str()
            .unwrap()
            .contains("notes ok: 300 notes"),
        "{after:#}"
    );
    let monitor = &run.report["monitors"][0];
    assert!(monitor["sent"].as_u64().unwrap() > 500, "{monitor:#}");
    assert_eq!(monitor["failed"], 0, "{monitor:#}");
    assert_eq!(run.report["findings"].as_array().unwrap().len(), 0);
    assert_clean(&run);
}

#[test]
fn a_bad_nginx_directive_stops_the_cutover_naming_it_and_restores_the_site() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/cutover-nginx-bad-directive.yaml", &[]);
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(run.report["verdict"], "NO-GO");
    let finding = finding(&run.report, "cutover.configtest-failed");
    assert_eq!(finding["inhibitor"], true);
    assert_eq!(finding["host"], "old");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains(
            "with the proxy configuration: unknown directive \"proxy_set_heder\" in /etc/nginx/sites-enabled/default:"
        ),
        "{message}"
    );
    assert!(
        message.contains("/etc/nginx/sites-enabled/default"),
        "{message}"
    );
    assert!(
        message.contains("`proxy_set_heder Host $host;`"),
        "{message}"
    );
    let failed = step(&run.report, "cutover with a misspelt directive");
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["detail"]
            .as_str()
            .unwrap()
            .contains("nginx was not reloaded"),
        "{failed:#}"
    );
    // The file was put back and nginx never reloaded: the old site still serves.
    let after = step(&run.report, "the old site still serves");
    assert_eq!(after["status"], "passed", "{after:#}");
    assert_clean(&run);
}
