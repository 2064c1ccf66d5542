//! Numbers as people read them: `1 host`, `3 hosts`, `3` rather than `3.0`.

/// `1 line`, `3 lines`: a count with its noun, plural when it is not one.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A number without a useless `.0`: `3`, `0.25`.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// The text of an error's innermost cause: clients wrap the useful one ("Connection
/// refused") in layers that only say which stage failed.
pub fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_is_singular_and_zero_is_plural() {
        assert_eq!(super::plural(1, "host"), "1 host");
        assert_eq!(super::plural(0, "probe"), "0 probes");
        assert_eq!(super::plural(4, "step"), "4 steps");
    }
}
