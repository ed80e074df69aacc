//! `storm fmt`, proved on data:
//! - every example model, every check fixture and every messy file in
//!   `fixtures/fmt/` formats idempotently, keeps every comment, and means the same:
//!   identical diagnostics (codes and messages) and identical generated files, for
//!   every backend;
//! - the messy files' formatted text is an insta snapshot (`snapshots/fmt/`);
//! - text with syntax errors is refused, and no input makes the formatter panic.

mod common;

use proptest::prelude::*;
use std::path::PathBuf;
use storm::fmt::{FormatError, format};
use storm::wire::{Backend, Wire};

/// Every model the tests know, as (name, files of (path, text)).
fn models() -> Vec<(String, Vec<(PathBuf, String)>)> {
    let mut inputs: Vec<PathBuf> = common::entries("examples")
        .into_iter()
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "storm"))
        .collect();
    inputs.extend(common::entries("tests/fixtures/check"));
    inputs.extend(common::entries("tests/fixtures/fmt"));
    inputs
        .into_iter()
        .filter_map(|input| {
            let mut sources = storm::source::Sources::default();
            let mut diags = storm::diagnostic::Diagnostics::default();
            storm::loader::load(std::slice::from_ref(&input), &mut sources, &mut diags);
            // Unreadable models (the `io` fixtures) have nothing to format.
            if !diags.list.is_empty() {
                return None;
            }
            let files = sources
                .iter()
                .map(|(_, f)| (f.path.clone(), f.text.clone()))
                .collect();
            Some((input.display().to_string(), files))
        })
        .collect()
}

/// The `//` and `///` comments of a text, in order, trailing spaces trimmed. Written
/// apart from the formatter's lexer so that the two check each other.
fn comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut in_string = false;
        let mut chars = line.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' if in_string => {
                    chars.next();
                }
                '"' => in_string = !in_string,
                '/' if !in_string && chars.peek().is_some_and(|(_, n)| *n == '/') => {
                    out.push(line[i..].trim_end().to_string());
                    break;
                }
                _ => {}
            }
        }
    }
    out
}

/// What a model means: its diagnostics without positions, and, when it has no
/// errors, every file generated for every backend.
fn meaning(files: &[(PathBuf, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for backend in [Backend::Eventbridge, Backend::SnsSqs, Backend::Kafka] {
        let analysis = storm::analysis::analyze_texts(files.to_vec(), backend);
        let mut diags: Vec<String> = analysis
            .diagnostics
            .list
            .iter()
            .map(|d| format!("{} {:?} {} {:?}", d.code, d.severity, d.message, d.help))
            .collect();
        diags.sort();
        out.extend(diags);
        if analysis.diagnostics.has_errors() {
            continue;
        }
        let wire = Wire::new("com.example".to_string(), backend);
        // A bug of a target is not formatting's concern, but it must be the same
        // bug before and after: a panic is part of what the model produces.
        let generated = std::panic::catch_unwind(|| {
            storm::generate::files(&analysis.model, &wire, storm::generate::Targets::ALL)
        });
        match generated {
            Ok(Err(unrenderable)) => out.push(format!("error: {unrenderable}")),
            Ok(Ok(generated)) => {
                for (path, output) in generated {
                    out.push(format!(
                        "{} {:?}\n{}",
                        path.display(),
                        output.owner,
                        output.content
                    ));
                }
            }
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                eprintln!(
                    "*** generating {} for {backend:?} panicked: {why}",
                    files[0].0.display()
                );
                out.push(format!("panic: {why}"));
            }
        }
    }
    out
}

#[test]
fn formatting_is_idempotent_keeps_comments_and_meaning() {
    let mut failures = Vec::new();
    let mut formatted_models = 0;
    for (name, files) in models() {
        let mut formatted = Vec::new();
        let mut refused = false;
        for (path, text) in &files {
            match format(text) {
                Ok(out) => formatted.push((path.clone(), out)),
                Err(FormatError::Syntax(d)) => {
                    assert!(
                        !d.list.is_empty(),
                        "{}: refused without a reason",
                        path.display()
                    );
                    refused = true;
                }
                Err(e) => failures.push(format!("{}: {e}", path.display())),
            }
        }
        if refused {
            // Only models with syntax errors may be refused, and those are the
            // `syntax` fixtures (which check.rs proves report `syntax`).
            assert!(
                name.contains("syntax--") || name.contains("nesting-too-deep--"),
                "{name}: a model without syntax errors was refused"
            );
            continue;
        }
        if formatted.len() != files.len() {
            continue;
        }
        formatted_models += 1;
        for ((path, before), (_, after)) in files.iter().zip(&formatted) {
            match format(after) {
                Ok(again) if &again == after => {}
                Ok(again) => failures.push(format!(
                    "{}: not idempotent\n--- once\n{after}\n--- twice\n{again}",
                    path.display()
                )),
                Err(e) => failures.push(format!("{}: formatted text refused: {e}", path.display())),
            }
            if comments(before) != comments(after) {
                failures.push(format!("{}: comments differ", path.display()));
            }
        }
        if meaning(&files) != meaning(&formatted) {
            failures.push(format!("{name}: formatting changed what the model means"));
        }
    }
    assert!(
        formatted_models >= 60,
        "only {formatted_models} models formatted"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Deliberately messy files and how they look formatted.
#[test]
fn messy_files() {
    for path in common::entries("tests/fixtures/fmt") {
        let text = std::fs::read_to_string(&path).expect("readable fixture");
        let formatted = format(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        insta::with_settings!({ snapshot_path => "snapshots/fmt", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(common::stem(&path), formatted);
        });
    }
}

/// The model of the language reference is already in the canonical layout.
#[test]
fn the_reference_model_is_a_fixed_point() {
    let text = std::fs::read_to_string("examples/online-store.storm").expect("example");
    assert_eq!(format(&text).expect("formats"), text);
}

/// Every file with a syntax error is refused with its diagnostics.
#[test]
fn syntax_errors_are_refused() {
    let mut refused = 0;
    for path in common::entries("tests/fixtures/check") {
        let name = common::stem(&path);
        if !(name.starts_with("syntax--") || name.starts_with("nesting-too-deep--"))
            || name.contains("--ok-")
        {
            continue;
        }
        let files: Vec<PathBuf> = if path.is_dir() {
            common::entries(&path.display().to_string())
        } else {
            vec![path.clone()]
        };
        let mut any = false;
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable fixture");
            let mut diags = storm::diagnostic::Diagnostics::default();
            storm::syntax::parse(storm::source::FileId(0), &text, &mut diags);
            match format(&text) {
                Err(FormatError::Syntax(d)) => {
                    assert!(diags.has_errors(), "{}: refused", file.display());
                    assert_eq!(d.list.len(), diags.list.len(), "{}", file.display());
                    any = true;
                }
                Ok(_) => assert!(!diags.has_errors(), "{}: formatted", file.display()),
                Err(e) => panic!("{}: {e}", file.display()),
            }
        }
        assert!(any, "{name}: no file was refused");
        refused += 1;
    }
    assert!(refused >= 8, "only {refused} syntax fixtures");
}

/// The text with each run of whitespace between tokens replaced by the next of
/// `gaps` (a comment always keeps the line break that ends it). The context map
/// stays as it is: a comment between a context name and its arrow does not parse
/// there (the grammar looks past whitespace only to tell a pattern from a name).
fn relayout(original: &str, gaps: &[&str]) -> String {
    let (original, contextmap) = original
        .find("\ncontextmap")
        .map_or((original, ""), |at| original.split_at(at));
    let mut text = String::new();
    let mut n = 0;
    let mut chars = original.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                text.push(c);
                while let Some(s) = chars.next() {
                    text.push(s);
                    match s {
                        '\\' => text.extend(chars.next()),
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                text.push(c);
                while let Some(&s) = chars.peek() {
                    if s == '\n' {
                        break;
                    }
                    text.push(s);
                    chars.next();
                }
            }
            ' ' | '\n' => {
                let mut newline = c == '\n';
                while let Some(&s) = chars.peek().filter(|s| **s == ' ' || **s == '\n') {
                    newline |= s == '\n';
                    chars.next();
                }
                let after_comment = text.lines().last().is_some_and(|l| comments(l).len() == 1);
                if newline && after_comment {
                    text.push('\n');
                }
                text.push_str(gaps[n % gaps.len()]);
                n += 1;
            }
            _ => text.push(c),
        }
    }
    text.push_str(contextmap);
    text
}

/// Fragments that make up models, valid or not.
fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "context",
        "contextmap",
        "actor",
        "external",
        "type",
        "enum",
        "aggregate",
        "id",
        "lifecycle",
        "state",
        "command",
        "event",
        "policy",
        "readmodel",
        "hotspot",
        "by",
        "requires",
        "emits",
        "version",
        "enters",
        "when",
        "then",
        "from",
        "Order",
        "Ctx.Name",
        "a_field",
        "String",
        "2",
        "customer-supplier",
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "?",
        ".",
        "->",
        "<->",
        "-",
        "\"question?\"",
        "\"open",
        " ",
        "\n",
        "\n\n",
        "// note\n",
        "/// doc\n",
        "//// four\n",
        "\t",
        "\u{FEFF}",
        "é",
        "\r\n",
        "\r",
        "\\",
    ])
}

/// Whitespace and comments, which may stand between any two tokens.
fn gap() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        " ",
        "  ",
        "\n",
        "\n\n",
        "\n\n\n",
        "\t",
        " // gap\n",
        "\n// own line\n",
        "\n\n// after a blank\n\n",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Token soup: refused or formatted, never a panic; what formats, formats
    /// to a fixed point.
    #[test]
    fn never_panics(parts in prop::collection::vec(fragment(), 0..60)) {
        let text = parts.concat();
        if let Ok(out) = format(&text) {
            prop_assert_eq!(format(&out).ok(), Some(out));
        }
    }

}

proptest! {
    // Each case formats a whole example model several times over.
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Real models with their whitespace replaced by other whitespace, comments
    /// and commas: whenever the result parses, it formats (the formatter proves the
    /// syntax tree unchanged), to a fixed point, keeping every comment.
    #[test]
    fn any_layout_of_a_real_model_formats(
        which in 0usize..3,
        gaps in prop::collection::vec(gap(), 400),
    ) {
        let path = ["examples/online-store.storm", "examples/clinic.storm",
            "examples/parcel-delivery/hub-operations.storm"][which];
        let original = std::fs::read_to_string(path).expect("example");
        let text = relayout(&original, &gaps);
        let mut diags = storm::diagnostic::Diagnostics::default();
        storm::syntax::parse(storm::source::FileId(0), &text, &mut diags);
        if !diags.has_errors() {
            let out = format(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let again = format(&out).ok();
            prop_assert_eq!(again.as_ref(), Some(&out));
            prop_assert_eq!(comments(&text), comments(&out));
        }
    }
}
