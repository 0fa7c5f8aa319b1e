//! Maintenance margin: after the marks move at a timestamp, before the strategy decides, an account whose
//! equity is below its maintenance requirement (see [`Ledger::margin_call`](super::Ledger::margin_call)) is
//! liquidated, as a broker would: one forced market order per borrowed position (every position of a margin
//! account, every short of a cash account), closing it in full.
//!
//! Forced orders are ordinary orders with code [`Code::MarginCall`] and a reason naming equity and
//! requirement: they are submitted at the timestamp of the call, pass through the order latency and fill
//! like any market order, at the next bar's open (or, under close execution, at the close of the bar that
//! revealed the shortfall: the same point-in-time rule as the strategy's own orders). They are never refused
//! for cash (they only reduce), never trade more than the position left, and are placed once per position
//! while one is working. A promoted vectorized strategy is not liquidated: it follows the vectorized
//! semantics, which have no maintenance margin. Under external execution (`external.rs`) nothing is checked
//! either: the broker liquidates, and its fills arrive like any other.

use super::order::{Code, Kind, Order, OrderRequest, Tif};
use super::Engine;
use crate::portfolio::Side;

impl Engine {
    pub(super) fn check_margin(&mut self) {
        if self.promoted.is_some() || self.external {
            return;
        }
        let Some((equity, requirement)) = self.ledger.margin_call(self.config.maintenance) else {
            return;
        };
        for symbol in 0..self.n_symbols() {
            if !self.ledger.borrowed(symbol) || self.forced_working(symbol) {
                continue;
            }
            let position = self.ledger.position(symbol);
            let request = OrderRequest {
                symbol,
                side: if position > 0.0 { Side::Sell } else { Side::Buy },
                quantity: position.abs(),
                kind: Kind::Market,
                tif: Tif::Gtc,
                oco: None,
                parent: None,
            };
            let id = self.orders.len() as u64;
            let mut order = Order::new(
                id,
                request,
                self.now,
                self.now.saturating_add(self.config.order_latency),
            );
            order.code = Some(Code::MarginCall);
            order.reason = Some(format!(
                "margin call: equity {equity:.2} below the maintenance requirement {requirement:.2}"
            ));
            self.orders.push(order);
            self.working[symbol].push(id);
            self.fill_at_close_now(id);
        }
    }

    fn forced_working(&self, symbol: usize) -> bool {
        self.working[symbol].iter().any(|&id| {
            let o = &self.orders[id as usize];
            o.is_open() && o.code == Some(Code::MarginCall)
        })
    }
}
