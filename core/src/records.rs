//! One record shape for both modes: what a run did, as columns with the same meaning whatever produced
//! them. The event engine fills it from its orders, fills and snapshots (`Engine::records`), the vectorized
//! kernel from its per-group [`RecordSink`]s ([`Records::from_groups`]); the bindings turn it into NumPy
//! columns and one Python assembler (`ml4t._assemble`) builds the `Result` from it.
//!
//! Conventions: times are `ts_event` nanoseconds (UTC); symbols are indices into the run's symbol list;
//! an order's `ts_submitted` is when it was decided, its `ts_closed` when it ended (None while open);
//! NaN marks a price or quantity that does not apply (no limit, no fill). Equity rows are one per recorded
//! timestamp; `positions` and `marks` are row-major `(row, symbol)`. Text is dictionary-coded ([`Text`]):
//! a run of a million orders has a handful of distinct order types, statuses and reasons.
//!
//! The event engine's positions come sparse instead ([`PositionHistory`]: a row when a position changes, the
//! marks read from the bar stream), since its universe can be wide; [`PositionHistory::dense`] rebuilds the
//! dense `positions` and `marks` when a frame needs them.

use std::collections::HashMap;

use crate::matching::Execution;
use crate::portfolio::Reject;
use crate::vectorized::RecordSink;

/// A text column as a dictionary: row `i` is `values[codes[i]]`; `values[0]` is None (the null rows'
/// code), the others distinct.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub codes: Vec<u32>,
    pub values: Vec<Option<String>>,
    index: HashMap<String, u32>,
}

impl Default for Text {
    fn default() -> Self {
        Self {
            codes: Vec::new(),
            values: vec![None],
            index: HashMap::new(),
        }
    }
}

impl Text {
    pub fn push(&mut self, value: Option<&str>) {
        let code = match value {
            None => 0,
            Some(text) => match self.index.get(text) {
                Some(&code) => code,
                None => {
                    let code = self.values.len() as u32;
                    self.values.push(Some(text.to_owned()));
                    self.index.insert(text.to_owned(), code);
                    code
                }
            },
        };
        self.codes.push(code);
    }

    /// Row `i`'s text.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.values[self.codes[i] as usize].as_deref()
    }
}

/// Every order, in id order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderRows {
    pub id: Vec<i64>,
    pub ts_submitted: Vec<i64>,
    pub symbol: Vec<i64>,
    pub buy: Vec<bool>,
    pub kind: Text,
    pub quantity: Vec<f64>,
    pub limit: Vec<f64>,
    pub stop: Vec<f64>,
    pub tif: Text,
    pub status: Text,
    pub reason: Text,
    pub reason_code: Text,
    pub filled: Vec<f64>,
    pub avg_price: Vec<f64>,
    /// When the order ended (meaningless while `closed` is false).
    pub ts_closed: Vec<i64>,
    pub closed: Vec<bool>,
}

/// Every execution, in execution order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FillRows {
    pub order_id: Vec<i64>,
    pub ts: Vec<i64>,
    pub symbol: Vec<i64>,
    pub buy: Vec<bool>,
    pub quantity: Vec<f64>,
    pub price: Vec<f64>,
    /// Fees in account currency.
    pub fee: Vec<f64>,
    /// Cost of slippage in account currency (>= 0).
    pub slippage: Vec<f64>,
}

/// The positions of an event run, sparse (issue #18: dense snapshots were 16 bytes per symbol and bar): per
/// equity row, how many rows of the bar stream had been processed (`bar_end`); and one entry per change, the
/// row and symbol and the position from that row on. Rows of changes never decrease; when one row and symbol
/// appear twice the later entry wins. Every position is 0.0 before its first change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PositionHistory {
    pub bar_end: Vec<i64>,
    pub row: Vec<i64>,
    pub symbol: Vec<i64>,
    pub quantity: Vec<f64>,
}

impl PositionHistory {
    /// The dense `(positions, marks)`, row-major `(row, symbol)` over `n_symbols`, from the history and the
    /// bar stream's symbol codes and closes: a symbol's mark at a row is the close of its latest bar before
    /// that row's `bar_end` (NaN before its first bar), as the engine's ledger marks it. Bars whose code is
    /// outside `0..n_symbols` are skipped.
    pub fn dense(&self, n_symbols: usize, bar_symbol: &[i64], bar_close: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let n = self.bar_end.len();
        let mut positions = Vec::with_capacity(n * n_symbols);
        let mut marks = Vec::with_capacity(n * n_symbols);
        let mut held = vec![0.0; n_symbols];
        let mut mark = vec![f64::NAN; n_symbols];
        let (mut change, mut bar) = (0, 0);
        for (r, &end) in self.bar_end.iter().enumerate() {
            let end = (end.max(0) as usize).min(bar_symbol.len().min(bar_close.len()));
            for (&s, &close) in bar_symbol[bar.min(end)..end].iter().zip(&bar_close[bar.min(end)..end]) {
                if let Some(m) = usize::try_from(s).ok().and_then(|s| mark.get_mut(s)) {
                    *m = close;
                }
            }
            bar = bar.max(end);
            while change < self.row.len() && self.row[change] <= r as i64 {
                if let Some(h) = usize::try_from(self.symbol[change]).ok().and_then(|s| held.get_mut(s)) {
                    *h = self.quantity[change];
                }
                change += 1;
            }
            positions.extend_from_slice(&held);
            marks.extend_from_slice(&mark);
        }
        (positions, marks)
    }
}

/// A run's records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Records {
    pub orders: OrderRows,
    pub fills: FillRows,
    pub ts: Vec<i64>,
    pub cash: Vec<f64>,
    pub equity: Vec<f64>,
    /// Dense positions (the vectorized mode); empty when `history` holds them.
    pub positions: Vec<f64>,
    /// The price each position is marked at (the last close; NaN before a symbol's first bar).
    pub marks: Vec<f64>,
    /// Dividends credited over the run.
    pub dividends: f64,
    /// The event engine's sparse positions (then `positions` and `marks` are empty).
    pub history: Option<PositionHistory>,
    /// The marks after the last row, per symbol (NaN for a symbol never marked, and for all without rows).
    pub last_marks: Vec<f64>,
}

/// How a detailed vectorized run is laid out: its timeline and closes, and its groups' columns.
pub struct GroupLayout<'a> {
    /// `ts_event` of every bar.
    pub ts: &'a [i64],
    /// Closes of the run's symbols, symbol-major (`close[symbol * n_bars + bar]`).
    pub close: &'a [f64],
    /// Columns per group; the groups hold consecutive columns starting at `first_col` (symbol 0).
    pub width: usize,
    pub first_col: usize,
    pub execution: Execution,
}

impl Records {
    /// The records of a vectorized run from its groups' sinks (in group order). Orders are numbered in
    /// execution order (by bar, then group, then the group's sequence within the bar); an order is decided on the bar before its fill under
    /// next-open execution (the signal's bar), on its fill bar under close execution. Cash and equity are
    /// the groups' sums (added in group order). Takes the sinks so one group's columns move, not copy.
    pub fn from_groups(groups: Vec<RecordSink>, layout: &GroupLayout) -> Self {
        let n_bars = layout.ts.len();
        let n_symbols = groups.len() * layout.width;
        let ts = |bar: i64| layout.ts[bar as usize];
        let mut attempts: Vec<(usize, &RecordSink, usize)> = groups
            .iter()
            .enumerate()
            .flat_map(|(k, g)| (0..g.bar.len()).map(move |i| (k, g, i)))
            .collect();
        // stable: within a group, a bar's orders stay in the order they executed (the group's sequence)
        attempts.sort_by_key(|&(k, g, i)| (g.bar[i], k));
        let mut out = Records::default();
        let (orders, fills) = (&mut out.orders, &mut out.fills);
        for (id, &(_, g, i)) in attempts.iter().enumerate() {
            let (bar, size, price) = (g.bar[i], g.size[i], g.price[i]);
            let symbol = g.col[i] - layout.first_col as i64;
            let filled = g.status[i] == 0;
            let decided = match layout.execution {
                Execution::NextOpen => (bar - 1).max(0),
                Execution::Close => bar,
            };
            orders.id.push(id as i64);
            orders.ts_submitted.push(ts(decided));
            orders.symbol.push(symbol);
            orders.buy.push(g.side[i] > 0);
            orders.kind.push(Some("market"));
            let requested = g.requested[i];
            orders.quantity.push(match (filled, requested.is_finite()) {
                (true, _) => size,
                (false, true) => requested.abs(),
                (false, false) => f64::NAN,
            });
            orders.limit.push(f64::NAN);
            orders.stop.push(f64::NAN);
            orders.tif.push(Some("ioc"));
            orders.status.push(Some(if filled { "filled" } else { "rejected" }));
            let reject = (!filled).then(|| Reject::from_code(g.status[i]));
            orders.reason.push(reject.map(|r| r.map_or("unknown", Reject::message)));
            orders
                .reason_code
                .push(reject.map(|r| r.map_or("unknown", Reject::code)));
            orders.filled.push(if filled { size } else { 0.0 });
            orders.avg_price.push(if filled { price } else { f64::NAN });
            orders.ts_closed.push(ts(bar));
            orders.closed.push(true);
            if filled {
                fills.order_id.push(id as i64);
                fills.ts.push(ts(bar));
                fills.symbol.push(symbol);
                fills.buy.push(g.side[i] > 0);
                fills.quantity.push(size);
                fills.price.push(price);
                fills.fee.push(g.fees[i]);
                fills.slippage.push((price - g.raw_price[i]).abs() * size);
            }
        }
        out.ts = layout.ts.to_vec();
        let single = groups.len() == 1;
        let mut positions = if single {
            Vec::new()
        } else {
            vec![0.0; n_bars * n_symbols]
        };
        for (k, g) in groups.into_iter().enumerate() {
            if k == 0 {
                (out.cash, out.equity) = (g.cash, g.equity);
            } else {
                out.cash.iter_mut().zip(&g.cash).for_each(|(a, b)| *a += b);
                out.equity.iter_mut().zip(&g.equity).for_each(|(a, b)| *a += b);
            }
            if single {
                positions = g.positions; // one group holds every symbol: already (bar, symbol)
                continue;
            }
            for (bar, row) in g.positions.chunks(layout.width).enumerate() {
                let at = bar * n_symbols + k * layout.width;
                positions[at..at + layout.width].copy_from_slice(row);
            }
        }
        out.positions = positions;
        out.marks = vec![f64::NAN; n_bars * n_symbols];
        for s in 0..n_symbols {
            let mut last = f64::NAN;
            for bar in 0..n_bars {
                let close = layout.close[s * n_bars + bar];
                if !close.is_nan() {
                    last = close;
                }
                out.marks[bar * n_symbols + s] = last;
            }
        }
        out.last_marks = match n_bars {
            0 => vec![f64::NAN; n_symbols],
            n => out.marks[(n - 1) * n_symbols..].to_vec(),
        };
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A group's sink with `orders` as `(bar, col, status, side, requested, size, price, fees, raw_price)`
    /// and one `(cash, equity, positions)` per bar.
    #[allow(clippy::type_complexity)]
    fn sink(orders: &[(i64, i64, u8, i8, f64, f64, f64, f64, f64)], bars: &[(f64, f64, &[f64])]) -> RecordSink {
        let mut s = RecordSink::default();
        for &(bar, col, status, side, requested, size, price, fees, raw) in orders {
            s.bar.push(bar);
            s.col.push(col);
            s.status.push(status);
            s.side.push(side);
            s.requested.push(requested);
            s.size.push(size);
            s.price.push(price);
            s.fees.push(fees);
            s.raw_price.push(raw);
        }
        for &(cash, equity, positions) in bars {
            s.cash.push(cash);
            s.equity.push(equity);
            s.positions.extend_from_slice(positions);
        }
        s
    }

    #[test]
    fn text_columns_store_each_distinct_text_once() {
        let mut t = Text::default();
        for v in [Some("a"), None, Some("b"), Some("a"), None] {
            t.push(v);
        }
        assert_eq!(t.codes, [1, 0, 2, 1, 0]);
        assert_eq!(t.values, [None, Some("a".into()), Some("b".into())]);
        assert_eq!((t.get(3), t.get(4)), (Some("a"), None));
    }

    #[test]
    fn groups_merge_into_one_account_view() {
        let reject = Reject::InsufficientCash as u8;
        let a = sink(
            &[
                (1, 0, 0, 1, f64::INFINITY, 2.0, 10.5, 0.1, 10.0),
                (2, 0, 0, -1, -2.0, 2.0, 11.0, 0.0, 11.0),
            ],
            &[(100.0, 100.0, &[0.0]), (78.9, 99.9, &[2.0]), (100.9, 100.9, &[0.0])],
        );
        let b = sink(
            &[(1, 1, reject, 1, 5.0, 0.0, f64::NAN, 0.0, 20.0)],
            &[(100.0, 100.0, &[0.0]), (100.0, 100.0, &[0.0]), (100.0, 100.0, &[0.0])],
        );
        let close = [10.0, 10.5, 11.0, f64::NAN, 20.0, f64::NAN];
        let layout = GroupLayout {
            ts: &[100, 200, 300],
            close: &close,
            width: 1,
            first_col: 0,
            execution: Execution::NextOpen,
        };
        let r = Records::from_groups(vec![a, b], &layout);
        let o = &r.orders;
        // execution order: bar 1 col 0, bar 1 col 1, bar 2 col 0
        assert_eq!(o.symbol, [0, 1, 0]);
        assert_eq!(o.ts_submitted, [100, 100, 200]);
        assert_eq!(o.ts_closed, [200, 200, 300]);
        assert_eq!(o.closed, [true; 3]);
        let text = |t: &Text| (0..3).map(|i| t.get(i).map(str::to_owned)).collect::<Vec<_>>();
        assert_eq!(
            text(&o.status),
            [Some("filled".into()), Some("rejected".into()), Some("filled".into())]
        );
        assert_eq!(
            text(&o.reason_code),
            [None, Some(Reject::InsufficientCash.code().into()), None]
        );
        assert_eq!(o.status.values.len(), 3, "null, filled, rejected: each text once");
        assert_eq!(o.buy, [true, true, false]);
        assert_eq!(o.quantity[..2], [2.0, 5.0]);
        assert_eq!((o.filled[1], o.avg_price[1].is_nan()), (0.0, true));
        assert_eq!(r.fills.order_id, [0, 2]);
        assert_eq!(r.fills.slippage, [0.5 * 2.0, 0.0]);
        assert_eq!(r.cash, [200.0, 178.9, 200.9]);
        assert_eq!(r.positions, [0.0, 0.0, 2.0, 0.0, 0.0, 0.0]);
        // marks: the last close, carried over gaps; NaN before the first
        assert!(r.marks[0] == 10.0 && r.marks[1].is_nan());
        assert_eq!(r.marks[2..], [10.5, 20.0, 11.0, 20.0]);
        assert_eq!(r.last_marks, [11.0, 20.0]);
    }

    #[test]
    fn a_position_history_rebuilds_dense_positions_and_marks() {
        // two symbols, three rows; bars: row 0 has symbol 0's, row 1 both, row 2 symbol 1's (twice: latest wins)
        let history = PositionHistory {
            bar_end: vec![1, 3, 5],
            row: vec![0, 2, 2, 2],
            symbol: vec![0, 1, 0, 0],
            quantity: vec![5.0, -2.0, 1.0, -0.0],
        };
        let (positions, marks) = history.dense(2, &[0, 0, 1, 1, 1], &[10.0, 11.0, 20.0, 21.0, 22.0]);
        assert_eq!(positions, [5.0, 0.0, 5.0, 0.0, -0.0, -2.0]);
        assert!(
            positions[4].is_sign_negative(),
            "the later entry of a row wins, bit for bit"
        );
        assert!(marks[0] == 10.0 && marks[1].is_nan());
        assert_eq!(marks[2..], [11.0, 20.0, 11.0, 22.0]);
    }
}
