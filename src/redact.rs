//! Secrets taken from the environment (`${env:NAME}` in a scenario) and their removal
//! from everything the tool prints or writes.
//!
//! A [`Redactor`] is built from the secrets a scenario resolved and applied at the few
//! places output leaves the process: the report before it is printed or written, the
//! events before reporters see them, the step logs as lines are written, and error
//! messages. Each occurrence of a value becomes `[redacted:NAME]`.
//!
//! Each line of a multi-line value (a key file) is redacted on its own too, since logs
//! and progress are written line by line.
//!
//! Values of fewer than [`SHORT_SECRET`] characters are still redacted, but only where
//! they stand alone (not inside a longer word or number): replacing every `a` or `42`
//! of a report would make it unreadable while hiding nothing, since a value that short
//! is guessed anyway. Empty values cannot be redacted and are not secrets.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Values shorter than this (in characters) are redacted only as whole tokens.
pub const SHORT_SECRET: usize = 4;

/// One value taken from the environment. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    /// The environment variable's name.
    pub name: String,
    pub value: String,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("name", &self.name)
            .field("value", &redaction_marker(&self.name))
            .finish()
    }
}

/// `value` as it appears percent-encoded (in a URL, both for a path and a form), HTML-
/// escaped, and escaped in a JSON or Rust string: each form that differs from it.
fn encoded_forms(value: &str) -> Vec<String> {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    const UNRESERVED: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let percent = utf8_percent_encode(value, UNRESERVED).to_string();
    let html = value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&#39;");
    let mut forms = vec![
        percent.replace("%20", "+"),
        percent.to_lowercase(),
        percent,
        utf8_percent_encode(value, NON_ALPHANUMERIC).to_string(),
        html.replace('"', "&quot;"),
        html.replace('"', "&#34;"),
    ];
    if let Ok(json) = serde_json::to_string(value) {
        forms.push(json[1..json.len() - 1].to_string());
    }
    let debug = format!("{value:?}");
    forms.push(debug[1..debug.len() - 1].to_string());
    forms.retain(|form| form != value);
    forms.sort();
    forms.dedup();
    forms
}

/// What a secret value is replaced with.
pub fn redaction_marker(name: &str) -> String {
    format!("[redacted:{name}]")
}

/// Replaces every secret value in text with its marker.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// (value, marker), longest value first so that a value containing another one
    /// is replaced whole.
    values: Vec<(String, String)>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let markers: Vec<&str> = self.values.iter().map(|(_, m)| m.as_str()).collect();
        f.debug_struct("Redactor")
            .field("markers", &markers)
            .finish()
    }
}

impl Redactor {
    pub fn new(secrets: &[Secret]) -> Self {
        let mut values: Vec<(String, String)> = Vec::new();
        let mut add = |value: &str, name: &str| {
            if !value.is_empty() && !values.iter().any(|(v, _)| v == value) {
                values.push((value.to_string(), redaction_marker(name)));
            }
        };
        for secret in secrets {
            add(&secret.value, &secret.name);
            // The forms a value takes on its way out: in a URL, an HTML page, a JSON or
            // Rust string. Short values stay whole-token matches only.
            if secret.value.chars().count() >= SHORT_SECRET {
                for form in encoded_forms(&secret.value) {
                    add(&form, &secret.name);
                }
            }
            // Logs and progress come line by line: each line of a multi-line value (a
            // key file) is a secret of its own.
            if secret.value.contains('\n') {
                for line in secret.value.lines() {
                    let line = line.trim_end_matches('\r');
                    if line.chars().count() >= SHORT_SECRET {
                        add(line, &secret.name);
                    }
                }
            }
        }
        values.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        Redactor { values }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The text with every secret value replaced; borrowed when there was none.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.values.is_empty() || text.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out: Option<String> = None;
        let mut copied = 0;
        let mut at = 0;
        while at < text.len() {
            let rest = &text[at..];
            let hit = self.values.iter().find(|(value, _)| {
                rest.starts_with(value.as_str()) && self.stands(text, at, value)
            });
            match hit {
                Some((value, marker)) => {
                    let buffer = out.get_or_insert_with(|| String::with_capacity(text.len()));
                    buffer.push_str(&text[copied..at]);
                    buffer.push_str(marker);
                    at += value.len();
                    copied = at;
                }
                None => {
                    at += rest.chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        match out {
            Some(mut buffer) => {
                buffer.push_str(&text[copied..]);
                Cow::Owned(buffer)
            }
            None => Cow::Borrowed(text),
        }
    }

    /// Short values only count where they are not part of a longer word.
    fn stands(&self, text: &str, at: usize, value: &str) -> bool {
        if value.chars().count() >= SHORT_SECRET {
            return true;
        }
        let before = text[..at].chars().next_back();
        let after = text[at + value.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    }

    /// Redacts in place.
    pub fn redact_string(&self, text: &mut String) {
        if let Cow::Owned(redacted) = self.redact(text) {
            *text = redacted;
        }
    }

    /// A copy of `value` with every string in it (and every map key) redacted: the
    /// value goes through its serialized form, so a field added later is covered too.
    pub fn redact_serialized<T: Serialize + DeserializeOwned + Clone>(&self, value: &T) -> T {
        if self.is_empty() {
            return value.clone();
        }
        let Ok(original) = serde_json::to_value(value) else {
            return value.clone();
        };
        let mut tree = original.clone();
        self.redact_json(&mut tree, false);
        if let Ok(redacted) = serde_json::from_value(tree) {
            return redacted;
        }
        // A value equal to a fixed word of the format (a status `passed`, a severity
        // `high`) cannot be replaced without breaking the shape; such a word tells
        // nothing about the secret, so whole-string matches are kept this time.
        let mut tree = original;
        self.redact_json(&mut tree, true);
        serde_json::from_value(tree).unwrap_or_else(|_| value.clone())
    }

    fn redact_json(&self, value: &mut serde_json::Value, keep_whole: bool) {
        match value {
            serde_json::Value::String(text)
                if !(keep_whole && self.values.iter().any(|(v, _)| v == text)) =>
            {
                self.redact_string(text)
            }
            serde_json::Value::Array(items) => items
                .iter_mut()
                .for_each(|v| self.redact_json(v, keep_whole)),
            serde_json::Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut item) in entries {
                    self.redact_json(&mut item, keep_whole);
                    map.insert(self.redact(&key).into_owned(), item);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_forms_of_a_secret_are_redacted_too() {
        let r = redactor(&[("TOKEN", "a/b&c+d%e\"f<g>h i'j")]);
        for form in [
            "a%2Fb%26c%2Bd%25e%22f%3Cg%3Eh%20i%27j",
            "a%2Fb%26c%2Bd%25e%22f%3Cg%3Eh+i%27j",
            "a/b&amp;c+d%e&quot;f&lt;g&gt;h i&#39;j",
            "a/b&c+d%e\\\"f<g>h i'j",
        ] {
            assert_eq!(
                r.redact(&format!("x {form} y")),
                "x [redacted:TOKEN] y",
                "{form}"
            );
        }
    }

    fn redactor(pairs: &[(&str, &str)]) -> Redactor {
        let secrets: Vec<Secret> = pairs
            .iter()
            .map(|(name, value)| Secret {
                name: name.to_string(),
                value: value.to_string(),
            })
            .collect();
        Redactor::new(&secrets)
    }

    #[test]
    fn every_occurrence_is_replaced_by_its_marker() {
        let r = redactor(&[("DB_PASS", "s3cret-pw")]);
        assert_eq!(
            r.redact("user=app pass=s3cret-pw; again s3cret-pws3cret-pw"),
            "user=app pass=[redacted:DB_PASS]; again [redacted:DB_PASS][redacted:DB_PASS]"
        );
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_longest_value_wins_and_markers_are_not_redacted_again() {
        let r = redactor(&[("A", "token"), ("B", "token-long"), ("C", "redacted")]);
        assert_eq!(r.redact("token-long token"), "[redacted:B] [redacted:A]");
        assert_eq!(r.redact("redacted"), "[redacted:C]");
    }

    #[test]
    fn short_values_are_redacted_only_where_they_stand_alone() {
        let r = redactor(&[("PIN", "42"), ("EMPTY", "")]);
        assert_eq!(
            r.redact("pin=42 took 1425 ms"),
            "pin=[redacted:PIN] took 1425 ms"
        );
        assert_eq!(r.redact("42"), "[redacted:PIN]");
        assert_eq!(r.redact(""), "");
    }

    #[test]
    fn each_line_of_a_multi_line_value_is_redacted_too() {
        let r = redactor(&[(
            "KEY",
            "-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----\n",
        )]);
        assert_eq!(
            r.redact("-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----\n"),
            "[redacted:KEY]"
        );
        assert_eq!(r.redact("line: MIIEvQIBADANBg"), "line: [redacted:KEY]");
    }

    #[test]
    fn multibyte_text_around_a_secret_is_kept() {
        let r = redactor(&[("K", "clé-secrète")]);
        assert_eq!(r.redact("→ clé-secrète ←"), "→ [redacted:K] ←");
    }

    #[test]
    fn serialized_values_are_redacted_everywhere_inside() {
        #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
        struct Inner {
            lines: Vec<String>,
            note: Option<String>,
        }
        let r = redactor(&[("T", "hunter22")]);
        let value = Inner {
            lines: vec!["a hunter22 b".into()],
            note: Some("hunter22".into()),
        };
        let redacted = r.redact_serialized(&value);
        assert_eq!(redacted.lines, ["a [redacted:T] b"]);
        assert_eq!(redacted.note.as_deref(), Some("[redacted:T]"));
    }

    #[test]
    fn a_secret_equal_to_a_fixed_word_keeps_the_shape() {
        #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        enum Status {
            Passed,
        }
        #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
        struct Step {
            status: Status,
            detail: String,
        }
        let r = redactor(&[("W", "passed")]);
        let step = Step {
            status: Status::Passed,
            detail: "it passed".into(),
        };
        let redacted = r.redact_serialized(&step);
        assert_eq!(redacted.status, Status::Passed);
        assert_eq!(redacted.detail, "it [redacted:W]");
    }

    #[test]
    fn debug_never_shows_a_value() {
        let secret = Secret {
            name: "X".into(),
            value: "visible?".into(),
        };
        assert!(!format!("{secret:?}").contains("visible?"));
        assert!(!format!("{:?}", Redactor::new(&[secret])).contains("visible?"));
    }
}
