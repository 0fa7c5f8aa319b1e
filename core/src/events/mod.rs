//! Events and the queue that orders them.
//!
//! Determinism rule (DESIGN.md §4): events are delivered by `ts_arrival`; events with equal arrival
//! are ordered by a fixed [`Priority`] (market data, then signals, then timers, then the strategy's
//! decisions) and then by insertion order. Nothing else (no hash order, no wall clock) decides.

mod queue;

pub use queue::{Event, EventQueue};

/// Tie-break among events that arrive at the same nanosecond. Lower runs first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Priority {
    MarketData = 0,
    Signal = 1,
    Timer = 2,
    Decision = 3,
}
