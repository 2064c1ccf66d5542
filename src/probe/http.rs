//! `http` probe: a request from the `rehearse` process to the host.
//!
//! With a virtual-host name the request goes to `http://<vhost>:<port><path>` and the
//! name resolves to the chosen host's address, the way an `/etc/hosts` override would.

use super::{Attempt, Evidence, ProbeTarget, excerpt};
use crate::scenario::{HttpExpect, HttpMethod, HttpProbe};

/// Bodies longer than this are cut before matching; probes check pages, not downloads.
pub const MAX_BODY: usize = 1 << 20;

pub async fn attempt(probe: &HttpProbe, target: ProbeTarget) -> Attempt {
    let address = target.address;
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(probe.timeout);
    let url = match &probe.vhost {
        Some(name) => {
            builder = builder.resolve(name, address);
            format!("http://{name}:{}{}", probe.port, probe.path)
        }
        None => format!("http://{address}{}", probe.path),
    };
    let client = match builder.build() {
        Ok(client) => client,
        Err(e) => return failed(format!("cannot set up an HTTP client: {e}")),
    };
    let method = match probe.method {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Head => reqwest::Method::HEAD,
        HttpMethod::Post => reqwest::Method::POST,
    };
    let response = match client.request(method, &url).send().await {
        Ok(response) => response,
        Err(e) => {
            return failed(format!(
                "{url} (at {address}): {}",
                request_error(&e, probe)
            ));
        }
    };
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = match read_body(response).await {
        Ok(body) => body,
        Err(e) => return failed(format!("{url} answered {status} but the body failed: {e}")),
    };
    let mut attempt = judge(&url, &probe.expect, status, &headers, &body);
    attempt.evidence.summary.push_str(&target.note());
    attempt
}

fn failed(summary: String) -> Attempt {
    Attempt::fail(Evidence {
        summary,
        ..Evidence::default()
    })
}

/// reqwest's own message is "error sending request for url (...)": the useful part is
/// the innermost cause (e.g. "Connection refused").
fn request_error(error: &reqwest::Error, probe: &HttpProbe) -> String {
    if error.is_timeout() {
        return format!(
            "no answer within {}",
            humantime::format_duration(probe.timeout)
        );
    }
    let text = crate::words::root_cause(error);
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    if error.is_connect() && !text.to_lowercase().contains("connect") {
        format!("cannot connect: {text}")
    } else {
        text
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_BODY {
            body.truncate(MAX_BODY);
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Compare a response with what is expected.
pub fn judge(
    url: &str,
    expect: &HttpExpect,
    status: u16,
    headers: &[(String, String)],
    body: &str,
) -> Attempt {
    let mut evidence = Evidence {
        status: Some(status),
        body_excerpt: Some(excerpt(body, 300)),
        ..Evidence::default()
    };
    let status_ok = match expect.status_below {
        Some(below) => status < below,
        None => status == expect.status,
    };
    let problem = if !status_ok {
        Some(match expect.status_below {
            Some(below) => format!("{url} answered {status}, expected a status below {below}"),
            None => format!("{url} answered {status}, expected {}", expect.status),
        })
    } else if let Some(missing) = expect
        .body_contains
        .iter()
        .find(|s| !body.contains(s.as_str()))
    {
        Some(format!(
            "{url} answered {status} but the body lacks {missing:?}"
        ))
    } else if let Some(pattern) = &expect.body_regex {
        match regex::Regex::new(pattern) {
            Ok(re) if re.is_match(body) => None,
            Ok(_) => Some(format!(
                "{url} answered {status} but the body does not match /{pattern}/"
            )),
            Err(e) => Some(format!("invalid body_regex /{pattern}/: {e}")),
        }
    } else {
        None
    };
    let problem = problem.or_else(|| {
        expect.headers.iter().find_map(|(name, value)| {
            let got = headers.iter().find(|(k, _)| k == name).map(|(_, v)| v);
            match got {
                Some(v) if v == value => None,
                Some(v) => Some(format!(
                    "{url}: header `{name}` is {v:?}, expected {value:?}"
                )),
                None => Some(format!(
                    "{url}: header `{name}` is missing, expected {value:?}"
                )),
            }
        })
    });
    match problem {
        Some(summary) => {
            evidence.summary = summary;
            Attempt::fail(evidence)
        }
        None => {
            evidence.summary = format!("{url} answered {status}");
            Attempt::pass(evidence)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect() -> HttpExpect {
        HttpExpect {
            status: 200,
            status_below: None,
            body_contains: vec!["Hello".into()],
            body_regex: Some("H.llo".into()),
            headers: vec![("server".into(), "Apache".into())],
        }
    }

    #[test]
    fn status_below_accepts_any_code_under_it() {
        let below = HttpExpect {
            status_below: Some(500),
            ..HttpExpect::default()
        };
        assert!(judge("u", &below, 404, &[], "").passed);
        assert!(judge("u", &below, 302, &[], "").passed);
        let failed = judge("u", &below, 503, &[], "");
        assert!(!failed.passed);
        assert_eq!(
            failed.evidence.summary,
            "u answered 503, expected a status below 500"
        );
    }

    #[test]
    fn passes_when_everything_matches() {
        let headers = [("server".to_string(), "Apache".to_string())];
        assert!(judge("u", &expect(), 200, &headers, "<p>Hello</p>").passed);
    }

    #[test]
    fn reports_the_first_mismatch_with_evidence() {
        let headers = [("server".to_string(), "nginx".to_string())];
        let status = judge("u", &expect(), 503, &headers, "Service Unavailable");
        assert_eq!(status.evidence.summary, "u answered 503, expected 200");
        assert_eq!(
            status.evidence.body_excerpt.as_deref(),
            Some("Service Unavailable")
        );
        let body = judge("u", &expect(), 200, &headers, "It works");
        assert_eq!(
            body.evidence.summary,
            "u answered 200 but the body lacks \"Hello\""
        );
        let header = judge("u", &expect(), 200, &headers, "Hello");
        assert_eq!(
            header.evidence.summary,
            "u: header `server` is \"nginx\", expected \"Apache\""
        );
    }
}
