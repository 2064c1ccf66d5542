//! Typed decoding with serde over the spanned tree, every problem collected.
//!
//! A type of the file format declares its fields once: `#[derive(Deserialize,
//! JsonSchema)]` gives both how it is read and how it is described. [`Typed::decode`]
//! runs that `Deserialize` over a [`Node`] tree with a deserializer that never stops
//! at a mistake:
//!
//! - an unknown key is reported with the closest known one (the struct's fields, as
//!   serde lists them); a key missing is reported at its map (the required ones are
//!   the schema's `required`), unless a misspelled key already suggested it;
//! - a value of the wrong type, a number out of the schema's `minimum`/`maximum`, a
//!   word that is not one of an enum's variants: reported where the value is, and
//!   replaced by a made-up value so the rest of the file is still read;
//! - the value types of the format (durations, references by name, commands...)
//!   check their own values and report through [`Here`], which knows where the value
//!   is and what it is called.
//!
//! Made-up values never produce messages of their own, and a value is only returned
//! when nothing was reported.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use schemars::JsonSchema;
use serde::de::value::StrDeserializer;
use serde::de::{
    self, Deserialize, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess,
    IntoDeserializer, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde_json::Value;
use serde_saphyr::Spanned;

use super::decoder::Decoder;
use super::diagnostic::{Diagnostic, Mark};
use super::node::Node;
use super::suggest::{closest, one_of};

/// How a value is decoded: where its messages say it is, and what its value types
/// may consult (such as the names that references must match).
#[derive(Debug)]
pub struct Typed<'a> {
    d: &'a Decoder,
    what: String,
    owner: String,
    label: String,
    context: Option<Rc<dyn Any>>,
    top_level: bool,
}

impl<'a> Typed<'a> {
    /// `what` names the value in messages about its keys ("host `web`").
    pub fn new(d: &'a Decoder, what: impl Into<String>) -> Self {
        let what = what.into();
        Typed {
            d,
            label: what.clone(),
            owner: what.clone(),
            what,
            context: None,
            top_level: false,
        }
    }

    /// The value is a whole file: its keys are called "`drill`", not "`drill` of the
    /// scenario", and so is the object references inside them are in.
    pub fn top_level(mut self) -> Self {
        self.top_level = true;
        self.owner = String::new();
        self
    }

    /// The object that messages about references name ("unknown host `x` in step 3");
    /// `what` by default.
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// How the value itself is called in "expected X for LABEL" (`what` by default).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Data the value types may read with [`context`] while decoding.
    pub fn context<C: Any>(mut self, context: C) -> Self {
        self.context = Some(Rc::new(context));
        self
    }

    /// The value, every problem reported to the decoder. Where something was wrong
    /// the value holds what was written, or a made-up stand-in (empty, zero) for a
    /// value of the wrong type or a key missing, so that checks across fields and
    /// steps still run; `None` only when nothing could be read.
    pub fn decode<T: DeserializeOwned + JsonSchema + 'static>(
        self,
        node: &Spanned<Node>,
    ) -> Option<T> {
        let here = Here {
            mark: Mark::of(node),
            label: self.label.clone(),
            owner: self.owner.clone(),
            silent: false,
        };
        STACK.with(|stack| {
            stack.borrow_mut().push(Frame {
                errors: Vec::new(),
                here: here.clone(),
                noun: None,
                schema: schema_of::<T>(),
                context: self.context.clone(),
            })
        });
        let result = T::deserialize(De {
            node,
            label: self.label.clone(),
            what: self.what.clone(),
            owner: self.owner.as_str().into(),
            bounds: Bounds::default(),
            top_level: self.top_level,
        });
        let frame = STACK.with(|stack| stack.borrow_mut().pop());
        let mut errors = frame.map(|frame| frame.errors).unwrap_or_default();
        if let Err(error) = &result
            && errors.is_empty()
        {
            errors.push(Diagnostic::new(here.mark, error.to_string()));
        }
        for error in errors {
            self.d.report(error);
        }
        result.ok()
    }
}

/// Where the value being decoded is, and how messages name it. A value type takes
/// it (with [`here`]) before it reads its value.
#[derive(Debug, Clone)]
pub struct Here {
    pub mark: Mark,
    /// The value in messages: "`port`", "an item of `hints`".
    pub label: String,
    /// The object that holds it, for references: "probe `homepage`", "step 3".
    pub owner: String,
    /// The value is made up (it replaces one that was wrong or missing): nothing is
    /// reported about it.
    silent: bool,
}

impl Here {
    /// The value is made up: nothing is reported about it.
    pub fn is_silent(&self) -> bool {
        self.silent
    }

    /// The same value's place moved to `mark` (an item of it).
    pub fn at(&self, mark: Mark) -> Here {
        Here {
            mark,
            ..self.clone()
        }
    }

    pub fn error(&self, message: impl Into<String>) {
        self.push(Diagnostic::new(self.mark, message));
    }

    pub fn error_with_help(&self, message: impl Into<String>, help: impl Into<String>) {
        self.push(Diagnostic::new(self.mark, message).with_help(help));
    }

    /// Reports "expected X for LABEL, found Y".
    pub fn wrong_type(&self, expected: &str, found: &str) {
        self.error(format!(
            "expected {expected} for {}, found {found}",
            self.label
        ));
    }

    fn push(&self, diagnostic: Diagnostic) {
        if self.silent {
            return;
        }
        STACK.with(|stack| {
            if let Some(frame) = stack.borrow_mut().last_mut() {
                frame.errors.push(diagnostic);
            }
        });
    }
}

/// The value being decoded now.
pub fn here() -> Here {
    STACK.with(|stack| {
        stack
            .borrow()
            .last()
            .map(|frame| frame.here.clone())
            .unwrap_or_else(|| Here {
                mark: Mark::default(),
                label: String::new(),
                owner: String::new(),
                silent: true,
            })
    })
}

/// Decodes a `T` where it is: where that is, and the value when it is real and
/// nothing was wrong with it (a value type checks only such values further).
pub fn value<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<(Here, Option<T>), D::Error> {
    let here = here();
    let before = reported();
    let value = T::deserialize(deserializer)?;
    let clean = !here.silent && reported() == before;
    Ok((here, clean.then_some(value)))
}

fn reported() -> usize {
    STACK.with(|stack| stack.borrow().last().map_or(0, |frame| frame.errors.len()))
}

/// The fields serde reads for the struct `T`, in order (what `deserialize_struct` is
/// told; nothing is read).
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Fields;
    impl<'de> Deserializer<'de> for Fields {
        type Error = Error;

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Error> {
            FIELDS.with(|cell| cell.set(Some(fields)));
            Err(Error(String::new()))
        }

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
            Err(Error(String::new()))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    FIELDS.with(|fields| fields.set(None));
    let _ = T::deserialize(Fields);
    FIELDS.with(|fields| fields.take()).unwrap_or_default()
}

thread_local! {
    static FIELDS: std::cell::Cell<Option<&'static [&'static str]>> = const { std::cell::Cell::new(None) };
}

/// Reads the context given to [`Typed::context`], if it is a `C`.
pub fn context<C: Any, R>(read: impl FnOnce(&C) -> R) -> Option<R> {
    let context = STACK.with(|stack| stack.borrow().last().and_then(|f| f.context.clone()))?;
    context.downcast_ref::<C>().map(read)
}

/// The JSON Schema of `T` as a value, with its `$defs` (cached per type).
pub fn schema_of<T: JsonSchema + 'static>() -> Rc<Value> {
    thread_local! {
        static SCHEMAS: RefCell<HashMap<TypeId, Rc<Value>>> = RefCell::default();
    }
    SCHEMAS.with(|schemas| {
        schemas
            .borrow_mut()
            .entry(TypeId::of::<T>())
            .or_insert_with(|| {
                let schema = schemars::generate::SchemaSettings::draft2020_12()
                    .into_generator()
                    .into_root_schema_for::<T>();
                Rc::new(serde_json::to_value(schema).unwrap_or_default())
            })
            .clone()
    })
}

thread_local! {
    static STACK: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

struct Frame {
    errors: Vec<Diagnostic>,
    here: Here,
    /// What the entries of the next map are called ("host"), see [`named_entries`].
    noun: Option<String>,
    schema: Rc<Value>,
    context: Option<Rc<dyn Any>>,
}

fn set_here(mark: Mark, label: &str, owner: Option<&str>, silent: bool) {
    STACK.with(|stack| {
        if let Some(frame) = stack.borrow_mut().last_mut() {
            frame.here.mark = mark;
            frame.here.label = label.to_string();
            if let Some(owner) = owner {
                frame.here.owner = owner.to_string();
            }
            frame.here.silent = silent;
        }
    });
}

/// The entries of the map (or the items of the list, "gate 1") decoded next are named objects: messages call the one under
/// key `web` "host `web`" (`noun` = "host"), and references inside it name it too.
/// A value type calls this just before it reads a map with `deserialize_map`.
pub fn named_entries(noun: &str) {
    STACK.with(|stack| {
        if let Some(frame) = stack.borrow_mut().last_mut() {
            frame.noun = Some(noun.to_string());
        }
    });
}

fn take_noun() -> Option<String> {
    STACK.with(|stack| {
        stack
            .borrow_mut()
            .last_mut()
            .and_then(|frame| frame.noun.take())
    })
}

/// The schema of the struct serde calls `name`: the root's, or one of its `$defs`.
fn struct_schema(name: &str) -> Option<Value> {
    STACK.with(|stack| {
        let stack = stack.borrow();
        let root = &stack.last()?.schema;
        match root.get("$defs").and_then(|defs| defs.get(name)) {
            Some(schema) => Some(schema.clone()),
            // The root type is not among its own definitions.
            None => Some(root.as_ref().clone()),
        }
    })
}

/// A message of serde's own (a type's `Deserialize` that gave up).
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Error(message.to_string())
    }
}

/// Limits of a number from its schema (`minimum`, `maximum`, `exclusiveMinimum`).
#[derive(Debug, Clone, Copy, Default)]
struct Bounds {
    minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_minimum: Option<f64>,
}

impl Bounds {
    fn of(schema: Option<&Value>) -> Bounds {
        let get = |key: &str| schema.and_then(|s| s.get(key)).and_then(Value::as_f64);
        Bounds {
            minimum: get("minimum"),
            maximum: get("maximum"),
            exclusive_minimum: get("exclusiveMinimum"),
        }
    }

    /// What is wrong with `value`, in "must be ..." words.
    fn check(&self, value: f64) -> Option<String> {
        let show = |bound: f64| {
            if bound.fract() == 0.0 && bound.abs() < 1e15 {
                format!("{}", bound as i64)
            } else {
                bound.to_string()
            }
        };
        if let Some(low) = self.exclusive_minimum
            && value <= low
        {
            return Some(format!("greater than {}", show(low)));
        }
        let below = self.minimum.is_some_and(|low| value < low);
        let above = self.maximum.is_some_and(|high| value > high);
        if !below && !above {
            return None;
        }
        Some(match (self.minimum, self.maximum) {
            (Some(low), Some(high)) => format!("between {} and {}", show(low), show(high)),
            (Some(low), None) => format!("at least {}", show(low)),
            (None, Some(high)) => format!("at most {}", show(high)),
            (None, None) => unreachable!("a bound was crossed"),
        })
    }
}

/// The deserializer of one value of the tree.
struct De<'a> {
    node: &'a Spanned<Node>,
    /// The value in messages about its type ("`port`").
    label: String,
    /// The map in messages about its keys ("`http` of probe `homepage`").
    what: String,
    /// The object in messages about references ("probe `homepage`"); empty: the
    /// value's own `what`.
    owner: Rc<str>,
    bounds: Bounds,
    /// The map is the whole file: its keys' values are named alone.
    top_level: bool,
}

impl<'a> De<'a> {
    fn child(
        node: &'a Spanned<Node>,
        label: String,
        what: String,
        owner: Rc<str>,
        bounds: Bounds,
    ) -> Self {
        let de = De {
            node,
            label,
            what,
            owner,
            bounds,
            top_level: false,
        };
        set_here(Mark::of(node), &de.label, Some(de.owner()), false);
        de
    }

    fn owner(&self) -> &str {
        if self.owner.is_empty() {
            &self.what
        } else {
            &self.owner
        }
    }

    fn here(&self) -> Here {
        set_here(Mark::of(self.node), &self.label, Some(self.owner()), false);
        here()
    }

    /// Reports "expected a map for WHAT, found Y": a map is named as in messages about
    /// its keys ("`expect` of probe `home`"), and goes on with a made-up value.
    fn wrong_map<V: Visitor<'a>>(
        self,
        visit: impl FnOnce(Made<'a>, V) -> Result<V::Value, Error>,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let here = self.here();
        let found = self.node.value.kind_name();
        here.error(format!("expected a map for {}, found {found}", self.what));
        visit(Made::new(self.node), visitor)
    }

    /// Reports "expected X, found Y" and goes on with a made-up value.
    fn wrong<V: Visitor<'a>>(
        self,
        expected: &str,
        visit: impl FnOnce(Made<'a>, V) -> Result<V::Value, Error>,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.here()
            .wrong_type(expected, self.node.value.kind_name());
        visit(Made::new(self.node), visitor)
    }

    fn integer<V: Visitor<'a>>(self, low: i128, high: i128, visitor: V) -> Result<V::Value, Error> {
        let Node::Int(value) = self.node.value else {
            return self.wrong("an integer", |made, v| made.deserialize_i64(v), visitor);
        };
        let value = i128::from(value);
        let bounds = Bounds {
            minimum: Some(
                self.bounds
                    .minimum
                    .map_or(low as f64, |m| m.max(low as f64)),
            ),
            // The largest 64-bit integers are no limit worth naming.
            maximum: match (self.bounds.maximum, high < i128::from(i64::MAX)) {
                (Some(m), true) => Some(m.min(high as f64)),
                (None, true) => Some(high as f64),
                (m, false) => m,
            },
            exclusive_minimum: self.bounds.exclusive_minimum,
        };
        let too_big = (value > high).then(|| format!("at most {high}"));
        if let Some(must) = bounds.check(value as f64).or(too_big) {
            self.here()
                .error(format!("{} must be {must}, found {value}", self.label));
            return Made::new(self.node).deserialize_i64(visitor);
        }
        // In range of the target type, so the visitor accepts it.
        if value < 0 {
            visitor.visit_i64(value as i64)
        } else {
            visitor.visit_u64(value as u64)
        }
    }

    fn float<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = match self.node.value {
            Node::Int(value) => value as f64,
            Node::Float(value) => value,
            _ => return self.wrong("a number", |made, v| made.deserialize_f64(v), visitor),
        };
        let must = if value.is_finite() {
            self.bounds.check(value)
        } else {
            Some("a finite number".to_string())
        };
        if let Some(must) = must {
            self.here()
                .error(format!("{} must be {must}, found {value}", self.label));
            return Made::new(self.node).deserialize_f64(visitor);
        }
        visitor.visit_f64(value)
    }
}

impl<'a> De<'a> {
    /// An enum written as a map of one key, the variant, to its value
    /// (`- mariadb: shop`, `monitor: {start: web}`).
    fn variant_map<V: Visitor<'a>>(
        self,
        entries: &'a [(Spanned<String>, Spanned<Node>)],
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let here = self.here();
        let choices = one_of(variants.iter().copied());
        let mut chosen = None;
        for (key, value) in entries {
            let unknown = !variants.contains(&key.value.as_str());
            let mark = Mark::of_key(key);
            if unknown {
                let message = format!("unknown key `{}` in {}", key.value, self.what);
                let help = match closest(&key.value, variants.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("expected one of {choices}"),
                };
                here.push(Diagnostic::new(mark, message).with_help(help));
            } else if let Some((first, _)) = chosen {
                here.push(
                    Diagnostic::new(mark, format!("second key `{}` in {}", key.value, self.what))
                        .with_help(format!(
                            "use only one of {choices}; `{first}` is already set"
                        )),
                );
            } else {
                chosen = Some((key.value.as_str(), value));
            }
        }
        let Some((variant, value)) = chosen else {
            if entries.is_empty() {
                here.error(format!("{} is empty: expected one of {choices}", self.what));
            }
            return Made::new(self.node).deserialize_enum(name, variants, visitor);
        };
        let what = format!("`{variant}` of {}", self.what);
        let owner = self.owner.clone();
        visitor.visit_enum(VariantOf {
            variant,
            value: De::child(
                value,
                format!("`{variant}`"),
                what,
                owner,
                Bounds::default(),
            ),
        })
    }
}

/// The variant of an enum written as a map of one key.
struct VariantOf<'a> {
    variant: &'a str,
    value: De<'a>,
}

impl<'de> EnumAccess<'de> for VariantOf<'de> {
    type Error = Error;
    type Variant = De<'de>;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, De<'de>), Error> {
        let name: StrDeserializer<'_, Error> = self.variant.into_deserializer();
        Ok((seed.deserialize(name)?, self.value))
    }
}

impl<'de> VariantAccess<'de> for De<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_struct("", fields, visitor)
    }
}

/// Methods of a deserializer that do what `$to` does.
macro_rules! forward {
    ($to:ident: $($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.$to(visitor)
        }
    )*};
}

macro_rules! integers {
    ($($method:ident: $type:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.integer(i128::from(<$type>::MIN), i128::from(<$type>::MAX), visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for De<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.here();
        match &self.node.value {
            Node::Null => visitor.visit_unit(),
            Node::Bool(value) => visitor.visit_bool(*value),
            Node::Int(value) => visitor.visit_i64(*value),
            Node::Float(value) => visitor.visit_f64(*value),
            Node::Str(text) => visitor.visit_str(text),
            Node::Seq(items) => visitor.visit_seq(Items::new(items, &self)),
            Node::Map(_) => visitor.visit_map(Entries::new(&self, &[], None)),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node.value {
            Node::Bool(value) => visitor.visit_bool(value),
            _ => self.wrong("`true` or `false`", |m, v| m.deserialize_bool(v), visitor),
        }
    }

    integers!(
        deserialize_i8: i8, deserialize_i16: i16, deserialize_i32: i32, deserialize_i64: i64,
        deserialize_u8: u8, deserialize_u16: u16, deserialize_u32: u32, deserialize_u64: u64
    );

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.float(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.float(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.value {
            Node::Str(text) => visitor.visit_str(text),
            _ => self.wrong("a string", |m, v| m.deserialize_str(v), visitor),
        }
    }

    forward!(deserialize_str: deserialize_char deserialize_string deserialize_bytes deserialize_byte_buf);

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node.value {
            Node::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node.value {
            Node::Null => visitor.visit_unit(),
            _ => self.wrong("an empty value", |m, v| m.deserialize_unit(v), visitor),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.value {
            Node::Seq(items) => visitor.visit_seq(Items::new(items, &self)),
            _ => {
                take_noun();
                self.wrong("a list", |m, v| m.deserialize_seq(v), visitor)
            }
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.value {
            Node::Map(_) => visitor.visit_map(Entries::new(&self, &[], None)),
            _ => {
                take_noun();
                self.wrong_map(|m, v| m.deserialize_map(v), visitor)
            }
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.node.value {
            Node::Map(_) => {
                let schema = struct_schema(name);
                debug_assert!(schema.is_some(), "no schema for struct `{name}`");
                visitor.visit_map(Entries::new(&self, fields, schema))
            }
            _ => self.wrong_map(|m, v| m.deserialize_struct(name, fields, v), visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if let Node::Map(entries) = &self.node.value {
            return self.variant_map(entries, name, variants, visitor);
        }
        let Node::Str(text) = &self.node.value else {
            let expected = format!("one of {}", one_of(variants.iter().copied()));
            return self.wrong(
                &expected,
                |m, v| m.deserialize_enum(name, variants, v),
                visitor,
            );
        };
        if variants.contains(&text.as_str()) {
            return visitor.visit_enum(text.as_str().into_deserializer());
        }
        let here = self.here();
        let message = format!(
            "invalid value `{text}` for {}: expected one of {}",
            self.label,
            one_of(variants.iter().copied())
        );
        match closest(text, variants.iter().copied()) {
            Some(near) => here.error_with_help(message, format!("did you mean `{near}`?")),
            None => here.error(message),
        }
        Made::new(self.node).deserialize_enum(name, variants, visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

/// The items of a list.
struct Items<'a> {
    items: std::slice::Iter<'a, Spanned<Node>>,
    index: usize,
    label: String,
    what: String,
    owner: Rc<str>,
    /// The items are named objects, "gate 1" ([`named_entries`]).
    noun: Option<String>,
}

impl<'a> Items<'a> {
    fn new(items: &'a [Spanned<Node>], list: &De<'_>) -> Self {
        Items {
            items: items.iter(),
            index: 0,
            label: format!("an item of {}", list.label),
            what: list.what.clone(),
            owner: list.owner.clone(),
            noun: take_noun(),
        }
    }
}

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some(node) = self.items.next() else {
            return Ok(None);
        };
        self.index += 1;
        let de = match &self.noun {
            Some(noun) => {
                let named = format!("{noun} {}", self.index);
                De::child(
                    node,
                    named.clone(),
                    named.clone(),
                    named.into(),
                    Bounds::default(),
                )
            }
            None => {
                let what = format!("item {} of {}", self.index, self.what);
                De::child(
                    node,
                    self.label.clone(),
                    what,
                    self.owner.clone(),
                    Bounds::default(),
                )
            }
        };
        seed.deserialize(de).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// What [`Entries`] hands out next.
enum Entry<'a> {
    Present(&'a Spanned<Node>, &'a Spanned<String>, Bounds),
    /// A required key that is missing (already reported): a made-up value.
    Missing(&'a Spanned<Node>),
}

/// The entries of a map: present keys in source order, then the required keys that
/// are missing.
struct Entries<'a> {
    entries: std::vec::IntoIter<(String, Entry<'a>)>,
    /// The key handed out last, and its value.
    value: Option<(String, Entry<'a>)>,
    what: String,
    owner: Rc<str>,
    /// The entries are named objects ([`named_entries`]).
    noun: Option<String>,
    map: Mark,
    top_level: bool,
}

impl<'a> Entries<'a> {
    /// With `fields` (a struct): unknown keys are reported and skipped, and the
    /// required keys of `schema` that are missing are reported and made up.
    fn new(map: &De<'a>, fields: &'static [&'static str], schema: Option<Value>) -> Self {
        let (node, what) = (map.node, map.what.as_str());
        let Node::Map(all) = &node.value else {
            unreachable!("entries of a map")
        };
        let noun = if fields.is_empty() { take_noun() } else { None };
        let here = here();
        let properties = schema.as_ref().and_then(|s| s.get("properties"));
        let required: Vec<&str> = schema
            .as_ref()
            .and_then(|s| s.get("required"))
            .and_then(Value::as_array)
            .map(|keys| keys.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let is_struct = !fields.is_empty();
        let mut seen: Vec<&Spanned<String>> = Vec::new();
        let mut suggested: Vec<&str> = Vec::new();
        let mut entries = Vec::new();
        for (key, value) in all {
            if let Some(first) = seen.iter().find(|first| first.value == key.value) {
                here.push(
                    Diagnostic::new(
                        Mark::of_key(key),
                        format!("duplicate key `{}` in {what}", key.value),
                    )
                    .with_help(format!(
                        "`{}` is first set on line {}",
                        key.value,
                        Mark::of_key(first).line
                    )),
                );
                continue;
            }
            seen.push(key);
            if is_struct && !fields.contains(&key.value.as_str()) {
                let near = closest(&key.value, fields.iter().copied());
                let help = match near {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("expected one of {}", one_of(fields.iter().copied())),
                };
                here.push(
                    Diagnostic::new(
                        Mark::of_key(key),
                        format!("unknown key `{}` in {what}", key.value),
                    )
                    .with_help(help),
                );
                suggested.extend(near);
                continue;
            }
            // An optional key left empty is the same as absent.
            if is_struct && value.value == Node::Null && !required.contains(&key.value.as_str()) {
                continue;
            }
            let field_schema = properties.and_then(|p| p.get(&key.value));
            let entry = Entry::Present(value, key, Bounds::of(field_schema));
            entries.push((key.value.clone(), entry));
        }
        for key in required {
            if seen.iter().any(|seen| seen.value == key) {
                continue;
            }
            if !suggested.contains(&key) {
                here.push(Diagnostic::new(
                    Mark::of(node),
                    format!("missing key `{key}` in {what}"),
                ));
            }
            entries.push((key.to_string(), Entry::Missing(node)));
        }
        Entries {
            entries: entries.into_iter(),
            value: None,
            what: what.to_string(),
            owner: map.owner.clone(),
            noun,
            map: Mark::of(node),
            top_level: map.top_level,
        }
    }
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, entry)) = self.entries.next() else {
            return Ok(None);
        };
        // A value type reading the key learns where it is with `here()`.
        let mark = match &entry {
            Entry::Present(_, key, _) => Mark::of_key(key),
            Entry::Missing(_) => self.map,
        };
        set_here(mark, &format!("`{key}`"), None, false);
        let value = {
            let key: StrDeserializer<'_, Error> = key.as_str().into_deserializer();
            seed.deserialize(key).map(Some)
        };
        self.value = Some((key, entry));
        value
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some((key, Entry::Present(node, _, bounds))) => {
                let (label, what, owner) = match &self.noun {
                    Some(noun) => {
                        let named: Rc<str> = format!("{noun} `{key}`").into();
                        (named.to_string(), named.to_string(), named)
                    }
                    None if self.top_level => {
                        (format!("`{key}`"), format!("`{key}`"), self.owner.clone())
                    }
                    None => (
                        format!("`{key}`"),
                        format!("`{key}` of {}", self.what),
                        self.owner.clone(),
                    ),
                };
                seed.deserialize(De::child(node, label, what, owner, bounds))
            }
            Some((_, Entry::Missing(node))) => seed.deserialize(Made::new(node)),
            None => Err(de::Error::custom("a value asked for before its key")),
        }
    }
}

/// A made-up value, standing in for one that was wrong or missing so that decoding
/// goes on; whatever is decoded from it reports nothing.
struct Made<'a> {
    node: &'a Spanned<Node>,
}

impl<'a> Made<'a> {
    fn new(node: &'a Spanned<Node>) -> Self {
        set_here(Mark::of(node), "", None, true);
        Made { node }
    }
}

impl<'de> Deserializer<'de> for Made<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_bool(false)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u64(0)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u64(0)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_f64(0.0)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str("")
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_none()
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(de::value::SeqDeserializer::new(std::iter::empty::<()>()))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(de::value::MapDeserializer::new(
            std::iter::empty::<((), ())>(),
        ))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_map(MadeFields {
            fields: fields.iter(),
            node: self.node,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_enum(MadeVariant {
            name: variants.first().copied().unwrap_or_default(),
            node: self.node,
        })
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        unit unit_struct tuple tuple_struct identifier ignored_any
    }

    forward!(deserialize_i64: deserialize_i8 deserialize_i16 deserialize_i32);
    forward!(deserialize_u64: deserialize_u8 deserialize_u16 deserialize_u32);
    forward!(deserialize_f64: deserialize_f32);
    forward!(deserialize_str: deserialize_char deserialize_string deserialize_bytes deserialize_byte_buf);
}

/// Every field of a made-up struct, each made up.
struct MadeFields<'a> {
    fields: std::slice::Iter<'static, &'static str>,
    node: &'a Spanned<Node>,
}

impl<'de> MapAccess<'de> for MadeFields<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(field) = self.fields.next() else {
            return Ok(None);
        };
        let key: StrDeserializer<'_, Error> = field.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(Made::new(self.node))
    }
}

/// The first variant of a made-up enum.
struct MadeVariant<'a> {
    name: &'static str,
    node: &'a Spanned<Node>,
}

impl<'de> EnumAccess<'de> for MadeVariant<'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let name: StrDeserializer<'_, Error> = self.name.into_deserializer();
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> VariantAccess<'de> for MadeVariant<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(Made::new(self.node))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        Made::new(self.node).deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        Made::new(self.node).deserialize_struct("", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde::Deserialize;

    use super::*;
    use crate::yaml::load;

    #[derive(Debug, Deserialize, JsonSchema, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Host {
        image: String,
        #[serde(default)]
        init: Init,
        #[schemars(range(min = 16, max = 1000))]
        pids: Option<u32>,
        #[serde(default)]
        aliases: Vec<String>,
        expect: Option<Expect>,
    }

    #[derive(Debug, Deserialize, JsonSchema, PartialEq, Default)]
    #[serde(deny_unknown_fields)]
    struct Expect {
        status: u16,
        #[serde(default)]
        body: Vec<String>,
    }

    #[derive(Debug, Deserialize, JsonSchema, PartialEq, Default, Clone, Copy)]
    #[serde(rename_all = "lowercase")]
    enum Init {
        #[default]
        Systemd,
        None,
    }

    fn decode<T: DeserializeOwned + JsonSchema + 'static>(
        source: &str,
    ) -> Result<T, Vec<Diagnostic>> {
        let root = load(source).unwrap();
        let d = Decoder::new();
        let value = Typed::new(&d, "host `web`").decode::<T>(&root);
        let value = value.filter(|_| !d.has_errors());
        d.finish(Path::new("t.yaml"), source, value)
            .map_err(|diagnostics| diagnostics.errors)
    }

    fn messages(errors: &[Diagnostic]) -> Vec<String> {
        errors
            .iter()
            .map(|e| match &e.help {
                Some(help) => format!("{}:{} {} ({help})", e.line, e.column, e.message),
                None => format!("{}:{} {}", e.line, e.column, e.message),
            })
            .collect()
    }

    #[test]
    fn a_good_value_decodes() {
        let host: Host =
            decode("image: web\ninit: none\npids: 64\naliases: [a, b]\nexpect:\n  status: 200\n")
                .unwrap();
        assert_eq!(
            host,
            Host {
                image: "web".into(),
                init: Init::None,
                pids: Some(64),
                aliases: vec!["a".into(), "b".into()],
                expect: Some(Expect {
                    status: 200,
                    body: vec![]
                }),
            }
        );
        // An optional key left empty is absent.
        let host: Host = decode("image: web\ninit:\nexpect:\n").unwrap();
        assert_eq!((host.init, host.expect), (Init::Systemd, None));
    }

    #[test]
    fn every_mistake_is_reported_in_one_pass() {
        let errors = decode::<Host>(
            "imgae: web\ninit: sytemd\npids: 8\naliases: [a, [b]]\nexpect:\n  status: ok\n  bodyy: []\ninit: none\n",
        )
        .unwrap_err();
        assert_eq!(
            messages(&errors),
            [
                "1:1 unknown key `imgae` in host `web` (did you mean `image`?)",
                "2:7 invalid value `sytemd` for `init`: expected one of `systemd`, `none` (did you mean `systemd`?)",
                "3:7 `pids` must be between 16 and 1000, found 8",
                "4:14 expected a string for an item of `aliases`, found a list",
                "6:11 expected an integer for `status`, found a string",
                "7:3 unknown key `bodyy` in `expect` of host `web` (did you mean `body`?)",
                "8:1 duplicate key `init` in host `web` (`init` is first set on line 2)",
            ]
        );
    }

    #[test]
    fn missing_keys_are_reported_at_their_map_unless_a_misspelling_suggests_them() {
        let errors = decode::<Host>("init: none\nexpect: {}\n").unwrap_err();
        assert_eq!(
            messages(&errors),
            [
                "1:1 missing key `image` in host `web`",
                "2:9 missing key `status` in `expect` of host `web`",
            ]
        );
        let errors = decode::<Host>("imag: x\n").unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_one_error() {
        let errors = decode::<Host>("image: [x]\nexpect: 3\naliases: x\n").unwrap_err();
        assert_eq!(
            messages(&errors),
            [
                "1:8 expected a string for `image`, found a list",
                "2:9 expected a map for `expect` of host `web`, found an integer",
                "3:10 expected a list for `aliases`, found a string",
            ]
        );
        let errors = decode::<Host>("[1, 2]\n").unwrap_err();
        assert_eq!(
            messages(&errors),
            ["1:1 expected a map for host `web`, found a list"]
        );
    }

    #[test]
    fn value_types_report_where_their_value_is() {
        #[derive(Debug, Deserialize, JsonSchema)]
        #[allow(dead_code)]
        struct Step {
            #[serde(with = "Even")]
            count: u32,
            #[serde(default, with = "Even")]
            other: u32,
        }
        struct Even;
        impl JsonSchema for Even {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                "Even".into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({"type": "integer", "multipleOf": 2})
            }
        }
        impl Even {
            fn serialize<S: serde::Serializer>(value: &u32, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u32(*value)
            }
            fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
                let here = here();
                let value = u32::deserialize(d)?;
                if value % 2 == 1 {
                    here.error(format!("{} must be even", here.label));
                }
                Ok(value)
            }
        }
        let errors = decode::<Step>("count: 3\nother: x\n").unwrap_err();
        assert_eq!(
            messages(&errors),
            [
                "1:8 `count` must be even",
                "2:8 expected an integer for `other`, found a string"
            ]
        );
        let errors = decode::<Step>("{}\n").unwrap_err();
        assert_eq!(messages(&errors), ["1:1 missing key `count` in host `web`"]);
    }
}
