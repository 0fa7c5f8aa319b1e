//! Sinks: what a run keeps. Sweeps keep the equity curve and trade counts; detailed runs keep every
//! order attempt and every bar's cash and positions.

use std::ops::Range;

use super::kernel::Sink;
use super::moments::{BlockSums, Blocks, Central};
use crate::portfolio::{Order, Outcome, Side};

/// Does a fill from `before` to `after` close (part of) a position, i.e. end one round trip?
fn closes_trade(before: f64, after: f64) -> bool {
    before != 0.0 && (after.abs() < before.abs() || after.signum() != before.signum())
}

/// One-pass statistics of a group's equity curve: what a sweep keeps instead of the curve itself.
///
/// Returns follow `ml4t.metrics`' one definition (ruin is absorbing): `equity[t] / equity[t - 1] - 1`, the
/// first measured from the initial cash, while the previous equity is positive; the first bar whose equity
/// is `<= 0` returns exactly -1 (the whole equity is lost) and later bars have no return, whatever the
/// equity does next. A NaN return is skipped, as `ml4t.metrics` skips NaN. `m2`, `m3`, `m4` are the sums
/// of the 2nd, 3rd and 4th powers of the deviations from the mean (two passes, no cancellation);
/// `low`/`high` let the caller zero the variance of a constant series exactly, like `ml4t.metrics`.
/// `ml4t.metrics.statistics_from_moments` turns these into the metrics, with the same definitions as the
/// array functions; `ml4t.metrics.ReturnMoments` / `BlockSums` take `m2..m4` and `blocks` for the
/// deflated Sharpe ratio and CSCV.
#[derive(Debug, Clone, PartialEq)]
pub struct EquityStats {
    pub count: i64,
    pub mean: f64,
    pub m2: f64,
    pub m3: f64,
    pub m4: f64,
    /// Per CSCV block (see [`Blocks`]): the count of its returns and the sums of their deviations from
    /// `mean` and of the squares; empty without blocks.
    pub blocks: Vec<BlockSums>,
    pub low: f64,
    pub high: f64,
    /// Sum of `min(r, 0)^2`.
    pub downside_sq: f64,
    /// `prod(1 + r) - 1` over the returns (-1 after ruin), as `ml4t.metrics.total_return` compounds them.
    pub total_return: f64,
    pub final_equity: f64,
    /// Most negative `wealth / running peak - 1` of the compounded returns, the peak starting at 1 (the
    /// initial cash); -1 after ruin.
    pub max_drawdown: f64,
    pub closed_trades: i64,
    pub open_trades: i64,
}

/// Records the equity curve into a reused buffer and trade counts; [`StatsSink::finish`] computes the
/// statistics in one pass afterwards (keeping the running sums in registers, not in the sink).
pub struct StatsSink<'a> {
    equity: &'a mut Vec<f64>,
    blocks: &'a Blocks,
    init_cash: f64,
    closed_trades: i64,
    open_trades: i64,
    /// Runs of bars reported through `flat` (in order, disjoint): their returns are all exactly 0.
    flat_runs: Vec<Range<usize>>,
}

impl<'a> StatsSink<'a> {
    /// A sink over `blocks.n_bars()` bars; `buffer` is reused across groups. The kernel reports every bar
    /// (through `bar` or `flat`) before [`StatsSink::finish`], so the buffer is only sized, not cleared: a
    /// reused buffer's old values are all overwritten.
    pub fn new(init_cash: f64, blocks: &'a Blocks, buffer: &'a mut Vec<f64>) -> Self {
        buffer.resize(blocks.n_bars(), f64::NAN);
        Self::over(init_cash, blocks, buffer, 0, 0)
    }

    /// A sink over an equity curve recorded elsewhere (e.g. the sum of independent groups' curves), with
    /// its trade counts; [`StatsSink::finish`] gives its statistics.
    pub fn over(
        init_cash: f64,
        blocks: &'a Blocks,
        equity: &'a mut Vec<f64>,
        closed_trades: i64,
        open_trades: i64,
    ) -> Self {
        Self {
            equity,
            blocks,
            init_cash,
            closed_trades,
            open_trades,
            flat_runs: Vec::new(),
        }
    }

    /// The equity recorded so far, one value per bar.
    pub fn curve(&self) -> &[f64] {
        self.equity
    }

    /// The statistics of the recorded curve. Two passes, like `ml4t.metrics`: the first turns equity into
    /// returns in place (the buffer is scratch) and takes count, sum, extremes, downside sum of squares,
    /// the compounded wealth and its maximum drawdown; the second sums the 2nd to 4th powers of the
    /// deviations from the mean, overall and per block. Flat runs, whose returns are all exactly 0 and whose
    /// equity equals the previous bar's, are accounted for in O(1) each (per block they touch).
    pub fn finish(self) -> EquityStats {
        let final_equity = *self.equity.last().unwrap_or(&self.init_cash);
        let n = self.equity.len();
        // the bars not in flat runs, in order
        let mut busy: Vec<Range<usize>> = Vec::with_capacity(self.flat_runs.len() + 1);
        let mut at = 0;
        for run in &self.flat_runs {
            if run.start > at {
                busy.push(at..run.start);
            }
            at = run.end;
        }
        if at < n {
            busy.push(at..n);
        }
        let (mut prev, mut wealth, mut peak) = (self.init_cash, 1.0f64, 1.0f64);
        let (mut count, mut sum, mut low, mut high, mut down_sq, mut mdd) =
            (0i64, 0.0f64, f64::INFINITY, f64::NEG_INFINITY, 0.0f64, 0.0f64);
        let mut ruin = None;
        'bars: for range in &busy {
            if range.start > 0 {
                prev = self.equity[range.start - 1];
            }
            for (t, slot) in self.equity[range.clone()].iter_mut().enumerate() {
                let equity = *slot;
                let ruined = equity <= 0.0;
                let r = if ruined { -1.0 } else { equity / prev - 1.0 };
                *slot = r;
                prev = equity;
                if r.is_nan() {
                    continue; // missing: skipped by the moments, a flat bar of the wealth path
                }
                count += 1;
                sum += r;
                low = low.min(r);
                high = high.max(r);
                let down = r.min(0.0);
                down_sq += down * down;
                wealth *= 1.0 + r;
                peak = peak.max(wealth); // branchless: new peaks are data-dependent and mispredict
                if wealth <= peak * (1.0 + mdd) {
                    mdd = mdd.min(wealth / peak - 1.0); // divide only when this can be a new maximum drawdown
                }
                if ruined {
                    ruin = Some(range.start + t); // absorbing: no return after this bar
                    break 'bars;
                }
            }
        }
        let end = ruin.map_or(n, |r| r + 1);
        // A flat bar's equity equals the previous bar's, so a flat run never holds the ruin (the bar before
        // it would have): the runs that end before the ruin count, each of their returns exactly 0.
        let zero_returns: i64 = self
            .flat_runs
            .iter()
            .filter(|run| run.end <= end)
            .map(|run| run.len() as i64)
            .sum();
        if zero_returns > 0 {
            count += zero_returns;
            low = low.min(0.0);
            high = high.max(0.0);
        }
        let mean = if count > 0 { sum / count as f64 } else { 0.0 };
        let mut central = Central::new(self.blocks, mean);
        for run in self.flat_runs.iter().filter(|run| run.end <= end) {
            central.constant(run.clone(), 0.0);
        }
        for range in busy.iter().take_while(|range| range.start < end) {
            central.values(range.start, &self.equity[range.start..range.end.min(end)]);
        }
        let (m2, m3, m4) = (central.m2, central.m3, central.m4);
        EquityStats {
            count,
            mean,
            m2,
            m3,
            m4,
            blocks: central.block_sums(),
            low,
            high,
            downside_sq: down_sq,
            total_return: wealth - 1.0,
            final_equity,
            max_drawdown: mdd,
            closed_trades: self.closed_trades,
            open_trades: self.open_trades,
        }
    }
}

impl Sink for StatsSink<'_> {
    fn order(&mut self, _bar: usize, _col: usize, _order: &Order, outcome: &Outcome, before: f64, after: f64) {
        if matches!(outcome, Outcome::Filled { .. }) && closes_trade(before, after) {
            self.closed_trades += 1;
        }
    }

    #[inline]
    fn bar(&mut self, bar: usize, _cash: f64, equity: f64, positions: &[f64]) {
        self.equity[bar] = equity;
        if bar + 1 == self.equity.len() {
            self.open_trades = positions.iter().filter(|&&p| p != 0.0).count() as i64;
        }
    }

    fn flat(&mut self, bars: Range<usize>, cash: f64, _positions: &[f64]) {
        if bars.end == self.equity.len() {
            self.open_trades = 0;
        }
        self.equity[bars.clone()].fill(cash);
        // a run the kernel reported in pieces (a skip cut at a block's end) is one run: its moments are
        // summed as one, exactly as when it came whole
        match self.flat_runs.last_mut() {
            Some(last) if last.end == bars.start => last.end = bars.end,
            _ => self.flat_runs.push(bars),
        }
    }
}

/// Buffers one sweep worker reuses across combinations.
#[derive(Default)]
pub struct CurveBuffers {
    group: Vec<f64>,
    totals: Vec<Vec<f64>>,
}

/// The statistics rows of one combination whose `n_groups` groups are simulated by `run(k, sink)` over
/// `blocks.n_bars()` bars: the portfolio's first, then, when there are several groups (symbols trading
/// separate accounts), each group's in order. The portfolio's equity is the sum of its groups' curves (added
/// in group order, as the detailed `Result` sums them) over their summed initial cash, and its trade counts
/// are their sums.
pub fn combination_stats(
    init_cash: f64,
    blocks: &Blocks,
    n_groups: usize,
    buffers: &mut CurveBuffers,
    mut run: impl FnMut(usize, &mut StatsSink),
) -> Vec<EquityStats> {
    tile_stats(init_cash, blocks, n_groups, 1, buffers, |_, k, sink| run(k, sink))
}

/// [`combination_stats`] of `n_combos` combinations at once, `run(c, k, sink)` simulating group `k` of the
/// tile's combination `c`: the rows of combination 0, then of 1, ... With several groups, the groups run
/// group-major (group 0 of every combination, then group 1, ...), so a group's inputs (a symbol's leaves) are
/// read by the tile's combinations while they are in the cache; each combination's portfolio curve still
/// adds its groups in group order, so every row is [`combination_stats`]' bit for bit.
pub fn tile_stats(
    init_cash: f64,
    blocks: &Blocks,
    n_groups: usize,
    n_combos: usize,
    buffers: &mut CurveBuffers,
    mut run: impl FnMut(usize, usize, &mut StatsSink),
) -> Vec<EquityStats> {
    if n_groups == 1 {
        return (0..n_combos)
            .map(|c| {
                let mut sink = StatsSink::new(init_cash, blocks, &mut buffers.group);
                run(c, 0, &mut sink);
                sink.finish()
            })
            .collect();
    }
    if buffers.totals.len() < n_combos {
        buffers.totals.resize_with(n_combos, Vec::new);
    }
    for total in &mut buffers.totals[..n_combos] {
        total.clear();
        total.resize(blocks.n_bars(), 0.0);
    }
    let mut rows: Vec<Vec<EquityStats>> = (0..n_combos).map(|_| Vec::with_capacity(n_groups + 1)).collect();
    let mut trades = vec![(0i64, 0i64); n_combos];
    for k in 0..n_groups {
        for c in 0..n_combos {
            let mut sink = StatsSink::new(init_cash, blocks, &mut buffers.group);
            run(c, k, &mut sink);
            for (total, equity) in buffers.totals[c].iter_mut().zip(sink.curve()) {
                *total += equity;
            }
            let stats = sink.finish();
            trades[c].0 += stats.closed_trades;
            trades[c].1 += stats.open_trades;
            rows[c].push(stats);
        }
    }
    let mut out = Vec::with_capacity(n_combos * (n_groups + 1));
    for ((row, (closed, open)), total) in rows.into_iter().zip(trades).zip(&mut buffers.totals) {
        out.push(StatsSink::over(init_cash * n_groups as f64, blocks, total, closed, open).finish());
        out.extend(row);
    }
    out
}

/// Every order attempt (filled or rejected) as columns, with per-bar cash, equity and positions; a run's
/// groups' sinks become its records by [`crate::records::Records::from_groups`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordSink {
    pub bar: Vec<i64>,
    pub col: Vec<i64>,
    pub requested: Vec<f64>,
    /// 0 filled, else the `Reject` code.
    pub status: Vec<u8>,
    /// 1 buy, -1 sell (the requested direction for rejected orders).
    pub side: Vec<i8>,
    pub size: Vec<f64>,
    pub price: Vec<f64>,
    pub fees: Vec<f64>,
    /// The order's price before slippage.
    pub raw_price: Vec<f64>,
    pub cash: Vec<f64>,
    pub equity: Vec<f64>,
    /// Bar-major: `positions[bar * n_cols + k]`.
    pub positions: Vec<f64>,
}

impl Sink for RecordSink {
    fn order(&mut self, bar: usize, col: usize, order: &Order, outcome: &Outcome, _before: f64, _after: f64) {
        let requested = order.size;
        let (status, side, size, price, fees) = match *outcome {
            Outcome::Filled {
                side,
                size,
                price,
                fees,
            } => (0, if side == Side::Buy { 1 } else { -1 }, size, price, fees),
            Outcome::Rejected(reason) => (reason as u8, if requested > 0.0 { 1 } else { -1 }, 0.0, f64::NAN, 0.0),
            Outcome::Ignored => return,
        };
        self.bar.push(bar as i64);
        self.col.push(col as i64);
        self.requested.push(requested);
        self.status.push(status);
        self.side.push(side);
        self.size.push(size);
        self.price.push(price);
        self.fees.push(fees);
        self.raw_price.push(order.price);
    }

    fn bar(&mut self, _bar: usize, cash: f64, equity: f64, positions: &[f64]) {
        self.cash.push(cash);
        self.equity.push(equity);
        self.positions.extend_from_slice(positions);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A curve made of busy stretches (random equity) and flat stretches (equity held at its last value).
    fn curve(parts: &[(bool, Vec<f64>)], init: f64) -> (Vec<f64>, Vec<Range<usize>>) {
        let (mut equity, mut runs, mut last) = (Vec::new(), Vec::new(), init);
        for (flat, values) in parts {
            let start = equity.len();
            for v in values {
                let e = if *flat { last } else { *v };
                equity.push(e);
                last = e;
            }
            if *flat && !values.is_empty() {
                runs.push(start..equity.len());
            }
        }
        (equity, runs)
    }

    proptest! {
        /// Reporting flat runs in bulk gives the statistics of reporting every bar.
        #[test]
        fn flat_runs_match_bar_by_bar(parts in prop::collection::vec((any::<bool>(), prop::collection::vec(-50.0f64..150.0, 1..8)), 1..8), n_blocks in 0usize..7) {
            let init = 100.0;
            let (equity, runs) = curve(&parts, init);
            let blocks = Blocks::new(equity.len(), n_blocks.min(equity.len())).unwrap();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let mut bulk = StatsSink::new(init, &blocks, &mut a);
            let mut each = StatsSink::new(init, &blocks, &mut b);
            let mut bar = 0;
            for run in &runs {
                for (i, e) in equity.iter().enumerate().take(run.start).skip(bar) {
                    bulk.bar(i, 0.0, *e, &[]);
                }
                bulk.flat(run.clone(), equity[run.start], &[]);
                bar = run.end;
            }
            for (i, e) in equity.iter().enumerate().skip(bar) {
                bulk.bar(i, 0.0, *e, &[]);
            }
            for (i, e) in equity.iter().enumerate() {
                each.bar(i, 0.0, *e, &[]);
            }
            let (x, y) = (bulk.finish(), each.finish());
            prop_assert_eq!(x.count, y.count);
            prop_assert_eq!(x.blocks.len(), blocks.n_blocks());
            for (u, v) in x.blocks.iter().zip(&y.blocks) {
                prop_assert_eq!(u.count, v.count);
                for (p, q) in [(u.s1, v.s1), (u.s2, v.s2)] {
                    prop_assert!((p - q).abs() <= 1e-12 * q.abs().max(1.0), "{} vs {}", p, q);
                }
            }
            for (p, q) in [(x.mean, y.mean), (x.m2, y.m2), (x.m3, y.m3), (x.m4, y.m4), (x.low, y.low), (x.high, y.high), (x.downside_sq, y.downside_sq), (x.max_drawdown, y.max_drawdown), (x.total_return, y.total_return), (x.final_equity, y.final_equity)] {
                prop_assert!((p - q).abs() <= 1e-12 * p.abs().max(1.0), "{} vs {}", p, q);
            }
        }

        /// The statistics are those of the returns defined plainly: `v / prev - 1` while `prev > 0`, -1 at
        /// the first `v <= 0`, none after; moments two-pass, wealth compounded from 1.
        #[test]
        fn statistics_follow_the_ruin_rule(values in prop::collection::vec(-20.0f64..150.0, 1..30)) {
            let init = 100.0;
            let mut returns = Vec::new();
            let mut prev = init;
            for &v in &values {
                if prev <= 0.0 {
                    break;
                }
                returns.push(if v <= 0.0 { -1.0 } else { v / prev - 1.0 });
                prev = v;
            }
            let n = returns.len() as f64;
            let mean = returns.iter().sum::<f64>() / n;
            let m2: f64 = returns.iter().map(|r| (r - mean) * (r - mean)).sum();
            let (mut wealth, mut peak, mut mdd) = (1.0f64, 1.0f64, 0.0f64);
            for r in &returns {
                wealth *= 1.0 + r;
                peak = peak.max(wealth);
                mdd = mdd.min(wealth / peak - 1.0);
            }
            let mut buffer = Vec::new();
            let blocks = Blocks::none(values.len());
            let mut sink = StatsSink::new(init, &blocks, &mut buffer);
            for (i, v) in values.iter().enumerate() {
                sink.bar(i, 0.0, *v, &[]);
            }
            let got = sink.finish();
            prop_assert_eq!(got.count, returns.len() as i64);
            prop_assert_eq!(got.final_equity, *values.last().unwrap());
            let down: f64 = returns.iter().map(|r| r.min(0.0) * r.min(0.0)).sum();
            for (p, q) in [(got.mean, mean), (got.m2, m2), (got.downside_sq, down), (got.total_return, wealth - 1.0), (got.max_drawdown, mdd)] {
                prop_assert!((p - q).abs() <= 1e-12 * q.abs().max(1.0), "{} vs {}", p, q);
            }
        }

        /// A combination of independent groups: its portfolio row is the statistics of their summed curve
        /// over their summed cash, followed by each group's own row.
        #[test]
        fn portfolio_row_is_the_summed_curve(curves in prop::collection::vec(prop::collection::vec(-20.0f64..150.0, 6), 2..4)) {
            let init = 100.0;
            let mut buffers = CurveBuffers::default();
            let blocks = Blocks::new(6, 4).unwrap();
            let rows = combination_stats(init, &blocks, curves.len(), &mut buffers, |k, sink| {
                for (i, v) in curves[k].iter().enumerate() {
                    sink.bar(i, 0.0, *v, &[]);
                }
            });
            prop_assert_eq!(rows.len(), curves.len() + 1);
            let mut total = [0.0; 6];
            for (k, curve) in curves.iter().enumerate() {
                let mut own = Vec::new();
                let mut sink = StatsSink::new(init, &blocks, &mut own);
                for (i, v) in curve.iter().enumerate() {
                    sink.bar(i, 0.0, *v, &[]);
                    total[i] += v;
                }
                prop_assert_eq!(&rows[k + 1], &sink.finish());
            }
            let mut whole = Vec::new();
            let mut sink = StatsSink::new(init * curves.len() as f64, &blocks, &mut whole);
            for (i, v) in total.iter().enumerate() {
                sink.bar(i, 0.0, *v, &[]);
            }
            prop_assert_eq!(&rows[0], &sink.finish());
        }
    }

    #[test]
    fn hand_made_ruin() {
        // 100 -> 110 (+10%) -> 55 (-50%) -> -20 (ruin: -100%) -> 30 (no return)
        let mut buffer = Vec::new();
        let blocks = Blocks::none(4);
        let mut sink = StatsSink::new(100.0, &blocks, &mut buffer);
        for (i, v) in [110.0, 55.0, -20.0, 30.0].iter().enumerate() {
            sink.bar(i, 0.0, *v, &[]);
        }
        let got = sink.finish();
        assert_eq!(got.count, 3);
        assert!((got.mean - (0.1 - 0.5 - 1.0) / 3.0).abs() < 1e-15);
        assert_eq!((got.low, got.high), (-1.0, 110.0 / 100.0 - 1.0));
        assert_eq!(
            (got.total_return, got.max_drawdown, got.final_equity),
            (-1.0, -1.0, 30.0)
        );
        assert!((got.downside_sq - 1.25).abs() < 1e-15);
    }
}
