//! `rehearse images build|list`.

use std::io::IsTerminal;

use super::ImagesCommand;
use crate::engine::{CHECKPOINT_LABEL, Engine, IMAGE_LABEL};
use crate::exit_code;
use crate::images::{ImageError, ensure_image, load_recipe, recipe_names};
use crate::report::terminal::{Detail, LiveView};
use crate::runner::{EventSink, RunEvent};

pub async fn images(command: ImagesCommand, engine_choice: &super::EngineChoice) -> i32 {
    let engine = match super::connect(engine_choice).await {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    match command {
        ImagesCommand::Build {
            names,
            build,
            verbose,
        } => {
            let apt_cache = match build.start_apt_cache(engine_choice).await {
                Ok(cache) => cache,
                Err(code) => return code,
            };
            let mut settings = build.settings(None);
            if let Some(cache) = &apt_cache {
                settings.apt_proxy = Some(cache.proxy());
            }
            let names = if names.is_empty() {
                recipe_names(&settings.images_dir)
            } else {
                names
            };
            if names.is_empty() {
                errln!(
                    "error: no recipes in `{}` (each is a folder with a `recipe.yaml`); pass --images-dir",
                    settings.images_dir.display()
                );
                return exit_code::INVALID_INPUT;
            }
            let detail = if verbose {
                Detail::Verbose
            } else {
                Detail::Normal
            };
            let stderr = std::io::stderr();
            let interactive = stderr.is_terminal();
            // Every recipe is read first: a mistake in one is fixed before anything builds.
            for name in &names {
                if let Err(e) = load_recipe(&settings.images_dir, name) {
                    errln!("error: {e}");
                    return exit_code::INVALID_INPUT;
                }
            }
            let view = std::sync::Mutex::new(LiveView::new(
                stderr,
                detail,
                false,
                super::spinner(interactive),
            ));
            // The recipes build at once; a base they share is made once.
            let builds = names.iter().map(|name| {
                let view = &view;
                let settings = &settings;
                let engine = &engine;
                async move {
                    ensure_image(engine, settings, name, &mut |e| {
                        view.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .event(&RunEvent::Image(e))
                    })
                    .await
                }
            });
            let all = futures_util::future::join_all(builds.collect::<Vec<_>>());
            // Interrupted, the builds are dropped: their build containers and volumes,
            // and a bootstrap's mmdebstrap, go with them (a second signal leaves at once).
            let finished = tokio::select! {
                results = all => Some(results),
                () = super::signals::wait_for_signal() => None,
            };
            let Some(results) = finished else {
                errln!(
                    "\ninterrupted: the builds were stopped; cleaning up (press Ctrl-C again to leave at once)"
                );
                tokio::select! {
                    () = engine.settle() => {}
                    _ = super::signals::leave_on_signal() => {}
                }
                return exit_code::INTERRUPTED;
            };
            let mut code = exit_code::GO;
            for (name, result) in names.iter().zip(results) {
                match result {
                    Ok(image) => outln!("{name}: {}", image.reference),
                    Err(e) => {
                        errln!("error: {e}");
                        let this = match e {
                            ImageError::Recipe(_) | ImageError::RecipeNotFound { .. } => {
                                exit_code::INVALID_INPUT
                            }
                            _ => exit_code::ENVIRONMENT,
                        };
                        // Bad input is what to fix first.
                        if code != exit_code::INVALID_INPUT {
                            code = this;
                        }
                    }
                }
            }
            if let Some(cache) = &apt_cache {
                for notice in cache.stats().take_notices() {
                    errln!("{notice}");
                }
                let counters = cache.stats().counters();
                if counters.used() {
                    errln!("apt cache: {}", counters.summary_line());
                }
            }
            code
        }
        ImagesCommand::List => match engine.list_images(IMAGE_LABEL).await {
            Ok(images) => {
                // Checkpoints inherit their base image's label; they are not recipes' images.
                for image in images
                    .into_iter()
                    .filter(|i| !i.labels.contains_key(CHECKPOINT_LABEL))
                {
                    let tags = if image.tags.is_empty() {
                        image.id.clone()
                    } else {
                        image.tags.join(", ")
                    };
                    outln!("{tags}\t{} MB", image.size / 1_000_000);
                }
                exit_code::GO
            }
            Err(e) => {
                errln!("error: {e}");
                exit_code::ENVIRONMENT
            }
        },
    }
}
