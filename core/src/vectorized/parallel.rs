//! The one scheduler of independent tasks (a sweep's combinations, a detailed run's groups).
//!
//! Contract: task `i` of `0..n` runs exactly once, on any thread, with a per-worker scratch value made by
//! `init` and reused across that worker's tasks; the results come back in task order, so a parallel run
//! equals the serial one element for element whatever the scheduling. Policy: rayon's global pool (sized
//! by `RAYON_NUM_THREADS`, else one thread per core), split adaptively by rayon; a single task runs on the
//! calling thread.

use rayon::prelude::*;

/// `f(scratch, i)` for every task `i` in `0..n`, in task order.
pub fn map_ordered<S, T, I, F>(n: usize, init: I, f: F) -> Vec<T>
where
    T: Send,
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut S, usize) -> T + Sync + Send,
{
    if n <= 1 {
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
    if n <= 1 {
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
    }
}
