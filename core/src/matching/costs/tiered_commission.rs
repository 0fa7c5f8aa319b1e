//! Commission at a rate set by the fill's traded value bracket.

use super::{CommissionModel, FillContext};
use crate::error::{Context, CoreError, CoreResult};

/// `rate * traded value`, where `rate` is that of the first bracket whose upper bound is `>=` the fill's
/// traded value.
///
/// `tiers` is a list of `(upper bound of traded value, rate)` with strictly ascending bounds. Precisely, for
/// traded value `v`:
/// - `v <= tiers[0].0` pays `tiers[0].1`;
/// - `tiers[i - 1].0 < v <= tiers[i].0` pays `tiers[i].1`: a value exactly *at* a bound belongs to the
///   bracket that bound closes, not the next one;
/// - `v > ` the last bound pays the last rate (the last bracket is open-ended; give it `f64::INFINITY` as
///   its bound to say so explicitly).
///
/// The whole value is charged at its bracket's rate (not marginally, bracket by bracket like income tax), so
/// with falling rates a fill just above a bound may cost less in total than one exactly at it. Brokers' tiers
/// by *monthly* volume need state across fills and are not this model.
#[derive(Debug, Clone, PartialEq)]
pub struct TieredCommission {
    tiers: Vec<(f64, f64)>,
}

impl TieredCommission {
    /// Validate `tiers`: at least one; every bound > 0 (the last may be `f64::INFINITY`) and strictly
    /// greater than the previous one; every rate a fraction of traded value in `[0, 1]`.
    pub fn new(tiers: Vec<(f64, f64)>) -> CoreResult<Self> {
        if tiers.is_empty() {
            return Err(invalid("needs at least one (upper bound, rate) tier"));
        }
        let mut previous = 0.0;
        for (i, &(bound, rate)) in tiers.iter().enumerate() {
            // An infinite bound can only be last: nothing is greater.
            if bound.is_nan() || bound <= previous {
                return Err(invalid(&format!(
                    "upper bounds must be > 0 and strictly ascending, got tiers[{i}] bound {bound} after {previous}"
                )));
            }
            if !(0.0..=1.0).contains(&rate) {
                return Err(invalid(&format!("rates must be in [0, 1], got tiers[{i}] rate {rate}")));
            }
            previous = bound;
        }
        Ok(Self { tiers })
    }

    /// The `(upper bound, rate)` brackets, bounds ascending.
    pub fn tiers(&self) -> &[(f64, f64)] {
        &self.tiers
    }

    /// The rate charged on a fill of traded value `value`.
    pub fn rate_for(&self, value: f64) -> f64 {
        let bracket = self.tiers.partition_point(|&(bound, _)| bound < value);
        self.tiers[bracket.min(self.tiers.len() - 1)].1
    }
}

fn invalid(message: &str) -> CoreError {
    CoreError::config(format!("TieredCommission: tiers {message}"), Context::argument("tiers"))
}

impl CommissionModel for TieredCommission {
    fn commission(&self, fill: &FillContext) -> f64 {
        let value = fill.traded_value();
        self.rate_for(value) * value
    }

    /// The total cost `value * (1 + rate)` can fall at a bound (falling rates), so each bracket is solved on
    /// its own: the largest affordable value in it is `budget / (1 + rate)` capped at its bound, and the
    /// largest over the brackets wins. Rounding is settled by stepping down to a quantity that fits.
    fn max_quantity(&self, budget: f64, fill: &FillContext) -> f64 {
        let unit = fill.price * fill.multiplier;
        let fits = |quantity: f64| quantity * unit + self.commission(&FillContext { quantity, ..*fill }) <= budget;
        let mut lower = 0.0;
        let mut best = 0.0f64;
        for (i, &(bound, rate)) in self.tiers.iter().enumerate() {
            let upper = if i + 1 == self.tiers.len() {
                f64::INFINITY
            } else {
                bound
            };
            let value = (budget / (1.0 + rate)).min(upper);
            if value > lower {
                let mut quantity = value / unit;
                for _ in 0..64 {
                    if quantity.is_nan() || quantity <= 0.0 || fits(quantity) {
                        break;
                    }
                    quantity = f64::from_bits(quantity.to_bits() - 1); // the next float down
                }
                if quantity > 0.0 && fits(quantity) {
                    best = best.max(quantity);
                }
            }
            lower = bound;
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::assert_config_error;
    use super::super::Side;
    use super::*;

    /// Binary-exact rates and values, so every expected amount is exact.
    fn model(last_bound: f64) -> TieredCommission {
        TieredCommission::new(vec![(1000.0, 0.5), (10_000.0, 0.25), (last_bound, 0.125)]).unwrap()
    }

    /// A fill of traded value `value` (one unit at that price).
    fn worth(value: f64) -> FillContext {
        FillContext::new(Side::Buy, 1.0, value)
    }

    #[test]
    fn each_value_pays_its_brackets_rate_and_a_bound_belongs_to_the_bracket_it_closes() {
        let model = model(f64::INFINITY);
        assert_eq!(model.commission(&worth(10.0)), 5.0);
        assert_eq!(model.commission(&worth(1000.0)), 500.0); // exactly at the first bound: first rate
        assert_eq!(model.commission(&worth(1001.0)), 250.25); // just above it: second rate
        assert_eq!(model.commission(&worth(10_000.0)), 2500.0); // at the second bound: second rate
        assert_eq!(model.commission(&worth(10_008.0)), 1251.0); // above it: third rate
        assert_eq!(model.commission(&worth(1e9)), 1.25e8);
    }

    #[test]
    fn values_above_a_finite_last_bound_pay_the_last_rate() {
        let model = model(100_000.0);
        assert_eq!(model.rate_for(100_000.0), 0.125);
        assert_eq!(model.rate_for(1e12), 0.125);
    }

    #[test]
    fn traded_value_includes_the_multiplier() {
        let future = FillContext::new(Side::Sell, 2.0, 100.0).with_multiplier(50.0); // 10,000
        assert_eq!(model(f64::INFINITY).commission(&future), 2500.0);
    }

    #[test]
    fn rejects_empty_unsorted_or_invalid_tiers() {
        let bad = [
            vec![],
            vec![(1000.0, 0.01), (1000.0, 0.005)], // equal bounds: the second bracket is unreachable
            vec![(1000.0, 0.01), (500.0, 0.005)],
            vec![(f64::INFINITY, 0.01), (f64::INFINITY, 0.005)],
            vec![(0.0, 0.01)],
            vec![(-1.0, 0.01)],
            vec![(f64::NAN, 0.01)],
            vec![(1000.0, -0.01)],
            vec![(1000.0, f64::NAN)],
            vec![(1000.0, 2.0)],
        ];
        for tiers in bad {
            assert_config_error(TieredCommission::new(tiers), "tiers");
        }
        assert!(TieredCommission::new(vec![(f64::INFINITY, 0.001)]).is_ok());
    }
}
