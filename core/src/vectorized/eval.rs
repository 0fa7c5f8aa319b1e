//! Evaluating compiled signal programs column-at-a-time, with Polars' semantics: comparisons propagate
//! nulls and order NaN above every number (NaN == NaN); `&` and `|` follow Kleene logic; `^` and arithmetic
//! propagate nulls; a null predicate picks the `otherwise` branch; `is_null` is never null. Leaves are read
//! in place; intermediate columns come from a reused pool.
//!
//! An operation whose operands are all constants gives a constant, as in Polars (a literal expression is
//! one value broadcast). That matters for one operation: Polars divides a column by a scalar by
//! multiplying with the scalar's reciprocal (to the last bit), and a scalar by a scalar exactly.

use super::expr::{CastTo, Instr, Op, Program, Unary};

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

/// A program's result: `n` rows of values and validity, or one constant for every row.
#[derive(Debug, Clone, Copy)]
pub enum Evaluated<'a> {
    Column(&'a [f64], &'a [bool]),
    Scalar(f64, bool),
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
    /// Evaluate `program` with leaf columns `leaves[id] = (values, valid)`, writing the result to `out`.
    pub fn eval(&mut self, program: &Program, leaves: &[(&[f64], &[bool])], n: usize, out: &mut Column) {
        out.value.clear();
        out.valid.clear();
        match self.eval_view(program, leaves, n) {
            Evaluated::Column(v, ok) => {
                out.value.extend_from_slice(&v[..n]);
                out.valid.extend_from_slice(&ok[..n]);
            }
            Evaluated::Scalar(value, valid) => {
                out.value.resize(n, value);
                out.valid.resize(n, valid);
            }
        }
    }

    /// Evaluate `program` as [`Evaluator::eval`], returning its result in place (a leaf, a constant, or a
    /// buffer of the evaluator's, valid until its next call) instead of copying it out.
    pub fn eval_view<'s>(
        &'s mut self,
        program: &Program,
        leaves: &[(&'s [f64], &'s [bool])],
        n: usize,
    ) -> Evaluated<'s> {
        for instr in &program.code {
            match *instr {
                Instr::Leaf(id) => self.stack.push(Operand::Leaf(id)),
                Instr::Const { value, valid, .. } => self.stack.push(Operand::Const(value, valid)),
                _ => self.apply(instr, leaves, n),
            }
        }
        match self.stack.pop().expect("compiled program") {
            Operand::Leaf(id) => {
                let (v, ok) = leaves[id as usize];
                Evaluated::Column(&v[..n], &ok[..n])
            }
            Operand::Const(value, valid) => Evaluated::Scalar(value, valid),
            Operand::Owned(c) => {
                // kept as the pool's last buffer, so the next `apply` reuses it only after this view is gone
                self.pool.push(c);
                let c = self.pool.last().expect("just pushed");
                Evaluated::Column(&c.value[..n], &c.valid[..n])
            }
        }
    }

    /// Pop the operation's operands, push its result (a constant when every operand is one).
    fn apply(&mut self, instr: &Instr, leaves: &[(&[f64], &[bool])], n: usize) {
        let arity = instr.arity();
        let mut args = [
            Operand::Const(0.0, false),
            Operand::Const(0.0, false),
            Operand::Const(0.0, false),
        ];
        for arg in args[..arity].iter_mut().rev() {
            *arg = self.stack.pop().expect("compiled program");
        }
        if *instr == Instr::Ternary {
            if let Some(truthy) = uniform(&args[0], leaves, n) {
                // Polars returns the branch every row picks as it is, a constant staying a constant (which
                // decides whether a later `+ 0` keeps the sign of -0.0)
                let [predicate, t, f] = args;
                let (picked, other) = if truthy { (t, f) } else { (f, t) };
                for spent in [predicate, other] {
                    if let Operand::Owned(c) = spent {
                        self.pool.push(c);
                    }
                }
                self.stack.push(picked);
                return;
            }
        }
        let scalar = args[..arity].iter().all(|a| matches!(a, Operand::Const(..)));
        let rows = if scalar { 1 } else { n };
        let mut dst = self.pool.pop().unwrap_or_default();
        dst.value.resize(rows, 0.0);
        dst.valid.resize(rows, false);
        {
            let [a, b, c] = [0, 1, 2].map(|i| view(&args[i], leaves));
            let out = &mut dst;
            match *instr {
                Instr::Binary(op) => binary(op, &a, &b, out, rows),
                Instr::Unary(op) => unary(op, &a, out, rows),
                Instr::Cast(to) => cast(to, &a, out, rows),
                Instr::FillNull => map2(&a, &b, out, rows, |x, ok, f, fok| if ok { (x, true) } else { (f, fok) }),
                Instr::Clip { lower, upper } => {
                    let (lo, hi) = match (lower, upper) {
                        (true, true) => (Some(&b), Some(&c)),
                        (true, false) => (Some(&b), None),
                        (false, true) => (None, Some(&b)),
                        (false, false) => (None, None),
                    };
                    clip(&a, lo, hi, out, rows);
                }
                Instr::Ternary => ternary(&a, &b, &c, out, rows),
                Instr::Leaf(_) | Instr::Const { .. } => unreachable!("operands are pushed by eval"),
            }
        }
        for spent in args {
            if let Operand::Owned(c) = spent {
                self.pool.push(c);
            }
        }
        if scalar {
            self.stack.push(Operand::Const(dst.value[0], dst.valid[0]));
            self.pool.push(dst);
        } else {
            self.stack.push(Operand::Owned(dst));
        }
    }
}

/// Whether every row of a predicate picks `then` (`Some(true)`) or every row `otherwise` (`Some(false)`).
fn uniform(predicate: &Operand, leaves: &[(&[f64], &[bool])], n: usize) -> Option<bool> {
    let (value, valid): (&[f64], &[bool]) = match predicate {
        // a null constant predicate is not a uniform answer to Polars: it evaluates the selection row by row
        // (so `x + when(null).then(x).otherwise(0.0)` adds a column of zeros: -0.0 + 0.0 is +0.0)
        Operand::Const(v, ok) => return ok.then_some(*v != 0.0),
        Operand::Leaf(id) => leaves[*id as usize],
        Operand::Owned(c) => (&c.value, &c.valid),
    };
    let first = n > 0 && valid[0] && value[0] != 0.0;
    (0..n).all(|i| (valid[i] && value[i] != 0.0) == first).then_some(first)
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

/// `dst = x op y`, elementwise, with Polars' null and NaN semantics. The operator is matched outside the
/// loops and each operation is monomorphized, so every pass is a straight loop.
fn binary(op: Op, x: &Slices<'_>, y: &Slices<'_>, dst: &mut Column, n: usize) {
    match op {
        Op::And => map2(x, y, dst, n, |a, va, b, vb| {
            let false_known = (va & (a == 0.0)) | (vb & (b == 0.0));
            (if false_known { 0.0 } else { 1.0 }, false_known | (va & vb))
        }),
        Op::Or => map2(x, y, dst, n, |a, va, b, vb| {
            let true_known = (va & (a != 0.0)) | (vb & (b != 0.0));
            (if true_known { 1.0 } else { 0.0 }, true_known | (va & vb))
        }),
        Op::Xor => map2(x, y, dst, n, |a, va, b, vb| {
            (f64::from(u8::from((a != 0.0) != (b != 0.0))), va & vb)
        }),
        // total order, branch-free: NaN is above every number and equal to itself
        Op::Gt => map2(x, y, dst, n, |a, va, b, vb| (flag(gt(a, b)), va & vb)),
        Op::GtEq => map2(x, y, dst, n, |a, va, b, vb| (flag(!gt(b, a)), va & vb)),
        Op::Lt => map2(x, y, dst, n, |a, va, b, vb| (flag(gt(b, a)), va & vb)),
        Op::LtEq => map2(x, y, dst, n, |a, va, b, vb| (flag(!gt(a, b)), va & vb)),
        Op::Eq => map2(x, y, dst, n, |a, va, b, vb| (flag(eq(a, b)), va & vb)),
        Op::NotEq => map2(x, y, dst, n, |a, va, b, vb| (flag(!eq(a, b)), va & vb)),
        // Polars returns the column itself when it adds or subtracts a scalar zero of either sign (and
        // negates it for `0 - x`): the sign of a zero result is Polars', not IEEE's. Two scalars are added
        // as IEEE says (`-0.0 + 0.0` is `+0.0`), as Polars does.
        Op::Add | Op::Sub if is_zero(y) && matches!(x, Slices::Cols(..)) => map1(x, dst, n, |a, va| (a, va)),
        Op::Add if is_zero(x) && matches!(y, Slices::Cols(..)) => map1(y, dst, n, |b, vb| (b, vb)),
        Op::Sub if is_zero(x) && matches!(y, Slices::Cols(..)) => map1(y, dst, n, |b, vb| (-b, vb)),
        Op::Add => map2(x, y, dst, n, |a, va, b, vb| (a + b, va & vb)),
        Op::Sub => map2(x, y, dst, n, |a, va, b, vb| (a - b, va & vb)),
        Op::Mul => map2(x, y, dst, n, |a, va, b, vb| (a * b, va & vb)),
        Op::Div => match (x, y) {
            // a column by a scalar: Polars multiplies by the reciprocal
            (Slices::Cols(..), Slices::Scalar(b, vb)) => {
                let inverse = 1.0 / b;
                let vb = *vb;
                map1(x, dst, n, |a, va| (a * inverse, va & vb))
            }
            _ => map2(x, y, dst, n, |a, va, b, vb| (a / b, va & vb)),
        },
    }
}

fn unary(op: Unary, x: &Slices<'_>, dst: &mut Column, n: usize) {
    match op {
        Unary::Not => map1(x, dst, n, |a, ok| (1.0 - a, ok)),
        Unary::Negate => map1(x, dst, n, |a, ok| (-a, ok)),
        Unary::Abs => map1(x, dst, n, |a, ok| (a.abs(), ok)),
        Unary::IsNull => map1(x, dst, n, |_, ok| (flag(!ok), true)),
        Unary::IsNotNull => map1(x, dst, n, |_, ok| (flag(ok), true)),
        Unary::IsNan => map1(x, dst, n, |a, ok| (flag(a.is_nan()), ok)),
        Unary::IsNotNan => map1(x, dst, n, |a, ok| (flag(!a.is_nan()), ok)),
    }
}

fn cast(to: CastTo, x: &Slices<'_>, dst: &mut Column, n: usize) {
    match to {
        // booleans are already 0/1; the type check compiles integer casts from booleans only
        CastTo::F64 | CastTo::Int => map1(x, dst, n, |a, ok| (a, ok)),
        CastTo::F32 => map1(x, dst, n, |a, ok| (a as f32 as f64, ok)),
        CastTo::Bool => map1(x, dst, n, |a, ok| (flag(a != 0.0), ok)),
    }
}

/// `x < lower` first, then `x > upper`; a null or NaN bound never binds, a NaN x stays NaN.
fn clip(x: &Slices<'_>, lower: Option<&Slices<'_>>, upper: Option<&Slices<'_>>, dst: &mut Column, n: usize) {
    let none = Slices::Scalar(0.0, false);
    let (lower, upper) = (lower.unwrap_or(&none), upper.unwrap_or(&none));
    for i in 0..n {
        let ((a, ok), (lo, lo_ok), (hi, hi_ok)) = (x.at(i), lower.at(i), upper.at(i));
        let v = if lo_ok && a < lo {
            lo
        } else if hi_ok && a > hi {
            hi
        } else {
            a
        };
        (dst.value[i], dst.valid[i]) = (v, ok);
    }
}

fn ternary(p: &Slices<'_>, t: &Slices<'_>, f: &Slices<'_>, dst: &mut Column, n: usize) {
    for i in 0..n {
        let (pv, pok) = p.at(i);
        (dst.value[i], dst.valid[i]) = if pok && pv != 0.0 { t.at(i) } else { f.at(i) };
    }
}

/// A valid scalar zero (of either sign).
fn is_zero(x: &Slices<'_>) -> bool {
    matches!(*x, Slices::Scalar(v, true) if v == 0.0)
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
fn map1(x: &Slices<'_>, dst: &mut Column, n: usize, f: impl Fn(f64, bool) -> (f64, bool)) {
    match x {
        Slices::Cols(xv, xk) => {
            for i in 0..n {
                (dst.value[i], dst.valid[i]) = f(xv[i], xk[i]);
            }
        }
        Slices::Scalar(a, va) => {
            let (v, ok) = f(*a, *va);
            dst.value[..n].fill(v);
            dst.valid[..n].fill(ok);
        }
    }
}

#[inline(always)]
fn map2(x: &Slices<'_>, y: &Slices<'_>, dst: &mut Column, n: usize, f: impl Fn(f64, bool, f64, bool) -> (f64, bool)) {
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
mod tests;
