//! The HTTP side of the cache: plain HTTP forward-proxy requests in
//! (`GET http://deb.debian.org/debian/… HTTP/1.1`), answers from disk or the mirror out.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::store::{CacheKey, CachedFile, FileMeta, Freshness};
use super::turns::{DownloadTurns, Turn};
use super::{AptCacheStats, normal_authority};

pub(super) type ProxyBody = BoxBody<Bytes, std::io::Error>;

/// Most of an error page from the mirror relayed to apt (the rest is dropped).
const RELAYED_BODY_LIMIT: usize = 64 * 1024;

#[derive(Debug)]
pub(super) struct Shared {
    pub root: PathBuf,
    /// Authorities (`host` or `host:port`) of the mirrors.
    pub allowed: Vec<String>,
    pub resolve: HashMap<String, SocketAddr>,
    pub client: reqwest::Client,
    pub stats: Arc<AptCacheStats>,
    pub offline_noticed: AtomicBool,
    pub cache_trouble_noticed: Arc<AtomicBool>,
    pub turns: Arc<DownloadTurns>,
}

/// Accept connections until the task is aborted.
pub(super) async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                // Out of file descriptors, most likely: wait rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        // A second line of defence behind listening only where the run's containers
        // reach this machine: peers elsewhere are not served. A connection from one of
        // this machine's own addresses to itself is this machine.
        let to_itself = stream.local_addr().is_ok_and(|own| own.ip() == peer.ip());
        if !local_peer(peer.ip()) && !to_itself {
            continue;
        }
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(&shared, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Loopback and private (RFC 1918) addresses: this machine and the engine's networks.
pub(super) fn local_peer(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_private())
        }
    }
}

pub(super) async fn handle<B>(shared: &Shared, request: Request<B>) -> Response<ProxyBody> {
    let method = request.method().clone();
    if method == Method::CONNECT {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "the rehearse package cache proxies plain http:// mirror requests only, not CONNECT",
        );
    }
    if method != Method::GET && method != Method::HEAD {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("the rehearse package cache answers GET and HEAD, not {method}"),
        );
    }
    let uri = request.uri();
    let Some(authority) = uri.authority().filter(|_| uri.scheme_str() == Some("http")) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "the rehearse package cache is a forward proxy: send absolute http:// request URIs",
        );
    };
    let authority = normal_authority(authority.host(), authority.port_u16());
    if !shared.allowed.contains(&authority) {
        return plain(
            StatusCode::FORBIDDEN,
            &format!(
                "`{authority}` is not one of the mirrors the rehearse package cache proxies ({})",
                shared.allowed.join(", ")
            ),
        );
    }
    if uri.query().is_some() {
        return plain(
            StatusCode::BAD_REQUEST,
            "the rehearse package cache does not proxy URLs with a query",
        );
    }
    let path = uri.path().to_string();
    let key = match CacheKey::new(&shared.root, &authority, &path) {
        Ok(key) => key,
        Err(e) => return plain(StatusCode::BAD_REQUEST, &e.0),
    };
    let response = match key.freshness {
        Freshness::Immutable => immutable(shared, &authority, &path, &key).await,
        Freshness::Revalidate => revalidated(shared, &authority, &path, &key).await,
    };
    if method == Method::HEAD {
        let (parts, _) = response.into_parts();
        return Response::from_parts(parts, empty());
    }
    response
}

/// A package file: from disk when cached, else fetched once and kept. Requests
/// missing it at once take turns: the first downloads it, the others then find it on
/// disk (or, if that download failed, try in their turn).
async fn immutable(
    shared: &Shared,
    authority: &str,
    path: &str,
    key: &CacheKey,
) -> Response<ProxyBody> {
    if let Some(cached) = key.open().await {
        shared.stats.hit(cached.length);
        return from_file(cached);
    }
    let turn = shared.turns.take(&key.path).await;
    // Stored by the turn before this one, or between the look above and this turn.
    if let Some(cached) = key.open().await {
        shared.stats.hit(cached.length);
        return from_file(cached);
    }
    match fetch(shared, authority, path, None).await {
        Ok(upstream) => store_or_relay(shared, key, upstream, turn).await,
        Err(e) => unreachable_mirror(authority, &e),
    }
}

/// An index: asked of the mirror every time, with the cached copy's validators —
/// except by a request that waited for the turn of one that just did so: it serves
/// what that one settled, as fresh as the mirror can tell.
async fn revalidated(
    shared: &Shared,
    authority: &str,
    path: &str,
    key: &CacheKey,
) -> Response<ProxyBody> {
    let mut turn = shared.turns.take(&key.path).await;
    let cached = key.open().await;
    if turn.settled_while_waiting()
        && let Some(cached) = cached
    {
        shared.stats.hit(cached.length);
        return from_file(cached);
    }
    match fetch(shared, authority, path, cached.as_ref().map(|c| &c.meta)).await {
        Ok(upstream) if upstream.status() == reqwest::StatusCode::NOT_MODIFIED => match cached {
            Some(cached) => {
                turn.settle();
                shared.stats.hit(cached.length);
                from_file(cached)
            }
            None => relay(upstream).await,
        },
        Ok(upstream) => store_or_relay(shared, key, upstream, turn).await,
        Err(e) if e.is_connect() || e.is_timeout() => match cached {
            Some(cached) => {
                if !shared.offline_noticed.swap(true, Ordering::Relaxed) {
                    shared.stats.notice(format!(
                        "notice: the mirror `{authority}` cannot be reached ({}); the package cache serves the indexes it has",
                        error_chain(&e)
                    ));
                }
                // The requests waiting would only wait for the mirror in turn.
                turn.settle();
                shared.stats.hit(cached.length);
                from_file(cached)
            }
            None => unreachable_mirror(authority, &e),
        },
        Err(e) => unreachable_mirror(authority, &e),
    }
}

async fn fetch(
    shared: &Shared,
    authority: &str,
    path: &str,
    validators: Option<&FileMeta>,
) -> Result<reqwest::Response, reqwest::Error> {
    let host = authority.split(':').next().unwrap_or(authority);
    let url = match shared.resolve.get(host) {
        Some(address) => format!("http://{address}{path}"),
        None => format!("http://{authority}{path}"),
    };
    let mut request = shared
        .client
        .get(url)
        .header(header::HOST, authority)
        .header(
            header::USER_AGENT,
            concat!("rehearse/", env!("CARGO_PKG_VERSION")),
        );
    if let Some(meta) = validators {
        if let Some(etag) = &meta.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &meta.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, modified);
        }
    }
    request.send().await
}

/// A 200 is streamed to apt while it is written to the cache (at most [`IN_FLIGHT`]
/// chunks in memory); anything else is relayed as is. The download goes on when apt
/// hangs up, so the file is cached all the same. The last chunk is held back until the
/// file is in place: an apt that got the whole file finds it cached next time. The
/// file's `turn` is held by the download until then, so the requests waiting for it
/// find it on disk.
async fn store_or_relay(
    shared: &Shared,
    key: &CacheKey,
    mut upstream: reqwest::Response,
    mut turn: Turn,
) -> Response<ProxyBody> {
    if upstream.status() != reqwest::StatusCode::OK {
        return relay(upstream).await;
    }
    let text = |name: header::HeaderName| {
        upstream
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let meta = FileMeta {
        etag: text(header::ETAG),
        last_modified: text(header::LAST_MODIFIED),
        content_type: text(header::CONTENT_TYPE),
    };
    // A cache that cannot be written (disk full, permissions) never fails apt: the
    // file is then passed on without being kept.
    let mut pending = match key.begin(&meta).await {
        Ok(pending) => Some(pending),
        Err(e) => {
            cache_trouble(shared, key, &e);
            None
        }
    };
    let length = upstream.content_length();
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(IN_FLIGHT);
    let stats = shared.stats.clone();
    let key = key.clone();
    let response_meta = meta.clone();
    let noticed = shared.cache_trouble_noticed.clone();
    tokio::spawn(async move {
        let mut client = Some(sender);
        let mut held: Option<Bytes> = None;
        let mut received: u64 = 0;
        let failure = loop {
            match upstream.chunk().await {
                Ok(Some(chunk)) => {
                    received += chunk.len() as u64;
                    if let Some(file) = pending.as_mut()
                        && let Err(e) = file.write(&chunk).await
                    {
                        notice_cache_trouble(&stats, &noticed, &key, &e);
                        // Dropping the pending file removes it.
                        pending = None;
                    }
                    if let (Some(previous), Some(to)) = (held.replace(chunk), &client)
                        && to.send(Ok(previous)).await.is_err()
                    {
                        // apt hung up; the file is still worth keeping.
                        client = None;
                    }
                }
                Ok(None) if length.is_some_and(|l| l != received) => {
                    break Some(std::io::Error::other(format!(
                        "the mirror sent {received} of {} bytes",
                        length.unwrap_or_default()
                    )));
                }
                Ok(None) => break None,
                Err(e) => break Some(std::io::Error::other(error_chain(&e))),
            }
        };
        match failure {
            // The pending file is dropped with the task: nothing half-downloaded is kept.
            Some(e) => {
                if let Some(to) = &client {
                    let _ = to.send(Err(e)).await;
                }
            }
            None => {
                if let Some(file) = pending {
                    match file.commit(&key).await {
                        Ok(()) => turn.settle(),
                        Err(e) => notice_cache_trouble(&stats, &noticed, &key, &e),
                    }
                }
                // The requests waiting find the file on disk from here on.
                drop(turn);
                stats.miss(received);
                if let (Some(last), Some(to)) = (held, &client) {
                    let _ = to.send(Ok(last)).await;
                }
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(receiver).map_ok(Frame::data);
    let mut response = Response::builder().status(StatusCode::OK);
    if let Some(length) = length {
        response = response.header(header::CONTENT_LENGTH, length);
    }
    with_meta(response, &response_meta)
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap_or_else(|_| plain(StatusCode::BAD_GATEWAY, "the mirror's answer was malformed"))
}

/// Chunks of a download in memory at once, per request (64 KiB or so each).
const IN_FLIGHT: usize = 16;

/// The cached file's validators and type as response headers.
fn with_meta(
    mut response: hyper::http::response::Builder,
    meta: &FileMeta,
) -> hyper::http::response::Builder {
    for (name, value) in [
        (header::ETAG, &meta.etag),
        (header::LAST_MODIFIED, &meta.last_modified),
        (header::CONTENT_TYPE, &meta.content_type),
    ] {
        if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            response = response.header(name, value);
        }
    }
    response
}

/// An answer of the mirror that is not a file to cache (404, a redirect…), relayed
/// with its first [`RELAYED_BODY_LIMIT`] bytes.
async fn relay(mut upstream: reqwest::Response) -> Response<ProxyBody> {
    let mut body = Vec::new();
    while body.len() < RELAYED_BODY_LIMIT {
        match upstream.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(RELAYED_BODY_LIMIT);
    let mut response = Response::builder().status(upstream.status().as_u16());
    for name in [
        header::LOCATION,
        header::CONTENT_TYPE,
        header::ETAG,
        header::LAST_MODIFIED,
    ] {
        if let Some(value) = upstream.headers().get(name.as_str())
            && let Ok(value) = HeaderValue::from_bytes(value.as_bytes())
        {
            response = response.header(name, value);
        }
    }
    response
        .header(header::CONTENT_LENGTH, body.len())
        .body(full(Bytes::from(body)))
        .unwrap_or_else(|_| plain(StatusCode::BAD_GATEWAY, "the mirror's answer was malformed"))
}

fn from_file(cached: CachedFile) -> Response<ProxyBody> {
    use tokio::io::AsyncReadExt;
    let body = cached.body.take(cached.length);
    let stream = tokio_util::io::ReaderStream::with_capacity(body, 64 * 1024).map_ok(Frame::data);
    let response = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_LENGTH, cached.length);
    with_meta(response, &cached.meta)
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "bad cached metadata"))
}

fn unreachable_mirror(authority: &str, error: &reqwest::Error) -> Response<ProxyBody> {
    let status = if error.is_timeout() {
        StatusCode::GATEWAY_TIMEOUT
    } else {
        StatusCode::BAD_GATEWAY
    };
    plain(
        status,
        &format!(
            "the rehearse package cache cannot reach the mirror `{authority}` and has no copy of this file: {}",
            error_chain(error)
        ),
    )
}

fn cache_trouble(shared: &Shared, key: &CacheKey, error: &std::io::Error) {
    notice_cache_trouble(&shared.stats, &shared.cache_trouble_noticed, key, error);
}

/// Say once that the cache cannot be written; apt is served all the same.
fn notice_cache_trouble(
    stats: &AptCacheStats,
    noticed: &AtomicBool,
    key: &CacheKey,
    error: &std::io::Error,
) {
    if !noticed.swap(true, Ordering::Relaxed) {
        stats.notice(format!(
            "warning: the package cache cannot write `{}`: {error}; files are passed on without being kept",
            key.path.display()
        ));
    }
}

/// reqwest's message and its causes ("error sending request: … : Connection refused").
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub(super) fn plain(status: StatusCode, message: &str) -> Response<ProxyBody> {
    let body = format!("{message}\n");
    let mut response = Response::new(full(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn full(data: Bytes) -> ProxyBody {
    Full::new(data).map_err(|never| match never {}).boxed()
}

fn empty() -> ProxyBody {
    full(Bytes::new())
}
