//! `ml4t._core.SignalSimulator`: the vectorized kernel behind `ml4t.vectorized`.
//!
//! Settings are lowered once, at construction. Arrays: prices are `(n_symbols, n_bars)` float64; signals
//! `(n_cols, n_bars)` bool (column = combination * n_symbols + symbol); per-bar sizes and stops
//! `(n_cols, n_bars)` float64 with NaN for "use the setting". An absent input is a `(0, 0)` array.

use numpy::{IntoPyArray, PyReadonlyArray2, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;

use super::error::to_pyerr;
use super::programs::{sweep_programs, SignalPrograms};
use crate::error::{Context, CoreError};
use crate::matching::costs::registry;
use crate::portfolio::{Costs, SizeType, MAX_INIT_CASH};
use crate::vectorized::{
    combination_stats, simulate_group, Conflict, CurveBuffers, DirConflict, EquityStats, Execution, Market,
    MatrixSource, OppositeEntry, RecordSink, Rules, Settings, StopEntry,
};

fn choice<T: Copy>(argument: &str, value: &str, options: &[(&str, T)]) -> Result<T, CoreError> {
    options
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<_> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
            CoreError::config(
                format!("{argument} must be one of {}, got {value:?}", names.join(", ")),
                Context::argument(argument),
            )
        })
}

fn conflict(argument: &str, value: &str) -> Result<Conflict, CoreError> {
    choice(
        argument,
        value,
        &[
            ("ignore", Conflict::Ignore),
            ("entry", Conflict::Entry),
            ("exit", Conflict::Exit),
        ],
    )
}

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
/// entries, exits, short_entries, short_exits (bool), size, sl_stop, tp_stop (float), each `(n_cols, n_bars)`.
pub(crate) type SignalArrays<'py> = (
    PyReadonlyArray2<'py, bool>,
    PyReadonlyArray2<'py, bool>,
    PyReadonlyArray2<'py, bool>,
    PyReadonlyArray2<'py, bool>,
    PyReadonlyArray2<'py, f64>,
    PyReadonlyArray2<'py, f64>,
    PyReadonlyArray2<'py, f64>,
);

/// Borrowed inputs of one call.
struct Inputs<'py> {
    open: PyReadonlyArray2<'py, f64>,
    high: PyReadonlyArray2<'py, f64>,
    low: PyReadonlyArray2<'py, f64>,
    close: PyReadonlyArray2<'py, f64>,
    signals: [PyReadonlyArray2<'py, bool>; 4],
    numbers: [PyReadonlyArray2<'py, f64>; 3],
}

impl<'py> Inputs<'py> {
    fn new((open, high, low, close): Prices<'py>, (e, x, se, sx, size, sl, tp): SignalArrays<'py>) -> Self {
        Self {
            open,
            high,
            low,
            close,
            signals: [e, x, se, sx],
            numbers: [size, sl, tp],
        }
    }

    /// (n_symbols, n_bars, n_cols), after checking every shape.
    fn shape(&self) -> Result<(usize, usize, usize), CoreError> {
        let [n_symbols, n_bars] = [self.close.shape()[0], self.close.shape()[1]];
        for (name, a) in [("open", &self.open), ("high", &self.high), ("low", &self.low)] {
            if a.shape() != self.close.shape() {
                return Err(CoreError::config(
                    format!("{name} has shape {:?}, close {:?}", a.shape(), self.close.shape()),
                    Context::argument(name),
                ));
            }
        }
        let mut n_cols = None;
        let names = [
            "entries",
            "exits",
            "short_entries",
            "short_exits",
            "size",
            "sl_stop",
            "tp_stop",
        ];
        let shapes = self
            .signals
            .iter()
            .map(|a| a.shape().to_vec())
            .chain(self.numbers.iter().map(|a| a.shape().to_vec()));
        for (name, shape) in names.iter().zip(shapes) {
            if shape[0] == 0 {
                continue;
            }
            if shape[1] != n_bars || n_cols.is_some_and(|n| n != shape[0]) || shape[0] % n_symbols.max(1) != 0 {
                return Err(CoreError::config(
                    format!("{name} has shape {shape:?}; expected (n_combinations * {n_symbols}, {n_bars})"),
                    Context::argument(name),
                ));
            }
            n_cols = Some(shape[0]);
        }
        Ok((n_symbols, n_bars, n_cols.unwrap_or(n_symbols)))
    }
}

macro_rules! with_inputs {
    ($inputs:expr, |$market:ident, $source:ident, $n_cols:ident| $body:expr) => {{
        let (n_symbols, n_bars, $n_cols) = $inputs.shape()?;
        let [e, x, se, sx] = &$inputs.signals;
        let [size, sl, tp] = &$inputs.numbers;
        let $market = Market {
            n_bars,
            n_symbols,
            open: $inputs.open.as_slice()?,
            high: $inputs.high.as_slice()?,
            low: $inputs.low.as_slice()?,
            close: $inputs.close.as_slice()?,
        };
        let $source = MatrixSource {
            n_bars,
            entries: e.as_slice()?,
            exits: x.as_slice()?,
            short_entries: se.as_slice()?,
            short_exits: sx.as_slice()?,
            size: size.as_slice()?,
            sl_stop: sl.as_slice()?,
            tp_stop: tp.as_slice()?,
        };
        $body
    }};
}

#[pymethods]
impl SignalSimulator {
    #[new]
    #[pyo3(signature = (*, execution, size, size_type, commission, slippage, min_size, init_cash,
        long_conflict, short_conflict, direction_conflict, opposite_entry, accumulate, sl_stop, tp_stop,
        sl_trail, stop_entry_price))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
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
    ) -> PyResult<Self> {
        let build = || -> Result<Settings, CoreError> {
            if !(init_cash > 0.0 && init_cash <= MAX_INIT_CASH) {
                return Err(CoreError::config(
                    format!("init_cash must be > 0 and <= {MAX_INIT_CASH:e}, got {init_cash}"),
                    Context::argument("init_cash"),
                ));
            }
            Ok(Settings {
                execution: choice(
                    "execution",
                    execution,
                    &[("close", Execution::Close), ("next_open", Execution::NextOpen)],
                )?,
                size,
                size_type: choice(
                    "size_type",
                    size_type,
                    &[
                        ("amount", SizeType::Amount),
                        ("value", SizeType::Value),
                        ("percent", SizeType::Percent),
                    ],
                )?,
                costs: Costs::new(
                    registry::commission(&commission)?.into(),
                    registry::slippage(&slippage.0, &slippage.1)?.into(),
                    min_size,
                )?,
                init_cash,
                rules: Rules {
                    long_conflict: conflict("long_conflict", long_conflict)?,
                    short_conflict: conflict("short_conflict", short_conflict)?,
                    dir_conflict: choice(
                        "direction_conflict",
                        direction_conflict,
                        &[
                            ("ignore", DirConflict::Ignore),
                            ("long", DirConflict::Long),
                            ("short", DirConflict::Short),
                        ],
                    )?,
                    opposite_entry: choice(
                        "opposite_entry",
                        opposite_entry,
                        &[
                            ("reverse", OppositeEntry::Reverse),
                            ("close", OppositeEntry::Close),
                            ("ignore", OppositeEntry::Ignore),
                        ],
                    )?,
                    accumulate,
                },
                sl_stop,
                tp_stop,
                sl_trail,
                stop_entry: choice(
                    "stop_entry_price",
                    stop_entry_price,
                    &[("fill", StopEntry::Fill), ("close", StopEntry::Close)],
                )?,
            })
        };
        build().map(|settings| Self { settings }).map_err(|e| to_pyerr(py, e))
    }

    /// Simulate every combination; returns a dict of one-pass statistics (see `EquityStats`), one row per
    /// combination's portfolio followed, when its symbols trade separate accounts (no cash sharing, several
    /// symbols), by one row per symbol (see `combination_stats`).
    #[pyo3(signature = (prices, signals, cash_sharing))]
    fn sweep<'py>(
        &self,
        py: Python<'py>,
        prices: Prices<'py>,
        signals: SignalArrays<'py>,
        cash_sharing: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let inputs = Inputs::new(prices, signals);
        let settings = &self.settings;
        let stats: Vec<EquityStats> = with_inputs!(inputs, |market, source, n_cols| {
            let n_symbols = market.n_symbols.max(1);
            let width = if cash_sharing { n_symbols } else { 1 };
            let per_combo = n_symbols / width;
            py.detach(|| {
                (0..n_cols / n_symbols)
                    .into_par_iter()
                    .map_init(CurveBuffers::default, |buffers, c| {
                        combination_stats(settings.init_cash, market.n_bars, per_combo, buffers, |k, sink| {
                            let g = c * per_combo + k;
                            simulate_group(&market, g * width..(g + 1) * width, &source, settings, sink);
                        })
                    })
                    .flatten_iter()
                    .collect()
            })
        });
        stats_dict(py, &stats)
    }

    /// Like `sweep`, with signals compiled from expressions (`SignalPrograms`) and evaluated in the kernel
    /// from the distinct Polars leaves: `leaf_values` / `leaf_valid` are `(n_symbols, n_leaves, n_bars)`.
    #[pyo3(signature = (prices, programs, leaf_values, leaf_valid, cash_sharing))]
    fn sweep_programs<'py>(
        &self,
        py: Python<'py>,
        prices: Prices<'py>,
        programs: PyRef<'py, SignalPrograms>,
        leaf_values: PyReadonlyArray3<'py, f64>,
        leaf_valid: PyReadonlyArray3<'py, bool>,
        cash_sharing: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let stats = sweep_programs(
            py,
            &self.settings,
            [prices.0, prices.1, prices.2, prices.3],
            &programs,
            leaf_values,
            leaf_valid,
            cash_sharing,
        )?;
        stats_dict(py, &stats)
    }

    /// Simulate one combination in full detail; returns a dict of arrays (see `ml4t.vectorized`).
    #[pyo3(signature = (prices, signals, cash_sharing))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        prices: Prices<'py>,
        signals: SignalArrays<'py>,
        cash_sharing: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let inputs = Inputs::new(prices, signals);
        let settings = &self.settings;
        let sinks = with_inputs!(inputs, |market, source, n_cols| {
            if n_cols != market.n_symbols {
                return Err(to_pyerr(
                    py,
                    CoreError::config(
                        "run simulates one combination: signals must have one row per symbol",
                        Context::argument("entries"),
                    ),
                ));
            }
            let width = if cash_sharing { n_cols } else { 1 };
            let groups: Vec<_> = (0..n_cols / width.max(1)).collect();
            py.detach(|| {
                groups
                    .into_par_iter()
                    .map(|g| {
                        let mut sink = RecordSink::default();
                        simulate_group(&market, g * width..(g + 1) * width, &source, settings, &mut sink);
                        sink
                    })
                    .collect::<Vec<_>>()
            })
        });
        let out = PyDict::new(py);
        out.set_item("bar", concat(&sinks, |s| &s.bar).into_pyarray(py))?;
        out.set_item("col", concat(&sinks, |s| &s.col).into_pyarray(py))?;
        out.set_item("status", concat(&sinks, |s| &s.status).into_pyarray(py))?;
        out.set_item("side", concat(&sinks, |s| &s.side).into_pyarray(py))?;
        out.set_item("requested", concat(&sinks, |s| &s.requested).into_pyarray(py))?;
        out.set_item("size", concat(&sinks, |s| &s.size).into_pyarray(py))?;
        out.set_item("price", concat(&sinks, |s| &s.price).into_pyarray(py))?;
        out.set_item("fees", concat(&sinks, |s| &s.fees).into_pyarray(py))?;
        out.set_item("raw_price", concat(&sinks, |s| &s.raw_price).into_pyarray(py))?;
        // per group, bar-major
        out.set_item("cash", concat(&sinks, |s| &s.cash).into_pyarray(py))?;
        out.set_item("equity", concat(&sinks, |s| &s.equity).into_pyarray(py))?;
        out.set_item("positions", concat(&sinks, |s| &s.positions).into_pyarray(py))?;
        out.set_item("n_groups", sinks.len())?;
        Ok(out)
    }
}

/// One field of every group's record sink, groups in order.
fn concat<T: Clone>(sinks: &[RecordSink], field: impl Fn(&RecordSink) -> &Vec<T>) -> Vec<T> {
    sinks.iter().flat_map(|s| field(s).iter().cloned()).collect()
}

/// Per-group one-pass statistics as a dict of arrays.
fn stats_dict<'py>(py: Python<'py>, stats: &[EquityStats]) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    let f = |get: fn(&EquityStats) -> f64| stats.iter().map(get).collect::<Vec<f64>>();
    let i = |get: fn(&EquityStats) -> i64| stats.iter().map(get).collect::<Vec<i64>>();
    out.set_item("count", i(|s| s.count).into_pyarray(py))?;
    out.set_item("mean", f(|s| s.mean).into_pyarray(py))?;
    out.set_item("m2", f(|s| s.m2).into_pyarray(py))?;
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

/// The message for a reject code in `run()["status"]`.
#[pyfunction]
pub fn reject_reason(code: u8) -> &'static str {
    crate::vectorized::reject_message(code)
}

/// The short snake_case code (`reason_code`) for a reject code in `run()["status"]`.
#[pyfunction]
pub fn reject_code(code: u8) -> &'static str {
    crate::portfolio::Reject::from_code(code).map_or("unknown", crate::portfolio::Reject::code)
}
