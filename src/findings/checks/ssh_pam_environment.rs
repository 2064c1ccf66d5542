//! trixie's openssh-server no longer reads `~/.pam_environment`: the variables users set
//! there (a proxy, a PATH, a locale) are gone from their SSH sessions and from whatever
//! runs over SSH (deployments, backups). Checked on what the hop did to sshd's PAM
//! configuration: a kept, modified `/etc/pam.d/sshd` may still read the files.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "ssh.pam-environment",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "accounts have a non-empty `~/.pam_environment`, sshd's PAM configuration read it before the hop (`pam_env.so user_readenv=1`) and no longer does after it",
    remediation: "move the variables to the shell's start-up files (`~/.profile`, `~/.bashrc`) or to `SetEnv` in `sshd_config`, and check the jobs that run over SSH",
};

const BEFORE: &str = r#"
for home in $(homes); do [ -s "$home/.pam_environment" ] && echo "file $home/.pam_environment: $(grep -cv '^[[:space:]]*\(#\|$\)' "$home/.pam_environment") setting(s)"; done
grep -n 'pam_env.so.*user_readenv=1' /etc/pam.d/sshd | sed 's/^/readenv /'
"#;

const AFTER: &str = r#"
grep -n 'pam_env.so.*user_readenv=1' /etc/pam.d/sshd | sed 's/^/readenv /'
echo "sshd_pam=$([ -e /etc/pam.d/sshd ] && echo yes || echo no)"
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: Some("trixie"),
    before: BEFORE,
    after: AFTER,
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let files = Facts::tagged(&facts.before, "file");
    let read_before = Facts::tagged(&facts.before, "readenv");
    let read_after = Facts::tagged(&facts.after, "readenv");
    if files.is_empty() || read_before.is_empty() || !read_after.is_empty() {
        return None;
    }
    if Facts::value(&facts.after, "sshd_pam") != Some("yes") {
        return None;
    }
    let mut evidence: Vec<String> = files.iter().map(|f| f.to_string()).collect();
    evidence.extend(
        read_before.iter().map(|l| {
            format!("/etc/pam.d/sshd on {} (line {l}", facts.from).replacen(':', "): ", 1)
        }),
    );
    evidence.push(format!(
        "/etc/pam.d/sshd on {}: no `user_readenv=1` any more",
        facts.to
    ));
    Some(Found::new(
        format!(
            "{} account(s) set variables in `~/.pam_environment`, which sshd no longer reads on {}: their SSH sessions and the jobs run over SSH lose them",
            files.len(),
            facts.to
        ),
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    const BEFORE: &str = "file /home/alice/.pam_environment: 1 setting(s)\nreadenv 47:session required pam_env.so user_readenv=1 envfile=/etc/default/locale";

    #[test]
    fn variables_sshd_stops_reading_are_named() {
        let found = judge(&facts("bookworm", "trixie", BEFORE, "sshd_pam=yes")).unwrap();
        assert_eq!(
            found.evidence[0],
            "/home/alice/.pam_environment: 1 setting(s)"
        );
        assert!(
            found.evidence[1].starts_with("/etc/pam.d/sshd on bookworm (line 47): session"),
            "{:?}",
            found.evidence
        );
    }

    #[test]
    fn a_configuration_that_still_reads_them_is_not_a_finding() {
        let still = "readenv 47:session required pam_env.so user_readenv=1\nsshd_pam=yes";
        assert_eq!(judge(&facts("bookworm", "trixie", BEFORE, still)), None);
        // sshd gone with its package: another finding's business.
        assert_eq!(
            judge(&facts("bookworm", "trixie", BEFORE, "sshd_pam=no")),
            None
        );
    }
}
