//! `storm watch` keeps what each run rendered (`generate::Memo`) and re-renders
//! only what an edit affects. Each fixture in `fixtures/incremental/` is a model
//! and a series of edits, one save each; after every save, what is rendered with
//! the memo of the saves before must be exactly what a fresh run renders, for
//! every backend.

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

fn render(
    path: &Path,
    text: &str,
    backend: Backend,
    memo: Option<&mut Memo>,
) -> BTreeMap<PathBuf, Output> {
    let analysis =
        storm::analysis::analyze_texts(vec![(path.to_path_buf(), text.to_string())], backend);
    let errors: Vec<String> = analysis
        .diagnostics
        .list
        .iter()
        .filter(|d| d.severity == storm::diagnostic::Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    assert!(
        errors.is_empty(),
        "the edited model checks clean: {errors:#?}"
    );
    let wire = Wire::new("com.example.edits".to_string(), backend);
    generate::files_with(&analysis.model, &wire, Targets::ALL, memo).expect("the model renders")
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
            let mut memo = Memo::default();
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
                let fresh = render(&path, &text, backend, None);
                let remembered = render(&path, &text, backend, Some(&mut memo));
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
