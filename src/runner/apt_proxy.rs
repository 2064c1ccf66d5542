//! Points each host's apt at the package cache once it is up, so what the steps install
//! or upgrade comes through the cache too, and takes that setting away from a replica
//! kept with `--keep` (the cache ends with this process).

use std::net::IpAddr;
use std::time::Duration;

use super::{Rehearsal, RunError, RunOptions};
use crate::apt_cache::AptProxy;
use crate::engine::Engine;

/// The apt configuration file the hosts get.
const PROXY_CONF: &str = "/etc/apt/apt.conf.d/00rehearse-proxy";
const EXEC_TIMEOUT: Duration = Duration::from_secs(30);

/// Write [`PROXY_CONF`] in host container `id`, on the run's network `network`, when
/// apt goes through a proxy.
pub(super) async fn configure_host<E: Engine>(
    r: &Rehearsal<'_, E>,
    id: &str,
    network: &str,
) -> Result<(), RunError> {
    let Some(proxy) = &r.options.build.apt_proxy else {
        return Ok(());
    };
    // The hosts reach this machine at their network's gateway.
    let gateway = match proxy {
        AptProxy::Builtin { .. } => r
            .engine
            .network_gateway(network)
            .await?
            .unwrap_or(crate::images::DEFAULT_BRIDGE_GATEWAY),
        AptProxy::External { .. } => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    };
    let conf: String = proxy
        .apt_options(gateway)
        .iter()
        .map(|option| format!("{option};\n"))
        .collect();
    let script = format!("mkdir -p /etc/apt/apt.conf.d && printf '%s' \"$1\" > {PROXY_CONF}");
    let argv = [
        "/bin/sh".to_string(),
        "-c".to_string(),
        script,
        "sh".to_string(),
        conf,
    ];
    let output = r.engine.exec(id, &argv, EXEC_TIMEOUT).await?;
    if output.exit_code != 0 {
        // Without it the host still reaches the mirror directly: worth a warning only.
        eprintln!(
            "warning: cannot point the apt of container {id} at the package cache: {}",
            output.stderr.trim()
        );
    }
    Ok(())
}

/// Remove [`PROXY_CONF`] from the hosts of a kept replica: the built-in cache stops
/// with this process, and apt in the kept hosts must still work.
pub(super) async fn forget_proxy<E: Engine>(
    engine: &E,
    options: &RunOptions,
    hosts: &[(String, String)],
) {
    if !matches!(options.build.apt_proxy, Some(AptProxy::Builtin { .. })) {
        return;
    }
    let argv = ["rm".to_string(), "-f".to_string(), PROXY_CONF.to_string()];
    for (host, id) in hosts {
        match engine.exec(id, &argv, EXEC_TIMEOUT).await {
            Ok(output) if output.exit_code == 0 => {}
            Ok(output) => eprintln!(
                "warning: cannot remove `{PROXY_CONF}` from kept host `{host}`: {}",
                output.stderr.trim()
            ),
            Err(e) => {
                eprintln!("warning: cannot remove `{PROXY_CONF}` from kept host `{host}`: {e}")
            }
        }
    }
}
