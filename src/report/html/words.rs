//! Numbers as people read them on the page: durations (`850 ms`, `1 min 35 s`),
//! latencies and counts with their noun (`3 lines`).

pub(super) use crate::words::plural;

/// Milliseconds for people: `850 ms`, `4.0 s`, `1 min 35 s`.
pub(super) fn seconds(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {:02} s", ms / 60_000, ms / 1000 % 60),
    }
}

pub(super) fn milliseconds(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::seconds;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(seconds(850), "850 ms");
        assert_eq!(seconds(4025), "4.0 s");
        assert_eq!(seconds(94_845), "1 min 34 s");
    }
}
