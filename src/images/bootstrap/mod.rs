//! The built-in bootstrap: a Debian base image made with nothing on this machine but
//! `rehearse` and an engine (no registry, no mmdebstrap), the way debootstrap and
//! mmdebstrap make one.
//!
//! 1. Each suite's `InRelease` (the release, its `-updates`, its security suite) is
//!    fetched through the package cache and its signature checked against Debian's
//!    archive keys carried in this binary ([`archive`]); its `Packages` index is
//!    checked against the hash the signed release gives.
//! 2. The packages that make `dpkg` and `apt` work (every `Essential: yes` package and
//!    `apt`, with their dependencies) are fetched and checked against the index's
//!    hashes ([`packages`]), their files unpacked on this machine into one merged-`/usr`
//!    root filesystem and imported ([`rootfs`]).
//! 3. In a build on that image they are installed again with `dpkg`, so the package
//!    database and maintainer scripts are real; then that apt installs the rest of
//!    `minbase` (every `Priority: required` package) and the base packages, as
//!    mmdebstrap's own second half does.

pub mod archive;
pub mod packages;
pub mod rootfs;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Instant, SystemTime};

use futures_util::StreamExt;

use super::{BuildSettings, ImageError, ImageEvent};
use crate::debian::release::security_suite;
use crate::engine::Engine;
use packages::Index;

/// A fetched `.deb`: package name, file name, contents.
type Fetched = (String, String, Vec<u8>);

/// How many `.deb`s are fetched at once.
const PARALLEL_FETCHES: usize = 4;

/// Make the base image `reference` for `suite` with the built-in bootstrap.
pub(super) async fn bootstrap<E: Engine>(
    engine: &E,
    settings: &BuildSettings,
    base: &super::base::Base<'_>,
    on_event: &mut (dyn FnMut(ImageEvent) + Send),
) -> Result<(), ImageError> {
    let (suite, hash) = (base.suite, base.hash);
    let what = base.what();
    let fail = |detail: String| ImageError::BuiltinBootstrap {
        suite: suite.to_string(),
        detail,
    };
    let mut say = |line: String| {
        on_event(ImageEvent::Output {
            what: what.clone(),
            line,
        })
    };
    let arch = match base.arch {
        Some(arch) => arch.to_string(),
        None => engine.info().await?.debian_architecture(),
    };
    let proxy = settings
        .apt_proxy
        .as_ref()
        .map(|p| p.url(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    let fetcher = archive::Fetcher::new(proxy.as_deref()).map_err(|e| fail(e.to_string()))?;
    let keys = archive::keyring();

    // 1. The signed indexes.
    let started = Instant::now();
    let mut index = Index::default();
    let security = security_suite(suite);
    for (mirror, dist) in [
        (settings.mirror.as_str(), suite.to_string()),
        (settings.mirror.as_str(), format!("{suite}-updates")),
        (settings.security_mirror.as_str(), security),
    ] {
        let base = format!("{}/dists/{dist}", mirror.trim_end_matches('/'));
        let url = format!("{base}/InRelease");
        let text = fetcher
            .get(&url, archive::RELEASE_LIMIT)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let release = archive::verify_release(&url, &text, &keys, SystemTime::now())
            .map_err(|e| fail(e.to_string()))?;
        let path = format!("main/binary-{arch}/Packages.xz");
        let Some(vouched) = release.files.get(&path) else {
            return Err(fail(format!("{url} lists no `{path}`")));
        };
        // By its hash where the archive offers it, as apt fetches it: a file that
        // never changes, which the package cache then serves to both without asking
        // the mirror again.
        let packages_url = if release.by_hash {
            format!(
                "{base}/main/binary-{arch}/by-hash/SHA256/{}",
                vouched.sha256
            )
        } else {
            format!("{base}/{path}")
        };
        let compressed = fetcher
            .get_vouched(&packages_url, vouched)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let mirror_owned = mirror.to_string();
        let arch_owned = arch.clone();
        index = tokio::task::spawn_blocking(move || {
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut liblzma::read::XzDecoder::new(compressed.as_slice()),
                &mut text,
            )
            .map_err(|e| format!("{packages_url}: {e}"))?;
            index
                .add(&text, &mirror_owned, &arch_owned)
                .map_err(|e| format!("{packages_url}: {e}"))?;
            Ok::<_, String>(index)
        })
        .await
        .map_err(|e| fail(e.to_string()))?
        .map_err(fail)?;
        say(format!("verified {url}"));
    }

    // 2. The first stage: what dpkg and apt need, unpacked here.
    let mut seeds = index.essential();
    seeds.push("apt".into());
    // What mmdebstrap's merged-/usr hook installs where the package exists (bookworm
    // on): the marker, not `usrmerge`, which would convert and pull in perl.
    if super::base::merges_usr_with_package(suite) && index.get("usr-is-merged").is_some() {
        seeds.push("usr-is-merged".into());
    }
    let first = index.closure(&seeds).map_err(fail)?;
    let names: Vec<String> = first.keys().cloned().collect();
    let wanted: Vec<(String, String, String, archive::Vouched)> = first
        .values()
        .map(|p| {
            let file_name = p.filename.rsplit('/').next().unwrap_or(&p.name).to_string();
            (p.name.clone(), file_name, p.url(), p.vouched.clone())
        })
        .collect();
    let required: Vec<String> = index
        .required()
        .into_iter()
        .filter(|name| !first.contains_key(name))
        .collect();
    say(format!(
        "fetching {} packages for the first stage ({arch})",
        wanted.len()
    ));
    let fetched: Vec<Result<Fetched, archive::ArchiveError>> =
        futures_util::stream::iter(wanted.into_iter().map(|(name, file_name, url, vouched)| {
            let fetcher = &fetcher;
            async move {
                let body = fetcher.get_vouched(&url, &vouched).await?;
                Ok((name, file_name, body))
            }
        }))
        .buffered(PARALLEL_FETCHES)
        .collect()
        .await;
    let debs = fetched
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    let essential_files: Vec<String> = debs.iter().map(|(_, f, _)| f.clone()).collect();
    let arch_owned = arch.clone();
    let tar = tokio::task::spawn_blocking(move || {
        let mut rootfs = rootfs::Rootfs::new(&arch_owned).map_err(|e| e.to_string())?;
        for (name, file_name, deb) in &debs {
            rootfs.add_deb(name, file_name, deb)?;
        }
        rootfs.finish().map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| fail(e.to_string()))?
    .map_err(fail)?;
    say(format!(
        "first stage: {} packages unpacked ({}) in {:.1}s",
        names.len(),
        bytesize::ByteSize(tar.len() as u64).display().iec(),
        started.elapsed().as_secs_f64()
    ));
    let stage1 = format!("rehearse/bootstrap-stage1:{}", &hash[..12]);
    // What the base image says of itself is set here, inherited by the build: each
    // instruction of a build after a large layer costs seconds on some storage drivers
    // (4 s on fuse-overlayfs), so the build below is its one `RUN`. (A stage a crash
    // left is found by `gc --images` by the same label.)
    let changes = super::base::identity(hash, suite, "builtin");
    // Handed out in slices of the one buffer, not copied.
    let tar = bytes::Bytes::from(tar);
    let stream = futures_util::stream::iter(
        (0..tar.len())
            .step_by(1 << 20)
            .map(move |start| Ok(tar.slice(start..(start + (1 << 20)).min(tar.len()))))
            .collect::<Vec<_>>(),
    )
    .boxed();
    engine.import_rootfs(stream, &stage1, &changes).await?;

    // 3. The second stage, in a build on it.
    let result = second_stage(
        engine,
        settings,
        base,
        &stage1,
        &essential_files,
        &required,
        on_event,
    )
    .await;
    let _ = engine.remove_image(&stage1).await;
    result
}

async fn second_stage<E: Engine>(
    engine: &E,
    settings: &BuildSettings,
    base: &super::base::Base<'_>,
    stage1: &str,
    essential_files: &[String],
    required: &[String],
    on_event: &mut (dyn FnMut(ImageEvent) + Send),
) -> Result<(), ImageError> {
    let sources = super::base::source_lines(settings, base.suite).join("\\n");
    // The recipe's packages, in the same build (one layer): as the admin's `apt-get
    // install` would, recommends included.
    let recipe = super::base::install_packages(base.packages)
        .map(|install| format!("{install}; "))
        .unwrap_or_default();
    let debs = essential_files.join(" ");
    let mut rest: Vec<&str> = required.iter().map(String::as_str).collect();
    rest.extend(super::base::BASE_PACKAGES);
    // Services must not start (policy-rc.d), as mmdebstrap and debootstrap make sure;
    // dpkg need not sync what a failed bootstrap throws away (force-unsafe-io); no
    // recommends, as mmdebstrap installs none. The lists stay, as on a real host.
    let script = format!(
        "export DEBIAN_FRONTEND=noninteractive; \
         printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; \
         cd /{archives}; dpkg --force-depends --force-unsafe-io --install {debs}; \
         dpkg --force-unsafe-io --configure --pending; rm -f {debs}; \
         printf '{sources}\\n' > /etc/apt/sources.list; \
         apt-get -o Acquire::Retries=3 update; \
         apt-get -o Dpkg::Options::=--force-unsafe-io install -y --no-install-recommends {rest}; \
         {recipe}apt-get clean; rm -f /usr/sbin/policy-rc.d",
        archives = rootfs::ARCHIVES,
        rest = rest.join(" "),
    );
    // Not in a build: dpkg writes the trees it fills on the engine's own file system
    // (volumes), not through its storage driver (see docs/src/performance.md).
    let env = super::proxy_build_args(engine, settings)
        .await?
        .into_iter()
        .collect();
    let spec = crate::engine::ScriptBuild {
        image: stage1.to_string(),
        reference: base.reference.to_string(),
        script,
        env,
        volumes: VOLUMES.iter().map(|v| v.to_string()).collect(),
        files: bytes::Bytes::new(),
        made_as: crate::engine::MadeAs::Import {
            changes: super::base::identity(base.hash, base.suite, "builtin"),
        },
    };
    let what = base.what();
    let mut tail: Vec<String> = Vec::new();
    let built = engine
        .build_by_script(&spec, &mut |line| {
            super::base::remember(&mut tail, line);
            on_event(ImageEvent::Output {
                what: what.clone(),
                line: line.to_string(),
            })
        })
        .await;
    built.map_err(|e| ImageError::BuiltinBootstrap {
        suite: base.suite.to_string(),
        detail: format!("the second stage: {e}; last output:\n{}", tail.join("\n")),
    })
}

/// The folders the second stage writes, on volumes.
const VOLUMES: &[&str] = &["/usr", "/var", "/etc"];
