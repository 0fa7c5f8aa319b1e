//! What a fill costs in the ledger: the commission and slippage models of `crate::matching::costs`, and the
//! sizing that needs the commission's inverse.
//!
//! Both float rules of vectorbt are these models (`fees` / `fixed_fees`: a percent plus a fixed commission;
//! `slippage`: a percent slippage), and a *linear* commission (`rate * traded value + fixed`) sizes all-in
//! orders by vectorbt's closed forms, to the bit. Any other commission (per share, tiered) is inverted by
//! [`CommissionModel::max_quantity`].

use std::sync::Arc;

use super::float::add;
use super::sizing::Order;
use super::{Outcome, Reject, Side};
use crate::error::{Context, CoreError, CoreResult};
use crate::matching::costs::{CommissionModel, FillContext, Linear, NoCommission, NoSlippage, SlippageModel};

/// What a fill costs: the cost models, and the smallest size that may fill.
#[derive(Debug, Clone)]
pub struct Costs {
    pub commission: Arc<dyn CommissionModel>,
    pub slippage: Arc<dyn SlippageModel>,
    /// Smallest size that may fill.
    pub min_size: f64,
    /// Executed sizes are whole multiples of this many units, floored (vectorbt's `size_granularity`); NaN
    /// for any size.
    pub lot_size: f64,
}

impl Costs {
    /// Costs with these models. A slippage model that reads the fill's quantity and the bar's volume (volume
    /// impact) is refused: an order is priced before it is sized (an all-in size depends on the price), and
    /// the vectorized kernel has no volume.
    pub fn new(
        commission: Arc<dyn CommissionModel>,
        slippage: Arc<dyn SlippageModel>,
        min_size: f64,
    ) -> CoreResult<Self> {
        if slippage.uses_volume() {
            return Err(CoreError::config(
                "slippage: a volume-impact model needs each fill's quantity and its bar's volume, which the \
                 vectorized mode does not have (it prices an order before sizing it); use a price-only slippage \
                 model (basis points, half spread, a slippage= fraction) or the event engine",
                Context::argument("slippage"),
            ));
        }
        Ok(Self {
            commission,
            slippage,
            min_size,
            lot_size: f64::NAN,
        })
    }

    /// These costs with executed sizes floored to multiples of `lot_size` (NaN: any size). A lot must be
    /// finite and positive.
    pub fn with_lot_size(self, lot_size: f64) -> CoreResult<Self> {
        if !(lot_size.is_nan() || (lot_size.is_finite() && lot_size > 0.0)) {
            return Err(CoreError::config(
                format!("lot_size must be finite and > 0, got {lot_size}"),
                Context::argument("lot_size"),
            ));
        }
        Ok(Self { lot_size, ..self })
    }

    /// `size` floored to a whole number of lots (vectorbt's `size // granularity * granularity`); unchanged
    /// without a lot size.
    pub(super) fn lots(&self, size: f64) -> f64 {
        if self.lot_size.is_nan() || !size.is_finite() {
            size
        } else {
            floor_div(size, self.lot_size) * self.lot_size
        }
    }

    /// No commission and no slippage.
    pub fn free(min_size: f64) -> Self {
        Self {
            commission: Arc::new(NoCommission),
            slippage: Arc::new(NoSlippage),
            min_size,
            lot_size: f64::NAN,
        }
    }

    /// The fill price of `order` on `side`: moved by the slippage model unless the order is exempt.
    pub(super) fn price(&self, order: &Order, side: Side, size: f64) -> f64 {
        if order.slippage {
            self.slippage.fill_price(&FillContext::new(side, size, order.price))
        } else {
            order.price
        }
    }

    /// The commission of `size` units at `price`.
    pub(super) fn fee(&self, side: Side, size: f64, price: f64) -> f64 {
        self.commission.commission(&FillContext::new(side, size, price))
    }

    /// The largest buy `budget` pays for at `price`, commission included: `(quantity, commission, spent)`,
    /// or None when not even the commission fits. A linear commission has vectorbt's closed form, to the bit
    /// (its quantity is [`CommissionModel::max_quantity`]'s, and the fee is what the budget leaves after
    /// the notional); any other commission is inverted by `max_quantity`.
    pub(super) fn afford(&self, budget: f64, price: f64) -> Option<(f64, f64, f64)> {
        if let Some(Linear { rate, fixed }) = self.commission.linear() {
            let notional = add(budget, -fixed) / (1.0 + rate);
            return (notional > 0.0).then(|| (notional / price, budget - notional, budget));
        }
        let quantity = self
            .commission
            .max_quantity(budget, &FillContext::new(Side::Buy, 1.0, price));
        let fee = self.fee(Side::Buy, quantity, price);
        (quantity > 0.0).then_some((quantity, fee, quantity * price + fee))
    }

    /// As much as a sale may sell at `price` holding `long` units (>= 0) with `free_cash`: the long, and a
    /// short as large as the free cash left collateralizes (a sale of `q` keeps free cash >= 0 while
    /// `q * price + commission(q) <= free_cash + 2 * long * price`).
    pub(super) fn max_sale(&self, free_cash: f64, position: f64, price: f64) -> Result<f64, Outcome> {
        let long = position.max(0.0);
        if let Some(Linear { rate, fixed }) = self.commission.linear() {
            // vectorbt's closed form, to the bit.
            let free = add(free_cash, long * price * (1.0 - rate));
            if free <= 0.0 {
                if position <= 0.0 {
                    return Err(Outcome::Rejected(Reject::ShortCollateral));
                }
                return Ok(long);
            }
            let max = add(long, add(free, -fixed) / (price * (1.0 + rate)));
            if max <= 0.0 {
                return Err(Outcome::Rejected(Reject::CantCoverFees));
            }
            return Ok(max);
        }
        let budget = add(free_cash, 2.0 * long * price);
        let max = self
            .commission
            .max_quantity(budget, &FillContext::new(Side::Sell, 1.0, price));
        if max > long {
            Ok(max)
        } else if position > 0.0 {
            Ok(long)
        } else if free_cash <= 0.0 {
            Err(Outcome::Rejected(Reject::ShortCollateral))
        } else {
            Err(Outcome::Rejected(Reject::CantCoverFees))
        }
    }
}

/// Python's (and NumPy's, so vectorbt's) float floor division `a // b`: `(a - fmod(a, b)) / b`, rounded to
/// the nearest integer (so `7.0 // 0.1` is 69, where `floor(7.0 / 0.1)` is 70).
fn floor_div(a: f64, b: f64) -> f64 {
    let rem = a % b;
    let mut div = (a - rem) / b;
    if rem != 0.0 && ((b < 0.0) != (rem < 0.0)) {
        div -= 1.0;
    }
    if div == 0.0 {
        return 0.0f64.copysign(a / b);
    }
    let floor = div.floor();
    if div - floor > 0.5 {
        floor + 1.0
    } else {
        floor
    }
}

#[cfg(test)]
mod tests {
    use super::super::sizing::tests::{execute, free, order};
    use super::super::{Account, Holding};
    use super::*;
    use crate::matching::costs::PerShareCommission;

    #[test]
    fn an_all_in_buy_under_a_per_share_commission_buys_the_most_the_cash_pays_for() {
        let costs = Costs {
            commission: Arc::new(PerShareCommission::new(0.5, 10.0, f64::INFINITY).unwrap()),
            ..free()
        };
        let (mut acct, mut hold) = (Account::new(1000.0), Holding::default());
        let out = execute(&mut acct, &mut hold, &order(f64::INFINITY, 10.0), &costs);
        let Outcome::Filled { size, fees, .. } = out else {
            panic!("{out:?}")
        };
        // q * 10 + max(0.5 q, 10) <= 1000: q = 1000 / 10.5
        assert!((size - 1000.0 / 10.5).abs() < 1e-9, "{size}");
        assert_eq!(fees, 0.5 * size);
        assert!(acct.cash >= 0.0 && acct.cash < 1e-9);
        // the minimum alone exceeds the cash: nothing to buy
        let (mut poor, mut none) = (Account::new(5.0), Holding::default());
        assert_eq!(
            execute(&mut poor, &mut none, &order(f64::INFINITY, 10.0), &costs),
            Outcome::Rejected(Reject::CantCoverFees)
        );
    }

    #[test]
    fn lots_floor_like_python_floor_division() {
        let lots = |lot: f64, size: f64| Costs::free(0.0).with_lot_size(lot).unwrap().lots(size);
        assert_eq!(lots(0.1, 7.0), 69.0 * 0.1, "7.0 // 0.1 is 69.0 in Python and NumPy");
        assert_eq!(lots(1.0, 7.9), 7.0);
        assert_eq!(lots(5.0, 4.99), 0.0);
        assert_eq!(
            lots(2.0, f64::INFINITY),
            f64::INFINITY,
            "an all-in size is floored once sized"
        );
        assert_eq!(Costs::free(0.0).lots(7.3), 7.3, "no lot size: any size");
        for bad in [0.0, -1.0, f64::INFINITY] {
            let err = Costs::free(0.0).with_lot_size(bad).unwrap_err();
            assert_eq!(err.context().argument.as_deref(), Some("lot_size"));
        }
    }

    #[test]
    fn a_slippage_model_that_needs_volume_is_refused_naming_slippage() {
        let impact = crate::matching::costs::VolumeImpactSlippage::new(0.1, 0.5).unwrap();
        match Costs::new(Arc::new(NoCommission), Arc::new(impact), 1e-8) {
            Err(CoreError::Config { context, message }) => {
                assert_eq!(context.argument.as_deref(), Some("slippage"));
                assert!(message.contains("volume"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
