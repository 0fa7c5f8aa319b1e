//! Read-only questions the caller asks the engine between steps and after the run: open market
//! quantities for target orders, and the run's [`Records`].

use super::{Engine, Kind};
use crate::options::Named;
use crate::portfolio::Side;
use crate::records::Records;

impl Engine {
    /// Units of market orders still open on `symbol` (signed: buys positive), released ones only (a
    /// held bracket leg is not on its way to the market yet); what a target order must net against.
    pub fn pending_market(&self, symbol: usize) -> f64 {
        self.open_order_ids(Some(symbol))
            .into_iter()
            .map(|id| &self.orders()[id as usize])
            .filter(|o| o.request.kind == Kind::Market && !o.held)
            .map(|o| match o.request.side {
                Side::Buy => o.remaining(),
                Side::Sell => -o.remaining(),
            })
            .sum()
    }

    /// Everything the run recorded, in the shape both modes share.
    pub fn records(&self) -> Records {
        let mut out = Records::default();
        let rows = &mut out.orders;
        for o in self.orders() {
            rows.id.push(o.id as i64);
            rows.ts_submitted.push(o.ts_submitted);
            rows.symbol.push(o.request.symbol as i64);
            rows.buy.push(o.request.side == Side::Buy);
            rows.kind.push(Some(o.request.kind.name()));
            rows.quantity.push(o.quantity);
            rows.limit.push(match o.request.kind {
                Kind::Limit { limit } | Kind::StopLimit { limit, .. } => limit,
                _ => f64::NAN,
            });
            rows.stop.push(match o.request.kind {
                Kind::Stop { stop } | Kind::StopLimit { stop, .. } => stop,
                Kind::TrailingStop { .. } => o.trailing_level().unwrap_or(f64::NAN),
                _ => f64::NAN,
            });
            rows.tif.push(Some(o.request.tif.name()));
            rows.status.push(Some(o.status.name()));
            rows.reason.push(o.reason.as_deref());
            rows.reason_code.push(o.code.map(|c| c.name()));
            rows.filled.push(o.filled);
            rows.avg_price.push(o.avg_fill_price());
            rows.ts_closed.push(o.ts_closed.unwrap_or(0));
            rows.closed.push(o.ts_closed.is_some());
        }
        let fills = &mut out.fills;
        for f in self.fills() {
            fills.order_id.push(f.order_id as i64);
            fills.ts.push(f.ts);
            fills.symbol.push(f.symbol as i64);
            fills.buy.push(f.side == Side::Buy);
            fills.quantity.push(f.quantity);
            fills.price.push(f.price);
            fills.fee.push(f.fee);
            fills.slippage.push(f.slippage);
        }
        let snaps = self.snapshots();
        out.ts.clone_from(&snaps.ts);
        out.cash.clone_from(&snaps.cash);
        out.equity.clone_from(&snaps.equity);
        out.history = Some(snaps.history.clone());
        out.last_marks.clone_from(&self.ledger().marks);
        out.dividends = self.dividends();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{config, stream};
    use super::super::{OrderRequest, Tif};
    use super::*;

    const FLAT: (f64, f64, f64, f64, f64) = (100.0, 101.0, 99.0, 100.0, 1e6);

    fn order(side: Side, quantity: f64, kind: Kind) -> OrderRequest {
        OrderRequest {
            symbol: 0,
            side,
            quantity,
            kind,
            tif: Tif::Gtc,
            oco: None,
            parent: None,
        }
    }

    #[test]
    fn pending_market_nets_open_market_orders_only() {
        let mut e = Engine::new(config(), stream(&[FLAT, FLAT, FLAT]), Vec::new()).unwrap();
        e.step().unwrap();
        assert_eq!(e.pending_market(0), 0.0);
        e.submit(order(Side::Buy, 5.0, Kind::Market)).unwrap();
        let sell = e.submit(order(Side::Sell, 2.0, Kind::Market)).unwrap();
        e.submit(order(Side::Buy, 3.0, Kind::Limit { limit: 50.0 })).unwrap();
        // a bracket's exit leg is held until its entry fills: not pending
        let entry = e.submit(order(Side::Buy, 1.0, Kind::Limit { limit: 50.0 })).unwrap();
        e.submit(OrderRequest {
            parent: Some(entry),
            ..order(Side::Sell, 1.0, Kind::Market)
        })
        .unwrap();
        assert_eq!(e.pending_market(0), 5.0 - 2.0);
        assert_eq!(e.pending_market(1), 0.0, "another symbol has none");
        assert!(e.cancel(sell));
        assert_eq!(e.pending_market(0), 5.0);
        e.step().unwrap();
        assert_eq!(e.pending_market(0), 0.0, "filled at the next open");
    }

    #[test]
    fn records_hold_every_order_fill_and_snapshot() {
        let mut e = Engine::new(config(), stream(&[FLAT, FLAT, FLAT]), Vec::new()).unwrap();
        e.step().unwrap();
        e.submit(order(Side::Buy, 5.0, Kind::Market)).unwrap();
        e.submit(order(Side::Sell, 1.0, Kind::Stop { stop: 10.0 })).unwrap();
        e.finish();
        let r = e.records();
        assert_eq!(r.orders.id, [0, 1]);
        assert_eq!(
            (r.orders.kind.get(0), r.orders.kind.get(1)),
            (Some("market"), Some("stop"))
        );
        assert_eq!(
            (r.orders.status.get(0), r.orders.status.get(1)),
            (Some("filled"), Some("open"))
        );
        assert_eq!(r.orders.stop[1], 10.0);
        assert!(r.orders.limit[0].is_nan() && r.orders.closed == [true, false]);
        assert_eq!(r.fills.order_id, [0]);
        assert_eq!((r.fills.price[0], r.fills.quantity[0]), (100.0, 5.0));
        assert_eq!(r.ts.len(), 3);
        let (positions, marks) = r.history.unwrap().dense(1, &[0, 0, 0], &[100.0; 3]);
        assert_eq!((positions, marks), (vec![0.0, 5.0, 5.0], vec![100.0; 3]));
        assert_eq!(r.cash[2], 10_000.0 - 500.0);
    }
}
