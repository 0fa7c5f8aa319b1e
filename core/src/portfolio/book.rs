//! Booking a fill into the ledger: how cash, free cash, position and short debt change.
//!
//! Every fill in both modes is booked here, through [`Ledger::book`](super::Ledger). The modes differ only
//! in their affordability policy before booking (see [`Affordability`](super::Affordability)): the
//! vectorized mode sizes orders the way vectorbt does and cuts an unaffordable buy to what the cash allows;
//! the event engine refuses what the account rules do not allow. Short-sale accounting: a short raises `cash` by
//! its proceeds and records `debt` (the value shorted); `free_cash` drops by twice the short's value net of
//! the proceeds, so the proceeds and as much again are reserved as collateral until the short is covered.

use super::float::add;
use super::{Account, Holding};

/// The ledger after buying `quantity` (> 0) for `spent` in total (notional plus fees), covering any short
/// first: each covered unit releases its share of the debt, and twice that back into free cash.
pub fn book_buy(account: Account, holding: Holding, quantity: f64, spent: f64) -> (Account, Holding) {
    let position = add(holding.position, quantity);
    let (debt, free_cash) = if holding.position < 0.0 {
        let covered = if position < 0.0 {
            quantity
        } else {
            holding.position.abs()
        };
        let released = covered * (holding.debt / holding.position.abs());
        (
            add(holding.debt, -released),
            add(account.free_cash + 2.0 * released, -spent),
        )
    } else {
        (holding.debt, add(account.free_cash, -spent))
    };
    (
        Account {
            cash: add(account.cash, -spent),
            free_cash,
        },
        Holding { position, debt },
    )
}

/// The ledger after selling `quantity` (> 0) at `price` (the fill price), receiving `received` in total
/// (proceeds net of fees), selling any long first and shorting the rest.
pub fn book_sell(account: Account, holding: Holding, quantity: f64, price: f64, received: f64) -> (Account, Holding) {
    let position = add(holding.position, -quantity);
    let (debt, free_cash) = if position < 0.0 {
        let shorted = if holding.position < 0.0 {
            quantity
        } else {
            position.abs()
        };
        let value = shorted * price;
        (
            holding.debt + value,
            add(account.free_cash, add(received, -2.0 * value)),
        )
    } else {
        (holding.debt, account.free_cash + received)
    };
    (
        Account {
            cash: account.cash + received,
            free_cash,
        },
        Holding { position, debt },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_trip_short_books_debt_and_collateral_then_releases_them() {
        let (a, h) = book_sell(Account::new(1000.0), Holding::default(), 10.0, 50.0, 500.0 - 1.0);
        assert_eq!((a.cash, a.free_cash), (1499.0, 1000.0 + 499.0 - 1000.0));
        assert_eq!((h.position, h.debt), (-10.0, 500.0));
        let (a, h) = book_buy(a, h, 10.0, 400.0 + 1.0); // cover at 40, fee 1
        assert_eq!((h.position, h.debt), (0.0, 0.0));
        assert_eq!(a.cash, 1499.0 - 401.0);
        assert_eq!(a.free_cash, a.cash);
    }

    #[test]
    fn buying_through_a_short_covers_it_then_goes_long() {
        let short = Holding {
            position: -5.0,
            debt: 100.0,
        };
        let (a, h) = book_buy(
            Account {
                cash: 1100.0,
                free_cash: 900.0,
            },
            short,
            8.0,
            8.0 * 22.0,
        );
        assert_eq!((h.position, h.debt), (3.0, 0.0));
        assert_eq!(a.cash, 1100.0 - 176.0);
        assert_eq!(a.free_cash, 900.0 + 200.0 - 176.0);
    }
}
