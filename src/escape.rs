//! Text from outside — a bundle, a scenario, a replica's output — shown where a control
//! character would do harm: in a comment it would end the line, on a terminal it could
//! move the cursor, clear the screen or set the window's title; or put in a shell
//! script, where a quote would end the word.

/// `text` as one shell word, in single quotes: what a shell script built here says
/// of a value from outside (a recipe's command, a path), never read as code.
pub fn shell(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `text` with each control character written as its escape (`\n`, `\u{1b}`); all
/// other characters, accents included, as they are.
pub fn controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Text for a terminal: control characters escaped as in [`controls`], except line
/// ends, tabs and colour sequences (`ESC [ … m`, which only set colours and weights):
/// a value cannot move the cursor, clear the screen, ring the bell, set the window's
/// title or rewrite a line.
pub fn terminal(text: &str) -> String {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}'
            && let Some(len) = colour_sequence(rest)
        {
            out.push_str(&rest[..len]);
            rest = &rest[len..];
            continue;
        }
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The length of the SGR sequence `ESC [ digits-and-semicolons m` at the start of `text`.
fn colour_sequence(text: &str) -> Option<usize> {
    let body = text.strip_prefix("\u{1b}[")?;
    let params = body
        .find(|c: char| !(c.is_ascii_digit() || c == ';'))
        .filter(|&end| body[end..].starts_with('m'))?;
    Some(2 + params + 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_terminal_keeps_colours_and_lines_and_nothing_else() {
        let text = "\u{1b}[1;31mFAILED\u{1b}[0m\talias \u{1b}]0;PWNED\u{7}\u{1b}[2J\r\nnext";
        assert_eq!(
            super::terminal(text),
            "\u{1b}[1;31mFAILED\u{1b}[0m\talias \\u{1b}]0;PWNED\\u{7}\\u{1b}[2J\\r\nnext"
        );
    }

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(
            super::controls("Debian\n\u{1b}]0;PWNED\u{7}é"),
            "Debian\\n\\u{1b}]0;PWNED\\u{7}é"
        );
        assert_eq!(super::controls("plain text"), "plain text");
    }
}
