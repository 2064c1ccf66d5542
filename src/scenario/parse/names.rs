//! The grammars of names and values several sections share (hosts, probes, paths, units...).

#[allow(unused_imports)]
use super::*;

/// Whether `text` is one `first` character then at most `max_rest` `rest` ones.
pub(super) fn is_word(
    text: &str,
    first: fn(char) -> bool,
    rest: fn(char) -> bool,
    max_rest: usize,
) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(first) && chars.clone().all(rest) && chars.count() <= max_rest
}

pub(super) fn is_lower_or_digit(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

pub(in crate::scenario) fn check_scenario_name(name: &str) -> Result<(), String> {
    let ok = is_word(
        name,
        is_lower_or_digit,
        |c| is_lower_or_digit(c) || c == '-',
        39,
    );
    ok.then_some(()).ok_or_else(|| {
        format!(
            "invalid scenario name `{name}`: use lowercase letters, digits and `-`, \
             starting with a letter or digit, at most 40 characters"
        )
    })
}

pub(in crate::scenario) fn check_host_name(name: &str) -> Result<(), String> {
    let ok = is_word(
        name,
        |c| c.is_ascii_lowercase(),
        |c| is_lower_or_digit(c) || c == '-',
        30,
    );
    ok.then_some(()).ok_or_else(|| {
        format!(
            "invalid host name `{name}`: use lowercase letters, digits and `-`, \
             starting with a letter, at most 31 characters"
        )
    })
}

pub(in crate::scenario) fn check_probe_name(name: &str) -> Result<(), String> {
    let ok = is_word(
        name,
        is_lower_or_digit,
        |c| is_lower_or_digit(c) || "_.-".contains(c),
        usize::MAX,
    );
    ok.then_some(()).ok_or_else(|| {
        format!(
            "invalid probe name `{name}`: use lowercase letters, digits, `_`, `.` and `-`, \
             starting with a letter or digit"
        )
    })
}

pub(in crate::scenario) fn check_recipe_name(name: &str) -> Result<(), String> {
    let ok = is_word(
        name,
        is_lower_or_digit,
        |c| is_lower_or_digit(c) || "._-".contains(c),
        usize::MAX,
    );
    ok.then_some(()).ok_or_else(|| {
        format!(
            "invalid image name `{name}`: use the name of a directory under `images/` \
             (lowercase letters, digits, `.`, `_` and `-`)"
        )
    })
}

pub(in crate::scenario) fn check_env_name(name: &str) -> Result<(), String> {
    let first = |c: char| c.is_ascii_alphabetic() || c == '_';
    let ok = is_word(
        name,
        first,
        |c| c.is_ascii_alphanumeric() || c == '_',
        usize::MAX,
    );
    ok.then_some(())
        .ok_or_else(|| format!("invalid environment variable name `{name}`"))
}

pub(in crate::scenario) fn check_header_name(name: &str) -> Result<(), String> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let ok = is_word(name, token, token, usize::MAX);
    ok.then_some(())
        .ok_or_else(|| format!("invalid header name `{name}`"))
}

/// DNS name syntax: dot-separated labels of letters, digits and inner `-`.
pub fn check_hostname(name: &str) -> Result<(), String> {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let ok = name.len() <= 253 && name.split('.').all(label_ok);
    ok.then_some(()).ok_or_else(|| {
        format!("invalid host name `{name}`: expected a DNS name like `www.example.test`")
    })
}

/// `http://NAME[:PORT][/PATH]` → (name, port, path). The name becomes the virtual host;
/// the connection still goes to the probe's `host`.
pub(in crate::scenario) fn parse_http_url(url: &str) -> Result<(String, u16, String), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("invalid URL `{url}`: {e}"))?;
    if parsed.scheme() != "http" {
        return Err(format!(
            "unsupported URL scheme `{}` in `{url}`: only `http` is probed for now",
            parsed.scheme()
        ));
    }
    let name = parsed
        .host_str()
        .ok_or_else(|| format!("no host name in URL `{url}`"))?
        .to_string();
    let mut path = parsed.path().to_string();
    if let Some(query) = parsed.query() {
        path = format!("{path}?{query}");
    }
    Ok((name, parsed.port().unwrap_or(80), path))
}

pub(in crate::scenario) fn check_http_path(path: &str) -> Result<(), String> {
    path.starts_with('/')
        .then_some(())
        .ok_or_else(|| format!("invalid path `{path}`: it must start with `/`"))
}

pub(in crate::scenario) fn check_regex(pattern: &str) -> Result<(), String> {
    regex::Regex::new(pattern).map(|_| ()).map_err(|error| {
        let error = error.to_string();
        // regex's message draws its own caret; keep only its final "error:" line.
        let reason = error
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("error: "))
            .unwrap_or(error.lines().last().unwrap_or_default());
        format!("invalid regular expression in `body_regex`: {reason}")
    })
}
