//! Problems found in a YAML file, rendered rustc-style (by annotate-snippets) with
//! the source line and a caret under the place.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

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

    /// Every error with its source line and a caret under the place, then the count;
    /// in colour (for a terminal) when `color`.
    pub fn render(&self, color: bool) -> String {
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let path = self.path.display().to_string();
        let mut out = String::new();
        for error in &self.errors {
            let (line, underline) = self.snippet_line(error);
            let snippet = Snippet::source(line.as_str())
                .path(path.as_str())
                .line_start(error.line)
                .annotation(AnnotationKind::Primary.span(underline));
            let mut group = Level::ERROR
                .primary_title(error.message.as_str())
                .element(snippet);
            if let Some(help) = &error.help {
                group = group.element(Level::HELP.message(help.as_str()));
            }
            out.push_str(&renderer.render(&[group]));
            out.push_str("\n\n");
        }
        let count = self.errors.len();
        let noun = if count == 1 { "error" } else { "errors" };
        out.push_str(&format!("{count} {noun} in {path}"));
        out
    }

    /// The error's source line, and the bytes of it to underline: the error's width
    /// clamped to the line, at least one character. A line too short for the column
    /// (or past the end of the file) is padded with spaces for the caret to sit on.
    fn snippet_line(&self, error: &Diagnostic) -> (String, Range<usize>) {
        let mut line = self
            .source
            .lines()
            .nth(error.line.saturating_sub(1))
            .unwrap_or("")
            .to_string();
        let indent = error.column.saturating_sub(1);
        let length = line.chars().count();
        if length <= indent {
            line.extend(std::iter::repeat_n(' ', indent + 1 - length));
        }
        let room = line.chars().count() - indent;
        let width = error.width.min(room).max(1);
        let byte = |chars: usize| {
            line.char_indices()
                .nth(chars)
                .map_or(line.len(), |(index, _)| index)
        };
        let underline = byte(indent)..byte(indent + width);
        (line, underline)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
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
  |
  = help: did you mean `image`?

2 errors in x.yaml";
        assert_eq!(rendered, expected);
    }

    #[test]
    fn caret_is_clamped_to_the_line_and_at_least_one_wide() {
        let source = "body: |\n  hi\n";
        let render = |error: Diagnostic| {
            Diagnostics::new(Path::new("b.yaml"), source, vec![error]).to_string()
        };
        let expected = "\
error: too long
 --> b.yaml:2:3
  |
2 |   hi
  |   ^^

1 error in b.yaml";
        assert_eq!(
            render(Diagnostic::new(mark(2, 3, 40), "too long")),
            expected
        );
        // The line is a space wide, for the caret.
        let expected =
            "error: past the end\n --> b.yaml:9:1\n  |\n9 |  \n  | ^\n\n1 error in b.yaml";
        assert_eq!(
            render(Diagnostic::new(mark(9, 1, 0), "past the end")),
            expected
        );
    }

    #[test]
    fn the_caret_counts_characters_and_follows_tabs() {
        let source = "name: \"héllo\"\n\tkey: v\n";
        let errors = vec![
            Diagnostic::new(mark(1, 8, 5), "bad name `héllo`"),
            Diagnostic::new(mark(2, 2, 3), "unknown key `key`"),
        ];
        let rendered = Diagnostics::new(Path::new("t.yaml"), source, errors).to_string();
        let expected = "\
error: bad name `héllo`
 --> t.yaml:1:8
  |
1 | name: \"héllo\"
  |        ^^^^^

error: unknown key `key`
 --> t.yaml:2:2
  |
2 |     key: v
  |     ^^^

2 errors in t.yaml";
        assert_eq!(rendered, expected);
    }

    #[test]
    fn colour_only_when_asked() {
        let errors = vec![Diagnostic::new(mark(1, 1, 4), "bad").with_help("fix it")];
        let diagnostics = Diagnostics::new(Path::new("c.yaml"), "name: x\n", errors);
        assert!(!diagnostics.render(false).contains('\u{1b}'));
        assert_eq!(diagnostics.render(false), diagnostics.to_string());
        assert!(diagnostics.render(true).contains('\u{1b}'));
    }
}
