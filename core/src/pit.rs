//! The point-in-time visibility rule, in one place.
//!
//! A record is visible at clock `now` if and only if `ts_arrival <= now` (a record arriving exactly at
//! `now` is visible; one arriving a nanosecond later is not). Records are stored per symbol in arrival
//! order, so the visible set is always a prefix and its length is a binary search.

use crate::error::{Context, CoreError, CoreResult};

/// Number of leading records of `arrivals` (sorted ascending) that are visible at `now`.
pub fn visible_len(arrivals: &[i64], now: i64) -> usize {
    arrivals.partition_point(|&a| a <= now)
}

/// Arrival times of many groups (one per symbol) in one array, each group sorted, validated once.
///
/// `offsets[g]..offsets[g + 1]` is group `g`. Immutable, so one index serves every view of the same data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PitIndex {
    arrivals: Vec<i64>,
    offsets: Vec<usize>,
}

impl PitIndex {
    /// Validate the layout: `offsets` starts at 0, ends at `arrivals.len()`, never decreases, and every
    /// group is sorted ascending. The first violation is reported with its timestamp.
    pub fn new(arrivals: Vec<i64>, offsets: &[i64]) -> CoreResult<Self> {
        let n = arrivals.len();
        if offsets.first() != Some(&0) || offsets.last().copied() != Some(n as i64) {
            return Err(CoreError::config(
                format!("offsets must start at 0 and end at {n} (the number of records)"),
                Context::argument("offsets"),
            ));
        }
        if offsets.windows(2).any(|w| w[0] > w[1]) {
            return Err(CoreError::config(
                "offsets must be non-decreasing",
                Context::argument("offsets"),
            ));
        }
        let offsets: Vec<usize> = offsets.iter().map(|&o| o as usize).collect();
        for pair in offsets.windows(2) {
            let group = &arrivals[pair[0]..pair[1]];
            if let Some(i) = group.windows(2).position(|w| w[1] < w[0]) {
                return Err(CoreError::data(
                    "arrival times must be sorted within each group",
                    Context::argument("ts_arrival").at(group[i + 1]),
                ));
            }
        }
        Ok(Self { arrivals, offsets })
    }

    pub fn n_groups(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Records of group `g` visible at `now`; `None` if there is no such group.
    pub fn count(&self, g: usize, now: i64) -> Option<usize> {
        let (lo, hi) = (*self.offsets.get(g)?, *self.offsets.get(g + 1)?);
        Some(visible_len(&self.arrivals[lo..hi], now))
    }

    /// Records visible at `now`, for every group, written into `out` (length `n_groups()`).
    pub fn counts_into(&self, now: i64, out: &mut [i64]) {
        for (g, pair) in self.offsets.windows(2).enumerate() {
            out[g] = visible_len(&self.arrivals[pair[0]..pair[1]], now) as i64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn equality_edge_is_visible_one_ns_earlier_is_not() {
        let arrivals = [10, 20, 20, 30];
        assert_eq!(visible_len(&arrivals, 9), 0);
        assert_eq!(visible_len(&arrivals, 10), 1);
        assert_eq!(visible_len(&arrivals, 19), 1);
        assert_eq!(visible_len(&arrivals, 20), 3);
        assert_eq!(visible_len(&arrivals, i64::MAX), 4);
    }

    #[test]
    fn index_rejects_bad_layouts_naming_the_first_unsorted_arrival() {
        let err = PitIndex::new(vec![1, 2, 5, 4, 9], &[0, 2, 5]).unwrap_err();
        assert!(matches!(err, CoreError::Data { .. }));
        assert_eq!(err.context().ts, Some(4));
        assert!(PitIndex::new(vec![1, 2, 0, 4], &[0, 2, 4]).is_ok());
        assert!(matches!(
            PitIndex::new(vec![1, 2], &[0, 1]),
            Err(CoreError::Config { .. })
        ));
        assert!(matches!(
            PitIndex::new(vec![1, 2], &[0, 2, 1, 2]),
            Err(CoreError::Config { .. })
        ));
        assert!(PitIndex::new(vec![], &[0, 0, 0]).is_ok());
    }

    proptest! {
        /// The visible prefix is exactly the set a brute-force filter keeps.
        #[test]
        fn counts_match_brute_force(
            mut groups in prop::collection::vec(prop::collection::vec(-50i64..50, 0..20), 1..6),
            now in -60i64..60,
        ) {
            let mut arrivals = Vec::new();
            let mut offsets = vec![0i64];
            for g in &mut groups {
                g.sort_unstable();
                arrivals.extend_from_slice(g);
                offsets.push(arrivals.len() as i64);
            }
            let index = PitIndex::new(arrivals, &offsets).unwrap();
            let mut out = vec![0; groups.len()];
            index.counts_into(now, &mut out);
            for (g, group) in groups.iter().enumerate() {
                let expected = group.iter().filter(|&&a| a <= now).count();
                prop_assert_eq!(out[g] as usize, expected);
                prop_assert_eq!(index.count(g, now), Some(expected));
            }
            prop_assert_eq!(index.count(groups.len(), now), None);
        }
    }
}
