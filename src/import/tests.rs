//! Recipe and scenario generation from a synthetic bundle, compared as whole texts.

use super::*;
use crate::capture::bundle::sample_bundle;

/// apache2's captured version is still there; php8.2's is gone (a newer one is);
/// shop-tools never came from Debian.
const MADISON: &str = "apache2 | 2.4.62-1~deb12u2 | http://deb.debian.org/debian bookworm/main amd64 Packages
apache2-data | 2.4.62-1~deb12u2 | http://deb.debian.org/debian bookworm/main amd64 Packages
mariadb-server | 1:10.11.11-0+deb12u1 | http://deb.debian.org/debian bookworm/main amd64 Packages
php8.2 | 8.2.28-1~deb12u1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
";

fn mirror() -> MirrorVersions {
    MirrorVersions::parse_madison(MADISON)
}

#[test]
fn recipe_from_a_bundle() {
    let bundle = sample_bundle();
    let plan = ImportPlan::new(&bundle, "web1", Some(&mirror()));
    assert_eq!(recipe_text(&bundle, &plan), EXPECTED_RECIPE);
}

#[test]
fn scenario_from_a_bundle() {
    let bundle = sample_bundle();
    let plan = ImportPlan::new(&bundle, "web1", Some(&mirror()));
    assert_eq!(scenario_text(&bundle, &plan), EXPECTED_SCENARIO);
}

#[test]
fn what_import_writes_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let bundle_path = dir.path().join("b.tar.gz");
    let bundle = sample_bundle();
    let mut writer = crate::capture::archive::BundleWriter::create(&bundle_path, &bundle).unwrap();
    writer
        .add(
            "files/etc/apache2/sites-available/shop.conf",
            b"<VirtualHost *:80>\n",
            0o644,
        )
        .unwrap();
    writer
        .add(
            "files/etc/apache2/shop.env",
            b"DB_USER=shop\nDB_PASSWORD=<redacted>\n",
            0o640,
        )
        .unwrap();
    writer.finish().unwrap();
    let read = crate::capture::read_bundle(&bundle_path).unwrap();
    let plan = ImportPlan::new(&read.bundle, "web1", Some(&mirror()));
    let targets = ImportTargets::new(
        &dir.path().join("images"),
        &dir.path().join("scenarios"),
        "web1",
    );
    targets.check_free(false).unwrap();
    write_import(
        &targets,
        &read,
        &recipe_text(&read.bundle, &plan),
        &scenario_text(&read.bundle, &plan),
    )
    .unwrap();
    assert!(targets.check_free(false).is_err());

    use std::os::unix::fs::PermissionsExt;
    let files = dir.path().join("images/web1/files/etc/apache2");
    let mode = std::fs::metadata(files.join("shop.env"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o640);
    assert_eq!(
        std::fs::read_link(files.join("sites-enabled/shop.conf")).unwrap(),
        std::path::Path::new("../sites-available/shop.conf")
    );
    let recipe_path = dir.path().join("images/web1/recipe.yaml");
    let recipe = crate::images::recipe::parse(
        &recipe_path,
        &std::fs::read_to_string(&recipe_path).unwrap(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        recipe.overlay.as_deref(),
        Some(std::path::Path::new("files"))
    );
    assert_eq!(recipe.held, ["mariadb-server"]);
    assert_eq!(recipe.auto, ["apache2-data"]);
    let scenario_path = dir.path().join("scenarios/web1.yaml");
    let source = std::fs::read_to_string(&scenario_path).unwrap();
    crate::runner::parse_scenario(&scenario_path, &source).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn names_are_made_valid() {
    assert_eq!(sanitize_name("Web1.Example.COM"), "web1-example-com");
    assert_eq!(sanitize_name("42"), "host-42");
    assert_eq!(
        sanitize_name("a-very-long-host-name-that-goes-on-and-on"),
        "a-very-long-host-name-that-goes"
    );
}

const EXPECTED_RECIPE: &str = r#"# Imported by `rehearse import` from the capture of `web1` (Debian GNU/Linux 12 (bookworm), amd64, captured 2026-11-26T19:00:00Z).
# 3 packages pinned to the captured versions the mirror still has; the captured /etc trees are in `files/`.
#
# Not reproduced by this replica:
# - not in the Debian mirror (another source, or no longer in Debian): shop-tools 1.0
# - version gone from the mirror: php8.2 8.2.20-1~deb12u1 (the mirror's current version is installed)
# - file not captured: /etc/mysql/debian.cnf (never copied: password file)
# - value redacted: /etc/apache2/shop.env line 2 (`DB_PASSWORD`): set it in the replica yourself
# - database data: mariadb 1:10.11.11-0+deb12u1 not captured (capture with --db-schema, --db-sample N or --db-dump)
description: "Imported from web1 (Debian GNU/Linux 12 (bookworm))"
suite: bookworm
packages:
  - "apache2=2.4.62-1~deb12u2"
  - "mariadb-server=1:10.11.11-0+deb12u1"
  - "php8.2"
  - "apache2-data=2.4.62-1~deb12u2"
auto:
  - "apache2-data"
held:
  - "mariadb-server"
overlay: files
commands:
  - "find '/etc/apache2/sites-enabled' -mindepth 1 -maxdepth 1 -type l ! -name 'shop.conf' -delete"
  - "chown root:www-data '/etc/apache2/shop.env'"
enable:
  - "apache2.service"
  - "mariadb.service"
"#;
const EXPECTED_SCENARIO: &str = r#"# Imported by `rehearse import` from the capture of `web1` (Debian GNU/Linux 12 (bookworm)).
# Rehearse: rehearse run scenarios/web1.yaml
#
# Probes come from what the host served when captured: each plain-HTTP virtual host
# (any answer but a server error), each listening port, each running service.
# What the replica does not reproduce is listed in images/web1/recipe.yaml.
name: web1
description: "web1 (Debian GNU/Linux 12 (bookworm)) as captured, upgraded to the next Debian release"

hosts:
  web1:
    image: web1
    aliases: ["shop.example.test", "www.shop.example.test"]

probes:
  http-shop.example.test:
    http:
      host: web1
      vhost: "shop.example.test"
      port: 80
      path: /
      expect: {status_below: 500}
    retry: {interval: 1s, deadline: 60s}
  port-80:
    tcp: {host: web1, port: 80}
    retry: {interval: 1s, deadline: 60s}
  port-3306:
    exec:
      host: web1
      command: "timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/3306'"
    retry: {interval: 1s, deadline: 60s}
  service-apache2:
    exec:
      host: web1
      command: "systemctl is-active 'apache2.service'"
    retry: {interval: 1s, deadline: 60s}
  service-mariadb:
    exec:
      host: web1
      command: "systemctl is-active 'mariadb.service'"
    retry: {interval: 1s, deadline: 60s}

steps:
  - name: baseline
    probe: [http-shop.example.test, port-80, port-3306, service-apache2, service-mariadb]
  - name: upgrade to trixie
    upgrade:
      host: web1
      to: trixie
      probes: [http-shop.example.test, port-80, port-3306, service-apache2, service-mariadb]
  - name: after the upgrade
    probe: [http-shop.example.test, port-80, port-3306, service-apache2, service-mariadb]
"#;

#[test]
fn a_unit_of_a_base_package_is_enabled_like_any_other() {
    // dpkg is no manual package of the host, nor in the recipe, but every replica of
    // the suite has it: its timer is enabled, not reported as left out.
    let mut bundle = sample_bundle();
    bundle.units.enabled.push("dpkg-db-backup.timer".into());
    bundle
        .units
        .owners
        .insert("dpkg-db-backup.timer".into(), "dpkg".into());
    let without_base = ImportPlan::new(&bundle, "web1", Some(&mirror()));
    assert!(
        !without_base
            .enable
            .contains(&"dpkg-db-backup.timer".to_string())
    );
    let with_base = MirrorVersions::parse(&format!("{MADISON}### base packages\ndpkg\n"));
    let plan = ImportPlan::new(&bundle, "web1", Some(&with_base));
    assert!(
        plan.enable.contains(&"dpkg-db-backup.timer".to_string()),
        "{:?}",
        plan.enable
    );
    assert!(
        !plan
            .not_reproduced
            .iter()
            .any(|line| line.contains("dpkg-db-backup.timer")),
        "{:?}",
        plan.not_reproduced
    );
}

/// A bundle as read, with `files` and their contents replaced.
fn crafted(
    files: Vec<crate::capture::bundle::CapturedFile>,
    contents: &[(&str, &[u8])],
) -> crate::capture::ReadBundle {
    let mut bundle = sample_bundle();
    bundle.files = files;
    crate::capture::ReadBundle {
        bundle,
        entries: contents
            .iter()
            .map(|(path, data)| {
                (
                    format!("files/{}", path.trim_start_matches('/')),
                    data.to_vec(),
                )
            })
            .collect(),
    }
}

fn captured(
    path: &str,
    kind: crate::capture::bundle::FileKind,
    mode: u32,
    target: Option<&str>,
) -> crate::capture::bundle::CapturedFile {
    crate::capture::bundle::CapturedFile {
        path: path.into(),
        kind,
        mode,
        owner: "root".into(),
        group: "root".into(),
        size: 1,
        target: target.map(str::to_string),
    }
}

/// Write `read` as an import into a fresh folder; returns the folder and the result.
fn import_into(read: &crate::capture::ReadBundle) -> (tempfile::TempDir, Result<(), ImportError>) {
    let dir = tempfile::tempdir().unwrap();
    let plan = ImportPlan::new(&read.bundle, "web1", None);
    let targets = ImportTargets::new(
        &dir.path().join("images"),
        &dir.path().join("scenarios"),
        "web1",
    );
    let result = validate(read).map_err(ImportError::from).and_then(|()| {
        write_import(
            &targets,
            read,
            &recipe_text(&read.bundle, &plan),
            &scenario_text(&read.bundle, &plan),
        )
    });
    (dir, result)
}

#[test]
fn a_path_out_of_the_files_folder_is_refused_before_anything_is_written() {
    use crate::capture::bundle::FileKind;
    for path in [
        "/etc/../../../outside",
        "etc/relative",
        "/etc//x",
        "/etc/./x",
    ] {
        let read = crafted(
            vec![captured(path, FileKind::File, 0o644, None)],
            &[(path, b"x")],
        );
        let (dir, result) = import_into(&read);
        let e = result.unwrap_err().to_string();
        assert!(
            e.contains("files[0].path") && e.contains("not an absolute path without"),
            "{e}"
        );
        assert!(!dir.path().join("outside").exists());
        assert!(
            !dir.path().join("images").exists(),
            "{path}: something was written"
        );
        // And the writer refuses it on its own too.
        let targets = ImportTargets::new(
            &dir.path().join("images"),
            &dir.path().join("scenarios"),
            "web1",
        );
        assert!(write_import(&targets, &read, "", "").is_err());
        assert!(!dir.path().join("outside").exists());
    }
}

#[test]
fn nothing_is_written_through_a_link_of_the_bundle() {
    use crate::capture::bundle::FileKind;
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().to_str().unwrap().to_string();
    // The link comes first and a file "inside" it after: written in that order, the file
    // would land in `outside`.
    let read = crafted(
        vec![
            captured("/etc/app", FileKind::Link, 0o777, Some(&target)),
            captured("/etc/app/planted", FileKind::File, 0o644, None),
        ],
        &[("/etc/app/planted", b"planted")],
    );
    let (_dir, result) = import_into(&read);
    assert!(result.is_err());
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn modes_lose_set_id_and_sticky_bits() {
    use crate::capture::bundle::FileKind;
    use std::os::unix::fs::PermissionsExt;
    let read = crafted(
        vec![
            captured("/etc/app", FileKind::Dir, 0o1777, None),
            captured("/etc/app/tool", FileKind::File, 0o6755, None),
        ],
        &[("/etc/app/tool", b"#!/bin/sh\n")],
    );
    let (dir, result) = import_into(&read);
    result.unwrap();
    let files = dir.path().join("images/web1/files/etc/app");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&files.join("tool")), 0o755);
    assert_eq!(mode(&files), 0o777);
}

#[test]
fn values_that_would_reach_a_command_or_a_recipe_are_checked() {
    use crate::capture::bundle::FileKind;
    let mut owner = captured("/etc/app.conf", FileKind::File, 0o644, None);
    owner.owner = "root; touch /tmp/pwned".into();
    let read = crafted(vec![owner], &[("/etc/app.conf", b"x")]);
    let e = import_into(&read).1.unwrap_err().to_string();
    assert!(
        e.contains("`files[0].owner`") && e.contains("touch /tmp/pwned"),
        "{e}"
    );

    let mut read = crafted(vec![], &[]);
    read.bundle.packages[0].name = "curl$(touch /tmp/pwned)".into();
    let e = import_into(&read).1.unwrap_err().to_string();
    assert!(
        e.contains("`packages[0].name`") && e.contains("a Debian package name"),
        "{e}"
    );

    let mut read = crafted(vec![], &[]);
    read.bundle
        .units
        .enabled
        .push("x.service\nExecStart=/bin/sh".into());
    let e = import_into(&read).1.unwrap_err().to_string();
    assert!(
        e.contains("units.enabled") && e.contains("a systemd unit name"),
        "{e}"
    );
}

#[test]
fn a_newline_in_the_hosts_names_cannot_leave_a_comment() {
    let mut read = crafted(vec![], &[]);
    read.bundle.host.hostname = "web\npackages: [evil]".into();
    read.bundle.host.os.pretty_name = "Debian\r\nsuite: sid".into();
    let (dir, result) = import_into(&read);
    result.unwrap();
    let recipe_path = dir.path().join("images/web1/recipe.yaml");
    let text = std::fs::read_to_string(&recipe_path).unwrap();
    assert!(text.contains("web\\npackages: [evil]"), "{text}");
    let recipe =
        crate::images::recipe::parse(&recipe_path, &text).unwrap_or_else(|e| panic!("{e}"));
    assert!(!recipe.packages.iter().any(|p| p == "evil"));
    assert_ne!(recipe.suite, "sid");
    let scenario_path = dir.path().join("scenarios/web1.yaml");
    let source = std::fs::read_to_string(&scenario_path).unwrap();
    crate::runner::parse_scenario(&scenario_path, &source).unwrap_or_else(|e| panic!("{e}"));
}
