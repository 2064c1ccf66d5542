//! Packages that do not come from Debian (a vendor's repository, or installed from a
//! `.deb` file) are not part of the release's tested upgrade path: the release notes ask
//! to remove them or to check their vendor supports the new release.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "packages.non-debian",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::BeforeUpgrade,
    trigger: "installed packages whose version comes from no Debian archive, before the upgrade: from another origin, or from no configured source (`apt list '?installed ?not(?origin(Debian))'`)",
    remediation: "remove them for the upgrade, or make sure their vendor publishes versions for the new release and that they do not hold Debian packages back",
};

/// Without package lists APT knows no origin at all: say so rather than list everything.
const BEFORE: &str = r#"
echo "lists=$(ls /var/lib/apt/lists/ 2>/dev/null | grep -c '_Packages$')"
apt list '?and(?installed,?not(?origin(Debian)))' 2>/dev/null | grep -F '[installed' | head -n 100 | sed 's/^/package /'
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: BEFORE,
    after: "",
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let lists: u32 = Facts::value(&facts.before, "lists")?.parse().ok()?;
    let packages = Facts::tagged(&facts.before, "package");
    if lists == 0 {
        return None;
    }
    // `acme-tools/now 1.0 all [installed,local]`, `x/vendor 2.0 amd64 [installed]`.
    let evidence: Vec<String> = packages
        .iter()
        .map(|line| {
            let mut words = line.split_whitespace();
            let (name, source) = words
                .next()
                .and_then(|w| w.split_once('/'))
                .unwrap_or((line, ""));
            let version = words.next().unwrap_or("");
            if source == "now" || line.contains(",local]") {
                format!("{name} {version}: from no configured source")
            } else {
                format!("{name} {version}: from `{source}`, not a Debian archive")
            }
        })
        .collect();
    if evidence.is_empty() {
        return None;
    }
    Some(Found::new(
        format!(
            "{} installed package(s) do not come from Debian: the upgrade to {} was not tested with them",
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
    fn packages_from_a_vendor_or_from_a_file_are_told_apart() {
        let found = judge(&facts(
            "bullseye",
            "bookworm",
            "lists=4\npackage acme-tools/now 1.0 all [installed,local]\npackage acme-agent/stable 2.1 amd64 [installed]",
            "",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            [
                "acme-tools 1.0: from no configured source",
                "acme-agent 2.1: from `stable`, not a Debian archive"
            ]
        );
    }

    #[test]
    fn without_package_lists_nothing_is_claimed() {
        assert_eq!(
            judge(&facts(
                "bullseye",
                "bookworm",
                "lists=0\npackage curl/now 7.74 amd64 [installed,local]",
                ""
            )),
            None
        );
    }
}
