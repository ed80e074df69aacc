//! The `rust/` target. The generated tree of each fixture in tests/fixtures/rust is
//! snapshotted; every example and fixture is generated and built, linted, format-
//! checked and tested with cargo (one shared target directory, so dependencies are
//! compiled once); hand-written files survive regeneration; and a command added to
//! a model shows up as a build error naming the method to write.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use storm::wire::{Backend, Wire};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Held while a test generates a workspace and runs cargo in it. Every generated
/// workspace has crates at the same relative paths (`crates/contracts`, ...), so
/// in the shared target directory cargo tells them apart only by the sources
/// being newer than the artifacts: generating right before building, one
/// workspace at a time, keeps that true.
static CARGO: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn fixtures() -> Vec<PathBuf> {
    common::entries("tests/fixtures/rust")
}

/// Every model the workspace test builds: the examples and the fixtures.
fn models() -> Vec<PathBuf> {
    let mut models: Vec<PathBuf> = common::entries("examples")
        .into_iter()
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "storm"))
        .collect();
    models.extend(fixtures());
    models
}

#[test]
fn generated_trees() {
    for input in fixtures() {
        let analysis = storm::analysis::analyze(std::slice::from_ref(&input), Backend::Eventbridge);
        assert!(
            !analysis.diagnostics.has_errors(),
            "{}: the fixture must pass `storm check`",
            input.display()
        );
        let wire = Wire::new("com.example".to_string(), Backend::Eventbridge);
        let files = storm::rust_target::render(&analysis.model, &wire);
        let mut tree = String::new();
        for (path, body, owner) in &files {
            tree.push_str(&format!("==== {} ({owner:?})\n{body}\n", path.display()));
        }
        insta::with_settings!({
            snapshot_path => "snapshots/rust_target",
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(common::stem(&input), tree);
        });
    }
}

/// Runs `storm generate MODEL --out OUT`; panics with its output when it fails.
/// The Kafka backend: its names have the loosest limits, and the Rust target is
/// the same for every backend (the inbox reads both envelopes).
fn generate(model: &Path, out: &Path) -> String {
    let output = common::storm()
        .arg("generate")
        .arg(model)
        .arg("--out")
        .arg(out)
        .args(["--backend", "kafka"])
        .output()
        .expect("storm runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "storm generate {}:\n{text}",
        model.display()
    );
    text
}

/// Cargo in a generated workspace, with the target directory shared by every
/// generated workspace of every test run.
fn cargo(cargo: &Path, workspace: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(cargo)
        .args(args)
        .current_dir(workspace)
        .env(
            "CARGO_TARGET_DIR",
            Path::new(ROOT).join("target/generated-rust"),
        )
        .env_remove("RUSTFLAGS")
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("cargo runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A fresh folder below target/, at a stable path so that cargo's incremental
/// state stays useful from one run to the next.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(ROOT).join("target/generated-rust-src").join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("old scratch folder removable");
    }
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

#[test]
fn generated_workspaces_build_lint_and_pass_their_tests() {
    let Some(cargo_bin) = common::tool("STORM_CARGO", "cargo") else {
        return;
    };
    for model in models() {
        let _one_at_a_time = CARGO.lock().unwrap_or_else(|e| e.into_inner());
        let name = common::stem(&model);
        let out = scratch(&name);
        generate(&model, &out);
        let workspace = out.join("rust");
        for args in [
            &["build", "--all-targets"][..],
            &["clippy", "--all-targets", "--", "-D", "warnings"],
            &["fmt", "--check"],
            &["test"],
        ] {
            let (ok, text) = cargo(&cargo_bin, &workspace, args);
            assert!(ok, "{name}: `cargo {}` failed:\n{text}", args.join(" "));
        }
    }
}

#[test]
fn hand_written_files_survive_regeneration() {
    let out = tempfile::tempdir().expect("temp dir");
    let model = Path::new(ROOT).join("examples/online-store.storm");
    generate(&model, out.path());
    let service = out.path().join("rust/crates/ordering-service/src");
    let hand_written = [
        service.join("behaviour/order.rs"),
        service.join("behaviour/handlers.rs"),
    ];
    let mut edited = Vec::new();
    for file in &hand_written {
        let mut text = std::fs::read_to_string(file).expect("hand-written skeleton exists");
        text.push_str("\n// Edited by hand: the decision rules live here.\n");
        std::fs::write(file, &text).expect("edit written");
        edited.push(text);
    }
    // Regenerate from a changed model too: the generated files follow, ours stay.
    let models = tempfile::tempdir().expect("temp dir");
    let changed = models.path().join("changed.storm");
    let source = std::fs::read_to_string(&model).expect("example readable");
    std::fs::write(
        &changed,
        source.replace("tracking: String", "tracking: String, carrier: String?"),
    )
    .expect("changed model written");
    generate(&changed, out.path());
    for (file, text) in hand_written.iter().zip(&edited) {
        assert_eq!(
            &std::fs::read_to_string(file).expect("still there"),
            text,
            "{}",
            file.display()
        );
    }
    let aggregate =
        std::fs::read_to_string(service.join("aggregates/order.rs")).expect("generated");
    assert!(aggregate.contains("pub carrier: ::std::option::Option<::std::string::String>,"));
}

#[test]
fn a_new_command_fails_the_build_naming_its_method() {
    let Some(cargo_bin) = common::tool("STORM_CARGO", "cargo") else {
        return;
    };
    let _one_at_a_time = CARGO.lock().unwrap_or_else(|e| e.into_inner());
    let out = scratch("new-command");
    let model = Path::new(ROOT).join("examples/online-store.storm");
    generate(&model, &out);
    let source = std::fs::read_to_string(&model).expect("example readable");
    let grown = source.replace(
        "    hotspot \"What happens",
        "    command ArchiveOrder requires Shipped emits OrderArchived\n    event OrderArchived\n    hotspot \"What happens",
    );
    assert_ne!(grown, source, "the example still has its hotspot");
    let changed = out.with_file_name("new-command-grown.storm");
    std::fs::write(&changed, grown).expect("grown model written");
    generate(&changed, &out);
    let (ok, text) = cargo(
        &cargo_bin,
        &out.join("rust"),
        &["check", "-p", "ordering-service"],
    );
    assert!(
        !ok,
        "the build should fail until the new methods are written:\n{text}"
    );
    assert!(text.contains("missing: `archive_order`"), "{text}");
    assert!(text.contains("missing: `order_archived`"), "{text}");
}
