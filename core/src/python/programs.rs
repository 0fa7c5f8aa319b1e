//! `ml4t._core.SignalPrograms` and the compiled sweep: signals evaluated inside the kernel from
//! deduplicated Polars leaves (see `crate::vectorized::expr`).

use numpy::{IntoPyArray, PyReadonlyArray2, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::prelude::*;
use rayon::prelude::*;
use serde_json::value::RawValue;

use crate::error::{Context, CoreError};
use crate::vectorized::expr::{result_is_bool, Compiler, Program};
use crate::vectorized::{
    combination_stats, simulate_group, CurveBuffers, EquityStats, Market, MatrixSource, OffsetSource, Settings,
};
use crate::vectorized::{Column, Evaluator};

/// A compiled expression's values and validity.
type Evaluated<'py> = (Bound<'py, numpy::PyArray1<f64>>, Bound<'py, numpy::PyArray1<bool>>);

/// Signal keys in kernel order: four booleans, then size, sl_stop, tp_stop.
const N_KEYS: usize = 7;

#[pyclass(frozen, module = "ml4t._core")]
pub struct SignalPrograms {
    /// `programs[combo][key]`.
    programs: Vec<[Option<Program>; N_KEYS]>,
    leaves: Vec<String>,
}

#[pymethods]
impl SignalPrograms {
    /// `struct_json` is ONE serialized `pl.struct(...)` of every signal expression of a chunk (one call to
    /// serialize instead of one per expression); `slots[i] = (combination, key)` says where its i-th field
    /// belongs. Keys are in kernel order: entries, exits, short_entries, short_exits, size, sl_stop, tp_stop.
    #[new]
    fn new(struct_json: &str, slots: Vec<(usize, usize)>, n_combos: usize) -> PyResult<Self> {
        let bad = |message: String| -> PyErr { CoreError::config(message, Context::argument("struct_json")).into() };
        let fields = parse_struct_fields(struct_json)
            .ok_or_else(|| bad("expected a serialized pl.struct(...) of the signal expressions".into()))?;
        if fields.len() != slots.len() {
            return Err(bad(format!("{} fields but {} slots", fields.len(), slots.len())));
        }
        let mut compiler = Compiler::default();
        let mut programs: Vec<[Option<Program>; N_KEYS]> = vec![Default::default(); n_combos];
        for (field, &(combo, key)) in fields.iter().zip(&slots) {
            if combo >= n_combos || key >= N_KEYS {
                return Err(bad(format!("slot ({combo}, {key}) out of range")));
            }
            programs[combo][key] = Some(compiler.compile_raw(field));
        }
        Ok(Self {
            programs,
            leaves: compiler.leaves().to_vec(),
        })
    }

    /// The distinct leaves (serialized Polars expressions) the programs read, in id order.
    fn leaves(&self) -> Vec<String> {
        self.leaves.clone()
    }

    fn __len__(&self) -> usize {
        self.programs.len()
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
        let program = self
            .programs
            .get(combo)
            .and_then(|row| row.get(key))
            .and_then(Option::as_ref)
            .ok_or_else(|| {
                PyErr::from(CoreError::config(
                    format!("no program for ({combo}, {key})"),
                    Context::argument("key"),
                ))
            })?;
        let shape = leaf_values.shape();
        if shape[0] != self.leaves.len() || leaf_valid.shape() != shape {
            return Err(CoreError::config(
                format!("leaf arrays must have {} rows", self.leaves.len()),
                Context::argument("leaf_values"),
            )
            .into());
        }
        let n = shape[1];
        let (values, valid) = (leaf_values.as_slice()?, leaf_valid.as_slice()?);
        let leaves: Vec<(&[f64], &[bool])> = (0..shape[0])
            .map(|i| (&values[i * n..(i + 1) * n], &valid[i * n..(i + 1) * n]))
            .collect();
        let mut out = Column::default();
        Evaluator::default().eval(program, &leaves, n, &mut out);
        Ok((out.value.into_pyarray(py), out.valid.into_pyarray(py)))
    }

    /// For each combination and key: whether the result is boolean, or None when the expression must be
    /// evaluated by Polars instead (an operation outside the compiled subset for these leaf types).
    fn result_types(&self, leaf_is_bool: Vec<bool>) -> Vec<Vec<Option<bool>>> {
        self.programs
            .iter()
            .map(|row| {
                row.iter()
                    .map(|p| p.as_ref().and_then(|p| result_is_bool(p, &leaf_is_bool)))
                    .collect()
            })
            .collect()
    }
}

/// The fields of a serialized `pl.struct(...)`: `{"Function": {"input": [fields...], ...}}`, as raw slices.
fn parse_struct_fields(json: &str) -> Option<Vec<&RawValue>> {
    type Node<'a> = std::collections::HashMap<&'a str, &'a RawValue>;
    let root: Node<'_> = serde_json::from_str(json).ok()?;
    let function: Node<'_> = serde_json::from_str(root.get("Function")?.get()).ok()?;
    serde_json::from_str(function.get("input")?.get()).ok()
}

/// Per-group scratch: evaluated signal columns for the group's columns, laid out for `MatrixSource`.
#[derive(Default)]
struct Scratch {
    evaluator: Evaluator,
    column: Column,
    bools: [Vec<bool>; 4],
    numbers: [Vec<f64>; 3],
}

impl Scratch {
    /// Evaluate one combination's programs (`row`) for the columns `cols` into `bools` / `numbers`.
    fn evaluate(
        &mut self,
        row: &[Option<Program>; N_KEYS],
        leaves: &[Vec<(&[f64], &[bool])>],
        cols: std::ops::Range<usize>,
        n_symbols: usize,
        n_bars: usize,
    ) {
        for (k, program) in row.iter().enumerate() {
            if k < 4 {
                self.bools[k].clear()
            } else {
                self.numbers[k - 4].clear()
            }
            let Some(program) = program else {
                continue;
            };
            for col in cols.clone() {
                let symbol = col % n_symbols;
                self.evaluator.eval(program, &leaves[symbol], n_bars, &mut self.column);
                let col = &self.column;
                if k < 4 {
                    self.bools[k].extend(col.value.iter().zip(&col.valid).map(|(v, ok)| *ok && *v != 0.0));
                } else {
                    self.numbers[k - 4].extend(
                        col.value
                            .iter()
                            .zip(&col.valid)
                            .map(|(v, ok)| if *ok { *v } else { f64::NAN }),
                    );
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn sweep_programs(
    py: Python<'_>,
    settings: &Settings,
    prices: [PyReadonlyArray2<'_, f64>; 4],
    programs: &SignalPrograms,
    leaf_values: PyReadonlyArray3<'_, f64>,
    leaf_valid: PyReadonlyArray3<'_, bool>,
    cash_sharing: bool,
) -> PyResult<Vec<EquityStats>> {
    let [open, high, low, close] = &prices;
    let shape = close.shape();
    let (n_symbols, n_bars) = (shape[0], shape[1]);
    let n_leaves = programs.leaves.len();
    if leaf_values.shape() != [n_symbols, n_leaves, n_bars] || leaf_valid.shape() != leaf_values.shape() {
        return Err(CoreError::config(
            format!(
                "leaf arrays must have shape ({n_symbols}, {n_leaves}, {n_bars}), got {:?}",
                leaf_values.shape()
            ),
            Context::argument("leaf_values"),
        )
        .into());
    }
    let market = Market {
        n_bars,
        n_symbols,
        open: open.as_slice()?,
        high: high.as_slice()?,
        low: low.as_slice()?,
        close: close.as_slice()?,
    };
    let (values, valid) = (leaf_values.as_slice()?, leaf_valid.as_slice()?);
    // per symbol, every leaf's (values, validity) slices, built once
    let leaves: Vec<Vec<(&[f64], &[bool])>> = (0..n_symbols)
        .map(|s| {
            (0..n_leaves)
                .map(|id| {
                    let at = (s * n_leaves + id) * n_bars;
                    (&values[at..at + n_bars], &valid[at..at + n_bars])
                })
                .collect()
        })
        .collect();
    let width = if cash_sharing { n_symbols } else { 1 };
    let per_combo = n_symbols / width;
    let stats = py.detach(|| {
        (0..programs.programs.len())
            .into_par_iter()
            .map_init(
                || (Scratch::default(), CurveBuffers::default()),
                |(scratch, buffers), combo| {
                    let row = &programs.programs[combo];
                    combination_stats(settings.init_cash, n_bars, per_combo, buffers, |k, sink| {
                        let g = combo * per_combo + k;
                        scratch.evaluate(row, &leaves, g * width..(g + 1) * width, n_symbols, n_bars);
                        let source = OffsetSource {
                            inner: MatrixSource {
                                n_bars,
                                entries: &scratch.bools[0],
                                exits: &scratch.bools[1],
                                short_entries: &scratch.bools[2],
                                short_exits: &scratch.bools[3],
                                size: &scratch.numbers[0],
                                sl_stop: &scratch.numbers[1],
                                tp_stop: &scratch.numbers[2],
                            },
                            base: g * width,
                        };
                        simulate_group(&market, g * width..(g + 1) * width, &source, settings, sink);
                    })
                },
            )
            .flatten_iter()
            .collect::<Vec<_>>()
    });
    Ok(stats)
}
