//! Free trading.

use super::{CommissionModel, FillContext, Linear};

/// Charges nothing: the default when no commission model is given, and the frictionless reference in
/// parity tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoCommission;

impl CommissionModel for NoCommission {
    fn commission(&self, _fill: &FillContext) -> f64 {
        0.0
    }

    fn linear(&self) -> Option<Linear> {
        Some(Linear { rate: 0.0, fixed: 0.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Side;
    use super::*;

    #[test]
    fn charges_nothing() {
        let fill = FillContext::new(Side::Buy, 1e6, 500.0).with_multiplier(50.0);
        assert_eq!(NoCommission.commission(&fill), 0.0);
    }
}
