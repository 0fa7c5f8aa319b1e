//! Where the kernel reads a column's signals from.

use super::rules::Signals;

/// Per-column, per-bar signals. `size`, `sl_stop` and `tp_stop` return `None` when the source has no
/// per-bar values (the setting applies); a per-bar NaN means "no order" / "no stop", as in vectorbt.
///
/// A source with `weights` is in weights mode (see [`super::weights`]): `weights` is the target fraction of
/// the group's equity (NaN: leave the column alone), `rebalance` whether a target is traded at that row
/// (true when absent), `leverage` the row's cap on gross exposure (NaN: the setting).
pub trait SignalSource: Sync {
    fn signals(&self, col: usize, bar: usize) -> Signals;
    fn size(&self, col: usize, bar: usize) -> Option<f64>;
    fn sl_stop(&self, col: usize, bar: usize) -> Option<f64>;
    fn tp_stop(&self, col: usize, bar: usize) -> Option<f64>;
    /// Whether any per-bar stop levels are provided (so stops must be tracked even without settings).
    fn has_stops(&self) -> bool;
    /// The first signal row at or after `from` that may open a position in `col` from flat, if any: a long
    /// or short entry, or (weights mode) a target on a rebalance row.
    fn next_entry(&self, col: usize, from: usize) -> Option<usize>;
    /// The first signal row at or after `from` (a row the source holds) where any of the flags set in
    /// `wanted` is set in `col`, if any. The default answers `from`: "maybe this one" is always safe, since
    /// the kernel only uses the answer to skip rows that cannot trade.
    fn next_signal(&self, col: usize, from: usize, wanted: Signals) -> Option<usize> {
        let _ = (col, wanted);
        Some(from)
    }
    /// Whether the source is in weights mode.
    fn has_weights(&self) -> bool;
    fn weights(&self, col: usize, bar: usize) -> f64;
    fn rebalance(&self, col: usize, bar: usize) -> bool;
    fn leverage(&self, col: usize, bar: usize) -> f64;
}

/// Signals as column-major matrices: `entries[col * n_bars + bar]`. An empty slice means "never" for
/// booleans and "use the setting" for numbers (the default: no signal at all).
#[derive(Default)]
pub struct MatrixSource<'a> {
    pub n_bars: usize,
    pub entries: &'a [bool],
    pub exits: &'a [bool],
    pub short_entries: &'a [bool],
    pub short_exits: &'a [bool],
    pub size: &'a [f64],
    pub sl_stop: &'a [f64],
    pub tp_stop: &'a [f64],
    pub weights: &'a [f64],
    /// Absent: every row rebalances.
    pub rebalance: &'a [bool],
    pub leverage: &'a [f64],
}

fn flag(a: &[bool], idx: usize) -> bool {
    !a.is_empty() && a[idx]
}

fn value(a: &[f64], idx: usize) -> Option<f64> {
    (!a.is_empty()).then(|| a[idx])
}

impl SignalSource for MatrixSource<'_> {
    #[inline]
    fn signals(&self, col: usize, bar: usize) -> Signals {
        let idx = col * self.n_bars + bar;
        Signals {
            long_entry: flag(self.entries, idx),
            long_exit: flag(self.exits, idx),
            short_entry: flag(self.short_entries, idx),
            short_exit: flag(self.short_exits, idx),
        }
    }

    #[inline]
    fn size(&self, col: usize, bar: usize) -> Option<f64> {
        value(self.size, col * self.n_bars + bar)
    }

    #[inline]
    fn sl_stop(&self, col: usize, bar: usize) -> Option<f64> {
        value(self.sl_stop, col * self.n_bars + bar)
    }

    #[inline]
    fn tp_stop(&self, col: usize, bar: usize) -> Option<f64> {
        value(self.tp_stop, col * self.n_bars + bar)
    }

    fn has_stops(&self) -> bool {
        !self.sl_stop.is_empty() || !self.tp_stop.is_empty()
    }

    fn next_entry(&self, col: usize, from: usize) -> Option<usize> {
        let row = col * self.n_bars;
        let first = |a: &[bool]| {
            if a.is_empty() {
                None
            } else {
                a[row + from..row + self.n_bars].iter().position(|&x| x)
            }
        };
        let entry = match (first(self.entries), first(self.short_entries)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if self.weights.is_empty() {
            return entry.map(|i| from + i);
        }
        let rows = row + from..row + self.n_bars;
        let target = self.weights[rows.clone()]
            .iter()
            .enumerate()
            .position(|(i, w)| !w.is_nan() && (self.rebalance.is_empty() || self.rebalance[rows.start + i]));
        entry.into_iter().chain(target).min().map(|i| from + i)
    }

    fn next_signal(&self, col: usize, from: usize, wanted: Signals) -> Option<usize> {
        let row = col * self.n_bars;
        let mut first = self.n_bars; // the earliest row found so far: each later scan stops there
        for (want, a) in [
            (wanted.long_entry, self.entries),
            (wanted.long_exit, self.exits),
            (wanted.short_entry, self.short_entries),
            (wanted.short_exit, self.short_exits),
        ] {
            if want && !a.is_empty() && from < first {
                if let Some(i) = a[row + from..row + first].iter().position(|&x| x) {
                    first = from + i;
                }
            }
        }
        (first < self.n_bars).then_some(first)
    }

    fn has_weights(&self) -> bool {
        !self.weights.is_empty()
    }

    #[inline]
    fn weights(&self, col: usize, bar: usize) -> f64 {
        value(self.weights, col * self.n_bars + bar).unwrap_or(f64::NAN)
    }

    #[inline]
    fn rebalance(&self, col: usize, bar: usize) -> bool {
        self.rebalance.is_empty() || self.rebalance[col * self.n_bars + bar]
    }

    #[inline]
    fn leverage(&self, col: usize, bar: usize) -> f64 {
        value(self.leverage, col * self.n_bars + bar).unwrap_or(f64::NAN)
    }
}

/// A source whose column `base + k`, row `first_row + r` is the inner source's column `k`, row `r`: lets a
/// group simulate from buffers holding only its own columns and a block of rows. Rows before `first_row` are
/// never asked for (a caller's contract).
pub struct OffsetSource<S> {
    pub inner: S,
    pub base: usize,
    pub first_row: usize,
}

impl<S: SignalSource> SignalSource for OffsetSource<S> {
    #[inline]
    fn signals(&self, col: usize, bar: usize) -> Signals {
        self.inner.signals(col - self.base, bar - self.first_row)
    }

    #[inline]
    fn size(&self, col: usize, bar: usize) -> Option<f64> {
        self.inner.size(col - self.base, bar - self.first_row)
    }

    #[inline]
    fn sl_stop(&self, col: usize, bar: usize) -> Option<f64> {
        self.inner.sl_stop(col - self.base, bar - self.first_row)
    }

    #[inline]
    fn tp_stop(&self, col: usize, bar: usize) -> Option<f64> {
        self.inner.tp_stop(col - self.base, bar - self.first_row)
    }

    fn has_stops(&self) -> bool {
        self.inner.has_stops()
    }

    fn next_entry(&self, col: usize, from: usize) -> Option<usize> {
        self.inner
            .next_entry(col - self.base, from - self.first_row)
            .map(|row| row + self.first_row)
    }

    fn next_signal(&self, col: usize, from: usize, wanted: Signals) -> Option<usize> {
        self.inner
            .next_signal(col - self.base, from - self.first_row, wanted)
            .map(|row| row + self.first_row)
    }

    fn has_weights(&self) -> bool {
        self.inner.has_weights()
    }

    #[inline]
    fn weights(&self, col: usize, bar: usize) -> f64 {
        self.inner.weights(col - self.base, bar - self.first_row)
    }

    #[inline]
    fn rebalance(&self, col: usize, bar: usize) -> bool {
        self.inner.rebalance(col - self.base, bar - self.first_row)
    }

    #[inline]
    fn leverage(&self, col: usize, bar: usize) -> f64 {
        self.inner.leverage(col - self.base, bar - self.first_row)
    }
}
