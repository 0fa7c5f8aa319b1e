//! Stop-loss, trailing stop-loss and take-profit for the vectorized mode.
//!
//! Checked once per bar against that bar's OHLC, before the bar's signals, by the matcher's rules
//! (`crate::matching::fill`): a stop-loss is a stop order, a trailing stop-loss the matcher's trailing stop, a
//! take-profit a limit order, and when both legs touch in one bar the pessimistic one (the stop-loss) fills
//! (DESIGN.md §4). A stop fills at its level, or at the open when the bar gaps through it, with no slippage.
//! A triggered stop replaces that bar's signals. Stops arm when a position opens or reverses and clear when it
//! closes.

use crate::matching::fill::{bracket_exit, touch, Bar, BothTouched, Touch, Trail, TrailingStop, Trigger};
use crate::portfolio::Side;

/// Per-column stop state. NaN levels mean "no stop".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stops {
    /// Reference price of the stop-loss (entry price; for a trailing stop, the best price since).
    pub sl_ref: f64,
    pub sl: f64,
    pub trail: bool,
    pub tp_ref: f64,
    pub tp: f64,
}

impl Default for Stops {
    fn default() -> Self {
        Self {
            sl_ref: f64::NAN,
            sl: f64::NAN,
            trail: false,
            tp_ref: f64::NAN,
            tp: f64::NAN,
        }
    }
}

impl Stops {
    pub fn armed(&self) -> bool {
        !self.sl.is_nan() || !self.tp.is_nan()
    }

    pub fn arm(&mut self, reference: f64, sl: f64, trail: bool, tp: f64) {
        *self = Self {
            sl_ref: reference,
            sl,
            trail,
            tp_ref: reference,
            tp,
        };
    }

    /// Adding to a position re-arms each leg from the new reference only when a level is given for it
    /// (vectorbt's `upon_stop_update="override"`): a NaN level keeps that leg as it was.
    pub fn rearm_on_add(&mut self, reference: f64, sl: f64, trail: bool, tp: f64) {
        if !sl.is_nan() {
            (self.sl_ref, self.sl, self.trail) = (reference, sl, trail);
        }
        if !tp.is_nan() {
            (self.tp_ref, self.tp) = (reference, tp);
        }
    }

    /// The exit price if a stop triggers in this bar for `position`, else NaN. When both legs touch, the
    /// stop-loss fills ([`bracket_exit`] under the default policy). A trailing stop-loss is the matcher's
    /// [`TrailingStop`]: tested against the level of the bars before, then moved by this bar's extreme.
    pub fn check(&mut self, position: f64, open: f64, high: f64, low: f64) -> f64 {
        if position == 0.0 {
            return f64::NAN;
        }
        let stop_loss = if self.sl.is_nan() {
            Touch::Rest
        } else if self.trail {
            let side = if position > 0.0 { Side::Sell } else { Side::Buy };
            let mut trailing = TrailingStop::new(side, Trail::Percent(self.sl), self.sl_ref);
            let touched = trailing.step(&bar(open, high, low));
            self.sl_ref = trailing.extreme;
            touched
        } else {
            level_touch(position, self.sl_ref, self.sl, open, high, low, true)
        };
        let take_profit = if self.tp.is_nan() {
            Touch::Rest
        } else {
            level_touch(position, self.tp_ref, self.tp, open, high, low, false)
        };
        bracket_exit(stop_loss, take_profit, BothTouched::StopLoss).map_or(f64::NAN, |(_, price)| price)
    }
}

/// A bar with only the prices a stop reads.
fn bar(open: f64, high: f64, low: f64) -> Bar {
    Bar {
        open,
        high,
        low,
        close: f64::NAN,
        volume: f64::NAN,
    }
}

/// How a bar touches a stop `stop` (a fraction) away from `reference` for a non-zero `position`. `loss`
/// says whether it is a stop-loss (below a long's reference, above a short's) or a take-profit (the other
/// side).
///
/// The fill rule is the matcher's ([`touch`]): the exit of a long sells and of a short buys; a stop-loss is a
/// stop order at its level, a take-profit a limit order, so both fill at the level or at the open on a gap.
fn level_touch(position: f64, reference: f64, stop: f64, open: f64, high: f64, low: f64, loss: bool) -> Touch {
    let below = (position > 0.0) == loss;
    let level = if below {
        reference * (1.0 - stop)
    } else {
        reference * (1.0 + stop)
    };
    let side = if position > 0.0 { Side::Sell } else { Side::Buy };
    let trigger = if loss {
        Trigger::Stop { stop: level }
    } else {
        Trigger::Limit { limit: level }
    };
    touch(trigger, side, &bar(open, high, low))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_loss_wins_when_both_legs_touch() {
        let mut s = Stops::default();
        s.arm(100.0, 0.05, false, 0.05);
        // bar spans 90..110: both 95 (SL) and 105 (TP) are inside
        assert_eq!(s.check(1.0, 100.0, 110.0, 90.0), 95.0);
    }

    #[test]
    fn gap_through_the_level_fills_at_the_open() {
        let mut s = Stops::default();
        s.arm(100.0, 0.05, false, f64::NAN);
        assert_eq!(s.check(1.0, 90.0, 92.0, 88.0), 90.0);
        assert!(s.check(1.0, 99.0, 101.0, 96.0).is_nan());
        // short: the stop-loss is above
        assert_eq!(s.check(-1.0, 104.0, 106.0, 103.0), 105.0);
    }

    #[test]
    fn adding_keeps_a_leg_whose_new_level_is_nan() {
        let mut s = Stops::default();
        s.arm(100.0, 0.05, false, 0.1);
        s.rearm_on_add(120.0, f64::NAN, false, 0.2);
        assert_eq!((s.sl_ref, s.sl), (100.0, 0.05));
        assert_eq!((s.tp_ref, s.tp), (120.0, 0.2));
    }

    #[test]
    fn trailing_stop_follows_the_high() {
        let mut s = Stops::default();
        s.arm(100.0, 0.1, true, f64::NAN);
        assert!(s.check(1.0, 101.0, 120.0, 100.0).is_nan());
        assert_eq!(s.sl_ref, 120.0);
        assert_eq!(s.check(1.0, 115.0, 115.0, 107.0), 108.0);
    }

    /// The documented rule, written out plainly: the level is `reference * (1 -/+ stop)` on the side the
    /// leg protects; a bar that opens through it fills at the open, one whose range reaches it at the level.
    fn reference_hit(position: f64, reference: f64, stop: f64, open: f64, high: f64, low: f64, loss: bool) -> f64 {
        if position == 0.0 {
            return f64::NAN;
        }
        if (position > 0.0) == loss {
            let level = reference * (1.0 - stop);
            if open <= level {
                return open;
            }
            if low <= level && level <= high {
                return level;
            }
        } else {
            let level = reference * (1.0 + stop);
            if level <= open {
                return open;
            }
            if low <= level && level <= high {
                return level;
            }
        }
        f64::NAN
    }

    /// The trailing rule, written out plainly: each bar is tested against the level of the best price seen
    /// before it (the highest high for a long, the lowest low for a short), then its own extreme moves it.
    /// Returns the bar index and price of the exit, if any.
    fn reference_trail(long: bool, entry: f64, stop: f64, bars: &[(f64, f64, f64)]) -> Option<(usize, f64)> {
        let mut best = entry;
        for (i, &(open, high, low)) in bars.iter().enumerate() {
            if long {
                let level = best * (1.0 - stop);
                if open <= level {
                    return Some((i, open));
                }
                if low <= level {
                    return Some((i, level));
                }
                best = best.max(high);
            } else {
                let level = best * (1.0 + stop);
                if open >= level {
                    return Some((i, open));
                }
                if high >= level {
                    return Some((i, level));
                }
                best = best.min(low);
            }
        }
        None
    }

    proptest::proptest! {
        #[test]
        fn a_trailing_stop_loss_exits_where_the_plain_trailing_rule_says(
            long: bool,
            stop in 0.01..0.3f64,
            bars in proptest::collection::vec((80.0..120.0f64, 0.0..8.0f64, 0.0..8.0f64), 1..30),
        ) {
            let bars: Vec<(f64, f64, f64)> = bars.into_iter().map(|(o, up, down)| (o, o + up, o - down)).collect();
            let mut s = Stops::default();
            s.arm(100.0, stop, true, f64::NAN);
            let position = if long { 1.0 } else { -1.0 };
            let got = bars.iter().enumerate().find_map(|(i, &(open, high, low))| {
                let price = s.check(position, open, high, low);
                (!price.is_nan()).then_some((i, price))
            });
            proptest::prop_assert_eq!(got, reference_trail(long, 100.0, stop, &bars));
        }

        #[test]
        fn stops_fill_by_the_matchers_rule_at_the_level_or_the_open_on_a_gap(
            position in proptest::sample::select(vec![-2.0, -1.0, 0.0, 1.0, 3.0]),
            reference in 50.0..150.0f64,
            stop in 0.001..0.5f64,
            open in 50.0..150.0f64,
            up in 0.0..30.0f64,
            down in 0.0..30.0f64,
            loss: bool,
        ) {
            let (high, low) = (open + up, open - down);
            let got = if position == 0.0 {
                f64::NAN
            } else {
                match level_touch(position, reference, stop, open, high, low, loss) {
                    Touch::Fill(price) => price,
                    Touch::Rest | Touch::BecomesLimit => f64::NAN,
                }
            };
            let want = reference_hit(position, reference, stop, open, high, low, loss);
            proptest::prop_assert!(got == want || (got.is_nan() && want.is_nan()), "{got} != {want}");
        }
    }
}
