//! Host `files:` against the real engine: local files land in the host before it
//! boots, with their modes; references leaving the scenario's folder are refused.

mod common;

use common::*;

#[test]
fn host_files_land_in_the_host_with_their_mode() {
    if !docker_available() {
        return;
    }
    let run = run_scenario("tests/scenarios/host-files.yaml", &[]);
    assert_eq!(run.code, 0, "{run}");
    let report = &run.report;
    assert_eq!(
        step(report, "the file is there with its mode and owner")["status"],
        "passed"
    );
    assert_eq!(step(report, "the page is served")["status"], "passed");
    assert_clean(&run);
}

/// A scenario in a temp folder whose host copies `src`; `setup` prepares the folder.
fn scenario_in_temp(src: &str, setup: impl FnOnce(&std::path::Path)) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("scenario");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(root.path().join("outside.txt"), "not for the replica\n").unwrap();
    std::fs::write(dir.join("inside.txt"), "for the replica\n").unwrap();
    std::fs::write(
        dir.join("s.yaml"),
        format!(
            "name: files\nhosts:\n  web:\n    image: static-site\n    files:\n      - {{src: {src}, dest: /etc/x}}\nsteps:\n  - exec: {{host: web, command: 'true'}}\n"
        ),
    )
    .unwrap();
    setup(&dir);
    root
}

#[test]
fn check_refuses_a_link_leading_out_of_the_scenario_folder() {
    let root = scenario_in_temp("escape.txt", |dir| {
        std::os::unix::fs::symlink("../outside.txt", dir.join("escape.txt")).unwrap();
    });
    let path = root.path().join("scenario/s.yaml");
    let output = rehearse(&["check", path.to_str().unwrap(), "--images-dir", "images"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stdout));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("`hosts.web.files[0].src`") && stderr.contains("is a link to"),
        "{stderr}"
    );
    assert!(stderr.contains("outside.txt"), "{stderr}");
}

#[test]
fn check_accepts_a_link_inside_the_folder_and_refuses_dot_dot() {
    let root = scenario_in_temp("link.txt", |dir| {
        std::os::unix::fs::symlink("inside.txt", dir.join("link.txt")).unwrap();
    });
    let path = root.path().join("scenario/s.yaml");
    let output = rehearse(&["check", path.to_str().unwrap(), "--images-dir", "images"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));

    let root = scenario_in_temp("../outside.txt", |_| {});
    let path = root.path().join("scenario/s.yaml");
    let output = rehearse(&["check", path.to_str().unwrap(), "--images-dir", "images"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("invalid `src` `../outside.txt`: `..` would leave the scenario's folder"),
        "{stderr}"
    );
    assert!(stderr.contains("s.yaml:6:"), "{stderr}");
}

#[test]
fn check_names_a_file_over_the_size_limit_with_its_size() {
    let root = scenario_in_temp("inside.txt", |dir| {
        let path = dir.join("s.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("file_limits: {{per_file: 8}}\n{text}")).unwrap();
    });
    let path = root.path().join("scenario/s.yaml");
    let output = rehearse(&["check", path.to_str().unwrap(), "--images-dir", "images"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("`hosts.web.files[0].src` in `")
            && stderr.contains("`inside.txt` is 16 bytes, more than the limit of 8 bytes per file"),
        "{stderr}"
    );
}

#[test]
fn check_refuses_a_recipe_file_that_is_a_link_leading_out() {
    let root = scenario_in_temp("inside.txt", |_| {});
    let images = root.path().join("images");
    let recipe = images.join("static-site");
    std::fs::create_dir_all(&recipe).unwrap();
    std::fs::write(
        recipe.join("recipe.yaml"),
        "suite: bookworm\nfiles:\n  - {src: page.html, dest: /var/www/html/index.html}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("../../outside.txt", recipe.join("page.html")).unwrap();
    let path = root.path().join("scenario/s.yaml");
    let output = rehearse(&[
        "check",
        path.to_str().unwrap(),
        "--images-dir",
        images.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("`files[0].src` in `") && stderr.contains("is a link to"),
        "{stderr}"
    );
}

#[test]
fn run_refuses_a_link_leading_out_before_touching_docker() {
    let root = scenario_in_temp("escape.txt", |dir| {
        std::os::unix::fs::symlink("../outside.txt", dir.join("escape.txt")).unwrap();
    });
    let path = root.path().join("scenario/s.yaml");
    // No engine at all: the answer must still be "invalid input", not "no engine".
    let output = rehearse_with_env(
        &["run", path.to_str().unwrap()],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("is a link to"));
}
