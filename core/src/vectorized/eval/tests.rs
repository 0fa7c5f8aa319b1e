//! Unit tests of the evaluator: Polars semantics on hand-made columns.

use super::*;
use crate::vectorized::expr::Ty;

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

fn num(value: f64) -> Instr {
    Instr::Const {
        value,
        valid: true,
        ty: Ty::DynFloat,
    }
}

fn run(code: Vec<Instr>, leaves: &[(&[f64], &[bool])], n: usize) -> Vec<Option<f64>> {
    let mut out = Column::default();
    Evaluator::default().eval(&Program { code }, leaves, n, &mut out);
    out.value
        .iter()
        .zip(&out.valid)
        .map(|(v, ok)| ok.then_some(*v))
        .collect()
}

#[test]
fn a_null_predicate_picks_otherwise_and_no_otherwise_is_null() {
    // when(p).then(x).otherwise(0.5) and when(p).then(x) (otherwise a null literal)
    let (p, pk) = ([1.0, 0.0, 1.0], [true, true, false]);
    let (x, xk) = ([10.0, 20.0, 30.0], [true, true, true]);
    let leaves = [(&p[..], &pk[..]), (&x[..], &xk[..])];
    let when = |otherwise| vec![Instr::Leaf(0), Instr::Leaf(1), otherwise, Instr::Ternary];
    assert_eq!(run(when(num(0.5)), &leaves, 3), [Some(10.0), Some(0.5), Some(0.5)]);
    let null = Instr::Const {
        value: 0.0,
        valid: false,
        ty: Ty::Null,
    };
    assert_eq!(run(when(null), &leaves, 3), [Some(10.0), None, None]);
}

#[test]
fn division_by_a_scalar_is_by_its_reciprocal_and_constants_fold() {
    let x = [0.1, 7.0, -0.0, 1.0];
    let ok = [true; 4];
    let leaves = [(&x[..], &ok[..])];
    // x / (2 * 1.5): the divisor folds to the scalar 3, the column is multiplied by 1/3 (as Polars)
    let code = vec![
        Instr::Leaf(0),
        num(2.0),
        num(1.5),
        Instr::Binary(Op::Mul),
        Instr::Binary(Op::Div),
    ];
    let got = run(code, &leaves, 4);
    assert_eq!(got, x.map(|v| Some(v * (1.0 / 3.0))));
    assert_ne!(7.0 * (1.0 / 3.0), 7.0 / 3.0, "the example tells the two apart");
    // scalar / scalar is exact
    assert_eq!(
        run(vec![num(7.0), num(3.0), Instr::Binary(Op::Div)], &leaves, 2),
        [Some(7.0 / 3.0); 2]
    );
    // x + 0 is x itself (the sign of -0.0 kept), 0 - x is -x
    let plus_zero = run(vec![Instr::Leaf(0), num(0.0), Instr::Binary(Op::Add)], &leaves, 4);
    assert!(plus_zero[2].unwrap().is_sign_negative());
    let zero_minus = run(vec![num(0.0), Instr::Leaf(0), Instr::Binary(Op::Sub)], &leaves, 4);
    assert!(zero_minus[2].unwrap().is_sign_positive() && zero_minus[1] == Some(-7.0));
    // two scalars add as IEEE says: -0.0 + 0.0 is +0.0 (Polars too; found by Hypothesis)
    let scalars = run(vec![num(-0.0), num(0.0), Instr::Binary(Op::Add)], &leaves, 2);
    assert!(scalars
        .iter()
        .all(|v| v.unwrap() == 0.0 && v.unwrap().is_sign_positive()));
}

#[test]
fn clip_checks_the_lower_bound_first_and_ignores_null_and_nan_bounds() {
    let x = [0.5, 2.0, -3.0, f64::NAN, 0.5];
    let lo = [1.0, 1.0, 1.0, 1.0, f64::NAN];
    let lo_ok = [true, true, true, true, true];
    let ok = [true; 5];
    let leaves = [(&x[..], &ok[..]), (&lo[..], &lo_ok[..])];
    // crossed bounds (lower 1 > upper 0): the lower wins below it, the upper above
    let code = vec![
        Instr::Leaf(0),
        Instr::Leaf(1),
        num(0.0),
        Instr::Clip {
            lower: true,
            upper: true,
        },
    ];
    let got = run(code, &leaves, 5);
    assert_eq!(got[..3], [Some(1.0), Some(0.0), Some(1.0)]);
    assert!(got[3].unwrap().is_nan());
    assert_eq!(got[4], Some(0.0), "a NaN lower bound never binds");
    let null = Instr::Const {
        value: 0.0,
        valid: false,
        ty: Ty::Null,
    };
    let code = vec![
        Instr::Leaf(0),
        null,
        Instr::Clip {
            lower: false,
            upper: true,
        },
    ];
    assert_eq!(run(code, &leaves, 2), [Some(0.5), Some(2.0)]);
}

#[test]
fn a_predicate_every_row_answers_alike_returns_its_branch_as_is() {
    // x + when(p).then(x).otherwise(0.0): with p false everywhere Polars adds the scalar 0.0, which returns
    // x itself (-0.0 stays -0.0); with p mixed it adds a column (-0.0 + 0.0 = 0.0)
    let x = [-0.0, 1.0];
    let ok = [true; 2];
    let (none, mixed) = ([0.0, 0.0], [0.0, 1.0]);
    let code = vec![
        Instr::Leaf(0),
        Instr::Leaf(1),
        Instr::Leaf(0),
        num(0.0),
        Instr::Ternary,
        Instr::Binary(Op::Add),
    ];
    let all_false = run(code.clone(), &[(&x[..], &ok[..]), (&none[..], &ok[..])], 2);
    assert!(all_false[0].unwrap().is_sign_negative());
    let some_true = run(code, &[(&x[..], &ok[..]), (&mixed[..], &ok[..])], 2);
    assert!(some_true[0].unwrap().is_sign_positive());
    assert_eq!(some_true[1], Some(2.0));
}
