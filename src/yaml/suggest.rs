//! "Did you mean" suggestions for misspelled keys, names and values.

/// The candidate closest to `input`, when it is close enough to be a likely typo.
///
/// Close means, ignoring case: a small edit distance (one edit per three
/// characters, at least one), or the same first three characters (`sysd` for
/// `systemd`, `desc` for `description`).
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input = input.to_lowercase();
    let limit = (input.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(&input, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= limit || shared_prefix(&input, candidate) >= 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn shared_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// Renders `` `a`, `b`, `c` `` for messages listing the valid choices.
pub fn one_of<'a>(candidates: impl IntoIterator<Item = &'a str>) -> String {
    candidates
        .into_iter()
        .map(|candidate| format!("`{candidate}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_candidates_only() {
        let keys = ["image", "init", "aliases", "memory"];
        assert_eq!(closest("imgae", keys), Some("image"));
        assert_eq!(closest("Image", keys), Some("image"));
        assert_eq!(closest("alias", keys), Some("aliases"));
        assert_eq!(closest("colour", keys), None);
        assert_eq!(closest("sysd", ["systemd", "none"]), Some("systemd"));
        assert_eq!(closest("tcp", ["http", "exec"]), None);
        assert_eq!(closest("db", ["web"]), None);
        assert_eq!(closest("wbe", ["web", "db"]), Some("web"));
    }

    #[test]
    fn lists_choices_in_backticks() {
        assert_eq!(one_of(["http", "tcp"]), "`http`, `tcp`");
    }
}
