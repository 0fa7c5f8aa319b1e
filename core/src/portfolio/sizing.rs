//! Sizing one order the vectorized way and booking it into a ledger ([`Ledger::execute`]).
//!
//! Under [`Affordability::Resize`] the semantics are vectorbt's `from_signals` defaults (allow partial fills,
//! no cash locking), so the vectorized mode agrees with it to floating-point precision:
//! - the price and the fees come from the cost models ([`Costs`]): the slippage model moves the fill price
//!   against the trader (vectorbt's `slippage` is [`PercentSlippage`](crate::matching::costs::PercentSlippage):
//!   buys at `price * (1 + s)`, sells at `price * (1 - s)`), then the commission model charges the fill
//!   (vectorbt's `fees * traded value + fixed_fees` is a percent plus a fixed commission);
//! - a buy of `size = inf` spends all cash: the largest size the cash pays for, commission included, which
//!   for a linear commission is vectorbt's `size = (cash - fixed_fees) / (1 + fees) / fill_price` to the bit
//!   and for any other the commission's inverse ([`CommissionModel::max_quantity`](crate::matching::costs::CommissionModel::max_quantity));
//! - a sell of `size = inf` with a percent (a reversal or a short entry) sells the long position and
//!   shorts as much as free cash allows, sized the same way;
//! - an order that cannot be afforded is cut to what can be (a partial fill); one whose affordable size is
//!   below `min_size`, or that cannot pay its fees, is rejected with a reason, never silently dropped.
//!
//! Under [`Affordability::Reject`] the sizing is the same except that a finite order is never cut: the
//! ledger's account rules refuse what cannot be afforded (an all-in order still spends what there is).

pub use super::costs::Costs;
use super::float::{add, is_close, is_close_or_less, is_less, snap_zero};
use super::ledger::Trade;
use super::{Account, Affordability, Holding, Ledger, Outcome, Reject, Side};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeType {
    /// Units of the asset.
    Amount,
    /// Account currency, converted to units at the valuation price.
    Value,
    /// A fraction of the available cash (buys) or of the maximum position (sells).
    Percent,
}

/// Which way an order may move the position: `Long` orders only open/close longs, `Short` only
/// shorts, `Both` may cross zero (reversals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Long,
    Short,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Order {
    /// Signed: positive buys, negative sells; `+-inf` means "as much as possible".
    pub size: f64,
    pub size_type: SizeType,
    pub direction: Direction,
    /// Price before slippage.
    pub price: f64,
    /// Price used to convert `SizeType::Value` into units.
    pub val_price: f64,
    /// Whether the slippage model moves the price (not for a triggered stop, which fills at its level).
    pub slippage: bool,
}

impl Ledger {
    /// Size `order` for `slot`'s holding and book it; the ledger changes only when it fills. Multipliers are
    /// not applied: the vectorized mode trades units of value 1 x price.
    pub fn execute(&mut self, slot: usize, order: &Order, costs: &Costs) -> Outcome {
        self.execute_within(slot, order, costs, f64::INFINITY)
    }

    /// [`Ledger::execute`] within a `budget` (the share a pro-rata sequence gives an order): a purchase
    /// spends at most `budget` of the cash; an all-in sale is sized as if the account's free cash were
    /// `budget` (its share of the free cash, or of a deficit, before the bar's sales).
    pub fn execute_within(&mut self, slot: usize, order: &Order, costs: &Costs, budget: f64) -> Outcome {
        let (account, holding) = (self.account, self.holdings[slot]);
        let state = State {
            cash: snap_zero(account.cash),
            free_cash: snap_zero(account.free_cash),
            position: snap_zero(holding.position),
            debt: snap_zero(holding.debt),
            resize: self.policy == Affordability::Resize,
            budget,
        };
        match state.size(order, costs) {
            Ok((trade, outcome)) => match self.book(slot, state.account(), state.holding(), trade) {
                Ok(()) => outcome,
                Err(refusal) => Outcome::Rejected(refusal.code),
            },
            Err(outcome) => outcome,
        }
    }
}

impl Ledger {
    /// The cash a buy `order` asks for at its fill price, commission included (what a pro-rata sequence
    /// weighs it by): infinite for an all-in buy, a percent buy's share of the cash, 0 for a sale.
    pub fn buy_cost(&self, order: &Order, costs: &Costs) -> f64 {
        if order.size.is_nan() || order.size <= 0.0 {
            return 0.0;
        }
        let units = match order.size_type {
            SizeType::Amount => order.size,
            SizeType::Value => order.size / order.val_price,
            SizeType::Percent => return order.size * self.account.cash.max(0.0),
        };
        if !units.is_finite() {
            return units;
        }
        let units = costs.lots(units);
        let price = costs.price(order, Side::Buy, units);
        units * price + costs.fee(Side::Buy, units, price)
    }
}

#[derive(Debug, Clone, Copy)]
struct State {
    cash: f64,
    free_cash: f64,
    position: f64,
    debt: f64,
    /// The policy is `Resize`: an unaffordable finite buy is cut to the cash.
    resize: bool,
    /// The most a purchase may spend, or an all-in sale collateralize (infinite: all there is).
    budget: f64,
}

/// The trade to book and what it will have done, or why there is nothing to book.
type Sized = Result<(Trade, Outcome), Outcome>;

impl State {
    /// The trade `order` makes from this state (the vectorized rules: see the module doc).
    fn size(self, order: &Order, costs: &Costs) -> Sized {
        if order.size.is_nan() || order.size == 0.0 {
            return Err(Outcome::Ignored);
        }
        if !(order.price.is_finite() && order.price > 0.0) {
            return Err(Outcome::Rejected(Reject::NoPrice));
        }
        let mut size = order.size;
        let mut size_type = order.size_type;
        if size_type == SizeType::Value {
            if !(order.val_price.is_finite() && order.val_price > 0.0) {
                return Err(Outcome::Rejected(Reject::NoPrice));
            }
            size /= order.val_price;
            size_type = SizeType::Amount;
        }
        let mut percent = f64::NAN;
        if size_type == SizeType::Amount && order.direction != Direction::Long && size == f64::NEG_INFINITY {
            size_type = SizeType::Percent;
            size = -1.0;
        }
        if size_type == SizeType::Percent {
            percent = size.abs();
            size = size.signum() * f64::INFINITY;
        }
        if size > 0.0 {
            self.buy(size, order, costs, percent)
        } else {
            self.sell(-size, order, costs, percent)
        }
    }

    fn account(self) -> Account {
        Account {
            cash: self.cash,
            free_cash: self.free_cash,
        }
    }

    fn holding(self) -> Holding {
        Holding {
            position: self.position,
            debt: self.debt,
        }
    }

    /// Buy (open or add to a long) and/or cover a short.
    fn buy(self, size: f64, order: &Order, costs: &Costs, percent: f64) -> Sized {
        let price = costs.price(order, Side::Buy, size);
        let mut cash_limit = self.cash.min(self.budget);
        if !percent.is_nan() {
            cash_limit = cash_limit.min(percent * cash_limit);
        }
        if order.direction == Direction::Short {
            if self.position == 0.0 {
                return Err(Outcome::Rejected(Reject::NoOpenPosition));
            }
        } else if cash_limit == 0.0 {
            return Err(Outcome::Rejected(Reject::InsufficientCash));
        }
        let wanted = if order.direction == Direction::Short {
            (-self.position).min(size)
        } else {
            size
        };
        if wanted == 0.0 {
            return Err(Outcome::Ignored);
        }
        let wanted = costs.lots(wanted);
        let notional = wanted * price;
        let wanted_fees = costs.fee(Side::Buy, wanted, price);
        let fits = is_close_or_less(notional + wanted_fees, cash_limit);
        let (filled, fees, spent) = if fits || !(self.resize || wanted.is_infinite()) {
            (wanted, wanted_fees, notional + wanted_fees)
        } else {
            let afforded = costs
                .afford(cash_limit, price)
                .ok_or(Outcome::Rejected(Reject::CantCoverFees))?;
            if costs.lot_size.is_nan() {
                afforded
            } else {
                // vectorbt: the affordable size floored to whole lots, its fees charged anew
                let filled = costs.lots(afforded.0);
                let fee = costs.fee(Side::Buy, filled, price);
                (filled, fee, filled * price + fee)
            }
        };
        if is_close(wanted, 0.0) {
            // vectorbt's `buy_nb`: a size within tolerance of zero (less than one lot, or a rounding error
            // of a target already held) is no order, checked after the cash and before `min_size`
            return Err(Outcome::Ignored);
        }
        if is_less(filled, costs.min_size) {
            return Err(Outcome::Rejected(Reject::BelowMinSize));
        }
        let trade = Trade {
            side: Side::Buy,
            quantity: filled,
            price,
            unit: price,
            value: filled * price,
            fee: fees,
            cash: spent,
        };
        Ok((
            trade,
            Outcome::Filled {
                side: Side::Buy,
                size: filled,
                price,
                fees,
            },
        ))
    }

    /// Sell (reduce or close a long) and/or open or add to a short.
    fn sell(self, size: f64, order: &Order, costs: &Costs, percent: f64) -> Sized {
        let price = costs.price(order, Side::Sell, size);
        let mut limit = if order.direction == Direction::Long {
            self.position.min(size)
        } else if size.is_infinite() && !percent.is_nan() {
            // As much as possible: the whole long plus the largest short free cash can collateralize.
            // within a budget: its share of the free cash (of a deficit too), whatever the sales before it did
            let free_cash = if self.budget.is_finite() {
                self.budget
            } else {
                self.free_cash
            };
            costs.max_sale(free_cash, self.position, price)?
        } else {
            size
        };
        if !percent.is_nan() {
            limit *= percent;
        }
        let limit = costs.lots(limit);
        if order.direction == Direction::Long && self.position == 0.0 {
            return Err(Outcome::Rejected(Reject::NoOpenPosition));
        }
        if is_close(limit, 0.0) {
            return Err(Outcome::Ignored);
        }
        if is_less(limit, costs.min_size) {
            return Err(Outcome::Rejected(Reject::BelowMinSize));
        }
        let proceeds = limit * price;
        let fees = costs.fee(Side::Sell, limit, price);
        if !(proceeds.is_finite() && fees.is_finite() && (self.cash + proceeds).is_finite()) {
            return Err(Outcome::Rejected(Reject::NonFinite));
        }
        let received = add(proceeds, -fees);
        if received < 0.0 {
            return Err(Outcome::Rejected(Reject::CantCoverFees));
        }
        let trade = Trade {
            side: Side::Sell,
            quantity: limit,
            price,
            unit: price,
            value: proceeds,
            fee: fees,
            cash: received,
        };
        Ok((
            trade,
            Outcome::Filled {
                side: Side::Sell,
                size: limit,
                price,
                fees,
            },
        ))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::portfolio::AccountKind;
    use proptest::prelude::*;

    /// `order` executed for one holding of a cash account under the vectorized policy.
    pub(in crate::portfolio) fn execute(
        acct: &mut Account,
        hold: &mut Holding,
        order: &Order,
        costs: &Costs,
    ) -> Outcome {
        let mut ledger = Ledger::new(AccountKind::Cash, Affordability::Resize, 0.0, vec![1.0]);
        ledger.account = *acct;
        ledger.holdings[0] = *hold;
        let outcome = ledger.execute(0, order, costs);
        (*acct, *hold) = (ledger.account, ledger.holdings[0]);
        outcome
    }

    use crate::matching::costs::{CommissionModel, FixedCommission, PercentCommission, SumCommission};
    use std::sync::Arc;

    /// vectorbt's costs: `fees * traded value + fixed_fees`, as a percent plus a fixed commission.
    fn vbt(fees: f64, fixed_fees: f64, min_size: f64) -> Costs {
        let parts: Vec<Box<dyn CommissionModel>> = vec![
            Box::new(PercentCommission::new(fees).unwrap()),
            Box::new(FixedCommission::new(fixed_fees).unwrap()),
        ];
        Costs {
            commission: Arc::new(SumCommission::new(parts)),
            ..Costs::free(min_size)
        }
    }

    /// No commission, no slippage.
    pub(in crate::portfolio) fn free() -> Costs {
        Costs::free(1e-8)
    }

    /// A market order of `size` units (`+-inf`: all in) at `price`, slippage applying.
    pub(in crate::portfolio) fn order(size: f64, price: f64) -> Order {
        Order {
            size,
            size_type: SizeType::Amount,
            direction: Direction::Both,
            price,
            val_price: price,
            slippage: true,
        }
    }

    #[test]
    fn all_in_buy_pays_fees_from_the_cash() {
        let (mut acct, mut hold) = (Account::new(1000.0), Holding::default());
        let costs = vbt(0.01, 1.0, 1e-8);
        let out = execute(&mut acct, &mut hold, &order(f64::INFINITY, 10.0), &costs);
        let Outcome::Filled { size, fees, .. } = out else {
            panic!("{out:?}")
        };
        assert!((size - 999.0 / 1.01 / 10.0).abs() < 1e-12);
        assert!((fees - (1000.0 - 999.0 / 1.01)).abs() < 1e-12);
        assert_eq!(acct.cash, 0.0);
        assert_eq!(hold.position, size);
    }

    #[test]
    fn reversal_sells_the_long_and_shorts_what_free_cash_allows() {
        let (mut acct, mut hold) = (
            Account::new(0.0),
            Holding {
                position: 10.0,
                debt: 0.0,
            },
        );
        let out = execute(&mut acct, &mut hold, &order(f64::NEG_INFINITY, 10.0), &free());
        let Outcome::Filled {
            side: Side::Sell, size, ..
        } = out
        else {
            panic!("{out:?}")
        };
        assert_eq!(size, 20.0); // 10 long + 100 cash / 10 short
        assert_eq!(hold.position, -10.0);
        assert_eq!(hold.debt, 100.0);
        assert_eq!(acct.cash, 200.0);
        assert_eq!(acct.free_cash, 0.0);
        // Covering at a lower price releases the collateral and books the profit.
        let out = execute(&mut acct, &mut hold, &order(10.0, 8.0), &free());
        assert!(matches!(out, Outcome::Filled { side: Side::Buy, .. }));
        assert_eq!(hold.position, 0.0);
        assert_eq!(hold.debt, 0.0);
        assert_eq!(acct.cash, 120.0);
        assert_eq!(acct.free_cash, 120.0);
    }

    #[test]
    fn rejections_carry_a_reason_and_leave_the_ledger_untouched() {
        let (mut acct, mut hold) = (Account::new(0.5), Holding::default());
        let costs = vbt(0.0, 1.0, 1e-8);
        assert_eq!(
            execute(&mut acct, &mut hold, &order(f64::INFINITY, 10.0), &costs),
            Outcome::Rejected(Reject::CantCoverFees)
        );
        assert_eq!(acct, Account::new(0.5));
        let mut empty = Account::new(0.0);
        assert_eq!(
            execute(&mut empty, &mut hold, &order(1.0, 10.0), &free()),
            Outcome::Rejected(Reject::InsufficientCash)
        );
        let long_only_exit = Order {
            direction: Direction::Long,
            ..order(-1.0, 10.0)
        };
        assert_eq!(
            execute(&mut acct, &mut hold, &long_only_exit, &free()),
            Outcome::Rejected(Reject::NoOpenPosition)
        );
        assert_eq!(
            execute(&mut acct, &mut hold, &order(1.0, f64::NAN), &free()),
            Outcome::Rejected(Reject::NoPrice)
        );
        assert_eq!(
            execute(&mut acct, &mut hold, &order(-1e307, 100.0), &free()),
            Outcome::Rejected(Reject::NonFinite)
        );
        let tiny = Costs::free(1.0);
        assert_eq!(
            execute(&mut acct, &mut hold, &order(f64::INFINITY, 10.0), &tiny),
            Outcome::Rejected(Reject::BelowMinSize)
        );
    }

    fn with_slippage(costs: Costs, rate: f64) -> Costs {
        Costs {
            slippage: Arc::new(crate::matching::costs::PercentSlippage::new(rate).unwrap()),
            ..costs
        }
    }

    proptest! {
        /// The cost models reproduce vectorbt's float rules to the bit: an all-in buy spends the cash as
        /// `(cash - fixed_fees) / (1 + fees)` of notional at `price * (1 + slippage)`, the rest as fees; an
        /// all-in sale sells the long and shorts `(free - fixed_fees) / (price * (1 + fees))` more, where
        /// `free` is the free cash after selling the long net of the percent fee.
        #[test]
        fn linear_costs_size_all_in_orders_by_vectorbts_formulas_to_the_bit(
            cash in 0.0f64..1e6, position in -50.0f64..50.0, price in 0.5f64..500.0,
            fees in 0.0f64..0.05, fixed in 0.0f64..20.0, slippage in 0.0f64..0.05,
        ) {
            let costs = with_slippage(vbt(fees, fixed, 1e-8), slippage);
            // A buy from flat.
            let (mut acct, mut hold) = (Account::new(cash), Holding::default());
            let got = execute(&mut acct, &mut hold, &order(f64::INFINITY, price), &costs);
            let fill_price = price * (1.0 + slippage);
            let affordable = add(snap_zero(cash), -fixed) / (1.0 + fees);
            let want = if snap_zero(cash) == 0.0 {
                Outcome::Rejected(Reject::InsufficientCash)
            } else if affordable <= 0.0 {
                Outcome::Rejected(Reject::CantCoverFees)
            } else if is_less(affordable / fill_price, 1e-8) {
                Outcome::Rejected(Reject::BelowMinSize)
            } else {
                Outcome::Filled { side: Side::Buy, size: affordable / fill_price, price: fill_price, fees: cash - affordable }
            };
            prop_assert_eq!(got, want);
            // A sale of everything and then some (a reversal or a short entry), from `position`.
            let debt = if position < 0.0 { -position * price } else { 0.0 };
            let free_cash = if position < 0.0 { cash - 2.0 * debt } else { cash };
            let mut acct = Account { cash, free_cash };
            let mut hold = Holding { position, debt };
            let got = execute(&mut acct, &mut hold, &order(f64::NEG_INFINITY, price), &costs);
            let fill_price = price * (1.0 - slippage);
            let (free_cash, position) = (snap_zero(free_cash), snap_zero(position));
            let long = position.max(0.0);
            let free = add(free_cash, long * fill_price * (1.0 - fees));
            let max = if free <= 0.0 {
                if position <= 0.0 { None } else { Some(long) }
            } else {
                Some(add(long, add(free, -fixed) / (fill_price * (1.0 + fees))))
            };
            if let (Outcome::Filled { side, size, price: p, fees: paid }, Some(max)) = (got, max) {
                prop_assert_eq!((side, size, p), (Side::Sell, max, fill_price));
                prop_assert_eq!(paid, max * fill_price * fees + fixed);
            } else {
                prop_assert!(!matches!(got, Outcome::Filled { .. }) && max.is_none_or(|m| m <= 0.0 || is_less(m, 1e-8) || {
                    let received = add(m * fill_price, -(m * fill_price * fees + fixed));
                    received < 0.0
                }), "{got:?} vs {max:?}");
            }
        }

        /// Cash is conserved net of fees: cash + position value at the fill price moves by exactly -fees,
        /// and a fill never exceeds the ordered size.
        #[test]
        fn cash_is_conserved_net_of_fees(
            cash in 0.0f64..1e6, position in -100.0f64..100.0, size in -200.0f64..200.0,
            price in 0.5f64..500.0, fees in 0.0f64..0.01, fixed in 0.0f64..5.0,
        ) {
            let debt = if position < 0.0 { -position * price } else { 0.0 };
            let free = if position < 0.0 { cash - 2.0 * debt } else { cash };
            let mut acct = Account { cash, free_cash: free };
            let mut hold = Holding { position, debt };
            let costs = vbt(fees, fixed, 1e-8);
            let before = acct.cash + hold.position * price;
            if let Outcome::Filled { size: filled, fees: paid, .. } = execute(&mut acct, &mut hold, &order(size, price), &costs) {
                prop_assert!(filled <= size.abs() * (1.0 + 1e-12));
                let after = acct.cash + hold.position * price;
                prop_assert!((after - (before - paid)).abs() <= 1e-6 * before.abs().max(1.0));
                prop_assert!(acct.cash >= -1e-6);
            }
        }
    }
}
