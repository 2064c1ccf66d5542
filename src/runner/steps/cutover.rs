//! `cutover` step: the old host's Apache becomes a reverse proxy to the new host, the
//! way the second story does it — the site's name pointed at the new host in the old
//! host's `/etc/hosts`, `ProxyPass`/`ProxyPassReverse` in the old virtual host, the proxy
//! modules enabled, the configuration tested, and a graceful reload. A failing
//! configuration test stops the cutover (the old site keeps serving) and is an
//! inhibitor naming the directive.

use std::time::Duration;

use super::{StepContext, StepResult};
use crate::engine::Engine;
use crate::probe::Evidence;
use crate::runner::host_files;
use crate::runner::steps::upgrade::checks::apache_configtest_failed;
use crate::scenario::CutoverStep;

const TIMEOUT: Duration = Duration::from_secs(60);

/// The directives the old virtual host gets by default.
pub fn default_proxy_config(site: &str) -> String {
    format!("ProxyPreserveHost On\nProxyPass / http://{site}/\nProxyPassReverse / http://{site}/\n")
}

/// Insert directives before the last `</VirtualHost>`, marked so a reader sees where they
/// came from. `None` when the file has no virtual host.
pub fn insert_into_vhost(vhost: &str, directives: &str, note: &str) -> Option<String> {
    let at = vhost.rfind("</VirtualHost>")?;
    let mut block = format!("\t# {note}\n");
    for line in directives.lines() {
        block.push('\t');
        block.push_str(line);
        block.push('\n');
    }
    let mut text = vhost[..at].to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&block);
    text.push_str(&vhost[at..]);
    Some(text)
}

pub(super) async fn run<E: Engine>(step: &CutoverStep, cx: &mut StepContext<'_, E>) -> StepResult {
    match cutover(step, cx).await {
        Ok(summary) => StepResult {
            passed: true,
            detail: Some(summary.clone()),
            evidence: Some(Evidence {
                summary,
                ..Evidence::default()
            }),
            ..StepResult::default()
        },
        Err(detail) => StepResult::failed(detail),
    }
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

    cx.progress(format!(
        "{}: pointing {} at {new_address}",
        step.from, step.site
    ));
    let hosts = host_files::read(cx.engine, &old, "/etc/hosts").await?;
    let hosts = format!("{hosts}{new_address}\t{}\t# rehearse cutover\n", step.site);
    host_files::write(cx.engine, &old, "/etc/hosts", &hosts).await?;

    cx.progress(format!(
        "{}: adding the proxy to {}",
        step.from, step.vhost_file
    ));
    let vhost = host_files::read(cx.engine, &old, &step.vhost_file).await?;
    let directives = step
        .proxy_config
        .clone()
        .unwrap_or_else(|| default_proxy_config(&step.site));
    let note = format!(
        "rehearse cutover: {} is now served by {}",
        step.site, step.to
    );
    let updated = insert_into_vhost(&vhost, &directives, &note).ok_or_else(|| {
        format!(
            "`{}` on `{}` has no <VirtualHost> block",
            step.vhost_file, step.from
        )
    })?;
    host_files::write(cx.engine, &old, &step.vhost_file, &updated).await?;

    run_command(cx.engine, &old, &["a2enmod", "-q", "proxy", "proxy_http"]).await?;
    let test = cx
        .engine
        .exec(
            &old,
            &["apache2ctl".to_string(), "configtest".into()],
            TIMEOUT,
        )
        .await
        .map_err(|e| format!("cannot test Apache's configuration on `{}`: {e}", step.from))?;
    if test.exit_code != 0 {
        let output: Vec<String> = format!("{}{}", test.stdout, test.stderr)
            .lines()
            .filter(|l| {
                !l.contains("Could not reliably determine the server's fully qualified domain name")
            })
            .map(str::to_string)
            .collect();
        let finding = apache_configtest_failed(
            "cutover.configtest-failed",
            &step.from,
            "with the proxy configuration",
            output,
        );
        let detail = finding.message.clone();
        cx.report_finding(finding);
        return Err(format!(
            "{detail}; Apache was not reloaded, the old site still serves"
        ));
    }
    run_command(cx.engine, &old, &["systemctl", "reload", "apache2"]).await?;
    Ok(format!(
        "`{}` proxies {} to `{}` ({new_address})",
        step.from, step.site, step.to
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_go_inside_the_last_virtual_host() {
        let vhost = "<VirtualHost *:80>\n\tDocumentRoot /var/www/html\n</VirtualHost>\n";
        let text =
            insert_into_vhost(vhost, &default_proxy_config("www.example.test"), "note").unwrap();
        assert_eq!(
            text,
            "<VirtualHost *:80>\n\tDocumentRoot /var/www/html\n\t# note\n\tProxyPreserveHost On\n\tProxyPass / http://www.example.test/\n\tProxyPassReverse / http://www.example.test/\n</VirtualHost>\n"
        );
        assert!(insert_into_vhost("ServerName x\n", "ProxyPass / http://x/", "note").is_none());
    }
}
