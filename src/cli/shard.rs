//! `--shard K/N`: one CI job's share of the scenarios a command line names, so that N
//! jobs given the same arguments and K = 1..N rehearse every scenario exactly once.

use std::fmt;
use std::str::FromStr;

/// Shard `number` of `count` (both from 1): the scenarios at positions `number - 1`,
/// `number - 1 + count`, ... of the list (0-based, after folders are expanded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    number: u32,
    count: u32,
}

impl Shard {
    /// Shard `number` of `count`; the error is ready to print after the flag's name.
    pub fn new(number: u32, count: u32) -> Result<Self, String> {
        if count == 0 {
            return Err("there must be at least one shard: `1/1` takes every scenario".into());
        }
        if number == 0 {
            return Err(format!(
                "shards are numbered from 1: use `1/{count}` to `{count}/{count}`"
            ));
        }
        if number > count {
            return Err(format!(
                "there is no shard {number} of {count}: use `1/{count}` to `{count}/{count}`"
            ));
        }
        Ok(Shard { number, count })
    }

    /// K: this shard's number, from 1.
    pub fn number(self) -> u32 {
        self.number
    }

    /// N: how many shards there are.
    pub fn count(self) -> u32 {
        self.count
    }

    /// Whether the scenario at `position` (0-based) of the whole list is this shard's.
    /// Round robin rather than contiguous slices: neighbours in a folder (often variants
    /// of one scenario, alike in length) go to different jobs.
    pub fn takes(self, position: usize) -> bool {
        position % self.count as usize == (self.number - 1) as usize
    }

    /// This shard's items, in their order.
    pub fn select<T>(self, items: impl IntoIterator<Item = T>) -> Vec<T> {
        items
            .into_iter()
            .enumerate()
            .filter(|(position, _)| self.takes(*position))
            .map(|(_, item)| item)
            .collect()
    }

    /// What a shard that takes none of the list's `total` scenarios says: not an error,
    /// so that a CI matrix wider than the list stays green.
    pub fn empty_notice(self, total: usize) -> String {
        format!("shard {self} has no scenario ({total} in all)")
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || {
            format!(
                "expected `K/N`, this job's shard and the number of shards, like `1/3`; found `{text}`"
            )
        };
        let (number, count) = text.trim().split_once('/').ok_or_else(malformed)?;
        let number = number.trim().parse().map_err(|_| malformed())?;
        let count = count.trim().parse().map_err(|_| malformed())?;
        Shard::new(number, count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.number, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(text: &str) -> Shard {
        text.parse().unwrap()
    }

    #[test]
    fn shard_k_of_n_takes_every_nth_scenario_from_the_kth() {
        let list: Vec<usize> = (0..7).collect();
        assert_eq!(shard("1/3").select(list.clone()), [0, 3, 6]);
        assert_eq!(shard("2/3").select(list.clone()), [1, 4]);
        assert_eq!(shard("3/3").select(list.clone()), [2, 5]);
        assert_eq!(shard("1/1").select(list.clone()), list);
    }

    #[test]
    fn the_shards_cover_every_scenario_exactly_once() {
        for total in 0..12 {
            for count in 1..6 {
                let mut seen: Vec<usize> = (1..=count)
                    .flat_map(|number| Shard::new(number, count).unwrap().select(0..total))
                    .collect();
                seen.sort_unstable();
                assert_eq!(seen, (0..total).collect::<Vec<_>>(), "{total} in {count}");
            }
        }
    }

    #[test]
    fn a_shard_wider_than_the_list_selects_nothing() {
        assert!(shard("3/4").select(["a", "b"]).is_empty());
        assert_eq!(shard("2/4").select(["a", "b"]), ["b"]);
        assert_eq!(
            shard("3/4").empty_notice(2),
            "shard 3/4 has no scenario (2 in all)"
        );
    }

    #[test]
    fn shard_parse_errors_say_what_is_allowed() {
        let error = |text: &str| text.parse::<Shard>().unwrap_err();
        assert_eq!(
            error("0/3"),
            "shards are numbered from 1: use `1/3` to `3/3`"
        );
        assert_eq!(error("4/3"), "there is no shard 4 of 3: use `1/3` to `3/3`");
        assert_eq!(
            error("1/0"),
            "there must be at least one shard: `1/1` takes every scenario"
        );
        for text in ["x", "3", "1/x", "-1/3", "1/3/5", ""] {
            assert_eq!(
                error(text),
                format!(
                    "expected `K/N`, this job's shard and the number of shards, like `1/3`; found `{text}`"
                )
            );
        }
    }

    #[test]
    fn a_shard_reads_and_prints_as_k_slash_n() {
        assert_eq!(shard(" 2/3 "), Shard::new(2, 3).unwrap());
        assert_eq!(shard("2/3").to_string(), "2/3");
        assert_eq!((shard("2/3").number(), shard("2/3").count()), (2, 3));
    }
}
