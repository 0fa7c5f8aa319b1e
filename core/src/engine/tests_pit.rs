//! The point-in-time fill rule: an order is matched against a bar only if it reached the market at or before
//! the bar's start (`ts_start`); a close-priced market order (close execution) only needs its bar's stamp.

use super::*;
use crate::matching::costs::{NoCommission, NoSlippage};
use crate::matching::fill::{BothTouched, Trail};
use proptest::prelude::*;

const HOUR: i64 = 3_600_000_000_000;
const DAY: i64 = 24 * HOUR;
const OPEN: i64 = 9 * HOUR + HOUR / 2; // 09:30
const CLOSE: i64 = 16 * HOUR;

/// Daily bars of `n_symbols` symbols stamped at 16:00 of days 1..=n, each starting at 09:30 of its day.
fn daily(prices: &[(f64, f64, f64, f64)], n_symbols: usize, feed_latency: i64) -> BarStream {
    let mut s = BarStream::default();
    for (day, &(open, high, low, close)) in prices.iter().enumerate() {
        for symbol in 0..n_symbols {
            let d = (day as i64 + 1) * DAY;
            s.ts_event.make_mut().push(d + CLOSE);
            s.ts_arrival.make_mut().push(d + CLOSE + feed_latency);
            s.ts_start.make_mut().push(d + OPEN);
            s.symbol.make_mut().push(symbol);
            s.open.make_mut().push(open);
            s.high.make_mut().push(high);
            s.low.make_mut().push(low);
            s.close.make_mut().push(close);
            s.volume.make_mut().push(1e4);
            s.session.make_mut().push(day as i32 + 1);
        }
    }
    s
}

fn config(execution: Execution, latency: i64, n_symbols: usize) -> Config {
    Config {
        init_cash: 1e9,
        account: AccountKind::Cash,
        maintenance: AccountKind::Cash.default_maintenance(),
        execution,
        order_latency: latency,
        participation: None,
        both_touched: BothTouched::StopLoss,
        commission: Box::new(NoCommission),
        slippage: Box::new(NoSlippage),
        multipliers: vec![1.0; n_symbols],
        wake: Wake {
            bars: true,
            timers: true,
            ..Wake::default()
        },
    }
}

fn market(symbol: usize) -> OrderRequest {
    OrderRequest {
        symbol,
        side: Side::Buy,
        quantity: 1.0,
        kind: Kind::Market,
        tif: Tif::Gtc,
        oco: None,
        parent: None,
    }
}

#[test]
fn a_market_order_decided_at_ten_on_daily_close_bars_fills_at_the_next_days_open_not_that_mornings() {
    let prices = [
        (10.0, 11.0, 9.0, 10.5),
        (20.0, 21.0, 19.0, 20.5),
        (30.0, 31.0, 29.0, 30.5),
    ];
    let mut e = Engine::new(config(Execution::NextOpen, 0, 1), daily(&prices, 1, 0), Vec::new()).unwrap();
    e.schedule(2 * DAY + 10 * HOUR, None).unwrap(); // day 2, 10:00: after day 2's 09:30 open
    let step = e.step().unwrap();
    assert_eq!(step.ts, DAY + CLOSE); // day 1's bar
    let step = e.step().unwrap();
    assert_eq!(step.timers.len(), 1);
    e.submit(market(0)).unwrap();
    e.finish();
    assert_eq!((e.fills()[0].ts, e.fills()[0].price), (3 * DAY + CLOSE, 30.0));
}

#[test]
fn an_order_that_arrives_before_the_open_fills_at_that_open() {
    let prices = [(10.0, 11.0, 9.0, 10.5), (20.0, 21.0, 19.0, 20.5)];
    let mut e = Engine::new(config(Execution::NextOpen, 0, 1), daily(&prices, 1, 0), Vec::new()).unwrap();
    e.schedule(2 * DAY + 9 * HOUR, None).unwrap(); // day 2, 09:00
    e.step().unwrap();
    e.step().unwrap();
    e.submit(market(0)).unwrap();
    e.finish();
    assert_eq!((e.fills()[0].ts, e.fills()[0].price), (2 * DAY + CLOSE, 20.0));
}

#[test]
fn bars_that_start_after_they_end_are_refused() {
    let mut bars = daily(&[(10.0, 11.0, 9.0, 10.5)], 1, 0);
    bars.ts_start[0] = bars.ts_event[0] + 1;
    assert!(matches!(
        Engine::new(config(Execution::NextOpen, 0, 1), bars, Vec::new()),
        Err(CoreError::Data { .. })
    ));
}

// ------------------------------------------------------------------------------------------ property

fn arb_kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Market),
        (90.0f64..110.0).prop_map(|limit| Kind::Limit { limit }),
        (90.0f64..110.0).prop_map(|stop| Kind::Stop { stop }),
        (90.0f64..110.0, 90.0f64..110.0).prop_map(|(stop, limit)| Kind::StopLimit { stop, limit }),
        (0.01f64..0.1).prop_map(|p| Kind::TrailingStop {
            trail: Trail::Percent(p)
        }),
    ]
}

/// (timer time within the run in hours, symbol, buy, kind, tif, bracket legs)
type Decision = (i64, usize, bool, Kind, u8, bool);

fn arb_decisions() -> impl Strategy<Value = Vec<Decision>> {
    prop::collection::vec(
        (
            0i64..(12 * 24),
            0usize..2,
            any::<bool>(),
            arb_kind(),
            0u8..4,
            any::<bool>(),
        ),
        0..12,
    )
}

fn arb_prices() -> impl Strategy<Value = Vec<(f64, f64, f64, f64)>> {
    prop::collection::vec((95.0f64..105.0, 0.0f64..6.0, 0.0f64..6.0, -1.0f64..1.0), 2..12).prop_map(|raw| {
        raw.into_iter()
            .map(|(open, up, down, c)| {
                let close = if c >= 0.0 { open + c * up } else { open + c * down };
                (open, open + up, open - down, close)
            })
            .collect()
    })
}

/// Orders placed at timers (any hour of any day) and at bar arrivals; returns the engine and its bars.
fn simulate(
    prices: &[(f64, f64, f64, f64)],
    decisions: &[Decision],
    close: bool,
    latency: i64,
    feed_latency: i64,
) -> (Engine, BarStream) {
    let execution = if close { Execution::Close } else { Execution::NextOpen };
    let bars = daily(prices, 2, feed_latency);
    let mut e = Engine::new(config(execution, latency, 2), bars.clone(), Vec::new()).unwrap();
    let mut timers = HashMap::new();
    for (i, d) in decisions.iter().enumerate() {
        if let Ok(id) = e.schedule(DAY + d.0 * HOUR + 1, None) {
            timers.insert(id, i);
        }
    }
    let mut arrivals = 0usize;
    while let Some(step) = e.step() {
        let mut due: Vec<usize> = step.timers.iter().filter_map(|t| timers.get(t).copied()).collect();
        if step.bars.1 > step.bars.0 && !decisions.is_empty() {
            arrivals += 1;
            due.push(arrivals % decisions.len());
        }
        for i in due {
            let (_, symbol, buy, kind, tif, bracket) = decisions[i];
            let side = if buy { Side::Buy } else { Side::Sell };
            let tif = [Tif::Gtc, Tif::Day, Tif::Ioc, Tif::Fok][tif as usize];
            let request = OrderRequest {
                side,
                kind,
                tif,
                ..market(symbol)
            };
            let Ok(id) = e.submit(request) else { continue };
            if bracket {
                let exit = if buy { Side::Sell } else { Side::Buy };
                for kind in [Kind::Stop { stop: 95.0 }, Kind::Limit { limit: 105.0 }] {
                    let (stop, limit) = match exit {
                        Side::Sell => (95.0, 105.0),
                        Side::Buy => (105.0, 95.0),
                    };
                    let kind = match kind {
                        Kind::Stop { .. } => Kind::Stop { stop },
                        _ => Kind::Limit { limit },
                    };
                    let leg = OrderRequest {
                        side: exit,
                        kind,
                        tif: Tif::Gtc,
                        oco: Some(id),
                        parent: Some(id),
                        ..market(symbol)
                    };
                    e.submit(leg).unwrap();
                }
            }
        }
    }
    (e, bars)
}

proptest! {
    #[test]
    fn every_fill_comes_from_a_bar_that_started_after_the_order_reached_the_market(
        prices in arb_prices(),
        decisions in arb_decisions(),
        close in any::<bool>(),
        latency in prop_oneof![Just(0i64), 1i64..(30 * HOUR)],
        feed_latency in prop_oneof![Just(0i64), 1i64..(20 * HOUR)],
    ) {
        let (e, bars) = simulate(&prices, &decisions, close, latency, feed_latency);
        for f in e.fills() {
            let o = &e.orders()[f.order_id as usize];
            let row = (0..bars.len()).find(|&r| bars.symbol[r] == f.symbol && bars.ts_event[r] == f.ts).unwrap();
            let close_priced = close && o.request.kind == Kind::Market;
            let bound = if close_priced { bars.ts_event[row] } else { bars.ts_start[row] };
            prop_assert!(
                o.active_ts <= bound,
                "order {} ({:?}) reached the market at {} but filled in the bar ({}, {}]",
                o.id, o.request.kind, o.active_ts, bars.ts_start[row], bars.ts_event[row]
            );
        }
    }
}

#[test]
fn repeating_timers_that_cannot_be_meant_are_refused_naming_every() {
    let prices = [(10.0, 11.0, 9.0, 10.5); 3];
    let mut e = Engine::new(config(Execution::NextOpen, 0, 1), daily(&prices, 1, 0), Vec::new()).unwrap();
    for period in [1, 999_999, MIN_TIMER_PERIOD, 10_000_000] {
        // below 1 ms; or at least 1 ms but firing more than MAX_TIMER_FIRINGS times over three days
        match e.schedule(2 * DAY, Some(period)) {
            Err(CoreError::Config { context, .. }) => assert_eq!(context.argument.as_deref(), Some("every")),
            other => panic!("period {period} ns: {other:?}"),
        }
    }
    let hourly = e.schedule(2 * DAY, Some(HOUR)).unwrap();
    e.step().unwrap(); // day 1's bar
    assert_eq!(e.step().unwrap().timers, vec![hourly]);
    // 30 ms until the last bar (day 3, 16:00) is ~5.8M firings: allowed
    assert!(e.schedule(2 * DAY + 1, Some(30_000_000)).is_ok());
}
