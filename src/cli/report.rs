//! `rehearse report` and `rehearse diff`: work on report folders, never on Docker.

use super::{DiffArgs, ReportArgs};
use crate::exit_code;
use crate::report::{Format, read_json, write_format};

pub fn report(args: &ReportArgs) -> i32 {
    let report = match read_json(&args.dir) {
        Ok(report) => report,
        Err(message) => {
            errln!("error: {message}");
            return exit_code::INVALID_INPUT;
        }
    };
    let formats: Vec<Format> = if args.format.is_empty() {
        Format::ALL.to_vec()
    } else {
        args.format.iter().map(|f| f.format()).collect()
    };
    if args.stdout {
        let [format] = formats.as_slice() else {
            errln!("error: `--stdout` prints one format: give exactly one `--format`");
            return exit_code::INVALID_INPUT;
        };
        let mut out = std::io::stdout().lock();
        return match super::printed(format.render(&report, &mut out)) {
            Ok(()) => exit_code::GO,
            Err(e) => {
                errln!("error: cannot print the report: {e}");
                exit_code::ENVIRONMENT
            }
        };
    }
    let dir = if args.dir.is_dir() {
        args.dir.clone()
    } else {
        args.dir
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default()
    };
    for format in formats {
        match write_format(&dir, &report, format) {
            Ok(path) => outln!("{}", path.display()),
            Err(e) => {
                errln!(
                    "error: cannot write `{}` into `{}`: {e}",
                    format.file_name(),
                    dir.display()
                );
                return exit_code::ENVIRONMENT;
            }
        }
    }
    exit_code::GO
}

pub fn diff(args: &DiffArgs) -> i32 {
    let (before, after) = match (read_json(&args.before), read_json(&args.after)) {
        (Ok(before), Ok(after)) => (before, after),
        (Err(message), _) | (_, Err(message)) => {
            errln!("error: {message}");
            return exit_code::INVALID_INPUT;
        }
    };
    let diff = crate::report::diff::compare(&before, &after);
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        serde_json::to_writer_pretty(&mut out, &diff)
            .map_err(std::io::Error::from)
            .and_then(|()| std::io::Write::write_all(&mut out, b"\n"))
    } else {
        crate::report::diff::render(&diff, &mut out)
    };
    if let Err(e) = super::printed(written) {
        errln!("error: cannot print the difference: {e}");
        return exit_code::ENVIRONMENT;
    }
    exit_code::GO
}
