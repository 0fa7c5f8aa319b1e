//! `ml4t._core.round_trips`: the trades of a fills table (`crate::trades::round_trips`) behind
//! `ml4t._roundtrips.round_trips`.

use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::trades::{round_trips as trades, FillColumns};

/// The trades of the fills given as columns (`symbol` codes into `marks` and `multipliers`, one per
/// symbol); `splits[code]` is that symbol's `(ts, ratio)` list in time order. Returns a dict of NumPy
/// columns: `symbol`, `long`, `open`, `ts_entry`, `ts_exit` (0 where open), `quantity`, `entry_price`,
/// `exit_price`, `fees`, `pnl`, `trade_return`. Runs without the GIL.
#[pyfunction]
#[pyo3(signature = (symbol, ts, buy, quantity, price, fee, marks, multipliers, splits))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn round_trips<'py>(
    py: Python<'py>,
    symbol: PyReadonlyArray1<'py, u32>,
    ts: PyReadonlyArray1<'py, i64>,
    buy: PyReadonlyArray1<'py, bool>,
    quantity: PyReadonlyArray1<'py, f64>,
    price: PyReadonlyArray1<'py, f64>,
    fee: PyReadonlyArray1<'py, f64>,
    marks: PyReadonlyArray1<'py, f64>,
    multipliers: PyReadonlyArray1<'py, f64>,
    splits: Vec<Vec<(i64, f64)>>,
) -> PyResult<Bound<'py, PyDict>> {
    let fills = FillColumns {
        symbol: symbol.as_slice()?,
        ts: ts.as_slice()?,
        buy: buy.as_slice()?,
        quantity: quantity.as_slice()?,
        price: price.as_slice()?,
        fee: fee.as_slice()?,
    };
    let (marks, multipliers) = (marks.as_slice()?, multipliers.as_slice()?);
    let t = py.detach(|| trades(&fills, marks, multipliers, &splits));
    let out = PyDict::new(py);
    out.set_item("symbol", t.symbol.into_pyarray(py))?;
    out.set_item("long", t.long.into_pyarray(py))?;
    out.set_item("open", t.open.into_pyarray(py))?;
    out.set_item("ts_entry", t.ts_entry.into_pyarray(py))?;
    out.set_item("ts_exit", t.ts_exit.into_pyarray(py))?;
    out.set_item("quantity", t.quantity.into_pyarray(py))?;
    out.set_item("entry_price", t.entry_price.into_pyarray(py))?;
    out.set_item("exit_price", t.exit_price.into_pyarray(py))?;
    out.set_item("fees", t.fees.into_pyarray(py))?;
    out.set_item("pnl", t.pnl.into_pyarray(py))?;
    out.set_item("trade_return", t.trade_return.into_pyarray(py))?;
    Ok(out)
}
