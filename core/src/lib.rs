//! ml4t-core: the compiled core of ml4t.
//!
//! The engine knows nothing about Python: every module here is plain Rust over `i64` nanosecond
//! timestamps (UTC) and `f64` values, tested with `cargo test` alone. The PyO3 bindings live in
//! `python` only, behind the `python` feature, and are exposed to Python as `ml4t._core`.
//!
//! Modules:
//! - [`error`]: the one error enum, mapped onto `ml4t.errors` in `python/error.rs`.
//! - [`events`]: the event queue, ordered by `(ts_arrival, priority, seq)` so equal inputs give
//!   byte-identical runs.
//! - [`pit`]: the point-in-time visibility rule (a record is visible at `now` iff `ts_arrival <= now`).
//! - [`portfolio`]: the ledger and the execution of one order (cash, positions, short debt, fees), shared
//!   by both modes.
//! - [`vectorized`]: the vectorized mode's kernel, signal compiler and evaluator.
//! - [`matching`]: the event engine's intrabar fill rules and cost models.
//! - [`engine`]: the event-driven engine: clock, bar stream, orders, matching and its ledger, driven in steps.
//! - [`records`]: the one record shape both modes produce (orders, fills, equity, positions).
//! - [`trades`]: round-trip trades from fills, one implementation for both modes.
//! - [`metrics`]: one pass over a result's equity curve for `ml4t.metrics.summary` (both modes).
//! - [`options`]: the names each setting accepts, parsed into the core types.

pub mod engine;
pub mod error;
pub mod events;
pub mod matching;
pub mod metrics;
pub mod options;
pub mod pit;
pub mod portfolio;
pub mod records;
pub mod trades;
pub mod vectorized;

#[cfg(feature = "python")]
mod python;

pub use error::{CoreError, CoreResult};
