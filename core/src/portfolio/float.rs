//! Tolerant float comparisons for money and quantities.
//!
//! Cash and positions are sums of products, so exact zero tests are unreliable: a position sold in full
//! can leave `1e-17` behind. These helpers treat values within `REL_TOL` (relative) or `ABS_TOL`
//! (absolute) as equal, the convention vectorbt uses, which the vectorized mode must match bit for bit.

pub const REL_TOL: f64 = 1e-9;
pub const ABS_TOL: f64 = 1e-12;

/// `a` and `b` are equal within tolerance (never true for NaN or infinities, unless identical).
pub fn is_close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() || a.is_infinite() || b.is_infinite() {
        return false;
    }
    a == b || (a - b).abs() <= (REL_TOL * a.abs().max(b.abs())).max(ABS_TOL)
}

pub fn is_close_or_less(a: f64, b: f64) -> bool {
    is_close(a, b) || a < b
}

pub fn is_less(a: f64, b: f64) -> bool {
    !is_close(a, b) && a < b
}

/// `a + b`, snapped to exactly 0 when the two cancel within tolerance.
pub fn add(a: f64, b: f64) -> f64 {
    let cancels = if a.signum() != b.signum() {
        is_close(a.abs(), b.abs())
    } else {
        is_close(a + b, 0.0)
    };
    if cancels {
        0.0
    } else {
        a + b
    }
}

/// `x`, snapped to exactly 0 when it is within tolerance of 0.
pub fn snap_zero(x: f64) -> f64 {
    if is_close(x, 0.0) {
        0.0
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_snaps_cancellation_to_zero() {
        assert_eq!(add(0.1 + 0.2, -0.3), 0.0);
        assert_eq!(add(1.0, 2.0), 3.0);
        assert_eq!(add(1e6, -1e6 * (1.0 + 1e-12)), 0.0);
        assert!(add(1.0, -0.5) == 0.5);
    }

    #[test]
    fn comparisons_are_tolerant_but_not_for_nan_or_inf() {
        assert!(is_close(1e9, 1e9 + 1.0));
        assert!(!is_close(f64::NAN, f64::NAN));
        assert!(!is_close(f64::INFINITY, f64::INFINITY));
        assert!(is_close_or_less(1.0, 1.0 + 1e-12));
        assert!(!is_less(1.0, 1.0 + 1e-12));
        assert!(is_less(1.0, 1.1));
    }
}
