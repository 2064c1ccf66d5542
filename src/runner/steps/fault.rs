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
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::RunStep;
use crate::scenario::format::{
    AbsolutePath, HostRef, Hostname, IpAddress, NonEmpty, Opt, PackageName, Release, Size,
    UnitName, choice_keys, exactly_one,
};
use crate::scenario::{StepInput, StepSpec, decode_as, key_of, shorten};
use crate::yaml::{Mark, Node};

/// Break one thing on one host on purpose (a training drill), in a way the tool can
/// undo: what it takes to undo the fault is saved when it is applied, and a later
/// `revert` step puts it back.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "FaultSpec")]
#[schemars(with = "FaultSpec")]
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

/// `fault:` as written: `host`, and exactly one fault.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(transform = one_fault)]
struct FaultSpec {
    #[serde(with = "HostRef")]
    host: String,
    /// `systemctl stop UNIT`. Undone by starting it.
    #[serde(default, with = "Opt::<UnitName>")]
    stop: Option<String>,
    /// `systemctl mask --now UNIT`: stopped and cannot be started. Undone by unmasking
    /// and starting it.
    #[serde(default, with = "Opt::<UnitName>")]
    mask: Option<String>,
    /// `systemctl disable UNIT`: still running, but it does not come back after a
    /// reboot. Undone by enabling it.
    #[serde(default, with = "Opt::<UnitName>")]
    disable: Option<String>,
    break_config: Option<BreakConfig>,
    fill_disk: Option<FillDisk>,
    /// The host drops off the run's network. Undone by connecting it again under its
    /// name and aliases.
    #[schemars(extend("const" = true))]
    disconnect: Option<bool>,
    wrong_dns: Option<WrongDns>,
    /// `apt-mark hold PACKAGE`. Undone by `apt-mark unhold`.
    #[serde(default, with = "Opt::<PackageName>")]
    hold: Option<String>,
    half_sources: Option<HalfSources>,
    kill_mid_write: Option<KillMidWrite>,
}

/// The schema says what the decoder checks: one fault key besides `host` (in the
/// order of the fields, which messages list them in).
fn one_fault(schema: &mut schemars::Schema) {
    let faults: Vec<serde_json::Value> = crate::yaml::de::fields_of::<FaultSpec>()
        .iter()
        .filter(|key| **key != "host")
        .map(|key| serde_json::json!({"required": [key]}))
        .collect();
    schema.insert("oneOf".into(), faults.into());
}

/// A known-bad edit of a file: a line appended (`add`) or a text replaced (`replace`
/// with `with`; the text must be in the file). Nothing is reloaded: the break shows at
/// the next restart, reload or config test. Undone by writing the original content
/// back byte for byte (files up to 1 MiB).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["add"]}, {"required": ["replace", "with"]}]))]
struct BreakConfig {
    /// Absolute path of the file on the host.
    #[serde(with = "AbsolutePath")]
    file: String,
    /// A line appended to the file.
    #[serde(default, with = "Opt::<NonEmpty>")]
    add: Option<String>,
    /// Text replaced wherever it occurs.
    #[serde(default, with = "Opt::<NonEmpty>")]
    replace: Option<String>,
    /// What replaces it.
    with: Option<String>,
}

/// Write `PATH/.rehearse-fill` of `size` bytes, or the free space of that filesystem
/// if smaller, so it can really become full. Undone by removing the file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FillDisk {
    /// A directory on the filesystem to fill.
    #[serde(with = "AbsolutePath")]
    path: String,
    /// Bytes, or a size with a K, M or G suffix (binary); at most 8G.
    #[serde(with = "Size")]
    size: u64,
}

/// `name` resolves to `address` on the host (a line appended to `/etc/hosts`). Undone
/// by writing the original `/etc/hosts` back.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WrongDns {
    /// A DNS name.
    #[serde(with = "Hostname")]
    name: String,
    /// An IPv4 or IPv6 address.
    #[serde(with = "IpAddress")]
    address: std::net::IpAddr,
}

/// APT sources left half-rewritten, as after an interrupted upgrade: the first half
/// (rounded up) of Debian's entries moved to release `to`, the others left. Undone by
/// writing every source file back.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct HalfSources {
    /// A Debian release codename.
    #[serde(with = "Release")]
    to: String,
}

/// Start `write` (a shell line) in the background, and once it has run for 1 s (or
/// ended) kill the service with SIGKILL: the database dies mid-write. Undone by
/// starting the service; what was lost stays lost.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct KillMidWrite {
    #[serde(with = "UnitName")]
    service: String,
    /// A shell line that writes, e.g. a long INSERT loop.
    #[serde(with = "NonEmpty")]
    write: String,
}

impl FaultSpec {
    /// The step, or what is wrong with the combination of keys, reported where it is.
    fn into_step(self, input: &StepInput<'_>, body: &Spanned<Node>) -> Option<FaultStep> {
        let what = format!("`fault` of {}", input.what);
        let d = input.d;
        let key_mark = |key: &str| key_of(body, key).map_or_else(|| Mark::of(body), Mark::of_key);
        exactly_one(d, body, &what, "fault", &choice_keys::<FaultSpec>())?;
        if self.disconnect == Some(false) {
            d.error_with_help(
                key_mark("disconnect"),
                format!("`disconnect: false` in {what} breaks nothing"),
                "write `disconnect: true`, or leave the step out",
            );
            return None;
        }
        if let Some(fill) = &self.fill_disk
            && fill.size > MAX_FILL_DISK
        {
            d.error_with_help(
                key_mark("fill-disk"),
                format!(
                    "`size` must be at most 8G, found `{}`",
                    size_text(body, fill.size)
                ),
                "a host's disk is the engine's own disk: fill a smaller filesystem or a part of it",
            );
            return None;
        }
        if let Some(edit) = &self.break_config {
            let what = format!("`break-config` of {what}");
            let problem = match (&edit.add, &edit.replace, &edit.with) {
                (Some(_), Some(_), _) => Some((
                    "replace",
                    format!("`add` and `replace` together in {what}"),
                    "one edit per fault: make the other one a fault step of its own",
                )),
                (Some(_), None, Some(_)) => Some((
                    "with",
                    format!("`with` belongs to `replace` in {what}"),
                    "remove it, or use `replace` instead of `add`",
                )),

                (None, Some(_), None) if key_of(edit_node(body), "with").is_none() => {
                    d.error(
                        Mark::of(edit_node(body)),
                        format!("missing key `with` in {what}"),
                    );
                    return None;
                }
                (None, None, _) => Some((
                    "break-config",
                    format!("{what} changes nothing"),
                    "give `add: LINE` (appended), or `replace: TEXT` with `with: TEXT`",
                )),
                _ => None,
            };
            if let Some((key, message, help)) = problem {
                let edit_node = edit_node(body);
                let mark = match key {
                    "break-config" => Mark::of(edit_node),
                    key => key_of(edit_node, key).map_or_else(|| Mark::of(edit_node), Mark::of_key),
                };
                d.error_with_help(mark, message, help);
                return None;
            }
        }
        self.try_into().ok()
    }
}

/// The `break-config` map of a `fault` step.
fn edit_node(body: &Spanned<Node>) -> &Spanned<Node> {
    value_of(body, "break-config").unwrap_or(body)
}

/// A `fill-disk` size as written.
fn size_text(body: &Spanned<Node>, size: u64) -> String {
    match value_of(body, "fill-disk").and_then(|fill| value_of(fill, "size")) {
        Some(Spanned {
            value: Node::Str(text),
            ..
        }) => text.clone(),
        _ => size.to_string(),
    }
}

/// The value of `key` in a map.
fn value_of<'a>(node: &'a Spanned<Node>, key: &str) -> Option<&'a Spanned<Node>> {
    match &node.value {
        Node::Map(entries) => entries.iter().find(|(k, _)| k.value == key).map(|(_, v)| v),
        _ => None,
    }
}

impl TryFrom<FaultSpec> for FaultStep {
    type Error = String;

    fn try_from(spec: FaultSpec) -> Result<Self, String> {
        let fault = if let Some(unit) = spec.stop {
            Fault::Stop(unit)
        } else if let Some(unit) = spec.mask {
            Fault::Mask(unit)
        } else if let Some(unit) = spec.disable {
            Fault::Disable(unit)
        } else if let Some(edit) = spec.break_config {
            let file = edit.file;
            let edit = match (edit.add, edit.replace, edit.with) {
                (Some(line), None, None) => ConfigEdit::Add(line),
                (None, Some(text), Some(with)) => ConfigEdit::Replace { text, with },
                _ => return Err("`break-config` needs `add`, or `replace` with `with`".into()),
            };
            Fault::BreakConfig { file, edit }
        } else if let Some(fill) = spec.fill_disk {
            Fault::FillDisk {
                path: fill.path,
                size: fill.size,
            }
        } else if spec.disconnect == Some(true) {
            Fault::Disconnect
        } else if let Some(dns) = spec.wrong_dns {
            Fault::WrongDns {
                name: dns.name,
                address: dns.address,
            }
        } else if let Some(package) = spec.hold {
            Fault::Hold(package)
        } else if let Some(sources) = spec.half_sources {
            Fault::HalfSources { to: sources.to }
        } else if let Some(kill) = spec.kill_mid_write {
            Fault::KillMidWrite {
                service: kill.service,
                write: kill.write,
            }
        } else {
            return Err("a `fault` step needs one fault".into());
        };
        Ok(FaultStep {
            host: spec.host,
            fault,
        })
    }
}

impl StepSpec for FaultStep {
    const KIND: &'static str = "fault";

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
        let spec: FaultSpec = decode_as(input, Self::KIND, body)?;
        spec.into_step(input, body)
    }
}

impl RunStep for FaultStep {
    async fn run<E: Engine>(&self, cx: &mut StepContext<'_, E>) -> StepResult {
        apply(self, cx).await
    }
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
/// has run for the head start or ended, kills the unit (`$2`) with SIGKILL, waits (at
/// most 10 s) until systemd has seen its main process die, so that the service is down
/// and its journal says so when the step ends, then stops what is left of the write.
/// Prints `running`, or `ended CODE`, then the write's output.
const KILL_SCRIPT: &str = r#"log=$(mktemp)
setsid sh -c "$1" </dev/null >"$log" 2>&1 &
w=$!
alive() { s=$(cut -d' ' -f3 "/proc/$w/stat" 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ]; }
i=0
while [ $i -lt $(( $3 * 10 )) ] && alive; do sleep 0.1; i=$((i + 1)); done
if alive; then state=running; else wait $w; state="ended $?"; fi
main=$(systemctl show -p MainPID --value "$2")
systemctl kill --signal=SIGKILL "$2"
status=$?
i=0
while [ $status -eq 0 ] && [ "${main:-0}" != 0 ] && [ $i -lt 100 ] && [ "$(systemctl show -p MainPID --value "$2")" = "$main" ]; do sleep 0.1; i=$((i + 1)); done
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

#[cfg(test)]
mod tests {
    use super::*;

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
