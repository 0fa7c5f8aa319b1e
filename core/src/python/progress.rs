//! `ml4t._core.Progress`: the counter a sweep reports to, read and cancelled from Python while the sweep
//! runs on another thread (see `crate::vectorized::Progress`).

use pyo3::prelude::*;

use crate::vectorized;

#[pyclass(frozen, module = "ml4t._core")]
#[derive(Default)]
pub(crate) struct Progress {
    pub(crate) inner: vectorized::Progress,
}

#[pymethods]
impl Progress {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Combinations simulated so far, over every sweep given this counter.
    #[getter]
    fn done(&self) -> u64 {
        self.inner.done()
    }

    /// Whether `cancel()` was called.
    #[getter]
    fn cancelled(&self) -> bool {
        self.inner.cancelled()
    }

    /// Ask the running sweep to stop at its next combination; it then raises `KeyboardInterrupt`.
    fn cancel(&self) {
        self.inner.cancel();
    }
}
