//! CSCV against plain references written from the definition: the splits by recursion, the half sums block by
//! block, the logits by a full argmax and ranking per split.

use super::*;
use proptest::prelude::*;

/// The `k`-subsets of `start..n` as sorted block lists, lexicographic (how `itertools.combinations` yields
/// them): each first block in turn, followed by every subset of the blocks after it.
fn subsets(start: usize, n: usize, k: usize) -> Vec<Vec<usize>> {
    if k == 0 {
        return vec![vec![]];
    }
    (start..n)
        .flat_map(|first| {
            subsets(first + 1, n, k - 1)
                .into_iter()
                .map(move |rest| [vec![first], rest].concat())
        })
        .collect()
}

fn mask(blocks: &[usize]) -> u64 {
    blocks.iter().fold(0, |m, &b| m | 1 << b)
}

#[test]
fn combinations_follow_itertools_order() {
    for n in 0..=12 {
        for k in 0..=n {
            let expected: Vec<u64> = subsets(0, n, k).iter().map(|s| mask(s)).collect();
            assert_eq!(combinations(n, k), expected, "C({n}, {k})");
        }
    }
    // C(16, 8) and the complementary pairs the kernel relies on: the i-th and the (C - 1 - i)-th
    let masks = combinations(16, 8);
    assert_eq!(masks.len(), 12_870);
    assert_eq!(masks[0], 0x00ff);
    assert!(masks
        .windows(2)
        .all(|w| (0..16).map(|b| w[0] >> b & 1).ne((0..16).map(|b| w[1] >> b & 1))));
    for n in (2..=16).step_by(2) {
        let masks = combinations(n, n / 2);
        let full = (1u64 << n) - 1;
        assert!(
            (0..masks.len()).all(|i| masks[masks.len() - 1 - i] == full ^ masks[i]),
            "n = {n}"
        );
    }
}

/// Trial-major sums with small integer values (their sums are exact whatever the order).
fn integer_sums(n_trials: usize, n_blocks: usize, seed: u64) -> [Vec<f64>; 3] {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) % 50) as f64 - 20.0
    };
    let size = n_trials * n_blocks;
    let count = (0..size).map(|_| next().abs()).collect();
    let s1 = (0..size).map(|_| next()).collect();
    let s2 = (0..size).map(|_| next().abs() * 3.0).collect();
    [count, s1, s2]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A half's tabulated sums are its blocks' sums, for every subset of up to MAX_BLOCKS blocks.
    #[test]
    fn subset_sums_are_block_sums(n_trials in 1usize..5, n_blocks in 1usize..=MAX_BLOCKS, seed in any::<u64>(),
                                  picks in prop::collection::vec(any::<u64>(), 1..20), bits in 1usize..=GROUP) {
        let [count, s1, s2] = integer_sums(n_trials, n_blocks, seed);
        let tables = SubsetSums::new(&count, &s1, &s2, n_blocks, bits);
        let mut sums = <[Vec<f64>; 3]>::default();
        for pick in picks {
            let m = pick & ((1u64 << n_blocks) - 1);
            tables.half(m, &mut sums);
            prop_assert!(sums.iter().all(|c| c.len() == n_trials));
            let got = (0..n_trials).map(|t| [sums[0][t], sums[1][t], sums[2][t]]);
            for (t, got) in got.enumerate() {
                let chosen = (0..n_blocks).filter(|b| m >> b & 1 == 1).map(|b| t * n_blocks + b);
                let expected = chosen.fold([0.0; 3], |acc, at| [acc[0] + count[at], acc[1] + s1[at], acc[2] + s2[at]]);
                prop_assert_eq!(got, expected);
            }
        }
    }

    /// The kernel equals a plain per-split computation (integer sums: no rounding, so exactly).
    #[test]
    fn logits_equal_a_plain_computation(n_trials in 2usize..12, half in 1usize..=5, seed in any::<u64>(),
                                        mean_metric in any::<bool>(), duplicate in any::<bool>()) {
        let n_blocks = 2 * half;
        let [mut count, mut s1, mut s2] = integer_sums(n_trials, n_blocks, seed);
        if duplicate {
            // trial 1 a copy of trial 0: exact ties, in and out of sample
            for sums in [&mut count, &mut s1, &mut s2] {
                sums.copy_within(0..n_blocks, n_blocks);
            }
        }
        let mut mean: Vec<f64> = (0..n_trials).map(|t| (t % 3) as f64 * 0.5 - 0.5).collect();
        if duplicate {
            mean[1] = mean[0];
        }
        let metric = if mean_metric { Metric::Mean } else { Metric::Sharpe };
        let got = cscv_logits(&count, &s1, &s2, &mean, n_blocks, metric).unwrap();
        let splits = subsets(0, n_blocks, half);
        prop_assert_eq!(got.len(), splits.len());
        for (split, logit_got) in splits.iter().zip(&got) {
            let half_score = |blocks: &[usize], t: usize| {
                let at = |b: &usize| t * n_blocks + b;
                let (n, a, b) = blocks.iter().fold((0.0, 0.0, 0.0), |(n, a, b), blk| {
                    (n + count[at(blk)], a + s1[at(blk)], b + s2[at(blk)])
                });
                score(n, a, b, mean[t], metric)
            };
            let rest: Vec<usize> = (0..n_blocks).filter(|b| !split.contains(b)).collect();
            let is: Vec<f64> = (0..n_trials).map(|t| half_score(split, t)).collect();
            let oos: Vec<f64> = (0..n_trials).map(|t| half_score(&rest, t)).collect();
            let max = is.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let pick = (0..n_trials).find(|&t| same_score(is[t], max)).unwrap();
            let picked = oos[pick];
            let ties = oos.iter().filter(|&&s| same_score(s, picked)).count();
            let below = oos.iter().filter(|&&s| s < picked && !same_score(s, picked)).count();
            let w = (below as f64 + (ties as f64 + 1.0) / 2.0) / (n_trials as f64 + 1.0);
            prop_assert_eq!(*logit_got, (w / (1.0 - w)).ln());
        }
    }
}

#[test]
fn scores_follow_the_definition() {
    // mean of 3 values 1, 2, 3 (mu = 2: deviations -1, 0, 1): Sharpe 2 / 1
    assert_eq!(score(3.0, 0.0, 2.0, 2.0, Metric::Sharpe), 2.0);
    assert_eq!(score(3.0, 0.0, 2.0, 2.0, Metric::Mean), 2.0);
    assert_eq!(score(1.0, 0.5, 0.25, 0.0, Metric::Sharpe), f64::NEG_INFINITY);
    assert_eq!(score(1.0, 0.5, 0.25, 0.0, Metric::Mean), 0.5);
    assert_eq!(score(0.0, 0.0, 0.0, 1.0, Metric::Mean), f64::NEG_INFINITY);
    // flat halves rank by the sign of their mean
    assert_eq!(score(4.0, 0.0, 0.0, 0.1, Metric::Sharpe), f64::INFINITY);
    assert_eq!(score(4.0, 0.0, 0.0, -0.1, Metric::Sharpe), f64::NEG_INFINITY);
    assert_eq!(score(4.0, 0.0, 0.0, 0.0, Metric::Sharpe), 0.0);
    assert!(same_score(1.0 + 1e-12, 1.0) && !same_score(1.0 + 1e-6, 1.0));
    assert!(same_score(f64::INFINITY, f64::INFINITY) && !same_score(f64::NAN, f64::NAN));
}

#[test]
fn bad_blocks_are_config_errors() {
    let ones = vec![1.0; 12];
    for (n_trials, n_blocks) in [(4, 3), (12, 1), (1, 12), (6, 0)] {
        let mean = vec![0.0; n_trials];
        let err = cscv_logits(&ones, &ones, &ones, &mean, n_blocks, Metric::Sharpe).unwrap_err();
        assert_eq!(
            err.context().argument.as_deref(),
            Some("blocks"),
            "{n_trials} x {n_blocks}"
        );
    }
    let err = cscv_logits(&ones, &ones, &ones, &[0.0; 2], 4, Metric::Mean).unwrap_err();
    assert!(err.to_string().contains("2 trials x 4 blocks"), "{err}");
    assert!(Metric::parse("metric", "sortino").is_err());
}

#[test]
fn groups_narrow_to_keep_the_tables_in_budget() {
    assert_eq!(group_bits(2_500, 16), 8); // 30 MB
    assert_eq!(group_bits(90_000, 16), 4); // 1.1 GB with groups of 8; 138 MB with 4
    assert_eq!(group_bits(1_000_000, 16), 2); // over budget whatever the width: the narrowest
    assert_eq!(group_bits(10, 4), 8); // fewer blocks than a group: one group of all of them
    for n_trials in [1usize, 1_000, 20_000, 100_000, 340_000] {
        let bits = group_bits(n_trials, 16);
        assert!(
            3 * 16usize.div_ceil(bits) * (1 << bits) * n_trials * 8 <= TABLE_BUDGET,
            "{n_trials}"
        );
    }
}
