//! The vectorized mode's entry points over many groups, scheduled by [`super::parallel`].
//!
//! Layout: a combination has `n_symbols` columns (column = combination * n_symbols + symbol); with cash
//! sharing they form one group, else each column is its own group. [`sweep`] gives one-pass statistics per
//! combination (see [`super::sinks::combination_stats`]), [`run_groups`] every order of one combination, group by group.
//! Both return in combination / group order, equal to a serial run. A sweep reports to a [`Progress`] its
//! caller may read and cancel from another thread while the sweep runs.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::kernel::{simulate_group, Market, Settings};
use super::moments::Blocks;
use super::parallel::{flat_map_ordered, map_ordered};
use super::programs::{KEYS, N_KEYS};
use super::sinks::{tile_stats, CurveBuffers, EquityStats, RecordSink, StatsSink};
use super::source::SignalSource;
use crate::error::{Context, CoreError, CoreResult};
use crate::portfolio::MAX_INIT_CASH;

/// A sweep's progress, shared with its caller: the combinations simulated so far, and a request to stop.
///
/// [`sweep`] adds one to `done` after each combination and checks `cancel` before each; once cancelled, the
/// combinations not yet started are skipped and the sweep returns [`CoreError::Cancelled`]. Relaxed atomics:
/// the count is a display, not a synchronisation point (the sweep's results are handed back by its return).
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicU64,
    cancel: AtomicBool,
}

impl Progress {
    /// Combinations simulated so far (over every sweep this counter was given).
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Ask the sweep to stop at its next combination.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether [`Progress::cancel`] was called.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// The portfolio curves a sweep worker keeps for a tile of combinations (see [`sweep`]).
const TILE_BYTES: usize = 4 << 20;
/// At most this many combinations per tile: enough to reuse a symbol's inputs from the cache, few enough
/// that a small sweep still splits into tasks for every thread.
const MAX_TILE: usize = 16;

/// Columns per group: every symbol with cash sharing, else one.
pub fn group_width(n_symbols: usize, cash_sharing: bool) -> usize {
    if cash_sharing {
        n_symbols.max(1)
    } else {
        1
    }
}

/// Statistics rows of `n_combos` combinations over `blocks.n_bars()` bars (with per-block sums over
/// `blocks`); `simulate(scratch, cols, sink)` simulates the group of columns `cols` into `sink`, with a
/// scratch value each worker makes once by `init`; counted in `progress` when given (no atomics touched
/// without one), and [`CoreError::Cancelled`] when it was cancelled before the last combination finished.
/// Without cash sharing over several symbols, a worker takes a tile of up to [`MAX_TILE`] combinations and
/// simulates it symbol by symbol ([`tile_stats`]: the same rows as one combination at a time; progress then
/// counts a tile's combinations when the tile ends).
#[allow(clippy::too_many_arguments)]
pub fn sweep<S, I, F>(
    settings: &Settings,
    blocks: &Blocks,
    n_symbols: usize,
    cash_sharing: bool,
    n_combos: usize,
    init: I,
    simulate: F,
    progress: Option<&Progress>,
) -> CoreResult<Vec<EquityStats>>
where
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, Range<usize>, &mut StatsSink) + Sync + Send,
{
    let n_symbols = n_symbols.max(1);
    let width = group_width(n_symbols, cash_sharing);
    let per_combo = n_symbols / width;
    // several groups per combination: tiles of combinations whose portfolio curves fit in TILE_BYTES, run
    // group-major (see `tile_stats`)
    let tile = if per_combo > 1 {
        (TILE_BYTES / (8 * blocks.n_bars().max(1))).clamp(1, MAX_TILE)
    } else {
        1
    };
    let stats = flat_map_ordered(
        n_combos.div_ceil(tile),
        || (init(), CurveBuffers::default()),
        |(scratch, buffers), t| {
            if progress.is_some_and(Progress::cancelled) {
                return Vec::new();
            }
            let first = t * tile;
            let n = tile.min(n_combos - first);
            let rows = tile_stats(settings.init_cash, blocks, per_combo, n, buffers, |c, k, sink| {
                let g = (first + c) * per_combo + k;
                simulate(scratch, g * width..(g + 1) * width, sink);
            });
            if let Some(progress) = progress {
                progress.done.fetch_add(n as u64, Ordering::Relaxed);
            }
            rows
        },
    );
    if progress.is_some_and(Progress::cancelled) {
        return Err(CoreError::Cancelled);
    }
    Ok(stats)
}

/// [`sweep`] over signals already laid out in `source` (`n_combos * market.n_symbols` columns), with
/// `n_blocks` CSCV blocks (see [`Blocks::new`]), counted in `progress` when given.
pub fn sweep_signals<S: SignalSource + Sync>(
    market: &Market,
    source: &S,
    settings: &Settings,
    n_combos: usize,
    cash_sharing: bool,
    n_blocks: usize,
    progress: Option<&Progress>,
) -> CoreResult<Vec<EquityStats>> {
    let blocks = Blocks::new(market.n_bars, n_blocks)?;
    sweep(
        settings,
        &blocks,
        market.n_symbols,
        cash_sharing,
        n_combos,
        || (),
        |_, cols, sink| simulate_group(market, cols, source, settings, sink),
        progress,
    )
}

/// Every order of one combination (`market.n_symbols` columns), one [`RecordSink`] per group in order;
/// only group `only` when given (the groups are independent, so its records are those of a full run).
pub fn run_groups<S: SignalSource + Sync>(
    market: &Market,
    source: &S,
    settings: &Settings,
    cash_sharing: bool,
    only: Option<usize>,
) -> Vec<RecordSink> {
    let width = group_width(market.n_symbols, cash_sharing);
    let groups: Vec<usize> = match only {
        Some(g) => vec![g],
        None => (0..market.n_symbols / width).collect(),
    };
    map_ordered(
        groups.len(),
        || (),
        |_, i| {
            let g = groups[i];
            let mut sink = RecordSink::default();
            simulate_group(market, g * width..(g + 1) * width, source, settings, &mut sink);
            sink
        },
    )
}

/// `(n_symbols, n_bars, n_cols)` of OHLC arrays of shape `(n_symbols, n_bars)` and signal arrays of shape
/// `(n_cols, n_bars)` in [`KEYS`] order (an absent signal has 0 rows; none present means one column per
/// symbol), after checking every shape against the close's.
pub fn check_layout(prices: [[usize; 2]; 4], signals: [[usize; 2]; N_KEYS]) -> CoreResult<(usize, usize, usize)> {
    let [n_symbols, n_bars] = prices[3];
    for (name, shape) in ["open", "high", "low"].iter().zip(&prices) {
        if *shape != prices[3] {
            return Err(CoreError::config(
                format!("{name} has shape {shape:?}, close {:?}", prices[3]),
                Context::argument(name),
            ));
        }
    }
    let mut n_cols = None;
    for (name, shape) in KEYS.iter().zip(signals) {
        if shape[0] == 0 {
            continue;
        }
        if shape[1] != n_bars || n_cols.is_some_and(|n| n != shape[0]) || shape[0] % n_symbols.max(1) != 0 {
            return Err(CoreError::config(
                format!("{name} has shape {shape:?}; expected (n_combinations * {n_symbols}, {n_bars})"),
                Context::argument(name),
            ));
        }
        n_cols = Some(shape[0]);
    }
    Ok((n_symbols, n_bars, n_cols.unwrap_or(n_symbols)))
}

impl Settings {
    /// The settings, if their values are in range (`init_cash` in `(0, MAX_INIT_CASH]`).
    pub fn validated(self) -> CoreResult<Self> {
        if !(self.init_cash > 0.0 && self.init_cash <= MAX_INIT_CASH) {
            return Err(CoreError::config(
                format!("init_cash must be > 0 and <= {MAX_INIT_CASH:e}, got {}", self.init_cash),
                Context::argument("init_cash"),
            ));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectorized::programs::tests::settings;
    use crate::vectorized::MatrixSource;
    use proptest::prelude::*;

    proptest! {
        /// A sweep is each combination simulated alone, in combination order; a detailed run's groups are
        /// each group simulated alone, in group order.
        #[test]
        fn parallel_entry_points_equal_serial_runs(
            n_combos in 1usize..5,
            n_symbols in 1usize..4,
            cash_sharing in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let n_bars = 12;
            let mut x = seed | 1;
            let mut next = move || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            let close: Vec<f64> = (0..n_symbols * n_bars).map(|_| 90.0 + (next() % 2000) as f64 / 100.0).collect();
            let n_cols = n_combos * n_symbols;
            let entries: Vec<bool> = (0..n_cols * n_bars).map(|_| next() % 4 == 0).collect();
            let exits: Vec<bool> = (0..n_cols * n_bars).map(|_| next() % 4 == 0).collect();
            let market = Market { n_bars, n_symbols, open: &close, high: &close, low: &close, close: &close };
            let source = |from: usize, to: usize| MatrixSource {
                n_bars,
                entries: &entries[from * n_bars..to * n_bars],
                exits: &exits[from * n_bars..to * n_bars],
                ..Default::default()
            };
            let counted = Progress::default();
            let got = sweep_signals(&market, &source(0, n_cols), &settings(), n_combos, cash_sharing, 4, Some(&counted)).unwrap();
            let mut want = Vec::new();
            for c in 0..n_combos {
                let alone = source(c * n_symbols, (c + 1) * n_symbols);
                want.extend(sweep_signals(&market, &alone, &settings(), 1, cash_sharing, 4, None).unwrap());
            }
            prop_assert_eq!(got, want);
            prop_assert_eq!(counted.done(), n_combos as u64);

            let all = run_groups(&market, &source(0, n_symbols), &settings(), cash_sharing, None);
            prop_assert_eq!(all.len(), n_symbols / group_width(n_symbols, cash_sharing));
            for (g, sink) in all.iter().enumerate() {
                let only = run_groups(&market, &source(0, n_symbols), &settings(), cash_sharing, Some(g));
                // compared as text: rejected orders carry NaN prices
                prop_assert_eq!(format!("{:?}", only[0]), format!("{sink:?}"));
            }
        }
    }

    #[test]
    fn a_cancelled_sweep_starts_no_combination_and_says_so() {
        let close = [100.0, 101.0, 99.0, 102.0];
        let entries = [true, false, false, false, true, false, false, false];
        let market = Market {
            n_bars: 4,
            n_symbols: 1,
            open: &close,
            high: &close,
            low: &close,
            close: &close,
        };
        let source = MatrixSource {
            n_bars: 4,
            entries: &entries,
            ..Default::default()
        };
        let progress = Progress::default();
        assert_eq!(
            sweep_signals(&market, &source, &settings(), 2, true, 2, Some(&progress))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(progress.done(), 2);
        progress.cancel();
        let cancelled = sweep_signals(&market, &source, &settings(), 2, true, 2, Some(&progress));
        assert_eq!(cancelled, Err(CoreError::Cancelled));
        assert_eq!(progress.done(), 2, "no combination ran after the cancel");
    }

    #[test]
    fn layouts_are_checked_and_name_the_input() {
        let p = [[2, 5]; 4];
        let absent = [0, 0];
        let signals = |entries: [usize; 2]| {
            let mut all = [absent; N_KEYS];
            all[0] = entries;
            all
        };
        assert_eq!(check_layout(p, signals([6, 5])).unwrap(), (2, 5, 6));
        assert_eq!(check_layout(p, signals(absent)).unwrap(), (2, 5, 2));
        let err = check_layout(p, signals([3, 5])).unwrap_err();
        assert_eq!(err.context().argument.as_deref(), Some("entries"));
        let err = check_layout([[2, 5], [2, 4], [2, 5], [2, 5]], signals(absent)).unwrap_err();
        assert_eq!(err.context().argument.as_deref(), Some("high"));
    }
}
