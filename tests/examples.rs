//! Every example model checks without errors, generates, and its diagrams pass
//! the real tools: Graphviz `dot` and mermaid-cli `mmdc`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use storm::diagram::{self, DiagramFormat};
use storm::wire::{Backend, Wire};

fn examples() -> Vec<PathBuf> {
    common::entries("examples")
        .into_iter()
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "storm"))
        .collect()
}

fn analysis(path: &Path) -> storm::analysis::Analysis {
    let (analysis, rendered) = common::rendered(&[path.to_path_buf()]);
    assert!(
        !analysis.diagnostics.has_errors(),
        "{} has errors:\n{rendered}",
        path.display()
    );
    analysis
}

#[test]
fn examples_check_clean_and_generate_deterministically() {
    let examples = examples();
    assert!(examples.len() >= 3, "expected at least three examples");
    for example in examples {
        let analysis = analysis(&example);
        for backend in [Backend::Eventbridge, Backend::SnsSqs, Backend::Kafka] {
            let wire = Wire::new(common::stem(&example), backend);
            let first =
                storm::generate::files(&analysis.model, &wire, storm::generate::Targets::ALL)
                    .expect("renders");
            let again =
                storm::generate::files(&analysis.model, &wire, storm::generate::Targets::ALL)
                    .expect("renders");
            assert!(
                !first.is_empty(),
                "{}: nothing generated",
                example.display()
            );
            assert_eq!(
                first,
                again,
                "{}: output differs between runs",
                example.display()
            );
        }
    }
}

#[test]
fn online_store_docs() {
    let analysis = analysis(Path::new("examples/online-store.storm"));
    let wire = Wire::new("com.example.shop".to_string(), Backend::Eventbridge);
    insta::with_settings!({ snapshot_path => "snapshots/examples", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("online-store-docs", storm::docs::render(&analysis.model, &wire));
    });
}

fn run(tool: &Path, args: &[&str], input: &Path) {
    let output = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{} cannot run: {e}", tool.display()));
    assert!(
        output.status.success(),
        "{} rejected {}:\n{}",
        tool.display(),
        input.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn dot_accepts_every_diagram() {
    let Some(dot) = common::tool("STORM_DOT", "dot") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for example in examples() {
        let model = analysis(&example).model;
        let contexts = std::iter::once(None).chain(model.context_ids().map(Some));
        for (i, context) in contexts.enumerate() {
            let file = dir
                .path()
                .join(format!("{}-{i}.dot", common::stem(&example)));
            std::fs::write(&file, diagram::render(&model, DiagramFormat::Dot, context))
                .expect("write");
            let svg = file.with_extension("svg");
            run(
                &dot,
                &[
                    "-Tsvg",
                    "-o",
                    &svg.to_string_lossy(),
                    &file.to_string_lossy(),
                ],
                &file,
            );
        }
    }
}

#[test]
fn mermaid_cli_accepts_every_diagram() {
    let Some(mmdc) = common::tool("STORM_MMDC", "mmdc") else {
        return;
    };
    let config = std::env::var("STORM_PUPPETEER_CONFIG")
        .unwrap_or_else(|_| ".ci/puppeteer-config.json".to_string());
    let dir = tempfile::tempdir().expect("temp dir");
    for example in examples() {
        let model = analysis(&example).model;
        let wire = Wire::new("test".to_string(), Backend::Eventbridge);
        // docs/model.md holds the flow of each context, the state diagrams and the
        // context map; mmdc renders every ```mermaid block and fails on any error.
        let md = dir.path().join(format!("{}.md", common::stem(&example)));
        let mut text = storm::docs::render(&model, &wire);
        text.push_str(&format!(
            "\n```mermaid\n{}```\n",
            diagram::render(&model, DiagramFormat::Mermaid, None)
        ));
        std::fs::write(&md, &text).expect("write");
        let blocks = text.matches("```mermaid").count();
        let out = md.with_extension("out.md");
        run(
            &mmdc,
            &[
                "-q",
                "-p",
                &config,
                "-i",
                &md.to_string_lossy(),
                "-o",
                &out.to_string_lossy(),
            ],
            &md,
        );
        let svgs = std::fs::read_dir(dir.path())
            .expect("read dir")
            .filter(|e| {
                let name = e
                    .as_ref()
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned();
                name.starts_with(&format!("{}.out-", common::stem(&example)))
                    && name.ends_with(".svg")
            })
            .count();
        assert_eq!(
            svgs,
            blocks,
            "{}: mmdc rendered {svgs} of {blocks} diagrams",
            example.display()
        );
    }
}
