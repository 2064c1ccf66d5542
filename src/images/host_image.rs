//! Host images: a recipe built with the classic builder on its suite's base image.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::recipe::Recipe;
use super::{
    BuildSettings, ContextEntry, ImageError, ImageEvent, base, content_hash, context_tar,
    recipe_path,
};
use crate::engine::{Engine, IMAGE_LABEL, RECIPE_LABEL};

/// Bump when the generated Dockerfile changes meaning, so old caches are not reused.
const HOST_FORMAT: &str = "rehearse-host-v1";
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
    let (base, _) = base::base_reference(settings, &recipe.suite);
    let recipe_dir = settings.images_dir.join(name);
    let mut files = read_files(&recipe_dir, &recipe)?;
    if let Some(overlay) = &recipe.overlay {
        files.extend(super::overlay::read_overlay(&recipe_dir, overlay)?);
    }
    // The hash covers the generated build instructions (so a change in how recipes are
    // turned into images invalidates the cache) and the contents of every copied file.
    let body = dockerfile_body(&recipe, &base, name);
    let hash = {
        let mut parts: Vec<&[u8]> = vec![HOST_FORMAT.as_bytes(), body.as_bytes()];
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
    let built_base = base::ensure_base(engine, settings, &recipe.suite, on_event).await?;
    debug_assert_eq!(built_base, base);
    let started = Instant::now();
    on_event(ImageEvent::Building {
        what: what.clone(),
        reference: reference.clone(),
    });
    let dockerfile = format!("{body}LABEL {IMAGE_LABEL}={}\n", quoted(&hash));
    let context = context_tar(&dockerfile, &files)?;
    let build_args = super::proxy_build_args(engine, settings).await?;
    let mut tail: Vec<String> = Vec::new();
    let built_result = engine
        .build_image(context, &reference, &build_args, &mut |line| {
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
            detail: match e {
                crate::engine::EngineError::Build { detail, .. } => detail,
                other => other.to_string(),
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

/// The recipe's files as build-context entries `files/<index>`, in recipe order.
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
                format!("files/{index}"),
                data,
                file.mode.unwrap_or(0o644),
            ))
        })
        .collect()
}

/// JSON-quote a string for Dockerfile exec-form instructions.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("strings always serialize")
}

/// Build instructions for a recipe, without the final content-hash label.
fn dockerfile_body(recipe: &Recipe, base: &str, name: &str) -> String {
    // The recipe label comes first so that every layer carries it, including the
    // untagged ones a failed build leaves: `rehearse gc --images` finds those too.
    let mut out = format!(
        "FROM {base}\nLABEL {RECIPE_LABEL}={}\nARG DEBIAN_FRONTEND=noninteractive\n",
        quoted(name)
    );
    // Services must not start during the build: there is no init, and the real
    // host's first boot is what the replica's boot rehearses.
    out.push_str(
        "RUN printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d\n",
    );
    if !recipe.packages.is_empty() {
        // A pinned version may be older than what the base already has (a host not
        // updated since): apt must be allowed to go back to it. Unpinned recipes keep
        // their instructions, and so their hash.
        let downgrades = if recipe.packages.iter().any(|p| p.contains('=')) {
            "--allow-downgrades "
        } else {
            ""
        };
        let script = format!(
            "apt-get update && apt-get install -y {downgrades}{} && apt-get clean && rm -rf /var/lib/apt/lists/*",
            recipe.packages.join(" ")
        );
        out.push_str(&format!(
            "RUN [\"/bin/sh\", \"-ec\", {}]\n",
            quoted(&script)
        ));
    }
    for (mark, names) in [("auto", &recipe.auto), ("hold", &recipe.held)] {
        if names.is_empty() {
            continue;
        }
        let mut argv = vec!["apt-mark".to_string(), mark.to_string()];
        argv.extend(names.iter().cloned());
        out.push_str(&format!(
            "RUN {}\n",
            serde_json::to_string(&argv).expect("strings always serialize")
        ));
    }
    if recipe.overlay.is_some() {
        // Modes and links come with the archive; owners are root (commands chown the rest).
        out.push_str(&format!(
            "COPY [\"{}/\", \"/\"]\n",
            super::overlay::CONTEXT_DIR
        ));
    }
    for (index, file) in recipe.files.iter().enumerate() {
        out.push_str(&format!(
            "COPY [\"files/{index}\", {}]\n",
            quoted(&file.dest)
        ));
        if let Some(mode) = file.mode {
            out.push_str(&format!(
                "RUN [\"chmod\", \"{mode:o}\", {}]\n",
                quoted(&file.dest)
            ));
        }
    }
    for command in &recipe.commands {
        out.push_str(&format!(
            "RUN [\"/bin/sh\", \"-ec\", {}]\n",
            quoted(command)
        ));
    }
    if !recipe.enable.is_empty() {
        let mut argv = vec!["systemctl".to_string(), "enable".to_string()];
        argv.extend(recipe.enable.iter().cloned());
        out.push_str(&format!(
            "RUN {}\n",
            serde_json::to_string(&argv).expect("strings always serialize")
        ));
    }
    out.push_str("RUN rm -f /usr/sbin/policy-rc.d\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::recipe::RecipeFile;

    #[test]
    fn dockerfile_quotes_and_orders_steps() {
        let recipe = Recipe {
            description: None,
            suite: "bookworm".into(),
            packages: vec!["apache2".into()],
            files: vec![RecipeFile {
                src: "files/index.html".into(),
                dest: "/var/www/html/index.html".into(),
                mode: Some(0o640),
            }],
            commands: vec!["echo \"hi\" > /tmp/x".into()],
            enable: vec!["apache2".into()],
            overlay: None,
            held: Vec::new(),
            auto: Vec::new(),
        };
        let text = dockerfile_body(&recipe, "rehearse/debian:bookworm-1", "site");
        let expected = r#"FROM rehearse/debian:bookworm-1
LABEL rehearse.recipe="site"
ARG DEBIAN_FRONTEND=noninteractive
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
RUN ["/bin/sh", "-ec", "apt-get update && apt-get install -y apache2 && apt-get clean && rm -rf /var/lib/apt/lists/*"]
COPY ["files/0", "/var/www/html/index.html"]
RUN ["chmod", "640", "/var/www/html/index.html"]
RUN ["/bin/sh", "-ec", "echo \"hi\" > /tmp/x"]
RUN ["systemctl","enable","apache2"]
RUN rm -f /usr/sbin/policy-rc.d
"#;
        assert_eq!(text, expected);
    }
}
