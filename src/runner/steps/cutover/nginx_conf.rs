//! Just enough of nginx's configuration syntax to find the `server` blocks serving a site
//! and rewrite their bodies: words, quoted strings with escapes, `#` comments, `;`, `{`,
//! `}` and `${variable}`, read the way nginx's own tokenizer reads them, with byte
//! offsets so that everything not rewritten stays exactly as written.

use std::ops::Range;

use regex::RegexBuilder;

/// What a cutover keeps of a rewritten server block: where it listens, the names it
/// answers to, its TLS settings (the old host still terminates TLS) and its logs (the
/// story watches the old access log until traffic stops).
fn kept(directive: &Directive) -> bool {
    matches!(
        directive.name.as_str(),
        "listen" | "server_name" | "access_log" | "error_log" | "http2"
    ) || directive.name.starts_with("ssl_")
}

/// Why a site file cannot be rewritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NginxConfError {
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("no `server` block")]
    NoServerBlock,
    #[error(
        "no `server` block serves `{site}` (server names: {names}) and none is the default server"
    )]
    NoSiteBlock { site: String, names: String },
}

/// One directive: `name args…;` or `name args… { … }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    /// From the name's first byte to the `;` or the closing `}`, inclusive.
    pub span: Range<usize>,
    pub block: Option<Block>,
}

/// A block's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Between the braces, exclusive.
    pub inner: Range<usize>,
    pub directives: Vec<Directive>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A word or a quoted string (unquoted, escapes resolved), and where it was written.
    Word(String, Range<usize>),
    Semicolon(usize),
    Open(usize),
    Close(usize),
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

fn syntax(text: &str, offset: usize, message: impl Into<String>) -> NginxConfError {
    NginxConfError::Syntax {
        line: line_of(text, offset),
        message: message.into(),
    }
}

fn tokens(text: &str) -> Result<Vec<Token>, NginxConfError> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            c if c.is_ascii_whitespace() => i += 1,
            // A comment only where a word could start: `a#b` is one word, as in nginx.
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b';' => {
                found.push(Token::Semicolon(i));
                i += 1;
            }
            b'{' => {
                found.push(Token::Open(i));
                i += 1;
            }
            b'}' => {
                found.push(Token::Close(i));
                i += 1;
            }
            quote @ (b'"' | b'\'') => {
                let start = i;
                let mut value = Vec::new();
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err(syntax(text, start, "unterminated quoted string")),
                        Some(b'\\') if i + 1 < b.len() => {
                            // nginx resolves these escapes in quoted strings and keeps
                            // the backslash of any other.
                            match b[i + 1] {
                                c @ (b'"' | b'\'' | b'\\') => value.push(c),
                                b't' => value.push(b'\t'),
                                b'r' => value.push(b'\r'),
                                b'n' => value.push(b'\n'),
                                c => value.extend_from_slice(&[b'\\', c]),
                            }
                            i += 2;
                        }
                        Some(&c) if c == quote => {
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            value.push(c);
                            i += 1;
                        }
                    }
                }
                let value = String::from_utf8_lossy(&value).into_owned();
                found.push(Token::Word(value, start..i));
            }
            _ => {
                let start = i;
                while i < b.len() {
                    match b[i] {
                        b'\\' if i + 1 < b.len() => i += 2,
                        // `${name}`: the braces belong to the variable.
                        b'{' if i > start && b[i - 1] == b'$' => {
                            while i < b.len() && b[i] != b'}' {
                                i += 1;
                            }
                            if i == b.len() {
                                return Err(syntax(text, start, "unterminated `${` variable"));
                            }
                            i += 1;
                        }
                        c if c.is_ascii_whitespace() || c == b';' || c == b'{' => break,
                        _ => i += 1,
                    }
                }
                found.push(Token::Word(text[start..i].to_string(), start..i));
            }
        }
    }
    Ok(found)
}

/// Parse a configuration file into its directives.
pub fn parse(text: &str) -> Result<Vec<Directive>, NginxConfError> {
    let tokens = tokens(text)?;
    let mut at = 0;
    let directives = parse_block(text, &tokens, &mut at, None)?;
    Ok(directives)
}

/// Directives up to the `}` closing the block opened at `open` (or the end of the file
/// when `open` is `None`); `at` is left after that `}`.
fn parse_block(
    text: &str,
    tokens: &[Token],
    at: &mut usize,
    open: Option<usize>,
) -> Result<Vec<Directive>, NginxConfError> {
    let mut directives = Vec::new();
    let mut words: Vec<(String, Range<usize>)> = Vec::new();
    loop {
        let Some(token) = tokens.get(*at) else {
            if let Some((_, span)) = words.first() {
                return Err(syntax(
                    text,
                    span.start,
                    format!(
                        "unexpected end of file: `{}` is not ended by `;` or a block",
                        words[0].0
                    ),
                ));
            }
            if let Some(open) = open {
                return Err(syntax(
                    text,
                    open,
                    "unexpected end of file: this block is never closed",
                ));
            }
            return Ok(directives);
        };
        *at += 1;
        match token {
            Token::Word(word, span) => words.push((word.clone(), span.clone())),
            Token::Semicolon(end) => {
                let Some((name, first)) = words.first().cloned() else {
                    return Err(syntax(text, *end, "unexpected `;`"));
                };
                directives.push(Directive {
                    name,
                    args: words.drain(..).skip(1).map(|(w, _)| w).collect(),
                    span: first.start..end + 1,
                    block: None,
                });
            }
            Token::Open(brace) => {
                let Some((name, first)) = words.first().cloned() else {
                    return Err(syntax(text, *brace, "unexpected `{`"));
                };
                let inner = parse_block(text, tokens, at, Some(*brace))?;
                let Some(Token::Close(close)) = tokens.get(*at - 1) else {
                    unreachable!("a block ends at its `}}`")
                };
                directives.push(Directive {
                    name,
                    args: words.drain(..).skip(1).map(|(w, _)| w).collect(),
                    span: first.start..close + 1,
                    block: Some(Block {
                        inner: brace + 1..*close,
                        directives: inner,
                    }),
                });
            }
            Token::Close(close) => {
                if let Some((word, span)) = words.first() {
                    return Err(syntax(
                        text,
                        span.start,
                        format!("`{word}` is not ended by `;` before `}}`"),
                    ));
                }
                if open.is_none() {
                    return Err(syntax(text, *close, "unexpected `}`"));
                }
                return Ok(directives);
            }
        }
    }
}

/// The `server` blocks of a file: at its top level (a site file, included inside `http`)
/// or inside an `http` block (a whole configuration).
fn server_blocks(directives: &[Directive]) -> Vec<&Directive> {
    let mut found = Vec::new();
    for d in directives {
        match (&d.block, d.name.as_str()) {
            (Some(_), "server") => found.push(d),
            (Some(block), "http") => found.extend(server_blocks(&block.directives)),
            _ => {}
        }
    }
    found
}

fn children<'d>(server: &'d Directive, name: &'d str) -> impl Iterator<Item = &'d Directive> {
    server
        .block
        .iter()
        .flat_map(|b| &b.directives)
        .filter(move |d| d.name == name)
}

/// Whether a `server_name` entry answers to `site`: exact, `*.domain`, `.domain`,
/// `prefix.*` or a `~regex`, case-insensitively like nginx.
fn serves(name: &str, site: &str) -> bool {
    let (name, site) = (name.to_ascii_lowercase(), site.to_ascii_lowercase());
    if let Some(pattern) = name.strip_prefix('~') {
        return RegexBuilder::new(pattern)
            .case_insensitive(true)
            .build()
            .is_ok_and(|re| re.is_match(&site));
    }
    if let Some(domain) = name.strip_prefix("*.") {
        return site.ends_with(&format!(".{domain}"));
    }
    if let Some(domain) = name.strip_prefix('.') {
        return site == domain || site.ends_with(&format!(".{domain}"));
    }
    if let Some(prefix) = name.strip_suffix(".*") {
        return site.starts_with(&format!("{prefix}."));
    }
    name == site
}

fn is_default(server: &Directive) -> bool {
    children(server, "listen").any(|l| {
        l.args
            .iter()
            .any(|a| a == "default_server" || a == "default")
    })
}

/// The server blocks that serve `site`: those naming it, else the default server(s),
/// else the only one.
pub fn site_blocks<'d>(
    directives: &'d [Directive],
    site: &str,
) -> Result<Vec<&'d Directive>, NginxConfError> {
    let servers = server_blocks(directives);
    if servers.is_empty() {
        return Err(NginxConfError::NoServerBlock);
    }
    let named: Vec<&Directive> = servers
        .iter()
        .copied()
        .filter(|s| children(s, "server_name").any(|d| d.args.iter().any(|n| serves(n, site))))
        .collect();
    if !named.is_empty() {
        return Ok(named);
    }
    let defaults: Vec<&Directive> = servers.iter().copied().filter(|s| is_default(s)).collect();
    if !defaults.is_empty() {
        return Ok(defaults);
    }
    if let [only] = servers[..] {
        return Ok(vec![only]);
    }
    let names: Vec<String> = servers
        .iter()
        .flat_map(|s| children(s, "server_name"))
        .flat_map(|d| d.args.iter().map(|n| format!("`{n}`")))
        .collect();
    Err(NginxConfError::NoSiteBlock {
        site: site.to_string(),
        names: if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        },
    })
}

/// What replaces a server block's body by default: everything to the site's name, which
/// the old host resolves to the new one.
pub fn default_proxy_config(site: &str) -> String {
    format!(
        "location / {{\n    proxy_pass http://{site};\n    proxy_set_header Host $host;\n    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    proxy_set_header X-Forwarded-Proto $scheme;\n}}\n"
    )
}

/// The whitespace before `offset` on its line, or `None` when something else precedes it.
fn indent_before(text: &str, offset: usize) -> Option<&str> {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let indent = &text[line_start..offset];
    indent
        .chars()
        .all(|c| c == ' ' || c == '\t')
        .then_some(indent)
}

/// Rewrite the server block(s) of a site file serving `site` ([`site_blocks`]): their
/// `listen`, `server_name`, `ssl_*`, `http2` and log directives stay, the rest of each
/// body becomes `body`, after a `# note` comment. The rest of the file is untouched.
pub fn proxy_site(
    text: &str,
    site: &str,
    body: &str,
    note: &str,
) -> Result<String, NginxConfError> {
    let directives = parse(text)?;
    let mut blocks = site_blocks(&directives, site)?;
    // From the end, so that earlier offsets still hold.
    blocks.sort_by_key(|d| std::cmp::Reverse(d.span.start));
    let mut out = text.to_string();
    for server in blocks {
        let block = server.block.as_ref().expect("server blocks have a block");
        let outer = indent_before(text, server.span.start).unwrap_or("");
        let inner = block
            .directives
            .first()
            .and_then(|d| indent_before(text, d.span.start))
            .filter(|i| !i.is_empty())
            .map_or_else(|| format!("{outer}    "), str::to_string);
        let mut new = String::from("\n");
        for d in block.directives.iter().filter(|d| kept(d)) {
            new.push_str(&format!("{inner}{}\n", &text[d.span.clone()]));
        }
        new.push_str(&format!("{inner}# {note}\n"));
        for line in body.lines() {
            if line.trim().is_empty() {
                new.push('\n');
            } else {
                new.push_str(&format!("{inner}{line}\n"));
            }
        }
        new.push_str(outer);
        out.replace_range(block.inner.clone(), &new);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = "notes.example.test";

    fn proxied(text: &str) -> String {
        proxy_site(text, SITE, "proxy_pass http://new;\n", "note").unwrap()
    }

    #[test]
    fn the_image_site_becomes_a_proxy() {
        let conf = "# The notes site.\nserver {\n    listen 80 default_server;\n    root /var/www/html;\n    index index.php;\n    server_name notes.example.test;\n\n    location ~ \\.php$ {\n        include snippets/fastcgi-php.conf;\n        fastcgi_pass unix:/run/php/php-fpm.sock;\n    }\n}\n";
        assert_eq!(
            proxied(conf),
            "# The notes site.\nserver {\n    listen 80 default_server;\n    server_name notes.example.test;\n    # note\n    proxy_pass http://new;\n}\n"
        );
    }

    #[test]
    fn the_default_body_proxies_to_the_site_with_its_headers() {
        let conf = "server {\n\tlisten 80;\n\troot /srv;\n}\n";
        let text = proxy_site(conf, SITE, &default_proxy_config(SITE), "note").unwrap();
        assert_eq!(
            text,
            "server {\n\tlisten 80;\n\t# note\n\tlocation / {\n\t    proxy_pass http://notes.example.test;\n\t    proxy_set_header Host $host;\n\t    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\t    proxy_set_header X-Forwarded-Proto $scheme;\n\t}\n}\n"
        );
        // What was written parses again.
        assert_eq!(server_blocks(&parse(&text).unwrap()).len(), 1);
    }

    #[test]
    fn only_the_block_naming_the_site_is_rewritten() {
        let conf = "server {\n    listen 80 default_server;\n    server_name _;\n    return 444;\n}\n\nserver {\n    listen 80;\n    server_name www.other.test;\n    root /srv/other;\n}\nserver {\n    listen 80;\n    server_name notes.example.test alias.example.test;\n    access_log /var/log/nginx/notes.log;\n    error_log /var/log/nginx/notes.err warn;\n    root /srv/notes;\n    location / { try_files $uri $uri/ =404; }\n}\n";
        assert_eq!(
            proxied(conf),
            "server {\n    listen 80 default_server;\n    server_name _;\n    return 444;\n}\n\nserver {\n    listen 80;\n    server_name www.other.test;\n    root /srv/other;\n}\nserver {\n    listen 80;\n    server_name notes.example.test alias.example.test;\n    access_log /var/log/nginx/notes.log;\n    error_log /var/log/nginx/notes.err warn;\n    # note\n    proxy_pass http://new;\n}\n"
        );
    }

    #[test]
    fn every_block_naming_the_site_is_rewritten_with_its_tls_settings() {
        let conf = "server {\n  listen 80;\n  server_name notes.example.test;\n  return 301 https://$host$request_uri;\n}\nserver {\n  listen 443 ssl;\n  http2 on;\n  server_name notes.example.test;\n  ssl_certificate /etc/ssl/notes.pem;\n  ssl_certificate_key /etc/ssl/notes.key;\n  root /srv/notes;\n}\n";
        assert_eq!(
            proxied(conf),
            "server {\n  listen 80;\n  server_name notes.example.test;\n  # note\n  proxy_pass http://new;\n}\nserver {\n  listen 443 ssl;\n  http2 on;\n  server_name notes.example.test;\n  ssl_certificate /etc/ssl/notes.pem;\n  ssl_certificate_key /etc/ssl/notes.key;\n  # note\n  proxy_pass http://new;\n}\n"
        );
    }

    #[test]
    fn comments_and_quoted_braces_do_not_confuse_the_blocks() {
        let conf = "# server { listen 81; }\nserver { # the site }\n    listen 80; # not } a brace\n    server_name \"notes.example.test\";\n    add_header X-Note \"a } brace; and a { brace\";\n    return 200 'it\\'s } fine';\n    set $a ${host}x;\n    location /a#b { return 204; }\n}\n# trailing } comment\n";
        let directives = parse(conf).unwrap();
        let servers = server_blocks(&directives);
        assert_eq!(servers.len(), 1);
        let names: Vec<&str> = servers[0]
            .block
            .as_ref()
            .unwrap()
            .directives
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "listen",
                "server_name",
                "add_header",
                "return",
                "set",
                "location"
            ]
        );
        let header = &servers[0].block.as_ref().unwrap().directives[2];
        assert_eq!(header.args, ["X-Note", "a } brace; and a { brace"]);
        let ret = &servers[0].block.as_ref().unwrap().directives[3];
        assert_eq!(ret.args, ["200", "it's } fine"]);
        let set = &servers[0].block.as_ref().unwrap().directives[4];
        assert_eq!(set.args, ["$a", "${host}x"]);
        let location = &servers[0].block.as_ref().unwrap().directives[5];
        assert_eq!(location.args, ["/a#b"]);
        assert_eq!(
            proxied(conf),
            "# server { listen 81; }\nserver {\n    listen 80;\n    server_name \"notes.example.test\";\n    # note\n    proxy_pass http://new;\n}\n# trailing } comment\n"
        );
    }

    #[test]
    fn without_a_named_block_the_default_server_is_rewritten() {
        let conf = "server {\n    listen 80;\n    server_name www.other.test;\n}\nserver {\n    listen 80 default_server;\n    listen [::]:80 default_server;\n    server_name _;\n    root /var/www/html;\n}\n";
        assert_eq!(
            proxied(conf),
            "server {\n    listen 80;\n    server_name www.other.test;\n}\nserver {\n    listen 80 default_server;\n    listen [::]:80 default_server;\n    server_name _;\n    # note\n    proxy_pass http://new;\n}\n"
        );
    }

    #[test]
    fn a_lone_server_block_without_names_is_the_site() {
        let conf = "server {\n    listen 8080;\n    root /srv;\n}\n";
        assert_eq!(
            proxied(conf),
            "server {\n    listen 8080;\n    # note\n    proxy_pass http://new;\n}\n"
        );
    }

    #[test]
    fn server_blocks_inside_http_are_found() {
        let conf = "events {}\nhttp {\n    upstream app { server 10.0.0.1:80; }\n    server {\n        listen 80;\n        server_name notes.example.test;\n        root /srv;\n    }\n}\n";
        assert_eq!(
            proxied(conf),
            "events {}\nhttp {\n    upstream app { server 10.0.0.1:80; }\n    server {\n        listen 80;\n        server_name notes.example.test;\n        # note\n        proxy_pass http://new;\n    }\n}\n"
        );
    }

    #[test]
    fn a_block_written_on_one_line_gets_indented_lines() {
        assert_eq!(
            proxied("server { listen 80; root /srv; }\n"),
            "server {\n    listen 80;\n    # note\n    proxy_pass http://new;\n}\n"
        );
    }

    #[test]
    fn server_names_match_like_nginx() {
        for name in [
            "notes.example.test",
            "NOTES.example.test",
            "*.example.test",
            ".example.test",
            "notes.*",
            "~^notes\\.",
            "~^(?<app>\\w+)\\.example\\.test$",
        ] {
            assert!(serves(name, SITE), "{name}");
        }
        for name in [
            "example.test",
            "*.notes.example.test",
            "www.*",
            "~^www\\.",
            "_",
            "",
        ] {
            assert!(!serves(name, SITE), "{name}");
        }
        assert!(serves(".example.test", "example.test"));
    }

    #[test]
    fn no_block_for_the_site_is_a_clear_error() {
        let conf = "server {\n    listen 80;\n    server_name www.a.test;\n}\nserver {\n    listen 80;\n    server_name www.b.test b.test;\n}\n";
        let error = proxy_site(conf, SITE, "", "note").unwrap_err();
        assert_eq!(
            error.to_string(),
            "no `server` block serves `notes.example.test` (server names: `www.a.test`, `www.b.test`, `b.test`) and none is the default server"
        );
        let error =
            proxy_site("upstream app { server 10.0.0.1; }\n", SITE, "", "note").unwrap_err();
        assert_eq!(error, NginxConfError::NoServerBlock);
        assert_eq!(error.to_string(), "no `server` block");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let cases = [
            (
                "server {\n    listen 80;\n",
                "line 1: unexpected end of file: this block is never closed",
            ),
            (
                "server {\n    listen 80\n}\n",
                "line 2: `listen` is not ended by `;` before `}`",
            ),
            ("server {}\n}\n", "line 2: unexpected `}`"),
            (
                "server {\n    return 200 \"open;\n}\n",
                "line 2: unterminated quoted string",
            ),
            (
                "listen 80",
                "line 1: unexpected end of file: `listen` is not ended by `;` or a block",
            ),
            ("server {\n ;\n}", "line 2: unexpected `;`"),
            ("{ listen 80; }", "line 1: unexpected `{`"),
        ];
        for (conf, message) in cases {
            assert_eq!(parse(conf).unwrap_err().to_string(), message, "{conf}");
        }
    }

    #[test]
    fn spans_cover_whole_directives() {
        let conf = "server {\n    listen 80;\n    location / {\n        return 204;\n    }\n}";
        let directives = parse(conf).unwrap();
        assert_eq!(&conf[directives[0].span.clone()], conf);
        let block = directives[0].block.as_ref().unwrap();
        assert_eq!(&conf[block.directives[0].span.clone()], "listen 80;");
        assert_eq!(
            &conf[block.directives[1].span.clone()],
            "location / {\n        return 204;\n    }"
        );
    }
}
