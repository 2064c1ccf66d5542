//! The `server` blocks of nginx's enabled sites: names, ports, roots.

use super::bundle::Vhost;

/// Statements and braces of an nginx file, comments removed.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        for c in line.chars() {
            match c {
                '{' | '}' | ';' => {
                    if !current.trim().is_empty() {
                        out.push(current.trim().to_string());
                    }
                    current.clear();
                    out.push(c.to_string());
                }
                _ => current.push(c),
            }
        }
        current.push(' ');
    }
    out
}

/// The server blocks of one site file (top-level, or inside `http { }`).
pub fn parse_servers(file: &str, text: &str) -> Vec<Vhost> {
    let mut servers = Vec::new();
    // Block names from the outermost in.
    let mut stack: Vec<String> = Vec::new();
    let mut pending = String::new();
    for token in tokens(text) {
        match token.as_str() {
            "{" => {
                stack.push(std::mem::take(&mut pending));
                if stack.last().is_some_and(|b| b == "server") {
                    // Without `listen`, nginx serves the block on port 80.
                    servers.push(Vhost {
                        file: file.to_string(),
                        port: 80,
                        ..Vhost::default()
                    });
                }
            }
            "}" => {
                stack.pop();
            }
            ";" => {
                let statement = std::mem::take(&mut pending);
                // Only directives of the server block itself, not of its locations.
                if stack.last().is_some_and(|b| b == "server")
                    && let Some(server) = servers.last_mut()
                {
                    apply(server, &statement);
                }
            }
            other => pending = other.to_string(),
        }
    }
    servers
}

fn apply(server: &mut Vhost, statement: &str) {
    let mut words = statement.split_whitespace();
    let directive = words.next().unwrap_or("");
    let values: Vec<&str> = words.collect();
    match directive {
        "listen" => {
            if let Some(first) = values.first() {
                let port = first.rsplit(':').next().unwrap_or(first);
                if let Ok(port) = port.parse() {
                    server.port = port;
                }
                server.tls |= values.contains(&"ssl");
            }
        }
        "server_name" => {
            let mut names = values
                .iter()
                .map(|n| n.to_string())
                .filter(|n| n != "_" && !n.is_empty());
            if server.server_name.is_none() {
                server.server_name = names.next();
            }
            server.aliases.extend(names);
        }
        "root" => server.document_root = values.first().map(|r| r.to_string()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_with_listen_names_and_root() {
        let text = "
# Default server.
server {
    listen 80 default_server;
    listen [::]:80 default_server;
    server_name _;
    root /var/www/html;
    location ~ \\.php$ {
        root /not/this/one;
        include snippets/fastcgi-php.conf;
    }
}
server {
    listen 8443 ssl; # TLS
    server_name notes.example.test www.notes.example.test;
    location / { try_files $uri $uri/ =404; }
}
";
        assert_eq!(
            parse_servers("/etc/nginx/sites-enabled/default", text),
            [
                Vhost {
                    file: "/etc/nginx/sites-enabled/default".into(),
                    server_name: None,
                    aliases: vec![],
                    port: 80,
                    tls: false,
                    document_root: Some("/var/www/html".into()),
                },
                Vhost {
                    file: "/etc/nginx/sites-enabled/default".into(),
                    server_name: Some("notes.example.test".into()),
                    aliases: vec!["www.notes.example.test".into()],
                    port: 8443,
                    tls: true,
                    document_root: None,
                },
            ]
        );
    }
}
