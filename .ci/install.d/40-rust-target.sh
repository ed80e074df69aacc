#!/usr/bin/env bash
# Sourced by .ci/run: what tests/rust_target.rs needs to build the generated Cargo
# workspaces: cargo with clippy and rustfmt (the generated code must pass both).
# Exports STORM_CARGO. The generated workspaces share one target directory,
# target/generated-rust (gitignored with target/), so their dependencies
# (cqrs-es, tokio, serde, chrono, ...) compile once per CI run.

section "Rust toolchain for the generated workspaces (cargo, clippy, rustfmt)"
t0=$SECONDS
if command -v rustup >/dev/null 2>&1; then
    for component in clippy rustfmt; do
        if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
            rustup component add "$component"
        fi
    done
fi
cargo --version
cargo clippy --version
cargo fmt --version
STORM_CARGO="$(command -v cargo)"
export STORM_CARGO
echo "STORM_CARGO=$STORM_CARGO"
elapsed "$t0"
