//! APT verifies the new release's signatures with `gpgv`: without it the upgrade cannot
//! even read the new release's package lists.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "apt.gpgv-missing",
    severity: Severity::High,
    inhibitor: true,
    when: When::BeforeUpgrade,
    trigger: "no `gpgv` program before the upgrade",
    remediation: "install `gpgv` (`apt-get install gpgv`) before changing the sources",
};

const BEFORE: &str = r#"
command -v gpgv >/dev/null || command -v gpgv2 >/dev/null || command -v sqv >/dev/null || echo "missing=yes"
echo "status=$(dpkg-query -W -f '${db:Status-Abbrev}' gpgv)"
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: BEFORE,
    after: "",
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    if Facts::value(&facts.before, "missing") != Some("yes") {
        return None;
    }
    Some(Found::new(
        format!(
            "`gpgv` is not installed: APT cannot verify {}'s release files, so the upgrade cannot start",
            facts.to
        ),
        vec![format!(
            "no gpgv on PATH; package gpgv: {}",
            Facts::value(&facts.before, "status")
                .filter(|s| !s.is_empty())
                .unwrap_or("not known to dpkg")
        )],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn a_missing_gpgv_is_an_inhibitor() {
        let found = judge(&facts("bookworm", "trixie", "missing=yes\nstatus=rc", "")).unwrap();
        assert_eq!(found.evidence, ["no gpgv on PATH; package gpgv: rc"]);
        assert_eq!(judge(&facts("bookworm", "trixie", "status=ii", "")), None);
    }
}
