//! `rehearse capture`: run on the production host, read-only, writes one bundle.

use std::path::PathBuf;

use super::CaptureArgs;
use crate::capture::{CaptureOptions, DumpMode, capture, host_facts};
use crate::exit_code;
use crate::words::plural;

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
            errln!(
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
    // Interrupted (Ctrl-C, SIGTERM), the capture leaves no `.partial` file behind.
    std::thread::spawn(|| {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(super::signals::wait_for_signal());
        crate::capture::remove_partial_files();
        errln!("\ninterrupted: the unfinished bundle was removed");
        std::process::exit(exit_code::INTERRUPTED);
    });
    let mut stderr = std::io::stderr();
    match capture(&options, &mut stderr) {
        Ok(summary) => {
            for note in &summary.notes {
                errln!("note: {note}");
            }
            outln!(
                "captured {}: {} ({} manual), {}, {}, {}, {} ({} skipped), {}{}, {}",
                summary.path.display(),
                plural(summary.packages, "package"),
                summary.manual_packages,
                plural(summary.enabled_units, "enabled unit"),
                plural(summary.running_services, "running service"),
                plural(summary.ports, "listening port"),
                plural(summary.files, "file"),
                summary.skipped,
                plural(summary.redactions, "redaction"),
                if summary.dumps > 0 {
                    format!(", {}", plural(summary.dumps, "database dump"))
                } else {
                    String::new()
                },
                bytesize::ByteSize(summary.bytes)
            );
            exit_code::GO
        }
        Err(e) => {
            errln!("error: {e}");
            match e {
                crate::capture::CaptureError::Exists { .. }
                | crate::capture::CaptureError::PartialExists { .. } => exit_code::INVALID_INPUT,
                _ => exit_code::ENVIRONMENT,
            }
        }
    }
}
