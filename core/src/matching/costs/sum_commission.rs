//! Several commissions charged together.

use super::{CommissionModel, FillContext, Linear};

/// The sum of its parts' commissions on the same fill.
///
/// The vectorized mode's `fees=` and `fixed_fees=` are a [`PercentCommission`](super::PercentCommission)
/// plus a [`FixedCommission`](super::FixedCommission) (vectorbt's `fees * traded value + fixed_fees`, to the
/// bit). The sum is linear when every part is, and then sizes in closed form; otherwise
/// [`CommissionModel::max_quantity`] bisects, which assumes the total cost never falls as the quantity grows.
#[derive(Debug)]
pub struct SumCommission {
    parts: Vec<Box<dyn CommissionModel>>,
}

impl SumCommission {
    pub fn new(parts: Vec<Box<dyn CommissionModel>>) -> Self {
        Self { parts }
    }

    /// The models summed, in order.
    pub fn parts(&self) -> &[Box<dyn CommissionModel>] {
        &self.parts
    }
}

impl CommissionModel for SumCommission {
    fn commission(&self, fill: &FillContext) -> f64 {
        self.parts.iter().map(|part| part.commission(fill)).sum()
    }

    fn linear(&self) -> Option<Linear> {
        self.parts
            .iter()
            .try_fold(Linear { rate: 0.0, fixed: 0.0 }, |sum, part| {
                let Linear { rate, fixed } = part.linear()?;
                Some(Linear {
                    rate: sum.rate + rate,
                    fixed: sum.fixed + fixed,
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FixedCommission, PerShareCommission, PercentCommission, Side};
    use super::*;
    use proptest::prelude::*;

    fn fees(rate: f64, fixed: f64) -> SumCommission {
        SumCommission::new(vec![
            Box::new(PercentCommission::new(rate).unwrap()),
            Box::new(FixedCommission::new(fixed).unwrap()),
        ])
    }

    #[test]
    fn is_linear_only_when_every_part_is() {
        assert_eq!(
            fees(0.001, 1.0).linear(),
            Some(Linear {
                rate: 0.001,
                fixed: 1.0
            })
        );
        assert_eq!(
            SumCommission::new(Vec::new()).linear(),
            Some(Linear { rate: 0.0, fixed: 0.0 })
        );
        let mixed = SumCommission::new(vec![
            Box::new(PercentCommission::new(0.001).unwrap()),
            Box::new(PerShareCommission::new(0.005, 1.0, f64::INFINITY).unwrap()),
        ]);
        assert_eq!(mixed.linear(), None);
        let fill = FillContext::new(Side::Buy, 100.0, 50.0);
        assert_eq!(mixed.commission(&fill), 0.001 * 5000.0 + 1.0);
    }

    proptest! {
        /// A percent plus a fixed commission is vectorbt's `fees * notional + fixed_fees`, to the bit.
        #[test]
        fn percent_plus_fixed_is_vectorbts_fee_exactly(
            rate in 0.0f64..0.1, fixed in 0.0f64..10.0, quantity in 1e-6f64..1e6, price in 0.01f64..1e4,
        ) {
            let notional = quantity * price;
            let fill = FillContext::new(Side::Sell, quantity, price);
            prop_assert_eq!(fees(rate, fixed).commission(&fill), notional * rate + fixed);
        }
    }
}
