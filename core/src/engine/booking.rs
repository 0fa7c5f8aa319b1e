//! Booking a matched order's fill into the ledger, as a close and an open.
//!
//! A fill that crosses zero (a reversal: long to short or back in one order) is a close plus an open. When
//! the account refuses the whole fill, the close alone is booked (closing is never refused for cash, see
//! [`Ledger::fill`](super::Ledger::fill)) and the order ends partially filled with the open's refusal as its
//! reason. A forced (margin call) order never trades more than the position it closes: the strategy's own
//! orders may have reduced it first.

use super::order::{Code, Kind, Status};
use super::Engine;
use crate::matching::costs::{CostedFill, FillContext};
use crate::matching::fill::Bar;
use crate::portfolio::{Refusal, Side};

/// What booking a matched order did.
pub(super) enum Booked {
    /// `quantity` units booked at the costed price; `refused` says why the rest (the open of a reversal)
    /// was not.
    Filled {
        quantity: f64,
        costed: CostedFill,
        refused: Option<Refusal>,
    },
    /// Nothing was booked; the order has been closed.
    Closed,
}

impl Engine {
    /// Book up to `quantity` of order `id` at `price` (before costs) in `bar`, closing the order when the
    /// account refuses all of it.
    pub(super) fn book(&mut self, id: u64, quantity: f64, price: f64, bar: &Bar, te: i64) -> Booked {
        let (side, kind, symbol, forced) = {
            let o = &self.orders[id as usize];
            (
                o.request.side,
                o.request.kind,
                o.request.symbol,
                o.code == Some(Code::MarginCall),
            )
        };
        let closable = self.ledger.closable(symbol, side);
        let quantity = if forced { quantity.min(closable) } else { quantity };
        if quantity <= 0.0 {
            let reason = "margin call: the position was already closed".to_owned();
            self.close_order(id, Status::Cancelled, Code::MarginCall, reason, te);
            return Booked::Closed;
        }
        let costed = self.costed(side, quantity, price, bar, symbol, kind);
        let refused = match self
            .ledger
            .fill(symbol, side, quantity, costed.price, costed.commission)
        {
            Ok(()) => {
                if forced && quantity >= closable {
                    // The position is closed: the forced order is complete whatever it was sized at.
                    let o = &mut self.orders[id as usize];
                    o.quantity = o.filled + quantity;
                }
                return Booked::Filled {
                    quantity,
                    costed,
                    refused: None,
                };
            }
            Err(refusal) => refusal,
        };
        if closable > 0.0 && closable < quantity {
            let costed = self.costed(side, closable, price, bar, symbol, kind);
            if self
                .ledger
                .fill(symbol, side, closable, costed.price, costed.commission)
                .is_ok()
            {
                return Booked::Filled {
                    quantity: closable,
                    costed,
                    refused: Some(refused),
                };
            }
        }
        self.close_order(id, Status::Rejected, refused.code, refused.message, te);
        Booked::Closed
    }

    fn costed(&self, side: Side, quantity: f64, price: f64, bar: &Bar, symbol: usize, kind: Kind) -> CostedFill {
        let context = FillContext::new(side, quantity, price)
            .with_bar(bar.high, bar.low, bar.volume)
            .with_multiplier(self.ledger.multipliers[symbol]);
        self.costs(&context, kind)
    }
}
