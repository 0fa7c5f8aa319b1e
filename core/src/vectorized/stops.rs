//! Stop-loss, trailing stop-loss and take-profit for the vectorized mode.
//!
//! Checked once per bar against that bar's OHLC, before the bar's signals: stop-loss first, so when both
//! legs touch in one bar the pessimistic one (the stop-loss) fills (DESIGN.md §4). A stop fills at its level,
//! or at the open when the bar gaps through it, with no slippage (a stop-limit at the level). A triggered
//! stop replaces that bar's signals. Stops arm when a position opens or reverses and clear when it closes.

use crate::matching::fill::{touch, Bar, Touch, Trigger};
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

    /// The exit price if a stop triggers in this bar for `position`, else NaN. Updates a trailing
    /// stop's reference from this bar's extreme after the check.
    pub fn check(&mut self, position: f64, open: f64, high: f64, low: f64) -> f64 {
        let mut price = f64::NAN;
        if !self.sl.is_nan() {
            price = level_hit(position, self.sl_ref, self.sl, open, high, low, true);
        }
        if price.is_nan() && !self.tp.is_nan() {
            price = level_hit(position, self.tp_ref, self.tp, open, high, low, false);
        }
        if !self.sl.is_nan() && self.trail {
            if position > 0.0 && high > self.sl_ref {
                self.sl_ref = high;
            } else if position < 0.0 && low < self.sl_ref {
                self.sl_ref = low;
            }
        }
        price
    }
}

/// Where a stop `stop` (a fraction) away from `reference` fills in a bar, or NaN. `loss` says whether
/// it is a stop-loss (below a long's reference, above a short's) or a take-profit (the other side).
///
/// The fill rule is the matcher's ([`touch`]): the exit of a long sells and of a short buys; a stop-loss is a
/// stop order at its level, a take-profit a limit order, so both fill at the level or at the open on a gap.
fn level_hit(position: f64, reference: f64, stop: f64, open: f64, high: f64, low: f64, loss: bool) -> f64 {
    if position == 0.0 {
        return f64::NAN;
    }
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
    let bar = Bar {
        open,
        high,
        low,
        close: f64::NAN,
        volume: f64::NAN,
    };
    match touch(trigger, side, &bar) {
        Touch::Fill(price) => price,
        Touch::Rest | Touch::BecomesLimit => f64::NAN,
    }
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

    proptest::proptest! {
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
            let got = level_hit(position, reference, stop, open, high, low, loss);
            let want = reference_hit(position, reference, stop, open, high, low, loss);
            proptest::prop_assert!(got == want || (got.is_nan() && want.is_nan()), "{got} != {want}");
        }
    }
}
