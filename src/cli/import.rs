//! `rehearse import BUNDLE`: write a recipe and a scenario reproducing a captured host.

use std::path::PathBuf;

use super::ImportArgs;
use crate::capture::read_bundle;
use crate::exit_code;
use crate::import::{
    ImportError, ImportPlan, ImportTargets, not_reproduced_lines, query_mirror, recipe_text,
    sanitize_name, scenario_text, write_import,
};

pub async fn run(args: &ImportArgs, engine_choice: &super::EngineChoice) -> i32 {
    match import(args, engine_choice).await {
        Ok(()) => exit_code::GO,
        Err(e) => {
            errln!("error: {e}");
            match e {
                ImportError::Mirror(_) | ImportError::Write { .. } => exit_code::ENVIRONMENT,
                _ => exit_code::INVALID_INPUT,
            }
        }
    }
}

async fn import(args: &ImportArgs, engine_choice: &super::EngineChoice) -> Result<(), ImportError> {
    let read = read_bundle(&args.bundle)?;
    // Nothing of the bundle reaches a path, a recipe or a command before this.
    crate::import::validate(&read)?;
    let bundle = &read.bundle;
    let codename = &bundle.host.os.version_codename;
    if bundle.host.os.id != "debian" || crate::debian::release::version_of(codename).is_none() {
        return Err(ImportError::UnknownRelease {
            id: bundle.host.os.id.clone(),
            codename: codename.clone(),
            known: crate::debian::release::codenames()
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let name = match &args.name {
        Some(name) => {
            if sanitize_name(name) != *name {
                return Err(ImportError::InvalidName { name: name.clone() });
            }
            name.clone()
        }
        None => sanitize_name(&bundle.host.hostname),
    };
    let images_dir = args
        .build
        .images_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("images"));
    let scenarios_dir = args
        .scenarios_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("scenarios"));
    let targets = ImportTargets::new(&images_dir, &scenarios_dir, &name);
    targets.check_free(args.force)?;

    let mirror = if args.no_mirror_check {
        None
    } else {
        errln!(
            "import: checking {} captured packages against the `{codename}` mirror",
            bundle.packages.len()
        );
        let engine = crate::engine::DockerEngine::connect(&engine_choice.endpoint)
            .await
            .map_err(|e| ImportError::Mirror(e.into()))?;
        let apt_cache = args
            .build
            .start_apt_cache(engine_choice)
            .await
            .unwrap_or(None);
        let mut settings = args.build.settings(None);
        settings.images_dir = images_dir.clone();
        if let Some(cache) = &apt_cache {
            settings.apt_proxy = Some(cache.proxy());
        }
        let names: Vec<String> = bundle.packages.iter().map(|p| p.name.clone()).collect();
        let versions = query_mirror(&engine, &settings, codename, &names, &mut |line: &str| {
            errln!("import: {line}")
        })
        .await
        .map_err(ImportError::Mirror)?;
        Some(versions)
    };
    let plan = ImportPlan::new(bundle, &name, mirror.as_ref());
    let recipe = recipe_text(bundle, &plan);
    let scenario = scenario_text(bundle, &plan);
    write_import(&targets, &read, &recipe, &scenario)?;
    for line in not_reproduced_lines(&plan) {
        errln!("{line}");
    }
    outln!(
        "recipe:   {}",
        targets.recipe_dir.join("recipe.yaml").display()
    );
    outln!("scenario: {}", targets.scenario.display());
    outln!(
        "next: rehearse images build {name} --images-dir {} && rehearse run {}",
        images_dir.display(),
        targets.scenario.display()
    );
    Ok(())
}
