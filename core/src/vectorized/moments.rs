//! Central moments of a return series and its per-block sums: what a sweep keeps so that Python can compute
//! the deflated Sharpe ratio (skewness, kurtosis) and CSCV's probability of backtest overfitting
//! (`ml4t.metrics._overfitting`) without a bars x combinations return matrix.

use std::ops::Range;

use crate::error::{Context, CoreError, CoreResult};

/// The bars cut into consecutive blocks for CSCV, as `np.array_split` (and
/// `ml4t.metrics.probability_of_backtest_overfitting`) cuts rows: `n_bars / n_blocks` bars each, the first
/// `n_bars % n_blocks` blocks one bar longer. No blocks (`n_blocks == 0`) keeps no per-block sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocks {
    /// `n_blocks + 1` boundaries, the last `n_bars`; `[0, n_bars]` when there are no blocks.
    bounds: Vec<usize>,
    n_blocks: usize,
}

impl Blocks {
    /// `n_blocks` blocks over `n_bars` bars; at most one block per bar (a ConfigError naming `n_blocks`).
    pub fn new(n_bars: usize, n_blocks: usize) -> CoreResult<Self> {
        if n_blocks > n_bars {
            return Err(CoreError::config(
                format!("n_blocks ({n_blocks}) exceeds the number of bars ({n_bars})"),
                Context::argument("n_blocks"),
            ));
        }
        if n_blocks == 0 {
            return Ok(Self::none(n_bars));
        }
        let (base, extra) = (n_bars / n_blocks, n_bars % n_blocks);
        let bounds = (0..=n_blocks).map(|i| i * base + i.min(extra)).collect();
        Ok(Self { bounds, n_blocks })
    }

    /// No blocks over `n_bars` bars.
    pub fn none(n_bars: usize) -> Self {
        Self {
            bounds: vec![0, n_bars],
            n_blocks: 0,
        }
    }

    pub fn n_bars(&self) -> usize {
        self.bounds[self.bounds.len() - 1]
    }

    pub fn n_blocks(&self) -> usize {
        self.n_blocks
    }

    /// The pieces of `bars` inside each block: `(block, range)` in order (block 0 when there are none).
    fn pieces(&self, bars: Range<usize>) -> impl Iterator<Item = (usize, Range<usize>)> + '_ {
        let first = self.bounds.partition_point(|&b| b <= bars.start).saturating_sub(1);
        (first..self.bounds.len() - 1)
            .map(move |k| (k, bars.start.max(self.bounds[k])..bars.end.min(self.bounds[k + 1])))
            .take_while(|(_, r)| r.start < r.end)
    }
}

/// One block's returns: their count, the sum of their deviations from the series' mean and the sum of the
/// squared deviations (`_block_scores`' `n`, `s1`, `s2`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BlockSums {
    pub count: i64,
    pub s1: f64,
    pub s2: f64,
}

/// Sums of the 2nd, 3rd and 4th powers of the deviations from `mean`, overall and (first powers, squares)
/// per block, accumulated piece by piece in bar order.
pub struct Central<'a> {
    blocks: &'a Blocks,
    mean: f64,
    pub m2: f64,
    pub m3: f64,
    pub m4: f64,
    sums: Vec<BlockSums>,
}

impl<'a> Central<'a> {
    pub fn new(blocks: &'a Blocks, mean: f64) -> Self {
        Self {
            blocks,
            mean,
            m2: 0.0,
            m3: 0.0,
            m4: 0.0,
            sums: vec![BlockSums::default(); blocks.n_blocks.max(1)],
        }
    }

    /// `returns` are those of bars `start..start + returns.len()`; NaN ones are skipped.
    pub fn values(&mut self, start: usize, returns: &[f64]) {
        for (k, piece) in self.blocks.pieces(start..start + returns.len()) {
            let (mut n, mut s1, mut s2, mut s3, mut s4) = (0i64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
            for &r in &returns[piece.start - start..piece.end - start] {
                if r.is_nan() {
                    continue;
                }
                let d = r - self.mean;
                let q = d * d;
                n += 1;
                s1 += d;
                s2 += q;
                s3 += q * d;
                s4 += q * q;
            }
            self.add(k, n, s1, s2, s3, s4);
        }
    }

    /// Bars `bars` all return exactly `value` (a flat run: 0), in O(1) per block they touch.
    pub fn constant(&mut self, bars: Range<usize>, value: f64) {
        let d = value - self.mean;
        let q = d * d;
        for (k, piece) in self.blocks.pieces(bars) {
            let len = piece.len() as f64;
            self.add(k, piece.len() as i64, len * d, len * q, len * q * d, len * q * q);
        }
    }

    fn add(&mut self, k: usize, n: i64, s1: f64, s2: f64, s3: f64, s4: f64) {
        self.m2 += s2;
        self.m3 += s3;
        self.m4 += s4;
        let block = &mut self.sums[k];
        block.count += n;
        block.s1 += s1;
        block.s2 += s2;
    }

    /// The per-block sums (none without blocks).
    pub fn block_sums(mut self) -> Vec<BlockSums> {
        self.sums.truncate(self.blocks.n_blocks);
        self.sums
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectorized::{Sink, StatsSink};
    use proptest::prelude::*;

    proptest! {
        /// The central moments and the per-block sums are those of the returns defined plainly (NaN equity
        /// gives NaN returns, skipped; ruin absorbing), the blocks cut like `np.array_split`.
        #[test]
        fn moments_and_blocks_follow_the_returns(
            values in prop::collection::vec(prop::option::weighted(0.85, -20.0f64..150.0), 1..40),
            n_blocks in 0usize..9,
        ) {
            let (init, n) = (100.0, values.len());
            let n_blocks = n_blocks.min(n);
            let equity: Vec<f64> = values.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
            let mut returns = Vec::new(); // (bar, return)
            let mut prev = init;
            for (t, &v) in equity.iter().enumerate() {
                let ruin = v <= 0.0;
                returns.push((t, if ruin { -1.0 } else { v / prev - 1.0 }));
                prev = v;
                if ruin {
                    break;
                }
            }
            returns.retain(|(_, r)| !r.is_nan());
            let mean = returns.iter().map(|(_, r)| r).sum::<f64>() / returns.len().max(1) as f64;
            let power = |k: i32| returns.iter().map(|(_, r)| (r - mean).powi(k)).sum::<f64>();
            // block of each bar: np.array_split's sizes, the first n % k blocks one bar longer
            let block_of: Vec<usize> = (0..n_blocks)
                .flat_map(|k| std::iter::repeat_n(k, n / n_blocks + usize::from(k < n % n_blocks)))
                .collect();
            let blocks = Blocks::new(n, n_blocks).unwrap();
            let mut buffer = Vec::new();
            let mut sink = StatsSink::new(init, &blocks, &mut buffer);
            for (t, v) in equity.iter().enumerate() {
                sink.bar(t, 0.0, *v, &[]);
            }
            let got = sink.finish();
            prop_assert_eq!(got.count, returns.len() as i64);
            for (p, q) in [(got.m2, power(2)), (got.m3, power(3)), (got.m4, power(4))] {
                prop_assert!((p - q).abs() <= 1e-9 * q.abs().max(1e-6), "{} vs {}", p, q);
            }
            prop_assert_eq!(got.blocks.len(), n_blocks);
            for (k, b) in got.blocks.iter().enumerate() {
                let mine: Vec<f64> = returns.iter().filter(|(t, _)| block_of[*t] == k).map(|(_, r)| r - mean).collect();
                prop_assert_eq!(b.count, mine.len() as i64);
                let (s1, s2) = (mine.iter().sum::<f64>(), mine.iter().map(|d| d * d).sum::<f64>());
                prop_assert!((b.s1 - s1).abs() <= 1e-9 * s1.abs().max(1e-6), "{} vs {}", b.s1, s1);
                prop_assert!((b.s2 - s2).abs() <= 1e-9 * s2.abs().max(1e-6), "{} vs {}", b.s2, s2);
            }
        }

        /// The blocks are `np.array_split`'s: consecutive, covering every bar, sizes differing by at most
        /// one, the longer ones first; a range's pieces are its intersections with them.
        #[test]
        fn blocks_split_like_numpy(n_bars in 0usize..60, n_blocks in 0usize..20, a in 0usize..60, b in 0usize..60) {
            let Ok(blocks) = Blocks::new(n_bars, n_blocks) else {
                prop_assert!(n_blocks > n_bars);
                return Ok(());
            };
            prop_assert_eq!(blocks.n_bars(), n_bars);
            if n_blocks > 0 {
                let sizes: Vec<usize> = blocks.bounds.windows(2).map(|w| w[1] - w[0]).collect();
                prop_assert_eq!(sizes.len(), n_blocks);
                for (i, s) in sizes.iter().enumerate() {
                    prop_assert_eq!(*s, n_bars / n_blocks + usize::from(i < n_bars % n_blocks));
                }
            }
            let (lo, hi) = (a.min(b).min(n_bars), a.max(b).min(n_bars));
            let pieces: Vec<_> = blocks.pieces(lo..hi).collect();
            let covered: Vec<usize> = pieces.iter().flat_map(|(_, r)| r.clone()).collect();
            prop_assert_eq!(covered, (lo..hi).collect::<Vec<_>>());
            for (k, r) in pieces {
                prop_assert!(blocks.bounds[k] <= r.start && r.end <= blocks.bounds[k + 1]);
            }
        }
    }
}
