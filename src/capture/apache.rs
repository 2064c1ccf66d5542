//! Apache's enabled modules and the virtual hosts of its enabled sites.

use super::bundle::Vhost;

/// The virtual hosts defined in one site file.
pub fn parse_vhosts(file: &str, text: &str) -> Vec<Vhost> {
    let mut vhosts = Vec::new();
    let mut current: Option<Vhost> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("<virtualhost") {
            let addresses = line["<virtualhost".len()..].trim_end_matches('>');
            let port = addresses
                .split_whitespace()
                .next()
                .and_then(|address| address.rsplit_once(':'))
                .and_then(|(_, port)| port.parse().ok())
                .unwrap_or(80);
            current = Some(Vhost {
                file: file.to_string(),
                port,
                tls: port == 443,
                ..Vhost::default()
            });
            continue;
        }
        if lower.starts_with("</virtualhost") {
            vhosts.extend(current.take());
            continue;
        }
        let Some(vhost) = current.as_mut() else {
            continue;
        };
        let mut words = line.split_whitespace();
        let directive = words.next().unwrap_or("").to_ascii_lowercase();
        let values: Vec<String> = words.map(|w| w.trim_matches('"').to_string()).collect();
        match directive.as_str() {
            "servername" => vhost.server_name = values.first().map(|name| strip_port(name)),
            "serveralias" => vhost
                .aliases
                .extend(values.iter().map(|name| strip_port(name))),
            "documentroot" => vhost.document_root = values.first().cloned(),
            "sslengine" => vhost.tls = values.first().is_some_and(|v| v.eq_ignore_ascii_case("on")),
            _ => {}
        }
    }
    vhosts
}

/// `ServerName www.example.test:80` names the host `www.example.test`.
fn strip_port(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host.to_string(),
        _ => name.to_string(),
    }
}

/// Module names of `mods-enabled/*.load` file names, sorted.
pub fn enabled_modules<'a>(load_files: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut modules: Vec<String> = load_files
        .into_iter()
        .filter_map(|name| name.strip_suffix(".load"))
        .map(str::to_string)
        .collect();
    modules.sort();
    modules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vhosts_with_names_aliases_ports_and_roots() {
        let text = r#"
# The shop.
<VirtualHost *:80>
    ServerName shop.example.test
    ServerAlias www.shop.example.test   shop.example.org
    DocumentRoot "/var/www/shop"
    # ServerAlias commented.example.test
</VirtualHost>

<IfModule mod_ssl.c>
<VirtualHost 192.0.2.10:443 [2001:db8::10]:443>
    ServerName admin.example.test:443
    SSLEngine on
</VirtualHost>
</IfModule>

<VirtualHost *>
    DocumentRoot /var/www/html
</VirtualHost>
"#;
        assert_eq!(
            parse_vhosts("/etc/apache2/sites-enabled/shop.conf", text),
            [
                Vhost {
                    file: "/etc/apache2/sites-enabled/shop.conf".into(),
                    server_name: Some("shop.example.test".into()),
                    aliases: vec!["www.shop.example.test".into(), "shop.example.org".into()],
                    port: 80,
                    tls: false,
                    document_root: Some("/var/www/shop".into()),
                },
                Vhost {
                    file: "/etc/apache2/sites-enabled/shop.conf".into(),
                    server_name: Some("admin.example.test".into()),
                    aliases: vec![],
                    port: 443,
                    tls: true,
                    document_root: None,
                },
                Vhost {
                    file: "/etc/apache2/sites-enabled/shop.conf".into(),
                    server_name: None,
                    aliases: vec![],
                    port: 80,
                    tls: false,
                    document_root: Some("/var/www/html".into()),
                },
            ]
        );
    }

    #[test]
    fn modules_from_load_files() {
        assert_eq!(
            enabled_modules(["rewrite.load", "php8.2.conf", "php8.2.load", "alias.load"]),
            ["alias", "php8.2", "rewrite"]
        );
    }
}
