//! Publishing a container's TCP ports on ephemeral ports of the engine's machine, and
//! reading back where the engine put them.

use std::collections::BTreeMap;

use bollard::models::{PortBinding, PortMap};

/// The exposed ports and port bindings that publish each TCP port of `ports` on an
/// ephemeral port of address `on` of the engine's machine (`docker run -p
/// 127.0.0.1::PORT`). Nothing when `ports` is empty.
pub(super) fn port_bindings(
    ports: &[u16],
    on: std::net::IpAddr,
) -> (Option<Vec<String>>, Option<PortMap>) {
    if ports.is_empty() {
        return (None, None);
    }
    let keys: Vec<String> = ports.iter().map(|p| format!("{p}/tcp")).collect();
    let bindings = keys
        .iter()
        .map(|key| {
            (
                key.clone(),
                Some(vec![PortBinding {
                    host_ip: Some(on.to_string()),
                    // Empty: the engine picks a free port.
                    host_port: Some(String::new()),
                }]),
            )
        })
        .collect();
    (Some(keys), Some(bindings))
}

/// Container TCP port → the port the engine published it on (IPv4 first), from a
/// container's inspected `NetworkSettings.Ports`.
pub(super) fn published_from(ports: &PortMap) -> BTreeMap<u16, u16> {
    let mut published = BTreeMap::new();
    for (key, bindings) in ports {
        let Some(port) = key.strip_suffix("/tcp").and_then(|p| p.parse::<u16>().ok()) else {
            continue;
        };
        let bindings = bindings.as_deref().unwrap_or_default();
        let ipv4_first = bindings
            .iter()
            .filter(|b| b.host_ip.as_deref().is_none_or(|ip| !ip.contains(':')))
            .chain(bindings.iter());
        if let Some(host_port) = ipv4_first
            .filter_map(|b| b.host_port.as_deref()?.parse::<u16>().ok())
            .find(|p| *p > 0)
        {
            published.insert(port, host_port);
        }
    }
    published
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use bollard::models::PortBinding;

    #[test]
    fn publishes_each_probed_port_on_an_ephemeral_port_of_the_address_given() {
        let loopback = "127.0.0.1".parse().unwrap();
        assert_eq!(super::port_bindings(&[], loopback), (None, None));
        let (exposed, bindings) = super::port_bindings(&[80, 3306], loopback);
        assert_eq!(exposed, Some(vec!["80/tcp".into(), "3306/tcp".into()]));
        let any = Some(vec![PortBinding {
            host_ip: Some("127.0.0.1".into()),
            host_port: Some(String::new()),
        }]);
        assert_eq!(
            bindings,
            Some(HashMap::from([
                ("80/tcp".to_string(), any.clone()),
                ("3306/tcp".to_string(), any),
            ]))
        );
    }

    #[test]
    fn reads_the_ports_the_engine_published() {
        let binding = |ip: &str, port: &str| PortBinding {
            host_ip: Some(ip.into()),
            host_port: Some(port.into()),
        };
        let ports = HashMap::from([
            (
                "80/tcp".to_string(),
                Some(vec![binding("::", "49154"), binding("0.0.0.0", "49153")]),
            ),
            // Exposed by the image, not published.
            ("443/tcp".to_string(), None),
            (
                "53/udp".to_string(),
                Some(vec![binding("0.0.0.0", "49155")]),
            ),
        ]);
        assert_eq!(super::published_from(&ports), BTreeMap::from([(80, 49153)]));
    }
}
