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
    version: u32,
    etag: String,
    last_modified: String,
    /// Send only this many bytes of the body next time (announcing all of it), then
    /// hang up: a mirror dying mid-download.
    cut_short_once: Option<usize>,
}

#[derive(Debug, Default)]
struct MirrorState {
    files: HashMap<String, MirrorFile>,
    /// (path, status answered, version of the file then) per request.
    requests: Vec<(String, u16, u32)>,
    /// How long each answer takes, so that clients asking at once overlap.
    delay: std::time::Duration,
}

#[derive(Debug, Clone)]
struct StandInMirror {
    address: SocketAddr,
    state: Arc<Mutex<MirrorState>>,
}

type MirrorBody = http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, std::io::Error>;

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
                        async move {
                            let delay = state.lock().unwrap().delay;
                            tokio::time::sleep(delay).await;
                            Ok::<_, std::convert::Infallible>(mirror_answer(&state, &request))
                        }
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
                version,
                etag: format!("\"v{version}\""),
                last_modified: format!("Mon, 0{version} Jan 2024 00:00:00 GMT"),
                cut_short_once: None,
            },
        );
    }

    /// The next answer for `path` stops after `bytes` bytes of its body.
    fn cut_short_once(&self, path: &str, bytes: usize) {
        let mut state = self.state.lock().unwrap();
        state.files.get_mut(path).unwrap().cut_short_once = Some(bytes);
    }

    fn set_delay(&self, delay: std::time::Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    fn requests(&self, path: &str) -> Vec<u16> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|(p, _, _)| p == path)
            .map(|(_, status, _)| *status)
            .collect()
    }

    /// The versions of `path` the mirror sent whole (200), in order.
    fn downloads(&self, path: &str) -> Vec<u32> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|(p, status, _)| p == path && *status == 200)
            .map(|(_, _, version)| *version)
            .collect()
    }
}

fn mirror_answer<B>(
    state: &Mutex<MirrorState>,
    request: &hyper::Request<B>,
) -> hyper::Response<MirrorBody> {
    use http_body_util::BodyExt;
    let full = |data: bytes::Bytes| -> MirrorBody {
        http_body_util::Full::new(data)
            .map_err(|never| match never {})
            .boxed_unsync()
    };
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
    let (status, version, response) = match state.files.get_mut(&path) {
        None => (
            404,
            0,
            hyper::Response::new(full(bytes::Bytes::from("not here"))),
        ),
        Some(file)
            if header("if-none-match").as_deref() == Some(file.etag.as_str())
                || (header("if-none-match").is_none()
                    && header("if-modified-since").as_deref()
                        == Some(file.last_modified.as_str())) =>
        {
            (
                304,
                file.version,
                hyper::Response::new(full(bytes::Bytes::new())),
            )
        }
        Some(file) => {
            let body = match file.cut_short_once.take() {
                // The length announced is the whole body's: the client sees it cut.
                Some(cut) => {
                    use futures_util::StreamExt;
                    let part = bytes::Bytes::from(file.body[..cut].to_vec());
                    let first = futures_util::stream::iter([Ok(hyper::body::Frame::data(part))]);
                    // A moment after the first bytes, so that they are sent.
                    let death = futures_util::stream::once(async {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        Err(std::io::Error::other("the stand-in mirror dies"))
                    });
                    http_body_util::StreamBody::new(first.chain(death)).boxed_unsync()
                }
                None => full(bytes::Bytes::from(file.body.clone())),
            };
            (
                200,
                file.version,
                hyper::Response::builder()
                    .header("etag", &file.etag)
                    .header("last-modified", &file.last_modified)
                    .header("content-length", file.body.len())
                    .body(body)
                    .unwrap(),
            )
        }
    };
    let mut response = response;
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    state.requests.push((path, status, version));
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
    let (status, _, body) = ask_with_head(cache, request_line).await;
    (status, body)
}

/// Send one raw request line through the proxy; returns (status, head, body).
async fn ask_with_head(cache: &AptCache, request_line: &str) -> (u16, String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", cache.port()))
        .await
        .unwrap();
    let request =
        format!("{request_line} HTTP/1.1\r\nHost: deb.debian.org\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    // A proxy that gives up mid-body resets the connection: what came is the answer.
    let _ = stream.read_to_end(&mut raw).await;
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
    (status, head, raw[split + 4..].to_vec())
}

/// The value of header `name` in `head`.
fn head_value(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
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
    // Kept on disk under the mirror's name, one record with its validators, nothing
    // half-written left beside it.
    let stored = dir
        .path()
        .join("deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb");
    let key = CacheKey::new(dir.path(), "deb.debian.org", DEB).unwrap();
    assert_eq!(key.path, stored);
    let mut cached = key.open().await.unwrap();
    assert_eq!(cached.meta.etag.as_deref(), Some("\"v1\""));
    let mut body = Vec::new();
    cached.body.read_to_end(&mut body).await.unwrap();
    assert_eq!(body, deb);
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

/// A body that says which file and version it is, so a body served with another
/// version's validators shows.
fn versioned_body(path: &str, version: u32, size: usize) -> Vec<u8> {
    let line = format!("{path} version {version}\n");
    line.bytes().cycle().take(size.max(line.len())).collect()
}

const COWSAY: &str = "/debian/pool/main/c/cowsay/cowsay_3.03_all.deb";
const BY_HASH: &str = "/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/ab12";

fn body_size(path: &str) -> usize {
    if path == INDEX { 50_000 } else { 200_000 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_clients_get_each_file_from_the_mirror_once_and_always_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = StandInMirror::start().await;
    const IMMUTABLE: [&str; 3] = [DEB, COWSAY, BY_HASH];
    for path in IMMUTABLE.into_iter().chain([INDEX]) {
        mirror.put(path, &versioned_body(path, 1, body_size(path)), 1);
    }
    // Clients asking at once overlap for that long.
    mirror.set_delay(std::time::Duration::from_millis(50));
    let cache = Arc::new(cache_for(dir.path(), mirror.address).await);
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..32usize {
        let cache = cache.clone();
        clients.spawn(async move {
            let mut seen = Vec::new();
            for round in 0..4usize {
                let path = if (client + round) % 2 == 0 {
                    INDEX
                } else {
                    IMMUTABLE[(client / 2 + round) % 3]
                };
                let answer =
                    ask_with_head(&cache, &format!("GET http://deb.debian.org{path}")).await;
                seen.push((path, answer));
            }
            seen
        });
    }
    // The index changes while the clients ask for it.
    for version in [2, 3] {
        tokio::time::sleep(std::time::Duration::from_millis(120)).await;
        mirror.put(
            INDEX,
            &versioned_body(INDEX, version, body_size(INDEX)),
            version,
        );
    }
    let mut served = 0u64;
    while let Some(joined) = clients.join_next().await {
        for (path, (status, head, body)) in joined.unwrap() {
            assert_eq!(status, 200, "{path}: {head}");
            let etag = head_value(&head, "etag").unwrap_or_else(|| panic!("no ETag: {head}"));
            let version: u32 = etag
                .trim_matches('"')
                .trim_start_matches('v')
                .parse()
                .unwrap();
            assert!(
                body == versioned_body(path, version, body_size(path)),
                "`{path}` served with ETag {etag} and a body starting {:?}",
                String::from_utf8_lossy(&body[..body.len().min(60)])
            );
            served += 1;
        }
    }
    assert_eq!(served, 128);
    for path in IMMUTABLE {
        assert_eq!(mirror.downloads(path), [1], "{path}");
    }
    // At most one download of each version of the index.
    let index = mirror.downloads(INDEX);
    let mut once = index.clone();
    once.dedup();
    assert_eq!(index, once, "{:?}", mirror.requests(INDEX));
    let counters = cache.stats().counters();
    assert_eq!(counters.hits + counters.misses, served, "{counters:?}");
    assert_eq!(counters.misses, 3 + index.len() as u64, "{counters:?}");
    assert!(no_partial_files(dir.path()).is_empty());
    // Each turn is forgotten once nobody wants it.
    assert_eq!(cache.turns_in_use(), 0);
}

/// Files under `dir` that are downloads in progress (or left by one).
fn no_partial_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".part"))
        .collect()
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test]
async fn a_file_cached_in_the_old_layout_is_fetched_again() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = StandInMirror::start().await;
    mirror.put(DEB, b"the package, whole", 1);
    mirror.put(INDEX, b"Package: hello\nVersion: 1\n", 1);
    // A body and a `.meta` beside it with the mirror's current validators: what the
    // cache wrote before its files were records.
    for path in [DEB, INDEX] {
        let body = dir.path().join(format!("deb.debian.org{path}"));
        std::fs::create_dir_all(body.parent().unwrap()).unwrap();
        std::fs::write(&body, b"an old body").unwrap();
        std::fs::write(
            format!("{}.meta", body.display()),
            r#"{"etag":"\"v1\"","last_modified":"Mon, 01 Jan 2024 00:00:00 GMT"}"#,
        )
        .unwrap();
    }
    let cache = cache_for(dir.path(), mirror.address).await;
    assert_eq!(
        get(&cache, DEB).await,
        (200, b"the package, whole".to_vec())
    );
    assert_eq!(
        get(&cache, INDEX).await,
        (200, b"Package: hello\nVersion: 1\n".to_vec())
    );
    assert_eq!(mirror.requests(DEB), [200]);
    assert_eq!(mirror.requests(INDEX), [200]);
    // Overwritten in the new layout, and served from it.
    assert_eq!(
        get(&cache, DEB).await,
        (200, b"the package, whole".to_vec())
    );
    assert_eq!(
        get(&cache, INDEX).await,
        (200, b"Package: hello\nVersion: 1\n".to_vec())
    );
    assert_eq!(mirror.requests(DEB), [200]);
    assert_eq!(mirror.requests(INDEX), [200, 304]);
}

#[tokio::test]
async fn a_download_cut_short_is_never_served_and_is_fetched_whole_next_time() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = StandInMirror::start().await;
    let deb = versioned_body(DEB, 1, 300_000);
    mirror.put(DEB, &deb, 1);
    mirror.cut_short_once(DEB, 100_000);
    let index_v1 = versioned_body(INDEX, 1, 100_000);
    let index_v2 = versioned_body(INDEX, 2, 100_000);
    mirror.put(INDEX, &index_v1, 1);
    let cache = cache_for(dir.path(), mirror.address).await;
    assert_eq!(get(&cache, INDEX).await, (200, index_v1.clone()));

    let (status, body) = get(&cache, DEB).await;
    assert_eq!(status, 200);
    assert!(body.len() < deb.len(), "{} bytes", body.len());
    // A new version of a cached index, cut short: the old record stays as it was.
    mirror.put(INDEX, &index_v2, 2);
    mirror.cut_short_once(INDEX, 10_000);
    let (_, body) = get(&cache, INDEX).await;
    assert!(body.len() < index_v2.len(), "{} bytes", body.len());
    assert!(no_partial_files(dir.path()).is_empty());

    assert_eq!(get(&cache, DEB).await, (200, deb.clone()));
    assert_eq!(get(&cache, INDEX).await, (200, index_v2.clone()));
    assert_eq!(mirror.requests(DEB), [200, 200]);
    assert_eq!(mirror.requests(INDEX), [200, 200, 200]);
    // Whole now, and kept.
    assert_eq!(get(&cache, DEB).await, (200, deb));
    assert_eq!(get(&cache, INDEX).await, (200, index_v2));
    assert_eq!(mirror.requests(DEB), [200, 200]);
    assert_eq!(mirror.requests(INDEX), [200, 200, 200, 304]);
}

#[tokio::test]
async fn a_client_hanging_up_on_a_download_cut_short_leaves_nothing_served() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = StandInMirror::start().await;
    let deb = versioned_body(DEB, 1, 4_000_000);
    mirror.put(DEB, &deb, 1);
    mirror.cut_short_once(DEB, 2_000_000);
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
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(get(&cache, DEB).await, (200, deb.clone()));
    assert_eq!(mirror.requests(DEB), [200, 200]);
    assert_eq!(get(&cache, DEB).await, (200, deb));
    assert_eq!(mirror.requests(DEB), [200, 200]);
    assert!(no_partial_files(dir.path()).is_empty());
}

/// This machine's address on its default route, if it has one (connecting a UDP
/// socket only picks the route: no packet is sent).
fn non_loopback_address() -> Option<IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("203.0.113.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn the_cache_listens_on_loopback_only_until_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = StandInMirror::start().await;
    mirror.put(DEB, b"a package", 1);
    let cache = cache_for(dir.path(), mirror.address).await;
    let port = cache.port();
    assert_eq!(get(&cache, DEB).await, (200, b"a package".to_vec()));
    // A machine with loopback alone has nowhere else to be refused.
    let Some(address) = non_loopback_address() else {
        return;
    };
    let connected = tokio::net::TcpStream::connect((address, cache.port())).await;
    assert!(
        connected.is_err(),
        "the cache accepts connections on `{address}`"
    );
    // Asked to, it listens there too, on the same port (twice is once), and serves
    // this machine there.
    let proxy = cache.proxy();
    proxy.listen_on(address).unwrap();
    proxy.listen_on(address).unwrap();
    proxy.listen_on("127.0.0.1".parse().unwrap()).unwrap();
    let mut stream = tokio::net::TcpStream::connect((address, cache.port()))
        .await
        .unwrap();
    stream
        .write_all(
            format!("GET http://deb.debian.org{DEB} HTTP/1.1\r\nHost: deb.debian.org\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(answer.ends_with(b"a package"));
    // Every listener stops with the cache, and no address can be added after.
    drop(cache);
    tokio::task::yield_now().await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(
        tokio::net::TcpStream::connect((address, port))
            .await
            .is_err()
    );
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
    );
    let stopped = proxy.listen_on(address).unwrap_err().to_string();
    assert!(stopped.contains("has stopped"), "{stopped}");
}

#[tokio::test]
async fn an_address_that_is_not_this_machines_says_where_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = StandInMirror::start().await;
    let cache = cache_for(dir.path(), mirror.address).await;
    // TEST-NET-3: no machine's address.
    let error = cache
        .proxy()
        .listen_on("203.0.113.7".parse().unwrap())
        .unwrap_err()
        .to_string();
    let address = format!("`203.0.113.7:{}`", cache.port());
    assert!(error.contains(&address), "{error}");
    assert!(
        error.contains("--apt-proxy") && error.contains("--no-apt-cache"),
        "{error}"
    );
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
        listeners: Listeners::detached(),
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
