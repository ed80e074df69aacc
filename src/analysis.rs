//! The front half of the pipeline: files → syntax trees → resolved model → checks.

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Severity};
use crate::graph::ModelGraph;
use crate::model::Model;
use crate::source::{FileId, Sources, Span};
use crate::timings::time;
use crate::wire::Backend;
use crate::{ast, checks, loader, resolve, syntax};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

pub struct Analysis {
    pub sources: Sources,
    pub model: Model,
    pub diagnostics: Diagnostics,
    /// Warnings not reported because errors elsewhere in the model may explain
    /// them (an event "never emitted" in a context whose `emits` has a typo);
    /// shown once the errors are fixed.
    pub suppressed_warnings: usize,
    /// What a reader of the diagnostics should also know, one sentence each
    /// (without a `note:` prefix): checks that ran on part of the model only,
    /// findings not shown. Every output format carries them.
    pub notes: Vec<String>,
}

impl Analysis {
    /// Whether a model file could not be read at all (exit code 2, not 1).
    pub fn has_io_errors(&self) -> bool {
        self.diagnostics.list.iter().any(|d| d.code == Code::Io)
    }
}

/// Reads and checks a model, reporting every problem of a stage.
///
/// A file that cannot be read or does not parse is left out of the model, and the
/// files that parsed are resolved and checked without it; findings that what the
/// broken file declares might explain (a name it may define, an element it may
/// use, a context-map path it may hold) are not shown, and a note says so. When
/// no file parsed, nothing is resolved: checks on fragments would mostly report
/// what the syntax errors already explain. Resolution errors do not stop the graph
/// checks, which work on whatever resolved.
pub fn analyze(inputs: &[PathBuf], backend: Backend) -> Analysis {
    analyze_with(inputs, backend, None)
}

/// [`analyze`], parsing again only what changed since the analysis that left
/// `memo` (`storm watch`).
pub fn analyze_with(inputs: &[PathBuf], backend: Backend, memo: Option<&mut Memo>) -> Analysis {
    let mut sources = Sources::default();
    let mut diagnostics = Diagnostics::default();
    time("load", || {
        loader::load(inputs, &mut sources, &mut diagnostics)
    });
    analyze_sources(sources, diagnostics, backend, memo)
}

/// The same for a model held in memory (read from a git revision, say), as
/// (path, text) pairs in path order.
pub fn analyze_texts(files: Vec<(PathBuf, String)>, backend: Backend) -> Analysis {
    analyze_texts_with(files, backend, None)
}

/// [`analyze_texts`] with a [`Memo`], as [`analyze_with`].
pub fn analyze_texts_with(
    files: Vec<(PathBuf, String)>,
    backend: Backend,
    memo: Option<&mut Memo>,
) -> Analysis {
    let mut sources = Sources::default();
    for (path, text) in files {
        sources.add(path, text);
    }
    analyze_sources(sources, Diagnostics::default(), backend, memo)
}

/// What one analysis leaves for the next in the same process: each file's
/// parsed blocks ([`syntax::Memo`]), by path.
#[derive(Default)]
pub struct Memo {
    files: HashMap<PathBuf, syntax::Memo>,
}

fn analyze_sources(
    sources: Sources,
    mut diagnostics: Diagnostics,
    backend: Backend,
    mut memo: Option<&mut Memo>,
) -> Analysis {
    // A file that could not be read properly (not UTF-8) is not parsed: its
    // syntax errors would be about bytes that are not there.
    let unreadable: HashSet<FileId> = diagnostics
        .list
        .iter()
        .filter(|d| d.code == Code::Io)
        .map(|d| d.span().file)
        .collect();
    let parsed: Vec<(FileId, ast::File)> = sources
        .iter()
        .filter(|(id, _)| !unreadable.contains(id))
        .map(|(id, file)| {
            let parsed = time("parse", || match memo.as_deref_mut() {
                Some(memo) => {
                    let kept = memo.files.entry(file.path.clone()).or_default();
                    syntax::parse_with(id, &file.text, &mut diagnostics, kept)
                }
                None => syntax::parse(id, &file.text, &mut diagnostics),
            });
            (id, parsed)
        })
        .collect();
    if let Some(memo) = memo {
        memo.files
            .retain(|path, _| sources.iter().any(|(_, f)| f.path == *path));
    }
    // So far every diagnostic is about its own file: unreadable, or not the grammar.
    let mut broken: BTreeMap<FileId, Code> = BTreeMap::new();
    for d in &diagnostics.list {
        broken.entry(d.span().file).or_insert(d.code);
    }
    let clean: Vec<ast::File> = parsed
        .into_iter()
        .filter(|(id, _)| !broken.contains_key(id))
        .map(|(_, file)| file)
        .collect();
    let has_content = clean
        .iter()
        .any(|f| !f.contexts.is_empty() || !f.context_maps.is_empty());
    let mut model = Model::default();
    let mut suppressed_warnings = 0;
    let mut notes = Vec::new();
    if broken.is_empty() || has_content {
        let mut resolved = Diagnostics::default();
        model = time("resolve", || resolve::resolve(&clean, &mut resolved));
        let mut checked = Diagnostics::default();
        time("checks", || {
            let graph = ModelGraph::build(&model);
            checks::run(&model, &graph, &mut checked);
            checks::routing_fits(&model, backend, &mut checked);
        });

        // Findings that the files left out may explain are not shown.
        if !broken.is_empty() {
            let missing = Missing::new(&sources, &broken);
            let before = resolved.list.len() + checked.list.len();
            resolved.list.retain(|d| !missing.may_explain(&sources, d));
            checked.list.retain(|d| !missing.may_explain(&sources, d));
            let hidden = before - resolved.list.len() - checked.list.len();
            notes.push(missing.note(&sources, &broken, hidden));
        }
        // Nor are warnings that the errors shown may explain.
        let echoes = Echoes::new(&clean, &resolved);
        let before = checked.list.len();
        checked.list.retain(|d| !echoes.explain(d));
        suppressed_warnings = before - checked.list.len();
        diagnostics.list.extend(resolved.list);
        diagnostics.list.extend(checked.list);
    }
    if suppressed_warnings > 0 {
        notes.push(format!(
            "{suppressed_warnings} warning{} not shown until the errors are fixed",
            if suppressed_warnings == 1 { "" } else { "s" }
        ));
    }
    diagnostics.sort();
    Analysis {
        sources,
        model,
        diagnostics,
        suppressed_warnings,
        notes,
    }
}

/// Where the resolution of the model reported errors, to tell which warnings
/// may only echo them.
struct Echoes {
    /// The primary span of every resolution error.
    errors: Vec<Span>,
    /// The extent of every context that was resolved.
    contexts: Vec<Span>,
}

impl Echoes {
    fn new(files: &[ast::File], resolved: &Diagnostics) -> Echoes {
        Echoes {
            errors: resolved
                .list
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(Diagnostic::span)
                .collect(),
            contexts: files
                .iter()
                .flat_map(|f| &f.contexts)
                .map(|c| c.span)
                .collect(),
        }
    }

    /// Whether a warning may only follow from a resolution error: a reference that
    /// did not resolve leaves out the edge that would have made an element used,
    /// an event emitted or a state reachable. Emitting events and reaching states
    /// happen inside one context, so only an error in the same context can explain
    /// those; any element may be used from anywhere.
    fn explain(&self, d: &Diagnostic) -> bool {
        if self.errors.is_empty() || d.severity != Severity::Warning {
            return false;
        }
        match d.code {
            Code::UnusedElement => true,
            Code::EventNeverEmitted | Code::UnreachableState => {
                let within = |outer: &Span, inner: Span| {
                    outer.file == inner.file && outer.start <= inner.start && inner.end <= outer.end
                };
                match self.contexts.iter().find(|c| within(c, d.span())) {
                    Some(context) => self.errors.iter().any(|&e| within(context, e)),
                    None => true,
                }
            }
            _ => false,
        }
    }
}

/// What is known of the files left out of the model: the words they hold.
struct Missing<'s> {
    words: HashSet<&'s str>,
    /// A file left out could not be read at all, so it may hold anything.
    unknown: bool,
}

impl<'s> Missing<'s> {
    fn new(sources: &'s Sources, broken: &BTreeMap<FileId, Code>) -> Missing<'s> {
        let mut words = HashSet::new();
        let mut unknown = false;
        for &file in broken.keys() {
            let text = &sources.get(file).text;
            unknown |= text.is_empty();
            words.extend(words_of(text));
        }
        Missing { words, unknown }
    }

    /// Whether a finding about the files that parsed might be wrong because of what
    /// the files left out declare. Checks inside one element or one context stand:
    /// a context lives in one file (declaring it twice is an error of its own). A
    /// context may be declared in a left-out file only if that file mentions it;
    /// whether an element is used and which context-map paths exist depend on
    /// every file.
    fn may_explain(&self, sources: &Sources, d: &Diagnostic) -> bool {
        match d.code {
            // A bare name is looked up in its own context, which a file that parsed
            // holds whole: only a context, or a name qualified with one, may be
            // declared in a file left out.
            Code::UnknownReference => {
                let text = sources.text(d.span());
                let elsewhere = text.contains('.') || d.message.starts_with("unknown context");
                elsewhere && (self.unknown || words_of(text).any(|w| self.words.contains(w)))
            }
            Code::UnusedElement | Code::UndeclaredDependency => true,
            _ => false,
        }
    }

    fn note(&self, sources: &Sources, broken: &BTreeMap<FileId, Code>, hidden: usize) -> String {
        let list = |io: bool| {
            let mut names: Vec<String> = broken
                .iter()
                .filter(|&(_, &code)| (code == Code::Io) == io)
                .map(|(&file, _)| format!("`{}`", crate::render::display_path(sources.path(file))))
                .collect();
            match names.pop() {
                Some(last) if !names.is_empty() => format!("{} and {last}", names.join(", ")),
                Some(last) => last,
                None => String::new(),
            }
        };
        let (unparsed, unread) = (list(false), list(true));
        let files = match (unparsed.is_empty(), unread.is_empty()) {
            (false, true) => format!("{unparsed} did not parse"),
            (true, false) => format!("{unread} could not be read"),
            _ => format!("{unparsed} did not parse and {unread} could not be read"),
        };
        let them = if broken.len() == 1 { "it" } else { "them" };
        let mut note = format!(
            "{files}, so the rest of the model was checked without {them}; checks that need the whole model (unused elements, context-map dependencies, names {them} may declare) were skipped"
        );
        if hidden > 0 {
            note.push_str(&format!(
                "; {hidden} finding{} that may depend on {them} {} not shown",
                if hidden == 1 { "" } else { "s" },
                if hidden == 1 { "is" } else { "are" }
            ));
        }
        note
    }
}

/// The words (identifiers) of a text.
fn words_of(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}
