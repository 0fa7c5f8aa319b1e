//! The vectorized mode's simulation kernel: signals -> orders -> fills -> positions -> equity.
//!
//! A *column* is one symbol under one parameter combination; a *group* is the set of columns that share
//! one cash account (all symbols of a combination with cash sharing, else a single column). Groups are
//! independent, so a sweep simulates them in parallel. The kernel reads signals through [`SignalSource`]
//! and reports through [`Sink`], so one loop serves sweeps (equity only) and detailed runs (every order).
//! Fills and accounting are [`crate::portfolio`]'s, shared with the event engine. [`cscv_logits`] turns the
//! per-block sums a sweep keeps into CSCV's logits (the probability of backtest overfitting).

mod cscv;
mod eval;
pub mod expr;
mod group;
mod kernel;
mod moments;
pub mod parallel;
mod programs;
mod rules;
mod sequence;
mod sinks;
mod source;
mod stops;
mod sweep;
mod weights;

pub use cscv::{combinations, cscv_logits, score, Metric, SubsetSums};
pub use eval::{Column, Evaluator};
pub use group::Group;
pub use kernel::{
    simulate_group, uses_stops, ColumnState, ColumnStep, Execution, GroupRun, Market, Sequence, Settings, Sink,
    StopEntry,
};
pub use moments::{BlockSums, Blocks, Central};
pub use programs::{struct_fields, Bounds, KeyKind, SignalPrograms, KEYS, KEY_KINDS, N_KEYS, N_NUMBERS};
pub use rules::{Conflict, DirConflict, OppositeEntry, Rules, Signals};
pub use sinks::{combination_stats, tile_stats, CurveBuffers, EquityStats, RecordSink, StatsSink};
pub use source::{MatrixSource, OffsetSource, SignalSource};
pub use stops::Stops;
pub use sweep::{check_layout, group_width, run_groups, sweep, sweep_signals, Progress};
#[cfg(test)]
mod tests_blocks;
#[cfg(test)]
mod tests_weights;
