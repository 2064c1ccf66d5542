//! trixie's OpenSSH (10.0) no longer accepts DSA keys at all: an account whose only way
//! in is an `ssh-dss` key is locked out after the upgrade, and a DSA host key is ignored.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "ssh.dsa-keys",
    severity: Severity::High,
    inhibitor: true,
    when: When::BeforeUpgrade,
    trigger: "before the upgrade to trixie: `ssh-dss` keys in an account's `~/.ssh/authorized_keys`, or a DSA host key `sshd` is configured with (OpenSSH 10 supports no DSA at all)",
    remediation: "give each account a key of another type (`ssh-keygen -t ed25519`) and add it to `authorized_keys` before upgrading; remove the DSA host key from `sshd_config`",
};

const BEFORE: &str = r#"
command -v sshd >/dev/null || exit 0
for home in $(homes); do
  for f in "$home"/.ssh/authorized_keys "$home"/.ssh/authorized_keys2; do
    [ -f "$f" ] && awk -v f="$f" '/(^|[ ,"])ssh-dss /{print "key " f ":" FNR ": ssh-dss key " $NF}' "$f"
  done
done
sshd -T 2>/dev/null | awk '$1 == "hostkey" {print $2}' | while read -r key; do
  if [ -r "$key" ]; then
    ssh-keygen -l -f "$key" 2>/dev/null | grep -q '(DSA)$' && echo "hostkey $key"
  else
    case "${key##*/}" in *ecdsa*) ;; *dsa*) echo "hostkey $key" ;; esac
  fi
done
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: Some("trixie"),
    before: BEFORE,
    after: "",
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let keys = Facts::tagged(&facts.before, "key");
    let host_keys = Facts::tagged(&facts.before, "hostkey");
    if keys.is_empty() && host_keys.is_empty() {
        return None;
    }
    let mut evidence: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    evidence.extend(host_keys.iter().map(|k| format!("sshd HostKey {k}")));
    Some(Found::new(
        format!(
            "{} DSA key(s) authorize logins and {} DSA host key(s) are configured: trixie's OpenSSH refuses DSA, so these logins stop working after the upgrade",
            keys.len(),
            host_keys.len()
        ),
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn dsa_keys_that_authorize_logins_are_named() {
        let found = judge(&facts(
            "bookworm",
            "trixie",
            "key /home/alice/.ssh/authorized_keys:2: ssh-dss key alice@laptop\nhostkey /etc/ssh/ssh_host_dsa_key",
            "",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            [
                "/home/alice/.ssh/authorized_keys:2: ssh-dss key alice@laptop",
                "sshd HostKey /etc/ssh/ssh_host_dsa_key"
            ]
        );
        assert!(found.message.starts_with("1 DSA key(s)"));
    }
}

#[cfg(test)]
mod script_tests {
    use super::BEFORE;
    use std::os::unix::fs::PermissionsExt;

    /// The script's host-key line, run against a stand-in `sshd` that prints what
    /// bookworm's `sshd -T` prints for its default keys plus the ones given.
    fn host_keys_found(extra: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let sshd = dir.path().join("sshd");
        std::fs::write(
            &sshd,
            format!(
                "#!/bin/sh\nprintf 'hostkey /etc/ssh/ssh_host_rsa_key\\nhostkey /etc/ssh/ssh_host_ecdsa_key\\nhostkey /etc/ssh/ssh_host_ed25519_key\\n{extra}'\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&sshd, std::fs::Permissions::from_mode(0o755)).unwrap();
        let line = BEFORE
            .lines()
            .skip_while(|l| !l.starts_with("sshd -T"))
            .collect::<Vec<_>>()
            .join("\n");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn an_ecdsa_host_key_is_not_a_dsa_key() {
        assert_eq!(host_keys_found(""), "");
    }

    #[test]
    fn a_dsa_host_key_is_found() {
        assert_eq!(
            host_keys_found("hostkey /etc/ssh/ssh_host_dsa_key\\n"),
            "hostkey /etc/ssh/ssh_host_dsa_key\n"
        );
    }
}
