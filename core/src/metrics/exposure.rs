//! A portfolio's exposure per bar (`Result.exposure`, as `ml4t._shape` defines it) from its positions as
//! dense `(bar, symbol)` arrays, in one pass: per bar the long, short, gross and net values as fractions of
//! the bar's equity ([`super::fraction`], the one rule) and the symbols held; either as columns
//! ([`exposure`]) or only their means over bars ([`exposure_means`], what `ml4t.metrics` reads), without a
//! column of a million rows.
//!
//! Sums follow Polars' float sum (`polars_compute::float_sum`: the leading `len % 128` values one by one, the
//! rest in blocks of 128 summed in 16 lanes folded in halves, the blocks pairwise), so that a bar's sum over
//! its symbols has the bits of the frame path's `group_by(...).agg(pl.all().sum())` and a mean over bars
//! those of `pl.col(...).mean()` (a null counts as 0 in the sum and not in the count).

use super::fraction;

/// Values per block of Polars' float sum, and lanes of a block.
const BLOCK: usize = 128;
const LANES: usize = 16;

/// A sum of a known number of values pushed in order, in Polars' order (see the module docs): the values
/// are buffered a block at a time (the leading `len % 128` first), each block summed when it is full.
struct PolarsSum {
    buffer: [f64; BLOCK],
    filled: usize,
    /// The size of the block being filled: `len % 128` for the leading values (when not 0), then 128.
    block: usize,
    rest: f64,
    blocks: Vec<f64>,
}

impl PolarsSum {
    fn new(len: usize) -> Self {
        let rest = len % BLOCK;
        Self {
            buffer: [0.0; BLOCK],
            filled: 0,
            block: if rest > 0 { rest } else { BLOCK },
            rest: -0.0,
            blocks: Vec::with_capacity(len / BLOCK),
        }
    }

    #[inline(always)]
    fn push(&mut self, value: f64) {
        self.buffer[self.filled] = value;
        self.filled += 1;
        if self.filled == self.block {
            self.flush();
        }
    }

    #[inline(never)]
    fn flush(&mut self) {
        if self.block < BLOCK {
            // the leading values, one by one
            self.rest = self.buffer[..self.block].iter().fold(-0.0, |acc, v| acc + v);
        } else {
            let mut lanes = [0.0f64; LANES];
            for chunk in self.buffer.chunks_exact(LANES) {
                for (acc, v) in lanes.iter_mut().zip(chunk) {
                    *acc += v;
                }
            }
            self.blocks.push(fold(&mut lanes));
        }
        self.filled = 0;
        self.block = BLOCK;
    }

    fn finish(&self) -> f64 {
        debug_assert_eq!(self.filled, 0, "pushed a different number of values than announced");
        let main = if self.blocks.is_empty() {
            0.0
        } else {
            pairwise(&self.blocks)
        };
        main + self.rest
    }
}

/// A block's lanes folded onto themselves in halves down to four, added in pairs.
fn fold(lanes: &mut [f64; LANES]) -> f64 {
    let mut width = LANES;
    while width > 4 {
        for j in 0..width / 2 {
            lanes[j] += lanes[width / 2 + j];
        }
        width /= 2;
    }
    (lanes[0] + lanes[2]) + (lanes[1] + lanes[3])
}

/// The blocks' sums added pairwise, split at half the blocks (rounded down).
fn pairwise(blocks: &[f64]) -> f64 {
    if blocks.len() == 1 {
        return blocks[0];
    }
    let (left, right) = blocks.split_at(blocks.len() / 2);
    pairwise(left) + pairwise(right)
}

/// NumPy's `maximum(v, 0.0)`: NaN propagates.
#[inline]
fn long_part(v: f64) -> f64 {
    if v >= 0.0 || v.is_nan() {
        v
    } else {
        0.0
    }
}

/// NumPy's `minimum(v, 0.0)`: NaN propagates.
#[inline]
fn short_part(v: f64) -> f64 {
    if v <= 0.0 || v.is_nan() {
        v
    } else {
        0.0
    }
}

/// Calls `f(bar, [long, short, gross, net], held)` per bar: the bar's values summed over its symbols (a
/// symbol's long part is `max(value, 0)`, its short part `min(value, 0)`, its gross `|value|`;
/// `net = long + short`) and the symbols with `qty != 0` (NaN included).
#[inline(always)]
fn for_each_bar(qty: &[f64], value: &[f64], n_symbols: usize, n_bars: usize, mut f: impl FnMut(usize, [f64; 4], i64)) {
    assert!(qty.len() == n_bars * n_symbols && value.len() == n_bars * n_symbols);
    if n_symbols == 1 {
        for (bar, (&q, &v)) in qty.iter().zip(value).enumerate() {
            let (long, short) = (long_part(v), short_part(v));
            f(bar, [long, short, v.abs(), long + short], i64::from(q != 0.0));
        }
        return;
    }
    for bar in 0..n_bars {
        let row = bar * n_symbols..(bar + 1) * n_symbols;
        let mut sums: [PolarsSum; 3] = std::array::from_fn(|_| PolarsSum::new(n_symbols));
        for &v in &value[row.clone()] {
            sums[0].push(long_part(v));
            sums[1].push(short_part(v));
            sums[2].push(v.abs());
        }
        let (long, short, gross) = (sums[0].finish(), sums[1].finish(), sums[2].finish());
        let held = qty[row].iter().filter(|&&q| q != 0.0).count() as i64;
        f(bar, [long, short, gross, long + short], held);
    }
}

/// `Result.exposure`'s columns: `long`, `short`, `gross`, `net` (NaN where there is no fraction), the rows
/// without a fraction of each, and `n_positions`.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    pub fractions: [Vec<f64>; 4],
    pub none: [Vec<i64>; 4],
    pub n_positions: Vec<i64>,
}

/// [`Exposure`] of `qty` and `value` (row-major `(bar, symbol)`, `n_symbols` a row; `value` the position's
/// signed value) over `equity` (one per bar); see the module docs.
pub fn exposure(qty: &[f64], value: &[f64], n_symbols: usize, equity: &[f64]) -> Exposure {
    let n = equity.len();
    let mut out = Exposure {
        fractions: std::array::from_fn(|_| Vec::with_capacity(n)),
        none: std::array::from_fn(|_| Vec::new()),
        n_positions: Vec::with_capacity(n),
    };
    for_each_bar(qty, value, n_symbols, n, |bar, values, held| {
        let e = equity[bar];
        for ((column, none), v) in out.fractions.iter_mut().zip(&mut out.none).zip(values) {
            column.push(fraction(v, e).unwrap_or_else(|| {
                none.push(bar as i64);
                f64::NAN
            }));
        }
        out.n_positions.push(held);
    });
    out
}

/// The means over bars of [`Exposure`]'s columns, as `ml4t.metrics.activity_statistics` takes them (NaN
/// without bars, or without any fraction): `exposure` the fraction of bars holding something, `gross` and
/// `net` over the bars with a fraction, `n_positions` the symbols held.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposureMeans {
    pub exposure: f64,
    pub gross: f64,
    pub net: f64,
    pub n_positions: f64,
}

/// [`ExposureMeans`] of `qty` and `value` over `equity` (as [`exposure`]), without its columns.
pub fn exposure_means(qty: &[f64], value: &[f64], n_symbols: usize, equity: &[f64]) -> ExposureMeans {
    let n = equity.len();
    let (mut gross, mut net) = (PolarsSum::new(n), PolarsSum::new(n));
    let (mut gross_count, mut net_count, mut bars_held, mut held_sum) = (0usize, 0usize, 0usize, 0i64);
    for_each_bar(qty, value, n_symbols, n, |bar, values, held| {
        let e = equity[bar];
        let (g, m) = (fraction(values[2], e), fraction(values[3], e));
        // a bar without a fraction is null: 0 in the sum, not counted
        gross.push(g.unwrap_or(0.0));
        net.push(m.unwrap_or(0.0));
        gross_count += usize::from(g.is_some());
        net_count += usize::from(m.is_some());
        bars_held += usize::from(held > 0);
        held_sum += held;
    });
    let mean = |sum: f64, count: usize| if count == 0 { f64::NAN } else { sum / count as f64 };
    ExposureMeans {
        // sums of whole numbers: exact in any order
        exposure: mean(bars_held as f64, n),
        gross: mean(gross.finish(), gross_count),
        net: mean(net.finish(), net_count),
        n_positions: mean(held_sum as f64, n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Polars' float sum written over the slice, recursively (as `polars_compute::float_sum` is).
    fn plain_polars_sum(values: &[f64]) -> f64 {
        fn block(b: &[f64]) -> f64 {
            let mut lanes = [0.0; LANES];
            for (i, v) in b.iter().enumerate() {
                lanes[i % LANES] += v;
            }
            fold(&mut lanes)
        }
        fn recurse(main: &[f64]) -> f64 {
            if main.len() == BLOCK {
                return block(main);
            }
            let mid = main.len() / BLOCK / 2 * BLOCK;
            recurse(&main[..mid]) + recurse(&main[mid..])
        }
        let (rest, main) = values.split_at(values.len() % BLOCK);
        let main_sum = if main.is_empty() { 0.0 } else { recurse(main) };
        main_sum + rest.iter().fold(-0.0, |a, v| a + v)
    }

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => Just(0.0),
            4 => -1e6f64..1e6,
            1 => Just(f64::NAN),
            1 => -1e-3f64..1e-3,
        ]
    }

    proptest! {
        /// The streamed sum is the recursive one, bit for bit.
        #[test]
        fn streamed_sum_is_polars_order(values in prop::collection::vec(-1e9f64..1e9, 0..1200)) {
            let mut sum = PolarsSum::new(values.len());
            values.iter().for_each(|&v| sum.push(v));
            prop_assert_eq!(sum.finish().to_bits(), plain_polars_sum(&values).to_bits());
        }

        /// The columns are their definitions per bar, and the means are the columns' means.
        #[test]
        fn exposure_follows_its_definition(
            n_symbols in 0usize..5,
            cells in prop::collection::vec((prop_oneof![Just(0.0), Just(2.0), Just(-1.5), Just(f64::NAN)], value()), 0..80),
            equity in prop::collection::vec(prop_oneof![Just(0.0), Just(-3.0), Just(f64::NAN), 1.0f64..1e6], 0..20),
        ) {
            let n = cells.len().checked_div(n_symbols).map_or(equity.len(), |rows| rows.min(equity.len()));
            let equity = &equity[..n];
            let (qty, value): (Vec<f64>, Vec<f64>) = cells[..n * n_symbols].iter().copied().unzip();
            let got = exposure(&qty, &value, n_symbols, equity);
            let (mut gross_sum, mut gross_count, mut net_sum, mut net_count) = (-0.0, 0usize, -0.0, 0usize);
            for bar in 0..n {
                let row = &value[bar * n_symbols..(bar + 1) * n_symbols];
                let long = plain_polars_sum(&row.iter().map(|&v| if v.is_nan() { v } else { v.max(0.0) }).collect::<Vec<_>>());
                let short = plain_polars_sum(&row.iter().map(|&v| if v.is_nan() { v } else { v.min(0.0) }).collect::<Vec<_>>());
                let gross = plain_polars_sum(&row.iter().map(|v| v.abs()).collect::<Vec<_>>());
                for (column, v) in [long, short, gross, long + short].into_iter().enumerate() {
                    let want = if v == 0.0 { Some(0.0) } else if equity[bar] > 0.0 { Some(v / equity[bar]) } else { None };
                    prop_assert_eq!(got.none[column].contains(&(bar as i64)), want.is_none());
                    if let Some(w) = want {
                        prop_assert_eq!(got.fractions[column][bar].to_bits(), w.to_bits());
                    }
                }
                let held = qty[bar * n_symbols..(bar + 1) * n_symbols].iter().filter(|q| **q != 0.0).count();
                prop_assert_eq!(got.n_positions[bar], held as i64);
                if !got.none[2].contains(&(bar as i64)) { gross_sum += got.fractions[2][bar]; gross_count += 1; }
                if !got.none[3].contains(&(bar as i64)) { net_sum += got.fractions[3][bar]; net_count += 1; }
            }
            // fewer than 128 bars: Polars' mean sums them one by one
            let means = exposure_means(&qty, &value, n_symbols, equity);
            let mean = |s: f64, c: usize| if c == 0 { f64::NAN } else { (0.0 + s) / c as f64 };
            prop_assert_eq!(means.gross.to_bits(), mean(gross_sum, gross_count).to_bits());
            prop_assert_eq!(means.net.to_bits(), mean(net_sum, net_count).to_bits());
            let held: i64 = got.n_positions.iter().sum();
            prop_assert_eq!(means.n_positions.to_bits(), mean(held as f64, n).to_bits());
            let bars_held = got.n_positions.iter().filter(|h| **h > 0).count();
            prop_assert_eq!(means.exposure.to_bits(), mean(bars_held as f64, n).to_bits());
        }
    }
}
