//! `steps:`: each step's common keys, its kind decoded by the kind's own module, names made unique.

#[allow(unused_imports)]
use super::*;

/// A decoded step and, when its name was written in the file, where.
pub(super) struct NamedStep {
    step: Step,
    explicit_name: Option<Mark>,
}

pub(super) fn decode_steps(
    d: &Decoder,
    node: &Spanned<Node>,
    refs: &Refs,
    kinds: &StepKinds,
) -> Vec<Step> {
    let Some(items) = d.seq(node, "`steps`") else {
        return Vec::new();
    };
    if items.is_empty() {
        d.error(Mark::of(node), "`steps` must have at least one step");
    }
    let decoded: Vec<Option<NamedStep>> = items
        .iter()
        .enumerate()
        .map(|(index, item)| decode_step(d, index, item, refs, kinds))
        .collect();
    let (kept_items, steps): (Vec<Spanned<Node>>, Vec<NamedStep>) = items
        .iter()
        .zip(decoded)
        .filter_map(|(item, step)| step.map(|s| (item.clone(), s)))
        .unzip();
    let steps = unique_step_names(d, steps);
    for (index, step) in steps.iter().enumerate() {
        step.kind.check_in_sequence(&StepSequence {
            d,
            steps: &steps,
            items: &kept_items,
            all_items: items,
            index,
        });
    }
    steps
}

pub(super) fn decode_step(
    d: &Decoder,
    index: usize,
    node: &Spanned<Node>,
    refs: &Refs,
    kinds: &StepKinds,
) -> Option<NamedStep> {
    let number = format!("step {}", index + 1);
    let m = d.map(node, &number, kinds.step_keys())?;
    // The common keys through their type; the kind's key is the kind's own.
    let common = only_keys(node, crate::yaml::de::fields_of::<StepCommon>());
    let StepCommon {
        name,
        timeout,
        allow_failure,
    } = Typed::new(d, &number).decode(&common).unwrap_or_default();
    let what = name
        .as_ref()
        .map_or(number, |name| format!("step `{name}`"));
    let (kind, body) = m.kind(kinds.names(), "step kind")?;
    let input = StepInput {
        d,
        what: &what,
        refs,
    };
    let kind = kinds.find(kind)?.decode(&input, body)?;
    Some(NamedStep {
        explicit_name: name.as_ref().and_then(|_| m.get("name")).map(Mark::of),
        step: Step {
            name: name.unwrap_or_else(|| kind.derived_name()),
            timeout: timeout.unwrap_or_else(|| kind.default_timeout()),
            kind,
            allow_failure,
        },
    })
}

/// The map at `node` with only the first entry of each of `keys` (the others are
/// another reader's, and duplicates are already reported).
fn only_keys(node: &Spanned<Node>, keys: &[&str]) -> Spanned<Node> {
    let mut kept = node.clone();
    if let Node::Map(entries) = &mut kept.value {
        let mut seen = Vec::new();
        entries.retain(|(key, _)| {
            let keep = keys.contains(&key.value.as_str()) && !seen.contains(&key.value);
            seen.push(key.value.clone());
            keep
        });
    }
    kept
}

pub fn check_release(name: &str) -> Result<(), String> {
    if crate::debian::release::version_of(name).is_some() {
        return Ok(());
    }
    let known: Vec<&str> = crate::debian::release::codenames().collect();
    let hint = closest(name, known.iter().copied())
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    Err(format!(
        "unknown Debian release `{name}`: expected one of {}{hint}",
        one_of(known.iter().copied())
    ))
}

pub fn check_mirror_url(url: &str) -> Result<(), String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(format!(
            "invalid mirror `{url}`: expected an http:// or https:// URL"
        ))
    }
}

/// Text cut to fit in a step name derived from it.
pub fn shorten(text: &str) -> String {
    if text.chars().count() <= STEP_NAME_COMMAND_CHARS {
        return text.to_string();
    }
    let kept: String = text.chars().take(STEP_NAME_COMMAND_CHARS - 1).collect();
    format!("{kept}…")
}

/// Written names must be unique (reported); derived ones get a ` (2)` suffix
/// when they repeat, since the user never chose them.
pub(super) fn unique_step_names(d: &Decoder, steps: Vec<NamedStep>) -> Vec<Step> {
    let mut written: HashMap<String, usize> = HashMap::new();
    for named in &steps {
        let Some(mark) = named.explicit_name else {
            continue;
        };
        let name = &named.step.name;
        if name.trim().is_empty() {
            d.error_with_help(
                mark,
                "empty step name",
                "give the step a name, or leave `name` out for one made from the step",
            );
            continue;
        }
        match written.get(name) {
            Some(first_line) => d.error_with_help(
                mark,
                format!("duplicate step name `{name}`"),
                format!("step names must be unique; `{name}` is first used on line {first_line}"),
            ),
            None => {
                written.insert(name.clone(), mark.line);
            }
        }
    }
    let mut taken: Vec<String> = written.into_keys().collect();
    steps
        .into_iter()
        .map(|named| {
            let mut step = named.step;
            if named.explicit_name.is_none() {
                step.name = unused_name(&step.name, &taken);
                taken.push(step.name.clone());
            }
            step
        })
        .collect()
}

pub(super) fn unused_name(base: &str, taken: &[String]) -> String {
    let mut name = base.to_string();
    let mut counter = 2;
    while taken.contains(&name) {
        name = format!("{base} ({counter})");
        counter += 1;
    }
    name
}
