//! A min-queue keyed by `(ts_arrival, priority, seq)`.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::Priority;
use crate::error::{Context, CoreError, CoreResult};

/// One queued item with its ordering key. `seq` is assigned by the queue at push time.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<T> {
    pub ts_arrival: i64,
    pub priority: Priority,
    pub seq: u64,
    pub payload: T,
}

impl<T> Event<T> {
    fn key(&self) -> (i64, Priority, u64) {
        (self.ts_arrival, self.priority, self.seq)
    }
}

/// Heap entry with the ordering reversed, so `BinaryHeap` (a max-heap) pops the smallest key.
struct Entry<T>(Event<T>);

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0.key() == other.0.key()
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.key().cmp(&self.0.key())
    }
}

/// The engine's clock-ordered queue.
///
/// Invariants: pops come out in non-decreasing key order; `seq` is unique and increasing, so equal
/// `(ts_arrival, priority)` pairs keep insertion order; nothing can be scheduled before the time of the
/// last event popped (the clock never runs backwards).
pub struct EventQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    next_seq: u64,
    now: Option<i64>,
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> EventQueue<T> {
    pub fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            next_seq: 0,
            now: None,
        }
    }

    /// The arrival time of the last event popped: the engine's clock. `None` before the first pop.
    pub fn now(&self) -> Option<i64> {
        self.now
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Schedule `payload` to arrive at `ts_arrival`. Scheduling before the clock is an error: it would
    /// let an event be handled after later ones had already been seen.
    pub fn push(&mut self, ts_arrival: i64, priority: Priority, payload: T) -> CoreResult<u64> {
        if let Some(now) = self.now {
            if ts_arrival < now {
                return Err(CoreError::leakage(
                    format!("cannot schedule an event at {ts_arrival} ns before the clock ({now} ns)"),
                    Context::argument("ts_arrival").at(ts_arrival),
                ));
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry(Event {
            ts_arrival,
            priority,
            seq,
            payload,
        }));
        Ok(seq)
    }

    /// Arrival time of the next event, if any.
    /// The queued events, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Event<T>> {
        self.heap.iter().map(|e| &e.0)
    }

    pub fn peek_ts(&self) -> Option<i64> {
        self.heap.peek().map(|e| e.0.ts_arrival)
    }

    /// Remove and return the next event, advancing the clock to its arrival.
    pub fn pop(&mut self) -> Option<Event<T>> {
        let event = self.heap.pop()?.0;
        self.now = Some(event.ts_arrival);
        Some(event)
    }

    /// Remove every event that arrives at the next timestamp, in delivery order: the batch a strategy
    /// is handed once per timestamp. Appends to `out` (so a caller can reuse the buffer); returns the
    /// timestamp, or `None` when the queue is empty.
    pub fn pop_batch(&mut self, out: &mut Vec<Event<T>>) -> Option<i64> {
        let ts = self.peek_ts()?;
        while self.peek_ts() == Some(ts) {
            out.extend(self.pop());
        }
        Some(ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn priority(i: u8) -> Priority {
        [
            Priority::MarketData,
            Priority::Signal,
            Priority::Timer,
            Priority::Decision,
        ][usize::from(i % 4)]
    }

    #[test]
    fn equal_times_follow_priority_then_insertion() {
        let mut q = EventQueue::new();
        q.push(10, Priority::Decision, "decision").unwrap();
        q.push(10, Priority::MarketData, "bar-b").unwrap();
        q.push(5, Priority::Timer, "early timer").unwrap();
        q.push(10, Priority::Signal, "signal").unwrap();
        q.push(10, Priority::MarketData, "bar-c").unwrap();
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|e| e.payload).collect();
        assert_eq!(order, ["early timer", "bar-b", "bar-c", "signal", "decision"]);
    }

    #[test]
    fn scheduling_in_the_past_is_refused() {
        let mut q = EventQueue::new();
        q.push(100, Priority::MarketData, ()).unwrap();
        q.pop();
        assert_eq!(q.now(), Some(100));
        let err = q.push(99, Priority::Decision, ()).unwrap_err();
        assert!(matches!(err, CoreError::Leakage { .. }));
        assert_eq!(err.context().ts, Some(99));
        // Same instant is allowed: a decision made at `now` may act at `now`.
        q.push(100, Priority::Decision, ()).unwrap();
    }

    #[test]
    fn pop_batch_takes_exactly_one_timestamp() {
        let mut q = EventQueue::new();
        for (ts, p) in [(3, 0), (1, 1), (3, 2), (1, 0), (7, 0)] {
            q.push(ts, priority(p), ts * 10 + i64::from(p)).unwrap();
        }
        let mut batch = Vec::new();
        assert_eq!(q.pop_batch(&mut batch), Some(1));
        assert_eq!(batch.iter().map(|e| e.payload).collect::<Vec<_>>(), [10, 11]);
        batch.clear();
        assert_eq!(q.pop_batch(&mut batch), Some(3));
        assert_eq!(batch.iter().map(|e| e.payload).collect::<Vec<_>>(), [30, 32]);
        batch.clear();
        assert_eq!(q.pop_batch(&mut batch), Some(7));
        assert_eq!(q.pop_batch(&mut batch), None);
    }

    proptest! {
        /// Pops come out sorted by (ts_arrival, priority, insertion order), whatever the push order.
        #[test]
        fn pops_are_sorted_and_stable(items in prop::collection::vec((0i64..50, 0u8..4), 0..200)) {
            let mut q = EventQueue::new();
            for (i, (ts, p)) in items.iter().enumerate() {
                q.push(*ts, priority(*p), i).unwrap();
            }
            let popped: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
            let mut expected: Vec<_> = items.iter().enumerate().map(|(i, (ts, p))| (*ts, priority(*p), i)).collect();
            expected.sort(); // insertion index breaks ties, exactly like `seq`
            let got: Vec<_> = popped.iter().map(|e| (e.ts_arrival, e.priority, e.payload)).collect();
            prop_assert_eq!(got, expected);
        }

        /// Identical inputs give identical delivery sequences.
        #[test]
        fn deterministic(items in prop::collection::vec((0i64..20, 0u8..4), 0..100)) {
            let run = || {
                let mut q = EventQueue::new();
                for (i, (ts, p)) in items.iter().enumerate() {
                    q.push(*ts, priority(*p), i).unwrap();
                }
                std::iter::from_fn(|| q.pop()).map(|e| (e.ts_arrival, e.seq, e.payload)).collect::<Vec<_>>()
            };
            prop_assert_eq!(run(), run());
        }

        /// Interleaving pushes (never before the clock) and pops never delivers out of order.
        #[test]
        fn clock_never_runs_backwards(ops in prop::collection::vec((0i64..10, 0u8..4, any::<bool>()), 1..200)) {
            let mut q = EventQueue::new();
            let mut last = i64::MIN;
            for (delay, p, pop) in ops {
                let base = q.now().unwrap_or(0);
                q.push(base + delay, priority(p), ()).unwrap();
                if pop {
                    let e = q.pop().unwrap();
                    prop_assert!(e.ts_arrival >= last);
                    last = e.ts_arrival;
                }
            }
        }
    }
}
