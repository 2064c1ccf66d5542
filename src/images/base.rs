//! Debian base images with systemd: pulled from a registry when the engine can,
//! otherwise bootstrapped locally (merged `/usr`) and imported: with mmdebstrap when
//! it is installed, else with the built-in bootstrap ([`super::bootstrap`]).

use std::process::Stdio;
use std::time::Instant;

use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::io::ReaderStream;

use super::{BuildSettings, ImageError, ImageEvent, content_hash};
use crate::debian::release::security_suite;
use crate::engine::{Engine, IMAGE_LABEL};

/// Packages every base image carries on top of `minbase`, so the replica boots like a server.
pub const BASE_PACKAGES: &[&str] = &[
    "systemd",
    "systemd-sysv",
    "dbus",
    "ca-certificates",
    "procps",
    "iproute2",
    "curl",
];

/// Label saying how a base image was made: `pull`, `mmdebstrap` or `builtin`.
pub const SOURCE_LABEL: &str = "rehearse.base-source";

/// What every base image says of itself, as build instructions (a Dockerfile's lines,
/// or the changes of an import): how it starts, its cache key, its suite, and how it
/// was made (`source`: `pull`, `mmdebstrap` or `builtin`).
pub(super) fn identity(hash: &str, suite: &str, source: &str) -> Vec<String> {
    vec![
        "ENV container=docker".to_string(),
        "CMD [\"/sbin/init\"]".to_string(),
        format!(
            "LABEL {IMAGE_LABEL}=\"{hash}\" rehearse.suite=\"{suite}\" {SOURCE_LABEL}={source}"
        ),
    ]
}

/// Bump when the way base images are made changes, so old caches are not reused.
const BASE_FORMAT: &str = "rehearse-base-v3";

/// Where a base image comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BaseSource {
    /// Pull `debian:<suite>` if the engine can, otherwise bootstrap.
    #[default]
    Auto,
    Pull,
    /// With mmdebstrap if it is installed, else built in.
    Bootstrap,
    /// With mmdebstrap only.
    Mmdebstrap,
    /// With the built-in bootstrap only.
    Builtin,
}

impl BaseSource {
    /// Whether a base that is not pulled is made by the built-in bootstrap.
    fn bootstraps_builtin(self) -> bool {
        match self {
            BaseSource::Builtin => true,
            BaseSource::Mmdebstrap | BaseSource::Pull => false,
            BaseSource::Auto | BaseSource::Bootstrap => !mmdebstrap_installed(),
        }
    }
}

/// APT source lines a host of this suite gets, like a default Debian install.
pub fn source_lines(settings: &BuildSettings, suite: &str) -> Vec<String> {
    vec![
        format!("deb {} {suite} main", settings.mirror),
        format!("deb {} {suite}-updates main", settings.mirror),
        format!(
            "deb {} {} main",
            settings.security_mirror,
            security_suite(suite)
        ),
    ]
}

/// The cache reference and content hash of the base image for a suite, of an
/// architecture other than the engine's (`arch`) or the engine's own (`None`), with a
/// recipe's `packages` installed in the same pass (none: the suite's plain base).
pub fn base_reference(
    settings: &BuildSettings,
    suite: &str,
    arch: Option<&str>,
    packages: &[String],
) -> (String, String) {
    let mut parts: Vec<Vec<u8>> = vec![BASE_FORMAT.into(), suite.into()];
    // The engine's own architecture keeps the hash it always had.
    if let Some(arch) = arch {
        parts.push(format!("architecture={arch}").into());
    }
    parts.extend(source_lines(settings, suite).into_iter().map(Vec::from));
    parts.extend(BASE_PACKAGES.iter().map(|p| p.as_bytes().to_vec()));
    // How /usr is merged is part of what the image is.
    parts.push(merged_usr_hook(suite).into());
    // The two bootstraps make the same package set, not the same bytes: each has its
    // own cached image (and the two can be compared).
    if settings.base_source.bootstraps_builtin() {
        parts.push("builtin".into());
    }
    // A plain base keeps the hash it always had.
    if let Some(install) = install_packages(packages) {
        parts.push(install.into());
    }
    let hash = content_hash(parts.iter().map(|p| p.as_slice()));
    let tag = match arch {
        Some(arch) => format!("{suite}-{arch}"),
        None => suite.to_string(),
    };
    (format!("rehearse/debian:{tag}-{}", &hash[..12]), hash)
}

/// The command that installs a recipe's packages in the pass that makes its base: an
/// admin's `apt-get install` (recommends included, as apt's default is), allowed to go
/// back to a pinned version older than the one the base has. `None` without packages.
/// Each name was checked to be a package name or `name=version` (nothing a shell
/// reads as more than a word).
pub(super) fn install_packages(packages: &[String]) -> Option<String> {
    if packages.is_empty() {
        return None;
    }
    let downgrades = if packages.iter().any(|p| p.contains('=')) {
        "--allow-downgrades "
    } else {
        ""
    };
    Some(format!(
        "apt-get install -y -o APT::Install-Recommends=true {downgrades}{}",
        packages.join(" ")
    ))
}

/// What the progress lines call the base of `suite` with `packages`.
fn describe(suite: &str, arch: Option<&str>, packages: &[String]) -> String {
    let base = match arch {
        Some(arch) => format!("base {suite} ({arch})"),
        None => format!("base {suite}"),
    };
    match packages.len() {
        0 => base,
        1 => format!("{base} with {}", packages[0]),
        n => format!("{base} with {n} packages"),
    }
}

/// Make sure the base image for `suite` with a recipe's `packages` exists; build it if
/// not, the packages installed in the same pass as the base's own (one bootstrap, one
/// layer: see docs/src/performance.md).
pub async fn ensure_base<E: Engine>(
    engine: &E,
    settings: &BuildSettings,
    suite: &str,
    arch: Option<&str>,
    packages: &[String],
    on_event: &mut (dyn FnMut(ImageEvent) + Send),
) -> Result<String, ImageError> {
    let (reference, hash) = base_reference(settings, suite, arch, packages);
    let what = describe(suite, arch, packages);
    // Held until the base is made, so a run beside this one waits and hits the cache.
    let _turn = super::build_turn(&reference).await;
    if engine.image_exists(&reference).await? {
        on_event(ImageEvent::CacheHit {
            what,
            reference: reference.clone(),
        });
        return Ok(reference);
    }
    if let Some(arch) = arch {
        let engine_arch = engine.info().await?.debian_architecture();
        if !super::recipe::runs_natively(&engine_arch, arch) {
            return Err(ImageError::Architecture {
                suite: suite.to_string(),
                arch: arch.to_string(),
                engine: engine_arch,
            });
        }
    }
    let started = Instant::now();
    on_event(ImageEvent::Building {
        what: what.clone(),
        reference: reference.clone(),
    });
    // The registry's `debian:<suite>` is the engine's architecture: another one is
    // always bootstrapped.
    let source = match (arch, settings.base_source) {
        (Some(_), BaseSource::Auto) => BaseSource::Bootstrap,
        (Some(arch), BaseSource::Pull) => {
            return Err(ImageError::PullArchitecture {
                arch: arch.to_string(),
            });
        }
        (_, source) => source,
    };
    let pulled = match source {
        BaseSource::Bootstrap | BaseSource::Mmdebstrap | BaseSource::Builtin => false,
        BaseSource::Auto | BaseSource::Pull => {
            let upstream = format!("debian:{suite}");
            match engine.pull_image(&upstream).await {
                Ok(()) => {
                    let base = Base {
                        suite,
                        arch,
                        packages,
                        reference: &reference,
                        hash: &hash,
                    };
                    build_from_pulled(engine, settings, &base, &upstream, on_event).await?;
                    true
                }
                Err(e) if source == BaseSource::Pull => return Err(e.into()),
                Err(e) => {
                    on_event(ImageEvent::Output {
                        what: what.clone(),
                        line: format!("no registry ({e}); bootstrapping"),
                    });
                    false
                }
            }
        }
    };
    if !pulled {
        let base = Base {
            suite,
            arch,
            packages,
            reference: &reference,
            hash: &hash,
        };
        if settings.base_source.bootstraps_builtin() {
            on_event(ImageEvent::Output {
                what: what.clone(),
                line: "bootstrapping with the built-in bootstrap".into(),
            });
            super::bootstrap::bootstrap(engine, settings, &base, on_event).await?;
        } else {
            mmdebstrap(engine, settings, &base, on_event).await?;
        }
    }
    on_event(ImageEvent::Built {
        what,
        reference: reference.clone(),
        duration: started.elapsed(),
    });
    Ok(reference)
}

/// The base image being made: of `suite`, with a recipe's `packages`, as `reference`
/// (cache key `hash`).
pub(super) struct Base<'a> {
    pub suite: &'a str,
    /// Another architecture than the engine's.
    pub arch: Option<&'a str>,
    pub packages: &'a [String],
    pub reference: &'a str,
    pub hash: &'a str,
}

impl Base<'_> {
    pub fn what(&self) -> String {
        describe(self.suite, self.arch, self.packages)
    }
}

async fn build_from_pulled<E: Engine>(
    engine: &E,
    settings: &BuildSettings,
    base: &Base<'_>,
    upstream: &str,
    on_event: &mut (dyn FnMut(ImageEvent) + Send),
) -> Result<(), ImageError> {
    let suite = base.suite;
    let sources = source_lines(settings, suite).join("\\n");
    // Services must not start in a build (no init; the replica's boot is rehearsed).
    let recipe = install_packages(base.packages)
        .map(|install| format!("{POLICY_RC_D_ON} && {install} && {POLICY_RC_D_OFF} && "))
        .unwrap_or_default();
    let dockerfile = format!(
        "FROM {upstream}\n\
         ARG DEBIAN_FRONTEND=noninteractive\n\
         RUN rm -f /etc/apt/sources.list.d/debian.sources && printf '{sources}\\n' > /etc/apt/sources.list \
         && apt-get update && apt-get install -y {packages} && {recipe}apt-get clean\n\
         {identity}\n",
        packages = BASE_PACKAGES.join(" "),
        identity = identity(base.hash, suite, "pull").join("\n"),
    );
    build(engine, settings, base, &dockerfile, on_event).await
}

/// Shell that keeps services from starting while packages are installed (there is no
/// init in a build, and the replica's first boot is what its boot rehearses), and that
/// lets them start again.
pub(super) const POLICY_RC_D_ON: &str =
    "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d";
pub(super) const POLICY_RC_D_OFF: &str = "rm -f /usr/sbin/policy-rc.d";

/// Build `dockerfile` (no other context) as the base `reference` of `suite`, apt going
/// through the package cache, its output handed on line by line.
pub(super) async fn build<E: Engine>(
    engine: &E,
    settings: &BuildSettings,
    base: &Base<'_>,
    dockerfile: &str,
    on_event: &mut (dyn FnMut(ImageEvent) + Send),
) -> Result<(), ImageError> {
    let reference = base.reference;
    let context = super::context_tar(dockerfile, &[])?;
    let what = base.what();
    let build_args = super::proxy_build_args(engine, settings).await?;
    engine
        .build_image(context, reference, &build_args, &mut |line| {
            on_event(ImageEvent::Output {
                what: what.clone(),
                line: line.to_string(),
            })
        })
        .await?;
    Ok(())
}

/// Whether `mmdebstrap` is on `PATH`.
fn mmdebstrap_installed() -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join("mmdebstrap").is_file())
    })
}

async fn mmdebstrap<E: Engine>(
    engine: &E,
    settings: &BuildSettings,
    base: &Base<'_>,
    on_event: &mut (dyn FnMut(ImageEvent) + Send),
) -> Result<(), ImageError> {
    let Base {
        suite,
        reference,
        hash,
        ..
    } = *base;
    let what = base.what();
    let mut command = tokio::process::Command::new("mmdebstrap");
    command
        .arg("--variant=minbase")
        .args(base.arch.map(|arch| format!("--architectures={arch}")))
        .arg(format!("--include={}", BASE_PACKAGES.join(",")))
        // Real Debian installs are merged-/usr; an unmerged replica breaks the upgrade to
        // bookworm for a reason the real host does not have.
        .arg(merged_usr_hook(suite))
        .arg("--aptopt=Acquire::Retries \"3\"")
        // A real host keeps its package lists, descriptions' translations included:
        // `apt-get install` works on it without an update first, the checks before the
        // first hop read where each package comes from, and refreshing the lists is
        // quick. mmdebstrap fetches no translations and removes the lists unless told.
        .arg(format!("--aptopt={LANGUAGES}"))
        .arg("--skip=cleanup/apt/lists")
        .args(proxy_options(settings))
        // The setup hook's stand-in package (`usr-is-merged` 1, no source) is on no real
        // host of these releases: gone before anything else is installed.
        .args(
            (!merges_usr_with_package(suite))
                .then(|| "--customize-hook=chroot \"$1\" dpkg --purge usr-is-merged".to_string()),
        )
        // The recipe's packages, in this same pass on this machine's filesystem (not
        // `--include`, which installs no recommends): mmdebstrap keeps services from
        // starting and its apt options (the package cache) hold until it cleans up.
        .args(
            install_packages(base.packages)
                .map(|install| format!("--customize-hook=chroot \"$1\" {install}")),
        )
        // The proxy is for the bootstrap only: the image must not point at a port
        // that is gone once this process ends (`--aptopt`s land in 99mmdebstrap).
        .arg(format!("--customize-hook={DROP_BOOTSTRAP_OPTIONS_HOOK}"))
        .arg("--format=tar")
        .arg(suite)
        .arg("-")
        .args(source_lines(settings, suite))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ImageError::NoBaseSource {
                suite: suite.to_string(),
            }
        } else {
            ImageError::Bootstrap {
                suite: suite.to_string(),
                detail: format!("cannot start mmdebstrap: {e}"),
            }
        }
    })?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (line_tx, mut line_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let stderr_task = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    let rootfs = ReaderStream::with_capacity(stdout, 1 << 20).boxed();
    let changes = identity(hash, suite, "mmdebstrap");
    let mut tail: Vec<String> = Vec::new();
    let import = engine.import_rootfs(rootfs, reference, &changes);
    tokio::pin!(import);
    let import_result = loop {
        tokio::select! {
            Some(line) = line_rx.recv() => {
                remember(&mut tail, &line);
                on_event(ImageEvent::Output { what: what.clone(), line });
            }
            result = &mut import => break result,
        }
    };
    let status = child.wait().await.map_err(|e| ImageError::Bootstrap {
        suite: suite.to_string(),
        detail: e.to_string(),
    })?;
    let _ = stderr_task.await;
    while let Ok(line) = line_rx.try_recv() {
        remember(&mut tail, &line);
    }
    if !status.success() {
        // A truncated tar may still have produced an image: never leave it cached.
        let _ = engine.remove_image(reference).await;
        return Err(ImageError::Bootstrap {
            suite: suite.to_string(),
            detail: format!(
                "mmdebstrap exited with {status}; last output:\n{}",
                tail.join("\n")
            ),
        });
    }
    import_result?;
    Ok(())
}

/// The languages of package descriptions a host's lists hold: apt's default under the
/// C locale.
const LANGUAGES: &str = "Acquire::Languages \"en\"";

/// Removes the options that were for the bootstrap only (the proxy, the languages: the
/// host's apt has its defaults) from the image mmdebstrap made.
const DROP_BOOTSTRAP_OPTIONS_HOOK: &str = "f=\"$1/etc/apt/apt.conf.d/99mmdebstrap\"; if [ -f \"$f\" ]; then sed -i '/^Acquire::http::Proxy/d; /^Acquire::Languages/d' \"$f\"; fi";

/// `--aptopt`s sending mmdebstrap's apt (on this machine) through the package cache.
fn proxy_options(settings: &BuildSettings) -> Vec<String> {
    let loopback = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    settings
        .apt_proxy
        .iter()
        .flat_map(|proxy| proxy.apt_options(loopback))
        .map(|option| format!("--aptopt={option}"))
        .collect()
}

/// Whether `/usr` is merged with the `usr-is-merged` package as well as the links
/// (see [`merged_usr_hook`]).
pub(super) fn merges_usr_with_package(suite: &str) -> bool {
    !matches!(suite, "jessie" | "stretch" | "buster" | "bullseye")
}

/// How mmdebstrap makes `/usr` merged. Releases before bookworm have no real
/// `usr-is-merged` package for the hook's essential stage, so they get only the
/// setup stage: the directory links debootstrap makes.
fn merged_usr_hook(suite: &str) -> &'static str {
    if merges_usr_with_package(suite) {
        "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr"
    } else {
        "--setup-hook=/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh"
    }
}

pub(super) fn remember(tail: &mut Vec<String>, line: &str) {
    tail.push(line.to_string());
    if tail.len() > 20 {
        tail.remove(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> BuildSettings {
        BuildSettings::default()
    }

    #[test]
    fn another_architecture_is_a_base_of_its_own() {
        let (native, _) = base_reference(&settings(), "bookworm", None, &[]);
        let (i386, _) = base_reference(&settings(), "bookworm", Some("i386"), &[]);
        assert!(i386.starts_with("rehearse/debian:bookworm-i386-"), "{i386}");
        assert!(native.starts_with("rehearse/debian:bookworm-") && !native.contains("i386"));
        assert_ne!(native[native.len() - 12..], i386[i386.len() - 12..]);
        assert_eq!(
            describe("bookworm", Some("i386"), &[]),
            "base bookworm (i386)"
        );
    }

    #[test]
    fn base_reference_depends_on_suite_and_mirror() {
        let a = base_reference(&settings(), "bookworm", None, &[]);
        let b = base_reference(&settings(), "bullseye", None, &[]);
        let mut other = settings();
        other.mirror = "http://archive.debian.org/debian".into();
        let c = base_reference(&other, "bookworm", None, &[]);
        assert!(a.0.starts_with("rehearse/debian:bookworm-"));
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, base_reference(&settings(), "bookworm", None, &[]));
    }

    #[test]
    fn a_recipes_packages_make_a_base_of_their_own_and_a_plain_base_keeps_its_hash() {
        let plain = base_reference(&settings(), "bookworm", None, &[]);
        // What the plain base is called since bullseye bases lost mmdebstrap's stand-in
        // `usr-is-merged` (`BASE_FORMAT` v3): a change here rebuilds every cached base,
        // so it must be on purpose.
        let mmdebstrap = BuildSettings {
            base_source: BaseSource::Mmdebstrap,
            ..settings()
        };
        assert_eq!(
            base_reference(&mmdebstrap, "bullseye", None, &[]).0,
            "rehearse/debian:bullseye-b8429e2df03d"
        );
        let lamp = ["apache2".to_string(), "mariadb-server".to_string()];
        let with = base_reference(&settings(), "bookworm", None, &lamp);
        assert_ne!(with, plain);
        assert_eq!(with, base_reference(&settings(), "bookworm", None, &lamp));
        let pinned = ["apache2=2.4.62-1~deb12u2".to_string()];
        assert_eq!(
            install_packages(&pinned).unwrap(),
            "apt-get install -y -o APT::Install-Recommends=true --allow-downgrades apache2=2.4.62-1~deb12u2"
        );
        assert_eq!(install_packages(&[]), None);
        assert_eq!(
            describe("bookworm", None, &lamp),
            "base bookworm with 2 packages"
        );
        assert_eq!(
            describe("bookworm", None, &lamp[..1]),
            "base bookworm with apache2"
        );
    }

    #[test]
    fn the_package_cache_leaves_the_base_reference_alone() {
        let mut cached = settings();
        cached.apt_proxy = Some(crate::apt_cache::AptProxy::Builtin {
            port: 40123,
            hosts: vec!["deb.debian.org".into()],
            listeners: crate::apt_cache::Listeners::detached(),
        });
        assert_eq!(
            base_reference(&cached, "bookworm", None, &[]),
            base_reference(&settings(), "bookworm", None, &[])
        );
        assert_eq!(
            proxy_options(&cached),
            ["--aptopt=Acquire::http::Proxy::deb.debian.org \"http://127.0.0.1:40123/\""]
        );
        assert!(proxy_options(&settings()).is_empty());
    }
}
