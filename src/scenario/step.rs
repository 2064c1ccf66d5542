//! A step's kind as the scenario holds it: the kind's own fields behind a trait.
//!
//! Each kind is one module above the scenario (`runner/steps/<kind>.rs`): its fields,
//! how they are decoded and checked, its schema, its label and default timeout, and how
//! it runs. The scenario knows none of them by name: the parser is handed the list of
//! kinds ([`StepKinds`]) and keeps what a kind decoded as a [`StepKind`].

use std::any::Any;
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_saphyr::Spanned;

use super::parse::Refs;
use crate::yaml::{Decoder, Node, Typed};

/// What a step kind is to the scenario: its fields, and how they are read and described.
pub trait StepSpec:
    DeserializeOwned + JsonSchema + fmt::Debug + Clone + PartialEq + Send + Sync + 'static
{
    /// The kind's key in scenario files, also its name in reports (`exec`, `dns-switch`).
    const KIND: &'static str;

    /// The timeout of a step of this kind that gives none.
    fn default_timeout(&self) -> Duration;

    /// The step's name when the scenario gives none ("reboot web").
    fn derived_name(&self) -> String;

    /// The fields from the value under the kind's key, every problem reported to
    /// `input.d`; `None` when something was wrong. By default the fields' own
    /// `Deserialize` ([`decode_fields`]); a kind overrides it to check its fields
    /// against each other as well.
    fn decode(input: &StepInput<'_>, body: &Spanned<Node>) -> Option<Self> {
        decode_fields(input, body)
    }

    /// The JSON Schema of the value under the kind's key, its definitions added to
    /// `generator`: the fields type's own by default.
    fn schema(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<Self>()
    }

    /// Checks of the step against the others (a `rollback` names a snapshot taken
    /// before it), once every step is decoded; problems go to `seq.d`.
    fn check_in_sequence(&self, seq: &StepSequence<'_>) {
        let _ = seq;
    }
}

/// A kind's fields read with their `Deserialize` (see [`crate::yaml::de`]): messages
/// about keys name "`exec` of step 3", those about references "step 3".
pub fn decode_fields<T: StepSpec>(input: &StepInput<'_>, body: &Spanned<Node>) -> Option<T> {
    decode_as(input, T::KIND, body)
}

/// The value under the kind's key read as `T` (a kind whose fields are read through
/// a type of the format first), as [`decode_fields`] does.
pub fn decode_as<T: DeserializeOwned + JsonSchema + 'static>(
    input: &StepInput<'_>,
    kind: &str,
    body: &Spanned<Node>,
) -> Option<T> {
    Typed::new(input.d, format!("`{kind}` of {}", input.what))
        .owner(input.what)
        .context(super::format::Context {
            refs: input.refs.clone(),
            allow_files_outside: false,
        })
        .decode(body)
}

/// The steps of a scenario as a kind's [`StepSpec::check_in_sequence`] sees them.
#[derive(Debug)]
pub struct StepSequence<'a> {
    pub d: &'a Decoder,
    /// The steps that decoded, in order, with their final names.
    pub steps: &'a [super::Step],
    /// The node of each of `steps`.
    pub items: &'a [Spanned<Node>],
    /// The node of every step of the file, including those that did not decode.
    pub all_items: &'a [Spanned<Node>],
    /// The checked step's place in `steps`.
    pub index: usize,
}

impl StepSequence<'_> {
    /// The checked step's node.
    pub fn item(&self) -> &Spanned<Node> {
        &self.items[self.index]
    }

    /// The steps before the checked one.
    pub fn earlier(&self) -> &[super::Step] {
        &self.steps[..self.index]
    }
}

/// What a kind's decoder is given besides the value it decodes.
#[derive(Debug)]
pub struct StepInput<'a> {
    /// Where problems are reported.
    pub d: &'a Decoder,
    /// The step in messages: "step `upgrade web`" or "step 3".
    pub what: &'a str,
    /// The names of the scenario's hosts, probes and monitors a step may refer to.
    pub refs: &'a Refs,
}

/// The object-safe face of a [`StepSpec`], so fields of any kind fit in one list.
trait AnyStep: fmt::Debug + Send + Sync {
    fn kind(&self) -> &'static str;
    fn default_timeout(&self) -> Duration;
    fn derived_name(&self) -> String;
    fn as_any(&self) -> &dyn Any;
    fn clone_box(&self) -> Box<dyn AnyStep>;
    fn same_as(&self, other: &dyn AnyStep) -> bool;
    fn check_in_sequence(&self, seq: &StepSequence<'_>);
}

impl<T: StepSpec> AnyStep for T {
    fn kind(&self) -> &'static str {
        T::KIND
    }

    fn default_timeout(&self) -> Duration {
        StepSpec::default_timeout(self)
    }

    fn derived_name(&self) -> String {
        StepSpec::derived_name(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn clone_box(&self) -> Box<dyn AnyStep> {
        Box::new(self.clone())
    }

    fn same_as(&self, other: &dyn AnyStep) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }

    fn check_in_sequence(&self, seq: &StepSequence<'_>) {
        StepSpec::check_in_sequence(self, seq)
    }
}

/// A step's kind and its fields, whichever kind it is: the kind's fields type
/// (`runner/steps/<kind>.rs`) behind [`StepSpec`].
pub struct StepKind(Box<dyn AnyStep>);

impl StepKind {
    pub fn new<T: StepSpec>(fields: T) -> Self {
        StepKind(Box::new(fields))
    }

    /// The kind's name in scenario files and reports ([`StepSpec::KIND`]).
    pub fn label(&self) -> &'static str {
        self.0.kind()
    }

    /// The timeout of a step of this kind that gives none.
    pub fn default_timeout(&self) -> Duration {
        self.0.default_timeout()
    }

    pub fn derived_name(&self) -> String {
        self.0.derived_name()
    }

    /// See [`StepSpec::check_in_sequence`].
    pub fn check_in_sequence(&self, seq: &StepSequence<'_>) {
        self.0.check_in_sequence(seq)
    }

    /// The fields, if the step is of kind `T`.
    pub fn get<T: StepSpec>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref()
    }
}

impl Clone for StepKind {
    fn clone(&self) -> Self {
        StepKind(self.0.clone_box())
    }
}

impl PartialEq for StepKind {
    fn eq(&self, other: &Self) -> bool {
        self.0.same_as(other.0.as_ref())
    }
}

impl fmt::Debug for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A kind as the parser sees it, whatever its fields' type.
pub trait StepKindDecl: Send + Sync {
    fn name(&self) -> &'static str;
    fn decode(&self, input: &StepInput<'_>, body: &Spanned<Node>) -> Option<StepKind>;
    fn schema(&self, generator: &mut SchemaGenerator) -> Schema;
}

/// The [`StepKindDecl`] of the kind whose fields are `T`.
pub struct KindOf<T>(std::marker::PhantomData<fn() -> T>);

impl<T> KindOf<T> {
    pub const DECL: KindOf<T> = KindOf(std::marker::PhantomData);
}

impl<T: StepSpec> StepKindDecl for KindOf<T> {
    fn name(&self) -> &'static str {
        T::KIND
    }

    fn decode(&self, input: &StepInput<'_>, body: &Spanned<Node>) -> Option<StepKind> {
        T::decode(input, body).map(StepKind::new)
    }

    fn schema(&self, generator: &mut SchemaGenerator) -> Schema {
        T::schema(generator)
    }
}

/// The step kinds a scenario may use, in the order messages list them. Assembled
/// above the scenario (by the runner, which owns the kinds) and handed to the parser.
#[derive(Clone, Copy)]
pub struct StepKinds {
    decls: &'static [&'static dyn StepKindDecl],
    /// The kinds' names, in the same order.
    names: &'static [&'static str],
    /// The keys a step may have: [`StepCommon`]'s, then the kinds' names (made once).
    step_keys: &'static OnceLock<Vec<&'static str>>,
}

/// The keys every step may have besides its kind.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepCommon {
    /// Unique step name; derived from the step when absent.
    pub name: Option<String>,
    /// Defaults to 5m (probe, exec), 3m (reboot), 2m (fault, revert) or 1h (upgrade).
    #[serde(default, with = "super::format::Opt::<super::format::Span>")]
    pub timeout: Option<Duration>,
    /// Record a failure without stopping the run; gates decide.
    #[serde(default)]
    pub allow_failure: bool,
}

impl fmt::Debug for StepKinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names).finish()
    }
}

impl StepKinds {
    /// `names` are the decls' names (see `runner::steps::step_kinds!`, which writes both
    /// from one list); `step_keys` is where the keys of a step are kept once made.
    pub const fn new(
        decls: &'static [&'static dyn StepKindDecl],
        names: &'static [&'static str],
        step_keys: &'static OnceLock<Vec<&'static str>>,
    ) -> Self {
        StepKinds {
            decls,
            names,
            step_keys,
        }
    }

    pub fn find(&self, name: &str) -> Option<&'static dyn StepKindDecl> {
        self.decls.iter().copied().find(|decl| decl.name() == name)
    }

    pub fn names(&self) -> &'static [&'static str] {
        self.names
    }

    /// The keys a step may have: [`StepCommon`]'s fields, then the kinds' names.
    pub fn step_keys(&self) -> &'static [&'static str] {
        self.step_keys
            .get_or_init(|| [crate::yaml::de::fields_of::<StepCommon>(), self.names].concat())
    }

    pub fn iter(&self) -> impl Iterator<Item = &'static dyn StepKindDecl> + '_ {
        self.decls.iter().copied()
    }
}

impl<T> fmt::Debug for KindOf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KindOf")
    }
}
