//! The step loop: advance the clock to the next timestamp the strategy listens to, doing the work of every
//! timestamp on the way (market data, margin check, signals, timers; see the module doc of `engine`), and
//! record a snapshot of equity and positions after each timestamp at which bars arrived.

use super::{Engine, Outcome};
use crate::events::Priority;
use crate::records::PositionHistory;

/// What happened at one timestamp: half-open ranges into the bar stream, the signal arrivals and the fill
/// log, plus the timers that fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub ts: i64,
    pub bars: (usize, usize),
    pub signals: (usize, usize),
    /// Fills since the previous step (including close-execution fills of the previous decisions, and under
    /// external execution the broker's fills applied since, see `external.rs`).
    pub fills: (usize, usize),
    pub timers: Vec<u64>,
}

/// Equity after each timestamp at which bars arrived, and the positions as a sparse history (a row when a
/// position changes; the marks are the bar stream's closes, see `PositionHistory`).
#[derive(Debug, Clone, Default)]
pub struct Snapshots {
    /// The latest `ts_event` among that timestamp's bars.
    pub ts: Vec<i64>,
    pub cash: Vec<f64>,
    pub equity: Vec<f64>,
    pub history: PositionHistory,
    /// The positions as of the last row (what the next row's changes are taken against).
    recorded: Vec<f64>,
}

impl Engine {
    /// Advance to the next timestamp the strategy listens to; None when the data is exhausted (or, for an
    /// incremental engine, when it waits for data: see [`Engine::step_live`]).
    pub fn step(&mut self) -> Option<Step> {
        match self.step_live() {
            Outcome::Step(step) => Some(step),
            Outcome::Waiting | Outcome::Finished => None,
        }
    }

    /// Advance to the next timestamp the strategy listens to, as far as the data held allows: `Waiting`
    /// (nothing changed at that timestamp) when the next timestamp is beyond the watermark, or when no data
    /// is held beyond the cursor and the stream has not ended (a timer fires only if data follows it, as in a
    /// batch run, where timers beyond the last bar or signal never fire); `Finished` when the stream has
    /// ended and its data is exhausted. Work on the way (timestamps that wake nobody, the pending snapshot of
    /// the previous step) is done as in batch, so the snapshot rows are the batch run's.
    pub fn step_live(&mut self) -> Outcome {
        loop {
            self.take_snapshot();
            let data = [
                self.bars.ts_arrival.get(self.bar_cursor).copied(),
                self.signal_arrivals.get(self.signal_cursor).copied(),
            ]
            .into_iter()
            .flatten()
            .min();
            // The run ends with the data: timers set beyond the last bar or signal never fire.
            let Some(data_ts) = data else {
                if !self.ended {
                    return Outcome::Waiting;
                }
                self.finished = true;
                return Outcome::Finished;
            };
            // Data not held yet arrives after the watermark: up to it, the held data's order is final.
            let ts = self.timers.peek_ts().map_or(data_ts, |t| t.min(data_ts));
            if ts > self.watermark {
                return Outcome::Waiting;
            }
            self.now = ts;
            let bar_lo = self.bar_cursor;
            while self.bar_cursor < self.bars.len() && self.bars.ts_arrival[self.bar_cursor] == ts {
                self.bar_cursor += 1;
            }
            if self.bar_cursor > bar_lo {
                self.on_bars(bar_lo..self.bar_cursor);
                self.check_margin();
            }
            if self.bar_cursor > bar_lo {
                self.pending_snapshot = Some(
                    self.bars.ts_event[bar_lo..self.bar_cursor]
                        .iter()
                        .copied()
                        .max()
                        .unwrap_or(ts),
                );
            }
            let sig_lo = self.signal_cursor;
            while self.signal_cursor < self.signal_arrivals.len() && self.signal_arrivals[self.signal_cursor] == ts {
                self.signal_cursor += 1;
            }
            let mut timers = Vec::new();
            while self.timers.peek_ts() == Some(ts) {
                timers.extend(self.timers.pop().map(|e| e.payload));
            }
            timers.retain(|id| !self.cancelled_timers.remove(id));
            for &id in &timers {
                if let Some(&period) = self.timer_periods.get(&id) {
                    // Cannot fail: the next firing is after the clock.
                    let _ = self.timers.push(ts.saturating_add(period), Priority::Timer, id);
                }
            }
            let wake = self.config.wake;
            let new_fills = self.fills.len() > self.fills_reported;
            if (wake.bars && self.bar_cursor > bar_lo)
                || (wake.signals && self.signal_cursor > sig_lo)
                || (wake.fills && new_fills)
                || (wake.timers && !timers.is_empty())
            {
                let fills = (self.fills_reported, self.fills.len());
                self.fills_reported = self.fills.len();
                return Outcome::Step(Step {
                    ts,
                    bars: (bar_lo, self.bar_cursor),
                    signals: (sig_lo, self.signal_cursor),
                    fills,
                    timers,
                });
            }
        }
    }

    /// Record equity and positions for the timestamp just processed (after the strategy's decisions, so
    /// close-execution fills are included).
    fn take_snapshot(&mut self) {
        let Some(ts) = self.pending_snapshot.take() else {
            return;
        };
        let snaps = &mut self.snapshots;
        let ts = match snaps.ts.last() {
            // Bars of an earlier ts_event arriving late: replace the previous row so times stay increasing (its
            // position changes stay; the changes found now are added to the same row and win).
            Some(&last) if last >= ts => {
                snaps.ts.pop();
                snaps.cash.pop();
                snaps.equity.pop();
                snaps.history.bar_end.pop();
                last
            }
            _ => ts,
        };
        let row = snaps.ts.len() as i64;
        snaps.ts.push(ts);
        snaps.cash.push(self.ledger.account.cash);
        snaps.equity.push(self.ledger.equity());
        let history = &mut snaps.history;
        history.bar_end.push(self.bar_cursor as i64);
        snaps.recorded.resize(self.ledger.holdings.len(), 0.0);
        for (symbol, (h, recorded)) in self.ledger.holdings.iter().zip(&mut snaps.recorded).enumerate() {
            // bitwise, so a position of -0.0 is recorded as such
            if h.position.to_bits() != recorded.to_bits() {
                *recorded = h.position;
                history.row.push(row);
                history.symbol.push(symbol as i64);
                history.quantity.push(h.position);
            }
        }
    }

    /// Finish the run: the last snapshot is taken; orders still working stay `open`. An incremental engine
    /// runs what its data allows and stops when it waits (its run finishes after [`Engine::end_of_stream`]).
    pub fn finish(&mut self) {
        while self.step().is_some() {}
    }
}
