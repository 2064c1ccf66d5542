//! `tcp` probe: a TCP connect to the host's port.

use std::net::SocketAddr;

use tokio::net::TcpStream;

use super::{Attempt, Evidence, ReachableHost};
use crate::scenario::TcpProbe;

pub async fn attempt(probe: &TcpProbe, host: &ReachableHost) -> Attempt {
    let address = SocketAddr::new(host.address, probe.port);
    match tokio::time::timeout(probe.timeout, TcpStream::connect(address)).await {
        Ok(Ok(_)) => Attempt::pass(Evidence {
            summary: format!("connected to {address}"),
            ..Evidence::default()
        }),
        Ok(Err(e)) => Attempt::fail(Evidence {
            summary: format!("cannot connect to {address}: {e}"),
            ..Evidence::default()
        }),
        Err(_) => Attempt::fail(Evidence {
            summary: format!(
                "no connection to {address} within {}",
                humantime::format_duration(probe.timeout)
            ),
            ..Evidence::default()
        }),
    }
}
