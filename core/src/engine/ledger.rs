//! The event engine's account: cash, holdings and marks of every symbol, and the policy that decides
//! whether a fill can be afforded.
//!
//! Booking goes through the same [`book_buy`] / [`book_sell`] as the vectorized mode. The policy differs:
//! the event engine never resizes an order to what the account can afford; a fill that breaks the
//! account's rule is rejected as data, with a reason, and the ledger is left untouched.
//!
//! Account rules:
//! - [`AccountKind::Cash`]: no borrowing. Buys are paid from free cash; a short sale is fully
//!   collateralized (its proceeds and as much again are reserved), as in the vectorized mode.
//! - [`AccountKind::Margin`]: cash may go negative, but after a fill the gross exposure
//!   (`sum |position * price * multiplier|`) may not exceed `leverage * equity`, unless the fill reduces it.

use crate::portfolio::{book_buy, book_sell, Account, Holding, Side};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AccountKind {
    Cash,
    Margin { leverage: f64 },
}

#[derive(Debug, Clone)]
pub struct Ledger {
    pub kind: AccountKind,
    pub account: Account,
    pub holdings: Vec<Holding>,
    /// Last price per symbol (the last close seen; NaN before the first bar).
    pub marks: Vec<f64>,
    pub multipliers: Vec<f64>,
}

/// Relative tolerance for "the account can afford it": float residue must not reject an exact all-in order.
const TOLERANCE: f64 = 1e-9;

impl Ledger {
    pub fn new(kind: AccountKind, init_cash: f64, multipliers: Vec<f64>) -> Self {
        let n = multipliers.len();
        Self {
            kind,
            account: Account::new(init_cash),
            holdings: vec![Holding::default(); n],
            marks: vec![f64::NAN; n],
            multipliers,
        }
    }

    pub fn position(&self, symbol: usize) -> f64 {
        self.holdings[symbol].position
    }

    /// Signed value of a symbol's position at its mark (0 when flat or never priced).
    pub fn position_value(&self, symbol: usize) -> f64 {
        let p = self.holdings[symbol].position;
        if p == 0.0 {
            0.0
        } else {
            p * self.marks[symbol] * self.multipliers[symbol]
        }
    }

    /// Cash plus every position at its mark.
    pub fn equity(&self) -> f64 {
        self.account.cash + (0..self.holdings.len()).map(|s| self.position_value(s)).sum::<f64>()
    }

    fn gross_exposure(&self, holdings: &[Holding], symbol: usize, price: f64, position: f64) -> (f64, f64) {
        let mut gross = 0.0;
        let mut net = 0.0;
        for (s, h) in holdings.iter().enumerate() {
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

    /// Book a fill of `quantity` (> 0) units at `price` paying `fee`, or say why the account cannot take it
    /// (and change nothing).
    pub fn fill(&mut self, symbol: usize, side: Side, quantity: f64, price: f64, fee: f64) -> Result<(), String> {
        let multiplier = self.multipliers[symbol];
        let value = quantity * price * multiplier;
        let holding = self.holdings[symbol];
        let (account, next) = match side {
            Side::Buy => book_buy(self.account, holding, quantity, value + fee),
            Side::Sell => book_sell(self.account, holding, quantity, price * multiplier, value - fee),
        };
        match self.kind {
            AccountKind::Cash => {
                let slack = TOLERANCE * self.account.cash.abs().max(value).max(1.0);
                if account.free_cash < -slack {
                    return Err(match side {
                        Side::Buy => format!(
                            "insufficient cash: the fill costs {:.2} with fees, free cash is {:.2}",
                            value + fee,
                            self.account.free_cash
                        ),
                        Side::Sell => format!(
                            "insufficient free cash to collateralize the short: needs {:.2}, free cash is {:.2}",
                            self.account.free_cash - account.free_cash,
                            self.account.free_cash
                        ),
                    });
                }
            }
            AccountKind::Margin { leverage } => {
                let (gross_before, _) = self.gross_exposure(&self.holdings, symbol, price, holding.position);
                let (gross, net) = self.gross_exposure(&self.holdings, symbol, price, next.position);
                let equity = account.cash + net;
                let slack = TOLERANCE * gross.max(1.0);
                if gross > gross_before + slack && gross > leverage * equity + slack {
                    return Err(format!(
                        "leverage limit: gross exposure {gross:.2} would exceed {leverage} x equity {equity:.2}"
                    ));
                }
            }
        }
        self.account = account;
        self.holdings[symbol] = next;
        Ok(())
    }

    /// A split of `ratio` new units per old unit: the position scales up, its mark down, value unchanged.
    pub fn split(&mut self, symbol: usize, ratio: f64) {
        self.holdings[symbol].position *= ratio;
        self.marks[symbol] /= ratio;
    }

    /// A cash dividend of `amount` per unit: longs receive it, shorts pay it. Returns the cash moved.
    pub fn dividend(&mut self, symbol: usize, amount: f64) -> f64 {
        let cash = self.holdings[symbol].position * amount * self.multipliers[symbol];
        self.account.cash += cash;
        self.account.free_cash += cash;
        cash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cash_account_rejects_what_it_cannot_pay_and_changes_nothing() {
        let mut l = Ledger::new(AccountKind::Cash, 1000.0, vec![1.0]);
        assert!(l.fill(0, Side::Buy, 10.0, 100.0, 0.0).is_ok());
        assert_eq!(l.account.cash, 0.0);
        let before = l.clone();
        let err = l.fill(0, Side::Buy, 1.0, 100.0, 1.0).unwrap_err();
        assert!(err.starts_with("insufficient cash"), "{err}");
        assert_eq!((l.account, l.holdings.clone()), (before.account, before.holdings));
    }

    #[test]
    fn a_cash_account_collateralizes_shorts_in_full() {
        let mut l = Ledger::new(AccountKind::Cash, 1000.0, vec![1.0]);
        assert!(l.fill(0, Side::Sell, 10.0, 100.0, 0.0).is_ok()); // reserves 1000 of 1000 free
        assert_eq!(l.account.free_cash, 0.0);
        let err = l.fill(0, Side::Sell, 1.0, 100.0, 0.0).unwrap_err();
        assert!(err.contains("collateralize"), "{err}");
        assert!(l.fill(0, Side::Buy, 10.0, 90.0, 0.0).is_ok()); // covering always frees cash
        assert_eq!(l.account.cash, 1100.0);
        assert_eq!(l.account.free_cash, 1100.0);
    }

    #[test]
    fn a_margin_account_allows_leverage_up_to_its_limit_and_always_allows_reducing() {
        let mut l = Ledger::new(AccountKind::Margin { leverage: 2.0 }, 1000.0, vec![1.0, 1.0]);
        l.marks = vec![100.0, 50.0];
        assert!(l.fill(0, Side::Buy, 15.0, 100.0, 0.0).is_ok()); // 1500 gross <= 2 x 1000
        assert_eq!(l.account.cash, -500.0);
        let err = l.fill(1, Side::Sell, 11.0, 50.0, 0.0).unwrap_err(); // 2050 > 2000
        assert!(err.starts_with("leverage limit"), "{err}");
        assert!(l.fill(1, Side::Sell, 10.0, 50.0, 0.0).is_ok()); // 2000 == 2 x 1000
        l.marks = vec![60.0, 50.0]; // equity falls to 400: over the limit, but selling still reduces
        assert!(l.fill(0, Side::Sell, 5.0, 60.0, 0.0).is_ok());
    }

    #[test]
    fn multipliers_scale_value_cash_and_equity() {
        let mut l = Ledger::new(AccountKind::Margin { leverage: 10.0 }, 100_000.0, vec![50.0]);
        assert!(l.fill(0, Side::Buy, 2.0, 4000.0, 5.0).is_ok());
        assert_eq!(l.account.cash, 100_000.0 - 400_000.0 - 5.0);
        l.marks[0] = 4010.0;
        assert_eq!(l.equity(), 100_000.0 - 5.0 + 2.0 * 10.0 * 50.0);
    }

    #[test]
    fn splits_keep_value_and_dividends_pay_longs_and_charge_shorts() {
        let mut l = Ledger::new(AccountKind::Cash, 10_000.0, vec![1.0, 1.0]);
        l.fill(0, Side::Buy, 10.0, 100.0, 0.0).unwrap();
        l.fill(1, Side::Sell, 5.0, 100.0, 0.0).unwrap();
        l.marks = vec![100.0, 100.0];
        let equity = l.equity();
        l.split(0, 2.0);
        assert_eq!((l.position(0), l.marks[0]), (20.0, 50.0));
        assert_eq!(l.equity(), equity);
        assert_eq!(l.dividend(0, 0.5), 10.0);
        assert_eq!(l.dividend(1, 1.0), -5.0);
        assert_eq!(l.equity(), equity + 5.0);
    }
}
