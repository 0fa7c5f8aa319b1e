//! Compiling the elementwise top of signal expressions, so sweeps need one Polars query per *distinct*
//! sub-expression instead of one per parameter combination.
//!
//! A strategy's expressions for different combinations share their expensive parts (a moving average of a
//! given window) and differ in cheap elementwise tops (`fast > slow`). The compiler walks each expression's
//! serialized Polars tree: comparisons, Kleene `&`/`|`, `^`, `~`, `fill_null` and numeric/boolean literals
//! become a small postfix program; every other subtree becomes a *leaf*, deduplicated by its serialized
//! form, which Polars evaluates once. Programs are evaluated column-at-a-time with Polars' semantics:
//! comparisons propagate nulls and order NaN above every number (NaN == NaN); `&` and `|` follow Kleene
//! logic; `^` propagates nulls.

use std::collections::HashMap;

use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{Context, CoreError, CoreResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Gt,
    GtEq,
    Lt,
    LtEq,
    Eq,
    NotEq,
    And,
    Or,
    Xor,
}

impl Op {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "Gt" => Self::Gt,
            "GtEq" => Self::GtEq,
            "Lt" => Self::Lt,
            "LtEq" => Self::LtEq,
            "Eq" => Self::Eq,
            "NotEq" => Self::NotEq,
            "And" => Self::And,
            "Or" => Self::Or,
            "Xor" => Self::Xor,
            _ => return None,
        })
    }

    fn logical(self) -> bool {
        matches!(self, Self::And | Self::Or | Self::Xor)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Instr {
    Leaf(u32),
    Const { value: f64, valid: bool, boolean: bool },
    Binary(Op),
    Not,
    FillNull,
}

/// A compiled expression (postfix).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Program {
    pub code: Vec<Instr>,
}

/// Compiles many expressions against one table of deduplicated leaves.
///
/// Works on the raw JSON text: each node is parsed only as far as its own kind (a one-key object whose
/// children stay unparsed slices), so the many repeated copies of a shared subtree (a moving average that
/// appears in thousands of combinations) are scanned but never built into trees. Leaves are deduplicated by
/// their JSON text, which Polars writes deterministically, and only distinct leaves are copied out.
#[derive(Debug, Default)]
pub struct Compiler {
    leaves: Vec<String>,
    index: HashMap<String, u32>,
}

type Node<'a> = HashMap<&'a str, &'a RawValue>;

impl Compiler {
    /// Compile one expression serialized as JSON.
    pub fn compile(&mut self, json: &str) -> CoreResult<Program> {
        let raw: &RawValue = serde_json::from_str(json).map_err(|e| {
            CoreError::config(
                format!("cannot parse a serialized expression: {e}"),
                Context::argument("signals"),
            )
        })?;
        Ok(self.compile_raw(raw))
    }

    /// Compile an expression given as a raw JSON slice.
    pub fn compile_raw(&mut self, raw: &RawValue) -> Program {
        let mut program = Program::default();
        self.node(raw, &mut program.code);
        program
    }

    /// Serialized Polars expressions of the leaves, in id order.
    pub fn leaves(&self) -> &[String] {
        &self.leaves
    }

    fn leaf(&mut self, raw: &RawValue, code: &mut Vec<Instr>) {
        let text = raw.get();
        let id = match self.index.get(text) {
            Some(&id) => id,
            None => {
                let id = self.leaves.len() as u32;
                self.index.insert(text.to_owned(), id);
                self.leaves.push(text.to_owned());
                id
            }
        };
        code.push(Instr::Leaf(id));
    }

    fn node(&mut self, raw: &RawValue, code: &mut Vec<Instr>) {
        let text = raw.get();
        // Fast negative filter: the only functions compiled are fill_null and `~`, and Polars writes a
        // function's `input` before its `function`, so any other function node is a leaf without parsing.
        // (Were that order to change, such nodes would become leaves: slower, never wrong.)
        if text.starts_with(r#"{"Function""#)
            && !(text.ends_with(r#""function":"FillNull"}}"#) || text.ends_with(r#""function":{"Boolean":"Not"}}}"#))
        {
            return self.leaf(raw, code);
        }
        let Ok(node) = serde_json::from_str::<Node<'_>>(text) else {
            return self.leaf(raw, code);
        };
        let Some((&kind, &body)) = node.iter().next().filter(|_| node.len() == 1) else {
            return self.leaf(raw, code);
        };
        match kind {
            "Alias" => match serde_json::from_str::<Vec<&RawValue>>(body.get())
                .ok()
                .and_then(|a| a.first().copied())
            {
                Some(inner) => self.node(inner, code),
                None => self.leaf(raw, code),
            },
            "BinaryExpr" => {
                let parts = serde_json::from_str::<Node<'_>>(body.get()).ok();
                let op = parts
                    .as_ref()
                    .and_then(|p| p.get("op"))
                    .and_then(|op| Op::parse(op.get().trim_matches('"')));
                match (parts, op) {
                    (Some(parts), Some(op)) if parts.contains_key("left") && parts.contains_key("right") => {
                        self.node(parts["left"], code);
                        self.node(parts["right"], code);
                        code.push(Instr::Binary(op));
                    }
                    _ => self.leaf(raw, code),
                }
            }
            "Function" => {
                let parts = serde_json::from_str::<Node<'_>>(body.get()).ok();
                let inputs = parts
                    .as_ref()
                    .and_then(|p| p.get("input"))
                    .and_then(|i| serde_json::from_str::<Vec<&RawValue>>(i.get()).ok());
                let function = parts.as_ref().and_then(|p| p.get("function")).map(|f| f.get());
                match (inputs.as_deref(), function) {
                    (Some([value, fill]), Some(r#""FillNull""#)) => {
                        self.node(value, code);
                        self.node(fill, code);
                        code.push(Instr::FillNull);
                    }
                    (Some([value]), Some(f)) if f.replace(' ', "") == r#"{"Boolean":"Not"}"# => {
                        self.node(value, code);
                        code.push(Instr::Not);
                    }
                    _ => self.leaf(raw, code),
                }
            }
            "Literal" => match serde_json::from_str::<Value>(body.get())
                .ok()
                .as_ref()
                .and_then(literal)
            {
                Some(instr) => code.push(instr),
                None => self.leaf(raw, code),
            },
            _ => self.leaf(raw, code),
        }
    }
}

/// Numeric and boolean scalar literals; anything else (strings, dates, series) stays a Polars leaf.
fn literal(body: &Value) -> Option<Instr> {
    let (form, inner) = body.as_object()?.iter().next()?;
    let (ty, x) = inner.as_object()?.iter().next()?;
    let number = |x: &Value| {
        x.as_f64().map(|value| Instr::Const {
            value,
            valid: true,
            boolean: false,
        })
    };
    match (form.as_str(), ty.as_str()) {
        ("Dyn", "Int" | "Float") => number(x),
        ("Scalar", "Boolean") => x.as_bool().map(|b| Instr::Const {
            value: f64::from(u8::from(b)),
            valid: true,
            boolean: true,
        }),
        (
            "Scalar",
            "Float64" | "Float32" | "Int64" | "Int32" | "Int16" | "Int8" | "UInt64" | "UInt32" | "UInt16" | "UInt8",
        ) => number(x),
        _ => None,
    }
}

/// Static result type of a program given whether each leaf is boolean; `None` when the program uses an
/// operation outside the compiled subset for its operand types (e.g. `&` on integers is bitwise in
/// Polars), in which case the caller evaluates the expression with Polars instead.
pub fn result_is_bool(program: &Program, leaf_is_bool: &[bool]) -> Option<bool> {
    let mut stack: Vec<bool> = Vec::new();
    for instr in &program.code {
        match *instr {
            Instr::Leaf(id) => stack.push(*leaf_is_bool.get(id as usize)?),
            Instr::Const { boolean, .. } => stack.push(boolean),
            Instr::Binary(op) => {
                let (b, a) = (stack.pop()?, stack.pop()?);
                if op.logical() && !(a && b) {
                    return None;
                }
                if !op.logical() && a != b {
                    return None; // comparing a boolean with a number: leave it to Polars
                }
                stack.push(true);
            }
            Instr::Not => {
                if !stack.pop()? {
                    return None;
                }
                stack.push(true);
            }
            Instr::FillNull => {
                let (fill, value) = (stack.pop()?, stack.pop()?);
                if fill != value {
                    return None;
                }
                stack.push(value);
            }
        }
    }
    (stack.len() == 1).then(|| stack[0])
}

/// A column of values with validity (false = null). Booleans are 0.0 / 1.0.
#[derive(Debug, Default, Clone)]
pub struct Column {
    pub value: Vec<f64>,
    pub valid: Vec<bool>,
}

/// An operand on the evaluation stack: a leaf read in place, a constant, or an owned buffer.
enum Operand {
    Leaf(u32),
    Const(f64, bool),
    Owned(Column),
}

/// Evaluates programs over `n` rows, reusing its buffers across calls.
#[derive(Default)]
pub struct Evaluator {
    stack: Vec<Operand>,
    pool: Vec<Column>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator").field("pooled", &self.pool.len()).finish()
    }
}

impl Evaluator {
    /// An owned copy of `op` (leaves and constants are materialized into a pooled buffer).
    fn owned(&mut self, op: Operand, leaves: &[(&[f64], &[bool])], n: usize) -> Column {
        match op {
            Operand::Owned(c) => c,
            other => {
                let mut c = self.pool.pop().unwrap_or_default();
                c.value.clear();
                c.valid.clear();
                match other {
                    Operand::Leaf(id) => {
                        let (v, ok) = leaves[id as usize];
                        c.value.extend_from_slice(&v[..n]);
                        c.valid.extend_from_slice(&ok[..n]);
                    }
                    Operand::Const(value, valid) => {
                        c.value.resize(n, value);
                        c.valid.resize(n, valid);
                    }
                    Operand::Owned(_) => unreachable!(),
                }
                c
            }
        }
    }

    /// Evaluate `program` with leaf columns `leaves[id] = (values, valid)`, writing the result to `out`.
    pub fn eval(&mut self, program: &Program, leaves: &[(&[f64], &[bool])], n: usize, out: &mut Column) {
        for instr in &program.code {
            match *instr {
                Instr::Leaf(id) => self.stack.push(Operand::Leaf(id)),
                Instr::Const { value, valid, .. } => self.stack.push(Operand::Const(value, valid)),
                Instr::Not => {
                    let top = self.stack.pop().expect("compiled program");
                    let mut c = self.owned(top, leaves, n);
                    c.value.iter_mut().for_each(|x| *x = 1.0 - *x);
                    self.stack.push(Operand::Owned(c));
                }
                Instr::FillNull | Instr::Binary(_) => {
                    let b = self.stack.pop().expect("compiled program");
                    let a = self.stack.pop().expect("compiled program");
                    let mut dst = self.pool.pop().unwrap_or_default();
                    dst.value.resize(n, 0.0);
                    dst.valid.resize(n, false);
                    {
                        let (x, y) = (view(&a, leaves), view(&b, leaves));
                        match *instr {
                            Instr::FillNull => fill_null(&x, &y, &mut dst, n),
                            Instr::Binary(op) => binary(op, &x, &y, &mut dst, n),
                            _ => unreachable!(),
                        }
                    }
                    for spent in [a, b] {
                        if let Operand::Owned(c) = spent {
                            self.pool.push(c);
                        }
                    }
                    self.stack.push(Operand::Owned(dst));
                }
            }
        }
        let result = self.stack.pop().expect("compiled program");
        let result = self.owned(result, leaves, n);
        out.value.clear();
        out.valid.clear();
        out.value.extend_from_slice(&result.value);
        out.valid.extend_from_slice(&result.valid);
        self.pool.push(result);
    }
}

fn view<'a>(op: &'a Operand, leaves: &[(&'a [f64], &'a [bool])]) -> Slices<'a> {
    match op {
        Operand::Leaf(id) => Slices::Cols(leaves[*id as usize].0, leaves[*id as usize].1),
        Operand::Const(v, ok) => Slices::Scalar(*v, *ok),
        Operand::Owned(c) => Slices::Cols(&c.value, &c.valid),
    }
}

/// A read-only view of an operand: columns, or one scalar broadcast to every row.
enum Slices<'a> {
    Cols(&'a [f64], &'a [bool]),
    Scalar(f64, bool),
}

impl Slices<'_> {
    #[inline(always)]
    fn at(&self, i: usize) -> (f64, bool) {
        match *self {
            Slices::Cols(v, ok) => (v[i], ok[i]),
            Slices::Scalar(v, ok) => (v, ok),
        }
    }
}

fn fill_null(x: &Slices<'_>, fill: &Slices<'_>, dst: &mut Column, n: usize) {
    for i in 0..n {
        let ((v, ok), (f, fok)) = (x.at(i), fill.at(i));
        (dst.value[i], dst.valid[i]) = if ok { (v, true) } else { (f, fok) };
    }
}

/// `dst = x op y`, elementwise, with Polars' null and NaN semantics. The operator is matched outside the
/// loops and each comparison is monomorphized, so every pass is a straight loop.
fn binary(op: Op, x: &Slices<'_>, y: &Slices<'_>, dst: &mut Column, n: usize) {
    match op {
        Op::And => apply(x, y, dst, n, |a, va, b, vb| {
            let false_known = (va & (a == 0.0)) | (vb & (b == 0.0));
            (if false_known { 0.0 } else { 1.0 }, false_known | (va & vb))
        }),
        Op::Or => apply(x, y, dst, n, |a, va, b, vb| {
            let true_known = (va & (a != 0.0)) | (vb & (b != 0.0));
            (if true_known { 1.0 } else { 0.0 }, true_known | (va & vb))
        }),
        Op::Xor => apply(x, y, dst, n, |a, va, b, vb| {
            (f64::from(u8::from((a != 0.0) != (b != 0.0))), va & vb)
        }),
        // total order, branch-free: NaN is above every number and equal to itself
        Op::Gt => apply(x, y, dst, n, |a, va, b, vb| (flag(gt(a, b)), va & vb)),
        Op::GtEq => apply(x, y, dst, n, |a, va, b, vb| (flag(!gt(b, a)), va & vb)),
        Op::Lt => apply(x, y, dst, n, |a, va, b, vb| (flag(gt(b, a)), va & vb)),
        Op::LtEq => apply(x, y, dst, n, |a, va, b, vb| (flag(!gt(a, b)), va & vb)),
        Op::Eq => apply(x, y, dst, n, |a, va, b, vb| (flag(eq(a, b)), va & vb)),
        Op::NotEq => apply(x, y, dst, n, |a, va, b, vb| (flag(!eq(a, b)), va & vb)),
    }
}

/// `a > b` in the total order (NaN greatest).
#[inline(always)]
fn gt(a: f64, b: f64) -> bool {
    (a > b) | (a.is_nan() & !b.is_nan())
}

/// `a == b` in the total order (NaN == NaN).
#[inline(always)]
fn eq(a: f64, b: f64) -> bool {
    (a == b) | (a.is_nan() & b.is_nan())
}

#[inline(always)]
fn flag(b: bool) -> f64 {
    f64::from(u8::from(b))
}

#[inline(always)]
fn apply(x: &Slices<'_>, y: &Slices<'_>, dst: &mut Column, n: usize, f: impl Fn(f64, bool, f64, bool) -> (f64, bool)) {
    match (x, y) {
        (Slices::Cols(xv, xk), Slices::Cols(yv, yk)) => {
            for i in 0..n {
                (dst.value[i], dst.valid[i]) = f(xv[i], xk[i], yv[i], yk[i]);
            }
        }
        _ => {
            for i in 0..n {
                let ((a, va), (b, vb)) = (x.at(i), y.at(i));
                (dst.value[i], dst.valid[i]) = f(a, va, b, vb);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_gt(left: &str, right: &str) -> String {
        format!(r#"{{"BinaryExpr":{{"left":{left},"op":"Gt","right":{right}}}}}"#)
    }

    #[test]
    fn shared_subtrees_become_one_leaf() {
        let ma = |w: u32| {
            format!(
                r#"{{"Function":{{"input":[{{"Column":"close"}}],"function":{{"RollingExpr":{{"window_size":{w}}}}}}}}}"#
            )
        };
        let mut c = Compiler::default();
        let p1 = c.compile(&json_gt(&ma(10), &ma(50))).unwrap();
        let p2 = c.compile(&json_gt(&ma(10), &ma(60))).unwrap();
        assert_eq!(c.leaves().len(), 3);
        assert_eq!(p1.code, vec![Instr::Leaf(0), Instr::Leaf(1), Instr::Binary(Op::Gt)]);
        assert_eq!(p2.code, vec![Instr::Leaf(0), Instr::Leaf(2), Instr::Binary(Op::Gt)]);
        assert_eq!(result_is_bool(&p1, &[false, false, false]), Some(true));
    }

    #[test]
    fn kleene_logic_and_nan_ordering_match_polars() {
        let mut e = Evaluator::default();
        // x: [T, T, F, F, null, null, null]; y: [T, null, null, F, null, T, F]
        let (xv, xk) = (
            vec![1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            vec![true, true, true, true, false, false, false],
        );
        let (yv, yk) = (
            vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            vec![true, false, false, true, false, true, true],
        );
        let leaves = [(&xv[..], &xk[..]), (&yv[..], &yk[..])];
        let run = |e: &mut Evaluator, op| {
            let mut out = Column::default();
            e.eval(
                &Program {
                    code: vec![Instr::Leaf(0), Instr::Leaf(1), Instr::Binary(op)],
                },
                &leaves,
                7,
                &mut out,
            );
            out.value
                .iter()
                .zip(&out.valid)
                .map(|(v, ok)| ok.then_some(*v == 1.0))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            run(&mut e, Op::And),
            [Some(true), None, Some(false), Some(false), None, None, Some(false)]
        );
        assert_eq!(
            run(&mut e, Op::Or),
            [Some(true), Some(true), None, Some(false), None, Some(true), None]
        );
        let (av, ak) = (vec![1.0, f64::NAN, f64::NAN, 2.0], vec![true; 4]);
        let (bv, bk) = (vec![f64::NAN, 1.0, f64::NAN, 2.0], vec![true; 4]);
        let leaves = [(&av[..], &ak[..]), (&bv[..], &bk[..])];
        let mut out = Column::default();
        e.eval(
            &Program {
                code: vec![Instr::Leaf(0), Instr::Leaf(1), Instr::Binary(Op::Gt)],
            },
            &leaves,
            4,
            &mut out,
        );
        assert_eq!(out.value, [0.0, 1.0, 0.0, 0.0]);
        e.eval(
            &Program {
                code: vec![Instr::Leaf(0), Instr::Leaf(1), Instr::Binary(Op::Eq)],
            },
            &leaves,
            4,
            &mut out,
        );
        assert_eq!(out.value, [0.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn bitwise_and_on_numbers_is_left_to_polars() {
        let mut c = Compiler::default();
        let p = c
            .compile(r#"{"BinaryExpr":{"left":{"Column":"a"},"op":"And","right":{"Column":"b"}}}"#)
            .unwrap();
        assert_eq!(result_is_bool(&p, &[false, false]), None);
        assert_eq!(result_is_bool(&p, &[true, true]), Some(true));
    }
}
