//! `rehearse gc`: clean up after dead runs.

use super::GcArgs;
use crate::exit_code;
use crate::gc::{GcOptions, collect};

pub async fn gc(args: &GcArgs) -> i32 {
    let engine = match super::connect().await {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let options = GcOptions {
        images: args.images,
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
                println!("{verb} {} {name}", kind.as_str());
            }
            for run in &summary.live_runs {
                println!("left alone: run {run} is still alive (use --force to remove it anyway)");
            }
            for error in &summary.errors {
                eprintln!("error: cannot remove {error}");
            }
            if summary.removed.is_empty() && summary.errors.is_empty() {
                println!("nothing to remove");
            }
            if summary.errors.is_empty() {
                exit_code::GO
            } else {
                exit_code::ENVIRONMENT
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit_code::ENVIRONMENT
        }
    }
}
