//! Docker-backed tests: real images, real systemd hosts, real Apache, real probes.
//! They prove the product; CI runs them with `REHEARSE_REQUIRE_DOCKER=1`.

mod common;

use common::*;

#[test]
fn smoke_scenario_is_go_and_leaves_nothing() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("scenarios/smoke-static-site.yaml", &[]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.report["verdict"], "GO");
    assert_eq!(run.report["schema_version"], 1);
    // Where the engine keeps the replica's files, as it says itself; a run on
    // fuse-overlayfs says what that costs.
    let driver = docker(&["info", "--format", "{{.Driver}}"]);
    assert_eq!(run.report["environment"]["storage_driver"], driver.trim());
    assert_eq!(
        run.stderr
            .contains("keeps container files with `fuse-overlayfs`"),
        driver.trim() == "fuse-overlayfs",
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("GO: `smoke-static-site`"),
        "{}",
        run.stdout
    );
    let names: Vec<&str> = run.report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["provision", "baseline", "reboot web", "after reboot"]
    );
    for s in run.report["steps"].as_array().unwrap() {
        assert_eq!(s["status"], "passed", "{s:#}");
    }
    // The page really came from Apache inside the replica.
    let check = &step(&run.report, "baseline")["checks"][0];
    assert_eq!(check["evidence"]["status"], 200);
    assert!(
        check["evidence"]["body_excerpt"]
            .as_str()
            .unwrap()
            .contains("Hello from the rehearse replica")
    );
    let homepage = probe(&run.report, "homepage");
    assert_eq!(homepage["checks"], 2);
    assert_eq!(homepage["failed_checks"], 0);
    assert!(homepage["attempts"].as_u64().unwrap() >= 2);
    assert_eq!(run.report["environment"]["images"][0]["cached"], true);
    assert!(run.stderr.contains("cache hit"), "{}", run.stderr);
    assert_reports_valid(&run);
    assert_clean(&run);
}

#[test]
fn broken_scenario_is_no_go_naming_the_probe_with_evidence() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("scenarios/smoke-broken.yaml", &[]);
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(run.report["verdict"], "NO-GO");
    assert!(run.stdout.contains("NO-GO"), "{}", run.stdout);
    let failed: Vec<&serde_json::Value> = run.report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{:#}", run.report["steps"]);
    let detail = failed[0]["detail"].as_str().unwrap();
    assert!(detail.contains("probe `homepage`"), "{detail}");
    let homepage = probe(&run.report, "homepage");
    assert_eq!(homepage["failed_checks"], 1);
    let evidence = homepage["last_failure"]["summary"].as_str().unwrap();
    assert!(
        evidence.contains("Connection refused") || evidence.contains("connect"),
        "{evidence}"
    );
    let gate = &run.report["gates"][0];
    assert_eq!(gate["name"], "steps passed");
    assert_eq!(gate["passed"], false);
    assert_clean(&run);
}

#[test]
fn reboot_brings_back_enabled_services_only() {
    if !docker_available() {
        return;
    }
    // Apache keeps running after `systemctl disable`, so only a real reboot shows it gone.
    let run = run_scenario("tests/scenarios/reboot-disabled-service.yaml", &[]);
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(
        step(&run.report, "still serving before the reboot")["status"],
        "passed"
    );
    assert_eq!(step(&run.report, "reboot web")["status"], "passed");
    let after = step(&run.report, "after reboot");
    assert_eq!(after["status"], "failed");
    let check = &after["checks"][0];
    assert_eq!(check["probe"], "apache-active");
    assert_eq!(check["evidence"]["exit_code"], 3);
    assert_eq!(check["evidence"]["output"], "inactive");
    assert_clean(&run);
}

#[test]
fn second_build_hits_the_cache() {
    if !docker_available() {
        return;
    }
    images_ready();
    let output = rehearse(&["images", "build", "static-site"]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // A cached image is found without looking at its base.
    assert!(!stderr.contains("base bookworm"), "{stderr}");
    assert!(stderr.contains("image static-site: cache hit"), "{stderr}");
    assert!(!stderr.contains("building"), "{stderr}");
    let list = text(&rehearse(&["images", "list"]).stdout);
    assert!(list.contains("rehearse/static-site:"), "{list}");
}

/// A recipe's files, commands and units go in through one script (issue 20): each file
/// lands like a `COPY` of it (parents made, owned by root, its mode), each command runs
/// in its own shell from `/`, in order; nothing of the staging is left; and a failing
/// command is named in the error, with no image tagged.
#[test]
fn a_recipe_puts_files_in_place_runs_commands_in_order_and_names_the_one_that_fails() {
    if !docker_available() {
        return;
    }
    // static-site's packages: the base with them is shared (and built once).
    images_ready();
    let dir = tempfile::tempdir().unwrap();
    let recipe = dir.path().join("setup-check");
    std::fs::create_dir_all(recipe.join("files")).unwrap();
    std::fs::write(recipe.join("files/a conf"), "key = 1\n").unwrap();
    std::fs::write(recipe.join("files/plain"), "plain\n").unwrap();
    let write = |commands: &str| {
        std::fs::write(
            recipe.join("recipe.yaml"),
            format!(
                "suite: bookworm\npackages: [apache2]\nfiles:\n  \
                 - {{src: files/a conf, dest: \"/etc/it's new/a.conf\", mode: \"0600\"}}\n  \
                 - {{src: files/plain, dest: /srv/deep/er/plain}}\n\
                 commands:\n{commands}enable: [apache2]\n"
            ),
        )
        .unwrap();
    };
    write(
        "  - test \"$(pwd)\" = / && cd /tmp && echo one > /srv/order\n  \
         - test \"$(pwd)\" = / && echo two >> /srv/order\n",
    );
    let images_dir = dir.path().to_str().unwrap();
    let output = rehearse(&["images", "build", "setup-check", "--images-dir", images_dir]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("base bookworm with apache2: cache hit"),
        "{stderr}"
    );
    let image = text(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("setup-check: "))
        .unwrap_or_else(|| panic!("no image in {}", text(&output.stdout)))
        .trim()
        .to_string();
    let seen = docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        &image,
        "-c",
        "stat -c '%a %U:%G %n' \"/etc/it's new/a.conf\" \"/etc/it's new\" /srv/deep/er/plain /srv/deep; \
         cat \"/etc/it's new/a.conf\" /srv/order; \
         ls -d /.rehearse-recipe /usr/sbin/policy-rc.d 2>&1; \
         systemctl is-enabled apache2",
    ]);
    docker(&["rmi", "-f", &image]);
    assert_eq!(
        seen,
        "600 root:root /etc/it's new/a.conf\n\
         755 root:root /etc/it's new\n\
         644 root:root /srv/deep/er/plain\n\
         755 root:root /srv/deep\n\
         key = 1\n\
         one\n\
         two\n\
         ls: cannot access '/.rehearse-recipe': No such file or directory\n\
         ls: cannot access '/usr/sbin/policy-rc.d': No such file or directory\n\
         enabled"
    );

    write("  - echo fine\n  - echo about to fail; exit 3\n  - touch /never\n");
    let output = rehearse(&["images", "build", "setup-check", "--images-dir", images_dir]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("`commands[1]` (`echo about to fail; exit 3`) failed with exit status 3"),
        "{stderr}"
    );
    assert!(stderr.contains("about to fail"), "{stderr}");
    let tagged = docker(&["images", "-q", "rehearse/setup-check"]);
    assert_eq!(tagged, "", "a failed build left a tagged image");
}

#[test]
fn keep_leaves_the_replica_and_gc_removes_it_once_the_run_is_gone() {
    if !engine_alone() {
        return;
    }
    let run = run_scenario("scenarios/smoke-static-site.yaml", &["--keep"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("docker exec -it"), "{}", run.stderr);
    let run_id = run.report["run_id"].as_str().unwrap();
    let kept = leftovers(run_id);
    assert_eq!(
        kept.len(),
        3,
        "a container, its network and its cgroup parent: {kept:?}"
    );
    let gc = rehearse(&["gc"]);
    assert!(gc.status.success(), "{}", text(&gc.stderr));
    assert_eq!(leftovers(run_id), Vec::<String>::new());
}

#[test]
fn sigterm_stops_the_run_cleans_up_and_reports_interrupted() {
    if !docker_available() {
        return;
    }
    images_ready();
    let dir = tempfile::tempdir().unwrap();
    let report_dir = dir.path().join("report");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args([
            "run",
            "tests/scenarios/interrupt-me.yaml",
            "--report-dir",
            report_dir.to_str().unwrap(),
        ])
        .current_dir(root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    // Wait until this run's host exists, then stop it mid-step as a service manager would
    // (SIGINT mid-upgrade is `tests/interrupt.rs`).
    let owned = |id: &str| {
        let out = std::process::Command::new("docker")
            .args([
                "ps",
                "-q",
                "--filter",
                "label=rehearse.scenario=interrupt-me",
                "--filter",
            ])
            .arg(format!(
                "label=rehearse.owner={}",
                owner_of(id.parse().unwrap())
            ))
            .output()
            .unwrap();
        !text(&out.stdout).trim().is_empty()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !owned(&pid) {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started its host"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let report = report(&report_dir);
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["verdict"], "NO-GO");
    let run_id = report["run_id"].as_str().unwrap();
    assert_eq!(leftovers(run_id), Vec::<String>::new());
}

#[test]
fn without_registry_or_mmdebstrap_the_builtin_bootstrap_runs_and_names_what_it_cannot_fetch() {
    if !docker_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let recipe = dir.path().join("plain");
    std::fs::create_dir_all(&recipe).unwrap();
    std::fs::write(recipe.join("recipe.yaml"), "suite: bookworm\n").unwrap();
    // A mirror nobody uses gives a base image that cannot be in the cache; nothing
    // answers there.
    let build = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_rehearse"))
            .args(["images", "build", "plain", "--images-dir"])
            .arg(dir.path())
            .args(["--mirror", "http://127.0.0.1:9/debian"])
            .args(extra)
            .env("PATH", "/nonexistent")
            .output()
            .unwrap()
    };
    let output = build(&[]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("bootstrapping Debian `bookworm` (built-in) failed: cannot fetch http://127.0.0.1:9/debian/dists/bookworm/InRelease"),
        "{stderr}"
    );
    // Asked for mmdebstrap by name, the error says how to get it.
    let output = build(&["--base-source", "mmdebstrap"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(
            "`mmdebstrap` is not installed; install it with `apt-get install mmdebstrap`"
        ),
        "{stderr}"
    );
}

#[test]
fn hosts_reach_each_other_by_alias_and_init_none_runs_no_services() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/two-hosts.yaml", &[]);
    assert_eq!(run.code, 0, "{run}");
    let checks = &run.report["steps"][1]["checks"];
    assert_eq!(
        checks[1]["evidence"]["summary"],
        "http://www.example.test:80/index.html answered 200"
    );
    assert_clean(&run);
}

#[test]
fn a_planted_outage_is_measured_by_the_monitor() {
    if !docker_available() {
        return;
    }
    // Measured: with the engine to itself.
    let _alone = measuring_alone();
    // Apache is stopped for 3 s (`systemctl stop`, `sleep 3`, `systemctl start`) while the
    // monitor sends 200 requests/s: the outage it measures must be 3 s plus the time Apache
    // takes to stop listening and to listen again, within 0.7 s; requests are 5 ms apart.
    let run = run_scenario("tests/scenarios/monitor-outage.yaml", &[]);
    assert_eq!(run.code, 0, "{run}");
    let monitor = &run.report["monitors"][0];
    let longest = monitor["longest_unavailability_ms"].as_u64().unwrap();
    assert!(
        (3000..=3700).contains(&longest),
        "measured {longest} ms: {monitor:#}"
    );
    // One outage: Apache may reset a connection as it begins to stop and still answer
    // the next request (seen here: 1 failed request, one answered, then 3 s refused),
    // so a short window may precede the long one, never a second outage apart from it.
    let windows = monitor["unavailability_windows"].as_array().unwrap();
    let start = windows
        .iter()
        .map(|w| w["start_ms"].as_u64().unwrap())
        .min();
    let end = windows.iter().map(|w| w["end_ms"].as_u64().unwrap()).max();
    let span = end.unwrap() - start.unwrap();
    assert!(
        (3000..=3700).contains(&span) && windows.len() <= 2,
        "one outage: {windows:#?}"
    );
    // Refused connections, or connections closed while Apache stops.
    assert!(
        !windows[0]["first_error"].as_str().unwrap().is_empty(),
        "{windows:#?}"
    );
    // Open loop: requests kept going out at the rate during the outage.
    let failed = monitor["failed"].as_u64().unwrap() as f64;
    let failed_in_windows: u64 = windows
        .iter()
        .map(|w| w["failed_requests"].as_u64().unwrap())
        .sum();
    assert_eq!(failed_in_windows as f64, failed, "{windows:#?}");
    let expected = span as f64 * 200.0 / 1000.0;
    assert!(
        (failed - expected).abs() <= expected * 0.05,
        "{failed} failed, expected {expected}"
    );
    let sent = monitor["sent"].as_u64().unwrap() as f64;
    let duration = monitor["duration_ms"].as_u64().unwrap() as f64 / 1000.0;
    assert!(
        (sent / duration - 200.0).abs() < 5.0,
        "{sent} sent in {duration} s"
    );
    let gate = run.report["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "max_unavailability")
        .unwrap();
    assert_eq!(gate["value"].as_f64().unwrap() as u64, longest);
    assert_eq!(gate["limit"], 10000.0);
    assert_clean(&run);
}

#[test]
fn an_apache_proxy_cutover_is_measured_and_proxies_to_the_new_host() {
    if !docker_available() {
        return;
    }
    // Measured (no request may fail): with the engine to itself.
    let _alone = measuring_alone();
    let run = run_scenario("scenarios/cutover-apache.yaml", &[]);
    assert_eq!(run.code, 0, "{run}");
    let cutover = step(&run.report, "cutover");
    assert_eq!(cutover["kind"], "cutover");
    assert_eq!(cutover["status"], "passed");
    // Through the old host, the page now comes from the new one.
    let proxied = &step(&run.report, "the old host now proxies to the new one")["checks"][0];
    assert!(
        proxied["evidence"]["body_excerpt"]
            .as_str()
            .unwrap()
            .contains("served by the new host")
    );
    let monitor = &run.report["monitors"][0];
    assert!(monitor["sent"].as_u64().unwrap() > 500, "{monitor:#}");
    assert_eq!(monitor["failed"], 0, "{monitor:#}");
    assert_clean(&run);
}

#[test]
fn a_proxy_config_failing_apaches_test_stops_the_cutover_naming_the_directive() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/cutover-legacy-proxy.yaml", &[]);
    assert_eq!(run.code, 1, "{run}");
    let finding = finding(&run.report, "cutover.configtest-failed");
    assert_eq!(finding["inhibitor"], true);
    let message = finding["message"].as_str().unwrap();
    assert!(message.contains("Invalid command 'Order'"), "{message}");
    assert!(
        message.contains("/etc/apache2/sites-enabled/000-default.conf"),
        "{message}"
    );
    assert!(
        finding["remediation"]
            .as_str()
            .unwrap()
            .contains("Require all granted")
    );
    assert_eq!(
        step(&run.report, "cutover with the story's proxy block")["status"],
        "failed"
    );
    // Apache was not reloaded: the old site still serves.
    assert_eq!(
        step(&run.report, "the old site still serves")["status"],
        "passed"
    );
    // And the failed change left nothing behind: the site file, the proxy modules and
    // /etc/hosts are back, so Apache restarts and the site answers.
    for name in [
        "Apache restarts as the failed cutover left it",
        "the old site serves after the restart",
    ] {
        let step = step(&run.report, name);
        assert_eq!(step["status"], "passed", "{name}: {step:#}");
    }
    let detail = step(&run.report, "cutover with the story's proxy block")["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        detail.contains("/etc/hosts were restored and `apache2ctl configtest` passes again"),
        "{detail}"
    );
    assert_clean(&run);
}

#[test]
fn a_replica_keeps_its_own_etc_files_across_reboot_rollback_and_resume() {
    if !docker_available() {
        return;
    }
    let scenario = "tests/scenarios/cutover-then-reboot.yaml";
    remove_checkpoints("cutover-then-reboot");
    let run = run_scenario(scenario, &[]);
    assert_eq!(run.code, 0, "{run}");
    // After the reboots the site is still proxied to the new host, the admin's
    // /etc/hostname and /etc/resolv.conf are there, and the hosts resolve each other.
    let after = step(&run.report, "after the reboots");
    assert_eq!(after["status"], "passed", "{after:#}");
    assert_eq!(after["checks"].as_array().unwrap().len(), 3, "{after:#}");
    // The rollback brought back the cutover's line the step before it removed.
    assert_eq!(step(&run.report, "roll back")["status"], "passed");
    assert_clean(&run);

    // Resumed on a new network whose addresses differ (the first run's subnet is
    // taken meanwhile), the cutover's line follows the new host's new address.
    let cutover = step(&run.report, "cutover old → new")["detail"]
        .as_str()
        .unwrap()
        .to_string();
    let address = cutover
        .split(['(', ')'])
        .nth(1)
        .unwrap_or_else(|| panic!("no address in {cutover}"));
    let octets: Vec<&str> = address.split('.').collect();
    let subnet = format!("{}.{}.0.0/16", octets[0], octets[1]);
    let blocker = format!("rh-test-blocker-{}", std::process::id());
    let blocked = std::process::Command::new("docker")
        .args(["network", "create", "--subnet", &subnet, &blocker])
        .output()
        .unwrap();
    let resumed = run_scenario(
        scenario,
        &["--from", "someone undoes the cutover's name by hand"],
    );
    if blocked.status.success() {
        std::process::Command::new("docker")
            .args(["network", "rm", &blocker])
            .output()
            .unwrap();
    }
    remove_checkpoints("cutover-then-reboot");
    assert_eq!(resumed.code, 0, "{resumed}");
    let rollback = step(&resumed.report, "roll back");
    let detail = rollback["detail"].as_str().unwrap();
    assert!(
        detail.contains(
            "host `old` restarted so that its /etc/hosts follows the run's new addresses"
        ),
        "{detail}"
    );
    assert_clean(&resumed);
}
