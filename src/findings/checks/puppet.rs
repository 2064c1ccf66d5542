//! bookworm moves Puppet from 5.5 to 7, skipping 6: the agent (now the `puppet-agent`
//! package), the server (`puppetserver` instead of the Ruby `puppet-master`) and the
//! manifests' language all change, and an agent must not be newer than its server.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "puppet.major-upgrade",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "the Puppet installed before the hop is of an older major version than after it (5 → 7 on the way to bookworm)",
    remediation: "upgrade the Puppet server first (an agent must not be newer than its server), check the manifests and modules against Puppet 7, and run the agent once by hand (`puppet agent --test --noop`) after the upgrade",
};

const SCRIPT: &str = r#"
command -v puppet >/dev/null || exit 0
echo "version=$(puppet --version 2>/dev/null)"
dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Version}\n' 'puppet*' 2>/dev/null | awk '$1 == "ii" {print "package " $2 " " $3}'
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: SCRIPT,
    after: SCRIPT,
    judge,
};

fn major(version: &str) -> Option<u32> {
    version.trim().split('.').next()?.parse().ok()
}

fn judge(facts: &Facts) -> Option<Found> {
    let old = Facts::value(&facts.before, "version")?;
    let new = Facts::value(&facts.after, "version")?;
    if major(new)? <= major(old)? {
        return None;
    }
    let mut evidence = vec![format!(
        "puppet {old} on {} → {new} on {}",
        facts.from, facts.to
    )];
    evidence.extend(
        Facts::tagged(&facts.after, "package")
            .iter()
            .map(|p| format!("installed on {}: {p}", facts.to)),
    );
    Some(Found::new(
        format!(
            "Puppet goes from {old} to {new} with the upgrade to {}: the agent must not be newer than its server, and manifests need checking",
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
    fn a_major_version_jump_is_reported_with_the_packages() {
        let found = judge(&facts(
            "bullseye",
            "bookworm",
            "version=5.5.22\npackage puppet 5.5.22-2+deb11u3",
            "version=7.23.0\npackage puppet-agent 7.23.0-1+deb12u1",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            [
                "puppet 5.5.22 on bullseye → 7.23.0 on bookworm",
                "installed on bookworm: puppet-agent 7.23.0-1+deb12u1"
            ]
        );
        let same = "version=7.23.0";
        assert_eq!(
            judge(&facts("bookworm", "trixie", same, "version=7.23.1")),
            None
        );
    }
}
