//! `rehearse check`: validate scenarios (and the recipes they use) without Docker.

use std::path::Path;

use super::{CheckArgs, find_images_dir};
use crate::exit_code;
use crate::images::{ImageError, load_recipe};
use crate::scenario::{Scenario, UnsetEnv};

pub fn check(args: &CheckArgs) -> i32 {
    let mut ok = true;
    for file in &args.files {
        match load_scenario(file, UnsetEnv::Keep) {
            Ok(scenario) => {
                warn_unset(&scenario);
                let images_dir = args
                    .images_dir
                    .clone()
                    .unwrap_or_else(|| find_images_dir(Some(file)));
                let mut problems = check_recipes(&scenario, &images_dir);
                if let Err(e) = crate::local_files::host_copies(&scenario) {
                    problems.push(format!("error: {e}"));
                }
                if problems.is_empty() {
                    println!(
                        "ok: {} ({} hosts, {} probes, {} steps)",
                        file.display(),
                        scenario.hosts.len(),
                        scenario.probes.len(),
                        scenario.steps.len()
                    );
                } else {
                    ok = false;
                    for problem in problems {
                        eprintln!("{problem}");
                    }
                }
            }
            Err(message) => {
                ok = false;
                eprintln!("{message}");
            }
        }
    }
    if ok {
        exit_code::GO
    } else {
        exit_code::INVALID_INPUT
    }
}

/// Read and validate a scenario, its `${env:NAME}` placeholders taken from the
/// process environment (`unset` says whether a missing variable is an error); the
/// error is ready to print.
pub fn load_scenario(path: &Path, unset: UnsetEnv) -> Result<Scenario, String> {
    let source = std::fs::read_to_string(path)
        .map_err(|e| format!("error: cannot read scenario `{}`: {e}", path.display()))?;
    let lookup = |name: &str| std::env::var(name).ok();
    crate::scenario::parse_with_env(path, &source, &lookup, unset)
        .map_err(|diagnostics| diagnostics.to_string())
}

/// `check` validates without the secrets: a variable that is not set is only a warning.
fn warn_unset(scenario: &Scenario) {
    for unset in &scenario.unset_env {
        eprintln!(
            "warning: environment variable `{}` is not set ({}:{}:{}, `{}`); `rehearse run` needs it: `export {}=...`",
            unset.name,
            scenario.path.display(),
            unset.mark.line,
            unset.mark.column,
            unset.key,
            unset.name
        );
    }
}

/// Every recipe a scenario's hosts use must exist and be valid.
pub(super) fn check_recipes(scenario: &Scenario, images_dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for host in &scenario.hosts {
        if seen.contains(&host.image) {
            continue;
        }
        seen.push(host.image.clone());
        match load_recipe(images_dir, &host.image) {
            Ok(recipe) => problems.extend(recipe_file_problems(images_dir, &host.image, &recipe)),
            Err(ImageError::Recipe(diagnostics)) => problems.push(diagnostics.to_string()),
            Err(e) => problems.push(format!(
                "error: host `{}` in `{}`: {e}",
                host.name,
                scenario.path.display()
            )),
        }
    }
    problems
}

/// A recipe's files must be inside its folder, links included (the parser cannot see links).
fn recipe_file_problems(
    images_dir: &Path,
    name: &str,
    recipe: &crate::images::recipe::Recipe,
) -> Vec<String> {
    let dir = images_dir.join(name);
    let file = dir.join("recipe.yaml");
    recipe
        .files
        .iter()
        .enumerate()
        .filter_map(|(index, recipe_file)| {
            let key = format!("files[{index}].src");
            let origin = crate::local_files::Origin {
                file: &file,
                key: &key,
            };
            crate::local_files::resolve(&dir, &recipe_file.src, false, origin)
                .err()
                .map(|e| format!("error: {e}"))
        })
        .collect()
}
