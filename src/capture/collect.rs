//! One capture, from reading the host to the renamed bundle.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::archive::BundleWriter;
use super::bundle::{
    AptSourceFile, BUNDLE_FORMAT, Bundle, DatabaseDump, HostFacts, Units, WebServer, WebServers,
};
use super::database::{self, DumpMode};
use super::etc_tree::{DEFAULT_TREES, TreeCapture, TreeRules};
use super::{
    CaptureError, CaptureOptions, apache, dpkg, host_facts, listening, nginx, systemd_units,
};

/// What a capture wrote, for the closing summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSummary {
    pub path: PathBuf,
    pub packages: usize,
    pub manual_packages: usize,
    pub enabled_units: usize,
    pub running_services: usize,
    pub ports: usize,
    pub files: usize,
    pub skipped: usize,
    pub redactions: usize,
    pub dumps: usize,
    pub notes: Vec<String>,
    pub bytes: u64,
}

/// A host path inside `root`: `/etc/x` under `/mnt/host` is `/mnt/host/etc/x`.
fn local(root: &Path, host_path: &str) -> PathBuf {
    root.join(host_path.trim_start_matches('/'))
}

/// Read a host file as text, following a link the way the host would (an absolute
/// target stays inside `root`).
fn read_text(root: &Path, host_path: &str) -> Option<String> {
    let mut path = local(root, host_path);
    for _ in 0..8 {
        match std::fs::read_link(&path) {
            Ok(target) if target.is_absolute() => {
                path = local(root, &target.to_string_lossy());
            }
            Ok(target) => {
                path = path.parent()?.join(target);
            }
            Err(_) => break,
        }
    }
    std::fs::read_to_string(path).ok()
}

/// Names in a host folder, sorted (empty when it does not exist).
/// Debian's nginx packages (any of them means nginx is installed).
const NGINX_PACKAGES: &[&str] = &[
    "nginx",
    "nginx-core",
    "nginx-full",
    "nginx-light",
    "nginx-extras",
];

/// The sites of a `sites-enabled` folder, each file read and parsed by `parse`.
fn sites<T>(root: &Path, host_dir: &str, parse: fn(&str, &str) -> Vec<T>) -> Vec<T> {
    names_in(root, host_dir)
        .iter()
        .flat_map(|name| {
            let path = format!("{host_dir}/{name}");
            parse(&path, &read_text(root, &path).unwrap_or_default())
        })
        .collect()
}

fn names_in(root: &Path, host_dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(local(root, host_dir))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn progress_line(progress: &mut dyn Write, line: &str) {
    // Progress is best effort: a closed stderr must not stop the capture.
    let _ = writeln!(progress, "capture: {line}");
}

/// The files a capture is writing (the partial bundle, the dumps), removed when it is
/// interrupted ([`remove_partial_files`]).
static PARTIAL_FILES: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn writing(path: &Path) {
    let mut files = PARTIAL_FILES.lock().unwrap_or_else(|e| e.into_inner());
    files.push(path.to_path_buf());
}

fn written(path: &Path) {
    let mut files = PARTIAL_FILES.lock().unwrap_or_else(|e| e.into_inner());
    files.retain(|p| p != path);
}

/// Remove what an interrupted capture was writing: no `.partial` file is left behind.
pub fn remove_partial_files() {
    let mut files = PARTIAL_FILES.lock().unwrap_or_else(|e| e.into_inner());
    for path in files.drain(..) {
        let _ = std::fs::remove_file(path);
    }
}

/// Capture the host under `options.root` into the bundle `options.output`.
pub fn capture(
    options: &CaptureOptions,
    progress: &mut dyn Write,
) -> Result<CaptureSummary, CaptureError> {
    let output = &options.output;
    if output.exists() && !options.force {
        return Err(CaptureError::Exists {
            path: output.clone(),
        });
    }
    let partial = partial_path(output);
    if partial.exists() {
        return Err(CaptureError::PartialExists { path: partial });
    }
    let root = options.root.as_path();
    let mut notes = Vec::new();

    progress_line(progress, "reading the release and the packages");
    let os_text = read_text(root, "/etc/os-release")
        .or_else(|| read_text(root, "/usr/lib/os-release"))
        .ok_or_else(|| CaptureError::Read {
            path: local(root, "/etc/os-release"),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        })?;
    let status_path = local(root, "/var/lib/dpkg/status");
    let status = std::fs::read_to_string(&status_path).map_err(|source| CaptureError::Read {
        path: status_path,
        source,
    })?;
    let extended = read_text(root, "/var/lib/apt/extended_states").unwrap_or_default();
    let packages = dpkg::installed_packages(&status, &extended);
    let host = HostFacts {
        hostname: host_facts::hostname(root),
        architecture: host_facts::architecture(&packages),
        usr_merged: host_facts::usr_merged(root),
        os: host_facts::parse_os_release(&os_text),
    };

    let mut apt_sources = Vec::new();
    let mut source_paths = vec!["/etc/apt/sources.list".to_string()];
    source_paths.extend(
        names_in(root, "/etc/apt/sources.list.d")
            .into_iter()
            .filter(|n| n.ends_with(".list") || n.ends_with(".sources"))
            .map(|n| format!("/etc/apt/sources.list.d/{n}")),
    );
    for path in source_paths {
        if let Some(content) = read_text(root, &path) {
            apt_sources.push(AptSourceFile { path, content });
        }
    }

    progress_line(progress, "reading systemd units and listening ports");
    let enabled = systemd_units::enabled_units(root);
    let running = if options.live() {
        systemd_units::running_services().unwrap_or_else(|e| {
            notes.push(format!("running services not listed: {e}"));
            Vec::new()
        })
    } else {
        notes.push("running services not listed: not capturing the running system".into());
        Vec::new()
    };
    let ports = listening::listening_ports(&local(root, "/proc"));

    progress_line(progress, "reading web servers, PHP and databases");
    let installed = |name: &str| packages.iter().find(|p| p.name == name);
    let nginx_package = NGINX_PACKAGES.iter().find_map(|n| installed(n));
    let web = WebServers {
        apache: (installed("apache2").is_some() || local(root, "/etc/apache2").is_dir()).then(
            || WebServer {
                version: installed("apache2").map(|p| p.version.clone()),
                modules: apache::enabled_modules(
                    names_in(root, "/etc/apache2/mods-enabled")
                        .iter()
                        .map(String::as_str),
                ),
                vhosts: sites(root, "/etc/apache2/sites-enabled", apache::parse_vhosts),
            },
        ),
        nginx: (nginx_package.is_some() || local(root, "/etc/nginx").is_dir()).then(|| WebServer {
            version: nginx_package.map(|p| p.version.clone()),
            modules: Vec::new(),
            vhosts: sites(root, "/etc/nginx/sites-enabled", nginx::parse_servers),
        }),
    };
    let php = database::php_versions(&packages);
    let databases = database::database_servers(&packages, root);

    let trees: Vec<String> = if options.trees.is_empty() {
        DEFAULT_TREES
            .iter()
            .filter(|t| local(root, t).exists())
            .map(|t| t.to_string())
            .collect()
    } else {
        options.trees.clone()
    };
    progress_line(progress, &format!("copying {}", trees.join(" ")));
    let rules = TreeRules {
        redact: options.redact,
        max_file_size: options.max_file_size,
        users: host_facts::id_names(&read_text(root, "/etc/passwd").unwrap_or_default()),
        groups: host_facts::id_names(&read_text(root, "/etc/group").unwrap_or_default()),
    };
    let mut tree = TreeCapture::default();
    for path in &trees {
        tree.add_tree(root, path, &rules);
    }

    // Dumps go to files beside the bundle (never elsewhere), added, then removed.
    let mut dumps = Vec::new();
    let mut dump_files = Vec::new();
    if !options.dumps.is_empty() && databases.is_empty() {
        notes.push("no database server installed: nothing dumped".into());
    }
    for mode in &options.dumps {
        for server in &databases {
            if !options.live() {
                notes.push(format!(
                    "{} {} dump not taken: not capturing the running system",
                    server.kind,
                    mode.name()
                ));
                continue;
            }
            progress_line(
                progress,
                &format!("dumping {} ({})", server.kind, mode.name()),
            );
            let name = format!("db/{}-{}.sql", server.kind, mode.name());
            let temp = sibling(output, &format!(".{}.partial", name.replace('/', "-")));
            writing(&temp);
            match database::run_dump(&database::dump_command(&server.kind, *mode), &temp) {
                Ok(()) => {
                    let size = std::fs::metadata(&temp).map(|m| m.len()).unwrap_or(0);
                    dumps.push(DatabaseDump {
                        kind: server.kind.clone(),
                        mode: mode.name().to_string(),
                        rows: match mode {
                            DumpMode::Sample(rows) => Some(*rows),
                            _ => None,
                        },
                        path: name.clone(),
                        size,
                    });
                    dump_files.push((name, temp));
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&temp);
                    written(&temp);
                    notes.push(format!("{} {} dump failed: {e}", server.kind, mode.name()));
                }
            }
        }
    }

    let bundle = Bundle {
        format: BUNDLE_FORMAT,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        captured_at: jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or_else(|_| jiff::Timestamp::now())
            .to_string(),
        host,
        apt_sources,
        units: Units {
            owners: systemd_units::unit_owners(root, &enabled),
            enabled,
            running,
        },
        ports,
        web,
        php,
        databases,
        files: tree.files,
        skipped: tree.skipped,
        redactions: tree.redactions,
        redacted: options.redact,
        dumps,
        notes: notes.clone(),
        packages,
    };
    progress_line(progress, &format!("writing {}", output.display()));
    writing(&partial);
    let result = write_bundle(&partial, &bundle, &tree.contents, &dump_files);
    for (_, temp) in &dump_files {
        let _ = std::fs::remove_file(temp);
        written(temp);
    }
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        written(&partial);
        return Err(e);
    }
    let renamed = std::fs::rename(&partial, output);
    if renamed.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written(&partial);
    renamed.map_err(|source| CaptureError::Rename {
        from: partial.clone(),
        to: output.clone(),
        source,
    })?;
    Ok(CaptureSummary {
        path: output.clone(),
        packages: bundle.packages.len(),
        manual_packages: bundle.manual_packages().count(),
        enabled_units: bundle.units.enabled.len(),
        running_services: bundle.units.running.len(),
        ports: bundle.ports.len(),
        files: bundle.files.len(),
        skipped: bundle.skipped.len(),
        redactions: bundle.redactions.len(),
        dumps: bundle.dumps.len(),
        notes,
        bytes: std::fs::metadata(output).map(|m| m.len()).unwrap_or(0),
    })
}

fn write_bundle(
    partial: &Path,
    bundle: &Bundle,
    contents: &[(String, Vec<u8>)],
    dumps: &[(String, PathBuf)],
) -> Result<(), CaptureError> {
    let mut writer = BundleWriter::create(partial, bundle)?;
    for (path, data) in contents {
        let mode = bundle
            .files
            .iter()
            .find(|f| &f.path == path)
            .map(|f| f.mode)
            .unwrap_or(0o644);
        writer.add(
            &format!("files/{}", path.trim_start_matches('/')),
            data,
            mode,
        )?;
    }
    for (name, temp) in dumps {
        writer.add_file(name, temp)?;
    }
    Ok(writer.finish()?)
}

/// `FILE.partial`, beside `FILE`.
pub fn partial_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    output.with_file_name(name)
}

/// A file named `<FILE><suffix>` beside `FILE`.
fn sibling(output: &Path, suffix: &str) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    output.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_beside_the_output() {
        assert_eq!(
            partial_path(Path::new("/srv/out/web.rehearse-bundle.tar.gz")),
            Path::new("/srv/out/web.rehearse-bundle.tar.gz.partial")
        );
    }

    /// A synthetic host root: capture reads only files there, writes only the bundle.
    #[test]
    fn captures_a_host_root_into_a_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "etc/os-release",
            "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        );
        write("etc/hostname", "web1\n");
        write(
            "var/lib/dpkg/status",
            "Package: dpkg\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.21.22\n\n\
             Package: apache2\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.4.62-1~deb12u2\n",
        );
        write(
            "etc/apt/sources.list",
            "deb http://deb.debian.org/debian bookworm main\n",
        );
        write(
            "etc/apache2/sites-available/shop.conf",
            "<VirtualHost *:80>\nServerName shop.example.test\n</VirtualHost>\n",
        );
        std::fs::create_dir_all(root.join("etc/apache2/sites-enabled")).unwrap();
        std::os::unix::fs::symlink(
            "/etc/apache2/sites-available/shop.conf",
            root.join("etc/apache2/sites-enabled/shop.conf"),
        )
        .unwrap();
        write("etc/apache2/mods-enabled/rewrite.load", "LoadModule x");
        write("etc/apache2/envvars", "export DB_PASSWORD=hunter2\n");
        let output = dir.path().join("web1.rehearse-bundle.tar.gz");
        let options = CaptureOptions {
            output: output.clone(),
            force: false,
            root: root.clone(),
            trees: Vec::new(),
            redact: true,
            max_file_size: super::super::DEFAULT_MAX_FILE_SIZE,
            dumps: vec![DumpMode::Schema],
        };
        let mut progress = Vec::new();
        let summary = capture(&options, &mut progress).unwrap();
        assert_eq!(summary.packages, 2);
        assert_eq!(summary.redactions, 1);
        // Only the bundle was written beside it.
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["root", "web1.rehearse-bundle.tar.gz"]);

        let read = crate::capture::read_bundle(&output).unwrap();
        let bundle = &read.bundle;
        assert_eq!(bundle.host.os.version_codename, "bookworm");
        assert_eq!(bundle.host.hostname, "web1");
        assert!(!bundle.host.usr_merged);
        let apache = bundle.web.apache.as_ref().unwrap();
        assert_eq!(apache.modules, ["rewrite"]);
        assert_eq!(
            apache.vhosts[0].server_name.as_deref(),
            Some("shop.example.test")
        );
        assert_eq!(
            read.file("/etc/apache2/envvars"),
            Some(b"export DB_PASSWORD=<redacted>\n".as_slice())
        );
        assert_eq!(bundle.apt_sources.len(), 1);

        // No overwrite without --force.
        let again = capture(&options, &mut Vec::new()).unwrap_err();
        assert_eq!(
            again.to_string(),
            format!(
                "`{}` already exists; pass --force to replace it, or choose another name with -o",
                output.display()
            )
        );
    }
}
