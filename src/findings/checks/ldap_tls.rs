//! trixie's OpenLDAP (libldap and slapd) does TLS with OpenSSL instead of GnuTLS: a
//! cipher setting written in GnuTLS's priority syntax (`NORMAL`, `SECURE256`,
//! `+VERS-TLS1.2`) means nothing to OpenSSL, so TLS connections to or from the
//! directory fail after the upgrade.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "ldap.gnutls-tls-settings",
    severity: Severity::High,
    inhibitor: false,
    when: When::BeforeUpgrade,
    trigger: "before the upgrade to trixie: an OpenLDAP cipher setting (`TLS_CIPHER_SUITE` in `ldap.conf`, `olcTLSCipherSuite` or `TLSCipherSuite` in slapd's configuration) in GnuTLS's priority syntax",
    remediation: "replace it with an OpenSSL cipher list (e.g. `HIGH:!aNULL`) or remove it to use OpenSSL's defaults, and test LDAPS and StartTLS once upgraded; without `TLS_CACERT` the system's trusted certificates are used from trixie on",
};

const BEFORE: &str = r#"
for f in /etc/ldap/ldap.conf /etc/ldap/slapd.conf $(homes | sed 's|$|/.ldaprc|'); do
  [ -f "$f" ] && grep -HniE '^[[:space:]]*(TLS_CIPHER_SUITE|TLSCipherSuite)[[:space:]]' "$f"
done
[ -d /etc/ldap/slapd.d ] && grep -rHni '^olcTLSCipherSuite:' /etc/ldap/slapd.d
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: Some("trixie"),
    before: BEFORE,
    after: "",
    judge,
};

/// Words of GnuTLS's priority strings that OpenSSL's cipher lists never use.
fn gnutls_syntax(value: &str) -> bool {
    let upper = value.to_ascii_uppercase();
    [
        "NORMAL",
        "SECURE128",
        "SECURE192",
        "SECURE256",
        "PERFORMANCE",
        "PFS",
        "NONE:",
        "VERS-",
        "%",
    ]
    .iter()
    .any(|word| upper.contains(word))
}

fn judge(facts: &Facts) -> Option<Found> {
    // `/etc/ldap/ldap.conf:12:TLS_CIPHER_SUITE NORMAL:-VERS-TLS1.0`
    let evidence: Vec<String> = facts
        .before
        .iter()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (file, number, text) = (parts.next()?, parts.next()?, parts.next()?);
            let (_, value) = text
                .trim()
                .split_once(|c: char| c.is_whitespace() || c == ':')?;
            gnutls_syntax(value).then(|| format!("{file}:{number}: {}", text.trim()))
        })
        .collect();
    if evidence.is_empty() {
        return None;
    }
    Some(Found::new(
        format!(
            "{} OpenLDAP TLS setting(s) use GnuTLS's syntax, which {}'s OpenSSL-based OpenLDAP does not understand: TLS to or from the directory fails",
            evidence.len(),
            facts.to
        ),
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn gnutls_priority_strings_are_named() {
        let found = judge(&facts(
            "bookworm",
            "trixie",
            "/etc/ldap/ldap.conf:12:TLS_CIPHER_SUITE NORMAL:-VERS-TLS1.0\n/etc/ldap/slapd.d/cn=config.ldif:9:olcTLSCipherSuite: SECURE256",
            "",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            [
                "/etc/ldap/ldap.conf:12: TLS_CIPHER_SUITE NORMAL:-VERS-TLS1.0",
                "/etc/ldap/slapd.d/cn=config.ldif:9: olcTLSCipherSuite: SECURE256"
            ]
        );
    }

    #[test]
    fn openssl_cipher_lists_are_no_finding() {
        let before = "/etc/ldap/ldap.conf:3:TLS_CIPHER_SUITE HIGH:!aNULL:!MD5";
        assert_eq!(judge(&facts("bookworm", "trixie", before, "")), None);
    }
}
