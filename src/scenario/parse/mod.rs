//! Scenario YAML → validated [`Scenario`], reporting every problem at once.
//!
//! Decoding never stops at the first mistake: a field that fails is reported
//! and replaced by its default so the rest of the file is still checked. The
//! result is an error as soon as anything was reported.

mod file;
mod gates;
mod hosts;
mod names;
mod probes;
mod refs;
mod steps;

pub(in crate::scenario) use file::ScenarioFile;
use file::*;
use gates::*;
pub(in crate::scenario) use hosts::*;
pub use names::*;
pub use probes::*;
pub use refs::*;
pub use steps::*;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde_saphyr::Spanned;

use super::env::{self, UnsetEnv};
use super::model::*;
use super::step::{StepCommon, StepInput, StepKinds, StepSequence};
use crate::redact::Redactor;
use crate::yaml::{Decoder, Diagnostics, Mark, Node, Typed, closest, load, one_of};

/// Longest command text kept in a derived step name.
const STEP_NAME_COMMAND_CHARS: usize = 40;

/// Parses and validates a scenario. `path` is only used in messages and kept in
/// [`Scenario::path`]; the caller reads the file.
///
/// `${env:NAME}` placeholders are kept as they are; [`parse_with_env`] substitutes them.
pub fn parse(path: &Path, source: &str, kinds: &StepKinds) -> Result<Scenario, Diagnostics> {
    parse_with_env(path, source, kinds, &|_| None, UnsetEnv::Keep)
}

/// Like [`parse`], with every `${env:NAME}` placeholder replaced by what `lookup`
/// gives for `NAME` (the caller passes the process environment). The values become
/// [`Scenario::secrets`]; diagnostics never show them.
pub fn parse_with_env(
    path: &Path,
    source: &str,
    kinds: &StepKinds,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: UnsetEnv,
) -> Result<Scenario, Diagnostics> {
    let mut root = load(source).map_err(|error| Diagnostics::new(path, source, vec![error]))?;
    let found = env::substitute(&mut root, source, lookup, unset);
    let decoder = Decoder::new();
    for error in found.errors {
        decoder.report(error);
    }
    let scenario = decode_scenario(&decoder, &root, path, kinds).map(|mut scenario| {
        scenario.secrets = found.secrets.clone();
        scenario.unset_env = found.unset;
        scenario
    });
    decoder
        .finish(path, source, scenario)
        .map_err(|mut diagnostics| {
            // A value that failed validation may be quoted in its message.
            let redactor = Redactor::new(&found.secrets);
            for error in &mut diagnostics.errors {
                redactor.redact_string(&mut error.message);
                if let Some(help) = &mut error.help {
                    redactor.redact_string(help);
                }
            }
            diagnostics
        })
}

#[cfg(test)]
mod tests;
