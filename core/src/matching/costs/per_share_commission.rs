//! Commission per share (or contract), with a minimum and a maximum: the Interactive Brokers model.

use super::{non_negative, CommissionModel, FillContext};
use crate::error::{Context, CoreError, CoreResult};

/// `per_share * quantity`, raised to at least `minimum`, then capped at `maximum_rate * traded value`.
///
/// Interactive Brokers' fixed US-stock pricing is `per_share = 0.005`, `minimum = 1.0`,
/// `maximum_rate = 0.01` (1% of trade value). Two choices to know:
/// - the cap wins over the minimum: a tiny fill whose 1% cap is below the minimum pays the cap (IB's rule:
///   `min(maximum_rate * value, max(per_share * quantity, minimum))`);
/// - the minimum applies per *fill*, not per order: an order filled in parts over several bars pays at least
///   `minimum` for each part, which overstates IB (minimum per order) for split orders, the conservative side.
///
/// `quantity` counts units (shares, contracts) and ignores the multiplier; the cap is on traded value, which
/// includes it. The formula is continuous, so at the boundaries (`per_share * quantity == minimum`, or equal
/// to the cap) both sides give the same amount.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerShareCommission {
    per_share: f64,
    minimum: f64,
    maximum_rate: f64,
}

impl PerShareCommission {
    /// `per_share` and `minimum` are in account currency, finite and >= 0. `maximum_rate` is a fraction of
    /// traded value in `(0, 1]`, or `f64::INFINITY` for no maximum.
    pub fn new(per_share: f64, minimum: f64, maximum_rate: f64) -> CoreResult<Self> {
        const MODEL: &str = "PerShareCommission";
        let uncapped = maximum_rate == f64::INFINITY;
        if !(uncapped || (maximum_rate > 0.0 && maximum_rate <= 1.0)) {
            return Err(CoreError::config(
                format!("{MODEL}: maximum_rate must be in (0, 1] or infinite (no maximum), got {maximum_rate}"),
                Context::argument("maximum_rate"),
            ));
        }
        Ok(Self {
            per_share: non_negative(MODEL, "per_share", per_share)?,
            minimum: non_negative(MODEL, "minimum", minimum)?,
            maximum_rate,
        })
    }

    /// Account currency per unit filled.
    pub fn per_share(&self) -> f64 {
        self.per_share
    }

    /// The least charged for one fill (unless the cap is lower).
    pub fn minimum(&self) -> f64 {
        self.minimum
    }

    /// The cap, as a fraction of traded value (`f64::INFINITY`: no cap).
    pub fn maximum_rate(&self) -> f64 {
        self.maximum_rate
    }
}

impl CommissionModel for PerShareCommission {
    fn commission(&self, fill: &FillContext) -> f64 {
        let floored = (self.per_share * fill.quantity).max(self.minimum);
        if self.maximum_rate.is_finite() {
            floored.min(self.maximum_rate * fill.traded_value())
        } else {
            floored
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, assert_config_error};
    use super::super::Side;
    use super::*;

    fn ib() -> PerShareCommission {
        PerShareCommission::new(0.005, 1.0, 0.01).unwrap()
    }

    fn buy(quantity: f64, price: f64) -> FillContext {
        FillContext::new(Side::Buy, quantity, price)
    }

    #[test]
    fn charges_per_share_between_the_minimum_and_the_cap() {
        assert_close(ib().commission(&buy(1000.0, 50.0)), 5.0); // 0.005 * 1000; cap 500
        assert_close(ib().commission(&buy(100.0, 50.0)), 1.0); // 0.50 raised to the minimum
        assert_close(ib().commission(&buy(1000.0, 0.10)), 1.0); // 5.00 capped at 1% of 100
        assert_close(ib().commission(&buy(10.0, 5.0)), 0.5); // minimum 1.00 > cap 0.50: the cap wins
    }

    #[test]
    fn boundaries_agree_on_both_sides() {
        // Binary-exact numbers, so equality is exact: 0.5 * 8 == minimum 4 == cap 0.25 * (8 * 2).
        let model = PerShareCommission::new(0.5, 4.0, 0.25).unwrap();
        assert_eq!(model.commission(&buy(8.0, 2.0)), 4.0);
        assert_eq!(model.commission(&buy(8.0, 4.0)), 4.0); // at the minimum, under the cap (8)
        assert_eq!(model.commission(&buy(16.0, 4.0)), 8.0); // above the minimum, under the cap (16)
        assert_eq!(model.commission(&buy(16.0, 1.0)), 4.0); // 8 capped at 0.25 * 16
    }

    #[test]
    fn the_multiplier_enters_the_cap_but_not_the_per_share_amount() {
        let model = PerShareCommission::new(0.5, 0.0, 0.01).unwrap();
        let future = buy(2.0, 10.0).with_multiplier(100.0); // traded value 2000, cap 20
        assert_eq!(model.commission(&future), 1.0);
        assert_close(model.commission(&buy(2.0, 10.0)), 0.2); // traded value 20, cap 0.2
    }

    #[test]
    fn an_infinite_maximum_rate_means_no_cap() {
        let model = PerShareCommission::new(0.5, 0.0, f64::INFINITY).unwrap();
        assert_eq!(model.commission(&buy(1000.0, 0.001)), 500.0);
    }

    #[test]
    fn rejects_invalid_parameters_naming_them() {
        assert_config_error(PerShareCommission::new(-0.005, 1.0, 0.01), "per_share");
        assert_config_error(PerShareCommission::new(f64::NAN, 1.0, 0.01), "per_share");
        assert_config_error(PerShareCommission::new(0.005, -1.0, 0.01), "minimum");
        assert_config_error(PerShareCommission::new(0.005, f64::INFINITY, 0.01), "minimum");
        for bad in [0.0, -0.01, 1.5, f64::NAN, f64::NEG_INFINITY] {
            assert_config_error(PerShareCommission::new(0.005, 1.0, bad), "maximum_rate");
        }
    }
}
