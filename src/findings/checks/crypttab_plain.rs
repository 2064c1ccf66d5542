//! trixie's cryptsetup changed the defaults of plain-mode dm-crypt (cipher
//! `aes-xts-plain64`, hash `sha256`). Plain mode stores no header, so a volume opened
//! with the new defaults reads as noise: its parameters must be written out in
//! `/etc/crypttab` before the upgrade. LUKS volumes, and swap or tmp re-keyed from
//! `/dev/urandom` at each boot, are not concerned.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "crypttab.plain-mode-defaults",
    severity: Severity::High,
    inhibitor: true,
    when: When::BeforeUpgrade,
    trigger: "before the upgrade to trixie: a plain-mode `/etc/crypttab` entry with a persistent key that does not give its `cipher=` and `hash=` (trixie's defaults differ from bookworm's)",
    remediation: "write bookworm's parameters into the entry (`cipher=aes-cbc-essiv:sha256,size=256,hash=ripemd160`) before upgrading, or move the data to a LUKS volume",
};

const BEFORE: &str = r#"
grep -nEv '^[[:space:]]*(#|$)' /etc/crypttab | sed 's/^/entry /'
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: Some("trixie"),
    before: BEFORE,
    after: "",
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    // `entry 3:secret /dev/sdb2 none plain,noauto`
    let evidence: Vec<String> = Facts::tagged(&facts.before, "entry")
        .into_iter()
        .filter_map(|entry| {
            let (number, line) = entry.split_once(':')?;
            let fields: Vec<&str> = line.split_whitespace().collect();
            let key = fields.get(2).copied().unwrap_or("none");
            let options: Vec<&str> = fields
                .get(3)
                .map(|o| o.split(',').collect())
                .unwrap_or_default();
            let plain = options.contains(&"plain");
            let random_key = matches!(key, "/dev/urandom" | "/dev/random");
            let explicit = options.iter().any(|o| o.starts_with("cipher="))
                && options.iter().any(|o| o.starts_with("hash="));
            (plain && !random_key && !explicit)
                .then(|| format!("/etc/crypttab:{number}: {}", line.trim()))
        })
        .collect();
    if evidence.is_empty() {
        return None;
    }
    Some(Found::new(
        format!(
            "{} plain-mode encrypted volume(s) rely on the default cipher and hash, which change in {}: opened with the new defaults, their data reads as noise",
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
    fn a_plain_volume_on_the_defaults_is_named() {
        let found = judge(&facts(
            "bookworm",
            "trixie",
            "entry 2:secret /dev/sdb2 none plain,noauto\nentry 3:data UUID=1 none luks",
            "",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            ["/etc/crypttab:2: secret /dev/sdb2 none plain,noauto"]
        );
    }

    #[test]
    fn random_keyed_swap_and_explicit_parameters_are_no_finding() {
        let before = "entry 1:swap /dev/sda3 /dev/urandom plain,swap\nentry 2:s /dev/sdb none plain,cipher=aes-cbc-essiv:sha256,hash=ripemd160";
        assert_eq!(judge(&facts("bookworm", "trixie", before, "")), None);
    }
}
