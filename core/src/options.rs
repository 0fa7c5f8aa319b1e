//! The names each setting accepts, parsed into the core types they name. One table per type; a name
//! outside it is a `CoreError::config` naming the argument and listing the choices.

use crate::error::{Context, CoreError, CoreResult};
use crate::matching::fill::BothTouched;
use crate::matching::Execution;
use crate::portfolio::SizeType;
use crate::vectorized::{Conflict, DirConflict, OppositeEntry, Sequence, StopEntry};

/// The value `value` names in `options`, or a config error on `argument` listing the names.
pub fn choice<T: Copy>(argument: &str, value: &str, options: &[(&str, T)]) -> CoreResult<T> {
    options
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<_> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
            CoreError::config(
                format!("{argument} must be one of {}, got {value:?}", names.join(", ")),
                Context::argument(argument),
            )
        })
}

/// A type named by a string setting.
pub trait Named: Copy + PartialEq + 'static {
    /// Every accepted name and its value.
    const NAMES: &'static [(&'static str, Self)];

    /// The name of this value (the first name of `NAMES` that maps to it): the same table both ways.
    fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, v)| *v == self).map_or("?", |(n, _)| n)
    }

    /// The value `value` names; a config error on `argument` otherwise.
    fn parse(argument: &str, value: &str) -> CoreResult<Self> {
        choice(argument, value, Self::NAMES)
    }
}

impl Named for Execution {
    const NAMES: &'static [(&'static str, Self)] = &[("close", Self::Close), ("next_open", Self::NextOpen)];
}

impl Named for SizeType {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("amount", Self::Amount),
        ("value", Self::Value),
        ("percent", Self::Percent),
    ];
}

impl Named for Conflict {
    const NAMES: &'static [(&'static str, Self)] =
        &[("ignore", Self::Ignore), ("entry", Self::Entry), ("exit", Self::Exit)];
}

impl Named for DirConflict {
    const NAMES: &'static [(&'static str, Self)] =
        &[("ignore", Self::Ignore), ("long", Self::Long), ("short", Self::Short)];
}

impl Named for OppositeEntry {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("reverse", Self::Reverse),
        ("close", Self::Close),
        ("ignore", Self::Ignore),
    ];
}

impl Named for Sequence {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("pro_rata", Self::ProRata),
        ("auto", Self::Auto),
        ("symbol", Self::Symbol),
    ];
}

impl Named for StopEntry {
    const NAMES: &'static [(&'static str, Self)] = &[("fill", Self::Fill), ("close", Self::Close)];
}

impl Named for BothTouched {
    const NAMES: &'static [(&'static str, Self)] = &[("stop_loss", Self::StopLoss), ("take_profit", Self::TakeProfit)];
}

impl Named for crate::engine::Tif {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("gtc", Self::Gtc),
        ("day", Self::Day),
        ("ioc", Self::Ioc),
        ("fok", Self::Fok),
    ];
}

impl crate::engine::Kind {
    /// The order type `name` with its prices (NaN where unused): a trailing stop trails by `trail_amount`
    /// unless it is NaN, else by `trail_percent`. A config error on `kind` for an unknown name.
    pub fn parse(name: &str, limit: f64, stop: f64, trail_amount: f64, trail_percent: f64) -> CoreResult<Self> {
        use crate::matching::fill::Trail;
        Ok(match name {
            "market" => Self::Market,
            "limit" => Self::Limit { limit },
            "stop" => Self::Stop { stop },
            "stop_limit" => Self::StopLimit { stop, limit },
            "trailing_stop" if trail_amount.is_nan() => Self::TrailingStop {
                trail: Trail::Percent(trail_percent),
            },
            "trailing_stop" => Self::TrailingStop {
                trail: Trail::Amount(trail_amount),
            },
            other => {
                return Err(CoreError::config(
                    format!("unknown order type {other:?}"),
                    Context::argument("kind"),
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Tif;

    #[test]
    fn names_parse_and_unknown_names_name_the_argument() {
        assert_eq!(Execution::parse("execution", "close").unwrap(), Execution::Close);
        assert_eq!(Tif::parse("tif", "fok").unwrap(), Tif::Fok);
        assert_eq!(
            BothTouched::parse("both_touched", "take_profit").unwrap(),
            BothTouched::TakeProfit
        );
        let err = Conflict::parse("long_conflict", "both").unwrap_err();
        assert_eq!(err.context().argument.as_deref(), Some("long_conflict"));
        assert!(
            err.to_string()
                .contains(r#"must be one of "ignore", "entry", "exit", got "both""#),
            "{err}"
        );
    }

    /// Each table's names are distinct and name distinct values.
    #[test]
    fn tables_are_one_to_one() {
        fn check<T: Named + PartialEq + std::fmt::Debug>() {
            for (i, (name, value)) in T::NAMES.iter().enumerate() {
                for (other, v) in &T::NAMES[i + 1..] {
                    assert!(name != other && value != v, "{name} / {other}");
                }
                assert_eq!(T::parse("x", name).unwrap(), *value);
            }
        }
        check::<Execution>();
        check::<SizeType>();
        check::<Conflict>();
        check::<DirConflict>();
        check::<OppositeEntry>();
        check::<StopEntry>();
        check::<BothTouched>();
        check::<Tif>();
    }

    #[test]
    fn order_types_parse_with_their_prices() {
        use crate::engine::Kind;
        use crate::matching::fill::Trail;
        let nan = f64::NAN;
        assert_eq!(
            Kind::parse("stop_limit", 9.0, 10.0, nan, nan).unwrap(),
            Kind::StopLimit { stop: 10.0, limit: 9.0 }
        );
        let by_percent = Kind::parse("trailing_stop", nan, nan, nan, 0.05).unwrap();
        assert_eq!(
            by_percent,
            Kind::TrailingStop {
                trail: Trail::Percent(0.05)
            }
        );
        let by_amount = Kind::parse("trailing_stop", nan, nan, 2.0, nan).unwrap();
        assert_eq!(
            by_amount,
            Kind::TrailingStop {
                trail: Trail::Amount(2.0)
            }
        );
        let err = Kind::parse("iceberg", nan, nan, nan, nan).unwrap_err();
        assert_eq!(err.context().argument.as_deref(), Some("kind"));
    }
}
