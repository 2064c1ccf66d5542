//! `revert` step: undo earlier faults, newest first — the names of earlier `fault`
//! steps, or `all`. Reverting a fault whose step failed, or one already reverted, does
//! nothing and says so.

use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;

use super::fault::{AppliedFault, Failure, FaultStep, Target, Undo, output_excerpt};
use super::{RunStep, StepContext, StepResult};
use crate::engine::Engine;
use crate::probe::Evidence;
use crate::scenario::format::StringOrList;
use crate::scenario::{Step, StepSequence, StepSpec};
use crate::yaml::{Mark, Node, closest, one_of};

/// Undo earlier faults, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct RevertStep {
    #[serde(with = "RevertNames")]
    pub faults: RevertTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevertTarget {
    /// Every fault applied so far and not yet reverted.
    All,
    /// The names of earlier `fault` steps.
    Steps(Vec<String>),
}

/// `revert:` as written: `all`, or the names of earlier `fault` steps.
#[derive(Debug)]
struct RevertNames;

impl RevertNames {
    fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<RevertTarget, D::Error> {
        let here = crate::yaml::here();
        let names = StringOrList::deserialize(deserializer)?;
        if names == ["all"] {
            return Ok(RevertTarget::All);
        }
        if names.is_empty() {
            here.error_with_help(
                format!("`revert` of {} names no fault", here.owner),
                "name earlier `fault` steps, or write `revert: all`",
            );
        }
        Ok(RevertTarget::Steps(names))
    }
}

impl JsonSchema for RevertNames {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "revertNames".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let name = serde_json::json!({"type": "string", "minLength": 1});
        json_schema!({
            "description": "Undo earlier faults, newest first: the names of earlier `fault` steps, or `all` (every fault applied and not yet reverted). Reverting a fault whose step failed, or one already reverted, does nothing and says so.",
            "oneOf": [name, {"type": "array", "minItems": 1, "items": name}]
        })
    }
}

impl StepSpec for RevertStep {
    fn check_in_sequence(&self, seq: &StepSequence<'_>) {
        check_revert(self, seq);
    }

    const KIND: &'static str = "revert";

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(120)
    }

    fn derived_name(&self) -> String {
        match &self.faults {
            RevertTarget::All => "revert all".to_string(),
            RevertTarget::Steps(names) => format!("revert {}", names.join(", ")),
        }
    }
}

impl RunStep for RevertStep {
    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        revert(self, cx).await
    }
}

async fn revert<E: Engine>(step: &RevertStep, cx: &mut StepContext<'_, E>) -> StepResult {
    let ledger = &cx.state.faults;
    let mut notes = Vec::new();
    let mut chosen: Vec<usize> = match &step.faults {
        RevertTarget::All => {
            if ledger.applied.is_empty() {
                notes.push("no fault is in place: nothing to undo".to_string());
            }
            (0..ledger.applied.len()).collect()
        }
        RevertTarget::Steps(names) => {
            let mut chosen = Vec::new();
            for name in names {
                match ledger.applied.iter().position(|f| &f.step == name) {
                    Some(index) => chosen.push(index),
                    None if ledger.reverted.contains(name) => {
                        notes.push(format!("`{name}` was already reverted: nothing to undo"))
                    }
                    None => notes.push(format!(
                        "`{name}` is not in place (its step failed or did not run): nothing to undo"
                    )),
                }
            }
            chosen
        }
    };
    // Newest first: a later fault may rest on an earlier one (a file edited twice).
    chosen.sort_unstable();
    chosen.dedup();
    chosen.reverse();
    let faults: Vec<AppliedFault> = chosen
        .iter()
        .map(|&index| cx.state.faults.applied[index].clone())
        .collect();
    let mut done = Vec::new();
    let mut failures = Vec::new();
    let mut output = Vec::new();
    for (index, fault) in chosen.into_iter().zip(faults) {
        cx.progress(format!("reverting `{}`", fault.step));
        match undo(&fault, cx).await {
            Ok(words) => {
                done.push(words);
                let reverted = cx.state.faults.applied.remove(index);
                cx.state.faults.reverted.push(reverted.step);
            }
            Err(failure) => {
                if let Some(o) = &failure.output {
                    output.push(output_excerpt(o));
                }
                failures.push(format!("`{}`: {}", fault.step, failure.summary));
            }
        }
    }
    let mut parts = Vec::new();
    if !done.is_empty() {
        parts.push(format!("reverted: {}", done.join("; ")));
    }
    parts.extend(notes);
    if !failures.is_empty() {
        parts.insert(0, format!("cannot revert {}", failures.join("; ")));
    }
    let detail = parts.join("; ");
    StepResult {
        passed: failures.is_empty(),
        detail: Some(detail.clone()),
        evidence: Some(Evidence {
            summary: detail,
            output: (!output.is_empty()).then(|| output.join("\n")),
            ..Evidence::default()
        }),
        ..StepResult::default()
    }
}

/// Undo one fault on its host as it is now (a host restored or rolled back since has a
/// new container). Returns what was done, in words.
async fn undo<E: Engine>(
    fault: &AppliedFault,
    cx: &mut StepContext<'_, E>,
) -> Result<String, Failure> {
    let host = fault.host.as_str();
    let Some(container) = cx.container(host) else {
        return Err(Failure::new(format!("host `{host}` is not running")));
    };
    if let Undo::Reconnect { aliases } = &fault.undo {
        let network = crate::runner::network_name(cx.options);
        cx.engine
            .connect_network(&container, &network, aliases)
            .await
            .map_err(|e| Failure::new(format!("cannot connect {host} again: {e}")))?;
        // The engine may hand out another address: probes must aim at the new one.
        let (address, reach) =
            crate::runner::locate(cx.engine, cx.options.publish, &container, &network)
                .await
                .map_err(|e| {
                    Failure::new(format!("{host} has no address after reconnecting: {e}"))
                })?;
        cx.state
            .hosts
            .insert_reach(host, container.clone(), address, reach);
        return Ok(format!(
            "{host} connected again to `{network}` as {} (address {address})",
            aliases.join(", ")
        ));
    }
    let on = Target {
        cx: &*cx,
        container: &container,
        host,
    };
    match &fault.undo {
        Undo::Start(unit) => {
            on.run(&["systemctl", "start", unit], &format!("start {unit}"))
                .await?;
            Ok(format!("{unit} started on {host}"))
        }
        Undo::UnmaskAndStart(unit) => {
            on.run(&["systemctl", "unmask", unit], &format!("unmask {unit}"))
                .await?;
            on.run(&["systemctl", "start", unit], &format!("start {unit}"))
                .await?;
            Ok(format!("{unit} unmasked and started on {host}"))
        }
        Undo::Enable(unit) => {
            on.run(&["systemctl", "enable", unit], &format!("enable {unit}"))
                .await?;
            Ok(format!("{unit} enabled again on {host}"))
        }
        Undo::Unhold(package) => {
            on.run(
                &["apt-mark", "unhold", package],
                &format!("unhold {package}"),
            )
            .await?;
            Ok(format!("{package} no longer held on {host}"))
        }
        Undo::RemoveFile(path) => {
            on.run(&["rm", "-f", path], &format!("remove {path}"))
                .await?;
            Ok(format!("{path} removed on {host}"))
        }
        Undo::RestoreFiles(files) => {
            for (path, original) in files {
                on.write(path, original).await?;
            }
            let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
            Ok(format!("{} put back as it was on {host}", paths.join(", ")))
        }
        Undo::Reconnect { .. } => unreachable!("reconnected above"),
    }
}

/// Every name a revert gives is an earlier `fault` step. Runs on the final step names
/// (derived ones made unique), since those are what a revert refers to.
/// A revert names faults applied before it (`all`: at least one).
fn check_revert(revert: &RevertStep, seq: &StepSequence<'_>) {
    let (d, all_items, steps, index, item) =
        (seq.d, seq.all_items, seq.steps, seq.index, seq.item());
    let is_fault = |s: &Step| s.kind.get::<FaultStep>().is_some();
    // Names written on steps that did not decode: already reported, not unknown.
    let written: Vec<&str> = all_items
        .iter()
        .filter_map(|item| match &item.value {
            Node::Map(entries) => entries.iter().find(|(k, _)| k.value == "name"),
            _ => None,
        })
        .filter_map(|(_, value)| match &value.value {
            Node::Str(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    {
        let earlier: Vec<&str> = steps[..index]
            .iter()
            .filter(|s| is_fault(s))
            .map(|s| s.name.as_str())
            .collect();
        let names = match &revert.faults {
            RevertTarget::All => {
                if earlier.is_empty() {
                    d.error_with_help(
                        revert_mark(item, None),
                        "`revert: all`, but no earlier step is a `fault`",
                        "add a `fault` step before it",
                    );
                }
                return;
            }
            RevertTarget::Steps(names) => names,
        };
        for name in names {
            if earlier.contains(&name.as_str()) {
                continue;
            }
            let found = steps.iter().enumerate().find(|(_, s)| &s.name == name);
            let (message, fallback) = match found {
                Some((at, other)) if at > index && is_fault(other) => (
                    format!("`revert` of `{name}`, but that `fault` step comes after it"),
                    format!("a `revert` undoes faults applied before it: move it after `{name}`"),
                ),
                Some((_, other)) if !is_fault(other) => (
                    format!(
                        "`revert` of `{name}`, but that step is a `{}` step, not a `fault`",
                        other.kind.label()
                    ),
                    "a `revert` undoes `fault` steps".to_string(),
                ),
                _ if written.contains(&name.as_str()) => continue,
                _ => (
                    format!("`revert` of `{name}`, but no step has that name"),
                    "add a `fault` step of that name before it".to_string(),
                ),
            };
            let help = match closest(name, earlier.iter().copied()) {
                Some(near) => format!("did you mean `{near}`?"),
                None if earlier.is_empty() => fallback,
                None => format!("faults before it: {}", one_of(earlier.iter().copied())),
            };
            d.error_with_help(revert_mark(item, Some(name)), message, help);
        }
    }
}

/// Where a revert step names `name` (or its whole value).
fn revert_mark(item: &Spanned<Node>, name: Option<&str>) -> Mark {
    let Node::Map(entries) = &item.value else {
        return Mark::of(item);
    };
    let Some((_, value)) = entries.iter().find(|(k, _)| k.value == "revert") else {
        return Mark::of(item);
    };
    match (&value.value, name) {
        (Node::Seq(names), Some(name)) => names
            .iter()
            .find(|n| matches!(&n.value, Node::Str(text) if text == name))
            .map_or(Mark::of(value), Mark::of),
        _ => Mark::of(value),
    }
}
