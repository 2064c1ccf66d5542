//! `probes:` and `monitors:`: HTTP, TCP and exec checks, retries, and the monitors' writes.

#[allow(unused_imports)]
use super::*;

pub fn check_snapshot_name(name: &str) -> Result<(), String> {
    if is_word(
        name,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' || c == '_',
        63,
    ) {
        Ok(())
    } else {
        Err(format!(
            "invalid snapshot name `{name}`: expected lowercase letters, digits, `-`, `.` and `_`"
        ))
    }
}

pub fn check_absolute_path(path: &str) -> Result<(), String> {
    path.starts_with('/')
        .then_some(())
        .ok_or_else(|| format!("`{path}` is not an absolute path"))
}

/// A systemd unit name: `apache2`, `mariadb.service`, `getty@tty1.service`.
pub fn check_unit_name(name: &str) -> Result<(), String> {
    if is_word(
        name,
        |c| c.is_ascii_alphanumeric() || c == '_',
        |c| c.is_ascii_alphanumeric() || ":_.@-\\".contains(c),
        255,
    ) {
        Ok(())
    } else {
        Err(format!(
            "invalid unit name `{name}`: expected a systemd unit like `apache2` or `mariadb.service`"
        ))
    }
}

/// A Debian package name, optionally with an architecture (`libc6:amd64`).
pub fn check_package_name(name: &str) -> Result<(), String> {
    if name.len() >= 2
        && is_word(
            name,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-:".contains(c),
            127,
        )
    {
        Ok(())
    } else {
        Err(format!(
            "invalid package name `{name}`: expected a Debian package name like `apache2`"
        ))
    }
}

/// Two hosts of a step that must differ (a backup kept on the host it saves is lost
/// with it); reported at the second one's key, `second_key`.
pub fn distinct_hosts(
    input: &StepInput<'_>,
    body: &Spanned<Node>,
    (first, second): (&str, &str),
    second_key: &str,
) -> bool {
    // Empty: a host that was missing or wrong, already reported.
    if first != second || first.is_empty() {
        return true;
    }
    let mark = key_of(body, second_key).map_or_else(|| Mark::of(body), Mark::of_key);
    input.d.error(
        mark,
        format!(
            "`host` and `{second_key}` of {} are the same host: a backup kept on the host is lost with it",
            input.what
        ),
    );
    false
}

/// The `from` and `to` hosts of a move, which must differ.
pub fn two_hosts(input: &StepInput<'_>, body: &Spanned<Node>, from: &str, to: &str) -> bool {
    if from != to || from.is_empty() {
        return true;
    }
    let mark = key_of(body, "to").map_or_else(|| Mark::of(body), Mark::of_key);
    input.d.error(
        mark,
        format!("`from` and `to` of {} are the same host", input.what),
    );
    false
}

/// The key `key` of a map, where it is written.
pub fn key_of<'a>(node: &'a Spanned<Node>, key: &str) -> Option<&'a Spanned<String>> {
    match &node.value {
        Node::Map(entries) => entries.iter().map(|(k, _)| k).find(|k| k.value == key),
        _ => None,
    }
}

pub fn check_copied_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("`{path}` is not an absolute path"));
    }
    if path.split('/').any(|part| part == "..") {
        return Err(format!("`{path}` contains `..`"));
    }
    if path.trim_end_matches('/').is_empty() {
        return Err("`/` cannot be copied: name the application's directories".into());
    }
    Ok(())
}

pub fn check_database_name(name: &str) -> Result<(), String> {
    if is_word(
        name,
        |c| c.is_ascii_alphanumeric() || c == '_',
        |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
        63,
    ) {
        Ok(())
    } else {
        Err(format!(
            "invalid database name `{name}`: expected letters, digits, `_` and `-`"
        ))
    }
}
