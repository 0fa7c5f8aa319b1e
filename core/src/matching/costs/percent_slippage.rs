//! Slippage as a fraction of the price.

use super::{in_range, slip, FillContext, SlippageModel};
use crate::error::CoreResult;

/// Moves every fill `rate` of its price against the trader: buys at `price * (1 + rate)`, sells at
/// `price * (1 - rate)`, clamped to the bar (see [`SlippageModel::fill_price`]).
///
/// vectorbt's `slippage`, and the vectorized mode's `slippage=` shorthand: `rate` is used as given (not
/// through basis points), so a fill is priced to the bit as `price * (1 + rate)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PercentSlippage {
    rate: f64,
}

impl PercentSlippage {
    /// `rate` is a fraction of the price in `[0, 1]` (0.001 = 0.1%): at 1 a sell would fill at 0.
    pub fn new(rate: f64) -> CoreResult<Self> {
        Ok(Self {
            rate: in_range("PercentSlippage", "rate", rate, 1.0)?,
        })
    }

    /// The move, as a fraction of the price.
    pub fn rate(&self) -> f64 {
        self.rate
    }
}

impl SlippageModel for PercentSlippage {
    fn fill_price(&self, fill: &FillContext) -> f64 {
        slip(fill, self.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::assert_config_error;
    use super::super::Side;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_rates_outside_zero_to_one() {
        for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            assert_config_error(PercentSlippage::new(bad), "rate");
        }
    }

    proptest! {
        /// Without a bar, the price is vectorbt's to the bit: `price * (1 + rate)` for a buy,
        /// `price * (1 - rate)` for a sell.
        #[test]
        fn moves_the_price_by_the_rate_exactly(price in 0.01f64..1e5, rate in 0.0f64..0.99, quantity in 1e-3f64..1e6) {
            let model = PercentSlippage::new(rate).unwrap();
            prop_assert_eq!(model.fill_price(&FillContext::new(Side::Buy, quantity, price)), price * (1.0 + rate));
            prop_assert_eq!(model.fill_price(&FillContext::new(Side::Sell, quantity, price)), price * (1.0 - rate));
        }
    }
}
