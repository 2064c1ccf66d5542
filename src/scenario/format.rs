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

/// `impl Format` for value types whose inherent `deserialize` and `serialize` give
/// a `$value`.
macro_rules! formats {
    ($($name:ident: $value:ty),* $(,)?) => {$(
        impl Format for $name {
            type Value = $value;

            fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<$value, D::Error> {
                $name::deserialize(deserializer)
            }

            fn write<S: Serializer>(value: &$value, serializer: S) -> Result<S::Ok, S::Error> {
                $name::serialize(value, serializer)
            }
        }
    )*};
}

/// A value type of the format, as a trait: how a value is read (its checks reported
/// where it is) and written (for the schema's defaults).
pub trait Format {
    type Value;

    fn read<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error>;

    fn write<S: Serializer>(value: &Self::Value, serializer: S) -> Result<S::Ok, S::Error>;
}

/// An optional field of the value type `T`: `#[serde(default, with = "Opt::<Span>")]`.
#[derive(Debug)]
pub struct Opt<T>(std::marker::PhantomData<T>);

impl<T: Format> Opt<T> {
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<T::Value>, D::Error> {
        T::read(deserializer).map(Some)
    }

    pub fn serialize<S: Serializer>(
        value: &Option<T::Value>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => T::write(value, serializer),
            None => serializer.serialize_none(),
        }
    }
}

impl<T: JsonSchema> JsonSchema for Opt<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<T>()
    }
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

/// What the value types of a scenario consult while it is decoded.
#[derive(Debug, Clone)]
pub struct Context {
    /// The names references must match.
    pub refs: Refs,
    /// Host `files:` may name files outside the scenario's folder.
    pub allow_files_outside: bool,
}

/// Reports a name that is not among the scenario's hosts (or probes, monitors).
fn check_ref(here: &Here, noun: Noun, name: &str) {
    de::context(|cx: &Context| {
        let refs = &cx.refs;
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

/// A reference by name (`$one`) and a name or list of names (`$many`) of one noun.
macro_rules! references {
    ($one:ident, $many:ident, $noun:ident, $one_name:literal, $many_name:literal, $description:literal) => {
        #[doc = $description]
        #[derive(Debug)]
        pub struct $one;

        impl $one {
            pub fn deserialize<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<String, D::Error> {
                one_name(deserializer, Noun::$noun)
            }

            pub fn serialize<S: Serializer>(name: &str, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(name)
            }
        }

        impl JsonSchema for $one {
            named!($one_name);

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({"description": $description, "type": "string"})
            }
        }

        /// One name or a list of them.
        #[derive(Debug)]
        pub struct $many;

        impl $many {
            pub fn deserialize<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Vec<String>, D::Error> {
                names(deserializer, Noun::$noun)
            }

            pub fn serialize<S: Serializer>(
                names: &[String],
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(names)
            }
        }

        impl JsonSchema for $many {
            fn inline_schema() -> bool {
                true
            }

            named!($many_name);

            fn json_schema(generator: &mut SchemaGenerator) -> Schema {
                one_or_more(generator.subschema_for::<$one>())
            }
        }
    };
}

references!(
    HostRef,
    HostRefs,
    Host,
    "hostRef",
    "hostRefs",
    "The name of a host of this scenario."
);
references!(
    ProbeRef,
    ProbeRefs,
    Probe,
    "probeRef",
    "probeRefs",
    "The name of a probe of this scenario."
);
references!(
    MonitorRef,
    MonitorRefs,
    Monitor,
    "monitorRef",
    "monitorRefs",
    "The name of a monitor of this scenario."
);

/// `item`, or a non-empty list of them.
fn one_or_more(item: Schema) -> Schema {
    json_schema!({"oneOf": [item, {"type": "array", "minItems": 1, "items": item}]})
}

/// A duration: `500ms`, `30s`, `2m`, `1h`, or a whole number of seconds; never zero.
#[derive(Debug)]
pub struct Span;

impl Span {
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        duration(deserializer, false)
    }

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*value).to_string())
    }
}

/// A duration read from the file; zero only when `zero` allows it (limits, where `0s`
/// means none at all).
fn duration<'de, D: Deserializer<'de>>(deserializer: D, zero: bool) -> Result<Duration, D::Error> {
    {
        let (here, value) = read::<Scalar, D>(deserializer)?;
        let duration = match value {
            None => None,
            Some(Scalar::Int(seconds)) if seconds >= 0 => {
                Some(Duration::from_secs(seconds.unsigned_abs()))
            }
            // A quoted whole number is the same number of seconds.
            Some(Scalar::Text(text))
                if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) =>
            {
                text.parse().ok().map(Duration::from_secs)
            }
            Some(Scalar::Float(seconds)) => {
                here.error_with_help(
                    format!("invalid duration `{seconds}` for {}", here.label),
                    "give whole seconds (`30`), or a unit for less than a second: `1500ms`",
                );
                None
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
        if !zero && duration.is_some_and(|d| d.is_zero()) {
            here.error(format!("{} must be longer than zero", here.label));
        }
        Ok(duration.unwrap_or_default())
    }
}

/// A limit in time: a [`Span`] that may be zero.
#[derive(Debug)]
pub struct TimeLimit;

impl TimeLimit {
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        duration(deserializer, true)
    }

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        Span::serialize(value, serializer)
    }
}

impl JsonSchema for TimeLimit {
    named!("timeLimit");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration like `500ms`, `30s`, `2m`, `1h`, or an integer number of seconds; `0s` allows none.",
            "type": ["string", "integer"],
            "minimum": 0
        })
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
    Float(f64),
    Text(String),
    Other(&'static str),
}

impl Scalar {
    fn kind_name(&self) -> &'static str {
        match self {
            Scalar::Int(_) => "an integer",
            Scalar::Float(_) => "a number",
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
            fn visit_f64<E>(self, value: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(value))
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

            pub fn serialize<S: Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(text)
            }
        }

        formats!($name: String);

        impl JsonSchema for $name {
            named!($schema_name);

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
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

checked_string!(
    /// An http:// or https:// URL of a Debian mirror.
    MirrorUrl,
    "mirrorUrl",
    super::parse::check_mirror_url,
    {"type": "string", "pattern": "^https?://"}
);

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
            Some(Scalar::Text(text)) => (crate::yaml::parse_byte_size(&text), format!("`{text}`")),
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

impl Size {
    pub fn serialize<S: Serializer>(size: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(*size)
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

    pub fn serialize<S: Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(text)
    }
}

formats!(NonEmpty: String);

impl JsonSchema for NonEmpty {
    fn inline_schema() -> bool {
        true
    }

    named!("nonEmpty");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "minLength": 1})
    }
}

checked_string!(
    /// A Debian package name, optionally with an architecture (`libc6:amd64`).
    PackageName,
    "packageName",
    super::parse::check_package_name,
    {"type": "string", "pattern": "^[a-z0-9][a-z0-9+.:-]+$"}
);

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

/// A map of named objects (`hosts:`, `probes:`), in the order written: each name checked
/// by `check`, each value read as `T` and called "NOUN `name`" in messages.
pub fn named_map<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
    noun: &str,
    check: fn(&str) -> Result<(), String>,
) -> Result<Vec<(String, T)>, D::Error> {
    struct Visit<T> {
        check: fn(&str) -> Result<(), String>,
        items: std::marker::PhantomData<T>,
    }
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
        type Value = Vec<(String, T)>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of names")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::new();
            while let Some(name) = map.next_key::<String>()? {
                if let Err(message) = (self.check)(&name) {
                    de::here().error(message);
                }
                entries.push((name, map.next_value()?));
            }
            Ok(entries)
        }
    }
    de::named_entries(noun);
    deserializer.deserialize_map(Visit {
        check,
        items: std::marker::PhantomData,
    })
}

/// A named object: the name is its key in the map, not one of its fields.
pub trait Named {
    fn set_name(&mut self, name: String);
}

/// `named_map` into the objects themselves, named.
fn named<'de, D: Deserializer<'de>, T: Deserialize<'de> + Named>(
    deserializer: D,
    noun: &str,
    check: fn(&str) -> Result<(), String>,
) -> Result<Vec<T>, D::Error> {
    Ok(named_map::<D, T>(deserializer, noun, check)?
        .into_iter()
        .map(|(name, mut value)| {
            value.set_name(name);
            value
        })
        .collect())
}

/// `hosts:`: the replica hosts, by name; at least one.
#[derive(Debug)]
pub struct Hosts;

impl Hosts {
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<super::model::Host>, D::Error> {
        let here = de::here();
        let hosts = named(deserializer, "host", super::parse::check_host_name)?;
        if hosts.is_empty() && !here.is_silent() {
            here.error("`hosts` must define at least one host");
        }
        Ok(hosts)
    }
}

impl JsonSchema for Hosts {
    fn inline_schema() -> bool {
        true
    }

    named!("hosts");

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let host = generator.subschema_for::<super::model::Host>();
        json_schema!({
            "description": "The replica hosts, by name.",
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
            "additionalProperties": host
        })
    }
}

impl Named for super::model::Host {
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
}

checked_string!(
    /// Name of a recipe: `images/<image>/recipe.yaml`.
    RecipeName,
    "recipeName",
    super::parse::check_recipe_name,
    {"description": "Name of a recipe: `images/<image>/recipe.yaml`.", "type": "string", "pattern": "^[a-z0-9][a-z0-9._-]*$"}
);

/// DNS names, each checked.
#[derive(Debug)]
pub struct Hostnames;

impl Hostnames {
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        let names: Vec<Item> = Deserialize::deserialize(deserializer)?;
        let here = de::here();
        Ok(names
            .into_iter()
            .filter_map(|item| item.0)
            .map(|(mark, name)| {
                if let Err(message) = super::parse::check_hostname(&name) {
                    here.at(mark).error(message);
                }
                name
            })
            .collect())
    }

    pub fn serialize<S: Serializer>(names: &[String], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(names)
    }
}

impl JsonSchema for Hostnames {
    fn inline_schema() -> bool {
        true
    }

    named!("hostnames");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "array", "items": {"type": "string"}})
    }
}

/// Environment variables: names checked, any scalar value taken as text.
#[derive(Debug)]
pub struct EnvMap;

impl EnvMap {
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(String, String)>, D::Error> {
        text_map(deserializer, super::parse::check_env_name)
    }

    pub fn serialize<S: Serializer>(
        values: &[(String, String)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(values.iter().map(|(k, v)| (k, v)))
    }
}

impl JsonSchema for EnvMap {
    fn inline_schema() -> bool {
        true
    }

    named!("env");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean", "null"]}
        })
    }
}

/// A map of names (checked) to scalars read as text, in the order written.
pub fn text_map<'de, D: Deserializer<'de>>(
    deserializer: D,
    check: fn(&str) -> Result<(), String>,
) -> Result<Vec<(String, String)>, D::Error> {
    struct Visit(fn(&str) -> Result<(), String>);
    impl<'de> serde::de::Visitor<'de> for Visit {
        type Value = Vec<(String, String)>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::new();
            while let Some(name) = map.next_key::<String>()? {
                if let Err(message) = (self.0)(&name) {
                    de::here().error(message);
                }
                let text: Text = map.next_value()?;
                entries.push((name, text.0));
            }
            Ok(entries)
        }
    }
    deserializer.deserialize_map(Visit(check))
}

/// Any scalar as text (`8080` is "8080", an empty value is "").
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit(Here);
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Text;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E>(self, text: &str) -> Result<Text, E> {
                Ok(Text(text.to_string()))
            }
            fn visit_i64<E>(self, value: i64) -> Result<Text, E> {
                Ok(Text(value.to_string()))
            }
            fn visit_u64<E>(self, value: u64) -> Result<Text, E> {
                Ok(Text(value.to_string()))
            }
            fn visit_f64<E>(self, value: f64) -> Result<Text, E> {
                Ok(Text(value.to_string()))
            }
            fn visit_bool<E>(self, value: bool) -> Result<Text, E> {
                Ok(Text(value.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Text, E> {
                Ok(Text(String::new()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Text, A::Error> {
                self.0.wrong_type("a string", "a list");
                Ok(Text(String::new()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<Text, A::Error> {
                self.0.wrong_type("a string", "a map");
                Ok(Text(String::new()))
            }
        }
        let here = de::here();
        deserializer.deserialize_any(Visit(here))
    }
}

/// Where a host file comes from: relative to the scenario's folder and inside it,
/// unless `allow_files_outside`.
#[derive(Debug)]
pub struct LocalSource;

impl LocalSource {
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<std::path::PathBuf, D::Error> {
        let (here, src) = read::<String, D>(deserializer)?;
        if let Some(src) = &src {
            let outside = de::context(|cx: &Context| cx.allow_files_outside).unwrap_or(false);
            if let Err(message) = super::parse::check_local_source(src, outside) {
                here.error_with_help(
                    message,
                    "name a file inside the scenario's folder, or set `allow_files_outside: true` at the top of the scenario",
                );
            }
        }
        Ok(src.unwrap_or_default().into())
    }
}

impl JsonSchema for LocalSource {
    named!("localSource");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"description": "Path relative to the scenario's folder, staying inside it (no absolute path, no `..`, no link leading out) unless `allow_files_outside: true`.", "type": "string", "minLength": 1})
    }
}

checked_string!(
    /// Absolute path of the file in the host.
    HostDestination,
    "hostDestination",
    super::parse::check_host_destination,
    {"description": "Absolute path of the file in the host.", "type": "string", "pattern": "^/"}
);

/// Permission bits as an octal string (`"0644"`); a bare number is refused, since
/// `0644` unquoted is read as decimal 644.
#[derive(Debug)]
pub struct Mode;

impl Mode {
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
        let (here, value) = read::<Scalar, D>(deserializer)?;
        let text = match value {
            None => return Ok(0o644),
            Some(Scalar::Text(text)) => text,
            Some(Scalar::Int(_)) | Some(Scalar::Float(_)) => {
                here.error_with_help(
                    "expected an octal string for `mode`, found a number",
                    "quote it, like `mode: \"0644\"`",
                );
                return Ok(0o644);
            }
            Some(other) => {
                here.wrong_type("a string", other.kind_name());
                return Ok(0o644);
            }
        };
        match u32::from_str_radix(&text, 8)
            .ok()
            .filter(|mode| *mode <= 0o7777)
        {
            Some(mode) => Ok(mode),
            None => {
                here.error(format!(
                    "invalid mode `{text}`: expected octal digits like `0644`"
                ));
                Ok(0o644)
            }
        }
    }

    pub fn serialize<S: Serializer>(mode: &u32, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{mode:04o}"))
    }
}

impl JsonSchema for Mode {
    named!("mode");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"description": "Permission bits as an octal string (default \"0644\").", "type": "string", "pattern": "^[0-7]{1,4}$"})
    }
}

/// A form field name: letters, digits and `_`, starting with a letter.
#[derive(Debug)]
pub struct FormField;

impl FormField {
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        let (here, field) = read::<String, D>(deserializer)?;
        if let Some(field) = &field {
            let ok = field.len() <= 64
                && field
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                here.error(format!(
                    "invalid form field `{field}`: expected letters, digits and `_`"
                ));
            }
        }
        Ok(field.unwrap_or_default())
    }

    pub fn serialize<S: Serializer>(field: &str, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(field)
    }
}

impl JsonSchema for FormField {
    fn inline_schema() -> bool {
        true
    }

    named!("formField");

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]{0,63}$"})
    }
}

/// A number as written, read without the schema's bounds (its type checks them with
/// its own words); `None` when it was not a number (reported).
#[derive(Debug)]
pub struct Number(pub Option<f64>);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (here, value) = read::<Scalar, D>(deserializer)?;
        Ok(Number(match value {
            None => None,
            Some(Scalar::Int(value)) => Some(value as f64),
            Some(Scalar::Float(value)) => Some(value),
            Some(other) => {
                here.wrong_type("a number", other.kind_name());
                None
            }
        }))
    }
}

formats!(
    HostRef: String,
    ProbeRef: String,
    MonitorRef: String,
    Span: Duration,
    TimeLimit: Duration,
    Size: u64,
);

checked_string!(
    /// The path of an HTTP request, from `/`.
    HttpPath,
    "httpPath",
    super::parse::check_http_path,
    {"type": "string", "pattern": "^/"}
);

checked_string!(
    /// A regular expression the body must match.
    BodyRegex,
    "bodyRegex",
    super::parse::check_regex,
    {"type": "string"}
);

/// The keys of which a `T` takes exactly one: its schema's `oneOf` of `required`.
pub fn choice_keys<T: JsonSchema + 'static>() -> Vec<String> {
    de::schema_of::<T>()
        .get("oneOf")
        .and_then(serde_json::Value::as_array)
        .map(|choices| {
            choices
                .iter()
                .filter_map(|choice| choice.get("required")?.get(0)?.as_str())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Reports none of `kinds` in the map at `node` (named `what` in messages), or more
/// than one; the one present.
pub fn exactly_one(
    d: &crate::yaml::Decoder,
    node: &serde_saphyr::Spanned<crate::yaml::Node>,
    what: &str,
    noun: &str,
    kinds: &[String],
) -> Option<String> {
    use crate::yaml::{Mark, Node};
    let Node::Map(entries) = &node.value else {
        return None;
    };
    let names = || kinds.iter().map(String::as_str);
    let present: Vec<_> = entries
        .iter()
        .filter(|(key, _)| kinds.contains(&key.value))
        .map(|(key, _)| key)
        .collect();
    let Some(first) = present.first() else {
        // A misspelled kind already has its "did you mean".
        let misspelled = entries
            .iter()
            .any(|(key, _)| closest(&key.value, names()).is_some());
        if !misspelled {
            d.error(
                Mark::of(node),
                format!(
                    "missing {noun} in {what}: expected one of {}",
                    one_of(names())
                ),
            );
        }
        return None;
    };
    for other in &present[1..] {
        d.error_with_help(
            Mark::of_key(other),
            format!("second {noun} `{}` in {what}", other.value),
            format!(
                "use only one of {}; `{}` is already set",
                one_of(names()),
                first.value
            ),
        );
    }
    Some(first.value.clone())
}
