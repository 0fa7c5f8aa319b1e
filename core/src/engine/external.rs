//! External execution: a real broker fills the orders, the engine keeps the one ledger.
//!
//! An engine made by [`Engine::external`] is an incremental engine (see `live.rs`) that never matches orders
//! itself: bars move the marks, corporate actions, snapshots, timers and steps work as in a simulated run,
//! and orders are recorded (ids, links, `open_order_ids`, records) as usual, but no bar fills them (market,
//! limit, stop, trailing, close execution), and the simulator neither expires DAY orders nor cancels IOC/FOK
//! remainders: the broker decides those. The maintenance margin is not checked either (no forced orders):
//! the broker liquidates, and its liquidating fills arrive like any other.
//!
//! What the broker does comes back through two calls, at the engine's clock (`now`, the last step's
//! timestamp):
//! - [`Engine::apply_fill`]: one execution of an open order, booked through the same ledger code as a
//!   simulated fill and recorded in the fill log. The order's filled quantity and average price follow; a
//!   complete fill closes it as `filled` and then settles as a simulated one does: its bracket legs start
//!   working for the quantity filled, its OCO siblings are cancelled (`oco_cancelled`).
//! - [`Engine::close_by_broker`]: the broker cancelled, rejected or expired an open order (code `broker`,
//!   the broker's reason); a partly filled order closes as `partially_filled`, as any close.
//!
//! Fills applied between two steps are reported in the range of the next step the engine returns (as the
//! close-execution fills of the strategy's decisions are), and wake a strategy that listens to fills at that
//! step: the engine keeps the clock, so a broker fill is seen at the next timestamp the data reaches. A fill
//! applied after a step belongs to that step's snapshot unless the engine already stepped on (a step that
//! returned `Waiting` has recorded it): then it is in the next one.

use super::order::{Code, Status};
use super::{Config, Engine, Fill};
use crate::error::{Context, CoreError, CoreResult};
use crate::portfolio::{Affordability, Refusal};

/// The status a broker close names: `"cancelled"`, `"rejected"` or `"expired"`; a config error on `status`
/// otherwise.
pub fn broker_close_status(name: &str) -> CoreResult<Status> {
    match name {
        "cancelled" => Ok(Status::Cancelled),
        "rejected" => Ok(Status::Rejected),
        "expired" => Ok(Status::Expired),
        _ => Err(CoreError::config(
            format!("a broker closes an order as 'cancelled', 'rejected' or 'expired', got {name:?}"),
            Context::argument("status"),
        )),
    }
}

impl Engine {
    /// An incremental engine whose orders a broker executes (see the module doc): it records them and never
    /// matches them; fills and closes come back through [`Engine::apply_fill`] and [`Engine::close_by_broker`].
    pub fn external(config: Config) -> CoreResult<Self> {
        let mut engine = Self::incremental(config)?;
        engine.external = true;
        Ok(engine)
    }

    /// Whether a broker executes this engine's orders ([`Engine::external`]).
    pub fn is_external(&self) -> bool {
        self.external
    }

    /// Book one execution of open order `id` by the broker, at the current time: `quantity` (> 0) units in
    /// the order's side at `price` (> 0) paying `fee` (finite), through the same ledger booking as a
    /// simulated fill (costs are the broker's: no slippage model, no commission model; the fill's recorded
    /// slippage is 0). The broker has executed it, so it is booked even when the account would refuse it
    /// (the account differs from the broker's, e.g. a cash account short of cash): that refusal is returned,
    /// for the caller to reconcile, and the ledger holds what the broker did. The order then settles as a
    /// simulated fill settles it (see the module doc).
    ///
    /// Errors (nothing changes): not an external engine; an unknown or closed order, a bracket leg still
    /// waiting for its entry, or a quantity beyond what remains (order errors naming the order and the
    /// time); a quantity, price or fee that is not valid.
    pub fn apply_fill(&mut self, id: u64, quantity: f64, price: f64, fee: f64) -> CoreResult<Option<Refusal>> {
        let ts = self.now;
        self.check_broker_order("apply_fill", id)?;
        let o = &self.orders[id as usize];
        let symbol = o.request.symbol;
        let at = |argument: &str| {
            Context {
                symbol: Some(symbol.to_string()),
                ..Context::argument(argument)
            }
            .at(ts)
        };
        if !(quantity.is_finite() && quantity > 0.0) {
            return Err(CoreError::order(
                format!("fill of order {id}: quantity must be finite and > 0, got {quantity}"),
                at("quantity"),
            ));
        }
        let remaining = o.remaining();
        if quantity > remaining + 1e-9 * o.quantity {
            return Err(CoreError::order(
                format!("fill of order {id}: {quantity} units exceed the {remaining} it has left"),
                at("quantity"),
            ));
        }
        if !(price.is_finite() && price > 0.0) {
            return Err(CoreError::order(
                format!("fill of order {id}: price must be finite and > 0, got {price}"),
                at("price"),
            ));
        }
        if !fee.is_finite() {
            return Err(CoreError::order(
                format!("fill of order {id}: fee must be finite, got {fee}"),
                at("fee"),
            ));
        }
        let side = o.request.side;
        let refused = match self.ledger.fill(symbol, side, quantity, price, fee) {
            Ok(()) => None,
            Err(refusal) => {
                // The broker did it: book it all the same (the policy only decides whether to refuse; the
                // booking itself is the one path, see `Ledger::book`).
                let policy = std::mem::replace(&mut self.ledger.policy, Affordability::Resize);
                let booked = self.ledger.fill(symbol, side, quantity, price, fee);
                self.ledger.policy = policy;
                debug_assert!(booked.is_ok(), "a finite fill books without the policy's checks");
                Some(refusal)
            }
        };
        self.fills.push(Fill {
            order_id: id,
            ts,
            symbol,
            side,
            quantity,
            price,
            fee,
            slippage: 0.0,
        });
        let complete = self.orders[id as usize].record_fill(quantity, price, ts);
        let siblings: Vec<u64> = self.open_order_ids(Some(symbol));
        self.cancel_oco_siblings(id, ts);
        // The siblings it cancelled in its own symbol leave the working list at once, as matching's do.
        for sibling in siblings {
            if !self.orders[sibling as usize].is_open() {
                self.working[symbol].retain(|&w| w != sibling);
            }
        }
        if complete {
            // Off the working list at once, as a simulated fill takes it off (a split must not scale it).
            self.working[symbol].retain(|&w| w != id);
            self.after_close(id, ts);
        }
        Ok(refused)
    }

    /// The broker closed open order `id` (`status`: cancelled, rejected or expired) for `reason`: it closes
    /// at the current time with code [`Code::Broker`], as `partially_filled` if it filled part of its
    /// quantity, and its bracket legs settle as for any close. Errors as [`Engine::apply_fill`]'s.
    pub fn close_by_broker(&mut self, id: u64, status: Status, reason: String) -> CoreResult<()> {
        self.check_broker_order("close_order", id)?;
        if !matches!(status, Status::Cancelled | Status::Rejected | Status::Expired) {
            return Err(CoreError::config(
                format!(
                    "a broker closes an order as cancelled, rejected or expired, not {}",
                    status.name()
                ),
                Context::argument("status").at(self.now),
            ));
        }
        let symbol = self.orders[id as usize].request.symbol;
        self.working[symbol].retain(|&w| w != id);
        self.close_order(id, status, Code::Broker, reason, self.now);
        Ok(())
    }

    /// An external engine, and `id` an open order the broker can act on.
    fn check_broker_order(&self, call: &str, id: u64) -> CoreResult<()> {
        let ts = self.now;
        let order_context = || Context::argument("order_id").at(ts);
        if !self.external {
            return Err(CoreError::config(
                format!("{call} is for an engine whose orders a broker executes (made with external=True)"),
                Context::argument("external").at(ts),
            ));
        }
        let Some(o) = self.orders.get(id as usize) else {
            return Err(CoreError::order(format!("order {id} does not exist"), order_context()));
        };
        let context = Context {
            symbol: Some(o.request.symbol.to_string()),
            ..order_context()
        };
        if !o.is_open() {
            return Err(CoreError::order(
                format!("order {id} is already closed ({})", o.status.name()),
                context,
            ));
        }
        if o.held {
            return Err(CoreError::order(
                format!(
                    "order {id} is a bracket leg waiting for its entry {} to close",
                    o.request.parent.unwrap_or(id)
                ),
                context,
            ));
        }
        Ok(())
    }
}
