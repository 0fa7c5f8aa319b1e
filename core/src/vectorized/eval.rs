//! Evaluating compiled signal programs column-at-a-time, with Polars' semantics: comparisons propagate
//! nulls and order NaN above every number (NaN == NaN); `&` and `|` follow Kleene logic; `^` propagates
//! nulls. Leaves are read in place; intermediate columns come from a reused pool.

use super::expr::{Instr, Op, Program};

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
}
