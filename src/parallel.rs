//! Work spread over the cores: a slice cut into one run per core, each run on
//! its own scoped thread, the results back in the slice's order.

/// How many threads a job of many small parts uses: one per core.
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Maps `work` over `items` cut into `threads()` runs of about equal length, one
/// thread each, and returns the runs' results in order. A panic in a run is
/// carried to the caller.
pub fn runs<T: Sync, R: Send>(items: &[T], work: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let run = items.len().div_ceil(threads()).max(1);
    if items.len() <= run {
        return vec![work(items)];
    }
    let work = &work;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(run)
            .map(|part| scope.spawn(move || work(part)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
