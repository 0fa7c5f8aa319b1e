//! One pass over a result's equity curve: what `ml4t.metrics.summary` needs of its returns, computed once.
//!
//! The definitions are `ml4t.metrics`' (`python/ml4t/metrics/_returns.py`), not this file's: returns are
//! `Result.returns`' (`equity[t] / equity[t - 1] - 1`, the first measured from the initial cash; ruin is
//! absorbing: the first bar whose equity is `<= 0` returns exactly -1 and later bars have none), a NaN return
//! is missing (skipped by the moments and the quantiles, a flat bar of the wealth path), the wealth path
//! starts at 1 before the first bar. Here they are accumulated in bar order (the sweep's `StatsSink` order):
//! the sums are sequential, not NumPy's pairwise ones, so a statistic may differ from the array function's in
//! its last bits (`tests/metrics` holds the two to 1e-12). The value at risk and its conditional value come
//! from a selection of the returns, not a sort: the same order statistics, so the value at risk is exact and
//! the conditional value sums the `k` smallest returns in ascending order.
//!
//! `exposure` holds the other pass: a portfolio's exposure per bar from its dense position arrays.

mod exposure;

pub use exposure::{exposure, exposure_means, Exposure, ExposureMeans};

/// `value / equity` per row as `ml4t._shape` defines a fraction of equity: 0 for a value of 0 whatever the
/// equity, the quotient where the equity is positive, and no fraction otherwise (equity `<= 0` or NaN: a
/// fraction of no equity means nothing). Returns the fractions (NaN where there is none) and the rows without
/// one, in order. The one copy of the rule: `Result.weights`, `exposure` and `turnover` all call it.
pub fn fraction_of_equity(value: &[f64], equity: &[f64]) -> (Vec<f64>, Vec<i64>) {
    let mut none = Vec::new();
    let out = value
        .iter()
        .zip(equity)
        .enumerate()
        .map(|(row, (&v, &e))| {
            fraction(v, e).unwrap_or_else(|| {
                none.push(row as i64);
                f64::NAN
            })
        })
        .collect();
    (out, none)
}

/// One value's fraction of equity (see [`fraction_of_equity`]); `None` where there is none.
#[inline]
pub(crate) fn fraction(value: f64, equity: f64) -> Option<f64> {
    if value == 0.0 {
        Some(0.0)
    } else if equity > 0.0 {
        Some(value / equity)
    } else {
        None
    }
}

/// What [`return_statistics`] found. Sums are over the returns that are not NaN.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnStatistics {
    /// Returns that are not NaN (up to and including a ruin).
    pub count: i64,
    /// Their mean (NaN without any).
    pub mean: f64,
    /// Sum of squared deviations from `mean` (two passes, no cancellation).
    pub m2: f64,
    pub low: f64,
    pub high: f64,
    /// Sum of `min(r - excess, 0)^2`, `excess` the per-period risk-free rate.
    pub downside_sq: f64,
    /// `prod(1 + r) - 1` (NaN without returns).
    pub total_return: f64,
    /// Most negative `wealth / running peak - 1` (NaN without returns).
    pub max_drawdown: f64,
    /// The first longest drawdown in rows of the wealth path (row 0 is the start, row `i` the wealth after
    /// bar `i - 1`): its length, its peak row and its end row (the recovery or the last row).
    pub drawdown_length: usize,
    pub drawdown_peak: usize,
    pub drawdown_end: usize,
    /// The `level` quantile of the returns (linear interpolation, NumPy's `percentile`); NaN without returns.
    pub value_at_risk: f64,
    /// The mean of the `k = int((count - 1) * level) + 1` smallest returns; NaN without returns.
    pub conditional_value_at_risk: f64,
}

/// The drawdown rows of the wealth path, as `ml4t.metrics._returns._drawdown_spans` defines them: a row is
/// at a high when its wealth is at (or above) the running peak (NaN propagates into the peak, as NumPy's
/// `maximum.accumulate` does); below a high a drawdown has lasted `row - last high` rows; it ends at the
/// first row back at the peak. Keeps the first longest one and the most negative drawdown.
struct Drawdowns {
    row: usize,
    peak: f64,
    last_high: usize,
    prev_under: bool,
    worst: f64,
    best: (usize, usize, usize),
}

impl Drawdowns {
    fn new() -> Self {
        // row 0: the starting wealth 1, at its own peak
        Self {
            row: 0,
            peak: 1.0,
            last_high: 0,
            prev_under: false,
            worst: 0.0,
            best: (0, 0, 0),
        }
    }

    #[inline]
    fn push(&mut self, wealth: f64) {
        self.row += 1;
        let row = self.row;
        self.peak = if self.peak.is_nan() || wealth.is_nan() {
            f64::NAN
        } else {
            self.peak.max(wealth)
        };
        let drawdown = wealth / self.peak - 1.0;
        if !self.worst.is_nan() && (drawdown.is_nan() || drawdown < self.worst) {
            self.worst = drawdown; // NaN propagates, as NumPy's min does
        }
        let at_high = wealth >= self.peak;
        // below the peak, or just recovered: the drawdown (ending here) started at the last high
        let peak_row = if at_high && !self.prev_under {
            row
        } else {
            self.last_high
        };
        if at_high {
            self.last_high = row;
        }
        self.prev_under = !at_high;
        let length = row - peak_row;
        if length > self.best.0 {
            self.best = (length, peak_row, row);
        }
    }
}

/// The statistics of the returns of `equity` (one value per bar) from `init_cash`; see the module docs.
/// `excess` is the per-period risk-free rate of the downside sum; `level` the tail probability of the value
/// at risk (in `(0, 1)`, checked by the caller).
pub fn return_statistics(equity: &[f64], init_cash: f64, excess: f64, level: f64) -> ReturnStatistics {
    let mut returns = Vec::with_capacity(equity.len());
    let mut drawdowns = Drawdowns::new();
    let (mut prev, mut wealth, mut ruined) = (init_cash, 1.0f64, false);
    let (mut sum, mut low, mut high, mut down_sq) = (0.0f64, f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    for &value in equity {
        if !ruined {
            ruined = value <= 0.0;
            let r = if ruined { -1.0 } else { value / prev - 1.0 };
            prev = value;
            if !r.is_nan() {
                returns.push(r);
                sum += r;
                low = low.min(r);
                high = high.max(r);
                let down = (r - excess).min(0.0);
                down_sq += down * down;
                wealth *= 1.0 + r;
            }
        }
        drawdowns.push(wealth); // after a ruin the wealth stays where it fell, bar after bar
    }
    let count = returns.len();
    let mean = if count > 0 { sum / count as f64 } else { f64::NAN };
    let m2 = returns.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>();
    let (value_at_risk, conditional_value_at_risk) = tail(&mut returns, level);
    let none = count == 0;
    let (length, peak, end) = drawdowns.best;
    ReturnStatistics {
        count: count as i64,
        mean,
        m2,
        low,
        high,
        downside_sq: down_sq,
        total_return: if none { f64::NAN } else { wealth - 1.0 },
        max_drawdown: if none { f64::NAN } else { drawdowns.worst },
        drawdown_length: length,
        drawdown_peak: peak,
        drawdown_end: end,
        value_at_risk,
        conditional_value_at_risk,
    }
}

/// The value at risk and the conditional value at risk of `returns` (no NaN; reordered), by selection.
fn tail(returns: &mut [f64], level: f64) -> (f64, f64) {
    let count = returns.len();
    if count == 0 {
        return (f64::NAN, f64::NAN);
    }
    let top = count - 1;
    // the conditional value: the k smallest, summed in ascending order
    let k = ((top as f64 * level) as usize + 1).min(count);
    if k < count {
        returns.select_nth_unstable_by(k - 1, f64::total_cmp);
    }
    returns[..k].sort_unstable_by(f64::total_cmp);
    let cvar = returns[..k].iter().sum::<f64>() / k as f64;
    // the value at risk: numpy.percentile's linear interpolation between order statistics lo and lo + 1
    let q = level * 100.0 / 100.0; // the same rounding as numpy.percentile's q / 100
    let virtual_index = top as f64 * q;
    let floor = virtual_index.floor();
    let gamma = virtual_index - floor;
    let lo = (floor as usize).min(top);
    let hi = (lo + 1).min(top);
    let a = order_statistic(returns, k, lo);
    let b = if hi == lo { a } else { order_statistic(returns, k, hi) };
    let diff = b - a; // numpy's _lerp, exact at both ends
    let var = if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    };
    (var, cvar)
}

/// The `i`-th smallest of `values`, whose first `sorted` entries are its smallest, in order.
fn order_statistic(values: &mut [f64], sorted: usize, i: usize) -> f64 {
    if i < sorted {
        return values[i];
    }
    let rest = &mut values[sorted..];
    if i == sorted {
        return rest.iter().copied().min_by(f64::total_cmp).unwrap_or(f64::NAN); // the next one: a scan
    }
    *rest.select_nth_unstable_by(i - sorted, f64::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The returns of `equity` written plainly: ruin absorbing, NaN kept (for the wealth rows).
    fn plain_returns(equity: &[f64], init: f64) -> Vec<f64> {
        let mut out = Vec::new();
        let mut prev = init;
        let mut ruined = false;
        for &v in equity {
            if ruined {
                out.push(f64::NAN);
                continue;
            }
            ruined = v <= 0.0;
            out.push(if ruined { -1.0 } else { v / prev - 1.0 });
            prev = v;
        }
        out
    }

    fn percentile(sorted: &[f64], q: f64) -> f64 {
        let virtual_index = (sorted.len() - 1) as f64 * q;
        let lo = virtual_index.floor() as usize;
        let hi = (lo + 1).min(sorted.len() - 1);
        let gamma = virtual_index - virtual_index.floor();
        sorted[lo] + (sorted[hi] - sorted[lo]) * gamma
    }

    proptest! {
        /// Every statistic is its plain definition: sorted quantiles, the wealth path's drawdowns row by row,
        /// the longest drawdown found by looking back from every row.
        #[test]
        fn statistics_follow_their_definitions(
            values in prop::collection::vec(prop::option::weighted(0.9, -20.0f64..150.0), 1..60),
            level in 0.01f64..0.99,
        ) {
            let init = 100.0;
            let equity: Vec<f64> = values.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
            let got = return_statistics(&equity, init, 0.001, level);
            let returns = plain_returns(&equity, init);
            let valid: Vec<f64> = returns.iter().copied().filter(|r| !r.is_nan()).collect();
            prop_assert_eq!(got.count, valid.len() as i64);
            let mut wealth = vec![1.0];
            for r in &returns {
                let last = *wealth.last().unwrap();
                wealth.push(if r.is_nan() { last } else { last * (1.0 + r) });
            }
            // the longest drawdown as _drawdown_spans computes it, column-wise
            let rows = wealth.len();
            let mut running = vec![0.0; rows];
            let mut worst = 0.0f64;
            for i in 0..rows {
                running[i] = if i == 0 { wealth[0] } else { running[i - 1].max(wealth[i]) };
                worst = worst.min(wealth[i] / running[i] - 1.0);
            }
            let at_high: Vec<bool> = (0..rows).map(|i| wealth[i] >= running[i]).collect();
            let mut last_high = vec![0usize; rows];
            for i in 0..rows {
                last_high[i] = if at_high[i] { i } else if i > 0 { last_high[i - 1] } else { 0 };
            }
            let mut best = (0usize, 0usize, 0usize);
            for i in 0..rows {
                let recovered = at_high[i] && i > 0 && !at_high[i - 1];
                let peak = if !at_high[i] { last_high[i] } else if recovered { last_high[i - 1] } else { i };
                if i - peak > best.0 {
                    best = (i - peak, peak, i);
                }
            }
            prop_assert_eq!((got.drawdown_length, got.drawdown_peak, got.drawdown_end), best);
            if valid.is_empty() {
                prop_assert!(got.total_return.is_nan() && got.value_at_risk.is_nan());
                return Ok(());
            }
            prop_assert!((got.max_drawdown - worst).abs() <= 1e-12);
            let total = valid.iter().fold(1.0, |w, r| w * (1.0 + r)) - 1.0;
            prop_assert!((got.total_return - total).abs() <= 1e-9 * total.abs().max(1.0));
            let mean = valid.iter().sum::<f64>() / valid.len() as f64;
            prop_assert!((got.mean - mean).abs() <= 1e-12 * mean.abs().max(1.0));
            let m2 = valid.iter().map(|r| (r - mean).powi(2)).sum::<f64>();
            prop_assert!((got.m2 - m2).abs() <= 1e-9 * m2.max(1e-12));
            let down = valid.iter().map(|r| (r - 0.001).min(0.0).powi(2)).sum::<f64>();
            prop_assert!((got.downside_sq - down).abs() <= 1e-9 * down.max(1e-12));
            let mut sorted = valid.clone();
            sorted.sort_by(f64::total_cmp);
            prop_assert!((got.value_at_risk - percentile(&sorted, level)).abs() <= 1e-12);
            let k = ((sorted.len() - 1) as f64 * level) as usize + 1;
            let cvar = sorted[..k].iter().sum::<f64>() / k as f64;
            prop_assert_eq!(got.conditional_value_at_risk, cvar);
            prop_assert_eq!(got.low, sorted[0]);
            prop_assert_eq!(got.high, sorted[sorted.len() - 1]);
        }
    }

    #[test]
    fn ruin_freezes_the_wealth_and_the_drawdown_runs_to_the_end() {
        let got = return_statistics(&[110.0, 0.0, 50.0, 120.0], 100.0, 0.0, 0.05);
        assert_eq!(got.count, 2);
        assert_eq!(got.total_return, -1.0);
        assert_eq!(got.max_drawdown, -1.0);
        // peak after bar 0 (row 1), under water through the last row (4)
        assert_eq!((got.drawdown_length, got.drawdown_peak, got.drawdown_end), (3, 1, 4));
    }

    #[test]
    fn fractions_of_equity() {
        let (out, none) = fraction_of_equity(
            &[0.0, -0.0, 5.0, 5.0, 5.0, f64::NAN, 3.0],
            &[-1.0, f64::NAN, 10.0, 0.0, f64::NAN, 2.0, -4.0],
        );
        assert_eq!(none, vec![3, 4, 6]);
        assert_eq!((out[0], out[1], out[2]), (0.0, 0.0, 0.5));
        assert!(out[0].is_sign_positive() && out[1].is_sign_positive());
        assert!(out[5].is_nan()); // a NaN value over a positive equity stays NaN (a fraction, not a missing one)
    }

    #[test]
    fn no_bars_and_no_returns() {
        let got = return_statistics(&[], 100.0, 0.0, 0.05);
        assert_eq!(got.count, 0);
        assert!(got.mean.is_nan() && got.total_return.is_nan() && got.max_drawdown.is_nan());
        assert!(got.value_at_risk.is_nan() && got.conditional_value_at_risk.is_nan());
        let nan = return_statistics(&[f64::NAN, f64::NAN], 100.0, 0.0, 0.05);
        assert_eq!(nan.count, 0);
        assert_eq!(nan.drawdown_length, 0);
    }
}
