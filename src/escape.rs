//! Text from outside — a bundle, a scenario, a replica's output — shown where a control
//! character would do harm: in a comment it would end the line, on a terminal it could
//! move the cursor, clear the screen or set the window's title.

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

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(
            super::controls("Debian\n\u{1b}]0;PWNED\u{7}é"),
            "Debian\\n\\u{1b}]0;PWNED\\u{7}é"
        );
        assert_eq!(super::controls("plain text"), "plain text");
    }
}
