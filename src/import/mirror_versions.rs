//! Which versions of the captured packages the Debian mirror still has, asked of
//! `apt-cache madison` in a throwaway container of the suite's base image (the same
//! sources the imported recipe will be built from).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::engine::{ContainerSpec, Engine, OWNER_LABEL, RUN_LABEL};
use crate::images::{BuildSettings, ImageError, base};

/// Versions the mirror offers, by package name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MirrorVersions {
    versions: BTreeMap<String, BTreeSet<String>>,
    /// The packages of the suite's base image: there on any replica of that suite.
    base: BTreeSet<String>,
}

impl MirrorVersions {
    /// From `apt-cache madison` output: `name | version | source` lines.
    pub fn parse_madison(output: &str) -> Self {
        let mut versions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for line in output.lines() {
            let columns: Vec<&str> = line.split('|').map(str::trim).collect();
            if let [name, version, source, ..] = columns[..]
                && source.contains("Packages")
            {
                versions
                    .entry(name.to_string())
                    .or_default()
                    .insert(version.to_string());
            }
        }
        MirrorVersions {
            versions,
            base: BTreeSet::new(),
        }
    }

    /// From the output of the mirror check: `apt-cache madison` lines, then
    /// [`BASE_HEADER`] and the base image's package names, one a line.
    pub fn parse(output: &str) -> Self {
        let (madison, base) = output.split_once(BASE_HEADER).unwrap_or((output, ""));
        MirrorVersions {
            base: base.split_whitespace().map(str::to_string).collect(),
            ..MirrorVersions::parse_madison(madison)
        }
    }

    /// Whether `name` is in the suite's base image (Debian's required packages and apt).
    pub fn in_base(&self, name: &str) -> bool {
        self.base.contains(name)
    }

    /// Whether the mirror has exactly this version.
    pub fn has(&self, name: &str, version: &str) -> bool {
        self.versions.get(name).is_some_and(|v| v.contains(version))
    }

    /// Whether the mirror has the package at all.
    pub fn knows(&self, name: &str) -> bool {
        self.versions.contains_key(name)
    }
}

/// Separates the base image's packages from `apt-cache madison`'s lines.
const BASE_HEADER: &str = "### base packages";

/// Ask the mirror, through a container of `suite`'s base image, which versions of
/// `names` it has. The container is labelled like a run's, so `rehearse gc` removes
/// it should this process die; it is removed at the end either way.
pub async fn query_mirror<E: Engine>(
    engine: &E,
    settings: &BuildSettings,
    suite: &str,
    names: &[String],
    on_line: &mut (dyn FnMut(&str) + Send),
) -> Result<MirrorVersions, ImageError> {
    let base = base::ensure_base(engine, settings, suite, None, &[], &mut |event| {
        if let crate::images::ImageEvent::Building { what, .. } = &event {
            on_line(&format!("building {what}"));
        }
    })
    .await?;
    let run_id = crate::runner::new_run_id("import");
    let spec = ContainerSpec {
        name: format!("rh-{run_id}"),
        hostname: "import".into(),
        image: base,
        network: "bridge".into(),
        aliases: Vec::new(),
        labels: [
            (RUN_LABEL.to_string(), run_id.clone()),
            (OWNER_LABEL.to_string(), crate::owner::current()),
        ]
        .into_iter()
        .collect(),
        env: Vec::new(),
        exec_env: Vec::new(),
        cmd: vec!["sleep".into(), "3600".into()],
        systemd: false,
        memory: None,
        cpus: None,
        pids: None,
        publish: Vec::new(),
        files: Vec::new(),
    };
    let id = engine.run_container(&spec).await?;
    let result = async {
        let env: Vec<(String, String)> = crate::images::proxy_build_args(engine, settings)
            .await?
            .into_iter()
            .collect();
        let script = format!(
            "apt-get update -qq >/dev/null && apt-cache madison {} && echo '{BASE_HEADER}' && dpkg-query -W -f '${{Package}}\\n'",
            names
                .iter()
                .map(|n| super::plan::shell_quote(n))
                .collect::<Vec<_>>()
                .join(" ")
        );
        on_line("asking the mirror which captured versions it still has (apt-cache madison)");
        let output = engine
            .exec_streaming(
                &id,
                &["sh".into(), "-c".into(), script],
                &env,
                Duration::from_secs(300),
                &mut |_| {},
            )
            .await?;
        if output.exit_code != 0 {
            return Err(ImageError::Build {
                recipe: format!("{suite} mirror check"),
                detail: format!("`apt-get update` in the `{suite}` base image failed"),
                tail: output.stderr,
            });
        }
        Ok(MirrorVersions::parse(&output.stdout))
    }
    .await;
    let _ = engine.remove_container(&id).await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn madison_lines() {
        let output = "   apache2 | 2.4.62-1~deb12u2 | http://deb.debian.org/debian bookworm/main amd64 Packages
   apache2 | 2.4.65-1~deb12u1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
   apache2 | 2.4.62-1~deb12u2 | http://deb.debian.org/debian bookworm/main Sources
";
        let versions = MirrorVersions::parse_madison(output);
        assert!(versions.has("apache2", "2.4.62-1~deb12u2"));
        assert!(versions.has("apache2", "2.4.65-1~deb12u1"));
        assert!(!versions.has("apache2", "2.4.57-2"));
        assert!(versions.knows("apache2"));
        assert!(!versions.knows("shop-tools"));
        assert!(!versions.in_base("dpkg"));
        let with_base = MirrorVersions::parse(&format!("{output}{BASE_HEADER}\ndpkg\ne2fsprogs\n"));
        assert!(with_base.has("apache2", "2.4.62-1~deb12u2"));
        assert!(with_base.in_base("dpkg") && with_base.in_base("e2fsprogs"));
        assert!(!with_base.in_base("apache2"));
    }
}
