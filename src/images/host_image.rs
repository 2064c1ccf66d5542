//! Host images: a recipe's files and setup script applied on its suite's base image (in
//! one container, committed as one layer).

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::recipe::Recipe;
use super::{
    BuildSettings, ContextEntry, ImageError, ImageEvent, base, content_hash, entries_tar,
    recipe_path,
};
use crate::engine::{Engine, IMAGE_LABEL, MadeAs, RECIPE_LABEL, ScriptBuild};

/// Bump when the way a recipe becomes an image changes meaning, so old caches are not
/// reused.
const HOST_FORMAT: &str = "rehearse-host-v3";
/// Where a recipe's files wait in the build until they are put in place.
const STAGING: &str = ".rehearse-recipe";
/// How the setup script announces each part, so a failed build names it.
const STEP_MARK: &str = "==> recipe ";
/// Lines of build output kept for the error message when a build fails.
const BUILD_TAIL: usize = 25;

/// An image ready to run, and whether the cache already had it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    pub recipe: String,
    pub reference: String,
    pub content_hash: String,
    pub base: String,
    pub suite: String,
    pub cached: bool,
}

/// Names of the recipes in an images folder, sorted.
pub fn recipe_names(images_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(images_dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("recipe.yaml").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// Read and validate a recipe by name.
pub fn load_recipe(images_dir: &Path, name: &str) -> Result<Recipe, ImageError> {
    let path = recipe_path(images_dir, name);
    if !path.is_file() {
        return Err(ImageError::RecipeNotFound {
            name: name.to_string(),
            dir: images_dir.to_path_buf(),
            available: recipe_names(images_dir),
        });
    }
    let source = crate::input_file::read(&path, crate::input_file::RECIPE).map_err(|source| {
        ImageError::Io {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let text = crate::yaml::source_text(&path, &source)?;
    Ok(super::recipe::parse(&path, text)?)
}

fn read(path: &Path) -> Result<Vec<u8>, ImageError> {
    std::fs::read(path).map_err(|source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Make sure the image for recipe `name` exists, building its base and itself if needed.
pub async fn ensure_image<E: Engine>(
    engine: &E,
    settings: &BuildSettings,
    name: &str,
    on_event: &mut (dyn FnMut(ImageEvent) + Send),
) -> Result<BuiltImage, ImageError> {
    let recipe = load_recipe(&settings.images_dir, name)?;
    // The base is only needed to build: an image already cached is found without it
    // (an engine that got the image by `docker load` need not have the base).
    // The recipe's packages are installed in the pass that makes its base.
    // A recipe that names the engine's own architecture is built on the engine's own
    // base: one image, one cache key.
    let arch = match recipe.architecture.as_deref() {
        Some(arch) if engine.info().await?.debian_architecture() == arch => None,
        other => other,
    };
    let (base, _) = base::base_reference(settings, &recipe.suite, arch, &recipe.packages);
    let recipe_dir = settings.images_dir.join(name);
    let mut files = read_files(&recipe_dir, &recipe)?;
    if let Some(overlay) = &recipe.overlay {
        files.extend(super::overlay::read_overlay(&recipe_dir, overlay)?);
    }
    // The hash covers the generated setup script (so a change in how recipes are
    // turned into images invalidates the cache) and the contents of every copied file.
    let script = setup_script(&recipe);
    let hash = {
        let mut parts: Vec<&[u8]> = vec![
            HOST_FORMAT.as_bytes(),
            base.as_bytes(),
            name.as_bytes(),
            script.as_bytes(),
        ];
        for entry in &files {
            parts.push(entry.path.as_bytes());
            parts.push(&entry.data);
            // Modes and link targets are what an overlay reproduces; plain recipe
            // files keep their old hash (their mode is in the build instructions).
            if let Some(extra) = &entry.hashed_meta {
                parts.push(extra.as_bytes());
            }
        }
        content_hash(parts)
    };
    let reference = format!("rehearse/{name}:{}", &hash[..12]);
    let what = format!("image {name}");
    let built = BuiltImage {
        recipe: name.to_string(),
        reference: reference.clone(),
        content_hash: hash.clone(),
        base: base.clone(),
        suite: recipe.suite.clone(),
        cached: true,
    };
    // Held until this image is built, so a run beside this one waits and hits the cache.
    let _turn = super::build_turn(&reference).await;
    if engine.image_exists(&reference).await? {
        on_event(ImageEvent::CacheHit { what, reference });
        return Ok(built);
    }
    let built_base = base::ensure_base(
        engine,
        settings,
        &recipe.suite,
        arch,
        &recipe.packages,
        on_event,
    )
    .await?;
    debug_assert_eq!(built_base, base);
    let started = Instant::now();
    on_event(ImageEvent::Building {
        what: what.clone(),
        reference: reference.clone(),
    });
    // One container and one commit, not a build's layer per instruction: on some
    // storage drivers each layer costs seconds (3.5 s on fuse-overlayfs). Should this
    // process die, the container is a dead run's for `rehearse gc`.
    let env = super::proxy_build_args(engine, settings)
        .await?
        .into_iter()
        .collect();
    let spec = ScriptBuild {
        image: base.clone(),
        reference: reference.clone(),
        script,
        env,
        files: entries_tar(&files)?,
        volumes: Vec::new(),
        made_as: MadeAs::Layer {
            labels: [
                (RECIPE_LABEL.to_string(), name.to_string()),
                (IMAGE_LABEL.to_string(), hash.clone()),
            ]
            .into(),
        },
    };
    let mut tail: Vec<String> = Vec::new();
    let mut step: Option<String> = None;
    let built_result = engine
        .build_by_script(&spec, &mut |line| {
            if let Some(mark) = line.strip_prefix(STEP_MARK) {
                step = Some(mark.to_string());
            }
            tail.push(line.to_string());
            if tail.len() > BUILD_TAIL {
                tail.remove(0);
            }
            on_event(ImageEvent::Output {
                what: what.clone(),
                line: line.to_string(),
            })
        })
        .await;
    if let Err(e) = built_result {
        return Err(ImageError::Build {
            recipe: name.to_string(),
            detail: match (e, step) {
                // Name the part of the setup script that failed.
                (crate::engine::EngineError::Build { detail, .. }, Some(step)) => {
                    let code = detail
                        .rsplit_once("exited with status ")
                        .map_or("a failure", |(_, code)| code.trim());
                    match step.split_once(": ") {
                        Some((key, what)) => {
                            format!("`{key}` (`{what}`) failed with exit status {code}")
                        }
                        None => format!("`{step}` failed with exit status {code}"),
                    }
                }
                (crate::engine::EngineError::Build { detail, .. }, _) => detail,
                (other, _) => other.to_string(),
            },
            tail: tail.join("\n"),
        });
    }
    on_event(ImageEvent::Built {
        what,
        reference,
        duration: started.elapsed(),
    });
    Ok(BuiltImage {
        cached: false,
        ..built
    })
}

/// The recipe's files as entries `.rehearse-recipe/<index>` of the archive unpacked onto
/// `/` before the setup script runs, in recipe order.
fn read_files(recipe_dir: &Path, recipe: &Recipe) -> Result<Vec<ContextEntry>, ImageError> {
    recipe
        .files
        .iter()
        .enumerate()
        .map(|(index, file)| {
            // The parser refused `..` and absolute paths; a link leading out is found here.
            let key = format!("files[{index}].src");
            let recipe_file = recipe_dir.join("recipe.yaml");
            let origin = crate::local_files::Origin {
                file: &recipe_file,
                key: &key,
            };
            let path: PathBuf =
                crate::local_files::resolve(recipe_dir, &file.src, false, origin)?.path;
            let data = read(&path)?;
            Ok(ContextEntry::file(
                format!("{STAGING}/{index}"),
                data,
                file.mode.unwrap_or(0o644),
            ))
        })
        .collect()
}

/// The recipe's setup script, run by `/bin/sh -ec` from `/` once its files wait in
/// `/.rehearse-recipe/<index>` and its overlay is in place: it marks packages, puts the
/// files in place, runs the commands and enables the units, in that order.
fn setup_script(recipe: &Recipe) -> String {
    use crate::escape::shell;
    let mark = |what: &str| format!("printf '%s\\n' {}", shell(&format!("{STEP_MARK}{what}")));
    // Services must not start during the build: there is no init, and the real host's
    // first boot is what the replica's boot rehearses.
    let mut script = vec![
        "export DEBIAN_FRONTEND=noninteractive".to_string(),
        base::POLICY_RC_D_ON.to_string(),
    ];
    for (mark_as, key, names) in [
        ("auto", "auto", &recipe.auto),
        ("hold", "held", &recipe.held),
    ] {
        if names.is_empty() {
            continue;
        }
        script.push(mark(key));
        script.push(format!("apt-mark {mark_as} {}", words(names)));
    }
    for (index, file) in recipe.files.iter().enumerate() {
        // Like a `COPY` of the one file: parents made as needed, owned by root, the
        // context's time kept (`-p`).
        let mode = file.mode.unwrap_or(0o644);
        script.push(mark(&format!("files[{index}]: {}", file.dest)));
        script.push(format!(
            "install -p -D -m {mode:o} /{STAGING}/{index} {}",
            shell(&file.dest)
        ));
    }
    if !recipe.files.is_empty() {
        script.push(format!("rm -rf /{STAGING}"));
    }
    for (index, command) in recipe.commands.iter().enumerate() {
        let first_line = command.lines().next().unwrap_or_default();
        script.push(mark(&format!("commands[{index}]: {first_line}")));
        // Each in its own shell, as a `RUN` of its own would be, from `/`.
        script.push(format!("(cd / && /bin/sh -ec {})", shell(command)));
    }
    if !recipe.enable.is_empty() {
        script.push(mark("enable"));
        script.push(format!("systemctl enable {}", words(&recipe.enable)));
    }
    script.push(base::POLICY_RC_D_OFF.to_string());
    // APT's binary caches, as a real host has them (the base's `apt-get clean` removed
    // them): otherwise the replica's first `apt` builds them from its lists (a second
    // and more, measured on the LAMP host). Never a reason for a build to fail.
    script.push("apt-cache gencaches >/dev/null 2>&1 || true".to_string());
    script.join("\n")
}

/// Values as shell words, each quoted.
fn words(values: &[String]) -> String {
    values
        .iter()
        .map(|v| crate::escape::shell(v))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ExecOutput;
    use crate::engine::fake::FakeEngine;
    use crate::images::recipe::RecipeFile;

    #[tokio::test]
    async fn naming_the_engines_own_architecture_builds_on_its_own_base() {
        let dir = tempfile::tempdir().unwrap();
        for (name, arch) in [
            ("plain", ""),
            ("native", "architecture: amd64\n"),
            ("i386", "architecture: i386\n"),
        ] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
            std::fs::write(
                dir.path().join(name).join("recipe.yaml"),
                format!("suite: bookworm\n{arch}packages: [apache2]\n"),
            )
            .unwrap();
        }
        let settings = BuildSettings {
            images_dir: dir.path().to_path_buf(),
            ..BuildSettings::default()
        };
        // The fake engine is an x86_64 (amd64) one that has every image.
        let engine = FakeEngine::new(|_, _| ExecOutput::default());
        let base_of = async |name: &str| {
            ensure_image(&engine, &settings, name, &mut |_| {})
                .await
                .unwrap()
                .base
        };
        let plain = base_of("plain").await;
        assert_eq!(base_of("native").await, plain);
        let i386 = base_of("i386").await;
        assert!(i386.starts_with("rehearse/debian:bookworm-i386-"), "{i386}");
    }

    #[tokio::test]
    async fn a_recipe_is_one_script_build_with_its_files_on_root_and_its_labels_added() {
        let dir = tempfile::tempdir().unwrap();
        let recipe = dir.path().join("site");
        std::fs::create_dir_all(recipe.join("files")).unwrap();
        std::fs::create_dir_all(recipe.join("tree/etc/app")).unwrap();
        std::fs::write(recipe.join("files/index.html"), "hello").unwrap();
        std::fs::write(recipe.join("tree/etc/app/app.conf"), "x = 1").unwrap();
        std::fs::write(
            recipe.join("recipe.yaml"),
            "suite: bookworm\npackages: [apache2]\noverlay: tree\nfiles:\n  \
             - {src: files/index.html, dest: /var/www/html/index.html}\n",
        )
        .unwrap();
        let settings = BuildSettings {
            images_dir: dir.path().to_path_buf(),
            ..BuildSettings::default()
        };
        let engine = FakeEngine::new(|_, _| ExecOutput::default());
        engine
            .absent_images
            .lock()
            .unwrap()
            .push("rehearse/site:".into());
        let built = ensure_image(&engine, &settings, "site", &mut |_| {})
            .await
            .unwrap();
        let specs = engine.script_builds.lock().unwrap().clone();
        let [spec] = specs.as_slice() else {
            panic!("{specs:#?}")
        };
        assert_eq!(
            (&spec.image, &spec.reference),
            (&built.base, &built.reference)
        );
        assert!(spec.volumes.is_empty());
        assert!(spec.env.is_empty(), "no package cache, no proxy");
        let MadeAs::Layer { labels } = &spec.made_as else {
            panic!("{:?}", spec.made_as)
        };
        assert_eq!(labels[RECIPE_LABEL], "site");
        assert_eq!(labels[IMAGE_LABEL], built.content_hash);
        let mut archive = tar::Archive::new(spec.files.as_ref());
        let paths: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(
            paths,
            [".rehearse-recipe/0", "etc", "etc/app", "etc/app/app.conf"]
        );
        assert!(
            spec.script
                .contains("install -p -D -m 644 /.rehearse-recipe/0 '/var/www/html/index.html'"),
            "{}",
            spec.script
        );
    }

    #[test]
    fn the_setup_script_puts_staged_files_in_place_and_runs_commands_in_order() {
        let recipe = Recipe {
            description: None,
            suite: "bookworm".into(),
            architecture: None,
            packages: vec!["apache2".into()],
            files: vec![RecipeFile {
                src: "files/index.html".into(),
                dest: "/var/www/html/index.html".into(),
                mode: Some(0o640),
            }],
            commands: vec!["echo \"it's\" > /tmp/x".into()],
            enable: vec!["apache2".into()],
            overlay: None,
            held: Vec::new(),
            auto: Vec::new(),
        };
        let expected = r#"export DEBIAN_FRONTEND=noninteractive
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
printf '%s\n' '==> recipe files[0]: /var/www/html/index.html'
install -p -D -m 640 /.rehearse-recipe/0 '/var/www/html/index.html'
rm -rf /.rehearse-recipe
printf '%s\n' '==> recipe commands[0]: echo "it'\''s" > /tmp/x'
(cd / && /bin/sh -ec 'echo "it'\''s" > /tmp/x')
printf '%s\n' '==> recipe enable'
systemctl enable 'apache2'
rm -f /usr/sbin/policy-rc.d
apt-cache gencaches >/dev/null 2>&1 || true"#;
        assert_eq!(setup_script(&recipe), expected);
    }
}
