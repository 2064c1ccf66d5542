//! Docker-backed test of a restore rehearsal: a shop taking orders, backed up every
//! 10 s to another host by its own mysqldump, lost abruptly, rebuilt on a fresh
//! replica from the latest backup. The orders taken after the last backup are lost,
//! and the report says how many, three ways that must agree.

mod common;

use common::*;

/// Orders seeded before the monitor starts (`seed.sql`): in every count, not tokens.
const SEEDED_ORDERS: i64 = 200;

#[test]
fn a_lost_shop_is_restored_from_its_last_backup_and_the_orders_lost_are_counted() {
    if !docker_available() {
        return;
    }
    // Measured (the gaps between backups, the orders a second): with the engine to
    // itself.
    let _alone = measuring_alone();
    let run = run_scenario("scenarios/restore-shop.yaml", &[]);
    assert_eq!(run.code, 0, "{run}");
    let report = &run.report;
    assert_eq!(
        step(report, "backups every 10 s, kept on the vault")["status"],
        "passed"
    );
    let lost = step(report, "the host is lost");
    assert_eq!(lost["status"], "passed", "{lost:#}");
    let restore = step(report, "restore on a fresh host");
    assert_eq!(restore["status"], "passed", "{restore:#}");
    // The probes are green on the restored host.
    let checks = restore["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0]["passed"], true, "{restore:#}");

    let recovery = &restore["recovery"];
    let number = |key: &str| {
        recovery[key]
            .as_f64()
            .unwrap_or_else(|| panic!("no `{key}` in {recovery:#}"))
    };
    // Backups at 0, 10 and 20 s; the host is lost at about 24 s.
    assert!(number("backups_taken") >= 2.0, "{recovery:#}");
    // The last backup began at most one interval (10 s) before the loss, plus the time
    // a backup takes on a busy 2-core machine (2 s allowed).
    let since = number("seconds_since_last_backup");
    assert!(since > 0.0 && since <= 12.0, "{recovery:#}");
    let rows_lost = number("rows_lost") as i64;
    assert!(
        rows_lost > 0,
        "orders were taken after the last backup: {recovery:#}"
    );
    assert_eq!(
        number("rows_before") as i64 - number("rows_after") as i64,
        rows_lost
    );
    // Every acknowledged order missing after the restore is a row lost: at the loss
    // traffic stops and the orders already sent are answered before the rows are
    // counted. A row may be lost without its order being acknowledged (committed, but
    // answered after the monitor's 2 s timeout); at 10 orders a second with answers in
    // milliseconds, that is at most a couple.
    let lost_writes = number("lost_writes") as i64;
    assert!(
        rows_lost >= lost_writes && rows_lost - lost_writes <= 2,
        "rows lost {rows_lost}, acknowledged writes lost {lost_writes}: {recovery:#}"
    );
    // And both agree with the time since the last backup: at most 10 orders a second
    // (one second allowed for the dump's own time), and at least half that rate even
    // if a loaded machine fails some orders.
    assert!(
        rows_lost as f64 <= 10.0 * (since + 1.0) && rows_lost as f64 >= 5.0 * (since - 1.0),
        "{rows_lost} rows lost in {since} s: {recovery:#}"
    );
    // The oldest lost order was sent after the last backup began: the backup held
    // everything before it.
    assert!(number("oldest_lost_write_s") <= since + 0.5, "{recovery:#}");
    assert!(number("restore_ms") > 0.0 && number("downtime_ms") >= number("restore_ms"));
    // Each backup is in the report, every 10 s, each a dump that reached the vault.
    let backups = recovery["backups"].as_array().unwrap();
    assert_eq!(
        backups.len() as f64,
        number("backups_taken"),
        "{recovery:#}"
    );
    for pair in backups.windows(2) {
        let gap = pair[1]["started_ms"].as_u64().unwrap() - pair[0]["started_ms"].as_u64().unwrap();
        assert!((9_500..=11_000).contains(&gap), "{recovery:#}");
    }
    assert!(
        backups
            .iter()
            .all(|b| b["bytes"].as_u64().unwrap() > 10_000)
    );

    // Orders are taken again by the restored host, and the monitor's accounting runs
    // against it: its tokens there are those restored plus those taken afterwards.
    let orders = &report["monitors"][0];
    let writes = &orders["writes"];
    assert_eq!(writes["lost"].as_i64().unwrap(), lost_writes, "{writes:#}");
    let restored_tokens = number("rows_after") as i64 - SEEDED_ORDERS;
    assert!(
        writes["stored"].as_i64().unwrap() > restored_tokens,
        "no order was taken after the restore: {writes:#}"
    );
    // The outage the customers saw is the loss and the restore.
    assert!(orders["longest_unavailability_ms"].as_u64().unwrap() >= 1000);

    let gate = report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "recovery_point")
        .unwrap();
    assert_eq!(gate["passed"], true, "{gate:#}");
    assert!(
        report["gates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["name"] != "lost_writes"),
        "the recovery point gate judges the lost writes"
    );
    // The summary shows the recovery.
    assert!(run.stdout.contains("rows lost"), "{}", run.stdout);
    assert_reports_valid(&run);
    assert_clean(&run);
}

#[test]
fn a_restore_that_forgets_the_database_account_is_no_go_with_the_evidence() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/restore-forgets-account.yaml", &[]);
    assert_eq!(run.code, 1, "{run}");
    let report = &run.report;
    let restore = step(report, "restore on a fresh host");
    assert_eq!(restore["status"], "failed", "{restore:#}");
    // The data came back: no row lost, the host lost by the restore step itself.
    let recovery = &restore["recovery"];
    assert_eq!(recovery["lost_in_step"], "restore on a fresh host");
    assert_eq!(recovery["rows_lost"], 0, "{recovery:#}");
    assert_eq!(recovery["backups_taken"], 1);
    assert!(recovery.get("restore_ms").is_none(), "{recovery:#}");
    // But the shop does not answer, and the probe says why.
    let detail = restore["detail"].as_str().unwrap();
    assert!(detail.ends_with("but probe shop failed"), "{detail}");
    let evidence = &restore["checks"][0]["evidence"];
    assert_eq!(evidence["status"], 503, "{evidence:#}");
    assert!(
        evidence["body_excerpt"]
            .as_str()
            .unwrap()
            .contains("Access denied for user 'shop'@'localhost'"),
        "{evidence:#}"
    );
    assert_clean(&run);
}
