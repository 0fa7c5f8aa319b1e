//! Commission as a fraction of traded value.

use super::{CommissionModel, FillContext, Linear};
use crate::error::CoreResult;

/// Commission as a fixed fraction of the fill's traded value: `rate * quantity * price * multiplier`.
///
/// The usual model for crypto venues and many European brokers, and vectorbt's `fees` (`rate = 0.001` is
/// 0.1%, or 10 bps).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PercentCommission {
    rate: f64,
}

impl PercentCommission {
    /// `rate` is a fraction of traded value, in `[0, 1]` (0.001 = 0.1%).
    pub fn new(rate: f64) -> CoreResult<Self> {
        Ok(Self {
            rate: super::rate("PercentCommission", "rate", rate)?,
        })
    }

    /// The fraction of traded value charged.
    pub fn rate(&self) -> f64 {
        self.rate
    }
}

impl CommissionModel for PercentCommission {
    fn commission(&self, fill: &FillContext) -> f64 {
        self.rate * fill.traded_value()
    }

    fn linear(&self) -> Option<Linear> {
        Some(Linear {
            rate: self.rate,
            fixed: 0.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, assert_config_error};
    use super::super::Side;
    use super::*;

    #[test]
    fn charges_a_fraction_of_traded_value_including_the_multiplier() {
        let model = PercentCommission::new(0.001).unwrap();
        assert_close(model.commission(&FillContext::new(Side::Buy, 100.0, 50.0)), 5.0);
        // A futures contract: 2 contracts at 4000 points, 50 currency per point = 400,000 traded.
        let future = FillContext::new(Side::Sell, 2.0, 4000.0).with_multiplier(50.0);
        assert_close(model.commission(&future), 400.0);
    }

    #[test]
    fn rejects_rates_outside_zero_to_one() {
        for bad in [-0.001, 1.5, f64::NAN, f64::INFINITY] {
            assert_config_error(PercentCommission::new(bad), "rate");
        }
        assert_eq!(PercentCommission::new(1.0).unwrap().rate(), 1.0);
    }
}
