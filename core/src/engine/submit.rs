//! Submitting and cancelling orders, and what closing an order settles (its bracket legs).
//!
//! An invalid request is an error (the strategy's bug, not the market's verdict); an economic refusal comes
//! later, as a rejection recorded in the order.

use super::order::{Code, Kind, Order, OrderRequest, Status};
use super::Engine;
use crate::error::{Context, CoreError, CoreResult};

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
    /// Submit an order at the current time; returns its id. Invalid requests are errors (the strategy's
    /// bug, not the market's verdict); economic refusals happen later, as rejections recorded in the order.
    pub fn submit(&mut self, request: OrderRequest) -> CoreResult<u64> {
        self.place(request, None)
    }

    /// Record an order that a risk limit refused before it left: validated exactly like [`Engine::submit`]
    /// (an invalid request is still an error), recorded, and closed at once as `rejected` with
    /// [`Code::RiskLimit`] and `reason`, at the current time. It is never matched (not even at the close under
    /// close execution) nor sent anywhere; a bracket leg submitted for it at the same time is cancelled as for
    /// any entry that filled nothing. Returns its id.
    pub fn submit_refused(&mut self, request: OrderRequest, reason: String) -> CoreResult<u64> {
        self.place(request, Some(reason))
    }

    /// Validate and record an order: working (or held, for a bracket leg), or closed at once as refused.
    fn place(&mut self, request: OrderRequest, refusal: Option<String>) -> CoreResult<u64> {
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
        if let Some(reason) = refusal {
            self.close_order(id, Status::Rejected, Code::RiskLimit, reason, ts);
            return Ok(id);
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

    /// Close an order and settle what depends on it: bracket legs start working for the quantity their
    /// entry filled, or are cancelled if it filled nothing.
    pub(super) fn close_order(&mut self, id: u64, status: Status, code: impl Into<Code>, reason: String, ts: i64) {
        self.orders[id as usize].close(status, code, reason, ts);
        self.after_close(id, ts);
    }

    pub(super) fn after_close(&mut self, id: u64, ts: i64) {
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
