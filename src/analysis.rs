//! The front half of the pipeline: files → syntax trees → resolved model → checks.

use crate::diagnostic::{Code, Diagnostics};
use crate::graph::ModelGraph;
use crate::model::Model;
use crate::source::Sources;
use crate::wire::Backend;
use crate::{checks, loader, resolve, syntax};
use std::path::PathBuf;

pub struct Analysis {
    pub sources: Sources,
    pub model: Model,
    pub diagnostics: Diagnostics,
    /// Warnings not reported because the model did not resolve (they would mostly
    /// echo its errors); shown once the errors are fixed.
    pub suppressed_warnings: usize,
}

impl Analysis {
    /// Whether a model file could not be read at all (exit code 2, not 1).
    pub fn has_io_errors(&self) -> bool {
        self.diagnostics.list.iter().any(|d| d.code == Code::Io)
    }
}

/// Reads and checks a model, reporting every problem of a stage. A model whose
/// text does not parse is not resolved: checks on half a model would mostly
/// report what the syntax errors already explain. Resolution errors do not stop
/// the graph checks, which work on whatever resolved.
pub fn analyze(inputs: &[PathBuf], backend: Backend) -> Analysis {
    let mut sources = Sources::default();
    let mut diagnostics = Diagnostics::default();
    loader::load(inputs, &mut sources, &mut diagnostics);
    analyze_sources(sources, diagnostics, backend)
}

/// The same for a model held in memory (read from a git revision, say), as
/// (path, text) pairs in path order.
pub fn analyze_texts(files: Vec<(PathBuf, String)>, backend: Backend) -> Analysis {
    let mut sources = Sources::default();
    for (path, text) in files {
        sources.add(path, text);
    }
    analyze_sources(sources, Diagnostics::default(), backend)
}

fn analyze_sources(sources: Sources, mut diagnostics: Diagnostics, backend: Backend) -> Analysis {
    // A file that could not be read properly (not UTF-8) is not parsed: its
    // syntax errors would be about bytes that are not there.
    let unreadable: Vec<_> = diagnostics
        .list
        .iter()
        .filter(|d| d.code == Code::Io)
        .map(|d| d.span().file)
        .collect();
    let files: Vec<_> = sources
        .iter()
        .filter(|(id, _)| !unreadable.contains(id))
        .map(|(id, file)| syntax::parse(id, &file.text, &mut diagnostics))
        .collect();
    let mut model = Model::default();
    let mut suppressed_warnings = 0;
    if !diagnostics.has_errors() {
        model = resolve::resolve(&files, &mut diagnostics);
        let resolved = !diagnostics.has_errors();
        let graph = ModelGraph::build(&model);
        let mut checked = Diagnostics::default();
        checks::run(&model, &graph, &mut checked);
        checks::routing_fits(&model, backend, &mut checked);
        // Warnings about a model that did not resolve mostly echo its errors
        // (an event "never emitted" because the `emits` naming it was wrong).
        let before = checked.list.len();
        checked
            .list
            .retain(|d| resolved || d.severity == crate::diagnostic::Severity::Error);
        suppressed_warnings = before - checked.list.len();
        diagnostics.list.extend(checked.list);
    }
    diagnostics.sort();
    Analysis {
        sources,
        model,
        diagnostics,
        suppressed_warnings,
    }
}
