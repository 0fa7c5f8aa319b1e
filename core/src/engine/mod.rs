//! The event-driven engine: the clock, the bar stream, working orders and matching, booking every fill into
//! the portfolio [`Ledger`] under its `Reject` policy (a promoted vectorized strategy books under `Resize`).
//!
//! It never calls Python. The caller drives it in steps: [`Engine::step`] advances the clock to the next
//! timestamp at which something the strategy listens to happens, doing all the work of every timestamp in
//! between (matching orders against bars, marking positions, recording equity), and returns one [`Step`]:
//! everything that arrived at that timestamp. The caller then submits orders, cancels or schedules timers,
//! and steps again. A strategy that listens to nothing runs to the end in one call.
//!
//! The data may also come incrementally (a replayed or live feed, `live.rs`): [`Engine::incremental`] starts
//! empty, bars and signals are appended as they arrive, a watermark says up to when the data is complete, and
//! [`Engine::step_live`] steps as far as the watermark allows. A batch engine is the same machine with all its
//! data appended, the watermark at the end of time and the stream ended, so a replay of the same data gives
//! the backtest's steps, orders and fills.
//!
//! Order of work at one timestamp (DESIGN.md §4): market data first (corporate actions of every bar, then
//! every working order of those symbols in submission order, across symbols, so a sale submitted first
//! funds a purchase submitted after it; then the marks move to the closes; then the maintenance margin is
//! checked and an account below it is liquidated by forced orders, see `margin.rs`), then signals, then
//! timers, then the strategy's decisions. Decisions act on later bars only, except a
//! market order under close execution, which fills at the close of a bar stamped exactly at its arrival.
//!
//! Under external execution (`external.rs`) a broker fills the orders: the engine records them and keeps the
//! ledger, but matches nothing; the broker's fills and closes are applied to it as they arrive.
//!
//! Point in time: a bar covers `(ts_start, ts_event]`, and an order is matched against a bar only if it
//! reached the market (`active_ts`, after the order latency) at or before the bar's `ts_start`; otherwise it
//! waits for a later bar. So no fill uses a price from before the order existed: an order decided at 10:00 on
//! daily bars that opened at 09:30 waits for the next day's open. The one exception is the price that is not
//! from before: a market order under close execution fills at the close of the first bar stamped at or after
//! its arrival.

mod bars;
mod booking;
mod column;
mod config;
mod external;
mod live;
mod margin;
mod matcher;
mod order;
mod promoted;
mod queries;
mod step;
mod submit;
mod timers;

pub use crate::matching::Execution;
pub use crate::portfolio::{AccountKind, Ledger, Refusal};
pub use bars::BarStream;
pub use column::Column;
pub use config::{Config, Wake};
pub use external::broker_close_status;
pub use live::Outcome;
pub use order::{Code, Kind, Order, OrderRequest, Status, Tif};
pub use promoted::{Promoted, PromotedInputs};
pub use step::{Snapshots, Step};
pub use timers::{MAX_TIMER_FIRINGS, MIN_TIMER_PERIOD};

use std::collections::{HashMap, HashSet};

use crate::error::{Context, CoreError, CoreResult};
use crate::events::EventQueue;
use crate::portfolio::{Affordability, Side};

/// The clock before the run: one nanosecond before the first event or bar interval (i64::MIN with no data),
/// so `on_start` sees nothing yet, and what it schedules or orders happens before the first bar starts (so it
/// can fill at its open).
fn start_clock(bars: &BarStream, signal_arrivals: &[i64]) -> i64 {
    let first = [
        bars.ts_arrival.first(),
        bars.ts_start.iter().min(),
        signal_arrivals.first(),
    ]
    .into_iter()
    .flatten()
    .min();
    first.map_or(i64::MIN, |&ts| ts.saturating_sub(1))
}

/// One execution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fill {
    pub order_id: u64,
    pub ts: i64,
    pub symbol: usize,
    pub side: Side,
    pub quantity: f64,
    pub price: f64,
    pub fee: f64,
    /// Cost of slippage in account currency (>= 0).
    pub slippage: f64,
}

pub struct Engine {
    config: Config,
    bars: BarStream,
    signal_arrivals: Vec<i64>,
    ledger: Ledger,
    orders: Vec<Order>,
    /// Open, released (not held) orders per symbol, in submission order.
    working: Vec<Vec<u64>>,
    oco_groups: HashMap<u64, Vec<u64>>,
    children: HashMap<u64, Vec<u64>>,
    fills: Vec<Fill>,
    dividends: f64,
    timers: EventQueue<u64>,
    next_timer: u64,
    now: i64,
    /// Timers cancelled before they fired.
    cancelled_timers: HashSet<u64>,
    /// Repeating timers: id -> period (ns). A repeat keeps its id.
    timer_periods: HashMap<u64, i64>,
    /// Participation volume already used per symbol: (bar row, units filled in it).
    volume_used: Vec<(usize, f64)>,
    bar_cursor: usize,
    signal_cursor: usize,
    fills_reported: usize,
    /// The latest bar `ts_event` of the current timestamp, if bars arrived at it (pending snapshot).
    pending_snapshot: Option<i64>,
    /// The row of each symbol's latest bar (for close execution at submission).
    last_row: Vec<Option<usize>>,
    snapshots: Snapshots,
    finished: bool,
    /// A promoted vectorized strategy acting on each bar, if any.
    promoted: Option<Promoted>,
    /// All data arriving at or before this time is held (`i64::MAX` for a batch engine; see `live.rs`).
    watermark: i64,
    /// No more data will be appended (always for a batch engine).
    ended: bool,
    /// Made empty by [`Engine::incremental`] (data appended as it arrives).
    incremental: bool,
    /// A broker executes the orders ([`Engine::external`]): the engine never matches them.
    external: bool,
}

impl Engine {
    pub fn new(config: Config, bars: BarStream, signal_arrivals: Vec<i64>) -> CoreResult<Self> {
        let n = config.multipliers.len();
        config::validate(&config, &bars, &signal_arrivals)?;
        let ledger = Ledger::new(
            config.account,
            Affordability::Reject,
            config.init_cash,
            config.multipliers.clone(),
        );
        let now = start_clock(&bars, &signal_arrivals);
        Ok(Self {
            config,
            bars,
            signal_arrivals,
            ledger,
            orders: Vec::new(),
            working: vec![Vec::new(); n],
            oco_groups: HashMap::new(),
            children: HashMap::new(),
            fills: Vec::new(),
            dividends: 0.0,
            timers: EventQueue::new(),
            next_timer: 0,
            now,
            cancelled_timers: HashSet::new(),
            timer_periods: HashMap::new(),
            volume_used: vec![(usize::MAX, 0.0); n],
            bar_cursor: 0,
            signal_cursor: 0,
            fills_reported: 0,
            pending_snapshot: None,
            last_row: vec![None; n],
            snapshots: Snapshots::default(),
            finished: false,
            promoted: None,
            watermark: i64::MAX,
            ended: true,
            incremental: false,
            external: false,
        })
    }

    /// Run a promoted vectorized strategy on this engine's bars (see [`Promoted`]). Its settings' execution
    /// must be the engine's, and contract multipliers must be 1 (the vectorized mode has none).
    pub fn set_promoted(&mut self, promoted: Promoted) -> CoreResult<()> {
        if self.incremental {
            return Err(CoreError::config(
                "a promoted vectorized strategy runs on a batch engine only (its inputs cover the whole stream)",
                Context::argument("strategy"),
            ));
        }
        promoted.inputs().validate(self.n_symbols())?;
        if promoted.n_rows() != self.bars.len() {
            return Err(CoreError::config(
                "the promoted strategy's inputs do not match the bars",
                Context::argument("strategy"),
            ));
        }
        if self.config.multipliers.iter().any(|&m| m != 1.0) {
            return Err(CoreError::config(
                "a promoted vectorized strategy trades without contract multipliers",
                Context::argument("multipliers"),
            ));
        }
        if promoted.settings().execution != self.config.execution {
            return Err(CoreError::config(
                "the promoted strategy's execution differs from the engine's",
                Context::argument("execution"),
            ));
        }
        if self.started() {
            return Err(CoreError::config(
                "a promoted strategy must be set before the run starts",
                Context::argument("strategy"),
            ));
        }
        // A promoted strategy follows the vectorized semantics: its orders are sized and resized as vectorbt's.
        self.ledger.policy = Affordability::Resize;
        self.promoted = Some(promoted);
        Ok(())
    }

    fn started(&self) -> bool {
        self.bar_cursor > 0 || self.signal_cursor > 0 || self.finished
    }

    pub fn n_symbols(&self) -> usize {
        self.config.multipliers.len()
    }

    /// The clock: the timestamp of the last step (i64::MIN before the first).
    pub fn now(&self) -> i64 {
        self.now
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn orders(&self) -> &[Order] {
        &self.orders
    }

    pub fn fills(&self) -> &[Fill] {
        &self.fills
    }

    pub fn snapshots(&self) -> &Snapshots {
        &self.snapshots
    }

    /// Ids of the open orders (of one symbol, or all), in submission order: the working ones and the bracket
    /// legs waiting for their entry. Reads the per-symbol working lists, not the whole order history.
    pub fn open_order_ids(&self, symbol: Option<usize>) -> Vec<u64> {
        let working: Vec<u64> = match symbol {
            Some(s) => self.working.get(s).cloned().unwrap_or_default(),
            None => self.working.iter().flatten().copied().collect(),
        };
        let held = self.children.values().flatten().copied();
        let mut ids: Vec<u64> = working
            .into_iter()
            .chain(held)
            .filter(|&id| {
                let o = &self.orders[id as usize];
                o.is_open() && symbol.is_none_or(|s| o.request.symbol == s)
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Cash received from (or paid for) dividends so far.
    pub fn dividends(&self) -> f64 {
        self.dividends
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_external;
#[cfg(test)]
mod tests_live;
#[cfg(test)]
mod tests_oco;
#[cfg(test)]
mod tests_pit;
