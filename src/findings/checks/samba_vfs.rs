//! trixie's Samba moves most VFS modules into `samba` itself, but the Ceph and
//! GlusterFS ones into packages of their own (`samba-vfs-ceph`, `samba-vfs-glusterfs`)
//! that the upgrade does not install: a share that uses one no longer works, while smbd
//! itself runs.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "samba.vfs-module-missing",
    severity: Severity::High,
    inhibitor: true,
    when: When::AfterHop,
    trigger: "a share's `vfs objects` names a module that Samba had before the hop and no longer has after it",
    remediation: "install the module's package as part of the upgrade (`samba-vfs-glusterfs`, `samba-vfs-ceph`), then check the share with `testparm -s` and a client",
};

/// `module [share] NAME yes|no`: each VFS module a share uses, and whether Samba has it.
const SCRIPT: &str = r#"
command -v testparm >/dev/null || exit 0
testparm -s 2>/dev/null | awk '/^\[/ {share = $0} /^[[:space:]]*vfs objects = / {sub(/^[[:space:]]*vfs objects = /, ""); print share " " $0}' |
while read -r share modules; do
  for m in $modules; do
    if ls /usr/lib/*/samba/vfs/"$m".so >/dev/null 2>&1; then echo "module $share $m yes"; else echo "module $share $m no"; fi
  done
done
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: SCRIPT,
    after: SCRIPT,
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let evidence: Vec<String> = facts
        .lost("module")
        .into_iter()
        .map(|m| {
            let (share, module) = m.rsplit_once(' ').unwrap_or(("?", m));
            let package = match module {
                "glusterfs" | "glusterfs_fuse" => " (package samba-vfs-glusterfs)",
                "ceph" | "ceph_snapshots" | "ceph_new" => " (package samba-vfs-ceph)",
                _ => "",
            };
            format!(
                "share {share}: VFS module `{module}` is gone on {}{package}",
                facts.to
            )
        })
        .collect();
    if evidence.is_empty() {
        return None;
    }
    Some(Found::new(
        format!(
            "{} share(s) use a Samba VFS module the upgrade to {} did not install: they no longer work",
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
    fn a_module_gone_with_the_hop_is_named_with_its_package() {
        let found = judge(&facts(
            "bookworm",
            "trixie",
            "module [data] glusterfs yes\nmodule [data] acl_xattr yes",
            "module [data] glusterfs no\nmodule [data] acl_xattr yes",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            [
                "share [data]: VFS module `glusterfs` is gone on trixie (package samba-vfs-glusterfs)"
            ]
        );
    }

    #[test]
    fn a_module_missing_before_is_not_the_hops_doing() {
        let m = "module [data] nosuch no";
        assert_eq!(judge(&facts("bookworm", "trixie", m, m)), None);
    }
}
