//! The package cache: a caching HTTP forward proxy for the Debian mirrors, run by the
//! `rehearse` process itself, so a second rehearsal downloads (almost) nothing.
//!
//! apt (in the base-image bootstrap, the recipe builds and the replica's hosts) is
//! pointed at it with `Acquire::http::Proxy`. Package files (`pool/`) and `by-hash/`
//! files never change under their name and are served from disk once cached; every
//! other file (`InRelease`, `Packages*`, …) is revalidated with the mirror on every
//! request (a conditional GET), so an index is never served stale — unless the
//! mirror cannot be reached at all, when the cached copy is the best there is.
//!
//! Each file is kept as one record (validators and body together, renamed into place
//! whole), and requests missing the same file at once cost one download: the others
//! wait for it and serve what it stored.
//!
//! Only the configured mirrors' hosts are proxied: this is a cache, not an open relay.
//! It listens on loopback, and on the addresses where the run's containers reach this
//! machine once they are known (see [`AptCache::start`]), nowhere else.

mod listeners;
mod proxy;
mod store;
mod turns;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use listeners::{ListenError, Listeners};
pub use store::{BadPath, CacheKey, CachedFile, FileMeta, Freshness};

use crate::model::AptCacheReport;

/// How apt in the bootstrap, the builds and the hosts reaches the Debian mirrors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AptProxy {
    /// The built-in cache, listening on `port` on this machine, for these mirror hosts
    /// (every other host is reached directly). It listens on loopback only until told
    /// through `listeners` where containers reach this machine.
    Builtin {
        port: u16,
        hosts: Vec<String>,
        listeners: Listeners,
    },
    /// The user's own proxy (apt-cacher-ng, squid…), used for every host as given.
    External { url: String },
}

impl AptProxy {
    /// The proxy's URL as seen from a machine that reaches this one at `address`.
    pub fn url(&self, address: IpAddr) -> String {
        match self {
            AptProxy::Builtin { port, .. } => {
                format!("http://{}/", SocketAddr::new(address, *port))
            }
            AptProxy::External { url } => url.clone(),
        }
    }

    /// Make the proxy reachable at `address` of this machine (a network's gateway), for
    /// the containers there; the user's own proxy is theirs to place.
    pub fn listen_on(&self, address: IpAddr) -> Result<(), ListenError> {
        match self {
            AptProxy::Builtin { listeners, .. } => listeners.listen_on(address),
            AptProxy::External { .. } => Ok(()),
        }
    }

    /// Pass a warning on with the built-in cache's notices, which the caller shows.
    pub fn notice(&self, text: String) {
        if let AptProxy::Builtin { listeners, .. } = self {
            listeners.notice(text);
        }
    }

    /// apt options (without the final `;`) pointing apt at the proxy reached at `address`.
    pub fn apt_options(&self, address: IpAddr) -> Vec<String> {
        let url = self.url(address);
        match self {
            AptProxy::Builtin { hosts, .. } => hosts
                .iter()
                .map(|host| format!("Acquire::http::Proxy::{host} \"{url}\""))
                .collect(),
            AptProxy::External { .. } => vec![format!("Acquire::http::Proxy \"{url}\"")],
        }
    }
}

/// How the built-in cache is set up.
#[derive(Debug, Clone)]
pub struct AptCacheConfig {
    /// Folder of the cached files (created if missing).
    pub dir: PathBuf,
    /// Mirror URLs (`http://deb.debian.org/debian`): their hosts are the only ones proxied.
    pub mirrors: Vec<String>,
    /// Host name → address to connect to instead of resolving it (a test hook, like
    /// curl's `--resolve`: `REHEARSE_APT_CACHE_RESOLVE=HOST=ADDR:PORT`).
    pub resolve: HashMap<String, SocketAddr>,
    pub connect_timeout: Duration,
    /// Longest silence from the mirror in the middle of a download.
    pub read_timeout: Duration,
}

impl AptCacheConfig {
    pub fn new(dir: PathBuf, mirrors: Vec<String>) -> Self {
        AptCacheConfig {
            dir,
            mirrors,
            resolve: HashMap::new(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
        }
    }
}

/// The cache directory tag (<https://bford.info/cachedir/>) the cache folder carries.
pub const CACHEDIR_TAG: &str = "CACHEDIR.TAG";
pub(crate) const CACHEDIR_TAG_TEXT: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by rehearse (its package cache).\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";

/// What emptying the cache folder `dir` freed (or would free): files and bytes.
/// Refuses a folder without the cache's [`CACHEDIR_TAG`]: it is not the cache.
pub fn empty_cache_dir(dir: &Path, dry_run: bool) -> Result<(u64, u64), EmptyCacheError> {
    if !dir.exists() {
        return Ok((0, 0));
    }
    let tagged = std::fs::read_to_string(dir.join(CACHEDIR_TAG))
        .is_ok_and(|text| text.starts_with("Signature: 8a477f597d28d172789f06886806bc55"));
    if !tagged {
        return Err(EmptyCacheError::NotACache {
            dir: dir.to_path_buf(),
        });
    }
    /// Files and bytes under `path` (a file or a folder).
    fn size(path: &Path) -> (u64, u64) {
        match std::fs::read_dir(path) {
            Ok(entries) => entries.flatten().fold((0, 0), |(f, b), entry| {
                let (ef, eb) = size(&entry.path());
                (f + ef, b + eb)
            }),
            Err(_) => (1, std::fs::metadata(path).map_or(0, |m| m.len())),
        }
    }
    let (mut files, mut bytes) = (0, 0);
    let entries = std::fs::read_dir(dir).map_err(|source| EmptyCacheError::Read {
        dir: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        if entry.file_name() == CACHEDIR_TAG {
            continue;
        }
        let path = entry.path();
        let (f, b) = size(&path);
        files += f;
        bytes += b;
        if !dry_run {
            let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(|source| EmptyCacheError::Remove { path, source })?;
        }
    }
    Ok((files, bytes))
}

/// Why the package cache folder was not emptied.
#[derive(Debug, thiserror::Error)]
pub enum EmptyCacheError {
    #[error("`{}` is not a package cache of rehearse (it has no {}); nothing removed", dir.display(), CACHEDIR_TAG)]
    NotACache { dir: PathBuf },
    #[error("cannot read `{}`: {source}", dir.display())]
    Read {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot remove `{}`: {source}", path.display())]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Why a `HOST=ADDR:PORT` list does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("`{part}` is not HOST=ADDR:PORT")]
    NoAddress { part: String },
    #[error("`{addr}` in `{part}` is not ADDR:PORT: {source}")]
    BadAddress {
        addr: String,
        part: String,
        #[source]
        source: std::net::AddrParseError,
    },
}

/// Parse `HOST=ADDR:PORT[,HOST=ADDR:PORT…]`.
pub fn parse_resolve(spec: &str) -> Result<HashMap<String, SocketAddr>, ResolveError> {
    spec.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let (host, addr) = part
                .split_once('=')
                .ok_or_else(|| ResolveError::NoAddress {
                    part: part.to_string(),
                })?;
            let bad = |source| ResolveError::BadAddress {
                addr: addr.to_string(),
                part: part.to_string(),
                source,
            };
            let parsed: SocketAddr = addr.trim().parse().map_err(bad)?;
            Ok((host.trim().to_ascii_lowercase(), parsed))
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum AptCacheError {
    #[error("cannot create the package cache folder `{}`: {source}", dir.display())]
    Dir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("mirror `{url}` is not an http:// URL with a host")]
    Mirror { url: String },
    #[error("cannot listen for the package cache: {0}")]
    Listen(#[source] std::io::Error),
    #[error("cannot make the package cache's HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// What the cache did, counted as it happens, and what it has to tell (a mirror out of
/// reach, a cache folder that cannot be written) until someone passes it on.
#[derive(Debug, Default)]
pub struct AptCacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
    upstream_bytes: AtomicU64,
    cached_bytes: AtomicU64,
    notices: std::sync::Mutex<Vec<String>>,
}

impl AptCacheStats {
    pub fn counters(&self) -> AptCacheReport {
        AptCacheReport {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            upstream_bytes: self.upstream_bytes.load(Ordering::Relaxed),
            cached_bytes: self.cached_bytes.load(Ordering::Relaxed),
        }
    }

    /// The notices given since the last call, each a line that starts with its level
    /// ("notice: the mirror … cannot be reached …", "warning: …"), for the caller to
    /// show: the cache itself never prints.
    pub fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut *self.notices.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn notice(&self, text: String) {
        self.notices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(text);
    }

    fn hit(&self, bytes: u64) {
        self.hits.fetch_add(1, Ordering::Relaxed);
        self.cached_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn miss(&self, bytes: u64) {
        self.misses.fetch_add(1, Ordering::Relaxed);
        self.upstream_bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// The running cache; it stops when dropped, every listener with it.
pub struct AptCache {
    address: SocketAddr,
    hosts: Vec<String>,
    stats: Arc<AptCacheStats>,
    listeners: Arc<listeners::ListenerSet>,
}

impl std::fmt::Debug for AptCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AptCache")
            .field("address", &self.address)
            .field("hosts", &self.hosts)
            .field("listeners", &listeners::Listeners::of(&self.listeners))
            .finish_non_exhaustive()
    }
}

impl AptCache {
    /// Start listening on an ephemeral port of loopback, where mmdebstrap on this
    /// machine reaches it.
    ///
    /// Containers reach this machine at their network's gateway: the default bridge's
    /// for builds, the run network's (which exists only once the run has made it) for
    /// the replica's hosts. Whoever points them at the cache adds that address, on the
    /// same port, with [`AptProxy::listen_on`]; no other address of this machine (a
    /// public one, a VPN's) ever answers. Peers other than loopback, private (RFC 1918)
    /// addresses and this machine are refused all the same, and only the mirrors' hosts
    /// are proxied, so the port is no open relay.
    pub async fn start(config: AptCacheConfig) -> Result<AptCache, AptCacheError> {
        let allowed = config
            .mirrors
            .iter()
            .map(|url| {
                mirror_authority(url).ok_or_else(|| AptCacheError::Mirror { url: url.clone() })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut hosts: Vec<String> = allowed
            .iter()
            .map(|a| a.split(':').next().unwrap_or(a).to_string())
            .collect();
        hosts.sort();
        hosts.dedup();
        std::fs::create_dir_all(&config.dir).map_err(|source| AptCacheError::Dir {
            dir: config.dir.clone(),
            source,
        })?;
        // Backup tools skip a folder with this tag, and `gc --apt-cache` empties only a
        // folder that has it (never a folder given by mistake).
        let tag = config.dir.join(CACHEDIR_TAG);
        if !tag.exists() {
            let _ = std::fs::write(&tag, CACHEDIR_TAG_TEXT);
        }
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .build()
            .map_err(AptCacheError::Client)?;
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(AptCacheError::Listen)?;
        let address = listener.local_addr().map_err(AptCacheError::Listen)?;
        let stats = Arc::new(AptCacheStats::default());
        let shared = Arc::new(proxy::Shared {
            root: config.dir,
            allowed,
            resolve: config.resolve,
            client,
            stats: stats.clone(),
            offline_noticed: Default::default(),
            cache_trouble_noticed: Default::default(),
            turns: Default::default(),
        });
        let listeners = listeners::ListenerSet::start(listener, address.port(), shared)
            .map_err(AptCacheError::Listen)?;
        Ok(AptCache {
            address,
            hosts,
            stats,
            listeners,
        })
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The setting apt is given to use this cache.
    pub fn proxy(&self) -> AptProxy {
        AptProxy::Builtin {
            port: self.port(),
            hosts: self.hosts.clone(),
            listeners: listeners::Listeners::of(&self.listeners),
        }
    }

    pub fn stats(&self) -> Arc<AptCacheStats> {
        self.stats.clone()
    }

    /// Files whose download turn is taken or waited for.
    #[cfg(test)]
    fn turns_in_use(&self) -> usize {
        self.listeners.shared().turns.len()
    }
}

impl Drop for AptCache {
    fn drop(&mut self) {
        // Settings handed out keep the listener set alive: stop it now all the same.
        self.listeners.stop();
    }
}

/// `host` or `host:port` (lowercase, without the default port 80) of an http:// URL.
pub(crate) fn mirror_authority(url: &str) -> Option<String> {
    let uri: hyper::Uri = url.parse().ok()?;
    if uri.scheme_str() != Some("http") {
        return None;
    }
    let authority = uri.authority()?;
    Some(normal_authority(authority.host(), authority.port_u16()))
}

fn normal_authority(host: &str, port: Option<u16>) -> String {
    let host = host.to_ascii_lowercase();
    match port {
        None | Some(80) => host,
        Some(port) => format!("{host}:{port}"),
    }
}

#[cfg(test)]
mod tests;
