//! The one scheduler of independent tasks (a sweep's combinations, a detailed run's groups).
//!
//! Contract: task `i` of `0..n` runs exactly once, on any thread, with a per-worker scratch value made by
//! `init` and reused across that worker's tasks; the results come back in task order, so a parallel run
//! equals the serial one element for element whatever the scheduling. Policy: rayon's global pool (sized
//! by `RAYON_NUM_THREADS`, else one thread per core), split adaptively by rayon; a single task runs on the
//! calling thread. [`with_threads`] bounds the threads of the maps inside a call: a worker of a cluster
//! that was given one CPU (a Dask or Ray task, a process of a pool) must not start a thread per core of
//! its machine.

use rayon::prelude::*;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

thread_local! {
    /// Set while [`with_threads`]`(1, ..)` runs on this thread: the maps run serially on it.
    static SERIAL: Cell<bool> = const { Cell::new(false) };
}

/// `f()` with the maps it runs ([`map_ordered`], [`flat_map_ordered`]) on at most `threads` threads: 0 is
/// rayon's global pool (unchanged), 1 runs them on the calling thread, `k` on a pool of `k` threads (built on
/// the first call asking for `k`, then kept; callers asking for the same `k` at once share it). The results
/// are the same whatever `threads` (the maps' contract).
pub fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    match threads {
        0 => f(),
        1 => {
            let before = SERIAL.with(|s| s.replace(true));
            let _restore = Restore(before);
            f()
        }
        k => pool(k).install(f),
    }
}

/// Puts this thread's [`SERIAL`] back as it was, also when `f` panics.
struct Restore(bool);

impl Drop for Restore {
    fn drop(&mut self) {
        SERIAL.with(|s| s.set(self.0));
    }
}

fn pool(threads: usize) -> Arc<rayon::ThreadPool> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    pools
        .entry(threads)
        .or_insert_with(|| {
            let built = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
            Arc::new(built.expect("a rayon pool of a few threads can be built"))
        })
        .clone()
}

fn serial() -> bool {
    SERIAL.with(Cell::get)
}

/// `f(scratch, i)` for every task `i` in `0..n`, in task order.
pub fn map_ordered<S, T, I, F>(n: usize, init: I, f: F) -> Vec<T>
where
    T: Send,
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, usize) -> T + Sync + Send,
{
    if n <= 1 || serial() {
        let mut scratch = init();
        return (0..n).map(|i| f(&mut scratch, i)).collect();
    }
    (0..n).into_par_iter().map_init(init, f).collect()
}

/// Like [`map_ordered`] for tasks that give several rows each: the rows of task 0, then task 1, ...
pub fn flat_map_ordered<S, T, I, F>(n: usize, init: I, f: F) -> Vec<T>
where
    T: Send,
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, usize) -> Vec<T> + Sync + Send,
{
    if n <= 1 || serial() {
        let mut scratch = init();
        return (0..n).flat_map(|i| f(&mut scratch, i)).collect();
    }
    (0..n).into_par_iter().map_init(init, f).flatten_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A task whose result depends on its index only, with a scratch that must not leak between tasks.
    fn task(scratch: &mut Vec<u64>, i: usize, lens: &[usize]) -> Vec<u64> {
        scratch.clear();
        scratch.extend((0..lens[i] as u64).map(|k| (i as u64) * 1_000 + k));
        scratch.clone()
    }

    proptest! {
        /// Parallel results are the serial results, in task order.
        #[test]
        fn equals_a_serial_run(lens in prop::collection::vec(0usize..5, 0..64)) {
            let serial: Vec<u64> = (0..lens.len()).flat_map(|i| task(&mut Vec::new(), i, &lens)).collect();
            prop_assert_eq!(flat_map_ordered(lens.len(), Vec::new, |s, i| task(s, i, &lens)), serial);
            let each: Vec<usize> = (0..lens.len()).map(|i| lens[i] * 7 + i).collect();
            prop_assert_eq!(map_ordered(lens.len(), || (), |_, i| lens[i] * 7 + i), each);
        }

        /// Bounding the threads changes nothing but where the tasks run.
        #[test]
        fn any_thread_count_gives_the_serial_result(lens in prop::collection::vec(0usize..5, 0..64), k in 0usize..4) {
            let serial: Vec<u64> = (0..lens.len()).flat_map(|i| task(&mut Vec::new(), i, &lens)).collect();
            let bounded = with_threads(k, || flat_map_ordered(lens.len(), Vec::new, |s, i| task(s, i, &lens)));
            prop_assert_eq!(bounded, serial);
        }
    }

    #[test]
    fn one_thread_runs_every_task_on_the_calling_thread_and_restores_the_default() {
        let caller = std::thread::current().id();
        let ids = with_threads(1, || map_ordered(32, || (), |_, _| std::thread::current().id()));
        assert!(ids.iter().all(|id| *id == caller));
        assert!(!serial());
        let ids = with_threads(2, || map_ordered(256, || (), |_, _| std::thread::current().id()));
        assert!(ids.iter().all(|id| *id != caller)); // the pool's threads, not the caller
        let distinct: std::collections::HashSet<_> = ids.into_iter().collect();
        assert!(distinct.len() <= 2);
    }
}
