//! `fault` and `revert` over the scripted engine: the commands each fault and its undo
//! issue, in order, and what a revert does with faults that are not in place.

use base64::Engine as _;

use super::*;

fn encoded(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn failed(code: i64, stderr: &str) -> ExecOutput {
    ExecOutput {
        exit_code: code,
        stdout: String::new(),
        stderr: stderr.into(),
    }
}

/// A systemd host whose files and commands answer like a bookworm host's.
fn drill_host() -> FakeEngine {
    FakeEngine::new(|_, argv| {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        match argv[..] {
            ["systemctl", "stop", "mariadb"] => failed(
                5,
                "Failed to stop mariadb.service: Unit mariadb.service not loaded.",
            ),
            ["sh", "-c", script, "sh", path, _] if script.contains("base64 -w0 \"$1\"") => {
                match path {
                    "/etc/hosts" => ok(&encoded("127.0.0.1\tlocalhost\n172.18.0.2\tweb\n")),
                    "/etc/big.conf" => ExecOutput {
                        exit_code: 3,
                        stdout: "2097152\n".into(),
                        stderr: String::new(),
                    },
                    _ => ok(&encoded("ServerName web\nRequire all granted\n")),
                }
            }
            ["sh", "-c", script] if script.contains("VERSION_CODENAME") => ok("bookworm\n"),
            ["sh", "-c", script, "sh"] if script.contains("VERSION_CODENAME") => ok("bookworm\n"),
            ["sh", "-c", script, "sh"] if script.contains("sources.list.d") => ok(&format!(
                "/etc/apt/sources.list {}\n/etc/apt/sources.list.d/debian.sources {}\n",
                encoded(
                    "deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-updates main\n"
                ),
                encoded(
                    "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\n"
                ),
            )),
            ["sh", "-c", script, "sh", _, _] if script.contains("rehearse-fill") => {
                ok("67108864 0 fallocate\n")
            }
            ["sh", "-c", script, "sh", _, _, _] if script.contains("setsid") => {
                ok("running\nINSERT 1\n")
            }
            ["systemctl", ..] => ok("running\n"),
            _ => ok(""),
        }
    })
}

const HEADER: &str =
    "name: unit\nhosts:\n  web: {image: site, aliases: [www.example.test]}\nsteps:\n";

/// The calls after provision, before cleanup, without the look for OOM kills that
/// follows a failed step.
fn step_calls(engine: &FakeEngine) -> Vec<String> {
    let calls = short_calls(engine);
    let first = calls
        .iter()
        .position(|c| c.contains("is-system-running"))
        .unwrap()
        + 1;
    let last = calls
        .iter()
        .position(|c| c.starts_with("remove container"))
        .unwrap();
    calls[first..last]
        .iter()
        .filter(|c| !c.contains("oom_kill"))
        .cloned()
        .collect()
}

fn detail<'a>(report: &'a Report, step: &str) -> &'a str {
    report
        .steps
        .iter()
        .find(|s| s.name == step)
        .and_then(|s| s.detail.as_deref())
        .unwrap_or_else(|| panic!("no detail for `{step}` in {:#?}", report.steps))
}

#[tokio::test]
async fn a_fault_then_its_revert_issue_the_commands_in_order() {
    let engine = drill_host();
    let text = format!(
        "{HEADER}  - name: apache goes down\n    fault: {{host: web, stop: apache2}}\n  - revert: apache goes down\n"
    );
    let (report, _) = rehearse(&engine, &text).await;
    assert_eq!(report.verdict, Verdict::Go, "{:#?}", report.steps);
    assert_eq!(
        step_calls(&engine),
        [
            "exec web: systemctl stop apache2",
            "exec web: systemctl start apache2"
        ]
    );
    assert_eq!(
        detail(&report, "apache goes down"),
        "apache2 stopped on web"
    );
    assert_eq!(report.steps[1].kind, "fault");
    assert_eq!(report.steps[2].name, "revert apache goes down");
    assert_eq!(report.steps[2].kind, "revert");
    assert_eq!(
        detail(&report, "revert apache goes down"),
        "reverted: apache2 started on web"
    );
}

#[tokio::test]
async fn revert_all_undoes_every_fault_in_place_newest_first() {
    let engine = drill_host();
    let text = format!(
        "{HEADER}  - fault: {{host: web, mask: apache2}}\n  - fault: {{host: web, disable: cron}}\n  - fault: {{host: web, hold: apache2}}\n  - fault: {{host: web, fill-disk: {{path: /dev/shm/, size: 1G}}}}\n  - revert: 'fault web: disable cron'\n  - revert: all\n  - revert: all\n"
    );
    let (report, _) = rehearse(&engine, &text).await;
    assert_eq!(report.verdict, Verdict::Go, "{:#?}", report.steps);
    let calls = step_calls(&engine);
    let fill = calls
        .iter()
        .position(|c| c.contains("rehearse-fill"))
        .unwrap();
    assert_eq!(
        calls[..fill],
        [
            "exec web: systemctl mask --now apache2",
            "exec web: systemctl disable cron",
            "exec web: apt-mark hold apache2",
        ]
    );
    assert!(
        calls[fill].ends_with(" sh /dev/shm/ 1073741824"),
        "{}",
        calls[fill]
    );
    assert_eq!(
        calls[fill + 1..],
        [
            "exec web: systemctl enable cron",
            "exec web: rm -f /dev/shm/.rehearse-fill",
            "exec web: apt-mark unhold apache2",
            "exec web: systemctl unmask apache2",
            "exec web: systemctl start apache2",
        ]
    );
    assert_eq!(
        detail(&report, "fault web: mask apache2"),
        "apache2 masked and stopped on web: it cannot be started until unmasked"
    );
    assert_eq!(
        detail(&report, "fault web: disable cron"),
        "cron disabled on web: still running, but it will not start at the next boot"
    );
    assert_eq!(
        detail(&report, "fault web: fill-disk /dev/shm/"),
        "/dev/shm/ on web filled: 64.0 MiB (67108864 bytes) written to /dev/shm/.rehearse-fill (fallocate), 0 bytes left free"
    );
    assert_eq!(
        detail(&report, "revert all"),
        "reverted: /dev/shm/.rehearse-fill removed on web; apache2 no longer held on web; apache2 unmasked and started on web"
    );
    assert_eq!(
        detail(&report, "revert all (2)"),
        "no fault is in place: nothing to undo"
    );
}

#[tokio::test]
async fn reverting_a_failed_or_reverted_fault_does_nothing_and_says_so() {
    let engine = drill_host();
    let text = format!(
        "{HEADER}  - name: db down\n    fault: {{host: web, stop: mariadb}}\n    allow_failure: true\n  - name: web down\n    fault: {{host: web, stop: apache2}}\n  - revert: [db down, web down]\n  - revert: [web down]\n"
    );
    let (report, _) = rehearse(&engine, &text).await;
    let failed = &report.steps[1];
    assert_eq!(failed.status, StepStatus::Failed);
    assert_eq!(
        failed.detail.as_deref(),
        Some(
            "cannot stop mariadb on web: `systemctl stop mariadb` exited with 5: Failed to stop mariadb.service: Unit mariadb.service not loaded."
        )
    );
    let evidence = failed.evidence.as_ref().unwrap();
    assert_eq!(evidence.exit_code, Some(5));
    assert!(evidence.output.as_deref().unwrap().contains("not loaded"));
    assert_eq!(
        step_calls(&engine),
        [
            "exec web: systemctl stop mariadb",
            "exec web: systemctl stop apache2",
            "exec web: systemctl start apache2",
        ]
    );
    assert_eq!(
        detail(&report, "revert db down, web down"),
        "reverted: apache2 started on web; `db down` is not in place (its step failed or did not run): nothing to undo"
    );
    assert_eq!(
        detail(&report, "revert web down"),
        "`web down` was already reverted: nothing to undo"
    );
    assert_eq!(report.steps[3].status, StepStatus::Passed);
    assert_eq!(report.steps[4].status, StepStatus::Passed);
}

#[tokio::test]
async fn disconnect_and_reconnect_call_the_engine_with_the_aliases() {
    let engine = drill_host();
    let text = format!(
        "{HEADER}  - name: cable pulled\n    fault: {{host: web, disconnect: true}}\n  - revert: cable pulled\n"
    );
    let (report, _) = rehearse(&engine, &text).await;
    assert_eq!(report.verdict, Verdict::Go, "{:#?}", report.steps);
    assert_eq!(
        step_calls(&engine),
        [
            "disconnect web from net",
            "connect web to net as web, www.example.test"
        ]
    );
    assert_eq!(
        detail(&report, "cable pulled"),
        "web disconnected from the run's network `rh-unit-1`: no other host and no probe reaches it"
    );
    assert_eq!(
        detail(&report, "revert cable pulled"),
        "reverted: web connected again to `rh-unit-1` as web, www.example.test (address 127.0.0.1)"
    );
}

#[tokio::test]
async fn file_faults_put_the_original_bytes_back() {
    let engine = drill_host();
    let text = format!(
        "{HEADER}  - fault: {{host: web, break-config: {{file: /etc/apache2/apache2.conf, add: 'Order deny,allow'}}}}\n  - fault: {{host: web, break-config: {{file: /etc/apache2/x.conf, replace: granted, with: denied}}}}\n  - fault: {{host: web, wrong-dns: {{name: db.example.test, address: 10.9.9.9}}}}\n  - revert: all\n"
    );
    let (report, _) = rehearse(&engine, &text).await;
    assert_eq!(report.verdict, Verdict::Go, "{:#?}", report.steps);
    let original = "ServerName web\nRequire all granted\n";
    assert_eq!(
        writes(&engine, "/etc/apache2/apache2.conf"),
        [
            "ServerName web\nRequire all granted\nOrder deny,allow\n",
            original
        ]
    );
    assert_eq!(
        writes(&engine, "/etc/apache2/x.conf"),
        ["ServerName web\nRequire all denied\n", original]
    );
    let hosts = "127.0.0.1\tlocalhost\n172.18.0.2\tweb\n";
    assert_eq!(
        writes(&engine, "/etc/hosts"),
        [
            format!("{hosts}10.9.9.9\tdb.example.test\n"),
            hosts.to_string()
        ]
    );
    assert_eq!(
        detail(&report, "fault web: break-config /etc/apache2/apache2.conf"),
        "/etc/apache2/apache2.conf on web: added `Order deny,allow`"
    );
    assert_eq!(
        detail(&report, "fault web: break-config /etc/apache2/x.conf"),
        "/etc/apache2/x.conf on web: replaced `granted` with `denied`"
    );
    assert_eq!(
        detail(&report, "fault web: wrong-dns db.example.test → 10.9.9.9"),
        "db.example.test resolves to 10.9.9.9 on web (/etc/hosts)"
    );
    assert_eq!(
        detail(&report, "revert all"),
        "reverted: /etc/hosts put back as it was on web; /etc/apache2/x.conf put back as it was on web; /etc/apache2/apache2.conf put back as it was on web"
    );
}

#[tokio::test]
async fn a_break_that_cannot_be_made_fails_and_changes_nothing() {
    let engine = drill_host();
    let text = format!(
        "{HEADER}  - fault: {{host: web, break-config: {{file: /etc/x.conf, replace: Listen 80, with: Listen 8080}}}}\n    allow_failure: true\n  - fault: {{host: web, break-config: {{file: /etc/big.conf, add: x}}}}\n    allow_failure: true\n"
    );
    let (report, _) = rehearse(&engine, &text).await;
    assert_eq!(
        report.steps[1].detail.as_deref(),
        Some("cannot break /etc/x.conf on web: `Listen 80` is not in it")
    );
    assert_eq!(
        report.steps[2].detail.as_deref(),
        Some(
            "/etc/big.conf on web is 2097152 bytes: a fault saves files of at most 1 MiB to put them back"
        )
    );
    assert!(writes(&engine, "/etc/x.conf").is_empty());
    assert!(writes(&engine, "/etc/big.conf").is_empty());
}

#[tokio::test]
async fn half_sources_moves_the_first_half_of_the_entries() {
    let engine = drill_host();
    let text = format!(
        "{HEADER}  - fault: {{host: web, half-sources: {{to: trixie}}}}\n  - revert: all\n"
    );
    let (report, _) = rehearse(&engine, &text).await;
    assert_eq!(report.verdict, Verdict::Go, "{:#?}", report.steps);
    let list = "deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-updates main\n";
    // Three entries: two moved (rounded up), the deb822 security one left.
    assert_eq!(
        writes(&engine, "/etc/apt/sources.list"),
        [
            "deb http://deb.debian.org/debian trixie main\ndeb http://deb.debian.org/debian trixie-updates main\n",
            list
        ]
    );
    assert!(writes(&engine, "/etc/apt/sources.list.d/debian.sources").is_empty());
    assert_eq!(
        detail(&report, "fault web: half-sources to trixie"),
        "APT sources on web half-rewritten from bookworm to trixie, as after an interrupted upgrade: 2 of 3 Debian entries moved (/etc/apt/sources.list)"
    );
}

#[tokio::test]
async fn kill_mid_write_says_the_write_was_cut_short() {
    let engine = drill_host();
    let text = format!(
        "{HEADER}  - fault: {{host: web, kill-mid-write: {{service: mariadb, write: 'insert-forever'}}}}\n  - revert: all\n"
    );
    let (report, _) = rehearse(&engine, &text).await;
    assert_eq!(report.verdict, Verdict::Go, "{:#?}", report.steps);
    let calls = step_calls(&engine);
    assert!(
        calls[0].ends_with(" sh insert-forever mariadb 1"),
        "{}",
        calls[0]
    );
    assert_eq!(calls[1], "exec web: systemctl start mariadb");
    assert_eq!(
        detail(&report, "fault web: kill-mid-write mariadb"),
        "mariadb killed (SIGKILL) on web while the write was still running: what it had not made durable is lost"
    );
}
