//! `ml4t._core.return_statistics`: one pass over an equity curve (`crate::metrics::return_statistics`)
//! behind `ml4t.metrics.summary`; `ml4t._core.fraction_of_equity`, the one rule of a fraction of equity.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::metrics::{fraction_of_equity as fractions, return_statistics as statistics};

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

/// The fractions and the rows without one.
type Fractions<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<i64>>);

/// `ml4t._core.fraction_of_equity`: `(fractions, rows without one)` (`crate::metrics::fraction_of_equity`)
/// behind `ml4t._shape`'s fractions of equity. Runs without the GIL.
#[pyfunction]
pub(crate) fn fraction_of_equity<'py>(
    py: Python<'py>,
    value: PyReadonlyArray1<'py, f64>,
    equity: PyReadonlyArray1<'py, f64>,
) -> PyResult<Fractions<'py>> {
    let (value, equity) = (value.as_slice()?, equity.as_slice()?);
    if value.len() != equity.len() {
        return Err(PyValueError::new_err(format!(
            "value has {} rows but equity has {}",
            value.len(),
            equity.len()
        )));
    }
    let (out, none) = py.detach(|| fractions(value, equity));
    Ok((out.into_pyarray(py), none.into_pyarray(py)))
}
