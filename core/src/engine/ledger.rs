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
//! - Both: a fill that only reduces or closes a position is never refused for cash (a cash account's cover
//!   that its free cash cannot pay leaves cash negative: the account owes it, and opens nothing until it is
//!   repaid). A fill whose value, fee or resulting cash is not a finite number is always refused.
//! - Maintenance ([`Ledger::margin_call`]): the account is called when equity falls below
//!   `maintenance * exposure`, where exposure is the gross exposure of a margin account and the value of a
//!   cash account's shorts (its longs are paid in full and cannot make equity negative).

use super::order::Code;
use crate::error::{Context, CoreError, CoreResult};
use crate::portfolio::{book_buy, book_sell, Account, Holding, Side};

/// Why the ledger refused a fill.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub code: Code,
    pub message: String,
}

impl Refusal {
    fn new(code: Code, message: String) -> Self {
        Self { code, message }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AccountKind {
    Cash,
    Margin { leverage: f64 },
}

impl AccountKind {
    /// The maintenance margin unless the user chooses: 25% of the maintained exposure (the usual broker
    /// minimum for longs), lowered to half the initial margin (`0.5 / leverage`) when leverage exceeds 2,
    /// so that a position opened at the leverage limit is not called at once.
    pub fn default_maintenance(self) -> f64 {
        match self {
            Self::Cash => 0.25,
            Self::Margin { leverage } => 0.25f64.min(0.5 / leverage),
        }
    }

    /// A maintenance margin must be in [0, 1) and, for a margin account, below the initial margin
    /// (`1 / leverage`): otherwise opening at the leverage limit would be a margin call.
    pub fn check_maintenance(self, maintenance: f64) -> CoreResult<()> {
        let initial = match self {
            Self::Cash => 1.0,
            Self::Margin { leverage } => 1.0 / leverage,
        };
        if maintenance.is_finite() && (0.0..initial).contains(&maintenance) {
            return Ok(());
        }
        Err(CoreError::config(
            format!("maintenance_margin must be >= 0 and below the initial margin {initial}, got {maintenance}"),
            Context::argument("maintenance_margin"),
        ))
    }
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

    /// Units an order on `side` can trade in `symbol` while only reducing its position (at most closing it).
    pub fn closable(&self, symbol: usize, side: Side) -> f64 {
        let position = self.holdings[symbol].position;
        match side {
            Side::Buy => (-position).max(0.0),
            Side::Sell => position.max(0.0),
        }
    }

    /// Book a fill of `quantity` (> 0) units at `price` paying `fee`, or say why the account cannot take it
    /// (and change nothing). A fill that only reduces the position is refused only when it is not finite.
    pub fn fill(&mut self, symbol: usize, side: Side, quantity: f64, price: f64, fee: f64) -> Result<(), Refusal> {
        let multiplier = self.multipliers[symbol];
        let value = quantity * price * multiplier;
        let holding = self.holdings[symbol];
        let (account, next) = match side {
            Side::Buy => book_buy(self.account, holding, quantity, value + fee),
            Side::Sell => book_sell(self.account, holding, quantity, price * multiplier, value - fee),
        };
        if ![value, fee, account.cash, account.free_cash, next.debt]
            .iter()
            .all(|v| v.is_finite())
        {
            return Err(Refusal::new(
                Code::NonFinite,
                format!("the fill's value is not a finite number: {quantity} units at {price} (fee {fee})"),
            ));
        }
        let closable = self.closable(symbol, side);
        let reduces = quantity <= closable * (1.0 + TOLERANCE);
        match self.kind {
            _ if reduces => {}
            AccountKind::Cash => {
                let slack = TOLERANCE * self.account.cash.abs().max(value).max(1.0);
                if account.free_cash < -slack {
                    return Err(match side {
                        Side::Buy => Refusal::new(
                            Code::InsufficientCash,
                            format!(
                                "insufficient cash: the fill costs {:.2} with fees, free cash is {:.2}",
                                value + fee,
                                self.account.free_cash
                            ),
                        ),
                        Side::Sell => Refusal::new(
                            Code::ShortCollateral,
                            format!(
                                "insufficient free cash to collateralize the short: needs {:.2}, free cash is {:.2}",
                                self.account.free_cash - account.free_cash,
                                self.account.free_cash
                            ),
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
                    return Err(Refusal::new(
                        Code::LeverageLimit,
                        format!(
                            "leverage limit: gross exposure {gross:.2} would exceed {leverage} x equity {equity:.2}"
                        ),
                    ));
                }
            }
        }
        self.account = account;
        self.holdings[symbol] = next;
        Ok(())
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
    use proptest::prelude::*;

    #[test]
    fn a_cash_account_rejects_what_it_cannot_pay_and_changes_nothing() {
        let mut l = Ledger::new(AccountKind::Cash, 1000.0, vec![1.0]);
        assert!(l.fill(0, Side::Buy, 10.0, 100.0, 0.0).is_ok());
        assert_eq!(l.account.cash, 0.0);
        let before = l.clone();
        let err = l.fill(0, Side::Buy, 1.0, 100.0, 1.0).unwrap_err();
        assert_eq!(err.code, Code::InsufficientCash);
        assert!(err.message.starts_with("insufficient cash"), "{err:?}");
        assert_eq!((l.account, l.holdings.clone()), (before.account, before.holdings));
    }

    #[test]
    fn a_cash_account_collateralizes_shorts_in_full() {
        let mut l = Ledger::new(AccountKind::Cash, 1000.0, vec![1.0]);
        assert!(l.fill(0, Side::Sell, 10.0, 100.0, 0.0).is_ok()); // reserves 1000 of 1000 free
        assert_eq!(l.account.free_cash, 0.0);
        let err = l.fill(0, Side::Sell, 1.0, 100.0, 0.0).unwrap_err();
        assert!(err.message.contains("collateralize"), "{err:?}");
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
        assert!(err.message.starts_with("leverage limit"), "{err:?}");
        assert!(l.fill(1, Side::Sell, 10.0, 50.0, 0.0).is_ok()); // 2000 == 2 x 1000
        l.marks = vec![60.0, 50.0]; // equity falls to 400: over the limit, but selling still reduces
        assert!(l.fill(0, Side::Sell, 5.0, 60.0, 0.0).is_ok());
    }

    #[test]
    fn a_cash_account_covers_a_short_its_free_cash_cannot_pay() {
        let mut l = Ledger::new(AccountKind::Cash, 1000.0, vec![1.0]);
        l.fill(0, Side::Sell, 10.0, 100.0, 0.0).unwrap(); // cash 2000, free 0
        assert!(l.fill(0, Side::Buy, 10.0, 250.0, 0.0).is_ok()); // costs 2500 > 2000 released
        assert_eq!((l.position(0), l.account.cash), (0.0, -500.0));
        let err = l.fill(0, Side::Buy, 1.0, 1.0, 0.0).unwrap_err(); // owes cash: opens nothing
        assert_eq!(err.code, Code::InsufficientCash);
    }

    #[test]
    fn a_fill_that_is_not_finite_is_refused_even_when_it_reduces() {
        for kind in [AccountKind::Cash, AccountKind::Margin { leverage: 2.0 }] {
            let mut l = Ledger::new(kind, 1000.0, vec![1.0]);
            assert_eq!(
                l.fill(0, Side::Buy, 1e307, 100.0, 0.0).unwrap_err().code,
                Code::NonFinite
            );
            assert_eq!(
                l.fill(0, Side::Sell, 1e307, 100.0, 0.0).unwrap_err().code,
                Code::NonFinite
            );
            l.fill(0, Side::Buy, 1.0, 100.0, 0.0).unwrap();
            assert_eq!(
                l.fill(0, Side::Sell, 1.0, 100.0, f64::INFINITY).unwrap_err().code,
                Code::NonFinite
            );
        }
    }

    #[test]
    fn margin_calls_measure_equity_against_the_borrowed_exposure() {
        let mut m = Ledger::new(AccountKind::Margin { leverage: 2.0 }, 1000.0, vec![1.0]);
        m.fill(0, Side::Buy, 20.0, 100.0, 0.0).unwrap(); // cash -1000
        m.marks[0] = 70.0; // equity 400 >= 0.25 x 1400
        assert_eq!(m.margin_call(0.25), None);
        m.marks[0] = 60.0; // equity 200 < 0.25 x 1200
        assert_eq!(m.margin_call(0.25), Some((200.0, 300.0)));
        let mut c = Ledger::new(AccountKind::Cash, 1000.0, vec![1.0, 1.0]);
        c.fill(0, Side::Buy, 5.0, 100.0, 0.0).unwrap();
        c.marks = vec![1.0, f64::NAN]; // a long losing 99%: never a call in a cash account
        assert_eq!(c.margin_call(0.25), None);
        c.fill(1, Side::Sell, 2.0, 100.0, 0.0).unwrap(); // cash 700
        c.marks = vec![1.0, 300.0]; // equity 700 + 5 - 600 = 105 < 0.25 x 600
        assert_eq!(c.margin_call(0.25), Some((105.0, 150.0)));
        assert!(c.borrowed(1) && !c.borrowed(0));
    }

    #[test]
    fn the_maintenance_margin_stays_below_the_initial_margin() {
        assert_eq!(AccountKind::Margin { leverage: 4.0 }.default_maintenance(), 0.125);
        assert!(AccountKind::Margin { leverage: 4.0 }.check_maintenance(0.25).is_err());
        assert!(AccountKind::Cash.check_maintenance(0.0).is_ok());
        assert!(AccountKind::Cash.check_maintenance(1.0).is_err());
        assert!(AccountKind::Cash.check_maintenance(f64::NAN).is_err());
    }

    proptest! {
        /// A fill that only reduces a position is never refused, whatever the account, prices and fee.
        #[test]
        fn reducing_is_never_refused(
            margin in any::<bool>(), long in any::<bool>(), entry in 0.01f64..1e4, later in 0.01f64..1e5,
            quantity in 1.0f64..1e4, fraction in 0.0f64..=1.0, fee_rate in 0.0f64..0.2,
        ) {
            let kind = if margin { AccountKind::Margin { leverage: 2.0 } } else { AccountKind::Cash };
            let mut l = Ledger::new(kind, 2.0 * entry * quantity, vec![1.0]);
            let (open, close) = if long { (Side::Buy, Side::Sell) } else { (Side::Sell, Side::Buy) };
            prop_assert!(l.fill(0, open, quantity, entry, 0.0).is_ok());
            l.marks[0] = later;
            let reduce = (quantity * fraction).max(1e-6);
            prop_assert!(l.fill(0, close, reduce, later, fee_rate * reduce * later).is_ok());
            prop_assert!((l.position(0).abs() - (quantity - reduce)).abs() <= 1e-9 * quantity);
        }
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
