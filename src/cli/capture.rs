//! `rehearse capture`: run on the production host, read-only, writes one bundle.

use std::path::PathBuf;

use super::CaptureArgs;
use crate::capture::{CaptureOptions, DumpMode, capture, host_facts};
use crate::exit_code;

pub fn run(args: &CaptureArgs) -> i32 {
    let root = args.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let output = args.output.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "{}.rehearse-bundle.tar.gz",
            host_facts::hostname(&root)
        ))
    });
    let mut trees = Vec::new();
    for tree in &args.etc {
        let text = tree.to_string_lossy().trim_end_matches('/').to_string();
        if !text.starts_with('/') || text.split('/').any(|part| part == "..") {
            eprintln!(
                "error: `--etc {text}`: expected an absolute path on the host without `..`, like `/etc/apache2`"
            );
            return exit_code::INVALID_INPUT;
        }
        trees.push(text);
    }
    let mut dumps = Vec::new();
    if args.db_schema {
        dumps.push(DumpMode::Schema);
    }
    if let Some(rows) = args.db_sample {
        dumps.push(DumpMode::Sample(rows));
    }
    if args.db_dump {
        dumps.push(DumpMode::Full);
    }
    let options = CaptureOptions {
        output,
        force: args.force,
        root,
        trees,
        redact: !args.no_redact,
        max_file_size: args.max_file_size,
        dumps,
    };
    let mut stderr = std::io::stderr();
    match capture(&options, &mut stderr) {
        Ok(summary) => {
            for note in &summary.notes {
                eprintln!("note: {note}");
            }
            println!(
                "captured {}: {} packages ({} manual), {} enabled units, {} running services, {} listening ports, {} files ({} skipped), {} redactions{}, {}",
                summary.path.display(),
                summary.packages,
                summary.manual_packages,
                summary.enabled_units,
                summary.running_services,
                summary.ports,
                summary.files,
                summary.skipped,
                summary.redactions,
                if summary.dumps > 0 {
                    format!(", {} database dumps", summary.dumps)
                } else {
                    String::new()
                },
                human_bytes(summary.bytes)
            );
            exit_code::GO
        }
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                crate::capture::CaptureError::Exists { .. }
                | crate::capture::CaptureError::PartialExists { .. } => exit_code::INVALID_INPUT,
                _ => exit_code::ENVIRONMENT,
            }
        }
    }
}

fn human_bytes(bytes: u64) -> String {
    if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}
