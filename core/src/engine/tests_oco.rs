//! OCO groups whose preferred member is refused, and the rule "every IOC/FOK order ends in the first bar it
//! can trade", with OCO groups, participation caps and rejections for cash in the draw.

use super::tests::{config as base_config, stream, DAY};
use super::*;
use proptest::prelude::*;

fn config(init_cash: f64, participation: Option<f64>) -> Config {
    Config {
        init_cash,
        participation,
        ..base_config()
    }
}

fn buy(quantity: f64, kind: Kind, tif: Tif, oco: Option<u64>) -> OrderRequest {
    OrderRequest {
        symbol: 0,
        side: Side::Buy,
        quantity,
        kind,
        tif,
        oco,
        parent: None,
    }
}

const BAR: (f64, f64, f64, f64, f64) = (100.0, 101.0, 99.0, 100.0, 1e6);

#[test]
fn when_the_preferred_oco_member_is_rejected_the_next_one_fills_in_the_same_bar() {
    let mut e = Engine::new(config(10_000.0, None), stream(&[BAR, BAR, BAR]), Vec::new()).unwrap();
    e.step().unwrap();
    // Both touch in bar 2; the stop (preferred) cannot be paid for; the IOC limit can.
    let stop = e
        .submit(buy(1_000.0, Kind::Stop { stop: 100.5 }, Tif::Gtc, Some(7)))
        .unwrap();
    let limit = e
        .submit(buy(10.0, Kind::Limit { limit: 100.0 }, Tif::Ioc, Some(7)))
        .unwrap();
    e.finish();
    let (s, l) = (&e.orders()[stop as usize], &e.orders()[limit as usize]);
    assert_eq!(s.status, Status::Rejected);
    assert_eq!((l.status, l.ts_closed), (Status::Filled, Some(2 * DAY)));
    assert_eq!((e.fills()[0].ts, e.fills()[0].price), (2 * DAY, 100.0));
}

#[test]
fn a_gtc_market_order_is_not_held_back_a_bar_by_a_rejected_preferred_sibling() {
    let mut e = Engine::new(config(10_000.0, None), stream(&[BAR, BAR, BAR]), Vec::new()).unwrap();
    e.step().unwrap();
    let stop = e
        .submit(buy(1_000.0, Kind::Stop { stop: 100.5 }, Tif::Gtc, Some(7)))
        .unwrap();
    let market = e.submit(buy(10.0, Kind::Market, Tif::Gtc, Some(7))).unwrap();
    e.finish();
    let o = |id: u64| &e.orders()[id as usize];
    assert_eq!((o(stop).status, o(stop).ts_closed), (Status::Rejected, Some(2 * DAY)));
    assert_eq!((o(market).status, o(market).ts_closed), (Status::Filled, Some(2 * DAY)));
}

// ------------------------------------------------------------------------------------------ property

fn arb_bars() -> impl Strategy<Value = Vec<(f64, f64, f64, f64, f64)>> {
    prop::collection::vec((95.0f64..105.0, 0.0f64..4.0, 0.0f64..4.0, 0.0f64..60.0), 2..10).prop_map(|raw| {
        raw.into_iter()
            .map(|(open, up, down, volume)| (open, open + up, open - down, open, volume))
            .collect()
    })
}

fn arb_kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Market),
        (95.0f64..105.0).prop_map(|limit| Kind::Limit { limit }),
        (95.0f64..105.0).prop_map(|stop| Kind::Stop { stop }),
    ]
}

/// (step to submit at, buy, quantity, kind, tif, OCO group)
type Draw = (usize, bool, f64, Kind, u8, Option<u64>);

fn arb_orders() -> impl Strategy<Value = Vec<Draw>> {
    prop::collection::vec(
        (
            0usize..6,
            any::<bool>(),
            1.0f64..40.0,
            arb_kind(),
            0u8..4,
            prop::option::of(0u64..3),
        ),
        1..14,
    )
}

proptest! {
    #[test]
    fn every_ioc_and_fok_order_ends_in_the_first_bar_it_can_trade(
        bars in arb_bars(),
        orders in arb_orders(),
        cap in prop::option::of(0.05f64..1.0),
        cash in prop_oneof![Just(1e6), 500.0f64..3_000.0],
    ) {
        let mut e = Engine::new(config(cash, cap), stream(&bars), Vec::new()).unwrap();
        let mut step = 0;
        while e.step().is_some() {
            for &(at, is_buy, quantity, kind, tif, oco) in &orders {
                if at == step {
                    let side = if is_buy { Side::Buy } else { Side::Sell };
                    let tif = [Tif::Gtc, Tif::Day, Tif::Ioc, Tif::Fok][tif as usize];
                    e.submit(OrderRequest { side, ..buy(quantity, kind, tif, oco) }).unwrap();
                }
            }
            step += 1;
        }
        for o in e.orders() {
            if !matches!(o.request.tif, Tif::Ioc | Tif::Fok) {
                continue;
            }
            // The first bar that starts at or after the order reached the market.
            let first = (1..=bars.len() as i64).map(|d| d * DAY).find(|&t| t - DAY >= o.active_ts);
            match first {
                Some(t) => prop_assert!(
                    o.ts_closed.is_some_and(|c| c <= t),
                    "{:?} order {} reached the market at {} and was still open after the bar at {} ({:?})",
                    o.request.tif, o.id, o.active_ts, t, o
                ),
                None => prop_assert!(o.is_open()),
            }
        }
    }
}
