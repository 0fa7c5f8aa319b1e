//! Why an order did not fill: one vocabulary for both modes.
//!
//! A [`Reject`] is a stable reason with a `u8` code (it crosses into Python as the vectorized mode's
//! `reject` column), a snake_case name (the `reason_code` column of both modes) and a short message (the
//! vectorized mode's `reason`). The event engine reports the same reasons with a message that names the
//! amounts involved ([`Refusal`]).

/// Why an order did not fill. Stable codes: they cross into Python as `u8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Reject {
    /// No cash to buy with (cash account: the purchase costs more than its free cash).
    InsufficientCash = 1,
    /// No free cash to collateralize a short sale with.
    ShortCollateral = 2,
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
    /// A margin account's fill would take gross exposure above leverage times equity.
    LeverageLimit = 8,
    /// A target-weight order found the account's equity at or below zero (nothing to size weights from).
    NoEquity = 9,
}

impl Reject {
    const ALL: [Self; 9] = [
        Self::InsufficientCash,
        Self::ShortCollateral,
        Self::CantCoverFees,
        Self::BelowMinSize,
        Self::NoOpenPosition,
        Self::NoPrice,
        Self::NonFinite,
        Self::LeverageLimit,
        Self::NoEquity,
    ];

    /// The reject whose `u8` code is `code`, if any.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|r| *r as u8 == code)
    }

    /// A short, stable snake_case code for grouping (the `reason_code` column).
    pub fn code(self) -> &'static str {
        match self {
            Self::InsufficientCash => "insufficient_cash",
            Self::ShortCollateral => "short_collateral",
            Self::CantCoverFees => "cant_cover_fees",
            Self::BelowMinSize => "below_min_size",
            Self::NoOpenPosition => "no_open_position",
            Self::NoPrice => "no_price",
            Self::NonFinite => "non_finite",
            Self::LeverageLimit => "leverage_limit",
            Self::NoEquity => "no_equity",
        }
    }

    /// The reason without amounts (the vectorized mode's `reason` column).
    pub fn message(self) -> &'static str {
        match self {
            Self::InsufficientCash => "no cash available",
            Self::ShortCollateral => "no free cash to short with",
            Self::CantCoverFees => "cash cannot cover the fees",
            Self::BelowMinSize => "affordable size is below the minimum order size",
            Self::NoOpenPosition => "no open position to close",
            Self::NoPrice => "no price for the symbol at this bar",
            Self::NonFinite => "the order's value is not a finite number",
            Self::LeverageLimit => "gross exposure would exceed the leverage limit",
            Self::NoEquity => "no equity to size target weights from",
        }
    }
}

/// Why the ledger refused a fill: the reason and a message naming the amounts (the event engine's `reason`).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub code: Reject,
    pub message: String,
}

impl Refusal {
    pub fn new(code: Reject, message: String) -> Self {
        Self { code, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_names_are_unique() {
        for r in Reject::ALL {
            assert_eq!(Reject::from_code(r as u8), Some(r));
        }
        assert_eq!(Reject::from_code(0), None);
        let mut names: Vec<_> = Reject::ALL.iter().map(|r| r.code()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Reject::ALL.len());
    }
}
