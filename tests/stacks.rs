//! Templates beyond CloudFormation's limits become nested stacks
//! (`src/routing/stacks.rs`). Every model in `fixtures/stacks/` is rendered for
//! both AWS backends and split; the files must each be within AWS's limits, hold
//! every original resource exactly once, resolve every reference within the file,
//! and wire every nested stack's parameters and outputs. Then the real tools:
//! cfn-lint reports nothing on any file, and `tools/stacks/deploy_nested.py`
//! deploys the root in moto with its nested stacks uploaded to S3 (as `aws
//! cloudformation package` does) and counts the queues, rules, topics,
//! subscriptions and tables against the model. A summary per model and backend
//! (files, resource counts, parameters) is an insta snapshot.

mod common;

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use storm::model::Model;
use storm::routing::stacks;
use storm::wire::{Backend, Wire};

const BACKENDS: [Backend; 2] = [Backend::Eventbridge, Backend::SnsSqs];

/// A file of the split, as the tests see it.
type Files = Vec<(String, Value)>;

/// The model with its wire naming, or the `routing-limit` errors for which
/// `storm check` refuses it with this backend (a single context subscribing to
/// more event types than one SNS filter policy holds).
fn load(path: &Path, backend: Backend) -> Result<(Model, Wire), String> {
    let analysis = storm::analysis::analyze(&[path.to_path_buf()], backend);
    let errors: Vec<_> = analysis
        .diagnostics
        .list
        .iter()
        .filter(|d| d.severity == storm::diagnostic::Severity::Error)
        .collect();
    if !errors.is_empty() {
        assert!(
            errors
                .iter()
                .all(|d| d.code == storm::diagnostic::Code::RoutingLimit),
            "{}: not clean: {errors:?}",
            path.display()
        );
        let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
        return Err(format!(
            "refused by `storm check`: {}\n",
            messages.join("\n")
        ));
    }
    Ok((analysis.model, Wire::new(common::stem(path), backend)))
}

/// The CloudFormation template of the model before it is split, as a tree.
fn template(model: &Model, wire: &Wire) -> Value {
    storm::routing::template(model, wire).expect("an AWS backend has a template")
}

/// The files `routing::render` writes, relative to the backend's folder. They
/// must be the split of [`template`], serialised.
fn rendered(name: &str, model: &Model, wire: &Wire, files: &Files) -> Vec<(String, String)> {
    let prefix = format!("routing/{}/", wire.backend.as_str());
    let rendered: Vec<(String, String)> = storm::routing::render(model, wire)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .into_iter()
        .map(|(path, body, _)| {
            let path = path.to_string_lossy().replace('\\', "/");
            let file = path.strip_prefix(&prefix).unwrap_or(&path).to_string();
            (file, body)
        })
        .collect();
    let parsed: Files = rendered
        .iter()
        .map(|(file, body)| {
            let tree = serde_yaml::from_str(body).unwrap_or_else(|e| panic!("{file}: {e}"));
            (file.clone(), tree)
        })
        .collect();
    assert_eq!(&parsed, files, "{name}: `routing::render` writes the split");
    rendered
}

/// Files below a folder, created with their parents.
fn write(dir: &Path, files: impl IntoIterator<Item = (String, String)>) {
    for (file, body) in files {
        let target = dir.join(file);
        std::fs::create_dir_all(target.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&target, body).expect("write");
    }
}

fn map<'a>(template: &'a Value, key: &str) -> BTreeMap<&'a String, &'a Value> {
    template
        .get(key)
        .and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

/// Every `Ref`, `Fn::GetAtt` and `${…}` of `Fn::Sub` in a tree: (name, attribute).
fn refs(value: &Value, out: &mut Vec<(String, Option<String>)>) {
    match value {
        Value::Object(m) if m.len() == 1 && m.contains_key("Ref") => {
            out.push((m["Ref"].as_str().expect("Ref names").to_string(), None));
        }
        Value::Object(m) if m.len() == 1 && m.contains_key("Fn::GetAtt") => {
            let parts = m["Fn::GetAtt"].as_array().expect("GetAtt is a list");
            out.push((
                parts[0].as_str().expect("GetAtt names").to_string(),
                Some(parts[1].as_str().expect("GetAtt attribute").to_string()),
            ));
        }
        Value::Object(m) if m.len() == 1 && m.contains_key("Fn::Sub") => {
            let text = match &m["Fn::Sub"] {
                Value::String(s) => s.clone(),
                Value::Array(parts) => {
                    refs(&parts[1], out);
                    parts[0].as_str().expect("Sub text").to_string()
                }
                other => panic!("Fn::Sub {other}"),
            };
            for piece in text.split("${").skip(1) {
                let name = piece.split('}').next().expect("closed");
                if !name.starts_with('!') {
                    let (t, a) = match name.split_once('.') {
                        Some((t, a)) => (t.to_string(), Some(a.to_string())),
                        None => (name.to_string(), None),
                    };
                    out.push((t, a));
                }
            }
        }
        Value::Object(m) => m.values().for_each(|v| refs(v, out)),
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

fn count(template: &Value, key: &str) -> usize {
    map(template, key).len()
}

/// The invariants of a split, checked against the original template.
fn check(name: &str, original: &Value, files: &Files) {
    assert_eq!(files[0].0, "template.yaml", "{name}: the root comes first");
    let by_file: BTreeMap<&str, &Value> = files.iter().map(|(f, t)| (f.as_str(), t)).collect();
    assert_eq!(by_file.len(), files.len(), "{name}: file names are unique");
    // Within AWS's limits, the body measured as written.
    for (file, t) in files {
        let size = storm::routing::yaml(t).len();
        assert!(
            count(t, "Resources") <= 500
                && count(t, "Parameters") <= 200
                && count(t, "Outputs") <= 200
                && size <= 1_000_000
                && count(t, "Resources") >= 1,
            "{name}/{file}: beyond the limits: {} resources, {} parameters, {} outputs, {size} bytes",
            count(t, "Resources"),
            count(t, "Parameters"),
            count(t, "Outputs"),
        );
    }
    // Every original resource exactly once, with its type; the rest are stacks.
    let mut seen: BTreeMap<&String, &str> = BTreeMap::new();
    for (file, t) in files {
        for (id, r) in map(t, "Resources") {
            if r["Type"] == "AWS::CloudFormation::Stack"
                && !map(original, "Resources").contains_key(id)
            {
                continue;
            }
            assert!(seen.insert(id, file).is_none(), "{name}: {id} twice");
            assert_eq!(
                r["Type"], original["Resources"][id]["Type"],
                "{name}/{file}: {id} changed type"
            );
        }
    }
    assert_eq!(
        seen.len(),
        count(original, "Resources"),
        "{name}: resources lost"
    );
    // Each nested file is the template of exactly one stack in the root, which
    // sets exactly its parameters; its outputs exist where the root reads them.
    let root = files[0].1.clone();
    let stacks: BTreeMap<&String, &Value> = map(&root, "Resources")
        .into_iter()
        .filter(|(id, r)| {
            r["Type"] == "AWS::CloudFormation::Stack"
                && !map(original, "Resources").contains_key(id)
        })
        .collect();
    assert_eq!(
        stacks.len(),
        files.len() - 1,
        "{name}: a stack per nested file"
    );
    let mut urls = BTreeSet::new();
    for (id, stack) in &stacks {
        assert!(
            id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{name}: stack id {id}"
        );
        let url = stack["Properties"]["TemplateURL"].as_str().expect("a URL");
        assert!(urls.insert(url), "{name}: {url} used twice");
        assert!(
            url.starts_with("stacks/")
                && url.ends_with(".yaml")
                && url[7..url.len() - 5]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name}: unsafe file name {url}"
        );
        let child = by_file
            .get(url)
            .unwrap_or_else(|| panic!("{name}: {url} missing"));
        let given: BTreeSet<&String> = map(&stack["Properties"], "Parameters")
            .into_keys()
            .collect();
        let wanted: BTreeSet<&String> = map(child, "Parameters").into_keys().collect();
        assert_eq!(
            given, wanted,
            "{name}: {id} sets exactly the parameters of {url}"
        );
        for p in map(child, "Parameters").values() {
            assert_eq!(p["Type"], "String", "{name}/{url}");
        }
    }
    // Every reference resolves within its file: a resource, a parameter, a
    // pseudo parameter, or an output of a nested stack.
    for (file, t) in files {
        let resources = map(t, "Resources");
        let parameters = map(t, "Parameters");
        let mut found = Vec::new();
        refs(&t["Resources"], &mut found);
        refs(t.get("Outputs").unwrap_or(&Value::Null), &mut found);
        for r in t["Resources"].as_object().expect("resources").values() {
            if let Some(d) = r.get("DependsOn") {
                for d in d.as_array().cloned().unwrap_or_else(|| vec![d.clone()]) {
                    found.push((d.as_str().expect("DependsOn names").to_string(), None));
                }
            }
        }
        for (target, attribute) in found {
            if target.starts_with("AWS::") {
                continue;
            }
            match attribute
                .as_deref()
                .and_then(|a| a.strip_prefix("Outputs."))
            {
                Some(output) => {
                    let stack = resources
                        .get(&target)
                        .unwrap_or_else(|| panic!("{name}/{file}: no stack {target}"));
                    let url = stack["Properties"]["TemplateURL"]
                        .as_str()
                        .expect("a stack");
                    assert!(
                        map(by_file[url], "Outputs").contains_key(&output.to_string()),
                        "{name}/{file}: {url} has no output {output}"
                    );
                }
                None => assert!(
                    resources.contains_key(&target)
                        || (attribute.is_none() && parameters.contains_key(&target)),
                    "{name}/{file}: {target} does not resolve"
                ),
            }
        }
    }
    // The original outputs are all still there, on the root or on the stack that
    // holds what they describe.
    let mut outputs: BTreeSet<&String> = BTreeSet::new();
    for (_, t) in files {
        outputs.extend(map(t, "Outputs").into_keys());
    }
    for output in map(original, "Outputs").keys() {
        assert!(outputs.contains(output), "{name}: output {output} lost");
    }
}

/// A line per file: name, resources (by type), parameters, outputs.
fn summary(files: &Files) -> String {
    let mut out = String::new();
    for (file, t) in files {
        let mut types: BTreeMap<&str, usize> = BTreeMap::new();
        for r in map(t, "Resources").values() {
            *types.entry(r["Type"].as_str().unwrap_or("?")).or_default() += 1;
        }
        out.push_str(&format!(
            "{file}: {} resources, {} outputs\n",
            count(t, "Resources"),
            count(t, "Outputs")
        ));
        for (ty, n) in types {
            out.push_str(&format!("  {n} {ty}\n"));
        }
        let parameters: Vec<&String> = map(t, "Parameters").into_keys().collect();
        if !parameters.is_empty() {
            out.push_str(&format!(
                "  parameters: {}\n",
                parameters
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    out
}

fn fixtures() -> Vec<PathBuf> {
    common::entries("tests/fixtures/stacks")
}

#[test]
fn templates_split_into_stacks_aws_accepts() {
    let temp = tempfile::tempdir().expect("temporary directory");
    let work = match std::env::var_os("STORM_STACKS_KEEP") {
        Some(dir) => PathBuf::from(dir),
        None => temp.path().to_path_buf(),
    };
    let mut cases = Vec::new();
    for path in fixtures() {
        let stem = common::stem(&path);
        for backend in BACKENDS {
            let name = format!("{stem}--{}", backend.as_str());
            let (model, wire) = match load(&path, backend) {
                Ok(loaded) => loaded,
                Err(refused) => {
                    insta::with_settings!({ snapshot_path => "snapshots/stacks", prepend_module_to_snapshot => false }, {
                        insta::assert_snapshot!(name.clone(), refused);
                    });
                    continue;
                }
            };
            let original = template(&model, &wire);
            let start = std::time::Instant::now();
            let files = stacks::split(original.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            eprintln!(
                "{name}: split in {:?} into {} files",
                start.elapsed(),
                files.len()
            );
            assert_eq!(
                files,
                stacks::split(original.clone()).expect("splits"),
                "{name}: not deterministic"
            );
            if stacks::fits(&original) {
                assert_eq!(
                    files,
                    vec![("template.yaml".to_string(), original.clone())],
                    "{name}: a template within the limits is unchanged"
                );
            } else {
                assert!(files.len() > 1, "{name}: too large, yet not split");
            }
            assert!(
                !stem.starts_with("fits") || files.len() == 1,
                "{name}: expected to fit"
            );
            check(&name, &original, &files);
            insta::with_settings!({ snapshot_path => "snapshots/stacks", prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(name.clone(), summary(&files));
            });
            let dir = work.join(&name);
            write(&dir, rendered(&name, &model, &wire, &files));
            let types = |ty: &str| -> usize {
                map(&original, "Resources")
                    .values()
                    .filter(|r| r["Type"] == ty)
                    .count()
            };
            let consumers: BTreeSet<_> = model
                .subscriptions()
                .into_iter()
                .map(|s| s.context)
                .collect();
            let pairs: BTreeSet<_> = model
                .subscriptions()
                .into_iter()
                .map(|s| (s.context, model.event(s.event).context))
                .collect();
            let publishers = storm::routing::publishers(&model).len();
            let stores = storm::routing::stores(&model).len();
            let expected = match backend {
                Backend::SnsSqs => json!({
                    "AWS::SQS::Queue": 2 * consumers.len(),
                    "AWS::SNS::Topic": publishers,
                    "AWS::SNS::Subscription": pairs.len(),
                    "AWS::DynamoDB::Table": stores,
                    "AWS::StepFunctions::StateMachine": stores,
                }),
                _ => json!({
                    "AWS::SQS::Queue": 2 * consumers.len(),
                    // At least one rule per pair, more when a pattern is long.
                    "AWS::Events::Rule": types("AWS::Events::Rule").max(pairs.len()),
                    "AWS::DynamoDB::Table": stores,
                    "AWS::StepFunctions::StateMachine": stores,
                    "AWS::EventSchemas::Schema": model.event_ids().count(),
                }),
            };
            cases.push(json!({ "name": name, "dir": dir, "expected": expected }));
        }
    }
    harness(&work, &cases);
}

/// Runs `tools/stacks/deploy_nested.py` (cfn-lint and moto) on the cases.
fn harness(work: &Path, cases: &[Value]) {
    let Some(python) = common::tool("STORM_PYTHON", ".ci/venv/bin/python") else {
        return;
    };
    let manifest = work.join("manifest.json");
    std::fs::write(&manifest, json!({ "cases": cases }).to_string()).expect("manifest");
    let output = std::process::Command::new(&python)
        .arg("tests/tools/stacks/deploy_nested.py")
        .arg(&manifest)
        .output()
        .expect("run the nested stacks harness");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}");
    assert!(
        output.status.success(),
        "nested stacks harness failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("{} cases checked", cases.len())),
        "the harness did not check every case:\n{stdout}"
    );
}

/// One context far beyond the limits of a stack (no storm model makes one yet:
/// its schemas are chunked apart from it): 1,000 tagged queues, each redriving
/// into the one before, and outputs about them. It must be chunked in dependency
/// order, each chunk reading the previous one's queue through the root.
#[test]
fn a_context_beyond_the_limits_is_chunked() {
    let n = 1000;
    let mut resources = serde_json::Map::new();
    let mut outputs = serde_json::Map::new();
    for i in 0..n {
        let mut properties = json!({
            "QueueName": format!("big-{i:04}"),
            "SqsManagedSseEnabled": true,
            "Tags": [{ "Key": "storm:context", "Value": "Big Context" }],
        });
        if i > 0 {
            properties["RedrivePolicy"] = json!({
                "deadLetterTargetArn": { "Fn::GetAtt": [format!("Queue{:04}", i - 1), "Arn"] },
                "maxReceiveCount": 5,
            });
        }
        // As storm writes its queues: SQS-managed encryption, which checkov's
        // CKV_AWS_27 does not recognise, skipped with the reason.
        let metadata = json!({ "checkov": { "skip": [{
            "id": "CKV_AWS_27",
            "comment": "encrypted at rest with SQS-managed keys (SqsManagedSseEnabled)",
        }] } });
        resources.insert(
            format!("Queue{i:04}"),
            json!({ "Type": "AWS::SQS::Queue", "Properties": properties, "Metadata": metadata }),
        );
        if i % 100 == 0 {
            outputs.insert(
                format!("Queue{i:04}Url"),
                json!({ "Description": "a queue", "Value": { "Ref": format!("Queue{i:04}") } }),
            );
        }
    }
    let original = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "one context with a thousand queues",
        "Resources": resources,
        "Outputs": outputs,
    });
    let name = "big-context";
    let files = stacks::split(original.clone()).expect("splits");
    check(name, &original, &files);
    insta::with_settings!({ snapshot_path => "snapshots/stacks", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, summary(&files));
    });
    let temp = tempfile::tempdir().expect("temporary directory");
    let dir = temp.path().join(name);
    write(
        &dir,
        files
            .iter()
            .map(|(file, t)| (file.clone(), storm::routing::yaml(t))),
    );
    let case = json!({ "name": name, "dir": dir, "expected": { "AWS::SQS::Queue": n } });
    harness(temp.path(), &[case]);
}
