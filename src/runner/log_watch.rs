//! Logs watched from a point of the run to its end, e.g. the Apache error log after an
//! upgrade: what the later probes make the application write there becomes a finding.

use std::time::Duration;

use super::{EventSink, RunEvent, RunState};
use crate::engine::Engine;
use crate::model::Finding;
use crate::scenario::Severity;

/// A log file on a host, read from `offset` to the end when the steps are over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogWatch {
    pub host: String,
    pub container: String,
    pub path: String,
    pub offset: u64,
    /// Extended regular expression (`grep -E`) of the lines that matter.
    pub pattern: &'static str,
    pub key: &'static str,
    pub severity: Severity,
    pub inhibitor: bool,
    pub message: String,
    pub remediation: &'static str,
}

/// PHP errors Apache logs once the upgraded application serves requests.
pub fn php_errors(host: &str, container: &str, offset: u64, release: &str) -> LogWatch {
    LogWatch {
        host: host.to_string(),
        container: container.to_string(),
        path: "/var/log/apache2/error.log".into(),
        offset,
        pattern: "PHP (Fatal error|Parse error)",
        key: "php.fatal-errors",
        severity: Severity::High,
        inhibitor: true,
        message: format!("the application raised PHP fatal errors after the upgrade to {release}"),
        remediation: "fix the code for the new PHP version (removed functions, changed signatures), or keep the old PHP from another source until it is fixed",
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
            "tail -c +$(($2 + 1)) \"$1\" 2>/dev/null | grep -E -- \"$3\" | head -n 20".into(),
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
        let lines: Vec<String> = output.stdout.lines().map(str::to_string).collect();
        if lines.is_empty() {
            continue;
        }
        let finding = Finding {
            key: watch.key.to_string(),
            severity: watch.severity,
            inhibitor: watch.inhibitor,
            host: Some(watch.host.clone()),
            message: format!(
                "{} ({} line(s) in {})",
                watch.message,
                lines.len(),
                watch.path
            ),
            remediation: watch.remediation.to_string(),
            evidence: lines,
        };
        sink.event(&RunEvent::Finding(finding.clone()));
        state.findings.push(finding);
    }
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
