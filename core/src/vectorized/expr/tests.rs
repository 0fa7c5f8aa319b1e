//! Unit tests of the compiler on JSON written by Polars 2.1 (`expr.meta.serialize(format="json")`).

use super::*;

fn json_gt(left: &str, right: &str) -> String {
    format!(r#"{{"BinaryExpr":{{"left":{left},"op":"Gt","right":{right}}}}}"#)
}

fn types(dtypes: &[&str]) -> Vec<Option<Ty>> {
    leaf_types(dtypes)
}

const RANK_LE_3: &str = r#"{"BinaryExpr":{"left":{"Column":"r"},"op":"LtEq","right":{"Literal":{"Dyn":{"Int":3}}}}}"#;

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
    assert_eq!(result_is_bool(&p1, &types(&["Float64"; 3])), Some(true));
}

#[test]
fn bitwise_and_on_numbers_is_left_to_polars() {
    let mut c = Compiler::default();
    let p = c
        .compile(r#"{"BinaryExpr":{"left":{"Column":"a"},"op":"And","right":{"Column":"b"}}}"#)
        .unwrap();
    assert_eq!(result_is_bool(&p, &types(&["Int64", "Int64"])), None);
    assert_eq!(result_is_bool(&p, &types(&["Boolean", "Boolean"])), Some(true));
}

/// `pl.when(pl.col("r") <= 3).then(1.0 / 3).otherwise(0.0)`: one leaf (the rank) for every k.
#[test]
fn a_top_k_weight_compiles_around_one_leaf() {
    let json = format!(
        r#"{{"Ternary":{{"predicate":{RANK_LE_3},"truthy":{{"Literal":{{"Dyn":{{"Float":0.3333333333333333}}}}}},"falsy":{{"Literal":{{"Dyn":{{"Float":0.0}}}}}}}}}}"#
    );
    let mut c = Compiler::default();
    let p = c.compile(&json).unwrap();
    assert_eq!(c.leaves(), [r#"{"Column":"r"}"#]);
    assert_eq!(p.code.len(), 6);
    assert_eq!(p.code[5], Instr::Ternary);
    assert_eq!(result_is_bool(&p, &types(&["UInt32"])), Some(false));
    assert_eq!(
        result_is_bool(&p, &types(&["Boolean"])),
        None,
        "a boolean rank cannot be compared to 3"
    );
    // no otherwise: a null literal, which takes the other branch's type
    let json = format!(
        r#"{{"Ternary":{{"predicate":{RANK_LE_3},"truthy":{{"Column":"w"}},"falsy":{{"Literal":{{"Scalar":{{"Null":"Null"}}}}}}}}}}"#
    );
    let p = c.compile(&json).unwrap();
    assert_eq!(
        p.code[4],
        Instr::Const {
            value: 0.0,
            valid: false,
            ty: Ty::Null
        }
    );
    assert_eq!(result_is_bool(&p, &types(&["UInt32", "Float64"])), Some(false));
    assert_eq!(result_is_bool(&p, &types(&["UInt32", "Boolean"])), Some(true));
}

#[test]
fn arithmetic_is_compiled_only_where_f64_is_exact() {
    let mut c = Compiler::default();
    let plus = c
        .compile(r#"{"BinaryExpr":{"left":{"Column":"a"},"op":"Plus","right":{"Literal":{"Dyn":{"Int":1}}}}}"#)
        .unwrap();
    assert_eq!(result_is_bool(&plus, &types(&["Float64"])), Some(false));
    assert_eq!(
        result_is_bool(&plus, &types(&["Int64"])),
        None,
        "integer + wraps in Polars"
    );
    assert_eq!(
        result_is_bool(&plus, &types(&["Float32"])),
        None,
        "Float32 + computes in f32"
    );
    let floor = c
        .compile(r#"{"BinaryExpr":{"left":{"Column":"a"},"op":"FloorDivide","right":{"Literal":{"Dyn":{"Int":2}}}}}"#)
        .unwrap();
    assert_eq!(floor.code, [Instr::Leaf(1)], "// is never compiled");
    let neg = c
        .compile(r#"{"Function":{"input":[{"Column":"a"}],"function":"Negate"}}"#)
        .unwrap();
    assert_eq!(neg.code, [Instr::Leaf(0), Instr::Unary(Unary::Negate)]);
    assert_eq!(result_is_bool(&neg, &types(&["Float64"])), Some(false));
    assert_eq!(result_is_bool(&neg, &types(&["UInt32"])), None);
}

#[test]
fn division_needs_a_leaf_free_divisor() {
    let mut c = Compiler::default();
    let by_literal = c
        .compile(r#"{"BinaryExpr":{"left":{"Column":"a"},"op":"TrueDivide","right":{"Literal":{"Dyn":{"Int":4}}}}}"#)
        .unwrap();
    assert_eq!(by_literal.code.last(), Some(&Instr::Binary(Op::Div)));
    assert_eq!(
        result_is_bool(&by_literal, &types(&["Int64"])),
        Some(false),
        "Polars divides integers as f64"
    );
    // by a column (maybe a scalar such as `b.sum()`): the whole division is one leaf, and the divisor's own
    // leaf, compiled on the way, is not kept
    let by_column = r#"{"BinaryExpr":{"left":{"Column":"a"},"op":"TrueDivide","right":{"Column":"b"}}}"#;
    let p = c.compile(by_column).unwrap();
    assert_eq!(p.code, [Instr::Leaf(1)]);
    assert_eq!(c.leaves(), [r#"{"Column":"a"}"#, by_column]);
}

#[test]
fn casts_clip_and_null_tests_parse() {
    let mut c = Compiler::default();
    let cast = c
        .compile(r#"{"Cast":{"expr":{"Column":"p"},"dtype":{"Literal":"Float64"},"options":"Strict"}}"#)
        .unwrap();
    assert_eq!(cast.code, [Instr::Leaf(0), Instr::Cast(CastTo::F64)]);
    assert_eq!(result_is_bool(&cast, &types(&["Boolean"])), Some(false));
    let to_int = c
        .compile(r#"{"Cast":{"expr":{"Column":"a"},"dtype":{"Literal":"Int64"},"options":"Strict"}}"#)
        .unwrap();
    assert_eq!(
        result_is_bool(&to_int, &types(&["Boolean", "Float64"])),
        None,
        "float -> int truncates"
    );
    let clip = c
        .compile(r#"{"Function":{"input":[{"Column":"a"},{"Literal":{"Dyn":{"Int":-1}}},{"Literal":{"Dyn":{"Int":1}}}],"function":{"Clip":{"has_min":true,"has_max":true}}}}"#)
        .unwrap();
    assert_eq!(
        clip.code.last(),
        Some(&Instr::Clip {
            lower: true,
            upper: true
        })
    );
    let upper = c
        .compile(r#"{"Function":{"input":[{"Column":"a"},{"Column":"b"}],"function":{"Clip":{"has_min":false,"has_max":true}}}}"#)
        .unwrap();
    assert_eq!(
        upper.code.last(),
        Some(&Instr::Clip {
            lower: false,
            upper: true
        })
    );
    let null = c
        .compile(r#"{"Function":{"input":[{"Column":"a"}],"function":{"Boolean":"IsNull"}}}"#)
        .unwrap();
    assert_eq!(null.code, [Instr::Leaf(1), Instr::Unary(Unary::IsNull)]);
    let nan = c
        .compile(r#"{"Function":{"input":[{"Column":"a"}],"function":{"Boolean":"IsNotNan"}}}"#)
        .unwrap();
    assert_eq!(nan.code, [Instr::Leaf(1), Instr::Unary(Unary::IsNotNan)]);
    assert_eq!(result_is_bool(&nan, &types(&["Boolean", "Int64"])), Some(true));
    assert_eq!(
        result_is_bool(&nan, &types(&["Boolean", "Boolean"])),
        None,
        "Polars refuses is_nan on booleans"
    );
    let pow = c
        .compile(
            r#"{"Function":{"input":[{"Column":"a"},{"Literal":{"Dyn":{"Int":2}}}],"function":{"Pow":"Generic"}}}"#,
        )
        .unwrap();
    assert_eq!(pow.code.len(), 1, "an unknown function is a leaf");
}

#[test]
fn float_literals_are_parsed_to_the_nearest_f64() {
    // Polars writes 1 / 11 as its shortest round-trip text; serde_json's fast parser lands one ulp off
    let mut c = Compiler::default();
    let p = c
        .compile(r#"{"Literal":{"Dyn":{"Float":0.09090909090909091}}}"#)
        .unwrap();
    assert!(matches!(p.code[..], [Instr::Const { value, .. }] if value == 1.0 / 11.0));
    let p = c
        .compile(r#"{"Literal":{"Scalar":{"Int64":-9007199254740993}}}"#)
        .unwrap();
    assert!(matches!(p.code[..], [Instr::Const { value, ty: Ty::Int, .. }] if value == -9007199254740992.0));
}

#[test]
fn shapes_past_the_table_compile_node_by_node_alike() {
    let fields: Vec<String> = (0..MAX_SHAPES + 40)
        .map(|i| json_gt(&format!(r#"{{"Column":"c{i}"}}"#), r#"{"Literal":{"Dyn":{"Int":3}}}"#))
        .chain((0..20).map(|i| {
            json_gt(
                r#"{"Column":"c1"}"#,
                &format!(r#"{{"Literal":{{"Dyn":{{"Int":{i}}}}}}}"#),
            )
        }))
        .collect();
    let (mut walk, mut shaped) = (Compiler::default(), Compiler::default());
    for f in &fields {
        assert_eq!(shaped.compile_shaped(f), walk.compile(f).unwrap());
    }
    assert_eq!(shaped.leaves(), walk.leaves());
    assert_eq!(shaped.shapes.len(), MAX_SHAPES);
}

/// Random expression trees for the template property test: each number is a slot, filled per combination.
mod shapes {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    pub enum T {
        Column(u8),
        Rolling(usize),
        Int(usize),
        Float(usize),
        Bool(bool),
        Null,
        Binary(&'static str, Box<T>, Box<T>),
        Ternary(Box<T>, Box<T>, Box<T>),
        Function(&'static str, Vec<T>),
        Cast(Box<T>, &'static str),
        Alias(Box<T>),
    }

    const INTS: [&str; 7] = ["0", "2", "3", "10", "-1", "100", "12345678901234567890"];
    const FLOATS: [&str; 8] = [
        "0.0",
        "1.5",
        "-2.5",
        "0.09090909090909091",
        "1e-7",
        "-3.5E+2",
        "10",
        "2",
    ];
    const OPS: [&str; 8] = ["Gt", "Lt", "And", "Or", "Plus", "Multiply", "TrueDivide", "Modulus"];
    const FUNCTIONS: [(&str, usize); 7] = [
        (r#""Abs""#, 1),
        (r#""Negate""#, 1),
        (r#""FillNull""#, 2),
        (r#"{"Boolean":"Not"}"#, 1),
        (r#"{"Boolean":"IsNull"}"#, 1),
        (r#"{"Clip":{"has_min":true,"has_max":false}}"#, 2),
        (r#"{"Pow":"Generic"}"#, 2),
    ];

    pub fn tree() -> impl Strategy<Value = T> {
        let leaf = prop_oneof![
            (0u8..3).prop_map(T::Column),
            (0usize..4).prop_map(T::Rolling),
            (0usize..4).prop_map(T::Int),
            (0usize..4).prop_map(T::Float),
            any::<bool>().prop_map(T::Bool),
            Just(T::Null),
        ];
        leaf.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                (0..OPS.len(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| T::Binary(
                    OPS[op],
                    Box::new(l),
                    Box::new(r)
                )),
                (inner.clone(), inner.clone(), inner.clone()).prop_map(|(p, t, f)| T::Ternary(
                    Box::new(p),
                    Box::new(t),
                    Box::new(f)
                )),
                (0..FUNCTIONS.len(), prop::collection::vec(inner.clone(), 2)).prop_map(|(f, mut inputs)| {
                    inputs.truncate(FUNCTIONS[f].1);
                    T::Function(FUNCTIONS[f].0, inputs)
                }),
                (
                    inner.clone(),
                    prop_oneof![Just("Float64"), Just("Boolean"), Just("Int64")]
                )
                    .prop_map(|(e, d)| T::Cast(Box::new(e), d)),
                inner.prop_map(|e| T::Alias(Box::new(e))),
            ]
        })
    }

    /// Polars' JSON of `t` with the number slots filled from `ints` / `floats` (indices into INTS / FLOATS).
    pub fn render(t: &T, ints: &[usize], floats: &[usize]) -> String {
        let r = |t: &T| render(t, ints, floats);
        match t {
            T::Column(c) => format!(r#"{{"Column":"c{c}"}}"#),
            T::Rolling(k) => {
                let w = INTS[ints[*k]];
                format!(
                    r#"{{"Function":{{"input":[{{"Column":"close"}}],"function":{{"RollingExpr":{{"function":"Mean","options":{{"window_size":{w},"min_periods":{w},"weights":null,"center":false,"fn_params":null}}}}}}}}}}"#
                )
            }
            T::Int(k) => format!(r#"{{"Literal":{{"Dyn":{{"Int":{}}}}}}}"#, INTS[ints[*k]]),
            T::Float(k) => format!(r#"{{"Literal":{{"Scalar":{{"Float64":{}}}}}}}"#, FLOATS[floats[*k]]),
            T::Bool(b) => format!(r#"{{"Literal":{{"Scalar":{{"Boolean":{b}}}}}}}"#),
            T::Null => r#"{"Literal":{"Scalar":{"Null":"Float64"}}}"#.to_string(),
            T::Binary(op, left, right) => {
                format!(
                    r#"{{"BinaryExpr":{{"left":{},"op":"{op}","right":{}}}}}"#,
                    r(left),
                    r(right)
                )
            }
            T::Ternary(p, t, f) => format!(
                r#"{{"Ternary":{{"predicate":{},"truthy":{},"falsy":{}}}}}"#,
                r(p),
                r(t),
                r(f)
            ),
            T::Function(function, inputs) => format!(
                r#"{{"Function":{{"input":[{}],"function":{function}}}}}"#,
                inputs.iter().map(r).collect::<Vec<_>>().join(",")
            ),
            T::Cast(e, dtype) => format!(
                r#"{{"Cast":{{"expr":{},"dtype":{{"Literal":"{dtype}"}},"options":"Strict"}}}}"#,
                r(e)
            ),
            T::Alias(e) => format!(r#"{{"Alias":[{},"name"]}}"#, r(e)),
        }
    }

    proptest! {
        /// Compiled from templates (field by field, or walking a whole struct) = compiled node by node: the
        /// same programs and the same leaves in the same order, whatever numbers the combinations hold.
        #[test]
        fn templates_compile_like_the_node_walk(
            trees in prop::collection::vec(tree(), 1..3),
            combos in prop::collection::vec(
                (prop::collection::vec(0..INTS.len(), 4), prop::collection::vec(0..FLOATS.len(), 4)),
                1..6,
            ),
            pretty in any::<bool>(),
        ) {
            let mut fields = Vec::new();
            for (ints, floats) in &combos {
                for t in &trees {
                    let json = render(t, ints, floats);
                    // some fields pretty-printed (whitespace between tokens): the same expression, other text
                    fields.push(if pretty && fields.len() % 2 == 1 {
                        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&json).unwrap()).unwrap()
                    } else {
                        json
                    });
                }
            }
            let mut walk = Compiler::default();
            let want: Vec<Program> = fields.iter().map(|f| walk.compile(f).unwrap()).collect();
            let mut shaped = Compiler::default();
            let got: Vec<Program> = fields.iter().map(|f| shaped.compile_shaped(f)).collect();
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(shaped.leaves(), walk.leaves());
            let function = format!(r#"{{"input":[{}],"function":"AsStruct"}}"#, fields.join(", "));
            let mut whole = Compiler::default();
            prop_assert_eq!(whole.compile_struct(&function), Some(want));
            prop_assert_eq!(whole.leaves(), walk.leaves());
        }
    }
}
