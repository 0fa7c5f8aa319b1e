//! Cost models: what one fill pays in commission, and how far slippage moves its price.
//!
//! Both modes ask the same two pluggable models about every fill, in this order (the event engine's matcher
//! through [`apply_costs`], the vectorized kernel through the ledger's `portfolio::Costs`):
//! 1. a [`SlippageModel`] turns the price the order would fill at (the bar's open, a limit or a stop price)
//!    into the price it actually fills at: never better for the trader, never outside the bar when the bar's
//!    range is given (the vectorized mode, like vectorbt, gives none);
//! 2. a [`CommissionModel`] charges the fill on its traded value *at the slipped price*.
//!
//! Both are pure functions of one [`FillContext`]: no state, no clock, no randomness, so equal fills cost the
//! same in every run and in both modes. Costs are charged per *fill*: an order filled in parts over several
//! bars pays per-order amounts (a fixed fee, a per-share minimum) once for each part. This overstates a
//! broker that charges per order, which is the conservative side for a backtest.
//!
//! One implementation per file; [`registry`] builds them by name from `(name, parameters)`, the form both
//! modes' settings lower to. Traded value is `quantity * price * multiplier` ([`FillContext::traded_value`]).
//!
//! The ledger also needs a commission's inverse to size an all-in order ([`CommissionModel::max_quantity`]).
//!
//! | model | commission, or price move against the trader |
//! |---|---|
//! | [`PercentCommission`] | `rate * traded value` |
//! | [`PerShareCommission`] | `per_share * quantity`, at least `minimum`, at most `maximum_rate * traded value` |
//! | [`FixedCommission`] | `per_order` |
//! | [`TieredCommission`] | `rate of the bracket holding the traded value * traded value` |
//! | [`NoCommission`] | `0` |
//! | [`SumCommission`] | the sum of its parts (`fees` plus `fixed_fees` in the vectorized mode) |
//! | [`PercentSlippage`] | `price * rate` (the vectorized mode's `slippage`) |
//! | [`BpsSlippage`] | `price * bps / 1e4` |
//! | [`HalfSpreadSlippage`] | `price * spread_bps / 2e4` |
//! | [`VolumeImpactSlippage`] | `price * coefficient * (quantity / bar_volume) ^ exponent` |
//! | [`NoSlippage`] | `0` |

mod bps_slippage;
mod fixed_commission;
mod half_spread_slippage;
mod no_commission;
mod no_slippage;
mod per_share_commission;
mod percent_commission;
mod percent_slippage;
pub mod registry;
mod sum_commission;
mod tiered_commission;
mod volume_impact_slippage;

pub use bps_slippage::BpsSlippage;
pub use fixed_commission::FixedCommission;
pub use half_spread_slippage::HalfSpreadSlippage;
pub use no_commission::NoCommission;
pub use no_slippage::NoSlippage;
pub use per_share_commission::PerShareCommission;
pub use percent_commission::PercentCommission;
pub use percent_slippage::PercentSlippage;
pub use sum_commission::SumCommission;
pub use tiered_commission::TieredCommission;
pub use volume_impact_slippage::VolumeImpactSlippage;

use crate::error::{Context, CoreError, CoreResult};

/// Which way a fill trades: the ledger's one `Side` (a buy's slippage moves its price up, a sale's down).
pub use crate::portfolio::Side;

/// What a fill looks like to a cost model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FillContext {
    /// Buy or sell.
    pub side: Side,
    /// Units filled (shares, contracts); > 0.
    pub quantity: f64,
    /// Price per unit before slippage; > 0.
    pub price: f64,
    /// Volume of the bar the fill happens in, in the units of `quantity`; NaN if unknown.
    pub bar_volume: f64,
    /// High of that bar; NaN if unknown (then slippage is not capped from above).
    pub bar_high: f64,
    /// Low of that bar; NaN if unknown (then slippage is not floored from below).
    pub bar_low: f64,
    /// Contract multiplier: account currency per unit per point of price (1 for stocks).
    pub multiplier: f64,
}

impl FillContext {
    /// A fill of `quantity` units at `price`, with no bar information (volume, high and low NaN) and a
    /// multiplier of 1.
    pub fn new(side: Side, quantity: f64, price: f64) -> Self {
        Self {
            side,
            quantity,
            price,
            bar_volume: f64::NAN,
            bar_high: f64::NAN,
            bar_low: f64::NAN,
            multiplier: 1.0,
        }
    }

    /// The same fill, inside a bar with this high, low and volume.
    pub fn with_bar(self, high: f64, low: f64, volume: f64) -> Self {
        Self {
            bar_high: high,
            bar_low: low,
            bar_volume: volume,
            ..self
        }
    }

    /// The same fill, of a contract with this multiplier.
    pub fn with_multiplier(self, multiplier: f64) -> Self {
        Self { multiplier, ..self }
    }

    /// The same fill, at another price (e.g. the price after slippage).
    pub fn with_price(self, price: f64) -> Self {
        Self { price, ..self }
    }

    /// Traded value in account currency: `quantity * price * multiplier`.
    pub fn traded_value(&self) -> f64 {
        self.quantity * self.price * self.multiplier
    }
}

/// A commission of the form `rate * traded value + fixed` (see [`CommissionModel::linear`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Linear {
    /// Fraction of traded value.
    pub rate: f64,
    /// Account currency per fill.
    pub fixed: f64,
}

/// Prices the commission of one fill.
pub trait CommissionModel: Send + Sync + std::fmt::Debug {
    /// Commission in account currency for one fill (>= 0, and finite when the fill's fields are).
    fn commission(&self, fill: &FillContext) -> f64;

    /// `Some` when the commission is `rate * traded value + fixed` for every fill (percent, fixed per order,
    /// none, and their sums): sizing then has vectorbt's closed forms. `None` (the default) otherwise.
    fn linear(&self) -> Option<Linear> {
        None
    }

    /// The largest quantity a fill at `fill.price` may have so that its traded value plus its commission
    /// stays within `budget`: `q * price * multiplier + commission(q) <= budget` (0 when not even the
    /// commission fits; the other fields of `fill` are kept). The inverse the ledger sizes all-in orders with.
    ///
    /// Linear models solve it in closed form, `(budget - fixed) / (1 + rate) / (price * multiplier)`;
    /// the default bisects on the quantity, which is exact to a few ulps when the total cost never falls as
    /// the quantity grows (true of per-share with a minimum and a cap). A model where it can fall (tiered,
    /// whose rate drops at a bracket bound) overrides this.
    fn max_quantity(&self, budget: f64, fill: &FillContext) -> f64 {
        let unit = fill.price * fill.multiplier;
        if let Some(Linear { rate, fixed }) = self.linear() {
            return (crate::portfolio::float::add(budget, -fixed) / (1.0 + rate) / unit).max(0.0);
        }
        let cost = |quantity: f64| quantity * unit + self.commission(&FillContext { quantity, ..*fill });
        bisect_quantity(budget, unit, cost)
    }
}

/// The largest quantity in `[0, budget / unit]` whose `cost` is within `budget`, for a `cost` that never
/// falls as the quantity grows (0 if even the smallest quantity costs too much).
fn bisect_quantity(budget: f64, unit: f64, cost: impl Fn(f64) -> f64) -> f64 {
    let mut high = budget / unit;
    if !(high.is_finite() && high > 0.0) {
        return 0.0;
    }
    if cost(high) <= budget {
        return high;
    }
    let mut low = 0.0;
    loop {
        let mid = 0.5 * (low + high);
        if mid <= low || mid >= high {
            return low;
        }
        if cost(mid) <= budget {
            low = mid;
        } else {
            high = mid;
        }
    }
}

/// Moves the price of one fill against the trader.
pub trait SlippageModel: Send + Sync + std::fmt::Debug {
    /// The fill price after slippage: worse for the trader (higher for buys, lower for sells), never
    /// outside `[bar_low, bar_high]` when those are finite (a fill cannot print outside its bar).
    ///
    /// Slippage only ever limits its own move: if `fill.price` is itself outside the bar (inconsistent
    /// input), it is returned unchanged rather than "clamped" to a better price.
    fn fill_price(&self, fill: &FillContext) -> f64;

    /// Whether the move depends on the fill's quantity and the bar's volume (volume impact). The vectorized
    /// mode prices a fill before sizing it and has no volume, so it refuses such a model.
    fn uses_volume(&self) -> bool {
        false
    }
}

/// The cost of one fill: its price after slippage, and the commission charged on that price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostedFill {
    /// Fill price after slippage.
    pub price: f64,
    /// Commission in account currency, charged at `price`.
    pub commission: f64,
}

/// Apply `slippage`, then charge `commission` on the slipped fill (the vectorized mode's order).
pub fn apply_costs(fill: &FillContext, slippage: &dyn SlippageModel, commission: &dyn CommissionModel) -> CostedFill {
    let price = slippage.fill_price(fill);
    CostedFill {
        price,
        commission: commission.commission(&fill.with_price(price)),
    }
}

/// `fill.price` moved against the trader by `fraction` of itself, limited by the bar.
///
/// Buys pay `price * (1 + fraction)`, capped at a finite `bar_high`. Sells get `price * (1 - fraction)`,
/// floored at a finite `bar_low`, and never below 0 (the fraction is capped at 1 for sells, which only
/// binds when the bar's low is unknown). The result is never better than `fill.price`; a fraction of 0
/// (or NaN) returns `fill.price` exactly.
fn slip(fill: &FillContext, fraction: f64) -> f64 {
    if fraction.is_nan() || fraction <= 0.0 {
        return fill.price;
    }
    match fill.side {
        Side::Buy => {
            let moved = fill.price * (1.0 + fraction);
            let capped = if fill.bar_high.is_finite() {
                moved.min(fill.bar_high)
            } else {
                moved
            };
            capped.max(fill.price)
        }
        Side::Sell => {
            let moved = fill.price * (1.0 - fraction.min(1.0));
            let floored = if fill.bar_low.is_finite() {
                moved.max(fill.bar_low)
            } else {
                moved
            };
            floored.min(fill.price)
        }
    }
}

/// `value` if it lies in `[0, max]` (so it is not NaN), else a config error naming `model` and `argument`.
fn in_range(model: &str, argument: &str, value: f64, max: f64) -> CoreResult<f64> {
    if (0.0..=max).contains(&value) {
        return Ok(value.abs()); // -0.0 becomes 0.0, so a free model never charges "-0"
    }
    let bound = if max == f64::MAX {
        "finite and >= 0".to_owned()
    } else {
        format!("in [0, {max}]")
    };
    Err(CoreError::config(
        format!("{model}: {argument} must be {bound}, got {value}"),
        Context::argument(argument),
    ))
}

/// `value` if it is finite and >= 0, else a config error naming `model` and `argument`.
fn non_negative(model: &str, argument: &str, value: f64) -> CoreResult<f64> {
    in_range(model, argument, value, f64::MAX)
}

/// A fraction of traded value, in `[0, 1]`: a commission above the whole traded value is always a unit
/// mistake (a percent or bps figure passed as a fraction).
fn rate(model: &str, argument: &str, value: f64) -> CoreResult<f64> {
    in_range(model, argument, value, 1.0)
}

#[cfg(test)]
mod testing {
    //! Helpers shared by the models' unit tests.
    use super::*;

    /// `a` equals `b` to 1e-12, relative.
    pub fn assert_close(a: f64, b: f64) {
        assert!((a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0), "{a} != {b}");
    }

    /// The error is a config error naming `argument`.
    pub fn assert_config_error<T: std::fmt::Debug>(result: CoreResult<T>, argument: &str) {
        match result {
            Err(CoreError::Config { context, message }) => {
                assert_eq!(context.argument.as_deref(), Some(argument), "{message}");
                assert!(message.contains(argument), "{message}");
            }
            other => panic!("expected a config error naming {argument}, got {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn apply_costs_charges_the_commission_at_the_slipped_price() {
        let fill = FillContext::new(Side::Buy, 100.0, 50.0);
        let slippage = BpsSlippage::new(100.0).unwrap();
        let commission = PercentCommission::new(0.5).unwrap();
        let costed = apply_costs(&fill, &slippage, &commission);
        assert_eq!(costed.price, 50.5);
        assert_eq!(costed.commission, 0.5 * 100.0 * 50.5);
    }

    #[test]
    fn slip_limits_its_own_move_and_never_improves_the_price() {
        let buy = FillContext::new(Side::Buy, 1.0, 100.0).with_bar(101.0, 99.0, f64::NAN);
        assert_eq!(slip(&buy, 0.05), 101.0);
        assert_eq!(slip(&buy.with_price(102.0), 0.05), 102.0); // already above the high: unchanged
        let sell = FillContext {
            side: Side::Sell,
            ..buy
        };
        assert_eq!(slip(&sell, 0.05), 99.0);
        assert_eq!(slip(&sell.with_price(98.0), 0.05), 98.0);
        // No bar: a sell never goes below zero.
        assert_eq!(slip(&FillContext::new(Side::Sell, 1.0, 100.0), 3.0), 0.0);
        assert_eq!(slip(&buy, f64::NAN), 100.0);
    }

    fn side() -> impl Strategy<Value = Side> {
        prop_oneof![Just(Side::Buy), Just(Side::Sell)]
    }

    /// A fill at a price inside its bar, or with an unknown (NaN) bar; volume unknown, zero or positive.
    fn fill() -> impl Strategy<Value = FillContext> {
        let volume = prop_oneof![Just(f64::NAN), Just(0.0), 1.0f64..1e8];
        let bar = prop::option::of((0.0f64..0.5, 0.0f64..0.5));
        (side(), 1e-4f64..1e6, 0.01f64..1e4, volume, bar, 0.01f64..1000.0).prop_map(
            |(side, quantity, price, volume, bar, multiplier)| {
                let (high, low) = match bar {
                    Some((up, down)) => (price * (1.0 + up), price * (1.0 - down)),
                    None => (f64::NAN, f64::NAN),
                };
                FillContext::new(side, quantity, price)
                    .with_bar(high, low, volume)
                    .with_multiplier(multiplier)
            },
        )
    }

    /// Brackets with strictly ascending bounds, the last one sometimes infinite.
    fn tiers() -> impl Strategy<Value = Vec<(f64, f64)>> {
        (prop::collection::vec((1.0f64..1e5, 0.0f64..0.01), 1..5), any::<bool>()).prop_map(|(steps, open)| {
            let mut bound = 0.0;
            let mut tiers: Vec<(f64, f64)> = steps
                .into_iter()
                .map(|(step, rate)| {
                    bound += step;
                    (bound, rate)
                })
                .collect();
            if open {
                tiers.last_mut().unwrap().0 = f64::INFINITY;
            }
            tiers
        })
    }

    fn commissions() -> impl Strategy<Value = Vec<Box<dyn CommissionModel>>> {
        (
            0.0f64..0.01,
            0.0f64..0.1,
            0.0f64..10.0,
            1e-4f64..1.0,
            any::<bool>(),
            tiers(),
        )
            .prop_map(|(rate, per_share, fixed, maximum_rate, capped, tiers)| {
                let maximum_rate = if capped { maximum_rate } else { f64::INFINITY };
                let models: Vec<Box<dyn CommissionModel>> = vec![
                    Box::new(PercentCommission::new(rate).unwrap()),
                    Box::new(PerShareCommission::new(per_share, fixed, maximum_rate).unwrap()),
                    Box::new(FixedCommission::new(fixed).unwrap()),
                    Box::new(TieredCommission::new(tiers).unwrap()),
                    Box::new(NoCommission),
                ];
                models
            })
    }

    fn slippages() -> impl Strategy<Value = Vec<Box<dyn SlippageModel>>> {
        (0.0f64..10_000.0, 0.0f64..20_000.0, 0.0f64..10.0, 0.05f64..3.0).prop_map(
            |(bps, spread_bps, coefficient, exponent)| {
                let models: Vec<Box<dyn SlippageModel>> = vec![
                    Box::new(BpsSlippage::new(bps).unwrap()),
                    Box::new(HalfSpreadSlippage::new(spread_bps).unwrap()),
                    Box::new(VolumeImpactSlippage::new(coefficient, exponent).unwrap()),
                    Box::new(NoSlippage),
                ];
                models
            },
        )
    }

    proptest! {
        /// Every commission is a finite, non-negative amount.
        #[test]
        fn commission_is_finite_and_non_negative(fill in fill(), models in commissions()) {
            for model in &models {
                let paid = model.commission(&fill);
                prop_assert!(paid.is_finite() && paid >= 0.0, "{model:?} charged {paid} on {fill:?}");
            }
        }

        /// Slippage never improves the price, and a fill priced inside its bar stays inside it.
        #[test]
        fn slippage_is_adverse_and_stays_in_the_bar(fill in fill(), models in slippages()) {
            for model in &models {
                let price = model.fill_price(&fill);
                prop_assert!(price.is_finite() && price >= 0.0, "{model:?} gave {price} on {fill:?}");
                match fill.side {
                    Side::Buy => prop_assert!(price >= fill.price, "{model:?} improved a buy: {price}"),
                    Side::Sell => prop_assert!(price <= fill.price, "{model:?} improved a sell: {price}"),
                }
                if fill.bar_high.is_finite() {
                    prop_assert!(fill.bar_low <= price && price <= fill.bar_high, "{model:?}: {price} outside {fill:?}");
                }
            }
        }

        /// Models whose parameters are all zero cost nothing: commission 0, price unchanged (exactly).
        #[test]
        fn zero_parameter_models_are_identities(fill in fill(), exponent in 0.05f64..3.0, n_tiers in 1usize..4) {
            let tiers = (1..=n_tiers).map(|i| (1e3 * i as f64, 0.0)).collect();
            let free: Vec<Box<dyn CommissionModel>> = vec![
                Box::new(PercentCommission::new(0.0).unwrap()),
                Box::new(PerShareCommission::new(0.0, 0.0, f64::INFINITY).unwrap()),
                Box::new(FixedCommission::new(0.0).unwrap()),
                Box::new(TieredCommission::new(tiers).unwrap()),
                Box::new(NoCommission),
            ];
            for model in &free {
                prop_assert_eq!(model.commission(&fill), 0.0, "{:?}", model);
            }
            let frictionless: Vec<Box<dyn SlippageModel>> = vec![
                Box::new(BpsSlippage::new(0.0).unwrap()),
                Box::new(HalfSpreadSlippage::new(0.0).unwrap()),
                Box::new(VolumeImpactSlippage::new(0.0, exponent).unwrap()),
                Box::new(NoSlippage),
            ];
            for model in &frictionless {
                prop_assert_eq!(model.fill_price(&fill), fill.price, "{:?}", model);
            }
        }

        /// Tiered commission agrees with a slow, obvious reference: scan for the first bound >= value.
        #[test]
        fn tiered_commission_matches_a_linear_scan(fill in fill(), tiers in tiers()) {
            let value = fill.traded_value();
            let rate = tiers.iter().find(|(bound, _)| value <= *bound).unwrap_or(tiers.last().unwrap()).1;
            let model = TieredCommission::new(tiers).unwrap();
            prop_assert_eq!(model.commission(&fill), rate * value);
        }

        /// `max_quantity` is the commission's inverse: the quantity it gives fits the budget, and no quantity of a
        /// brute-force grid over `[0, budget / unit]` that fits is larger.
        #[test]
        fn max_quantity_is_the_largest_fill_the_budget_pays_for(
            fill in fill(), models in commissions(), budget in 0.0f64..1e6, rate in 0.0f64..0.01, fixed in 0.0f64..10.0,
        ) {
            let mut models = models;
            models.push(Box::new(SumCommission::new(vec![
                Box::new(PercentCommission::new(rate).unwrap()),
                Box::new(FixedCommission::new(fixed).unwrap()),
            ])));
            let unit = fill.price * fill.multiplier;
            for model in &models {
                let cost = |quantity: f64| quantity * unit + model.commission(&FillContext { quantity, ..fill });
                let q = model.max_quantity(budget, &fill);
                prop_assert!(q >= 0.0 && q.is_finite(), "{model:?}: {q}");
                if q > 0.0 {
                    prop_assert!(cost(q) <= budget * (1.0 + 1e-12) + 1e-12, "{model:?}: cost({q}) = {} > {budget}", cost(q));
                }
                const N: usize = 2000;
                let best = (0..=N)
                    .map(|i| budget / unit * i as f64 / N as f64)
                    .filter(|&g| g > 0.0 && cost(g) <= budget)
                    .fold(0.0f64, f64::max);
                prop_assert!(q >= best * (1.0 - 1e-9), "{model:?}: {q} < grid's {best} (budget {budget})");
            }
        }

        /// A bigger slippage parameter never gives the trader a better price.
        #[test]
        fn more_slippage_is_never_better(fill in fill(), a in 0.0f64..10_000.0, b in 0.0f64..10_000.0) {
            let (low, high) = (a.min(b), a.max(b));
            let gentle = BpsSlippage::new(low).unwrap().fill_price(&fill);
            let harsh = BpsSlippage::new(high).unwrap().fill_price(&fill);
            match fill.side {
                Side::Buy => prop_assert!(harsh >= gentle),
                Side::Sell => prop_assert!(harsh <= gentle),
            }
        }
    }
}
