//! Static types of compiled programs, so that only what the kernel evaluates exactly as Polars does is
//! compiled; anything else (`None`) is handed back to Polars whole.
//!
//! The kernel computes in `f64`. That is exact for Float64 arithmetic, for comparisons, selections
//! (`when/then/otherwise`, `fill_null`) and casts of any numeric type, and for true division (Polars casts
//! integers to Float64 first). It is not exact where Polars computes in another type: integer `+ - *`
//! (wrapping, unsigned underflow), Float32 arithmetic, a literal rounded to Float32, integer negation and
//! `abs` (overflow at the minimum, unsigned types), casts to integers from numbers (truncation, strict
//! errors). Those return `None`.

/// The type of a column or literal, as far as exactness is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Bool,
    /// Any integer column or typed integer literal.
    Int,
    F32,
    F64,
    /// An untyped integer literal (`pl.lit(3)`): takes the other operand's type.
    DynInt,
    /// An untyped float literal (`pl.lit(0.5)`): takes a float operand's type, Float64 beside integers.
    DynFloat,
    /// A null literal or an all-null column: takes the other operand's type.
    Null,
}

impl Ty {
    /// The type of a Polars dtype name (`str(dtype)`, or a cast's JSON dtype); `None` for anything else.
    pub fn from_dtype(name: &str) -> Option<Self> {
        Some(match name {
            "Boolean" => Self::Bool,
            "Float64" => Self::F64,
            "Float32" => Self::F32,
            "Null" => Self::Null,
            "Int8" | "Int16" | "Int32" | "Int64" | "UInt8" | "UInt16" | "UInt32" | "UInt64" => Self::Int,
            _ => return None,
        })
    }

    fn numeric(self) -> bool {
        !matches!(self, Self::Bool | Self::Null)
    }
}

/// The type Polars casts both operands of a comparison, an arithmetic operation or a selection to, when the
/// kernel's `f64` holds it exactly; `None` otherwise.
pub fn supertype(a: Ty, b: Ty) -> Option<Ty> {
    use Ty::*;
    Some(match (a, b) {
        (Null, t) | (t, Null) => t,
        (a, b) if a == b => a,
        (Bool, _) | (_, Bool) => return None,
        (F64, _) | (_, F64) => F64,
        // Float32 beside a literal rounds the literal to f32; beside a small integer Polars computes in f32
        (F32, _) | (_, F32) => return None,
        (Int, DynInt) | (DynInt, Int) => Int,
        (Int, DynFloat) | (DynFloat, Int) => F64,
        (DynInt, DynFloat) | (DynFloat, DynInt) => DynFloat,
        _ => return None,
    })
}

/// What an operation accepts and returns; the instruction set of [`super::Instr`] maps onto these rules.
pub mod rules {
    use super::{supertype, Ty};
    use crate::vectorized::expr::{CastTo, Op, Unary};

    pub fn binary(op: Op, a: Ty, b: Ty) -> Option<Ty> {
        match op {
            Op::And | Op::Or | Op::Xor => match (a, b) {
                (Ty::Null, Ty::Null) => None,
                (Ty::Bool | Ty::Null, Ty::Bool | Ty::Null) => Some(Ty::Bool),
                _ => None, // `&` on integers is bitwise in Polars
            },
            Op::Gt | Op::GtEq | Op::Lt | Op::LtEq | Op::Eq | Op::NotEq => supertype(a, b).map(|_| Ty::Bool),
            Op::Add | Op::Sub | Op::Mul => supertype(a, b).filter(|t| matches!(t, Ty::F64 | Ty::DynFloat)),
            Op::Div => match supertype(a, b)? {
                Ty::F64 | Ty::Int => Some(Ty::F64),
                Ty::DynInt | Ty::DynFloat => Some(Ty::DynFloat),
                Ty::F32 | Ty::Bool | Ty::Null => None,
            },
        }
    }

    pub fn unary(op: Unary, a: Ty) -> Option<Ty> {
        match op {
            Unary::Not => (a == Ty::Bool).then_some(Ty::Bool),
            Unary::IsNull | Unary::IsNotNull => Some(Ty::Bool),
            // integers are never NaN; Polars refuses booleans
            Unary::IsNan | Unary::IsNotNan => (a != Ty::Bool).then_some(Ty::Bool),
            // not integers: `-0` is 0 there, unsigned types refuse, the minimum overflows
            Unary::Negate => matches!(a, Ty::F64 | Ty::F32 | Ty::DynFloat).then_some(a),
            Unary::Abs => matches!(a, Ty::F64 | Ty::F32 | Ty::DynFloat).then_some(a),
        }
    }

    pub fn cast(to: CastTo, a: Ty) -> Option<Ty> {
        match to {
            CastTo::F64 => Some(Ty::F64),
            CastTo::F32 => Some(Ty::F32),
            CastTo::Bool => Some(Ty::Bool), // a number is true when nonzero (NaN too)
            CastTo::Int => matches!(a, Ty::Bool | Ty::Null).then_some(Ty::Int),
        }
    }

    /// `clip` of a Float64 column by numeric bounds (a null or NaN bound is no bound).
    pub fn clip(x: Ty, bounds: &[Ty]) -> Option<Ty> {
        (x == Ty::F64 && bounds.iter().all(|b| b.numeric() || *b == Ty::Null)).then_some(Ty::F64)
    }

    /// `when(predicate).then(a).otherwise(b)` and `a.fill_null(b)`.
    pub fn select(a: Ty, b: Ty) -> Option<Ty> {
        supertype(a, b)
    }

    pub fn ternary(predicate: Ty, a: Ty, b: Ty) -> Option<Ty> {
        (predicate == Ty::Bool).then(|| supertype(a, b)).flatten()
    }
}

/// Static result type of a program given each leaf's type (`None`: a dtype outside the subset); `None`
/// when the program uses an operation the kernel would not evaluate exactly as Polars for these types.
pub fn result_type(code: &[super::Instr], leaves: &[Option<Ty>]) -> Option<Ty> {
    use super::Instr;
    let mut stack: Vec<Ty> = Vec::new();
    for instr in code {
        let arity = instr.arity();
        if stack.len() < arity {
            return None;
        }
        let args = stack.split_off(stack.len() - arity);
        let ty = match *instr {
            Instr::Leaf(id) => (*leaves.get(id as usize)?)?,
            Instr::Const { ty, .. } => ty,
            Instr::Binary(op) => rules::binary(op, args[0], args[1])?,
            Instr::Unary(op) => rules::unary(op, args[0])?,
            Instr::Cast(to) => rules::cast(to, args[0])?,
            Instr::FillNull => rules::select(args[0], args[1])?,
            Instr::Clip { .. } => rules::clip(args[0], &args[1..])?,
            Instr::Ternary => rules::ternary(args[0], args[1], args[2])?,
        };
        stack.push(ty);
    }
    (stack.len() == 1).then(|| stack[0])
}

#[cfg(test)]
mod tests {
    use super::Ty::*;
    use super::*;

    #[test]
    fn supertypes_keep_only_what_f64_holds_exactly() {
        assert_eq!(supertype(Int, DynFloat), Some(F64));
        assert_eq!(supertype(Null, Bool), Some(Bool));
        assert_eq!(supertype(F32, F64), Some(F64));
        assert_eq!(supertype(F32, DynFloat), None, "the literal would be rounded to f32");
        assert_eq!(supertype(Bool, F64), None);
        assert_eq!(Ty::from_dtype("UInt32"), Some(Int));
        assert_eq!(Ty::from_dtype("Decimal(10, 2)"), None);
    }
}
