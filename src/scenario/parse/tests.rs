use super::*;
use crate::runner::{BackupStep, ConfigEdit, Fault, LoseHostStep, RevertStep, RevertTarget};
use crate::yaml::Diagnostic;

// The tests parse with every kind of the runner, as the CLI does.
fn parse(path: &Path, source: &str) -> Result<Scenario, Diagnostics> {
    super::parse(path, source, crate::runner::step_kinds())
}

fn parse_with_env(
    path: &Path,
    source: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: UnsetEnv,
) -> Result<Scenario, Diagnostics> {
    super::parse_with_env(path, source, crate::runner::step_kinds(), lookup, unset)
}

const HEADER: &str = "name: t\nhosts:\n  web:\n    image: static-site\n";

fn errors(source: &str) -> Vec<Diagnostic> {
    parse(Path::new("t.yaml"), source).unwrap_err().errors
}

/// (line, column, width, message, help) of each error, in order.
fn summary(source: &str) -> Vec<(usize, usize, usize, String, Option<String>)> {
    errors(source)
        .into_iter()
        .map(|e| (e.line, e.column, e.width, e.message, e.help))
        .collect()
}

fn only_error(source: &str) -> Diagnostic {
    let mut all = errors(source);
    assert_eq!(all.len(), 1, "{all:#?}");
    all.remove(0)
}

fn secret_env(name: &str) -> Option<String> {
    (name == "SHOP_TOKEN").then(|| "Tk/9f8e7d".to_string())
}

const DRILL_BASE: &str = "name: t\nhosts:\n  web: {image: static-site}\n  old: {image: static-site}\nprobes:\n  site: {http: {host: web, path: /}}\nsteps:\n  - name: break it\n    exec: {host: web, command: x}\n";

#[test]
fn status_below_is_decoded_and_not_beside_status() {
    let probe = |expect: &str| {
        format!(
            "{HEADER}probes:\n  site:\n    http: {{host: web, expect: {expect}}}\nsteps:\n  - probe: [site]\n"
        )
    };
    let scenario = parse(Path::new("t.yaml"), &probe("{status_below: 500}")).unwrap();
    let ProbeKind::Http(http) = &scenario.probes[0].kind else {
        panic!("{:?}", scenario.probes[0]);
    };
    assert_eq!(http.expect.status_below, Some(500));
    assert_eq!(
        summary(&probe("{status: 200, status_below: 500}")),
        [(
            7,
            59,
            3,
            "`status` and `status_below` both given in `expect` of probe `site`".to_string(),
            Some(
                "keep one: `status` wants exactly that code, `status_below` any code below it"
                    .to_string()
            )
        )]
    );
}

#[test]
fn a_drill_section_is_decoded_with_its_defaults() {
    let source = format!(
        "{DRILL_BASE}drill:\n  briefing: the site is down\n  checks: site\n  reboot: web\n  data: {{host: web, from: old, count: 'echo 3', max_loss: 2}}\n"
    );
    let scenario = parse(Path::new("t.yaml"), &source).unwrap();
    let drill = scenario.drill.unwrap();
    assert_eq!(drill.briefing, "the site is down");
    assert_eq!(drill.checks, ["site"]);
    assert_eq!(drill.reboot, ["web"]);
    assert!(drill.hints.is_empty());
    let data = drill.data.unwrap();
    assert_eq!(
        (
            data.host.as_str(),
            data.from.as_deref(),
            data.before,
            data.max_loss
        ),
        ("web", Some("old"), 0, 2)
    );
}

#[test]
fn drill_mistakes_point_at_the_key_and_suggest_the_fix() {
    let source = format!(
        "{DRILL_BASE}drill:\n  briefing: b\n  checks: [sight]\n  reboot: [wbe]\n  data: {{host: web, count: x, before: brake it}}\n  hint: [a]\n"
    );
    assert_eq!(
        summary(&source),
        [
            (
                12,
                12,
                5,
                "unknown probe `sight` in `checks` of `drill`".to_string(),
                Some("defined probes: `site`".to_string())
            ),
            (
                13,
                12,
                3,
                "unknown host `wbe` in `reboot` of `drill`".to_string(),
                Some("did you mean `web`?".to_string())
            ),
            (
                14,
                39,
                8,
                "unknown step `brake it` in `before` of `data` of `drill`".to_string(),
                Some("did you mean `break it`?".to_string())
            ),
            (
                15,
                3,
                4,
                "unknown key `hint` in `drill`".to_string(),
                Some("did you mean `hints`?".to_string())
            ),
        ]
    );
    let missing = format!("{DRILL_BASE}drill:\n  checks: []\n");
    let messages: Vec<String> = errors(&missing).into_iter().map(|e| e.message).collect();
    assert_eq!(
        messages,
        [
            "missing key `briefing` in `drill`",
            "`checks` of `drill` must name at least one probe"
        ]
    );
}

#[test]
fn env_placeholders_are_resolved_and_become_secrets() {
    let source = format!(
        "{HEADER}    env:\n      TOKEN: ${{env:SHOP_TOKEN}}\nsteps:\n  - exec: {{host: web, command: 'echo ${{env:SHOP_TOKEN}}'}}\n"
    );
    let scenario =
        parse_with_env(Path::new("t.yaml"), &source, &secret_env, UnsetEnv::Refuse).unwrap();
    assert_eq!(
        scenario.hosts[0].env,
        [("TOKEN".into(), "Tk/9f8e7d".into())]
    );
    let exec = scenario.steps[0]
        .kind
        .get::<crate::runner::ExecStep>()
        .unwrap();
    assert_eq!(exec.command, Command::Shell("echo Tk/9f8e7d".into()));
    assert_eq!(scenario.secrets.len(), 1);
    assert_eq!(scenario.secrets[0].name, "SHOP_TOKEN");
    // Without the environment the placeholder stays, as `check` sees it.
    let kept = parse(Path::new("t.yaml"), &source).unwrap();
    assert!(kept.secrets.is_empty());
    assert_eq!(kept.unset_env.len(), 2);
}

#[test]
fn an_unset_env_variable_is_shown_at_its_placeholder() {
    let source = format!(
        "{HEADER}    env:\n      TOKEN: \"${{env:NOT_SET_HERE}}\"\nsteps: [{{exec: {{host: web, command: x}}}}]\n"
    );
    let error = parse_with_env(Path::new("t.yaml"), &source, &secret_env, UnsetEnv::Refuse)
        .unwrap_err()
        .to_string();
    let expected = "\
error: environment variable `NOT_SET_HERE` is not set, but `hosts.web.env.TOKEN` uses it
 --> t.yaml:6:15
  |
6 |       TOKEN: \"${env:NOT_SET_HERE}\"
  |               ^^^^^^^^^^^^^^^^^^^
  |
  = help: set it before running, e.g. `export NOT_SET_HERE=...`

1 error in t.yaml";
    assert_eq!(error, expected);
}

#[test]
fn a_secret_in_an_invalid_value_is_not_shown_in_the_error() {
    let source = format!(
        "{HEADER}    aliases: ['${{env:SHOP_TOKEN}}']\nsteps: [{{exec: {{host: web, command: x}}}}]\n"
    );
    let error = parse_with_env(Path::new("t.yaml"), &source, &secret_env, UnsetEnv::Refuse)
        .unwrap_err()
        .to_string();
    assert!(!error.contains("Tk/9f8e7d"), "{error}");
    assert!(error.contains("[redacted:SHOP_TOKEN]"), "{error}");
}

#[test]
fn host_files_limits_and_the_outside_switch() {
    let source = format!(
        "{HEADER}    files:\n      - {{src: conf/shop.conf, dest: /etc/apache2/sites-available/shop.conf}}\n      - {{src: bin/run, dest: /usr/local/bin/run, mode: \"0755\"}}\nfile_limits: {{per_file: 1M}}\nsteps: [{{exec: {{host: web, command: x}}}}]\n"
    );
    let scenario = parse(Path::new("t.yaml"), &source).unwrap();
    assert_eq!(
        scenario.hosts[0].files,
        [
            HostFile {
                src: "conf/shop.conf".into(),
                dest: "/etc/apache2/sites-available/shop.conf".into(),
                mode: 0o644
            },
            HostFile {
                src: "bin/run".into(),
                dest: "/usr/local/bin/run".into(),
                mode: 0o755
            }
        ]
    );
    assert_eq!(scenario.file_limits.per_file, 1 << 20);
    assert_eq!(scenario.file_limits.total, FileLimits::DEFAULT_TOTAL);
    assert!(!scenario.allow_files_outside);
}

#[test]
fn host_files_leaving_the_folder_are_refused_unless_allowed() {
    let files = "    files:\n      - {src: ../secret, dest: /a}\n      - {src: /etc/shadow, dest: /b}\n      - {src: ok, dest: relative}\n";
    let steps = "steps: [{exec: {host: web, command: x}}]\n";
    let source = format!("{HEADER}{files}{steps}");
    let found: Vec<String> = errors(&source).into_iter().map(|e| e.message).collect();
    assert_eq!(
        found,
        [
            "invalid `src` `../secret`: `..` would leave the scenario's folder",
            "invalid `src` `/etc/shadow`: expected a path relative to the scenario's folder",
            "invalid `dest` `relative`: expected the absolute path of a file in the host",
        ]
    );
    let allowed = format!("allow_files_outside: true\n{HEADER}{files}{steps}").replacen(
        "dest: relative",
        "dest: /c",
        1,
    );
    let scenario = parse(Path::new("t.yaml"), &allowed).unwrap();
    assert!(scenario.allow_files_outside);
    assert_eq!(scenario.hosts[0].files.len(), 3);
}

#[test]
fn shipped_scenarios_parse() {
    let path = Path::new("scenarios/smoke-static-site.yaml");
    let source = include_str!("../../../scenarios/smoke-static-site.yaml");
    let scenario = parse(path, source).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scenario.name, "smoke-static-site");
    assert_eq!(scenario.path, path);
    assert_eq!(scenario.hosts[0].aliases, ["www.example.test"]);
    assert_eq!(scenario.probes.len(), 3);
    let names: Vec<_> = scenario.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["baseline", "reboot web", "after reboot"]);
    assert_eq!(scenario.steps[1].timeout, Duration::from_secs(180));

    let source = include_str!("../../../scenarios/smoke-broken.yaml");
    let scenario = parse(Path::new("broken.yaml"), source).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scenario.steps[1].name, "exec web: systemctl stop apache2");
}

#[test]
fn monitors_their_steps_and_gates() {
    let source = format!(
        "{HEADER}monitors:\n  site:\n    http: {{host: web, url: 'http://www.example.test/'}}\n    rate: 500\n    marker_header: X-Served-By\nsteps:\n  - monitor: {{start: site}}\n  - monitor: {{stop: [site]}}\ngates:\n  - max_unavailability: 2s\n    monitor: site\n  - max_failed_requests: 0\n"
    );
    let scenario = parse(Path::new("t.yaml"), &source).unwrap_or_else(|e| panic!("{e}"));
    let monitor = &scenario.monitors[0];
    assert_eq!(
        (monitor.rate, monitor.marker_header.as_deref()),
        (500, Some("x-served-by"))
    );
    assert_eq!(scenario.steps[0].name, "start monitoring site");
    assert_eq!(scenario.steps[1].name, "stop monitoring site");
    assert_eq!(scenario.gates[0].name, "max_unavailability");
    assert_eq!(
        scenario.gates[0].kind,
        GateKind::MaxUnavailability {
            monitor: Some("site".into()),
            limit: Duration::from_secs(2)
        }
    );
    assert_eq!(scenario.gates[1].name, "max_failed_requests");
    let bad = format!("{HEADER}steps:\n  - monitor: {{start: sight}}\n");
    let found = summary(&bad);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].3, "unknown monitor `sight` in step 1");
}

#[test]
fn writer_monitors_moves_and_their_gates() {
    let source = format!(
        "{HEADER}  new: {{image: static-site}}\nmonitors:\n  orders:\n    http: {{host: web, url: 'http://www.example.test/order.php', method: POST}}\n    rate: 20\n    writes:\n      serving: {{host: new, command: list-orders}}\n      old: {{host: web, command: [list-orders, --all]}}\nsteps:\n  - monitor: {{start: orders}}\n  - migrate: {{from: web, to: new, files: /var/www, databases: [{{mariadb: shop}}, {{postgresql: notes}}]}}\n  - dns-switch: {{to: new, over: 30s}}\n  - drain-check: {{host: web}}\n  - monitor: {{stop: orders}}\ngates:\n  - lost_writes: 0\n  - split_writes: 2\n    monitor: orders\n  - p99_latency: 1.5\n"
    );
    let scenario = parse(Path::new("t.yaml"), &source).unwrap_or_else(|e| panic!("{e}"));
    let writes = scenario.monitors[0].writes.as_ref().unwrap();
    assert_eq!(writes.field, "token");
    assert_eq!(writes.serving.host, "new");
    assert_eq!(
        writes.old.as_ref().unwrap().command,
        Command::Argv(vec!["list-orders".into(), "--all".into()])
    );
    let names: Vec<&str> = scenario.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "start monitoring orders",
            "migrate web → new",
            "dns switch to new over 30s",
            "drain check web",
            "stop monitoring orders"
        ]
    );
    let migrate = scenario.steps[1]
        .kind
        .get::<crate::runner::MigrateStep>()
        .unwrap();
    assert_eq!(migrate.files, ["/var/www"]);
    assert_eq!(
        migrate.databases[1].engine,
        crate::runner::DatabaseEngine::Postgresql
    );
    assert!(migrate.verify);
    let switch = scenario.steps[2]
        .kind
        .get::<crate::runner::DnsSwitchStep>()
        .unwrap();
    assert_eq!(switch.over, Duration::from_secs(30));
    // The switch lasts `over`; its timeout leaves room beyond it.
    assert_eq!(scenario.steps[2].timeout, Duration::from_secs(90));
    let drain = scenario.steps[3]
        .kind
        .get::<crate::runner::DrainCheckStep>()
        .unwrap();
    assert_eq!(
        (drain.log.as_deref(), drain.quiet),
        (None, Duration::from_secs(5))
    );
    let gates: Vec<&str> = scenario.gates.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(gates, ["lost_writes", "split_writes", "p99_latency"]);
    assert_eq!(
        scenario.gates[2].kind,
        GateKind::P99Latency {
            monitor: None,
            max_ratio: 1.5
        }
    );
}

#[test]
fn moves_with_mistakes_are_explained() {
    let source = format!(
        "{HEADER}monitors:\n  orders:\n    http: {{host: web, path: /order.php}}\n    writes: {{serving: {{host: web, command: x}}}}\nsteps:\n  - migrate: {{from: web, to: web, files: [var/www, /srv/../etc]}}\n  - migrate: {{from: web, to: web, databases: [{{mysql: shop}}]}}\n  - dns-switch: {{to: nowhere}}\ngates:\n  - p99_latency: 0\n"
    );
    let messages: Vec<_> = summary(&source)
        .into_iter()
        .map(|(_, _, _, m, help)| (m, help.unwrap_or_default()))
        .collect();
    assert_eq!(
        messages,
        [
            (
                "monitor `orders` tracks writes but its requests are not POSTs".to_string(),
                "add `method: POST` to its `http`: the write token goes in the request body"
                    .to_string()
            ),
            (
                "`from` and `to` of step 1 are the same host".into(),
                String::new()
            ),
            ("`var/www` is not an absolute path".into(), String::new()),
            ("`/srv/../etc` contains `..`".into(), String::new()),
            (
                "`from` and `to` of step 2 are the same host".into(),
                String::new()
            ),
            (
                "unknown key `mysql` in item 1 of `databases` of `migrate` of step 2".into(),
                "expected one of `mariadb`, `postgresql`".into()
            ),
            (
                "unknown host `nowhere` in step 3".into(),
                "defined hosts: `web`".into()
            ),
            (
                "`p99_latency` (the largest after/before ratio) must be greater than 0, found 0"
                    .into(),
                String::new()
            ),
        ]
    );
}

#[test]
fn http_url_sets_vhost_port_and_path() {
    let source = format!(
        "{HEADER}probes:\n  home:\n    http: {{host: web, url: 'http://www.example.test:8080/a/b?c=1'}}\nsteps:\n  - probe: home\n"
    );
    let scenario = parse(Path::new("t.yaml"), &source).unwrap_or_else(|e| panic!("{e}"));
    let ProbeKind::Http(http) = &scenario.probes[0].kind else {
        panic!("an http probe")
    };
    assert_eq!(http.vhost.as_deref(), Some("www.example.test"));
    assert_eq!((http.port, http.path.as_str()), (8080, "/a/b?c=1"));
}

#[test]
fn http_url_conflicts_and_bad_schemes_are_explained() {
    let source = format!(
        "{HEADER}probes:\n  home:\n    http: {{host: web, url: 'http://a.test/', port: 81}}\n  tls:\n    http: {{host: web, url: 'https://a.test/'}}\nsteps:\n  - probe: [home, tls]\n"
    );
    let found = summary(&source);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(
        (found[0].0, found[0].1, found[0].3.as_str()),
        (
            7,
            46,
            "`port` and `url` both given in `http` of probe `home`"
        )
    );
    assert_eq!(found[1].0, 9);
    assert!(
        found[1].3.contains("unsupported URL scheme `https`"),
        "{}",
        found[1].3
    );
}

#[test]
fn full_probe_with_defaults_and_values() {
    let source = format!(
        "{HEADER}probes:
  home:
    http:
      host: web
      method: HEAD
      timeout: 500ms
      expect:
        body_regex: 'Hel+o'
        headers: {{Server: Apache}}
  sh:
    exec: {{host: web, command: [systemctl, is-active, apache2]}}
steps:
  - probe: home
    timeout: 2
    allow_failure: true
gates:
  - max_findings: 0
"
    );
    let scenario = parse(Path::new("t.yaml"), &source).unwrap_or_else(|e| panic!("{e}"));
    let ProbeKind::Http(http) = &scenario.probes[0].kind else {
        panic!("not http")
    };
    assert_eq!((http.port, http.path.as_str()), (80, "/"));
    assert_eq!(http.method, HttpMethod::Head);
    assert_eq!(http.timeout, Duration::from_millis(500));
    assert_eq!(http.expect.status, 200);
    assert_eq!(http.expect.headers, [("server".into(), "Apache".into())]);
    let ProbeKind::Exec(exec) = &scenario.probes[1].kind else {
        panic!("not exec")
    };
    assert_eq!(exec.timeout, Duration::from_secs(30));
    assert_eq!(
        exec.command.to_argv(),
        ["systemctl", "is-active", "apache2"]
    );
    let step = &scenario.steps[0];
    assert_eq!(
        (step.name.as_str(), step.timeout),
        ("probe home", Duration::from_secs(2))
    );
    assert!(step.allow_failure);
    assert_eq!(
        scenario.gates[0].name,
        "max 0 findings of severity medium or higher"
    );
}

#[test]
fn typo_in_a_key_is_suggested() {
    let error =
        only_error("name: t\nhosts:\n  web:\n    imgae: static-site\nsteps:\n  - reboot: web\n");
    let at = (error.line, error.column, error.width);
    // The typo and, at the host's map, the key it failed to provide.
    assert_eq!(at, (4, 5, 5));
    assert_eq!(error.message, "unknown key `imgae` in host `web`");
    assert_eq!(error.help.as_deref(), Some("did you mean `image`?"));
}

#[test]
fn wrong_type_points_at_the_value() {
    let source = format!("{HEADER}    aliases: www.example.test\nsteps:\n  - reboot: web\n");
    let error = only_error(&source);
    assert_eq!((error.line, error.column, error.width), (5, 14, 16));
    assert_eq!(
        error.message,
        "expected a list for `aliases`, found a string"
    );
}

#[test]
fn unknown_host_in_a_probe() {
    let source = format!(
        "{HEADER}probes:\n  p80:\n    tcp: {{host: wbe, port: 80}}\nsteps:\n  - probe: p80\n"
    );
    let error = only_error(&source);
    assert_eq!((error.line, error.column, error.width), (7, 17, 3));
    assert_eq!(error.message, "unknown host `wbe` in probe `p80`");
    assert_eq!(error.help.as_deref(), Some("did you mean `web`?"));
}

#[test]
fn unknown_probe_in_a_step() {
    let source = format!(
        "{HEADER}probes:\n  homepage:\n    tcp: {{host: web, port: 80}}\nsteps:\n  - probe: [homepage, homepag]\n"
    );
    let error = only_error(&source);
    assert_eq!((error.line, error.column, error.width), (9, 23, 7));
    assert_eq!(error.message, "unknown probe `homepag` in step 1");
    assert_eq!(error.help.as_deref(), Some("did you mean `homepage`?"));
}

#[test]
fn yaml_syntax_error_is_one_diagnostic() {
    let error = only_error("name: t\nhosts:\n  web: [a, b\n  db: 1\n");
    // Where the unclosed `[` opens, not where the parser stopped.
    assert_eq!((error.line, error.column), (3, 8));
    assert!(
        error.message.starts_with("invalid YAML"),
        "{}",
        error.message
    );
}

#[test]
fn many_errors_are_reported_at_once_in_order() {
    let source = "\
name: Bad_Name
hosts:
  web:
    image: static-site
    init: sysd
probes:
  home:
    http: {host: web, port: 0}
    tcp: {host: web, port: 80}
  quiet:
    retry: {interval: 10s, deadline: 1s}
steps:
  - reboot: db
  - name: twice
    probe: home
  - name: twice
    probe: home
    timeout: 0s
gates:
  - max_failed_checks: -1
    severity: high
colour: blue
";
    let found: Vec<_> = summary(source)
        .into_iter()
        .map(|(l, c, _, m, _)| (l, c, m))
        .collect();
    let expected = [
        (
            1,
            7,
            "invalid scenario name `Bad_Name`: use lowercase letters, digits and `-`, starting with a letter or digit, at most 40 characters",
        ),
        (
            5,
            11,
            "invalid value `sysd` for `init`: expected one of `systemd`, `none`",
        ),
        (8, 29, "`port` must be between 1 and 65535, found 0"),
        (9, 5, "second probe kind `tcp` in probe `home`"),
        (
            11,
            5,
            "missing probe kind in probe `quiet`: expected one of `http`, `tcp`, `exec`",
        ),
        (
            11,
            23,
            "`interval` (10s) is longer than `deadline` (1s) in probe `quiet`",
        ),
        (13, 13, "unknown host `db` in step 1"),
        (16, 11, "duplicate step name `twice`"),
        (18, 14, "`timeout` must be longer than zero"),
        (20, 24, "`max_failed_checks` must be at least 0, found -1"),
        (21, 5, "`severity` does not apply to gate 1"),
        (22, 1, "unknown key `colour` in the scenario"),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(l, c, m)| (*l, *c, m.to_string()))
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn missing_kind_and_keys_are_reported_at_the_map() {
    let found = summary("name: t\nhosts:\n  web:\n    init: none\nsteps:\n  - name: x\n");
    let messages: Vec<_> = found
        .iter()
        .map(|(l, c, _, m, _)| (*l, *c, m.as_str()))
        .collect();
    assert_eq!(
        messages,
        [
            (4, 5, "missing key `image` in host `web`"),
            (
                6,
                5,
                "missing step kind in step 1: expected one of `probe`, `reboot`, `exec`, `upgrade`, `monitor`, `cutover`, `migrate`, `dns-switch`, `drain-check`, `snapshot`, `rollback`, `backup`, `lose-host`, `restore`, `fault`, `revert`"
            ),
        ]
    );
}

#[test]
fn bad_values_are_explained() {
    let source = format!(
        "{HEADER}    memory: 12Q\n    cpus: 0\n    aliases: [-bad-]\nprobes:\n  h:\n    http:\n      host: web\n      path: index.html\n      expect: {{body_regex: 'Hel(o', status: 700}}\nsteps:\n  - exec: {{host: web, command: ''}}\n"
    );
    let messages: Vec<_> = summary(&source)
        .into_iter()
        .map(|(_, _, _, m, _)| m)
        .collect();
    assert_eq!(
        messages,
        [
            "invalid size `12Q` for `memory`",
            "`cpus` must be greater than 0, found 0",
            "invalid host name `-bad-`: expected a DNS name like `www.example.test`",
            "invalid path `index.html`: it must start with `/`",
            "invalid regular expression in `body_regex`: unclosed group",
            "`status` must be between 100 and 599, found 700",
            "`command` must not be empty",
        ]
    );
}

#[test]
fn derived_step_names_are_made_unique() {
    let source = format!(
        "{HEADER}steps:\n  - reboot: web\n  - reboot: web\n  - exec: {{host: web, command: echo 0123456789012345678901234567890123456789}}\n"
    );
    let scenario = parse(Path::new("t.yaml"), &source).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<_> = scenario.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "reboot web",
            "reboot web (2)",
            "exec web: echo 0123456789012345678901234567890123…"
        ]
    );
}

#[test]
fn rendered_text_of_several_errors() {
    let source = "name: demo\nhosts:\n  web:\n    imgae: static-site\n    init: sysd\nsteps:\n  - probe: homepag\n";
    let rendered = parse(Path::new("scenarios/demo.yaml"), source)
        .unwrap_err()
        .to_string();
    let expected = "\
error: unknown key `imgae` in host `web`
 --> scenarios/demo.yaml:4:5
  |
4 |     imgae: static-site
  |     ^^^^^
  |
  = help: did you mean `image`?

error: invalid value `sysd` for `init`: expected one of `systemd`, `none`
 --> scenarios/demo.yaml:5:11
  |
5 |     init: sysd
  |           ^^^^
  |
  = help: did you mean `systemd`?

error: unknown probe `homepag` in step 1
 --> scenarios/demo.yaml:7:12
  |
7 |   - probe: homepag
  |            ^^^^^^^
  |
  = help: no probes are defined

3 errors in scenarios/demo.yaml";
    assert_eq!(rendered, expected);
}

const TWO_HOSTS: &str = "name: t\nhosts:\n  old:\n    image: web-pgsql-bookworm\n  new:\n    image: web-pgsql-bookworm\n";

#[test]
fn cutover_server_and_site_file_default_to_none() {
    let source = format!(
        "{TWO_HOSTS}steps:\n  - cutover: {{from: old, to: new, site: notes.example.test}}\n"
    );
    let scenario = parse(Path::new("t.yaml"), &source).unwrap();
    let step = scenario.steps[0]
        .kind
        .get::<crate::runner::CutoverStep>()
        .unwrap();
    assert_eq!((step.server, step.vhost_file.as_deref()), (None, None));
}

#[test]
fn cutover_takes_the_web_server() {
    let source = format!(
        "{TWO_HOSTS}steps:\n  - cutover: {{from: old, to: new, site: notes.example.test, server: nginx, vhost_file: /etc/nginx/sites-enabled/notes}}\n"
    );
    let scenario = parse(Path::new("t.yaml"), &source).unwrap();
    let step = scenario.steps[0]
        .kind
        .get::<crate::runner::CutoverStep>()
        .unwrap();
    assert_eq!(step.server, Some(WebServer::Nginx));
    assert_eq!(
        step.vhost_file.as_deref(),
        Some("/etc/nginx/sites-enabled/notes")
    );
}

#[test]
fn cutover_with_an_unknown_web_server_suggests_one() {
    let source = format!(
        "{TWO_HOSTS}steps:\n  - cutover: {{from: old, to: new, site: notes.example.test, server: ngnix}}\n"
    );
    let error = only_error(&source);
    assert_eq!(
        error.message,
        "invalid value `ngnix` for `server`: expected one of `apache`, `nginx`"
    );
    assert_eq!(error.help.as_deref(), Some("did you mean `nginx`?"));
}

const WEB_AND_VAULT: &str = "name: t\nhosts:\n  web: {image: lamp-bookworm}\n  vault: {image: lamp-bookworm, init: none}\nprobes:\n  shop: {http: {host: web}}\n";

#[test]
fn backups_losses_restores_and_their_gate() {
    let source = format!(
        "{WEB_AND_VAULT}steps:\n  - backup: {{host: web, command: dump-it, path: /var/backups/shop/, to: vault, every: 20s}}\n  - lose-host: web\n  - restore: {{host: web, from: vault, path: /var/backups/shop/, command: [restore-it, --all], count: count-rows, probes: shop}}\n  - backup: {{host: web, command: dump-it, path: /srv/files, to: vault}}\ngates:\n  - recovery_point: 1m\n"
    );
    let scenario = parse(Path::new("t.yaml"), &source).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = scenario.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "backup web to vault",
            "lose web",
            "restore web from vault",
            "backup web to vault (2)"
        ]
    );
    let backup = scenario.steps[0]
        .kind
        .get::<crate::runner::BackupStep>()
        .unwrap();
    assert_eq!(
        backup,
        &BackupStep {
            host: "web".into(),
            command: Command::Shell("dump-it".into()),
            path: "/var/backups/shop/".into(),
            to: "vault".into(),
            every: Some(Duration::from_secs(20)),
        }
    );
    assert_eq!(
        scenario.steps[1].kind,
        StepKind::new(LoseHostStep { host: "web".into() })
    );
    let restore = scenario.steps[2]
        .kind
        .get::<crate::runner::RestoreStep>()
        .unwrap();
    assert_eq!(
        restore.command,
        Command::Argv(vec!["restore-it".into(), "--all".into()])
    );
    assert_eq!(restore.count, Some(Command::Shell("count-rows".into())));
    assert_eq!(restore.probes, ["shop"]);
    assert_eq!(scenario.steps[2].timeout, Duration::from_secs(1800));
    let once = scenario.steps[3]
        .kind
        .get::<crate::runner::BackupStep>()
        .unwrap();
    assert_eq!(once.every, None);
    assert_eq!(scenario.gates[0].name, "recovery_point");
    assert_eq!(
        scenario.gates[0].kind,
        GateKind::RecoveryPoint {
            limit: Duration::from_secs(60)
        }
    );
}

#[test]
fn backups_and_restores_with_mistakes_are_explained() {
    let source = format!(
        "{WEB_AND_VAULT}steps:\n  - backup: {{host: web, comand: dump-it, path: backups, to: web, every: 0s}}\n  - lose-host: wbe\n  - restore: {{host: web, from: vault, path: /var/backups/shop, command: restore-it}}\n  - backup: {{host: web, command: dump-it, path: /var/backups/other, to: vault}}\n  - restore: {{host: web, from: vault, path: /var/backups/shop, command: restore-it, probes: [shopp]}}\ngates:\n  - recovery_point: 10s\n    monitor: orders\n"
    );
    let messages: Vec<_> = summary(&source)
        .into_iter()
        .map(|(line, _, _, m, help)| (line, m, help.unwrap_or_default()))
        .collect();
    let restore_without_backup = "`restore` of `web` from `vault`, but no earlier `backup` step keeps `/var/backups/shop` of `web` there";
    let expected: Vec<(usize, String, String)> = vec![
            (
                8,
                "unknown key `comand` in `backup` of step 1".into(),
                "did you mean `command`?".into(),
            ),
            (8, "`backups` is not an absolute path".into(), String::new()),
            (
                8,
                "`host` and `to` of step 1 are the same host: a backup kept on the host is lost with it".into(),
                String::new(),
            ),
            (8, "`every` must be longer than zero".into(), String::new()),
            (
                9,
                "unknown host `wbe` in step 2".into(),
                "did you mean `web`?".into(),
            ),
            (
                10,
                restore_without_backup.into(),
                "add a `backup` step of `web` to `vault` before it".into(),
            ),
            (
                12,
                restore_without_backup.into(),
                "the earlier backup of `web` keeps `/var/backups/other` on `vault`".into(),
            ),
            (
                12,
                "unknown probe `shopp` in step 5".into(),
                "did you mean `shop`?".into(),
            ),
            (
                15,
                "`monitor` does not apply to gate 1".into(),
                "`monitor` goes with `another gate kind`".into(),
            ),
            (
                15,
                "unknown monitor `orders` in gate 1".into(),
                "no monitors are defined".into(),
            ),
        ];
    assert_eq!(messages, expected);
}

const WEB_AND_DB: &str = "name: t\nhosts:\n  web: {image: static-site, aliases: [www.example.test]}\n  db: {image: lamp-bookworm}\n";

#[test]
fn every_fault_and_its_revert() {
    let source = format!(
        "{WEB_AND_DB}steps:
  - name: apache goes down
    fault: {{host: web, stop: apache2}}
  - fault: {{host: web, mask: apache2.service}}
  - fault: {{host: web, disable: apache2}}
  - fault: {{host: web, break-config: {{file: /etc/apache2/apache2.conf, add: 'Order deny,allow'}}}}
  - fault: {{host: web, break-config: {{file: /etc/hosts.allow, replace: ALL, with: ''}}}}
  - fault: {{host: web, fill-disk: {{path: /var/log, size: 256M}}}}
  - fault: {{host: db, disconnect: true}}
  - fault: {{host: web, wrong-dns: {{name: db.example.test, address: 10.9.9.9}}}}
  - fault: {{host: web, hold: apache2}}
  - fault: {{host: web, half-sources: {{to: trixie}}}}
  - fault: {{host: db, kill-mid-write: {{service: mariadb, write: 'seed-forever'}}}}
  - revert: apache goes down
  - revert: ['fault db: disconnect', 'fault web: hold apache2']
  - revert: all
"
    );
    let scenario = parse(Path::new("t.yaml"), &source).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = scenario.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "apache goes down",
            "fault web: mask apache2.service",
            "fault web: disable apache2",
            "fault web: break-config /etc/apache2/apache2.conf",
            "fault web: break-config /etc/hosts.allow",
            "fault web: fill-disk /var/log",
            "fault db: disconnect",
            "fault web: wrong-dns db.example.test → 10.9.9.9",
            "fault web: hold apache2",
            "fault web: half-sources to trixie",
            "fault db: kill-mid-write mariadb",
            "revert apache goes down",
            "revert fault db: disconnect, fault web: hold apache2",
            "revert all",
        ]
    );
    let faults: Vec<(&str, &Fault)> = scenario
        .steps
        .iter()
        .filter_map(|s| s.kind.get::<crate::runner::FaultStep>())
        .map(|f| (f.host.as_str(), &f.fault))
        .collect();
    assert_eq!(
        faults,
        [
            ("web", &Fault::Stop("apache2".into())),
            ("web", &Fault::Mask("apache2.service".into())),
            ("web", &Fault::Disable("apache2".into())),
            (
                "web",
                &Fault::BreakConfig {
                    file: "/etc/apache2/apache2.conf".into(),
                    edit: ConfigEdit::Add("Order deny,allow".into())
                }
            ),
            (
                "web",
                &Fault::BreakConfig {
                    file: "/etc/hosts.allow".into(),
                    edit: ConfigEdit::Replace {
                        text: "ALL".into(),
                        with: String::new()
                    }
                }
            ),
            (
                "web",
                &Fault::FillDisk {
                    path: "/var/log".into(),
                    size: 256 << 20
                }
            ),
            ("db", &Fault::Disconnect),
            (
                "web",
                &Fault::WrongDns {
                    name: "db.example.test".into(),
                    address: "10.9.9.9".parse().unwrap()
                }
            ),
            ("web", &Fault::Hold("apache2".into())),
            (
                "web",
                &Fault::HalfSources {
                    to: "trixie".into()
                }
            ),
            (
                "db",
                &Fault::KillMidWrite {
                    service: "mariadb".into(),
                    write: "seed-forever".into()
                }
            ),
        ]
    );
    assert_eq!(scenario.steps[0].timeout, Duration::from_secs(120));
    assert_eq!(
        scenario.steps[12].kind,
        StepKind::new(RevertStep {
            faults: RevertTarget::Steps(vec![
                "fault db: disconnect".into(),
                "fault web: hold apache2".into()
            ])
        })
    );
    assert_eq!(
        scenario.steps[13].kind,
        StepKind::new(RevertStep {
            faults: RevertTarget::All
        })
    );
    assert_eq!(scenario.steps[13].timeout, Duration::from_secs(120));
}

#[test]
fn faults_with_mistakes_are_explained() {
    let source = format!(
        "{WEB_AND_DB}steps:
  - fault: {{host: web, stpo: apache2}}
  - fault: {{stop: apache2}}
  - fault: {{host: web, stop: apache2, mask: apache2}}
  - fault: {{host: web, fill-disk: {{path: /var/log, size: 10G}}}}
  - fault: {{host: web, fill-disk: {{path: var/log}}}}
  - fault: {{host: web, break-config: {{file: /etc/x.conf, add: a, replace: b, with: c}}}}
  - fault: {{host: web, break-config: {{file: /etc/x.conf, replace: b}}}}
  - fault: {{host: web, break-config: {{file: /etc/x.conf}}}}
  - fault: {{host: web, wrong-dns: {{name: db.test, address: 10.9.9}}}}
  - fault: {{host: web, disconnect: false}}
  - fault: {{host: web, hold: Apache2, half-sources: {{to: trixe}}}}
  - fault: {{host: dbb, kill-mid-write: {{service: 'maria db', write: ''}}}}
"
    );
    let messages: Vec<_> = summary(&source)
        .into_iter()
        .map(|(line, _, _, m, help)| (line, m, help.unwrap_or_default()))
        .collect();
    let expected: Vec<(usize, String, String)> = vec![
            (
                6,
                "unknown key `stpo` in `fault` of step 1".into(),
                "did you mean `stop`?".into(),
            ),
            (
                7,
                "missing key `host` in `fault` of step 2".into(),
                String::new(),
            ),
            (
                8,
                "second fault `mask` in `fault` of step 3".into(),
                "use only one of `stop`, `mask`, `disable`, `break-config`, `fill-disk`, `disconnect`, `wrong-dns`, `hold`, `half-sources`, `kill-mid-write`; `stop` is already set".into(),
            ),
            (
                9,
                "`size` must be at most 8G, found `10G`".into(),
                "a host's disk is the engine's own disk: fill a smaller filesystem or a part of it".into(),
            ),
            (
                10,
                "missing key `size` in `fill-disk` of `fault` of step 5".into(),
                String::new(),
            ),
            (10, "`var/log` is not an absolute path".into(), String::new()),
            (
                11,
                "`add` and `replace` together in `break-config` of `fault` of step 6".into(),
                "one edit per fault: make the other one a fault step of its own".into(),
            ),
            (
                12,
                "missing key `with` in `break-config` of `fault` of step 7".into(),
                String::new(),
            ),
            (
                13,
                "`break-config` of `fault` of step 8 changes nothing".into(),
                "give `add: LINE` (appended), or `replace: TEXT` with `with: TEXT`".into(),
            ),
            (
                14,
                "invalid IP address `10.9.9` for `address`".into(),
                String::new(),
            ),
            (
                15,
                "`disconnect: false` in `fault` of step 10 breaks nothing".into(),
                "write `disconnect: true`, or leave the step out".into(),
            ),
            (
                16,
                "invalid package name `Apache2`: expected a Debian package name like `apache2`".into(),
                String::new(),
            ),
            (
                16,
                "second fault `half-sources` in `fault` of step 11".into(),
                "use only one of `stop`, `mask`, `disable`, `break-config`, `fill-disk`, `disconnect`, `wrong-dns`, `hold`, `half-sources`, `kill-mid-write`; `hold` is already set".into(),
            ),
            (
                16,
                "unknown Debian release `trixe`: expected one of `jessie`, `stretch`, `buster`, `bullseye`, `bookworm`, `trixie`, `forky`; did you mean `trixie`?".into(),
                String::new(),
            ),
            (
                17,
                "unknown host `dbb` in step 12".into(),
                "did you mean `db`?".into(),
            ),
            (
                17,
                "invalid unit name `maria db`: expected a systemd unit like `apache2` or `mariadb.service`".into(),
                String::new(),
            ),
            (17, "`write` must not be empty".into(), String::new()),
        ];
    assert_eq!(messages, expected);
}

#[test]
fn reverts_name_earlier_faults() {
    let source = format!(
        "{WEB_AND_DB}steps:
  - revert: all
  - name: apache goes down
    fault: {{host: web, stop: apache2}}
  - name: check
    exec: {{host: web, command: 'true'}}
  - revert: [apache goes dwn, check, db dies, 'nobody']
  - name: db dies
    fault: {{host: db, stop: mariadb}}
  - revert: []
"
    );
    let messages: Vec<_> = summary(&source)
        .into_iter()
        .map(|(line, column, _, m, help)| (line, column, m, help.unwrap_or_default()))
        .collect();
    let expected: Vec<(usize, usize, String, String)> = vec![
        (
            6,
            13,
            "`revert: all`, but no earlier step is a `fault`".into(),
            "add a `fault` step before it".into(),
        ),
        (
            11,
            14,
            "`revert` of `apache goes dwn`, but no step has that name".into(),
            "did you mean `apache goes down`?".into(),
        ),
        (
            11,
            31,
            "`revert` of `check`, but that step is a `exec` step, not a `fault`".into(),
            "faults before it: `apache goes down`".into(),
        ),
        (
            11,
            38,
            "`revert` of `db dies`, but that `fault` step comes after it".into(),
            "faults before it: `apache goes down`".into(),
        ),
        (
            11,
            47,
            "`revert` of `nobody`, but no step has that name".into(),
            "faults before it: `apache goes down`".into(),
        ),
        (
            14,
            13,
            "`revert` of step 6 names no fault".into(),
            "name earlier `fault` steps, or write `revert: all`".into(),
        ),
    ];
    assert_eq!(messages, expected);
}

#[test]
fn a_probe_step_names_at_least_one_probe() {
    let source = "name: t\nhosts:\n  web: {image: x}\nprobes:\n  up: {tcp: {host: web, port: 80}}\nsteps:\n  - probe: []\n";
    let messages: Vec<String> = summary(source).into_iter().map(|e| e.3).collect();
    assert_eq!(messages, ["`probe` of step 1 must name at least one probe"]);
}
