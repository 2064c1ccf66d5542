//! `exec` step: run a command in a host and check its exit code and output.

use std::time::Duration;

use serde_json::{Value, json};
use serde_saphyr::Spanned;

use super::{RunStep, StepContext, StepResult};
use crate::engine::Engine;
use crate::scenario::{
    Command, ExecExpect, StepInput, StepSpec, decode_command, decode_exec_expect, shorten,
};
use crate::yaml::Node;

/// Run a command inside a host.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecStep {
    pub host: String,
    pub command: Command,
    pub expect: ExecExpect,
}

impl StepSpec for ExecStep {
    const KIND: &'static str = "exec";
    const KEYS: &'static [&'static str] = &["host", "command", "expect"];

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(300)
    }

    /// "exec web: systemctl stop apache2"
    fn derived_name(&self) -> String {
        format!("exec {}: {}", self.host, shorten(&self.command.display()))
    }

    fn decode(input: &StepInput<'_>, body: &Spanned<Node>) -> Option<Self> {
        let StepInput { d, what, refs } = *input;
        let m = d.map(body, &format!("`exec` of {what}"), Self::KEYS)?;
        let host = m.required("host").and_then(|node| refs.host(d, node, what));
        let command = m
            .required("command")
            .and_then(|node| decode_command(d, node));
        let expect = m
            .opt("expect")
            .map(|node| decode_exec_expect(d, node, what))
            .unwrap_or_default();
        Some(ExecStep {
            host: host?,
            command: command?,
            expect,
        })
    }

    fn schema() -> Value {
        json!({"$ref": "#/$defs/execStep"})
    }

    fn schema_defs() -> Vec<(&'static str, Value)> {
        vec![(
            "execStep",
            json!({
                "description": "Run a command inside a host.",
                "type": "object",
                "required": ["host", "command"],
                "additionalProperties": false,
                "properties": {
                    "host": {"$ref": "#/$defs/hostRef"},
                    "command": {"$ref": "#/$defs/command"},
                    "expect": {"$ref": "#/$defs/execExpect"}
                }
            }),
        )]
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
    match cx
        .engine
        .exec(&container, &step.command.to_argv(), limit)
        .await
    {
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
