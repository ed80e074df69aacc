//! The `routing/` target, proven by the real tools: every example, every clean
//! check fixture and the models in `fixtures/routing/` are generated for all three
//! backends, then `tools/routing/check_routing.py` (cfn-lint, LocalStack's event
//! pattern and filter policy engines, moto) checks the output against the model's
//! subscriptions, which this file writes down independently of the generator,
//! and checkov (`STORM_CHECKOV`) scans every CloudFormation template. Two models
//! are also generated with a customer-managed KMS key (`targets: { routing: {
//! kms_key } }`), once by key ARN and once by alias ARN.
//! One small model's output is an insta snapshot per backend, with and without
//! the key.

mod common;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use storm::generate::{self, Targets};
use storm::model::{EventOwner, Model};
use storm::names::kebab;
use storm::routing::Options;
use storm::wire::{Backend, Wire};

const BACKENDS: [Backend; 3] = [Backend::Eventbridge, Backend::SnsSqs, Backend::Kafka];
const ROUTING_ONLY: Targets = Targets {
    rust: false,
    schemas: false,
    routing: true,
    docs: false,
};

/// The customer-managed keys the KMS cases use: (case suffix, model, key).
const KMS_CASES: [(&str, &str, &str); 2] = [
    (
        "kms-key",
        "tests/fixtures/routing/small-shop.storm",
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ),
    (
        "kms-alias",
        "tests/fixtures/routing/many-contexts.storm",
        "arn:aws:kms:us-east-1:123456789012:alias/storm-events",
    ),
];

/// Every model the routing must hold for.
fn models() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = common::entries("examples")
        .into_iter()
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "storm"))
        .collect();
    out.extend(
        common::entries("tests/fixtures/check")
            .into_iter()
            .filter(|p| common::stem(p).contains("--ok-")),
    );
    out.extend(common::entries("tests/fixtures/routing"));
    out
}

/// The model, checked clean, with its wire naming (namespace as `storm generate`
/// derives it without a config: the file stem or the directory name).
fn load(path: &Path, backend: Backend) -> (Model, Wire) {
    let analysis = storm::analysis::analyze(&[path.to_path_buf()], backend);
    let errors: Vec<_> = analysis
        .diagnostics
        .list
        .iter()
        .filter(|d| d.severity == storm::diagnostic::Severity::Error)
        .collect();
    assert!(
        errors.is_empty(),
        "{}: not clean: {errors:?}",
        path.display()
    );
    let wire = Wire::new(common::stem(path), backend);
    (analysis.model, wire)
}

fn rendered(model: &Model, wire: &Wire) -> Vec<(String, String)> {
    generate::files(model, wire, ROUTING_ONLY)
        .unwrap_or_else(|e| panic!("{}: {e}", wire.namespace))
        .into_iter()
        .map(|(path, output)| {
            (
                path.to_string_lossy().replace('\\', "/"),
                output.content.to_string(),
            )
        })
        .collect()
}

/// The routing files as `storm generate` writes them with these options.
fn rendered_with(model: &Model, wire: &Wire, options: &Options) -> Vec<(String, String)> {
    let wire = Wire {
        routing: options.clone(),
        ..wire.clone()
    };
    rendered(model, &wire)
}

/// What the model says must happen on the wire, from the model alone.
fn expectations(model: &Model, wire: &Wire) -> Value {
    let events: Vec<Value> = model
        .event_ids()
        .map(|e| {
            let event = model.event(e);
            json!({
                "context": model.context(event.context).name.name,
                "source": wire.source(model, event.context),
                "type": wire.event_type(model, e),
                "topic": wire.topic(model, event.context),
                "dataschema": wire.dataschema(model, e),
                "version": event.version,
                // Appended to an event store by an aggregate (and so published by
                // the store's pipe), rather than sent by an external system.
                "aggregate": match event.owner {
                    EventOwner::Aggregate(a) => Some(model.aggregate(a).name.name.clone()),
                    EventOwner::Context => None,
                },
            })
        })
        .collect();
    let mut subscriptions: Vec<Value> = Vec::new();
    for sub in model.subscriptions() {
        let producer = model.event(sub.event).context;
        let entry = json!({
            "consumer": model.context(sub.context).name.name,
            "inbox": wire.inbox(model, sub.context),
            "group": kebab(&model.context(sub.context).name.name),
            "source": wire.source(model, producer),
            "topic": wire.topic(model, producer),
            "type": wire.event_type(model, sub.event),
        });
        if !subscriptions.contains(&entry) {
            subscriptions.push(entry);
        }
    }
    let contexts: Vec<Value> = model
        .context_ids()
        .map(|c| {
            let context = model.context(c);
            json!({
                "name": context.name.name,
                "inbox": wire.inbox(model, c),
                // An event store keeps what aggregates record: none without events.
                "stores_events": context
                    .aggregates
                    .iter()
                    .any(|&a| !model.aggregate(a).events.is_empty()),
            })
        })
        .collect();
    json!({ "events": events, "subscriptions": subscriptions, "contexts": contexts })
}

#[test]
fn routing_is_exact_in_the_real_tools() {
    let Some(python) = common::tool("STORM_PYTHON", ".ci/venv/bin/python") else {
        return;
    };
    // STORM_ROUTING_KEEP=DIR keeps the generated cases and manifest there.
    let temp = tempfile::tempdir().expect("temporary directory");
    let work = match std::env::var_os("STORM_ROUTING_KEEP") {
        Some(dir) => PathBuf::from(dir),
        None => temp.path().to_path_buf(),
    };
    let mut cases = Vec::new();
    let default = (None, Options::default());
    let runs = models()
        .into_iter()
        .map(|path| (common::stem(&path), path, default.clone()))
        .chain(KMS_CASES.iter().map(|(suffix, path, key)| {
            let path = PathBuf::from(path);
            let options = Options {
                kms_key: Some(key.to_string()),
            };
            (
                format!("{}--{suffix}", common::stem(&path)),
                path,
                (Some(*key), options),
            )
        }));
    for (name, path, (kms_key, options)) in runs {
        let dir = work.join(&name);
        let mut expected = Value::Null;
        for backend in BACKENDS {
            let (model, wire) = load(&path, backend);
            let files = rendered_with(&model, &wire, &options);
            if kms_key.is_none() {
                assert_eq!(
                    files,
                    rendered(&model, &wire),
                    "{name}: options change nothing"
                );
            }
            assert_eq!(
                files,
                rendered_with(&model, &wire, &options),
                "{name}: not deterministic"
            );
            let prefix = format!("routing/{}/", backend.as_str());
            assert!(
                !files.is_empty() && files.iter().all(|(p, _)| p.starts_with(&prefix)),
                "{name}: {} must render only {prefix}",
                backend.as_str()
            );
            for (relative, content) in files {
                let target = dir.join(relative);
                std::fs::create_dir_all(target.parent().expect("has a parent")).expect("mkdir");
                std::fs::write(&target, content).expect("write");
            }
            expected = expectations(&model, &wire);
        }
        cases.push(json!({ "name": name, "dir": dir, "expected": expected, "kms_key": kms_key }));
    }
    let manifest = work.join("manifest.json");
    std::fs::write(&manifest, json!({ "cases": cases }).to_string()).expect("manifest");
    let Some(jsonata) = common::tool(
        "STORM_JSONATA",
        ".ci/jsonata/node_modules/jsonata/jsonata.js",
    ) else {
        return;
    };
    let mut harness = std::process::Command::new(&python);
    harness.env(
        "STORM_JSONATA",
        std::path::absolute(&jsonata).expect("absolute path"),
    );
    // Without checkov (outside CI), the harness says it skipped the scan.
    match common::tool("STORM_CHECKOV", ".ci/checkov/bin/checkov") {
        Some(checkov) => harness.env(
            "STORM_CHECKOV",
            std::path::absolute(&checkov).expect("absolute path"),
        ),
        None => harness.env_remove("STORM_CHECKOV"),
    };
    let output = harness
        .arg("tests/tools/routing/check_routing.py")
        .arg(&manifest)
        .output()
        .expect("run the routing harness");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}");
    assert!(
        output.status.success(),
        "routing harness failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("{} models checked", cases.len())),
        "the harness did not check every model:\n{stdout}"
    );
}

#[test]
fn routing_snapshots() {
    let path = Path::new("tests/fixtures/routing/small-shop.storm");
    let (_, _, key) = KMS_CASES[0];
    let with_key = Options {
        kms_key: Some(key.to_string()),
    };
    let runs = BACKENDS
        .into_iter()
        .map(|b| (b, "", Options::default()))
        .chain(
            [Backend::Eventbridge, Backend::SnsSqs]
                .into_iter()
                .map(|b| (b, "kms-key--", with_key.clone())),
        );
    for (backend, prefix, options) in runs {
        let (model, wire) = load(path, backend);
        for (relative, content) in rendered_with(&model, &wire, &options) {
            let name = format!(
                "{prefix}{}",
                relative.trim_start_matches("routing/").replace('/', "__")
            );
            insta::with_settings!({ snapshot_path => "snapshots/routing", prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(name, content);
            });
        }
    }
}
