//! A bundle is untrusted input: it may come from a repository or a colleague, and it
//! may have been edited. Before any of its values reaches a file path, a recipe, a
//! scenario or a shell command, each is checked against the grammar of what it claims
//! to be — a path under `/`, a user name, a Debian package name and version, a systemd
//! unit, a host name. A value that does not fit stops the import, named with its place
//! in `bundle.json`.

use crate::capture::ReadBundle;
use crate::capture::bundle::FileKind;

/// A value of the bundle that does not fit its grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the bundle's `{field}` is {value:?}, which is not {expected}; the bundle was not written by `rehearse capture` or was changed since"
)]
pub struct InvalidValue {
    /// Its place in `bundle.json`: `files[3].owner`.
    pub field: String,
    pub value: String,
    pub expected: &'static str,
}

/// Check every value of the bundle that the import writes somewhere.
pub fn validate(read: &ReadBundle) -> Result<(), InvalidValue> {
    let bundle = &read.bundle;
    let check = |ok: bool, field: String, value: &str, expected: &'static str| {
        if ok {
            Ok(())
        } else {
            Err(InvalidValue {
                field,
                value: value.to_string(),
                expected,
            })
        }
    };
    for (i, file) in bundle.files.iter().enumerate() {
        check(
            confined_path(&file.path).is_some(),
            format!("files[{i}].path"),
            &file.path,
            "an absolute path without `.`, `..` or empty parts",
        )?;
        for (what, name) in [("owner", &file.owner), ("group", &file.group)] {
            check(
                is_account_name(name),
                format!("files[{i}].{what}"),
                name,
                "a user or group name (letters, digits, `_`, `.`, `-`) or number",
            )?;
        }
        if file.kind == FileKind::Link {
            let target = file.target.as_deref().unwrap_or("");
            check(
                !target.is_empty() && !target.chars().any(char::is_control),
                format!("files[{i}].target"),
                target,
                "a link target",
            )?;
        }
    }
    for (i, package) in bundle.packages.iter().enumerate() {
        check(
            is_package_name(&package.name),
            format!("packages[{i}].name"),
            &package.name,
            "a Debian package name",
        )?;
        check(
            is_package_version(&package.version),
            format!("packages[{i}].version"),
            &package.version,
            "a Debian package version",
        )?;
        check(
            is_package_name(&package.architecture),
            format!("packages[{i}].architecture"),
            &package.architecture,
            "a Debian architecture",
        )?;
    }
    let units = bundle
        .units
        .enabled
        .iter()
        .map(|u| ("units.enabled", u))
        .chain(bundle.units.running.iter().map(|u| ("units.running", u)));
    for (i, (list, unit)) in units.enumerate() {
        check(
            is_unit_name(unit),
            format!("{list}[{i}]"),
            unit,
            "a systemd unit name",
        )?;
    }
    for (unit, package) in &bundle.units.owners {
        check(
            is_unit_name(unit),
            "units.owners".into(),
            unit,
            "a systemd unit name",
        )?;
        check(
            is_package_name(package),
            format!("units.owners.{unit}"),
            package,
            "a Debian package name",
        )?;
    }
    for server in [&bundle.web.apache, &bundle.web.nginx]
        .into_iter()
        .flatten()
    {
        for (i, vhost) in server.vhosts.iter().enumerate() {
            for name in vhost.server_name.iter().chain(&vhost.aliases) {
                check(
                    is_host_name(name),
                    format!("web.vhosts[{i}].server_name"),
                    name,
                    "a host name",
                )?;
            }
        }
    }
    Ok(())
}

/// The parts of an absolute path under `/`, when it has no `.`, `..` or empty part (a
/// captured path is always written that way).
pub fn confined_path(path: &str) -> Option<Vec<&str>> {
    let rest = path.strip_prefix('/')?;
    let parts: Vec<&str> = rest.split('/').collect();
    let fine = parts
        .iter()
        .all(|p| !p.is_empty() && *p != "." && *p != ".." && !p.chars().any(char::is_control));
    fine.then_some(parts)
}

/// A user or group name as `useradd` accepts it (or a bare id, when the capture knew no
/// name for it).
fn is_account_name(name: &str) -> bool {
    let body = name.strip_suffix('$').unwrap_or(name);
    !body.is_empty()
        && name.len() <= 32
        && !body.starts_with('-')
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Debian policy 5.6.1: lowercase letters, digits, `+`, `-`, `.`; at least two, starting
/// with a letter or digit.
fn is_package_name(name: &str) -> bool {
    name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
}

/// Debian policy 5.6.12: `[epoch:]upstream[-revision]`, letters, digits and `.+~-:`,
/// starting with a digit.
fn is_package_version(version: &str) -> bool {
    let upstream = version.split_once(':').map_or(version, |(epoch, rest)| {
        if epoch.chars().all(|c| c.is_ascii_digit()) {
            rest
        } else {
            ""
        }
    });
    upstream.starts_with(|c: char| c.is_ascii_digit())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~' | '-' | ':'))
}

/// systemd.unit(5): at most 255 characters of letters, digits and `:-_.\@`, with a type
/// suffix.
fn is_unit_name(name: &str) -> bool {
    name.len() <= 255
        && name.rsplit_once('.').is_some_and(|(stem, kind)| {
            !stem.is_empty() && !kind.is_empty() && kind.chars().all(|c| c.is_ascii_lowercase())
        })
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.' | '\\' | '@'))
}

/// A DNS name as web servers take it (`*.example.com` and `_` included).
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammars_take_real_values_and_refuse_injections() {
        assert!(is_account_name("www-data") && is_account_name("33") && is_account_name("pc$"));
        assert!(!is_account_name("root; touch /tmp/pwned") && !is_account_name("-x"));
        assert!(is_package_name("libapache2-mod-php7.4") && is_package_name("g++"));
        assert!(!is_package_name("curl$(id)") && !is_package_name("a"));
        assert!(
            is_package_version("1:10.5.26-0+deb11u2") && is_package_version("2.4.62-1~deb11u1")
        );
        assert!(!is_package_version("1.0 ; rm") && !is_package_version("x:1.0"));
        assert!(is_unit_name("getty@tty1.service") && is_unit_name("dev-disk-by\\x2duuid.swap"));
        assert!(!is_unit_name("a.service; reboot") && !is_unit_name("noext"));
        assert!(is_host_name("*.example.test") && !is_host_name("a b"));
        assert_eq!(
            confined_path("/etc/apache2/x.conf"),
            Some(vec!["etc", "apache2", "x.conf"])
        );
        for bad in [
            "etc/x",
            "/etc/../root",
            "/etc//x",
            "/etc/./x",
            "/",
            "/etc/x\n",
        ] {
            assert_eq!(confined_path(bad), None, "{bad:?}");
        }
    }
}
