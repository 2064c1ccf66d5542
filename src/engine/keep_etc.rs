//! A replica keeps its own `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf`.
//!
//! The engine writes these three files at every container start (they are mounted
//! from outside the container), so an edit made on the replica — a line a cutover or
//! the admin put into `/etc/hosts`, a changed host name, a search domain — would be
//! gone after a reboot, and a snapshot would not hold it at all. A real server keeps
//! them. So every replica carries a small keeper:
//!
//! - `save` copies the three files into [`KEPT`] inside the container's own file
//!   system. The engine runs it before each restart and each commit (snapshot,
//!   checkpoint), and systemd runs it when the host shuts down.
//! - `restore` runs first thing at boot (a unit ordered before `sysinit.target`, so
//!   before any service resolves a name; run by the engine right after start on a host
//!   without systemd). It merges the kept copy into the engine's fresh file: the lines
//!   the host added are kept, the engine lines it removed stay removed, and what the
//!   engine manages is the engine's — the host's own address (which may change across
//!   a restart or a rollback) and, in `resolv.conf`, the run's name server, so the
//!   run's hosts keep resolving each other.
//!
//! The merge needs the engine's previous version to tell the host's lines from the
//! engine's: `restore` keeps it beside the copy (`FILE.engine`).

use std::time::Duration;

/// Where the keeper keeps the host's copies, inside the container.
pub const KEPT: &str = "/var/lib/rehearse/keep-etc";
/// The keeper's program inside the container.
pub const PROGRAM: &str = "/usr/local/lib/rehearse/keep-etc";
/// The unit that restores at boot and saves at shutdown.
pub const UNIT: &str = "rehearse-keep-etc.service";

/// How long saving or restoring three small files may take.
pub const TIMEOUT: Duration = Duration::from_secs(20);

const SCRIPT: &str = r#"#!/bin/sh
# Installed by rehearse: keeps this replica's own /etc/hosts, /etc/hostname and
# /etc/resolv.conf across restarts and snapshots, which the engine rewrites at each
# start. `save` keeps copies; `restore` merges them into the engine's fresh files.
set -u
kept=/var/lib/rehearse/keep-etc
files="hosts hostname resolv.conf"

save() {
    mkdir -p "$kept" || return 0
    for f in $files; do
        [ -f "/etc/$f" ] || continue
        cat "/etc/$f" > "$kept/$f.tmp" && mv -f "$kept/$f.tmp" "$kept/$f"
    done
}

# Put the host's lines back into the engine's fresh /etc/FILE.
merge() {
    f=$1
    fresh=/etc/$f
    if [ -f "$kept/$f" ] && [ -f "$kept/$f.engine" ] && ! cmp -s "$kept/$f" "$kept/$f.engine"; then
        # Engine lines the host removed, and lines the host added.
        grep -Fxv -f "$kept/$f" "$kept/$f.engine" > "$kept/removed" || true
        if [ "$f" = resolv.conf ]; then
            # The run's name server stays: the run's hosts resolve each other through it.
            grep -v '^[[:space:]]*nameserver[[:space:]]' "$kept/removed" > "$kept/removed.tmp" || true
            mv -f "$kept/removed.tmp" "$kept/removed"
        fi
        grep -Fxv -f "$kept/$f.engine" "$kept/$f" > "$kept/added" || true
        { grep -Fxv -f "$kept/removed" "$fresh" || true; cat "$kept/added"; } > "$kept/merged"
        cat "$fresh" > "$kept/$f.engine"
        cat "$kept/merged" > "$fresh"
        rm -f "$kept/removed" "$kept/added" "$kept/merged"
    else
        cat "$fresh" > "$kept/$f.engine"
    fi
}

restore() {
    # Once per start of the container (its first process's start time).
    started=$(cut -d' ' -f22 /proc/1/stat)
    [ "$(cat "$kept/started" 2>/dev/null)" = "$started" ] && return 0
    mkdir -p "$kept" || return 0
    for f in $files; do
        [ -f "/etc/$f" ] && merge "$f"
    done
    echo "$started" > "$kept/started"
}

case "${1:-}" in
    save) save ;;
    restore) restore ;;
    # After a start: restore unless systemd runs the unit itself.
    restore-without-systemd) [ "$(cat /proc/1/comm)" = systemd ] || restore ;;
    *) echo "usage: $0 save|restore|restore-without-systemd" >&2; exit 2 ;;
esac
exit 0
"#;

const UNIT_TEXT: &str = "\
# Installed by rehearse: see /usr/local/lib/rehearse/keep-etc.
[Unit]
Description=Keep this replica's own /etc/hosts, /etc/hostname and /etc/resolv.conf
DefaultDependencies=no
Conflicts=shutdown.target
Before=sysinit.target shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/lib/rehearse/keep-etc restore
ExecStop=/usr/local/lib/rehearse/keep-etc save

[Install]
WantedBy=sysinit.target
";

/// The command that runs the keeper with `action` (`save`, `restore`,
/// `restore-without-systemd`).
pub fn argv(action: &str) -> Vec<String> {
    vec![PROGRAM.to_string(), action.to_string()]
}

/// A tar archive, to extract at `/`, that installs the keeper and enables its unit.
pub fn archive() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |path: &str, mode: u32, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_entry_type(tar::EntryType::Regular);
        // Writing into a Vec cannot fail.
        let _ = builder.append_data(&mut header, path, data);
    };
    add("usr/local/lib/rehearse/keep-etc", 0o755, SCRIPT.as_bytes());
    add(
        &format!("etc/systemd/system/{UNIT}"),
        0o644,
        UNIT_TEXT.as_bytes(),
    );
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_mode(0o777);
    link.set_size(0);
    let _ = builder.append_link(
        &mut link,
        format!("etc/systemd/system/sysinit.target.wants/{UNIT}"),
        format!("../{UNIT}"),
    );
    builder.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    /// Runs the real script with `/etc` and the kept directory redirected into `root`.
    fn keeper(root: &Path, action: &str) {
        let script = SCRIPT
            .replace(
                "/var/lib/rehearse/keep-etc",
                &root.join("kept").display().to_string(),
            )
            .replace("\"/etc/", &format!("\"{}/etc/", root.display()))
            .replace("fresh=/etc/", &format!("fresh={}/etc/", root.display()))
            .replace("/proc/1/stat", &root.join("stat").display().to_string());
        let status = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .arg("keep-etc")
            .arg(action)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn boot(root: &Path, started: u32, hosts: &str, resolv: &str) {
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/hosts"), hosts).unwrap();
        std::fs::write(root.join("etc/hostname"), "web\n").unwrap();
        std::fs::write(root.join("etc/resolv.conf"), resolv).unwrap();
        let stat =
            format!("1 (systemd) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 {started} 0\n");
        std::fs::write(root.join("stat"), stat).unwrap();
        keeper(root, "restore");
    }

    fn read(root: &Path, file: &str) -> String {
        std::fs::read_to_string(root.join("etc").join(file)).unwrap()
    }

    const RESOLV: &str = "nameserver 127.0.0.11\noptions ndots:0\n";

    #[test]
    fn the_hosts_own_lines_survive_a_restart_and_the_engines_lines_follow_the_engine() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        boot(root, 100, "127.0.0.1\tlocalhost\n172.18.0.2\tweb\n", RESOLV);
        // Nothing kept yet: the engine's files stay as they are.
        assert_eq!(
            read(root, "hosts"),
            "127.0.0.1\tlocalhost\n172.18.0.2\tweb\n"
        );

        // The admin points the site at the new host, renames the host, adds a search
        // domain and (wrongly) removes the run's name server.
        std::fs::write(
            root.join("etc/hosts"),
            "127.0.0.1\tlocalhost\n172.18.0.2\tweb\n172.18.0.3\twww.example.test\n",
        )
        .unwrap();
        std::fs::write(root.join("etc/hostname"), "www1\n").unwrap();
        std::fs::write(
            root.join("etc/resolv.conf"),
            "search corp.example\noptions ndots:0\n",
        )
        .unwrap();
        keeper(root, "save");

        // After the restart the engine writes its files again, with a new own address.
        boot(root, 200, "127.0.0.1\tlocalhost\n172.18.0.7\tweb\n", RESOLV);
        assert_eq!(
            read(root, "hosts"),
            "127.0.0.1\tlocalhost\n172.18.0.7\tweb\n172.18.0.3\twww.example.test\n"
        );
        assert_eq!(read(root, "hostname"), "www1\n");
        assert_eq!(
            read(root, "resolv.conf"),
            "nameserver 127.0.0.11\noptions ndots:0\nsearch corp.example\n"
        );

        // A second restore in the same start changes nothing.
        keeper(root, "restore");
        assert_eq!(
            read(root, "hosts"),
            "127.0.0.1\tlocalhost\n172.18.0.7\tweb\n172.18.0.3\twww.example.test\n"
        );

        // And the next restart keeps the same lines, once each.
        keeper(root, "save");
        boot(root, 300, "127.0.0.1\tlocalhost\n172.18.0.7\tweb\n", RESOLV);
        assert_eq!(
            read(root, "hosts"),
            "127.0.0.1\tlocalhost\n172.18.0.7\tweb\n172.18.0.3\twww.example.test\n"
        );
        assert_eq!(read(root, "hostname"), "www1\n");
    }

    #[test]
    fn an_engine_line_the_host_removed_stays_removed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        boot(
            root,
            1,
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n172.18.0.2\tweb\n",
            RESOLV,
        );
        std::fs::write(
            root.join("etc/hosts"),
            "127.0.0.1\tlocalhost\n172.18.0.2\tweb\n",
        )
        .unwrap();
        keeper(root, "save");
        boot(
            root,
            2,
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n172.18.0.2\tweb\n",
            RESOLV,
        );
        assert_eq!(
            read(root, "hosts"),
            "127.0.0.1\tlocalhost\n172.18.0.2\tweb\n"
        );
    }

    #[test]
    fn the_archive_installs_the_program_and_enables_the_unit() {
        let bytes = archive();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let entries: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("usr/local/lib/rehearse/keep-etc".to_string(), 0o755),
                (format!("etc/systemd/system/{UNIT}"), 0o644),
                (
                    format!("etc/systemd/system/sysinit.target.wants/{UNIT}"),
                    0o777
                ),
            ]
        );
        assert!(SCRIPT.contains(KEPT) && UNIT_TEXT.contains(PROGRAM));
    }
}
