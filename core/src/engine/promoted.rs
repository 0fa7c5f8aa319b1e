//! A vectorized strategy running inside the event engine ("promotion").
//!
//! The strategy's signals were computed from the bars (each row from data up to its own bar) and are read
//! point-in-time: as a symbol's bar `b` arrives, the strategy acts on the signal row its execution allows,
//! `b` under close execution (decided and filled at `b`'s close) and `b - 1` under next-open execution
//! (decided at `b - 1`, filled at `b`'s open). The bars of one timestamp are one bar of the vectorized
//! timeline: the strategy takes the vectorized kernel's own group step ([`Group::step`]: every symbol's
//! order decided, then executed in the settings' sequence; or the rebalance to target weights) against the
//! event engine's ledger (under the vectorized `Resize` policy), so under the same settings the promoted run
//! and the vectorized run produce identical orders, fills and equity by construction. A symbol with no bar
//! at a timestamp (not listed yet, delisted, a gap) places no order there, in both modes.

use crate::error::{Context, CoreError, CoreResult};
use crate::portfolio::Ledger;
use crate::vectorized::{ColumnStep, Group, Market, MatrixSource, Settings};

/// The promoted strategy's inputs in the vectorized layout (symbol-major, `n_bars` per symbol), plus where
/// each row of the event engine's bar stream sits in it.
#[derive(Debug, Clone, Default)]
pub struct PromotedInputs {
    pub n_bars: usize,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    pub entries: Vec<bool>,
    pub exits: Vec<bool>,
    pub short_entries: Vec<bool>,
    pub short_exits: Vec<bool>,
    pub size: Vec<f64>,
    pub sl_stop: Vec<f64>,
    pub tp_stop: Vec<f64>,
    pub weights: Vec<f64>,
    pub rebalance: Vec<bool>,
    pub leverage: Vec<f64>,
    /// For each bar-stream row: its bar index in the vectorized layout.
    pub bar_of_row: Vec<usize>,
}

impl PromotedInputs {
    /// Every array has `n_symbols * n_bars` values (signal arrays may be empty: never / the setting) and
    /// every row maps to a bar.
    pub fn validate(&self, n_symbols: usize) -> CoreResult<()> {
        let cells = n_symbols * self.n_bars;
        let prices = [&self.open, &self.high, &self.low, &self.close];
        let numbers = [&self.size, &self.sl_stop, &self.tp_stop, &self.weights, &self.leverage];
        let flags = [
            &self.entries,
            &self.exits,
            &self.short_entries,
            &self.short_exits,
            &self.rebalance,
        ];
        let ok = prices.iter().all(|a| a.len() == cells)
            && numbers.iter().all(|a| a.is_empty() || a.len() == cells)
            && flags.iter().all(|a| a.is_empty() || a.len() == cells)
            && self.bar_of_row.iter().all(|&b| b < self.n_bars);
        if ok {
            Ok(())
        } else {
            Err(CoreError::config(
                "the promoted strategy's arrays do not match the bars' symbols and bars",
                Context::argument("strategy"),
            ))
        }
    }
}

#[derive(Debug)]
pub struct Promoted {
    inputs: PromotedInputs,
    settings: Settings,
    group: Group,
    /// Where each symbol's bars start in the vectorized layout.
    base: Vec<usize>,
    /// The timestamp of the last vectorized bar acted on.
    last_ts: Option<i64>,
}

impl Promoted {
    pub fn new(inputs: PromotedInputs, settings: Settings, n_symbols: usize) -> Self {
        let group = Group::new(n_symbols, &settings, &source(&inputs));
        let base = (0..n_symbols).map(|s| s * inputs.n_bars).collect();
        Self {
            inputs,
            settings,
            group,
            base,
            last_ts: None,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn inputs(&self) -> &PromotedInputs {
        &self.inputs
    }

    pub fn n_rows(&self) -> usize {
        self.inputs.bar_of_row.len()
    }

    /// Move to the vectorized bar stamped `ts`; returns the previous bar's stamp (every bar of the timeline
    /// has a bar of some symbol, so this is the timeline's previous bar: where a next-open order was decided).
    pub fn advance(&mut self, ts: i64) -> Option<i64> {
        self.last_ts.replace(ts)
    }

    /// The vectorized bar of bar-stream `row`.
    pub fn bar_of(&self, row: usize) -> usize {
        self.inputs.bar_of_row[row]
    }

    /// The strategy's work at vectorized bar `bar` (the bars of one timestamp), booked into `ledger`: each
    /// order attempted, with its symbol, appended to `steps`.
    pub fn act(&mut self, bar: usize, ledger: &mut Ledger, steps: &mut Vec<(usize, ColumnStep)>) {
        let i = &self.inputs;
        let market = Market {
            n_bars: i.n_bars,
            n_symbols: self.base.len(),
            open: &i.open,
            high: &i.high,
            low: &i.low,
            close: &i.close,
        };
        self.group.step(
            &market,
            bar,
            0..self.base.len(),
            &self.base,
            &source(i),
            &self.settings,
            ledger,
            |symbol, step| steps.push((symbol, *step)),
        );
    }
}

fn source(i: &PromotedInputs) -> MatrixSource<'_> {
    MatrixSource {
        n_bars: i.n_bars,
        entries: &i.entries,
        exits: &i.exits,
        short_entries: &i.short_entries,
        short_exits: &i.short_exits,
        size: &i.size,
        sl_stop: &i.sl_stop,
        tp_stop: &i.tp_stop,
        weights: &i.weights,
        rebalance: &i.rebalance,
        leverage: &i.leverage,
    }
}
