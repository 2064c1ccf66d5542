//! `probes:` and `monitors:`: HTTP, TCP and exec checks, retries, and the monitors' writes.

#[allow(unused_imports)]
use super::*;

pub(super) fn decode_monitors(d: &Decoder, node: &Spanned<Node>, refs: &Refs) -> Vec<Monitor> {
    let Some(m) = d.open_map(node, "`monitors`") else {
        return Vec::new();
    };
    m.entries()
        .filter_map(|(name, value)| {
            check_key_name(d, name, check_probe_name);
            decode_monitor(d, &name.value, value, refs)
        })
        .collect()
}

pub(super) fn decode_monitor(
    d: &Decoder,
    name: &str,
    node: &Spanned<Node>,
    refs: &Refs,
) -> Option<Monitor> {
    let what = format!("monitor `{name}`");
    let m = d.map(node, &what, MONITOR_KEYS)?;
    let http = m
        .required("http")
        .and_then(|node| decode_http(d, node, &what, refs));
    let rate = m.opt_int_in("rate", 1..=20_000).unwrap_or(200);
    let marker_header = m
        .opt_str("marker_header")
        .map(|header| header.to_ascii_lowercase());
    let writes = m
        .opt("writes")
        .and_then(|node| decode_writes(d, node, &what, refs));
    let http = http?;
    if writes.is_some() && http.method != HttpMethod::Post {
        d.error_with_help(
            m.key("writes").map_or(m.mark(), Mark::of_key),
            format!("{what} tracks writes but its requests are not POSTs"),
            "add `method: POST` to its `http`: the write token goes in the request body",
        );
    }
    Some(Monitor {
        name: name.to_string(),
        http,
        rate: rate as u32,
        marker_header,
        writes,
    })
}

pub(super) fn decode_writes(
    d: &Decoder,
    node: &Spanned<Node>,
    monitor: &str,
    refs: &Refs,
) -> Option<WriteTracking> {
    let what = format!("`writes` of {monitor}");
    let m = d.map(node, &what, WRITES_KEYS)?;
    let field = m.opt_str_where("field", |field| {
        is_word(
            field,
            |c| c.is_ascii_alphabetic(),
            |c| c.is_ascii_alphanumeric() || c == '_',
            63,
        )
        .then_some(())
        .ok_or_else(|| format!("invalid form field `{field}`: expected letters, digits and `_`"))
    });
    let serving = m
        .required("serving")
        .and_then(|node| decode_token_query(d, node, &format!("`serving` of {what}"), refs));
    let old = m
        .opt("old")
        .and_then(|node| decode_token_query(d, node, &format!("`old` of {what}"), refs));
    Some(WriteTracking {
        field: field.unwrap_or_else(|| "token".into()),
        serving: serving?,
        old,
    })
}

pub(super) fn decode_token_query(
    d: &Decoder,
    node: &Spanned<Node>,
    what: &str,
    refs: &Refs,
) -> Option<TokenQuery> {
    let m = d.map(node, what, TOKEN_QUERY_KEYS)?;
    let host = m.required("host").and_then(|node| refs.host(d, node, what));
    let command = m
        .required("command")
        .and_then(|node| decode_command(d, node));
    Some(TokenQuery {
        host: host?,
        command: command?,
    })
}

pub fn check_snapshot_name(name: &str) -> Result<(), String> {
    if is_word(
        name,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' || c == '_',
        63,
    ) {
        Ok(())
    } else {
        Err(format!(
            "invalid snapshot name `{name}`: expected lowercase letters, digits, `-`, `.` and `_`"
        ))
    }
}

pub fn check_absolute_path(path: &str) -> Result<(), String> {
    path.starts_with('/')
        .then_some(())
        .ok_or_else(|| format!("`{path}` is not an absolute path"))
}

/// A systemd unit name: `apache2`, `mariadb.service`, `getty@tty1.service`.
pub fn check_unit_name(name: &str) -> Result<(), String> {
    if is_word(
        name,
        |c| c.is_ascii_alphanumeric() || c == '_',
        |c| c.is_ascii_alphanumeric() || ":_.@-\\".contains(c),
        255,
    ) {
        Ok(())
    } else {
        Err(format!(
            "invalid unit name `{name}`: expected a systemd unit like `apache2` or `mariadb.service`"
        ))
    }
}

/// A Debian package name, optionally with an architecture (`libc6:amd64`).
pub fn check_package_name(name: &str) -> Result<(), String> {
    if name.len() >= 2
        && is_word(
            name,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-:".contains(c),
            127,
        )
    {
        Ok(())
    } else {
        Err(format!(
            "invalid package name `{name}`: expected a Debian package name like `apache2`"
        ))
    }
}

/// Two hosts of a step that must differ (a backup kept on the host it saves is lost
/// with it); reported at the second one's key, `second_key`.
pub fn distinct_hosts(
    input: &StepInput<'_>,
    body: &Spanned<Node>,
    (first, second): (&str, &str),
    second_key: &str,
) -> bool {
    // Empty: a host that was missing or wrong, already reported.
    if first != second || first.is_empty() {
        return true;
    }
    let mark = key_of(body, second_key).map_or_else(|| Mark::of(body), Mark::of_key);
    input.d.error(
        mark,
        format!(
            "`host` and `{second_key}` of {} are the same host: a backup kept on the host is lost with it",
            input.what
        ),
    );
    false
}

/// The `from` and `to` hosts of a move, which must differ.
pub fn two_hosts(input: &StepInput<'_>, body: &Spanned<Node>, from: &str, to: &str) -> bool {
    if from != to || from.is_empty() {
        return true;
    }
    let mark = key_of(body, "to").map_or_else(|| Mark::of(body), Mark::of_key);
    input.d.error(
        mark,
        format!("`from` and `to` of {} are the same host", input.what),
    );
    false
}

/// The key `key` of a map, where it is written.
pub fn key_of<'a>(node: &'a Spanned<Node>, key: &str) -> Option<&'a Spanned<String>> {
    match &node.value {
        Node::Map(entries) => entries.iter().map(|(k, _)| k).find(|k| k.value == key),
        _ => None,
    }
}

pub fn check_copied_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("`{path}` is not an absolute path"));
    }
    if path.split('/').any(|part| part == "..") {
        return Err(format!("`{path}` contains `..`"));
    }
    if path.trim_end_matches('/').is_empty() {
        return Err("`/` cannot be copied: name the application's directories".into());
    }
    Ok(())
}

pub fn check_database_name(name: &str) -> Result<(), String> {
    if is_word(
        name,
        |c| c.is_ascii_alphanumeric() || c == '_',
        |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
        63,
    ) {
        Ok(())
    } else {
        Err(format!(
            "invalid database name `{name}`: expected letters, digits, `_` and `-`"
        ))
    }
}

pub(super) fn decode_probes(d: &Decoder, node: &Spanned<Node>, refs: &Refs) -> Vec<Probe> {
    let Some(m) = d.open_map(node, "`probes`") else {
        return Vec::new();
    };
    m.entries()
        .filter_map(|(name, value)| {
            check_key_name(d, name, check_probe_name);
            decode_probe(d, &name.value, value, refs)
        })
        .collect()
}

pub(super) fn decode_probe(
    d: &Decoder,
    name: &str,
    node: &Spanned<Node>,
    refs: &Refs,
) -> Option<Probe> {
    let what = format!("probe `{name}`");
    let m = d.map(node, &what, PROBE_KEYS)?;
    let retry = m
        .opt("retry")
        .map(|node| decode_retry(d, node, &what))
        .unwrap_or_default();
    let (kind, body) = m.kind(PROBE_KINDS, "probe kind")?;
    let kind = match kind {
        "http" => decode_http(d, body, &what, refs).map(ProbeKind::Http),
        "tcp" => decode_tcp(d, body, &what, refs).map(ProbeKind::Tcp),
        _ => decode_exec_probe(d, body, &what, refs).map(ProbeKind::Exec),
    };
    Some(Probe {
        name: name.to_string(),
        kind: kind?,
        retry,
    })
}

pub(super) fn decode_retry(d: &Decoder, node: &Spanned<Node>, probe: &str) -> Retry {
    let Some(m) = d.map(node, &format!("`retry` of {probe}"), RETRY_KEYS) else {
        return Retry::default();
    };
    let default = Retry::default();
    let retry = Retry {
        interval: m.opt_duration("interval").unwrap_or(default.interval),
        deadline: m.opt_duration("deadline").unwrap_or(default.deadline),
    };
    if retry.interval > retry.deadline {
        let at = m.get("interval").map_or(m.mark(), Mark::of);
        d.error(
            at,
            format!(
                "`interval` ({}) is longer than `deadline` ({}) in {probe}",
                humantime::format_duration(retry.interval),
                humantime::format_duration(retry.deadline)
            ),
        );
    }
    retry
}

pub(super) fn decode_http(
    d: &Decoder,
    node: &Spanned<Node>,
    probe: &str,
    refs: &Refs,
) -> Option<HttpProbe> {
    let m = d.map(node, &format!("`http` of {probe}"), HTTP_KEYS)?;
    let host = m
        .required("host")
        .and_then(|node| refs.host(d, node, probe));
    let mut port = opt_port(&m);
    let mut path = m.opt_str_where("path", check_http_path);
    let mut vhost = m.opt_str_where("vhost", check_hostname);
    if let Some(url) = m.opt_str_where("url", |u| parse_http_url(u).map(|_| ())) {
        for key in ["port", "path", "vhost"] {
            if let Some(k) = m.key(key) {
                d.error_with_help(
                    Mark::of_key(k),
                    format!("`{key}` and `url` both given in `http` of {probe}"),
                    "keep one: `url` already sets the virtual host, port and path",
                );
            }
        }
        if let Ok((name, url_port, url_path)) = parse_http_url(&url) {
            vhost = Some(name);
            port = Some(url_port);
            path = Some(url_path);
        }
    }
    let method = m.opt_choice("method", METHODS).unwrap_or_default();
    let timeout = m.opt_duration("timeout");
    let expect = m
        .opt("expect")
        .map(|node| decode_http_expect(d, node, probe));
    Some(HttpProbe {
        host: host?,
        port: port.unwrap_or(80),
        path: path.unwrap_or_else(|| "/".into()),
        vhost,
        method,
        timeout: timeout.unwrap_or(Duration::from_secs(5)),
        expect: expect.unwrap_or_default(),
    })
}

pub(super) fn decode_http_expect(d: &Decoder, node: &Spanned<Node>, probe: &str) -> HttpExpect {
    let Some(m) = d.map(node, &format!("`expect` of {probe}"), HTTP_EXPECT_KEYS) else {
        return HttpExpect::default();
    };
    let status = m
        .opt_int_in("status", 100..=599)
        .and_then(|code| u16::try_from(code).ok());
    let status_below = m
        .opt_int_in("status_below", 101..=600)
        .and_then(|code| u16::try_from(code).ok());
    if let (Some(_), Some(_)) = (status, status_below)
        && let Some(node) = m.opt("status_below")
    {
        d.error_with_help(
            Mark::of(node),
            format!("`status` and `status_below` both given in `expect` of {probe}"),
            "keep one: `status` wants exactly that code, `status_below` any code below it",
        );
    }
    let headers = m
        .opt("headers")
        .map(|node| decode_headers(d, node, probe))
        .unwrap_or_default();
    HttpExpect {
        status: status.unwrap_or(200),
        status_below,
        body_contains: m.string_or_list("body_contains"),
        body_regex: m.opt_str_where("body_regex", check_regex),
        headers,
    }
}

pub(super) fn decode_headers(
    d: &Decoder,
    node: &Spanned<Node>,
    probe: &str,
) -> Vec<(String, String)> {
    let Some(m) = d.open_map(node, &format!("`headers` of {probe}")) else {
        return Vec::new();
    };
    m.entries()
        .filter_map(|(name, value)| {
            check_key_name(d, name, check_header_name);
            let text = d.scalar_text(value, &format!("header `{}`", name.value))?;
            Some((name.value.to_ascii_lowercase(), text))
        })
        .collect()
}

pub(super) fn decode_tcp(
    d: &Decoder,
    node: &Spanned<Node>,
    probe: &str,
    refs: &Refs,
) -> Option<TcpProbe> {
    let m = d.map(node, &format!("`tcp` of {probe}"), TCP_KEYS)?;
    let host = m
        .required("host")
        .and_then(|node| refs.host(d, node, probe));
    let port = m.required("port").and_then(|_| opt_port(&m));
    let timeout = m.opt_duration("timeout");
    Some(TcpProbe {
        host: host?,
        port: port?,
        timeout: timeout.unwrap_or(Duration::from_secs(5)),
    })
}

pub(super) fn decode_exec_probe(
    d: &Decoder,
    node: &Spanned<Node>,
    probe: &str,
    refs: &Refs,
) -> Option<ExecProbe> {
    let m = d.map(node, &format!("`exec` of {probe}"), EXEC_PROBE_KEYS)?;
    let host = m
        .required("host")
        .and_then(|node| refs.host(d, node, probe));
    let command = m
        .required("command")
        .and_then(|node| decode_command(d, node));
    let timeout = m.opt_duration("timeout");
    let expect = m
        .opt("expect")
        .map(|node| decode_exec_expect(d, node, probe));
    Some(ExecProbe {
        host: host?,
        command: command?,
        timeout: timeout.unwrap_or(Duration::from_secs(30)),
        expect: expect.unwrap_or_default(),
    })
}

pub(super) fn opt_port(m: &MapDecoder<'_>) -> Option<u16> {
    m.opt_int_in("port", 1..=65535)
        .and_then(|port| u16::try_from(port).ok())
}

/// A shell line (run with `sh -c`) or a non-empty argument list.
pub fn decode_command(d: &Decoder, node: &Spanned<Node>) -> Option<Command> {
    match &node.value {
        Node::Str(line) if line.trim().is_empty() => {
            d.error(Mark::of(node), "`command` must not be empty");
            None
        }
        Node::Str(line) => Some(Command::Shell(line.clone())),
        Node::Seq(items) if items.is_empty() => {
            d.error(Mark::of(node), "`command` must not be an empty list");
            None
        }
        Node::Seq(_) => {
            let argv = d.list_of(node, "`command`", |_, item| {
                d.str(item, "an argument of `command`")
            })?;
            Some(Command::Argv(argv))
        }
        _ => {
            d.wrong_type(node, "a shell line or a list of arguments", "`command`");
            None
        }
    }
}

pub fn decode_exec_expect(d: &Decoder, node: &Spanned<Node>, owner: &str) -> ExecExpect {
    let Some(m) = d.map(node, &format!("`expect` of {owner}"), EXEC_EXPECT_KEYS) else {
        return ExecExpect::default();
    };
    ExecExpect {
        exit_code: m.opt_int_in("exit_code", 0..=255).unwrap_or(0),
        stdout_contains: m.string_or_list("stdout_contains"),
        stderr_contains: m.string_or_list("stderr_contains"),
    }
}
