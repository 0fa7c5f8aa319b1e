//! One bar of one group: the step the kernel's bar loop and the promoted event engine both take, so the two
//! modes trade identically by construction.
//!
//! A column with no bar at this bar (its close is NaN: before its listing, after its delisting, a gap)
//! places no order. In signal mode each other column decides its order ([`super::kernel`]'s `decide`: a
//! triggered stop, else its signals), then the orders execute in the settings' [`Sequence`] (a decision
//! reads only its own column, so deciding first changes nothing but the order of execution). In weights
//! mode the group rebalances to its targets ([`super::weights`]). Then each column with a bar is marked to
//! its close (in the ledger's marks).

use std::ops::Range;

use super::kernel::{decide, execute_column, signal_bar, ColumnState, ColumnStep, Market, Settings};
use super::sequence::{self, Sequence, SequenceScratch};
use super::source::SignalSource;
use super::weights::step_weights;
use crate::portfolio::{Direction, Ledger, Order, SizeType};

/// A group's per-column state and the scratch its bar step reuses (nothing is allocated per bar).
#[derive(Debug, Clone)]
pub struct Group {
    pub states: Vec<ColumnState>,
    pub(super) use_stops: bool,
    pub(super) weights: bool,
    pub(super) orders: Vec<Option<Order>>,
    pub(super) keys: Vec<f64>,
    pub(super) targets: Vec<f64>,
    pub(super) scratch: SequenceScratch,
}

impl Group {
    /// A group of `n` columns reading `source` under `settings`.
    pub fn new<S: SignalSource>(n: usize, settings: &Settings, source: &S) -> Self {
        Self {
            states: vec![ColumnState::default(); n],
            use_stops: super::kernel::uses_stops(settings, source),
            weights: source.has_weights(),
            orders: vec![None; n],
            keys: vec![0.0; n],
            targets: vec![f64::NAN; n],
            scratch: SequenceScratch::default(),
        }
    }

    /// Bar `bar` of the columns `cols` (column `cols.start + k` reads the market at `base[k] + bar` and
    /// books into `ledger` slot `k`); `report(k, step)` hears every order attempted.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn step<S: SignalSource, F: FnMut(usize, &ColumnStep)>(
        &mut self,
        market: &Market,
        bar: usize,
        cols: Range<usize>,
        base: &[usize],
        source: &S,
        settings: &Settings,
        ledger: &mut Ledger,
        mut report: F,
    ) {
        if self.weights {
            return step_weights(self, market, bar, cols, base, source, settings, ledger, report);
        }
        let sbar = signal_bar(settings.execution, bar);
        let use_stops = self.use_stops;
        if settings.order == Sequence::Symbol || cols.len() == 1 {
            for (k, col) in cols.enumerate() {
                let at = base[k] + bar;
                let close = market.close[at];
                if close.is_nan() {
                    continue;
                }
                let st = &mut self.states[k];
                let position = ledger.holdings[k].position;
                let order = decide(market, at, sbar, col, source, settings, use_stops, position, st);
                ledger.marks[k] = close; // read by nothing before the bar ends: set now, in the same pass
                if let Some(order) = order {
                    let step = execute_column(
                        &order,
                        f64::INFINITY,
                        market,
                        at,
                        sbar,
                        col,
                        source,
                        settings,
                        use_stops,
                        ledger,
                        k,
                        st,
                    );
                    report(k, &step);
                }
            }
            return;
        }
        self.sequenced(market, bar, cols, base, source, settings, ledger, report);
    }

    /// [`Group::step`] in signal mode with several columns in an `Auto` or `ProRata` sequence: decide every
    /// column, then execute in sequence (kept out of line so the column-order loop stays small).
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn sequenced<S: SignalSource, F: FnMut(usize, &ColumnStep)>(
        &mut self,
        market: &Market,
        bar: usize,
        cols: Range<usize>,
        base: &[usize],
        source: &S,
        settings: &Settings,
        ledger: &mut Ledger,
        mut report: F,
    ) {
        let sbar = signal_bar(settings.execution, bar);
        let use_stops = self.use_stops;
        let (cash, free_cash) = (ledger.account.cash, ledger.account.free_cash);
        for (k, col) in cols.clone().enumerate() {
            let at = base[k] + bar;
            let st = &mut self.states[k];
            let position = ledger.holdings[k].position;
            let order = if market.close[at].is_nan() {
                None
            } else {
                decide(market, at, sbar, col, source, settings, use_stops, position, st)
            };
            self.orders[k] = order;
            self.keys[k] = order.map_or(0.0, |o| approx_value(&o, position, st.val_price, cash, free_cash));
        }
        let (states, orders) = (&mut self.states, &self.orders);
        sequence::execute(
            settings.order,
            orders,
            &self.keys,
            &mut self.scratch,
            ledger,
            &settings.costs,
            |ledger, k, budget| {
                let (col, at) = (cols.start + k, base[k] + bar);
                let Some(order) = &orders[k] else { return };
                let step = execute_column(
                    order,
                    budget,
                    market,
                    at,
                    sbar,
                    col,
                    source,
                    settings,
                    use_stops,
                    ledger,
                    k,
                    &mut states[k],
                );
                report(k, &step);
            },
        );
        mark(market, bar, base, ledger);
    }
}

/// Each column with a bar at `bar` marked to its close.
#[inline]
pub(super) fn mark(market: &Market, bar: usize, base: &[usize], ledger: &mut Ledger) {
    for (k, mark) in ledger.marks.iter_mut().enumerate() {
        let close = market.close[base[k] + bar];
        if !close.is_nan() {
            *mark = close;
        }
    }
}

/// The approximate value of a signal order, vectorbt's `from_signals` sort key: units times the valuation
/// price, a value as is, a percent of the cash (buys) or of what a sale may reach (sales).
fn approx_value(order: &Order, position: f64, val_price: f64, cash: f64, free_cash: f64) -> f64 {
    match order.size_type {
        SizeType::Amount => order.size * val_price,
        SizeType::Value => order.size,
        SizeType::Percent if order.size >= 0.0 => order.size * cash,
        SizeType::Percent => {
            let held = position * val_price;
            if order.direction == Direction::Long {
                order.size * held
            } else {
                order.size * (2.0 * held.max(0.0) + free_cash.max(0.0))
            }
        }
    }
}
