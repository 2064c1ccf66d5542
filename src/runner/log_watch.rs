//! Logs watched from a point of the run to its end, e.g. the Apache error log after an
//! upgrade: what the later probes make the application write there becomes a finding.

use std::time::Duration;

use super::{EventSink, RunEvent, RunState};
use crate::engine::Engine;
use crate::findings::FindingKind;

/// A log file on a host, read from `offset` to the end when the steps are over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogWatch {
    pub host: String,
    pub container: String,
    pub path: String,
    pub offset: u64,
    /// Extended regular expression (`grep -E`) of the lines that matter.
    pub pattern: &'static str,
    /// The finding the matching lines make.
    pub kind: &'static FindingKind,
    pub message: String,
}

/// PHP errors Apache logs once the upgraded application serves requests.
pub fn php_errors(host: &str, container: &str, offset: u64, release: &str) -> LogWatch {
    LogWatch {
        host: host.to_string(),
        container: container.to_string(),
        path: "/var/log/apache2/error.log".into(),
        offset,
        pattern: "PHP (Fatal error|Parse error)",
        kind: &crate::findings::PHP_FATAL_ERRORS,
        message: format!("the application raised PHP fatal errors after the upgrade to {release}"),
    }
}

/// Size of a file on a host, 0 when it does not exist.
pub async fn file_size<E: Engine>(engine: &E, container: &str, path: &str) -> u64 {
    let argv = [
        "sh".to_string(),
        "-c".into(),
        "stat -c %s \"$1\" 2>/dev/null || echo 0".into(),
        "sh".into(),
        path.to_string(),
    ];
    match engine.exec(container, &argv, Duration::from_secs(30)).await {
        Ok(output) => output.stdout.trim().parse().unwrap_or(0),
        Err(_) => 0,
    }
}

/// Read every watched log and report what matched.
pub(super) async fn evaluate<E: Engine>(
    engine: &E,
    state: &mut RunState,
    sink: &mut dyn EventSink,
) {
    let watches = std::mem::take(&mut state.log_watches);
    for watch in watches {
        let argv = [
            "sh".to_string(),
            "-c".into(),
            "tail -c +$(($2 + 1)) \"$1\" 2>/dev/null | grep -E -- \"$3\" | head -n 2000".into(),
            "sh".into(),
            watch.path.clone(),
            watch.offset.to_string(),
            watch.pattern.to_string(),
        ];
        let Ok(output) = engine
            .exec(&watch.container, &argv, Duration::from_secs(30))
            .await
        else {
            continue;
        };
        let lines: Vec<&str> = output.stdout.lines().collect();
        if lines.is_empty() {
            continue;
        }
        let evidence = grouped(&lines, watch.pattern);
        let message = format!(
            "{} ({} line(s) in {}, {} distinct)",
            watch.message,
            lines.len(),
            watch.path,
            evidence.len()
        );
        let finding = watch.kind.found(&watch.host, message, evidence);
        sink.event(&RunEvent::Finding(finding.clone()));
        state.findings.push(finding);
    }
}

/// The most distinct messages a finding lists.
const MAX_DISTINCT: usize = 20;

/// Lines that say the same thing once, with a count: a log line's time, process and
/// client differ from one request to the next (each probe retry logs the error again),
/// so two lines say the same when they match from where `pattern` does on. Each message
/// keeps its first full line, then `[×N]` when it came N times; first seen first.
pub fn grouped(lines: &[&str], pattern: &str) -> Vec<String> {
    let start = regex::Regex::new(pattern).ok();
    let message = |line: &str| -> String {
        let from = start
            .as_ref()
            .and_then(|re| re.find(line))
            .map_or(0, |found| found.start());
        line[from..].to_string()
    };
    let mut groups: Vec<(String, &str, usize)> = Vec::new();
    for line in lines {
        let key = message(line);
        match groups.iter_mut().find(|(seen, _, _)| *seen == key) {
            Some((_, _, count)) => *count += 1,
            None => groups.push((key, line, 1)),
        }
    }
    groups
        .into_iter()
        .take(MAX_DISTINCT)
        .map(|(_, first, count)| match count {
            1 => first.to_string(),
            n => format!("{first} [×{n}]"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fake::{FakeEngine, ok};

    #[tokio::test]
    async fn matching_lines_after_the_offset_become_a_finding() {
        let engine = FakeEngine::new(|_, argv| {
            assert_eq!(argv[5], "1234");
            ok("[php:error] PHP Fatal error:  Uncaught Error: Call to undefined function each()\n")
        });
        let mut state = RunState::default();
        state
            .log_watches
            .push(php_errors("web", "c1", 1234, "bookworm"));
        let mut events = Vec::new();
        evaluate(&engine, &mut state, &mut |e: &RunEvent| {
            events.push(e.clone())
        })
        .await;
        assert_eq!(state.findings.len(), 1);
        assert_eq!(state.findings[0].key, "php.fatal-errors");
        assert!(state.findings[0].inhibitor);
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn the_same_error_of_several_requests_is_listed_once_with_its_count() {
        let lines = [
            "[Tue Dec 01 10:00:01] [php:error] [pid 11] [client 10.0.0.1:40001] PHP Fatal error:  Uncaught Error: Call to undefined function each() in /var/www/html/legacy.php:3",
            "[Tue Dec 01 10:00:02] [php:error] [pid 12] [client 10.0.0.1:40002] PHP Fatal error:  Uncaught Error: Call to undefined function each() in /var/www/html/legacy.php:3",
            "[Tue Dec 01 10:00:02] [php:error] [pid 12] [client 10.0.0.1:40003] PHP Parse error:  syntax error in /var/www/html/other.php:9",
            "[Tue Dec 01 10:00:03] [php:error] [pid 13] [client 10.0.0.1:40004] PHP Fatal error:  Uncaught Error: Call to undefined function each() in /var/www/html/legacy.php:3",
        ];
        let pattern = "PHP (Fatal error|Parse error)";
        assert_eq!(
            grouped(&lines, pattern),
            [format!("{} [×3]", lines[0]), lines[2].to_string()]
        );
    }

    #[tokio::test]
    async fn nothing_matching_is_no_finding() {
        let engine = FakeEngine::new(|_, _| ok(""));
        let mut state = RunState::default();
        state
            .log_watches
            .push(php_errors("web", "c1", 0, "bookworm"));
        evaluate(&engine, &mut state, &mut |_: &RunEvent| {}).await;
        assert!(state.findings.is_empty());
    }
}
