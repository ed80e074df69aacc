//! The command layer: arguments, config, and the only code that prints or
//! touches the file system.

use crate::analysis::{Analysis, analyze};
use crate::config::{self, Found};
use crate::diagnostic::{Code, Severity};
use crate::diagram::{self, DiagramFormat};
use crate::render::{self, Format, Style};
use crate::wire::{Backend, Wire};
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Exit codes, as cli.md defines them.
pub const OK: i32 = 0;
pub const FAILED: i32 = 1;
pub const USAGE: i32 = 2;
pub const BUG: i32 = 3;

#[derive(Parser)]
#[command(
    name = "storm",
    version,
    about = "Turns an event-storming model into checked code, contracts and broker routing"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and validate the model; print every diagnostic; write nothing.
    Check {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        report: ReportArgs,
        /// Check that this backend can route every subscription [default: from the config, else eventbridge]
        #[arg(long, value_enum)]
        backend: Option<BackendArg>,
    },
    /// Check the model, then write every generated artefact.
    Generate {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        report: ReportArgs,
        /// Directory for everything storm generates [default: generated]
        #[arg(long)]
        out: Option<PathBuf>,
        /// Message backend the routing is generated for [default: eventbridge]
        #[arg(long, value_enum)]
        backend: Option<BackendArg>,
    },
    /// Print the board as a diagram on standard output.
    Diagram {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, value_enum, default_value = "mermaid")]
        format: DiagramArg,
        /// Show one context and what it is directly connected to.
        #[arg(long, value_name = "NAME")]
        context: Option<String>,
    },
    /// Print the long explanation of a diagnostic code (all codes without one).
    Explain { code: Option<String> },
}

#[derive(Args)]
struct ModelArgs {
    /// `.storm` files or directories; without any, the `model` entry of storm.yaml.
    #[arg(value_name = "MODEL")]
    models: Vec<PathBuf>,
    /// The config file [default: storm.yaml here or in the nearest parent]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct ReportArgs {
    /// How diagnostics are printed.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Fail on warnings too.
    #[arg(long)]
    deny_warnings: bool,
    /// Print only diagnostics, no summary.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum BackendArg {
    Eventbridge,
    SnsSqs,
    Kafka,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum DiagramArg {
    Mermaid,
    Dot,
}

/// Runs storm with these arguments and returns the exit code.
pub fn run(args: impl IntoIterator<Item = String>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { USAGE } else { OK };
        }
    };
    match cli.command {
        Command::Check {
            model,
            report,
            backend,
        } => check(&model, &report, backend),
        Command::Generate {
            model,
            report,
            out,
            backend,
        } => generate(&model, &report, out, backend),
        Command::Diagram {
            model,
            format,
            context,
        } => diagram(&model, format, context.as_deref()),
        Command::Explain { code } => explain(code.as_deref()),
    }
}

fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("error: {message}");
    USAGE
}

/// What a command works on: the model's files and the config, if any.
struct Setup {
    inputs: Vec<PathBuf>,
    config: Option<Found>,
}

fn setup(args: &ModelArgs) -> Result<Setup, String> {
    let config_path = match &args.config {
        Some(path) if !path.is_file() => {
            return Err(format!("config file `{}` does not exist", path.display()));
        }
        Some(path) => Some(path.clone()),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| config::discover(&d)),
    };
    let config = config_path.map(|p| config::read(&p)).transpose()?;
    let inputs = if !args.models.is_empty() {
        args.models.clone()
    } else {
        match &config {
            Some(found) if !found.config.model.is_empty() => found
                .config
                .model
                .iter()
                .map(|m| relative_to(&found.dir, m))
                .collect(),
            Some(found) => {
                return Err(format!(
                    "`{}` has no `model` entry, and no MODEL was given",
                    found.path.display()
                ));
            }
            None => {
                return Err(format!(
                    "no MODEL given and no `{}` here or in a parent directory; try `storm check model.storm`",
                    config::FILE_NAME
                ));
            }
        }
    };
    Ok(Setup { inputs, config })
}

/// A config path, made relative to the current directory where it can be, so
/// that diagnostics show short paths.
fn relative_to(dir: &Path, path: &Path) -> PathBuf {
    let joined = dir.join(path);
    match std::env::current_dir() {
        Ok(cwd) => joined
            .strip_prefix(&cwd)
            .map(Path::to_path_buf)
            .unwrap_or(joined),
        Err(_) => joined,
    }
}

fn backend(setup: &Setup, arg: Option<BackendArg>) -> Backend {
    match arg {
        Some(BackendArg::Eventbridge) => Backend::Eventbridge,
        Some(BackendArg::SnsSqs) => Backend::SnsSqs,
        Some(BackendArg::Kafka) => Backend::Kafka,
        None => setup
            .config
            .as_ref()
            .and_then(|f| f.config.backend)
            .unwrap_or(Backend::Eventbridge),
    }
}

fn analyze_with_lints(setup: &Setup, backend: Backend) -> Analysis {
    let mut analysis = analyze(&setup.inputs, backend);
    if let Some(found) = &setup.config {
        let lints = &found.config.lints;
        analysis.diagnostics.list.retain_mut(|d| {
            if !d.code.is_lint() {
                return true;
            }
            match lints.get(d.code.as_str()).map(|l| l.severity()) {
                None => true,
                Some(None) => false,
                Some(Some(severity)) => {
                    d.severity = severity;
                    true
                }
            }
        });
    }
    analysis
}

fn style() -> Style {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    Style { color, width }
}

/// Prints the diagnostics and returns the exit code they call for.
fn report(analysis: &Analysis, args: &ReportArgs) -> i32 {
    let style = style();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for d in &analysis.diagnostics.list {
        let _ = match args.format {
            Format::Human => {
                eprint!("{}", render::human(&analysis.sources, d, style));
                Ok(())
            }
            Format::Json => writeln!(out, "{}", render::json(&analysis.sources, d)),
            Format::Github => writeln!(out, "{}", render::github(&analysis.sources, d)),
        };
    }
    let errors = analysis.diagnostics.count(Severity::Error);
    let warnings = analysis.diagnostics.count(Severity::Warning);
    if args.format == Format::Human && !args.quiet && (errors > 0 || warnings > 0) {
        eprintln!("{}", summary(errors, warnings, args.deny_warnings));
    }
    if analysis.has_io_errors() {
        USAGE
    } else if errors > 0 || (args.deny_warnings && warnings > 0) {
        FAILED
    } else {
        OK
    }
}

fn summary(errors: usize, warnings: usize, deny_warnings: bool) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let counts = match (errors, warnings) {
        (0, w) => plural(w, "warning"),
        (e, 0) => plural(e, "error"),
        (e, w) => format!("{} and {}", plural(e, "error"), plural(w, "warning")),
    };
    if errors > 0 || deny_warnings {
        format!("error: the model has {counts}")
    } else {
        format!("warning: the model has {counts}")
    }
}

fn check(model: &ModelArgs, args: &ReportArgs, backend_arg: Option<BackendArg>) -> i32 {
    let setup = match setup(model) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let analysis = analyze_with_lints(&setup, backend(&setup, backend_arg));
    let code = report(&analysis, args);
    if code == OK && args.format == Format::Human && !args.quiet {
        let m = &analysis.model;
        eprintln!(
            "checked {} contexts, {} aggregates, {} commands, {} events: no errors",
            m.contexts.len(),
            m.aggregates.len(),
            m.commands.len(),
            m.events.len()
        );
    }
    code
}

/// The namespace of event sources: from the config, else the model's file stem
/// or directory name.
fn namespace(setup: &Setup) -> String {
    if let Some(ns) = setup
        .config
        .as_ref()
        .and_then(|f| f.config.namespace.clone())
    {
        return ns;
    }
    let first = setup.inputs.first().cloned().unwrap_or_default();
    let named = if first.is_dir() {
        std::fs::canonicalize(&first).unwrap_or(first)
    } else {
        first.with_extension("")
    };
    named
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "storm".to_string())
}

fn generate(
    model: &ModelArgs,
    args: &ReportArgs,
    out: Option<PathBuf>,
    backend_arg: Option<BackendArg>,
) -> i32 {
    let setup = match setup(model) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let backend = backend(&setup, backend_arg);
    let analysis = analyze_with_lints(&setup, backend);
    let code = report(&analysis, args);
    if code != OK {
        if args.format == Format::Human {
            eprintln!("error: nothing generated; fix the errors above first");
        }
        return code;
    }
    let config = setup.config.as_ref().map(|f| &f.config);
    let out = match (out, &setup.config) {
        (Some(out), _) => out,
        (None, Some(found)) => relative_to(
            &found.dir,
            found
                .config
                .out
                .as_deref()
                .unwrap_or(Path::new("generated")),
        ),
        (None, None) => PathBuf::from("generated"),
    };
    let wire = Wire {
        namespace: namespace(&setup),
        backend,
    };
    let targets = match config {
        None => crate::generate::Targets::ALL,
        Some(c) => crate::generate::Targets {
            rust: c.targets.rust.enabled(),
            schemas: c.targets.schemas.enabled(),
            routing: c.targets.routing.enabled(),
            docs: c.targets.docs.enabled(),
        },
    };
    let files = crate::generate::files(&analysis.model, &wire, targets);
    let (mut written, mut unchanged) = (0, 0);
    for (path, output) in &files {
        let content = &output.content;
        let target = out.join(path);
        if std::fs::read(&target).is_ok_and(|old| old == content.as_bytes()) {
            unchanged += 1;
            continue;
        }
        if let Err(e) = write_file(&target, content) {
            return fail(format!("cannot write `{}`: {e}", target.display()));
        }
        written += 1;
    }
    if !args.quiet {
        eprintln!(
            "generated into `{}`: {written} written, {unchanged} unchanged",
            out.display()
        );
    }
    OK
}

/// Writes through a temporary file in the same directory and a rename, so that a
/// reader never sees half a file.
fn write_file(path: &Path, content: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.storm-tmp"));
    std::fs::write(&temp, content)?;
    std::fs::rename(&temp, path)
}

fn diagram(model: &ModelArgs, format: DiagramArg, context: Option<&str>) -> i32 {
    let setup = match setup(model) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let analysis = analyze_with_lints(&setup, backend(&setup, None));
    if analysis.diagnostics.has_errors() {
        let args = ReportArgs {
            format: Format::Human,
            deny_warnings: false,
            quiet: false,
        };
        return report(&analysis, &args);
    }
    let m = &analysis.model;
    let context = match context {
        None => None,
        Some(name) => match m.context_ids().find(|&c| m.context(c).name.name == name) {
            Some(c) => Some(c),
            None => {
                let names: Vec<&str> = m.contexts.iter().map(|c| c.name.name.as_str()).collect();
                return fail(format!(
                    "the model has no context `{name}`; its contexts are {}",
                    crate::resolve::list(&names)
                ));
            }
        },
    };
    let format = match format {
        DiagramArg::Mermaid => DiagramFormat::Mermaid,
        DiagramArg::Dot => DiagramFormat::Dot,
    };
    print!("{}", diagram::render(m, format, context));
    OK
}

fn explain(code: Option<&str>) -> i32 {
    match code {
        None => {
            println!("storm's diagnostic codes (`storm explain CODE` for one):\n");
            for code in Code::ALL {
                let first = code.explanation().lines().next().unwrap_or_default();
                println!("  {first}");
            }
            OK
        }
        Some(name) => match Code::from_name(name.trim_start_matches("storm::")) {
            Some(code) => {
                print!("{}", code.explanation());
                OK
            }
            None => {
                let names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
                let hint = crate::resolve::closest(name, names.iter().copied())
                    .map(|c| format!("did you mean `{c}`? "))
                    .unwrap_or_default();
                fail(format!(
                    "no diagnostic code `{name}`; {hint}`storm explain` lists them all"
                ))
            }
        },
    }
}
