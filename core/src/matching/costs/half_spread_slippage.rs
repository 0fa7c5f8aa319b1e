//! Slippage of half a quoted bid-ask spread.

use super::{in_range, slip, FillContext, SlippageModel};
use crate::error::CoreResult;

/// Pays half of a quoted spread of `spread_bps`: buys at `price * (1 + spread_bps / 2e4)`, sells at
/// `price * (1 - spread_bps / 2e4)`, clamped to the bar (see [`SlippageModel::fill_price`]).
///
/// Bar prices are taken as mid prices; a market order crosses from the mid to the touch, which costs half
/// the spread. Use this when the spread is known (e.g. from quotes) and [`super::BpsSlippage`] for a flat
/// allowance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HalfSpreadSlippage {
    spread_bps: f64,
}

impl HalfSpreadSlippage {
    /// `spread_bps` is the full quoted spread in basis points of the price, in `[0, 20000]` (at 20000 a sell
    /// would fill at 0).
    pub fn new(spread_bps: f64) -> CoreResult<Self> {
        Ok(Self {
            spread_bps: in_range("HalfSpreadSlippage", "spread_bps", spread_bps, 2e4)?,
        })
    }

    /// The full quoted spread, in basis points of the price.
    pub fn spread_bps(&self) -> f64 {
        self.spread_bps
    }
}

impl SlippageModel for HalfSpreadSlippage {
    fn fill_price(&self, fill: &FillContext) -> f64 {
        slip(fill, self.spread_bps / 2e4)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, assert_config_error};
    use super::super::Side;
    use super::*;

    #[test]
    fn pays_half_the_spread_each_way() {
        let model = HalfSpreadSlippage::new(20.0).unwrap(); // 20 bps wide: 10 bps each way
        assert_close(model.fill_price(&FillContext::new(Side::Buy, 1.0, 100.0)), 100.1);
        assert_close(model.fill_price(&FillContext::new(Side::Sell, 1.0, 100.0)), 99.9);
    }

    #[test]
    fn a_fill_cannot_print_outside_its_bar() {
        let model = HalfSpreadSlippage::new(200.0).unwrap(); // 1% each way
        let buy = FillContext::new(Side::Buy, 1.0, 100.0).with_bar(100.25, 99.0, f64::NAN);
        assert_eq!(model.fill_price(&buy), 100.25);
        let sell = FillContext {
            side: Side::Sell,
            ..buy
        };
        assert_eq!(model.fill_price(&sell), 99.0);
    }

    #[test]
    fn rejects_spreads_outside_zero_to_twenty_thousand() {
        for bad in [-1.0, 20_001.0, f64::NAN, f64::INFINITY] {
            assert_config_error(HalfSpreadSlippage::new(bad), "spread_bps");
        }
    }
}
