//! The command layer: arguments, config, and the only code that prints or
//! touches the file system.

use crate::analysis::Analysis;
use crate::config::{self, Found};
use crate::diagnostic::{Code, Severity};
use crate::diagram::{self, DiagramFormat};
use crate::render::{self, Format, Style};
use crate::timings::time;
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
pub struct Cli {
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
        backend: Option<Backend>,
    },
    /// Check the model, then write every generated artefact.
    Generate {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        report: ReportArgs,
        #[command(flatten)]
        output: OutputArgs,
        /// Write nothing; exit 1 with a diff when the files on disk differ from
        /// what the model produces (the CI drift check).
        #[arg(long)]
        check: bool,
        /// Overwrite (or remove) generated files that were edited by hand.
        #[arg(long)]
        force: bool,
    },
    /// Check and generate, then again on every change to the model or config.
    Watch {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        report: ReportArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Compare the event contracts with those at a git revision or in a directory.
    Breaking {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        report: ReportArgs,
        /// A git revision (`main`, `HEAD~1`, a tag) or a directory holding the old model.
        #[arg(long, value_name = "REF")]
        against: String,
    },
    /// Rewrite models in the canonical layout (comments kept).
    Fmt {
        #[command(flatten)]
        model: ModelArgs,
        /// Write nothing; exit 1 and show the diff when a file is not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Start a new project: a storm.yaml and a small example model.
    Init {
        /// Where to start it [default: the current directory]
        dir: Option<PathBuf>,
    },
    /// Print the board as a diagram on standard output.
    Diagram {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long, value_enum, default_value = "mermaid")]
        format: DiagramFormat,
        /// Show one context and what it is directly connected to.
        #[arg(long, value_name = "NAME")]
        context: Option<String>,
    },
    /// Print the long explanation of a diagnostic code, or of a change that
    /// `storm breaking` reports (all of them without one).
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

/// Where and for which backend `generate` and `watch` write.
#[derive(Args)]
struct OutputArgs {
    /// Directory for everything storm generates [default: generated]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Message backend the routing is generated for [default: eventbridge]
    #[arg(long, value_enum)]
    backend: Option<Backend>,
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

/// Runs storm with these arguments and returns the exit code.
pub fn run(args: impl IntoIterator<Item = String>) -> i32 {
    match parse(args) {
        Ok(cli) => execute(cli),
        Err(code) => code,
    }
}

/// The command line, or the exit code of printing its usage error (or help).
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Cli, i32> {
    Cli::try_parse_from(args).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() { USAGE } else { OK }
    })
}

impl Cli {
    /// Whether the command keeps running until it is stopped (`watch`), rather
    /// than ending when its one piece of work is done.
    pub fn keeps_running(&self) -> bool {
        matches!(self.command, Command::Watch { .. })
    }
}

/// Runs a parsed command line and returns the exit code.
pub fn execute(cli: Cli) -> i32 {
    match cli.command {
        Command::Check {
            model,
            report,
            backend,
        } => check(&model, &report, backend),
        Command::Generate {
            model,
            report,
            output,
            check,
            force,
        } => generate(&model, &report, output, Mode { check, force }),
        Command::Watch {
            model,
            report,
            output,
        } => watch(&model, &report, output),
        Command::Breaking {
            model,
            report,
            against,
        } => breaking(&model, &report, &against),
        Command::Fmt { model, check } => fmt(&model, check),
        Command::Init { dir } => init(dir.as_deref().unwrap_or(Path::new("."))),
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

/// Why a command could not start: a message, or a config with diagnostics.
enum SetupError {
    Message(String),
    Config(config::ConfigError),
}

impl SetupError {
    /// Prints it; the exit code is always [`USAGE`].
    fn report(self) -> i32 {
        self.report_as(Format::Human)
    }

    /// Prints it in the diagnostics format the command was asked for.
    fn report_as(self, format: Format) -> i32 {
        match self {
            SetupError::Message(m) => fail(m),
            SetupError::Config(e) => {
                let style = style();
                for d in &e.diagnostics {
                    match format {
                        Format::Human => eprint!("{}", render::human(&e.sources, d, style)),
                        Format::Json => println!("{}", render::json(&e.sources, d)),
                        Format::Github => println!("{}", render::github(&e.sources, d)),
                    }
                }
                eprintln!("error: the config cannot be used; nothing was done");
                USAGE
            }
        }
    }
}

fn setup(args: &ModelArgs) -> Result<Setup, SetupError> {
    let config_path = match &args.config {
        Some(path) if !path.is_file() => {
            return Err(SetupError::Message(format!(
                "config file `{}` does not exist",
                path.display()
            )));
        }
        Some(path) => Some(path.clone()),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| config::discover(&d))
            .map(|p| shorten(&p)),
    };
    let config = config_path
        .map(|p| config::read(&p))
        .transpose()
        .map_err(SetupError::Config)?;
    let inputs = if !args.models.is_empty() {
        args.models.clone()
    } else {
        match &config {
            Some(found) if !found.models.is_empty() => {
                found.models.iter().map(|m| shorten(m)).collect()
            }
            Some(found) => {
                return Err(SetupError::Message(format!(
                    "`{}` names no model (its `model` entry is missing or empty), and no MODEL was given",
                    found.path.display()
                )));
            }
            None => {
                return Err(SetupError::Message(format!(
                    "no MODEL given and no `{}` here or in a parent directory; try `storm check model.storm` or `storm init`",
                    config::FILE_NAME
                )));
            }
        }
    };
    Ok(Setup { inputs, config })
}

/// A path relative to the current directory where it can be, so that
/// diagnostics show short paths; the current directory itself is `.`.
fn shorten(path: &Path) -> PathBuf {
    match std::env::current_dir() {
        Ok(cwd) => match path.strip_prefix(&cwd) {
            Ok(inside) if inside.as_os_str().is_empty() => PathBuf::from("."),
            Ok(inside) => inside.to_path_buf(),
            Err(_) => path.to_path_buf(),
        },
        Err(_) => path.to_path_buf(),
    }
}

fn backend(setup: &Setup, arg: Option<Backend>) -> Backend {
    match arg {
        Some(backend) => backend,
        None => setup
            .config
            .as_ref()
            .and_then(|f| f.config.backend)
            .unwrap_or(Backend::Eventbridge),
    }
}

fn analyze_with_lints(setup: &Setup, backend: Backend) -> Analysis {
    analyze_kept(setup, backend, None)
}

/// [`analyze_with_lints`], reusing what an earlier run in this process parsed.
fn analyze_kept(
    setup: &Setup,
    backend: Backend,
    memo: Option<&mut crate::analysis::Memo>,
) -> Analysis {
    let mut analysis = crate::analysis::analyze_with(&setup.inputs, backend, memo);
    let config = setup.config.as_ref().map(|f| &f.config);
    if config.is_none_or(|c| c.targets.routing.enabled()) {
        // The brokers' limits on the names routing gives their resources.
        crate::routing::name_limits(
            &analysis.model,
            &wire(setup, backend),
            &mut analysis.diagnostics,
        );
        analysis.diagnostics.sort();
    }
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

/// Notes (checks skipped, findings held back, a model not at a revision): on
/// stderr (not with `--quiet`), and as GitHub notices for the Actions log.
fn print_notes(notes: &[String], args: &ReportArgs, out: &mut impl Write) {
    for note in notes {
        let _ = match args.format {
            Format::Human | Format::Json if args.quiet => Ok(()),
            // JSON lines on stdout are diagnostics only, each with every field
            // (cli.md): a note is for the person reading stderr.
            Format::Human | Format::Json => {
                eprintln!("note: {note}");
                Ok(())
            }
            Format::Github => writeln!(out, "::notice title=storm::{}", render::escape_data(note)),
        };
    }
}

/// Prints the diagnostics and returns the exit code they call for.
fn report(analysis: &Analysis, args: &ReportArgs) -> i32 {
    let style = style();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for d in &analysis.diagnostics.list {
        // With --deny-warnings a warning fails the run: say so where it is shown.
        let promoted;
        let d = if args.deny_warnings && d.severity == Severity::Warning {
            promoted = d.clone().severity(Severity::Error);
            &promoted
        } else {
            d
        };
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
    // Checks skipped, findings held back: every format says so, not only people's.
    print_notes(&analysis.notes, args, &mut out);
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

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn summary(errors: usize, warnings: usize, deny_warnings: bool) -> String {
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

fn check(model: &ModelArgs, args: &ReportArgs, backend_arg: Option<Backend>) -> i32 {
    let setup = match setup(model) {
        Ok(s) => s,
        Err(e) => return e.report_as(args.format),
    };
    let analysis = analyze_with_lints(&setup, backend(&setup, backend_arg));
    let code = report(&analysis, args);
    if code == OK && args.format == Format::Human && !args.quiet {
        let m = &analysis.model;
        eprintln!(
            "checked {}, {}, {}, {}: no errors",
            plural(m.contexts.len(), "context"),
            plural(m.aggregates.len(), "aggregate"),
            plural(m.commands.len(), "command"),
            plural(m.events.len(), "event")
        );
    }
    // The process ends now: freeing a large model piece by piece would only add
    // to the time a user waits (about 10% of `check` on 12,000 events).
    std::mem::forget(analysis);
    code
}

/// How the model is named on `backend`: the namespace and the routing options
/// of the config, or their defaults.
fn wire(setup: &Setup, backend: Backend) -> Wire {
    let config = setup.config.as_ref().map(|f| &f.config);
    Wire {
        namespace: namespace(setup).0,
        backend,
        routing: config.map_or_else(Default::default, |c| c.targets.routing.options()),
    }
}

/// The namespace of event sources: from the config, else the model's file stem
/// or directory name; with a note when that name gives none.
fn namespace(setup: &Setup) -> (String, Option<String>) {
    if let Some(ns) = setup
        .config
        .as_ref()
        .and_then(|f| f.config.namespace.clone())
    {
        return (ns, None);
    }
    let first = setup.inputs.first().cloned().unwrap_or_default();
    let named = if first.is_dir() {
        std::fs::canonicalize(&first).unwrap_or(first)
    } else {
        first.with_extension("")
    };
    let name = named
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A file stem may hold anything (`My Shop!.storm`); a source may not.
    let namespace = crate::init::namespace_for(&name);
    let note = (namespace == crate::init::FALLBACK_NAMESPACE).then(|| {
        format!(
            "the namespace of event sources is `{namespace}`: the name `{name}` gives none; set `namespace:` in storm.yaml"
        )
    });
    (namespace, note)
}

/// How `generate` treats the disk.
#[derive(Clone, Copy)]
struct Mode {
    check: bool,
    force: bool,
}

fn generate(model: &ModelArgs, args: &ReportArgs, output: OutputArgs, mode: Mode) -> i32 {
    let setup = match setup(model) {
        Ok(s) => s,
        Err(e) => return e.report_as(args.format),
    };
    let from_command_line = output.out.is_some();
    let out = out_dir(&setup, output.out);
    if let Err(e) = apart(&setup, &out, from_command_line) {
        return e.report_as(args.format);
    }
    let backend = backend(&setup, output.backend);
    run_generate(&setup, args, &out, backend, mode, None, None).0
}

fn watch(model: &ModelArgs, args: &ReportArgs, output: OutputArgs) -> i32 {
    let OutputArgs {
        out: out_arg,
        backend: backend_arg,
    } = output;
    let mut setup = match setup(model) {
        Ok(s) => s,
        Err(e) => return e.report_as(args.format),
    };
    let mode = Mode {
        check: false,
        force: false,
    };
    if let Err(e) = apart(&setup, &out_dir(&setup, out_arg.clone()), out_arg.is_some()) {
        return e.report_as(args.format);
    }
    // What each run parsed and rendered, for the next: an edit costs what it touches.
    let mut memo = Kept::default();
    loop {
        let out = out_dir(&setup, out_arg.clone());
        let backend = backend(&setup, backend_arg);
        let targets = crate::watch::Targets {
            models: setup
                .inputs
                .iter()
                .map(|p| crate::watch::absolute(p))
                .collect(),
            config: setup
                .config
                .as_ref()
                .map(|f| crate::watch::absolute(&f.path)),
            out: crate::watch::absolute(&out),
        };
        let changes = match crate::watch::Changes::new(targets.clone()) {
            Ok(c) => c,
            Err(e) => return fail(format!("cannot watch the model: {e}")),
        };
        run_generate(
            &setup,
            args,
            &out,
            backend,
            mode,
            Some(std::time::Instant::now()),
            Some(&mut memo),
        );
        eprintln!(
            "watching {} for changes (Ctrl-C to stop)",
            describe(&setup.inputs)
        );
        // Regenerate on every change until the config changes what is watched.
        loop {
            let Some(changed) = changes.next() else {
                return OK;
            };
            let started = std::time::Instant::now();
            let shown: Vec<String> = changed
                .iter()
                .map(|p| render::display_path(&shorten(p)))
                .collect();
            eprintln!("\nchanged: {}", shown.join(", "));
            let config_changed = targets.config.as_ref().is_some_and(|c| changed.contains(c));
            if config_changed {
                match self::setup(model).and_then(|s| {
                    apart(&s, &out_dir(&s, out_arg.clone()), out_arg.is_some()).map(|()| s)
                }) {
                    Ok(s) => setup = s,
                    Err(e) => {
                        // A broken config keeps the last good setup and output.
                        e.report();
                        continue;
                    }
                }
                let out_now = out_dir(&setup, out_arg.clone());
                let watched: Vec<PathBuf> = setup
                    .inputs
                    .iter()
                    .map(|p| crate::watch::absolute(p))
                    .collect();
                if watched != targets.models || crate::watch::absolute(&out_now) != targets.out {
                    break;
                }
            }
            let backend = self::backend(&setup, backend_arg);
            run_generate(
                &setup,
                args,
                &out,
                backend,
                mode,
                Some(started),
                Some(&mut memo),
            );
        }
    }
}

fn breaking(model: &ModelArgs, args: &ReportArgs, against: &str) -> i32 {
    use crate::breaking;
    let setup = match setup(model) {
        Ok(s) => s,
        Err(e) => return e.report_as(args.format),
    };
    let backend = backend(&setup, None);
    let new = analyze_with_lints(&setup, backend);
    // With --deny-warnings a warning is an error here too (cli.md).
    let denied = args.deny_warnings
        && new
            .diagnostics
            .list
            .iter()
            .any(|d| d.severity == Severity::Warning);
    if new.diagnostics.has_errors() || denied {
        let code = report(&new, args);
        let what = if new.diagnostics.has_errors() {
            "errors"
        } else {
            "warnings, and --deny-warnings is given"
        };
        eprintln!("error: the model has {what}; fix them before comparing contracts");
        return code;
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    // Model paths from storm.yaml are those it named at the revision.
    let entries;
    let config = match setup.config.as_ref() {
        Some(found) if model.models.is_empty() && !found.models.is_empty() => {
            entries = found.config.model.entries();
            Some((found.path.as_path(), entries.as_slice()))
        }
        _ => None,
    };
    let (old, notes) =
        match breaking::analyze_against(&cwd, against, &setup.inputs, config, backend) {
            Ok(old) => old,
            Err(e) => return fail(e),
        };
    if old.diagnostics.has_errors() {
        for d in old
            .diagnostics
            .list
            .iter()
            .filter(|d| d.severity == Severity::Error)
        {
            eprint!("{}", render::human(&old.sources, d, style()));
        }
        return fail(format!(
            "the model at `{against}` has errors, so its contracts cannot be compared"
        ));
    }
    let changes = breaking::compare(&old.model, &new.model);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // A model that is not at the revision yet: said in every format.
    print_notes(&notes, args, &mut out);
    for change in &changes {
        let _ = match args.format {
            Format::Human => {
                eprint!("{}", breaking::human(&new.sources, change, style()));
                Ok(())
            }
            Format::Json => writeln!(out, "{}", breaking::json(&new.sources, change)),
            Format::Github => writeln!(out, "{}", breaking::github(&new.sources, change)),
        };
    }
    if args.format == Format::Human && !args.quiet {
        eprintln!("{} against `{against}`", breaking::summary(&changes));
    }
    if breaking::has_breaking(&changes) {
        FAILED
    } else {
        OK
    }
}

fn fmt(model: &ModelArgs, check: bool) -> i32 {
    use crate::fmt::FormatError;
    let setup = match setup(model) {
        Ok(s) => s,
        Err(e) => return e.report(),
    };
    let mut sources = crate::source::Sources::default();
    let mut diagnostics = crate::diagnostic::Diagnostics::default();
    crate::loader::load(&setup.inputs, &mut sources, &mut diagnostics);
    let style = style();
    if !diagnostics.list.is_empty() {
        for d in &diagnostics.list {
            eprint!("{}", render::human(&sources, d, style));
        }
        return USAGE;
    }
    let (mut changed, mut failed) = (Vec::new(), false);
    let ids: Vec<_> = sources.iter().map(|(id, _)| id).collect();
    for id in ids {
        let file = sources.get(id);
        match crate::fmt::format_as(id, &file.text) {
            Ok(formatted) if formatted == file.text => {}
            Ok(formatted) => changed.push((file.path.clone(), file.text.clone(), formatted)),
            Err(FormatError::Syntax(d)) => {
                for d in &d.list {
                    eprint!("{}", render::human(&sources, d, style));
                }
                failed = true;
            }
            Err(FormatError::Internal(message)) => {
                eprintln!("error: {message}");
                return BUG;
            }
        }
    }
    if failed {
        eprintln!("error: files with syntax errors were not formatted");
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (path, old, new) in &changed {
        let shown = render::display_path(path);
        if check {
            let diff = similar::TextDiff::from_lines(old, new);
            let text = diff
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{shown}"), &format!("b/{shown}"))
                .to_string();
            let _ = write!(out, "{text}");
        } else if let Err(e) = crate::writer::write_atomic(path, new) {
            return fail(format!("cannot write `{shown}`: {e}"));
        } else {
            eprintln!("formatted {shown}");
        }
    }
    if check && !changed.is_empty() {
        eprintln!(
            "error: {} file{} not formatted; run `storm fmt`",
            changed.len(),
            if changed.len() == 1 { " is" } else { "s are" }
        );
        return FAILED;
    }
    if failed { FAILED } else { OK }
}

fn describe(inputs: &[PathBuf]) -> String {
    inputs
        .iter()
        .map(|p| format!("`{}`", render::display_path(p)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn init(dir: &Path) -> i32 {
    let files = crate::init::files(&crate::watch::absolute(dir));
    // Everything is looked at before anything is written: a project is made
    // whole or not at all.
    for (name, _) in &files {
        let path = dir.join(name);
        if path.exists() {
            return fail(format!(
                "`{}` already exists; storm init starts new projects only",
                path.display()
            ));
        }
        // A file where a folder of the project goes (`dir` itself included).
        let folders = path.ancestors().skip(1);
        if let Some(file) = folders
            .take_while(|f| !f.as_os_str().is_empty() && f.starts_with(dir))
            .find(|f| f.exists() && !f.is_dir())
        {
            return fail(format!(
                "`{}` is a file, where storm init would make a folder; move it away or choose another folder",
                file.display()
            ));
        }
    }
    for (name, content) in &files {
        let path = dir.join(name);
        if let Err(e) = crate::writer::write_atomic(&path, content) {
            return fail(format!("cannot write `{}`: {e}", path.display()));
        }
        println!("created {}", render::display_path(&path));
    }
    let cd = if dir == Path::new(".") {
        String::new()
    } else {
        format!("cd {} && ", dir.display())
    };
    println!("next: `{cd}storm check` to check the model, `storm generate` to generate from it");
    OK
}

fn out_dir(setup: &Setup, out: Option<PathBuf>) -> PathBuf {
    let out = match (out, &setup.config) {
        (Some(out), _) => out,
        (None, Some(found)) => shorten(
            &found.dir.join(
                found
                    .config
                    .out
                    .as_deref()
                    .unwrap_or(Path::new("generated")),
            ),
        ),
        (None, None) => PathBuf::from("generated"),
    };
    without_missing_steps(&out)
}

/// `path` with each `folder/..` whose folder does not exist taken out: the
/// output directory `x/../y` is `y`, and making it does not leave an empty `x`
/// behind. A folder that exists stays, so that `..` out of a linked folder goes
/// where the file system takes it.
fn without_missing_steps(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        let step_back = component == Component::ParentDir
            && matches!(out.components().next_back(), Some(Component::Normal(_)))
            && std::fs::symlink_metadata(&out)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
        if step_back {
            out.pop();
        } else {
            out.push(component);
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// The output directory must not overlap the model: storm owns everything below
/// it, and `watch` ignores its own writes there. storm.yaml's own `out` and
/// `model` were checked where they are written; this catches the command line's.
fn apart(setup: &Setup, out: &Path, from_command_line: bool) -> Result<(), SetupError> {
    let Some((i, how)) = config::overlap(&config::real_path(out), &setup.inputs) else {
        return Ok(());
    };
    let instead = if from_command_line {
        "give `--out` a directory of its own"
    } else {
        "set `out` in storm.yaml to a directory of its own"
    };
    Err(SetupError::Message(format!(
        "the output directory `{}` {how} `{}`; storm owns everything below it and would write into the model: {instead}, e.g. `generated`",
        out.display(),
        setup.inputs[i].display()
    )))
}

/// Checks the model and generates (or, with `check`, compares). Returns the exit
/// code and, when files were written, the summary.
/// What `watch` keeps from one run for the next: the parse of every top-level
/// block and the render of every part, so that an edit costs what it touches.
#[derive(Default)]
struct Kept {
    analysis: crate::analysis::Memo,
    render: crate::generate::Memo,
}

fn run_generate(
    setup: &Setup,
    args: &ReportArgs,
    out: &Path,
    backend: Backend,
    mode: Mode,
    started: Option<std::time::Instant>,
    memo: Option<&mut Kept>,
) -> (i32, Option<crate::writer::Summary>) {
    let (parsed, rendered) = match memo {
        Some(kept) => (Some(&mut kept.analysis), Some(&mut kept.render)),
        None => (None, None),
    };
    let analysed = time("analyse", || analyze_kept(setup, backend, parsed));
    // A run that ends when done (all but `watch`'s) keeps the model to the end:
    // freeing it piece by piece would only add to the time a user waits.
    let kept;
    let analysis: &Analysis = if rendered.is_none() {
        Box::leak(Box::new(analysed))
    } else {
        kept = analysed;
        &kept
    };
    let code = report(analysis, args);
    if code != OK {
        if args.format == Format::Human {
            eprintln!("error: nothing generated; fix the errors above first");
        }
        return (code, None);
    }
    // Generating nothing would remove every file of the last run: an empty model
    // is far more often a file caught mid-save (or a wrong path) than a wish.
    if analysis.model.context_ids().next().is_none() {
        eprintln!(
            "error: the model has no contexts; nothing generated, and `{}` is left as it is",
            out.display()
        );
        return (FAILED, None);
    }
    let config = setup.config.as_ref().map(|f| &f.config);
    if let Some(note) = namespace(setup).1.filter(|_| !args.quiet) {
        eprintln!("note: {note}");
    }
    let wire = wire(setup, backend);
    if backend == Backend::Kafka && wire.routing.kms_key.is_some() && !args.quiet {
        eprintln!(
            "note: `targets.routing.kms_key` encrypts the AWS backends' resources; the kafka routing does not use it"
        );
    }
    let targets = match config {
        None => crate::generate::Targets::ALL,
        Some(c) => crate::generate::Targets {
            rust: c.targets.rust.enabled(),
            schemas: c.targets.schemas,
            routing: c.targets.routing.enabled(),
            docs: c.targets.docs,
        },
    };
    // Nothing changed since the last run: the disk is as it left it.
    let key = crate::stamp::Key::new(&analysis.sources, &wire, targets);
    if let Some(fresh) = time("stamp", || crate::stamp::fresh(out, &key)) {
        if mode.check {
            // Said as the full comparison says it: the stamp is only a shortcut.
            if !args.quiet {
                eprintln!("generated files are up to date");
            }
            return (OK, None);
        }
        let summary = crate::writer::Summary {
            written: 0,
            unchanged: fresh.owned,
            removed: 0,
            kept: fresh.hand_written,
        };
        if !args.quiet {
            print_summary(out, &summary, started);
        }
        return (OK, Some(summary));
    }
    // Into a folder that does not exist yet, each target is written as soon as
    // it is rendered: nothing on disk to compare with, and nothing held.
    if !mode.check && rendered.is_none() {
        match crate::writer::Staging::start(out) {
            crate::writer::Start::Staged(staging) => {
                return staged(
                    staging,
                    out,
                    &analysis.model,
                    &wire,
                    targets,
                    &key,
                    args,
                    started,
                );
            }
            crate::writer::Start::Leftover(dir) if !args.quiet => eprintln!(
                "note: `{}` is left from a run of storm that was stopped before it finished; storm writes in place, and the folder can be deleted",
                dir.display()
            ),
            _ => {}
        }
    }
    // What the last run recorded is read while the targets render.
    let (files, recorded) = std::thread::scope(|scope| {
        let recorded = scope.spawn(|| crate::stamp::Recorded::of(out));
        let files = time("render", || {
            crate::generate::files_with(
                &analysis.model,
                &wire,
                targets,
                rendered.map(|m| (m, &analysis.sources)),
            )
        });
        let recorded = recorded
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (files, recorded)
    });
    let files = match files {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return (FAILED, None);
        }
    };
    let plan = match time("compare", || {
        crate::writer::plan(out, &files, mode.force, &recorded)
    }) {
        Ok(plan) => plan,
        Err(e) => return (fail(format!("cannot read `{}`: {e}", out.display())), None),
    };
    if mode.check {
        return (drift(&plan, args.quiet), None);
    }
    crate::stamp::forget(out);
    let summary = match time("write", || plan.apply()) {
        Ok(summary) => summary,
        Err(e) => {
            return (
                fail(format!("cannot write below `{}`: {e}", out.display())),
                None,
            );
        }
    };
    let conflicts = plan.conflicts();
    for (path, action) in &conflicts {
        let shown = out.join(path);
        let shown = shown.display();
        match action {
            crate::writer::Action::Foreign => eprintln!(
                "error: `{shown}` was not written by storm, and storm will not overwrite it; move it away (or delete it) and run again"
            ),
            crate::writer::Action::EditedStale { .. } => eprintln!(
                "error: `{shown}` is no longer generated, but was edited by hand, so storm did not remove it; delete it, or run `storm generate --force`"
            ),
            _ => eprintln!(
                "error: `{shown}` was edited by hand since storm generated it; storm did not overwrite it. Move your change into the model or a hand-written file, then run `storm generate --force` to regenerate it"
            ),
        }
    }
    if conflicts.is_empty() {
        time("record stamp", || {
            let left = crate::stamp::Left::all(&files);
            crate::stamp::record(out, &key, &left, &plan.seen, &plan.written())
        });
    }
    if !args.quiet {
        print_summary(out, &summary, started);
    }
    let code = if conflicts
        .iter()
        .any(|(_, a)| matches!(a, crate::writer::Action::Foreign))
    {
        USAGE
    } else if conflicts.is_empty() {
        OK
    } else {
        FAILED
    };
    (code, Some(summary))
}

/// `generate` into `out`, which does not exist yet, through `staging`: each
/// part of the output is written as soon as it is rendered, and the tree is put
/// in place at `out` when complete. On any error nothing is left at `out`.
#[allow(clippy::too_many_arguments)]
fn staged(
    staging: crate::writer::Staging,
    out: &Path,
    model: &crate::model::Model,
    wire: &Wire,
    targets: crate::generate::Targets,
    key: &crate::stamp::Key,
    args: &ReportArgs,
    started: Option<std::time::Instant>,
) -> (i32, Option<crate::writer::Summary>) {
    use crate::parallel::lock;
    crate::stamp::forget(out);
    let written = std::sync::Mutex::new(Vec::new());
    // Paths with names too long for the file system; the first write error.
    let long = std::sync::Mutex::new(Vec::new());
    let failed = std::sync::Mutex::new(None);
    // The folders are made on a thread of their own while the targets start
    // rendering (one core would otherwise wait); no file is written before.
    let ready = std::sync::OnceLock::new();
    let (premade, delivered) = std::thread::scope(|scope| {
        let premaking = scope.spawn(|| {
            let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                staging.premake(crate::generate::folders(model, targets))
            }));
            // Set before a panic is carried on, so that no writer waits forever.
            let _ = ready.set(matches!(made, Ok(Ok(()))));
            made.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        let delivered = time("render and write", || {
            crate::generate::delivered(model, wire, targets, &|files| {
                let mut too_long: Vec<PathBuf> = files
                    .iter()
                    .filter(|(path, _)| !crate::generate::fits(path))
                    .map(|(path, _)| path.clone())
                    .collect();
                if !too_long.is_empty() {
                    lock(&long).append(&mut too_long);
                }
                // Once the run has failed, the rest is only rendered.
                if !lock(&long).is_empty() || lock(&failed).is_some() || !*ready.wait() {
                    return;
                }
                match staging.write(files) {
                    Ok(mut files) => lock(&written).append(&mut files),
                    Err(e) => *lock(&failed) = Some(e),
                }
            })
        });
        let premade = premaking
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (premade, delivered)
    });
    if let Err(e) = delivered {
        eprintln!("error: {e}");
        return (FAILED, None);
    }
    // What the model can mend comes before what the file system refused.
    let mut long = crate::parallel::unlocked(long);
    if !long.is_empty() {
        long.sort_unstable();
        eprintln!(
            "error: {}",
            crate::generate::names_too_long(&crate::generate::too_long(&long))
        );
        return (FAILED, None);
    }
    if let Some(e) = premade.err().or(crate::parallel::unlocked(failed)) {
        return (
            fail(format!("cannot write below `{}`: {e}", out.display())),
            None,
        );
    }
    let mut written = crate::parallel::unlocked(written);
    written.sort_unstable_by(|a, b| crate::writer::path_order(&a.path, &b.path));
    let folders = match staging.finish() {
        Ok(folders) => folders,
        Err(e) => {
            let why = if out.exists() {
                "something was put there while storm generated, so nothing was written: run again"
            } else {
                "nothing was written"
            };
            return (
                fail(format!(
                    "cannot put the generated files in place at `{}`: {e}; {why}",
                    out.display()
                )),
                None,
            );
        }
    };
    let seen = crate::stamp::Seen {
        dirs: folders,
        files: written
            .iter()
            .filter_map(|file| Some((file.path.clone(), file.state?)))
            .collect(),
    };
    time("record stamp", || {
        let left: Vec<crate::stamp::Left> = written
            .iter()
            .map(|file| crate::stamp::Left {
                path: &file.path,
                owner: file.owner,
                checksum: file.checksum.as_deref(),
            })
            .collect();
        crate::stamp::record(out, key, &left, &seen, &[]);
    });
    let summary = crate::writer::Summary {
        written: written.len(),
        ..Default::default()
    };
    if !args.quiet {
        print_summary(out, &summary, started);
    }
    (OK, Some(summary))
}

/// The line that ends a run that wrote: what it did, and how long it took.
fn print_summary(
    out: &Path,
    summary: &crate::writer::Summary,
    started: Option<std::time::Instant>,
) {
    let kept = if summary.kept > 0 {
        format!(", {} hand-written kept", summary.kept)
    } else {
        String::new()
    };
    let took = started
        .map(|t| format!(" in {} ms", t.elapsed().as_millis()))
        .unwrap_or_default();
    eprintln!(
        "generated into `{}`: {} written, {} unchanged, {} removed{kept}{took}",
        out.display(),
        summary.written,
        summary.unchanged,
        summary.removed
    );
}

/// Prints a unified diff for every file that drifted; exit 1 if any did.
fn drift(plan: &crate::writer::Plan, quiet: bool) -> i32 {
    let drifted = plan.drift();
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (path, old, new, why) in &drifted {
        let shown = plan.out.join(path);
        let shown = render::display_path(&shown);
        let _ = writeln!(out, "{shown}: {why}");
        let diff = similar::TextDiff::from_lines(*old, *new);
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{shown}"), &format!("b/{shown}"))
            .to_string();
        for line in text.lines() {
            let painted = match line.chars().next() {
                Some('+') if color && !line.starts_with("+++") => format!("\x1b[32m{line}\x1b[0m"),
                Some('-') if color && !line.starts_with("---") => format!("\x1b[31m{line}\x1b[0m"),
                Some('@') if color => format!("\x1b[36m{line}\x1b[0m"),
                _ => line.to_string(),
            };
            let _ = writeln!(out, "{painted}");
        }
    }
    if drifted.is_empty() {
        if !quiet {
            eprintln!("generated files are up to date");
        }
        OK
    } else {
        eprintln!(
            "error: {} generated file{} out of date; run `storm generate` and commit the result",
            drifted.len(),
            if drifted.len() == 1 { " is" } else { "s are" }
        );
        FAILED
    }
}

fn diagram(model: &ModelArgs, format: DiagramFormat, context: Option<&str>) -> i32 {
    let setup = match setup(model) {
        Ok(s) => s,
        Err(e) => return e.report(),
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
    print!("{}", diagram::render(m, format, context));
    OK
}

fn explain(code: Option<&str>) -> i32 {
    use crate::breaking::What;
    match code {
        None => {
            println!("storm's diagnostic codes (`storm explain CODE` for one):\n");
            for code in Code::ALL {
                println!("  {}", first_line(code.explanation()));
            }
            println!("\nThe changes `storm breaking` reports (`storm explain CHANGE` for one):\n");
            for what in What::ALL {
                println!("  {}", first_line(what.explanation()));
            }
            OK
        }
        Some(name) => {
            let name = name.trim_start_matches("storm::");
            let page = Code::from_name(name)
                .map(Code::explanation)
                .or_else(|| What::from_name(name).map(What::explanation));
            match page {
                Some(page) => {
                    print!("{page}");
                    OK
                }
                None => {
                    let names = || {
                        Code::ALL
                            .iter()
                            .map(|c| c.as_str())
                            .chain(What::ALL.iter().map(|w| w.as_str()))
                    };
                    // A name cut short (`field-added`) is far from each of its
                    // endings, and near to none: those it begins are offered.
                    let begun: Vec<&str> = names()
                        .filter(|n| name.len() >= 3 && n.starts_with(&name.to_lowercase()))
                        .collect();
                    let hint = match crate::resolve::closest(name, names()) {
                        Some(c) => format!("did you mean `{c}`? "),
                        None if !begun.is_empty() => {
                            format!("did you mean {}? ", crate::resolve::either(&begun))
                        }
                        None => String::new(),
                    };
                    fail(format!(
                        "no diagnostic code or change `{name}`; {hint}`storm explain` lists them all"
                    ))
                }
            }
        }
    }
}

fn first_line(page: &str) -> &str {
    page.lines().next().unwrap_or_default()
}
