//! From bookworm, Debian's Python is "externally managed" (PEP 668): `pip install` into
//! the system Python is refused, and what pip installed for the old Python version
//! (`/usr/local/lib/python3.9/dist-packages`) is not on the new version's path, so
//! programs that import it fail after the upgrade.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "python.pip-packages-lost",
    severity: Severity::High,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "packages pip installed into the system Python (`/usr/local/lib/python3.X/dist-packages`) for a version the hop replaced; `EXTERNALLY-MANAGED` says whether pip may reinstall them",
    remediation: "install the Debian packages of these modules (`python3-NAME`), or move the application to a virtual environment (`python3 -m venv`) and install them there; `pip install --break-system-packages` is the notes' last resort",
};

const BEFORE: &str = r#"
for d in /usr/local/lib/python3*/dist-packages; do
  for m in "$d"/*.dist-info "$d"/*.egg-info; do [ -e "$m" ] && echo "dist $m"; done
done | head -n 100
"#;

const AFTER: &str = r#"
echo "python=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
ls -d /usr/lib/python3*/EXTERNALLY-MANAGED | sed 's/^/managed /'
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: BEFORE,
    after: AFTER,
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let python = Facts::value(&facts.after, "python").filter(|v| !v.is_empty())?;
    let current = format!("/usr/local/lib/python{python}/");
    // `/usr/local/lib/python3.9/dist-packages/hellopkg-1.0.dist-info`
    let lost: Vec<String> = Facts::tagged(&facts.before, "dist")
        .into_iter()
        .filter(|path| !path.starts_with(&current))
        .map(|path| {
            let (dir, meta) = path.rsplit_once('/').unwrap_or(("", path));
            let name = meta
                .trim_end_matches(".dist-info")
                .trim_end_matches(".egg-info");
            format!("{name} in {dir}: not on python{python}'s path")
        })
        .collect();
    if lost.is_empty() {
        return None;
    }
    let managed = Facts::tagged(&facts.after, "managed");
    let mut evidence = lost.clone();
    evidence.extend(
        managed
            .iter()
            .map(|m| format!("{m}: `pip install` refuses to install into the system Python")),
    );
    Some(Found::new(
        format!(
            "{} package(s) pip installed for the old Python are not imported by Python {python} after the upgrade to {}{}",
            lost.len(),
            facts.to,
            if managed.is_empty() {
                ""
            } else {
                ", and pip may no longer install them there"
            }
        ),
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn modules_left_on_the_old_pythons_path_are_named() {
        let found = judge(&facts(
            "bullseye",
            "bookworm",
            "dist /usr/local/lib/python3.9/dist-packages/hellopkg-1.0.dist-info",
            "python=3.11\nmanaged /usr/lib/python3.11/EXTERNALLY-MANAGED",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            [
                "hellopkg-1.0 in /usr/local/lib/python3.9/dist-packages: not on python3.11's path",
                "/usr/lib/python3.11/EXTERNALLY-MANAGED: `pip install` refuses to install into the system Python"
            ]
        );
    }

    #[test]
    fn modules_of_the_python_still_in_use_are_no_finding() {
        let before = "dist /usr/local/lib/python3.11/dist-packages/x-1.dist-info";
        assert_eq!(
            judge(&facts("bookworm", "trixie", before, "python=3.11")),
            None
        );
        // No Python after the hop: nothing to import them.
        assert_eq!(judge(&facts("bookworm", "trixie", before, "python=")), None);
    }
}
