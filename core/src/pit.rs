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

/// Check that every group `arrivals[offsets[g]..offsets[g + 1]]` is sorted ascending and that `offsets`
/// describes the whole slice. Returns the first violation as a `Data` error.
pub fn check_groups(arrivals: &[i64], offsets: &[i64]) -> CoreResult<()> {
    if offsets.first() != Some(&0) || offsets.last().map(|&o| o as usize) != Some(arrivals.len()) {
        return Err(CoreError::config(
            format!(
                "offsets must start at 0 and end at {} (the number of records)",
                arrivals.len()
            ),
            Context::argument("offsets"),
        ));
    }
    for pair in offsets.windows(2) {
        if pair[0] > pair[1] {
            return Err(CoreError::config(
                "offsets must be non-decreasing",
                Context::argument("offsets"),
            ));
        }
        let group = &arrivals[pair[0] as usize..pair[1] as usize];
        if let Some(i) = group.windows(2).position(|w| w[1] < w[0]) {
            return Err(CoreError::data(
                "arrival times must be sorted within each group",
                Context::argument("ts_arrival").at(group[i + 1]),
            ));
        }
    }
    Ok(())
}

/// For each group (one per symbol), the number of records visible at `now`, written into `out`.
/// The caller has validated the layout with [`check_groups`].
pub fn visible_counts(arrivals: &[i64], offsets: &[i64], now: i64, out: &mut [i64]) {
    for (g, pair) in offsets.windows(2).enumerate() {
        let group = &arrivals[pair[0] as usize..pair[1] as usize];
        out[g] = visible_len(group, now) as i64;
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
    fn check_groups_names_the_first_unsorted_arrival() {
        let err = check_groups(&[1, 2, 5, 4, 9], &[0, 2, 5]).unwrap_err();
        assert!(matches!(err, CoreError::Data { .. }));
        assert_eq!(err.context().ts, Some(4));
        assert!(check_groups(&[1, 2, 0, 4], &[0, 2, 4]).is_ok());
        assert!(check_groups(&[1, 2], &[0, 1]).is_err());
    }

    proptest! {
        /// The visible prefix is exactly the set a brute-force filter keeps.
        #[test]
        fn visible_counts_match_brute_force(
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
            check_groups(&arrivals, &offsets).unwrap();
            let mut out = vec![0; groups.len()];
            visible_counts(&arrivals, &offsets, now, &mut out);
            for (g, group) in groups.iter().enumerate() {
                let expected = group.iter().filter(|&&a| a <= now).count() as i64;
                prop_assert_eq!(out[g], expected);
            }
        }
    }
}
