//! A flat commission per fill.

use super::{non_negative, CommissionModel, FillContext, Linear};
use crate::error::CoreResult;

/// The same amount for every fill, whatever its size: `per_order`.
///
/// Charged per *fill*: an order filled in three parts (a volume cap spreading it over bars) pays it three
/// times. Brokers charge per order, so this overstates costs for split orders, the conservative side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedCommission {
    per_order: f64,
}

impl FixedCommission {
    /// `per_order` is in account currency, finite and >= 0.
    pub fn new(per_order: f64) -> CoreResult<Self> {
        Ok(Self {
            per_order: non_negative("FixedCommission", "per_order", per_order)?,
        })
    }

    /// The amount charged per fill.
    pub fn per_order(&self) -> f64 {
        self.per_order
    }
}

impl CommissionModel for FixedCommission {
    fn commission(&self, _fill: &FillContext) -> f64 {
        self.per_order
    }

    fn linear(&self) -> Option<Linear> {
        Some(Linear {
            rate: 0.0,
            fixed: self.per_order,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::assert_config_error;
    use super::super::Side;
    use super::*;

    #[test]
    fn charges_the_same_amount_whatever_the_size() {
        let model = FixedCommission::new(4.95).unwrap();
        assert_eq!(model.commission(&FillContext::new(Side::Buy, 1.0, 10.0)), 4.95);
        assert_eq!(model.commission(&FillContext::new(Side::Sell, 1e6, 500.0)), 4.95);
    }

    #[test]
    fn rejects_negative_or_non_finite_amounts() {
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            assert_config_error(FixedCommission::new(bad), "per_order");
        }
    }
}
