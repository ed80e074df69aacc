//! Work spread over the cores: a slice cut into one run per core, each run on
//! its own scoped thread, the results back in the slice's order.

/// How many threads a job of many small parts uses: one per core, or, on a
/// worker of another such job (whose siblings keep the other cores busy), the
/// worker alone.
pub fn threads() -> usize {
    if WORKER.get() {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Runs `work` on this thread with [`threads`] at one: its jobs of many small
/// parts run here, in order, while other threads keep the cores busy.
pub fn alone<R>(work: impl FnOnce() -> R) -> R {
    let was = WORKER.replace(true);
    let result = work();
    WORKER.set(was);
    result
}

thread_local! {
    /// Whether this thread is a worker of [`runs`] or [`each`].
    static WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Maps `work` over `items` cut into `threads()` runs of about equal length, one
/// thread each, and returns the runs' results in order. A panic in a run is
/// carried to the caller.
pub fn runs<T: Sync, R: Send>(items: &[T], work: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let run = items.len().div_ceil(threads()).max(1);
    if items.len() <= run {
        return vec![work(items)];
    }
    on_threads(items.chunks(run), work)
}

/// [`runs`] over items each run may change.
pub fn runs_mut<T: Send, R: Send>(items: &mut [T], work: impl Fn(&mut [T]) -> R + Sync) -> Vec<R> {
    let run = items.len().div_ceil(threads()).max(1);
    if items.len() <= run {
        return vec![work(items)];
    }
    on_threads(items.chunks_mut(run), work)
}

/// Maps `work` over `items` on one thread per core, each thread taking the next
/// item as soon as it is done with one, so that items of uneven cost keep every
/// core busy to the end. The results come back in the items' order. A panic in
/// `work` is carried to the caller.
pub fn each<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads().min(items.len());
    if threads <= 1 {
        return items.iter().map(work).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let taken = on_threads(0..threads, |_| {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, work(item)));
        }
    });
    let mut done: Vec<(usize, R)> = taken.into_iter().flatten().collect();
    done.sort_unstable_by_key(|&(i, _)| i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// `work` on each part, a scoped thread each; the results in the parts' order,
/// and a panic carried to the caller.
fn on_threads<P: Send, R: Send>(
    parts: impl Iterator<Item = P>,
    work: impl Fn(P) -> R + Sync,
) -> Vec<R> {
    let work = &work;
    std::thread::scope(|scope| {
        let workers: Vec<_> = parts
            .map(|part| {
                scope.spawn(move || {
                    WORKER.set(true);
                    work(part)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// The value behind `mutex`, locked. A worker that panicked holding it leaves it
/// as it was: the panic reaches the caller anyway (see [`runs`]).
pub fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The value `mutex` held, once every worker is done with it (see [`lock`]).
pub fn unlocked<T>(mutex: std::sync::Mutex<T>) -> T {
    mutex.into_inner().unwrap_or_else(|e| e.into_inner())
}
