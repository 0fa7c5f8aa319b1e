//! Market impact that grows with the fill's share of the bar's volume (the square-root law).

use super::{non_negative, slip, FillContext, SlippageModel};
use crate::error::{Context, CoreError, CoreResult};

/// Moves the price by `coefficient * (quantity / bar_volume) ^ exponent` of itself against the trader,
/// clamped to the bar (see [`SlippageModel::fill_price`]).
///
/// `quantity / bar_volume` is the fill's participation in the bar (both in units; the multiplier plays no
/// part), so `coefficient` is the fractional move of a fill as large as the whole bar. With the default
/// exponent of 0.5 this is the square-root impact law, `coefficient` standing for `Y * volatility`.
/// Choices to know:
/// - an unknown or unusable volume (`bar_volume` NaN, zero or negative) means **no impact**: the fill is
///   priced as if the model were absent rather than refused (optimistic: feed volumes to get impact);
/// - participation above 1 (a fill larger than the bar, possible without a volume cap) is not capped here:
///   the bar clamp bounds the price, and when the bar is unknown a sell's move is capped at 100% (price 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolumeImpactSlippage {
    coefficient: f64,
    exponent: f64,
}

impl VolumeImpactSlippage {
    /// The square-root law's exponent, the default.
    pub const SQUARE_ROOT: f64 = 0.5;

    /// `coefficient` is finite and >= 0; `exponent` is finite and > 0.
    pub fn new(coefficient: f64, exponent: f64) -> CoreResult<Self> {
        const MODEL: &str = "VolumeImpactSlippage";
        if !(exponent.is_finite() && exponent > 0.0) {
            return Err(CoreError::config(
                format!("{MODEL}: exponent must be finite and > 0, got {exponent}"),
                Context::argument("exponent"),
            ));
        }
        Ok(Self {
            coefficient: non_negative(MODEL, "coefficient", coefficient)?,
            exponent,
        })
    }

    /// The square-root law: `new(coefficient, 0.5)`.
    pub fn square_root(coefficient: f64) -> CoreResult<Self> {
        Self::new(coefficient, Self::SQUARE_ROOT)
    }

    /// The fractional move of a fill as large as its bar's volume.
    pub fn coefficient(&self) -> f64 {
        self.coefficient
    }

    /// How the move grows with participation (0.5: square root).
    pub fn exponent(&self) -> f64 {
        self.exponent
    }

    /// The fractional price move of `fill` before the bar clamp; 0 when the bar's volume is unknown.
    pub fn impact(&self, fill: &FillContext) -> f64 {
        if fill.bar_volume.is_nan() || fill.bar_volume <= 0.0 {
            return 0.0;
        }
        self.coefficient * (fill.quantity / fill.bar_volume).powf(self.exponent)
    }
}

impl SlippageModel for VolumeImpactSlippage {
    fn fill_price(&self, fill: &FillContext) -> f64 {
        slip(fill, self.impact(fill))
    }

    fn uses_volume(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, assert_config_error};
    use super::super::Side;
    use super::*;

    fn fill(side: Side, quantity: f64, volume: f64) -> FillContext {
        FillContext::new(side, quantity, 100.0).with_bar(f64::NAN, f64::NAN, volume)
    }

    #[test]
    fn moves_the_price_by_the_square_root_of_participation() {
        let model = VolumeImpactSlippage::square_root(0.1).unwrap();
        // 1% of the bar: 0.1 * sqrt(0.01) = 1%.
        assert_close(model.fill_price(&fill(Side::Buy, 100.0, 10_000.0)), 101.0);
        assert_close(model.fill_price(&fill(Side::Sell, 100.0, 10_000.0)), 99.0);
        // 4x the size, 2x the impact.
        assert_close(model.fill_price(&fill(Side::Buy, 400.0, 10_000.0)), 102.0);
    }

    #[test]
    fn other_exponents() {
        let linear = VolumeImpactSlippage::new(0.1, 1.0).unwrap();
        assert_close(linear.fill_price(&fill(Side::Buy, 500.0, 1000.0)), 105.0);
    }

    #[test]
    fn unknown_or_zero_volume_means_no_impact() {
        let model = VolumeImpactSlippage::square_root(0.1).unwrap();
        for volume in [f64::NAN, 0.0, -5.0] {
            assert_eq!(model.fill_price(&fill(Side::Buy, 100.0, volume)), 100.0);
            assert_eq!(model.impact(&fill(Side::Sell, 100.0, volume)), 0.0);
        }
    }

    #[test]
    fn large_fills_are_clamped_to_the_bar_or_to_zero() {
        let model = VolumeImpactSlippage::square_root(0.1).unwrap();
        let whole_bar = FillContext::new(Side::Buy, 1000.0, 100.0).with_bar(102.0, 97.0, 1000.0);
        assert_eq!(model.fill_price(&whole_bar), 102.0); // 10% move, capped at the high
        assert_eq!(
            model.fill_price(&FillContext {
                side: Side::Sell,
                ..whole_bar
            }),
            97.0
        );
        // 400x the bar with no bar prices: a 200% move, a sell floored at 0.
        assert_eq!(model.fill_price(&fill(Side::Sell, 400.0, 1.0)), 0.0);
    }

    #[test]
    fn rejects_invalid_parameters_naming_them() {
        for bad in [-0.1, f64::NAN, f64::INFINITY] {
            assert_config_error(VolumeImpactSlippage::new(bad, 0.5), "coefficient");
        }
        for bad in [0.0, -0.5, f64::NAN, f64::INFINITY] {
            assert_config_error(VolumeImpactSlippage::new(0.1, bad), "exponent");
        }
    }
}
