//! The PyO3 bindings: the only place pyo3 and numpy appear. Exposed to Python as `ml4t._core`
//! (private: users import `ml4t`). Arrays come in read-only; kernels run with the GIL released.

mod error;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::pit;

/// For each symbol group of `ts_arrival` (sorted within each group; `offsets` has one entry per group
/// plus one), the number of records visible at `now` (those with `ts_arrival <= now`).
#[pyfunction]
fn visible_counts<'py>(
    py: Python<'py>,
    ts_arrival: PyReadonlyArray1<'py, i64>,
    offsets: PyReadonlyArray1<'py, i64>,
    now: i64,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let arrivals = ts_arrival.as_slice()?;
    let offsets = offsets.as_slice()?;
    pit::check_groups(arrivals, offsets).map_err(|e| error::to_pyerr(py, e))?;
    let mut out = vec![0i64; offsets.len().saturating_sub(1)];
    py.detach(|| pit::visible_counts(arrivals, offsets, now, &mut out));
    Ok(PyArray1::from_vec(py, out))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(visible_counts, m)?)?;
    Ok(())
}
