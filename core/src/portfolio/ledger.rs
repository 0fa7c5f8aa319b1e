//! The ledger: one account's cash, the holdings and marks of its symbols (or columns), their contract
//! multipliers, the kind of account and the affordability policy. Both modes book through it: the event
//! engine has one ledger (policy [`Affordability::Reject`]), the vectorized kernel one per cash pool (a
//! symbol's own cash, or a group's shared cash; policy [`Affordability::Resize`]), and a promoted vectorized
//! strategy books into the event engine's ledger under the vectorized policy.
//!
//! There are two doors, one booking path ([`Ledger::book`], which applies [`book_buy`] / [`book_sell`]):
//! - [`Ledger::execute`] sizes an order the vectorized way (see `sizing.rs`) and books it;
//! - [`Ledger::fill`] books a fill the matcher priced (quantity, price and fee are fixed).
//!
//! Under `Reject` the account rules (see `margin.rs`) decide whether a fill books; a refused fill changes
//! nothing. Under `Resize` the sizing has already cut the order to what vectorbt lets it afford.

use super::book::{book_buy, book_sell};
use super::{Account, AccountKind, Affordability, Holding, Refusal, Side};

/// A fill ready to book: `cash` is what a buy spends or a sell receives in total (fees included), `unit`
/// the value of one unit at `price` (price times multiplier) and `value` the fill's notional.
#[derive(Debug, Clone, Copy)]
pub(super) struct Trade {
    pub side: Side,
    pub quantity: f64,
    pub price: f64,
    pub unit: f64,
    pub value: f64,
    pub fee: f64,
    pub cash: f64,
}

#[derive(Debug, Clone)]
pub struct Ledger {
    pub kind: AccountKind,
    pub policy: Affordability,
    pub account: Account,
    pub holdings: Vec<Holding>,
    /// Last price per symbol (the last close seen; NaN before the first bar).
    pub marks: Vec<f64>,
    pub multipliers: Vec<f64>,
}

impl Ledger {
    pub fn new(kind: AccountKind, policy: Affordability, init_cash: f64, multipliers: Vec<f64>) -> Self {
        let n = multipliers.len();
        Self {
            kind,
            policy,
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

    /// Units an order on `side` can trade in `symbol` while only reducing its position (at most closing it).
    pub fn closable(&self, symbol: usize, side: Side) -> f64 {
        let position = self.holdings[symbol].position;
        match side {
            Side::Buy => (-position).max(0.0),
            Side::Sell => position.max(0.0),
        }
    }

    /// Book a fill of `quantity` (> 0) units at `price` paying `fee`, or say why the account cannot take it
    /// (and change nothing). Under `Reject`, a fill that only reduces the position is refused only when it
    /// is not finite.
    pub fn fill(&mut self, symbol: usize, side: Side, quantity: f64, price: f64, fee: f64) -> Result<(), Refusal> {
        let multiplier = self.multipliers[symbol];
        let value = quantity * price * multiplier;
        let trade = Trade {
            side,
            quantity,
            price,
            unit: price * multiplier,
            value,
            fee,
            cash: match side {
                Side::Buy => value + fee,
                Side::Sell => value - fee,
            },
        };
        self.book(symbol, self.account, self.holdings[symbol], trade)
    }

    /// The one booking path: `trade` applied to `account` and `holding` (the ledger's own, or a copy with
    /// float residue snapped away) becomes the ledger's state, unless the policy refuses it.
    pub(super) fn book(
        &mut self,
        symbol: usize,
        account: Account,
        holding: Holding,
        trade: Trade,
    ) -> Result<(), Refusal> {
        let (next_account, next) = match trade.side {
            Side::Buy => book_buy(account, holding, trade.quantity, trade.cash),
            Side::Sell => book_sell(account, holding, trade.quantity, trade.unit, trade.cash),
        };
        if self.policy == Affordability::Reject {
            self.check(symbol, account, holding, &trade, next_account, next)?;
        }
        self.account = next_account;
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
pub(super) mod tests {
    use super::*;
    use crate::portfolio::Reject;

    impl Ledger {
        /// A ledger under the event engine's policy.
        pub(crate) fn new_rejecting(kind: AccountKind, init_cash: f64, multipliers: Vec<f64>) -> Self {
            Self::new(kind, Affordability::Reject, init_cash, multipliers)
        }
    }
    use proptest::prelude::*;

    #[test]
    fn a_cash_account_rejects_what_it_cannot_pay_and_changes_nothing() {
        let mut l = Ledger::new_rejecting(AccountKind::Cash, 1000.0, vec![1.0]);
        assert!(l.fill(0, Side::Buy, 10.0, 100.0, 0.0).is_ok());
        assert_eq!(l.account.cash, 0.0);
        let before = l.clone();
        let err = l.fill(0, Side::Buy, 1.0, 100.0, 1.0).unwrap_err();
        assert_eq!(err.code, Reject::InsufficientCash);
        assert!(err.message.starts_with("insufficient cash"), "{err:?}");
        assert_eq!((l.account, l.holdings.clone()), (before.account, before.holdings));
    }

    #[test]
    fn a_cash_account_collateralizes_shorts_in_full() {
        let mut l = Ledger::new_rejecting(AccountKind::Cash, 1000.0, vec![1.0]);
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
        let mut l = Ledger::new_rejecting(AccountKind::Margin { leverage: 2.0 }, 1000.0, vec![1.0, 1.0]);
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
        let mut l = Ledger::new_rejecting(AccountKind::Cash, 1000.0, vec![1.0]);
        l.fill(0, Side::Sell, 10.0, 100.0, 0.0).unwrap(); // cash 2000, free 0
        assert!(l.fill(0, Side::Buy, 10.0, 250.0, 0.0).is_ok()); // costs 2500 > 2000 released
        assert_eq!((l.position(0), l.account.cash), (0.0, -500.0));
        let err = l.fill(0, Side::Buy, 1.0, 1.0, 0.0).unwrap_err(); // owes cash: opens nothing
        assert_eq!(err.code, Reject::InsufficientCash);
    }

    #[test]
    fn a_fill_that_is_not_finite_is_refused_even_when_it_reduces() {
        for kind in [AccountKind::Cash, AccountKind::Margin { leverage: 2.0 }] {
            let mut l = Ledger::new_rejecting(kind, 1000.0, vec![1.0]);
            assert_eq!(
                l.fill(0, Side::Buy, 1e307, 100.0, 0.0).unwrap_err().code,
                Reject::NonFinite
            );
            assert_eq!(
                l.fill(0, Side::Sell, 1e307, 100.0, 0.0).unwrap_err().code,
                Reject::NonFinite
            );
            l.fill(0, Side::Buy, 1.0, 100.0, 0.0).unwrap();
            assert_eq!(
                l.fill(0, Side::Sell, 1.0, 100.0, f64::INFINITY).unwrap_err().code,
                Reject::NonFinite
            );
        }
    }

    proptest! {
        /// A fill that only reduces a position is never refused, whatever the account, prices and fee.
        #[test]
        fn reducing_is_never_refused(
            margin in any::<bool>(), long in any::<bool>(), entry in 0.01f64..1e4, later in 0.01f64..1e5,
            quantity in 1.0f64..1e4, fraction in 0.0f64..=1.0, fee_rate in 0.0f64..0.2,
        ) {
            let kind = if margin { AccountKind::Margin { leverage: 2.0 } } else { AccountKind::Cash };
            let mut l = Ledger::new_rejecting(kind, 2.0 * entry * quantity, vec![1.0]);
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
        let mut l = Ledger::new_rejecting(AccountKind::Margin { leverage: 10.0 }, 100_000.0, vec![50.0]);
        assert!(l.fill(0, Side::Buy, 2.0, 4000.0, 5.0).is_ok());
        assert_eq!(l.account.cash, 100_000.0 - 400_000.0 - 5.0);
        l.marks[0] = 4010.0;
        assert_eq!(l.equity(), 100_000.0 - 5.0 + 2.0 * 10.0 * 50.0);
    }

    #[test]
    fn splits_keep_value_and_dividends_pay_longs_and_charge_shorts() {
        let mut l = Ledger::new_rejecting(AccountKind::Cash, 10_000.0, vec![1.0, 1.0]);
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
