//! The engine fed incrementally (`live.rs`): every refusal, waiting at the watermark, the clock before the
//! run, and the property at the heart of it: a replay of a stream in random chunks with random watermarks
//! gives exactly the batch run's steps, orders, fills, snapshots and ledger.

use super::tests::{config, stream, DAY};
use super::*;
use crate::matching::costs::PercentCommission;
use crate::matching::fill::Trail;
use proptest::prelude::*;

pub(super) const HOUR: i64 = 3_600_000_000_000;

/// Rows `lo..hi` of `bars` as a stream of their own.
pub(super) fn rows(bars: &BarStream, lo: usize, hi: usize) -> BarStream {
    fn cut<T: Copy + 'static>(c: &Column<T>, lo: usize, hi: usize) -> Column<T> {
        if c.is_empty() {
            Column::default()
        } else {
            c[lo..hi].to_vec().into()
        }
    }
    BarStream {
        ts_event: cut(&bars.ts_event, lo, hi),
        ts_arrival: cut(&bars.ts_arrival, lo, hi),
        ts_start: cut(&bars.ts_start, lo, hi),
        symbol: cut(&bars.symbol, lo, hi),
        open: cut(&bars.open, lo, hi),
        high: cut(&bars.high, lo, hi),
        low: cut(&bars.low, lo, hi),
        close: cut(&bars.close, lo, hi),
        volume: cut(&bars.volume, lo, hi),
        session: cut(&bars.session, lo, hi),
        split: cut(&bars.split, lo, hi),
        dividend: cut(&bars.dividend, lo, hi),
    }
}

const FLAT: (f64, f64, f64, f64, f64) = (100.0, 101.0, 99.0, 100.0, 1e6);

fn live(wake: Wake) -> Engine {
    let mut c = config();
    c.wake = wake;
    Engine::incremental(c).unwrap()
}

fn data_error(result: CoreResult<()>, argument: &str, ts: Option<i64>) {
    match result {
        Err(CoreError::Data { context, message }) => {
            assert_eq!(context.argument.as_deref(), Some(argument), "{message}");
            assert_eq!(context.ts, ts, "{message}");
        }
        other => panic!("expected a DataError naming {argument}, got {other:?}"),
    }
}

// ------------------------------------------------------------------------------------------ refusals

#[test]
fn data_at_or_before_the_watermark_is_refused_naming_the_argument_and_timestamp() {
    let bars = stream(&[FLAT, FLAT, FLAT]);
    let mut e = live(Wake::default());
    e.append_bars(rows(&bars, 0, 1)).unwrap();
    e.advance_watermark(2 * DAY).unwrap();
    // The second bar arrives at 2 DAY: at the watermark, declared complete.
    data_error(e.append_bars(rows(&bars, 1, 2)), "bars", Some(2 * DAY));
    data_error(e.append_signal_arrivals(&[2 * DAY]), "signals", Some(2 * DAY));
    data_error(e.append_signal_arrivals(&[DAY]), "signals", Some(DAY));
    // After it: accepted.
    e.append_bars(rows(&bars, 2, 3)).unwrap();
    e.append_signal_arrivals(&[2 * DAY + 1]).unwrap();
}

#[test]
fn data_must_arrive_in_order_within_a_chunk_and_after_what_is_held() {
    let bars = stream(&[FLAT, FLAT, FLAT]);
    let mut e = live(Wake::default());
    e.append_bars(rows(&bars, 2, 3)).unwrap();
    data_error(e.append_bars(rows(&bars, 0, 2)), "bars", Some(DAY));
    let mut unordered = rows(&bars, 0, 3);
    unordered.ts_arrival.swap(0, 2);
    data_error(live(Wake::default()).append_bars(unordered), "bars", Some(2 * DAY));
    e.append_signal_arrivals(&[5 * DAY]).unwrap();
    data_error(e.append_signal_arrivals(&[4 * DAY]), "signals", Some(4 * DAY));
    data_error(
        e.append_signal_arrivals(&[6 * DAY, 5 * DAY + 1]),
        "signals",
        Some(5 * DAY + 1),
    );
    // Equal arrivals are in order (the bars of one timestamp may come in several chunks).
    e.append_signal_arrivals(&[5 * DAY, 5 * DAY]).unwrap();
    e.append_bars(rows(&bars, 2, 3)).unwrap();
}

#[test]
fn a_chunk_is_checked_like_a_stream() {
    let bars = stream(&[FLAT, FLAT]);
    let mut bad = rows(&bars, 0, 2);
    bad.ts_start[1] = bad.ts_event[1] + 1;
    data_error(live(Wake::default()).append_bars(bad), "bars", Some(2 * DAY));
    let mut outside = rows(&bars, 0, 2);
    outside.symbol[0] = 3;
    data_error(live(Wake::default()).append_bars(outside), "bars", Some(DAY));
    let mut short = rows(&bars, 0, 2);
    short.close.make_mut().pop();
    data_error(live(Wake::default()).append_bars(short), "bars", None);
}

#[test]
fn chunks_carry_the_corporate_action_columns_the_bars_held_carry() {
    let bars = stream(&[FLAT, FLAT, FLAT]);
    let mut with_split = rows(&bars, 1, 2);
    with_split.split = vec![f64::NAN].into();
    let mut e = live(Wake::default());
    e.append_bars(rows(&bars, 0, 1)).unwrap();
    data_error(e.append_bars(with_split.clone()), "split", Some(2 * DAY));
    let mut e = live(Wake::default());
    e.append_bars(with_split).unwrap();
    data_error(e.append_bars(rows(&bars, 2, 3)), "split", Some(3 * DAY));
}

#[test]
fn the_watermark_never_goes_back_and_nothing_is_appended_after_the_end() {
    let bars = stream(&[FLAT, FLAT]);
    let mut e = live(Wake::default());
    e.advance_watermark(DAY / 2).unwrap();
    e.advance_watermark(DAY / 2).unwrap();
    data_error(e.advance_watermark(DAY / 2 - 1), "watermark", Some(DAY / 2 - 1));
    e.append_bars(rows(&bars, 0, 1)).unwrap();
    e.end_of_stream();
    assert_eq!(e.watermark(), i64::MAX);
    data_error(e.append_bars(rows(&bars, 1, 2)), "bars", None);
    data_error(e.append_signal_arrivals(&[3 * DAY]), "signals", None);
    data_error(e.advance_watermark(3 * DAY), "watermark", None);
    // A batch engine is an ended stream.
    let mut batch = Engine::new(config(), stream(&[FLAT]), Vec::new()).unwrap();
    assert!(batch.is_ended());
    data_error(batch.append_bars(rows(&bars, 1, 2)), "bars", None);
}

// ------------------------------------------------------------------------------------------ waiting

#[test]
fn the_engine_waits_for_the_watermark_and_changes_nothing_meanwhile() {
    let bars = stream(&[FLAT, FLAT, FLAT]);
    let mut e = live(Wake {
        bars: true,
        ..Wake::default()
    });
    assert_eq!(e.step_live(), Outcome::Waiting, "no data");
    e.append_bars(rows(&bars, 0, 2)).unwrap();
    assert_eq!(e.step_live(), Outcome::Waiting, "data held, none declared complete");
    assert_eq!(
        e.now(),
        DAY - DAY - 1,
        "the clock still before the first bar's interval"
    );
    e.advance_watermark(DAY).unwrap();
    let Outcome::Step(first) = e.step_live() else {
        panic!("the first bar is complete")
    };
    assert_eq!((first.ts, first.bars), (DAY, (0, 1)));
    assert_eq!(
        e.step_live(),
        Outcome::Waiting,
        "the second bar is held but beyond the watermark"
    );
    assert_eq!((e.now(), e.snapshots().ts.clone()), (DAY, vec![DAY]));
    e.advance_watermark(5 * DAY).unwrap();
    assert!(matches!(e.step_live(), Outcome::Step(Step { ts, .. }) if ts == 2 * DAY));
    // All held data is taken; the stream goes on: waiting (a later bar may still arrive after 5 DAY).
    assert_eq!(e.step_live(), Outcome::Waiting);
    e.append_bars(rows(&bars, 2, 3)).unwrap_err(); // 3 DAY is at or before the watermark: declared complete
    e.end_of_stream();
    assert_eq!(e.step_live(), Outcome::Finished);
    assert!(e.is_finished());
    assert_eq!(e.snapshots().ts, vec![DAY, 2 * DAY]);
}

#[test]
fn a_timer_at_or_before_the_watermark_fires_and_one_after_it_waits() {
    let bars = stream(&[FLAT, FLAT, FLAT]);
    let mut e = live(Wake {
        timers: true,
        ..Wake::default()
    });
    e.append_bars(rows(&bars, 0, 3)).unwrap();
    let early = e.schedule(DAY + 2 * HOUR, None).unwrap();
    let late = e.schedule(2 * DAY + 2 * HOUR, None).unwrap();
    e.advance_watermark(DAY + 2 * HOUR).unwrap();
    let Outcome::Step(step) = e.step_live() else {
        panic!("the early timer is at the watermark")
    };
    assert_eq!(
        (step.ts, step.timers.clone(), step.bars),
        (DAY + 2 * HOUR, vec![early], (1, 1))
    );
    e.advance_watermark(2 * DAY + HOUR).unwrap();
    assert_eq!(e.step_live(), Outcome::Waiting, "the late timer is after the watermark");
    assert_eq!(
        e.now(),
        2 * DAY,
        "the bar before the watermark was taken (it wakes nobody)"
    );
    e.advance_watermark(2 * DAY + 2 * HOUR).unwrap();
    let Outcome::Step(step) = e.step_live() else {
        panic!("the late timer is at the watermark now")
    };
    assert_eq!(
        (step.ts, step.timers, step.bars),
        (2 * DAY + 2 * HOUR, vec![late], (2, 2))
    );
}

#[test]
fn a_timer_after_the_last_data_held_waits_for_data_or_the_end_as_in_batch() {
    // In batch a timer beyond the last bar never fires: an incremental engine cannot fire it before it
    // knows whether data follows.
    let bars = stream(&[FLAT, FLAT]);
    for more_data in [false, true] {
        let mut e = live(Wake {
            timers: true,
            ..Wake::default()
        });
        e.append_bars(rows(&bars, 0, 1)).unwrap();
        let id = e.schedule(DAY + HOUR, None).unwrap();
        e.advance_watermark(DAY + 3 * HOUR).unwrap();
        assert_eq!(e.step_live(), Outcome::Waiting);
        assert_eq!(e.now(), DAY, "the bar was taken, the timer was not");
        if more_data {
            e.append_bars(rows(&bars, 1, 2)).unwrap();
            let Outcome::Step(step) = e.step_live() else {
                panic!("data follows the timer: it fires")
            };
            assert_eq!((step.ts, step.timers), (DAY + HOUR, vec![id]));
        } else {
            e.end_of_stream();
            assert_eq!(e.step_live(), Outcome::Finished);
        }
    }
}

// ------------------------------------------------------------------------------------------ the clock

#[test]
fn before_the_run_the_clock_follows_the_data_held_then_stays() {
    let bars = stream(&[FLAT, FLAT]);
    let mut e = live(Wake::default());
    assert_eq!(e.now(), i64::MIN, "no data: as a batch engine over no data");
    e.append_signal_arrivals(&[DAY / 2]).unwrap();
    assert_eq!(e.now(), DAY / 2 - 1);
    e.append_bars(rows(&bars, 0, 1)).unwrap();
    assert_eq!(e.now(), -1, "the first bar's interval starts at 0");
    let batch = Engine::new(config(), rows(&bars, 0, 1), vec![DAY / 2]).unwrap();
    assert_eq!(e.now(), batch.now());
    // An order placed now (an `on_start`) starts the run: later appends do not move the clock.
    let mut started = live(Wake::default());
    started.append_bars(rows(&bars, 1, 2)).unwrap();
    assert_eq!(started.now(), DAY - 1);
    started
        .submit(OrderRequest {
            symbol: 0,
            side: Side::Buy,
            quantity: 1.0,
            kind: Kind::Market,
            tif: Tif::Gtc,
            oco: None,
            parent: None,
        })
        .unwrap();
    started.append_signal_arrivals(&[2 * DAY]).unwrap();
    let mut late = rows(&bars, 1, 2);
    late.ts_arrival[0] = 2 * DAY + 1;
    late.ts_start[0] = 0;
    started.append_bars(late).unwrap();
    assert_eq!(started.now(), DAY - 1);
    // Before any data, an `on_start` acts at i64::MIN, as a batch engine over no data does.
    let mut empty = live(Wake::default());
    empty.schedule(DAY + HOUR, None).unwrap();
    empty.append_bars(rows(&bars, 0, 2)).unwrap();
    assert_eq!(empty.now(), i64::MIN);
}

#[test]
fn a_batch_engine_steps_through_step_live_and_never_waits() {
    let mut e = Engine::new(config(), stream(&[FLAT, FLAT]), Vec::new()).unwrap();
    assert!(matches!(e.step_live(), Outcome::Step(_)));
    assert!(matches!(e.step_live(), Outcome::Step(_)));
    assert_eq!(e.step_live(), Outcome::Finished);
    assert_eq!(e.step(), None);
}

// ------------------------------------------------------------------------------------------ property

/// One bar row: (arrival gap in hours, symbol, hours its ts_event lags its arrival, duration in hours,
/// open, up, down, close position, volume, corporate action draw).
type RawBar = (i64, usize, i64, i64, f64, f64, f64, f64, f64, u8);

/// What the scripted strategy does at a step: (action, symbol, buy, quantity, kind, tif, hours).
pub(super) type Action = (u8, usize, bool, f64, Kind, u8, i64);

#[derive(Debug, Clone)]
pub(super) struct Case {
    pub(super) bars: BarStream,
    pub(super) signals: Vec<i64>,
    pub(super) n_symbols: usize,
    pub(super) close: bool,
    pub(super) latency: i64,
    pub(super) participation: Option<f64>,
    pub(super) wake: (bool, bool, bool, bool),
    pub(super) script: Vec<Action>,
    /// Per chunk: (items, watermark choice, heartbeat choice).
    pub(super) chunks: Vec<(usize, u8, u8)>,
}

fn arb_kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Market),
        (95.0f64..105.0).prop_map(|limit| Kind::Limit { limit }),
        (95.0f64..105.0).prop_map(|stop| Kind::Stop { stop }),
        (95.0f64..105.0, 95.0f64..105.0).prop_map(|(stop, limit)| Kind::StopLimit { stop, limit }),
        (0.01f64..0.05).prop_map(|p| Kind::TrailingStop {
            trail: Trail::Percent(p)
        }),
    ]
}

pub(super) fn arb_case() -> impl Strategy<Value = Case> {
    let raw_bar = (
        prop_oneof![Just(0i64), 1i64..4],
        0usize..3,
        prop_oneof![3 => Just(0i64), 1 => 1i64..3],
        1i64..5,
        95.0f64..105.0,
        0.0f64..4.0,
        0.0f64..4.0,
        -1.0f64..1.0,
        0.0f64..300.0,
        0u8..12,
    );
    (
        1usize..4,
        prop::collection::vec(raw_bar, 1..30),
        prop::collection::vec(0i64..80, 0..8),
        any::<bool>(),
        (any::<bool>(), prop_oneof![Just(0i64), 1i64..(2 * HOUR)]),
        prop::option::of(0.1f64..1.0),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        prop::collection::vec(
            (
                0u8..5,
                0usize..3,
                any::<bool>(),
                1.0f64..20.0,
                arb_kind(),
                0u8..4,
                1i64..12,
            ),
            1..10,
        ),
        prop::collection::vec((1usize..6, 0u8..4, 0u8..3), 1..12),
    )
        .prop_map(
            |(n_symbols, raw, signal_half_hours, corporate, (close, latency), participation, wake, script, chunks)| {
                stream_case(
                    n_symbols,
                    &raw,
                    &signal_half_hours,
                    corporate,
                    close,
                    latency,
                    participation,
                    wake,
                    script,
                    chunks,
                )
            },
        )
}

#[allow(clippy::too_many_arguments)]
fn stream_case(
    n_symbols: usize,
    raw: &[RawBar],
    signal_half_hours: &[i64],
    corporate: bool,
    close: bool,
    latency: i64,
    participation: Option<f64>,
    wake: (bool, bool, bool, bool),
    script: Vec<Action>,
    chunks: Vec<(usize, u8, u8)>,
) -> Case {
    let mut bars = BarStream::default();
    let a0 = 10 * HOUR;
    // The first bar lags nothing and covers 4 hours: its interval starts first (the clock's start is in the
    // first chunk, see `live.rs`), and every later bar starts no earlier.
    let t0 = a0 - 4 * HOUR;
    let mut arrival = a0;
    for (i, &(gap, symbol, lag, hours, open, up, down, c, volume, action)) in raw.iter().enumerate() {
        if i > 0 {
            arrival += gap * HOUR;
        }
        let (lag, hours) = if i == 0 { (0, 4) } else { (lag, hours) };
        let ts_event = arrival - lag * HOUR;
        let close_price = if c >= 0.0 { open + c * up } else { open + c * down };
        bars.ts_arrival.make_mut().push(arrival);
        bars.ts_event.make_mut().push(ts_event);
        bars.ts_start.make_mut().push((ts_event - hours * HOUR).max(t0));
        bars.symbol.make_mut().push(symbol % n_symbols);
        bars.open.make_mut().push(open);
        bars.high.make_mut().push(open + up);
        bars.low.make_mut().push(open - down);
        bars.close.make_mut().push(close_price);
        bars.volume.make_mut().push(volume);
        bars.session.make_mut().push((ts_event / (6 * HOUR)) as i32);
        if corporate {
            bars.split.make_mut().push(match action {
                0 => 2.0,
                1 => 0.5,
                2 => 1.0,
                _ => f64::NAN,
            });
            bars.dividend.make_mut().push(match action {
                3 => 0.5,
                4 => 0.0,
                _ => f64::NAN,
            });
        }
    }
    let mut signals: Vec<i64> = signal_half_hours.iter().map(|&h| a0 + h * HOUR / 2).collect();
    signals.sort_unstable();
    Case {
        bars,
        signals,
        n_symbols,
        close,
        latency,
        participation,
        wake,
        script,
        chunks,
    }
}

pub(super) fn case_config(case: &Case) -> Config {
    let mut c = config();
    c.init_cash = 5_000.0;
    c.multipliers = vec![1.0; case.n_symbols];
    c.execution = if case.close {
        Execution::Close
    } else {
        Execution::NextOpen
    };
    c.order_latency = case.latency;
    c.participation = case.participation;
    c.commission = Box::new(PercentCommission::new(0.001).unwrap());
    let (bars, signals, fills, timers) = case.wake;
    c.wake = Wake {
        bars,
        signals,
        fills,
        timers,
    };
    c
}

/// The scripted strategy: at its `k`-th decision (0 = `on_start`), one action of the script, a function of
/// `k` and the engine's state only (so two engines in the same state decide the same).
pub(super) fn decide(e: &mut Engine, script: &[Action], k: usize) {
    let (action, symbol, buy, quantity, kind, tif, hours) = script[k % script.len()];
    let symbol = symbol % e.n_symbols();
    match action {
        0 | 1 => {
            let side = if buy { Side::Buy } else { Side::Sell };
            let tif = [Tif::Gtc, Tif::Day, Tif::Ioc, Tif::Fok][tif as usize];
            let _ = e.submit(OrderRequest {
                symbol,
                side,
                quantity,
                kind,
                tif,
                oco: None,
                parent: None,
            });
        }
        2 => {
            if let Some(&id) = e.open_order_ids(None).first() {
                e.cancel(id);
            }
        }
        3 => {
            let every = buy.then_some(hours * HOUR / 2);
            e.schedule(e.now() + hours * HOUR / 3, every).unwrap();
        }
        _ => {
            // Cancel the newest timer (repeating timers would otherwise run to the end).
            if e.next_timer > 0 {
                e.cancel_timer(e.next_timer - 1);
            }
        }
    }
}

fn batch(case: &Case) -> (Engine, Vec<Step>) {
    let mut e = Engine::new(case_config(case), case.bars.clone(), case.signals.clone()).unwrap();
    decide(&mut e, &case.script, 0);
    let mut steps = Vec::new();
    while let Some(step) = e.step() {
        steps.push(step);
        decide(&mut e, &case.script, steps.len());
    }
    (e, steps)
}

/// The same run fed in the case's chunks (of the arrival-ordered bars and signals), each followed by a
/// watermark at or after its last arrival and before the next chunk's first (or none), and sometimes a
/// heartbeat (a later watermark without data); `on_start` after the first chunk.
fn replay(case: &Case) -> Result<(Engine, Vec<Step>), TestCaseError> {
    let bars = &case.bars;
    // (arrival, is a signal), bars first at equal arrivals (a stable sort keeps each stream's order)
    let mut items: Vec<(i64, bool)> = bars.ts_arrival.iter().map(|&a| (a, false)).collect();
    items.extend(case.signals.iter().map(|&a| (a, true)));
    items.sort_by_key(|&(a, signal)| (a, signal));
    let mut e = Engine::incremental(case_config(case)).unwrap();
    let mut steps: Vec<Step> = Vec::new();
    let (mut item, mut bar, mut signal) = (0, 0, 0);
    let mut chunk = 0;
    while item < items.len() {
        let (size, mark, beat) = case.chunks[chunk % case.chunks.len()];
        chunk += 1;
        let hi = (item + size).min(items.len());
        let n_bars = items[item..hi].iter().filter(|i| !i.1).count();
        let n_signals = hi - item - n_bars;
        e.append_bars(rows(bars, bar, bar + n_bars)).unwrap();
        e.append_signal_arrivals(&case.signals[signal..signal + n_signals])
            .unwrap();
        if steps.is_empty() && item == 0 {
            decide(&mut e, &case.script, 0);
        }
        (item, bar, signal) = (hi, bar + n_bars, signal + n_signals);
        let last = items[hi - 1].0;
        let limit = items.get(hi).map_or(last + 30 * HOUR, |next| next.0 - 1);
        for choice in [mark, beat] {
            let w = e.watermark();
            let target = match choice {
                0 => w,
                1 => limit,
                2 => last - 1,
                _ => last + (limit - last) / 2,
            };
            if target > w && target <= limit {
                e.advance_watermark(target).unwrap();
            }
            drive(&mut e, &case.script, &mut steps)?;
        }
    }
    e.end_of_stream();
    drive(&mut e, &case.script, &mut steps)?;
    prop_assert_eq!(e.step_live(), Outcome::Finished);
    Ok((e, steps))
}

/// Step until the engine waits or finishes, deciding after every step; no step reports data beyond the
/// watermark.
fn drive(e: &mut Engine, script: &[Action], steps: &mut Vec<Step>) -> Result<(), TestCaseError> {
    loop {
        match e.step_live() {
            Outcome::Step(step) => {
                let w = e.watermark();
                prop_assert!(step.ts <= w, "step at {} beyond the watermark {}", step.ts, w);
                let (lo, hi) = step.bars;
                prop_assert!(e.bars.ts_arrival[lo..hi].iter().all(|&a| a <= w));
                let (lo, hi) = step.signals;
                prop_assert!(e.signal_arrivals[lo..hi].iter().all(|&a| a <= w));
                steps.push(step);
                decide(e, script, steps.len());
            }
            Outcome::Waiting | Outcome::Finished => return Ok(()),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_replay_in_chunks_gives_the_batch_runs_steps_orders_fills_and_snapshots(case in arb_case()) {
        let (a, a_steps) = batch(&case);
        let (b, b_steps) = replay(&case)?;
        prop_assert_eq!(&a_steps, &b_steps);
        // Debug prints every float exactly (shortest round trip, -0.0 and NaN included).
        prop_assert_eq!(format!("{:?}", a.orders()), format!("{:?}", b.orders()));
        prop_assert_eq!(format!("{:?}", a.fills()), format!("{:?}", b.fills()));
        prop_assert_eq!(format!("{:?}", a.snapshots()), format!("{:?}", b.snapshots()));
        prop_assert_eq!(format!("{:?}", a.ledger()), format!("{:?}", b.ledger()));
        prop_assert_eq!((a.now(), a.dividends().to_bits(), a.is_finished()), (b.now(), b.dividends().to_bits(), b.is_finished()));
    }
}
