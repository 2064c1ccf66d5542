//! `cutover` step: the old host's web server becomes a reverse proxy to the new host, the
//! way the second story does it — the site's name pointed at the new host in the old
//! host's `/etc/hosts`, the proxy configuration put into the site's file, the
//! configuration tested, and a graceful reload. A failing configuration test stops the
//! cutover (the old site keeps serving) and is an inhibitor naming the directive.
//!
//! What is common to both servers lives here; [`apache`] and [`nginx`] edit their own
//! configuration, and [`nginx_conf`] reads nginx's syntax.

mod apache;
mod nginx;
mod nginx_conf;

use std::net::IpAddr;
use std::time::Duration;

use super::{StepContext, StepResult};
use crate::engine::Engine;
use crate::runner::host_files;
use crate::scenario::WebServer;

use super::RunStep;
use crate::scenario::decode_fields;
use crate::scenario::format::{AbsolutePath, HostRef, Hostname, Opt};
use crate::scenario::{StepInput, StepSpec, two_hosts};
use crate::yaml::Node;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// The second story's move: the old host's web server becomes a reverse proxy to the new
/// host. On the old host the site's name is pointed at the new host in `/etc/hosts`, the
/// proxy configuration goes into the site's file, the configuration is tested, and the
/// server reloads gracefully.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CutoverStep {
    /// The host whose web server becomes the proxy.
    #[serde(with = "HostRef")]
    pub from: String,
    /// The host that serves the site from now on.
    #[serde(with = "HostRef")]
    pub to: String,
    /// The site's name, resolved to `to` on `from`.
    #[serde(with = "Hostname")]
    pub site: String,
    /// The web server on `from`; `None`: whichever of Apache and nginx is active there.
    #[serde(default)]
    pub server: Option<WebServer>,
    /// The site's file on `from` that gets the proxy configuration; `None`: the server's
    /// default site ([`WebServer::default_site_file`]).
    #[serde(default, with = "Opt::<AbsolutePath>")]
    pub vhost_file: Option<String>,
    /// Configuration to use instead of the default one (e.g. an admin's own procedure):
    /// Apache directives inserted into the virtual host, or what replaces the body of
    /// nginx's server block.
    #[serde(default)]
    pub proxy_config: Option<String>,
}

impl StepSpec for CutoverStep {
    const KIND: &'static str = "cutover";

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(120)
    }

    fn derived_name(&self) -> String {
        format!("cutover {} → {}", self.from, self.to)
    }

    fn decode(input: &StepInput<'_>, body: &Spanned<Node>) -> Option<Self> {
        let step: Self = decode_fields(input, body)?;
        two_hosts(input, body, &step.from, &step.to).then_some(step)
    }
}

impl RunStep for CutoverStep {
    const RISKY: bool = true;
    const MOMENT: bool = true;

    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        run(self, cx).await
    }
}

const TIMEOUT: Duration = Duration::from_secs(60);

pub(super) async fn run<E: Engine>(step: &CutoverStep, cx: &mut StepContext<'_, E>) -> StepResult {
    StepResult::from_outcome(cutover(step, cx).await)
}

/// The hosts a cutover works on, found once.
struct Cutover<'s> {
    step: &'s CutoverStep,
    /// The old host's container.
    old: String,
    new_address: IpAddr,
    /// The site's file on the old host.
    site_file: String,
}

async fn cutover<E: Engine>(
    step: &CutoverStep,
    cx: &mut StepContext<'_, E>,
) -> Result<String, String> {
    let old = cx
        .container(&step.from)
        .ok_or_else(|| format!("host `{}` is not running", step.from))?;
    let new_address = cx
        .state
        .hosts
        .get(&step.to)
        .map(|h| h.address)
        .ok_or_else(|| format!("host `{}` is not running", step.to))?;
    let server = web_server(step, cx.engine, &old).await?;
    let site_file = step
        .vhost_file
        .clone()
        .unwrap_or_else(|| server.default_site_file().to_string());

    // Both servers resolve the proxy's name when they load the configuration, so the
    // name must point at the new host before the test.
    cx.progress(format!(
        "{}: pointing {} at {new_address}",
        step.from, step.site
    ));
    let original_hosts = host_files::read(cx.engine, &old, "/etc/hosts")
        .await
        .map_err(|e| e.to_string())?;
    let hosts = format!(
        "{original_hosts}{new_address}\t{}\t# rehearse cutover\n",
        step.site
    );
    host_files::write(cx.engine, &old, "/etc/hosts", &hosts)
        .await
        .map_err(|e| e.to_string())?;

    let cutover = Cutover {
        step,
        old,
        new_address,
        site_file,
    };
    let outcome = match server {
        WebServer::Apache => apache::cutover(&cutover, cx).await,
        WebServer::Nginx => nginx::cutover(&cutover, cx).await,
    };
    // A cutover that did not happen leaves the host as it was: the server's side put
    // its files back; the name goes back to where it pointed.
    if outcome.is_err() {
        host_files::write(cx.engine, &cutover.old, "/etc/hosts", &original_hosts)
            .await
            .map_err(|e| {
                format!(
                    "{}; restoring /etc/hosts failed: {e}",
                    outcome.clone().unwrap_err()
                )
            })?;
    }
    outcome
}

impl Cutover<'_> {
    /// A comment put next to the proxy configuration, so a reader sees where it came from.
    fn note(&self) -> String {
        format!(
            "rehearse cutover: {} is now served by {}",
            self.step.site, self.step.to
        )
    }

    fn summary(&self, server: WebServer) -> String {
        format!(
            "`{}` proxies {} to `{}` ({}) with {}",
            self.step.from,
            self.step.site,
            self.step.to,
            self.new_address,
            server.unit()
        )
    }
}

/// The scenario's `server`, or whichever of Apache and nginx is active on the old host.
async fn web_server<E: Engine>(
    step: &CutoverStep,
    engine: &E,
    old: &str,
) -> Result<WebServer, String> {
    if let Some(server) = step.server {
        return Ok(server);
    }
    let mut active = Vec::new();
    for server in [WebServer::Apache, WebServer::Nginx] {
        let argv = ["systemctl", "is-active", "--quiet", server.unit()].map(String::from);
        let output = engine
            .exec(old, &argv, TIMEOUT)
            .await
            .map_err(|e| format!("cannot tell which web server runs on `{}`: {e}", step.from))?;
        if output.exit_code == 0 {
            active.push(server);
        }
    }
    match active[..] {
        [server] => Ok(server),
        [] => Err(format!(
            "neither apache2 nor nginx is active on `{}`: start the site's web server, or name it with `server`",
            step.from
        )),
        _ => Err(format!(
            "both apache2 and nginx are active on `{}`: name the one serving `{}` with `server`",
            step.from, step.site
        )),
    }
}

async fn run_command<E: Engine>(engine: &E, container: &str, argv: &[&str]) -> Result<(), String> {
    let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    let output = engine
        .exec(container, &argv, TIMEOUT)
        .await
        .map_err(|e| format!("`{}`: {e}", argv.join(" ")))?;
    if output.exit_code != 0 {
        return Err(format!(
            "`{}` exited with {}: {}",
            argv.join(" "),
            output.exit_code,
            format!("{}{}", output.stdout, output.stderr).trim()
        ));
    }
    Ok(())
}
