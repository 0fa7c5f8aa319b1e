//! The account rules: what a fill may do to a cash or a margin account (under [`Affordability::Reject`]),
//! and the maintenance margin below which the account is called.
//!
//! - [`AccountKind::Cash`]: no borrowing. Buys are paid from free cash; a short sale is fully
//!   collateralized (its proceeds and as much again are reserved), as in the vectorized mode.
//! - [`AccountKind::Margin`]: cash may go negative, but after a fill the gross exposure
//!   (`sum |position * price * multiplier|`) may not exceed `leverage * equity`, unless the fill reduces it.
//! - Both: a fill that only reduces or closes a position is never refused for cash (a cash account's cover
//!   that its free cash cannot pay leaves cash negative: the account owes it, and opens nothing until it is
//!   repaid). A fill whose value, fee or resulting cash is not a finite number is always refused.
//! - Maintenance ([`Ledger::margin_call`]): the account is called when equity falls below
//!   `maintenance * exposure`, where exposure is the gross exposure of a margin account and the value of a
//!   cash account's shorts (its longs are paid in full and cannot make equity negative).
//!
//! [`Affordability::Reject`]: super::Affordability::Reject

use super::ledger::Trade;
use super::{Account, AccountKind, Holding, Ledger, Refusal, Reject, Side};

/// Relative tolerance for "the account can afford it": float residue must not reject an exact all-in order.
const TOLERANCE: f64 = 1e-9;

impl Ledger {
    /// Whether the account may go from (`account`, `holding`) to (`next_account`, `next`) by `trade` in
    /// `symbol`; the refusal says why not.
    pub(super) fn check(
        &self,
        symbol: usize,
        account: Account,
        holding: Holding,
        trade: &Trade,
        next_account: Account,
        next: Holding,
    ) -> Result<(), Refusal> {
        let Trade {
            side,
            quantity,
            value,
            fee,
            price,
            ..
        } = *trade;
        if ![value, fee, next_account.cash, next_account.free_cash, next.debt]
            .iter()
            .all(|v| v.is_finite())
        {
            return Err(Refusal::new(
                Reject::NonFinite,
                format!("the fill's value is not a finite number: {quantity} units at {price} (fee {fee})"),
            ));
        }
        let closable = match side {
            Side::Buy => (-holding.position).max(0.0),
            Side::Sell => holding.position.max(0.0),
        };
        if quantity <= closable * (1.0 + TOLERANCE) {
            return Ok(());
        }
        match self.kind {
            AccountKind::Cash => {
                let slack = TOLERANCE * account.cash.abs().max(value).max(1.0);
                if next_account.free_cash >= -slack {
                    return Ok(());
                }
                Err(match side {
                    Side::Buy => Refusal::new(
                        Reject::InsufficientCash,
                        format!(
                            "insufficient cash: the fill costs {:.2} with fees, free cash is {:.2}",
                            value + fee,
                            account.free_cash
                        ),
                    ),
                    Side::Sell => Refusal::new(
                        Reject::ShortCollateral,
                        format!(
                            "insufficient free cash to collateralize the short: needs {:.2}, free cash is {:.2}",
                            account.free_cash - next_account.free_cash,
                            account.free_cash
                        ),
                    ),
                })
            }
            AccountKind::Margin { leverage } => {
                let (gross_before, _) = self.gross_exposure(symbol, price, holding.position);
                let (gross, net) = self.gross_exposure(symbol, price, next.position);
                let equity = next_account.cash + net;
                let slack = TOLERANCE * gross.max(1.0);
                if gross > gross_before + slack && gross > leverage * equity + slack {
                    return Err(Refusal::new(
                        Reject::LeverageLimit,
                        format!(
                            "leverage limit: gross exposure {gross:.2} would exceed {leverage} x equity {equity:.2}"
                        ),
                    ));
                }
                Ok(())
            }
        }
    }

    /// Gross and net exposure at the marks, with `symbol` at `position` priced at `price`.
    fn gross_exposure(&self, symbol: usize, price: f64, position: f64) -> (f64, f64) {
        let mut gross = 0.0;
        let mut net = 0.0;
        for (s, h) in self.holdings.iter().enumerate() {
            let (pos, mark) = if s == symbol {
                (position, price)
            } else {
                (h.position, self.marks[s])
            };
            if pos != 0.0 {
                let value = pos * mark * self.multipliers[s];
                gross += value.abs();
                net += value;
            }
        }
        (gross, net)
    }

    /// Exposure the maintenance rule applies to: gross exposure of a margin account, the value of a cash
    /// account's shorts.
    pub fn maintained_exposure(&self) -> f64 {
        (0..self.holdings.len())
            .filter(|&s| self.borrowed(s))
            .map(|s| self.position_value(s).abs())
            .sum()
    }

    /// Whether the position in `symbol` is held on borrowed money or stock (what a margin call liquidates):
    /// any position in a margin account, a short in a cash account.
    pub fn borrowed(&self, symbol: usize) -> bool {
        let position = self.holdings[symbol].position;
        match self.kind {
            AccountKind::Margin { .. } => position != 0.0,
            AccountKind::Cash => position < 0.0,
        }
    }

    /// `(equity, requirement)` when equity is below `maintenance` times the maintained exposure (a margin
    /// call), None otherwise (also when nothing is borrowed).
    pub fn margin_call(&self, maintenance: f64) -> Option<(f64, f64)> {
        let exposure = self.maintained_exposure();
        if exposure <= 0.0 || !exposure.is_finite() {
            return None;
        }
        let equity = self.equity();
        let requirement = maintenance * exposure;
        (equity < requirement || equity <= 0.0).then_some((equity, requirement))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_calls_measure_equity_against_the_borrowed_exposure() {
        let mut m = Ledger::new_rejecting(AccountKind::Margin { leverage: 2.0 }, 1000.0, vec![1.0]);
        m.fill(0, Side::Buy, 20.0, 100.0, 0.0).unwrap(); // cash -1000
        m.marks[0] = 70.0; // equity 400 >= 0.25 x 1400
        assert_eq!(m.margin_call(0.25), None);
        m.marks[0] = 60.0; // equity 200 < 0.25 x 1200
        assert_eq!(m.margin_call(0.25), Some((200.0, 300.0)));
        let mut c = Ledger::new_rejecting(AccountKind::Cash, 1000.0, vec![1.0, 1.0]);
        c.fill(0, Side::Buy, 5.0, 100.0, 0.0).unwrap();
        c.marks = vec![1.0, f64::NAN]; // a long losing 99%: never a call in a cash account
        assert_eq!(c.margin_call(0.25), None);
        c.fill(1, Side::Sell, 2.0, 100.0, 0.0).unwrap(); // cash 700
        c.marks = vec![1.0, 300.0]; // equity 700 + 5 - 600 = 105 < 0.25 x 600
        assert_eq!(c.margin_call(0.25), Some((105.0, 150.0)));
        assert!(c.borrowed(1) && !c.borrowed(0));
    }
}
