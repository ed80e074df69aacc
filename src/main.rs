use storm::cli;

/// Rendering builds hundreds of thousands of short strings; mimalloc makes
/// allocation a few per cent of `generate` instead of a quarter of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    end_quietly_on_closed_pipe();
    std::panic::set_hook(Box::new(|info| {
        use std::io::Write;
        // The message may not get through (stderr closed); the exit code does.
        let _ = writeln!(
            std::io::stderr(),
            "error: this is a bug in storm, not in your model: {info}\n\
             Please report it with the command you ran and, if you can, the model."
        );
        std::process::exit(cli::BUG);
    }));
    // A generous stack: recursion depth is bounded by the parser's nesting limit,
    // but the bound should never be the stack's.
    let worker = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(|| {
            let cli = match cli::parse(std::env::args()) {
                Ok(cli) => cli,
                Err(code) => return code,
            };
            if !cli.keeps_running() {
                keep_freed_memory();
            }
            cli::execute(cli)
        });
    let code = match worker.map(|w| w.join()) {
        Ok(Ok(code)) => code,
        _ => cli::BUG,
    };
    std::process::exit(code);
}

/// A command that ends when its work is done keeps the memory it frees for its
/// next allocations. By default mimalloc hands freed pages back to the kernel a
/// while after they are freed, and `generate` frees and allocates all the time
/// (every file's render): the kernel then zeroes the same pages again on their
/// next touch. On model L that page faulting took 5–12 % of `generate`'s CPU
/// time, and takes 3–5 % with this. The process ends soon after, which returns
/// everything at once. `watch` keeps the default: between edits it gives its
/// memory back.
fn keep_freed_memory() {
    // SAFETY: sets one of mimalloc's options; any value is valid. It runs
    // before any other thread of storm's starts.
    unsafe {
        mimalloc_options::mi_option_set(mimalloc_options::PURGE_DELAY, -1);
    }
}

mod mimalloc_options {
    unsafe extern "C" {
        pub fn mi_option_set(option: i32, value: std::ffi::c_long);
        #[cfg(test)]
        pub fn mi_option_get(option: i32) -> std::ffi::c_long;
    }

    /// `mi_option_purge_delay` in mimalloc.h (v3, vendored by libmimalloc-sys
    /// 0.1.49, which does not export it): milliseconds before freed memory is
    /// returned to the kernel; -1 is never.
    pub const PURGE_DELAY: i32 = 15;

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The option number is the purge delay's: its default (options.c)
        /// is 1000 ms, unless the environment sets it.
        #[test]
        fn purge_delay_is_the_option_set() {
            let expected = std::env::var("MIMALLOC_PURGE_DELAY")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1000);
            // SAFETY: reads one of mimalloc's options.
            assert_eq!(unsafe { mi_option_get(PURGE_DELAY) }, expected);
        }
    }
}

/// Output into a pipe whose reader has gone (`storm check | head -1`) ends storm
/// the way it ends `cat` and `grep`: by SIGPIPE, which a shell does not report,
/// rather than as a failed write that Rust's runtime turns into a panic. Rust
/// ignores SIGPIPE at start-up; this restores the default.
#[cfg(unix)]
fn end_quietly_on_closed_pipe() {
    unsafe extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    const SIGPIPE: i32 = 13;
    const SIG_DFL: usize = 0;
    // SAFETY: setting a signal's disposition to the default, before any thread
    // starts, touches no Rust state.
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

#[cfg(not(unix))]
fn end_quietly_on_closed_pipe() {}
