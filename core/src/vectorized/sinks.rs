//! Sinks: what a run keeps. Sweeps keep the equity curve and trade counts; detailed runs keep every
//! order attempt and every bar's cash and positions.

use super::kernel::Sink;
use crate::portfolio::{Order, Outcome, Reject, Side};

/// Does a fill from `before` to `after` close (part of) a position, i.e. end one round trip?
fn closes_trade(before: f64, after: f64) -> bool {
    before != 0.0 && (after.abs() < before.abs() || after.signum() != before.signum())
}

/// One-pass statistics of a group's equity curve: what a sweep keeps instead of the curve itself.
///
/// Returns are `equity[t] / equity[t - 1] - 1`, the first measured from the initial cash; a return after
/// a non-positive equity is undefined (NaN) and skipped, as `ml4t.metrics` skips NaN. Mean and the sum of
/// squared deviations use Welford's update (no cancellation); `low`/`high` let the caller zero the
/// variance of a constant series exactly, like `ml4t.metrics`. `ml4t.metrics.statistics_from_moments`
/// turns these into the metrics, with the same definitions as the array functions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EquityStats {
    pub count: i64,
    pub mean: f64,
    pub m2: f64,
    pub low: f64,
    pub high: f64,
    /// Sum of `min(r, 0)^2`.
    pub downside_sq: f64,
    pub final_equity: f64,
    /// Most negative `equity / running peak - 1`, the peak starting at the initial cash.
    pub max_drawdown: f64,
    pub closed_trades: i64,
    pub open_trades: i64,
}

pub struct StatsSink {
    pub stats: EquityStats,
    prev: f64,
    peak: f64,
    n_bars: usize,
}

impl StatsSink {
    pub fn new(init_cash: f64, n_bars: usize) -> Self {
        let stats = EquityStats {
            count: 0,
            mean: 0.0,
            m2: 0.0,
            low: f64::INFINITY,
            high: f64::NEG_INFINITY,
            downside_sq: 0.0,
            final_equity: init_cash,
            max_drawdown: 0.0,
            closed_trades: 0,
            open_trades: 0,
        };
        Self {
            stats,
            prev: init_cash,
            peak: init_cash,
            n_bars,
        }
    }
}

impl Sink for StatsSink {
    fn order(&mut self, _bar: usize, _col: usize, _order: &Order, outcome: &Outcome, before: f64, after: f64) {
        if matches!(outcome, Outcome::Filled { .. }) && closes_trade(before, after) {
            self.stats.closed_trades += 1;
        }
    }

    fn bar(&mut self, bar: usize, _cash: f64, equity: f64, positions: &[f64]) {
        let st = &mut self.stats;
        if self.prev > 0.0 && self.prev.is_finite() && equity.is_finite() {
            let r = equity / self.prev - 1.0;
            st.count += 1;
            let delta = r - st.mean;
            st.mean += delta / st.count as f64;
            st.m2 += delta * (r - st.mean);
            st.low = st.low.min(r);
            st.high = st.high.max(r);
            let down = r.min(0.0);
            st.downside_sq += down * down;
        }
        self.prev = equity;
        if equity > self.peak {
            self.peak = equity;
        }
        if self.peak > 0.0 {
            st.max_drawdown = st.max_drawdown.min(equity / self.peak - 1.0);
        }
        st.final_equity = equity;
        if bar + 1 == self.n_bars {
            st.open_trades = positions.iter().filter(|&&p| p != 0.0).count() as i64;
        }
    }
}

/// Every order attempt (filled or rejected) as columns, with per-bar cash, equity and positions.
#[derive(Default)]
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

/// The human-readable reason for a reject code recorded by [`RecordSink`].
pub fn reject_message(code: u8) -> &'static str {
    [
        Reject::NoCash,
        Reject::NoCashShort,
        Reject::CantCoverFees,
        Reject::BelowMinSize,
        Reject::NoOpenPosition,
        Reject::NoPrice,
    ]
    .into_iter()
    .find(|r| *r as u8 == code)
    .map_or("unknown", Reject::message)
}
