//! A Docker engine on "another machine": a second engine runs in a container of this
//! machine's engine (with the privileges of an engine) (built from `tests/fixtures/images/docker-engine` by the tool's own
//! recipe mechanism) and is reached over TCP, plain or with TLS. The replica's image goes
//! into it with `docker save | docker load` (no registry), `rehearse run --docker-host
//! tcp://ADDRESS:2375` rehearses a scenario there, and its hosts are probed through the
//! ports that engine publishes on its address. The second engine is removed at the end,
//! whatever happens.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A Docker engine in a container of this machine's engine; removed (with its storage)
/// when dropped.
struct NestedEngine {
    name: String,
    address: String,
}

impl Drop for NestedEngine {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.name])
            .output();
    }
}

impl NestedEngine {
    /// Start the container with `command`, its `/var/lib/docker` on a volume (overlay on
    /// overlay does not work). It gets what `--privileged` would give an engine, spelled
    /// out (only this test's own engine runs so): every capability but `SYS_RESOURCE`,
    /// which some machines (this project's VMs) keep from their own engine, so that
    /// `--privileged` itself fails there ("unable to apply caps"); no seccomp or AppArmor
    /// filter; `/proc` unmasked; the cgroup filesystem writable in the host's cgroup
    /// namespace, as a replica's systemd gets it.
    fn start(image: &str, command: &[&str]) -> NestedEngine {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("rehearse-test-engine-{}-{nanos:08x}", std::process::id());
        let output = Command::new("docker")
            .args(["run", "-d", "--name", &name])
            .args(["--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE"])
            .args(["--security-opt", "seccomp=unconfined"])
            .args(["--security-opt", "apparmor=unconfined"])
            .args(["--security-opt", "systempaths=unconfined"])
            .args([
                "--cgroupns",
                "host",
                "-v",
                "/sys/fs/cgroup:/sys/fs/cgroup:rw",
            ])
            .args(["--label", "rehearse.test=remote-engine"])
            .args(["--mount", "type=volume,dst=/var/lib/docker"])
            .arg(image)
            .args(command)
            .output()
            .unwrap();
        // Guarded before the checks: a failed start still removes what was created.
        let mut engine = NestedEngine {
            name,
            address: String::new(),
        };
        assert!(
            output.status.success(),
            "the nested engine did not start: {}",
            text(&output.stderr)
        );
        let inspect = Command::new("docker")
            .args([
                "inspect",
                "-f",
                "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                &engine.name,
            ])
            .output()
            .unwrap();
        engine.address = text(&inspect.stdout).trim().to_string();
        assert!(
            !engine.address.is_empty(),
            "the nested engine has no address"
        );
        engine
    }

    /// `docker` run inside the engine's container, against its own socket.
    fn docker_inside(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .args(["exec", &self.name, "docker"])
            .args(args)
            .output()
            .unwrap()
    }

    /// `docker` against the nested engine, with `flags` before the command (TLS).
    fn docker(&self, url: &str, flags: &[&str], args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .args(flags)
            .args(["-H", url])
            .args(args)
            .output()
            .unwrap()
    }

    /// Wait until `docker info` answers at `url`.
    fn wait_ready(&self, url: &str, flags: &[&str]) {
        self.wait_until(url, || {
            self.docker(url, flags, &["info", "--format", "{{.ServerVersion}}"])
        });
    }

    /// Wait until `info` answers `docker info`.
    fn wait_until(&self, url: &str, info: impl Fn() -> std::process::Output) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let info = info();
            if info.status.success() {
                return;
            }
            if Instant::now() > deadline {
                let logs = Command::new("docker")
                    .args(["logs", "--tail", "30", &self.name])
                    .output()
                    .unwrap();
                panic!(
                    "the nested engine at {url} did not answer within 90 s: {}\nits log:\n{}{}",
                    text(&info.stderr),
                    text(&logs.stdout),
                    text(&logs.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// A second engine listening on plain TCP (port 2375), ready; and its URL.
fn plain_engine() -> (NestedEngine, String) {
    let engine = NestedEngine::start(
        &engine_image(),
        &[
            "dockerd",
            "-H",
            "tcp://0.0.0.0:2375",
            "-H",
            "unix:///var/run/docker.sock",
            "--tls=false",
            // This machine's engine gives its containers an MTU of 1400.
            "--mtu",
            "1400",
        ],
    );
    let url = format!("tcp://{}:2375", engine.address);
    engine.wait_ready(&url, &[]);
    (engine, url)
}

/// Build a recipe's image with the tool; returns its reference.
fn build_image(name: &str, extra: &[&str]) -> String {
    let mut args = vec!["images", "build", name];
    args.extend_from_slice(extra);
    let output = rehearse(&args);
    assert!(
        output.status.success(),
        "building `{name}` failed: {}",
        text(&output.stderr)
    );
    let stdout = text(&output.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no reference for `{name}` in {stdout:?}"))
        .trim()
        .to_string()
}

fn engine_image() -> String {
    build_image(
        "docker-engine",
        &[
            "--images-dir",
            root().join("tests/fixtures/images").to_str().unwrap(),
        ],
    )
}

/// `docker save IMAGE | docker -H URL load`: how an engine without a registry gets it.
fn load_into(url: &str, image: &str) {
    load_with(&["docker", "-H", url, "load"], image);
}

/// `docker save IMAGE | LOAD...`.
fn load_with(load: &[&str], image: &str) {
    let url = load.join(" ");
    let mut save = Command::new("docker")
        .args(["save", image])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let load = Command::new(load[0])
        .args(&load[1..])
        .stdin(save.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(save.wait().unwrap().success(), "docker save {image} failed");
    assert!(
        load.status.success(),
        "docker load into {url} failed: {}",
        text(&load.stderr)
    );
}

#[test]
fn a_scenario_runs_on_an_engine_reached_over_tcp_and_is_probed_through_published_ports() {
    if !docker_available() {
        return;
    }
    // Not beside the measured move (see `measuring_alone`).
    let _alone = measuring_alone();
    let site = build_image("static-site", &[]);
    let (engine, url) = plain_engine();
    load_into(&url, &site);

    let dir = tempfile::tempdir().unwrap();
    let report_dir = dir.path().join("report");
    let output = rehearse(&[
        "run",
        "tests/scenarios/remote-static-site.yaml",
        "--docker-host",
        &url,
        "--report-dir",
        report_dir.to_str().unwrap(),
    ]);
    let stderr = text(&output.stderr);
    // Shown with `--nocapture`: where the probes went.
    eprintln!("{stderr}");
    let report = report(&report_dir);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stderr}\n{}",
        text(&output.stdout)
    );
    assert_eq!(report["verdict"], "GO");
    // The package cache of this machine stays off for another machine's engine.
    assert!(
        stderr.contains(&format!(
            "notice: no package cache: the engine at `{url}` is on another machine"
        )),
        "{stderr}"
    );
    let published = format!("published at {}:", engine.address);
    assert!(
        stderr.contains(&format!(
            "probed through published ports 80 at {}:",
            engine.address
        )),
        "{stderr}"
    );
    // Each check says where it was probed: port 80 of the host, published on the engine's
    // machine; before and after the reboot.
    for step in ["baseline", "after reboot"] {
        let checks = step_checks(&report, step);
        for probe in ["homepage", "port80"] {
            let summary = checks
                .iter()
                .find(|c| c["probe"] == probe)
                .unwrap_or_else(|| panic!("no check of `{probe}` in `{step}`"))["evidence"]
                ["summary"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(
                summary.contains(&format!("(port 80 {published}")),
                "{step} {probe}: {summary}"
            );
        }
    }

    // Nothing left on either engine.
    let run_id = report["run_id"].as_str().unwrap();
    assert_eq!(leftovers(run_id), Vec::<String>::new());
    let containers = engine.docker(&url, &[], &["ps", "-aq"]);
    assert_eq!(text(&containers.stdout).trim(), "", "containers left");
    let filter = format!("label=rehearse.run={run_id}");
    for kind in ["network", "volume"] {
        let left = engine.docker(&url, &[], &[kind, "ls", "-q", "--filter", &filter]);
        assert_eq!(text(&left.stdout).trim(), "", "{kind}s left");
    }
    let images = engine.docker(&url, &[], &["images", "-q", "--filter", &filter]);
    assert_eq!(text(&images.stdout).trim(), "", "snapshots left");
}

fn step_checks<'a>(report: &'a serde_json::Value, name: &str) -> &'a Vec<serde_json::Value> {
    step(report, name)["checks"].as_array().unwrap()
}

/// `openssl` in `dir`, which must succeed.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        text(&output.stderr)
    );
}

/// A certificate authority, a server certificate naming `ip`, and a client certificate
/// (`ca.pem`, `cert.pem`, `key.pem`: a DOCKER_CERT_PATH) in `dir`.
fn certificates(dir: &std::path::Path, ip: &str) {
    let days = ["-days", "2"];
    openssl(
        dir,
        &[
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca-key.pem",
            ][..],
            &["-out", "ca.pem", "-subj", "/CN=rehearse-test-ca"],
            &days,
        ]
        .concat(),
    );
    for (who, subject, extensions) in [
        (
            "server",
            format!("/CN={ip}"),
            format!("subjectAltName=IP:{ip}\nextendedKeyUsage=serverAuth\n"),
        ),
        (
            "client",
            "/CN=rehearse-test".to_string(),
            "extendedKeyUsage=clientAuth\n".to_string(),
        ),
    ] {
        std::fs::write(dir.join(format!("{who}.ext")), extensions).unwrap();
        let key = format!("{who}-key.pem");
        let csr = format!("{who}.csr");
        let cert = format!("{who}-cert.pem");
        let ext = format!("{who}.ext");
        openssl(
            dir,
            &[
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj",
                &subject,
            ],
        );
        openssl(
            dir,
            &[
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca-key.pem",
                ][..],
                &["-CAcreateserial", "-out", &cert, "-extfile", &ext],
                &days,
            ]
            .concat(),
        );
    }
    std::fs::copy(dir.join("client-cert.pem"), dir.join("cert.pem")).unwrap();
    std::fs::copy(dir.join("client-key.pem"), dir.join("key.pem")).unwrap();
}

#[test]
fn an_engine_reached_over_tcp_with_tls_answers_with_the_right_certificates_only() {
    if !docker_available() {
        return;
    }
    // Not beside the measured move (see `measuring_alone`).
    let _alone = measuring_alone();
    // The engine's certificate must name its address, known once it runs: it starts
    // idle, gets its certificates, then runs dockerd.
    let engine = NestedEngine::start(&engine_image(), &["sleep", "infinity"]);
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path(), &engine.address);
    let copied = Command::new("docker")
        .arg("cp")
        .arg(certs.path())
        .arg(format!("{}:/certs", engine.name))
        .output()
        .unwrap();
    assert!(copied.status.success(), "{}", text(&copied.stderr));
    let started = Command::new("docker")
        .args(["exec", "-d", &engine.name])
        .args(["dockerd", "--tlsverify", "--tlscacert", "/certs/ca.pem"])
        .args([
            "--tlscert",
            "/certs/server-cert.pem",
            "--tlskey",
            "/certs/server-key.pem",
        ])
        .args([
            "-H",
            "tcp://0.0.0.0:2376",
            "-H",
            "unix:///var/run/docker.sock",
        ])
        .output()
        .unwrap();
    assert!(started.status.success(), "{}", text(&started.stderr));
    let url = format!("tcp://{}:2376", engine.address);
    let cert_path = certs.path().to_str().unwrap().to_string();
    engine.wait_ready(
        &url,
        &[
            "--tlsverify",
            "--tlscacert",
            &format!("{cert_path}/ca.pem"),
            "--tlscert",
            &format!("{cert_path}/cert.pem"),
            "--tlskey",
            &format!("{cert_path}/key.pem"),
        ],
    );

    // With the certificates (DOCKER_CERT_PATH, DOCKER_TLS_VERIFY): the engine answers.
    let listed = rehearse_with_env(
        &["images", "list", "--docker-host", &url],
        &[("DOCKER_TLS_VERIFY", "1"), ("DOCKER_CERT_PATH", &cert_path)],
    );
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed.stderr));
    // The flag does the same.
    let flagged = rehearse_with_env(
        &["gc", "--dry-run", "--docker-host", &url, "--tls-verify"],
        &[("DOCKER_CERT_PATH", &cert_path)],
    );
    assert_eq!(flagged.status.code(), Some(0), "{}", text(&flagged.stderr));

    // Plain HTTP to a TLS engine; an engine whose certificate another authority signed;
    // a client certificate the engine does not trust: refused, with the address and
    // what to check.
    let plain = rehearse(&["images", "list", "--docker-host", &url]);
    assert_eq!(plain.status.code(), Some(3));
    let stderr = text(&plain.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: cannot reach the Docker engine at `{url}` (Docker responded with status code 400: Client sent an HTTP request to an HTTPS server.); "
        )) && stderr.contains("for a TLS engine pass --tls-verify"),
        "{stderr}"
    );
    let strangers = tempfile::tempdir().unwrap();
    certificates(strangers.path(), &engine.address);
    let other_authority = rehearse_with_env(
        &["images", "list", "--docker-host", &url, "--tls-verify"],
        &[("DOCKER_CERT_PATH", strangers.path().to_str().unwrap())],
    );
    assert_eq!(other_authority.status.code(), Some(3));
    let stderr = text(&other_authority.stderr);
    assert!(
        stderr.contains(&format!("at `{url}` (invalid peer certificate"))
            && stderr.contains("its certificate must name"),
        "{stderr}"
    );
    // The engine's own authority, but a client certificate it never signed.
    std::fs::copy(certs.path().join("ca.pem"), strangers.path().join("ca.pem")).unwrap();
    let untrusted = rehearse_with_env(
        &["images", "list", "--docker-host", &url, "--tls-verify"],
        &[("DOCKER_CERT_PATH", strangers.path().to_str().unwrap())],
    );
    assert_eq!(untrusted.status.code(), Some(3));
    let stderr = text(&untrusted.stderr);
    // With TLS 1.3 the client finishes its handshake before the engine checks the
    // client's certificate: the engine's alert may arrive, or only its closing of the
    // connection (seen once in CI under load). Either way the hint names the files.
    let rejected = [
        "received fatal alert: BadCertificate",
        "connection was not ready",
    ]
    .iter()
    .any(|cause| {
        stderr.starts_with(&format!(
            "error: cannot reach the Docker engine at `{url}` ({cause}); "
        ))
    });
    assert!(
        rejected && stderr.contains("cert.pem") && stderr.contains("key.pem"),
        "{stderr}"
    );
}

#[test]
fn an_engine_address_that_does_not_answer_is_named_with_what_to_check() {
    // Port 9 (discard) of this machine: nothing listens, the connection is refused.
    let output = rehearse(&["gc", "--docker-host", "tcp://127.0.0.1:9"]);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        text(&output.stderr),
        "error: cannot reach the Docker engine at `tcp://127.0.0.1:9` (Connection refused); \
         does dockerd listen there without TLS (`dockerd -H tcp://127.0.0.1:9`; for a TLS \
         engine pass --tls-verify), and does no firewall stand between? \
         `docker -H tcp://127.0.0.1:9 info` should answer\n"
    );
    let missing = rehearse_with_env(
        &[
            "images",
            "list",
            "--docker-host",
            "tcp://127.0.0.1:9",
            "--tls-verify",
        ],
        &[("DOCKER_CERT_PATH", "/nonexistent/certs")],
    );
    assert_eq!(missing.status.code(), Some(3));
    assert!(
        text(&missing.stderr).starts_with(
            "error: cannot reach the Docker engine at `tcp://127.0.0.1:9` (no TLS file `/nonexistent/certs/ca.pem`)"
        ),
        "{}",
        text(&missing.stderr)
    );
    let invalid = rehearse(&["gc", "--docker-host", "http://engine:2375"]);
    assert_eq!(invalid.status.code(), Some(2));
    assert_eq!(
        text(&invalid.stderr),
        "error: engine address `http://engine:2375` is not supported: use `unix:///PATH`, `tcp://HOST:PORT` or `ssh://[USER@]HOST[:PORT]`\n"
    );
    let ssh = rehearse(&["gc", "--docker-host", "ssh://rehearse-test@127.0.0.1:9"]);
    assert_eq!(ssh.status.code(), Some(3));
    let stderr = text(&ssh.stderr);
    assert!(
        stderr.starts_with(
            "error: cannot reach the Docker engine at `ssh://rehearse-test@127.0.0.1:9` ("
        ) && stderr.contains("can `ssh rehearse-test@127.0.0.1` log in without a prompt"),
        "{stderr}"
    );
}

#[test]
fn publish_ports_probes_a_local_engine_s_hosts_through_published_ports() {
    if !docker_available() {
        return;
    }
    // Not beside the measured move (see `measuring_alone`).
    let _alone = measuring_alone();
    build_image("static-site", &[]);
    let dir = tempfile::tempdir().unwrap();
    let report_dir = dir.path().join("report");
    let output = rehearse(&[
        "run",
        "tests/scenarios/remote-static-site.yaml",
        "--publish-ports",
        "--report-dir",
        report_dir.to_str().unwrap(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report = report(&report_dir);
    for step in ["baseline", "after reboot"] {
        let homepage = step_checks(&report, step)
            .iter()
            .find(|c| c["probe"] == "homepage")
            .unwrap()["evidence"]["summary"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            homepage.starts_with(
                "http://www.example.test:80/ answered 200 (port 80 published at 127.0.0.1:"
            ),
            "{step}: {homepage}"
        );
    }
    // A local engine keeps the package cache.
    assert!(!stderr.contains("no package cache"), "{stderr}");
    assert_eq!(
        leftovers(report["run_id"].as_str().unwrap()),
        Vec::<String>::new()
    );
}

/// Write `text` to `path` in the engine's container (as root, mode 600).
fn write_inside(engine: &NestedEngine, path: &str, text: &str) {
    use std::io::Write;
    let mut child = Command::new("docker")
        .args(["exec", "-i", &engine.name, "sh", "-c"])
        .arg(format!(
            "mkdir -p -m 700 \"$(dirname {path})\" && cat > {path} && chmod 600 {path}"
        ))
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "cannot write {path}");
}

#[test]
fn a_scenario_runs_on_an_engine_reached_over_ssh() {
    if !docker_available() {
        return;
    }
    // Not beside the measured move (see `measuring_alone`).
    let _alone = measuring_alone();
    let site = build_image("static-site", &[]);
    // sshd, then the engine on its socket only: ssh is the one way in.
    let engine = NestedEngine::start(
        &engine_image(),
        &[
            "sh",
            "-c",
            "mkdir -p /run/sshd && ssh-keygen -A && /usr/sbin/sshd && exec dockerd -H unix:///var/run/docker.sock --mtu 1400",
        ],
    );
    engine.wait_until("its socket", || {
        engine.docker_inside(&["info", "--format", "{{.ServerVersion}}"])
    });
    load_with(
        &["docker", "exec", "-i", &engine.name, "docker", "load"],
        &site,
    );

    // This test's own key and the engine's host key: nothing of this machine's ssh
    // configuration is used or changed.
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("id");
    let generated = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(generated.status.success(), "{}", text(&generated.stderr));
    let public = std::fs::read_to_string(keys.path().join("id.pub")).unwrap();
    write_inside(&engine, "/root/.ssh/authorized_keys", &public);
    let host_key = Command::new("docker")
        .args([
            "exec",
            &engine.name,
            "cat",
            "/etc/ssh/ssh_host_ed25519_key.pub",
        ])
        .output()
        .unwrap();
    let known_hosts = keys.path().join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!("{} {}", engine.address, text(&host_key.stdout)),
    )
    .unwrap();
    let ssh_command = format!(
        "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={}",
        key.display(),
        known_hosts.display()
    );

    let url = format!("ssh://root@{}", engine.address);
    let dir = tempfile::tempdir().unwrap();
    let report_dir = dir.path().join("report");
    let output = rehearse_with_env(
        &[
            "run",
            "tests/scenarios/remote-static-site.yaml",
            "--docker-host",
            &url,
            "--report-dir",
            report_dir.to_str().unwrap(),
        ],
        &[("REHEARSE_SSH_COMMAND", &ssh_command)],
    );
    let stderr = text(&output.stderr);
    // Shown with `--nocapture`: where the probes went.
    eprintln!("{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report = report(&report_dir);
    assert_eq!(report["verdict"], "GO");
    let homepage = step_checks(&report, "after reboot")
        .iter()
        .find(|c| c["probe"] == "homepage")
        .unwrap()["evidence"]["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        homepage.contains(&format!("(port 80 published at {}:", engine.address)),
        "{homepage}"
    );
    // The exec probe went through ssh too.
    let apache = step_checks(&report, "baseline")
        .iter()
        .find(|c| c["probe"] == "apache-active")
        .unwrap();
    assert_eq!(apache["passed"], true, "{apache}");
    let containers = engine.docker_inside(&["ps", "-aq"]);
    assert_eq!(text(&containers.stdout).trim(), "", "containers left");

    // A key the engine's machine does not accept: ssh's own words.
    let other = tempfile::tempdir().unwrap();
    let other_key = other.path().join("id");
    Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other_key)
        .output()
        .unwrap();
    let refused = rehearse_with_env(
        &["gc", "--dry-run", "--docker-host", &url],
        &[(
            "REHEARSE_SSH_COMMAND",
            &format!(
                "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={}",
                other_key.display(),
                known_hosts.display()
            ),
        )],
    );
    assert_eq!(refused.status.code(), Some(3));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.starts_with(&format!("error: cannot reach the Docker engine at `{url}` (`ssh … docker version` exited with 255: ")) && stderr.contains("Permission denied"),
        "{stderr}"
    );
}

#[test]
fn a_move_measured_by_monitors_runs_on_an_engine_reached_over_tcp() {
    if !docker_available() {
        return;
    }
    let _alone = measuring_alone();
    // The shipped move: monitors at 200 and 20 requests/s, a cutover, a DNS switch that
    // moves the monitors' clients to the new host, a drain check; every request goes
    // through a port published on the other engine's address.
    let lamp = build_image("lamp-bookworm", &[]);
    let (engine, url) = plain_engine();
    load_into(&url, &lamp);
    let dir = tempfile::tempdir().unwrap();
    let report_dir = dir.path().join("report");
    let output = rehearse(&[
        "run",
        "scenarios/migrate-cutover-apache.yaml",
        "--docker-host",
        &url,
        "--report-dir",
        report_dir.to_str().unwrap(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report = report(&report_dir);
    assert_eq!(report["verdict"], "GO");
    for host in ["old", "new"] {
        assert!(
            stderr.contains(&format!("host `{host}` up at 172."))
                && stderr.contains(&format!(
                    "probed through published ports 80 at {}:",
                    engine.address
                )),
            "{stderr}"
        );
    }
    let visitors = report["monitors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "visitors")
        .unwrap();
    assert_eq!(visitors["failed"], 0, "{visitors}");
    // After the switch the new host, reached at its own published port, served.
    assert!(
        visitors["served_by"]["new"].as_u64().unwrap() > 0,
        "{}",
        visitors["served_by"]
    );
    let run_id = report["run_id"].as_str().unwrap();
    assert_eq!(leftovers(run_id), Vec::<String>::new());
    let containers = engine.docker(&url, &[], &["ps", "-aq"]);
    assert_eq!(text(&containers.stdout).trim(), "", "containers left");
}
