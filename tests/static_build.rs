//! The static build (`cargo static`) for the hosts `rehearse capture` runs on, which are
//! on the old release by definition: it captures a running Debian 11 replica, where the
//! normal build cannot start.
//!
//! A test program of its own so that it runs late in `cargo test` (programs run in name
//! order): `.ci/run` starts `cargo static` in the background at low priority when the
//! tests start, and this test finds it built, or waits for it on cargo's lock.

mod common;

use std::process::Command;

use common::*;

/// The static build of `cargo static` (into its own target folder, so building it here
/// does not wait for the lock `cargo test` holds on `target/`): built if missing or
/// out of date, a no-op otherwise.
fn static_build() -> std::path::PathBuf {
    let target = root().join("target/static");
    let mut cargo = Command::new(env!("CARGO"));
    // `cargo test` runs this test with the variables cargo sets for a crate
    // (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR` …). ring's build script asks to run again
    // when they change, and cargo compares them with its own environment: passed on,
    // they made this build differ from the one `.ci/run` made, and rebuilt ring and
    // everything above it, the static build's last 2.5 minutes, in every CI run.
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(set_by_cargo_for_a_crate) {
            cargo.env_remove(&key);
        }
    }
    let output = cargo
        .arg("static")
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(root())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "`cargo static` failed:\n{}",
        text(&output.stderr)
    );
    target.join("x86_64-unknown-linux-gnu/release/rehearse")
}

/// What cargo sets in the environment of the crate it builds or runs (the Cargo book,
/// "Environment variables Cargo sets for crates"), as opposed to what configures cargo.
fn set_by_cargo_for_a_crate(key: &str) -> bool {
    key.starts_with("CARGO_PKG_")
        || key.starts_with("CARGO_MANIFEST_")
        || [
            "CARGO_CRATE_NAME",
            "CARGO_BIN_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
            "OUT_DIR",
        ]
        .contains(&key)
}

/// `rehearse capture` runs on the production host, which is on the old release: the
/// static build captures a running Debian 11 host, where the normal build cannot start.
#[test]
fn the_static_build_captures_a_bullseye_host() {
    // Built (or found built) first: no need to hold the engine while cargo works.
    let static_binary = static_build();
    if !docker_available() {
        return;
    }
    let mut cleanup = Cleanup {
        run_ids: Vec::new(),
        recipe: None,
    };
    let source = run_scenario(
        "tests/scenarios/capture-bullseye.yaml",
        &["--keep", "--no-checkpoints"],
    );
    let run_id = source.report["run_id"].as_str().unwrap().to_string();
    cleanup.run_ids.push(run_id.clone());
    assert_eq!(source.code, 0, "{}\n{}", source.stdout, source.stderr);
    let host = kept_container(&run_id);
    assert!(sh(&host, "cat /etc/debian_version").starts_with("11."));

    copy_into(
        &host,
        std::path::Path::new(env!("CARGO_BIN_EXE_rehearse")),
        "rehearse-dynamic",
    );
    copy_into(&host, &static_binary, "rehearse");
    // The normal build needs a newer glibc than Debian 11's.
    let dynamic = docker_exec(&host, &["rehearse-dynamic", "--version"]);
    assert!(!dynamic.status.success());
    assert!(
        text(&dynamic.stderr).contains("GLIBC_2.3"),
        "{}",
        text(&dynamic.stderr)
    );

    let capture = docker_exec(
        &host,
        &[
            "rehearse",
            "capture",
            "-o",
            "/root/web.rehearse-bundle.tar.gz",
            "--db-schema",
        ],
    );
    assert!(
        capture.status.success(),
        "{}\n{}",
        text(&capture.stdout),
        text(&capture.stderr)
    );
    let bundle = sh(
        &host,
        "tar -xzOf /root/web.rehearse-bundle.tar.gz bundle.json",
    );
    let bundle: serde_json::Value = serde_json::from_str(&bundle).unwrap();
    assert_eq!(
        bundle["host"]["os"]["version_codename"], "bullseye",
        "{:#}",
        bundle["host"]
    );
    let packages = bundle["packages"].to_string();
    for package in ["apache2", "mariadb-server", "libapache2-mod-php7.4"] {
        assert!(packages.contains(package), "{package} not captured");
    }
}
