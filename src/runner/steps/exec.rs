//! `exec` step: run a command in a host and check its exit code and output.

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{RunStep, StepContext, StepResult};
use crate::engine::Engine;
use crate::scenario::format::HostRef;
use crate::scenario::{Command, ExecExpect, StepSpec, shorten};

/// Run a command inside a host.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecStep {
    #[serde(with = "HostRef")]
    pub host: String,
    pub command: Command,
    #[serde(default)]
    pub expect: ExecExpect,
}

impl StepSpec for ExecStep {
    const KIND: &'static str = "exec";

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(300)
    }

    /// "exec web: systemctl stop apache2"
    fn derived_name(&self) -> String {
        format!("exec {}: {}", self.host, shorten(&self.command.display()))
    }
}

impl RunStep for ExecStep {
    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        run(self, cx).await
    }
}

async fn run<E: Engine>(step: &ExecStep, cx: &mut StepContext<'_, E>) -> StepResult {
    let Some(container) = cx.container(&step.host) else {
        return StepResult::failed(format!("host `{}` is not running", step.host));
    };
    cx.progress(format!("{}$ {}", step.host, step.command.display()));
    // The step's timeout bounds the command; a little slack lets the step report it.
    let limit = cx.timeout + std::time::Duration::from_secs(1);
    let (engine, sink, index) = (cx.engine, &mut *cx.sink, cx.index);
    // Each line as it comes, for `-v`; the whole output is judged and logged at the end.
    let streamed = engine
        .exec_streaming(
            &container,
            &step.command.to_argv(),
            &[],
            limit,
            &mut |line| {
                sink.event(&crate::model::RunEvent::StepOutput {
                    index,
                    host: step.host.clone(),
                    line: line.to_string(),
                })
            },
        )
        .await;
    match streamed {
        Ok(output) => {
            let attempt = crate::probe::judge_exec(&step.command.display(), &step.expect, &output);
            // The evidence keeps an excerpt; the log keeps all the command printed.
            let logs = cx
                .open_log(&format!("exec-{}", step.host))
                .map(|(mut log, path)| {
                    log.line(&format!("$ {}", step.command.display()));
                    log.text(&output.stdout);
                    if !output.stderr.is_empty() {
                        log.line("--- stderr");
                        log.text(&output.stderr);
                    }
                    log.line(&format!("--- exit code {}", output.exit_code));
                    path
                });
            StepResult {
                passed: attempt.passed,
                detail: (!attempt.passed).then(|| attempt.evidence.summary.clone()),
                checks: vec![],
                evidence: Some(attempt.evidence),
                logs: logs.into_iter().collect(),
                ..StepResult::default()
            }
        }
        Err(e) => StepResult::failed(format!("cannot run `{}`: {e}", step.command.display())),
    }
}
