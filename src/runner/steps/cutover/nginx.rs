//! nginx's side of the cutover: the site's server block(s) rewritten into a proxy (see
//! [`nginx_conf::proxy_site`]), the original kept outside `sites-enabled`, `nginx -t`,
//! graceful reload. A failing test puts the original file back before anything reloads.

use super::nginx_conf::{self, default_proxy_config};
use super::{Cutover, StepContext, TIMEOUT, run_command};
use crate::engine::Engine;
use crate::model::Finding;
use crate::runner::host_files;
use crate::scenario::WebServer;

/// Where the site file's original goes: not beside it, since nginx loads every file in
/// `sites-enabled`, and a second copy of the site there would clash with the first.
const BACKUP_DIR: &str = "/var/backups/rehearse";

/// `/etc/nginx/sites-enabled/default` → `/var/backups/rehearse/etc_nginx_sites-enabled_default.before-cutover`.
pub fn backup_path(site_file: &str) -> String {
    format!(
        "{BACKUP_DIR}/{}.before-cutover",
        site_file.trim_start_matches('/').replace('/', "_")
    )
}

pub(super) async fn cutover<E: Engine>(
    c: &Cutover<'_>,
    cx: &mut StepContext<'_, E>,
) -> Result<String, String> {
    let (step, old, site_file) = (c.step, c.old.as_str(), c.site_file.as_str());
    cx.progress(format!("{}: turning {site_file} into a proxy", step.from));
    let original = host_files::read(cx.engine, old, site_file)
        .await
        .map_err(|e| e.to_string())?;
    let body = step
        .proxy_config
        .clone()
        .unwrap_or_else(|| default_proxy_config(&step.site));
    let updated = nginx_conf::proxy_site(&original, &step.site, &body, &c.note())
        .map_err(|e| format!("cannot rewrite `{site_file}` on `{}`: {e}", step.from))?;
    let backup = backup_path(site_file);
    run_command(cx.engine, old, &["mkdir", "-p", BACKUP_DIR]).await?;
    host_files::write(cx.engine, old, &backup, &original)
        .await
        .map_err(|e| e.to_string())?;
    host_files::write(cx.engine, old, site_file, &updated)
        .await
        .map_err(|e| e.to_string())?;

    let argv = ["nginx".to_string(), "-t".into()];
    let test = match cx.engine.exec(old, &argv, TIMEOUT).await {
        Ok(test) => test,
        Err(e) => {
            host_files::write(cx.engine, old, site_file, &original)
                .await
                .map_err(|e| e.to_string())?;
            return Err(format!(
                "cannot test nginx's configuration on `{}`: {e}",
                step.from
            ));
        }
    };
    if test.exit_code != 0 {
        host_files::write(cx.engine, old, site_file, &original)
            .await
            .map_err(|e| e.to_string())?;
        let output: Vec<String> = format!("{}{}", test.stdout, test.stderr)
            .lines()
            .map(str::to_string)
            .collect();
        let finding = configtest_failed(&step.from, site_file, &updated, output);
        let detail = finding.message.clone();
        cx.report_finding(finding);
        return Err(format!(
            "{detail}; nginx was not reloaded and `{site_file}` was restored, the old site still serves"
        ));
    }
    run_command(cx.engine, old, &["systemctl", "reload", "nginx"]).await?;
    Ok(format!(
        "{}; the original `{site_file}` is kept as `{backup}`",
        c.summary(WebServer::Nginx)
    ))
}

/// `nginx -t` failed with the proxy configuration: name the directive nginx names, and
/// show the line it points at in the rewritten site file (which is restored since).
pub fn configtest_failed(
    host: &str,
    site_file: &str,
    written: &str,
    output: Vec<String>,
) -> Finding {
    // `nginx: [emerg] unknown directive "x" in FILE:9` before nginx opens its error log,
    // `2026/11/22 02:51:17 [emerg] 134#134: unknown directive "x" in FILE:9` after.
    let problem = output
        .iter()
        .find_map(|l| {
            ["[emerg] ", "[alert] ", "[crit] "]
                .iter()
                .find_map(|level| l.split_once(level).map(|(_, rest)| without_pid(rest)))
        })
        .or_else(|| output.first().map(|l| l.trim()))
        .unwrap_or("no output")
        .to_string();
    let mut evidence = output;
    let mut message =
        format!("nginx's configuration test fails with the proxy configuration: {problem}");
    let line = problem
        .rsplit_once(" in ")
        .and_then(|(_, at)| at.rsplit_once(':'))
        .filter(|(file, _)| *file == site_file)
        .and_then(|(_, line)| line.parse::<usize>().ok())
        .and_then(|n| Some((n, written.lines().nth(n.checked_sub(1)?)?.trim())));
    if let Some((n, text)) = line {
        message.push_str(&format!(" (`{text}`)"));
        evidence.push(format!("{site_file}:{n}: {text}"));
    }
    crate::findings::CUTOVER_CONFIGTEST_FAILED.found_with(
        host,
        message,
        "fix the directive `nginx -t` names (in the step's `proxy_config` when it has one); the site file was restored and the old site keeps serving until the test passes".to_string(),
        evidence,
    )
}

/// `134#134: message` → `message`: the process and thread ids say nothing to a reader.
fn without_pid(text: &str) -> &str {
    let text = text.trim();
    match text.split_once(": ") {
        Some((ids, rest))
            if ids.split('#').count() == 2
                && ids
                    .split('#')
                    .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            rest
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backup_lives_outside_sites_enabled() {
        assert_eq!(
            backup_path("/etc/nginx/sites-enabled/default"),
            "/var/backups/rehearse/etc_nginx_sites-enabled_default.before-cutover"
        );
    }

    #[test]
    fn a_failing_test_names_the_directive_and_its_line() {
        let written = "server {\n    listen 80;\n    # note\n    proxy_bogus on;\n}\n";
        let output = vec![
            "nginx: [warn] conflicting server name \"_\" on 0.0.0.0:80, ignored".to_string(),
            "nginx: [emerg] unknown directive \"proxy_bogus\" in /etc/nginx/sites-enabled/default:4".to_string(),
            "nginx: configuration file /etc/nginx/nginx.conf test failed".to_string(),
        ];
        let finding = configtest_failed("old", "/etc/nginx/sites-enabled/default", written, output);
        assert_eq!(finding.key, "cutover.configtest-failed");
        assert!(finding.inhibitor);
        assert_eq!(finding.host.as_deref(), Some("old"));
        assert_eq!(
            finding.message,
            "nginx's configuration test fails with the proxy configuration: unknown directive \"proxy_bogus\" in /etc/nginx/sites-enabled/default:4 (`proxy_bogus on;`)"
        );
        assert_eq!(
            finding.evidence.last().map(String::as_str),
            Some("/etc/nginx/sites-enabled/default:4: proxy_bogus on;")
        );
    }

    #[test]
    fn the_error_log_format_loses_its_process_ids() {
        let output = vec![
            "2026/11/22 02:51:17 [emerg] 134#134: unknown directive \"proxy_set_heder\" in /etc/nginx/sites-enabled/default:2".to_string(),
            "nginx: configuration file /etc/nginx/nginx.conf test failed".to_string(),
        ];
        let finding = configtest_failed(
            "old",
            "/etc/nginx/sites-enabled/default",
            "server {\n    proxy_set_heder Host $host;\n}\n",
            output,
        );
        assert_eq!(
            finding.message,
            "nginx's configuration test fails with the proxy configuration: unknown directive \"proxy_set_heder\" in /etc/nginx/sites-enabled/default:2 (`proxy_set_heder Host $host;`)"
        );
        assert_eq!(without_pid("12: a: b"), "12: a: b");
    }

    #[test]
    fn a_failure_elsewhere_is_named_without_a_line() {
        let output = vec![
            "nginx: [emerg] host not found in upstream \"notes.example.test\" in /etc/nginx/conf.d/x.conf:3".to_string(),
        ];
        let finding = configtest_failed("old", "/etc/nginx/sites-enabled/default", "", output);
        assert_eq!(
            finding.message,
            "nginx's configuration test fails with the proxy configuration: host not found in upstream \"notes.example.test\" in /etc/nginx/conf.d/x.conf:3"
        );
        assert_eq!(finding.evidence.len(), 1);
    }
}
