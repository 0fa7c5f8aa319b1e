//! Timers: one-off or repeating, fired in the step loop after market data and signals of their timestamp.
//! A timer set beyond the end of the data never fires (so an incremental engine fires one only once it holds
//! data after it, or waits: see `Engine::step_live`); a repeating timer that would make a run never end is
//! refused.

use super::Engine;
use crate::error::{Context, CoreError, CoreResult};
use crate::events::Priority;

/// The shortest period of a repeating timer (1 ms): shorter ones are never meant in a bar backtest.
pub const MIN_TIMER_PERIOD: i64 = 1_000_000;
/// The most firings a repeating timer may have before the data ends.
pub const MAX_TIMER_FIRINGS: i64 = 10_000_000;

impl Engine {
    /// Fire a timer at `ts` (strictly after now), and then every `every` ns if given; returns its id, which
    /// its repetitions keep.
    ///
    /// A repeating timer that cannot be meant is refused (a ConfigError naming `every`), because it would
    /// make a run that never ends: a period below [`MIN_TIMER_PERIOD`] (1 ms), or one that would fire more
    /// than [`MAX_TIMER_FIRINGS`] times before the data ends.
    pub fn schedule(&mut self, ts: i64, every: Option<i64>) -> CoreResult<u64> {
        if let Some(period) = every {
            if period < MIN_TIMER_PERIOD {
                return Err(CoreError::config(
                    format!("a repeating timer's period must be at least 1 ms, got {period} ns"),
                    Context::argument("every"),
                ));
            }
            let end = self.last_data_ts();
            let firings = if end >= ts {
                end.saturating_sub(ts) / period + 1
            } else {
                0
            };
            if firings > MAX_TIMER_FIRINGS {
                return Err(CoreError::config(
                    format!(
                        "a timer every {period} ns would fire {firings} times before the data ends (at most \
                         {MAX_TIMER_FIRINGS}); choose a longer period"
                    ),
                    Context::argument("every").at(ts),
                ));
            }
        }
        if ts <= self.now {
            return Err(CoreError::config(
                format!("a timer must fire after the current time ({} ns)", self.now),
                Context::argument("at").at(ts),
            ));
        }
        let id = self.next_timer;
        self.next_timer += 1;
        self.timers.push(ts, Priority::Timer, id)?;
        if let Some(period) = every {
            self.timer_periods.insert(id, period);
        }
        Ok(id)
    }

    /// The arrival of the last bar or signal: the run ends there (for an incremental engine, the last held so
    /// far, so the firings a repeating timer may have are counted against the data held when it is set).
    fn last_data_ts(&self) -> i64 {
        let bar = self.bars.ts_arrival.last().copied().unwrap_or(i64::MIN);
        let signal = self.signal_arrivals.last().copied().unwrap_or(i64::MIN);
        bar.max(signal)
    }

    /// Cancel a timer that has not fired; false if it is unknown or already fired or cancelled.
    pub fn cancel_timer(&mut self, id: u64) -> bool {
        let pending = id < self.next_timer && !self.fired_or_cancelled(id) && self.cancelled_timers.insert(id);
        self.timer_periods.remove(&id);
        pending
    }

    fn fired_or_cancelled(&self, id: u64) -> bool {
        self.cancelled_timers.contains(&id) || !self.timers.iter().any(|e| e.payload == id)
    }
}
