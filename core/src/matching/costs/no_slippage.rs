//! Frictionless fills.

use super::{FillContext, SlippageModel};

/// Fills at the price given, unchanged: the default when no slippage model is given, and the frictionless
/// reference in parity tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoSlippage;

impl SlippageModel for NoSlippage {
    fn fill_price(&self, fill: &FillContext) -> f64 {
        fill.price
    }
}

#[cfg(test)]
mod tests {
    use super::super::Side;
    use super::*;

    #[test]
    fn fills_at_the_price_given() {
        let fill = FillContext::new(Side::Sell, 1e6, 123.45).with_bar(130.0, 120.0, 10.0);
        assert_eq!(NoSlippage.fill_price(&fill), 123.45);
    }
}
