//! `ml4t._core.return_statistics`: one pass over an equity curve (`crate::metrics::return_statistics`)
//! behind `ml4t.metrics.summary`.

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::metrics::return_statistics as statistics;

/// The statistics of the returns of `equity` from `init_cash` as a dict of Python numbers: `count`,
/// `mean`, `m2`, `low`, `high`, `downside_sq` (below `excess`), `total_return`, `max_drawdown`,
/// `drawdown_length`, `drawdown_peak`, `drawdown_end` (rows of the wealth path), `value_at_risk`,
/// `conditional_value_at_risk` (at `level`). Runs without the GIL.
#[pyfunction]
#[pyo3(signature = (equity, init_cash, excess, level))]
pub(crate) fn return_statistics<'py>(
    py: Python<'py>,
    equity: PyReadonlyArray1<'py, f64>,
    init_cash: f64,
    excess: f64,
    level: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let equity = equity.as_slice()?;
    let s = py.detach(|| statistics(equity, init_cash, excess, level));
    let out = PyDict::new(py);
    out.set_item("count", s.count)?;
    out.set_item("mean", s.mean)?;
    out.set_item("m2", s.m2)?;
    out.set_item("low", s.low)?;
    out.set_item("high", s.high)?;
    out.set_item("downside_sq", s.downside_sq)?;
    out.set_item("total_return", s.total_return)?;
    out.set_item("max_drawdown", s.max_drawdown)?;
    out.set_item("drawdown_length", s.drawdown_length)?;
    out.set_item("drawdown_peak", s.drawdown_peak)?;
    out.set_item("drawdown_end", s.drawdown_end)?;
    out.set_item("value_at_risk", s.value_at_risk)?;
    out.set_item("conditional_value_at_risk", s.conditional_value_at_risk)?;
    Ok(out)
}
