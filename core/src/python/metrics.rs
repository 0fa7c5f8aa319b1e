//! `ml4t._core.return_statistics`: one pass over an equity curve (`crate::metrics::return_statistics`)
//! behind `ml4t.metrics.summary`; `ml4t._core.fraction_of_equity`, the one rule of a fraction of equity;
//! `ml4t._core.exposure` and `exposure_means`, `Result.exposure` (or its means) from dense position arrays.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::metrics::{
    exposure as exposure_of, exposure_means as means_of, fraction_of_equity as fractions,
    return_statistics as statistics,
};

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

/// `long`, `short`, `gross`, `net` (fractions, NaN where none), their rows without a fraction, `n_positions`.
type ExposureArrays<'py> = (
    [Bound<'py, PyArray1<f64>>; 4],
    [Bound<'py, PyArray1<i64>>; 4],
    Bound<'py, PyArray1<i64>>,
);

/// Whether the dense `(bar, symbol)` arrays have the equity's bars.
fn dense(qty: &[f64], value: &[f64], n_symbols: usize, equity: &[f64]) -> PyResult<()> {
    let cells = equity.len().checked_mul(n_symbols);
    if cells != Some(qty.len()) || cells != Some(value.len()) {
        return Err(PyValueError::new_err(format!(
            "qty has {} and value {} cells, expected equity's {} rows x {} symbols",
            qty.len(),
            value.len(),
            equity.len(),
            n_symbols
        )));
    }
    Ok(())
}

/// `ml4t._core.exposure`: `Result.exposure`'s columns from dense `(bar, symbol)` position quantities and
/// values (`crate::metrics::exposure`) over the bars' equity. Runs without the GIL.
#[pyfunction]
pub(crate) fn exposure<'py>(
    py: Python<'py>,
    qty: PyReadonlyArray1<'py, f64>,
    value: PyReadonlyArray1<'py, f64>,
    n_symbols: usize,
    equity: PyReadonlyArray1<'py, f64>,
) -> PyResult<ExposureArrays<'py>> {
    let (qty, value, equity) = (qty.as_slice()?, value.as_slice()?, equity.as_slice()?);
    dense(qty, value, n_symbols, equity)?;
    let e = py.detach(|| exposure_of(qty, value, n_symbols, equity));
    let fractions = e.fractions.map(|column| column.into_pyarray(py));
    let none = e.none.map(|rows| rows.into_pyarray(py));
    Ok((fractions, none, e.n_positions.into_pyarray(py)))
}

/// `ml4t._core.exposure_means`: the means over bars of `exposure`'s columns (`crate::metrics::exposure_means`)
/// as a dict: `exposure`, `avg_gross_exposure`, `avg_net_exposure`, `avg_n_positions`. Runs without the GIL.
#[pyfunction]
pub(crate) fn exposure_means<'py>(
    py: Python<'py>,
    qty: PyReadonlyArray1<'py, f64>,
    value: PyReadonlyArray1<'py, f64>,
    n_symbols: usize,
    equity: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let (qty, value, equity) = (qty.as_slice()?, value.as_slice()?, equity.as_slice()?);
    dense(qty, value, n_symbols, equity)?;
    let m = py.detach(|| means_of(qty, value, n_symbols, equity));
    let out = PyDict::new(py);
    out.set_item("exposure", m.exposure)?;
    out.set_item("avg_gross_exposure", m.gross)?;
    out.set_item("avg_net_exposure", m.net)?;
    out.set_item("avg_n_positions", m.n_positions)?;
    Ok(out)
}
