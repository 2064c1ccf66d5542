//! Disk space for the upgrade, as the release notes ask to check before it starts: once
//! the new release's package lists are in, apt says how much it will download and how much
//! more the installed system will take; `df` says what is free where the archives are
//! downloaded and where they are unpacked.

use crate::findings;
use crate::model::Finding;

/// apt's estimate (a trivial-only run stops before changing anything), then `df` of the
/// archive cache, `/usr` and `/`, in KiB.
pub const SCRIPT: &str = r#"
LC_ALL=C apt-get -o APT::Get::Trivial-Only=true full-upgrade 2>&1 | grep -E '^(Need to get|After this operation)'
printf '### df\n'
LC_ALL=C df -Pk /var/cache/apt/archives /usr / 2>/dev/null | tail -n +2
true
"#;

/// What the upgrade needs and what is free.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Space {
    /// Bytes to download into `/var/cache/apt/archives`.
    pub download: u64,
    /// Bytes the installed system grows by (0 when it shrinks).
    pub growth: u64,
    /// `(mount point, bytes available)` of the archive cache and of `/usr`.
    pub archives: Option<(String, u64)>,
    pub usr: Option<(String, u64)>,
    /// apt's and df's lines, for the evidence.
    pub lines: Vec<String>,
}

impl Space {
    /// Parse [`SCRIPT`]'s output; `None` when apt gave no estimate.
    pub fn parse(output: &str) -> Option<Space> {
        let (apt, df) = output.split_once("### df").unwrap_or((output, ""));
        let mut space = Space::default();
        let mut estimated = false;
        for line in apt.lines().map(str::trim).filter(|l| !l.is_empty()) {
            // "Need to get 67.4 MB of archives." or "Need to get 12 MB/67.4 MB of archives."
            if let Some(rest) = line.strip_prefix("Need to get ") {
                let amount = rest.split(" of archives").next().unwrap_or("");
                let amount = amount.split('/').next().unwrap_or("");
                space.download = bytes(amount)?;
                estimated = true;
            } else if let Some(rest) = line.strip_prefix("After this operation, ") {
                if rest.contains("additional disk space will be used") {
                    space.growth = bytes(rest.split(" of additional").next().unwrap_or(""))?;
                }
                estimated = true;
            } else {
                continue;
            }
            space.lines.push(line.to_string());
        }
        // Filesystem 1024-blocks Used Available Capacity Mounted-on, in the order asked.
        let mounts: Vec<(String, u64)> = df
            .lines()
            .filter_map(|l| {
                let fields: Vec<&str> = l.split_whitespace().collect();
                let available: u64 = fields.get(3)?.parse().ok()?;
                Some((fields.get(5)?.to_string(), available * 1024))
            })
            .collect();
        for line in df.lines().map(str::trim).filter(|l| !l.is_empty()) {
            space.lines.push(format!("df: {line}"));
        }
        space.archives = mounts.first().cloned();
        space.usr = mounts.get(1).cloned();
        estimated.then_some(space)
    }

    /// One line for the log and the progress.
    pub fn summary(&self) -> String {
        let free = match &self.usr {
            Some((mount, available)) => format!("; {} free on {mount}", size(*available)),
            None => String::new(),
        };
        format!(
            "{} to download, {} more once installed{free}",
            size(self.download),
            size(self.growth)
        )
    }

    /// The finding when the replica has less room than the upgrade needs.
    pub fn finding(&self, host: &str, to: &str) -> Option<Finding> {
        let (archives, usr) = (self.archives.as_ref()?, self.usr.as_ref()?);
        let (place, needed, available) = if archives.0 == usr.0 {
            (archives.0.clone(), self.download + self.growth, archives.1)
        } else if self.download > archives.1 {
            (archives.0.clone(), self.download, archives.1)
        } else {
            (usr.0.clone(), self.growth, usr.1)
        };
        (needed > available).then(|| {
            findings::DISK_SPACE_SHORT.found(
                host,
                format!(
                    "the upgrade to {to} needs {} on {place} and {} is free",
                    size(needed),
                    size(available)
                ),
                self.lines.clone(),
            )
        })
    }
}

/// apt's sizes are SI: "67.4 MB", "512 kB", "0 B".
fn bytes(text: &str) -> Option<u64> {
    let mut words = text.split_whitespace();
    let number: f64 = words.next()?.replace(',', "").parse().ok()?;
    let unit = match words.next()? {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        _ => return None,
    };
    Some((number * unit) as u64)
}

fn size(bytes: u64) -> String {
    bytesize::ByteSize::b(bytes).display().si().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "Need to get 12.5 MB/212 MB of archives.
After this operation, 345 MB of additional disk space will be used.
### df
overlay 61255652 20000000 40000000 34% /
overlay 61255652 20000000 40000000 34% /
overlay 61255652 20000000 40000000 34% /
";

    #[test]
    fn apts_estimate_and_the_free_space_are_read() {
        let space = Space::parse(OUTPUT).unwrap();
        assert_eq!((space.download, space.growth), (12_500_000, 345_000_000));
        assert_eq!(space.usr, Some(("/".into(), 40_960_000_000)));
        assert_eq!(space.finding("web", "bookworm"), None);
        assert!(
            space
                .summary()
                .starts_with("12.5 MB to download, 345.0 MB more"),
            "{}",
            space.summary()
        );
    }

    #[test]
    fn too_little_room_is_an_inhibitor_with_apts_figures() {
        let output = OUTPUT.replace("40000000 34%", "100000 99%");
        let finding = Space::parse(&output)
            .unwrap()
            .finding("web", "bookworm")
            .unwrap();
        assert!(finding.inhibitor);
        assert!(
            finding
                .message
                .contains("needs 357.5 MB on / and 102.4 MB is free"),
            "{}",
            finding.message
        );
        assert_eq!(
            finding.evidence[0],
            "Need to get 12.5 MB/212 MB of archives."
        );
    }

    #[test]
    fn a_shrinking_system_and_no_estimate_are_read_too() {
        let space =
            Space::parse("After this operation, 5 MB disk space will be freed.\n### df\n").unwrap();
        assert_eq!((space.download, space.growth), (0, 0));
        assert_eq!(space.finding("web", "trixie"), None);
        assert_eq!(Space::parse("E: something\n### df\n"), None);
    }
}
