//! The portfolio ledger: cash, positions, short debt, and the execution of one order against them.
//!
//! Shared by the vectorized kernels and (issue #4) the event engine, so the two modes fill and account
//! identically by construction. Every accounting invariant lives here.

mod book;
mod execute;
pub mod float;

pub use book::{book_buy, book_sell};
pub use execute::{execute, Costs, Direction, Order, SizeType};

/// The largest starting cash either mode accepts: far beyond any real account, and small enough that cash
/// times any accepted price ratio (prices are bounded by the data layer) stays a finite float.
pub const MAX_INIT_CASH: f64 = 1e15;

/// Cash of one account (a symbol's own, or a pool shared by several symbols).
///
/// `free_cash` is cash not tied up as collateral for short positions: a short sale raises `cash` by its
/// proceeds but lowers `free_cash` by the short's value (the proceeds and as much again are reserved).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Account {
    pub cash: f64,
    pub free_cash: f64,
}

impl Account {
    pub fn new(cash: f64) -> Self {
        Self { cash, free_cash: cash }
    }
}

/// One symbol's holding: signed units and, for a short, the value it was opened at (`debt`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Holding {
    pub position: f64,
    pub debt: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Side {
    Buy = 0,
    Sell = 1,
}

/// Why an order did not fill. Stable codes: they cross into Python as `u8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Reject {
    /// No cash to buy with.
    NoCash = 1,
    /// No free cash to short with.
    NoCashShort = 2,
    /// The fixed fee alone exceeds the cash available.
    CantCoverFees = 3,
    /// The affordable size is below the minimum order size.
    BelowMinSize = 4,
    /// A closing order found no position to close.
    NoOpenPosition = 5,
    /// The order price is missing (no bar for this symbol at this time).
    NoPrice = 6,
    /// The order's value is not a finite number (a size so large that size x price overflows).
    NonFinite = 7,
}

impl Reject {
    /// The reject whose `u8` code is `code`, if any.
    pub fn from_code(code: u8) -> Option<Self> {
        [
            Self::NoCash,
            Self::NoCashShort,
            Self::CantCoverFees,
            Self::BelowMinSize,
            Self::NoOpenPosition,
            Self::NoPrice,
            Self::NonFinite,
        ]
        .into_iter()
        .find(|r| *r as u8 == code)
    }

    /// A short, stable snake_case code for grouping (the `reason_code` column).
    pub fn code(self) -> &'static str {
        match self {
            Self::NoCash => "insufficient_cash",
            Self::NoCashShort => "short_collateral",
            Self::CantCoverFees => "cant_cover_fees",
            Self::BelowMinSize => "below_min_size",
            Self::NoOpenPosition => "no_open_position",
            Self::NoPrice => "no_price",
            Self::NonFinite => "non_finite",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::NoCash => "no cash available",
            Self::NoCashShort => "no free cash to short with",
            Self::CantCoverFees => "cash cannot cover the fees",
            Self::BelowMinSize => "affordable size is below the minimum order size",
            Self::NoOpenPosition => "no open position to close",
            Self::NoPrice => "no price for the symbol at this bar",
            Self::NonFinite => "the order's value is not a finite number",
        }
    }
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
