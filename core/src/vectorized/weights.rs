//! Weights mode: one bar of a group rebalancing to target weights, vectorbt's `from_orders(size_type=
//! "targetpercent", cash_sharing=True, update_value=False)`.
//!
//! At bar `b` the targets come from signal row `r` (`b` at the close, `b - 1` at the next open; none at
//! bar 0 then). For each column `i` of the group:
//! - the order price `p_i` is its close (or open) at `b`; the valuation price is `p_i`, or the last valid
//!   one when `p_i` is NaN. A column whose price is NaN (no bar) places no order;
//! - its target is `weights[i, r]` when `rebalance[i, r]` and the weight is not NaN; otherwise the column is
//!   left alone (its position drifts with its price);
//! - `value = cash + sum_j pos_j * val_price_j` over the group, once, before the bar's orders; at or below
//!   zero every target order is rejected ([`Reject::NoEquity`]);
//! - the leverage cap `L` is the least non-NaN `leverage[i, r]` of the group, else the setting (none when
//!   NaN): with `alone` the gross exposure over `value` of the columns left alone and `gross = sum |target|`,
//!   when `alone + gross > L` every target is scaled by `max(0, L - alone) / gross`;
//! - the order is `target_i * value / val_price_i - pos_i` units (none when the position is already within tolerance of the target: a rounding error), an amount order in
//!   either direction through the ledger (slippage, commission, `min_size`, lot size; rejections as data),
//!   executed in the settings' sequence with the sort key `target_i * value - pos_i * val_price_i`
//!   (NaN for a column left alone).

use std::ops::Range;

use super::group::{mark, Group};
use super::kernel::{signal_bar, ColumnStep, Execution, Market, Settings};
use super::sequence;
use super::source::SignalSource;
use crate::portfolio::float::{is_close, snap_zero};
use crate::portfolio::{Direction, Ledger, Order, Outcome, Reject, SizeType};

/// Bar `bar` of the group `cols` in weights mode (see the module doc); arguments as [`Group::step`].
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub(super) fn step_weights<S: SignalSource, F: FnMut(usize, &ColumnStep)>(
    g: &mut Group,
    market: &Market,
    bar: usize,
    cols: Range<usize>,
    base: &[usize],
    source: &S,
    settings: &Settings,
    ledger: &mut Ledger,
    mut report: F,
) {
    let prices = match settings.execution {
        Execution::Close => market.close,
        Execution::NextOpen => market.open,
    };
    for (k, st) in g.states.iter_mut().enumerate() {
        let p = prices[base[k] + bar];
        if !p.is_nan() {
            st.val_price = p;
        }
    }
    let Some(row) = signal_bar(settings.execution, bar) else {
        return mark(market, bar, base, ledger);
    };
    let mut targeted = false;
    let mut cap = f64::NAN;
    for (k, col) in cols.clone().enumerate() {
        let w = source.weights(col, row);
        let priced = !prices[base[k] + bar].is_nan();
        g.targets[k] = if priced && !w.is_nan() && source.rebalance(col, row) {
            w
        } else {
            f64::NAN
        };
        targeted |= !g.targets[k].is_nan();
        cap = cap.min(source.leverage(col, row)); // f64::min ignores a NaN side
    }
    if !targeted {
        return mark(market, bar, base, ledger);
    }
    let cap = if cap.is_nan() { settings.leverage } else { cap };
    let mut value = ledger.account.cash;
    for (k, st) in g.states.iter().enumerate() {
        let position = ledger.holdings[k].position;
        if position != 0.0 {
            value += position * st.val_price;
        }
    }
    if is_close(value, 0.0) {
        value = 0.0;
    }
    if !cap.is_nan() && value > 0.0 {
        let (mut alone, mut gross) = (0.0, 0.0);
        for (k, st) in g.states.iter().enumerate() {
            let target = g.targets[k];
            if target.is_nan() {
                let position = ledger.holdings[k].position;
                if position != 0.0 {
                    alone += (position * st.val_price).abs();
                }
            } else {
                gross += target.abs();
            }
        }
        let alone = alone / value;
        if alone + gross > cap && gross > 0.0 {
            let scale = (cap - alone).max(0.0) / gross;
            for target in g.targets.iter_mut() {
                *target *= scale; // NaN stays NaN
            }
        }
    }
    for (k, st) in g.states.iter().enumerate() {
        let target = g.targets[k];
        let position = snap_zero(ledger.holdings[k].position);
        let (order, key) = if target.is_nan() {
            (None, f64::NAN)
        } else {
            let units = target * value / st.val_price - position;
            // a target within tolerance of the position is already held: the order would be a rounding
            // error of the target's arithmetic (flat prices, unchanged weights), not a trade
            let held = is_close(position + units, position);
            let order = (!held).then_some(Order {
                size: units,
                size_type: SizeType::Amount,
                direction: Direction::Both,
                price: prices[base[k] + bar],
                val_price: st.val_price,
                slippage: true,
            });
            (order, target * value - position * st.val_price)
        };
        g.orders[k] = order;
        g.keys[k] = key;
    }
    if value <= 0.0 {
        for (k, order) in g.orders.iter().enumerate() {
            if let Some(order) = order {
                let position = ledger.holdings[k].position;
                report(k, &(*order, Outcome::Rejected(Reject::NoEquity), position, position));
            }
        }
        return mark(market, bar, base, ledger);
    }
    let orders = &g.orders;
    sequence::execute(
        settings.order,
        orders,
        &g.keys,
        &mut g.scratch,
        ledger,
        &settings.costs,
        |ledger, k, budget| {
            let Some(order) = &orders[k] else { return };
            let before = ledger.holdings[k].position;
            let outcome = ledger.execute_within(k, order, &settings.costs, budget);
            report(k, &(*order, outcome, before, ledger.holdings[k].position));
        },
    );
    mark(market, bar, base, ledger);
}
