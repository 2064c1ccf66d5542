//! The `drill:` section: briefing, checks, hints, the data to keep.

#[allow(unused_imports)]
use super::*;

pub(super) fn decode_drill(
    d: &Decoder,
    node: &Spanned<Node>,
    refs: &Refs,
    steps: &[Step],
) -> Option<Drill> {
    let m = d.map(node, "`drill`", DRILL_KEYS)?;
    let briefing = m.required_str("briefing");
    let checks = m.required("checks").and_then(|node| {
        let items = one_or_many(node);
        if items.is_empty() {
            d.error_with_help(
                Mark::of(node),
                "`checks` of `drill` must name at least one probe",
                "name the probes that pass once the trainee has repaired the stack",
            );
            return None;
        }
        let checks: Vec<String> = items
            .iter()
            .filter_map(|item| refs.probe(d, item, "`checks` of `drill`"))
            .collect();
        (checks.len() == items.len()).then_some(checks)
    });
    let hints = m.string_or_list("hints");
    let reboot: Vec<String> = m
        .opt("reboot")
        .map(|node| {
            one_or_many(node)
                .iter()
                .filter_map(|item| refs.host(d, item, "`reboot` of `drill`"))
                .collect()
        })
        .unwrap_or_default();
    let data = m
        .opt("data")
        .map(|node| decode_drill_data(d, node, refs, steps));
    Some(Drill {
        briefing: briefing?,
        checks: checks?,
        hints,
        reboot,
        data: match data {
            Some(data) => Some(data?),
            None => None,
        },
    })
}

pub(super) fn decode_drill_data(
    d: &Decoder,
    node: &Spanned<Node>,
    refs: &Refs,
    steps: &[Step],
) -> Option<DrillData> {
    let what = "`data` of `drill`";
    let m = d.map(node, what, DRILL_DATA_KEYS)?;
    let host = m.required("host").and_then(|node| refs.host(d, node, what));
    let count = m.required("count").and_then(|node| decode_command(d, node));
    let from = m.opt("from").map(|node| refs.host(d, node, what));
    let max_loss = m.opt_int_in("max_loss", 0..=i64::MAX).unwrap_or(0) as u64;
    let before = match m.opt("before") {
        None => Some(0),
        Some(node) => {
            let name = d.str(node, "`before`")?;
            let found = steps.iter().position(|step| step.name == name);
            if found.is_none() {
                let help = match closest(&name, steps.iter().map(|s| s.name.as_str())) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!(
                        "the steps are {}",
                        one_of(steps.iter().map(|s| s.name.as_str()))
                    ),
                };
                d.error_with_help(
                    Mark::of(node),
                    format!("unknown step `{name}` in `before` of {what}"),
                    help,
                );
            }
            found
        }
    };
    Some(DrillData {
        host: host?,
        count: count?,
        from: match from {
            Some(from) => Some(from?),
            None => None,
        },
        before: before?,
        max_loss,
    })
}
