//! Docker-backed tests of the package cache: a package installed once is installed
//! again with the mirror unreachable, and an index that changes on the mirror is
//! never served stale.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::*;
use sha2::{Digest, Sha256};

/// The tests of this file take turns: each may build the image, and two processes
/// building the same image at once is double the work.
static TURN: Mutex<()> = Mutex::new(());

/// Run a scenario with its own report folder, without building the other tests' images.
fn run_with(scenario: &str, cache: &Path, env: &[(&str, &str)]) -> RunResult {
    let dir = tempfile::tempdir().unwrap();
    let report_dir = dir.path().join("report");
    let output = rehearse_with_env(
        &[
            "run",
            scenario,
            "--report-dir",
            report_dir.to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
        ],
        env,
    );
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(
        report_dir.join("report.json").is_file(),
        "no report.json\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    RunResult {
        code: output.status.code().unwrap_or(-1),
        report: report(&report_dir),
        stdout,
        stderr,
        dir,
    }
}

fn counter(run: &RunResult, name: &str) -> u64 {
    run.report["apt_cache"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no apt_cache.{name} in {:#}", run.report["apt_cache"]))
}

fn docker(args: &[&str]) -> String {
    let output = Command::new("docker").args(args).output().unwrap();
    text(&output.stdout) + &text(&output.stderr)
}

#[test]
fn a_package_installed_once_installs_again_without_the_mirror() {
    if !docker_available() {
        return;
    }
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let cache = tempfile::tempdir().unwrap();

    let first = run_with("tests/scenarios/apt-cache.yaml", cache.path(), &[]);
    assert_eq!(first.code, 0, "{first}");
    assert!(counter(&first, "misses") > 0);
    assert!(counter(&first, "upstream_bytes") > 0);
    assert!(first.stdout.contains("apt cache: "), "{}", first.stdout);
    let pool = cache.path().join("deb.debian.org/debian/pool/main/h/hello");
    let debs: Vec<String> = std::fs::read_dir(&pool)
        .unwrap_or_else(|e| panic!("`{}`: {e}", pool.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        debs.iter()
            .any(|n| n.starts_with("hello_") && n.ends_with(".deb")),
        "{debs:?}"
    );
    assert_clean(&first);
    assert_reports_valid(&first);

    // Neither the base image nor the host image keeps a trace of the proxy.
    let image = &first.report["environment"]["images"][0];
    let base = image["base"].as_str().unwrap();
    let conf = docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "/bin/sh",
        base,
        "-c",
        "cat /etc/apt/apt.conf.d/* 2>/dev/null; env",
    ]);
    assert!(!conf.to_lowercase().contains("proxy"), "{conf}");
    let config = docker(&[
        "image",
        "inspect",
        "-f",
        "{{json .Config.Env}}",
        image["reference"].as_str().unwrap(),
    ]);
    assert!(!config.to_lowercase().contains("proxy"), "{config}");

    // The mirror is now a closed port: everything comes from the cache.
    let second = run_with(
        "tests/scenarios/apt-cache.yaml",
        cache.path(),
        &[("REHEARSE_APT_CACHE_RESOLVE", "deb.debian.org=127.0.0.1:1")],
    );
    assert_eq!(second.code, 0, "{second}");
    assert_eq!(second.report["verdict"], "GO");
    assert!(counter(&second, "hits") > 0);
    assert_eq!(counter(&second, "upstream_bytes"), 0);
    assert_eq!(counter(&second, "misses"), 0);
    assert!(
        second
            .stderr
            .contains("the mirror `deb.debian.org` cannot be reached"),
        "{}",
        second.stderr
    );
    assert_clean(&second);
    assert_reports_valid(&second);
}

/// A repository of one package, `rehearse-canary`: version 1.0 until its `Release`
/// has been fetched once, 2.0 after.
struct StandInMirror {
    address: SocketAddr,
    /// (path, status) of every request.
    requests: Arc<Mutex<Vec<(String, u16)>>>,
}

fn repository(version: u32) -> (String, String) {
    let packages = format!(
        "Package: rehearse-canary\nVersion: {version}.0\nArchitecture: all\n\
         Maintainer: rehearse <test@rehearse.test>\n\
         Filename: pool/main/r/rehearse-canary/rehearse-canary_{version}.0_all.deb\n\
         Size: 1000\nSHA256: {}\nDescription: canary of the package cache test\n\n",
        "0".repeat(64)
    );
    let hash: String = Sha256::digest(packages.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let release = format!(
        "Origin: rehearse\nLabel: rehearse\nSuite: canary\nCodename: canary\n\
         Date: Mon, 0{version} Jan 2024 00:00:00 UTC\nArchitectures: amd64\nComponents: main\n\
         SHA256:\n {hash} {} main/binary-amd64/Packages\n",
        packages.len()
    );
    (release, packages)
}

impl StandInMirror {
    fn start() -> StandInMirror {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<(String, u16)>>> = Arc::default();
        let log = requests.clone();
        std::thread::spawn(move || {
            let mut version = 0;
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                // The rest of the head.
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) <= 2 {
                        break;
                    }
                }
                let prefix = "/rehearse-stand-in/dists/canary/";
                let body = match path.strip_prefix(prefix) {
                    Some("Release") => {
                        version = if version == 0 { 1 } else { 2 };
                        Some(repository(version).0)
                    }
                    Some("main/binary-amd64/Packages") if version > 0 => {
                        Some(repository(version).1)
                    }
                    _ => None,
                };
                let status = if body.is_some() { 200 } else { 404 };
                let body = body.unwrap_or_else(|| "not here\n".into());
                let reason = if status == 200 { "OK" } else { "Not Found" };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                log.lock().unwrap().push((path, status));
            }
        });
        StandInMirror { address, requests }
    }

    fn statuses(&self, suffix: &str) -> Vec<u16> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(path, _)| path.ends_with(suffix))
            .map(|(_, status)| *status)
            .collect()
    }
}

#[test]
fn an_index_changed_on_the_mirror_is_never_served_stale() {
    if !docker_available() {
        return;
    }
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let cache = tempfile::tempdir().unwrap();
    // The image first, from the real mirror: below, the mirror's name leads elsewhere.
    let built = rehearse(&[
        "images",
        "build",
        "static-site",
        "--cache-dir",
        cache.path().to_str().unwrap(),
    ]);
    assert!(built.status.success(), "{}", text(&built.stderr));

    let mirror = StandInMirror::start();
    let resolve = format!("deb.debian.org={}", mirror.address);
    let run = run_with(
        "tests/scenarios/apt-cache-fresh-index.yaml",
        cache.path(),
        &[("REHEARSE_APT_CACHE_RESOLVE", resolve.as_str())],
    );
    assert_eq!(
        run.code,
        0,
        "{run}\nmirror saw: {:?}",
        mirror.requests.lock().unwrap()
    );
    // Both `apt-get update`s reached the mirror through the cache, and the second got
    // the new index rather than the cached one.
    assert_eq!(mirror.statuses("/Release"), [200, 200]);
    assert_eq!(mirror.statuses("/Packages"), [200, 200]);
    assert!(counter(&run, "misses") >= 4);
    assert_clean(&run);
}

/// A recipe build fetches its packages through the package cache: built once with the
/// mirror, the same recipe builds again (its image and its base removed: the recipe's
/// packages are installed in the pass that makes the base) with the mirror unreachable.
#[test]
fn a_recipe_build_goes_through_the_cache_and_builds_again_offline() {
    if !docker_available() {
        return;
    }
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    images_ready();
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let images = work.path().join("images");
    let recipe = images.join("cache-build");
    std::fs::create_dir_all(recipe.join("files")).unwrap();
    // A file of its own makes this recipe's image new to the engine, whatever ran before.
    let nonce = format!("{}-{}", std::process::id(), chrono_free_nanos());
    std::fs::write(recipe.join("files/nonce"), &nonce).unwrap();
    std::fs::write(
        recipe.join("recipe.yaml"),
        // The command fails the build unless the script sees the cache's proxy.
        "suite: bookworm\npackages: [hello]\nfiles:\n  - {src: files/nonce, dest: /etc/rehearse-nonce}\n\
         commands: ['printenv http_proxy > /etc/rehearse-build-proxy']\n",
    )
    .unwrap();
    let scenario = work.path().join("s.yaml");
    std::fs::write(
        &scenario,
        "name: cache-build\nhosts:\n  web: {image: cache-build, init: none}\nsteps:\n  - exec: {host: web, command: hello, expect: {stdout_contains: 'Hello, world!'}}\n",
    )
    .unwrap();
    let run = |env: &[(&str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        let report_dir = dir.path().join("report");
        let output = rehearse_with_env(
            &[
                "run",
                scenario.to_str().unwrap(),
                "--images-dir",
                images.to_str().unwrap(),
                "--cache-dir",
                cache.path().to_str().unwrap(),
                "--report-dir",
                report_dir.to_str().unwrap(),
            ],
            env,
        );
        let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
        assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
        let report = report(&report_dir);
        assert_eq!(
            report["environment"]["images"][0]["cached"], false,
            "{stderr}"
        );
        report
    };
    // The image, and the base with this recipe's packages (this test's alone).
    let remove_image = |report: &serde_json::Value| {
        for key in ["reference", "base"] {
            let reference = report["environment"]["images"][0][key]
                .as_str()
                .unwrap()
                .to_string();
            docker(&["rmi", "-f", &reference]);
        }
    };

    let mut first = run(&[]);
    // The build's proxy was the setup script's alone: the image does not point at a
    // port that is gone once the run ends.
    let image = first["environment"]["images"][0]["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let env = docker(&["image", "inspect", "-f", "{{json .Config.Env}}", &image]);
    assert!(!env.to_lowercase().contains("proxy"), "{env}");
    let seen = docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "cat",
        &image,
        "/etc/rehearse-build-proxy",
    ]);
    assert!(seen.starts_with("http://"), "{seen}");
    remove_image(&first);
    if first["apt_cache"]["misses"] == 0 {
        // The base came from the engine's cache (an earlier run of this test): now it
        // is gone, the bootstrap fetches.
        first = run(&[]);
        remove_image(&first);
    }
    let misses = first["apt_cache"]["misses"].as_u64().unwrap();
    assert!(misses > 0, "{:#}", first["apt_cache"]);
    assert!(first["apt_cache"]["upstream_bytes"].as_u64().unwrap() > 0);

    // The mirror is a closed port now: the build's apt gets everything from the cache.
    let second = run(&[("REHEARSE_APT_CACHE_RESOLVE", "deb.debian.org=127.0.0.1:1")]);
    remove_image(&second);
    assert_eq!(second["verdict"], "GO");
    assert_eq!(
        second["apt_cache"]["upstream_bytes"], 0,
        "{:#}",
        second["apt_cache"]
    );
    assert!(second["apt_cache"]["hits"].as_u64().unwrap() > 0);
}

fn chrono_free_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
