//! Orders as the engine tracks them: what was asked (type, side, quantity, time in force, links to other
//! orders) and what has happened to it (status, filled quantity, average price, reason).
//!
//! Life cycle: an order is *pending* from submission until its latency has passed (`active_ts`), then
//! *working*: it may fill against any bar of its symbol stamped after `active_ts` (a market order under
//! close execution also against the bar stamped exactly `active_ts`, at its close). A bracket's exit legs
//! are *held* until their parent closes. Every order ends in one [`Status`]; `Open` means it was still
//! working when the data ended.

use crate::matching::fill::{Trail, TrailingStop};
use crate::portfolio::{Reject, Side};

/// The price condition of an order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Market,
    Limit { limit: f64 },
    Stop { stop: f64 },
    StopLimit { stop: f64, limit: f64 },
    TrailingStop { trail: Trail },
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Market => "market",
            Self::Limit { .. } => "limit",
            Self::Stop { .. } => "stop",
            Self::StopLimit { .. } => "stop_limit",
            Self::TrailingStop { .. } => "trailing_stop",
        }
    }

    /// Stop-type orders (stop, stop-limit, trailing) are the pessimistic leg of a bracket or OCO pair.
    pub fn is_stop(self) -> bool {
        matches!(
            self,
            Self::Stop { .. } | Self::StopLimit { .. } | Self::TrailingStop { .. }
        )
    }
}

/// Time in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tif {
    /// Good till cancelled.
    Gtc,
    /// Valid for the session of the first bar it may trade in; expires when that session ends.
    Day,
    /// Immediate or cancel: fills what it can in the first bar it may trade in; the rest is cancelled.
    Ioc,
    /// Fill or kill: fills completely in the first bar it may trade in, or is cancelled.
    Fok,
}

/// Where an order is in its life. `Open` is also the status of an order still working when the data ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    Open = 0,
    Filled = 1,
    PartiallyFilled = 2,
    Cancelled = 3,
    Expired = 4,
    Rejected = 5,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Filled => "filled",
            Self::PartiallyFilled => "partially_filled",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::Rejected => "rejected",
        }
    }
}

/// Why an order did not (completely) fill, or why the engine placed it: a short stable code per cause, for
/// grouping (`reason_code`), beside the readable `reason` that may carry numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The ledger refused the order (both modes' reasons: cash, collateral, leverage, fees, ...).
    Refused(Reject),
    /// A forced order closing a position because equity fell below the maintenance margin.
    MarginCall,
    IocUnfilled,
    FokUnfilled,
    DayExpired,
    OcoCancelled,
    CancelledByStrategy,
    BracketEntryUnfilled,
    /// A risk limit refused the order before it left ([`Engine::submit_refused`](super::Engine::submit_refused)).
    RiskLimit,
    /// The broker closed the order (cancelled, rejected or expired it) under external execution
    /// ([`Engine::close_by_broker`](super::Engine::close_by_broker)); the reason is the broker's.
    Broker,
}

impl From<Reject> for Code {
    fn from(reject: Reject) -> Self {
        Self::Refused(reject)
    }
}

impl Code {
    pub fn name(self) -> &'static str {
        match self {
            Self::Refused(reject) => reject.code(),
            Self::MarginCall => "margin_call",
            Self::IocUnfilled => "ioc_unfilled",
            Self::FokUnfilled => "fok_unfilled",
            Self::DayExpired => "day_expired",
            Self::OcoCancelled => "oco_cancelled",
            Self::CancelledByStrategy => "cancelled_by_strategy",
            Self::BracketEntryUnfilled => "bracket_entry_unfilled",
            Self::RiskLimit => "risk_limit",
            Self::Broker => "broker",
        }
    }
}

/// What the strategy asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderRequest {
    pub symbol: usize,
    pub side: Side,
    /// Units, > 0.
    pub quantity: f64,
    pub kind: Kind,
    pub tif: Tif,
    /// Orders sharing a group cancel each other when one of them fills.
    pub oco: Option<u64>,
    /// A bracket leg: held until this order (the entry) closes, then works for the quantity it filled.
    pub parent: Option<u64>,
}

/// An order and everything that happened to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: u64,
    pub request: OrderRequest,
    pub ts_submitted: i64,
    /// When it reaches the market (submission plus order latency).
    pub active_ts: i64,
    /// Units it works for: the request's, or for a bracket leg the parent's filled quantity.
    pub quantity: f64,
    pub filled: f64,
    /// Sum of `fill quantity * fill price`, for the average fill price.
    pub filled_value: f64,
    pub status: Status,
    /// Closed orders: why it did not (completely) fill; forced orders: why the engine placed them.
    pub reason: Option<String>,
    /// The cause of `reason` as a code.
    pub code: Option<Code>,
    pub ts_closed: Option<i64>,
    /// A stop-limit whose stop triggered: a limit order from the next bar on.
    pub triggered: bool,
    /// The trailing stop's state once it is working.
    pub trailing: Option<TrailingStop>,
    /// DAY orders: the session of the first bar they could trade in.
    pub session: Option<i64>,
    /// The `ts_event` of the last bar this order could trade in.
    pub last_bar: Option<i64>,
    /// Bracket legs waiting for their parent to close.
    pub held: bool,
}

impl Order {
    pub fn new(id: u64, request: OrderRequest, ts_submitted: i64, active_ts: i64) -> Self {
        Self {
            id,
            request,
            ts_submitted,
            active_ts,
            quantity: request.quantity,
            filled: 0.0,
            filled_value: 0.0,
            status: Status::Open,
            reason: None,
            code: None,
            ts_closed: None,
            triggered: false,
            trailing: None,
            session: None,
            last_bar: None,
            held: request.parent.is_some(),
        }
    }

    pub fn remaining(&self) -> f64 {
        (self.quantity - self.filled).max(0.0)
    }

    pub fn is_open(&self) -> bool {
        self.status == Status::Open
    }

    pub fn avg_fill_price(&self) -> f64 {
        if self.filled > 0.0 {
            self.filled_value / self.filled
        } else {
            f64::NAN
        }
    }

    /// Record a fill of `quantity` at `price`; true when the order is now complete.
    pub fn record_fill(&mut self, quantity: f64, price: f64, ts: i64) -> bool {
        self.filled += quantity;
        self.filled_value += quantity * price;
        // Snap float residue: a fill within a relative 1e-9 of the remainder completes the order.
        if self.remaining() <= 1e-9 * self.quantity {
            self.filled = self.quantity;
            self.status = Status::Filled;
            self.ts_closed = Some(ts);
            true
        } else {
            false
        }
    }

    /// Close the order as `status` (cancelled, expired, rejected) with a reason. An order that already
    /// filled part of its quantity closes as `partially_filled`, keeping the reason.
    pub fn close(&mut self, status: Status, code: impl Into<Code>, reason: impl Into<String>, ts: i64) {
        debug_assert!(self.is_open());
        self.status = if self.filled > 0.0 {
            Status::PartiallyFilled
        } else {
            status
        };
        self.code = Some(code.into());
        self.reason = Some(reason.into());
        self.ts_closed = Some(ts);
    }

    /// The trailing stop level now, if this is a working trailing stop.
    pub fn trailing_level(&self) -> Option<f64> {
        self.trailing.map(|t| t.level())
    }

    /// Start a trailing stop from `reference` (the last price when it begins to work).
    pub fn start_trailing(&mut self, reference: f64) {
        if let Kind::TrailingStop { trail } = self.request.kind {
            if self.trailing.is_none() && reference.is_finite() {
                self.trailing = Some(TrailingStop::new(self.request.side, trail, reference));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(quantity: f64) -> OrderRequest {
        OrderRequest {
            symbol: 0,
            side: Side::Buy,
            quantity,
            kind: Kind::Market,
            tif: Tif::Gtc,
            oco: None,
            parent: None,
        }
    }

    #[test]
    fn fills_accumulate_to_an_average_price_and_complete_the_order() {
        let mut o = Order::new(0, request(10.0), 0, 0);
        assert!(!o.record_fill(4.0, 10.0, 1));
        assert!(o.is_open());
        assert!(o.record_fill(6.0, 20.0, 2));
        assert_eq!(o.status, Status::Filled);
        assert_eq!(o.avg_fill_price(), 16.0);
        assert_eq!(o.ts_closed, Some(2));
    }

    #[test]
    fn closing_a_partly_filled_order_reports_partially_filled_with_the_reason() {
        let mut o = Order::new(0, request(10.0), 0, 0);
        o.record_fill(4.0, 10.0, 1);
        o.close(Status::Cancelled, Code::IocUnfilled, "IOC remainder cancelled", 1);
        assert_eq!(o.status, Status::PartiallyFilled);
        assert_eq!(o.reason.as_deref(), Some("IOC remainder cancelled"));
        let mut untouched = Order::new(1, request(10.0), 0, 0);
        untouched.close(Status::Expired, Code::DayExpired, "DAY order: its session ended", 5);
        assert_eq!(untouched.status, Status::Expired);
        assert!(untouched.avg_fill_price().is_nan());
    }
}
