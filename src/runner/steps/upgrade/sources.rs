//! APT sources on the host: read every source file, rewrite Debian's entries for the
//! next release (see [`crate::debian::sources`]), write back what changed, and report
//! what could not be rewritten.

use std::time::Duration;

use base64::Engine as _;

use super::super::StepContext;
use super::UpgradeStep;
use super::apt::CommandLog;
use crate::debian::release::Hop;
use crate::debian::sources::{
    MirrorOverride, rewrite_deb822, rewrite_list, stale_security_entries,
};
use crate::engine::Engine;
use crate::model::Finding;
use crate::runner::host_files;

/// Prints `PATH BASE64` for every source file, one per line.
pub(in crate::runner::steps) const READ_SCRIPT: &str = r#"for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  printf '%s ' "$f"; base64 -w0 "$f"; echo
done"#;

const TIMEOUT: Duration = Duration::from_secs(60);

pub(super) async fn rewrite_host<E: Engine>(
    cx: &StepContext<'_, E>,
    container: &str,
    step: &UpgradeStep,
    hop: &Hop,
    log: &mut CommandLog<'_>,
) -> Result<Vec<Finding>, String> {
    let argv = ["sh".to_string(), "-c".into(), READ_SCRIPT.into()];
    let output = cx
        .engine
        .exec(container, &argv, TIMEOUT)
        .await
        .map_err(|e| format!("cannot read the APT sources of `{}`: {e}", step.host))?;
    let files = decode_files(&output.stdout);
    if files.is_empty() {
        return Err(format!("host `{}` has no APT source files", step.host));
    }
    let mirrors = MirrorOverride {
        mirror: step.mirror.clone(),
        security_mirror: step.security_mirror.clone(),
    };
    let known = [
        cx.options.build.mirror.as_str(),
        cx.options.build.security_mirror.as_str(),
    ];
    let mut findings = Vec::new();
    let mut stale = Vec::new();
    let mut left = Vec::new();
    for (path, text) in files {
        for entry in stale_security_entries(&text, hop.from) {
            stale.push(format!("{path}:{}: {}", entry.line, entry.text));
        }
        let rewrite = if path.ends_with(".sources") {
            rewrite_deb822(&text, hop.from, hop.to, &mirrors, &known)
        } else {
            rewrite_list(&text, hop.from, hop.to, &mirrors, &known)
        };
        for entry in &rewrite.left {
            left.push(format!("{path}:{}: {}", entry.line, entry.text));
        }
        if rewrite.changes.is_empty() {
            continue;
        }
        log.line(&format!("# {path}"));
        for change in &rewrite.changes {
            log.line(&format!("#   {change}"));
        }
        host_files::write(cx.engine, container, &path, &rewrite.text)
            .await
            .map_err(|e| e.to_string())?;
    }
    if !stale.is_empty() {
        findings.push(crate::findings::STALE_SECURITY_SUITE.found_with(
            &step.host,
            format!(
                "APT names the security suite `{}/updates`, which does not exist since bullseye: the host gets no security updates",
                hop.from
            ),
            format!(
                "use `{}` (the rehearsal rewrote it for the upgrade)",
                crate::debian::release::security_suite(hop.from)
            ),
            stale,
        ));
    }
    if !left.is_empty() {
        findings.push(crate::findings::SOURCE_OLD_RELEASE.found_with(
            &step.host,
            format!(
                "{} APT source(s) not from Debian still point at {} after the rewrite: packages from them may conflict with {}",
                left.len(),
                hop.from,
                hop.to
            ),
            format!(
                "check that each vendor publishes a repository for {}, switch to it, or disable the source during the upgrade",
                hop.to
            ),
            left,
        ));
    }
    Ok(findings)
}

/// `PATH BASE64` lines back into files.
fn decode_files(output: &str) -> Vec<(String, String)> {
    decode_file_bytes(output)
        .into_iter()
        .map(|(path, bytes)| (path, String::from_utf8_lossy(&bytes).into_owned()))
        .collect()
}

/// `PATH BASE64` lines back into files, byte for byte.
pub(in crate::runner::steps) fn decode_file_bytes(output: &str) -> Vec<(String, Vec<u8>)> {
    output
        .lines()
        .filter_map(|line| {
            let (path, encoded) = line.split_once(' ').unwrap_or((line, ""));
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()?;
            Some((path.to_string(), bytes))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_files_including_empty_ones() {
        let files = decode_files(
            "/etc/apt/sources.list ZGViIGh0dHA6Ly94IGJ1bGxzZXllIG1haW4K\n/etc/apt/sources.list.d/empty.list \n",
        );
        assert_eq!(
            files,
            [
                (
                    "/etc/apt/sources.list".to_string(),
                    "deb http://x bullseye main\n".to_string()
                ),
                (
                    "/etc/apt/sources.list.d/empty.list".to_string(),
                    String::new()
                ),
            ]
        );
    }
}
