//! A vectorized strategy running inside the event engine ("promotion").
//!
//! The strategy's signals were computed from the bars (each row from data up to its own bar) and are read
//! point-in-time: as a symbol's bar `b` arrives, the strategy acts on the signal row its execution allows,
//! `b` under close execution (decided and filled at `b`'s close) and `b - 1` under next-open execution
//! (decided at `b - 1`, filled at `b`'s open). Each decision and fill is the vectorized kernel's own
//! [`step_column`] against the event engine's ledger (under the vectorized `Resize` policy), so under the same settings the promoted run and the
//! vectorized run produce identical orders, fills and equity by construction.

use crate::error::{Context, CoreError, CoreResult};
use crate::portfolio::Ledger;
use crate::vectorized::{step_column, uses_stops, ColumnState, ColumnStep, Market, MatrixSource, Settings};

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
    /// For each bar-stream row: its bar index in the vectorized layout.
    pub bar_of_row: Vec<usize>,
}

impl PromotedInputs {
    /// Every array has `n_symbols * n_bars` values (signal arrays may be empty: never / the setting) and
    /// every row maps to a bar.
    pub fn validate(&self, n_symbols: usize) -> CoreResult<()> {
        let cells = n_symbols * self.n_bars;
        let prices = [&self.open, &self.high, &self.low, &self.close];
        let numbers = [&self.size, &self.sl_stop, &self.tp_stop];
        let flags = [&self.entries, &self.exits, &self.short_entries, &self.short_exits];
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
    columns: Vec<ColumnState>,
    use_stops: bool,
}

impl Promoted {
    pub fn new(inputs: PromotedInputs, settings: Settings, n_symbols: usize) -> Self {
        let mut promoted = Self {
            inputs,
            settings,
            columns: vec![ColumnState::default(); n_symbols],
            use_stops: false,
        };
        promoted.use_stops = uses_stops(&promoted.settings, &source(&promoted.inputs));
        promoted
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

    /// The strategy's work at bar-stream `row` of `symbol`, booked into `ledger`.
    pub fn act(&mut self, row: usize, symbol: usize, ledger: &mut Ledger) -> Option<ColumnStep> {
        let i = &self.inputs;
        let market = Market {
            n_bars: i.n_bars,
            n_symbols: self.columns.len(),
            open: &i.open,
            high: &i.high,
            low: &i.low,
            close: &i.close,
        };
        let bar = i.bar_of_row[row];
        let at = symbol * i.n_bars + bar;
        let source = source(i);
        let st = &mut self.columns[symbol];
        step_column(
            &market,
            at,
            bar,
            symbol,
            &source,
            &self.settings,
            self.use_stops,
            ledger,
            symbol,
            st,
        )
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
    }
}
