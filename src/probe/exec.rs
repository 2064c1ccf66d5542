//! `exec` probe: a command run inside the host, judged by exit code and output.

use super::{Attempt, Evidence, ReachableHost, excerpt};
use crate::engine::{Engine, ExecOutput};
use crate::scenario::{ExecExpect, ExecProbe};

pub async fn attempt<E: Engine>(probe: &ExecProbe, engine: &E, host: &ReachableHost) -> Attempt {
    let argv = probe.command.to_argv();
    match engine.exec(&host.container_id, &argv, probe.timeout).await {
        Ok(output) => judge(&probe.command.display(), &probe.expect, &output),
        Err(e) => Attempt::fail(Evidence {
            summary: format!("cannot run `{}`: {e}", probe.command.display()),
            ..Evidence::default()
        }),
    }
}

/// Compare a command's result with what is expected; shared with the `exec` step.
pub fn judge(command: &str, expect: &ExecExpect, output: &ExecOutput) -> Attempt {
    let combined = format!("{}{}", output.stdout, output.stderr);
    let mut evidence = Evidence {
        exit_code: Some(output.exit_code),
        output: Some(excerpt(&combined, 2000)),
        ..Evidence::default()
    };
    let problem = if output.exit_code != expect.exit_code {
        let first_line = combined
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        let said = if first_line.is_empty() {
            String::new()
        } else {
            format!(" ({})", excerpt(first_line, 120))
        };
        Some(format!(
            "`{command}` exited with {}{said}, expected {}",
            output.exit_code, expect.exit_code
        ))
    } else if let Some(missing) = expect
        .stdout_contains
        .iter()
        .find(|s| !output.stdout.contains(s.as_str()))
    {
        Some(format!("`{command}` output lacks {missing:?}"))
    } else {
        expect
            .stderr_contains
            .iter()
            .find(|s| !output.stderr.contains(s.as_str()))
            .map(|missing| format!("`{command}` error output lacks {missing:?}"))
    };
    match problem {
        Some(summary) => {
            evidence.summary = summary;
            Attempt::fail(evidence)
        }
        None => {
            evidence.summary = format!("`{command}` exited with {}", output.exit_code);
            Attempt::pass(evidence)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(code: i64, stdout: &str) -> ExecOutput {
        ExecOutput {
            exit_code: code,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    #[test]
    fn judges_exit_code_then_output() {
        let expect = ExecExpect {
            stdout_contains: vec!["active".into()],
            ..ExecExpect::default()
        };
        assert!(judge("x", &expect, &output(0, "active\n")).passed);
        let failed = judge("x", &expect, &output(3, "inactive\n"));
        assert!(!failed.passed);
        assert_eq!(
            failed.evidence.summary,
            "`x` exited with 3 (inactive), expected 0"
        );
        assert_eq!(failed.evidence.output.as_deref(), Some("inactive"));
        let lacking = judge("x", &expect, &output(0, "failed\n"));
        assert_eq!(lacking.evidence.summary, "`x` output lacks \"active\"");
    }
}
