//! Running apt on a host the way Debian's release notes advise for an unattended
//! upgrade: no terminal, stdin closed, a decided policy for changed conffiles, every
//! command under a timeout; output streamed live, counted, and kept as a log.

use std::time::Duration;

use super::ConffilePolicy;
use crate::engine::{Engine, ExecOutput};

/// The environment apt and dpkg run in: nothing may ask a question.
pub fn environment(policy: ConffilePolicy) -> Vec<(String, String)> {
    let mut env = vec![
        ("DEBIAN_FRONTEND", "noninteractive"),
        ("APT_LISTCHANGES_FRONTEND", "none"),
        ("NEEDRESTART_MODE", "a"),
    ];
    env.push(match policy {
        ConffilePolicy::Keep => ("UCF_FORCE_CONFFOLD", "1"),
        ConffilePolicy::Maintainer => ("UCF_FORCE_CONFFNEW", "1"),
    });
    env.into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `apt-get -y` with dpkg told what to do with changed conffiles.
pub fn apt_get(policy: ConffilePolicy, args: &[&str]) -> Vec<String> {
    let conffile = match policy {
        ConffilePolicy::Keep => "Dpkg::Options::=--force-confold",
        ConffilePolicy::Maintainer => "Dpkg::Options::=--force-confnew",
    };
    let mut argv: Vec<String> = [
        "apt-get",
        "-y",
        "-o",
        "Dpkg::Options::=--force-confdef",
        "-o",
        conffile,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    argv.extend(args.iter().map(|s| s.to_string()));
    argv
}

/// Counts packages as apt reports them, for a progress line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AptProgress {
    pub total: usize,
    pub done: usize,
    pub current: String,
}

impl AptProgress {
    /// Take in one line of apt/dpkg output; returns whether the progress changed.
    pub fn observe(&mut self, line: &str) -> bool {
        if let Some(total) = planned_total(line) {
            self.total = total;
            return true;
        }
        if let Some(rest) = line
            .strip_prefix("Setting up ")
            .or_else(|| line.strip_prefix("Removing "))
        {
            self.done += 1;
            self.current = rest.trim_end_matches(" ...").to_string();
            return true;
        }
        if let Some(rest) = line.strip_prefix("Unpacking ") {
            self.current = format!("unpacking {}", rest.trim_end_matches(" ..."));
            return true;
        }
        false
    }

    pub fn render(&self, label: &str) -> String {
        if self.total == 0 {
            return format!("{label}: {}", self.current);
        }
        format!(
            "{label}: {}/{} packages — {}",
            self.done.min(self.total),
            self.total,
            self.current
        )
    }
}

/// "52 upgraded, 37 newly installed, 11 to remove and 0 not upgraded." → 100
fn planned_total(line: &str) -> Option<usize> {
    if !line.contains(" upgraded, ") || !line.contains(" newly installed, ") {
        return None;
    }
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    (numbers.len() >= 3).then(|| numbers[0] + numbers[1] + numbers[2])
}

/// Where a command's output goes besides the progress line.
pub struct CommandLog<'a> {
    pub file: Option<&'a mut crate::runner::step_log::StepLog>,
    pub text: &'a mut String,
}

impl std::fmt::Debug for CommandLog<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandLog").finish_non_exhaustive()
    }
}

impl CommandLog<'_> {
    pub fn line(&mut self, line: &str) {
        if let Some(file) = self.file.as_deref_mut() {
            file.line(line);
        }
        self.text.push_str(line);
        self.text.push('\n');
    }
}

/// What a command streamed into the log tells as it runs.
#[derive(Debug)]
pub enum Streamed<'a> {
    /// A line it printed.
    Line(&'a str),
    /// Where apt is, once a line moved it on.
    Progress(String),
}

/// Run one command, streaming its lines into the log and the callback.
pub async fn run_logged<E: Engine>(
    engine: &E,
    container: &str,
    argv: &[String],
    env: &[(String, String)],
    timeout: Duration,
    log: &mut CommandLog<'_>,
    on_output: &mut (dyn FnMut(Streamed<'_>) + Send),
) -> Result<ExecOutput, String> {
    log.line(&format!("$ {}", argv.join(" ")));
    let label = argv
        .iter()
        .rfind(|a| !a.starts_with('-') && !a.contains("::"))
        .cloned()
        .unwrap_or_default();
    let mut progress = AptProgress::default();
    let result = engine
        .exec_streaming(container, argv, env, timeout, &mut |line| {
            log.line(line);
            on_output(Streamed::Line(line));
            if progress.observe(line) {
                on_output(Streamed::Progress(progress.render(&label)));
            }
        })
        .await;
    match result {
        Ok(output) => {
            log.line(&format!("# exit code {}", output.exit_code));
            Ok(output)
        }
        Err(e) => {
            log.line(&format!("# {e}"));
            Err(format!("`{}`: {e}", argv.join(" ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_packages_from_apt_output() {
        let mut p = AptProgress::default();
        assert!(p.observe("52 upgraded, 37 newly installed, 11 to remove and 0 not upgraded."));
        assert_eq!(p.total, 100);
        assert!(p.observe("Unpacking apache2 (2.4.65-1~deb12u1) over (2.4.62-1~deb11u1) ..."));
        assert!(p.observe("Setting up apache2 (2.4.65-1~deb12u1) ..."));
        assert!(!p.observe("Reading package lists..."));
        assert_eq!(
            p.render("full-upgrade"),
            "full-upgrade: 1/100 packages — apache2 (2.4.65-1~deb12u1)"
        );
    }

    #[test]
    fn keeps_local_conffiles_by_default() {
        let argv = apt_get(ConffilePolicy::Keep, &["full-upgrade"]);
        assert_eq!(
            argv.join(" "),
            "apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold full-upgrade"
        );
        assert!(
            environment(ConffilePolicy::Maintainer)
                .contains(&("UCF_FORCE_CONFFNEW".into(), "1".into()))
        );
    }
}
