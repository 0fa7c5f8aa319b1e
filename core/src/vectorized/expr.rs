//! Compiling the elementwise top of signal expressions, so sweeps need one Polars query per *distinct*
//! sub-expression instead of one per parameter combination.
//!
//! A strategy's expressions for different combinations share their expensive parts (a moving average of a
//! given window, a cross-sectional rank) and differ in cheap elementwise tops (`fast > slow`,
//! `when(rank <= k).then(1 / k).otherwise(0)`). The compiler walks each expression's serialized Polars
//! tree: comparisons, Kleene `&`/`|`, `^`, `~`, `+ - * /`, negation, `abs`, `clip`, casts,
//! `is_null`/`is_not_null`, `is_nan`/`is_not_nan` (so `fill_nan`), `fill_null`, `when/then/otherwise` and numeric/boolean/null literals become a
//! small postfix program; every other subtree becomes a *leaf*, deduplicated by its serialized form, which
//! Polars evaluates once. Programs are evaluated column-at-a-time by `super::eval`; [`result_type`] decides,
//! once the leaves' dtypes are known, whether that evaluation is exact (else Polars evaluates the whole
//! expression).
//!
//! Two structural rules are decided here: a division is compiled only when its divisor is leaf-free (a
//! literal expression): Polars divides by a scalar as a multiplication by its reciprocal and by a column
//! elementwise, and a leaf may be a scalar (`x.sum()`) that only Polars knows to be one. And a division
//! whose dividend holds a `when/then/otherwise` is left to Polars whole: Polars divides the branches
//! separately or the broadcast result by the reciprocal depending on the predicate's shape (found by the
//! property test: `when(true).then(3.0).otherwise(x) / 158640615202251.0` is 3 * (1/d), `when(x > 0)...`
//! is 3 / d).

pub(crate) mod json;
mod shape;
mod types;

use std::collections::HashMap;
use std::ops::Range;

use serde_json::value::RawValue;

use self::json::{array, get, object, single};
use self::shape::{Shaped, Template};

pub use self::types::{result_type, Ty};
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
    Add,
    Sub,
    Mul,
    /// True division (`/`); floor division (`//`) and `%` stay with Polars.
    Div,
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
            "Plus" => Self::Add,
            "Minus" => Self::Sub,
            "Multiply" => Self::Mul,
            "TrueDivide" => Self::Div,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unary {
    Not,
    Negate,
    Abs,
    IsNull,
    IsNotNull,
    IsNan,
    IsNotNan,
}

/// The target of a compiled cast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CastTo {
    F64,
    /// Rounds to the nearest f32.
    F32,
    /// Nonzero (NaN included) is true.
    Bool,
    /// Any integer type (compiled from booleans only).
    Int,
}

impl CastTo {
    fn parse(name: &str) -> Option<Self> {
        Some(match Ty::from_dtype(name)? {
            Ty::F64 => Self::F64,
            Ty::F32 => Self::F32,
            Ty::Bool => Self::Bool,
            Ty::Int => Self::Int,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Instr {
    Leaf(u32),
    Const {
        value: f64,
        valid: bool,
        ty: Ty,
    },
    Binary(Op),
    Unary(Unary),
    Cast(CastTo),
    /// `value.fill_null(fill)`: pops fill, value.
    FillNull,
    /// `x.clip(lower, upper)`: pops the bounds present, then x. A null or NaN bound is no bound; `x < lower`
    /// is checked first, so `lower` wins when the bounds cross (as in Polars).
    Clip {
        lower: bool,
        upper: bool,
    },
    /// `when(predicate).then(truthy).otherwise(falsy)`: pops falsy, truthy, predicate. A null predicate
    /// picks `falsy`.
    Ternary,
}

impl Instr {
    /// How many operands the instruction pops.
    pub fn arity(&self) -> usize {
        match self {
            Self::Leaf(_) | Self::Const { .. } => 0,
            Self::Unary(_) | Self::Cast(_) => 1,
            Self::Binary(_) | Self::FillNull => 2,
            Self::Clip { lower, upper } => 1 + usize::from(*lower) + usize::from(*upper),
            Self::Ternary => 3,
        }
    }
}

/// A compiled expression (postfix).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Program {
    pub code: Vec<Instr>,
}

/// The suffixes of the serialized `Function` nodes the compiler knows: Polars writes a function's `input`
/// before its `function`, so every other function node is a leaf without parsing. (Were that order to
/// change, such nodes would become leaves: slower, never wrong.)
const FUNCTIONS: [&str; 9] = [
    r#""function":"FillNull"}}"#,
    r#""function":{"Boolean":"Not"}}}"#,
    r#""function":{"Boolean":"IsNull"}}}"#,
    r#""function":{"Boolean":"IsNotNull"}}}"#,
    r#""function":{"Boolean":"IsNan"}}}"#,
    r#""function":{"Boolean":"IsNotNan"}}}"#,
    r#""function":"Negate"}}"#,
    r#""function":"Abs"}}"#,
    r#""function":{"Clip":{"#,
];

fn known_function(text: &str) -> bool {
    text.rfind(r#""function":"#)
        .is_some_and(|at| FUNCTIONS.iter().any(|f| text[at..].starts_with(f)))
}

/// The templates a compiler keeps: past them, an expression of a new shape is compiled node by node without
/// tracing (expressions whose shapes never repeat, e.g. a column name per combination, would pay the trace and
/// the table for nothing: 1.4x the time of compiling without templates, on 2,500 such combinations).
const MAX_SHAPES: usize = 256;

/// Per traced instruction (`Leaf` / `Const`, in code order): the byte range of its leaf or number in the
/// text being compiled (None: a boolean or null literal).
type Traced = Vec<Option<Range<usize>>>;

/// Compiles many expressions against one table of deduplicated leaves.
///
/// Works on the raw JSON text: each node is parsed only as far as its own kind (a one-key object whose
/// children stay unparsed slices, see [`json`]), so the many repeated copies of a shared subtree (a moving
/// average that appears in thousands of combinations) are scanned but never built into trees. Leaves are
/// deduplicated by their JSON text, which Polars writes deterministically, and only distinct leaves are
/// copied out. Through [`Compiler::compile_shaped`] / [`Compiler::compile_struct`], an expression whose
/// shape (its text with the numbers masked) an earlier one had is compiled from that one's template, its
/// leaves' texts and literals substituted ([`shape`]).
#[derive(Debug, Default)]
pub struct Compiler {
    leaves: Vec<String>,
    index: HashMap<String, u32>,
    /// While a template is compiled ([`Compiler::compile_shaped`]): the text's address and, per `Leaf` /
    /// `Const` instruction in code order, the byte range of its leaf or number (None: a boolean or null).
    trace: Option<(usize, Traced)>,
    /// The templates by shape (None: a shape whose trace did not fit, compiled node by node).
    shapes: HashMap<Vec<u8>, Option<Template>>,
    shaped: Shaped,
}

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
        self.compile_valid(raw.get())
    }

    /// Compile an expression given as JSON text that serde_json has validated (a slice of a `&RawValue`, or
    /// an item [`json`] found in one): other text compiles to unspecified programs.
    pub fn compile_valid(&mut self, text: &str) -> Program {
        let mut program = Program::default();
        self.node(text, &mut program.code);
        program
    }

    /// The programs of the fields of a serialized `pl.struct(...)`: `function` is its `"Function"` object
    /// (`{"input": [fields...], "function": "AsStruct"}`), valid JSON. Each field is compiled by
    /// [`Compiler::compile_shaped`]'s rule, split as the input array is walked: one scan of the text. None
    /// when `function` is not such an object, or names its input twice (the caller then reads the fields
    /// with [`json`] and compiles them one by one with a new compiler).
    pub fn compile_struct(&mut self, function: &str) -> Option<Vec<Program>> {
        let (mut programs, mut inputs) = (Vec::new(), 0);
        json::walk_object(function, |key, start| {
            if key != "input" {
                return json::skip(function, start);
            }
            inputs += 1;
            json::walk_array(function, start, |item| {
                let end = self.shaped.split(function, item)?;
                programs.push(self.compile_split(function.get(item..end)?));
                Some(end)
            })
        })?;
        (inputs == 1).then_some(programs)
    }

    /// Compile an expression given as JSON text that serde_json has validated, like
    /// [`Compiler::compile_valid`], from the template of its shape when an earlier expression had the same
    /// (see [`shape`]): the same program and leaves, without walking the nodes again.
    pub fn compile_shaped(&mut self, text: &str) -> Program {
        match self.shaped.split(text, 0) {
            Some(end) if end == text.len() => self.compile_split(text),
            _ => self.compile_valid(text),
        }
    }

    /// [`Compiler::compile_shaped`] of `text`, already split into `self.shaped`.
    fn compile_split(&mut self, text: &str) -> Program {
        if let Some(template) = self.shapes.get(self.shaped.shape.as_slice()) {
            let Some(template) = template else {
                return self.compile_valid(text);
            };
            let (leaves, index) = (&mut self.leaves, &mut self.index);
            if let Some(code) = template.instantiate(text, &self.shaped, |leaf| register(leaves, index, leaf)) {
                return Program { code };
            }
            return self.compile_valid(text);
        }
        if self.shapes.len() >= MAX_SHAPES {
            return self.compile_valid(text); // shapes that rarely repeat (a column per combination): no templates
        }
        self.trace = Some((text.as_ptr() as usize, Vec::new()));
        let program = self.compile_valid(text);
        let traced = self.trace.take().map(|(_, t)| t).unwrap_or_default();
        let template = Template::new(&self.shaped, &program.code, &traced);
        self.shapes.insert(self.shaped.shape.clone(), template);
        program
    }

    /// Serialized Polars expressions of the leaves, in id order.
    pub fn leaves(&self) -> &[String] {
        &self.leaves
    }

    fn leaf(&mut self, text: &str, code: &mut Vec<Instr>) {
        code.push(Instr::Leaf(register(&mut self.leaves, &mut self.index, text)));
        self.traced(Some(text));
    }

    /// Trace a `Leaf` / `Const` instruction just pushed: the text of its leaf or number (None: a boolean or
    /// null literal), a slice of the text being compiled.
    fn traced(&mut self, text: Option<&str>) {
        if let Some((base, traced)) = &mut self.trace {
            traced.push(text.map(|t| {
                let start = t.as_ptr() as usize - *base;
                start..start + t.len()
            }));
        }
    }

    /// Compile `text` only if it reads no leaf (a literal expression, evaluated once per program run);
    /// otherwise undo any leaf it registered and return `None`.
    /// Its traced instructions come back with it (the caller places its code after the dividend's).
    fn leaf_free(&mut self, text: &str) -> Option<(Vec<Instr>, Traced)> {
        let known = self.leaves.len();
        let mut code = Vec::new();
        let outer = self.trace.as_mut().map(|(_, t)| std::mem::take(t));
        self.node(text, &mut code);
        let traced = match (&mut self.trace, outer) {
            (Some((_, t)), Some(outer)) => std::mem::replace(t, outer),
            _ => Vec::new(),
        };
        if code.iter().any(|i| matches!(i, Instr::Leaf(_))) {
            for text in self.leaves.drain(known..) {
                self.index.remove(&text);
            }
            return None;
        }
        Some((code, traced))
    }

    /// Compile the node `text`: valid JSON (a slice of a `&RawValue`), read with [`json`]'s scanner.
    fn node(&mut self, text: &str, code: &mut Vec<Instr>) {
        if text.starts_with(r#"{"Function""#) && !known_function(text) {
            return self.leaf(text, code);
        }
        let Some((kind, body)) = object(text).as_ref().and_then(single) else {
            return self.leaf(text, code);
        };
        let parts = || object(body);
        let compiled = match kind {
            "Alias" => array(body)
                .and_then(|a| a.first().copied())
                .map(|inner| self.node(inner, code)),
            "BinaryExpr" => parts().and_then(|p| {
                let op = Op::parse(get(&p, "op")?.trim_matches('"'))?;
                let (left, right) = (get(&p, "left")?, get(&p, "right")?);
                if op == Op::Div && left.contains(r#"{"Ternary""#) {
                    return None; // Polars' optimizer rewrites a when/then divided by a scalar: Polars decides
                }
                let divisor = if op == Op::Div {
                    Some(self.leaf_free(right)?)
                } else {
                    None
                };
                self.node(left, code);
                match divisor {
                    Some((divisor, traced)) => {
                        code.extend(divisor);
                        if let Some((_, t)) = &mut self.trace {
                            t.extend(traced);
                        }
                    }
                    None => self.node(right, code),
                }
                code.push(Instr::Binary(op));
                Some(())
            }),
            "Function" => parts().and_then(|p| {
                let inputs = array(get(&p, "input")?)?;
                let instr = function(get(&p, "function")?, inputs.len())?;
                for input in inputs {
                    self.node(input, code);
                }
                code.push(instr);
                Some(())
            }),
            "Ternary" => parts().and_then(|p| {
                let branches = [get(&p, "predicate")?, get(&p, "truthy")?, get(&p, "falsy")?];
                for branch in branches {
                    self.node(branch, code);
                }
                code.push(Instr::Ternary);
                Some(())
            }),
            "Cast" => parts().and_then(|p| {
                let dtype: HashMap<&str, &str> = serde_json::from_str(get(&p, "dtype")?).ok()?;
                let to = CastTo::parse(dtype.get("Literal")?)?;
                self.node(get(&p, "expr")?, code);
                code.push(Instr::Cast(to));
                Some(())
            }),
            "Literal" => literal(body).map(|(instr, number)| {
                code.push(instr);
                self.traced(number);
            }),
            _ => None,
        };
        if compiled.is_none() {
            self.leaf(text, code);
        }
    }
}

/// The id of the leaf `text` in `leaves` / `index`, registered when new.
fn register(leaves: &mut Vec<String>, index: &mut HashMap<String, u32>, text: &str) -> u32 {
    match index.get(text) {
        Some(&id) => id,
        None => {
            let id = leaves.len() as u32;
            index.insert(text.to_owned(), id);
            leaves.push(text.to_owned());
            id
        }
    }
}

/// The instruction of a compiled function with `n_inputs` inputs (`function` is its serialized JSON).
fn function(function: &str, n_inputs: usize) -> Option<Instr> {
    let instr = match function.replace(' ', "").as_str() {
        r#""FillNull""# => Instr::FillNull,
        r#"{"Boolean":"Not"}"# => Instr::Unary(Unary::Not),
        r#"{"Boolean":"IsNull"}"# => Instr::Unary(Unary::IsNull),
        r#"{"Boolean":"IsNotNull"}"# => Instr::Unary(Unary::IsNotNull),
        r#"{"Boolean":"IsNan"}"# => Instr::Unary(Unary::IsNan),
        r#"{"Boolean":"IsNotNan"}"# => Instr::Unary(Unary::IsNotNan),
        r#""Negate""# => Instr::Unary(Unary::Negate),
        r#""Abs""# => Instr::Unary(Unary::Abs),
        other => {
            let clip: HashMap<&str, HashMap<&str, bool>> = serde_json::from_str(other).ok()?;
            let flags = clip.get("Clip")?;
            Instr::Clip {
                lower: *flags.get("has_min")?,
                upper: *flags.get("has_max")?,
            }
        }
    };
    (instr.arity() == n_inputs).then_some(instr)
}

/// Numeric, boolean and null scalar literals; anything else (strings, dates, series) stays a Polars leaf.
/// Numbers are parsed from their JSON text by Rust's correctly rounded parser (Polars writes the shortest
/// text that round-trips; serde_json's own float parsing may land an ulp or two off).
/// With the literal's number text (None for a boolean or null).
fn literal(body: &str) -> Option<(Instr, Option<&str>)> {
    let forms: HashMap<&str, HashMap<&str, &RawValue>> = serde_json::from_str(body).ok()?;
    let (&form, inner) = forms.iter().next().filter(|_| forms.len() == 1)?;
    let (&name, &x) = inner.iter().next().filter(|_| inner.len() == 1)?;
    let ty = match (form, name) {
        ("Dyn", "Int") => Ty::DynInt,
        ("Dyn", "Float") => Ty::DynFloat,
        ("Scalar", "Null") => {
            // a typed null: `{"Null": "Float64"}`
            let ty = Ty::from_dtype(x.get().trim_matches('"'))?;
            let instr = Instr::Const {
                value: 0.0,
                valid: false,
                ty,
            };
            return Some((instr, None));
        }
        ("Scalar", "Boolean") => {
            let value = match x.get() {
                "true" => 1.0,
                "false" => 0.0,
                _ => return None,
            };
            let instr = Instr::Const {
                value,
                valid: true,
                ty: Ty::Bool,
            };
            return Some((instr, None));
        }
        ("Scalar", dtype) => Ty::from_dtype(dtype).filter(|t| matches!(t, Ty::Int | Ty::F32 | Ty::F64))?,
        _ => return None,
    };
    let value: f64 = x.get().parse().ok()?;
    Some((Instr::Const { value, valid: true, ty }, Some(x.get())))
}

/// The types of the leaves from their Polars dtype names (`str(dtype)`); `None` for an unknown dtype.
pub fn leaf_types<S: AsRef<str>>(dtypes: &[S]) -> Vec<Option<Ty>> {
    dtypes.iter().map(|d| Ty::from_dtype(d.as_ref())).collect()
}

/// Static result type of a program: `Some(true)` boolean, `Some(false)` number (or all null), `None` when
/// the program uses an operation the kernel would not evaluate exactly as Polars for these leaf types (e.g.
/// `&` on integers is bitwise, integer `+` wraps), in which case the caller evaluates the expression with
/// Polars instead.
pub fn result_is_bool(program: &Program, leaves: &[Option<Ty>]) -> Option<bool> {
    result_type(&program.code, leaves).map(|t| t == Ty::Bool)
}

#[cfg(test)]
mod tests;
