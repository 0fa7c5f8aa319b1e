//! The portfolio ledger: cash, positions, short debt, marks, multipliers and the account rules, for both
//! modes. Every accounting invariant lives here, so the two modes fill and account identically by
//! construction.
//!
//! One type, [`Ledger`], owns an account's cash and free cash, the holdings and marks of its symbols, their
//! contract multipliers, the account kind ([`AccountKind`]: cash, or margin with a leverage limit, plus the
//! maintenance margin rule) and an explicit [`Affordability`] policy:
//! - `Resize` (the vectorized mode, vectorbt's `from_signals`): an order the cash cannot pay is cut to what
//!   it can (see `sizing.rs`);
//! - `Reject` (the event engine): an order is never resized; a fill that breaks the account's rules is
//!   refused as data with a reason, and the ledger is left untouched (see `margin.rs`).
//!
//! Every fill of either mode is booked by [`book_buy`] / [`book_sell`] (see `book.rs`). Refusals of both
//! modes use one vocabulary, [`Reject`].

mod account;
mod book;
mod costs;
pub mod float;
mod ledger;
mod margin;
mod reject;
mod sizing;

pub use account::{Account, AccountKind, Affordability, Holding};
pub use book::{book_buy, book_sell};
pub use ledger::Ledger;
pub use reject::{Refusal, Reject};
pub use sizing::{Costs, Direction, Order, SizeType};

/// The largest starting cash either mode accepts: far beyond any real account, and small enough that cash
/// times any accepted price ratio (prices are bounded by the data layer) stays a finite float.
pub const MAX_INIT_CASH: f64 = 1e15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Side {
    Buy = 0,
    Sell = 1,
}

/// What executing an order did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// Filled `size` units (> 0) at `price` (slippage included), paying `fees`.
    Filled {
        side: Side,
        size: f64,
        price: f64,
        fees: f64,
    },
    Rejected(Reject),
    /// Nothing to do (a zero-size order): not an order at all.
    Ignored,
}

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;
