//! `rehearse check`: validate scenarios (and the recipes they use) without Docker;
//! folders and `--shard` as `rehearse run` takes them.

use std::io::IsTerminal;
use std::path::Path;

use super::scenario_files::ScenarioFiles;
use super::{CheckArgs, find_images_dir, use_color};
use crate::exit_code;
use crate::images::{ImageError, load_recipe};
use crate::scenario::{Scenario, UnsetEnv};
use crate::yaml::{Diagnostic, Diagnostics, Mark};

pub fn check(args: &CheckArgs) -> i32 {
    let expanded = ScenarioFiles::expand(&args.files);
    let mut ok = expanded.errors.is_empty();
    for error in &expanded.errors {
        errln!("{error}");
    }
    // Every file is checked, the shard's or not, as `run --shard` does; only the
    // shard's are listed.
    let mut listed = 0;
    for (position, file) in expanded.files.iter().enumerate() {
        let in_shard = args.shard.is_none_or(|shard| shard.takes(position));
        match check_file(file, args.images_dir.as_deref()) {
            Ok(line) if in_shard => {
                listed += 1;
                outln!("{line}");
            }
            Ok(_) => {}
            Err(problems) => {
                ok = false;
                for problem in problems {
                    errln!("{problem}");
                }
            }
        }
    }
    if !ok {
        return exit_code::INVALID_INPUT;
    }
    if let Some(shard) = args.shard
        && listed == 0
    {
        errln!("{}", shard.empty_notice(expanded.files.len()));
    }
    exit_code::GO
}

/// Validate one scenario and the recipes it uses: its `ok:` line, or every problem.
fn check_file(file: &Path, images_dir: Option<&Path>) -> Result<String, Vec<String>> {
    let scenario = load_scenario(file, UnsetEnv::Keep).map_err(|message| vec![message])?;
    warn_unset(&scenario);
    let images_dir = images_dir.map_or_else(|| find_images_dir(Some(file)), Path::to_path_buf);
    let mut problems = check_recipes(&scenario, &images_dir);
    if let Err(e) = crate::runner::host_copies(&scenario) {
        problems.push(format!("error: {e}"));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    use crate::words::plural;
    Ok(format!(
        "ok: {} ({}, {}, {})",
        file.display(),
        plural(scenario.hosts.len(), "host"),
        plural(scenario.probes.len(), "probe"),
        plural(scenario.steps.len(), "step")
    ))
}

/// Read and validate a scenario, its `${env:NAME}` placeholders taken from the
/// process environment (`unset` says whether a missing variable is an error); the
/// error is ready to print.
pub fn load_scenario(path: &Path, unset: UnsetEnv) -> Result<Scenario, String> {
    let bytes = crate::input_file::read(path, crate::input_file::SCENARIO)
        .map_err(|e| format!("error: cannot read scenario `{}`: {e}", path.display()))?;
    let source = crate::yaml::source_text(path, &bytes)
        .map_err(|diagnostics| diagnostics.render(diagnostics_color()))?;
    let lookup = |name: &str| std::env::var(name).ok();
    let scenario = crate::runner::parse_scenario_with_env(path, source, &lookup, unset)
        .map_err(|diagnostics| diagnostics.render(diagnostics_color()))?;
    super::keep_out_of_panics(&scenario.secrets);
    Ok(scenario)
}

/// Scenario and recipe errors go to stderr: coloured when it is a terminal.
fn diagnostics_color() -> bool {
    use_color(std::io::stderr().is_terminal())
}

/// `check` validates without the secrets: a variable that is not set is only a warning.
fn warn_unset(scenario: &Scenario) {
    for unset in &scenario.unset_env {
        errln!(
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
            Ok(recipe) => {
                problems.extend(recipe_file_problems(images_dir, &host.image, &recipe));
                problems.extend(upgrade_target_problems(scenario, &host.image, &recipe));
            }
            Err(ImageError::Recipe(diagnostics)) => {
                problems.push(diagnostics.render(diagnostics_color()));
            }
            Err(e) => problems.push(format!(
                "error: host `{}` in `{}`: {e}",
                host.name,
                scenario.path.display()
            )),
        }
    }
    problems
}

/// An `upgrade` of a host made from `recipe` must go to a later release than the
/// recipe's: found here, with the file and line of `to`, rather than as a NO-GO after
/// the hosts were built.
fn upgrade_target_problems(
    scenario: &Scenario,
    image: &str,
    recipe: &crate::images::recipe::Recipe,
) -> Vec<String> {
    use crate::debian::release::version_of;
    let Some(from) = version_of(&recipe.suite) else {
        return Vec::new();
    };
    let late: Vec<(usize, String, String)> = scenario
        .steps
        .iter()
        .enumerate()
        .filter_map(|(index, step)| {
            let upgrade = step.kind.get::<crate::runner::UpgradeStep>()?;
            let made_from_recipe = scenario
                .host(&upgrade.host)
                .is_some_and(|h| h.image == image);
            if !made_from_recipe || version_of(&upgrade.to).is_none_or(|to| to > from) {
                return None;
            }
            let message = format!(
                "`to: {}` in step `{}` is not after `{}`, the release of host `{}` (recipe `{image}`)",
                upgrade.to, step.name, recipe.suite, upgrade.host
            );
            let help = format!(
                "upgrade to a later release than {} (the next is {}), or build the host from an older recipe",
                recipe.suite,
                crate::debian::release::codename_of(from + 1).unwrap_or("none known")
            );
            Some((index, message, help))
        })
        .collect();
    if late.is_empty() {
        return Vec::new();
    }
    // The scenario is read again only to point at `to`: its steps keep no positions.
    let source = crate::input_file::read_to_string(&scenario.path, crate::input_file::SCENARIO)
        .unwrap_or_default();
    let root = crate::yaml::load(&source).ok();
    let found = late
        .into_iter()
        .map(|(index, message, help)| {
            Diagnostic::new(upgrade_target_mark(root.as_ref(), index), message).with_help(help)
        })
        .collect();
    vec![Diagnostics::new(&scenario.path, &source, found).render(diagnostics_color())]
}

/// Where `to` of the upgrade that is step `index` is written (line 1 if the file could
/// not be read again).
fn upgrade_target_mark(
    root: Option<&serde_saphyr::Spanned<crate::yaml::Node>>,
    index: usize,
) -> Mark {
    use crate::yaml::Node;
    fn get<'a>(
        node: &'a serde_saphyr::Spanned<Node>,
        key: &str,
    ) -> Option<&'a serde_saphyr::Spanned<Node>> {
        match &node.value {
            Node::Map(entries) => entries.iter().find(|(k, _)| k.value == key).map(|(_, v)| v),
            _ => None,
        }
    }
    let to = root.and_then(|root| {
        let Node::Seq(items) = &get(root, "steps")?.value else {
            return None;
        };
        get(get(items.get(index)?, "upgrade")?, "to")
    });
    to.map_or(Mark::new(1, 1, 1), Mark::of)
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
