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
        .spawn(|| cli::run(std::env::args()));
    let code = match worker.map(|w| w.join()) {
        Ok(Ok(code)) => code,
        _ => cli::BUG,
    };
    std::process::exit(code);
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
