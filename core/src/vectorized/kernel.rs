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
    let mut ledger = Ledger::new(
        AccountKind::Cash,
        Affordability::Resize,
        settings.init_cash,
        vec![1.0; cols.len()],
    );
    let mut group = Group::new(cols.len(), settings, source);
    let mut positions = vec![0.0; cols.len()];
    let base: Vec<usize> = cols
        .clone()
        .map(|col| (col % market.n_symbols) * market.n_bars)
        .collect();
    let mut bar = 0;
    while bar < market.n_bars {
        // Fast-forward: while every column is flat, a bar without an entry signal (or, in weights mode, a
        // target on a rebalance row) trades nothing, so skip to the next bar that has one, updating only the
        // price marks. (`positions` mirrors the ledger's holdings: only the group's step changes them, and it
        // reports how.)
        if positions.iter().all(|&p| p == 0.0) {
            let next = next_entry_bar(settings.execution, bar, cols.clone(), source, market.n_bars);
            if next > bar {
                for (k, st) in group.states.iter_mut().enumerate() {
                    st.skip_flat(
                        &mut ledger.marks[k],
                        market,
                        base[k] + bar..base[k] + next,
                        settings.execution,
                    );
                }
                sink.flat(bar..next, ledger.account.cash, &positions);
                bar = next;
                continue;
            }
        }
        group.step(
            market,
            bar,
            cols.clone(),
            &base,
            source,
            settings,
            &mut ledger,
            |k, &(order, outcome, before, after)| {
                sink.order(bar, cols.start + k, &order, &outcome, before, after);
                positions[k] = after;
            },
        );
        let mut marked = 0.0;
        for (&position, &mark) in positions.iter().zip(&ledger.marks) {
            if position != 0.0 {
                marked += position * mark;
            }
        }
        sink.bar(bar, ledger.account.cash, ledger.account.cash + marked, &positions);
        bar += 1;
    }
}

/// The first bar at or after `bar` whose order could come from an entry signal of any column of the group
/// (`n_bars` if none). At the close bar `b` trades on signal row `b`; at the next open on row `b - 1`.
fn next_entry_bar<S: SignalSource>(
    execution: Execution,
    bar: usize,
    cols: Range<usize>,
    source: &S,
    n_bars: usize,
) -> usize {
    let shift = usize::from(execution == Execution::NextOpen);
    let first_row = bar.saturating_sub(shift);
    cols.map(|col| {
        source
            .next_entry(col, first_row)
            .map_or(n_bars, |row| (row + shift).clamp(bar, n_bars))
    })
    .min()
    .unwrap_or(n_bars)
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
