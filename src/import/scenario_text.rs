//! The text of an imported scenario: the host from the imported recipe, probes derived
//! from what it serves, a baseline, the upgrade to the next release, a final check.

use std::collections::BTreeSet;

use super::plan::{ImportPlan, shell_quote};
use super::recipe_text::{comment_block, quoted};
use crate::capture::bundle::Bundle;

/// One probe of the scenario: its name and its YAML body (indented under the name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedProbe {
    pub name: String,
    pub body: String,
}

fn probe_name(prefix: &str, text: &str) -> String {
    let cleaned: String = text
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{prefix}-{}", cleaned.trim_matches('-'))
}

fn is_loopback(address: &str) -> bool {
    address.starts_with("127.") || address == "::1"
}

/// The probes of an imported scenario, the host's aliases, and the listening ports
/// left unprobed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProbePlan {
    pub probes: Vec<PlannedProbe>,
    pub aliases: Vec<String>,
    /// `port (address)` of sockets no process of the host was seen owning: a
    /// container engine's DNS (`127.0.0.11`), or a capture without root.
    pub unprobed_ports: Vec<String>,
}

/// Probes for what the host serves: every plain-HTTP virtual host, every listening
/// port of a process, every running service. Vhost names also become the host's aliases.
pub fn planned_probes(bundle: &Bundle, host: &str) -> ProbePlan {
    let mut unprobed_ports = Vec::new();
    let mut probes = Vec::new();
    let mut aliases = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let servers = [&bundle.web.apache, &bundle.web.nginx];
    for vhost in servers
        .iter()
        .filter_map(|s| s.as_ref())
        .flat_map(|s| &s.vhosts)
    {
        if vhost.tls {
            // The HTTPS side is covered by the TCP probe of its port.
            continue;
        }
        let name = vhost.server_name.clone();
        if !seen.insert((name.clone(), vhost.port)) {
            continue;
        }
        if let Some(name) = &name {
            aliases.insert(name.clone());
            aliases.extend(vhost.aliases.iter().cloned());
        }
        let label = match &name {
            Some(name) if vhost.port == 80 => name.clone(),
            Some(name) => format!("{name}-{}", vhost.port),
            None => format!("default-{}", vhost.port),
        };
        let mut body = format!("    http:\n      host: {host}\n");
        if let Some(name) = &name {
            body.push_str(&format!("      vhost: {}\n", quoted(name)));
        }
        body.push_str(&format!(
            "      port: {}\n      path: /\n      expect: {{status_below: 500}}\n    retry: {{interval: 1s, deadline: 60s}}\n",
            vhost.port
        ));
        probes.push(PlannedProbe {
            name: probe_name("http", &label),
            body,
        });
    }
    let mut ports = BTreeSet::new();
    for port in &bundle.ports {
        if port.process.is_none() {
            // Nothing on the host serves it that the replica would run.
            unprobed_ports.push(format!("{} ({})", port.port, port.address));
            continue;
        }
        // One probe per port: reachable from outside if any address is.
        if !ports.insert(port.port) {
            continue;
        }
        let outside = bundle
            .ports
            .iter()
            .any(|p| p.port == port.port && p.process.is_some() && !is_loopback(&p.address));
        let body = if outside {
            format!("    tcp: {{host: {host}, port: {}}}\n", port.port)
        } else {
            // Loopback only: connect from inside the host, to the address it listens on.
            let address = &port.address;
            format!(
                "    exec:\n      host: {host}\n      command: {}\n",
                quoted(&format!(
                    "timeout 5 bash -c {}",
                    shell_quote(&format!("exec 3<>/dev/tcp/{address}/{}", port.port))
                ))
            )
        };
        probes.push(PlannedProbe {
            name: format!("port-{}", port.port),
            body: format!("{body}    retry: {{interval: 1s, deadline: 60s}}\n"),
        });
    }
    for unit in &bundle.units.running {
        probes.push(PlannedProbe {
            name: probe_name("service", unit.trim_end_matches(".service")),
            body: format!(
                "    exec:\n      host: {host}\n      command: {}\n    retry: {{interval: 1s, deadline: 60s}}\n",
                quoted(&format!("systemctl is-active {}", shell_quote(unit)))
            ),
        });
    }
    ProbePlan {
        probes,
        aliases: aliases.into_iter().collect(),
        unprobed_ports,
    }
}

/// The scenario text.
pub fn scenario_text(bundle: &Bundle, plan: &ImportPlan) -> String {
    let host = &plan.name;
    let ProbePlan {
        probes,
        aliases,
        unprobed_ports,
    } = planned_probes(bundle, host);
    let mut out = String::new();
    let mut header = vec![
        format!(
            "Imported by `rehearse import` from the capture of `{}` ({}).",
            bundle.host.hostname, bundle.host.os.pretty_name
        ),
        format!("Rehearse: rehearse run scenarios/{}.yaml", plan.name),
        String::new(),
        "Probes come from what the host served when captured: each plain-HTTP virtual host".into(),
        "(any answer but a server error), each listening port, each running service.".into(),
        format!(
            "What the replica does not reproduce is listed in images/{}/recipe.yaml.",
            plan.name
        ),
    ];
    if !unprobed_ports.is_empty() {
        header.push(format!(
            "Listening ports no process of the host was seen owning, not probed: {}.",
            unprobed_ports.join(", ")
        ));
    }
    if plan.suite == "buster" || plan.suite == "stretch" || plan.suite == "jessie" {
        header.push(format!(
            "`{}` is on archive.debian.org only: run with --mirror http://archive.debian.org/debian --security-mirror http://archive.debian.org/debian-security",
            plan.suite
        ));
    }
    comment_block(&mut out, &header);
    out.push_str(&format!("name: {}\n", plan.name));
    out.push_str(&format!(
        "description: {}\n\n",
        quoted(&format!(
            "{} ({}) as captured, upgraded to the next Debian release",
            bundle.host.hostname, bundle.host.os.pretty_name
        ))
    ));
    out.push_str(&format!("hosts:\n  {host}:\n    image: {}\n", plan.name));
    if !aliases.is_empty() {
        let aliases: Vec<String> = aliases.iter().map(|a| quoted(a)).collect();
        out.push_str(&format!("    aliases: [{}]\n", aliases.join(", ")));
    }
    let names: Vec<String> = probes.iter().map(|p| p.name.clone()).collect();
    if !probes.is_empty() {
        out.push_str("\nprobes:\n");
        for probe in &probes {
            out.push_str(&format!("  {}:\n{}", probe.name, probe.body));
        }
    }
    out.push_str("\nsteps:\n");
    let probe_list = format!("[{}]", names.join(", "));
    if names.is_empty() {
        out.push_str("  - name: baseline\n    exec: {host: ");
        out.push_str(host);
        out.push_str(", command: systemctl is-system-running --wait}\n");
    } else {
        out.push_str(&format!("  - name: baseline\n    probe: {probe_list}\n"));
    }
    if let Some(next) = &plan.next_suite {
        out.push_str(&format!(
            "  - name: upgrade to {next}\n    upgrade:\n      host: {host}\n      to: {next}\n"
        ));
        if !names.is_empty() {
            out.push_str(&format!("      probes: {probe_list}\n"));
            out.push_str(&format!(
                "  - name: after the upgrade\n    probe: {probe_list}\n"
            ));
        }
    }
    out
}
