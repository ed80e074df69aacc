//! Parse + check over arbitrary bytes. The input is split into model files at
//! each 0xFF byte (never part of valid UTF-8, so a model file loses nothing), each
//! decoded lossily as storm's loader does, and analysed; the first byte picks the
//! backend whose routing limits are checked. A model that checks clean is also
//! generated (all targets). Any panic, stack overflow or hang is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use storm::generate::{self, Targets};
use storm::wire::{Backend, Wire};

fuzz_target!(|data: &[u8]| {
    let files: Vec<(PathBuf, String)> = data
        .split(|&b| b == 0xFF)
        .enumerate()
        .map(|(i, bytes)| {
            (
                PathBuf::from(format!("fuzz/{i:03}.storm")),
                String::from_utf8_lossy(bytes).into_owned(),
            )
        })
        .collect();
    let backend = match data.first().map(|b| b % 3) {
        Some(1) => Backend::SnsSqs,
        Some(2) => Backend::Kafka,
        _ => Backend::Eventbridge,
    };
    let analysis = storm::analysis::analyze_texts(files, backend);
    // Rendering the diagnostics is part of what a user sees; it must not panic either.
    let style = storm::render::Style {
        color: false,
        width: 100,
    };
    for d in &analysis.diagnostics.list {
        let _ = storm::render::human(&analysis.sources, d, style);
    }
    if !analysis.diagnostics.has_errors() {
        let wire = Wire::new("fuzz".to_string(), backend);
        let _ = generate::files(&analysis.model, &wire, Targets::ALL);
    }
});
