//! trixie drops architectures: i386 is no longer a regular one (no kernel, no
//! installer; the notes ask not to upgrade an i386 system but to reinstall it as
//! amd64), mipsel and mips64el are gone, and on the 32-bit ARM architectures every
//! library's ABI moves to a 64-bit `time_t`, so programs built locally against them
//! must be rebuilt. The host's architecture is the replica's: `architecture:` in the
//! recipe (a replica runs on the engine's CPU, so an i386 host is rehearsed on an
//! amd64 engine, an ARM one on an arm64 engine).

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const UNSUPPORTED_KIND: FindingKind = FindingKind {
    key: "arch.unsupported",
    severity: Severity::High,
    inhibitor: true,
    when: When::BeforeUpgrade,
    trigger: "before the upgrade to trixie: the host's architecture (`dpkg --print-architecture`) is i386, mipsel or mips64el",
    remediation: "do not upgrade this system in place: reinstall it as amd64 (or on another supported architecture) and move its services over; a crossgrade without reinstalling is possible but risky",
};

pub const TIME_T_KIND: FindingKind = FindingKind {
    key: "arch.time-t-abi",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::BeforeUpgrade,
    trigger: "before the upgrade to trixie: the host's architecture is armel or armhf, where every library moves to a 64-bit `time_t`",
    remediation: "rebuild programs compiled locally (`/usr/local`, `/opt`) against trixie's libraries, and check programs that store `time_t` values on disk",
};

/// `arch=NAME`: the architecture dpkg installs packages for.
const BEFORE: &str = r#"
echo "arch=$(dpkg --print-architecture)"
"#;

pub const UNSUPPORTED: HostCheck = HostCheck {
    kind: &UNSUPPORTED_KIND,
    to: Some("trixie"),
    before: BEFORE,
    after: "",
    judge: judge_unsupported,
};

pub const TIME_T: HostCheck = HostCheck {
    kind: &TIME_T_KIND,
    to: Some("trixie"),
    before: BEFORE,
    after: "",
    judge: judge_time_t,
};

fn judge_unsupported(facts: &Facts) -> Option<Found> {
    let arch = Facts::value(&facts.before, "arch")?;
    let why = match arch {
        "i386" => {
            "i386 is no longer a regular architecture: there is no kernel and no installer for it, and its programs need an SSE2 CPU"
        }
        "mipsel" | "mips64el" => "the architecture is no longer supported at all",
        _ => return None,
    };
    Some(Found::new(
        format!(
            "the host is {arch}: {why} in {}; the release notes ask not to upgrade such a system",
            facts.to
        ),
        vec![format!("dpkg --print-architecture: {arch}")],
    ))
}

fn judge_time_t(facts: &Facts) -> Option<Found> {
    let arch = Facts::value(&facts.before, "arch")?;
    if !matches!(arch, "armel" | "armhf") {
        return None;
    }
    Some(Found::new(
        format!(
            "the host is {arch}: {}'s libraries use a 64-bit time_t there, so programs built locally against the old ones must be rebuilt",
            facts.to
        ),
        vec![format!("dpkg --print-architecture: {arch}")],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn each_architecture_gets_its_finding() {
        let on = |arch: &str| facts("bookworm", "trixie", &format!("arch={arch}"), "");
        assert!(
            judge_unsupported(&on("i386"))
                .unwrap()
                .message
                .contains("no kernel")
        );
        assert!(judge_unsupported(&on("mips64el")).is_some());
        assert!(judge_unsupported(&on("amd64")).is_none());
        assert!(judge_unsupported(&on("armhf")).is_none());
        assert!(judge_time_t(&on("armhf")).is_some());
        assert!(judge_time_t(&on("i386")).is_none());
        assert_eq!(
            judge_time_t(&on("armel")).unwrap().evidence,
            ["dpkg --print-architecture: armel"]
        );
    }
}
