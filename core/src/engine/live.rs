//! Data fed incrementally (a replayed or live feed): bars and signals appended as they arrive, a watermark up
//! to which the data is complete, and the end of the stream. [`Engine::step_live`] (in `step.rs`) steps as far
//! as the watermark allows and otherwise says it is waiting, changing nothing at the timestamp it cannot take.
//!
//! A batch engine ([`Engine::new`]) is the same machine with all its data appended, the watermark at
//! `i64::MAX` and the stream ended, so a replay of the same data, in any chunks and with any watermarks, gives
//! exactly the backtest's steps, orders, fills and snapshots (`tests_live.rs`).
//!
//! The clock before the run: an incremental engine starts with no data and `now = i64::MIN` (as a batch
//! engine over no data). Until the run starts (a step taken, an order submitted or a timer scheduled), each
//! append moves `now` to one nanosecond before the earliest data held, as [`Engine::new`] sets it; from then
//! on appends never move it. So a session that appends its first data before calling `on_start` starts where
//! the backtest starts (when that data holds the stream's earliest bar interval, as in any stream whose bars
//! do not start before the first arrival's).

use super::bars::BarStream;
use super::{start_clock, Config, Engine, Step};
use crate::error::{Context, CoreError, CoreResult};

/// What [`Engine::step_live`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A timestamp the strategy listens to (as [`Engine::step`] returns it).
    Step(Step),
    /// The next timestamp may still change (data or the watermark must come first); nothing was done at it.
    Waiting,
    /// The stream has ended and its data is exhausted.
    Finished,
}

impl Engine {
    /// An engine with no data yet: append bars and signals as they arrive ([`Engine::append_bars`],
    /// [`Engine::append_signal_arrivals`]), advance the watermark, end the stream, and step with
    /// [`Engine::step_live`].
    pub fn incremental(config: Config) -> CoreResult<Self> {
        let mut engine = Self::new(config, BarStream::default(), Vec::new())?;
        engine.watermark = i64::MIN;
        engine.ended = false;
        engine.incremental = true;
        Ok(engine)
    }

    /// Append bars that arrived (rows ordered by arrival), checked as [`Engine::new`] checks a stream, and
    /// against what is held: they arrive at or after the last bar held and after the watermark (data up to
    /// the watermark was declared complete). They carry a split (dividend) column iff the bars held do.
    pub fn append_bars(&mut self, chunk: BarStream) -> CoreResult<()> {
        self.check_open("bars")?;
        chunk.validate(self.n_symbols())?;
        let Some(&first) = chunk.ts_arrival.first() else {
            return Ok(());
        };
        self.check_arrival("bars", first, self.bars.ts_arrival.last().copied())?;
        if !self.bars.is_empty() {
            for (name, held, new) in [
                ("split", &self.bars.split, &chunk.split),
                ("dividend", &self.bars.dividend, &chunk.dividend),
            ] {
                if held.is_empty() != new.is_empty() {
                    let message = if held.is_empty() {
                        format!("these bars carry a {name} column and the bars held do not")
                    } else {
                        format!("the bars held carry a {name} column and these do not")
                    };
                    return Err(CoreError::data(message, Context::argument(name).at(first)));
                }
            }
        }
        self.bars.append(&chunk);
        self.restart_clock();
        Ok(())
    }

    /// Append signal arrivals (sorted), checked like the bars' arrivals.
    pub fn append_signal_arrivals(&mut self, arrivals: &[i64]) -> CoreResult<()> {
        self.check_open("signals")?;
        if let Some(i) = (1..arrivals.len()).find(|&i| arrivals[i] < arrivals[i - 1]) {
            return Err(CoreError::data(
                "signal arrivals must be sorted",
                Context::argument("signals").at(arrivals[i]),
            ));
        }
        let Some(&first) = arrivals.first() else {
            return Ok(());
        };
        self.check_arrival("signals", first, self.signal_arrivals.last().copied())?;
        self.signal_arrivals.extend_from_slice(arrivals);
        self.restart_clock();
        Ok(())
    }

    /// All data arriving at or before `ts` is now held: the engine may step up to it. Monotone.
    pub fn advance_watermark(&mut self, ts: i64) -> CoreResult<()> {
        self.check_open("watermark")?;
        if ts < self.watermark {
            return Err(CoreError::data(
                format!("the watermark cannot go back (it is at {} ns)", self.watermark),
                Context::argument("watermark").at(ts),
            ));
        }
        self.watermark = ts;
        Ok(())
    }

    /// No more data: the engine then runs to the end of what it holds, as a batch engine at exhaustion.
    pub fn end_of_stream(&mut self) {
        self.ended = true;
        self.watermark = i64::MAX;
    }

    /// Up to when the data is complete (`i64::MAX` once the stream has ended, and for a batch engine).
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Whether the stream has ended (always for a batch engine).
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    fn check_open(&self, argument: &str) -> CoreResult<()> {
        if self.ended {
            return Err(CoreError::data(
                "the stream has ended: no more data can be appended",
                Context::argument(argument),
            ));
        }
        Ok(())
    }

    fn check_arrival(&self, argument: &str, first: i64, last_held: Option<i64>) -> CoreResult<()> {
        if let Some(last) = last_held.filter(|&last| first < last) {
            return Err(CoreError::data(
                format!("{argument} must arrive in order: this arrives before the last one held (at {last} ns)"),
                Context::argument(argument).at(first),
            ));
        }
        if first <= self.watermark {
            return Err(CoreError::data(
                format!(
                    "{argument} arriving at or before the watermark ({} ns): data up to it was declared complete",
                    self.watermark
                ),
                Context::argument(argument).at(first),
            ));
        }
        Ok(())
    }

    /// Before the run starts, the clock follows the data held (see the module doc).
    fn restart_clock(&mut self) {
        let started = self.bar_cursor > 0
            || self.signal_cursor > 0
            || self.finished
            || !self.orders.is_empty()
            || self.next_timer > 0;
        if !started {
            self.now = start_clock(&self.bars, &self.signal_arrivals);
        }
    }
}
