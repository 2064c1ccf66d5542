//! `tcp` probe: a TCP connect to the host's port.

use tokio::net::TcpStream;

use super::{Attempt, Evidence, ProbeTarget};
use crate::scenario::TcpProbe;

pub async fn attempt(probe: &TcpProbe, target: ProbeTarget) -> Attempt {
    let address = target.address;
    let note = target.note();
    let mut attempt = match tokio::time::timeout(probe.timeout, TcpStream::connect(address)).await {
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
    };
    attempt.evidence.summary.push_str(&note);
    attempt
}
