//! `rehearse gc`: clean up after dead runs.

use super::GcArgs;
use crate::exit_code;
use crate::gc::{GcOptions, collect};

pub async fn gc(args: &GcArgs, engine_choice: &super::EngineChoice) -> i32 {
    // The package cache is a folder of this machine: emptied even with no engine.
    let mut cache_failed = false;
    if args.apt_cache {
        match args.apt_cache_dir() {
            None => {
                errln!(
                    "error: no package cache folder: neither XDG_CACHE_HOME nor HOME is set; pass --cache-dir"
                );
                cache_failed = true;
            }
            Some(dir) => match crate::apt_cache::empty_cache_dir(&dir, args.dry_run) {
                Ok((files, bytes)) => outln!(
                    "{} package cache `{}`: {files} file(s), {}",
                    if args.dry_run {
                        "would empty"
                    } else {
                        "emptied"
                    },
                    dir.display(),
                    bytesize::ByteSize(bytes)
                ),
                Err(e) => {
                    errln!("error: {e}");
                    cache_failed = true;
                }
            },
        }
    }
    let engine = match super::connect(engine_choice).await {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let options = GcOptions {
        images: args.images,
        checkpoints: args.checkpoints,
        older_than: args.older_than,
        force: args.force,
        dry_run: args.dry_run,
        spare_kept: false,
    };
    match collect(&engine, options, None).await {
        Ok(summary) => {
            let verb = if args.dry_run {
                "would remove"
            } else {
                "removed"
            };
            for (kind, name) in &summary.removed {
                outln!("{verb} {} {name}", kind.as_str());
            }
            for run in &summary.live_runs {
                outln!("left alone: run {run} is still alive (use --force to remove it anyway)");
            }
            for error in &summary.errors {
                errln!("error: cannot remove {error}");
            }
            if summary.removed.is_empty() && summary.errors.is_empty() {
                outln!(
                    "{}",
                    if args.apt_cache {
                        "nothing else to remove"
                    } else {
                        "nothing to remove"
                    }
                );
            }
            if summary.errors.is_empty() && !cache_failed {
                exit_code::GO
            } else {
                exit_code::ENVIRONMENT
            }
        }
        Err(e) => {
            errln!("error: {e}");
            exit_code::ENVIRONMENT
        }
    }
}
