//! External execution (`external.rs`) and risk refusals ([`Engine::submit_refused`]): every refusal and error,
//! and the property at the heart of it: a run whose broker re-applies, through `apply_fill` and
//! `close_by_broker`, what the simulator did in a simulated run of the same stream and strategy ends with the
//! same ledger, snapshots, fills and order statuses, bit for bit.

use super::tests::{config, stream, DAY};
use super::tests_live::{arb_case, case_config, decide, Action, Case};
use super::*;
use proptest::prelude::*;

fn request(side: Side, quantity: f64, kind: Kind) -> OrderRequest {
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

fn buy(quantity: f64) -> OrderRequest {
    request(Side::Buy, quantity, Kind::Market)
}

/// Flat bars at 100 (high 110, low 90), one a day.
fn flat(n: usize) -> BarStream {
    stream(&vec![(100.0, 110.0, 90.0, 100.0, 1e6); n])
}

/// An external engine holding `bars`, the stream ended.
fn external(config: Config, bars: BarStream) -> Engine {
    let mut e = Engine::external(config).unwrap();
    e.append_bars(bars).unwrap();
    e.end_of_stream();
    e
}

fn code(e: &Engine, id: u64) -> Option<&'static str> {
    e.orders()[id as usize].code.map(Code::name)
}

// --- refusals at submission -------------------------------------------------------------------------------

#[test]
fn a_refused_order_is_recorded_rejected_at_submission_and_never_matched() {
    let mut e = Engine::new(config(), flat(3), vec![]).unwrap();
    let t0 = e.now();
    let id = e
        .submit_refused(buy(1.0), "max order value 50 exceeded".to_owned())
        .unwrap();
    let o = &e.orders()[id as usize];
    assert_eq!((o.status, o.ts_closed, o.filled), (Status::Rejected, Some(t0), 0.0));
    assert_eq!(o.reason.as_deref(), Some("max order value 50 exceeded"));
    assert_eq!(code(&e, id), Some("risk_limit"));
    assert!(e.open_order_ids(None).is_empty());
    assert_eq!(e.pending_market(0), 0.0);
    let accepted = e.submit(buy(1.0)).unwrap();
    e.finish();
    assert_eq!(e.fills().len(), 1);
    assert_eq!(e.fills()[0].order_id, accepted);
    assert_eq!(e.orders()[id as usize].status, Status::Rejected);
    let records = e.records();
    let text = |t: &crate::records::Text| t.values[t.codes[id as usize] as usize].clone();
    assert_eq!(text(&records.orders.reason_code).as_deref(), Some("risk_limit"));
    assert_eq!(text(&records.orders.status).as_deref(), Some("rejected"));
}

#[test]
fn a_refused_market_order_is_not_filled_at_the_close_under_close_execution() {
    let mut c = config();
    c.execution = Execution::Close;
    let mut e = Engine::new(c, flat(3), vec![]).unwrap();
    let step = e.step().unwrap();
    let id = e.submit_refused(buy(1.0), "kill switch".to_owned()).unwrap();
    let o = &e.orders()[id as usize];
    assert_eq!((o.status, o.ts_closed), (Status::Rejected, Some(step.ts)));
    assert!(e.fills().is_empty());
    // The same order accepted fills at once, at that bar's close.
    let filled = e.submit(buy(1.0)).unwrap();
    assert_eq!(e.orders()[filled as usize].status, Status::Filled);
    e.finish();
    assert_eq!(e.fills().len(), 1);
    assert_eq!(e.ledger().position(0), 1.0);
}

#[test]
fn a_bracket_whose_entry_was_refused_has_its_legs_cancelled() {
    for close in [false, true] {
        let mut c = config();
        if close {
            c.execution = Execution::Close;
        }
        let mut e = Engine::new(c, flat(4), vec![]).unwrap();
        e.step().unwrap();
        let entry = e.submit_refused(buy(2.0), "max position".to_owned()).unwrap();
        let leg = |kind| OrderRequest {
            oco: Some(7),
            parent: Some(entry),
            ..request(Side::Sell, 2.0, kind)
        };
        let stop = e.submit(leg(Kind::Stop { stop: 95.0 })).unwrap();
        let take = e.submit(leg(Kind::Limit { limit: 105.0 })).unwrap();
        for id in [stop, take] {
            let o = &e.orders()[id as usize];
            assert_eq!(o.status, Status::Cancelled, "close={close}");
            assert_eq!(code(&e, id), Some("bracket_entry_unfilled"));
        }
        e.step().unwrap();
        // Later the refused entry is a closed parent like any other.
        let err = e.submit(leg(Kind::Stop { stop: 95.0 })).unwrap_err();
        assert!(err.to_string().contains("already closed"), "{err}");
        e.finish();
        assert!(e.fills().is_empty());
    }
}

#[test]
fn a_refused_bracket_leg_is_rejected_and_its_entry_still_works() {
    let mut e = Engine::new(config(), flat(3), vec![]).unwrap();
    let entry = e.submit(buy(1.0)).unwrap();
    let leg = OrderRequest {
        parent: Some(entry),
        ..request(Side::Sell, 1.0, Kind::Stop { stop: 50.0 })
    };
    let refused = e.submit_refused(leg, "too many orders".to_owned()).unwrap();
    e.finish();
    assert_eq!(e.orders()[entry as usize].status, Status::Filled);
    assert_eq!(e.orders()[refused as usize].status, Status::Rejected);
    assert_eq!(code(&e, refused), Some("risk_limit"));
}

#[test]
fn a_refused_request_is_validated_like_any_other() {
    let mut e = Engine::new(config(), flat(2), vec![]).unwrap();
    for bad in [
        buy(0.0),
        buy(f64::NAN),
        OrderRequest { symbol: 3, ..buy(1.0) },
        request(Side::Buy, 1.0, Kind::Limit { limit: -1.0 }),
        OrderRequest {
            parent: Some(9),
            ..buy(1.0)
        },
    ] {
        assert!(e.submit_refused(bad, "limit".to_owned()).is_err(), "{bad:?}");
    }
    assert!(e.orders().is_empty());
}

// --- external execution -------------------------------------------------------------------------------------

#[test]
fn an_external_engine_matches_nothing_but_moves_marks_and_records_snapshots() {
    let mut c = config();
    c.execution = Execution::Close;
    c.wake = Wake {
        bars: true,
        fills: true,
        ..Wake::default()
    };
    let bars = stream(&[
        (100.0, 110.0, 90.0, 101.0, 1e6),
        (100.0, 130.0, 70.0, 102.0, 1e6),
        (100.0, 130.0, 70.0, 103.0, 1e6),
    ]);
    let mut e = external(c, bars);
    assert!(e.is_external());
    let market = e.submit(buy(1.0)).unwrap();
    let step = e.step().unwrap();
    assert_eq!(step.fills, (0, 0));
    let ids = [
        e.submit(buy(1.0)).unwrap(), // would fill at this bar's close
        e.submit(request(Side::Buy, 1.0, Kind::Limit { limit: 95.0 })).unwrap(),
        e.submit(request(Side::Sell, 1.0, Kind::Stop { stop: 95.0 })).unwrap(),
        e.submit(OrderRequest {
            tif: Tif::Ioc,
            ..request(Side::Buy, 1.0, Kind::Limit { limit: 50.0 })
        })
        .unwrap(),
        e.submit(OrderRequest {
            tif: Tif::Day,
            ..request(Side::Buy, 1.0, Kind::Limit { limit: 50.0 })
        })
        .unwrap(),
        e.submit(request(
            Side::Sell,
            1.0,
            Kind::TrailingStop {
                trail: crate::matching::fill::Trail::Percent(0.01),
            },
        ))
        .unwrap(),
    ];
    while e.step().is_some() {}
    assert!(e.is_finished());
    assert!(e.fills().is_empty());
    for id in std::iter::once(market).chain(ids) {
        assert!(e.orders()[id as usize].is_open(), "order {id}");
    }
    assert_eq!(e.ledger().marks, vec![103.0]);
    assert_eq!(e.snapshots().ts, vec![DAY, 2 * DAY, 3 * DAY]);
    assert_eq!(e.snapshots().equity, vec![10_000.0; 3]);
}

#[test]
fn an_external_engine_places_no_margin_call() {
    let mut c = config();
    c.account = AccountKind::Margin { leverage: 2.0 };
    c.maintenance = 0.25;
    let bars = stream(&[
        (100.0, 100.0, 100.0, 100.0, 1e6),
        (300.0, 300.0, 300.0, 300.0, 1e6),
        (300.0, 300.0, 300.0, 300.0, 1e6),
    ]);
    let mut e = external(c, bars);
    let short = e.submit(request(Side::Sell, 100.0, Kind::Market)).unwrap();
    e.step().unwrap();
    e.apply_fill(short, 100.0, 100.0, 0.0).unwrap();
    e.finish(); // equity 10_000 - 20_000 < 0: a simulated engine would liquidate
    assert!(e.ledger().margin_call(0.25).is_some());
    assert_eq!(e.orders().len(), 1);
    assert_eq!(e.ledger().position(0), -100.0);
}

#[test]
fn broker_fills_are_booked_like_simulated_ones_and_settle_the_order() {
    let mut c = config();
    c.wake = Wake {
        bars: true,
        fills: true,
        ..Wake::default()
    };
    let mut e = external(c, flat(4));
    let id = e.submit(buy(10.0)).unwrap();
    let step = e.step().unwrap();
    assert_eq!(e.apply_fill(id, 4.0, 100.0, 1.0).unwrap(), None);
    let o = &e.orders()[id as usize];
    assert_eq!((o.status, o.filled, o.remaining()), (Status::Open, 4.0, 6.0));
    assert_eq!(e.open_order_ids(None), vec![id]);
    e.apply_fill(id, 6.0, 101.0, 2.0).unwrap();
    let o = &e.orders()[id as usize];
    assert_eq!((o.status, o.ts_closed), (Status::Filled, Some(step.ts)));
    assert_eq!(o.avg_fill_price(), (4.0 * 100.0 + 6.0 * 101.0) / 10.0);
    assert!(e.open_order_ids(None).is_empty());
    // The same booking as the ledger's own, fill by fill.
    let mut reference = Ledger::new(
        AccountKind::Cash,
        crate::portfolio::Affordability::Reject,
        10_000.0,
        vec![1.0],
    );
    reference.fill(0, Side::Buy, 4.0, 100.0, 1.0).unwrap();
    reference.fill(0, Side::Buy, 6.0, 101.0, 2.0).unwrap();
    assert_eq!(e.ledger().account, reference.account);
    assert_eq!(e.ledger().holdings, reference.holdings);
    assert_eq!(
        e.fills()[1],
        Fill {
            order_id: id,
            ts: step.ts,
            symbol: 0,
            side: Side::Buy,
            quantity: 6.0,
            price: 101.0,
            fee: 2.0,
            slippage: 0.0,
        }
    );
    // Reported in the next step's range (and they wake a strategy listening to fills there).
    let next = e.step().unwrap();
    assert_eq!(next.fills, (0, 2));
    e.finish();
    // The step's snapshot holds them: they were applied before the engine stepped on.
    assert_eq!(e.snapshots().cash[0], reference.account.cash);
}

#[test]
fn a_fill_the_account_would_refuse_is_booked_and_the_refusal_returned() {
    let mut e = external(config(), flat(2));
    let id = e.submit(buy(200.0)).unwrap();
    e.step().unwrap();
    let refusal = e
        .apply_fill(id, 200.0, 100.0, 0.0)
        .unwrap()
        .expect("a cash account cannot pay 20_000");
    assert_eq!(refusal.code, crate::portfolio::Reject::InsufficientCash);
    assert_eq!(e.ledger().position(0), 200.0);
    assert_eq!(e.ledger().account.cash, -10_000.0);
    assert_eq!(e.ledger().policy, crate::portfolio::Affordability::Reject);
    assert_eq!(e.orders()[id as usize].status, Status::Filled);
}

#[test]
fn a_complete_entry_releases_its_bracket_legs_and_a_leg_fill_cancels_its_sibling() {
    let mut e = external(config(), flat(4));
    let entry = e.submit(buy(5.0)).unwrap();
    let leg = |kind| OrderRequest {
        oco: Some(1),
        parent: Some(entry),
        ..request(Side::Sell, 5.0, kind)
    };
    let stop = e.submit(leg(Kind::Stop { stop: 90.0 })).unwrap();
    let take = e.submit(leg(Kind::Limit { limit: 110.0 })).unwrap();
    e.step().unwrap();
    let err = e.apply_fill(stop, 1.0, 90.0, 0.0).unwrap_err();
    assert!(err.to_string().contains("waiting for its entry"), "{err}");
    e.apply_fill(entry, 3.0, 100.0, 0.0).unwrap();
    assert!(e.orders()[stop as usize].held);
    e.close_by_broker(entry, Status::Cancelled, "rest cancelled".to_owned())
        .unwrap();
    assert_eq!(e.orders()[entry as usize].status, Status::PartiallyFilled);
    // The legs work for what the entry filled.
    for id in [stop, take] {
        let o = &e.orders()[id as usize];
        assert!(!o.held && o.is_open());
        assert_eq!(o.quantity, 3.0);
    }
    e.step().unwrap();
    e.apply_fill(take, 3.0, 110.0, 0.0).unwrap();
    assert_eq!(e.orders()[take as usize].status, Status::Filled);
    assert_eq!(e.orders()[stop as usize].status, Status::Cancelled);
    assert_eq!(code(&e, stop), Some("oco_cancelled"));
    assert!(e.open_order_ids(None).is_empty());
    assert_eq!(e.ledger().position(0), 0.0);
}

#[test]
fn a_broker_close_records_status_code_and_reason() {
    let mut e = external(config(), flat(3));
    let a = e.submit(buy(2.0)).unwrap();
    let b = e.submit(buy(2.0)).unwrap();
    let c = e.submit(buy(2.0)).unwrap();
    let ts = e.step().unwrap().ts;
    e.apply_fill(a, 1.0, 100.0, 0.0).unwrap();
    e.close_by_broker(a, Status::Expired, "day order expired".to_owned())
        .unwrap();
    e.close_by_broker(b, Status::Rejected, "insufficient buying power".to_owned())
        .unwrap();
    e.close_by_broker(c, broker_close_status("cancelled").unwrap(), "user".to_owned())
        .unwrap();
    let status = |id: u64| e.orders()[id as usize].status;
    assert_eq!(
        [status(a), status(b), status(c)],
        [Status::PartiallyFilled, Status::Rejected, Status::Cancelled]
    );
    for id in [a, b, c] {
        assert_eq!(code(&e, id), Some("broker"));
        assert_eq!(e.orders()[id as usize].ts_closed, Some(ts));
    }
    assert_eq!(e.orders()[a as usize].reason.as_deref(), Some("day order expired"));
    assert!(broker_close_status("filled").is_err());
    assert!(e.close_by_broker(a, Status::Cancelled, String::new()).is_err());
    let d = e.submit(buy(1.0)).unwrap();
    let err = e.close_by_broker(d, Status::Filled, String::new()).unwrap_err();
    assert!(err.to_string().contains("cancelled, rejected or expired"), "{err}");
}

#[test]
fn broker_calls_with_bad_arguments_are_errors_naming_order_and_time_and_change_nothing() {
    let mut e = external(config(), flat(3));
    let id = e.submit(buy(2.0)).unwrap();
    let ts = e.step().unwrap().ts;
    let before = (format!("{:?}", e.orders()), format!("{:?}", e.ledger()));
    for (order, quantity, price, fee, needle) in [
        (9, 1.0, 100.0, 0.0, "order 9 does not exist"),
        (id, 3.0, 100.0, 0.0, "exceed"),
        (id, 0.0, 100.0, 0.0, "quantity"),
        (id, f64::NAN, 100.0, 0.0, "quantity"),
        (id, 1.0, 0.0, 0.0, "price"),
        (id, 1.0, f64::INFINITY, 0.0, "price"),
        (id, 1.0, 100.0, f64::NAN, "fee"),
    ] {
        let err = e.apply_fill(order, quantity, price, fee).unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
        assert_eq!(err.context().ts, Some(ts));
    }
    let err = e.close_by_broker(9, Status::Cancelled, String::new()).unwrap_err();
    assert!(err.to_string().contains("order 9"), "{err}");
    assert_eq!(before, (format!("{:?}", e.orders()), format!("{:?}", e.ledger())));
    e.apply_fill(id, 2.0, 100.0, 0.0).unwrap();
    let err = e.apply_fill(id, 1.0, 100.0, 0.0).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("order {id} is already closed (filled)")),
        "{err}"
    );
    // A simulated engine fills its own orders.
    let mut simulated = Engine::incremental(config()).unwrap();
    let id = simulated.submit(buy(1.0)).unwrap();
    let err = simulated.apply_fill(id, 1.0, 100.0, 0.0).unwrap_err();
    assert!(err.to_string().contains("external"), "{err}");
    assert!(simulated.close_by_broker(id, Status::Cancelled, String::new()).is_err());
}

// --- the property: a broker that does what the simulator did gives the simulated run's ledger ---------------

/// What the simulator did during one call of the simulated run, for the broker of the external run to do.
#[derive(Debug, Clone)]
enum Broker {
    Fill(Fill),
    Close(u64, Status, String),
}

/// The case's settings, waking on bars and not on fills (the broker's fills are reported one step later),
/// without maintenance margin (an external engine places no margin call; runs that still reach negative
/// equity are left out).
fn external_config(case: &Case) -> Config {
    let mut c = case_config(case);
    c.maintenance = 0.0;
    c.wake.bars = true;
    c.wake.fills = false;
    c
}

/// The scripted strategy of `tests_live.rs`, plus brackets and refusals: every fifth decision refuses its
/// order, and every seventh opens a bracket (market entry, stop and take-profit legs).
fn decide_ext(e: &mut Engine, script: &[Action], k: usize) {
    if k % 5 == 4 {
        let _ = e.submit_refused(buy(1.0), format!("risk limit at decision {k}"));
    }
    if k % 7 == 6 {
        let symbol = k % e.n_symbols();
        let entry = OrderRequest { symbol, ..buy(2.0) };
        if let Ok(entry) = e.submit(entry) {
            for kind in [Kind::Stop { stop: 97.0 }, Kind::Limit { limit: 103.0 }] {
                let _ = e.submit(OrderRequest {
                    symbol,
                    oco: Some(k as u64),
                    parent: Some(entry),
                    ..request(Side::Sell, 2.0, kind)
                });
            }
        }
        return;
    }
    decide(e, script, k);
}

/// What one call did: its fills, then the orders it closed (all but the strategy's cancels and the engine's
/// own bookkeeping, which the external run does itself).
fn broker_events(e: &Engine, fills_before: usize, open_before: usize, was_open: &[bool]) -> Vec<Broker> {
    let mut out: Vec<Broker> = e.fills()[fills_before..].iter().copied().map(Broker::Fill).collect();
    for o in e.orders() {
        let before = o.id as usize >= open_before || was_open[o.id as usize];
        if !before || o.is_open() || o.status == Status::Filled {
            continue;
        }
        let status = match o.code {
            Some(Code::Refused(_)) => Status::Rejected,
            Some(Code::DayExpired) => Status::Expired,
            Some(Code::IocUnfilled | Code::FokUnfilled) => Status::Cancelled,
            _ => continue, // the strategy's cancels, risk refusals, OCO and bracket bookkeeping
        };
        out.push(Broker::Close(o.id, status, o.reason.clone().unwrap_or_default()));
    }
    out
}

/// The simulated run, after each call (`on_start`'s decisions, then each step and its decisions) what the
/// simulator did in it, and whether it placed a margin call (seen as it is placed: the strategy may cancel it).
fn simulated(case: &Case) -> (Engine, Vec<Step>, Vec<Vec<Broker>>, bool) {
    let mut e = Engine::new(external_config(case), case.bars.clone(), case.signals.clone()).unwrap();
    let mut calls = Vec::new();
    let mut liquidated = false;
    let mut record = |e: &mut Engine, call: &mut dyn FnMut(&mut Engine) -> Option<Step>| {
        let fills = e.fills().len();
        let open: Vec<bool> = e.orders().iter().map(Order::is_open).collect();
        let step = call(e);
        calls.push(broker_events(e, fills, open.len(), &open));
        liquidated |= e.orders().iter().any(|o| o.code == Some(Code::MarginCall));
        step
    };
    let mut steps = Vec::new();
    record(&mut e, &mut |e| {
        decide_ext(e, &case.script, 0);
        None
    });
    while let Some(step) = record(&mut e, &mut |e| e.step()) {
        steps.push(step);
        let k = steps.len();
        record(&mut e, &mut |e| {
            decide_ext(e, &case.script, k);
            None
        });
    }
    calls.pop(); // the last step() that returned None
    (e, steps, calls, liquidated)
}

fn apply(e: &mut Engine, events: &[Broker]) -> Result<(), TestCaseError> {
    for event in events {
        match event {
            Broker::Fill(f) => {
                prop_assert_eq!(f.side, e.orders()[f.order_id as usize].request.side);
                e.apply_fill(f.order_id, f.quantity, f.price, f.fee).unwrap();
            }
            Broker::Close(id, status, reason) => e.close_by_broker(*id, *status, reason.clone()).unwrap(),
        }
    }
    Ok(())
}

/// The same stream on an external engine whose broker does, after each call, what the simulator did in it.
/// Each step reports exactly the fills applied since the previous one.
fn brokered(case: &Case, calls: &[Vec<Broker>]) -> Result<(Engine, Vec<Step>), TestCaseError> {
    let mut e = Engine::external(external_config(case)).unwrap();
    e.append_bars(case.bars.clone()).unwrap();
    e.append_signal_arrivals(&case.signals).unwrap();
    e.end_of_stream();
    let mut calls = calls.iter();
    decide_ext(&mut e, &case.script, 0);
    apply(&mut e, calls.next().unwrap())?;
    let mut steps = Vec::new();
    let mut reported = 0;
    loop {
        let applied = e.fills().len();
        match e.step_live() {
            Outcome::Step(step) => {
                prop_assert_eq!(step.fills, (reported, applied));
                reported = applied;
                steps.push(step);
                apply(&mut e, calls.next().unwrap())?;
                decide_ext(&mut e, &case.script, steps.len());
                apply(&mut e, calls.next().unwrap())?;
            }
            Outcome::Finished => break,
            Outcome::Waiting => prop_assert!(false, "an ended stream never waits"),
        }
    }
    prop_assert!(calls.next().is_none());
    Ok((e, steps))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_broker_applying_the_simulators_fills_and_closes_gives_the_simulated_ledger(case in arb_case()) {
        let (a, a_steps, calls, liquidated) = simulated(&case);
        prop_assume!(!liquidated);
        let (b, b_steps) = brokered(&case, &calls)?;
        // The steps but their fill ranges (the broker's fills are reported one step later).
        let without_fills = |steps: &[Step]| -> Vec<Step> {
            steps.iter().map(|s| Step { fills: (0, 0), ..s.clone() }).collect()
        };
        prop_assert_eq!(without_fills(&a_steps), without_fills(&b_steps));
        // Debug prints every float exactly (shortest round trip, -0.0 and NaN included).
        prop_assert_eq!(format!("{:?}", a.ledger()), format!("{:?}", b.ledger()));
        prop_assert_eq!(format!("{:?}", a.snapshots()), format!("{:?}", b.snapshots()));
        // Fills: all but the stamp (the bar's ts_event vs the broker's now) and the slippage (the broker's
        // price is the price).
        let fill = |f: &Fill| format!("{:?}", (f.order_id, f.symbol, f.side, f.quantity, f.price, f.fee));
        let a_fills: Vec<_> = a.fills().iter().map(fill).collect();
        prop_assert_eq!(a_fills, b.fills().iter().map(fill).collect::<Vec<_>>());
        // Orders: what was asked and what happened to it, why, and the code (`broker` where the simulator
        // closed it); not the simulator's own state (trailing levels, sessions) nor the stamps.
        let order = |o: &Order| {
            let code = match o.code {
                Some(Code::Refused(_) | Code::DayExpired | Code::IocUnfilled | Code::FokUnfilled) => {
                    Some(Code::Broker)
                }
                code => code,
            };
            let fills = (o.quantity, o.filled, o.filled_value);
            format!("{:?}", (o.id, o.request, o.ts_submitted, fills, o.status, o.held, &o.reason, code))
        };
        let a_orders: Vec<_> = a.orders().iter().map(order).collect();
        prop_assert_eq!(a_orders, b.orders().iter().map(order).collect::<Vec<_>>());
        prop_assert_eq!(a.open_order_ids(None), b.open_order_ids(None));
        // A refused order never fills, in either mode.
        for o in a.orders().iter().chain(b.orders()).filter(|o| o.code == Some(Code::RiskLimit)) {
            prop_assert!(o.status == Status::Rejected && o.filled == 0.0 && o.ts_closed == Some(o.ts_submitted));
        }
        prop_assert_eq!((a.now(), a.dividends().to_bits()), (b.now(), b.dividends().to_bits()));
    }
}

#[test]
fn a_fill_applied_while_the_engine_waits_is_in_the_next_steps_range_and_snapshot() {
    let mut c = config();
    c.wake = Wake {
        bars: true,
        fills: true,
        ..Wake::default()
    };
    let bars = flat(3);
    let mut e = Engine::external(c).unwrap();
    e.append_bars(super::tests_live::rows(&bars, 0, 1)).unwrap();
    e.advance_watermark(DAY).unwrap();
    let id = e.submit(buy(2.0)).unwrap();
    let Outcome::Step(first) = e.step_live() else {
        panic!("a step at the first bar")
    };
    assert_eq!((first.ts, first.fills), (DAY, (0, 0)));
    // The engine waits for data: the first timestamp's snapshot is taken now.
    assert_eq!(e.step_live(), Outcome::Waiting);
    assert_eq!(e.snapshots().cash, vec![10_000.0]);
    e.apply_fill(id, 2.0, 100.0, 0.0).unwrap();
    assert_eq!(e.fills()[0].ts, DAY); // at the engine's clock
    assert_eq!(e.step_live(), Outcome::Waiting); // nothing else moved: no step for the fill alone
    e.append_bars(super::tests_live::rows(&bars, 1, 3)).unwrap();
    e.end_of_stream();
    let Outcome::Step(second) = e.step_live() else {
        panic!("a step at the next bar")
    };
    assert_eq!((second.ts, second.fills), (2 * DAY, (0, 1)));
    e.finish();
    assert_eq!(e.snapshots().cash, vec![10_000.0, 9_800.0, 9_800.0]);
    assert_eq!(e.ledger().position(0), 2.0);
}
