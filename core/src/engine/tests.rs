//! Scenario tests against hand-computed fills, and property tests of the engine's invariants.

use super::*;
use crate::matching::costs::{NoCommission, NoSlippage, PercentCommission};
use crate::matching::fill::{bracket_exit, touch, Bar, BothTouched, Trail, Trigger};
use proptest::prelude::*;

pub(super) const DAY: i64 = 86_400_000_000_000;

/// (open, high, low, close, volume) per bar of one symbol, one bar a day.
pub(super) fn stream(bars: &[(f64, f64, f64, f64, f64)]) -> BarStream {
    let n = bars.len();
    let ts: Vec<i64> = (0..n as i64).map(|i| (i + 1) * DAY).collect();
    BarStream {
        ts_event: ts.clone().into(),
        ts_start: ts.iter().map(|t| t - DAY).collect(),
        ts_arrival: ts.into(),
        symbol: vec![0; n].into(),
        open: bars.iter().map(|b| b.0).collect(),
        high: bars.iter().map(|b| b.1).collect(),
        low: bars.iter().map(|b| b.2).collect(),
        close: bars.iter().map(|b| b.3).collect(),
        volume: bars.iter().map(|b| b.4).collect(),
        session: (1..=n as i32).collect(),
        split: Column::default(),
        dividend: Column::default(),
    }
}

pub(super) fn config() -> Config {
    Config {
        init_cash: 10_000.0,
        account: AccountKind::Cash,
        maintenance: AccountKind::Cash.default_maintenance(),
        execution: Execution::NextOpen,
        order_latency: 0,
        participation: None,
        both_touched: BothTouched::StopLoss,
        commission: Box::new(NoCommission),
        slippage: Box::new(NoSlippage),
        multipliers: vec![1.0],
        wake: Wake {
            bars: true,
            ..Wake::default()
        },
    }
}

fn request(side: Side, quantity: f64, kind: Kind, tif: Tif) -> OrderRequest {
    OrderRequest {
        symbol: 0,
        side,
        quantity,
        kind,
        tif,
        oco: None,
        parent: None,
    }
}

const FLAT: (f64, f64, f64, f64, f64) = (100.0, 101.0, 99.0, 100.0, 1e6);

/// Run `bars`, submitting `orders` after the first bar; returns the engine at the end.
fn run(config: Config, bars: &[(f64, f64, f64, f64, f64)], orders: &[OrderRequest]) -> Engine {
    let mut e = Engine::new(config, stream(bars), Vec::new()).unwrap();
    e.step().unwrap();
    for r in orders {
        e.submit(*r).unwrap();
    }
    e.finish();
    e
}

#[test]
fn a_market_order_fills_at_the_next_open_not_the_decision_bar() {
    let bars = [
        FLAT,
        (102.0, 104.0, 101.0, 103.0, 1e6),
        (103.0, 103.0, 103.0, 103.0, 1e6),
    ];
    let e = run(config(), &bars, &[request(Side::Buy, 10.0, Kind::Market, Tif::Gtc)]);
    let f = e.fills();
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].ts, f[0].price, f[0].quantity), (2 * DAY, 102.0, 10.0));
    assert_eq!(e.orders()[0].status, Status::Filled);
    assert_eq!(e.ledger().account.cash, 10_000.0 - 1020.0);
    assert_eq!(
        e.snapshots().equity,
        vec![10_000.0, 10_000.0 - 1020.0 + 1030.0, 10_000.0 - 1020.0 + 1030.0]
    );
}

#[test]
fn close_execution_fills_at_the_decision_bars_close_and_counts_in_its_equity() {
    let mut c = config();
    c.execution = Execution::Close;
    let bars = [FLAT, (102.0, 104.0, 101.0, 103.0, 1e6)];
    let e = run(c, &bars, &[request(Side::Buy, 10.0, Kind::Market, Tif::Gtc)]);
    assert_eq!((e.fills()[0].ts, e.fills()[0].price), (DAY, 100.0));
    assert_eq!(e.snapshots().cash[0], 10_000.0 - 1000.0);
}

#[test]
fn limit_and_stop_orders_fill_at_their_price_or_the_gapped_open() {
    // Day 2 trades 95..105 from an open of 100; day 3 gaps down to 90.
    let bars = [FLAT, (100.0, 105.0, 95.0, 100.0, 1e6), (90.0, 92.0, 88.0, 91.0, 1e6)];
    let orders = [
        request(Side::Buy, 1.0, Kind::Limit { limit: 97.0 }, Tif::Gtc), // touches day 2 at 97
        request(Side::Buy, 1.0, Kind::Stop { stop: 104.0 }, Tif::Gtc),  // triggers day 2 at 104
        request(Side::Buy, 1.0, Kind::Limit { limit: 93.0 }, Tif::Gtc), // gap: day 3 at the open 90
        request(Side::Sell, 1.0, Kind::Limit { limit: 106.0 }, Tif::Gtc), // never touched: open at the end
    ];
    let e = run(config(), &bars, &orders);
    let by_order: Vec<(u64, i64, f64)> = e.fills().iter().map(|f| (f.order_id, f.ts, f.price)).collect();
    assert_eq!(
        by_order,
        vec![(0, 2 * DAY, 97.0), (1, 2 * DAY, 104.0), (2, 3 * DAY, 90.0)]
    );
    assert_eq!(e.orders()[3].status, Status::Open);
}

#[test]
fn a_stop_limit_that_gaps_past_its_limit_rests_as_a_limit() {
    // Stop 104 triggers day 2 at the open 106, above the limit 105: no fill; day 3 touches 105.
    let bars = [
        FLAT,
        (106.0, 108.0, 105.5, 107.0, 1e6),
        (106.0, 106.5, 104.0, 105.0, 1e6),
    ];
    let kind = Kind::StopLimit {
        stop: 104.0,
        limit: 105.0,
    };
    let e = run(config(), &bars, &[request(Side::Buy, 1.0, kind, Tif::Gtc)]);
    assert_eq!(e.fills().len(), 1);
    assert_eq!((e.fills()[0].ts, e.fills()[0].price), (3 * DAY, 105.0));
}

#[test]
fn a_trailing_stop_trails_the_high_and_fills_at_its_level() {
    // Long protection, 5 below the highest high. Reference at submission: close 100 -> level 95.
    let bars = [
        FLAT,
        (100.0, 110.0, 99.0, 109.0, 1e6),
        (108.0, 108.0, 104.0, 105.0, 1e6),
    ];
    let kind = Kind::TrailingStop {
        trail: Trail::Amount(5.0),
    };
    let e = run(config(), &bars, &[request(Side::Sell, 1.0, kind, Tif::Gtc)]);
    // Day 2 tests level 95 (untouched), then raises it to 105; day 3's low 104 touches it.
    assert_eq!((e.fills()[0].ts, e.fills()[0].price), (3 * DAY, 105.0));
}

fn bracket(e: &mut Engine, policy_group: u64) -> (u64, u64, u64) {
    let entry = e.submit(request(Side::Buy, 10.0, Kind::Market, Tif::Gtc)).unwrap();
    let leg = |kind| OrderRequest {
        oco: Some(policy_group),
        parent: Some(entry),
        ..request(Side::Sell, 10.0, kind, Tif::Gtc)
    };
    let sl = e.submit(leg(Kind::Stop { stop: 95.0 })).unwrap();
    let tp = e.submit(leg(Kind::Limit { limit: 110.0 })).unwrap();
    (entry, sl, tp)
}

#[test]
fn a_bracket_whose_legs_both_touch_fills_the_stop_loss_by_default_and_cancels_the_other() {
    let bars = [FLAT, FLAT, (100.0, 112.0, 90.0, 100.0, 1e6)];
    for (policy, winner_is_sl, price) in [
        (BothTouched::StopLoss, true, 95.0),
        (BothTouched::TakeProfit, false, 110.0),
    ] {
        let mut c = config();
        c.both_touched = policy;
        let mut e = Engine::new(c, stream(&bars), Vec::new()).unwrap();
        e.step();
        let (entry, sl, tp) = bracket(&mut e, 7);
        e.finish();
        let (win, lose) = if winner_is_sl { (sl, tp) } else { (tp, sl) };
        assert_eq!(e.orders()[entry as usize].status, Status::Filled);
        assert_eq!(e.orders()[win as usize].status, Status::Filled);
        assert_eq!(e.orders()[lose as usize].status, Status::Cancelled);
        assert_eq!(e.fills().last().unwrap().price, price);
        assert_eq!(e.ledger().position(0), 0.0);
    }
}

proptest! {
    /// The matcher's bracket exit is `fill::bracket_exit` over the legs' touches: whichever leg the bar
    /// touches fills at its touch price, the policy's leg when both do, and the other is cancelled.
    #[test]
    fn the_matchers_bracket_exit_is_the_documented_bracket_rule(
        sl_level in 85.0f64..98.9, tp_level in 101.1f64..115.0, prefer_stop in any::<bool>(),
        open in 85.0f64..115.0, up in 0.0f64..10.0, down in 0.0f64..10.0,
    ) {
        let policy = if prefer_stop { BothTouched::StopLoss } else { BothTouched::TakeProfit };
        let last = Bar { open, high: open + up, low: open - down, close: open, volume: 1e6 };
        let mut c = config();
        c.both_touched = policy;
        let bars = [FLAT, FLAT, (last.open, last.high, last.low, last.close, last.volume)];
        let mut e = Engine::new(c, stream(&bars), Vec::new()).unwrap();
        e.step().unwrap();
        let entry = e.submit(request(Side::Buy, 10.0, Kind::Market, Tif::Gtc)).unwrap();
        let leg = |kind| OrderRequest { oco: Some(3), parent: Some(entry), ..request(Side::Sell, 10.0, kind, Tif::Gtc) };
        let sl = e.submit(leg(Kind::Stop { stop: sl_level })).unwrap();
        let tp = e.submit(leg(Kind::Limit { limit: tp_level })).unwrap();
        e.finish();
        let want = bracket_exit(
            touch(Trigger::Stop { stop: sl_level }, Side::Sell, &last),
            touch(Trigger::Limit { limit: tp_level }, Side::Sell, &last),
            policy,
        );
        let status = |id: u64| e.orders()[id as usize].status;
        match want {
            Some((stop_loss, price)) => {
                let (win, lose) = if stop_loss { (sl, tp) } else { (tp, sl) };
                prop_assert_eq!((status(win), status(lose)), (Status::Filled, Status::Cancelled));
                prop_assert_eq!(e.fills().last().unwrap().price, price);
            }
            None => {
                prop_assert_eq!(e.fills().len(), 1);
                prop_assert!(e.orders()[sl as usize].is_open() && e.orders()[tp as usize].is_open());
            }
        }
    }
}

#[test]
fn bracket_legs_of_an_entry_that_never_fills_are_cancelled_with_it() {
    let mut e = Engine::new(config(), stream(&[FLAT, FLAT]), Vec::new()).unwrap();
    e.step();
    let (entry, sl, tp) = bracket(&mut e, 1);
    assert!(e.cancel(entry));
    e.finish();
    for id in [sl, tp] {
        let o = &e.orders()[id as usize];
        assert_eq!(o.status, Status::Cancelled);
        assert!(o.reason.as_deref().unwrap().contains("bracket entry"));
    }
}

#[test]
fn a_participation_cap_splits_an_order_over_bars_and_ioc_fok_do_not_wait() {
    let thin = (100.0, 101.0, 99.0, 100.0, 100.0); // 10% of 100 = 10 units a bar
    let mut c = config();
    c.participation = Some(0.1);
    let orders = [
        request(Side::Buy, 25.0, Kind::Market, Tif::Gtc),
        request(Side::Buy, 25.0, Kind::Market, Tif::Ioc),
        request(Side::Buy, 25.0, Kind::Market, Tif::Fok),
    ];
    let e = run(c, &[FLAT, thin, thin, thin, thin], &orders);
    let gtc: Vec<f64> = e
        .fills()
        .iter()
        .filter(|f| f.order_id == 0)
        .map(|f| f.quantity)
        .collect();
    assert_eq!(gtc, vec![10.0, 10.0, 5.0]);
    assert_eq!(e.orders()[0].status, Status::Filled);
    // The GTC order used the first bar's 10 units, so the IOC found none left and the FOK could not fill.
    assert_eq!(e.orders()[1].status, Status::Cancelled);
    assert_eq!(e.orders()[2].status, Status::Cancelled);
    assert!(e.orders()[2].reason.as_deref().unwrap().starts_with("FOK"));
}

#[test]
fn an_ioc_fills_what_the_bar_allows_and_cancels_the_rest() {
    let mut c = config();
    c.participation = Some(0.1);
    let e = run(
        c,
        &[FLAT, (100.0, 101.0, 99.0, 100.0, 100.0)],
        &[request(Side::Buy, 25.0, Kind::Market, Tif::Ioc)],
    );
    let o = &e.orders()[0];
    assert_eq!((o.status, o.filled), (Status::PartiallyFilled, 10.0));
    assert_eq!(o.reason.as_deref(), Some("IOC: remainder cancelled"));
}

#[test]
fn a_day_order_expires_when_its_session_ends() {
    let e = run(
        config(),
        &[FLAT, FLAT, (100.0, 101.0, 80.0, 100.0, 1e6)],
        &[request(Side::Buy, 1.0, Kind::Limit { limit: 90.0 }, Tif::Day)],
    );
    let o = &e.orders()[0];
    assert_eq!(o.status, Status::Expired);
    assert_eq!(o.ts_closed, Some(2 * DAY)); // the last bar of its session
    assert!(e.fills().is_empty());
}

#[test]
fn unaffordable_orders_are_rejected_with_a_reason_not_resized() {
    let e = run(
        config(),
        &[FLAT, FLAT],
        &[request(Side::Buy, 101.0, Kind::Market, Tif::Gtc)],
    );
    let o = &e.orders()[0];
    assert_eq!(o.status, Status::Rejected);
    assert!(o.reason.as_deref().unwrap().starts_with("insufficient cash"));
    assert!(e.fills().is_empty());
    assert_eq!(e.ledger().account.cash, 10_000.0);
}

#[test]
fn order_latency_moves_the_fill_to_the_first_bar_that_starts_after_arrival() {
    let mut c = config();
    c.order_latency = 1; // decided at day 1's close, reaches the market 1 ns after day 2's bar started
    let bars = [
        FLAT,
        (101.0, 101.0, 101.0, 101.0, 1e6),
        (102.0, 102.0, 102.0, 102.0, 1e6),
    ];
    let e = run(c, &bars, &[request(Side::Buy, 1.0, Kind::Market, Tif::Gtc)]);
    assert_eq!((e.fills()[0].ts, e.fills()[0].price), (3 * DAY, 102.0));
}

#[test]
fn invalid_requests_are_errors_not_rejections() {
    let mut e = Engine::new(config(), stream(&[FLAT]), Vec::new()).unwrap();
    e.step();
    for bad in [
        request(Side::Buy, 0.0, Kind::Market, Tif::Gtc),
        request(Side::Buy, f64::NAN, Kind::Market, Tif::Gtc),
        request(Side::Buy, 1.0, Kind::Limit { limit: -1.0 }, Tif::Gtc),
        OrderRequest {
            symbol: 3,
            ..request(Side::Buy, 1.0, Kind::Market, Tif::Gtc)
        },
    ] {
        assert!(matches!(e.submit(bad), Err(CoreError::Order { .. })), "{bad:?}");
    }
    assert!(e.orders().is_empty());
}

#[test]
fn splits_scale_positions_and_resting_orders_and_dividends_pay_cash() {
    let mut bars = stream(&[FLAT, FLAT, (50.0, 51.0, 49.0, 50.0, 1e6), (50.0, 51.0, 49.0, 50.0, 1e6)]);
    bars.split = vec![f64::NAN, 1.0, 2.0, 1.0].into();
    bars.dividend = vec![0.0, 0.0, 0.0, 0.25].into();
    let mut e = Engine::new(config(), bars, Vec::new()).unwrap();
    e.step();
    e.submit(request(Side::Buy, 10.0, Kind::Market, Tif::Gtc)).unwrap();
    let limit = e
        .submit(request(Side::Sell, 10.0, Kind::Limit { limit: 200.0 }, Tif::Gtc))
        .unwrap();
    e.finish();
    assert_eq!(e.ledger().position(0), 20.0);
    assert_eq!(e.orders()[limit as usize].quantity, 20.0);
    assert_eq!(e.orders()[limit as usize].request.kind, Kind::Limit { limit: 100.0 });
    assert_eq!(e.dividends(), 5.0);
    assert_eq!(e.ledger().account.cash, 10_000.0 - 1000.0 + 5.0);
    assert_eq!(*e.snapshots().equity.last().unwrap(), 10_000.0 + 5.0);
}

#[test]
fn a_strategy_that_listens_to_nothing_runs_to_the_end_in_one_step() {
    let mut c = config();
    c.wake = Wake::default();
    let mut e = Engine::new(c, stream(&[FLAT, FLAT, FLAT]), Vec::new()).unwrap();
    assert_eq!(e.step(), None);
    assert_eq!(e.snapshots().ts.len(), 3);
}

#[test]
fn timers_fire_at_their_time_and_not_in_the_past() {
    let mut c = config();
    c.wake = Wake {
        timers: true,
        ..Wake::default()
    };
    let mut e = Engine::new(c, stream(&[FLAT, FLAT, FLAT]), Vec::new()).unwrap();
    let id = e.schedule(2 * DAY + 5, None).unwrap();
    let step = e.step().unwrap();
    assert_eq!(
        (step.ts, step.timers.clone(), step.bars),
        (2 * DAY + 5, vec![id], (2, 2))
    );
    assert!(matches!(e.schedule(DAY, None), Err(CoreError::Config { .. })));
}

#[test]
fn the_clock_starts_just_before_the_first_bar_and_an_order_placed_then_fills_at_its_open() {
    let mut e = Engine::new(config(), stream(&[(100.0, 101.0, 99.0, 100.5, 1e6), FLAT]), Vec::new()).unwrap();
    assert_eq!(e.now(), -1); // the first bar covers (0, DAY]
    e.submit(request(Side::Buy, 1.0, Kind::Market, Tif::Gtc)).unwrap();
    e.finish();
    assert_eq!((e.fills()[0].ts, e.fills()[0].price), (DAY, 100.0));
}

#[test]
fn timers_beyond_the_data_never_fire_and_cancelled_timers_do_not_fire() {
    let mut c = config();
    c.wake = Wake {
        timers: true,
        ..Wake::default()
    };
    let mut e = Engine::new(c, stream(&[FLAT, FLAT]), Vec::new()).unwrap();
    let kept = e.schedule(DAY + 5, None).unwrap();
    let dropped = e.schedule(DAY + 6, None).unwrap();
    e.schedule(10 * DAY, None).unwrap();
    assert!(e.cancel_timer(dropped));
    assert!(!e.cancel_timer(dropped));
    assert_eq!(e.step().unwrap().timers, vec![kept]);
    assert!(!e.cancel_timer(kept)); // already fired
    assert_eq!(e.step(), None);
    assert!(e.is_finished());
}

#[test]
fn a_bracket_under_close_execution_gets_its_legs_after_the_entry_filled_at_the_close() {
    let mut c = config();
    c.execution = Execution::Close;
    let mut e = Engine::new(c, stream(&[FLAT, (100.0, 101.0, 94.0, 95.0, 1e6)]), Vec::new()).unwrap();
    e.step();
    let (entry, sl, tp) = bracket(&mut e, 3);
    assert_eq!(e.orders()[entry as usize].status, Status::Filled);
    e.finish();
    assert_eq!(e.orders()[sl as usize].status, Status::Filled);
    assert_eq!(e.orders()[tp as usize].status, Status::Cancelled);
    assert_eq!(e.fills()[1].price, 95.0);
}

#[test]
fn close_execution_orders_share_the_bars_participation_volume() {
    let mut c = config();
    c.execution = Execution::Close;
    c.participation = Some(0.1);
    let thin = (100.0, 101.0, 99.0, 100.0, 100.0);
    let mut e = Engine::new(c, stream(&[thin, thin]), Vec::new()).unwrap();
    e.step();
    let a = e.submit(request(Side::Buy, 8.0, Kind::Market, Tif::Gtc)).unwrap();
    let b = e.submit(request(Side::Buy, 8.0, Kind::Market, Tif::Gtc)).unwrap();
    assert_eq!(
        (e.orders()[a as usize].filled, e.orders()[b as usize].filled),
        (8.0, 2.0)
    );
    e.finish();
    assert_eq!(e.orders()[b as usize].filled, 8.0); // the rest at the next bar's close
}

#[test]
fn slippage_never_pushes_a_limit_fill_beyond_its_limit() {
    let mut c = config();
    c.slippage = Box::new(crate::matching::costs::BpsSlippage::new(100.0).unwrap());
    let e = run(
        c,
        &[FLAT, FLAT],
        &[request(Side::Buy, 1.0, Kind::Limit { limit: 99.5 }, Tif::Gtc)],
    );
    assert_eq!(e.fills()[0].price, 99.5);
}

#[test]
fn orders_at_one_timestamp_match_in_submission_order_across_symbols() {
    // Two symbols, bars interleaved A, B per day. Day 1: all cash into B. Day 2: sell B, then buy A with it.
    let mut bars = stream(&[FLAT, FLAT, FLAT, FLAT, FLAT, FLAT]);
    bars.symbol = vec![0, 1, 0, 1, 0, 1].into();
    bars.ts_event = vec![DAY, DAY, 2 * DAY, 2 * DAY, 3 * DAY, 3 * DAY].into();
    bars.ts_arrival = bars.ts_event.clone();
    bars.ts_start = bars.ts_event.iter().map(|t| t - DAY).collect();
    bars.session = vec![1, 1, 2, 2, 3, 3].into();
    let mut c = config();
    c.multipliers = vec![1.0, 1.0];
    let mut e = Engine::new(c, bars, Vec::new()).unwrap();
    e.step();
    let buy_b = OrderRequest {
        symbol: 1,
        ..request(Side::Buy, 100.0, Kind::Market, Tif::Gtc)
    };
    e.submit(buy_b).unwrap();
    e.step();
    e.submit(OrderRequest {
        side: Side::Sell,
        ..buy_b
    })
    .unwrap();
    e.submit(request(Side::Buy, 100.0, Kind::Market, Tif::Gtc)).unwrap(); // symbol 0 sorts first
    e.finish();
    assert!(
        e.orders().iter().all(|o| o.status == Status::Filled),
        "{:?}",
        e.orders()
    );
    assert_eq!((e.ledger().position(0), e.ledger().position(1)), (100.0, 0.0));
}

#[test]
fn a_repeating_timer_keeps_its_id_until_cancelled() {
    let mut c = config();
    c.wake = Wake {
        timers: true,
        ..Wake::default()
    };
    let mut e = Engine::new(c, stream(&[FLAT, FLAT, FLAT, FLAT]), Vec::new()).unwrap();
    let id = e.schedule(DAY + 1, Some(DAY)).unwrap();
    assert_eq!(e.step().unwrap().timers, vec![id]);
    assert_eq!(e.step().unwrap().timers, vec![id]);
    assert!(e.cancel_timer(id));
    assert_eq!(e.step(), None);
    assert!(matches!(e.schedule(5 * DAY, Some(0)), Err(CoreError::Config { .. })));
}

// ------------------------------------------------------------------------------------------ properties

fn arb_bars() -> impl Strategy<Value = Vec<(f64, f64, f64, f64, f64)>> {
    prop::collection::vec(
        (50.0f64..150.0, 0.0f64..5.0, 0.0f64..5.0, -1.0f64..1.0, 0.0f64..500.0),
        2..25,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .map(|(open, up, down, c, volume)| {
                let (high, low) = (open + up, open - down);
                let close = if c >= 0.0 { open + c * up } else { open + c * down };
                (open, high, low, close, volume)
            })
            .collect()
    })
}

fn arb_kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Market),
        (50.0f64..150.0).prop_map(|limit| Kind::Limit { limit }),
        (50.0f64..150.0).prop_map(|stop| Kind::Stop { stop }),
        (50.0f64..150.0, 50.0f64..150.0).prop_map(|(stop, limit)| Kind::StopLimit { stop, limit }),
        (0.01f64..0.2).prop_map(|p| Kind::TrailingStop {
            trail: Trail::Percent(p)
        }),
    ]
}

fn arb_orders() -> impl Strategy<Value = Vec<(usize, bool, f64, Kind, u8)>> {
    prop::collection::vec((0usize..20, any::<bool>(), 1.0f64..80.0, arb_kind(), 0u8..4), 0..12)
}

/// Submit each order at the step given by its first field (if the run lasts that long).
fn simulate(
    bars: &[(f64, f64, f64, f64, f64)],
    orders: &[(usize, bool, f64, Kind, u8)],
    participation: Option<f64>,
) -> Engine {
    simulate_observed(bars, orders, participation, &mut |_| {})
}

/// `simulate`, calling `observe` with the engine before every step.
fn simulate_observed(
    bars: &[(f64, f64, f64, f64, f64)],
    orders: &[(usize, bool, f64, Kind, u8)],
    participation: Option<f64>,
    observe: &mut dyn FnMut(&Engine),
) -> Engine {
    let mut c = config();
    c.participation = participation;
    c.commission = Box::new(PercentCommission::new(0.001).unwrap());
    let mut e = Engine::new(c, stream(bars), Vec::new()).unwrap();
    let mut step = 0;
    while {
        observe(&e);
        e.step().is_some()
    } {
        for &(at, buy, quantity, kind, tif) in orders {
            if at == step {
                let side = if buy { Side::Buy } else { Side::Sell };
                let tif = [Tif::Gtc, Tif::Day, Tif::Ioc, Tif::Fok][tif as usize];
                e.submit(request(side, quantity, kind, tif)).unwrap();
            }
        }
        step += 1;
    }
    e
}

proptest! {
    #[test]
    fn cash_is_conserved_net_of_fees(bars in arb_bars(), orders in arb_orders(), cap in prop::option::of(0.05f64..1.0)) {
        let e = simulate(&bars, &orders, cap);
        let mut cash = 10_000.0;
        for f in e.fills() {
            let value = f.quantity * f.price;
            cash += match f.side { Side::Buy => -value, Side::Sell => value } - f.fee;
        }
        prop_assert!((cash - e.ledger().account.cash).abs() <= 1e-6 * cash.abs().max(1.0));
        // Free cash goes negative only when covering a short at a loss (closing is never refused for cash)
        // realised more than the equity: the account is then insolvent (equity <= 0), and the engine has
        // placed its margin call. Found by proptest: shorts at 50, then a gap to 147 (the saved regression).
        let ledger = e.ledger();
        prop_assert!(ledger.account.free_cash >= -1e-6 || ledger.equity() <= 0.0,
            "free cash {} with equity {}", ledger.account.free_cash, ledger.equity());
    }

    #[test]
    fn fills_never_exceed_the_order_and_lie_within_their_bar(bars in arb_bars(), orders in arb_orders(), cap in prop::option::of(0.05f64..1.0)) {
        let e = simulate(&bars, &orders, cap);
        for o in e.orders() {
            let filled: f64 = e.fills().iter().filter(|f| f.order_id == o.id).map(|f| f.quantity).sum();
            prop_assert!(filled <= o.quantity * (1.0 + 1e-9), "order {} filled {} of {}", o.id, filled, o.quantity);
            prop_assert!((filled - o.filled).abs() <= 1e-9 * o.quantity);
            prop_assert!(o.status != Status::Filled || (filled - o.quantity).abs() <= 1e-9 * o.quantity);
        }
        for f in e.fills() {
            let (_, high, low, _, _) = bars[(f.ts / DAY - 1) as usize];
            prop_assert!(f.price >= low - 1e-9 && f.price <= high + 1e-9);
        }
    }

    #[test]
    fn no_fill_uses_a_bar_that_had_not_arrived_when_the_order_was_placed(bars in arb_bars(), orders in arb_orders()) {
        let e = simulate(&bars, &orders, None);
        for f in e.fills() {
            let o = &e.orders()[f.order_id as usize];
            prop_assert!(f.ts > o.ts_submitted, "fill at {} for an order placed at {}", f.ts, o.ts_submitted);
        }
    }

    #[test]
    fn identical_inputs_give_identical_results(bars in arb_bars(), orders in arb_orders(), cap in prop::option::of(0.05f64..1.0)) {
        let (a, b) = (simulate(&bars, &orders, cap), simulate(&bars, &orders, cap));
        prop_assert_eq!(a.fills(), b.fills());
        prop_assert_eq!(a.orders(), b.orders());
        prop_assert_eq!(&a.snapshots().equity, &b.snapshots().equity);
    }

    #[test]
    fn the_sparse_position_history_rebuilds_the_ledger_of_every_row(bars in arb_bars(), orders in arb_orders()) {
        // The reference: the ledger's positions and marks when each step begins (after the decisions of the
        // timestamp before: the moment a row is recorded), as the dense snapshots stored them.
        let mut seen = Vec::new();
        let e = simulate_observed(&bars, &orders, None, &mut |e| {
            seen.push((e.ledger().holdings[0].position.to_bits(), e.ledger().marks[0].to_bits()));
        });
        let history = e.records().history.unwrap();
        let closes: Vec<f64> = bars.iter().map(|b| b.3).collect();
        let (positions, marks) = history.dense(1, &vec![0; bars.len()], &closes);
        let rebuilt: Vec<(u64, u64)> = positions.iter().zip(&marks).map(|(p, m)| (p.to_bits(), m.to_bits())).collect();
        prop_assert_eq!(&rebuilt[..], &seen[1..]);
        prop_assert_eq!(e.records().last_marks[0].to_bits(), seen.last().unwrap().1);
    }
}
