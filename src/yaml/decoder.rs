//! Typed decoding over a [`Node`] tree that collects every problem instead of
//! stopping at the first.
//!
//! Each accessor returns `None` after reporting what was wrong, so callers keep
//! going with the other fields and one pass finds all mistakes.

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use serde_saphyr::Spanned;

use super::diagnostic::{Diagnostic, Diagnostics, Mark};
use super::node::Node;
use super::suggest::{closest, one_of};

/// Collects diagnostics while values are decoded.
#[derive(Debug, Default)]
pub struct Decoder {
    errors: RefCell<Vec<Diagnostic>>,
}

impl Decoder {
    pub fn new() -> Self {
        Decoder::default()
    }

    pub fn report(&self, diagnostic: Diagnostic) {
        self.errors.borrow_mut().push(diagnostic);
    }

    pub fn error(&self, mark: Mark, message: impl Into<String>) {
        self.report(Diagnostic::new(mark, message));
    }

    pub fn error_with_help(&self, mark: Mark, message: impl Into<String>, help: impl Into<String>) {
        self.report(Diagnostic::new(mark, message).with_help(help));
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.borrow().is_empty()
    }

    /// The decoded value if nothing was reported, otherwise every diagnostic.
    pub fn finish<T>(self, path: &Path, source: &str, value: Option<T>) -> Result<T, Diagnostics> {
        let errors = self.errors.into_inner();
        match value {
            Some(value) if errors.is_empty() => Ok(value),
            _ => {
                debug_assert!(!errors.is_empty(), "decoding failed without a diagnostic");
                Err(Diagnostics::new(path, source, errors))
            }
        }
    }

    /// Reports "expected X for LABEL, found Y" at `node`.
    pub fn wrong_type(&self, node: &Spanned<Node>, expected: &str, label: &str) {
        let found = node.value.kind_name();
        self.error(
            Mark::of(node),
            format!("expected {expected} for {label}, found {found}"),
        );
    }

    /// A map whose keys must be among `keys`; unknown and duplicate keys are reported.
    pub fn map<'a>(
        &'a self,
        node: &'a Spanned<Node>,
        what: &str,
        keys: &'static [&'static str],
    ) -> Option<MapDecoder<'a>> {
        let mut map = self.open_map(node, what)?;
        map.misspelled = map.check_keys(keys);
        Some(map)
    }

    /// A map with free-form keys (names of hosts, probes, headers...).
    pub fn open_map<'a>(&'a self, node: &'a Spanned<Node>, what: &str) -> Option<MapDecoder<'a>> {
        let Node::Map(all) = &node.value else {
            self.wrong_type(node, "a map", what);
            return None;
        };
        let mut entries: Vec<&'a (Spanned<String>, Spanned<Node>)> = Vec::new();
        for entry in all {
            match entries.iter().find(|seen| seen.0.value == entry.0.value) {
                Some(first) => self.duplicate_key(&first.0, &entry.0, what),
                None => entries.push(entry),
            }
        }
        Some(MapDecoder {
            decoder: self,
            node,
            entries,
            what: what.to_string(),
            misspelled: Vec::new(),
        })
    }

    fn duplicate_key(&self, first: &Spanned<String>, again: &Spanned<String>, what: &str) {
        let key = &again.value;
        self.error_with_help(
            Mark::of_key(again),
            format!("duplicate key `{key}` in {what}"),
            format!("`{key}` is first set on line {}", Mark::of_key(first).line),
        );
    }

    /// An octal string such as `"0644"`. A bare YAML number is refused: `0644`
    /// unquoted is read as decimal 644, not what the author meant.
    pub fn mode(&self, node: &Spanned<Node>) -> Option<u32> {
        if let Node::Int(_) | Node::Float(_) = node.value {
            self.error_with_help(
                Mark::of(node),
                "expected an octal string for `mode`, found a number",
                "quote it, like `mode: \"0644\"`",
            );
            return None;
        }
        let text = self.str(node, "`mode`")?;
        let mode = u32::from_str_radix(&text, 8)
            .ok()
            .filter(|mode| *mode <= 0o7777);
        if mode.is_none() {
            self.error(
                Mark::of(node),
                format!("invalid mode `{text}`: expected octal digits like `0644`"),
            );
        }
        mode
    }

    pub fn seq<'a>(&self, node: &'a Spanned<Node>, label: &str) -> Option<&'a [Spanned<Node>]> {
        match &node.value {
            Node::Seq(items) => Some(items),
            _ => {
                self.wrong_type(node, "a list", label);
                None
            }
        }
    }

    /// Decodes every item of a list, keeping the ones that decode.
    pub fn list_of<'a, T>(
        &self,
        node: &'a Spanned<Node>,
        label: &str,
        mut item: impl FnMut(usize, &'a Spanned<Node>) -> Option<T>,
    ) -> Option<Vec<T>> {
        let items = self.seq(node, label)?;
        Some(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, node)| item(i, node))
                .collect(),
        )
    }

    pub fn str(&self, node: &Spanned<Node>, label: &str) -> Option<String> {
        match &node.value {
            Node::Str(text) => Some(text.clone()),
            _ => {
                self.wrong_type(node, "a string", label);
                None
            }
        }
    }

    /// A string that `check` accepts; its error message is reported at the value.
    pub fn str_where(
        &self,
        node: &Spanned<Node>,
        label: &str,
        check: impl FnOnce(&str) -> Result<(), String>,
    ) -> Option<String> {
        let text = self.str(node, label)?;
        match check(&text) {
            Ok(()) => Some(text),
            Err(message) => {
                self.error(Mark::of(node), message);
                None
            }
        }
    }

    pub fn bool(&self, node: &Spanned<Node>, label: &str) -> Option<bool> {
        match node.value {
            Node::Bool(value) => Some(value),
            _ => {
                self.wrong_type(node, "`true` or `false`", label);
                None
            }
        }
    }

    /// A duration: `500ms`, `30s`, `2m`, `1h`, or a plain integer meaning seconds.
    pub fn duration(&self, node: &Spanned<Node>, label: &str) -> Option<Duration> {
        match &node.value {
            Node::Int(seconds) if *seconds >= 0 => {
                Some(Duration::from_secs(seconds.unsigned_abs()))
            }
            Node::Str(text) => match humantime::parse_duration(text) {
                Ok(duration) => Some(duration),
                Err(_) => {
                    self.error_with_help(
                        Mark::of(node),
                        format!("invalid duration `{text}` for {label}"),
                        "write a number with a unit, like `500ms`, `30s`, `2m` or `1h`",
                    );
                    None
                }
            },
            _ => {
                self.wrong_type(node, "a duration like `30s`", label);
                None
            }
        }
    }

    /// A duration that must not be zero (timeouts, intervals).
    pub fn positive_duration(&self, node: &Spanned<Node>, label: &str) -> Option<Duration> {
        let duration = self.duration(node, label)?;
        if duration.is_zero() {
            self.error(Mark::of(node), format!("{label} must be longer than zero"));
            return None;
        }
        Some(duration)
    }

    /// One of a fixed set of words; a near miss gets a suggestion.
    pub fn choice<T: Copy>(
        &self,
        node: &Spanned<Node>,
        label: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let text = self.str(node, label)?;
        if let Some((_, value)) = choices.iter().find(|(name, _)| *name == text) {
            return Some(*value);
        }
        let names = || choices.iter().map(|(name, _)| *name);
        let message = format!(
            "invalid value `{text}` for {label}: expected one of {}",
            one_of(names())
        );
        let diagnostic = Diagnostic::new(Mark::of(node), message);
        self.report(match closest(&text, names()) {
            Some(name) => diagnostic.with_help(format!("did you mean `{name}`?")),
            None => diagnostic,
        });
        None
    }
}

pub fn parse_byte_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, shift) = match text.chars().last()?.to_ascii_uppercase() {
        'K' => (&text[..text.len() - 1], 10),
        'M' => (&text[..text.len() - 1], 20),
        'G' => (&text[..text.len() - 1], 30),
        'T' => (&text[..text.len() - 1], 40),
        _ => (text, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(1u64 << shift)
}

/// The keys of one YAML map, decoded one by one.
#[derive(Debug)]
pub struct MapDecoder<'a> {
    decoder: &'a Decoder,
    node: &'a Spanned<Node>,
    /// First occurrence of each key, in source order.
    entries: Vec<&'a (Spanned<String>, Spanned<Node>)>,
    what: String,
    /// Known keys suggested for unknown ones: their absence is not reported
    /// again, the "did you mean" already covers it.
    misspelled: Vec<&'static str>,
}

impl<'a> MapDecoder<'a> {
    /// Where the map is; missing keys are reported here.
    pub fn mark(&self) -> Mark {
        Mark::of(self.node)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> impl Iterator<Item = (&'a Spanned<String>, &'a Spanned<Node>)> + '_ {
        self.entries.iter().map(|(key, value)| (key, value))
    }

    /// The value of `key`, even when it is an explicit null.
    pub fn get(&self, key: &str) -> Option<&'a Spanned<Node>> {
        self.entries
            .iter()
            .find(|(k, _)| k.value == key)
            .map(|(_, v)| v)
    }

    /// The value of an optional key; absent and null are the same.
    pub fn opt(&self, key: &str) -> Option<&'a Spanned<Node>> {
        self.get(key).filter(|node| node.value != Node::Null)
    }

    /// The value of a required key; reports it missing at the map.
    pub fn required(&self, key: &str) -> Option<&'a Spanned<Node>> {
        let value = self.get(key);
        if value.is_none() && !self.misspelled.contains(&key) {
            let message = format!("missing key `{key}` in {}", self.what);
            self.decoder.error(self.mark(), message);
        }
        value
    }

    pub fn required_str(&self, key: &str) -> Option<String> {
        self.required(key)
            .and_then(|node| self.decoder.str(node, &label(key)))
    }

    pub fn required_str_where(
        &self,
        key: &str,
        check: impl FnOnce(&str) -> Result<(), String>,
    ) -> Option<String> {
        let node = self.required(key)?;
        self.decoder.str_where(node, &label(key), check)
    }

    pub fn opt_str(&self, key: &str) -> Option<String> {
        self.opt(key)
            .and_then(|node| self.decoder.str(node, &label(key)))
    }

    pub fn opt_str_where(
        &self,
        key: &str,
        check: impl FnOnce(&str) -> Result<(), String>,
    ) -> Option<String> {
        let node = self.opt(key)?;
        self.decoder.str_where(node, &label(key), check)
    }

    pub fn opt_bool(&self, key: &str) -> Option<bool> {
        self.opt(key)
            .and_then(|node| self.decoder.bool(node, &label(key)))
    }

    /// An optional duration that must not be zero.
    pub fn opt_duration(&self, key: &str) -> Option<Duration> {
        self.opt(key)
            .and_then(|node| self.decoder.positive_duration(node, &label(key)))
    }

    /// The single key among `kinds` present in the map, such as the kind of a
    /// probe. None or several are reported.
    pub fn kind(
        &self,
        kinds: &'static [&'static str],
        noun: &str,
    ) -> Option<(&'static str, &'a Spanned<Node>)> {
        let mut present = self
            .entries
            .iter()
            .filter_map(|(key, value)| Some((kind_named(kinds, &key.value)?, key, value)));
        let Some((kind, _, value)) = present.next() else {
            // A misspelled kind already has its "did you mean".
            if self.misspelled.iter().any(|key| kinds.contains(key)) {
                return None;
            }
            let message = format!(
                "missing {noun} in {}: expected one of {}",
                self.what,
                one_of(kinds.iter().copied())
            );
            self.decoder.error(self.mark(), message);
            return None;
        };
        for (other, key, _) in present {
            self.decoder.error_with_help(
                Mark::of_key(key),
                format!("second {noun} `{other}` in {}", self.what),
                format!(
                    "use only one of {}; `{kind}` is already set",
                    one_of(kinds.iter().copied())
                ),
            );
        }
        Some((kind, value))
    }

    /// Reports unknown keys; returns the known keys suggested for them.
    fn check_keys(&self, keys: &'static [&'static str]) -> Vec<&'static str> {
        self.entries()
            .filter(|(key, _)| !keys.contains(&key.value.as_str()))
            .filter_map(|(key, _)| self.unknown_key(key, keys))
            .collect()
    }

    fn unknown_key(
        &self,
        key: &Spanned<String>,
        keys: &'static [&'static str],
    ) -> Option<&'static str> {
        let message = format!("unknown key `{}` in {}", key.value, self.what);
        let near = closest(&key.value, keys.iter().copied());
        let help = match near {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("expected one of {}", one_of(keys.iter().copied())),
        };
        self.decoder
            .error_with_help(Mark::of_key(key), message, help);
        near
    }
}

fn kind_named(kinds: &'static [&'static str], key: &str) -> Option<&'static str> {
    kinds.iter().copied().find(|kind| *kind == key)
}

fn label(key: &str) -> String {
    format!("`{key}`")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::load;

    fn decode<T>(
        source: &str,
        f: impl FnOnce(&Decoder, &Spanned<Node>) -> Option<T>,
    ) -> Result<T, Vec<Diagnostic>> {
        let root = load(source).unwrap();
        let decoder = Decoder::new();
        let value = f(&decoder, &root);
        decoder
            .finish(Path::new("t.yaml"), source, value)
            .map_err(|diagnostics| diagnostics.errors)
    }

    const KEYS: &[&str] = &["image", "init", "timeout"];

    #[test]
    fn unknown_and_duplicate_keys_are_reported() {
        let errors = decode("imgae: a\ninit: x\ninit: y\n", |d, root| {
            d.map(root, "host `web`", KEYS).map(|_| ())
        })
        .unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].message, "unknown key `imgae` in host `web`");
        assert_eq!(errors[0].help.as_deref(), Some("did you mean `image`?"));
        assert_eq!(errors[1].message, "duplicate key `init` in host `web`");
        assert_eq!((errors[1].line, errors[1].column), (3, 1));
    }

    #[test]
    fn wrong_type_and_missing_key() {
        let errors = decode("init: [a]\n", |d, root| {
            let m = d.map(root, "host `web`", KEYS)?;
            let init = m.opt_str("init");
            let image = m.required_str("image");
            Some((init?, image?))
        })
        .unwrap_err();
        assert_eq!(errors[0].message, "missing key `image` in host `web`");
        assert_eq!(
            errors[1].message,
            "expected a string for `init`, found a list"
        );
    }

    #[test]
    fn kinds_must_be_exactly_one() {
        const KINDS: &[&str] = &["http", "tcp"];
        let errors = decode("http: {}\ntcp: {}\n", |d, root| {
            d.open_map(root, "probe `p`")?
                .kind(KINDS, "probe kind")
                .map(|_| ())
        })
        .unwrap_err();
        assert_eq!(errors[0].message, "second probe kind `tcp` in probe `p`");
        assert_eq!(
            (errors[0].line, errors[0].column, errors[0].width),
            (2, 1, 3)
        );
    }
}
