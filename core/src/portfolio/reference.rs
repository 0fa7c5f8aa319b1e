//! Today's (before issue #11) vectorized order execution, kept verbatim as the reference the ledger's
//! `Resize` policy must reproduce bit for bit (see the properties in `tests.rs`), with its costs as the
//! floats they were (`fees`, `fixed_fees`, `slippage`), where the ledger takes the cost models those floats
//! lower to. Test-only.

use super::book::{book_buy, book_sell};
use super::float::{add, is_close, is_close_or_less, is_less, snap_zero};
use super::{Account, Direction, Holding, Order, Outcome, Reject, Side, SizeType};

/// The vectorized mode's costs before they were models: a fraction of traded value plus a fixed amount per
/// order, and a fraction of the price (applied to the orders whose `slippage` flag is set).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Costs {
    pub fees: f64,
    pub fixed_fees: f64,
    pub slippage: f64,
    pub min_size: f64,
}

/// Execute `order`, updating `account` and `holding` only when it fills.
pub fn execute(account: &mut Account, holding: &mut Holding, order: &Order, costs: &Costs) -> Outcome {
    let state = State {
        cash: snap_zero(account.cash),
        free_cash: snap_zero(account.free_cash),
        position: snap_zero(holding.position),
        debt: snap_zero(holding.debt),
    };
    if order.size.is_nan() || order.size == 0.0 {
        return Outcome::Ignored;
    }
    if !(order.price.is_finite() && order.price > 0.0) {
        return Outcome::Rejected(Reject::NoPrice);
    }
    let mut size = order.size;
    let mut size_type = order.size_type;
    if size_type == SizeType::Value {
        if !(order.val_price.is_finite() && order.val_price > 0.0) {
            return Outcome::Rejected(Reject::NoPrice);
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
    let result = if size > 0.0 {
        state.buy(size, order, costs, percent)
    } else {
        state.sell(-size, order, costs, percent)
    };
    match result {
        Ok((next, outcome)) => {
            *account = Account {
                cash: next.cash,
                free_cash: next.free_cash,
            };
            *holding = Holding {
                position: next.position,
                debt: next.debt,
            };
            outcome
        }
        Err(outcome) => outcome,
    }
}

#[derive(Debug, Clone, Copy)]
struct State {
    cash: f64,
    free_cash: f64,
    position: f64,
    debt: f64,
}

type Step = Result<(State, Outcome), Outcome>;

impl State {
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

    fn booked(self, (account, holding): (Account, Holding)) -> Self {
        Self {
            cash: account.cash,
            free_cash: account.free_cash,
            position: holding.position,
            debt: holding.debt,
        }
    }

    /// Buy (open or add to a long) and/or cover a short.
    fn buy(self, size: f64, order: &Order, costs: &Costs, percent: f64) -> Step {
        let price = order.price * (1.0 + if order.slippage { costs.slippage } else { 0.0 });
        let mut cash_limit = self.cash;
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
        let notional = wanted * price;
        let wanted_fees = notional * costs.fees + costs.fixed_fees;
        let (filled, fees, spent) = if is_close_or_less(notional + wanted_fees, cash_limit) {
            (wanted, wanted_fees, notional + wanted_fees)
        } else {
            let affordable = add(cash_limit, -costs.fixed_fees) / (1.0 + costs.fees);
            if affordable <= 0.0 {
                return Err(Outcome::Rejected(Reject::CantCoverFees));
            }
            (affordable / price, cash_limit - affordable, cash_limit)
        };
        if is_less(filled, costs.min_size) {
            return Err(Outcome::Rejected(Reject::BelowMinSize));
        }
        let next = self.booked(book_buy(self.account(), self.holding(), filled, spent));
        Ok((
            next,
            Outcome::Filled {
                side: Side::Buy,
                size: filled,
                price,
                fees,
            },
        ))
    }

    /// Sell (reduce or close a long) and/or open or add to a short.
    fn sell(self, size: f64, order: &Order, costs: &Costs, percent: f64) -> Step {
        let price = order.price * (1.0 - if order.slippage { costs.slippage } else { 0.0 });
        let mut limit = if order.direction == Direction::Long {
            self.position.min(size)
        } else if size.is_infinite() && !percent.is_nan() {
            // As much as possible: the whole long plus the largest short free cash can collateralize.
            let long = self.position.max(0.0);
            let free = add(self.free_cash, long * price * (1.0 - costs.fees));
            if free <= 0.0 {
                if self.position <= 0.0 {
                    return Err(Outcome::Rejected(Reject::ShortCollateral));
                }
                long
            } else {
                let max = add(long, add(free, -costs.fixed_fees) / (price * (1.0 + costs.fees)));
                if max <= 0.0 {
                    return Err(Outcome::Rejected(Reject::CantCoverFees));
                }
                max
            }
        } else {
            size
        };
        if !percent.is_nan() {
            limit *= percent;
        }
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
        let fees = proceeds * costs.fees + costs.fixed_fees;
        if !(proceeds.is_finite() && fees.is_finite() && (self.cash + proceeds).is_finite()) {
            return Err(Outcome::Rejected(Reject::NonFinite));
        }
        let received = add(proceeds, -fees);
        if received < 0.0 {
            return Err(Outcome::Rejected(Reject::CantCoverFees));
        }
        let next = self.booked(book_sell(self.account(), self.holding(), limit, price, received));
        Ok((
            next,
            Outcome::Filled {
                side: Side::Sell,
                size: limit,
                price,
                fees,
            },
        ))
    }
}
