//! The kernel's shortcuts change nothing: skipping the bars that cannot trade ([`SignalSource::next_signal`])
//! gives the records of stepping every bar, and a run fed its signals a block of rows at a time
//! ([`GroupRun::advance`] over [`OffsetSource`] windows, as the compiled sweep feeds it) gives the records of
//! one run over whole columns.

use proptest::prelude::*;

use super::kernel::{simulate_group, Execution, GroupRun, Market, Sequence, Settings};
use super::programs::tests::settings;
use super::rules::Signals;
use super::sinks::RecordSink;
use super::source::{MatrixSource, OffsetSource, SignalSource};
use crate::portfolio::SizeType;

/// A source that forwards everything but [`SignalSource::next_signal`], left at its default ("maybe this
/// row"): the kernel then steps every bar it does not skip flat.
struct EveryBar<'a>(MatrixSource<'a>);

impl SignalSource for EveryBar<'_> {
    fn signals(&self, col: usize, bar: usize) -> Signals {
        self.0.signals(col, bar)
    }
    fn size(&self, col: usize, bar: usize) -> Option<f64> {
        self.0.size(col, bar)
    }
    fn sl_stop(&self, col: usize, bar: usize) -> Option<f64> {
        self.0.sl_stop(col, bar)
    }
    fn tp_stop(&self, col: usize, bar: usize) -> Option<f64> {
        self.0.tp_stop(col, bar)
    }
    fn has_stops(&self) -> bool {
        self.0.has_stops()
    }
    fn next_entry(&self, col: usize, from: usize) -> Option<usize> {
        self.0.next_entry(col, from)
    }
    fn has_weights(&self) -> bool {
        self.0.has_weights()
    }
    fn weights(&self, col: usize, bar: usize) -> f64 {
        self.0.weights(col, bar)
    }
    fn rebalance(&self, col: usize, bar: usize) -> bool {
        self.0.rebalance(col, bar)
    }
    fn leverage(&self, col: usize, bar: usize) -> f64 {
        self.0.leverage(col, bar)
    }
}

/// Random prices (some missing) and sparse signals for `n_symbols` columns over `n_bars`.
#[derive(Debug, Clone)]
struct Case {
    n_bars: usize,
    n_symbols: usize,
    close: Vec<f64>,
    open: Vec<f64>,
    flags: [Vec<bool>; 4],
    size: Vec<f64>,
}

fn case(n_bars: usize, n_symbols: usize, seed: u64, sizes: bool) -> Case {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let cells = n_bars * n_symbols;
    let mut price = |_| {
        let r = next();
        if r % 13 == 0 {
            f64::NAN
        } else {
            80.0 + (r % 4000) as f64 / 100.0
        }
    };
    let close: Vec<f64> = (0..cells).map(&mut price).collect();
    let open: Vec<f64> = (0..cells).map(&mut price).collect();
    let flags = [5, 5, 9, 9].map(|every| (0..cells).map(|_| next() % every == 0).collect());
    let size = if sizes {
        (0..cells)
            .map(|_| {
                if next() % 7 == 0 {
                    f64::NAN
                } else {
                    1.0 + (next() % 5) as f64
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    Case {
        n_bars,
        n_symbols,
        close,
        open,
        flags,
        size,
    }
}

impl Case {
    fn market(&self) -> Market<'_> {
        Market {
            n_bars: self.n_bars,
            n_symbols: self.n_symbols,
            open: &self.open,
            high: &self.close,
            low: &self.close,
            close: &self.close,
        }
    }

    /// The signals of every column, rows `rows` only (column-major, `rows.len()` rows per column).
    fn source(&self, rows: std::ops::Range<usize>) -> (Vec<Vec<bool>>, Vec<f64>) {
        let cut = |a: &[bool]| -> Vec<bool> {
            (0..self.n_symbols)
                .flat_map(|c| a[c * self.n_bars + rows.start..c * self.n_bars + rows.end].to_vec())
                .collect()
        };
        let size = if self.size.is_empty() {
            Vec::new()
        } else {
            (0..self.n_symbols)
                .flat_map(|c| self.size[c * self.n_bars + rows.start..c * self.n_bars + rows.end].to_vec())
                .collect()
        };
        (self.flags.iter().map(|a| cut(a)).collect(), size)
    }
}

fn matrix<'a>(n_bars: usize, flags: &'a [Vec<bool>], size: &'a [f64]) -> MatrixSource<'a> {
    MatrixSource {
        n_bars,
        entries: &flags[0],
        exits: &flags[1],
        short_entries: &flags[2],
        short_exits: &flags[3],
        size,
        ..Default::default()
    }
}

fn variant(execution: bool, accumulate: bool, order: u8, stops: bool) -> Settings {
    let mut s = settings();
    s.execution = if execution {
        Execution::Close
    } else {
        Execution::NextOpen
    };
    s.rules.accumulate = accumulate;
    s.order = [Sequence::Symbol, Sequence::Auto, Sequence::ProRata][order as usize % 3];
    if stops {
        s.sl_stop = 0.05;
    }
    if accumulate {
        // by value: an order's units come from the valuation price the held bars keep up to date
        s.size = 50.0;
        s.size_type = SizeType::Value;
    }
    s
}

/// The records as text (rejected orders carry NaN prices, which `==` would call unequal).
fn text(sink: &RecordSink) -> String {
    format!("{sink:?}")
}

proptest! {
    /// Skipping the bars whose signal rows cannot trade the positions held changes no order and no bar.
    #[test]
    fn skipping_held_bars_equals_stepping_each(
        n_bars in 1usize..40,
        n_symbols in 1usize..4,
        seed in any::<u64>(),
        (execution, accumulate, order, stops, sizes) in (any::<bool>(), any::<bool>(), 0u8..3, any::<bool>(), any::<bool>()),
    ) {
        let c = case(n_bars, n_symbols, seed, sizes);
        let s = variant(execution, accumulate, order, stops);
        let (flags, size) = c.source(0..n_bars);
        let (mut fast, mut slow) = (RecordSink::default(), RecordSink::default());
        simulate_group(&c.market(), 0..n_symbols, &matrix(n_bars, &flags, &size), &s, &mut fast);
        simulate_group(&c.market(), 0..n_symbols, &EveryBar(matrix(n_bars, &flags, &size)), &s, &mut slow);
        prop_assert_eq!(text(&fast), text(&slow));
    }

    /// A run advanced block by block, each block's source holding only the rows its bars read (one row
    /// earlier at the next open), equals one run over the whole columns.
    #[test]
    fn a_run_in_blocks_equals_one_run(
        n_bars in 1usize..40,
        n_symbols in 1usize..4,
        seed in any::<u64>(),
        block in 1usize..9,
        (execution, accumulate, order, stops, sizes) in (any::<bool>(), any::<bool>(), 0u8..3, any::<bool>(), any::<bool>()),
    ) {
        let c = case(n_bars, n_symbols, seed, sizes);
        let s = variant(execution, accumulate, order, stops);
        let market = c.market();
        let (flags, size) = c.source(0..n_bars);
        let mut whole = RecordSink::default();
        simulate_group(&market, 0..n_symbols, &matrix(n_bars, &flags, &size), &s, &mut whole);
        let shift = usize::from(s.execution == Execution::NextOpen);
        let mut blocks = RecordSink::default();
        let mut run: Option<GroupRun> = None;
        let mut start = 0;
        while start < n_bars {
            let end = (start + block).min(n_bars);
            let first_row = start.saturating_sub(shift);
            let (flags, size) = c.source(first_row..end);
            let source = OffsetSource { inner: matrix(end - first_row, &flags, &size), base: 0, first_row };
            run.get_or_insert_with(|| GroupRun::new(&market, 0..n_symbols, &s, &source))
                .advance(&market, &source, &s, &mut blocks, end);
            start = end;
        }
        prop_assert_eq!(text(&blocks), text(&whole));
    }
}
