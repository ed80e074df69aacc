//! `storm watch` keeps what each run parsed (`analysis::Memo`) and rendered
//! (`generate::Memo`), and parses and renders again only what an edit affects.
//! Each fixture in `fixtures/incremental/` is a model and a series of edits, one
//! save each; after every save, the syntax tree and the model (spans included),
//! the diagnostics and (for a model without errors) the files produced with the
//! memo of the saves before must be exactly what a fresh run produces, for every
//! backend. A save may break the model: the next one repairs it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use storm::generate::{self, Memo, Output, Targets};
use storm::wire::{Backend, Wire};

const BACKENDS: [Backend; 3] = [Backend::Eventbridge, Backend::SnsSqs, Backend::Kafka];

/// A fixture: the model's path and its edits, each `(old, new)` replaced everywhere.
fn read(fixture: &Path) -> (PathBuf, Vec<(String, String)>) {
    let text = std::fs::read_to_string(fixture).expect("the fixture reads");
    let mut model = None;
    let mut edits = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        if let Some(path) = line.strip_prefix("model ") {
            model = Some(PathBuf::from(path));
        } else if let Some(edit) = line.strip_prefix("replace ") {
            let (old, new) = edit
                .split_once(" => ")
                .unwrap_or_else(|| panic!("`{line}`: replace OLD => NEW"));
            edits.push((old.replace("\\n", "\n"), new.replace("\\n", "\n")));
        } else {
            panic!("{}: unknown line `{line}`", fixture.display());
        }
    }
    (model.expect("a `model PATH` line"), edits)
}

/// What a run keeps for the next, as `storm watch` keeps it, and the parser's
/// own memo, whose syntax trees are compared directly.
#[derive(Default)]
struct Kept {
    analysis: storm::analysis::Memo,
    render: Memo,
    parse: storm::syntax::Memo,
}

/// The syntax tree of `text` with every span, and the syntax errors, as text.
fn parsed(text: &str, memo: Option<&mut storm::syntax::Memo>) -> String {
    let file = storm::source::FileId(0);
    let mut diagnostics = storm::diagnostic::Diagnostics::default();
    let tree = match memo {
        Some(memo) => storm::syntax::parse_with(file, text, &mut diagnostics, memo),
        None => storm::syntax::parse(file, text, &mut diagnostics),
    };
    format!("{tree:#?}\n{:#?}", diagnostics.list)
}

/// The analysis (syntax tree, model and diagnostics, spans included, as text)
/// and the files, none when the model has errors.
fn run(
    path: &Path,
    text: &str,
    backend: Backend,
    kept: Option<&mut Kept>,
) -> (String, BTreeMap<PathBuf, Output>) {
    let (analysed, rendered, tree) = match kept {
        Some(k) => (
            Some(&mut k.analysis),
            Some(&mut k.render),
            parsed(text, Some(&mut k.parse)),
        ),
        None => (None, None, parsed(text, None)),
    };
    let files = vec![(path.to_path_buf(), text.to_string())];
    let analysis = storm::analysis::analyze_texts_with(files, backend, analysed);
    let seen = format!(
        "{tree}\n{:#?}\n{:#?}",
        analysis.model, analysis.diagnostics.list
    );
    if analysis.diagnostics.has_errors() {
        return (seen, BTreeMap::new());
    }
    let wire = Wire::new("com.example.edits".to_string(), backend);
    let files = generate::files_with(
        &analysis.model,
        &wire,
        Targets::ALL,
        rendered.map(|m| (m, &analysis.sources)),
    )
    .expect("the model renders");
    (seen, files)
}

#[test]
fn edits_render_as_a_fresh_run_would() {
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir("tests/fixtures/incremental")
        .expect("the fixtures exist")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    fixtures.sort();
    assert!(!fixtures.is_empty());
    for fixture in &fixtures {
        let (path, edits) = read(fixture);
        let original = std::fs::read_to_string(&path).expect("the model reads");
        for backend in BACKENDS {
            let mut kept = Kept::default();
            let mut text = original.clone();
            for step in 0..=edits.len() {
                if step > 0 {
                    let (old, new) = &edits[step - 1];
                    assert!(
                        text.contains(old.as_str()),
                        "{}: edit {step} finds `{old}`",
                        fixture.display()
                    );
                    text = text.replace(old.as_str(), new);
                }
                let (seen_fresh, fresh) = run(&path, &text, backend, None);
                let (seen, remembered) = run(&path, &text, backend, Some(&mut kept));
                assert!(
                    seen == seen_fresh,
                    "{} after edit {step}: parsed with the memo, the syntax tree, the model or the diagnostics differ from a fresh run",
                    fixture.display()
                );
                let differing: Vec<&PathBuf> = fresh
                    .keys()
                    .chain(remembered.keys())
                    .filter(|p| fresh.get(*p) != remembered.get(*p))
                    .collect();
                assert!(
                    differing.is_empty(),
                    "{} after edit {step} ({}): rendered with the memo, these differ from a fresh run: {differing:#?}",
                    fixture.display(),
                    backend.as_str()
                );
            }
        }
    }
}
