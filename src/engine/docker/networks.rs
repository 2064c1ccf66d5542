//! Networks: creating and removing a run's network, its gateway (where containers
//! reach the engine's machine), and taking a container off a network and back.

use std::collections::BTreeMap;
use std::net::IpAddr;

use bollard::models::{
    EndpointSettings, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
};

use super::call::{ignore_not_found, within};
use super::{CALL_TIMEOUT, DockerEngine};
use crate::engine::EngineError;

pub(super) async fn create(
    engine: &DockerEngine,
    name: &str,
    labels: &BTreeMap<String, String>,
) -> Result<String, EngineError> {
    let request = NetworkCreateRequest {
        name: name.to_string(),
        driver: Some("bridge".into()),
        labels: Some(labels.clone().into_iter().collect()),
        ..Default::default()
    };
    let response = within(
        "create network",
        name,
        CALL_TIMEOUT,
        engine.docker.create_network(request),
    )
    .await?;
    Ok(response.id)
}

pub(super) async fn remove(engine: &DockerEngine, id: &str) -> Result<(), EngineError> {
    ignore_not_found(
        within(
            "remove network",
            id,
            CALL_TIMEOUT,
            engine.docker.remove_network(id),
        )
        .await,
    )
}

pub(super) async fn gateway(
    engine: &DockerEngine,
    network: &str,
) -> Result<Option<IpAddr>, EngineError> {
    let inspect = within(
        "inspect network",
        network,
        CALL_TIMEOUT,
        engine.docker.inspect_network(network, None),
    )
    .await?;
    Ok(inspect
        .ipam
        .and_then(|ipam| ipam.config)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|config| {
            // Older engines leave the gateway out of the default bridge's
            // configuration; it is then the subnet's first address.
            config
                .gateway
                .and_then(|gateway| gateway.parse::<IpAddr>().ok())
                .or_else(|| config.subnet.as_deref().and_then(first_address))
        })
        // The IPv4 gateway first: the package cache listens on IPv4.
        .min_by_key(|gateway| gateway.is_ipv6()))
}

pub(super) async fn disconnect(
    engine: &DockerEngine,
    id: &str,
    network: &str,
) -> Result<(), EngineError> {
    let request = NetworkDisconnectRequest {
        container: id.to_string(),
        force: Some(true),
    };
    within(
        "disconnect container from network",
        &format!("{id} from {network}"),
        CALL_TIMEOUT,
        engine.docker.disconnect_network(network, request),
    )
    .await
}

pub(super) async fn connect(
    engine: &DockerEngine,
    id: &str,
    network: &str,
    aliases: &[String],
) -> Result<(), EngineError> {
    // The same endpoint settings as at creation (`run_container`): the host answers
    // to its name and aliases again.
    let request = NetworkConnectRequest {
        container: id.to_string(),
        endpoint_config: Some(EndpointSettings {
            aliases: Some(aliases.to_vec()),
            ..Default::default()
        }),
    };
    within(
        "connect container to network",
        &format!("{id} to {network}"),
        CALL_TIMEOUT,
        engine.docker.connect_network(network, request),
    )
    .await
}

/// The first host address of an IPv4 subnet (`172.17.0.0/16` → `172.17.0.1`).
fn first_address(subnet: &str) -> Option<IpAddr> {
    let (network, _) = subnet.split_once('/')?;
    let network: std::net::Ipv4Addr = network.parse().ok()?;
    Some(IpAddr::V4(std::net::Ipv4Addr::from(
        u32::from(network).checked_add(1)?,
    )))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_subnet_s_gateway_is_its_first_address() {
        assert_eq!(
            super::first_address("172.17.0.0/16"),
            Some("172.17.0.1".parse().unwrap())
        );
        assert_eq!(super::first_address("fd00::/64"), None);
    }
}
