//! trixie splits libvirt's daemon into one package per driver and storage backend.
//! The upgrade keeps the usual set, but not every one: a driver that came with
//! bookworm's `libvirt-daemon` and is only recommended in trixie (or not pulled in at
//! all) is gone after the upgrade, and the guests or pools that use it fail.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "libvirt.drivers-lost",
    severity: Severity::High,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "a libvirt connection driver or storage backend present before the hop (`/usr/lib/*/libvirt/connection-driver`, `storage-backend`) is gone after it",
    remediation: "install the driver packages the host uses (`libvirt-daemon-driver-storage-disk`, `-interface`…) in the upgrade, and check the list of installed libvirt packages against the drivers in use",
};

/// `driver FILE` for each driver and backend library.
const SCRIPT: &str = r#"
for f in /usr/lib/*/libvirt/connection-driver/*.so /usr/lib/*/libvirt/storage-backend/*.so; do
  [ -e "$f" ] && echo "driver ${f##*/}"
done
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: None,
    before: SCRIPT,
    after: SCRIPT,
    judge,
};

/// The package that ships a driver's library in trixie: `libvirt_storage_backend_disk.so`
/// is `libvirt-daemon-driver-storage-disk`, `libvirt_driver_interface.so`
/// `libvirt-daemon-driver-interface`.
fn package_of(file: &str) -> Option<String> {
    let stem = file.strip_suffix(".so")?;
    if let Some(backend) = stem.strip_prefix("libvirt_storage_backend_") {
        return Some(format!(
            "libvirt-daemon-driver-storage-{}",
            backend.replace('_', "-")
        ));
    }
    let driver = stem.strip_prefix("libvirt_driver_")?;
    Some(format!(
        "libvirt-daemon-driver-{}",
        driver.replace('_', "-")
    ))
}

fn judge(facts: &Facts) -> Option<Found> {
    let after = Facts::tagged(&facts.after, "driver");
    let lost: Vec<&str> = Facts::tagged(&facts.before, "driver")
        .into_iter()
        .filter(|d| !after.contains(d))
        .collect();
    if lost.is_empty() {
        return None;
    }
    let evidence = lost
        .iter()
        .map(|d| match package_of(d) {
            Some(package) => format!("{d}: gone (in {} it is package {package})", facts.to),
            None => format!("{d}: gone"),
        })
        .collect();
    Some(Found::new(
        format!(
            "{} libvirt driver(s) or storage backend(s) present before the upgrade to {} are gone after it: what uses them stops working",
            lost.len(),
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
    fn drivers_gone_after_the_hop_are_named_with_their_package() {
        let found = judge(&facts(
            "bookworm",
            "trixie",
            "driver libvirt_driver_qemu.so\ndriver libvirt_driver_interface.so\ndriver libvirt_storage_backend_disk.so",
            "driver libvirt_driver_qemu.so",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            [
                "libvirt_driver_interface.so: gone (in trixie it is package libvirt-daemon-driver-interface)",
                "libvirt_storage_backend_disk.so: gone (in trixie it is package libvirt-daemon-driver-storage-disk)"
            ]
        );
        assert!(judge(&facts("bookworm", "trixie", "driver a.so", "driver a.so")).is_none());
    }
}
