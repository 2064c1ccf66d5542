//! The cache against a stand-in mirror on 127.0.0.1 that honours conditional requests
//! and counts what it is asked.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// One file of the stand-in mirror.
#[derive(Debug, Clone)]
struct MirrorFile {
    body: Vec<u8>,
    etag: String,
    last_modified: String,
}

#[derive(Debug, Default)]
struct MirrorState {
    files: HashMap<String, MirrorFile>,
    /// (path, status answered) per request.
    requests: Vec<(String, u16)>,
}

#[derive(Debug, Clone)]
struct StandInMirror {
    address: SocketAddr,
    state: Arc<Mutex<MirrorState>>,
}

impl StandInMirror {
    async fn start() -> StandInMirror {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(MirrorState::default()));
        let served = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = served.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(mirror_answer(&state, &request)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        StandInMirror { address, state }
    }

    /// Publish (or change) a file; each version gets its own validators.
    fn put(&self, path: &str, body: &[u8], version: u32) {
        self.state.lock().unwrap().files.insert(
            path.to_string(),
            MirrorFile {
                body: body.to_vec(),
                etag: format!("\"v{version}\""),
                last_modified: format!("Mon, 0{version} Jan 2024 00:00:00 GMT"),
            },
        );
    }

    fn requests(&self, path: &str) -> Vec<u16> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, status)| *status)
            .collect()
    }
}

fn mirror_answer<B>(
    state: &Mutex<MirrorState>,
    request: &hyper::Request<B>,
) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    let mut state = state.lock().unwrap();
    let path = request.uri().path().to_string();
    let host = request
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        host, "deb.debian.org",
        "the mirror is asked for its own name"
    );
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (status, response) = match state.files.get(&path) {
        None => (
            404,
            hyper::Response::new(bytes::Bytes::from("not here").into()),
        ),
        Some(file)
            if header("if-none-match").as_deref() == Some(file.etag.as_str())
                || (header("if-none-match").is_none()
                    && header("if-modified-since").as_deref()
                        == Some(file.last_modified.as_str())) =>
        {
            (304, hyper::Response::new(bytes::Bytes::new().into()))
        }
        Some(file) => (
            200,
            hyper::Response::builder()
                .header("etag", &file.etag)
                .header("last-modified", &file.last_modified)
                .body(bytes::Bytes::from(file.body.clone()).into())
                .unwrap(),
        ),
    };
    let mut response = response;
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    state.requests.push((path, status));
    response
}

/// A cache in a fresh folder whose `deb.debian.org` is `upstream`.
async fn cache_for(dir: &std::path::Path, upstream: SocketAddr) -> AptCache {
    let mut config = AptCacheConfig::new(
        dir.to_path_buf(),
        vec![
            "http://deb.debian.org/debian".into(),
            "http://deb.debian.org/debian-security".into(),
        ],
    );
    config.resolve = HashMap::from([("deb.debian.org".to_string(), upstream)]);
    config.connect_timeout = std::time::Duration::from_secs(5);
    AptCache::start(config).await.unwrap()
}

/// Send one raw request line through the proxy; returns (status, body).
async fn ask(cache: &AptCache, request_line: &str) -> (u16, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", cache.port()))
        .await
        .unwrap();
    let request =
        format!("{request_line} HTTP/1.1\r\nHost: deb.debian.org\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    (status, raw[split + 4..].to_vec())
}

async fn get(cache: &AptCache, path: &str) -> (u16, Vec<u8>) {
    ask(cache, &format!("GET http://deb.debian.org{path}")).await
}

const DEB: &str = "/debian/pool/main/h/hello/hello_2.10-3_amd64.deb";
const INDEX: &str = "/debian/dists/bookworm/main/binary-amd64/Packages";

#[tokio::test]
async fn a_package_fetched_twice_is_downloaded_once() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = StandInMirror::start().await;
    // Bigger than one read, to see the body streamed whole.
    let deb: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    mirror.put(DEB, &deb, 1);
    let cache = cache_for(dir.path(), mirror.address).await;

    assert_eq!(get(&cache, DEB).await, (200, deb.clone()));
    assert_eq!(get(&cache, DEB).await, (200, deb.clone()));

    assert_eq!(mirror.requests(DEB), [200]);
    let counters = cache.stats().counters();
    assert_eq!(
        counters,
        AptCacheReport {
            hits: 1,
            misses: 1,
            upstream_bytes: deb.len() as u64,
            cached_bytes: deb.len() as u64,
        }
    );
    // Kept on disk under the mirror's name, nothing half-written left beside it.
    let stored = dir
        .path()
        .join("deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb");
    assert_eq!(std::fs::read(&stored).unwrap(), deb);
    let leftovers: Vec<_> = std::fs::read_dir(stored.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_package_apt_hung_up_on_is_still_cached() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = StandInMirror::start().await;
    let deb: Vec<u8> = (0..4_000_000u32).map(|i| (i % 241) as u8).collect();
    mirror.put(DEB, &deb, 1);
    let cache = cache_for(dir.path(), mirror.address).await;
    {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", cache.port()))
            .await
            .unwrap();
        let request =
            format!("GET http://deb.debian.org{DEB} HTTP/1.1\r\nHost: deb.debian.org\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut first = [0u8; 1024];
        let read = stream.read(&mut first).await.unwrap();
        assert!(String::from_utf8_lossy(&first[..read]).starts_with("HTTP/1.1 200"));
        // Hang up after the first bytes.
    }
    // The download goes on without apt; wait until it is in place.
    let stored = dir
        .path()
        .join("deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb");
    for _ in 0..600 {
        if stored.is_file() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(get(&cache, DEB).await, (200, deb.clone()));
    assert_eq!(mirror.requests(DEB), [200]);
    assert_eq!(cache.stats().counters().hits, 1);
}

#[tokio::test]
async fn a_cache_that_cannot_be_written_still_passes_packages_on() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = StandInMirror::start().await;
    mirror.put(DEB, b"a package", 1);
    // A file where the cache needs a folder.
    std::fs::create_dir_all(dir.path().join("deb.debian.org/debian")).unwrap();
    std::fs::write(dir.path().join("deb.debian.org/debian/pool"), b"in the way").unwrap();
    let cache = cache_for(dir.path(), mirror.address).await;
    assert_eq!(get(&cache, DEB).await, (200, b"a package".to_vec()));
    assert_eq!(get(&cache, DEB).await, (200, b"a package".to_vec()));
    assert_eq!(mirror.requests(DEB), [200, 200]);
    assert_eq!(cache.stats().counters().misses, 2);
    // Said once, kept for the caller to show; then nothing more until new trouble.
    let notices = cache.stats().take_notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].starts_with("warning: the package cache cannot write `"),
        "{notices:?}"
    );
    assert!(cache.stats().take_notices().is_empty());
}

#[tokio::test]
async fn a_changed_index_is_never_served_stale() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = StandInMirror::start().await;
    mirror.put(INDEX, b"Package: hello\nVersion: 1\n", 1);
    let cache = cache_for(dir.path(), mirror.address).await;
    assert_eq!(get(&cache, INDEX).await.1, b"Package: hello\nVersion: 1\n");

    mirror.put(INDEX, b"Package: hello\nVersion: 2\n", 2);
    assert_eq!(
        get(&cache, INDEX).await,
        (200, b"Package: hello\nVersion: 2\n".to_vec())
    );
    // Asked with the first version's validators, the mirror sent the new one.
    assert_eq!(mirror.requests(INDEX), [200, 200]);
    assert_eq!(cache.stats().counters().misses, 2);
    assert_eq!(cache.stats().counters().hits, 0);
}

#[tokio::test]
async fn an_unchanged_index_is_revalidated_and_served_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = StandInMirror::start().await;
    mirror.put(INDEX, b"Package: hello\n", 1);
    let cache = cache_for(dir.path(), mirror.address).await;
    assert_eq!(
        get(&cache, INDEX).await,
        (200, b"Package: hello\n".to_vec())
    );
    assert_eq!(
        get(&cache, INDEX).await,
        (200, b"Package: hello\n".to_vec())
    );
    assert_eq!(mirror.requests(INDEX), [200, 304]);
    let counters = cache.stats().counters();
    assert_eq!((counters.hits, counters.misses), (1, 1));
    assert_eq!(counters.cached_bytes, b"Package: hello\n".len() as u64);
}

#[tokio::test]
async fn with_the_mirror_down_what_is_cached_is_served_and_the_rest_is_a_502() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = StandInMirror::start().await;
    mirror.put(INDEX, b"Package: hello\n", 1);
    mirror.put(DEB, b"a package", 1);
    {
        let cache = cache_for(dir.path(), mirror.address).await;
        assert_eq!(get(&cache, INDEX).await.0, 200);
        assert_eq!(get(&cache, DEB).await.0, 200);
    }
    // A port nothing listens on: bound, then closed.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let offline = cache_for(dir.path(), closed).await;
    assert_eq!(
        get(&offline, INDEX).await,
        (200, b"Package: hello\n".to_vec())
    );
    assert_eq!(get(&offline, DEB).await, (200, b"a package".to_vec()));
    let (status, body) = get(&offline, "/debian/pool/main/c/cowsay/cowsay_3.03_all.deb").await;
    assert_eq!(status, 502);
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("`deb.debian.org`"), "{body}");
    let (status, _) = get(&offline, "/debian/dists/trixie/InRelease").await;
    assert_eq!(status, 502);
    let counters = offline.stats().counters();
    assert_eq!(
        (counters.hits, counters.misses, counters.upstream_bytes),
        (2, 0, 0)
    );
    let notices = offline.stats().take_notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].starts_with("notice: the mirror `deb.debian.org` cannot be reached ("),
        "{notices:?}"
    );
}

#[tokio::test]
async fn other_hosts_connect_and_traversal_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = StandInMirror::start().await;
    let cache = cache_for(dir.path(), mirror.address).await;
    let (status, body) = ask(&cache, "GET http://example.com/debian/pool/x.deb").await;
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("`example.com`"));
    assert_eq!(ask(&cache, "CONNECT deb.debian.org:443").await.0, 405);
    assert_eq!(
        ask(&cache, "POST http://deb.debian.org/debian/x").await.0,
        405
    );
    assert_eq!(get(&cache, "/debian/../../etc/passwd").await.0, 400);
    assert_eq!(
        get(&cache, "/debian/pool/%2e%2e/%2e%2e/etc/passwd").await.0,
        400
    );
    // Not a proxy request at all.
    assert_eq!(
        ask(&cache, "GET /debian/dists/bookworm/InRelease").await.0,
        400
    );
    assert!(mirror.state.lock().unwrap().requests.is_empty());
    assert_eq!(cache.stats().counters(), AptCacheReport::default());
}

#[test]
fn resolve_overrides_parse() {
    let parsed = parse_resolve("deb.debian.org=127.0.0.1:1, Mirror.test=10.0.0.1:8080").unwrap();
    assert_eq!(parsed["deb.debian.org"], "127.0.0.1:1".parse().unwrap());
    assert_eq!(parsed["mirror.test"], "10.0.0.1:8080".parse().unwrap());
    assert!(parse_resolve("deb.debian.org").is_err());
    assert!(parse_resolve("deb.debian.org=nowhere").is_err());
}

#[test]
fn apt_is_pointed_at_the_cache_for_the_mirror_hosts_only() {
    let proxy = AptProxy::Builtin {
        port: 3142,
        hosts: vec!["deb.debian.org".into()],
    };
    let gateway: IpAddr = "172.18.0.1".parse().unwrap();
    assert_eq!(
        proxy.apt_options(gateway),
        ["Acquire::http::Proxy::deb.debian.org \"http://172.18.0.1:3142/\""]
    );
    let own = AptProxy::External {
        url: "http://cacher:3142".into(),
    };
    assert_eq!(
        own.apt_options(gateway),
        ["Acquire::http::Proxy \"http://cacher:3142\""]
    );
}

#[test]
fn only_local_and_private_peers_are_served() {
    for ok in ["127.0.0.1", "172.17.0.2", "10.1.2.3", "192.168.1.5", "::1"] {
        assert!(proxy::local_peer(ok.parse().unwrap()), "{ok}");
    }
    for refused in ["8.8.8.8", "100.64.0.1", "2001:db8::1"] {
        assert!(!proxy::local_peer(refused.parse().unwrap()), "{refused}");
    }
}

#[test]
fn summary_line_reads_well() {
    let line = (AptCacheReport {
        hits: 812,
        misses: 3,
        upstream_bytes: 1_258_291,
        cached_bytes: 95_735_603,
    })
    .summary_line();
    assert_eq!(
        line,
        "812 hits, 3 misses, 1.2 MiB from the mirror, 91.3 MiB from the cache"
    );
    let small = AptCacheReport {
        hits: 1,
        misses: 1,
        upstream_bytes: 512,
        cached_bytes: 3 << 30,
    }
    .summary_line();
    assert_eq!(
        small,
        "1 hit, 1 miss, 512 B from the mirror, 3.0 GiB from the cache"
    );
}

#[test]
fn gc_empties_only_a_tagged_cache_folder_and_dry_run_only_counts() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("apt");
    std::fs::create_dir_all(cache.join("deb.debian.org/debian/pool/main/h")).unwrap();
    std::fs::write(
        cache.join("deb.debian.org/debian/pool/main/h/hello.deb"),
        [0u8; 1000],
    )
    .unwrap();
    std::fs::write(
        cache.join("deb.debian.org/debian/pool/main/h/hello.deb.meta"),
        "{}",
    )
    .unwrap();
    // No tag: not the cache, nothing removed.
    let refused = super::empty_cache_dir(&cache, false)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("not a package cache"), "{refused}");
    assert!(cache.join("deb.debian.org").exists());

    std::fs::write(cache.join(super::CACHEDIR_TAG), super::CACHEDIR_TAG_TEXT).unwrap();
    assert_eq!(super::empty_cache_dir(&cache, true).unwrap(), (2, 1002));
    assert!(
        cache
            .join("deb.debian.org/debian/pool/main/h/hello.deb")
            .exists()
    );
    assert_eq!(super::empty_cache_dir(&cache, false).unwrap(), (2, 1002));
    let left: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, [super::CACHEDIR_TAG], "the tag stays, the rest goes");
    // A folder that is not there yet has nothing to empty.
    assert_eq!(
        super::empty_cache_dir(&dir.path().join("none"), false).unwrap(),
        (0, 0)
    );
}

#[tokio::test]
async fn the_cache_folder_is_tagged_as_a_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = super::AptCache::start(super::AptCacheConfig::new(
        dir.path().join("apt"),
        vec!["http://deb.debian.org/debian".into()],
    ))
    .await
    .unwrap();
    let tag = std::fs::read_to_string(dir.path().join("apt").join(super::CACHEDIR_TAG)).unwrap();
    assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55"));
    drop(cache);
}
