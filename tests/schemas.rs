//! The `schemas/` target over every example, every clean check fixture and the
//! models in `fixtures/schemas/` (awkward names, recursive value types, nested
//! lists, optionals in lists), for each backend:
//!
//! - the files are exactly one schema per event and one AsyncAPI document per
//!   context, generated the same twice;
//! - each schema describes its event's payload and each document the context's
//!   channels and operations (read back with serde);
//! - the models in `fixtures/schemas/` are insta snapshots;
//! - with the contract tools of `.ci/install.d/30-contract-tools.sh`: every schema
//!   is valid draft-04 (ajv-draft-04) and accepts sample events built from the
//!   model and rejects broken ones, and every AsyncAPI document is accepted by the
//!   reference parser (@asyncapi/parser).

mod common;

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use storm::diagnostic::Severity;
use storm::generate::{self, Output, Targets};
use storm::model::{Builtin, EventId, Field, Model, Type};
use storm::wire::{Backend, Wire};

const BACKENDS: [Backend; 3] = [Backend::Eventbridge, Backend::SnsSqs, Backend::Kafka];
const SCHEMAS_ONLY: Targets = Targets {
    rust: false,
    schemas: true,
    routing: false,
    docs: false,
};

/// Every model the target runs on: (name, inputs).
fn models() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = ["online-store.storm", "clinic.storm", "parcel-delivery"]
        .iter()
        .map(|e| (format!("example-{e}"), Path::new("examples").join(e)))
        .collect();
    for path in common::entries("tests/fixtures/check") {
        let name = common::stem(&path);
        if name.contains("--ok-") {
            out.push((format!("check-{name}"), path));
        }
    }
    for path in common::entries("tests/fixtures/schemas") {
        out.push((format!("schemas-{}", common::stem(&path)), path));
    }
    out
}

fn analyze(path: &Path) -> Model {
    let analysis = storm::analysis::analyze(&[path.to_path_buf()], Backend::Eventbridge);
    let errors: Vec<&str> = analysis
        .diagnostics
        .list
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.as_str())
        .collect();
    assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    analysis.model
}

fn wire(backend: Backend) -> Wire {
    Wire::new("com.example".to_string(), backend)
}

/// Writes the target's files below `dir`.
fn write(dir: &Path, files: &BTreeMap<PathBuf, Output>) {
    for (path, output) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a file has a folder")).expect("mkdir");
        std::fs::write(&path, output.content.as_bytes()).expect("write a generated file");
    }
}

#[test]
fn schemas_target() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut problems: Vec<String> = Vec::new();
    let mut manifest: Vec<Value> = Vec::new();
    let mut documents: Vec<PathBuf> = Vec::new();
    for (name, path) in models() {
        let model = analyze(&path);
        for backend in BACKENDS {
            let wire = wire(backend);
            let files = generate::files(&model, &wire, SCHEMAS_ONLY).expect("renders");
            if files != generate::files(&model, &wire, SCHEMAS_ONLY).expect("renders") {
                problems.push(format!("{name} ({backend:?}): output differs run to run"));
            }
            let out = tmp.path().join(&name).join(backend.as_str());
            write(&out, &files);
            let context = format!("{name} ({})", backend.as_str());
            problems.extend(check_files(&context, &model, &wire, &files));
            documents.extend(
                files
                    .keys()
                    .filter(|p| p.ends_with("asyncapi.yaml"))
                    .map(|p| out.join(p)),
            );
            if backend == Backend::Eventbridge {
                // The schemas do not depend on the backend: sample them once.
                for event in model.event_ids() {
                    let schema = out.join(wire.schema_path(&model, event));
                    manifest.push(json!({
                        "schema": schema,
                        "cases": samples(&model, event),
                    }));
                }
            }
            if name.starts_with("schemas-") {
                snapshot(&name, backend, &files);
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(!manifest.is_empty() && !documents.is_empty());

    let Some(node) = common::tool("STORM_NODE", "node") else {
        return;
    };
    let Some(tools) = common::tool("STORM_CONTRACT_TOOLS", ".ci/contract-tools/package.json")
    else {
        return;
    };
    let node_path = tools
        .parent()
        .expect("the contract tools' package.json is in their folder")
        .join("node_modules");
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/asyncapi");

    let manifest_path = tmp.path().join("samples.json");
    std::fs::write(
        &manifest_path,
        serde_json::to_string_pretty(&manifest).expect("manifest"),
    )
    .expect("write the sample manifest");
    let run = |script: &str, args: &[PathBuf]| {
        let output = Command::new(&node)
            .arg(scripts.join(script))
            .args(args)
            .env("NODE_PATH", &node_path)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", node.display()));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("{script}: {}", text.lines().last().unwrap_or(""));
        assert!(output.status.success(), "{script} failed:\n{text}");
        text
    };
    let report = run("validate-json-schemas.js", &[manifest_path]);
    assert!(report.contains(", 0 failures"), "{report}");
    let report = run("validate-asyncapi.js", &documents);
    assert!(
        report.contains(&format!(
            "{0}/{0} AsyncAPI documents valid",
            documents.len()
        )),
        "{report}"
    );
}

/// What the files must be, read back with serde: one schema per event with the
/// event's fields, one document per context with its channels and operations.
fn check_files(
    context: &str,
    model: &Model,
    wire: &Wire,
    files: &BTreeMap<PathBuf, Output>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut expected: BTreeSet<PathBuf> = model
        .event_ids()
        .map(|e| wire.schema_path(model, e))
        .collect();
    for c in model.context_ids() {
        let kebab = storm::names::kebab(&model.context(c).name.name);
        expected.insert(PathBuf::from(format!("schemas/{kebab}/asyncapi.yaml")));
    }
    let actual: BTreeSet<PathBuf> = files.keys().cloned().collect();
    if actual != expected {
        problems.push(format!(
            "{context}: files {actual:?}, expected {expected:?}"
        ));
    }
    for path in &actual {
        let content = &files[path].content;
        if storm::ownership::state(path, content) != storm::ownership::State::Owned {
            problems.push(format!("{context}: {} has no valid marker", path.display()));
        }
    }
    for event in model.event_ids() {
        let path = wire.schema_path(model, event);
        let Some(output) = files.get(&path) else {
            continue;
        };
        match serde_json::from_str::<Value>(&output.content) {
            Ok(schema) => {
                if let Err(why) = describes_payload(model, event, &schema) {
                    problems.push(format!("{context}: {}: {why}", path.display()));
                }
            }
            Err(e) => problems.push(format!("{context}: {}: not JSON: {e}", path.display())),
        }
    }
    for c in model.context_ids() {
        let kebab = storm::names::kebab(&model.context(c).name.name);
        let path = PathBuf::from(format!("schemas/{kebab}/asyncapi.yaml"));
        let Some(output) = files.get(&path) else {
            continue;
        };
        match serde_yaml::from_str::<Value>(&output.content) {
            Ok(doc) => {
                if let Err(why) = describes_context(model, wire, c, &path, &doc) {
                    problems.push(format!("{context}: {}: {why}", path.display()));
                }
            }
            Err(e) => problems.push(format!("{context}: {}: not YAML: {e}", path.display())),
        }
    }
    problems
}

fn describes_payload(model: &Model, event: EventId, schema: &Value) -> Result<(), String> {
    let e = model.event(event);
    let expect = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_string()) };
    expect(
        schema["$schema"] == "http://json-schema.org/draft-04/schema#",
        "not draft-04",
    )?;
    expect(
        schema["title"] == e.name.name.as_str(),
        "title is not the event name",
    )?;
    expect(schema["type"] == "object", "not an object")?;
    expect(
        schema["additionalProperties"] == false,
        "allows other properties",
    )?;
    expect(
        schema["description"].as_str() == e.doc.as_deref(),
        "description is not the event's doc",
    )?;
    let properties: Vec<&str> = schema["properties"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut fields: Vec<&str> = e.fields.iter().map(|f| f.name.name.as_str()).collect();
    fields.sort();
    let mut properties = properties;
    properties.sort();
    expect(properties == fields, "properties are not the fields")?;
    let required: Vec<&str> = e
        .fields
        .iter()
        .filter(|f| !matches!(f.ty, Type::Optional(_)))
        .map(|f| f.name.name.as_str())
        .collect();
    match schema.get("required") {
        None => expect(required.is_empty(), "`required` is missing"),
        Some(list) => expect(
            *list == json!(required) && !required.is_empty(),
            "`required` is not the non-optional fields",
        ),
    }
}

fn describes_context(
    model: &Model,
    wire: &Wire,
    context: storm::model::ContextId,
    path: &Path,
    doc: &Value,
) -> Result<(), String> {
    let c = model.context(context);
    if doc["asyncapi"] != "3.0.0" || doc["info"]["title"] != c.name.name.as_str() {
        return Err("not an AsyncAPI 3.0.0 document titled with the context".into());
    }
    let published: BTreeSet<String> = model
        .event_ids()
        .filter(|&e| model.event(e).context == context)
        .map(|e| model.event_path(e))
        .collect();
    let consumed: BTreeSet<String> = model
        .subscriptions()
        .iter()
        .filter(|s| s.context == context)
        .map(|s| model.event_path(s.event))
        .collect();
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let channels: BTreeSet<String> = published.union(&consumed).cloned().collect();
    if keys(&doc["channels"]) != channels {
        return Err(format!(
            "channels {:?}, expected {channels:?}",
            keys(&doc["channels"])
        ));
    }
    let mut operations: BTreeSet<String> = published.iter().map(|e| format!("{e}.send")).collect();
    operations.extend(consumed.iter().map(|e| format!("{e}.receive")));
    if keys(&doc["operations"]) != operations {
        return Err(format!("operations {:?}", keys(&doc["operations"])));
    }
    for (key, op) in doc["operations"].as_object().into_iter().flatten() {
        let action = if key.ends_with(".send") {
            "send"
        } else {
            "receive"
        };
        if op["action"] != action {
            return Err(format!("operation {key} is not `{action}`"));
        }
    }
    // Each message's payload is the event's schema file, by a reference that
    // resolves from the document's folder.
    let folder = path.parent().expect("the document is in a folder");
    for event in model.event_ids() {
        let key = model.event_path(event);
        if !channels.contains(&key) {
            continue;
        }
        let message = &doc["components"]["messages"][&key];
        if message["payload"]["schemaFormat"] != "application/schema+json;version=draft-07" {
            return Err(format!("message {key} has no JSON Schema payload"));
        }
        let reference = message["payload"]["schema"]["$ref"].as_str().unwrap_or("");
        let target = normalize(&folder.join(reference));
        if target != wire.schema_path(model, event) {
            return Err(format!("message {key} refers to {reference}"));
        }
    }
    Ok(())
}

/// `a/b/../c/./d` → `a/c/d`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The generated tree of a model from `fixtures/schemas/`: every file for
/// EventBridge, the AsyncAPI documents for the other backends.
fn snapshot(name: &str, backend: Backend, files: &BTreeMap<PathBuf, Output>) {
    let mut text = String::new();
    for (path, output) in files {
        if backend != Backend::Eventbridge && !path.ends_with("asyncapi.yaml") {
            continue;
        }
        text.push_str(&format!("=== {} ===\n{}", path.display(), output.content));
    }
    let name = format!(
        "{}--{}",
        name.trim_start_matches("schemas-"),
        backend.as_str()
    );
    insta::with_settings!({ snapshot_path => "snapshots/schemas", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

// ---------------------------------------------------------------------------
// Sample events, built from the model.

#[derive(Clone, Copy, PartialEq)]
enum Fill {
    /// Every optional has a value, every list one element.
    Full,
    /// Every optional is null, every list two elements.
    Nulls,
    /// Optional fields left out, every list empty.
    Minimal,
}

/// Deep enough for every shape; recursion stops at lists and optionals.
const MAX_DEPTH: usize = 4;

fn builtin(b: Builtin, fill: Fill) -> Value {
    let other = fill != Fill::Full;
    match b {
        Builtin::String => json!(if other { "" } else { "text with \"quotes\"" }),
        Builtin::Int => json!(if other {
            -9_007_199_254_740_991_i64
        } else {
            42
        }),
        Builtin::Float => json!(if other { -0.25 } else { 1.5 }),
        Builtin::Bool => json!(other),
        Builtin::Decimal => json!(if other { "-0.001" } else { "12" }),
        Builtin::Uuid => json!(if other {
            "6F1C0B7E-2A4D-4C1E-9F3A-0C5D8E7B1A22"
        } else {
            "6f1c0b7e-2a4d-4c1e-9f3a-0c5d8e7b1a22"
        }),
        Builtin::Timestamp => json!(if other {
            "2024-02-29T23:59:59.123456789+05:30"
        } else {
            "2024-05-01T12:30:00Z"
        }),
        Builtin::Date => json!(if other { "2024-02-29" } else { "2024-05-01" }),
    }
}

fn value(model: &Model, ty: &Type, fill: Fill, depth: usize) -> Value {
    match ty {
        Type::Builtin(b) => builtin(*b, fill),
        Type::Named(t) => object(model, &model.type_def(*t).fields, fill, depth + 1),
        Type::Enum(e) => {
            let variants = &model.enum_def(*e).variants;
            let v = if fill == Fill::Full {
                variants.first()
            } else {
                variants.last()
            };
            // No value of an enum without variants exists; only reached through an
            // optional, which `value` of `Optional` turns into null.
            v.map(|v| json!(v.name.name)).unwrap_or(Value::Null)
        }
        Type::List(inner) => {
            let n = match fill {
                _ if depth >= MAX_DEPTH => 0,
                Fill::Full => 1,
                Fill::Nulls => 2,
                Fill::Minimal => 0,
            };
            Value::Array(
                (0..n)
                    .map(|_| value(model, inner, fill, depth + 1))
                    .collect(),
            )
        }
        Type::Optional(inner) => {
            if fill != Fill::Full || depth >= MAX_DEPTH || is_empty_enum(model, inner) {
                Value::Null
            } else {
                value(model, inner, fill, depth + 1)
            }
        }
        Type::Unknown => Value::Null,
    }
}

fn is_empty_enum(model: &Model, ty: &Type) -> bool {
    matches!(ty, Type::Enum(e) if model.enum_def(*e).variants.is_empty())
}

fn object(model: &Model, fields: &[Field], fill: Fill, depth: usize) -> Value {
    let mut map = serde_json::Map::new();
    for field in fields {
        if fill == Fill::Minimal && matches!(field.ty, Type::Optional(_)) {
            continue;
        }
        map.insert(
            field.name.name.clone(),
            value(model, &field.ty, fill, depth),
        );
    }
    Value::Object(map)
}

/// A value of another JSON type than `v`.
fn wrong(v: &Value) -> Value {
    match v {
        Value::String(_) => json!(12345),
        Value::Array(_) => json!({ "not": "a list" }),
        Value::Object(_) => json!(["not an object"]),
        Value::Null | Value::Bool(_) | Value::Number(_) => json!("wrong"),
    }
}

/// Strings a type's pattern must reject.
fn malformed(b: Builtin) -> &'static [&'static str] {
    match b {
        Builtin::Decimal => &["12,50", "1e5", "12.", ".5", "+1", "twelve"],
        Builtin::Uuid => &["not-a-uuid", "6f1c0b7e2a4d4c1e9f3a0c5d8e7b1a22"],
        Builtin::Date => &["2024-13-01", "01/05/2024", "2024-05-01T00:00:00Z"],
        Builtin::Timestamp => &["2024-05-01 12:30", "2024-05-01", "yesterday"],
        Builtin::String | Builtin::Int | Builtin::Float | Builtin::Bool => &[],
    }
}

/// Adds a property to the first object nested in `v`; whether it found one.
fn add_nested_property(v: &mut Value) -> bool {
    match v {
        Value::Object(map) => {
            map.insert("storm_unexpected".into(), json!(1));
            true
        }
        Value::Array(items) => items.iter_mut().any(add_nested_property),
        _ => false,
    }
}

/// Valid and invalid payloads of an event, as manifest cases.
fn samples(model: &Model, event: EventId) -> Vec<Value> {
    let fields = &model.event(event).fields;
    let mut cases = Vec::new();
    let mut case = |name: String, valid: bool, instance: Value| {
        cases.push(json!({ "name": name, "valid": valid, "instance": instance }));
    };
    let full = object(model, fields, Fill::Full, 0);
    case("every field".into(), true, full.clone());
    case(
        "optionals null, lists of two".into(),
        true,
        object(model, fields, Fill::Nulls, 0),
    );
    case(
        "optional fields absent, lists empty".into(),
        true,
        object(model, fields, Fill::Minimal, 0),
    );
    case("not an object".into(), false, json!([]));

    let mut extra = full.clone();
    let mut key = "storm_unexpected".to_string();
    while fields.iter().any(|f| f.name.name == key) {
        key.push('_');
    }
    extra[key.as_str()] = json!("surprise");
    case(format!("extra property `{key}`"), false, extra);

    for field in fields {
        let name = &field.name.name;
        let mut without = full.clone();
        if !matches!(field.ty, Type::Optional(_)) {
            without.as_object_mut().map(|o| o.remove(name));
            case(format!("required `{name}` missing"), false, without);
        }
        let mut bad = full.clone();
        bad[name.as_str()] = wrong(&full[name.as_str()]);
        case(format!("`{name}` of the wrong type"), false, bad);

        let mut nested = full.clone();
        if add_nested_property(&mut nested[name.as_str()]) {
            case(format!("extra property inside `{name}`"), false, nested);
        }
        let inner = match &field.ty {
            Type::Optional(inner) => inner.as_ref(),
            ty => ty,
        };
        if let Type::Builtin(b) = inner {
            for text in malformed(*b) {
                let mut bad = full.clone();
                bad[name.as_str()] = json!(text);
                case(format!("`{name}` = {text:?}"), false, bad);
            }
        }
        if let Type::Enum(_) = inner {
            let mut bad = full.clone();
            bad[name.as_str()] = json!("NotAVariant");
            case(format!("`{name}` not a variant"), false, bad);
        }
    }
    cases
}
