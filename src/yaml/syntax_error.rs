//! The YAML parser's errors in plain words, each with a fix: a tab in the
//! indentation, a nesting or size limit (which one, and where), and a `[` or `{` that
//! is never closed (shown where it opens, not where the parser gave up). Any other
//! error keeps serde-saphyr's own message.

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::granit_parser::{
    ErrorKind, Event, Options as ParserOptions, Parser, ScanError, StructureStyle,
};
use serde_saphyr::{Budget, Error, ExternalMessageSource, MessageFormatter};

use super::diagnostic::{Diagnostic, Mark};

/// `error`, from reading `source` within `budget`, as one diagnostic.
pub(super) fn diagnose(source: &str, error: &Error, budget: &Budget) -> Diagnostic {
    let error = error.without_snippet();
    let at = error
        .location()
        .map_or(Mark::new(1, 1, 1), |location| Mark::at(&location, 1));
    let plain = match error {
        Error::ExternalMessage { source: origin, .. } => match origin.as_ref() {
            ExternalMessageSource::Parser(scan) => scanner_error(source, scan, at, budget),
            _ => None,
        },
        Error::Budget { breach, .. } => Some(over_limit(breach, budget, at, false)),
        Error::AliasError { error, .. } => match error.as_ref() {
            Error::Budget { breach, .. } => Some(over_limit(breach, budget, at, true)),
            _ => None,
        },
        _ => None,
    };
    plain.unwrap_or_else(|| {
        let message = serde_saphyr::UserMessageFormatter.format_message(error);
        Diagnostic::new(at, format!("invalid YAML: {}", one_line(&message)))
    })
}

/// The parser's message on one line: control characters escaped, quotes kept.
fn one_line(message: &str) -> String {
    crate::escape::controls(message)
}

fn scanner_error(source: &str, scan: &ScanError, at: Mark, budget: &Budget) -> Option<Diagnostic> {
    let tab_help = "indent with spaces: YAML does not allow tabs there";
    let diagnostic = match scan.kind() {
        ErrorKind::TabInIndentation | ErrorKind::TabInBlockIndentation => Diagnostic::new(
            tab_on_line(source, at).unwrap_or(at),
            "invalid YAML: a tab in the indentation",
        )
        .with_help(tab_help),
        ErrorKind::TabAtBlockScalarStart => Diagnostic::new(
            tab_after(source, at).unwrap_or(at),
            "invalid YAML: a tab indents the text of a block scalar (`|` or `>`)",
        )
        .with_help(tab_help),
        ErrorKind::TabNotAllowed | ErrorKind::TabInPlainScalar => Diagnostic::new(
            tab_on_line(source, at).unwrap_or(at),
            "invalid YAML: a tab where YAML does not allow one",
        )
        .with_help("use spaces instead"),
        ErrorKind::RecursionLimitExceeded => nested_too_deep(source, at, budget),
        ErrorKind::UnclosedFlowCollection { open } => unclosed(*open, at, None),
        ErrorKind::ExpectedFlowMappingSeparator
        | ErrorKind::ExpectedFlowSequenceSeparator
        | ErrorKind::InvalidColonPlacement
        | ErrorKind::MappingValueNotAllowed
        | ErrorKind::UnexpectedEofFlowSequence
        | ErrorKind::UnexpectedEofFlowMapping
        | ErrorKind::UnexpectedEofImplicitFlowMapping => {
            // Inside a bracket opened on an earlier line, the likely mistake is the
            // missing closing bracket, not what the parser tripped on lines later.
            let (open, opened) = innermost_open_bracket(source)?;
            if opened.line >= at.line {
                return None;
            }
            let stopped = format!("line {}, column {}: {}", at.line, at.column, scan.kind());
            unclosed(open, opened, Some(&stopped))
        }
        _ => return None,
    };
    Some(diagnostic)
}

fn unclosed(open: char, at: Mark, stopped: Option<&str>) -> Diagnostic {
    let close = if open == '{' { '}' } else { ']' };
    let help = match stopped {
        Some(stopped) => {
            format!("add the `{close}` that closes it (the parser stopped at {stopped})")
        }
        None => format!("add the `{close}` that closes it"),
    };
    Diagnostic::new(at, format!("invalid YAML: this `{open}` is never closed")).with_help(help)
}

/// The parser's own nesting limits: of brackets (checked as they are read) or of
/// blocks (which serde-saphyr raises to at least its depth limit).
fn nested_too_deep(source: &str, at: Mark, budget: &Budget) -> Diagnostic {
    if char_at(source, at).is_some_and(|c| matches!(c, '[' | '{')) {
        let message = format!(
            "invalid YAML: more than {} `[` or `{{` open at once here (the limit)",
            budget.flow_nesting_limit
        );
        Diagnostic::new(at, message)
            .with_help("close the brackets: every `[` needs its `]` and every `{` its `}`")
    } else {
        let limit = ParserOptions::default()
            .block_nesting_limit
            .max(budget.max_depth.saturating_add(1));
        let message =
            format!("invalid YAML: blocks nested more than {limit} levels deep here (the limit)");
        Diagnostic::new(at, message).with_help(DEEP_HELP)
    }
}

const DEEP_HELP: &str = "a scenario needs only a few levels of maps and lists: look for stray indentation or brackets above";

/// A budget limit of serde-saphyr's, named with its value; `alias` when it was hit
/// while expanding an alias (the place is the alias).
fn over_limit(breach: &BudgetBreach, budget: &Budget, at: Mark, alias: bool) -> Diagnostic {
    let aliases_help =
        "an alias (`*name`) copies its anchor's whole value: use fewer aliases, or smaller anchors";
    let size_help = "split the file: a scenario is far smaller than this";
    let (what, help) = match breach {
        BudgetBreach::Depth { .. } => {
            let message = format!(
                "invalid YAML: nested more than {} levels deep here (the limit)",
                budget.max_depth
            );
            return Diagnostic::new(at, message).with_help(DEEP_HELP);
        }
        BudgetBreach::Nodes { .. } => (format!("{} values", budget.max_nodes), size_help),
        BudgetBreach::Events { .. } => (format!("{} parser events", budget.max_events), size_help),
        BudgetBreach::ScalarBytes { .. } => (
            format!(
                "{} of text in values",
                bytesize::ByteSize(budget.max_total_scalar_bytes as u64)
            ),
            size_help,
        ),
        BudgetBreach::Documents { .. } => (
            format!("{} documents (`---`)", budget.max_documents),
            "a scenario is one document: remove the `---` separators",
        ),
        BudgetBreach::Aliases { .. } => (
            format!("{} aliases (`*name`)", budget.max_aliases),
            aliases_help,
        ),
        BudgetBreach::Anchors { .. } => (
            format!("{} anchors (`&name`)", budget.max_anchors),
            aliases_help,
        ),
        BudgetBreach::MergeKeys { .. } => (
            format!("{} merge keys (`<<`)", budget.max_merge_keys),
            aliases_help,
        ),
        BudgetBreach::AliasAnchorRatio { aliases, anchors } => {
            let message = format!(
                "invalid YAML: {aliases} aliases for {anchors} anchors: more than {} per anchor (the limit)",
                budget.alias_anchor_ratio_multiplier
            );
            return Diagnostic::new(at, message).with_help(aliases_help);
        }
        other => {
            let message = format!("invalid YAML: over a size limit here ({other:?})");
            return Diagnostic::new(at, message).with_help(size_help);
        }
    };
    let message = if alias {
        format!("invalid YAML: expanding this alias makes more than {what} (the limit)")
    } else {
        format!("invalid YAML: more than {what} here (the limit)")
    };
    Diagnostic::new(at, message).with_help(if alias { aliases_help } else { help })
}

/// The innermost `[` or `{` still open where the parser stops, and where it opens.
fn innermost_open_bracket(source: &str) -> Option<(char, Mark)> {
    // One entry per open collection: its bracket, if it is a flow one that has one.
    let mut open: Vec<Option<(char, Mark)>> = Vec::new();
    for event in Parser::new_from_str(source) {
        let Ok((event, span)) = event else { break };
        match event {
            Event::SequenceStart(style, ..) | Event::MappingStart(style, ..) => {
                let mark = Mark::new(span.start.line(), span.start.col() + 1, 1);
                let bracket = char_at(source, mark).filter(|c| matches!(c, '[' | '{'));
                let flow = matches!(style, StructureStyle::Flow);
                open.push(bracket.filter(|_| flow).map(|c| (c, mark)));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                open.pop();
            }
            _ => {}
        }
    }
    // An implicit `key: value` pair inside `[...]` has no bracket of its own.
    open.into_iter().rev().flatten().next()
}

/// The character at a place, if the place is in the text.
fn char_at(source: &str, at: Mark) -> Option<char> {
    let line = source.split('\n').nth(at.line.checked_sub(1)?)?;
    line.chars().nth(at.column.checked_sub(1)?)
}

/// The first tab on the line of `at`: the indentation's, as the parser points past it.
fn tab_on_line(source: &str, at: Mark) -> Option<Mark> {
    let line = source.split('\n').nth(at.line.checked_sub(1)?)?;
    let column = line.chars().position(|c| c == '\t')? + 1;
    Some(Mark::new(at.line, column, 1))
}

/// The first tab at or after `at`.
fn tab_after(source: &str, at: Mark) -> Option<Mark> {
    let lines = source.split('\n').enumerate().skip(at.line.checked_sub(1)?);
    for (index, line) in lines {
        let skip = if index + 1 == at.line {
            at.column.saturating_sub(1)
        } else {
            0
        };
        if let Some(found) = line.chars().skip(skip).position(|c| c == '\t') {
            return Some(Mark::new(index + 1, skip + found + 1, 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::yaml::{Diagnostics, load};

    /// What `rehearse check` prints for `source`, which has one syntax error.
    fn rendered(source: &str) -> String {
        let error = load(source).unwrap_err();
        Diagnostics::new(Path::new("s.yaml"), source, vec![error]).to_string()
    }

    #[test]
    fn a_tab_in_the_indentation_says_use_spaces() {
        let expected = "\
error: invalid YAML: a tab in the indentation
 --> s.yaml:3:1
  |
3 |     web: {image: static-site}
  | ^^^^
  |
  = help: indent with spaces: YAML does not allow tabs there

1 error in s.yaml";
        assert_eq!(
            rendered("name: x\nhosts:\n\tweb: {image: static-site}\n"),
            expected
        );
    }

    #[test]
    fn a_tab_before_the_text_of_a_block_scalar_says_use_spaces() {
        let expected = "\
error: invalid YAML: a tab indents the text of a block scalar (`|` or `>`)
 --> s.yaml:2:1
  |
2 |     echo hi
  | ^^^^
  |
  = help: indent with spaces: YAML does not allow tabs there

1 error in s.yaml";
        assert_eq!(rendered("command: |\n\techo hi\n"), expected);
    }

    #[test]
    fn a_nesting_limit_says_which_and_where() {
        let source: String = (0..70)
            .map(|level| format!("{}k{level}:\n", "  ".repeat(level)))
            .collect();
        // 64 levels of a debug build's deserializer need more than a test thread's
        // stack; the CLI's main thread has 8 MiB.
        let error = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(move || load(&source).unwrap_err())
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(
            (error.line, error.column, error.message.as_str()),
            (
                65,
                129,
                "invalid YAML: nested more than 64 levels deep here (the limit)"
            )
        );
        assert_eq!(
            error.help.as_deref(),
            Some(
                "a scenario needs only a few levels of maps and lists: look for stray indentation or brackets above"
            )
        );
    }

    #[test]
    fn a_bracket_nesting_limit_says_which_and_where() {
        let source = format!("a: {}{}\n", "[".repeat(300), "]".repeat(300));
        let error = load(&source).unwrap_err();
        assert_eq!(
            (error.line, error.column, error.message.as_str()),
            (
                1,
                259,
                "invalid YAML: more than 255 `[` or `{` open at once here (the limit)"
            )
        );
        assert_eq!(
            error.help.as_deref(),
            Some("close the brackets: every `[` needs its `]` and every `{` its `}`")
        );
    }

    #[test]
    fn a_size_limit_says_which_and_where() {
        let source = format!("a: [{}]\n", "1,".repeat(100_001));
        let error = load(&source).unwrap_err();
        assert_eq!(
            (error.line, error.column, error.message.as_str()),
            (
                1,
                199_999,
                "invalid YAML: more than 100000 values here (the limit)"
            )
        );
        assert_eq!(
            error.help.as_deref(),
            Some("split the file: a scenario is far smaller than this")
        );
    }

    #[test]
    fn an_alias_over_a_size_limit_is_shown_where_it_is_expanded() {
        let source = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz-corpus/alias-bomb.yaml"
        ))
        .unwrap();
        let error = load(&source).unwrap_err();
        assert_eq!(
            (error.line, error.column, error.message.as_str()),
            (
                5,
                29,
                "invalid YAML: expanding this alias makes more than 100000 values (the limit)"
            )
        );
        assert_eq!(
            error.help.as_deref(),
            Some(
                "an alias (`*name`) copies its anchor's whole value: use fewer aliases, or smaller anchors"
            )
        );
    }

    #[test]
    fn an_unclosed_bracket_is_shown_where_it_opens() {
        let expected = "\
error: invalid YAML: this `[` is never closed
 --> s.yaml:3:8
  |
3 |   web: [a, b
  |        ^
  |
  = help: add the `]` that closes it (the parser stopped at line 4, column 5: illegal placement of ':' indicator)

1 error in s.yaml";
        assert_eq!(
            rendered("name: x\nhosts:\n  web: [a, b\n  db: 1\n"),
            expected
        );
    }

    #[test]
    fn an_unclosed_brace_at_the_end_is_shown_where_it_opens() {
        let expected = "\
error: invalid YAML: this `{` is never closed
 --> s.yaml:2:12
  |
2 | hosts: [a, {web: 1,
  |            ^
  |
  = help: add the `}` that closes it

1 error in s.yaml";
        assert_eq!(rendered("name: x\nhosts: [a, {web: 1,\n"), expected);
    }

    #[test]
    fn a_mistake_inside_brackets_on_one_line_keeps_the_parser_message() {
        let error = load("a: [b, c: d: e]\n").unwrap_err();
        assert_eq!(
            (error.line, error.column, error.message.as_str()),
            (
                1,
                12,
                "invalid YAML: while parsing a flow mapping, did not find expected ',' or '}'"
            )
        );
        assert_eq!(error.help, None);
    }
}
