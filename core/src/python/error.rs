//! `CoreError` -> the `ml4t.errors` class of the same kind. The Python hierarchy is defined once, in
//! `python/ml4t/errors.py`; this file only looks classes up by name and fills in their context.

use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::CoreError;

pub(crate) fn to_pyerr(py: Python<'_>, err: CoreError) -> PyErr {
    build(py, &err).unwrap_or_else(|lookup| {
        PyRuntimeError::new_err(format!("{err} (and ml4t.errors could not be loaded: {lookup})"))
    })
}

fn build(py: Python<'_>, err: &CoreError) -> PyResult<PyErr> {
    let class_name = match err {
        CoreError::Data { .. } => "DataError",
        CoreError::Config { .. } => "ConfigError",
        CoreError::Leakage { .. } => "LeakageError",
        CoreError::Order { .. } => "OrderError",
        CoreError::Cancelled => return Ok(PyKeyboardInterrupt::new_err("the sweep was cancelled")),
    };
    let class = py.import("ml4t.errors")?.getattr(class_name)?;
    let ctx = err.context();
    let kwargs = PyDict::new(py);
    kwargs.set_item("argument", &ctx.argument)?;
    kwargs.set_item("column", &ctx.column)?;
    kwargs.set_item("symbol", &ctx.symbol)?;
    kwargs.set_item("timestamp", ctx.ts)?;
    let instance = class.call((err.to_string(),), Some(&kwargs))?;
    Ok(PyErr::from_value(instance))
}

impl From<CoreError> for PyErr {
    fn from(err: CoreError) -> Self {
        Python::attach(|py| to_pyerr(py, err))
    }
}
