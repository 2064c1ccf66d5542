//! Apache's side of the cutover: `ProxyPass`/`ProxyPassReverse` inserted into the old
//! virtual host, the proxy modules enabled, `apache2ctl configtest`, graceful reload.

use super::{Cutover, StepContext, TIMEOUT, run_command};
use crate::engine::Engine;
use crate::runner::host_files;
use crate::runner::steps::upgrade::checks::apache_configtest_failed;
use crate::scenario::WebServer;

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

pub(super) async fn cutover<E: Engine>(
    c: &Cutover<'_>,
    cx: &mut StepContext<'_, E>,
) -> Result<String, String> {
    let (step, old, vhost_file) = (c.step, c.old.as_str(), c.site_file.as_str());
    cx.progress(format!("{}: adding the proxy to {vhost_file}", step.from));
    let vhost = host_files::read(cx.engine, old, vhost_file)
        .await
        .map_err(|e| e.to_string())?;
    let directives = step
        .proxy_config
        .clone()
        .unwrap_or_else(|| default_proxy_config(&step.site));
    let updated = insert_into_vhost(&vhost, &directives, &c.note()).ok_or_else(|| {
        format!(
            "`{vhost_file}` on `{}` has no <VirtualHost> block",
            step.from
        )
    })?;
    // What a failed test puts back: the site file, and the modules enabled for the proxy.
    let mut enabled_here = Vec::new();
    for module in PROXY_MODULES {
        let probe = [
            "test",
            "-e",
            &format!("/etc/apache2/mods-enabled/{module}.load"),
        ];
        if run_command(cx.engine, old, &probe).await.is_err() {
            enabled_here.push(module);
        }
    }
    host_files::write(cx.engine, old, vhost_file, &updated)
        .await
        .map_err(|e| e.to_string())?;

    let mut enable = vec!["a2enmod", "-q"];
    enable.extend(PROXY_MODULES);
    run_command(cx.engine, old, &enable).await?;
    let test = cx
        .engine
        .exec(
            old,
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
            &crate::findings::CUTOVER_CONFIGTEST_FAILED,
            &step.from,
            "with the proxy configuration",
            output,
        );
        let detail = finding.message.clone();
        cx.report_finding(finding);
        let restored = restore(c, cx, &vhost, &enabled_here).await;
        return Err(format!(
            "{detail}; Apache was not reloaded, the old site still serves; {restored}"
        ));
    }
    run_command(cx.engine, old, &["systemctl", "reload", "apache2"]).await?;
    Ok(c.summary(WebServer::Apache))
}

/// The modules the default proxy configuration needs.
const PROXY_MODULES: [&str; 2] = ["proxy", "proxy_http"];

/// Puts the site file and the modules back as they were before a failed cutover, and
/// says whether Apache's configuration test passes again (so that the next restart or
/// reboot of Apache does not take the old site down).
async fn restore<E: Engine>(
    c: &Cutover<'_>,
    cx: &mut StepContext<'_, E>,
    original: &str,
    enabled_here: &[&str],
) -> String {
    let (old, vhost_file) = (c.old.as_str(), c.site_file.as_str());
    cx.progress(format!("{}: putting {vhost_file} back", c.step.from));
    if let Err(e) = host_files::write(cx.engine, old, vhost_file, original).await {
        return format!("putting `{vhost_file}` back failed: {e}");
    }
    let mut what = format!("`{vhost_file}`");
    if !enabled_here.is_empty() {
        let mut disable = vec!["a2dismod", "-q", "-f"];
        disable.extend(enabled_here);
        if let Err(e) = run_command(cx.engine, old, &disable).await {
            return format!("`{vhost_file}` was restored, disabling the proxy modules failed: {e}");
        }
        what.push_str(&format!(
            ", the modules it enabled ({})",
            enabled_here.join(", ")
        ));
    }
    let argv = ["apache2ctl".to_string(), "configtest".into()];
    match cx.engine.exec(old, &argv, TIMEOUT).await {
        Ok(test) if test.exit_code == 0 => {
            format!("{what} and /etc/hosts were restored and `apache2ctl configtest` passes again")
        }
        Ok(test) => format!(
            "{what} and /etc/hosts were restored, but `apache2ctl configtest` still fails: {}",
            format!("{}{}", test.stdout, test.stderr).trim()
        ),
        Err(e) => format!(
            "{what} and /etc/hosts were restored; the configuration could not be tested again: {e}"
        ),
    }
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
