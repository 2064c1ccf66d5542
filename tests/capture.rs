//! Docker-backed tests of `rehearse capture` and `rehearse import` on a real replica:
//! the capture changes nothing on the host (every file under /etc and dpkg's and apt's
//! state checksummed before and after, the list of every file, dpkg selections, unit
//! states), and the imported recipe builds a host with the same packages and enabled
//! units, whose derived probes are green against its real services.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::*;

/// Everything the capture must leave as it was. The output folder is left out of the
/// file list: the bundle is the one thing capture writes.
const STATE: &str = r#"
set -e
echo '## checksums'
find /etc /var/lib/dpkg /var/lib/apt/extended_states -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum
echo '## files'
find / -xdev \( -path /proc -o -path /sys -o -path /run -o -path /tmp -o -path /dev -o -path /root/capture-out \) -prune -o -print | sort
echo '## selections'
dpkg --get-selections
echo '## enabled'
systemctl list-unit-files --state=enabled --no-legend --no-pager
echo '## active'
systemctl list-units --state=active --no-legend --no-pager --plain
"#;

/// `name:arch=version` of every installed package.
const PACKAGES: &str = r#"dpkg-query -W -f '${db:Status-Abbrev} ${Package}:${Architecture}=${Version}\n' | awk '$1 == "ii" {print $2}' | sort"#;
const ENABLED: &str =
    "systemctl list-unit-files --state=enabled --no-legend --no-pager | awk '{print $1}' | sort";

fn lines(text: &str) -> BTreeSet<String> {
    text.lines().map(str::to_string).collect()
}

#[test]
fn capture_changes_nothing_and_the_import_rebuilds_the_host() {
    if !docker_available() {
        return;
    }
    let recipe = format!("captured-{}", std::process::id());
    let mut cleanup = Cleanup {
        run_ids: Vec::new(),
        recipe: Some(recipe.clone()),
    };

    // The host to capture: the seeded shop, kept running.
    let source = run_scenario(
        "tests/scenarios/capture-source.yaml",
        &["--keep", "--no-checkpoints"],
    );
    let source_run = source.report["run_id"].as_str().unwrap().to_string();
    cleanup.run_ids.push(source_run.clone());
    assert_eq!(source.code, 0, "{}\n{}", source.stdout, source.stderr);
    let host = kept_container(&source_run);

    // (a) Read-only: the same state before and after `rehearse capture` inside the host.
    copy_into(
        &host,
        std::path::Path::new(env!("CARGO_BIN_EXE_rehearse")),
        "rehearse",
    );
    sh(&host, "mkdir -p /root/capture-out");
    // A host behind the mirror on two base packages that apt counts as automatically
    // installed, as on a real one that skipped point releases: their versions are gone
    // from the mirror, so the recipe leaves them to apt. Their timers
    // (`dpkg-db-backup.timer`, `e2scrub_all.timer`) are enabled.
    sh(
        &host,
        "apt-mark auto -qq dpkg e2fsprogs \
         && sed -i -e '/^Package: dpkg$/,/^$/ s/^Version: .*/Version: 1.21.0/' \
                   -e '/^Package: e2fsprogs$/,/^$/ s/^Version: .*/Version: 1.47.0-1/' /var/lib/dpkg/status \
         && systemctl is-enabled dpkg-db-backup.timer e2scrub_all.timer",
    );
    // Each state is read twice and the readings joined: a directory listing through
    // the engine's fuse-overlayfs once missed one entry of a 1005-entry folder that the
    // same script's checksum pass had just listed (CI, Dec 2026). A file capture wrote
    // or removed is still in one state and in neither reading of the other.
    let state = || -> BTreeSet<String> {
        lines(&sh(&host, STATE))
            .union(&lines(&sh(&host, STATE)))
            .cloned()
            .collect()
    };
    let before = state();
    let capture = docker_exec(
        &host,
        &[
            "rehearse",
            "capture",
            "-o",
            "/root/capture-out/web.rehearse-bundle.tar.gz",
            "--db-schema",
        ],
    );
    let capture_out = text(&capture.stdout);
    let capture_err = text(&capture.stderr);
    assert!(capture.status.success(), "{capture_out}\n{capture_err}");
    let after = state();
    if before != after {
        let gone: Vec<_> = before.difference(&after).cloned().collect();
        let new: Vec<_> = after.difference(&before).cloned().collect();
        panic!("capture changed the host:\nbefore only: {gone:#?}\nafter only: {new:#?}");
    }
    // Only the bundle was written, nothing beside it.
    assert_eq!(
        sh(&host, "ls -A /root/capture-out"),
        "web.rehearse-bundle.tar.gz\n"
    );
    assert!(
        capture_out.contains("captured /root/capture-out/web.rehearse-bundle.tar.gz"),
        "{capture_out}"
    );
    assert!(
        capture_err.contains("capture: dumping mariadb (schema)"),
        "{capture_err}"
    );

    // The data, only when asked: a sample of each table, or all of it.
    for (flag, rows, file) in [
        ("--db-sample=2", 2, "db/mariadb-sample.sql"),
        ("--db-dump", 200, "db/mariadb-full.sql"),
    ] {
        let out = format!("/root/data{}.tar.gz", rows);
        let capture = docker_exec(&host, &["rehearse", "capture", "-o", &out, flag]);
        assert!(capture.status.success(), "{}", text(&capture.stderr));
        // The seeded orders, row by row as mysqldump writes them: `(1,'seed-1','seed',...)`.
        let seeded = sh(
            &host,
            &format!("tar -xzOf {out} {file} | grep -o \"'seed-[0-9]*'\" | sort -u | wc -l"),
        );
        assert_eq!(seeded.trim(), rows.to_string(), "{flag}");
        sh(&host, &format!("rm {out}"));
    }

    // What the imported host must match, read now: a kept replica is only ours until
    // some `rehearse gc` (another test's, on a shared engine) removes it.
    const STAT: &str =
        "stat -c '%a %U:%G %N' /etc/apache2/apache2.conf /etc/apache2/sites-enabled/*";
    let original_packages = lines(&sh(&host, PACKAGES));
    let original_enabled = sh(&host, ENABLED);
    let original_stat = sh(&host, STAT);

    // (b) Round trip: import the bundle, build it, start it, compare.
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("web.rehearse-bundle.tar.gz");
    let copied = Command::new("docker")
        .args([
            "cp",
            &format!("{host}:/root/capture-out/web.rehearse-bundle.tar.gz"),
            bundle.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(copied.status.success(), "{}", text(&copied.stderr));
    let images_dir = dir.path().join("images");
    let scenarios_dir = dir.path().join("scenarios");
    let import = rehearse(&[
        "import",
        bundle.to_str().unwrap(),
        "--name",
        &recipe,
        "--images-dir",
        images_dir.to_str().unwrap(),
        "--scenarios-dir",
        scenarios_dir.to_str().unwrap(),
    ]);
    assert!(
        import.status.success(),
        "{}\n{}",
        text(&import.stdout),
        text(&import.stderr)
    );
    let recipe_text =
        std::fs::read_to_string(images_dir.join(&recipe).join("recipe.yaml")).unwrap();
    let scenario_path = scenarios_dir.join(format!("{recipe}.yaml"));
    let scenario_text = std::fs::read_to_string(&scenario_path).unwrap();
    // For the record (`--nocapture`): what the import says it cannot reproduce.
    for line in recipe_text.lines().take_while(|l| l.starts_with('#')) {
        eprintln!("{line}");
    }
    // The database's contents were not captured, and the recipe says so.
    assert!(
        recipe_text.contains("# - database data: mariadb"),
        "{recipe_text}"
    );
    assert!(recipe_text.contains("apache2="), "{recipe_text}");
    // Units of the base's own packages (`dpkg-db-backup.timer`, `e2scrub_all.timer`) are
    // enabled like any other: every enabled unit of the shop is reproduced.
    assert!(
        !recipe_text.contains("enabled unit left out of `enable`"),
        "{recipe_text}"
    );
    // `rehearse check` accepts what import wrote.
    let check = rehearse(&[
        "check",
        scenario_path.to_str().unwrap(),
        "--images-dir",
        images_dir.to_str().unwrap(),
    ]);
    assert!(
        check.status.success(),
        "{}\n{}",
        text(&check.stdout),
        text(&check.stderr)
    );

    let build = rehearse(&[
        "images",
        "build",
        &recipe,
        "--images-dir",
        images_dir.to_str().unwrap(),
    ]);
    assert!(
        build.status.success(),
        "{}\n{}\n{recipe_text}",
        text(&build.stdout),
        text(&build.stderr)
    );

    // Up to the baseline: the probes import derived, against the imported host.
    let baseline_only = scenario_text
        .split("  - name: upgrade to ")
        .next()
        .unwrap()
        .to_string();
    assert!(
        baseline_only.contains("  - name: baseline\n    probe: ["),
        "{scenario_text}"
    );
    let baseline_path = scenarios_dir.join("baseline.yaml");
    std::fs::write(&baseline_path, &baseline_only).unwrap();
    let report_dir = dir.path().join("report");
    let run = rehearse(&[
        "run",
        baseline_path.to_str().unwrap(),
        "--images-dir",
        images_dir.to_str().unwrap(),
        "--report-dir",
        report_dir.to_str().unwrap(),
        "--keep",
        "--no-checkpoints",
    ]);
    let report = report(&report_dir);
    let imported_run = report["run_id"].as_str().unwrap().to_string();
    cleanup.run_ids.push(imported_run.clone());
    let imported = kept_container(&imported_run);
    let imported_packages = lines(&sh(&imported, PACKAGES));
    let imported_enabled = sh(&imported, ENABLED);
    let imported_stat = sh(&imported, STAT);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}\n{}\n{scenario_text}",
        text(&run.stdout),
        text(&run.stderr)
    );
    let baseline = step(&report, "baseline");
    let checks = baseline["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["probe"].as_str().is_some_and(|p| p.starts_with("http-"))),
        "an HTTP probe of the web server: {baseline:#}"
    );
    assert!(
        checks.iter().any(|c| c["probe"] == "service-mariadb"),
        "{baseline:#}"
    );
    assert!(checks.iter().all(|c| c["passed"] == true), "{baseline:#}");

    // Same packages (name, architecture, version) and the same enabled units, except
    // versions the import said the mirror no longer has.
    let differences: Vec<String> = original_packages
        .symmetric_difference(&imported_packages)
        .filter(|entry| {
            let name = entry.split(':').next().unwrap();
            !recipe_text.contains(&format!("gone from the mirror: {name} "))
                && !recipe_text.contains(&format!(", {name} "))
                && !recipe_text.contains(&format!("apt chooses): {name} "))
        })
        .cloned()
        .collect();
    assert_eq!(differences, Vec::<String>::new(), "{recipe_text}");
    assert_eq!(original_enabled, imported_enabled);
    // The captured configuration is there, modes and links kept.
    assert_eq!(original_stat, imported_stat);

    drop(cleanup);
    assert_eq!(leftovers(&source_run), Vec::<String>::new());
    assert_eq!(leftovers(&imported_run), Vec::<String>::new());
}

/// Without Docker: the CLI captures a host tree (`--root`, hidden, reads files only),
/// refuses to overwrite the bundle, and imports it (`--no-mirror-check`) into a recipe
/// and a scenario that `rehearse check` accepts.
#[test]
fn the_cli_captures_a_host_tree_and_imports_it_into_a_valid_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "etc/os-release",
        "ID=debian\nVERSION_ID=\"11\"\nVERSION_CODENAME=bullseye\nPRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\n",
    );
    write("etc/hostname", "Shop01\n");
    write(
        "var/lib/dpkg/status",
        "Package: dpkg\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.20.13\n\n\
         Package: nginx\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.18.0-6.1+deb11u3\n",
    );
    write(
        "etc/nginx/sites-enabled/shop",
        "server {\n  listen 80;\n  server_name shop.example.test;\n  root /srv/shop;\n}\n",
    );
    write(
        "etc/nginx/conf.d/app.conf",
        "# app\nfastcgi_param DB_PASSWORD s3cret;\n",
    );
    write("etc/nginx/ssl/shop.key", "-----BEGIN PRIVATE KEY-----\n");
    let bundle = dir.path().join("shop.tar.gz");
    let args = [
        "capture",
        "--root",
        root.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
    ];
    let captured = rehearse(&args);
    assert!(captured.status.success(), "{}", text(&captured.stderr));
    assert!(
        text(&captured.stdout).starts_with(&format!(
            "captured {}: 2 packages (2 manual), 0 enabled units, 0 running services, 0 listening ports, 6 files (1 skipped), 1 redaction",
            bundle.display()
        )),
        "{}",
        text(&captured.stdout)
    );
    let again = rehearse(&args);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        text(&again.stderr),
        format!(
            "error: `{}` already exists; pass --force to replace it, or choose another name with -o\n",
            bundle.display()
        )
    );

    let images = dir.path().join("images");
    let scenarios = dir.path().join("scenarios");
    let import = rehearse(&[
        "import",
        bundle.to_str().unwrap(),
        "--images-dir",
        images.to_str().unwrap(),
        "--scenarios-dir",
        scenarios.to_str().unwrap(),
        "--no-mirror-check",
    ]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    let scenario = scenarios.join("shop01.yaml");
    let scenario_text = std::fs::read_to_string(&scenario).unwrap();
    assert!(
        scenario_text.contains("      to: bookworm\n"),
        "{scenario_text}"
    );
    assert!(
        scenario_text.contains("      vhost: \"shop.example.test\"\n"),
        "{scenario_text}"
    );
    let recipe = std::fs::read_to_string(images.join("shop01/recipe.yaml")).unwrap();
    assert!(
        recipe.contains(
            "# - file not captured: /etc/nginx/ssl/shop.key (never copied: private key (*.key))"
        ),
        "{recipe}"
    );
    assert!(
        recipe.contains("packages:\n  - \"dpkg\"\n  - \"nginx\"\n"),
        "{recipe}"
    );
    let check = rehearse(&[
        "check",
        scenario.to_str().unwrap(),
        "--images-dir",
        images.to_str().unwrap(),
    ]);
    assert!(
        check.status.success(),
        "{}\n{}",
        text(&check.stdout),
        text(&check.stderr)
    );
}

/// A minimal host tree under `root` for `capture --root`.
fn host_tree(root: &std::path::Path) {
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "etc/os-release",
        "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
    );
    write("etc/hostname", "app01\n");
    write(
        "var/lib/dpkg/status",
        "Package: dpkg\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.21.22\n",
    );
}

/// Every file a bundle holds, as text, one after the other.
fn bundle_text(bundle: &std::path::Path) -> String {
    let read = rehearse::capture::read_bundle(bundle).unwrap();
    read.entries
        .values()
        .map(|data| String::from_utf8_lossy(data).into_owned())
        .collect()
}

/// Without Docker: a unit's `Environment=` secrets are redacted by the variable's name,
/// and the bundle can be read by its owner only.
#[test]
fn a_capture_redacts_unit_environments_and_only_its_owner_reads_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    host_tree(&root);
    let unit = root.join("etc/systemd/system/app.service");
    std::fs::create_dir_all(unit.parent().unwrap()).unwrap();
    std::fs::write(
        &unit,
        "[Service]\nEnvironment=APP_ENV=production \"DB_PASSWORD=s3cret value\"\nEnvironment=API_TOKEN=t0ken\nExecStart=/usr/bin/app\n",
    )
    .unwrap();
    let bundle = dir.path().join("app.tar.gz");
    let captured = rehearse(&[
        "capture",
        "--root",
        root.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
    ]);
    assert!(captured.status.success(), "{}", text(&captured.stderr));
    let mode = std::fs::metadata(&bundle).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let all = bundle_text(&bundle);
    assert!(!all.contains("s3cret") && !all.contains("t0ken"), "{all}");
    assert!(
        all.contains("Environment=APP_ENV=production \"DB_PASSWORD=<redacted>\"\nEnvironment=API_TOKEN=<redacted>\n"),
        "{all}"
    );
}

/// Without Docker: a capture stopped by SIGTERM while it writes its bundle leaves no
/// `.partial` file and no bundle, and says so.
#[test]
fn an_interrupted_capture_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    host_tree(&root);
    // Enough incompressible data that writing the bundle takes a few seconds.
    let big = root.join("etc/apache2");
    std::fs::create_dir_all(&big).unwrap();
    for i in 0..8 {
        let mut data = vec![0u8; 16 * 1024 * 1024];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ i;
        for chunk in data.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        std::fs::write(big.join(format!("blob{i}.bin")), data).unwrap();
    }
    let bundle = dir.path().join("app.tar.gz");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rehearse"))
        .args([
            "capture",
            "--root",
            root.to_str().unwrap(),
            "--max-file-size",
            "67108864",
            "-o",
            bundle.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let partial = dir.path().join("app.tar.gz.partial");
    let started = std::time::Instant::now();
    while !partial.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the capture ended before it was interrupted"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no partial bundle"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("interrupted: the unfinished bundle was removed"));
    assert!(!partial.exists() && !bundle.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "root")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
