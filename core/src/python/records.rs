//! `crate::records::Records` -> a dict of NumPy columns, the one shape `ml4t._assemble` reads for both
//! modes. A text column `x` becomes `x` (codes, uint32) and `x_values` (its distinct texts, None first).

use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::records::{Records, Text};

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
    out.set_item("positions", r.positions.into_pyarray(py))?;
    out.set_item("marks", r.marks.into_pyarray(py))?;
    out.set_item("dividends", r.dividends)?;
    Ok(out)
}
