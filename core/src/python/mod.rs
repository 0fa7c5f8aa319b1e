//! The PyO3 bindings: the only place pyo3 and numpy appear. Exposed to Python as `ml4t._core`
//! (private: users import `ml4t`). Arrays come in read-only; kernels run with the GIL released.

mod cscv;
mod engine;
mod error;
mod metrics;
mod programs;
mod progress;
mod records;
mod trades;
mod vectorized;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;

use crate::pit;

/// The point-in-time visibility rule over many symbols: `ts_arrival` holds every group's arrival times
/// (each group sorted), `offsets` has one entry per group plus one. Validated once; immutable.
#[pyclass(frozen, module = "ml4t._core")]
struct PitIndex {
    inner: pit::PitIndex,
}

#[pymethods]
impl PitIndex {
    #[new]
    fn new(
        py: Python<'_>,
        ts_arrival: PyReadonlyArray1<'_, i64>,
        offsets: PyReadonlyArray1<'_, i64>,
    ) -> PyResult<Self> {
        let inner = pit::PitIndex::new(ts_arrival.as_slice()?.to_vec(), offsets.as_slice()?)
            .map_err(|e| error::to_pyerr(py, e))?;
        Ok(Self { inner })
    }

    /// Number of groups.
    fn __len__(&self) -> usize {
        self.inner.n_groups()
    }

    /// Records of group `group` with `ts_arrival <= now`.
    fn count(&self, group: usize, now: i64) -> PyResult<usize> {
        self.inner
            .count(group, now)
            .ok_or_else(|| PyIndexError::new_err(format!("group {group} out of range")))
    }

    /// Records with `ts_arrival <= now`, for every group.
    fn counts<'py>(&self, py: Python<'py>, now: i64) -> Bound<'py, PyArray1<i64>> {
        let mut out = vec![0i64; self.inner.n_groups()];
        py.detach(|| self.inner.counts_into(now, &mut out));
        PyArray1::from_vec(py, out)
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // the kernel's signal-key order, so Python's declaration (ml4t._kernel.keys.KEYS) is checked against it
    m.add("KERNEL_KEYS", crate::vectorized::KEYS.to_vec())?;
    m.add_class::<PitIndex>()?;
    m.add_class::<engine::EventEngine>()?;
    m.add_class::<vectorized::SignalSimulator>()?;
    m.add_class::<programs::SignalPrograms>()?;
    m.add_class::<progress::Progress>()?;
    m.add_function(wrap_pyfunction!(cscv::cscv_logits, m)?)?;
    m.add_function(wrap_pyfunction!(trades::round_trips, m)?)?;
    m.add_function(wrap_pyfunction!(records::dense_positions, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::return_statistics, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::fraction_of_equity, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::exposure, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::exposure_means, m)?)?;
    Ok(())
}
