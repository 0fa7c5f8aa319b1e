//! Compiling the elementwise top of signal expressions, so sweeps need one Polars query per *distinct*
//! sub-expression instead of one per parameter combination.
//!
//! A strategy's expressions for different combinations share their expensive parts (a moving average of a
//! given window) and differ in cheap elementwise tops (`fast > slow`). The compiler walks each expression's
//! serialized Polars tree: comparisons, Kleene `&`/`|`, `^`, `~`, `fill_null` and numeric/boolean literals
//! become a small postfix program; every other subtree becomes a *leaf*, deduplicated by its serialized
//! form, which Polars evaluates once. Programs are evaluated column-at-a-time by `super::eval`.

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
    fn bitwise_and_on_numbers_is_left_to_polars() {
        let mut c = Compiler::default();
        let p = c
            .compile(r#"{"BinaryExpr":{"left":{"Column":"a"},"op":"And","right":{"Column":"b"}}}"#)
            .unwrap();
        assert_eq!(result_is_bool(&p, &[false, false]), None);
        assert_eq!(result_is_bool(&p, &[true, true]), Some(true));
    }
}
