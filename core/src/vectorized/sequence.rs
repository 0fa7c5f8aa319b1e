//! The order of a shared account's orders within one bar.
//!
//! Every column's order of the bar is decided first (a decision reads only its own column), then executed
//! in one of three sequences ([`Sequence`]):
//! - `Symbol`: column order (vectorbt's default `call_seq`);
//! - `Auto`: vectorbt's `call_seq="auto"`: a stable insertion sort of the columns by the approximate value
//!   of their orders (`insert_argsort_nb`: compared with `>`, a NaN key moves right), so sales come first
//!   and fund the purchases;
//! - `ProRata`: the sales first (in `Auto` order), then the purchases. When their cost at the fill price
//!   (commission included, [`Ledger::buy_cost`]) exceeds the cash left after the sales, each purchase gets
//!   `budget_i = cash * cost_i / sum(cost)` and is sized to what its budget pays for (through the
//!   commission's inverse, [`Ledger::execute_within`]); otherwise each executes as asked. An all-in purchase
//!   asks for all the cash: the purchases of finite cost are served first (pro rata when they alone exceed
//!   the cash), and what cash is left is split equally among the all-in ones. Likewise the all-in sales
//!   (short entries and reversals, which collateralize as large a short as the free cash allows) split the
//!   free cash before the sales equally (a deficit too: each reversal repays its share from its long). No column is favoured by its index: permuting the columns permutes
//!   the results.
//!
//! "Cash" is what the vectorized `Resize` policy lets a purchase spend: the account's cash.

use crate::portfolio::{Costs, Ledger, Order};

/// The order of a bar's orders in a shared account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequence {
    Symbol,
    Auto,
    ProRata,
}

/// `seq` set to `0..keys.len()` sorted by `keys` as vectorbt's `insert_argsort_nb` (stable; NaN moves right).
pub fn auto_order(keys: &[f64], seq: &mut Vec<usize>) {
    seq.clear();
    seq.extend(0..keys.len());
    for j in 1..seq.len() {
        let moving = seq[j];
        let key = keys[moving];
        let mut i = j;
        while i > 0 && (keys[seq[i - 1]] > key || keys[seq[i - 1]].is_nan()) {
            seq[i] = seq[i - 1];
            i -= 1;
        }
        seq[i] = moving;
    }
}

/// Scratch a group reuses across bars (no allocation per bar).
#[derive(Debug, Default, Clone)]
pub struct SequenceScratch {
    seq: Vec<usize>,
    costs: Vec<f64>,
}

/// Execute `orders` (one per column, `None`: no order) in `sequence`; `keys` are their approximate values
/// (the `Auto` sort keys). `exec(ledger, k, budget)` executes column `k`'s order spending at most `budget`.
pub fn execute<F: FnMut(&mut Ledger, usize, f64)>(
    sequence: Sequence,
    orders: &[Option<Order>],
    keys: &[f64],
    scratch: &mut SequenceScratch,
    ledger: &mut Ledger,
    costs: &Costs,
    mut exec: F,
) {
    if sequence == Sequence::Symbol {
        for (k, order) in orders.iter().enumerate() {
            if order.is_some() {
                exec(ledger, k, f64::INFINITY);
            }
        }
        return;
    }
    let seq = &mut scratch.seq;
    auto_order(keys, seq);
    if sequence == Sequence::Auto {
        for &k in seq.iter() {
            if orders[k].is_some() {
                exec(ledger, k, f64::INFINITY);
            }
        }
        return;
    }
    let is_sale = |o: &Option<Order>| o.is_some_and(|o| o.size < 0.0);
    let all_in_sale = |o: &Option<Order>| o.is_some_and(|o| o.size == f64::NEG_INFINITY);
    let all_in_sales = orders.iter().filter(|o| all_in_sale(o)).count();
    let collateral = ledger.account.free_cash / all_in_sales.max(1) as f64;
    for &k in seq.iter() {
        if is_sale(&orders[k]) {
            let budget = if all_in_sale(&orders[k]) {
                collateral
            } else {
                f64::INFINITY
            };
            exec(ledger, k, budget);
        }
    }
    let cash = ledger.account.cash.max(0.0);
    let (mut finite, mut all_in) = (0.0, 0usize);
    scratch.costs.clear();
    for order in orders {
        let cost = match order {
            Some(o) if o.size > 0.0 => ledger.buy_cost(o, costs),
            _ => 0.0,
        };
        let cost = if cost >= 0.0 { cost } else { 0.0 }; // NaN (no valuation price): weighs nothing
        if cost.is_infinite() {
            all_in += 1;
        } else {
            finite += cost;
        }
        scratch.costs.push(cost);
    }
    let scale = finite > cash;
    let rest = if scale { 0.0 } else { cash - finite };
    for &k in seq.iter() {
        let Some(order) = orders[k] else { continue };
        if order.size <= 0.0 {
            continue;
        }
        let cost = scratch.costs[k];
        let budget = if cost.is_infinite() {
            rest / all_in as f64
        } else if scale {
            cash * (cost / finite)
        } else {
            f64::INFINITY
        };
        exec(ledger, k, budget);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_order_is_vectorbts_insertion_sort() {
        let mut seq = Vec::new();
        auto_order(&[3.0, -1.0, f64::NAN, -1.0, 0.0], &mut seq);
        assert_eq!(seq[..4], [1, 3, 4, 0], "ascending, stable on ties");
        assert_eq!(seq[4], 2, "a NaN key goes last");
        auto_order(&[], &mut seq);
        assert!(seq.is_empty());
    }
}
