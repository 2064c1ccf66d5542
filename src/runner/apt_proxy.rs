//! Points each host's apt at the package cache once it is up, so what the steps install
//! or upgrade comes through the cache too, and takes that setting away from a replica
//! kept with `--keep` (the cache ends with this process).

use std::net::IpAddr;
use std::time::Duration;

use super::{EventSink, Rehearsal, RunError, RunEvent, RunOptions};
use crate::apt_cache::AptProxy;
use crate::engine::Engine;

/// The apt configuration file the hosts get.
const PROXY_CONF: &str = "/etc/apt/apt.conf.d/00rehearse-proxy";
const EXEC_TIMEOUT: Duration = Duration::from_secs(30);

/// Write [`PROXY_CONF`] in host container `id`, on the run's network `network`, when
/// apt goes through a proxy. Returns a warning for the user when the host cannot use it.
pub(super) async fn configure_host<E: Engine>(
    r: &Rehearsal<'_, E>,
    id: &str,
    network: &str,
) -> Result<Option<String>, RunError> {
    let Some(proxy) = &r.options.build.apt_proxy else {
        return Ok(None);
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
    // The built-in cache listens on loopback only until told where the hosts reach it;
    // without a listener there, apt is better off going to the mirrors directly.
    if let Err(e) = proxy.listen_on(gateway) {
        return Ok(Some(format!(
            "warning: {e}; the apt of container {id} goes to the mirrors directly"
        )));
    }
    let conf: String = proxy
        .apt_options(gateway)
        .iter()
        .map(|option| format!("{option};\n"))
        .collect();
    // A firewall on this machine may keep the hosts from reaching the built-in cache:
    // then apt is better off going to the mirrors directly than failing. curl (in every
    // base image) tells: any HTTP answer means the cache is reachable.
    // And when the mirror cannot be reached directly either (an engine giving its
    // containers no route out), apt would only time out later: say so now.
    let check = match proxy {
        AptProxy::Builtin { .. } => format!(
            " && if command -v curl >/dev/null 2>&1 && ! curl -s -o /dev/null --max-time 5 \"$2\"; then rm -f {PROXY_CONF}; echo {UNREACHABLE}; \
             curl -s -o /dev/null --max-time 5 \"$3/\" || echo {NO_ROUTE}; fi"
        ),
        AptProxy::External { .. } => String::new(),
    };
    let script =
        format!("mkdir -p /etc/apt/apt.conf.d && printf '%s' \"$1\" > {PROXY_CONF}{check}");
    let argv = [
        "/bin/sh".to_string(),
        "-c".to_string(),
        script,
        "sh".to_string(),
        conf,
        proxy.url(gateway),
        r.options.build.mirror.clone(),
    ];
    let output = r.engine.exec(id, &argv, EXEC_TIMEOUT).await?;
    let warning = if output.exit_code != 0 {
        // Without it the host still reaches the mirror directly: worth a warning only.
        format!(
            "warning: cannot point the apt of container {id} at the package cache: {}",
            output.stderr.trim()
        )
    } else if output.stdout.contains(NO_ROUTE) {
        format!(
            "warning: container {id} can reach neither the package cache at {} nor the mirror {}: \
             apt in it will fail. The engine gives containers no route out, and a firewall on this \
             machine keeps them from the cache: let the engine's bridge reach this machine on port {}",
            proxy.url(gateway),
            r.options.build.mirror,
            match proxy {
                AptProxy::Builtin { port, .. } => *port,
                AptProxy::External { .. } => 0,
            },
        )
    } else if output.stdout.contains(UNREACHABLE) {
        format!(
            "warning: container {id} cannot reach the package cache at {} (a firewall on this machine?); its apt goes to the mirrors directly",
            proxy.url(gateway)
        )
    } else {
        return Ok(None);
    };
    Ok(Some(warning))
}

/// What the setup script prints when the host cannot reach the cache.
const UNREACHABLE: &str = "rehearse-apt-cache-unreachable";
/// What it prints when the host cannot reach the mirror directly either.
const NO_ROUTE: &str = "rehearse-no-route-to-mirror";

/// Remove [`PROXY_CONF`] from the hosts of a kept replica: the built-in cache stops
/// with this process, and apt in the kept hosts must still work.
pub(super) async fn forget_proxy<E: Engine>(
    engine: &E,
    options: &RunOptions,
    hosts: &[(String, String)],
    sink: &mut dyn EventSink,
) {
    if !matches!(options.build.apt_proxy, Some(AptProxy::Builtin { .. })) {
        return;
    }
    let argv = ["rm".to_string(), "-f".to_string(), PROXY_CONF.to_string()];
    for (host, id) in hosts {
        match engine.exec(id, &argv, EXEC_TIMEOUT).await {
            Ok(output) if output.exit_code == 0 => {}
            Ok(output) => sink.event(&RunEvent::Notice {
                message: format!(
                    "warning: cannot remove `{PROXY_CONF}` from kept host `{host}`: {}",
                    output.stderr.trim()
                ),
            }),
            Err(e) => sink.event(&RunEvent::Notice {
                message: format!(
                    "warning: cannot remove `{PROXY_CONF}` from kept host `{host}`: {e}"
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::apt_cache::AptProxy;
    use crate::engine::fake::FakeEngine;
    use crate::images::BuildSettings;
    use crate::runner::{RunEvent, RunOptions, run};

    #[tokio::test]
    async fn hosts_go_through_the_cache_and_a_kept_replica_forgets_it() {
        let images = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(images.path().join("site")).unwrap();
        std::fs::write(
            images.path().join("site/recipe.yaml"),
            "suite: bookworm\npackages: [hello]\n",
        )
        .unwrap();
        let scenario = crate::runner::parse_scenario(
            std::path::Path::new("unit.yaml"),
            "name: unit\nhosts:\n  web: {image: site}\nsteps:\n  - exec: {host: web, command: \"true\"}\n",
        )
        .unwrap();
        let build = BuildSettings {
            images_dir: images.path().to_path_buf(),
            apt_proxy: Some(AptProxy::Builtin {
                port: 3142,
                hosts: vec!["deb.debian.org".into()],
                listeners: crate::apt_cache::Listeners::detached(),
            }),
            ..BuildSettings::default()
        };
        let mut options = RunOptions::new("unit-1".into(), build);
        options.boot_timeout = Duration::from_secs(5);
        options.keep = true;
        let engine = FakeEngine::healthy();
        run(&engine, &scenario, &options, &mut |_: &RunEvent| {})
            .await
            .unwrap();
        let calls = engine.calls();
        // The fake engine names no gateway: the default bridge's usual one is used.
        let written = calls
            .iter()
            .position(|c| {
                c.contains("> /etc/apt/apt.conf.d/00rehearse-proxy")
                    && c.contains(
                        "Acquire::http::Proxy::deb.debian.org \"http://172.17.0.1:3142/\";",
                    )
            })
            .unwrap_or_else(|| panic!("no proxy configuration written: {calls:#?}"));
        let removed = calls
            .iter()
            .position(|c| c.ends_with("rm -f /etc/apt/apt.conf.d/00rehearse-proxy"))
            .unwrap_or_else(|| panic!("the kept replica keeps the proxy: {calls:#?}"));
        assert!(written < removed);
    }
}
