//! `EventEngine`: the event-driven engine as Python sees it. Python drives it in steps (`step()` returns
//! one timestamp's ranges), submits orders by symbol index, and reads results back as NumPy arrays once
//! the run is over. Every method is a thin forward to `crate::engine::Engine`.

use std::any::Any;
use std::sync::Arc;

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::records::to_dict;
use super::vectorized::{Prices, SignalArrays, SignalSimulator};
use crate::engine::{
    broker_close_status, AccountKind, BarStream, Column, Config, Engine, Execution, Kind, OrderRequest, Outcome,
    Promoted, PromotedInputs, Tif, Wake,
};
use crate::matching::costs::registry;
use crate::matching::fill::BothTouched;
use crate::options::Named;
use crate::portfolio::Side;

/// A bar column read in place from a read-only NumPy array (kept alive by the column); a writeable array
/// is copied, since Python could change it under the engine.
fn column<T: numpy::Element + Copy + Send + Sync>(a: &PyReadonlyArray1<'_, T>) -> PyResult<Column<T>> {
    let values = a.as_slice()?;
    if a.getattr("flags")?.getattr("writeable")?.extract::<bool>()? {
        return Ok(values.to_vec().into());
    }
    let owner: Arc<dyn Any + Send + Sync> = Arc::new(a.as_any().clone().unbind());
    // SAFETY: the array is contiguous (as_slice succeeded) and read-only, and `owner` holds a reference to
    // it, so its buffer lives, unchanged, as long as the column.
    Ok(unsafe { Column::shared(values.as_ptr(), values.len(), owner) })
}

/// The symbol codes as `usize` in place: int64 and usize share their layout on 64-bit targets, and a
/// negative code reads as a huge index that `BarStream::validate` refuses.
fn symbol_column(a: &PyReadonlyArray1<'_, i64>) -> PyResult<Column<usize>> {
    const _: () = assert!(std::mem::size_of::<usize>() == std::mem::size_of::<i64>());
    let codes = column(a)?;
    if !codes.is_shared() {
        return Ok(codes.iter().map(|&s| s as usize).collect());
    }
    let owner: Arc<dyn Any + Send + Sync> = Arc::new(codes.clone());
    // SAFETY: same buffer as `codes` (kept alive by `owner`); every i64 bit pattern is a valid usize.
    Ok(unsafe { Column::shared(codes.as_ptr().cast::<usize>(), codes.len(), owner) })
}

/// The bar columns as a stream (see `column`).
#[allow(clippy::too_many_arguments)]
fn bar_stream(
    ts_event: &PyReadonlyArray1<'_, i64>,
    ts_arrival: &PyReadonlyArray1<'_, i64>,
    ts_start: &PyReadonlyArray1<'_, i64>,
    symbol: &PyReadonlyArray1<'_, i64>,
    open: &PyReadonlyArray1<'_, f64>,
    high: &PyReadonlyArray1<'_, f64>,
    low: &PyReadonlyArray1<'_, f64>,
    close: &PyReadonlyArray1<'_, f64>,
    volume: &PyReadonlyArray1<'_, f64>,
    session: &PyReadonlyArray1<'_, i32>,
    split: Option<&PyReadonlyArray1<'_, f64>>,
    dividend: Option<&PyReadonlyArray1<'_, f64>>,
) -> PyResult<BarStream> {
    Ok(BarStream {
        ts_event: column(ts_event)?,
        ts_arrival: column(ts_arrival)?,
        ts_start: column(ts_start)?,
        symbol: symbol_column(symbol)?,
        open: column(open)?,
        high: column(high)?,
        low: column(low)?,
        close: column(close)?,
        volume: column(volume)?,
        session: column(session)?,
        split: split.map(column).transpose()?.unwrap_or_default(),
        dividend: dividend.map(column).transpose()?.unwrap_or_default(),
    })
}

/// The engine's settings from the binding's arguments.
#[allow(clippy::too_many_arguments)]
fn config(
    multipliers: &PyReadonlyArray1<'_, f64>,
    init_cash: f64,
    leverage: Option<f64>,
    maintenance_margin: Option<f64>,
    execution: &str,
    order_latency: i64,
    participation: Option<f64>,
    both_touched: &str,
    commission: &[(String, Vec<f64>)],
    slippage: &(String, Vec<f64>),
    wake: (bool, bool, bool, bool),
) -> PyResult<Config> {
    let account = leverage.map_or(AccountKind::Cash, |leverage| AccountKind::Margin { leverage });
    Ok(Config {
        init_cash,
        account,
        maintenance: maintenance_margin.unwrap_or_else(|| account.default_maintenance()),
        execution: Execution::parse("execution", execution)?,
        order_latency,
        participation,
        both_touched: BothTouched::parse("both_touched", both_touched)?,
        commission: registry::commission(commission)?,
        slippage: registry::slippage(&slippage.0, &slippage.1)?,
        multipliers: vec_f64(multipliers)?,
        wake: Wake {
            bars: wake.0,
            signals: wake.1,
            fills: wake.2,
            timers: wake.3,
        },
    })
}

fn vec_f64(a: &PyReadonlyArray1<'_, f64>) -> PyResult<Vec<f64>> {
    Ok(a.as_slice()?.to_vec())
}

fn vec_i64(a: &PyReadonlyArray1<'_, i64>) -> PyResult<Vec<i64>> {
    Ok(a.as_slice()?.to_vec())
}

/// The event engine over one bar stream (rows ordered by arrival, then symbol).
#[pyclass(module = "ml4t._core")]
pub(crate) struct EventEngine {
    inner: Engine,
    /// The last `step()` returned None because the engine waits (see `Engine::step_live`).
    waiting: bool,
}

type Step = (i64, usize, usize, usize, usize, usize, usize, Vec<u64>);
type FillRow = (u64, i64, usize, bool, f64, f64, f64, f64);

#[pymethods]
impl EventEngine {
    #[new]
    #[pyo3(signature = (*, ts_event, ts_arrival, ts_start, symbol, open, high, low, close, volume, session, split,
        dividend, signal_arrivals, multipliers, init_cash, leverage, maintenance_margin,
        execution, order_latency, participation,
        both_touched, commission, slippage, wake))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        ts_event: PyReadonlyArray1<'_, i64>,
        ts_arrival: PyReadonlyArray1<'_, i64>,
        ts_start: PyReadonlyArray1<'_, i64>,
        symbol: PyReadonlyArray1<'_, i64>,
        open: PyReadonlyArray1<'_, f64>,
        high: PyReadonlyArray1<'_, f64>,
        low: PyReadonlyArray1<'_, f64>,
        close: PyReadonlyArray1<'_, f64>,
        volume: PyReadonlyArray1<'_, f64>,
        session: PyReadonlyArray1<'_, i32>,
        split: Option<PyReadonlyArray1<'_, f64>>,
        dividend: Option<PyReadonlyArray1<'_, f64>>,
        signal_arrivals: PyReadonlyArray1<'_, i64>,
        multipliers: PyReadonlyArray1<'_, f64>,
        init_cash: f64,
        leverage: Option<f64>,
        maintenance_margin: Option<f64>,
        execution: &str,
        order_latency: i64,
        participation: Option<f64>,
        both_touched: &str,
        commission: Vec<(String, Vec<f64>)>,
        slippage: (String, Vec<f64>),
        wake: (bool, bool, bool, bool),
    ) -> PyResult<Self> {
        let bars = bar_stream(
            &ts_event,
            &ts_arrival,
            &ts_start,
            &symbol,
            &open,
            &high,
            &low,
            &close,
            &volume,
            &session,
            split.as_ref(),
            dividend.as_ref(),
        )?;
        let config = config(
            &multipliers,
            init_cash,
            leverage,
            maintenance_margin,
            execution,
            order_latency,
            participation,
            both_touched,
            &commission,
            &slippage,
            wake,
        )?;
        Ok(Self {
            inner: Engine::new(config, bars, vec_i64(&signal_arrivals)?)?,
            waiting: false,
        })
    }

    /// An engine with no data yet, for a replayed or live feed: append bars and signals as they arrive,
    /// advance the watermark, `end()` the stream, and `step()` as far as the data allows (see
    /// `crate::engine::Engine::incremental`). With `external`, a broker executes the orders: the engine
    /// records them and never matches them, and the broker's fills and closes are applied with `apply_fill`
    /// and `close_order` (see `crate::engine::Engine::external`).
    #[staticmethod]
    #[pyo3(signature = (*, multipliers, init_cash, leverage, maintenance_margin, execution, order_latency,
        participation, both_touched, commission, slippage, wake, external=false))]
    #[allow(clippy::too_many_arguments)]
    fn incremental(
        multipliers: PyReadonlyArray1<'_, f64>,
        init_cash: f64,
        leverage: Option<f64>,
        maintenance_margin: Option<f64>,
        execution: &str,
        order_latency: i64,
        participation: Option<f64>,
        both_touched: &str,
        commission: Vec<(String, Vec<f64>)>,
        slippage: (String, Vec<f64>),
        wake: (bool, bool, bool, bool),
        external: bool,
    ) -> PyResult<Self> {
        let config = config(
            &multipliers,
            init_cash,
            leverage,
            maintenance_margin,
            execution,
            order_latency,
            participation,
            both_touched,
            &commission,
            &slippage,
            wake,
        )?;
        let inner = if external {
            Engine::external(config)?
        } else {
            Engine::incremental(config)?
        };
        Ok(Self { inner, waiting: false })
    }

    /// Append bars that arrived (rows ordered by arrival, after the last bar held and after the watermark).
    #[pyo3(signature = (*, ts_event, ts_arrival, ts_start, symbol, open, high, low, close, volume, session,
        split=None, dividend=None))]
    #[allow(clippy::too_many_arguments)]
    fn append_bars(
        &mut self,
        ts_event: PyReadonlyArray1<'_, i64>,
        ts_arrival: PyReadonlyArray1<'_, i64>,
        ts_start: PyReadonlyArray1<'_, i64>,
        symbol: PyReadonlyArray1<'_, i64>,
        open: PyReadonlyArray1<'_, f64>,
        high: PyReadonlyArray1<'_, f64>,
        low: PyReadonlyArray1<'_, f64>,
        close: PyReadonlyArray1<'_, f64>,
        volume: PyReadonlyArray1<'_, f64>,
        session: PyReadonlyArray1<'_, i32>,
        split: Option<PyReadonlyArray1<'_, f64>>,
        dividend: Option<PyReadonlyArray1<'_, f64>>,
    ) -> PyResult<()> {
        let chunk = bar_stream(
            &ts_event,
            &ts_arrival,
            &ts_start,
            &symbol,
            &open,
            &high,
            &low,
            &close,
            &volume,
            &session,
            split.as_ref(),
            dividend.as_ref(),
        )?;
        Ok(self.inner.append_bars(chunk)?)
    }

    /// Append signal arrivals (sorted, after the last one held and after the watermark).
    fn append_signals(&mut self, ts_arrival: PyReadonlyArray1<'_, i64>) -> PyResult<()> {
        Ok(self.inner.append_signal_arrivals(ts_arrival.as_slice()?)?)
    }

    /// All data arriving at or before `watermark` has been appended (monotone).
    fn advance(&mut self, watermark: i64) -> PyResult<()> {
        Ok(self.inner.advance_watermark(watermark)?)
    }

    /// No more data: the run then ends with the data held.
    fn end(&mut self) {
        self.inner.end_of_stream();
    }

    /// Whether the last `step()` returned None because the engine waits for data or the watermark.
    #[getter]
    fn waiting(&self) -> bool {
        self.waiting
    }

    /// Whether the run is over (the stream ended and its data is exhausted).
    #[getter]
    fn finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// Up to when the data is complete (`2**63 - 1` once the stream ended, and for an engine built with its data).
    #[getter]
    fn watermark(&self) -> i64 {
        self.inner.watermark()
    }

    /// Whether a broker executes this engine's orders (`incremental(..., external=True)`).
    #[getter]
    fn external(&self) -> bool {
        self.inner.is_external()
    }

    /// Run the vectorized strategy `simulator` (its settings) over `prices` / `signals` (the vectorized
    /// layout, `(n_symbols, n_bars)` each) inside this engine; `bar_of_row` maps each bar-stream row to its bar.
    fn promote(
        &mut self,
        simulator: PyRef<'_, SignalSimulator>,
        prices: Prices<'_>,
        signals: SignalArrays<'_>,
        bar_of_row: PyReadonlyArray1<'_, i64>,
    ) -> PyResult<()> {
        let (open, high, low, close) = prices;
        let (e, x, se, sx, size, sl, tp, weights, rebalance, leverage) = signals;
        let n_bars = open.shape()[1];
        let bools = |a: &PyReadonlyArray2<'_, bool>| -> PyResult<Vec<bool>> { Ok(a.as_slice()?.to_vec()) };
        let floats = |a: &PyReadonlyArray2<'_, f64>| -> PyResult<Vec<f64>> { Ok(a.as_slice()?.to_vec()) };
        let inputs = PromotedInputs {
            n_bars,
            open: floats(&open)?,
            high: floats(&high)?,
            low: floats(&low)?,
            close: floats(&close)?,
            entries: bools(&e)?,
            exits: bools(&x)?,
            short_entries: bools(&se)?,
            short_exits: bools(&sx)?,
            size: floats(&size)?,
            sl_stop: floats(&sl)?,
            tp_stop: floats(&tp)?,
            weights: floats(&weights)?,
            rebalance: bools(&rebalance)?,
            leverage: floats(&leverage)?,
            bar_of_row: bar_of_row.as_slice()?.iter().map(|&b| b.max(0) as usize).collect(),
        };
        let n_symbols = self.inner.n_symbols();
        Ok(self
            .inner
            .set_promoted(Promoted::new(inputs, simulator.settings.clone(), n_symbols))?)
    }

    /// The next timestamp the strategy listens to, as `(ts, bar_lo, bar_hi, signal_lo, signal_hi, fill_lo,
    /// fill_hi, timer_ids)` (bar rows count every bar appended, in order); None at the end of the data, or
    /// when an incremental engine waits for data or the watermark (then `waiting` is true).
    fn step(&mut self) -> Option<Step> {
        // The GIL stays held: a step is usually one bar's work, shorter than releasing and taking it back.
        let outcome = self.inner.step_live();
        self.waiting = outcome == Outcome::Waiting;
        let Outcome::Step(step) = outcome else {
            return None;
        };
        Some((
            step.ts,
            step.bars.0,
            step.bars.1,
            step.signals.0,
            step.signals.1,
            step.fills.0,
            step.fills.1,
            step.timers,
        ))
    }

    /// Run the remaining data without waking the strategy.
    fn finish(&mut self, py: Python<'_>) {
        py.detach(|| self.inner.finish());
    }

    #[getter]
    fn now(&self) -> i64 {
        self.inner.now()
    }

    #[getter]
    fn cash(&self) -> f64 {
        self.inner.ledger().account.cash
    }

    #[getter]
    fn free_cash(&self) -> f64 {
        self.inner.ledger().account.free_cash
    }

    #[getter]
    fn equity(&self) -> f64 {
        self.inner.ledger().equity()
    }

    fn position(&self, symbol: usize) -> f64 {
        self.inner.ledger().holdings.get(symbol).map_or(0.0, |h| h.position)
    }

    fn positions<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        let out: Vec<f64> = self.inner.ledger().holdings.iter().map(|h| h.position).collect();
        out.into_pyarray(py)
    }

    /// The last price of one symbol (NaN before its first bar).
    fn mark(&self, symbol: usize) -> f64 {
        self.inner.ledger().marks.get(symbol).copied().unwrap_or(f64::NAN)
    }

    /// Units of market orders still open on `symbol` (signed), for target orders.
    fn pending_market(&self, symbol: usize) -> f64 {
        self.inner.pending_market(symbol)
    }

    /// Submit an order; returns its id. With `refuse` (a reason), a risk limit refused it: it is validated
    /// and recorded like any order, closed at once as `rejected` (`reason_code` `risk_limit`) and never matched.
    #[pyo3(signature = (symbol, buy, quantity, kind, tif, limit=f64::NAN, stop=f64::NAN, trail_amount=f64::NAN,
        trail_percent=f64::NAN, oco=None, parent=None, refuse=None))]
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &mut self,
        symbol: usize,
        buy: bool,
        quantity: f64,
        kind: &str,
        tif: &str,
        limit: f64,
        stop: f64,
        trail_amount: f64,
        trail_percent: f64,
        oco: Option<u64>,
        parent: Option<u64>,
        refuse: Option<String>,
    ) -> PyResult<u64> {
        let kind = Kind::parse(kind, limit, stop, trail_amount, trail_percent)?;
        let tif = Tif::parse("tif", tif)?;
        let side = if buy { Side::Buy } else { Side::Sell };
        let request = OrderRequest {
            symbol,
            side,
            quantity,
            kind,
            tif,
            oco,
            parent,
        };
        Ok(match refuse {
            Some(reason) => self.inner.submit_refused(request, reason)?,
            None => self.inner.submit(request)?,
        })
    }

    /// The broker executed `quantity` units of open order `order_id` at `price` paying `fee`, now (the
    /// engine's clock): booked into the ledger like a simulated fill, even when the account would refuse it
    /// (then the account's objection is returned, else None). The fill is reported in the next step's range.
    /// An OrderError naming the order and the time for an unknown, closed or over-filled order.
    #[pyo3(signature = (order_id, quantity, price, fee=0.0))]
    fn apply_fill(&mut self, order_id: u64, quantity: f64, price: f64, fee: f64) -> PyResult<Option<String>> {
        let refused = self.inner.apply_fill(order_id, quantity, price, fee)?;
        Ok(refused.map(|r| r.message))
    }

    /// The broker closed open order `order_id` now: `status` is "cancelled", "rejected" or "expired"
    /// (`reason_code` `broker`, `partially_filled` if part of it filled), `reason` the broker's words.
    fn close_order(&mut self, order_id: u64, status: &str, reason: String) -> PyResult<()> {
        let status = broker_close_status(status)?;
        Ok(self.inner.close_by_broker(order_id, status, reason)?)
    }

    fn cancel(&mut self, order_id: u64) -> bool {
        self.inner.cancel(order_id)
    }

    #[pyo3(signature = (ts, every=None))]
    fn schedule(&mut self, ts: i64, every: Option<i64>) -> PyResult<u64> {
        Ok(self.inner.schedule(ts, every)?)
    }

    fn cancel_timer(&mut self, timer_id: u64) -> bool {
        self.inner.cancel_timer(timer_id)
    }

    /// `(status, filled quantity, remaining quantity, average fill price)` of an order.
    fn order_state(&self, order_id: usize) -> Option<(&'static str, f64, f64, f64)> {
        self.inner
            .orders()
            .get(order_id)
            .map(|o| (o.status.name(), o.filled, o.remaining(), o.avg_fill_price()))
    }

    /// Ids of the open orders (optionally of one symbol), in submission order.
    #[pyo3(signature = (symbol=None))]
    fn open_orders(&self, symbol: Option<usize>) -> Vec<u64> {
        self.inner.open_order_ids(symbol)
    }

    /// Fills `lo..hi` as `(order_id, ts, symbol, is_buy, quantity, price, fee, slippage)`.
    fn fills(&self, lo: usize, hi: usize) -> Vec<FillRow> {
        let all = self.inner.fills();
        all[lo.min(all.len())..hi.min(all.len())]
            .iter()
            .map(|f| {
                (
                    f.order_id,
                    f.ts,
                    f.symbol,
                    f.side == Side::Buy,
                    f.quantity,
                    f.price,
                    f.fee,
                    f.slippage,
                )
            })
            .collect()
    }

    /// Everything the run recorded, as NumPy arrays (and lists for text): see `crate::records`.
    fn results<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        to_dict(py, self.inner.records())
    }
}
