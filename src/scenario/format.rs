//! The value types of the scenario format: how a field's value is written, read,
//! checked and described, once.
//!
//! A field of a format type (a step kind's fields, a probe's...) names one of these
//! with `#[serde(with = "HostRef")]`: serde reads the value with the type's
//! `deserialize`, schemars describes it with the type's schema, and the value is
//! checked where it is read, every problem reported at its place (see
//! [`crate::yaml::de`]). `serialize` gives the schema's `default` values.

use std::borrow::Cow;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serializer};

use super::model::Command;
use super::parse::Refs;
use crate::yaml::de::{self, Here};
use crate::yaml::{closest, one_of};

/// Names a definition of the schema after the format type (`hostRef`).
macro_rules! named {
    ($name:literal) => {
        fn schema_name() -> Cow<'static, str> {
            $name.into()
        }
    };
}

/// The value as `T` when it is real and was read without a problem.
fn read<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<(Here, Option<T>), D::Error> {
    de::value(deserializer)
}

/// What references of a kind must name: hosts, probes or monitors.
#[derive(Debug, Clone, Copy)]
enum Noun {
    Host,
    Probe,
    Monitor,
}

impl Noun {
    fn word(self) -> &'static str {
        match self {
            Noun::Host => "host",
            Noun::Probe => "probe",
            Noun::Monitor => "monitor",
        }
    }
}

/// Reports a name that is not among the scenario's hosts (or probes, monitors).
fn check_ref(here: &Here, noun: Noun, name: &str) {
    de::context(|refs: &Refs| {
        let known = match noun {
            Noun::Host => &refs.hosts,
            Noun::Probe => &refs.probes,
            Noun::Monitor => &refs.monitors,
        };
        if known.iter().any(|known| known == name) {
            return;
        }
        let noun = noun.word();
        let help = match closest(name, known.iter().map(String::as_str)) {
            Some(near) => format!("did you mean `{near}`?"),
            None if known.is_empty() => format!("no {noun}s are defined"),
            None => format!(
                "defined {noun}s: {}",
                one_of(known.iter().map(String::as_str))
            ),
        };
        here.error_with_help(format!("unknown {noun} `{name}` in {}", here.owner), help);
    });
}

fn one_name<'de, D: Deserializer<'de>>(deserializer: D, noun: Noun) -> Result<String, D::Error> {
    let (here, name) = read::<String, D>(deserializer)?;
    if let Some(name) = &name {
        check_ref(&here, noun, name);
    }
    Ok(name.unwrap_or_default())
}

/// A name, or a list of names (at least one).
fn names<'de, D: Deserializer<'de>>(deserializer: D, noun: Noun) -> Result<Vec<String>, D::Error> {
    let (here, names) = read::<OneOrMany, D>(deserializer)?;
    let names = names.map(|names| names.0).unwrap_or_default();
    for (mark, name) in &names {
        check_ref(&here.at(*mark), noun, name);
    }
    Ok(names.into_iter().map(|(_, name)| name).collect())
}

/// A string or a list of strings, each with where it is.
struct OneOrMany(Vec<(crate::yaml::Mark, String)>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit(Here);
        impl Visit {
            fn wrong<E>(self, found: &str) -> Result<OneOrMany, E> {
                self.0.wrong_type("a string or a list of strings", found);
                Ok(OneOrMany(Vec::new()))
            }
        }
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = OneOrMany;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a name or a list of names")
            }

            fn visit_bool<E>(self, _: bool) -> Result<OneOrMany, E> {
                self.wrong("a boolean")
            }

            fn visit_i64<E>(self, _: i64) -> Result<OneOrMany, E> {
                self.wrong("an integer")
            }

            fn visit_u64<E>(self, _: u64) -> Result<OneOrMany, E> {
                self.wrong("an integer")
            }

            fn visit_f64<E>(self, _: f64) -> Result<OneOrMany, E> {
                self.wrong("a number")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<OneOrMany, A::Error> {
                self.wrong("a map")
            }

            fn visit_str<E>(self, name: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![(de::here().mark, name.to_string())]))
            }

            fn visit_unit<E>(self) -> Result<OneOrMany, E> {
                Ok(OneOrMany(Vec::new()))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut items: A,
            ) -> Result<OneOrMany, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = items.next_element::<Item>()? {
                    names.extend(name.0);
                }
                Ok(OneOrMany(names))
            }
        }
        let here = de::here();
        deserializer.deserialize_any(Visit(here))
    }
}

/// One string of a list, with where it is (`None` when it was not a string).
struct Item(Option<(crate::yaml::Mark, String)>);

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (here, text) = read::<String, D>(deserializer)?;
        Ok(Item(text.map(|text| (here.mark, text))))
    }
}

/// The name of a host of this scenario.
#[derive(Debug)]
pub struct HostRef;

impl HostRef {
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        one_name(deserializer, Noun::Host)
    }

    pub fn serialize<S: Serializer>(name: &str, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(name)
    }
}

impl JsonSchema for HostRef {
    named!("hostRef");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"description": "The name of a host of this scenario.", "type": "string"})
    }
}

/// The name of a probe of this scenario.
#[derive(Debug)]
pub struct ProbeRef;

impl ProbeRef {
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        one_name(deserializer, Noun::Probe)
    }
}

impl JsonSchema for ProbeRef {
    named!("probeRef");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"description": "The name of a probe of this scenario.", "type": "string"})
    }
}

/// The name of a monitor of this scenario.
#[derive(Debug)]
pub struct MonitorRef;

impl MonitorRef {
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        one_name(deserializer, Noun::Monitor)
    }
}

impl JsonSchema for MonitorRef {
    named!("monitorRef");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"description": "The name of a monitor of this scenario.", "type": "string"})
    }
}

/// One probe name or a list of them.
#[derive(Debug)]
pub struct ProbeRefs;

impl ProbeRefs {
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        names(deserializer, Noun::Probe)
    }

    pub fn serialize<S: Serializer>(names: &[String], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(names)
    }
}

impl JsonSchema for ProbeRefs {
    fn inline_schema() -> bool {
        true
    }

    named!("probeRefs");

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        one_or_more(generator.subschema_for::<ProbeRef>())
    }
}

/// One monitor name or a list of them.
#[derive(Debug)]
pub struct MonitorRefs;

impl MonitorRefs {
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        names(deserializer, Noun::Monitor)
    }

    pub fn serialize<S: Serializer>(names: &[String], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(names)
    }
}

impl JsonSchema for MonitorRefs {
    fn inline_schema() -> bool {
        true
    }

    named!("monitorRefs");

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        one_or_more(generator.subschema_for::<MonitorRef>())
    }
}

/// `item`, or a non-empty list of them.
fn one_or_more(item: Schema) -> Schema {
    json_schema!({"oneOf": [item, {"type": "array", "minItems": 1, "items": item}]})
}

/// A duration: `500ms`, `30s`, `2m`, `1h`, or a whole number of seconds; never zero.
#[derive(Debug)]
pub struct Span;

impl Span {
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let (here, value) = read::<Scalar, D>(deserializer)?;
        let duration = match value {
            None => None,
            Some(Scalar::Int(seconds)) if seconds >= 0 => {
                Some(Duration::from_secs(seconds.unsigned_abs()))
            }
            Some(Scalar::Text(text)) => {
                let parsed = humantime::parse_duration(&text).ok();
                if parsed.is_none() {
                    here.error_with_help(
                        format!("invalid duration `{text}` for {}", here.label),
                        "write a number with a unit, like `500ms`, `30s`, `2m` or `1h`",
                    );
                }
                parsed
            }
            Some(other) => {
                here.wrong_type("a duration like `30s`", other.kind_name());
                None
            }
        };
        if duration.is_some_and(|d| d.is_zero()) {
            here.error(format!("{} must be longer than zero", here.label));
        }
        Ok(duration.unwrap_or_default())
    }

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*value).to_string())
    }
}

impl JsonSchema for Span {
    named!("duration");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration like `500ms`, `30s`, `2m`, `1h`, or an integer number of seconds.",
            "type": ["string", "integer"],
            "minimum": 1
        })
    }
}

/// An optional [`Span`].
#[derive(Debug)]
pub struct OptSpan;

impl OptSpan {
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Span::deserialize(deserializer).map(Some)
    }

    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => Span::serialize(value, serializer),
            None => serializer.serialize_none(),
        }
    }
}

impl JsonSchema for OptSpan {
    fn inline_schema() -> bool {
        true
    }

    named!("optionalDuration");

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<Span>()
    }
}

/// A string or a list of strings.
#[derive(Debug)]
pub struct StringOrList;

impl StringOrList {
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        let (_, texts) = read::<OneOrMany, D>(deserializer)?;
        Ok(texts
            .map(|texts| texts.0.into_iter().map(|(_, text)| text).collect())
            .unwrap_or_default())
    }

    pub fn serialize<S: Serializer>(texts: &[String], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(texts)
    }
}

impl JsonSchema for StringOrList {
    named!("stringOrList");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A string or a list of strings.",
            "type": ["string", "array"],
            "items": {"type": "string"}
        })
    }
}

/// A scalar as written, for value types that take more than one YAML type.
#[derive(Debug)]
enum Scalar {
    Int(i64),
    Text(String),
    Other(&'static str),
}

impl Scalar {
    fn kind_name(&self) -> &'static str {
        match self {
            Scalar::Int(_) => "an integer",
            Scalar::Text(_) => "a string",
            Scalar::Other(kind) => kind,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Scalar;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_i64<E>(self, value: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(value))
            }
            fn visit_u64<E>(self, value: u64) -> Result<Scalar, E> {
                Ok(Scalar::Int(i64::try_from(value).unwrap_or(i64::MAX)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(text.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other("an empty value"))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Scalar, E> {
                Ok(Scalar::Other("a boolean"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Scalar, E> {
                Ok(Scalar::Other("a number"))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Scalar, A::Error> {
                Ok(Scalar::Other("a list"))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<Scalar, A::Error> {
                Ok(Scalar::Other("a map"))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (here, command) = read::<CommandText, D>(deserializer)?;
        let command = command.and_then(|command| command.0);
        match &command {
            Some(Command::Shell(line)) if line.trim().is_empty() => {
                here.error(format!("{} must not be empty", here.label));
            }
            Some(Command::Argv(argv)) if argv.is_empty() => {
                here.error(format!("{} must not be an empty list", here.label));
            }
            _ => {}
        }
        Ok(command.unwrap_or(Command::Shell(String::new())))
    }
}

/// A command as written: a line, a list of arguments, or something else (reported).
struct CommandText(Option<Command>);

impl<'de> Deserialize<'de> for CommandText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit(Here);
        impl Visit {
            fn wrong<E>(self, found: &str) -> Result<CommandText, E> {
                self.0
                    .wrong_type("a shell line or a list of arguments", found);
                Ok(CommandText(None))
            }
        }
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = CommandText;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a command")
            }
            fn visit_str<E>(self, line: &str) -> Result<CommandText, E> {
                Ok(CommandText(Some(Command::Shell(line.to_string()))))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut items: A,
            ) -> Result<CommandText, A::Error> {
                let mut argv = Vec::new();
                while let Some(argument) = items.next_element::<Argument>()? {
                    argv.push(argument.0);
                }
                Ok(CommandText(Some(Command::Argv(argv))))
            }
            fn visit_unit<E>(self) -> Result<CommandText, E> {
                self.wrong("an empty value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<CommandText, E> {
                self.wrong("a boolean")
            }
            fn visit_i64<E>(self, _: i64) -> Result<CommandText, E> {
                self.wrong("an integer")
            }
            fn visit_u64<E>(self, _: u64) -> Result<CommandText, E> {
                self.wrong("an integer")
            }
            fn visit_f64<E>(self, _: f64) -> Result<CommandText, E> {
                self.wrong("a number")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                _: A,
            ) -> Result<CommandText, A::Error> {
                self.wrong("a map")
            }
        }
        let here = de::here();
        deserializer.deserialize_any(Visit(here))
    }
}

/// One argument of a command's list.
struct Argument(String);

impl<'de> Deserialize<'de> for Argument {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (here, text) = read::<Scalar, D>(deserializer)?;
        match text {
            Some(Scalar::Text(text)) => return Ok(Argument(text)),
            Some(other) => {
                let label = here.label.replace("an item of", "an argument of");
                here.error(format!(
                    "expected a string for {label}, found {}",
                    other.kind_name()
                ));
            }
            None => {}
        }
        Ok(Argument(String::new()))
    }
}

impl JsonSchema for Command {
    named!("command");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A shell line (run with `sh -c`) or a non-empty argument list.",
            "oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "minItems": 1, "items": {"type": "string"}}
            ]
        })
    }
}

/// A string checked by one of the format's rules (a path, a unit, a release...):
/// `$name` reads it with `$check` and describes it with `$schema`.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $schema_name:literal, $check:path, $schema:tt) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl $name {
            pub fn deserialize<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<String, D::Error> {
                let (here, text) = read::<String, D>(deserializer)?;
                if let Some(text) = &text
                    && let Err(message) = $check(text)
                {
                    here.error(message);
                }
                Ok(text.unwrap_or_default())
            }
        }

        impl JsonSchema for $name {
            named!($schema_name);

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

/// [`checked_string`] for an optional field.
macro_rules! optional {
    ($name:ident, $of:ident) => {
        #[derive(Debug)]
        pub struct $name;

        impl $name {
            pub fn deserialize<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Option<String>, D::Error> {
                $of::deserialize(deserializer).map(Some)
            }

            pub fn serialize<S: Serializer>(
                value: &Option<String>,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                match value {
                    Some(value) => serializer.serialize_str(value),
                    None => serializer.serialize_none(),
                }
            }
        }

        impl JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> Cow<'static, str> {
                <$of as JsonSchema>::schema_name()
            }

            fn json_schema(generator: &mut SchemaGenerator) -> Schema {
                <$of as JsonSchema>::json_schema(generator)
            }
        }
    };
}

checked_string!(
    /// An absolute path in a host.
    AbsolutePath,
    "absolutePath",
    super::parse::check_absolute_path,
    {"type": "string", "pattern": "^/"}
);
optional!(OptAbsolutePath, AbsolutePath);

checked_string!(
    /// An http:// or https:// URL of a Debian mirror.
    MirrorUrl,
    "mirrorUrl",
    super::parse::check_mirror_url,
    {"type": "string", "pattern": "^https?://"}
);
optional!(OptMirrorUrl, MirrorUrl);

checked_string!(
    /// A systemd unit, e.g. `apache2` or `mariadb.service`.
    UnitName,
    "unit",
    super::parse::check_unit_name,
    {"description": "A systemd unit, e.g. `apache2` or `mariadb.service`.", "type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9:_.@\\\\-]*$"}
);

checked_string!(
    /// The name a `snapshot` step saves the hosts under.
    SnapshotName,
    "snapshotName",
    super::parse::check_snapshot_name,
    {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$"}
);

checked_string!(
    /// A database name.
    DatabaseName,
    "databaseName",
    super::parse::check_database_name,
    {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$"}
);

checked_string!(
    /// An absolute path to copy: not `/`, no `..`.
    CopiedPath,
    "copiedPath",
    super::parse::check_copied_path,
    {"type": "string", "pattern": "^/"}
);

/// A Debian release codename this version of `rehearse` knows.
#[derive(Debug)]
pub struct Release;

impl Release {
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        let (here, name) = read::<String, D>(deserializer)?;
        if let Some(name) = &name
            && let Err(message) = super::parse::check_release(name)
        {
            here.error(message);
        }
        Ok(name.unwrap_or_default())
    }
}

impl JsonSchema for Release {
    named!("release");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let releases: Vec<&str> = crate::debian::release::codenames().collect();
        json_schema!({"description": "A Debian release codename.", "enum": releases})
    }
}

/// One absolute path to copy, or a list of them.
#[derive(Debug)]
pub struct CopiedPaths;

impl CopiedPaths {
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        let (here, paths) = read::<OneOrMany, D>(deserializer)?;
        let paths = paths.map(|paths| paths.0).unwrap_or_default();
        for (mark, path) in &paths {
            if let Err(message) = super::parse::check_copied_path(path) {
                here.at(*mark).error(message);
            }
        }
        Ok(paths.into_iter().map(|(_, path)| path).collect())
    }

    pub fn serialize<S: Serializer>(paths: &[String], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(paths)
    }
}

impl JsonSchema for CopiedPaths {
    fn inline_schema() -> bool {
        true
    }

    named!("copiedPaths");

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let path = generator.subschema_for::<CopiedPath>();
        json_schema!({"oneOf": [path, {"type": "array", "items": path}]})
    }
}

checked_string!(
    /// A host name as DNS writes it (`shop.example.org`).
    Hostname,
    "hostname",
    super::parse::check_hostname,
    {"type": "string", "pattern": "^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$"}
);

/// A size in bytes: an integer, or a string with a `K`, `M`, `G` or `T` suffix
/// (binary multiples); never zero.
#[derive(Debug)]
pub struct Size;

impl Size {
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let (here, value) = read::<Scalar, D>(deserializer)?;
        let (size, shown) = match value {
            None => return Ok(0),
            Some(Scalar::Int(bytes)) => (u64::try_from(bytes).ok(), format!("`{bytes}`")),
            Some(Scalar::Text(text)) => (
                crate::yaml::decoder_parse_byte_size(&text),
                format!("`{text}`"),
            ),
            Some(other) => {
                here.wrong_type("a size like `512M`", other.kind_name());
                return Ok(0);
            }
        };
        match size {
            Some(bytes) if bytes > 0 => Ok(bytes),
            _ => {
                here.error_with_help(
                    format!("invalid size {shown} for {}", here.label),
                    "write a positive number of bytes, or one with a suffix like `512M` or `2G`",
                );
                Ok(0)
            }
        }
    }
}

impl JsonSchema for Size {
    named!("size");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Bytes, or a size with a K, M, G or T suffix (binary).",
            "type": ["integer", "string"]
        })
    }
}

/// A text that must not be empty.
#[derive(Debug)]
pub struct NonEmpty;

impl NonEmpty {
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        let (here, text) = read::<String, D>(deserializer)?;
        if text.as_ref().is_some_and(|text| text.trim().is_empty()) {
            here.error(format!("{} must not be empty", here.label));
        }
        Ok(text.unwrap_or_default())
    }
}

impl JsonSchema for NonEmpty {
    fn inline_schema() -> bool {
        true
    }

    named!("nonEmpty");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "minLength": 1})
    }
}
optional!(OptNonEmpty, NonEmpty);

checked_string!(
    /// A Debian package name, optionally with an architecture (`libc6:amd64`).
    PackageName,
    "packageName",
    super::parse::check_package_name,
    {"type": "string", "pattern": "^[a-z0-9][a-z0-9+.:-]+$"}
);
optional!(OptUnitName, UnitName);
optional!(OptPackageName, PackageName);

/// An IPv4 or IPv6 address.
#[derive(Debug)]
pub struct IpAddress;

impl IpAddress {
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<std::net::IpAddr, D::Error> {
        let (here, text) = read::<Scalar, D>(deserializer)?;
        let text = match text {
            None => return Ok(std::net::Ipv4Addr::UNSPECIFIED.into()),
            Some(Scalar::Text(text)) => text,
            Some(Scalar::Int(value)) => value.to_string(),
            Some(other) => {
                here.wrong_type("a string", other.kind_name());
                return Ok(std::net::Ipv4Addr::UNSPECIFIED.into());
            }
        };
        text.parse().or_else(|_| {
            here.error(format!("invalid IP address `{text}` for {}", here.label));
            Ok(std::net::Ipv4Addr::UNSPECIFIED.into())
        })
    }
}

impl JsonSchema for IpAddress {
    named!("ipAddress");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"description": "An IPv4 or IPv6 address.", "type": "string"})
    }
}
