//! The event engine's matching rules (issue #4, in progress): where and how much an order fills within a
//! bar, and what it costs. Pure functions and small state types with no engine around them yet, so every
//! rule of DESIGN.md §4 is tested on its own before the event loop uses it.
//!
//! - [`fill`]: intrabar fill prices from OHLC for market, limit, stop and stop-limit orders, trailing stop
//!   levels, the policy when a stop-loss and a take-profit touch in one bar, and volume participation.
//! - [`costs`]: pluggable commission models (percent, per share with minimum and cap, fixed per order, tiered)
//!   and slippage models (basis points, half spread, volume impact), one implementation per file.

pub mod costs;
pub mod fill;
