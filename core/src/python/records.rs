//! `crate::records::Records` -> a dict of NumPy columns, the one shape `ml4t._assemble` reads for both
//! modes. A text column `x` becomes `x` (codes, uint32) and `x_values` (its distinct texts, None first).

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::records::{PositionHistory, Records, Text};

fn text(out: &Bound<'_, PyDict>, key: &str, column: Text) -> PyResult<()> {
    out.set_item(key, column.codes.into_pyarray(out.py()))?;
    out.set_item(format!("{key}_values"), column.values)
}

pub(crate) fn to_dict(py: Python<'_>, r: Records) -> PyResult<Bound<'_, PyDict>> {
    let out = PyDict::new(py);
    let (o, f) = (r.orders, r.fills);
    out.set_item("order_id", o.id.into_pyarray(py))?;
    out.set_item("order_ts", o.ts_submitted.into_pyarray(py))?;
    out.set_item("order_symbol", o.symbol.into_pyarray(py))?;
    out.set_item("order_buy", o.buy.into_pyarray(py))?;
    text(&out, "order_type", o.kind)?;
    out.set_item("order_quantity", o.quantity.into_pyarray(py))?;
    out.set_item("order_limit", o.limit.into_pyarray(py))?;
    out.set_item("order_stop", o.stop.into_pyarray(py))?;
    text(&out, "order_tif", o.tif)?;
    text(&out, "order_status", o.status)?;
    text(&out, "order_reason", o.reason)?;
    text(&out, "order_reason_code", o.reason_code)?;
    out.set_item("order_filled", o.filled.into_pyarray(py))?;
    out.set_item("order_avg_price", o.avg_price.into_pyarray(py))?;
    out.set_item("order_closed", o.ts_closed.into_pyarray(py))?;
    out.set_item("order_is_closed", o.closed.into_pyarray(py))?;
    out.set_item("fill_order", f.order_id.into_pyarray(py))?;
    out.set_item("fill_ts", f.ts.into_pyarray(py))?;
    out.set_item("fill_symbol", f.symbol.into_pyarray(py))?;
    out.set_item("fill_buy", f.buy.into_pyarray(py))?;
    out.set_item("fill_quantity", f.quantity.into_pyarray(py))?;
    out.set_item("fill_price", f.price.into_pyarray(py))?;
    out.set_item("fill_fee", f.fee.into_pyarray(py))?;
    out.set_item("fill_slippage", f.slippage.into_pyarray(py))?;
    out.set_item("ts", r.ts.into_pyarray(py))?;
    out.set_item("cash", r.cash.into_pyarray(py))?;
    out.set_item("equity", r.equity.into_pyarray(py))?;
    // Positions come dense (`positions`, `marks`: the vectorized mode) or as the event engine's sparse history
    // (`position_*`; `ml4t._assemble` makes them dense with `dense_positions`); every key is always there,
    // the other form's empty, so both modes hand over one key set.
    let h = r.history.unwrap_or_default();
    out.set_item("positions", r.positions.into_pyarray(py))?;
    out.set_item("marks", r.marks.into_pyarray(py))?;
    out.set_item("position_bar_end", h.bar_end.into_pyarray(py))?;
    out.set_item("position_row", h.row.into_pyarray(py))?;
    out.set_item("position_symbol", h.symbol.into_pyarray(py))?;
    out.set_item("position_qty", h.quantity.into_pyarray(py))?;
    out.set_item("last_marks", r.last_marks.into_pyarray(py))?;
    out.set_item("dividends", r.dividends)?;
    Ok(out)
}

type Dense<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

/// The dense `(positions, marks)` (row-major `(row, symbol)`) of an event run's sparse position history
/// (the `position_*` records) over the bar stream's symbol codes and closes: `PositionHistory::dense`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn dense_positions<'py>(
    py: Python<'py>,
    bar_end: PyReadonlyArray1<'_, i64>,
    row: PyReadonlyArray1<'_, i64>,
    symbol: PyReadonlyArray1<'_, i64>,
    quantity: PyReadonlyArray1<'_, f64>,
    n_symbols: usize,
    bar_symbol: PyReadonlyArray1<'_, i64>,
    bar_close: PyReadonlyArray1<'_, f64>,
) -> PyResult<Dense<'py>> {
    let history = PositionHistory {
        bar_end: bar_end.as_slice()?.to_vec(),
        row: row.as_slice()?.to_vec(),
        symbol: symbol.as_slice()?.to_vec(),
        quantity: quantity.as_slice()?.to_vec(),
    };
    let (bar_symbol, bar_close) = (bar_symbol.as_slice()?, bar_close.as_slice()?);
    let (positions, marks) = py.detach(|| history.dense(n_symbols, bar_symbol, bar_close));
    Ok((positions.into_pyarray(py), marks.into_pyarray(py)))
}
