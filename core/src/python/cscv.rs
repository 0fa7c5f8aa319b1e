//! `ml4t._core.cscv_logits`: CSCV's logits (`crate::vectorized::cscv_logits`) behind
//! `ml4t.metrics.pbo_from_blocks`.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::options::Named;
use crate::vectorized::{cscv_logits as logits, Metric};

/// One logit per split (`itertools.combinations` order) from `(n_trials, n_blocks)` float64 sums `count`,
/// `s1`, `s2` (C-contiguous) and each trial's `mean`; `metric` is `"sharpe"` or `"mean"`. Runs without the GIL.
#[pyfunction]
#[pyo3(signature = (count, s1, s2, mean, metric))]
pub(crate) fn cscv_logits<'py>(
    py: Python<'py>,
    count: PyReadonlyArray2<'py, f64>,
    s1: PyReadonlyArray2<'py, f64>,
    s2: PyReadonlyArray2<'py, f64>,
    mean: PyReadonlyArray1<'py, f64>,
    metric: &str,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let metric = Metric::parse("metric", metric)?;
    let n_blocks = count.shape()[1];
    let (count, s1, s2, mean) = (count.as_slice()?, s1.as_slice()?, s2.as_slice()?, mean.as_slice()?);
    let out = py.detach(|| logits(count, s1, s2, mean, n_blocks, metric))?;
    Ok(out.into_pyarray(py))
}
