//! A step's full log in the report folder's `logs/`, secrets redacted line by line.

use std::io::Write;
use std::path::Path;

use crate::redact::Redactor;

/// An open log file. Lines are redacted before they are written, so the file never
/// holds a secret value, whatever the command printed.
#[derive(Debug)]
pub(crate) struct StepLog {
    file: std::io::BufWriter<std::fs::File>,
    redactor: Redactor,
}

impl StepLog {
    /// Creates `dir/name`; `None` when there is no log folder or it cannot be written
    /// (a log is a convenience: the step goes on without it).
    pub fn create(dir: Option<&Path>, name: &str, redactor: &Redactor) -> Option<StepLog> {
        let dir = dir?;
        std::fs::create_dir_all(dir).ok()?;
        let file = std::fs::File::create(dir.join(name)).ok()?;
        Some(StepLog {
            file: std::io::BufWriter::new(file),
            redactor: redactor.clone(),
        })
    }

    pub fn line(&mut self, line: &str) {
        let _ = writeln!(self.file, "{}", self.redactor.redact(line));
    }

    /// Several lines at once (a command's whole output).
    pub fn text(&mut self, text: &str) {
        for line in text.lines() {
            self.line(line);
        }
    }
}

impl Drop for StepLog {
    fn drop(&mut self) {
        let _ = self.file.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::Secret;

    #[test]
    fn lines_are_redacted_before_they_reach_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let redactor = Redactor::new(&[Secret {
            name: "K".into(),
            value: "letmein99".into(),
        }]);
        {
            let mut log = StepLog::create(Some(dir.path()), "01-x.log", &redactor).unwrap();
            log.line("$ echo letmein99");
            log.text("letmein99\nok\n");
        }
        let text = std::fs::read_to_string(dir.path().join("01-x.log")).unwrap();
        assert_eq!(text, "$ echo [redacted:K]\n[redacted:K]\nok\n");
    }
}
