//! Weights mode and the call order of a shared account: a hand example and the invariants of the step.

use std::sync::Arc;

use proptest::prelude::*;

use super::kernel::{Execution, Market, Sequence, Settings};
use super::programs::tests::settings;
use super::sinks::RecordSink;
use super::source::MatrixSource;
use super::sweep::run_groups;
use crate::matching::costs::{FixedCommission, PercentCommission, PercentSlippage, SumCommission};
use crate::portfolio::{Costs, Reject};

/// A weights-mode run of one group (all symbols share the cash) at the close.
#[derive(Debug, Clone)]
struct Case {
    n_bars: usize,
    close: Vec<f64>,
    weights: Vec<f64>,
    rebalance: Vec<bool>,
    leverage: Vec<f64>,
}

fn base(order: Sequence, costs: Costs, leverage: f64) -> Settings {
    Settings {
        execution: Execution::Close,
        costs,
        init_cash: 1000.0,
        order,
        leverage,
        ..settings()
    }
}

fn vbt_costs(fees: f64, fixed: f64, slippage: f64) -> Costs {
    let parts: Vec<Box<dyn crate::matching::costs::CommissionModel>> = vec![
        Box::new(PercentCommission::new(fees).unwrap()),
        Box::new(FixedCommission::new(fixed).unwrap()),
    ];
    Costs::new(
        Arc::new(SumCommission::new(parts)),
        Arc::new(PercentSlippage::new(slippage).unwrap()),
        1e-8,
    )
    .unwrap()
}

impl Case {
    fn run(&self, s: &Settings) -> RecordSink {
        let n_symbols = self.close.len() / self.n_bars;
        let market = Market {
            n_bars: self.n_bars,
            n_symbols,
            open: &self.close,
            high: &self.close,
            low: &self.close,
            close: &self.close,
        };
        let source = MatrixSource {
            n_bars: self.n_bars,
            weights: &self.weights,
            rebalance: &self.rebalance,
            leverage: &self.leverage,
            ..Default::default()
        };
        run_groups(&market, &source, s, true, None).remove(0)
    }

    /// The same case with its symbols in the order `perm` (new symbol i = old symbol perm[i]).
    fn permuted(&self, perm: &[usize]) -> Self {
        let take = |a: &Vec<f64>| -> Vec<f64> {
            if a.is_empty() {
                return Vec::new();
            }
            perm.iter()
                .flat_map(|&s| a[s * self.n_bars..(s + 1) * self.n_bars].to_vec())
                .collect()
        };
        Case {
            n_bars: self.n_bars,
            close: take(&self.close),
            weights: take(&self.weights),
            rebalance: Vec::new(),
            leverage: take(&self.leverage),
        }
    }
}

#[test]
fn a_hand_example_rebalances_sells_first_and_drifts_between_rebalances() {
    let nan = f64::NAN;
    // symbol-major: A's 3 bars, then B's
    let case = Case {
        n_bars: 3,
        close: vec![10.0, 12.0, 12.0, 20.0, 18.0, 18.0],
        weights: vec![0.5, nan, 0.25, 0.5, nan, 0.75],
        rebalance: Vec::new(),
        leverage: Vec::new(),
    };
    for order in [Sequence::Symbol, Sequence::Auto, Sequence::ProRata] {
        let got = case.run(&base(order, Costs::free(1e-8), nan));
        // bar 0: 500 each: 50 A, 25 B; bar 1 drifts: 600 + 450 = 1050; bar 2: A 262.5 / 12, B 787.5 / 18
        assert_eq!(got.equity, vec![1000.0, 1050.0, 1050.0], "{order:?}");
        assert_eq!(got.positions[..4], [50.0, 25.0, 50.0, 25.0]);
        assert!((got.positions[4] - 262.5 / 12.0).abs() < 1e-12);
        assert!((got.positions[5] - 787.5 / 18.0).abs() < 1e-12);
        let last: Vec<(i64, i8)> = (0..got.bar.len())
            .filter(|&i| got.bar[i] == 2)
            .map(|i| (got.col[i], got.side[i]))
            .collect();
        assert_eq!(last, vec![(0, -1), (1, 1)], "the sale of A, then the purchase of B");
    }
}

#[test]
fn an_account_without_equity_rejects_every_target_as_data() {
    let nan = f64::NAN;
    // all in A with a short of B, then B triples: equity goes negative
    let case = Case {
        n_bars: 2,
        close: vec![10.0, 10.0, 10.0, 40.0],
        weights: vec![1.0, 0.5, -1.0, 0.5],
        rebalance: Vec::new(),
        leverage: Vec::new(),
    };
    let got = case.run(&base(Sequence::Auto, Costs::free(1e-8), nan));
    let rejected: Vec<u8> = (0..got.bar.len())
        .filter(|&i| got.bar[i] == 1)
        .map(|i| got.status[i])
        .collect();
    assert!(got.equity[1] < 0.0, "{:?}", got.equity);
    assert_eq!(rejected, vec![Reject::NoEquity as u8; 2]);
}

#[test]
fn pro_rata_splits_the_cash_of_all_in_entries_equally_in_signal_mode() {
    let close = vec![10.0, 10.0, 20.0, 20.0, 40.0, 40.0];
    let market = Market {
        n_bars: 2,
        n_symbols: 3,
        open: &close,
        high: &close,
        low: &close,
        close: &close,
    };
    let entries = [true, false, true, false, true, false];
    let source = MatrixSource {
        n_bars: 2,
        entries: &entries,
        ..Default::default()
    };
    let s = |order| base(order, Costs::free(1e-8), f64::NAN);
    let spent = |sink: &RecordSink| -> Vec<f64> { (0..3).map(|i| sink.size[i] * sink.price[i]).collect() };
    let pro_rata = run_groups(&market, &source, &s(Sequence::ProRata), true, None).remove(0);
    for v in spent(&pro_rata) {
        assert!((v - 1000.0 / 3.0).abs() < 1e-9, "{v}");
    }
    let symbol = run_groups(&market, &source, &s(Sequence::Symbol), true, None).remove(0);
    assert_eq!(
        spent(&symbol)[0],
        1000.0,
        "symbol order: the first symbol takes all the cash"
    );
    assert_eq!(symbol.status[1..], [Reject::InsufficientCash as u8; 2]);
}

/// Prices `(n_symbols, n_bars)`, weights with NaN holes, a lot size.
fn cases() -> impl Strategy<Value = (Case, usize)> {
    (2usize..5, 3usize..10).prop_flat_map(|(n_symbols, n_bars)| {
        let cells = n_symbols * n_bars;
        (
            prop::collection::vec(5.0f64..50.0, cells),
            prop::collection::vec(prop::option::weighted(0.7, -0.5f64..0.8), cells),
            Just(n_bars),
            Just(n_symbols),
        )
            .prop_map(|(close, weights, n_bars, n_symbols)| {
                let weights = weights.into_iter().map(|w| w.unwrap_or(f64::NAN)).collect();
                let case = Case {
                    n_bars,
                    close,
                    weights,
                    rebalance: Vec::new(),
                    leverage: Vec::new(),
                };
                (case, n_symbols)
            })
    })
}

proptest! {
    /// Without costs and with targets the cash can pay for, every targeted position after a rebalance is
    /// `target * value / price`, where value is the equity at the bar's prices before its orders.
    #[test]
    fn targeted_positions_equal_target_times_value_over_price((case, n) in cases()) {
        let mut case = case;
        // long-only weights summing to at most 1 on the bars that rebalance every symbol (the first symbol's
        // weight says which): no purchase is cut
        for b in 0..case.n_bars {
            let skip = case.weights[b].is_nan();
            let total: f64 = (0..n).map(|s| case.weights[s * case.n_bars + b].abs()).filter(|w| !w.is_nan()).sum();
            for s in 0..n {
                let w = &mut case.weights[s * case.n_bars + b];
                *w = if skip { f64::NAN } else if w.is_nan() { 0.0 } else { w.abs() / total.max(1.0) };
            }
        }
        let got = case.run(&base(Sequence::Auto, Costs::free(1e-8), f64::NAN));
        let mut value = 1000.0;
        for b in 0..case.n_bars {
            if b > 0 {
                // equity at this bar's prices before its orders: cash + positions of the bar before
                let cash = got.cash[b - 1];
                value = cash + (0..n).map(|s| got.positions[(b - 1) * n + s] * case.close[s * case.n_bars + b]).sum::<f64>();
            }
            for s in 0..n {
                let w = case.weights[s * case.n_bars + b];
                if !w.is_nan() {
                    let want = w * value / case.close[s * case.n_bars + b];
                    let have = got.positions[b * n + s];
                    prop_assert!((have - want).abs() <= 1e-9 * want.abs().max(1.0), "bar {} symbol {}: {} vs {}", b, s, have, want);
                }
            }
        }
    }

    /// Sales come before purchases within a bar, for `Auto` and `ProRata`.
    #[test]
    fn sales_come_before_purchases((case, _n) in cases(), pro_rata in any::<bool>(), fees in 0.0f64..0.01) {
        let order = if pro_rata { Sequence::ProRata } else { Sequence::Auto };
        let got = case.run(&base(order, vbt_costs(fees, 0.0, 0.0), f64::NAN));
        // (an account without equity rejects its targets in column order: only fills are sequenced)
        let fills: Vec<usize> = (0..got.bar.len()).filter(|&i| got.status[i] == 0).collect();
        for pair in fills.windows(2) {
            let (j, i) = (pair[0], pair[1]);
            if got.bar[i] == got.bar[j] {
                prop_assert!(!(got.side[j] == 1 && got.side[i] == -1), "a sale after a purchase at bar {}", got.bar[i]);
            }
        }
    }

    /// Pro rata favours no column by its index: permuting the symbols permutes the results.
    #[test]
    fn pro_rata_is_symmetric((case, n) in cases(), fees in 0.0f64..0.01, fixed in 0.0f64..2.0, slip in 0.0f64..0.01, seed in any::<u64>()) {
        let mut perm: Vec<usize> = (0..n).collect();
        let mut x = seed | 1;
        for i in (1..n).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            perm.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let s = base(Sequence::ProRata, vbt_costs(fees, fixed, slip), f64::NAN);
        let a = case.run(&s);
        let b = case.permuted(&perm).run(&s);
        for bar in 0..case.n_bars {
            prop_assert!((a.equity[bar] - b.equity[bar]).abs() <= 1e-9 * a.equity[bar].abs().max(1.0));
            for (i, &old) in perm.iter().enumerate() {
                let (p, q) = (a.positions[bar * n + old], b.positions[bar * n + i]);
                prop_assert!((p - q).abs() <= 1e-9 * p.abs().max(1.0), "bar {} symbol {}: {} vs {}", bar, old, p, q);
            }
        }
    }

    /// With a leverage cap, gross exposure at the fill prices after a rebalance without costs stays within
    /// the cap (per bar: the least per-bar leverage of the group, else the setting).
    #[test]
    fn the_leverage_cap_holds((case, n) in cases(), cap in 0.2f64..2.0, per_bar in any::<bool>()) {
        let mut case = case;
        // every symbol targeted on every bar, so the cap bounds the whole book; long only, so an order the
        // cash cuts only lowers the exposure (a cut cover would leave a short the targets did not ask for)
        for w in case.weights.iter_mut() {
            *w = if w.is_nan() { 0.1 } else { w.abs() };
        }
        if per_bar {
            case.leverage = vec![f64::NAN; case.close.len()];
            for b in 0..case.n_bars {
                case.leverage[b] = cap; // symbol 0 carries the cap; the others are NaN
            }
        }
        let setting = if per_bar { 5.0 } else { cap };
        let got = case.run(&base(Sequence::Auto, Costs::free(1e-8), setting));
        for b in 0..case.n_bars {
            let gross: f64 = (0..n).map(|s| (got.positions[b * n + s] * case.close[s * case.n_bars + b]).abs()).sum();
            if got.equity[b] > 0.0 {
                prop_assert!(gross / got.equity[b] <= cap + 1e-9, "bar {}: {} > {}", b, gross / got.equity[b], cap);
            }
        }
    }

    /// With a lot size every filled size is a whole number of lots.
    #[test]
    fn fills_are_whole_lots((case, _n) in cases(), lot in prop::sample::select(vec![0.5, 1.0, 5.0]), fees in 0.0f64..0.01) {
        let costs = vbt_costs(fees, 0.0, 0.0).with_lot_size(lot).unwrap();
        let got = case.run(&base(Sequence::ProRata, costs, f64::NAN));
        for (i, &size) in got.size.iter().enumerate() {
            if got.status[i] == 0 {
                let lots = size / lot;
                prop_assert!((lots - lots.round()).abs() < 1e-9 && size > 0.0, "{} is not a multiple of {}", size, lot);
            }
        }
    }
}

proptest! {
    /// In signal mode too, pro rata favours no column by its index: permuting the symbols permutes the
    /// results (all-in entries, exits and reversals on random bars, with costs).
    #[test]
    fn pro_rata_signals_are_symmetric(
        n in 2usize..5,
        n_bars in 3usize..12,
        seed in any::<u64>(),
        fees in 0.0f64..0.01,
    ) {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let close: Vec<f64> = (0..n * n_bars).map(|_| 10.0 + (next() % 1000) as f64 / 25.0).collect();
        let flags = |next: &mut dyn FnMut() -> u64| -> Vec<bool> { (0..n * n_bars).map(|_| next() % 3 == 0).collect() };
        let (entries, exits, shorts) = (flags(&mut next), flags(&mut next), flags(&mut next));
        let perm: Vec<usize> = (0..n).rev().collect();
        let take = |a: &[f64]| -> Vec<f64> { perm.iter().flat_map(|&s| a[s * n_bars..(s + 1) * n_bars].to_vec()).collect() };
        let take_b = |a: &[bool]| -> Vec<bool> { perm.iter().flat_map(|&s| a[s * n_bars..(s + 1) * n_bars].to_vec()).collect() };
        let s = base(Sequence::ProRata, vbt_costs(fees, 0.0, 0.0), f64::NAN);
        let run = |close: &[f64], entries: &[bool], exits: &[bool], shorts: &[bool]| {
            let market = Market { n_bars, n_symbols: n, open: close, high: close, low: close, close };
            let source = MatrixSource {
                n_bars,
                entries,
                exits,
                short_entries: shorts,
                ..Default::default()
            };
            run_groups(&market, &source, &s, true, None).remove(0)
        };
        let a = run(&close, &entries, &exits, &shorts);
        let b = run(&take(&close), &take_b(&entries), &take_b(&exits), &take_b(&shorts));
        for bar in 0..n_bars {
            prop_assert!((a.equity[bar] - b.equity[bar]).abs() <= 1e-9 * a.equity[bar].abs().max(1.0));
            for (i, &old) in perm.iter().enumerate() {
                let (p, q) = (a.positions[bar * n + old], b.positions[bar * n + i]);
                prop_assert!((p - q).abs() <= 1e-9 * p.abs().max(1.0), "bar {} symbol {}: {} vs {}", bar, old, p, q);
            }
        }
    }
}
