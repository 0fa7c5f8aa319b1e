//! `ml4t._core.SignalPrograms`: a handle on `crate::vectorized::SignalPrograms` (signal expressions
//! compiled from Polars' serialized JSON); every method converts and forwards.

use numpy::{IntoPyArray, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::vectorized;

/// A compiled expression's values and validity.
type Evaluated<'py> = (Bound<'py, numpy::PyArray1<f64>>, Bound<'py, numpy::PyArray1<bool>>);

#[pyclass(frozen, module = "ml4t._core")]
pub struct SignalPrograms {
    pub(crate) inner: vectorized::SignalPrograms,
}

#[pymethods]
impl SignalPrograms {
    /// `struct_json` is ONE serialized `pl.struct(...)` of every signal expression of a chunk; `slots[i] =
    /// (combination, key)` says where its i-th field belongs (see `crate::vectorized::SignalPrograms`).
    #[new]
    fn new(struct_json: &str, slots: Vec<(usize, usize)>, n_combos: usize) -> PyResult<Self> {
        Ok(Self {
            inner: vectorized::SignalPrograms::compile(struct_json, &slots, n_combos)?,
        })
    }

    /// The distinct leaves (serialized Polars expressions) the programs read, in id order.
    fn leaves(&self) -> Vec<String> {
        self.inner.leaves().to_vec()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Evaluate one compiled expression on leaf columns `(n_leaves, n_rows)`: its values (booleans as 0/1)
    /// and validity. For inspection and tests; sweeps evaluate inside the kernel.
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        combo: usize,
        key: usize,
        leaf_values: PyReadonlyArray2<'py, f64>,
        leaf_valid: PyReadonlyArray2<'py, bool>,
    ) -> PyResult<Evaluated<'py>> {
        let n = leaf_values.shape()[1];
        let column = self
            .inner
            .evaluate(combo, key, leaf_values.as_slice()?, leaf_valid.as_slice()?, n)?;
        Ok((column.value.into_pyarray(py), column.valid.into_pyarray(py)))
    }

    /// For each combination and key: whether the result is boolean, or None when the expression must be
    /// evaluated by Polars instead (an operation outside the compiled subset for these leaf types).
    fn result_types(&self, leaf_dtypes: Vec<String>) -> Vec<Vec<Option<bool>>> {
        self.inner.result_types(&leaf_dtypes)
    }
}
