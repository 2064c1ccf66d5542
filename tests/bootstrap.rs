//! The built-in bootstrap (issue 20): with nothing on this machine but `rehearse` and an
//! engine, it makes the base mmdebstrap makes, and the reference upgrade runs on it.

mod common;

use common::*;

/// The mirrors spelled with their port: the same servers and the same package cache,
/// but base images of their own, so both bootstraps here work from one mirror state.
const MIRROR: &str = "http://deb.debian.org:80/debian";
const SECURITY_MIRROR: &str = "http://deb.debian.org:80/debian-security";

/// Build recipe `name` of `dir` with base source `source`; the base's reference and
/// whether it was a cache hit, the recipe image's reference.
fn build(dir: &std::path::Path, name: &str, source: &str) -> (String, bool, String) {
    let output = rehearse(&[
        "images",
        "build",
        name,
        "--images-dir",
        dir.to_str().unwrap(),
        "--base-source",
        source,
        "--mirror",
        MIRROR,
        "--security-mirror",
        SECURITY_MIRROR,
    ]);
    let stderr = text(&output.stderr);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "building `{name}` with {source} failed:\n{stdout}\n{stderr}"
    );
    let base = stderr
        .lines()
        .find_map(|l| {
            let l = l.trim();
            l.strip_prefix("base ")
                .and_then(|rest| rest.split("rehearse/debian:").nth(1))
                .map(|r| format!("rehearse/debian:{}", r.trim_end_matches(')')))
        })
        .unwrap_or_else(|| panic!("no base in:\n{stderr}"));
    let hit = stderr.contains(&format!("cache hit ({base})"));
    let image = stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no image in:\n{stdout}"))
        .trim()
        .to_string();
    (base, hit, image)
}

fn packages(image: &str) -> String {
    let output = std::process::Command::new("docker")
        .args(["run", "--rm", "--entrypoint", "dpkg-query", image, "-W"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
}

/// What `apt-get install -y <packages>` would add on `image` now, as `dpkg-query -W`
/// lines (name, tab, version).
fn simulated_install(image: &str, packages: &str) -> Vec<String> {
    let output = std::process::Command::new("docker")
        .args(["run", "--rm", "--entrypoint", "sh", image, "-c"])
        .arg(format!(
            "apt-get update -qq && apt-get install -s -y {packages}"
        ))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("Inst "))
        .map(|l| {
            // `Inst apache2 (2.4.62-1~deb12u2 Debian:12.9/stable [amd64])`; a package
            // apt would upgrade reads `Inst name [old] (new …)`.
            let name = l.split(' ').next().unwrap();
            let version = l.split('(').nth(1).unwrap().split(' ').next().unwrap();
            format!("{name}\t{version}")
        })
        .collect()
}

/// `dpkg-query -W` lines with the architecture qualifier apt's output lacks dropped.
fn unqualified(listing: &str) -> Vec<String> {
    let mut lines: Vec<String> = listing
        .lines()
        .map(|l| match l.split_once('\t') {
            Some((name, version)) => format!("{}\t{version}", name.split(':').next().unwrap()),
            None => l.to_string(),
        })
        .collect();
    lines.sort();
    lines
}

fn manual(image: &str) -> Vec<String> {
    let listed = docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "apt-mark",
        image,
        "showmanual",
    ]);
    listed.lines().map(str::to_string).collect()
}

fn source_of(image: &str) -> String {
    docker(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"rehearse.base-source\"}}",
        image,
    ])
}

/// Also (bookworm): a recipe's packages, installed in the pass that makes its base (issue
/// 20, item 3), are what an admin's `apt-get install` adds on the plain base (the same
/// packages and versions, recommends included; only the named ones marked manual),
/// with either bootstrap.
#[test]
fn builtin_bases_hold_the_packages_and_versions_mmdebstrap_makes() {
    if !docker_available() {
        return;
    }
    let has_mmdebstrap = std::process::Command::new("mmdebstrap")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_mmdebstrap {
        assert!(
            std::env::var_os("REHEARSE_REQUIRE_DOCKER").is_none(),
            "this test compares with mmdebstrap, which is not installed (`.ci/run` installs it)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let suites = ["bullseye", "bookworm", "trixie"];
    for suite in suites {
        let recipe = dir.path().join(format!("bare-{suite}"));
        std::fs::create_dir_all(&recipe).unwrap();
        std::fs::write(recipe.join("recipe.yaml"), format!("suite: {suite}\n")).unwrap();
    }
    // apache2 recommends ssl-cert (not a dependency): whether recommends come along.
    const WEB_PACKAGES: &str = "apache2";
    let web = dir.path().join("web-bookworm");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(
        web.join("recipe.yaml"),
        format!("suite: bookworm\npackages: [{WEB_PACKAGES}]\n"),
    )
    .unwrap();
    // Side by side, each suite's two bootstraps one after the other, fresh: images a
    // crashed earlier run left would come from another mirror state.
    let compared: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = suites
            .iter()
            .map(|suite| {
                let dir = dir.path();
                scope.spawn(move || {
                    let fresh = |name: &str, source: &str| {
                        let (base, hit, image) = build(dir, name, source);
                        if hit {
                            docker(&["rmi", "-f", &image, &base]);
                            let (base, hit, image) = build(dir, name, source);
                            assert!(!hit);
                            (base, image)
                        } else {
                            (base, image)
                        }
                    };
                    let mut built = Vec::new();
                    let mut web = Vec::new();
                    for source in ["mmdebstrap", "builtin"] {
                        let (base, image) = fresh(&format!("bare-{suite}"), source);
                        if *suite == "bookworm" {
                            let (web_base, web_image) = fresh("web-bookworm", source);
                            web.push((source, image.clone(), web_base, web_image));
                        }
                        built.push((source, base, image));
                    }
                    (*suite, built, web)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut failures = Vec::new();
    for (_, _, web) in &compared {
        for (source, bare, web_base, web_image) in web {
            let mut expected = unqualified(&packages(bare));
            expected.extend(simulated_install(bare, WEB_PACKAGES));
            expected.sort();
            let made = unqualified(&packages(web_image));
            if made != expected {
                failures.push(format!(
                    "{source}, bookworm with {WEB_PACKAGES}: only apt's: {:?}; only the image's: {:?}",
                    expected.iter().filter(|l| !made.contains(l)).collect::<Vec<_>>(),
                    made.iter().filter(|l| !expected.contains(l)).collect::<Vec<_>>()
                ));
            }
            assert!(
                made.iter().any(|l| l.starts_with("ssl-cert\t")),
                "{source}: no recommends"
            );
            let mut manual_expected = manual(bare);
            manual_expected.extend(WEB_PACKAGES.split(' ').map(str::to_string));
            manual_expected.sort();
            assert_eq!(manual(web_image), manual_expected, "{source}");
            docker(&["rmi", "-f", web_image, web_base]);
        }
    }
    for (suite, built, _) in &compared {
        let [(_, made_by_mmdebstrap, _), (_, made_builtin, _)] = built.as_slice() else {
            unreachable!()
        };
        assert_ne!(made_by_mmdebstrap, made_builtin, "one image for both");
        assert_eq!(source_of(made_by_mmdebstrap), "mmdebstrap");
        assert_eq!(source_of(made_builtin), "builtin");
        // On bullseye, mmdebstrap's merged-/usr setup hook installs a dummy
        // `usr-is-merged` (version 1) a real bullseye host does not have: the tool's
        // pass purges it, so the two bases are equal there too.
        let reference = packages(made_by_mmdebstrap);
        let builtin = packages(made_builtin);
        if builtin != reference {
            let only = |a: &str, b: &str| -> Vec<String> {
                a.lines()
                    .filter(|l| !b.lines().any(|m| m == *l))
                    .map(str::to_string)
                    .collect()
            };
            failures.push(format!(
                "{suite}: only mmdebstrap's: {:?}; only the built-in's: {:?}",
                only(&reference, &builtin),
                only(&builtin, &reference)
            ));
        }
        assert!(
            builtin.lines().count() > 100,
            "{suite}: a base of {} packages",
            builtin.lines().count()
        );
    }
    // These images are this test's own (their mirror spelling): nothing is left.
    for (_, built, _) in &compared {
        for (_, base, image) in built {
            docker(&["rmi", "-f", image, base]);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn with_mmdebstrap_hidden_the_reference_upgrade_is_go_on_a_builtin_base() {
    if !docker_available() {
        return;
    }
    // No mmdebstrap (nor anything else) on PATH: the engine cannot pull, so the base
    // comes from the built-in bootstrap.
    let run = run_scenario_with_env(
        "scenarios/lamp-bullseye-to-bookworm.yaml",
        &["--no-checkpoints"],
        &[("PATH", "/nonexistent")],
    );
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.report["verdict"], "GO");
    // The host's image (built now, or found in the cache from an earlier such run)
    // carries the label of the base it was built on.
    let image = run
        .stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("image lamp-bullseye: "))
        .and_then(|l| l.split("rehearse/lamp-bullseye:").nth(1))
        .map(|r| {
            let tag = r.split([')', ' ']).next().unwrap_or_default();
            format!("rehearse/lamp-bullseye:{tag}")
        })
        .unwrap_or_else(|| panic!("no image in:\n{}", run.stderr));
    assert_eq!(source_of(&image), "builtin", "{image}");
    let upgrade = step(&run.report, "upgrade to bookworm");
    assert_eq!(upgrade["status"], "passed", "{upgrade:#}");
    assert_eq!(upgrade["upgrade"]["hops"][0]["to"], "bookworm");
}

/// The built-in bootstrap's second stage runs in a container with volumes (native
/// storage): a `rehearse` killed meanwhile leaves them labelled as its own, and `gc`
/// removes them once the process is gone.
#[test]
fn a_bootstrap_stopped_in_its_second_stage_leaves_nothing_or_what_gc_removes() {
    if !engine_alone() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A base no other test makes: never in the cache, so the second stage always runs.
    let recipe = dir.path().join("killed");
    std::fs::create_dir_all(&recipe).unwrap();
    std::fs::write(
        recipe.join("recipe.yaml"),
        "suite: bookworm\npackages: [hello]\n",
    )
    .unwrap();
    // The build, once its second-stage container exists, and that container's prefix.
    let start = |stderr: std::process::Stdio| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rehearse"))
            .args(["images", "build", "killed", "--base-source", "builtin"])
            .args(["--images-dir", dir.path().to_str().unwrap()])
            .args(["--mirror", MIRROR, "--security-mirror", SECURITY_MIRROR])
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let prefix = format!("rh-build-{}-", child.id());
        let started = std::time::Instant::now();
        while mine(&prefix, "container").is_empty() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(180),
                "no second-stage container {prefix}* after 180 s"
            );
            assert!(child.try_wait().unwrap().is_none(), "the build ended first");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        (child, prefix)
    };

    // Ctrl-C: the build stops, removes its container and volumes itself, exits 130.
    let (child, prefix) = start(std::process::Stdio::piped());
    signal(&child, "INT");
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted: the builds were stopped"),
        "{stderr}"
    );
    assert_eq!(mine(&prefix, "container"), Vec::<String>::new());
    assert_eq!(mine(&prefix, "volume"), Vec::<String>::new());

    // Killed: nothing can clean up then; `gc` removes what is left.
    let (mut child, prefix) = start(std::process::Stdio::null());
    child.kill().unwrap();
    child.wait().unwrap();
    let volumes = mine(&prefix, "volume");
    assert_eq!(volumes.len(), 3, "{volumes:?}");
    let output = rehearse(&["gc"]);
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert_eq!(mine(&prefix, "container"), Vec::<String>::new());
    assert_eq!(mine(&prefix, "volume"), Vec::<String>::new());
}

/// The engine's containers or volumes whose names start with `prefix`.
fn mine(prefix: &str, kind: &str) -> Vec<String> {
    let listed = match kind {
        "container" => docker(&["ps", "-a", "--format", "{{.Names}}"]),
        _ => docker(&["volume", "ls", "--format", "{{.Name}}"]),
    };
    listed
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_string)
        .collect()
}
