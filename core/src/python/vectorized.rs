//! `ml4t._core.SignalSimulator`: the vectorized kernel behind `ml4t.vectorized`.
//!
//! Settings are lowered once, at construction. Arrays: prices are `(n_symbols, n_bars)` float64; the ten
//! signal arrays, in `KEYS` order, `(n_cols, n_bars)` (column = combination * n_symbols + symbol): booleans
//! (entries, exits, short_entries, short_exits, rebalance) and float64 with NaN for "use the setting" /
//! "leave the symbol alone" (size, sl_stop, tp_stop, weights, leverage). An absent input is a `(0, 0)` array.

use numpy::{IntoPyArray, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::programs::SignalPrograms;
use super::progress::Progress;
use super::records::to_dict;
use crate::error::{Context, CoreError};
use crate::matching::costs::registry;
use crate::options::Named;
use crate::portfolio::{Costs, SizeType};
use crate::records::{GroupLayout, Records};
use crate::vectorized::parallel::with_threads;
use crate::vectorized::{
    check_layout, group_width, run_groups, sweep_signals, Conflict, DirConflict, EquityStats, Execution, Market,
    MatrixSource, OppositeEntry, Rules, Sequence, Settings, StopEntry,
};
use crate::vectorized::{Bounds, N_NUMBERS};

#[pyclass(frozen, module = "ml4t._core")]
pub struct SignalSimulator {
    pub(crate) settings: Settings,
}

/// OHLC, each `(n_symbols, n_bars)`.
pub(crate) type Prices<'py> = (
    PyReadonlyArray2<'py, f64>,
    PyReadonlyArray2<'py, f64>,
    PyReadonlyArray2<'py, f64>,
    PyReadonlyArray2<'py, f64>,
);
/// entries, exits, short_entries, short_exits (bool), size, sl_stop, tp_stop, weights (float), rebalance
/// (bool), leverage (float), each `(n_cols, n_bars)`: the `KEYS` order.
pub(crate) type SignalArrays<'py> = (
    PyReadonlyArray2<'py, bool>,
    PyReadonlyArray2<'py, bool>,
    PyReadonlyArray2<'py, bool>,
    PyReadonlyArray2<'py, bool>,
    PyReadonlyArray2<'py, f64>,
    PyReadonlyArray2<'py, f64>,
    PyReadonlyArray2<'py, f64>,
    PyReadonlyArray2<'py, f64>,
    PyReadonlyArray2<'py, bool>,
    PyReadonlyArray2<'py, f64>,
);

fn shape<T: numpy::Element>(a: &PyReadonlyArray2<'_, T>) -> [usize; 2] {
    [a.shape()[0], a.shape()[1]]
}

/// The prices as the kernel's market (shapes checked by the caller).
fn market<'a>(p: &'a Prices<'_>) -> PyResult<Market<'a>> {
    let [n_symbols, n_bars] = shape(&p.3);
    Ok(Market {
        n_bars,
        n_symbols,
        open: p.0.as_slice()?,
        high: p.1.as_slice()?,
        low: p.2.as_slice()?,
        close: p.3.as_slice()?,
    })
}

/// The kernel's market and signal source over borrowed arrays, and the number of signal columns.
fn inputs<'a>(p: &'a Prices<'_>, s: &'a SignalArrays<'_>) -> PyResult<(Market<'a>, MatrixSource<'a>, usize)> {
    let (_, n_bars, n_cols) = check_layout(
        [shape(&p.0), shape(&p.1), shape(&p.2), shape(&p.3)],
        [
            shape(&s.0),
            shape(&s.1),
            shape(&s.2),
            shape(&s.3),
            shape(&s.4),
            shape(&s.5),
            shape(&s.6),
            shape(&s.7),
            shape(&s.8),
            shape(&s.9),
        ],
    )?;
    let source = MatrixSource {
        n_bars,
        entries: s.0.as_slice()?,
        exits: s.1.as_slice()?,
        short_entries: s.2.as_slice()?,
        short_exits: s.3.as_slice()?,
        size: s.4.as_slice()?,
        sl_stop: s.5.as_slice()?,
        tp_stop: s.6.as_slice()?,
        weights: s.7.as_slice()?,
        rebalance: s.8.as_slice()?,
        leverage: s.9.as_slice()?,
    };
    Ok((market(p)?, source, n_cols))
}

#[pymethods]
impl SignalSimulator {
    #[new]
    #[pyo3(signature = (*, execution, size, size_type, commission, slippage, min_size, init_cash,
        long_conflict, short_conflict, direction_conflict, opposite_entry, accumulate, sl_stop, tp_stop,
        sl_trail, stop_entry_price, order, lot_size, leverage))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        execution: &str,
        size: f64,
        size_type: &str,
        commission: Vec<(String, Vec<f64>)>,
        slippage: (String, Vec<f64>),
        min_size: f64,
        init_cash: f64,
        long_conflict: &str,
        short_conflict: &str,
        direction_conflict: &str,
        opposite_entry: &str,
        accumulate: bool,
        sl_stop: f64,
        tp_stop: f64,
        sl_trail: bool,
        stop_entry_price: &str,
        order: &str,
        lot_size: Option<f64>,
        leverage: Option<f64>,
    ) -> PyResult<Self> {
        let settings = Settings {
            execution: Execution::parse("execution", execution)?,
            size,
            size_type: SizeType::parse("size_type", size_type)?,
            costs: Costs::new(
                registry::commission(&commission)?.into(),
                registry::slippage(&slippage.0, &slippage.1)?.into(),
                min_size,
            )?
            .with_lot_size(lot_size.unwrap_or(f64::NAN))?,
            init_cash,
            rules: Rules {
                long_conflict: Conflict::parse("long_conflict", long_conflict)?,
                short_conflict: Conflict::parse("short_conflict", short_conflict)?,
                dir_conflict: DirConflict::parse("direction_conflict", direction_conflict)?,
                opposite_entry: OppositeEntry::parse("opposite_entry", opposite_entry)?,
                accumulate,
            },
            sl_stop,
            tp_stop,
            sl_trail,
            stop_entry: StopEntry::parse("stop_entry_price", stop_entry_price)?,
            order: Sequence::parse("order", order)?,
            leverage: leverage.unwrap_or(f64::NAN),
        };
        Ok(Self {
            settings: settings.validated()?,
        })
    }

    /// Simulate every combination; returns a dict of one-pass statistics (see `EquityStats`), one row per
    /// combination's portfolio followed, when its symbols trade separate accounts (no cash sharing, several
    /// symbols), by one row per symbol (see `crate::vectorized::sweep`), with per-block sums over
    /// `n_blocks` CSCV blocks of the bars (`block_count`, `block_s1`, `block_s2`: `(rows, n_blocks)`).
    /// Each combination done is counted in `progress`; a cancelled `progress` stops the sweep, which then
    /// raises `KeyboardInterrupt`. `threads` bounds the threads it runs on (0: every core; see
    /// `crate::vectorized::parallel::with_threads`); the results do not depend on it.
    #[pyo3(signature = (prices, signals, cash_sharing, n_blocks, progress=None, threads=0))]
    #[allow(clippy::too_many_arguments)] // the Python signature: the arrays and keyword settings, converted here
    fn sweep<'py>(
        &self,
        py: Python<'py>,
        prices: Prices<'py>,
        signals: SignalArrays<'py>,
        cash_sharing: bool,
        n_blocks: usize,
        progress: Option<Bound<'py, Progress>>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (market, source, n_cols) = inputs(&prices, &signals)?;
        let n_combos = n_cols / market.n_symbols.max(1);
        let progress = progress.as_ref().map(|p| &p.get().inner);
        let settings = &self.settings;
        let stats = py.detach(|| {
            with_threads(threads, || {
                sweep_signals(&market, &source, settings, n_combos, cash_sharing, n_blocks, progress)
            })
        })?;
        stats_dict(py, &stats, n_blocks)
    }

    /// Like `sweep`, with signals compiled from expressions (`SignalPrograms`) and evaluated in the kernel
    /// from the distinct Polars leaves: `leaf_values` / `leaf_valid` are `(n_symbols, n_leaves, n_bars)`.
    #[pyo3(signature = (prices, programs, leaf_values, leaf_valid, cash_sharing, bounds, n_blocks, progress=None,
                        threads=0))]
    #[allow(clippy::too_many_arguments)] // the Python signature: the arrays and the per-bar rules, converted here
    fn sweep_programs<'py>(
        &self,
        py: Python<'py>,
        prices: Prices<'py>,
        programs: PyRef<'py, SignalPrograms>,
        leaf_values: PyReadonlyArray3<'py, f64>,
        leaf_valid: PyReadonlyArray3<'py, bool>,
        cash_sharing: bool,
        bounds: [Bounds; N_NUMBERS],
        n_blocks: usize,
        progress: Option<Bound<'py, Progress>>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let market = market(&prices)?;
        let (values, valid) = (leaf_values.as_slice()?, leaf_valid.as_slice()?);
        let programs = &programs.inner;
        let progress = progress.as_ref().map(|p| &p.get().inner);
        let settings = &self.settings;
        let stats = py.detach(|| {
            with_threads(threads, || {
                programs.sweep(
                    &market,
                    settings,
                    values,
                    valid,
                    cash_sharing,
                    &bounds,
                    n_blocks,
                    progress,
                )
            })
        })?;
        stats_dict(py, &stats, n_blocks)
    }

    /// Simulate one combination in full detail: its records (see `crate::records`), with `ts` the bars'
    /// `ts_event` (ns). With `symbol` (no cash sharing), that symbol's own account alone.
    #[pyo3(signature = (prices, signals, cash_sharing, ts, symbol=None))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        prices: Prices<'py>,
        signals: SignalArrays<'py>,
        cash_sharing: bool,
        ts: PyReadonlyArray1<'py, i64>,
        symbol: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (market, source, n_cols) = inputs(&prices, &signals)?;
        let bad = |message: &str, argument: &str| PyErr::from(CoreError::config(message, Context::argument(argument)));
        if n_cols != market.n_symbols {
            return Err(bad(
                "run simulates one combination: signals must have one row per symbol",
                "entries",
            ));
        }
        if ts.len() != market.n_bars {
            return Err(bad("ts must have one timestamp per bar", "ts"));
        }
        if symbol.is_some_and(|s| cash_sharing || s >= market.n_symbols) {
            return Err(bad(
                "symbol needs cash_sharing=False and a symbol of the prices",
                "symbol",
            ));
        }
        let first = symbol.unwrap_or(0);
        let close = &market.close[first * market.n_bars..];
        let layout = GroupLayout {
            ts: ts.as_slice()?,
            close: &close[..symbol.map_or(close.len(), |_| market.n_bars)],
            width: group_width(market.n_symbols, cash_sharing),
            first_col: first,
            execution: self.settings.execution,
        };
        let records = py.detach(|| {
            let groups = run_groups(&market, &source, &self.settings, cash_sharing, symbol);
            Records::from_groups(groups, &layout)
        });
        to_dict(py, records)
    }
}

/// Per-group one-pass statistics as a dict of arrays; the per-block sums as `(rows, n_blocks)` arrays.
fn stats_dict<'py>(py: Python<'py>, stats: &[EquityStats], n_blocks: usize) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    let f = |get: fn(&EquityStats) -> f64| stats.iter().map(get).collect::<Vec<f64>>();
    let i = |get: fn(&EquityStats) -> i64| stats.iter().map(get).collect::<Vec<i64>>();
    out.set_item("count", i(|s| s.count).into_pyarray(py))?;
    out.set_item("mean", f(|s| s.mean).into_pyarray(py))?;
    out.set_item("m2", f(|s| s.m2).into_pyarray(py))?;
    out.set_item("m3", f(|s| s.m3).into_pyarray(py))?;
    out.set_item("m4", f(|s| s.m4).into_pyarray(py))?;
    let shape = [stats.len(), n_blocks];
    let blocks = stats.iter().flat_map(|s| &s.blocks);
    out.set_item(
        "block_count",
        blocks
            .clone()
            .map(|b| b.count)
            .collect::<Vec<i64>>()
            .into_pyarray(py)
            .reshape(shape)?,
    )?;
    out.set_item(
        "block_s1",
        blocks
            .clone()
            .map(|b| b.s1)
            .collect::<Vec<f64>>()
            .into_pyarray(py)
            .reshape(shape)?,
    )?;
    out.set_item(
        "block_s2",
        blocks
            .map(|b| b.s2)
            .collect::<Vec<f64>>()
            .into_pyarray(py)
            .reshape(shape)?,
    )?;
    out.set_item("low", f(|s| s.low).into_pyarray(py))?;
    out.set_item("high", f(|s| s.high).into_pyarray(py))?;
    out.set_item("downside_sq", f(|s| s.downside_sq).into_pyarray(py))?;
    out.set_item("total_return", f(|s| s.total_return).into_pyarray(py))?;
    out.set_item("final_equity", f(|s| s.final_equity).into_pyarray(py))?;
    out.set_item("max_drawdown", f(|s| s.max_drawdown).into_pyarray(py))?;
    out.set_item("closed_trades", i(|s| s.closed_trades).into_pyarray(py))?;
    out.set_item("open_trades", i(|s| s.open_trades).into_pyarray(py))?;
    Ok(out)
}
