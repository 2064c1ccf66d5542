//! The Debian archive as the built-in bootstrap reads it: a suite's `InRelease`, whose
//! OpenPGP signature is checked against Debian's archive keys carried in this binary,
//! and the files it lists (`Packages`, `.deb`s), each checked against the SHA-256 the
//! verified release (or index) gives for it. Nothing unverified is used.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use pgp::composed::{CleartextSignedMessage, Deserializable, SignedPublicKey};
use pgp::types::KeyDetails;
use sha2::{Digest, Sha256};

/// Debian's archive signing keys, as the `debian-archive-keyring` package ships them
/// (`/usr/share/keyrings/debian-archive-keyring.gpg`, version 2023.3+deb12u2): the
/// automatic signing keys of the archive and of the security archive and the stable
/// release keys, for bullseye (11), bookworm (12) and trixie (13).
const KEYRING: &[u8] = include_bytes!("debian-archive-keyring.gpg");

/// What goes wrong reading the archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot fetch {url}: {detail}")]
    Fetch { url: String, detail: String },
    #[error(
        "{url} is not signed by any of Debian's archive keys this build of rehearse carries \
         ({detail}); check the mirror, or use mmdebstrap (`--base-source mmdebstrap`)"
    )]
    BadSignature { url: String, detail: String },
    #[error(
        "{url} expired on {until} (its `Valid-Until`): the mirror is stale or replays an old \
         release; use an up-to-date mirror"
    )]
    Expired { url: String, until: String },
    #[error("{url} does not match the hash the signed release gives for it ({detail})")]
    Mismatch { url: String, detail: String },
    #[error("{url}: {detail}")]
    Malformed { url: String, detail: String },
}

/// A file the signed release vouches for: its size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vouched {
    pub size: u64,
    pub sha256: String,
}

/// A verified `InRelease`: the files it lists, by path under the suite's folder.
#[derive(Debug, Clone)]
pub struct Release {
    pub url: String,
    pub files: HashMap<String, Vouched>,
    /// `Acquire-By-Hash: yes`: each index is also at `by-hash/SHA256/<its hash>`.
    pub by_hash: bool,
}

/// Fetches from the mirrors, through the package cache when there is one.
#[derive(Debug)]
pub struct Fetcher {
    client: reqwest::Client,
}

impl Fetcher {
    /// `proxy`: the package cache's URL (`http://127.0.0.1:PORT/`), if any.
    pub fn new(proxy: Option<&str>) -> Result<Self, ArchiveError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(20))
            .read_timeout(Duration::from_secs(120));
        if let Some(proxy) = proxy {
            builder =
                builder.proxy(
                    reqwest::Proxy::http(proxy).map_err(|e| ArchiveError::Fetch {
                        url: proxy.to_string(),
                        detail: e.to_string(),
                    })?,
                );
        }
        let client = builder.build().map_err(|e| ArchiveError::Fetch {
            url: proxy.unwrap_or_default().to_string(),
            detail: e.to_string(),
        })?;
        Ok(Fetcher { client })
    }

    /// The body at `url` (at most `limit` bytes: more is refused, not read), retried a
    /// few times as apt does (`Acquire::Retries`).
    pub async fn get(&self, url: &str, limit: u64) -> Result<Vec<u8>, ArchiveError> {
        let mut last = String::new();
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            }
            match self.client.get(url).send().await {
                Ok(response) if response.status().is_success() => {
                    match read_at_most(response, limit).await {
                        Ok(body) => return Ok(body),
                        Err(ReadError::TooLong) => {
                            return Err(ArchiveError::Malformed {
                                url: url.to_string(),
                                detail: format!(
                                    "longer than the {} expected",
                                    bytesize::ByteSize(limit).display().iec()
                                ),
                            });
                        }
                        Err(ReadError::Http(e)) => last = e.to_string(),
                    }
                }
                // Not there is not going to change.
                Ok(response) if response.status() == reqwest::StatusCode::NOT_FOUND => {
                    return Err(ArchiveError::Fetch {
                        url: url.to_string(),
                        detail: "404 Not Found".into(),
                    });
                }
                Ok(response) => last = response.status().to_string(),
                Err(e) => last = e.to_string(),
            }
        }
        Err(ArchiveError::Fetch {
            url: url.to_string(),
            detail: last,
        })
    }

    /// `url` checked against what the release or index says of it.
    pub async fn get_vouched(&self, url: &str, vouched: &Vouched) -> Result<Vec<u8>, ArchiveError> {
        let body = self.get(url, vouched.size).await?;
        check(url, &body, vouched)?;
        Ok(body)
    }
}

/// Most an `InRelease` may be (Debian's are under 200 KiB).
pub const RELEASE_LIMIT: u64 = 16 << 20;

enum ReadError {
    TooLong,
    Http(reqwest::Error),
}

/// A response's body, refused as soon as it passes `limit` bytes.
async fn read_at_most(mut response: reqwest::Response, limit: u64) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(ReadError::TooLong);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Http)? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(ReadError::TooLong);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether `body` is what `vouched` says.
pub fn check(url: &str, body: &[u8], vouched: &Vouched) -> Result<(), ArchiveError> {
    if body.len() as u64 != vouched.size {
        return Err(ArchiveError::Mismatch {
            url: url.to_string(),
            detail: format!("{} bytes where {} were expected", body.len(), vouched.size),
        });
    }
    let sha256 = hex(&Sha256::digest(body));
    if !sha256.eq_ignore_ascii_case(&vouched.sha256) {
        return Err(ArchiveError::Mismatch {
            url: url.to_string(),
            detail: format!("SHA-256 {sha256} where {} was expected", vouched.sha256),
        });
    }
    Ok(())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Debian's archive keys carried in this binary.
pub fn keyring() -> Vec<SignedPublicKey> {
    SignedPublicKey::from_bytes_many(KEYRING)
        .map(|keys| keys.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

/// Check `text`, the `InRelease` fetched from `url`, against `keys` at time `now`, and
/// read the files it lists.
pub fn verify_release(
    url: &str,
    text: &[u8],
    keys: &[SignedPublicKey],
    now: SystemTime,
) -> Result<Release, ArchiveError> {
    let bad = |detail: String| ArchiveError::BadSignature {
        url: url.to_string(),
        detail,
    };
    let text = std::str::from_utf8(text).map_err(|_| bad("it is not text".into()))?;
    if !text
        .trim_start()
        .starts_with("-----BEGIN PGP SIGNED MESSAGE-----")
    {
        return Err(bad("it carries no signature".into()));
    }
    let (message, _) =
        CleartextSignedMessage::from_string(text).map_err(|e| bad(format!("unreadable: {e}")))?;
    let signed = message.signed_text();
    let verified = keys.iter().any(|key| {
        let expires = expiry(key);
        signed_by(&message, &signed, &key.primary_key, expires)
            || key.public_subkeys.iter().any(|sub| {
                let sub_expires = sub
                    .signatures
                    .iter()
                    .filter_map(|s| s.key_expiration_time())
                    .map(std::time::Duration::from)
                    .filter(|d| !d.is_zero())
                    .max()
                    .map(|d| SystemTime::from(sub.key.created_at()) + d);
                signed_by(&message, &signed, &sub.key, min_time(expires, sub_expires))
            })
    });
    if !verified {
        return Err(bad(format!(
            "{} signature(s), none made by a valid Debian archive key",
            message.signatures().len()
        )));
    }
    // What was signed, not the text around it.
    let body = signed.replace("\r\n", "\n");
    let paragraph: deb822_fast::Deb822 = body.parse().map_err(|e| ArchiveError::Malformed {
        url: url.to_string(),
        detail: format!("{e:?}"),
    })?;
    let Some(fields) = paragraph.iter().next() else {
        return Err(ArchiveError::Malformed {
            url: url.to_string(),
            detail: "an empty release".into(),
        });
    };
    if let Some(until) = fields.get("Valid-Until") {
        let parsed = jiff::fmt::rfc2822::parse(until.trim())
            .map(|z| SystemTime::from(z.timestamp()))
            .map_err(|e| ArchiveError::Malformed {
                url: url.to_string(),
                detail: format!("Valid-Until `{until}`: {e}"),
            })?;
        if parsed < now {
            return Err(ArchiveError::Expired {
                url: url.to_string(),
                until: until.trim().to_string(),
            });
        }
    }
    let mut files = HashMap::new();
    for line in fields.get("SHA256").unwrap_or_default().lines() {
        let mut words = line.split_whitespace();
        if let (Some(sha256), Some(size), Some(path)) = (words.next(), words.next(), words.next())
            && let Ok(size) = size.parse()
        {
            files.insert(
                path.to_string(),
                Vouched {
                    size,
                    sha256: sha256.to_string(),
                },
            );
        }
    }
    if files.is_empty() {
        return Err(ArchiveError::Malformed {
            url: url.to_string(),
            detail: "the release lists no SHA256 sums".into(),
        });
    }
    Ok(Release {
        url: url.to_string(),
        files,
        by_hash: fields.get("Acquire-By-Hash").map(str::trim) == Some("yes"),
    })
}

/// Whether one of `message`'s signatures over `signed` was made by `key` before it
/// expired.
fn signed_by(
    message: &CleartextSignedMessage,
    signed: &str,
    key: &impl pgp::types::VerifyingKey,
    expires: Option<SystemTime>,
) -> bool {
    message.signatures().iter().any(|signature| {
        signature.verify(key, signed.as_bytes()).is_ok()
            && match (signature.created().map(SystemTime::from), expires) {
                (Some(made), Some(expires)) => made <= expires,
                _ => true,
            }
    })
}

/// When the primary key expires, per its latest self-signature that says.
fn expiry(key: &SignedPublicKey) -> Option<SystemTime> {
    let created = SystemTime::from(key.primary_key.created_at());
    key.details
        .users
        .iter()
        .flat_map(|u| u.signatures.iter())
        .chain(key.details.direct_signatures.iter())
        .filter_map(|s| s.key_expiration_time())
        .map(std::time::Duration::from)
        .filter(|d| !d.is_zero())
        .max()
        .map(|d| created + d)
}

fn min_time(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real `InRelease` of the security archive, as the mirror served it.
    const SECURITY: &[u8] =
        include_bytes!("../../../tests/fixtures/bootstrap/bookworm-security.InRelease");
    const URL: &str = "http://deb.debian.org/debian-security/dists/bookworm-security/InRelease";

    fn at(date: &str) -> SystemTime {
        SystemTime::from(date.parse::<jiff::Timestamp>().unwrap())
    }

    #[test]
    fn a_real_release_verifies_and_lists_its_files() {
        let release =
            verify_release(URL, SECURITY, &keyring(), at("2026-12-01T00:00:00Z")).unwrap();
        let packages = &release.files["main/binary-amd64/Packages.xz"];
        assert!(packages.size > 0 && packages.sha256.len() == 64);
        assert!(release.by_hash);
    }

    #[test]
    fn a_changed_byte_an_unsigned_text_and_an_unknown_key_are_refused() {
        let text = String::from_utf8(SECURITY.to_vec()).unwrap();
        let now = at("2026-12-01T00:00:00Z");
        let tampered = text.replacen(
            "main/binary-amd64/Packages.xz",
            "main/binary-amd64/Packages.xy",
            1,
        );
        let error = verify_release(URL, tampered.as_bytes(), &keyring(), now).unwrap_err();
        assert!(
            matches!(error, ArchiveError::BadSignature { .. }),
            "{error}"
        );
        let body = text
            .split("-----BEGIN PGP SIGNATURE-----")
            .next()
            .unwrap()
            .split_once("\n\n")
            .unwrap()
            .1;
        let error = verify_release(URL, body.as_bytes(), &keyring(), now).unwrap_err();
        assert!(
            error.to_string().contains("carries no signature"),
            "{error}"
        );
        let error = verify_release(URL, SECURITY, &[], now).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("none made by a valid Debian archive key"),
            "{error}"
        );
    }

    #[test]
    fn a_release_past_its_valid_until_is_refused() {
        let error =
            verify_release(URL, SECURITY, &keyring(), at("2027-01-01T00:00:00Z")).unwrap_err();
        assert!(matches!(error, ArchiveError::Expired { .. }), "{error}");
        assert!(error.to_string().contains("Valid-Until"), "{error}");
    }

    #[test]
    fn a_file_is_checked_against_its_size_and_hash() {
        let vouched = Vouched {
            size: 2,
            sha256: hex(&Sha256::digest(b"hi")),
        };
        check("u", b"hi", &vouched).unwrap();
        assert!(check("u", b"ho", &vouched).is_err());
        assert!(check("u", b"hi!", &vouched).is_err());
    }

    /// A server on loopback answering every request with `body`, without saying its
    /// length (as a hostile or broken mirror might).
    async fn serve(body: Vec<u8>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut request = [0u8; 1024];
                    let _ = socket.read(&mut request).await;
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                        .await;
                    let _ = socket.write_all(&body).await;
                });
            }
        });
        format!("http://{address}/InRelease")
    }

    #[tokio::test]
    async fn a_body_longer_than_expected_is_refused_unread() {
        let url = serve(vec![b'x'; 64 * 1024]).await;
        let fetcher = Fetcher::new(None).unwrap();
        assert_eq!(fetcher.get(&url, 64 * 1024).await.unwrap().len(), 64 * 1024);
        let error = fetcher.get(&url, 1000).await.unwrap_err();
        assert!(error.to_string().contains("longer than the"), "{error}");
        let vouched = Vouched {
            size: 10,
            sha256: "00".into(),
        };
        let error = fetcher.get_vouched(&url, &vouched).await.unwrap_err();
        assert!(error.to_string().contains("longer than the"), "{error}");
    }

    #[test]
    fn the_keyring_holds_the_three_releases_keys() {
        assert!(keyring().len() >= 9, "{}", keyring().len());
    }
}
