//! RabbitMQ from bookworm (3.10) to trixie (4.0): there is no direct upgrade path (the
//! new server does not start on the old node's data, so the package fails to configure),
//! and classic mirrored ("HA") queues are gone, replaced by quorum queues.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const DIRECT_KIND: FindingKind = FindingKind {
    key: "rabbitmq.no-direct-upgrade",
    severity: Severity::High,
    inhibitor: true,
    when: When::BeforeUpgrade,
    trigger: "before the upgrade to trixie: `rabbitmq-server` is installed",
    remediation: "export the broker's definitions (`rabbitmqctl export_definitions FILE`) and drain its queues; after the upgrade, stop it, remove `/var/lib/rabbitmq/mnesia`, start it and import the definitions",
};

pub const HA_KIND: FindingKind = FindingKind {
    key: "rabbitmq.ha-queues",
    severity: Severity::High,
    inhibitor: true,
    when: When::BeforeUpgrade,
    trigger: "before the upgrade to trixie: a RabbitMQ policy uses `ha-mode` (classic mirrored queues, which RabbitMQ 4 removed)",
    remediation: "move the mirrored queues to quorum queues (`x-queue-type: quorum`) and remove the `ha-*` policies before upgrading",
};

const SCRIPT: &str = r#"
echo "installed=$(dpkg-query -W -f '${db:Status-Abbrev} ${Version}' rabbitmq-server)"
[ "$(systemctl is-active rabbitmq-server)" = active ] || exit 0
for vhost in $(rabbitmqctl -q list_vhosts 2>/dev/null); do
  rabbitmqctl -q list_policies -p "$vhost" 2>/dev/null | grep -F 'ha-mode' | cut -c1-200 | sed "s|^|policy $vhost: |"
done
"#;

pub const DIRECT: HostCheck = HostCheck {
    kind: &DIRECT_KIND,
    to: Some("trixie"),
    before: SCRIPT,
    after: "",
    judge: judge_direct,
};

pub const HA: HostCheck = HostCheck {
    kind: &HA_KIND,
    to: Some("trixie"),
    before: SCRIPT,
    after: "",
    judge: judge_ha,
};

fn judge_direct(facts: &Facts) -> Option<Found> {
    let installed = Facts::value(&facts.before, "installed")?;
    // `${db:Status-Abbrev}` is three characters: `ii ` then the version.
    let version = installed.strip_prefix("ii")?.trim();
    Some(Found::new(
        format!(
            "RabbitMQ {version} cannot be upgraded directly to {}'s: the new server does not start on the old node's data",
            facts.to
        ),
        vec![format!(
            "rabbitmq-server {version} installed on {}",
            facts.from
        )],
    ))
}

fn judge_ha(facts: &Facts) -> Option<Found> {
    let policies = Facts::tagged(&facts.before, "policy");
    if policies.is_empty() {
        return None;
    }
    Some(Found::new(
        format!(
            "{} RabbitMQ polic(ies) mirror classic queues (`ha-mode`), which {}'s RabbitMQ no longer supports",
            policies.len(),
            facts.to
        ),
        policies.iter().map(|p| p.to_string()).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn an_installed_broker_and_its_mirroring_policies_are_found() {
        let before =
            "installed=ii 3.10.8-3\npolicy /: /\tha-all\t.*\tall\t{\"ha-mode\":\"all\"}\t0";
        let found = judge_direct(&facts("bookworm", "trixie", before, "")).unwrap();
        assert_eq!(
            found.evidence,
            ["rabbitmq-server 3.10.8-3 installed on bookworm"]
        );
        let found = judge_ha(&facts("bookworm", "trixie", before, "")).unwrap();
        assert!(found.evidence[0].contains("ha-all"), "{:?}", found.evidence);
    }

    #[test]
    fn no_broker_no_finding() {
        assert_eq!(
            judge_direct(&facts("bookworm", "trixie", "installed=", "")),
            None
        );
        assert_eq!(
            judge_direct(&facts("bookworm", "trixie", "installed=rc 3.10.8-3", "")),
            None
        );
        assert_eq!(
            judge_ha(&facts("bookworm", "trixie", "installed=ii 3.10.8-3", "")),
            None
        );
    }
}
