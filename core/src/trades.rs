//! Round-trip trades from fills: one implementation for both modes (`ml4t._roundtrips` turns its columns
//! into the `Result.trades` frame).
//!
//! A trade opens when a position leaves zero and closes each time a fill reduces it (vectorbt's "exit
//! trades"): a partial exit closes a trade for the part sold, and a reversal closes the old trade and opens a
//! new one. Entry price is the volume-weighted average of the entries; fees are allocated pro rata to the
//! quantity (the entry fills' fees by the share of the position closed, the exit fill's by the share of the
//! fill that closed it). `pnl` is net of those fees and `trade_return` is `pnl` over the entry value. A
//! position still open at the end is an open trade marked at the symbol's last price. A fill within the
//! ledger's tolerance of the position closes it exactly ([`is_close`], as `float::add` books it).
//!
//! Splits (`(ts, ratio)` per symbol, in time order) apply before the fills stamped at or after them,
//! scaling an open trade's quantity up and its entry price down (value kept).

use crate::portfolio::float::is_close;

/// The fills to pair, in execution order: one entry per fill in each column; `symbol` indexes the per-symbol
/// inputs of [`round_trips`].
pub struct FillColumns<'a> {
    pub symbol: &'a [u32],
    pub ts: &'a [i64],
    pub buy: &'a [bool],
    pub quantity: &'a [f64],
    pub price: &'a [f64],
    pub fee: &'a [f64],
}

/// One row per trade, grouped by symbol (in symbol order) and within a symbol in the order they closed,
/// its open trade last. `ts_exit` is meaningless (0) for an open trade.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TradeColumns {
    pub symbol: Vec<u32>,
    pub long: Vec<bool>,
    pub open: Vec<bool>,
    pub ts_entry: Vec<i64>,
    pub ts_exit: Vec<i64>,
    pub quantity: Vec<f64>,
    pub entry_price: Vec<f64>,
    pub exit_price: Vec<f64>,
    pub fees: Vec<f64>,
    pub pnl: Vec<f64>,
    pub trade_return: Vec<f64>,
}

impl TradeColumns {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        symbol: u32,
        direction: f64,
        exit: Option<i64>,
        entry_ts: i64,
        qty: f64,
        entry_price: f64,
        exit_price: f64,
        fees: f64,
        pnl: f64,
        multiplier: f64,
    ) {
        self.symbol.push(symbol);
        self.long.push(direction > 0.0);
        self.open.push(exit.is_none());
        self.ts_entry.push(entry_ts);
        self.ts_exit.push(exit.unwrap_or(0));
        self.quantity.push(qty);
        self.entry_price.push(entry_price);
        self.exit_price.push(exit_price);
        self.fees.push(fees);
        self.pnl.push(pnl);
        self.trade_return.push(pnl / (entry_price * qty * multiplier));
    }
}

/// The trades of `fills` (see the module docs). `marks` and `multipliers` have one entry per symbol code
/// (the last price, used for a trade still open; the contract multiplier scaling PnL and entry value);
/// `splits[symbol]` are that symbol's splits in time order (empty for none).
pub fn round_trips(
    fills: &FillColumns<'_>,
    marks: &[f64],
    multipliers: &[f64],
    splits: &[Vec<(i64, f64)>],
) -> TradeColumns {
    let mut by_symbol: Vec<Vec<usize>> = vec![Vec::new(); marks.len()];
    for (i, &s) in fills.symbol.iter().enumerate() {
        by_symbol[s as usize].push(i);
    }
    let mut out = TradeColumns::default();
    for (code, rows) in by_symbol.iter().enumerate() {
        let own_splits = splits.get(code).map(Vec::as_slice).unwrap_or(&[]);
        if rows.is_empty() {
            continue;
        }
        symbol_trades(
            fills,
            rows,
            code as u32,
            marks[code],
            multipliers[code],
            own_splits,
            &mut out,
        );
    }
    out
}

fn symbol_trades(
    fills: &FillColumns<'_>,
    rows: &[usize],
    code: u32,
    mark: f64,
    mult: f64,
    splits: &[(i64, f64)],
    out: &mut TradeColumns,
) {
    let (mut position, mut entry_price, mut entry_fees) = (0.0_f64, 0.0_f64, 0.0_f64);
    let mut entry_ts = 0_i64;
    let mut pending = splits.iter().peekable();
    for &i in rows {
        let (ts, qty, price, fee) = (fills.ts[i], fills.quantity[i], fills.price[i], fills.fee[i]);
        while let Some(&&(at, ratio)) = pending.peek() {
            if at > ts {
                break;
            }
            pending.next();
            position *= ratio;
            entry_price /= ratio;
        }
        let signed = if fills.buy[i] { qty } else { -qty };
        if position != 0.0 && (signed > 0.0) != (position > 0.0) {
            let flat = is_close(qty, position.abs());
            let closed = if flat { position.abs() } else { qty.min(position.abs()) };
            let share = closed / position.abs();
            let exit_fees = fee * closed / qty;
            let fees = entry_fees * share + exit_fees;
            let direction = if position > 0.0 { 1.0 } else { -1.0 };
            let pnl = (price - entry_price) * closed * direction * mult - fees;
            out.push(
                code,
                direction,
                Some(ts),
                entry_ts,
                closed,
                entry_price,
                price,
                fees,
                pnl,
                mult,
            );
            entry_fees -= entry_fees * share;
            position += if position < 0.0 { closed } else { -closed };
            if flat || is_close(position, 0.0) {
                (position, entry_fees) = (0.0, 0.0);
            }
            let remainder = if flat { 0.0 } else { qty - closed };
            if remainder > 0.0 {
                // a reversal opens the other side with the rest of the fill
                position = remainder * if signed > 0.0 { 1.0 } else { -1.0 };
                (entry_price, entry_fees, entry_ts) = (price, fee - exit_fees, ts);
            }
            continue;
        }
        if position == 0.0 {
            (entry_ts, entry_price) = (ts, price);
        } else {
            entry_price = (entry_price * position.abs() + price * qty) / (position.abs() + qty);
        }
        position += signed;
        entry_fees += fee;
    }
    for &(_, ratio) in pending {
        position *= ratio;
        entry_price /= ratio;
    }
    if position != 0.0 {
        let direction = if position > 0.0 { 1.0 } else { -1.0 };
        let pnl = (mark - entry_price) * position.abs() * direction * mult - entry_fees;
        out.push(
            code,
            direction,
            None,
            entry_ts,
            position.abs(),
            entry_price,
            mark,
            entry_fees,
            pnl,
            mult,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rows: &[(i64, bool, f64, f64, f64)], mark: f64, splits: &[(i64, f64)]) -> TradeColumns {
        let symbol = vec![0_u32; rows.len()];
        let ts: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let buy: Vec<bool> = rows.iter().map(|r| r.1).collect();
        let quantity: Vec<f64> = rows.iter().map(|r| r.2).collect();
        let price: Vec<f64> = rows.iter().map(|r| r.3).collect();
        let fee: Vec<f64> = rows.iter().map(|r| r.4).collect();
        let fills = FillColumns {
            symbol: &symbol,
            ts: &ts,
            buy: &buy,
            quantity: &quantity,
            price: &price,
            fee: &fee,
        };
        round_trips(&fills, &[mark], &[1.0], &[splits.to_vec()])
    }

    #[test]
    fn a_partial_exit_closes_part_and_the_rest_stays_open_at_the_mark() {
        let t = run(&[(1, true, 10.0, 100.0, 1.0), (2, false, 4.0, 110.0, 0.4)], 120.0, &[]);
        assert_eq!(t.open, vec![false, true]);
        assert_eq!(t.quantity, vec![4.0, 6.0]);
        assert_eq!(t.fees, vec![1.0 * 0.4 + 0.4, 1.0 - 1.0 * 0.4]);
        assert_eq!(t.pnl[0], (110.0 - 100.0) * 4.0 - (0.4 + 0.4));
        assert_eq!(t.exit_price[1], 120.0);
    }

    #[test]
    fn a_reversal_closes_the_long_and_opens_a_short_with_the_rest() {
        let t = run(&[(1, true, 10.0, 100.0, 0.0), (2, false, 15.0, 90.0, 1.5)], 80.0, &[]);
        assert_eq!(t.long, vec![true, false]);
        assert_eq!((t.ts_entry[1], t.quantity[1], t.entry_price[1]), (2, 5.0, 90.0));
        assert_eq!(t.fees[1], 1.5 - 1.5 * 10.0 / 15.0);
        assert_eq!(t.pnl[1], -((80.0 - 90.0) * 5.0) - t.fees[1]); // times direction -1
    }

    #[test]
    fn a_fill_within_tolerance_of_the_position_closes_it_flat() {
        let t = run(
            &[(1, true, 3.0, 10.0, 0.0), (2, false, 3.0 + 1e-12, 11.0, 0.0)],
            11.0,
            &[],
        );
        assert_eq!((t.quantity.clone(), t.open.clone()), (vec![3.0], vec![false]));
    }

    #[test]
    fn a_split_scales_the_open_trade_before_later_fills() {
        let t = run(
            &[(1, true, 10.0, 100.0, 0.0), (5, false, 20.0, 55.0, 0.0)],
            55.0,
            &[(3, 2.0)],
        );
        assert_eq!((t.quantity[0], t.entry_price[0], t.open[0]), (20.0, 50.0, false));
        assert_eq!(t.pnl[0], 5.0 * 20.0);
    }
}
