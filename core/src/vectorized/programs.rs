//! Signal programs: every signal expression of a chunk of combinations compiled from Polars' serialized
//! expression JSON (see [`super::expr`]) and evaluated inside the kernel from the deduplicated leaves.
//!
//! Input: ONE serialized `pl.struct(...)` of all the expressions (`{"Function": {"input": [fields...]}}`)
//! and, per field, the `(combination, key)` slot it fills. A slot's key is its index in [`KEYS`] (kernel
//! order), typed by [`KEY_KINDS`]: booleans (a null is false) or numbers (a null is NaN: "use the setting",
//! "leave the symbol alone"). Leaf columns are `(n_symbols, n_leaves, n_bars)` values with their validity.

use std::collections::HashMap;
use std::iter;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::value::RawValue;

use super::eval::{Column, Evaluated, Evaluator};
use super::expr::json::{array, get, object};
use super::expr::{leaf_types, result_is_bool, Compiler, Instr, Program};
use super::kernel::{Execution, GroupRun, Market, Settings};
use super::moments::Blocks;
use super::sinks::EquityStats;
use super::source::{MatrixSource, OffsetSource};
use super::sweep::{sweep, Progress};
use crate::error::{Context, CoreError, CoreResult};

/// The signal keys in kernel order (the Python `KernelSignals` order).
pub const KEYS: [&str; N_KEYS] = [
    "entries",
    "exits",
    "short_entries",
    "short_exits",
    "size",
    "sl_stop",
    "tp_stop",
    "weights",
    "rebalance",
    "leverage",
];
pub const N_KEYS: usize = 10;

/// What a key holds: a boolean or a number, with its index among the keys of its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Bool(usize),
    Number(usize),
}

/// The kind of each key of [`KEYS`]: booleans entries, exits, short_entries, short_exits, rebalance;
/// numbers size, sl_stop, tp_stop, weights, leverage.
pub const KEY_KINDS: [KeyKind; N_KEYS] = [
    KeyKind::Bool(0),
    KeyKind::Bool(1),
    KeyKind::Bool(2),
    KeyKind::Bool(3),
    KeyKind::Number(0),
    KeyKind::Number(1),
    KeyKind::Number(2),
    KeyKind::Number(3),
    KeyKind::Bool(4),
    KeyKind::Number(4),
];
const N_BOOLS: usize = 5;
pub const N_NUMBERS: usize = 5;

/// One leaf column: values and validity.
type Leaf<'a> = (&'a [f64], &'a [bool]);

/// The compiled programs of a chunk of combinations: `programs[combo][key]`.
#[derive(Debug, Clone)]
pub struct SignalPrograms {
    programs: Vec<[Option<Program>; N_KEYS]>,
    leaves: Vec<String>,
}

/// The fields of a serialized `pl.struct(...)`, as slices of `json`, after serde_json validated the whole
/// text.
pub fn struct_fields(json: &str) -> Option<Vec<&str>> {
    let root: &RawValue = serde_json::from_str(json).ok()?;
    let function = get(&object(root.get())?, "Function")?;
    array(get(&object(function)?, "input")?)
}

impl SignalPrograms {
    /// Compile `struct_json`'s fields into the slots `slots[i] = (combination, key)`.
    ///
    /// serde_json validates the text and finds the struct's `"Function"` object in one pass; the fields are
    /// then split and compiled in one more ([`Compiler::compile_struct`]: an expression whose shape an
    /// earlier one had is compiled from that one's template).
    pub fn compile(struct_json: &str, slots: &[(usize, usize)], n_combos: usize) -> CoreResult<Self> {
        let bad = |message: String| CoreError::config(message, Context::argument("struct_json"));
        let not_a_struct = || bad("expected a serialized pl.struct(...) of the signal expressions".into());
        let root: HashMap<&str, &RawValue> = serde_json::from_str(struct_json).map_err(|_| not_a_struct())?;
        let function = root.get("Function").ok_or_else(not_a_struct)?.get();
        let mut compiler = Compiler::default();
        let fields = match compiler.compile_struct(function) {
            Some(fields) => fields,
            None => {
                // a struct object that names its input twice (never written by Polars): field by field
                compiler = Compiler::default();
                let fields = struct_fields(struct_json).ok_or_else(not_a_struct)?;
                fields.into_iter().map(|f| compiler.compile_shaped(f)).collect()
            }
        };
        if fields.len() != slots.len() {
            return Err(bad(format!("{} fields but {} slots", fields.len(), slots.len())));
        }
        let mut programs: Vec<[Option<Program>; N_KEYS]> = vec![Default::default(); n_combos];
        for (field, &(combo, key)) in fields.into_iter().zip(slots) {
            if combo >= n_combos || key >= N_KEYS {
                return Err(bad(format!("slot ({combo}, {key}) out of range")));
            }
            programs[combo][key] = Some(field);
        }
        Ok(Self {
            programs,
            leaves: compiler.leaves().to_vec(),
        })
    }

    /// The distinct leaves (serialized Polars expressions) the programs read, in id order.
    pub fn leaves(&self) -> &[String] {
        &self.leaves
    }

    /// Number of combinations.
    pub fn len(&self) -> usize {
        self.programs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.programs.is_empty()
    }

    /// One compiled expression on leaf columns `(n_leaves, n)` (flat, leaf-major): its values (booleans as
    /// 0/1) and validity.
    pub fn evaluate(&self, combo: usize, key: usize, values: &[f64], valid: &[bool], n: usize) -> CoreResult<Column> {
        let program = self
            .programs
            .get(combo)
            .and_then(|row| row.get(key))
            .and_then(Option::as_ref)
            .ok_or_else(|| CoreError::config(format!("no program for ({combo}, {key})"), Context::argument("key")))?;
        if values.len() != self.leaves.len() * n || valid.len() != values.len() {
            return Err(CoreError::config(
                format!("leaf arrays must have {} rows", self.leaves.len()),
                Context::argument("leaf_values"),
            ));
        }
        let leaves: Vec<Leaf<'_>> = (0..self.leaves.len())
            .map(|i| (&values[i * n..(i + 1) * n], &valid[i * n..(i + 1) * n]))
            .collect();
        let mut out = Column::default();
        Evaluator::default().eval(program, &leaves, n, &mut out);
        Ok(out)
    }

    /// For each combination and key: whether the result is boolean, or None when the expression must be
    /// evaluated by Polars instead (an operation outside the compiled subset for these leaf types).
    /// `leaf_dtypes` are the leaves' Polars dtype names (`str(dtype)`).
    pub fn result_types<S: AsRef<str>>(&self, leaf_dtypes: &[S]) -> Vec<Vec<Option<bool>>> {
        let leaves = leaf_types(leaf_dtypes);
        self.programs
            .iter()
            .map(|row| {
                row.iter()
                    .map(|p| p.as_ref().and_then(|p| result_is_bool(p, &leaves)))
                    .collect()
            })
            .collect()
    }

    /// Simulate every combination, evaluating its signals per group from the leaves (`values` / `valid`
    /// of shape `(n_symbols, n_leaves, n_bars)`); statistics rows as [`super::sweep::sweep`], with
    /// `n_blocks` CSCV blocks (see [`Blocks::new`]), counted in `progress` when given.
    ///
    /// `bounds` are the rules of the per-bar numbers in key order (size, sl_stop, tp_stop, weights, leverage):
    /// every evaluated value is NaN (none) or inside its bounds, checked as each combination is evaluated; a
    /// value outside them is an error (the caller finds and names the first one), so a sweep never simulates
    /// a value its rules refuse and needs no second evaluation to check them.
    #[allow(clippy::too_many_arguments)]
    pub fn sweep(
        &self,
        market: &Market,
        settings: &Settings,
        values: &[f64],
        valid: &[bool],
        cash_sharing: bool,
        bounds: &[Bounds; N_NUMBERS],
        n_blocks: usize,
        progress: Option<&Progress>,
    ) -> CoreResult<Vec<EquityStats>> {
        let (n_symbols, n_bars, n_leaves) = (market.n_symbols, market.n_bars, self.leaves.len());
        let blocks = Blocks::new(n_bars, n_blocks)?;
        if values.len() != n_symbols * n_leaves * n_bars || valid.len() != values.len() {
            return Err(CoreError::config(
                format!("leaf arrays must have shape ({n_symbols}, {n_leaves}, {n_bars})"),
                Context::argument("leaf_values"),
            ));
        }
        // per symbol, every leaf's (values, validity) slices, built once
        let leaves: Vec<Vec<Leaf<'_>>> = (0..n_symbols)
            .map(|s| {
                (0..n_leaves)
                    .map(|id| {
                        let at = (s * n_leaves + id) * n_bars;
                        (&values[at..at + n_bars], &valid[at..at + n_bars])
                    })
                    .collect()
            })
            .collect();
        let per_combo = n_symbols.max(1);
        let shift = usize::from(settings.execution == Execution::NextOpen);
        let broken = AtomicBool::new(false);
        let stats = sweep(
            settings,
            &blocks,
            n_symbols,
            cash_sharing,
            self.programs.len(),
            Scratch::default,
            |scratch, cols, sink| {
                let row = &self.programs[cols.start / per_combo];
                // a `when/then/otherwise` asks whether its predicate is the same on every row of the column
                // (see `super::eval`): such a combination is evaluated in one block, the whole column
                let step = if row.iter().flatten().any(selects) {
                    n_bars
                } else {
                    BLOCK_ROWS
                };
                let mut run: Option<GroupRun> = None;
                let mut start = 0;
                while start < n_bars {
                    let end = (start + step).min(n_bars);
                    // the bars `start..end` read the rows `start..end`, or one row earlier at the next open
                    let first_row = start.saturating_sub(shift);
                    scratch.evaluate(row, &leaves, cols.clone(), n_symbols, first_row..end);
                    if !scratch.obeys(bounds) {
                        broken.store(true, Ordering::Relaxed);
                        return;
                    }
                    let source = OffsetSource {
                        inner: scratch.source(end - first_row),
                        base: cols.start,
                        first_row,
                    };
                    run.get_or_insert_with(|| GroupRun::new(market, cols.clone(), settings, &source))
                        .advance(market, &source, settings, sink, end);
                    start = end;
                }
            },
            progress,
        )?;
        if broken.load(Ordering::Relaxed) {
            return Err(CoreError::config(
                "a per-bar number of the signals breaks its rule".to_string(),
                Context::argument("signals"),
            ));
        }
        Ok(stats)
    }
}

/// The rule of a per-bar number: `(low, high, low included, high included)`; NaN (none) always passes.
pub type Bounds = (f64, f64, bool, bool);

fn inside(v: f64, (low, high, low_in, high_in): Bounds) -> bool {
    v.is_nan() || ((if low_in { v >= low } else { v > low }) && (if high_in { v <= high } else { v < high }))
}

/// Signal rows evaluated at a time: a block's leaves, intermediate columns and signals stay in the cache
/// (a few hundred kB for the crossover's two leaves and two keys) instead of streaming through memory.
const BLOCK_ROWS: usize = 2048;

/// Whether a program holds a `when/then/otherwise`, whose evaluation depends on the whole column.
fn selects(program: &Program) -> bool {
    program.code.contains(&Instr::Ternary)
}

/// Per-group scratch: evaluated signal columns for the group's columns and a block of rows, laid out for
/// `MatrixSource`.
#[derive(Default)]
struct Scratch<'a> {
    evaluator: Evaluator,
    /// One symbol's leaves cut to the block's rows.
    block: Vec<Leaf<'a>>,
    bools: [Vec<bool>; N_BOOLS],
    numbers: [Vec<f64>; N_NUMBERS],
}

impl<'a> Scratch<'a> {
    /// Evaluate one combination's programs (`row`) for the columns `cols` on the signal rows `rows` into
    /// `bools` / `numbers` (column-major, `rows.len()` rows per column).
    fn evaluate(
        &mut self,
        row: &[Option<Program>; N_KEYS],
        leaves: &[Vec<Leaf<'a>>],
        cols: Range<usize>,
        n_symbols: usize,
        rows: Range<usize>,
    ) {
        let n = rows.len();
        for (program, kind) in row.iter().zip(KEY_KINDS) {
            match kind {
                KeyKind::Bool(i) => self.bools[i].clear(),
                KeyKind::Number(i) => self.numbers[i].clear(),
            }
            let Some(program) = program else {
                continue;
            };
            for col in cols.clone() {
                let symbol = col % n_symbols;
                self.block.clear();
                self.block.extend(
                    leaves[symbol]
                        .iter()
                        .map(|&(v, ok)| (&v[rows.clone()], &ok[rows.clone()])),
                );
                match (self.evaluator.eval_view(program, &self.block, n), kind) {
                    (Evaluated::Column(v, ok), KeyKind::Bool(i)) => {
                        self.bools[i].extend(v.iter().zip(ok).map(|(v, ok)| *ok && *v != 0.0));
                    }
                    (Evaluated::Column(v, ok), KeyKind::Number(i)) => {
                        self.numbers[i].extend(v.iter().zip(ok).map(|(v, ok)| if *ok { *v } else { f64::NAN }));
                    }
                    (Evaluated::Scalar(v, ok), KeyKind::Bool(i)) => {
                        self.bools[i].extend(iter::repeat_n(ok && v != 0.0, n))
                    }
                    (Evaluated::Scalar(v, ok), KeyKind::Number(i)) => {
                        self.numbers[i].extend(iter::repeat_n(if ok { v } else { f64::NAN }, n));
                    }
                }
            }
        }
    }

    /// Whether every evaluated number is NaN or inside its key's bounds.
    fn obeys(&self, bounds: &[Bounds; N_NUMBERS]) -> bool {
        self.numbers
            .iter()
            .zip(bounds)
            .all(|(values, &b)| values.iter().all(|&v| inside(v, b)))
    }

    /// The evaluated columns as a signal source (an empty key: never / the setting).
    fn source(&self, n_bars: usize) -> MatrixSource<'_> {
        MatrixSource {
            n_bars,
            entries: &self.bools[0],
            exits: &self.bools[1],
            short_entries: &self.bools[2],
            short_exits: &self.bools[3],
            size: &self.numbers[0],
            sl_stop: &self.numbers[1],
            tp_stop: &self.numbers[2],
            weights: &self.numbers[3],
            rebalance: &self.bools[4],
            leverage: &self.numbers[4],
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const ANY: [Bounds; N_NUMBERS] = [(f64::NEG_INFINITY, f64::INFINITY, true, true); N_NUMBERS];

    #[test]
    fn bounds_include_nan_and_their_ends_as_declared() {
        assert!(inside(f64::NAN, (0.0, 1.0, false, false)));
        assert!(inside(1.0, (0.0, 1.0, false, true)) && !inside(1.0, (0.0, 1.0, false, false)));
        assert!(!inside(0.0, (0.0, 1.0, false, true)) && inside(0.0, (0.0, 1.0, true, true)));
        assert!(!inside(f64::INFINITY, (f64::NEG_INFINITY, f64::INFINITY, false, false)));
    }
    use crate::matching::costs::{NoSlippage, PercentCommission};
    use crate::portfolio::{Costs, SizeType};
    use crate::vectorized::kernel::{Execution, Sequence, StopEntry};
    use crate::vectorized::rules::{Conflict, DirConflict, OppositeEntry, Rules};
    use crate::vectorized::sweep::sweep_signals;
    use std::sync::Arc;

    /// `pl.struct([...]).meta.serialize(format="json")` from polars 2.1: combo 0 `ma10 > ma50`,
    /// `ma10 < ma50`; combo 1 `ma10 > ma20`, `~(ma10 < ma50) & (volume > 0).fill_null(False)`, size 0.5.
    const STRUCT_JSON: &str = include_str!("../../tests/fixtures/signal_struct.json");
    const SLOTS: [(usize, usize); 5] = [(0, 0), (0, 1), (1, 0), (1, 1), (1, 4)];

    pub(crate) fn settings() -> Settings {
        let conflict = Conflict::Ignore;
        Settings {
            execution: Execution::NextOpen,
            size: f64::INFINITY,
            size_type: SizeType::Amount,
            costs: Costs::new(
                Arc::new(PercentCommission::new(0.001).unwrap()),
                Arc::new(NoSlippage),
                0.0,
            )
            .unwrap(),
            init_cash: 100.0,
            rules: Rules {
                long_conflict: conflict,
                short_conflict: conflict,
                dir_conflict: DirConflict::Ignore,
                opposite_entry: OppositeEntry::Reverse,
                accumulate: false,
            },
            sl_stop: f64::NAN,
            tp_stop: f64::NAN,
            sl_trail: false,
            stop_entry: StopEntry::Fill,
            order: Sequence::Symbol,
            leverage: f64::NAN,
        }
    }

    #[test]
    fn real_polars_json_compiles_to_shared_leaves() {
        let programs = SignalPrograms::compile(STRUCT_JSON, &SLOTS, 2).unwrap();
        assert_eq!(programs.len(), 2);
        // ma10, ma50, ma20 and the volume column: ma10 and ma50 are shared across the combinations
        assert_eq!(programs.leaves().len(), 4);
        assert!(programs.leaves()[0].contains("\"window_size\":10"));
        let types = programs.result_types(&["Float64"; 4]);
        assert_eq!(types[0][..2], [Some(true), Some(true)]);
        assert_eq!(types[1][..2], [Some(true), Some(true)]);
        assert_eq!(types[1][4], Some(false));
        assert_eq!(types[0][4], None, "an empty slot has no program");
    }

    #[test]
    fn malformed_input_is_a_config_error_naming_the_argument() {
        for (json, slots) in [
            ("[]", &SLOTS[..]),
            ("{\"Column\":\"a\"}", &SLOTS[..]),
            (STRUCT_JSON, &SLOTS[..4]),
        ] {
            let err = SignalPrograms::compile(json, slots, 2).unwrap_err();
            assert_eq!(err.context().argument.as_deref(), Some("struct_json"));
        }
        assert!(SignalPrograms::compile(STRUCT_JSON, &[(0, 0), (0, 1), (1, 0), (1, 1), (1, 10)], 2).is_err());
    }

    /// Leaves `(n_leaves, n)`, leaf-major: ma10, ma50, ma20, volume.
    fn leaves(n: usize, seed: u64) -> (Vec<f64>, Vec<bool>) {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) as f64 / (1u64 << 31) as f64
        };
        let values: Vec<f64> = (0..4 * n)
            .map(|i| if i >= 3 * n { next() - 0.3 } else { 90.0 + 20.0 * next() })
            .collect();
        (values, vec![true; 4 * n])
    }

    #[test]
    fn evaluation_matches_the_expressions() {
        let programs = SignalPrograms::compile(STRUCT_JSON, &SLOTS, 2).unwrap();
        let n = 40;
        let (values, valid) = leaves(n, 7);
        let leaf = |i: usize, t: usize| values[i * n + t];
        let exits = programs.evaluate(1, 1, &values, &valid, n).unwrap();
        let entries = programs.evaluate(1, 0, &values, &valid, n).unwrap();
        for t in 0..n {
            let want = leaf(0, t) >= leaf(1, t) && leaf(3, t) > 0.0; // all valid: ~(a < b) is a >= b
            assert_eq!(exits.value[t] != 0.0, want, "bar {t}");
            assert_eq!(entries.value[t] != 0.0, leaf(0, t) > leaf(2, t));
            assert!(exits.valid[t] && entries.valid[t]);
        }
        assert!(programs.evaluate(0, 4, &values, &valid, n).is_err());
        assert!(programs.evaluate(0, 0, &values[..n], &valid[..n], n).is_err());
    }

    /// The in-kernel evaluation sweeps like signals evaluated beforehand and laid out as matrices.
    #[test]
    fn sweep_equals_a_sweep_of_the_evaluated_signals() {
        let programs = SignalPrograms::compile(STRUCT_JSON, &SLOTS, 2).unwrap();
        let (n_symbols, n) = (2, 30);
        let per_symbol: Vec<(Vec<f64>, Vec<bool>)> = (0..n_symbols).map(|s| leaves(n, 11 + s as u64)).collect();
        let close: Vec<f64> = (0..n_symbols * n)
            .map(|i| 100.0 + (i as f64 * 0.7).sin() * 5.0)
            .collect();
        let market = Market {
            n_bars: n,
            n_symbols,
            open: &close,
            high: &close,
            low: &close,
            close: &close,
        };
        let (values, valid): (Vec<f64>, Vec<bool>) = (
            per_symbol.iter().flat_map(|(v, _)| v.clone()).collect(),
            per_symbol.iter().flat_map(|(_, ok)| ok.clone()).collect(),
        );
        for cash_sharing in [false, true] {
            let got = programs
                .sweep(&market, &settings(), &values, &valid, cash_sharing, &ANY, 3, None)
                .unwrap();
            assert_eq!(got.len(), if cash_sharing { 2 } else { 6 });
            assert!(got.iter().any(|s| s.closed_trades > 0), "the fixture trades");
            // each combination's signals evaluated beforehand, as matrices (column = symbol); a key without
            // a program stays empty ("never" / "use the setting")
            let mut want = Vec::new();
            for combo in 0..2 {
                let mut bools = vec![Vec::new(); 4];
                let mut numbers = vec![Vec::new(); 3];
                for (v, ok) in &per_symbol {
                    for key in 0..N_KEYS {
                        let Ok(column) = programs.evaluate(combo, key, v, ok, n) else {
                            continue;
                        };
                        let pairs = column.value.iter().zip(&column.valid);
                        if key < 4 {
                            bools[key].extend(pairs.map(|(v, ok)| *ok && *v != 0.0));
                        } else {
                            numbers[key - 4].extend(pairs.map(|(v, ok)| if *ok { *v } else { f64::NAN }));
                        }
                    }
                }
                let source = MatrixSource {
                    n_bars: n,
                    entries: &bools[0],
                    exits: &bools[1],
                    short_entries: &bools[2],
                    short_exits: &bools[3],
                    size: &numbers[0],
                    sl_stop: &numbers[1],
                    tp_stop: &numbers[2],
                    ..Default::default()
                };
                want.extend(sweep_signals(&market, &source, &settings(), 1, cash_sharing, 3, None).unwrap());
            }
            assert_eq!(got, want);
        }
        assert!(programs
            .sweep(&market, &settings(), &values[1..], &valid[1..], false, &ANY, 3, None)
            .is_err());
    }
}
