//! `fault` and `revert` steps, for training drills: break one thing on one host on
//! purpose, keeping what it takes to undo it, and undo it later.
//!
//! What undoes a fault is data ([`Undo`]) kept in the run's state ([`FaultLedger`]), not
//! a closure: the original bytes of an edited file, the unit to start again, the
//! aliases to reconnect with. A `revert` step reads it back, newest fault first.

use std::time::Duration;

use base64::Engine as _;

use super::upgrade::sources::{READ_SCRIPT, decode_file_bytes};
use super::{StepContext, StepResult};
use crate::debian::sources::{MirrorOverride, rewrite_deb822_first, rewrite_list_first};
use crate::engine::{Engine, ExecOutput};
use crate::probe::{Evidence, excerpt};
use serde_json::{Value, json};
use serde_saphyr::Spanned;

use super::RunStep;
use crate::scenario::{
    Refs, StepInput, StepSpec, check_absolute_path, check_hostname, check_package_name,
    check_release, check_unit_name, reject_key, shorten,
};
use crate::yaml::{Decoder, Mark, Node};

/// Break one thing on one host on purpose (a training drill), in a way the tool can
/// undo: what it takes to undo the fault is saved when it is applied, and a later
/// `revert` step puts it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultStep {
    pub host: String,
    pub fault: Fault,
}

/// The faults a `fault` step can apply, each with its undo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// `systemctl stop UNIT`. Undone by starting it.
    Stop(String),
    /// `systemctl mask --now UNIT`: stopped, and it cannot be started. Undone by
    /// unmasking and starting it.
    Mask(String),
    /// `systemctl disable UNIT`: still running, but it does not come back after a
    /// reboot (the enabled state is lost). Undone by enabling it.
    Disable(String),
    /// A known-bad edit of a configuration file, without reloading anything: the break
    /// shows at the next restart, reload or config test. Undone by writing the original
    /// content back, byte for byte.
    BreakConfig { file: String, edit: ConfigEdit },
    /// `DIR/.rehearse-fill` of `size` bytes, or of the free space of that filesystem if
    /// smaller, so the filesystem can really become full. Undone by removing the file.
    FillDisk { path: String, size: u64 },
    /// The host drops off the run's network. Undone by connecting it again under its
    /// name and aliases.
    Disconnect,
    /// `name` resolves to `address` on the host (a line in `/etc/hosts`). Undone by
    /// writing the original `/etc/hosts` back.
    WrongDns {
        name: String,
        address: std::net::IpAddr,
    },
    /// `apt-mark hold PACKAGE`. Undone by `apt-mark unhold`.
    Hold(String),
    /// APT sources left half-rewritten to release `to`, as after an interrupted upgrade:
    /// the first half (rounded up) of Debian's entries moved, the others not. Undone by
    /// writing every source file's original content back.
    HalfSources { to: String },
    /// `write` (a shell line) started in the background, and the service killed
    /// (`SIGKILL`) once it has run for a second: the database dies mid-write. Undone by
    /// starting the service; what was lost stays lost.
    KillMidWrite { service: String, write: String },
}

impl Fault {
    /// The fault's key in scenario files.
    pub fn label(&self) -> &'static str {
        match self {
            Fault::Stop(_) => "stop",
            Fault::Mask(_) => "mask",
            Fault::Disable(_) => "disable",
            Fault::BreakConfig { .. } => "break-config",
            Fault::FillDisk { .. } => "fill-disk",
            Fault::Disconnect => "disconnect",
            Fault::WrongDns { .. } => "wrong-dns",
            Fault::Hold(_) => "hold",
            Fault::HalfSources { .. } => "half-sources",
            Fault::KillMidWrite { .. } => "kill-mid-write",
        }
    }
}

/// How `break-config` breaks its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigEdit {
    /// A line appended at the end.
    Add(String),
    /// Every occurrence of `text` replaced by `with`; the text must be in the file.
    Replace { text: String, with: String },
}

impl StepSpec for FaultStep {
    const KIND: &'static str = "fault";
    const KEYS: &'static [&'static str] = &[
        "host",
        "stop",
        "mask",
        "disable",
        "break-config",
        "fill-disk",
        "disconnect",
        "wrong-dns",
        "hold",
        "half-sources",
        "kill-mid-write",
    ];

    fn default_timeout(&self) -> Duration {
        Duration::from_secs(120)
    }

    fn derived_name(&self) -> String {
        format!(
            "fault {}: {}",
            self.host,
            shorten(&fault_words(&self.fault))
        )
    }

    fn decode(input: &StepInput<'_>, body: &Spanned<Node>) -> Option<Self> {
        decode_fault_step(input.d, body, input.what, input.refs)
    }

    fn schema() -> Value {
        json!({"$ref": "#/$defs/faultStep"})
    }

    fn schema_defs() -> Vec<(&'static str, Value)> {
        vec![("faultStep", fault_step())]
    }
}

impl RunStep for FaultStep {
    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        apply(self, cx).await
    }
}

fn decode_fault_step(
    d: &Decoder,
    node: &Spanned<Node>,
    step: &str,
    refs: &Refs,
) -> Option<FaultStep> {
    let what = format!("`fault` of {step}");
    let m = d.map(node, &what, FaultStep::KEYS)?;
    let host = m.required("host").and_then(|node| refs.host(d, node, step));
    let (kind, body) = m.kind(FAULT_KINDS, "fault")?;
    let label = format!("`{kind}`");
    let fault = match kind {
        "stop" => d.str_where(body, &label, check_unit_name).map(Fault::Stop),
        "mask" => d.str_where(body, &label, check_unit_name).map(Fault::Mask),
        "disable" => d
            .str_where(body, &label, check_unit_name)
            .map(Fault::Disable),
        "break-config" => decode_break_config(d, body, &what),
        "fill-disk" => decode_fill_disk(d, body, &what),
        "disconnect" => match body.value {
            Node::Bool(true) => Some(Fault::Disconnect),
            Node::Bool(false) => {
                d.error_with_help(
                    Mark::of(body),
                    format!("`disconnect: false` in {what} breaks nothing"),
                    "write `disconnect: true`, or leave the step out",
                );
                None
            }
            _ => {
                d.wrong_type(body, "`true`", &label);
                None
            }
        },
        "wrong-dns" => {
            let dns = d.map(body, &format!("`wrong-dns` of {step}"), WRONG_DNS_KEYS)?;
            let name = dns.required_str_where("name", check_hostname);
            let address = dns.required("address").and_then(|node| {
                let text = d.scalar_text(node, "`address`")?;
                match text.parse::<std::net::IpAddr>() {
                    Ok(address) => Some(address),
                    Err(_) => {
                        d.error(
                            Mark::of(node),
                            format!("invalid IP address `{text}` for `address`"),
                        );
                        None
                    }
                }
            });
            Some(Fault::WrongDns {
                name: name?,
                address: address?,
            })
        }
        "hold" => d
            .str_where(body, &label, check_package_name)
            .map(Fault::Hold),
        "half-sources" => {
            let sources = d.map(
                body,
                &format!("`half-sources` of {step}"),
                HALF_SOURCES_KEYS,
            )?;
            let to = sources.required_str_where("to", check_release)?;
            Some(Fault::HalfSources { to })
        }
        _ => {
            let kill = d.map(
                body,
                &format!("`kill-mid-write` of {step}"),
                KILL_MID_WRITE_KEYS,
            )?;
            let service = kill.required_str_where("service", check_unit_name);
            let write = kill.required_str_where("write", |line| {
                (!line.trim().is_empty())
                    .then_some(())
                    .ok_or_else(|| "`write` must not be empty".to_string())
            });
            Some(Fault::KillMidWrite {
                service: service?,
                write: write?,
            })
        }
    };
    Some(FaultStep {
        host: host?,
        fault: fault?,
    })
}

/// `fault`: one thing broken on one host, exactly one fault key besides `host`.
fn fault_step() -> Value {
    let one_of: Vec<Value> = FAULT_KINDS
        .iter()
        .map(|kind| json!({"required": [kind]}))
        .collect();
    json!({
        "description": "Break one thing on one host on purpose (a training drill), in a way the tool can undo with a later `revert` step. Exactly one fault key besides `host`.",
        "type": "object",
        "required": ["host"],
        "additionalProperties": false,
        "oneOf": one_of,
        "properties": {
            "host": {"$ref": "#/$defs/hostRef"},
            "stop": {"$ref": "#/$defs/unit", "description": "`systemctl stop UNIT`. Undone by starting it."},
            "mask": {"$ref": "#/$defs/unit", "description": "`systemctl mask --now UNIT`: stopped and cannot be started. Undone by unmasking and starting it."},
            "disable": {"$ref": "#/$defs/unit", "description": "`systemctl disable UNIT`: still running, but it does not come back after a reboot. Undone by enabling it."},
            "break-config": {
                "description": "A known-bad edit of a file: a line appended (`add`) or a text replaced (`replace` with `with`; the text must be in the file). Nothing is reloaded: the break shows at the next restart, reload or config test. Undone by writing the original content back byte for byte (files up to 1 MiB).",
                "type": "object",
                "required": ["file"],
                "additionalProperties": false,
                "oneOf": [{"required": ["add"]}, {"required": ["replace", "with"]}],
                "properties": {
                    "file": {"description": "Absolute path of the file on the host.", "type": "string", "pattern": "^/"},
                    "add": {"description": "A line appended to the file.", "type": "string", "minLength": 1},
                    "replace": {"description": "Text replaced wherever it occurs.", "type": "string", "minLength": 1},
                    "with": {"description": "What replaces it.", "type": "string"}
                }
            },
            "fill-disk": {
                "description": "Write `PATH/.rehearse-fill` of `size` bytes, or the free space of that filesystem if smaller, so it can really become full. Undone by removing the file.",
                "type": "object",
                "required": ["path", "size"],
                "additionalProperties": false,
                "properties": {
                    "path": {"description": "A directory on the filesystem to fill.", "type": "string", "pattern": "^/"},
                    "size": {"description": "Bytes, or a size with a K, M or G suffix (binary); at most 8G.", "type": ["integer", "string"]}
                }
            },
            "disconnect": {"description": "The host drops off the run's network. Undone by connecting it again under its name and aliases.", "const": true},
            "wrong-dns": {
                "description": "`name` resolves to `address` on the host (a line appended to `/etc/hosts`). Undone by writing the original `/etc/hosts` back.",
                "type": "object",
                "required": ["name", "address"],
                "additionalProperties": false,
                "properties": {
                    "name": {"description": "A DNS name.", "type": "string"},
                    "address": {"description": "An IPv4 or IPv6 address.", "type": "string"}
                }
            },
            "hold": {"description": "`apt-mark hold PACKAGE`. Undone by `apt-mark unhold`.", "type": "string"},
            "half-sources": {
                "description": "APT sources left half-rewritten, as after an interrupted upgrade: the first half (rounded up) of Debian's entries moved to release `to`, the others left. Undone by writing every source file back.",
                "type": "object",
                "required": ["to"],
                "additionalProperties": false,
                "properties": {
                    "to": {"description": "A Debian release codename.", "type": "string"}
                }
            },
            "kill-mid-write": {
                "description": "Start `write` (a shell line) in the background, and once it has run for 1 s (or ended) kill the service with SIGKILL: the database dies mid-write. Undone by starting the service; what was lost stays lost.",
                "type": "object",
                "required": ["service", "write"],
                "additionalProperties": false,
                "properties": {
                    "service": {"$ref": "#/$defs/unit"},
                    "write": {"description": "A shell line that writes, e.g. a long INSERT loop.", "type": "string", "minLength": 1}
                }
            }
        }
    })
}

/// Largest file a fault edits: its original is kept in the run's memory to be put back.
pub(crate) const MAX_SAVED_FILE: u64 = 1 << 20;
/// How long the write of `kill-mid-write` runs before the service is killed.
const WRITE_HEAD_START: &str = "1";
/// The file `fill-disk` writes in its directory.
const FILL_FILE: &str = ".rehearse-fill";
/// Characters of command output kept as evidence.
const EVIDENCE_CHARS: usize = 2000;

/// The faults of a run: those applied and not yet reverted, oldest first, and the
/// names of the steps whose fault was reverted.
#[derive(Debug, Default)]
pub(crate) struct FaultLedger {
    pub(super) applied: Vec<AppliedFault>,
    pub(super) reverted: Vec<String>,
}

/// A fault in place, and how to undo it.
#[derive(Debug, Clone)]
pub(super) struct AppliedFault {
    /// The `fault` step that applied it.
    pub(super) step: String,
    pub(super) host: String,
    pub(super) undo: Undo,
}

/// What puts a host back as it was before a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Undo {
    /// `systemctl start UNIT` (after `stop`, and after `kill-mid-write`).
    Start(String),
    /// `systemctl unmask UNIT`, then start it.
    UnmaskAndStart(String),
    /// `systemctl enable UNIT`.
    Enable(String),
    /// `apt-mark unhold PACKAGE`.
    Unhold(String),
    /// Remove a file the fault wrote.
    RemoveFile(String),
    /// Files written back with their original content (path, bytes).
    RestoreFiles(Vec<(String, Vec<u8>)>),
    /// Connect the host to the run's network again under these names.
    Reconnect { aliases: Vec<String> },
}

/// A fault that could not be applied (or undone): what went wrong, and the output of
/// the command that said so.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) summary: String,
    pub(super) output: Option<ExecOutput>,
}

impl Failure {
    pub(super) fn new(summary: String) -> Self {
        Failure {
            summary,
            output: None,
        }
    }

    fn evidence(&self) -> Evidence {
        Evidence {
            summary: self.summary.clone(),
            exit_code: self.output.as_ref().map(|o| o.exit_code),
            output: self.output.as_ref().map(output_excerpt),
            ..Evidence::default()
        }
    }
}

pub(super) fn output_excerpt(output: &ExecOutput) -> String {
    let both = format!("{}\n{}", output.stdout.trim(), output.stderr.trim());
    excerpt(both.trim(), EVIDENCE_CHARS)
}

/// A fault in place: what it broke in an admin's words, and how to undo it.
struct Broken {
    what: String,
    undo: Undo,
    /// Command output worth keeping (e.g. the sources rewritten).
    output: Option<String>,
}

impl Broken {
    pub(super) fn new(what: String, undo: Undo) -> Self {
        Broken {
            what,
            undo,
            output: None,
        }
    }
}

pub(super) async fn apply<E: Engine>(step: &FaultStep, cx: &mut StepContext<'_, E>) -> StepResult {
    let Some(container) = cx.container(&step.host) else {
        return StepResult::failed(format!("host `{}` is not running", step.host));
    };
    let name = cx.scenario.steps[cx.index - 1].name.clone();
    cx.progress(format!("{} on `{}`", step.fault.label(), step.host));
    match break_host(step, &container, cx).await {
        Ok(broken) => {
            cx.state.faults.applied.push(AppliedFault {
                step: name,
                host: step.host.clone(),
                undo: broken.undo,
            });
            StepResult {
                passed: true,
                detail: Some(broken.what.clone()),
                evidence: Some(Evidence {
                    summary: broken.what,
                    output: broken.output,
                    ..Evidence::default()
                }),
                ..StepResult::default()
            }
        }
        Err(failure) => StepResult {
            passed: false,
            detail: Some(failure.summary.clone()),
            evidence: Some(failure.evidence()),
            ..StepResult::default()
        },
    }
}

async fn break_host<E: Engine>(
    step: &FaultStep,
    container: &str,
    cx: &mut StepContext<'_, E>,
) -> Result<Broken, Failure> {
    let host = step.host.as_str();
    let on = Target {
        cx: &*cx,
        container,
        host,
    };
    match &step.fault {
        Fault::Stop(unit) => {
            on.run(&["systemctl", "stop", unit], &format!("stop {unit}"))
                .await?;
            Ok(Broken::new(
                format!("{unit} stopped on {host}"),
                Undo::Start(unit.clone()),
            ))
        }
        Fault::Mask(unit) => {
            on.run(
                &["systemctl", "mask", "--now", unit],
                &format!("mask {unit}"),
            )
            .await?;
            Ok(Broken::new(
                format!("{unit} masked and stopped on {host}: it cannot be started until unmasked"),
                Undo::UnmaskAndStart(unit.clone()),
            ))
        }
        Fault::Disable(unit) => {
            on.run(&["systemctl", "disable", unit], &format!("disable {unit}"))
                .await?;
            Ok(Broken::new(
                format!(
                    "{unit} disabled on {host}: still running, but it will not start at the next boot"
                ),
                Undo::Enable(unit.clone()),
            ))
        }
        Fault::Hold(package) => {
            on.run(&["apt-mark", "hold", package], &format!("hold {package}"))
                .await?;
            Ok(Broken::new(
                format!("{package} held on {host}: upgrades leave it at its installed version"),
                Undo::Unhold(package.clone()),
            ))
        }
        Fault::BreakConfig { file, edit } => {
            let original = on.read(file).await?;
            let (broken, what) = match edit {
                ConfigEdit::Add(line) => (
                    appended(&original, line),
                    format!("{file} on {host}: added `{line}`"),
                ),
                ConfigEdit::Replace { text, with } => {
                    let (broken, count) = replaced(&original, text.as_bytes(), with.as_bytes());
                    if count == 0 {
                        return Err(Failure::new(format!(
                            "cannot break {file} on {host}: `{text}` is not in it"
                        )));
                    }
                    let times = if count == 1 {
                        String::new()
                    } else {
                        format!(" ({count} times)")
                    };
                    (
                        broken,
                        format!("{file} on {host}: replaced `{text}` with `{with}`{times}"),
                    )
                }
            };
            on.write(file, &broken).await?;
            Ok(Broken::new(
                what,
                Undo::RestoreFiles(vec![(file.clone(), original)]),
            ))
        }
        Fault::WrongDns { name, address } => {
            let hosts = "/etc/hosts";
            let original = on.read(hosts).await?;
            // Appended: Docker's own lines for the host stay, and a name listed twice
            // resolves to its first address, so a name already there keeps it.
            let broken = appended(&original, &format!("{address}\t{name}"));
            on.write(hosts, &broken).await?;
            Ok(Broken::new(
                format!("{name} resolves to {address} on {host} ({hosts})"),
                Undo::RestoreFiles(vec![(hosts.to_string(), original)]),
            ))
        }
        Fault::FillDisk { path, size } => fill_disk(&on, path, *size).await,
        Fault::Disconnect => {
            let network = crate::runner::network_name(on.cx.options);
            let aliases = on
                .cx
                .scenario
                .host(host)
                .map(crate::runner::provision::network_aliases)
                .unwrap_or_else(|| vec![host.to_string()]);
            on.cx
                .engine
                .disconnect_network(container, &network)
                .await
                .map_err(|e| Failure::new(format!("cannot disconnect {host}: {e}")))?;
            Ok(Broken::new(
                format!(
                    "{host} disconnected from the run's network `{network}`: no other host and no probe reaches it"
                ),
                Undo::Reconnect { aliases },
            ))
        }
        Fault::HalfSources { to } => half_sources(&on, to).await,
        Fault::KillMidWrite { service, write } => kill_mid_write(&on, service, write).await,
    }
}

/// One host of a step: commands run in it, files read and written.
pub(super) struct Target<'a, 'b, E: Engine> {
    pub(super) cx: &'a StepContext<'b, E>,
    pub(super) container: &'a str,
    pub(super) host: &'a str,
}

impl<E: Engine> Target<'_, '_, E> {
    /// Run `argv`; a non-zero exit is a failure to `doing`, with the output as evidence.
    pub(super) async fn run(&self, argv: &[&str], doing: &str) -> Result<ExecOutput, Failure> {
        let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        let command = argv.join(" ");
        self.run_argv(&argv, doing, &command).await
    }

    /// Run a shell script with `args` as `$1`...
    async fn script(
        &self,
        script: &str,
        args: &[&str],
        doing: &str,
    ) -> Result<ExecOutput, Failure> {
        let mut argv = vec!["sh".to_string(), "-c".into(), script.into(), "sh".into()];
        argv.extend(args.iter().map(|a| a.to_string()));
        self.run_argv(&argv, doing, doing).await
    }

    pub(super) async fn run_argv(
        &self,
        argv: &[String],
        doing: &str,
        command: &str,
    ) -> Result<ExecOutput, Failure> {
        let host = self.host;
        let output = self
            .cx
            .engine
            .exec(self.container, argv, self.cx.timeout)
            .await
            .map_err(|e| Failure::new(format!("cannot {doing} on {host}: {e}")))?;
        if output.exit_code != 0 {
            let said = output
                .stderr
                .lines()
                .chain(output.stdout.lines())
                .find(|l| !l.trim().is_empty())
                .map(|l| format!(": {}", l.trim()))
                .unwrap_or_default();
            return Err(Failure {
                summary: format!(
                    "cannot {doing} on {host}: `{command}` exited with {}{said}",
                    output.exit_code
                ),
                output: Some(output),
            });
        }
        Ok(output)
    }

    /// A file's bytes, refused over [`MAX_SAVED_FILE`]: it is kept in memory to be put back.
    async fn read(&self, path: &str) -> Result<Vec<u8>, Failure> {
        const SCRIPT: &str = r#"[ -f "$1" ] || { echo "no such file" >&2; exit 2; }
size=$(stat -c %s "$1") || exit 2
if [ "$size" -gt "$2" ]; then echo "$size"; exit 3; fi
base64 -w0 "$1""#;
        let limit = MAX_SAVED_FILE.to_string();
        let host = self.host;
        let output = self
            .cx
            .engine
            .exec(
                self.container,
                &[
                    "sh".to_string(),
                    "-c".into(),
                    SCRIPT.into(),
                    "sh".into(),
                    path.into(),
                    limit,
                ],
                self.cx.timeout,
            )
            .await
            .map_err(|e| Failure::new(format!("cannot read {path} on {host}: {e}")))?;
        match output.exit_code {
            0 => base64::engine::general_purpose::STANDARD
                .decode(output.stdout.trim())
                .map_err(|e| Failure::new(format!("cannot read {path} on {host}: {e}"))),
            3 => Err(Failure::new(format!(
                "{path} on {host} is {} bytes: a fault saves files of at most 1 MiB to put them back",
                output.stdout.trim()
            ))),
            code => Err(Failure {
                summary: format!(
                    "cannot read {path} on {host}: {}",
                    if output.stderr.trim().is_empty() {
                        format!("exit code {code}")
                    } else {
                        output.stderr.trim().to_string()
                    }
                ),
                output: Some(output),
            }),
        }
    }

    pub(super) async fn write(&self, path: &str, bytes: &[u8]) -> Result<(), Failure> {
        crate::runner::host_files::write_bytes(self.cx.engine, self.container, path, bytes)
            .await
            .map_err(|e| Failure::new(format!("{e} on {}", self.host)))
    }
}

/// `line` appended on a line of its own.
fn appended(original: &[u8], line: &str) -> Vec<u8> {
    let mut bytes = original.to_vec();
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    bytes
}

/// Every occurrence of `text` replaced by `with`, and how many there were.
fn replaced(original: &[u8], text: &[u8], with: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(original.len());
    let mut count = 0;
    let mut rest = original;
    while let Some(at) = rest.windows(text.len()).position(|w| w == text) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + text.len()..];
        count += 1;
    }
    out.extend_from_slice(rest);
    (out, count)
}

/// Writes `DIR/.rehearse-fill` (`fallocate`, or `dd` where the filesystem does not
/// support it) of `$2` bytes, or of the filesystem's free space if smaller; prints the
/// bytes written, the bytes left free and the tool used.
const FILL_SCRIPT: &str = r#"dir=$1 want=$2 f="$1/.rehearse-fill"
[ -d "$dir" ] || { echo "$dir is not a directory" >&2; exit 2; }
[ -e "$f" ] && { echo "$f already exists: an earlier fill-disk is still in place" >&2; exit 2; }
free() { df -B1 --output=avail "$dir" | tail -n 1 | tr -d ' '; }
size=$want
avail=$(free) && [ "$avail" -lt "$size" ] && size=$avail
how=fallocate
if ! fallocate -l "$size" "$f" 2>/dev/null; then
  rm -f "$f"
  how=dd
  # Running out of space ends dd early: that is the point, the filesystem is full.
  dd if=/dev/zero of="$f" bs=1M count="$size" iflag=count_bytes 2>/dev/null
fi
[ -e "$f" ] || { echo "cannot write $f" >&2; exit 1; }
echo "$(stat -c %s "$f") $(free) $how""#;

async fn fill_disk<E: Engine>(
    on: &Target<'_, '_, E>,
    path: &str,
    size: u64,
) -> Result<Broken, Failure> {
    let host = on.host;
    let output = on
        .script(
            FILL_SCRIPT,
            &[path, &size.to_string()],
            &format!("fill {path}"),
        )
        .await?;
    let file = format!("{}/{FILL_FILE}", path.trim_end_matches('/'));
    let words: Vec<&str> = output.stdout.split_whitespace().collect();
    let (Some(written), Some(left)) = (
        words.first().and_then(|w| w.parse::<u64>().ok()),
        words.get(1).and_then(|w| w.parse::<u64>().ok()),
    ) else {
        return Err(Failure {
            summary: format!("cannot fill {path} on {host}: unexpected output"),
            output: Some(output),
        });
    };
    let how = words.get(2).copied().unwrap_or("fallocate");
    Ok(Broken {
        what: format!(
            "{path} on {host} filled: {} written to {file} ({how}), {} left free",
            bytes(written),
            bytes(left)
        ),
        undo: Undo::RemoveFile(file),
        output: Some(output.stdout.trim().to_string()),
    })
}

/// "64.0 MiB (67108864 bytes)".
fn bytes(count: u64) -> String {
    if count < 1024 {
        format!("{count} bytes")
    } else {
        format!("{} ({count} bytes)", bytesize::ByteSize(count))
    }
}

/// The first half (rounded up) of Debian's entries for the host's release moved to `to`,
/// across every source file in order, the others left: an upgrade interrupted while the
/// admin rewrote the sources.
async fn half_sources<E: Engine>(on: &Target<'_, '_, E>, to: &str) -> Result<Broken, Failure> {
    let host = on.host;
    let release = on
        .script(
            r#". /etc/os-release; echo "${VERSION_CODENAME:-}""#,
            &[],
            "read the release",
        )
        .await?;
    let from = release.stdout.trim().to_string();
    if from.is_empty() {
        return Err(Failure::new(format!(
            "cannot tell the release of {host}: /etc/os-release names no VERSION_CODENAME"
        )));
    }
    if from == to {
        return Err(Failure::new(format!(
            "{host} already runs {to}: `half-sources` needs another release"
        )));
    }
    let listing = on.script(READ_SCRIPT, &[], "read the APT sources").await?;
    let files = decode_file_bytes(&listing.stdout);
    let mirrors = MirrorOverride::default();
    let known = [
        on.cx.options.build.mirror.as_str(),
        on.cx.options.build.security_mirror.as_str(),
    ];
    let rewrite = |path: &str, text: &str, limit: usize| {
        if path.ends_with(".sources") {
            rewrite_deb822_first(text, &from, to, &mirrors, &known, limit)
        } else {
            rewrite_list_first(text, &from, to, &mirrors, &known, limit)
        }
    };
    let texts: Vec<(String, Vec<u8>, String)> = files
        .into_iter()
        .map(|(path, original)| {
            let text = String::from_utf8_lossy(&original).into_owned();
            (path, original, text)
        })
        .collect();
    let total: usize = texts
        .iter()
        .map(|(path, _, text)| rewrite(path, text, usize::MAX).entries)
        .sum();
    if total == 0 {
        return Err(Failure::new(format!(
            "no Debian entry for {from} in the APT sources of {host}: nothing to half-rewrite"
        )));
    }
    let mut budget = total.div_ceil(2);
    let mut originals: Vec<(String, Vec<u8>)> = Vec::new();
    let mut changes = Vec::new();
    for (path, original, text) in &texts {
        if budget == 0 {
            break;
        }
        let rewritten = rewrite(path, text, budget);
        if rewritten.entries == 0 {
            continue;
        }
        if let Err(failure) = on.write(path, rewritten.text.as_bytes()).await {
            // Half a fault is not one the tool can name: put back what was written.
            put_back(on, &originals).await;
            return Err(failure);
        }
        originals.push((path.clone(), original.clone()));
        budget -= rewritten.entries;
        changes.extend(rewritten.changes.iter().map(|c| format!("{path}: {c}")));
    }
    let moved = total.div_ceil(2);
    let paths: Vec<&str> = originals.iter().map(|(p, _)| p.as_str()).collect();
    Ok(Broken {
        what: format!(
            "APT sources on {host} half-rewritten from {from} to {to}, as after an interrupted upgrade: {moved} of {total} Debian entries moved ({})",
            paths.join(", ")
        ),
        undo: Undo::RestoreFiles(originals),
        output: Some(changes.join("\n")),
    })
}

async fn put_back<E: Engine>(on: &Target<'_, '_, E>, files: &[(String, Vec<u8>)]) {
    for (path, original) in files {
        let _ = on.write(path, original).await;
    }
}

/// Starts the write (`$1`) in the background in a session of its own, waits until it
/// has run for the head start or ended, kills the unit (`$2`) with SIGKILL, then stops
/// what is left of the write. Prints `running`, or `ended CODE`, then the write's output.
const KILL_SCRIPT: &str = r#"log=$(mktemp)
setsid sh -c "$1" </dev/null >"$log" 2>&1 &
w=$!
alive() { s=$(cut -d' ' -f3 "/proc/$w/stat" 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ]; }
i=0
while [ $i -lt $(( $3 * 10 )) ] && alive; do sleep 0.1; i=$((i + 1)); done
if alive; then state=running; else wait $w; state="ended $?"; fi
systemctl kill --signal=SIGKILL "$2"
status=$?
kill -9 "-$w" 2>/dev/null
echo "$state"
tail -c 2000 "$log"
rm -f "$log"
exit $status"#;

async fn kill_mid_write<E: Engine>(
    on: &Target<'_, '_, E>,
    service: &str,
    write: &str,
) -> Result<Broken, Failure> {
    let host = on.host;
    let output = on
        .script(
            KILL_SCRIPT,
            &[write, service, WRITE_HEAD_START],
            &format!("kill {service} mid-write"),
        )
        .await?;
    let state = output.stdout.lines().next().unwrap_or("").trim();
    let what = match state.strip_prefix("ended ") {
        None => format!(
            "{service} killed (SIGKILL) on {host} while the write was still running: what it had not made durable is lost"
        ),
        Some(code) => format!(
            "{service} killed (SIGKILL) on {host} after the write had ended (exit code {code} within {WRITE_HEAD_START} s): the kill cut no write short"
        ),
    };
    Ok(Broken {
        what,
        undo: Undo::Start(service.to_string()),
        output: Some(excerpt(&output.stdout, EVIDENCE_CHARS)),
    })
}

/// The faults: every key of a `fault` step but `host`.
pub const FAULT_KINDS: &[&str] = FaultStep::KEYS.split_at(1).1;

pub const BREAK_CONFIG_KEYS: &[&str] = &["file", "add", "replace", "with"];

pub const FILL_DISK_KEYS: &[&str] = &["path", "size"];

pub const WRONG_DNS_KEYS: &[&str] = &["name", "address"];

pub const HALF_SOURCES_KEYS: &[&str] = &["to"];

pub const KILL_MID_WRITE_KEYS: &[&str] = &["service", "write"];

/// The most `fill-disk` writes: a host's root filesystem is the engine's own disk.
pub const MAX_FILL_DISK: u64 = 8 << 30;

/// "stop apache2", "break-config /etc/apache2/apache2.conf", "wrong-dns db.test → 10.0.0.9".
fn fault_words(fault: &Fault) -> String {
    let label = fault.label();
    match fault {
        Fault::Stop(unit) | Fault::Mask(unit) | Fault::Disable(unit) => format!("{label} {unit}"),
        Fault::BreakConfig { file, .. } => format!("{label} {file}"),
        Fault::FillDisk { path, .. } => format!("{label} {path}"),
        Fault::Disconnect => label.to_string(),
        Fault::WrongDns { name, address } => format!("{label} {name} → {address}"),
        Fault::Hold(package) => format!("{label} {package}"),
        Fault::HalfSources { to } => format!("{label} to {to}"),
        Fault::KillMidWrite { service, .. } => format!("{label} {service}"),
    }
}

fn decode_break_config(d: &Decoder, node: &Spanned<Node>, fault: &str) -> Option<Fault> {
    let m = d.map(
        node,
        &format!("`break-config` of {fault}"),
        BREAK_CONFIG_KEYS,
    )?;
    let file = m.required_str_where("file", check_absolute_path);
    let not_empty = |key: &'static str| {
        move |text: &str| {
            (!text.is_empty())
                .then_some(())
                .ok_or_else(|| format!("`{key}` must not be empty"))
        }
    };
    let add = m.opt_str_where("add", not_empty("add"));
    let replace = m.opt_str_where("replace", not_empty("replace"));
    let edit = match (m.key("add"), m.key("replace")) {
        (Some(_), Some(second)) => {
            d.error_with_help(
                Mark::of_key(second),
                format!("`add` and `replace` together in {}", m.what()),
                "one edit per fault: make the other one a fault step of its own",
            );
            None
        }
        (Some(_), None) => {
            reject_key(&m, "with", "replace");
            add.map(ConfigEdit::Add)
        }
        (None, Some(_)) => {
            let with = m.required("with").and_then(|node| d.str(node, "`with`"));
            replace
                .zip(with)
                .map(|(text, with)| ConfigEdit::Replace { text, with })
        }
        (None, None) => {
            d.error_with_help(
                m.mark(),
                format!("{} changes nothing", m.what()),
                "give `add: LINE` (appended), or `replace: TEXT` with `with: TEXT`",
            );
            None
        }
    };
    Some(Fault::BreakConfig {
        file: file?,
        edit: edit?,
    })
}

fn decode_fill_disk(d: &Decoder, node: &Spanned<Node>, fault: &str) -> Option<Fault> {
    let m = d.map(node, &format!("`fill-disk` of {fault}"), FILL_DISK_KEYS)?;
    let path = m.required_str_where("path", check_absolute_path);
    let size = m.required("size").and_then(|node| {
        let size = d.byte_size(node, "`size`")?;
        if size > MAX_FILL_DISK {
            let found = match &node.value {
                Node::Str(text) => text.clone(),
                _ => size.to_string(),
            };
            d.error_with_help(
                Mark::of(node),
                format!("`size` must be at most 8G, found `{found}`"),
                "a host's disk is the engine's own disk: fill a smaller filesystem or a part of it",
            );
            return None;
        }
        Some(size)
    });
    Some(Fault::FillDisk {
        path: path?,
        size: size?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each fault's keys are the properties of its schema.
    #[test]
    fn fault_keys_match_the_schema() {
        let schema = FaultStep::schema_defs().remove(0).1;
        for (fault, keys) in [
            ("break-config", BREAK_CONFIG_KEYS),
            ("fill-disk", FILL_DISK_KEYS),
            ("wrong-dns", WRONG_DNS_KEYS),
            ("half-sources", HALF_SOURCES_KEYS),
            ("kill-mid-write", KILL_MID_WRITE_KEYS),
        ] {
            let properties = schema["properties"][fault]["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("no properties of `{fault}`"));
            let mut in_schema: Vec<&str> = properties.keys().map(String::as_str).collect();
            let mut in_decoder = keys.to_vec();
            in_schema.sort_unstable();
            in_decoder.sort_unstable();
            assert_eq!(in_schema, in_decoder, "keys of `{fault}`");
        }
    }

    #[test]
    fn edits_keep_the_rest_of_the_file() {
        assert_eq!(appended(b"a\nb", "c"), b"a\nb\nc\n");
        assert_eq!(appended(b"a\n", "c"), b"a\nc\n");
        assert_eq!(appended(b"", "c"), b"c\n");
        assert_eq!(
            replaced(
                b"Require all granted\nRequire all granted\n",
                b"granted",
                b"denied"
            ),
            (b"Require all denied\nRequire all denied\n".to_vec(), 2)
        );
        assert_eq!(replaced(b"abc", b"x", b"y"), (b"abc".to_vec(), 0));
    }

    #[test]
    fn sizes_in_words() {
        assert_eq!(bytes(12), "12 bytes");
        assert_eq!(bytes(64 << 20), "64.0 MiB (67108864 bytes)");
        assert_eq!(bytes(3 << 29), "1.5 GiB (1610612736 bytes)");
    }
}
