//! Who owns a run's resources: this machine, process id and process start time, so
//! `rehearse gc` can tell a live run (left alone) from a dead one (cleaned up), even
//! after the process id has been reused.

/// The owner string of the current process: `<hostname>/<pid>/<start time>`.
pub fn current() -> String {
    let pid = std::process::id();
    format!(
        "{}/{pid}/{}",
        hostname(),
        start_time(pid).unwrap_or_default()
    )
}

/// Whether the process named by an owner string is still running, if that can be told
/// from here. `None` when the owner is on another machine.
pub fn is_alive(owner: &str) -> Option<bool> {
    let mut parts = owner.rsplitn(3, '/');
    let start = parts.next()?;
    let pid: u32 = parts.next()?.parse().ok()?;
    let host = parts.next()?;
    if host != hostname() {
        return None;
    }
    Some(start_time(pid).is_some_and(|s| s == start))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// Field 22 of `/proc/<pid>/stat`: the process start time in clock ticks since boot.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: skip past its last ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_process_is_alive() {
        assert_eq!(is_alive(&current()), Some(true));
    }

    #[test]
    fn a_reused_pid_or_dead_process_is_not() {
        let pid = std::process::id();
        assert_eq!(is_alive(&format!("{}/{pid}/1", hostname())), Some(false));
        assert_eq!(
            is_alive(&format!("{}/999999999/1", hostname())),
            Some(false)
        );
    }

    #[test]
    fn another_machine_cannot_be_judged() {
        assert_eq!(is_alive("some-other-host.example/1/1"), None);
        assert_eq!(is_alive("garbage"), None);
    }
}
