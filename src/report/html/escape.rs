//! Report text made safe to put into the page: every string from the report goes
//! through [`escape`]; labels are cut with [`truncate`] before they are escaped.

/// Text made safe for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Prose from the report (details, messages, remediations), escaped, with the
/// Markdown-style `code` spans it uses (names, commands, paths) as `<code>`. A backtick
/// without its pair stays as it is.
pub fn prose(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    let mut html = String::with_capacity(text.len() + 16);
    for (index, part) in parts.iter().enumerate() {
        let is_code = index % 2 == 1;
        if is_code && index + 1 == parts.len() {
            // An opening backtick with no closing one: literal.
            html.push('`');
            html.push_str(&escape(part));
        } else if is_code {
            html.push_str("<code>");
            html.push_str(&escape(part));
            html.push_str("</code>");
        } else {
            html.push_str(&escape(part));
        }
    }
    html
}

/// At most `max` characters, with an ellipsis when cut (before escaping, so no entity
/// is cut in half).
pub(super) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::{escape, prose};

    #[test]
    fn prose_shows_code_spans_as_code_and_escapes_the_rest() {
        assert_eq!(
            prose("probe `homepage` <failed> at `a&b`"),
            "probe <code>homepage</code> &lt;failed&gt; at <code>a&amp;b</code>"
        );
        // Unpaired: literal; and markup inside a span is still text.
        assert_eq!(prose("it's `odd"), "it&#39;s `odd");
        assert_eq!(prose("`<script>`"), "<code>&lt;script&gt;</code>");
        assert_eq!(prose("none"), "none");
    }

    #[test]
    fn escape_makes_markup_text() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("plain → text"), "plain → text");
    }
}
