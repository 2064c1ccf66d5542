//! The run's hosts keep resolving each other after a rollback or a `run --from`.
//!
//! A replica keeps its own `/etc/hosts` (see `engine::keep_etc`), so a line a cutover
//! or the admin wrote there — the site's name pointed at another host of the run —
//! comes back with a snapshot or a checkpoint. But the hosts started again from those
//! images may get other addresses from the engine than the ones they had when saved (a
//! `run --from` always runs on a new network). A real server's peers keep theirs, so
//! the line must follow: each saved host carries the run's addresses at the time it was
//! saved; after hosts are started from saved images, lines of `/etc/hosts` that name an
//! address that moved are rewritten to the new one, and the host is restarted so its
//! services resolve the names as they would have at boot.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::engine::{Engine, keep_etc};
use crate::model::RunEvent;
use crate::probe::HostAddresses;
use crate::runner::host_files;
use crate::runner::{EventSink, RunOptions, RunState};
use crate::scenario::Scenario;

/// The run's addresses when a host was saved, inside the host (one `NAME ADDRESS` a line).
fn addresses_file() -> String {
    format!("{}/addresses", keep_etc::KEPT)
}

/// The engine's lines of `/etc/hosts`, as the keeper last saw them.
fn engine_hosts_file() -> String {
    format!("{}/hosts.engine", keep_etc::KEPT)
}

fn listing(hosts: &HostAddresses) -> String {
    hosts
        .iter()
        .map(|(name, h)| format!("{name} {}\n", h.address))
        .collect()
}

fn parse(listing: &str) -> BTreeMap<String, IpAddr> {
    listing
        .lines()
        .filter_map(|line| {
            let (name, address) = line.split_once(' ')?;
            Some((name.to_string(), address.trim().parse().ok()?))
        })
        .collect()
}

/// Write the run's addresses into every host, before its file system is saved.
pub(super) async fn record<E: Engine>(engine: &E, hosts: &HostAddresses) {
    let text = listing(hosts);
    for (_, host) in hosts.iter() {
        // A host that cannot take the file is saved without it: its lines stay as written.
        let _ = host_files::write(engine, &host.container_id, &addresses_file(), &text).await;
    }
}

/// `hosts` with the address of each line that is not the engine's (`engine_lines`)
/// moved where `moves` says; `None` when no line names a moved address.
pub(super) fn rewrite(
    hosts: &str,
    engine_lines: &str,
    moves: &BTreeMap<IpAddr, IpAddr>,
) -> Option<String> {
    let engine: std::collections::BTreeSet<&str> = engine_lines.lines().collect();
    let mut changed = false;
    let mut out = String::with_capacity(hosts.len());
    for line in hosts.split_inclusive('\n') {
        let bare = line.trim_end_matches('\n');
        let first = bare.split_whitespace().next().unwrap_or("");
        let moved = first
            .parse::<IpAddr>()
            .ok()
            .and_then(|a| moves.get(&a))
            .filter(|_| !engine.contains(bare));
        match moved {
            Some(new) => {
                changed = true;
                let at = line.find(first).unwrap_or(0);
                out.push_str(&line[..at]);
                out.push_str(&new.to_string());
                out.push_str(&line[at + first.len()..]);
            }
            None => out.push_str(line),
        }
    }
    changed.then_some(out)
}

/// After hosts were started from saved images: rewrite the `/etc/hosts` lines that name
/// a host of the run at the address it had when saved, restart the hosts whose file
/// changed, and record the addresses as they are now. Returns one note per restarted
/// host; an `Err` is a host that did not come back.
pub(super) async fn follow<E: Engine>(
    engine: &E,
    scenario: &Scenario,
    options: &RunOptions,
    state: &mut RunState,
    sink: &mut dyn EventSink,
) -> Result<Vec<String>, String> {
    let now: BTreeMap<String, IpAddr> = state
        .hosts
        .iter()
        .map(|(name, h)| (name.clone(), h.address))
        .collect();
    let hosts: Vec<(String, String)> = state
        .hosts
        .iter()
        .map(|(name, h)| (name.clone(), h.container_id.clone()))
        .collect();
    let mut notes = Vec::new();
    for (name, container) in hosts {
        let Ok(saved) = host_files::read(engine, &container, &addresses_file()).await else {
            continue;
        };
        let moves: BTreeMap<IpAddr, IpAddr> = parse(&saved)
            .into_iter()
            .filter_map(|(peer, old)| Some((old, *now.get(&peer)?)))
            .filter(|(old, new)| old != new)
            .collect();
        if moves.is_empty() {
            continue;
        }
        let (Ok(current), Ok(engine_lines)) = (
            host_files::read(engine, &container, "/etc/hosts").await,
            host_files::read(engine, &container, &engine_hosts_file()).await,
        ) else {
            continue;
        };
        let Some(rewritten) = rewrite(&current, &engine_lines, &moves) else {
            continue;
        };
        host_files::write(engine, &container, "/etc/hosts", &rewritten)
            .await
            .map_err(|e| format!("host `{name}`: {e}"))?;
        restart(engine, scenario, options, state, sink, &name, &container).await?;
        let moved: Vec<String> = moves.iter().map(|(o, n)| format!("{o} → {n}")).collect();
        notes.push(format!(
            "host `{name}` restarted so that its /etc/hosts follows the run's new addresses ({})",
            moved.join(", ")
        ));
    }
    record(engine, &state.hosts).await;
    Ok(notes)
}

async fn restart<E: Engine>(
    engine: &E,
    scenario: &Scenario,
    options: &RunOptions,
    state: &mut RunState,
    sink: &mut dyn EventSink,
    name: &str,
    container: &str,
) -> Result<(), String> {
    engine
        .restart_container(container, super::STOP_TIMEOUT)
        .await
        .map_err(|e| format!("cannot restart host `{name}`: {e}"))?;
    super::provision::came_back(
        engine,
        scenario,
        options,
        state,
        sink,
        name,
        container,
        "after following the new addresses",
    )
    .await?;
    sink.event(&RunEvent::Notice {
        message: format!("host `{name}` restarted: its /etc/hosts named addresses that moved"),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_the_hosts_own_lines_follow_a_move() {
        // The addresses of `old` and `new` swapped: the engine's own line is already
        // right, the cutover's line must follow `new`.
        let engine = "127.0.0.1\tlocalhost\n172.18.0.3\told\n";
        let hosts = "127.0.0.1\tlocalhost\n172.18.0.3\told\n172.18.0.3\twww.example.test\t# rehearse cutover\n  10.0.0.1 other\n";
        let moves = BTreeMap::from([
            (ip("172.18.0.3"), ip("172.18.0.2")),
            (ip("172.18.0.2"), ip("172.18.0.3")),
        ]);
        assert_eq!(
            rewrite(hosts, engine, &moves).unwrap(),
            "127.0.0.1\tlocalhost\n172.18.0.3\told\n172.18.0.2\twww.example.test\t# rehearse cutover\n  10.0.0.1 other\n"
        );
        assert_eq!(rewrite(engine, engine, &moves), None);
    }

    #[test]
    fn the_saved_listing_reads_back() {
        assert_eq!(
            parse("old 172.18.0.2\nnew 172.18.0.3\nbroken\n"),
            BTreeMap::from([
                ("new".to_string(), ip("172.18.0.3")),
                ("old".to_string(), ip("172.18.0.2"))
            ])
        );
    }
}
