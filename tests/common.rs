//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use storm::render::{self, Style};

/// Diagnostics exactly as a person sees them, without colour, at a fixed width.
pub fn rendered(inputs: &[PathBuf]) -> (storm::analysis::Analysis, String) {
    // A fixture directory may carry a storm.yaml choosing the backend.
    let backend = inputs
        .iter()
        .map(|i| i.join("storm.yaml"))
        .find(|c| c.is_file())
        .and_then(|c| storm::config::read(&c).ok())
        .and_then(|f| f.config.backend)
        .unwrap_or(storm::wire::Backend::Eventbridge);
    let analysis = storm::analysis::analyze(inputs, backend);
    let style = Style {
        color: false,
        width: 100,
    };
    let mut out = String::new();
    for d in &analysis.diagnostics.list {
        out.push_str(&render::human(&analysis.sources, d, style));
    }
    (analysis, out)
}

/// Entries of a fixture folder, sorted: files and directories (multi-file models).
pub fn entries(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("readable fixture entry").path())
        .collect();
    out.sort();
    out
}

pub fn stem(path: &Path) -> String {
    path.file_stem()
        .expect("fixture has a name")
        .to_string_lossy()
        .into_owned()
}

/// An outside tool the tests need: its path, or `None` after saying loudly that
/// the test is skipped. Under `CI=true` a missing tool fails the test.
pub fn tool(env: &str, fallback: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(fallback));
    let found = if path.components().count() > 1 {
        path.is_file()
    } else {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {}", path.display())])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if found {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{fallback} is required under CI=true (set {env}); .ci/run installs it");
    }
    eprintln!("\n*** SKIPPED: {fallback} not found (set {env}); install it or run .ci/run ***\n");
    None
}

/// The storm binary, with colour off, a fixed width, and the stamps of its runs
/// (see `storm::stamp`) kept below cargo's scratch directory for tests instead
/// of the user's cache.
pub fn storm() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_storm"));
    command.env("NO_COLOR", "1").env("COLUMNS", "100").env(
        "STORM_CACHE_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("stamps"),
    );
    command
}
