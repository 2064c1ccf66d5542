//! Listening TCP sockets, read from `/proc/net/tcp` and `/proc/net/tcp6` (state `0A`),
//! with the owning process found by matching socket inodes under `/proc/*/fd`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use super::bundle::ListeningPort;

/// A listening socket of a `/proc/net/tcp*` table: address, port, inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListeningSocket {
    pub address: String,
    pub port: u16,
    pub inode: u64,
}

/// The sockets in state LISTEN of one table.
pub fn parse_tcp_table(text: &str) -> Vec<ListeningSocket> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            if columns.get(3) != Some(&"0A") {
                return None;
            }
            let (address, port) = columns.get(1)?.split_once(':')?;
            Some(ListeningSocket {
                address: parse_address(address)?,
                port: u16::from_str_radix(port, 16).ok()?,
                inode: columns.get(9)?.parse().ok()?,
            })
        })
        .collect()
}

/// The kernel prints each 32-bit word of the address as a number in the machine's
/// byte order.
fn parse_address(hex: &str) -> Option<String> {
    let words: Option<Vec<[u8; 4]>> = (0..hex.len() / 8)
        .map(|i| {
            u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16)
                .ok()
                .map(u32::to_ne_bytes)
        })
        .collect();
    let bytes: Vec<u8> = words?.concat();
    match bytes.len() {
        4 => Some(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string()),
        16 => {
            let octets: [u8; 16] = bytes.try_into().ok()?;
            Some(Ipv6Addr::from(octets).to_string())
        }
        _ => None,
    }
}

/// Socket inode → process name, from `/proc/<pid>/fd` links (best effort: processes
/// of other users are unreadable without root).
fn socket_owners(proc_dir: &Path) -> HashMap<u64, String> {
    let mut owners = HashMap::new();
    let Ok(entries) = std::fs::read_dir(proc_dir) else {
        return owners;
    };
    for entry in entries.filter_map(Result::ok) {
        let pid = entry.file_name();
        if !pid.to_string_lossy().chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let name = std::fs::read_to_string(entry.path().join("comm"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        for fd in fds.filter_map(Result::ok) {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let target = target.to_string_lossy();
            if let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inode| inode.parse().ok())
            {
                owners.entry(inode).or_insert_with(|| name.clone());
            }
        }
    }
    owners
}

/// The listening ports of the host whose `/proc` is `proc_dir`, sorted, one entry per
/// address and port.
pub fn listening_ports(proc_dir: &Path) -> Vec<ListeningPort> {
    let mut sockets = Vec::new();
    for table in ["net/tcp", "net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(proc_dir.join(table)) {
            sockets.extend(parse_tcp_table(&text));
        }
    }
    let owners = socket_owners(proc_dir);
    let mut ports: Vec<ListeningPort> = sockets
        .into_iter()
        .map(|s| ListeningPort {
            port: s.port,
            process: owners.get(&s.inode).cloned().filter(|n| !n.is_empty()),
            address: s.address,
        })
        .collect();
    ports.sort();
    ports.dedup();
    ports
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21310 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 22554 1 0000000000000000 100 0 0 10 0
   2: 0200A8C0:0050 0100A8C0:D2F0 01 00000000:00000000 00:00000000 00000000    33        0 0 1 0000000000000000 20 4 30 10 -1
";

    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21312 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:1538 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 23001 1 0000000000000000 100 0 0 10 0
";

    #[cfg(target_endian = "little")]
    #[test]
    fn only_listening_sockets_with_their_addresses() {
        let socket = |address: &str, port, inode| ListeningSocket {
            address: address.into(),
            port,
            inode,
        };
        assert_eq!(
            parse_tcp_table(TCP),
            [
                socket("0.0.0.0", 80, 21310),
                socket("127.0.0.1", 3306, 22554)
            ]
        );
        assert_eq!(
            parse_tcp_table(TCP6),
            [socket("::", 80, 21312), socket("::1", 5432, 23001)]
        );
    }

    #[test]
    fn a_proc_folder_without_processes_gives_ports_without_owners() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("net")).unwrap();
        std::fs::write(dir.path().join("net/tcp"), TCP).unwrap();
        let ports = listening_ports(dir.path());
        assert_eq!(ports.len(), 2);
        assert!(ports.iter().all(|p| p.process.is_none()));
    }
}
