//! Slippage as a fixed number of basis points of the price.

use super::{in_range, slip, FillContext, SlippageModel};
use crate::error::CoreResult;

/// Moves every fill `bps` basis points against the trader: buys at `price * (1 + bps / 1e4)`, sells at
/// `price * (1 - bps / 1e4)`, clamped to the bar (see [`SlippageModel::fill_price`]).
///
/// vectorbt's `slippage` is this move with `bps = slippage * 1e4`; the vectorized `slippage=` float lowers to
/// [`PercentSlippage`](super::PercentSlippage), which takes the fraction as given so fills match vectorbt to the bit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BpsSlippage {
    bps: f64,
}

impl BpsSlippage {
    /// `bps` is in basis points (1 bp = 0.01%), in `[0, 10000]`: at 10000 a sell would fill at 0.
    pub fn new(bps: f64) -> CoreResult<Self> {
        Ok(Self {
            bps: in_range("BpsSlippage", "bps", bps, 1e4)?,
        })
    }

    /// The move, in basis points of the price.
    pub fn bps(&self) -> f64 {
        self.bps
    }
}

impl SlippageModel for BpsSlippage {
    fn fill_price(&self, fill: &FillContext) -> f64 {
        slip(fill, self.bps / 1e4)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, assert_config_error};
    use super::super::Side;
    use super::*;

    #[test]
    fn moves_buys_up_and_sells_down() {
        let model = BpsSlippage::new(10.0).unwrap();
        assert_close(model.fill_price(&FillContext::new(Side::Buy, 1.0, 100.0)), 100.1);
        assert_close(model.fill_price(&FillContext::new(Side::Sell, 1.0, 100.0)), 99.9);
    }

    #[test]
    fn a_fill_cannot_print_outside_its_bar() {
        let model = BpsSlippage::new(100.0).unwrap(); // 1%
        let buy = FillContext::new(Side::Buy, 1.0, 100.0).with_bar(100.5, 99.0, f64::NAN);
        assert_eq!(model.fill_price(&buy), 100.5);
        let sell = FillContext::new(Side::Sell, 1.0, 100.0).with_bar(101.0, 99.5, f64::NAN);
        assert_eq!(model.fill_price(&sell), 99.5);
        // Filling at the high already: a buy cannot slip further, and is not moved down either.
        assert_eq!(model.fill_price(&buy.with_price(100.5)), 100.5);
    }

    #[test]
    fn rejects_bps_outside_zero_to_ten_thousand() {
        for bad in [-1.0, 10_001.0, f64::NAN, f64::INFINITY] {
            assert_config_error(BpsSlippage::new(bad), "bps");
        }
    }
}
