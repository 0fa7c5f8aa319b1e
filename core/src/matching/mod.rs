//! The matching rules both modes share: when a decision fills, where and how much an order fills within a
//! bar, and what it costs. Pure functions and small state types, so every rule of DESIGN.md §4 is tested on
//! its own and the event loop and the vectorized kernel use the same one.
//!
//! - [`Execution`]: when a decision's market order fills (the next bar's open, or the decision bar's close).
//! - [`fill`]: intrabar fill prices from OHLC for market, limit, stop and stop-limit orders, trailing stop
//!   levels, the policy when a stop-loss and a take-profit touch in one bar, and volume participation.
//! - [`costs`]: pluggable commission models (percent, per share with minimum and cap, fixed per order, tiered)
//!   and slippage models (basis points, half spread, volume impact), one implementation per file.

pub mod costs;
pub mod fill;

/// When a decision's market order fills, in both modes (DESIGN.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    /// At the open of the first bar that starts at or after the order reaches the market: for a decision at
    /// bar `t`'s close, bar `t + 1`'s open (realistic; the default).
    NextOpen,
    /// At the close of the bar the decision was made on (vectorbt's default; optimistic, and named so).
    Close,
}
