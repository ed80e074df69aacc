//! `STORM_TIMINGS=1` prints how long each stage of a run takes, on stderr, so
//! that a slow run can be taken apart without a profiler (`benches/run.sh`
//! shows them for model L). Unset, a stage costs one cached flag check.

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("STORM_TIMINGS").is_some_and(|v| !v.is_empty()))
}

/// Runs `work`, and with `STORM_TIMINGS` set reports its wall time as `stage`.
pub fn time<T>(stage: &str, work: impl FnOnce() -> T) -> T {
    if !enabled() {
        return work();
    }
    let start = Instant::now();
    let value = work();
    eprintln!(
        "timing: {stage:<24} {:>8.1} ms{}",
        start.elapsed().as_secs_f64() * 1000.0,
        memory()
    );
    value
}

/// The process's resident memory now and at its peak, where the system tells
/// (Linux's `/proc/self/status`); nothing elsewhere.
fn memory() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let mib = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kib| kib / 1024)
    };
    format!(
        "   rss {:>4} MiB, peak {:>4} MiB",
        mib("VmRSS:"),
        mib("VmHWM:")
    )
}

/// With `STORM_TIMINGS` set, reports a figure of a stage (how much a memo saved).
pub fn note(stage: &str, what: impl FnOnce() -> String) {
    if enabled() {
        eprintln!("timing: {stage:<24} {}", what());
    }
}
