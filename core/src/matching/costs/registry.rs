//! Cost models by name: what both modes' settings lower to, `(name, parameters)`, built into models.
//!
//! | kind | name | parameters |
//! |---|---|---|
//! | commission | `none` | |
//! | commission | `percent` | `rate` |
//! | commission | `per_share` | `per_share, minimum, maximum_rate` |
//! | commission | `per_order` | `amount` |
//! | commission | `tiered` | `bound, rate` pairs |
//! | slippage | `none` | |
//! | slippage | `percent` | `rate` (a fraction, the vectorized `slippage=` shorthand) |
//! | slippage | `bps` | `bps` |
//! | slippage | `half_spread` | `spread_bps` |
//! | slippage | `volume_impact` | `coefficient, exponent` |
//!
//! A run's commission is a list of parts charged as their sum (none: free; `fees=` and `fixed_fees=` are a
//! `percent` and a `per_order` part). Errors are config errors naming `commission` or `slippage`, or the
//! model's own argument when a value is out of range.

use super::{
    BpsSlippage, CommissionModel, FixedCommission, HalfSpreadSlippage, NoCommission, NoSlippage, PerShareCommission,
    PercentCommission, PercentSlippage, SlippageModel, SumCommission, TieredCommission, VolumeImpactSlippage,
};
use crate::error::{Context, CoreError, CoreResult};

fn config_error(argument: &str, message: String) -> CoreError {
    CoreError::config(format!("{argument}: {message}"), Context::argument(argument))
}

fn params<const N: usize>(argument: &str, name: &str, values: &[f64]) -> CoreResult<[f64; N]> {
    values
        .try_into()
        .map_err(|_| config_error(argument, format!("{name} takes {N} parameters, got {}", values.len())))
}

/// The commission charging the sum of `parts`, each `(name, parameters)`: free when there are none, the
/// model itself when there is one.
pub fn commission<S: AsRef<str>>(parts: &[(S, Vec<f64>)]) -> CoreResult<Box<dyn CommissionModel>> {
    let mut models = parts
        .iter()
        .map(|(name, values)| commission_model(name.as_ref(), values))
        .collect::<CoreResult<Vec<_>>>()?;
    Ok(match models.len() {
        0 => Box::new(NoCommission),
        1 => models.remove(0),
        _ => Box::new(SumCommission::new(models)),
    })
}

/// One commission model by name.
pub fn commission_model(name: &str, values: &[f64]) -> CoreResult<Box<dyn CommissionModel>> {
    const ARG: &str = "commission";
    Ok(match name {
        "none" => {
            params::<0>(ARG, name, values)?;
            Box::new(NoCommission)
        }
        "percent" => {
            let [rate] = params(ARG, name, values)?;
            Box::new(PercentCommission::new(rate)?)
        }
        "per_share" => {
            let [per_share, minimum, maximum_rate] = params(ARG, name, values)?;
            Box::new(PerShareCommission::new(per_share, minimum, maximum_rate)?)
        }
        "per_order" => {
            let [amount] = params(ARG, name, values)?;
            Box::new(FixedCommission::new(amount)?)
        }
        "tiered" => {
            if values.len() % 2 != 0 {
                return Err(config_error(ARG, "tiered takes (bound, rate) pairs".into()));
            }
            Box::new(TieredCommission::new(values.chunks(2).map(|c| (c[0], c[1])).collect())?)
        }
        other => return Err(config_error(ARG, format!("unknown model {other:?}"))),
    })
}

/// One slippage model by name.
pub fn slippage(name: &str, values: &[f64]) -> CoreResult<Box<dyn SlippageModel>> {
    const ARG: &str = "slippage";
    Ok(match name {
        "none" => {
            params::<0>(ARG, name, values)?;
            Box::new(NoSlippage)
        }
        "percent" => {
            let [rate] = params(ARG, name, values)?;
            Box::new(PercentSlippage::new(rate)?)
        }
        "bps" => {
            let [bps] = params(ARG, name, values)?;
            Box::new(BpsSlippage::new(bps)?)
        }
        "half_spread" => {
            let [spread_bps] = params(ARG, name, values)?;
            Box::new(HalfSpreadSlippage::new(spread_bps)?)
        }
        "volume_impact" => {
            let [coefficient, exponent] = params(ARG, name, values)?;
            Box::new(VolumeImpactSlippage::new(coefficient, exponent)?)
        }
        other => return Err(config_error(ARG, format!("unknown model {other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::assert_config_error;
    use super::super::{FillContext, Linear, Side};
    use super::*;

    fn part(name: &str, values: &[f64]) -> (String, Vec<f64>) {
        (name.to_owned(), values.to_vec())
    }

    #[test]
    fn builds_every_model_by_name() {
        let fill = FillContext::new(Side::Buy, 100.0, 50.0); // traded value 5000
        let charged = |parts: &[(String, Vec<f64>)]| commission(parts).unwrap().commission(&fill);
        assert_eq!(charged(&[]), 0.0);
        assert_eq!(charged(&[part("none", &[])]), 0.0);
        assert_eq!(charged(&[part("percent", &[0.001])]), 5.0);
        assert_eq!(charged(&[part("per_share", &[0.005, 1.0, f64::INFINITY])]), 1.0);
        assert_eq!(charged(&[part("per_order", &[4.95])]), 4.95);
        assert_eq!(charged(&[part("tiered", &[1000.0, 0.01, f64::INFINITY, 0.002])]), 10.0);
        assert_eq!(charged(&[part("percent", &[0.001]), part("per_order", &[1.0])]), 6.0);
        let both = commission(&[part("percent", &[0.001]), part("per_order", &[1.0])]).unwrap();
        assert_eq!(
            both.linear(),
            Some(Linear {
                rate: 0.001,
                fixed: 1.0
            })
        );
        let moved = |name: &str, values: &[f64]| slippage(name, values).unwrap().fill_price(&fill);
        assert_eq!(moved("none", &[]), 50.0);
        assert_eq!(moved("percent", &[0.01]), 50.0 * 1.01);
        assert_eq!(moved("bps", &[100.0]), 50.5);
        assert_eq!(moved("half_spread", &[200.0]), 50.5);
        assert_eq!(moved("volume_impact", &[0.1, 0.5]), 50.0); // no volume: no impact
        assert!(slippage("volume_impact", &[0.1, 0.5]).unwrap().uses_volume());
        assert!(!slippage("bps", &[1.0]).unwrap().uses_volume());
    }

    #[test]
    fn unknown_names_and_wrong_arities_name_the_argument() {
        assert_config_error(commission(&[part("flat", &[1.0])]), "commission");
        assert_config_error(commission(&[part("percent", &[0.1, 0.2])]), "commission");
        assert_config_error(commission(&[part("tiered", &[1.0])]), "commission");
        assert_config_error(commission(&[part("none", &[1.0])]), "commission");
        assert_config_error(slippage("fast", &[]), "slippage");
        assert_config_error(slippage("bps", &[]), "slippage");
        // a value out of range names the model's own argument
        assert_config_error(commission(&[part("percent", &[2.0])]), "rate");
        assert_config_error(slippage("volume_impact", &[0.1, 0.0]), "exponent");
    }
}
