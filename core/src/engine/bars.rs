//! The bar stream the engine replays: one row per bar, ordered by (`ts_arrival`, symbol), each bar with the
//! interval it covers, its session and its corporate actions; and the checks that make a stream well formed.

use super::Column;
use crate::error::{Context, CoreError, CoreResult};

/// The bar stream, one row per bar, ordered by (`ts_arrival`, symbol). Each column is read in place when the
/// caller owns the buffers (see [`Column`]): the engine never copies the stream.
#[derive(Debug, Clone, Default)]
pub struct BarStream {
    pub ts_event: Column<i64>,
    pub ts_arrival: Column<i64>,
    /// Where each bar's interval begins: the bar covers `(ts_start, ts_event]`, and an order is matched
    /// against it only if it reached the market at or before `ts_start` (see `Engine::eligible`).
    pub ts_start: Column<i64>,
    pub symbol: Column<usize>,
    pub open: Column<f64>,
    pub high: Column<f64>,
    pub low: Column<f64>,
    pub close: Column<f64>,
    pub volume: Column<f64>,
    /// The bar's trading session (a day number in the exchange's time zone), for DAY orders.
    pub session: Column<i32>,
    /// New units per old unit on a split's ex-date (1 or NaN otherwise); empty when the bars carry none.
    pub split: Column<f64>,
    /// Cash per unit on a dividend's ex-date (0 or NaN otherwise); empty when the bars carry none.
    pub dividend: Column<f64>,
}

impl BarStream {
    pub fn len(&self) -> usize {
        self.ts_event.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts_event.is_empty()
    }

    /// The columns have one length, every bar's interval ends at its `ts_event`, rows are ordered by
    /// arrival, and every symbol index is below `n_symbols`.
    pub(super) fn validate(&self, n_symbols: usize) -> CoreResult<()> {
        let bars = self;
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
        let optional_ok = |v: &Column<f64>| v.is_empty() || v.len() == n;
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
        if let Some(i) = (0..n).find(|&i| bars.symbol[i] >= n_symbols) {
            return Err(CoreError::data(
                format!("bar symbol index {} outside the universe", bars.symbol[i]),
                Context::argument("bars").at(bars.ts_event[i]),
            ));
        }
        Ok(())
    }

    /// Append `chunk`'s rows (checked by the caller); the columns become the stream's own `Vec`s (a column
    /// read in place is copied once). The optional columns grow only when the chunk carries them.
    pub(super) fn append(&mut self, chunk: &BarStream) {
        fn extend<T: Copy + 'static>(column: &mut Column<T>, more: &Column<T>) {
            column.make_mut().extend_from_slice(more);
        }
        extend(&mut self.ts_event, &chunk.ts_event);
        extend(&mut self.ts_arrival, &chunk.ts_arrival);
        extend(&mut self.ts_start, &chunk.ts_start);
        extend(&mut self.symbol, &chunk.symbol);
        extend(&mut self.open, &chunk.open);
        extend(&mut self.high, &chunk.high);
        extend(&mut self.low, &chunk.low);
        extend(&mut self.close, &chunk.close);
        extend(&mut self.volume, &chunk.volume);
        extend(&mut self.session, &chunk.session);
        extend(&mut self.split, &chunk.split);
        extend(&mut self.dividend, &chunk.dividend);
    }
}
