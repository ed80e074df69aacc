//! One case per fixture in `fixtures/check/`: a model (file or directory) named
//! `<code>--<case>`. A case triggers its code, an `ok-` case must not; the full
//! rendered diagnostics are an insta snapshot.

mod common;

use storm::diagnostic::Code;

#[test]
fn check_fixtures() {
    let mut failures = Vec::new();
    for path in common::entries("tests/fixtures/check") {
        let name = common::stem(&path);
        let (analysis, mut rendered) = common::rendered(std::slice::from_ref(&path));
        // Notes (checks skipped, warnings held back) are part of what a person sees.
        for note in &analysis.notes {
            rendered.push_str(&format!("note: {note}\n"));
        }
        let (code, case) = name.split_once("--").expect("fixture named <code>--<case>");
        let code = Code::from_name(code).unwrap_or_else(|| panic!("{name}: unknown code"));
        let found = analysis.diagnostics.list.iter().any(|d| d.code == code);
        let expected = !case.starts_with("ok-");
        if found != expected {
            failures.push(format!(
                "{name}: expected {}`{code}`, got:\n{rendered}",
                if expected { "" } else { "no " }
            ));
        }
        insta::with_settings!({ snapshot_path => "snapshots/check", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(name, rendered);
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every code storm can report has a fixture that produces it, and an explanation.
#[test]
fn every_code_has_a_fixture_and_an_explanation() {
    // Config problems are not about the model: their cases are workflow scenarios.
    let names: Vec<String> = common::entries("tests/fixtures/check")
        .into_iter()
        .chain(common::entries("tests/fixtures/workflow"))
        .map(|p| common::stem(&p))
        .collect();
    for code in Code::ALL {
        assert!(
            names
                .iter()
                .any(|n| n.starts_with(&format!("{code}--")) && !n.contains("--ok-")),
            "no fixture produces `{code}`"
        );
        let explanation = code.explanation();
        assert!(
            explanation.starts_with(&format!("{code} (")),
            "explanation of `{code}` must start with its code"
        );
        assert!(
            explanation.contains("Example"),
            "explanation of `{code}` has no example"
        );
    }
}
