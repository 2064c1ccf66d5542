//! Problems found in a YAML file, rendered rustc-style with a caret snippet.

use std::fmt;
use std::path::{Path, PathBuf};

/// A place in the source: 1-based line and column (in characters) and the
/// number of characters to underline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Mark {
    pub line: usize,
    pub column: usize,
    pub width: usize,
}

/// One problem, pointing at a place in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub line: usize,
    pub column: usize,
    /// Characters to underline, at least 1 when rendered.
    pub width: usize,
    /// A lowercase fragment naming the object in backticks.
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(mark: Mark, message: impl Into<String>) -> Self {
        Diagnostic {
            line: mark.line,
            column: mark.column,
            width: mark.width,
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Every problem found in one file, with the text needed to show where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    pub path: PathBuf,
    pub source: String,
    /// Sorted by position.
    pub errors: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new(path: &Path, source: &str, mut errors: Vec<Diagnostic>) -> Self {
        errors.sort_by_key(|error| (error.line, error.column));
        Diagnostics {
            path: path.to_path_buf(),
            source: source.to_string(),
            errors,
        }
    }

    fn source_line(&self, line: usize) -> String {
        let text = self
            .source
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or("");
        // A tab would shift the caret; one space keeps columns aligned.
        text.replace('\t', " ")
    }

    fn render_one(&self, f: &mut fmt::Formatter<'_>, error: &Diagnostic) -> fmt::Result {
        let number = error.line.to_string();
        let pad = " ".repeat(number.len() + 1);
        let text = self.source_line(error.line);
        let indent = error.column.saturating_sub(1);
        let room = text.chars().count().saturating_sub(indent);
        let width = error.width.min(room).max(1);
        writeln!(f, "error: {}", error.message)?;
        writeln!(
            f,
            "{pad}--> {}:{}:{}",
            self.path.display(),
            error.line,
            error.column
        )?;
        writeln!(f, "{pad} |")?;
        writeln!(f, " {number} | {text}")?;
        write!(f, "{pad} | {}{}", " ".repeat(indent), "^".repeat(width))?;
        if let Some(help) = &error.help {
            write!(f, "\n{pad} = help: {help}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for error in &self.errors {
            self.render_one(f, error)?;
            write!(f, "\n\n")?;
        }
        let count = self.errors.len();
        let noun = if count == 1 { "error" } else { "errors" };
        write!(f, "{count} {noun} in {}", self.path.display())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(line: usize, column: usize, width: usize) -> Mark {
        Mark::new(line, column, width)
    }

    #[test]
    fn renders_sorted_errors_with_carets_and_summary() {
        let source = "name: x\nhosts:\n  web:\n    imgae: static-site\n";
        let errors = vec![
            Diagnostic::new(mark(4, 5, 5), "unknown key `imgae` in host `web`")
                .with_help("did you mean `image`?"),
            Diagnostic::new(mark(1, 7, 1), "bad name `x`"),
        ];
        let rendered = Diagnostics::new(Path::new("x.yaml"), source, errors).to_string();
        let expected = "\
error: bad name `x`
  --> x.yaml:1:7
   |
 1 | name: x
   |       ^

error: unknown key `imgae` in host `web`
  --> x.yaml:4:5
   |
 4 |     imgae: static-site
   |     ^^^^^
   = help: did you mean `image`?

2 errors in x.yaml";
        assert_eq!(rendered, expected);
    }

    #[test]
    fn caret_is_clamped_to_the_line_and_at_least_one_wide() {
        let source = "body: |\n  hi\n";
        let errors = vec![Diagnostic::new(mark(2, 3, 40), "too long")];
        let rendered = Diagnostics::new(Path::new("b.yaml"), source, errors).to_string();
        assert!(rendered.contains("\n   |   ^^\n"), "{rendered}");
        let errors = vec![Diagnostic::new(mark(9, 1, 0), "past the end")];
        let rendered = Diagnostics::new(Path::new("b.yaml"), source, errors).to_string();
        assert!(rendered.contains(" 9 | \n   | ^\n"), "{rendered}");
    }
}
