//! Turning a bar's signals into (at most) one order: conflict resolution and sizing.
//!
//! The defaults are vectorbt's `from_signals` defaults (DESIGN.md §4): an entry and an exit on the same
//! bar are both dropped; a long and a short entry on the same bar are both dropped; an opposite entry
//! reverses the position; entries while in a position and exits while flat do nothing unless
//! `accumulate` is on. Each deviation is a named setting.

use crate::portfolio::{Direction, SizeType};

/// What to do when an entry and an exit of the same direction arrive on one bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// Drop both.
    Ignore,
    /// Keep the entry.
    Entry,
    /// Keep the exit.
    Exit,
}

/// What to do when a long and a short entry arrive on one bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirConflict {
    Ignore,
    Long,
    Short,
}

/// What an entry against the open position does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OppositeEntry {
    /// Nothing.
    Ignore,
    /// Close the position, do not open the opposite one.
    Close,
    /// Close and open the opposite position (with accumulation on: reduce by the entry's size).
    Reverse,
}

/// One bar's signals for one column, after resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Signals {
    pub long_entry: bool,
    pub long_exit: bool,
    pub short_entry: bool,
    pub short_exit: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    pub long_conflict: Conflict,
    pub short_conflict: Conflict,
    pub dir_conflict: DirConflict,
    pub opposite_entry: OppositeEntry,
    pub accumulate: bool,
}

impl Rules {
    /// Resolve conflicts among one bar's raw signals given the position before the bar's order.
    /// Returns the signals and whether this order may accumulate.
    #[inline]
    pub fn resolve(&self, position: f64, raw: Signals) -> (Signals, bool) {
        let mut s = raw;
        let mut accumulate = self.accumulate;
        if !(s.long_entry || s.short_entry) {
            return (s, accumulate);
        }
        (s.long_entry, s.long_exit) = same_side(s.long_entry, s.long_exit, self.long_conflict);
        (s.short_entry, s.short_exit) = same_side(s.short_entry, s.short_exit, self.short_conflict);
        if s.long_entry && s.short_entry {
            match self.dir_conflict {
                DirConflict::Long => s.short_entry = false,
                DirConflict::Short => s.long_entry = false,
                DirConflict::Ignore => (s.long_entry, s.short_entry) = (false, false),
            }
        }
        let against_long = position > 0.0 && s.short_entry;
        let against_short = position < 0.0 && s.long_entry;
        if against_long || against_short {
            match self.opposite_entry {
                OppositeEntry::Ignore => {
                    s.short_entry &= !against_long;
                    s.long_entry &= !against_short;
                }
                OppositeEntry::Close => {
                    if against_long {
                        (s.short_entry, s.long_exit) = (false, true);
                    } else {
                        (s.long_entry, s.short_exit) = (false, true);
                    }
                    accumulate = false;
                }
                OppositeEntry::Reverse => {}
            }
        }
        (s, accumulate)
    }
}

fn same_side(entry: bool, exit: bool, mode: Conflict) -> (bool, bool) {
    if !(entry && exit) {
        return (entry, exit);
    }
    match mode {
        Conflict::Ignore => (false, false),
        Conflict::Entry => (true, false),
        Conflict::Exit => (false, true),
    }
}

/// The order (signed size, size type, direction) that resolved signals call for. A size of 0 means no
/// order. `size` is the configured size (`inf` for all-in); `val_price` converts value sizes.
#[inline]
pub fn order_size(
    position: f64,
    s: Signals,
    size: f64,
    size_type: SizeType,
    accumulate: bool,
    val_price: f64,
) -> (f64, SizeType, Direction) {
    let held = position.abs();
    // Size of a fresh position opened by a reversal, in units (Percent cannot reverse; checked upstream).
    let fresh = || {
        if size_type == SizeType::Value {
            size / val_price
        } else {
            size
        }
    };
    if position > 0.0 {
        if s.short_entry {
            if accumulate {
                return (-size, size_type, Direction::Both);
            }
            let extra = if size.is_nan() { 0.0 } else { fresh() };
            return (-held - extra, SizeType::Amount, Direction::Both);
        }
        if s.long_exit {
            return if accumulate {
                (-size, size_type, Direction::Long)
            } else {
                (-held, SizeType::Amount, Direction::Long)
            };
        }
        if s.long_entry && accumulate {
            return (size, size_type, Direction::Long);
        }
    } else if position < 0.0 {
        if s.long_entry {
            if accumulate {
                return (size, size_type, Direction::Both);
            }
            let extra = if size.is_nan() { 0.0 } else { fresh() };
            return (held + extra, SizeType::Amount, Direction::Both);
        }
        if s.short_exit {
            return if accumulate {
                (size, size_type, Direction::Short)
            } else {
                (held, SizeType::Amount, Direction::Short)
            };
        }
        if s.short_entry && accumulate {
            return (-size, size_type, Direction::Short);
        }
    } else if s.long_entry {
        return (size, size_type, Direction::Both);
    } else if s.short_entry {
        return (-size, size_type, Direction::Both);
    }
    (0.0, size_type, Direction::Both)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: Rules = Rules {
        long_conflict: Conflict::Ignore,
        short_conflict: Conflict::Ignore,
        dir_conflict: DirConflict::Ignore,
        opposite_entry: OppositeEntry::Reverse,
        accumulate: false,
    };

    fn sig(le: bool, lx: bool, se: bool, sx: bool) -> Signals {
        Signals {
            long_entry: le,
            long_exit: lx,
            short_entry: se,
            short_exit: sx,
        }
    }

    #[test]
    fn entry_and_exit_on_one_bar_are_both_dropped() {
        assert_eq!(
            DEFAULT.resolve(0.0, sig(true, true, false, false)).0,
            sig(false, false, false, false)
        );
        let exit_wins = Rules {
            long_conflict: Conflict::Exit,
            ..DEFAULT
        };
        assert_eq!(
            exit_wins.resolve(1.0, sig(true, true, false, false)).0,
            sig(false, true, false, false)
        );
    }

    #[test]
    fn long_and_short_entry_on_one_bar_are_both_dropped() {
        assert_eq!(
            DEFAULT.resolve(0.0, sig(true, false, true, false)).0,
            sig(false, false, false, false)
        );
    }

    #[test]
    fn sizing_follows_the_position() {
        let inf = f64::INFINITY;
        let none = sig(false, false, false, false);
        // entry while long does nothing; exit while flat does nothing
        assert_eq!(
            order_size(5.0, sig(true, false, false, false), inf, SizeType::Amount, false, 1.0).0,
            0.0
        );
        assert_eq!(
            order_size(0.0, sig(false, true, false, false), inf, SizeType::Amount, false, 1.0).0,
            0.0
        );
        assert_eq!(order_size(0.0, none, inf, SizeType::Amount, false, 1.0).0, 0.0);
        // exit closes exactly the position
        assert_eq!(
            order_size(5.0, sig(false, true, false, false), inf, SizeType::Amount, false, 1.0),
            (-5.0, SizeType::Amount, Direction::Long)
        );
        // reversal: close and open the opposite side with the configured size
        assert_eq!(
            order_size(5.0, sig(false, false, true, false), 2.0, SizeType::Amount, false, 1.0).0,
            -7.0
        );
        assert_eq!(
            order_size(-5.0, sig(true, false, false, false), 20.0, SizeType::Value, false, 10.0).0,
            7.0
        );
        assert_eq!(
            order_size(5.0, sig(false, false, true, false), inf, SizeType::Amount, false, 1.0).0,
            f64::NEG_INFINITY
        );
    }
}
