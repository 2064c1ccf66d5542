//! Which captured files are never copied (private keys, password databases), and the
//! redaction of secret values in the others: a line whose key looks like a password,
//! secret or token keeps its key and loses its value (`password = <redacted>`).

use std::sync::LazyLock;

use regex::Regex;

/// What replaces a secret value.
pub const REDACTED: &str = "<redacted>";

/// Why a file is never copied, or `None` when it may be (its contents checked too).
pub fn never_copied(path: &str, contents: Option<&[u8]>) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if path.starts_with("/etc/ssl/private/") || path == "/etc/ssl/private" {
        return Some("private keys (/etc/ssl/private)");
    }
    if name.ends_with(".key") {
        return Some("private key (*.key)");
    }
    if matches!(
        name,
        "shadow" | "shadow-" | "gshadow" | "gshadow-" | "passwd-" | "group-" | "debian.cnf"
    ) || name.ends_with(".shadow")
    {
        return Some("password file");
    }
    if let Some(data) = contents
        && contains(data, b"PRIVATE KEY-----")
    {
        return Some("contains a private key");
    }
    None
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `key = value`, `key: value`, `KEY=value`, `key value`, `$key = 'value';`,
/// `env[KEY] = value` (PHP-FPM pools).
static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^(\s*(?:export\s+)?)(\$?[A-Za-z][A-Za-z0-9_.\-\[\]]*)(\s*[=:]\s*|\s+)(\S.*?)\s*$"#,
    )
    .expect("the pattern compiles")
});

/// Directives that pass a named value on: the name is the key
/// (`SetEnv DB_PASSWORD x`, `fastcgi_param DB_PASSWORD x;`).
static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)^(\s*(?:SetEnv|fastcgi_param|uwsgi_param|scgi_param|Define|env)\s+)([A-Za-z_][A-Za-z0-9_.\-]*)(\s+)(\S.*?)\s*$"#,
    )
    .expect("the pattern compiles")
});

/// Last words of a key that name a secret (`db_password`, `requirepass`, `API_TOKEN`).
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "secret",
    "token",
    "requirepass",
    "masterauth",
    "apikey",
    "passphrase",
];

/// Whether a key names a secret: its last word (split at `_`, `-`, `.`) is a secret
/// word, or it ends in `key` after `secret`, `api` or `private` (`SECRET_KEY`).
pub fn is_secret_key(key: &str) -> bool {
    // `env[DB_PASSWORD]` names `DB_PASSWORD`.
    let key = match key.rsplit_once('[') {
        Some((_, inner)) => inner.trim_end_matches(']'),
        None => key,
    };
    let key = key.trim_start_matches('$').to_ascii_lowercase();
    let words: Vec<&str> = key
        .split(['_', '-', '.'])
        .filter(|w| !w.is_empty())
        .collect();
    let Some(last) = words.last() else {
        return false;
    };
    SECRET_WORDS.contains(last)
        || (*last == "key"
            && words[..words.len() - 1]
                .iter()
                .any(|w| matches!(*w, "secret" | "api" | "private" | "access")))
}

/// A line with its secret value replaced, and the key, or `None` when it holds none.
/// Comment lines are left alone. A quoted value keeps its quotes and what follows
/// them (`'x';` → `'<redacted>';`).
pub fn redact_line(line: &str) -> Option<(String, String)> {
    let trimmed = line.trim_start();
    if trimmed.starts_with(['#', ';']) || trimmed.starts_with("//") {
        return None;
    }
    if let Some(assignments) = trimmed.strip_prefix("Environment=") {
        let prefix = &line[..line.len() - assignments.len()];
        return redact_environment(assignments)
            .map(|(redacted, keys)| (format!("{prefix}{redacted}"), keys.join(", ")));
    }
    let caps = DIRECTIVE
        .captures(line)
        .filter(|caps| is_secret_key(&caps[2]))
        .or_else(|| ASSIGNMENT.captures(line))?;
    let key = caps.get(2)?.as_str();
    if !is_secret_key(key) {
        return None;
    }
    let value = caps.get(4)?.as_str();
    let prefix = &line[..caps.get(4)?.start()];
    let replaced = match value.chars().next() {
        Some(quote @ ('\'' | '"')) => match value[1..].find(quote) {
            Some(end) => format!("{quote}{REDACTED}{}", &value[1 + end..]),
            None => REDACTED.to_string(),
        },
        // nginx and PHP statements end with `;`: keep it, or the file no longer parses.
        _ if value.ends_with(';') => format!("{REDACTED};"),
        _ => REDACTED.to_string(),
    };
    Some((format!("{prefix}{replaced}"), key.to_string()))
}

/// A systemd `Environment=` value (`A=1 "DB_PASSWORD=x y" 'TOKEN=z'`) with the value of
/// each variable whose name is a secret's replaced, and those names; `None` when none is.
fn redact_environment(assignments: &str) -> Option<(String, Vec<String>)> {
    let mut out = String::with_capacity(assignments.len());
    let mut keys = Vec::new();
    let mut rest = assignments;
    while !rest.is_empty() {
        let spaces = rest.len() - rest.trim_start().len();
        out.push_str(&rest[..spaces]);
        rest = &rest[spaces..];
        if rest.is_empty() {
            break;
        }
        // One word: quoted (to its closing quote, `\` escaping), or up to a space.
        let (quote, body_start) = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => (Some(q), 1),
            _ => (None, 0),
        };
        let mut end = rest.len();
        let mut escaped = false;
        for (i, c) in rest.char_indices().skip(body_start) {
            match quote {
                Some(q) if !escaped && c == q => {
                    end = i;
                    break;
                }
                None if c.is_whitespace() => {
                    end = i;
                    break;
                }
                _ => {}
            }
            escaped = !escaped && c == '\\';
        }
        let body = &rest[body_start..end];
        let closing = if quote.is_some() && end < rest.len() {
            1
        } else {
            0
        };
        let word_end = end + closing;
        match body.split_once('=') {
            Some((name, _)) if is_secret_key(name) => {
                let q = quote.map(String::from).unwrap_or_default();
                let close = if closing == 1 { q.as_str() } else { "" };
                out.push_str(&format!("{q}{name}={REDACTED}{close}"));
                keys.push(name.to_string());
            }
            _ => out.push_str(&rest[..word_end]),
        }
        rest = &rest[word_end..];
    }
    (!keys.is_empty()).then_some((out, keys))
}

/// A text with every secret value replaced, and `(line number, key)` of each.
pub fn redact_text(text: &str) -> (String, Vec<(usize, String)>) {
    let mut out = String::with_capacity(text.len());
    let mut found = Vec::new();
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let (body, ending) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let (body, cr) = match body.strip_suffix('\r') {
            Some(body) => (body, "\r"),
            None => (body, ""),
        };
        match redact_line(body) {
            Some((redacted, key)) => {
                out.push_str(&redacted);
                found.push((index + 1, key));
            }
            None => out.push_str(body),
        }
        out.push_str(cr);
        out.push_str(ending);
    }
    (out, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_replaced_and_listed() {
        let text = "\
[client]
user = shop
password = s3cret value
# password = not-this-one
PASSWORD=hunter2
requirepass foobared
export API_TOKEN=\"abc\"
$db_password = 'x1';
SECRET_KEY: 'k'
password_encryption = scram-sha-256
host = db.example.test
passwd\t\tp
SetEnv DB_PASSWORD hunter2
fastcgi_param APP_SECRET s3cret;
env[DB_PASSWORD] = pw
SetEnv APP_ENV production
";
        let (redacted, found) = redact_text(text);
        assert_eq!(
            redacted,
            "\
[client]
user = shop
password = <redacted>
# password = not-this-one
PASSWORD=<redacted>
requirepass <redacted>
export API_TOKEN=\"<redacted>\"
$db_password = '<redacted>';
SECRET_KEY: '<redacted>'
password_encryption = scram-sha-256
host = db.example.test
passwd\t\t<redacted>
SetEnv DB_PASSWORD <redacted>
fastcgi_param APP_SECRET <redacted>;
env[DB_PASSWORD] = <redacted>
SetEnv APP_ENV production
"
        );
        let keys: Vec<(usize, &str)> = found.iter().map(|(l, k)| (*l, k.as_str())).collect();
        assert_eq!(
            keys,
            [
                (3, "password"),
                (5, "PASSWORD"),
                (6, "requirepass"),
                (7, "API_TOKEN"),
                (8, "$db_password"),
                (9, "SECRET_KEY"),
                (12, "passwd"),
                (13, "DB_PASSWORD"),
                (14, "APP_SECRET"),
                (15, "env[DB_PASSWORD]"),
            ]
        );
    }

    #[test]
    fn a_units_environment_is_redacted_by_the_variables_name() {
        assert_eq!(
            redact_line("Environment=DB_PASSWORD=hunter2"),
            Some((
                "Environment=DB_PASSWORD=<redacted>".into(),
                "DB_PASSWORD".into()
            ))
        );
        assert_eq!(
            redact_line(r#"Environment=APP_ENV=prod "API_TOKEN=a b\" c" 'SECRET_KEY=k' LANG=C"#),
            Some((
                r#"Environment=APP_ENV=prod "API_TOKEN=<redacted>" 'SECRET_KEY=<redacted>' LANG=C"#
                    .into(),
                "API_TOKEN, SECRET_KEY".into()
            ))
        );
        assert_eq!(redact_line("Environment=APP_ENV=prod LANG=C"), None);
        assert_eq!(redact_line("# Environment=DB_PASSWORD=x"), None);
    }

    #[test]
    fn keys_and_certificates_are_never_copied() {
        assert_eq!(
            never_copied("/etc/ssl/private/site.pem", None),
            Some("private keys (/etc/ssl/private)")
        );
        assert_eq!(
            never_copied("/etc/apache2/ssl/site.key", None),
            Some("private key (*.key)")
        );
        assert_eq!(
            never_copied("/etc/mysql/debian.cnf", None),
            Some("password file")
        );
        let key = b"-----BEGIN RSA PRIVATE KEY-----\nMII...\n";
        assert_eq!(
            never_copied("/etc/nginx/site.pem", Some(key)),
            Some("contains a private key")
        );
        let certificate = b"-----BEGIN CERTIFICATE-----\nMII...\n";
        assert_eq!(never_copied("/etc/nginx/site.pem", Some(certificate)), None);
    }
}
