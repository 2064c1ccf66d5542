//! trixie replaces the Y2038-unsafe `lastlog` and `lastb` (and `last` moves to wtmpdb):
//! scripts and jobs that call them fail after the upgrade. Checked on what the hop
//! really removed: a command a local script calls that no longer exists.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "login.records-commands-gone",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::AfterHop,
    trigger: "local scripts and jobs (`/etc/cron*`, `/usr/local/*bin`, `/etc/systemd/system`) call `lastlog`, `lastb` or `last`, and the command is gone after the hop",
    remediation: "call the replacements: `lastlog2` (package lastlog2), `last` from wtmpdb, `lslogins --failed` for `lastb`",
};

/// The commands, each a word of a line that is not a comment.
const BEFORE: &str = r#"
grep -rnwE 'lastlog|lastb|last' /etc/cron.d /etc/cron.daily /etc/cron.hourly /etc/cron.weekly /etc/cron.monthly /etc/crontab /var/spool/cron/crontabs /usr/local/bin /usr/local/sbin /etc/systemd/system 2>/dev/null \
  | grep -vE '^[^:]*:[0-9]+:[[:space:]]*#' | cut -c1-200 | head -n 50 | sed 's/^/call /'
for c in lastlog lastb last; do command -v "$c" >/dev/null && echo "has $c"; done
"#;

const AFTER: &str = r#"
for c in lastlog lastb last; do command -v "$c" >/dev/null && echo "has $c"; done
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: Some("trixie"),
    before: BEFORE,
    after: AFTER,
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    let had = Facts::tagged(&facts.before, "has");
    let has = Facts::tagged(&facts.after, "has");
    let gone: Vec<&str> = had.iter().copied().filter(|c| !has.contains(c)).collect();
    let evidence: Vec<String> = Facts::tagged(&facts.before, "call")
        .into_iter()
        .filter_map(|line| {
            // `file:line:text`: the commands the text calls.
            let mut parts = line.splitn(3, ':');
            let (file, number, text) = (parts.next()?, parts.next()?, parts.next()?);
            let calls: Vec<&str> = gone
                .iter()
                .copied()
                .filter(|c| calls_word(text, c))
                .collect();
            (!calls.is_empty()).then(|| {
                format!(
                    "{file}:{number}: calls `{}`, gone on {}: {}",
                    calls.join("`, `"),
                    facts.to,
                    text.trim()
                )
            })
        })
        .collect();
    if evidence.is_empty() {
        return None;
    }
    Some(Found::new(
        format!(
            "{} line(s) of local scripts call login-record commands that {} no longer has ({})",
            evidence.len(),
            facts.to,
            gone.join(", ")
        ),
        evidence,
    ))
}

/// Whether `word` is a whole word of `text` (as `grep -w` matched it).
fn calls_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w == word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn a_script_calling_a_command_the_hop_removed_is_named() {
        let before = "call /etc/cron.daily/report-logins:2:lastlog -t 1\ncall /usr/local/bin/who:3:last -n 5\nhas lastlog\nhas last";
        let found = judge(&facts("bookworm", "trixie", before, "has last")).unwrap();
        assert_eq!(
            found.evidence,
            ["/etc/cron.daily/report-logins:2: calls `lastlog`, gone on trixie: lastlog -t 1"]
        );
    }

    #[test]
    fn commands_still_there_are_no_finding() {
        let before = "call /etc/cron.daily/x:2:lastlog\nhas lastlog";
        assert_eq!(
            judge(&facts("bookworm", "trixie", before, "has lastlog")),
            None
        );
        // Not a call: the word inside another one.
        let before = "call /etc/cron.daily/x:2:echo lastlogin\nhas lastlog";
        assert_eq!(judge(&facts("bookworm", "trixie", before, "")), None);
    }
}
