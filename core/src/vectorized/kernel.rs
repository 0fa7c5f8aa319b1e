//! The bar loop of one group.

use std::ops::Range;

use super::group::Group;
use super::rules::{order_size, Rules, Signals};
pub use super::sequence::Sequence;
use super::source::SignalSource;
use super::stops::Stops;
pub use crate::matching::Execution;
use crate::portfolio::{AccountKind, Affordability, Costs, Ledger, Order, Outcome, SizeType};

/// The reference price stops are measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopEntry {
    /// The entry's fill price (slippage included).
    Fill,
    /// The close of the entry bar.
    Close,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub execution: Execution,
    /// Default order size (`inf` = all in); a source's per-bar size overrides it.
    pub size: f64,
    pub size_type: SizeType,
    /// Commission and slippage models (the `fees=` / `fixed_fees=` / `slippage=` floats are shorthands for
    /// a percent plus a fixed commission and a percent slippage), the minimum size and the lot size.
    pub costs: Costs,
    /// The order of a shared account's orders within a bar (see [`Sequence`]).
    pub order: Sequence,
    /// Weights mode: the cap on gross exposure over equity a rebalance may reach (NaN: none); a source's
    /// per-bar leverage overrides it.
    pub leverage: f64,
    /// Starting cash of each group.
    pub init_cash: f64,
    pub rules: Rules,
    pub sl_stop: f64,
    pub tp_stop: f64,
    pub sl_trail: bool,
    pub stop_entry: StopEntry,
}

/// OHLC per symbol, symbol-major: `close[symbol * n_bars + bar]`. NaN where a symbol has no bar.
pub struct Market<'a> {
    pub n_bars: usize,
    pub n_symbols: usize,
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
}

/// Receives what the kernel does.
pub trait Sink {
    /// `order` was attempted for `col` at `bar`, with the position before and after.
    fn order(&mut self, bar: usize, col: usize, order: &Order, outcome: &Outcome, before: f64, after: f64);
    /// End of `bar`: the group's cash and equity, and its columns' positions.
    fn bar(&mut self, bar: usize, cash: f64, equity: f64, positions: &[f64]);
    /// Every bar of `bars` ended flat with nothing traded: equity was `cash` throughout (so every return in
    /// the run is exactly 0) and every position is 0. The default reports each bar.
    fn flat(&mut self, bars: Range<usize>, cash: f64, positions: &[f64]) {
        for bar in bars {
            self.bar(bar, cash, cash, positions);
        }
    }
}

/// Per-column working state besides the ledger's holding and mark.
#[derive(Debug, Clone, Copy)]
pub struct ColumnState {
    pub stops: Stops,
    /// Last valid valuation price (forward-filled across missing bars).
    pub val_price: f64,
}

impl Default for ColumnState {
    fn default() -> Self {
        Self {
            stops: Stops::default(),
            val_price: f64::NAN,
        }
    }
}

/// What one column did at one bar: the order it placed, the outcome, and its position before and after.
pub type ColumnStep = (Order, Outcome, f64, f64);

/// Execute a decided `order` for one column spending at most `budget`, and re-arm its stops after a fill.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn execute_column<S: SignalSource>(
    order: &Order,
    budget: f64,
    market: &Market,
    at: usize,
    sbar: Option<usize>,
    col: usize,
    source: &S,
    settings: &Settings,
    use_stops: bool,
    ledger: &mut Ledger,
    slot: usize,
    st: &mut ColumnState,
) -> ColumnStep {
    let before = ledger.holdings[slot].position;
    let outcome = ledger.execute_within(slot, order, &settings.costs, budget);
    let after = ledger.holdings[slot].position;
    if let Outcome::Filled { price: fill, .. } = outcome {
        if use_stops {
            rearm(st, before, after, fill, market.close[at], sbar, col, source, settings);
        }
    }
    (*order, outcome, before, after)
}

/// Whether a run must track stops at all.
pub fn uses_stops<S: SignalSource>(settings: &Settings, source: &S) -> bool {
    !settings.sl_stop.is_nan() || !settings.tp_stop.is_nan() || source.has_stops()
}

/// Simulate the columns `cols` (one group) over every bar.
///
/// The group is one cash pool: a [`Ledger`] (a cash account, policy `Resize`) with one slot per column.
/// Each bar is the group's step ([`Group::step`]: every column's order decided, then executed in the
/// settings' sequence against the shared account; or, in weights mode, the rebalance to the targets; then
/// the marks move to the closes), and the bar's equity is recorded.
pub fn simulate_group<S: SignalSource, K: Sink>(
    market: &Market,
    cols: Range<usize>,
    source: &S,
    settings: &Settings,
    sink: &mut K,
) {
    GroupRun::new(market, cols, settings, source).advance(market, source, settings, sink, market.n_bars);
}

/// One group's simulation that can stop at any bar and resume later with another source, so a caller can
/// feed it signals a block of bars at a time (see [`GroupRun::advance`]). Running it to `n_bars` in one call
/// or in any number of calls gives the same orders and bars, in the same order.
pub struct GroupRun {
    cols: Range<usize>,
    ledger: Ledger,
    group: Group,
    positions: Vec<f64>,
    base: Vec<usize>,
    bar: usize,
}

impl GroupRun {
    /// A run of the columns `cols` from bar 0. `source` only tells whether the run is in weights mode and
    /// tracks stops ([`SignalSource::has_weights`], [`uses_stops`]): every source given to
    /// [`GroupRun::advance`] must answer those two as this one.
    pub fn new<S: SignalSource>(market: &Market, cols: Range<usize>, settings: &Settings, source: &S) -> Self {
        let ledger = Ledger::new(
            AccountKind::Cash,
            Affordability::Resize,
            settings.init_cash,
            vec![1.0; cols.len()],
        );
        let base = cols
            .clone()
            .map(|col| (col % market.n_symbols) * market.n_bars)
            .collect();
        Self {
            group: Group::new(cols.len(), settings, source),
            positions: vec![0.0; cols.len()],
            cols,
            ledger,
            base,
            bar: 0,
        }
    }

    /// The next bar to simulate.
    pub fn bar(&self) -> usize {
        self.bar
    }

    /// Simulate the bars from [`GroupRun::bar`] up to `end` (at most `market.n_bars`). `source` must give
    /// the signal rows those bars read ([`signal_bar`]: rows `bar..end`, or `bar - 1..end - 1` at the next
    /// open) and may say nothing of other rows, except that its [`SignalSource::next_entry`] may look at
    /// rows up to `end - 1` and must not find an entry beyond the rows it holds.
    pub fn advance<S: SignalSource, K: Sink>(
        &mut self,
        market: &Market,
        source: &S,
        settings: &Settings,
        sink: &mut K,
        end: usize,
    ) {
        let Self {
            cols,
            ledger,
            group,
            positions,
            base,
            bar,
        } = self;
        while *bar < end {
            let now = *bar;
            // Fast-forward: while every column is flat, a bar without an entry signal (or, in weights mode, a
            // target on a rebalance row) trades nothing, so skip to the next bar that has one, updating only
            // the price marks. (`positions` mirrors the ledger's holdings: only the group's step changes
            // them, and it reports how.) A skip cut at `end` resumes in the next call; the sink sees one run.
            if positions.iter().all(|&p| p == 0.0) {
                let next = next_entry_bar(settings.execution, now, cols.clone(), source, end);
                if next > now {
                    for (k, st) in group.states.iter_mut().enumerate() {
                        st.skip_flat(
                            &mut ledger.marks[k],
                            market,
                            base[k] + now..base[k] + next,
                            settings.execution,
                        );
                    }
                    sink.flat(now..next, ledger.account.cash, positions);
                    *bar = next;
                    continue;
                }
            }
            // Hold: in signal mode without stops, a bar whose signal row has no flag that could trade a
            // column's position (an exit or opposite entry while in a position, an entry when flat, an add
            // when accumulating) places no order: skip to the next row with one, marking each bar.
            if !group.weights && !group.use_stops {
                let next = next_signal_bar(settings, now, cols.clone(), positions, source, end);
                if next > now {
                    hold(
                        market,
                        settings.execution,
                        now..next,
                        base,
                        group,
                        ledger,
                        positions,
                        sink,
                    );
                    *bar = next;
                    continue;
                }
            }
            group.step(
                market,
                now,
                cols.clone(),
                base,
                source,
                settings,
                ledger,
                |k, &(order, outcome, before, after)| {
                    sink.order(now, cols.start + k, &order, &outcome, before, after);
                    positions[k] = after;
                },
            );
            let mut marked = 0.0;
            for (&position, &mark) in positions.iter().zip(&ledger.marks) {
                if position != 0.0 {
                    marked += position * mark;
                }
            }
            sink.bar(now, ledger.account.cash, ledger.account.cash + marked, positions);
            *bar = now + 1;
        }
    }
}

/// The first bar at or after `bar` whose order could come from an entry signal of any column of the group
/// (`end` if none before it). At the close bar `b` trades on signal row `b`; at the next open on row `b - 1`.
fn next_entry_bar<S: SignalSource>(
    execution: Execution,
    bar: usize,
    cols: Range<usize>,
    source: &S,
    end: usize,
) -> usize {
    let shift = usize::from(execution == Execution::NextOpen);
    let first_row = bar.saturating_sub(shift);
    cols.map(|col| {
        source
            .next_entry(col, first_row)
            .map_or(end, |row| (row + shift).clamp(bar, end))
    })
    .min()
    .unwrap_or(end)
}

/// The first bar at or after `bar` (`end` if none before it) whose signal row has a flag that could trade
/// a column of the group at its `positions` ([`actionable`]).
fn next_signal_bar<S: SignalSource>(
    settings: &Settings,
    bar: usize,
    cols: Range<usize>,
    positions: &[f64],
    source: &S,
    end: usize,
) -> usize {
    let shift = usize::from(settings.execution == Execution::NextOpen);
    let first_row = bar.saturating_sub(shift);
    cols.zip(positions)
        .map(|(col, &position)| {
            source
                .next_signal(col, first_row, actionable(position, settings.rules.accumulate))
                .map_or(end, |row| (row + shift).clamp(bar, end))
        })
        .min()
        .unwrap_or(end)
}

/// The raw flags that can make [`decide`] order at `position`: what [`order_size`] reads after
/// [`Rules::resolve`] (which only ever clears flags, or turns an opposite entry into an exit).
fn actionable(position: f64, accumulate: bool) -> Signals {
    if position > 0.0 {
        Signals {
            long_entry: accumulate,
            long_exit: true,
            short_entry: true,
            short_exit: false,
        }
    } else if position < 0.0 {
        Signals {
            long_entry: true,
            long_exit: false,
            short_entry: accumulate,
            short_exit: true,
        }
    } else {
        Signals {
            long_entry: true,
            short_entry: true,
            ..Signals::default()
        }
    }
}

/// Bars `bars` pass with no order in a group without stops in signal mode: as [`Group::step`] leaves such a
/// bar, each column with a close takes its valuation price (when it has one) and its mark; then the bar's
/// equity is recorded as [`GroupRun::advance`] records it.
#[allow(clippy::too_many_arguments)]
fn hold<K: Sink>(
    market: &Market,
    execution: Execution,
    bars: Range<usize>,
    base: &[usize],
    group: &mut Group,
    ledger: &mut Ledger,
    positions: &[f64],
    sink: &mut K,
) {
    let prices = match execution {
        Execution::Close => market.close,
        Execution::NextOpen => market.open,
    };
    let cash = ledger.account.cash;
    for bar in bars {
        for ((st, mark), &at) in group.states.iter_mut().zip(ledger.marks.iter_mut()).zip(base) {
            let close = market.close[at + bar];
            if !close.is_nan() {
                let price = prices[at + bar];
                if !price.is_nan() {
                    st.val_price = price;
                }
                *mark = close;
            }
        }
        let mut marked = 0.0;
        for (&position, &mark) in positions.iter().zip(&ledger.marks) {
            if position != 0.0 {
                marked += position * mark;
            }
        }
        sink.bar(bar, cash, cash + marked, positions);
    }
}

impl ColumnState {
    /// Bars `at` (indices into the market arrays) passed flat with nothing traded: keep the last valid
    /// valuation price and `mark`, as the per-bar path would have.
    fn skip_flat(&mut self, mark: &mut f64, market: &Market, at: Range<usize>, execution: Execution) {
        let prices = match execution {
            Execution::Close => market.close,
            Execution::NextOpen => market.open,
        };
        if let Some(&p) = prices[at.clone()].iter().rev().find(|p| !p.is_nan()) {
            self.val_price = p;
        }
        if let Some(&c) = market.close[at].iter().rev().find(|c| !c.is_nan()) {
            *mark = c;
        }
    }
}

/// The order one column places this bar, if any: a triggered stop, else its resolved signals.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn decide<S: SignalSource>(
    market: &Market,
    at: usize,
    sbar: Option<usize>,
    col: usize,
    source: &S,
    settings: &Settings,
    use_stops: bool,
    position: f64,
    st: &mut ColumnState,
) -> Option<Order> {
    let (open, high, low, close) = (market.open[at], market.high[at], market.low[at], market.close[at]);
    let price = match settings.execution {
        Execution::Close => close,
        Execution::NextOpen => open,
    };
    if !price.is_nan() {
        st.val_price = price;
    }
    let mut order_price = price;
    let mut slippage = true;
    let mut stop_hit = false;
    if use_stops && st.stops.armed() && !close.is_nan() {
        let open = if open.is_nan() { close } else { open };
        let low = if low.is_nan() { open.min(close) } else { low };
        let high = if high.is_nan() { open.max(close) } else { high };
        let hit = st.stops.check(position, open, high, low);
        if !hit.is_nan() {
            stop_hit = true;
            order_price = hit;
            slippage = false;
        }
    }
    let (signals, accumulate) = if stop_hit {
        (
            Signals {
                long_exit: position > 0.0,
                short_exit: position < 0.0,
                ..Signals::default()
            },
            false,
        )
    } else {
        match sbar {
            Some(b) => settings.rules.resolve(position, source.signals(col, b)),
            None => (Signals::default(), settings.rules.accumulate),
        }
    };
    let size = match sbar {
        Some(b) => source.size(col, b).unwrap_or(settings.size),
        None => settings.size,
    };
    let (amount, size_type, direction) =
        order_size(position, signals, size, settings.size_type, accumulate, st.val_price);
    if amount == 0.0 {
        return None;
    }
    Some(Order {
        size: amount,
        size_type,
        direction,
        price: order_price,
        val_price: st.val_price,
        slippage,
    })
}

/// After a fill: clear the stops when flat; arm them on a new or reversed position; re-arm per leg on adds.
#[allow(clippy::too_many_arguments)]
fn rearm<S: SignalSource>(
    st: &mut ColumnState,
    before: f64,
    after: f64,
    fill: f64,
    close: f64,
    sbar: Option<usize>,
    col: usize,
    source: &S,
    settings: &Settings,
) {
    if after == 0.0 {
        st.stops = Stops::default();
        return;
    }
    let fresh = before == 0.0 || before.signum() != after.signum();
    if !(fresh || after.abs() > before.abs()) {
        return;
    }
    let reference = match settings.stop_entry {
        StopEntry::Fill => fill,
        StopEntry::Close => close,
    };
    let sl = sbar.and_then(|b| source.sl_stop(col, b)).unwrap_or(settings.sl_stop);
    let tp = sbar.and_then(|b| source.tp_stop(col, b)).unwrap_or(settings.tp_stop);
    if fresh {
        st.stops.arm(reference, sl, settings.sl_trail, tp);
    } else {
        st.stops.rearm_on_add(reference, sl, settings.sl_trail, tp);
    }
}

/// The signal row a bar's order comes from: the same bar at the close, the previous one at the next open.
#[inline]
pub(super) fn signal_bar(execution: Execution, bar: usize) -> Option<usize> {
    match execution {
        Execution::Close => Some(bar),
        Execution::NextOpen => bar.checked_sub(1),
    }
}
