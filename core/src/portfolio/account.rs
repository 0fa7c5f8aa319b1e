//! The account's pieces: its cash, one symbol's holding, the kind of account (cash or margin) and the
//! affordability policy.

use crate::error::{Context, CoreError, CoreResult};

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

/// What happens to an order the account cannot afford (see the module doc of [`crate::portfolio`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affordability {
    /// vectorbt's `from_signals`: an unaffordable buy is cut to what the cash allows; the account rules
    /// are the sizing's (a fixed-size short is not checked against free cash).
    Resize,
    /// The event engine's: an order is never resized; a fill that breaks the account's rules is refused
    /// with a reason and the ledger is left untouched.
    Reject,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_maintenance_margin_stays_below_the_initial_margin() {
        assert_eq!(AccountKind::Margin { leverage: 4.0 }.default_maintenance(), 0.125);
        assert!(AccountKind::Margin { leverage: 4.0 }.check_maintenance(0.25).is_err());
        assert!(AccountKind::Cash.check_maintenance(0.0).is_ok());
        assert!(AccountKind::Cash.check_maintenance(1.0).is_err());
        assert!(AccountKind::Cash.check_maintenance(f64::NAN).is_err());
    }
}
