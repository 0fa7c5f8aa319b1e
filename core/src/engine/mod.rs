//! The event-driven engine: the clock, the bar stream, working orders, matching and the ledger.
//!
//! It never calls Python. The caller drives it in steps: [`Engine::step`] advances the clock to the next
//! timestamp at which something the strategy listens to happens, doing all the work of every timestamp in
//! between (matching orders against bars, marking positions, recording equity), and returns one [`Step`]:
//! everything that arrived at that timestamp. The caller then submits orders, cancels or schedules timers,
//! and steps again. A strategy that listens to nothing runs to the end in one call.
//!
//! Order of work at one timestamp (DESIGN.md §4): market data first (corporate actions of every bar, then
//! every working order of those symbols in submission order, across symbols, so a sale submitted first
//! funds a purchase submitted after it; then the marks move to the closes; then the maintenance margin is
//! checked and an account below it is liquidated by forced orders, see `margin.rs`), then signals, then
//! timers, then the strategy's decisions. Decisions act on later bars only, except a
//! market order under close execution, which fills at the close of a bar stamped exactly at its arrival.
//!
//! Point in time: a bar covers `(ts_start, ts_event]`, and an order is matched against a bar only if it
//! reached the market (`active_ts`, after the order latency) at or before the bar's `ts_start`; otherwise it
//! waits for a later bar. So no fill uses a price from before the order existed: an order decided at 10:00 on
//! daily bars that opened at 09:30 waits for the next day's open. The one exception is the price that is not
//! from before: a market order under close execution fills at the close of the first bar stamped at or after
//! its arrival.

mod booking;
mod ledger;
mod margin;
mod matcher;
mod order;
mod promoted;

pub use crate::matching::Execution;
pub use ledger::{AccountKind, Ledger, Refusal};
pub use order::{Code, Kind, Order, OrderRequest, Status, Tif};
pub use promoted::{Promoted, PromotedInputs};

use std::collections::HashMap;

use crate::error::{Context, CoreError, CoreResult};
use crate::events::{EventQueue, Priority};
use crate::matching::costs::{CommissionModel, SlippageModel};
use crate::matching::fill::BothTouched;
use crate::portfolio::{Side, MAX_INIT_CASH};

/// The bar stream, one row per bar, ordered by (`ts_arrival`, symbol).
#[derive(Debug, Clone, Default)]
pub struct BarStream {
    pub ts_event: Vec<i64>,
    pub ts_arrival: Vec<i64>,
    /// Where each bar's interval begins: the bar covers `(ts_start, ts_event]`, and an order is matched
    /// against it only if it reached the market at or before `ts_start` (see [`Engine::eligible`]).
    pub ts_start: Vec<i64>,
    pub symbol: Vec<usize>,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    pub volume: Vec<f64>,
    /// The bar's trading session (a day number in the exchange's time zone), for DAY orders.
    pub session: Vec<i64>,
    /// New units per old unit on a split's ex-date (1 or NaN otherwise); empty when the bars carry none.
    pub split: Vec<f64>,
    /// Cash per unit on a dividend's ex-date (0 or NaN otherwise); empty when the bars carry none.
    pub dividend: Vec<f64>,
}

impl BarStream {
    pub fn len(&self) -> usize {
        self.ts_event.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts_event.is_empty()
    }
}

/// Which events wake the strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Wake {
    pub bars: bool,
    pub signals: bool,
    pub fills: bool,
    pub timers: bool,
}

#[derive(Debug)]
pub struct Config {
    pub init_cash: f64,
    pub account: AccountKind,
    /// Equity below this fraction of the maintained exposure is a margin call (see [`Ledger::margin_call`]);
    /// [`AccountKind::default_maintenance`] unless the user chose.
    pub maintenance: f64,
    pub execution: Execution,
    /// Nanoseconds from an order's submission until it reaches the market.
    pub order_latency: i64,
    /// Largest fraction of a bar's volume the orders of one symbol may fill in that bar.
    pub participation: Option<f64>,
    pub both_touched: BothTouched,
    pub commission: Box<dyn CommissionModel>,
    pub slippage: Box<dyn SlippageModel>,
    /// Per symbol; also fixes the number of symbols.
    pub multipliers: Vec<f64>,
    pub wake: Wake,
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

/// What happened at one timestamp: half-open ranges into the bar stream, the signal arrivals and the fill
/// log, plus the timers that fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub ts: i64,
    pub bars: (usize, usize),
    pub signals: (usize, usize),
    /// Fills since the previous step (including close-execution fills of the previous decisions).
    pub fills: (usize, usize),
    pub timers: Vec<u64>,
}

/// Equity and positions after each timestamp at which bars arrived.
#[derive(Debug, Clone, Default)]
pub struct Snapshots {
    /// The latest `ts_event` among that timestamp's bars.
    pub ts: Vec<i64>,
    pub cash: Vec<f64>,
    pub equity: Vec<f64>,
    /// Row-major (snapshot, symbol).
    pub positions: Vec<f64>,
    /// Row-major (snapshot, symbol): the marks (last close; NaN before a symbol's first bar).
    pub marks: Vec<f64>,
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
    cancelled_timers: std::collections::HashSet<u64>,
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
}

/// The shortest period of a repeating timer (1 ms): shorter ones are never meant in a bar backtest.
pub const MIN_TIMER_PERIOD: i64 = 1_000_000;
/// The most firings a repeating timer may have before the data ends.
pub const MAX_TIMER_FIRINGS: i64 = 10_000_000;

fn order_error(message: String, symbol: Option<usize>, ts: i64) -> CoreError {
    CoreError::order(
        message,
        Context {
            symbol: symbol.map(|s| s.to_string()),
            ..Context::default()
        }
        .at(ts),
    )
}

impl Engine {
    pub fn new(config: Config, bars: BarStream, signal_arrivals: Vec<i64>) -> CoreResult<Self> {
        let n = config.multipliers.len();
        validate(&config, &bars, &signal_arrivals)?;
        let ledger = Ledger::new(config.account, config.init_cash, config.multipliers.clone());
        // The clock starts one nanosecond before the first event or bar interval: `on_start` sees nothing yet,
        // and what it schedules or orders happens before the first bar starts (so it can fill at its open).
        let first = [
            bars.ts_arrival.first(),
            bars.ts_start.iter().min(),
            signal_arrivals.first(),
        ]
        .into_iter()
        .flatten()
        .min();
        let now = first.map_or(i64::MIN, |&ts| ts.saturating_sub(1));
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
            cancelled_timers: std::collections::HashSet::new(),
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
        })
    }

    /// Run a promoted vectorized strategy on this engine's bars (see [`Promoted`]). Its settings' execution
    /// must be the engine's, and contract multipliers must be 1 (the vectorized mode has none).
    pub fn set_promoted(&mut self, promoted: Promoted) -> CoreResult<()> {
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

    /// Advance to the next timestamp the strategy listens to; None when the data is exhausted.
    pub fn step(&mut self) -> Option<Step> {
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
                self.finished = true;
                return None;
            };
            let ts = self.timers.peek_ts().map_or(data_ts, |t| t.min(data_ts));
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
                return Some(Step {
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
        let n = self.ledger.holdings.len();
        let snaps = &mut self.snapshots;
        let ts = match snaps.ts.last() {
            // Bars of an earlier ts_event arriving late: replace the previous row so times stay increasing.
            Some(&last) if last >= ts => {
                snaps.ts.pop();
                snaps.cash.pop();
                snaps.equity.pop();
                snaps.positions.truncate(snaps.positions.len() - n);
                snaps.marks.truncate(snaps.marks.len() - n);
                last
            }
            _ => ts,
        };
        snaps.ts.push(ts);
        snaps.cash.push(self.ledger.account.cash);
        snaps.equity.push(self.ledger.equity());
        snaps.positions.extend(self.ledger.holdings.iter().map(|h| h.position));
        snaps.marks.extend_from_slice(&self.ledger.marks);
    }

    /// Finish the run: the last snapshot is taken; orders still working stay `open`.
    pub fn finish(&mut self) {
        while self.step().is_some() {}
    }

    /// Submit an order at the current time; returns its id. Invalid requests are errors (the strategy's
    /// bug, not the market's verdict); economic refusals happen later, as rejections recorded in the order.
    pub fn submit(&mut self, request: OrderRequest) -> CoreResult<u64> {
        let ts = self.now;
        if request.symbol >= self.n_symbols() {
            return Err(order_error(
                format!("unknown symbol index {}", request.symbol),
                None,
                ts,
            ));
        }
        let sym = Some(request.symbol);
        if !(request.quantity.is_finite() && request.quantity > 0.0) {
            return Err(order_error(
                format!("quantity must be finite and > 0, got {}", request.quantity),
                sym,
                ts,
            ));
        }
        let price_ok = |p: f64| p.is_finite() && p > 0.0;
        let prices_ok = match request.kind {
            Kind::Market => true,
            Kind::Limit { limit } => price_ok(limit),
            Kind::Stop { stop } => price_ok(stop),
            Kind::StopLimit { stop, limit } => price_ok(stop) && price_ok(limit),
            Kind::TrailingStop { trail } => match trail {
                crate::matching::fill::Trail::Amount(a) => price_ok(a),
                crate::matching::fill::Trail::Percent(p) => p.is_finite() && p > 0.0 && p < 1.0,
            },
        };
        if !prices_ok {
            return Err(order_error(
                format!("{} order has an invalid price: {:?}", request.kind.name(), request.kind),
                sym,
                ts,
            ));
        }
        if let Some(parent) = request.parent {
            let Some(p) = self.orders.get(parent as usize) else {
                return Err(order_error(format!("parent order {parent} does not exist"), sym, ts));
            };
            // A parent that closed at this very timestamp (a market entry filled at the close under close
            // execution, inside its own submission) still takes its legs.
            if !p.is_open() && p.ts_closed != Some(ts) {
                return Err(order_error(format!("parent order {parent} is already closed"), sym, ts));
            }
        }
        let id = self.orders.len() as u64;
        let mut order = Order::new(id, request, ts, ts.saturating_add(self.config.order_latency));
        if request.parent.is_none() {
            order.start_trailing(self.ledger.marks[request.symbol]);
        }
        self.orders.push(order);
        if let Some(group) = request.oco {
            self.oco_groups.entry(group).or_default().push(id);
        }
        match request.parent {
            Some(parent) => {
                self.children.entry(parent).or_default().push(id);
                if !self.orders[parent as usize].is_open() {
                    self.after_close(parent, ts);
                }
            }
            None => {
                self.working[request.symbol].push(id);
                self.fill_at_close_now(id);
            }
        }
        Ok(id)
    }

    /// Cancel an open order (immediately; cancellation has no latency). False when it was not open.
    pub fn cancel(&mut self, id: u64) -> bool {
        match self.orders.get(id as usize) {
            Some(o) if o.is_open() => {
                let reason = "cancelled by the strategy".to_owned();
                self.close_order(id, Status::Cancelled, Code::CancelledByStrategy, reason, self.now);
                true
            }
            _ => false,
        }
    }

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

    /// The arrival of the last bar or signal: the run ends there.
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

    /// Close an order and settle what depends on it: bracket legs start working for the quantity their
    /// entry filled, or are cancelled if it filled nothing.
    fn close_order(&mut self, id: u64, status: Status, code: Code, reason: String, ts: i64) {
        self.orders[id as usize].close(status, code, reason, ts);
        self.after_close(id, ts);
    }

    fn after_close(&mut self, id: u64, ts: i64) {
        let Some(children) = self.children.remove(&id) else {
            return;
        };
        let (filled, avg) = {
            let o = &self.orders[id as usize];
            (o.filled, o.avg_fill_price())
        };
        for child in children {
            if !self.orders[child as usize].is_open() {
                continue;
            }
            if filled > 0.0 {
                let o = &mut self.orders[child as usize];
                o.held = false;
                o.quantity = filled;
                o.active_ts = o.active_ts.max(ts);
                o.start_trailing(avg);
                let symbol = o.request.symbol;
                self.working[symbol].push(child);
            } else {
                let reason = format!("its bracket entry {id} filled nothing");
                self.close_order(child, Status::Cancelled, Code::BracketEntryUnfilled, reason, ts);
            }
        }
    }
}

fn validate(config: &Config, bars: &BarStream, signal_arrivals: &[i64]) -> CoreResult<()> {
    let n = bars.len();
    let columns = [
        bars.ts_arrival.len(),
        bars.ts_start.len(),
        bars.symbol.len(),
        bars.open.len(),
        bars.high.len(),
        bars.low.len(),
        bars.close.len(),
        bars.volume.len(),
        bars.session.len(),
    ];
    let optional_ok = |v: &Vec<f64>| v.is_empty() || v.len() == n;
    if columns.iter().any(|&len| len != n) || !optional_ok(&bars.split) || !optional_ok(&bars.dividend) {
        return Err(CoreError::data(
            "bar columns differ in length",
            Context::argument("bars"),
        ));
    }
    if let Some(i) = (0..n).find(|&i| bars.ts_start[i] > bars.ts_event[i]) {
        return Err(CoreError::data(
            "a bar's ts_start is after its ts_event",
            Context::argument("bars").at(bars.ts_event[i]),
        ));
    }
    if let Some(i) = (1..n).find(|&i| bars.ts_arrival[i] < bars.ts_arrival[i - 1]) {
        return Err(CoreError::data(
            "bars must be ordered by ts_arrival",
            Context::argument("bars").at(bars.ts_arrival[i]),
        ));
    }
    if let Some(i) = (0..n).find(|&i| bars.symbol[i] >= config.multipliers.len()) {
        return Err(CoreError::data(
            format!("bar symbol index {} outside the universe", bars.symbol[i]),
            Context::argument("bars").at(bars.ts_event[i]),
        ));
    }
    if let Some(i) = (1..signal_arrivals.len()).find(|&i| signal_arrivals[i] < signal_arrivals[i - 1]) {
        return Err(CoreError::data(
            "signal arrivals must be sorted",
            Context::argument("signals").at(signal_arrivals[i]),
        ));
    }
    if !(config.init_cash.is_finite() && config.init_cash > 0.0 && config.init_cash <= MAX_INIT_CASH) {
        return Err(CoreError::config(
            format!(
                "init_cash must be > 0 and <= {MAX_INIT_CASH:e}, got {}",
                config.init_cash
            ),
            Context::argument("init_cash"),
        ));
    }
    config.account.check_maintenance(config.maintenance)?;
    if let AccountKind::Margin { leverage } = config.account {
        if !(leverage.is_finite() && leverage >= 1.0) {
            return Err(CoreError::config(
                format!("leverage must be finite and >= 1, got {leverage}"),
                Context::argument("leverage"),
            ));
        }
    }
    if config.order_latency < 0 {
        return Err(CoreError::config(
            "order latency must be >= 0",
            Context::argument("latency"),
        ));
    }
    if let Some(p) = config.participation {
        if !(p.is_finite() && p > 0.0 && p <= 1.0) {
            return Err(CoreError::config(
                format!("participation must be in (0, 1], got {p}"),
                Context::argument("participation"),
            ));
        }
    }
    if let Some(m) = config.multipliers.iter().find(|m| !(m.is_finite() && **m > 0.0)) {
        return Err(CoreError::config(
            format!("contract multipliers must be finite and > 0, got {m}"),
            Context::argument("multipliers"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_oco;
#[cfg(test)]
mod tests_pit;
