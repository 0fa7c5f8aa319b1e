//! Combinatorially symmetric cross-validation (CSCV): the logits behind the probability of backtest
//! overfitting, from per-block sums (what a sweep keeps, [`super::BlockSums`]; or a return matrix's, computed
//! in Python). The one implementation of `ml4t.metrics.pbo_from_blocks` (its docstring and
//! `probability_of_backtest_overfitting`'s state the definition).
//!
//! Contract, for `N` trials over `S` blocks (`S` even): every way to choose `S/2` of the blocks is one split,
//! visited in `itertools.combinations(range(S), S/2)` order. A split's in-sample half is its chosen blocks,
//! the out-of-sample half the others. A trial's score over a half comes from its blocks' summed count, sum
//! of deviations and sum of squared deviations ([`score`]); the in-sample best is the first trial whose
//! score equals the highest up to [`SCORE_TIE`] (relative), and the split's logit is
//! `ln(w / (1 - w))`, `w = (below + (ties + 1) / 2) / (N + 1)` with `below` the trials scoring less
//! out-of-sample than the picked one and `ties` those scoring the same (itself included).
//!
//! Speed: the blocks are cut into groups of at most [`GROUP`] blocks and every trial's sums over each subset
//! of each group are tabulated once, so a half's sums cost one addition per group and component. The groups
//! narrow (8, 4, then 2 blocks) when the tables of many trials would exceed [`TABLE_BUDGET`]. Splits come
//! in complementary pairs (the `i`-th and the `(C - 1 - i)`-th): one's in-sample half is the other's
//! out-of-sample half, so each half is scored once, for both. Pairs run in parallel
//! ([`super::parallel::map_ordered`]); memory is the tables (`ceil(S / bits) * 2^bits` subsets of 3 sums per
//! trial: 12 KB at `S = 16` with groups of 8 blocks, 1.5 KB with 4, 768 B with 2; at most [`TABLE_BUDGET`]
//! until groups of 2 blocks, beyond about 350,000 trials), per worker a half's sums and two score buffers
//! (`N` each), and the logits.

use crate::error::{Context, CoreError, CoreResult};
use crate::options::Named;

use super::parallel::map_ordered;

/// Scores this close (relative) are equal: they differ by the rounding of sums accumulated in another order.
pub const SCORE_TIE: f64 = 1e-9;

/// A half's mean within this fraction (relative) of its parts' size is zero: what is left of a cancellation.
pub const MEAN_CANCEL: f64 = 1e-9;

/// At most this many blocks per subset-sum table (`2^GROUP` entries per trial and group).
pub const GROUP: usize = 8;

/// The most memory the subset-sum tables may take; more trials get narrower groups ([`group_bits`]).
pub const TABLE_BUDGET: usize = 256 << 20;

/// The most blocks CSCV takes: `C(24, 12)` = 2,704,156 splits.
pub const MAX_BLOCKS: usize = 24;

/// Pairs of splits per scheduled task.
const PAIRS_PER_TASK: usize = 16;

/// What ranks the trials over a half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Mean over sample standard deviation (ddof=1).
    Sharpe,
    /// Mean return.
    Mean,
}

impl Named for Metric {
    const NAMES: &'static [(&'static str, Self)] = &[("sharpe", Self::Sharpe), ("mean", Self::Mean)];
}

/// One trial's score over a half from its summed `count`, `s1` (deviations from `mu`, the trial's mean) and
/// `s2` (squared deviations); higher is better. The half's mean `s1 / count + mu` is 0 when it cancels to
/// within [`MEAN_CANCEL`] of its parts. Fewer than 2 values (1 for `Mean`) score `-inf`; a Sharpe
/// ratio whose dispersion is below the sums' rounding (`spread <= 1e-10 * s2`) scores by the sign of its
/// mean (`+inf`, `0`, `-inf`).
#[inline]
pub fn score(count: f64, s1: f64, s2: f64, mu: f64, metric: Metric) -> f64 {
    // selects, not branches: the loop over the trials compiles to SIMD
    let centred = s1 / count;
    let mean = centred + mu;
    // a mean that cancels to within rounding of its parts is 0: a half of flat bars has deviations of exactly
    // -mu, and whether their sum lands a hair above or below n * mu must not rank it (+inf or -inf)
    let mean = select(mean.abs() <= MEAN_CANCEL * centred.abs().max(mu.abs()), 0.0, mean);
    match metric {
        Metric::Mean => select(count >= 1.0, mean, f64::NEG_INFINITY),
        Metric::Sharpe => {
            let spread = s2 - s1 * s1 / count;
            let flat = spread <= 1e-10 * s2;
            let sharpe = mean / (select(flat, 1.0, spread) / (count - 1.0)).sqrt();
            let sign = select(mean > 0.0, f64::INFINITY, select(mean < 0.0, f64::NEG_INFINITY, 0.0));
            select(count >= 2.0, select(flat, sign, sharpe), f64::NEG_INFINITY)
        }
    }
}

#[inline]
fn select(condition: bool, yes: f64, no: f64) -> f64 {
    if condition {
        yes
    } else {
        no
    }
}

/// Whether `score` equals `reference` up to rounding ([`SCORE_TIE`] relative; infinities exactly, NaN never).
#[inline]
pub fn same_score(score: f64, reference: f64) -> bool {
    (score == reference) | (reference.is_finite() & ((score - reference).abs() <= SCORE_TIE * reference.abs()))
}

/// The masks of the `k`-subsets of `0..n` (bit `b` set: block `b` chosen) in `itertools.combinations` order:
/// lexicographic in the sorted block numbers.
pub fn combinations(n: usize, k: usize) -> Vec<u64> {
    assert!(n < 64 && k <= n, "combinations of {k} among {n} blocks");
    let mut out = Vec::new();
    let mut pick: Vec<usize> = (0..k).collect();
    loop {
        out.push(pick.iter().fold(0u64, |mask, &b| mask | 1 << b));
        // the rightmost position that can still move right, then everything after it packed behind it
        let Some(i) = (0..k).rev().find(|&i| pick[i] < n - k + i) else {
            return out;
        };
        pick[i] += 1;
        for j in i + 1..k {
            pick[j] = pick[j - 1] + 1;
        }
    }
}

/// Every trial's sums over each subset of each group of blocks: `sums[c][(group * 2^bits + subset) * N + trial]`
/// for component `c` (count, s1, s2): mask-major, so a split reads each table row front to back, and one
/// array per component, so a half's sums and scores run over plain `f64` slices (SIMD).
pub struct SubsetSums {
    n_trials: usize,
    n_groups: usize,
    /// Blocks per group: `GROUP`, or fewer when there are fewer blocks.
    bits: usize,
    /// `n_groups * 2^bits * n_trials` entries each.
    sums: [Vec<f64>; 3],
}

impl SubsetSums {
    /// The tables of `n_trials x n_blocks` sums (`count`, `s1`, `s2` trial-major), over groups of `bits`
    /// blocks (1 to [`GROUP`]; see [`group_bits`]).
    pub fn new(count: &[f64], s1: &[f64], s2: &[f64], n_blocks: usize, bits: usize) -> Self {
        assert!((1..=GROUP).contains(&bits), "groups of {bits} blocks");
        let n_trials = count.len().checked_div(n_blocks).unwrap_or(0);
        let bits = bits.min(n_blocks.max(1));
        let n_groups = n_blocks.div_ceil(bits.max(1));
        let width = 1usize << bits;
        let sums = [count, s1, s2].map(|source| {
            let mut table = vec![0.0; n_groups * width * n_trials];
            for g in 0..n_groups {
                let blocks = g * bits..((g + 1) * bits).min(n_blocks);
                for subset in 1..1usize << blocks.len() {
                    // the subset without its highest block, plus that block
                    let top = usize::BITS as usize - 1 - subset.leading_zeros() as usize;
                    let (row, rest) = (
                        (g * width + subset) * n_trials,
                        (g * width + (subset ^ 1 << top)) * n_trials,
                    );
                    let block = blocks.start + top;
                    for t in 0..n_trials {
                        table[row + t] = table[rest + t] + source[t * n_blocks + block];
                    }
                }
            }
            table
        });
        Self {
            n_trials,
            n_groups,
            bits,
            sums,
        }
    }

    /// Every trial's sums over the blocks of `mask` into `out` (count, s1, s2: one per trial each).
    pub fn half(&self, mask: u64, out: &mut [Vec<f64>; 3]) {
        let width = 1usize << self.bits;
        for (table, out) in self.sums.iter().zip(out.iter_mut()) {
            let row = |g: usize| {
                let subset = (mask >> (g * self.bits)) as usize & (width - 1);
                let start = (g * width + subset) * self.n_trials;
                &table[start..start + self.n_trials]
            };
            out.clear();
            out.extend_from_slice(row(0));
            for g in 1..self.n_groups {
                for (sum, add) in out.iter_mut().zip(row(g)) {
                    *sum += add;
                }
            }
        }
    }
}

/// The widest groups (8, 4 or 2 blocks) whose tables for `n_trials` fit in [`TABLE_BUDGET`]; 2 when none
/// does (the narrowest tables, 768 bytes per trial at 16 blocks, barely more than the block sums themselves).
pub fn group_bits(n_trials: usize, n_blocks: usize) -> usize {
    let bytes = |bits: usize| 3 * n_blocks.div_ceil(bits) * (1usize << bits) * n_trials * 8;
    [GROUP, 4, 2]
        .into_iter()
        .find(|&bits| bytes(bits) <= TABLE_BUDGET)
        .unwrap_or(2)
}

/// The highest of `scores` (NaN if any is NaN, as NumPy's `max`).
fn highest(scores: &[f64]) -> f64 {
    let mut max = f64::NEG_INFINITY;
    for &s in scores {
        if s.is_nan() {
            return f64::NAN;
        }
        max = max.max(s);
    }
    max
}

/// The first trial whose score equals the highest up to rounding (trial 0 if none does, e.g. NaN).
fn best(scores: &[f64]) -> usize {
    let max = highest(scores);
    scores.iter().position(|&s| same_score(s, max)).unwrap_or(0)
}

/// `out[t] = score(...)` of every trial (`metric` a constant where inlined: one loop per metric, in SIMD).
#[inline(always)]
fn fill(out: &mut [f64], n: &[f64], a: &[f64], b: &[f64], mu: &[f64], metric: Metric) {
    let len = out.len();
    let (n, a, b, mu) = (&n[..len], &a[..len], &b[..len], &mu[..len]);
    for (t, out) in out.iter_mut().enumerate() {
        *out = score(n[t], a[t], b[t], mu[t], metric);
    }
}

/// Counts `score` into `below` (less than `picked`) or `ties` (the same up to rounding), without branches.
#[inline]
fn place(score: f64, picked: f64, below: &mut usize, ties: &mut usize) {
    let tie = same_score(score, picked);
    *ties += usize::from(tie);
    *below += usize::from(!tie & (score < picked));
}

fn logit(below: usize, ties: usize, n_trials: usize) -> f64 {
    let w = (below as f64 + (ties as f64 + 1.0) / 2.0) / (n_trials as f64 + 1.0);
    (w / (1.0 - w)).ln()
}

/// CSCV's logits, one per split in `itertools.combinations` order, from `n_trials x n_blocks` sums
/// (trial-major: `count`, `s1`, `s2`) and each trial's mean `mean` (see the module docs).
///
/// A config error naming `blocks` unless `n_blocks` is even, between 2 and [`MAX_BLOCKS`], there are at
/// least two trials and the arrays agree in length.
pub fn cscv_logits(
    count: &[f64],
    s1: &[f64],
    s2: &[f64],
    mean: &[f64],
    n_blocks: usize,
    metric: Metric,
) -> CoreResult<Vec<f64>> {
    let bad = |message: String| CoreError::config(message, Context::argument("blocks"));
    if n_blocks < 2 || n_blocks % 2 == 1 || n_blocks > MAX_BLOCKS {
        return Err(bad(format!(
            "CSCV needs an even number (2 to {MAX_BLOCKS}) of blocks, got {n_blocks}"
        )));
    }
    let n_trials = mean.len();
    if n_trials < 2 {
        return Err(bad(format!("CSCV needs at least 2 trials, got {n_trials}")));
    }
    if [count.len(), s1.len(), s2.len()]
        .iter()
        .any(|&len| len != n_trials * n_blocks)
    {
        return Err(bad(format!(
            "the block sums must be {n_trials} trials x {n_blocks} blocks"
        )));
    }
    let tables = SubsetSums::new(count, s1, s2, n_blocks, group_bits(n_trials, n_blocks));
    let masks = combinations(n_blocks, n_blocks / 2);
    let (n_splits, full) = (masks.len(), (1u64 << n_blocks) - 1);
    let n_pairs = n_splits / 2;
    let scores = |sums: &mut [Vec<f64>; 3], buffer: &mut Vec<f64>, mask: u64| {
        tables.half(mask, sums);
        let [n, a, b] = &*sums;
        buffer.resize(n_trials, 0.0);
        match metric {
            Metric::Sharpe => fill(buffer, n, a, b, mean, Metric::Sharpe),
            Metric::Mean => fill(buffer, n, a, b, mean, Metric::Mean),
        }
    };
    // per pair (i, C - 1 - i): the logit of split i (in-sample: its mask) and of its complement
    let tasks = map_ordered(
        n_pairs.div_ceil(PAIRS_PER_TASK),
        || (<[Vec<f64>; 3]>::default(), Vec::new(), Vec::new()),
        |(sums, first, second): &mut ([Vec<f64>; 3], Vec<f64>, Vec<f64>), task| {
            let pairs = task * PAIRS_PER_TASK..((task + 1) * PAIRS_PER_TASK).min(n_pairs);
            pairs
                .map(|i| {
                    debug_assert_eq!(masks[n_splits - 1 - i], full ^ masks[i]);
                    scores(sums, first, masks[i]);
                    scores(sums, second, full ^ masks[i]);
                    let (on_second, on_first) = (second[best(first)], first[best(second)]);
                    let (mut below, mut ties) = ([0usize; 2], [0usize; 2]);
                    for (&a, &b) in first.iter().zip(second.iter()) {
                        place(b, on_second, &mut below[0], &mut ties[0]);
                        place(a, on_first, &mut below[1], &mut ties[1]);
                    }
                    (logit(below[0], ties[0], n_trials), logit(below[1], ties[1], n_trials))
                })
                .collect::<Vec<_>>()
        },
    );
    let mut logits = vec![0.0; n_splits];
    for (i, (split, complement)) in tasks.into_iter().flatten().enumerate() {
        logits[i] = split;
        logits[n_splits - 1 - i] = complement;
    }
    Ok(logits)
}

#[cfg(test)]
#[path = "tests_cscv.rs"]
mod tests;
