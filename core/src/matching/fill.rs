//! Intrabar fills from OHLC.
//!
//! An order resting before a bar opens is tested against that bar's open, high and low (DESIGN.md §4):
//! - market: fills at the open;
//! - limit buy: fills if `low <= limit`, at `min(open, limit)` (a gap down below the limit fills at the
//!   better open); limit sell: if `high >= limit`, at `max(open, limit)`;
//! - stop buy: triggers if `high >= stop`, filling at `max(open, stop)` (a gap up through the stop fills at
//!   the worse open); stop sell: if `low <= stop`, at `min(open, stop)`;
//! - stop-limit: triggers like a stop. If the trigger price satisfies the limit it fills there. Otherwise it
//!   fills at the limit in the trigger bar only when OHLC proves the price reached the limit *after* the
//!   trigger: after a gap through the stop the trigger is the open, so the rest of the bar follows it (a buy
//!   fills if `low <= limit`); after an intrabar trigger only the close is known to follow it (a buy fills if
//!   `close <= limit`). Otherwise it rests as a limit order from the next bar.
//!
//! Every fill price lies within `[low, high]`.

use crate::portfolio::Side;

/// One bar as the matcher sees it. `volume` may be NaN when unknown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

/// The price condition of an order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    Market,
    Limit { limit: f64 },
    Stop { stop: f64 },
    StopLimit { stop: f64, limit: f64 },
}

/// What a bar does to an order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Touch {
    /// Not touched: the order keeps resting.
    Rest,
    /// Fills at this price.
    Fill(f64),
    /// A stop-limit triggered without its limit being satisfied at the trigger: from the next bar it is a
    /// plain limit order.
    BecomesLimit,
}

/// How `trigger` fares in `bar` for an order on `side`.
pub fn touch(trigger: Trigger, side: Side, bar: &Bar) -> Touch {
    let Bar { open, high, low, .. } = *bar;
    match (trigger, side) {
        (Trigger::Market, _) => Touch::Fill(open),
        (Trigger::Limit { limit }, Side::Buy) => {
            if low <= limit {
                Touch::Fill(open.min(limit))
            } else {
                Touch::Rest
            }
        }
        (Trigger::Limit { limit }, Side::Sell) => {
            if high >= limit {
                Touch::Fill(open.max(limit))
            } else {
                Touch::Rest
            }
        }
        (Trigger::Stop { stop }, Side::Buy) => {
            if high >= stop {
                Touch::Fill(open.max(stop))
            } else {
                Touch::Rest
            }
        }
        (Trigger::Stop { stop }, Side::Sell) => {
            if low <= stop {
                Touch::Fill(open.min(stop))
            } else {
                Touch::Rest
            }
        }
        (Trigger::StopLimit { stop, limit }, side) => match touch(Trigger::Stop { stop }, side, bar) {
            Touch::Fill(at) => {
                let within = |price: f64| match side {
                    Side::Buy => price <= limit,
                    Side::Sell => price >= limit,
                };
                // What the bar is known to trade after the trigger: all of it after a gap (the trigger is
                // the open), only the close after an intrabar trigger.
                let gapped = at == open;
                let after = match (side, gapped) {
                    (Side::Buy, true) => bar.low,
                    (Side::Sell, true) => bar.high,
                    (_, false) => bar.close,
                };
                if within(at) {
                    Touch::Fill(at)
                } else if within(after) {
                    Touch::Fill(limit)
                } else {
                    Touch::BecomesLimit
                }
            }
            other => other,
        },
    }
}

/// How a trailing stop keeps its distance from the best price since it was placed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trail {
    /// A fixed amount in price units.
    Amount(f64),
    /// A fraction of the best price (0.05 = 5%).
    Percent(f64),
}

/// A trailing stop's level. A sell trailing stop (protecting a long) trails below the highest high; a buy
/// trailing stop (protecting a short) trails above the lowest low. Each bar is first tested against the
/// level set by the bars before it, and only then moves the level, so a bar cannot both tighten the stop and
/// trigger it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrailingStop {
    pub side: Side,
    pub trail: Trail,
    /// The best price seen so far (highest high for a sell, lowest low for a buy).
    pub extreme: f64,
}

impl TrailingStop {
    /// A trailing stop placed when the market is at `reference` (e.g. the entry fill).
    pub fn new(side: Side, trail: Trail, reference: f64) -> Self {
        Self {
            side,
            trail,
            extreme: reference,
        }
    }

    /// The current stop level.
    pub fn level(&self) -> f64 {
        match (self.side, self.trail) {
            (Side::Sell, Trail::Amount(a)) => self.extreme - a,
            (Side::Sell, Trail::Percent(p)) => self.extreme * (1.0 - p),
            (Side::Buy, Trail::Amount(a)) => self.extreme + a,
            (Side::Buy, Trail::Percent(p)) => self.extreme * (1.0 + p),
        }
    }

    /// Test `bar` against the current level, then let the bar move the level.
    pub fn step(&mut self, bar: &Bar) -> Touch {
        let touched = touch(Trigger::Stop { stop: self.level() }, self.side, bar);
        self.extreme = match self.side {
            Side::Sell => self.extreme.max(bar.high),
            Side::Buy => self.extreme.min(bar.low),
        };
        touched
    }
}

/// Which leg fills when a bracket's stop-loss and take-profit both touch in one bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BothTouched {
    /// The stop-loss: the pessimistic assumption, and the default (DESIGN.md §4).
    #[default]
    StopLoss,
    /// The take-profit.
    TakeProfit,
}

/// The order in which the exit legs of one OCO group that touched in the same bar are tried: the stop-type
/// legs first (`is_stop`: a stop-loss), unless the policy prefers the take-profit; otherwise submission order
/// (the sort is stable). The first leg that fills cancels the others; one the account refuses lets the next
/// one try. The matcher orders every touched OCO group with this; [`bracket_exit`] is its two-leg case.
pub fn exit_order<T>(legs: &mut [T], is_stop: impl Fn(&T) -> bool, policy: BothTouched) {
    let prefer_stop = policy == BothTouched::StopLoss;
    legs.sort_by_key(|leg| is_stop(leg) != prefer_stop);
}

/// Resolve a bracket's two exit legs in one bar: the leg that fills (`true` = stop-loss) and its price. When
/// both touch, the policy's leg fills ([`exit_order`]).
pub fn bracket_exit(stop_loss: Touch, take_profit: Touch, policy: BothTouched) -> Option<(bool, f64)> {
    let mut legs = [(true, stop_loss), (false, take_profit)];
    exit_order(&mut legs, |&(is_stop, _)| is_stop, policy);
    legs.into_iter().find_map(|(is_stop, touched)| match touched {
        Touch::Fill(price) => Some((is_stop, price)),
        Touch::Rest | Touch::BecomesLimit => None,
    })
}

/// How much of `remaining` may fill in a bar under a volume participation cap (`participation` of the
/// bar's volume, e.g. 0.1) of which orders matched earlier in the bar already used `used`. No cap when
/// `participation` is None or the volume is unknown (NaN).
pub fn participation_cap(remaining: f64, bar: &Bar, participation: Option<f64>, used: f64) -> f64 {
    match participation {
        Some(p) if bar.volume.is_finite() => remaining.min((p * bar.volume.max(0.0) - used).max(0.0)),
        _ => remaining,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BAR: Bar = Bar {
        open: 100.0,
        high: 105.0,
        low: 95.0,
        close: 102.0,
        volume: 1000.0,
    };

    #[test]
    fn market_fills_at_the_open() {
        assert_eq!(touch(Trigger::Market, Side::Buy, &BAR), Touch::Fill(100.0));
        assert_eq!(touch(Trigger::Market, Side::Sell, &BAR), Touch::Fill(100.0));
    }

    #[test]
    fn limits_fill_at_the_limit_or_the_better_open() {
        assert_eq!(
            touch(Trigger::Limit { limit: 97.0 }, Side::Buy, &BAR),
            Touch::Fill(97.0)
        );
        assert_eq!(
            touch(Trigger::Limit { limit: 101.0 }, Side::Buy, &BAR),
            Touch::Fill(100.0)
        ); // gap below
        assert_eq!(touch(Trigger::Limit { limit: 94.0 }, Side::Buy, &BAR), Touch::Rest);
        assert_eq!(
            touch(Trigger::Limit { limit: 95.0 }, Side::Buy, &BAR),
            Touch::Fill(95.0)
        ); // exactly the low
        assert_eq!(
            touch(Trigger::Limit { limit: 104.0 }, Side::Sell, &BAR),
            Touch::Fill(104.0)
        );
        assert_eq!(
            touch(Trigger::Limit { limit: 99.0 }, Side::Sell, &BAR),
            Touch::Fill(100.0)
        );
        assert_eq!(touch(Trigger::Limit { limit: 106.0 }, Side::Sell, &BAR), Touch::Rest);
    }

    #[test]
    fn stops_fill_at_the_stop_or_the_worse_open_on_a_gap() {
        assert_eq!(
            touch(Trigger::Stop { stop: 103.0 }, Side::Buy, &BAR),
            Touch::Fill(103.0)
        );
        assert_eq!(touch(Trigger::Stop { stop: 98.0 }, Side::Buy, &BAR), Touch::Fill(100.0)); // gapped through
        assert_eq!(touch(Trigger::Stop { stop: 106.0 }, Side::Buy, &BAR), Touch::Rest);
        assert_eq!(touch(Trigger::Stop { stop: 96.0 }, Side::Sell, &BAR), Touch::Fill(96.0));
        assert_eq!(
            touch(Trigger::Stop { stop: 101.0 }, Side::Sell, &BAR),
            Touch::Fill(100.0)
        );
        assert_eq!(touch(Trigger::Stop { stop: 94.0 }, Side::Sell, &BAR), Touch::Rest);
    }

    #[test]
    fn stop_limit_fills_at_the_trigger_or_at_the_limit_when_the_bar_provably_came_back() {
        // BAR: open 100, high 105, low 95, close 102.
        let buy = |stop, limit| touch(Trigger::StopLimit { stop, limit }, Side::Buy, &BAR);
        assert_eq!(buy(103.0, 104.0), Touch::Fill(103.0)); // the trigger price is within the limit
        assert_eq!(buy(98.0, 100.0), Touch::Fill(100.0)); // gap: triggered at the open, within the limit
        assert_eq!(buy(98.0, 99.0), Touch::Fill(99.0)); // gap to 100 > 99, then the low 95 came after it
        assert_eq!(buy(98.0, 94.0), Touch::BecomesLimit); // ... but never down to 94
        assert_eq!(buy(103.0, 102.5), Touch::Fill(102.5)); // intrabar trigger at 103; the close 102 follows it
        assert_eq!(buy(103.0, 101.0), Touch::BecomesLimit); // the close 102 is above 101: unknown, rest
        assert_eq!(buy(106.0, 107.0), Touch::Rest);
        let sell = |stop, limit| touch(Trigger::StopLimit { stop, limit }, Side::Sell, &BAR);
        assert_eq!(sell(96.0, 95.5), Touch::Fill(96.0));
        assert_eq!(sell(101.0, 100.5), Touch::Fill(100.5)); // gap down to 100, then the high 105 followed
        assert_eq!(sell(101.0, 106.0), Touch::BecomesLimit);
    }

    #[test]
    fn trailing_stop_checks_the_old_level_then_trails() {
        let mut ts = TrailingStop::new(Side::Sell, Trail::Percent(0.1), 100.0);
        assert_eq!(ts.level(), 90.0);
        // this bar's high lifts the trail to 108 -> 97.2, but the bar is tested against 90 first
        let bar = Bar {
            open: 100.0,
            high: 108.0,
            low: 96.0,
            close: 97.0,
            volume: f64::NAN,
        };
        assert_eq!(ts.step(&bar), Touch::Rest);
        assert!((ts.level() - 97.2).abs() < 1e-12);
        let bar = Bar {
            open: 98.0,
            high: 99.0,
            low: 96.5,
            close: 97.0,
            volume: f64::NAN,
        };
        assert_eq!(ts.step(&bar), Touch::Fill(97.2));
        let mut short = TrailingStop::new(Side::Buy, Trail::Amount(2.0), 50.0);
        let bar = Bar {
            open: 49.0,
            high: 49.5,
            low: 45.0,
            close: 46.0,
            volume: 10.0,
        };
        assert_eq!(short.step(&bar), Touch::Rest);
        assert_eq!(short.level(), 47.0);
        let bar = Bar {
            open: 48.0,
            high: 48.5,
            low: 47.5,
            close: 48.0,
            volume: 10.0,
        };
        assert_eq!(short.step(&bar), Touch::Fill(48.0)); // gapped above 47 at the open
    }

    #[test]
    fn bracket_prefers_the_stop_loss_when_both_touch() {
        let both = (Touch::Fill(95.0), Touch::Fill(105.0));
        assert_eq!(bracket_exit(both.0, both.1, BothTouched::default()), Some((true, 95.0)));
        assert_eq!(
            bracket_exit(both.0, both.1, BothTouched::TakeProfit),
            Some((false, 105.0))
        );
        assert_eq!(
            bracket_exit(Touch::Rest, Touch::Fill(105.0), BothTouched::default()),
            Some((false, 105.0))
        );
        assert_eq!(bracket_exit(Touch::Rest, Touch::Rest, BothTouched::default()), None);
    }

    #[test]
    fn participation_caps_by_bar_volume() {
        assert_eq!(participation_cap(500.0, &BAR, Some(0.1), 0.0), 100.0);
        assert_eq!(participation_cap(50.0, &BAR, Some(0.1), 0.0), 50.0);
        assert_eq!(participation_cap(500.0, &BAR, None, 0.0), 500.0);
        // What earlier orders used in the bar is gone; nothing is left once the cap is spent.
        assert_eq!(participation_cap(500.0, &BAR, Some(0.1), 30.0), 70.0);
        assert_eq!(participation_cap(500.0, &BAR, Some(0.1), 100.0), 0.0);
        assert_eq!(participation_cap(500.0, &BAR, Some(0.1), 150.0), 0.0);
        let unknown = Bar {
            volume: f64::NAN,
            ..BAR
        };
        assert_eq!(participation_cap(500.0, &unknown, Some(0.1), 30.0), 500.0);
    }

    #[test]
    fn exit_order_puts_the_preferred_kind_first_and_keeps_submission_order_otherwise() {
        // (id, is_stop) in submission order
        let legs = [(1, false), (2, true), (3, false), (4, true)];
        let mut stop_first = legs;
        exit_order(&mut stop_first, |&(_, s)| s, BothTouched::StopLoss);
        assert_eq!(stop_first, [(2, true), (4, true), (1, false), (3, false)]);
        let mut profit_first = legs;
        exit_order(&mut profit_first, |&(_, s)| s, BothTouched::TakeProfit);
        assert_eq!(profit_first, [(1, false), (3, false), (2, true), (4, true)]);
    }

    fn bars() -> impl Strategy<Value = Bar> {
        (1.0f64..200.0, 0.0f64..0.2, 0.0f64..0.2, 0.0f64..1.0, 0.0f64..1.0).prop_map(|(mid, up, down, o, c)| {
            let (high, low) = (mid * (1.0 + up), mid * (1.0 - down));
            let at = |f: f64| low + f * (high - low);
            Bar {
                open: at(o),
                high,
                low,
                close: at(c),
                volume: 1000.0,
            }
        })
    }

    fn triggers() -> impl Strategy<Value = Trigger> {
        prop_oneof![
            Just(Trigger::Market),
            (1.0f64..250.0).prop_map(|limit| Trigger::Limit { limit }),
            (1.0f64..250.0).prop_map(|stop| Trigger::Stop { stop }),
            (1.0f64..250.0, -20.0f64..20.0).prop_map(|(stop, d)| Trigger::StopLimit { stop, limit: stop + d }),
        ]
    }

    proptest! {
        /// Every fill prints inside the bar, never beyond its limit, and never better than its stop unless a
        /// stop-limit came back to its limit after the trigger.
        #[test]
        fn fills_stay_inside_the_bar_and_respect_their_prices(bar in bars(), trigger in triggers(), buy in any::<bool>()) {
            let side = if buy { Side::Buy } else { Side::Sell };
            if let Touch::Fill(price) = touch(trigger, side, &bar) {
                prop_assert!(bar.low <= price && price <= bar.high, "{price} outside [{}, {}]", bar.low, bar.high);
                match (trigger, side) {
                    (Trigger::Limit { limit } | Trigger::StopLimit { limit, .. }, Side::Buy) => prop_assert!(price <= limit),
                    (Trigger::Limit { limit } | Trigger::StopLimit { limit, .. }, Side::Sell) => prop_assert!(price >= limit),
                    _ => {}
                }
                // A stop-limit may fill at its limit beyond the stop when the bar came back after the trigger.
                match (trigger, side) {
                    (Trigger::Stop { stop }, Side::Buy) => prop_assert!(price >= stop),
                    (Trigger::Stop { stop }, Side::Sell) => prop_assert!(price <= stop),
                    (Trigger::StopLimit { stop, limit }, Side::Buy) => prop_assert!(price >= stop || price == limit),
                    (Trigger::StopLimit { stop, limit }, Side::Sell) => prop_assert!(price <= stop || price == limit),
                    _ => {}
                }
            }
        }

        /// A participation cap never fills more than remains nor more than what the cap leaves after `used`.
        #[test]
        fn participation_never_overfills(remaining in 0.0f64..1e6, volume in 0.0f64..1e6, p in 0.0f64..1.0, used in 0.0f64..1e5) {
            let bar = Bar { open: 1.0, high: 1.0, low: 1.0, close: 1.0, volume };
            let q = participation_cap(remaining, &bar, Some(p), used);
            prop_assert!(q <= remaining && q <= (p * volume - used).max(0.0) + 1e-9 && q >= 0.0);
        }

        /// The bracket rule, written out plainly: the stop-loss when it fills and either it is preferred or the
        /// take-profit does not fill; else the take-profit when it fills; else nothing.
        #[test]
        fn bracket_exit_fills_the_preferred_leg_of_those_that_touched(
            sl in prop_oneof![Just(Touch::Rest), Just(Touch::BecomesLimit), (1.0f64..9.0).prop_map(Touch::Fill)],
            tp in prop_oneof![Just(Touch::Rest), Just(Touch::BecomesLimit), (1.0f64..9.0).prop_map(Touch::Fill)],
            prefer_stop in any::<bool>(),
        ) {
            let policy = if prefer_stop { BothTouched::StopLoss } else { BothTouched::TakeProfit };
            let want = match (sl, tp) {
                (Touch::Fill(s), Touch::Fill(_)) if prefer_stop => Some((true, s)),
                (_, Touch::Fill(t)) => Some((false, t)),
                (Touch::Fill(s), _) => Some((true, s)),
                _ => None,
            };
            prop_assert_eq!(bracket_exit(sl, tp, policy), want);
        }
    }
}
