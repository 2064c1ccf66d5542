//! bookworm's dash (the `/bin/sh` of Debian) reads a circumflex in a pattern's bracket
//! expression as a literal character, as POSIX writes it: `[^0-9]` no longer means "not a
//! digit" but "a digit or `^`" (`[!0-9]` is the portable negation). A script of the
//! admin's that tests input with such a `case` pattern or parameter expansion silently
//! takes the other branch after the upgrade. Regular expressions (grep, sed, awk, expr)
//! are not concerned, nor are scripts run by bash.

use crate::findings::{Facts, FindingKind, Found, HostCheck, When};
use crate::model::Severity;

pub const KIND: FindingKind = FindingKind {
    key: "dash.circumflex-patterns",
    severity: Severity::Medium,
    inhibitor: false,
    when: When::BeforeUpgrade,
    trigger: "before the upgrade to bookworm: a `#!/bin/sh` script of the admin's (not from a package) in `/usr/local/{bin,sbin}`, `/etc/cron.*`, `/etc/init.d`, `/etc/network/if-*.d` or `/etc/rc.local` with a `[^…]` bracket expression in a `case` pattern or a parameter expansion",
    remediation: "write the negation as `[!…]`, which every POSIX shell reads the same way, and test the script on the upgraded replica",
};

/// `pattern FILE:LINE: TEXT` for each line of an sh script of the admin's whose `case`
/// pattern or `${…#…}` / `${…%…}` expansion holds `[^`.
const BEFORE: &str = r#"
for f in /usr/local/bin/* /usr/local/sbin/* /etc/cron.hourly/* /etc/cron.daily/* /etc/cron.weekly/* /etc/cron.monthly/* /etc/init.d/* /etc/network/if-*.d/* /etc/rc.local; do
  [ -f "$f" ] || continue
  head -n 1 "$f" | grep -qE '^#![[:space:]]*(/usr)?/bin/sh([[:space:]]|$)' || continue
  hits=$(awk '
    /^[[:space:]]*#/ { next }
    /(grep|sed|awk|expr|perl|=~)/ { next }
    /^[[:space:]]*\(?[^()#"]*\[\^[^]]*\][^()]*\)/ || /\$\{[^}]*[#%][^}]*\[\^/ {
      line = $0; sub(/^[[:space:]]+/, "", line); print FNR ": " substr(line, 1, 120)
    }' "$f")
  [ -n "$hits" ] || continue
  dpkg -S "$f" >/dev/null 2>&1 && continue
  printf '%s\n' "$hits" | head -n 5 | sed "s|^|pattern $f:|"
done | head -n 40
"#;

pub const CHECK: HostCheck = HostCheck {
    kind: &KIND,
    to: Some("bookworm"),
    before: BEFORE,
    after: "",
    judge,
};

fn judge(facts: &Facts) -> Option<Found> {
    Found::each_line(&Facts::tagged(&facts.before, "pattern"), |n| {
        format!(
            "{n} line(s) of /bin/sh scripts negate a bracket expression with `^`: bookworm's dash reads `^` there as a literal character, so these tests change meaning without an error"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::checks::facts;

    #[test]
    fn each_line_is_evidence() {
        let found = judge(&facts(
            "bullseye",
            "bookworm",
            "pattern /usr/local/bin/check-arg:3: [^0-9]*) echo \"not a number: $1\" ;;",
            "",
        ))
        .unwrap();
        assert_eq!(
            found.evidence,
            ["/usr/local/bin/check-arg:3: [^0-9]*) echo \"not a number: $1\" ;;"]
        );
        assert!(judge(&facts("bullseye", "bookworm", "", "")).is_none());
    }
}
