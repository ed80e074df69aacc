use storm::cli;

fn main() {
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
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
