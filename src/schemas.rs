//! The `schemas/` target: the contracts of the model (outputs.md, "schemas/ —
//! contracts"). Per event a JSON Schema (draft-04) of its payload; per context an
//! AsyncAPI 3.0 document of what it publishes and consumes on the chosen backend.
//!
//! Both are machine formats built as ordered trees ([`tree::Node`]) and written
//! with serde_json and as serde_yaml writes YAML (a direct writer of the same bytes,
//! serde_yaml itself for the rare shapes it does not cover): every value is derived
//! from the model, and a template would only restate the tree. What the documents
//! need from the whole model (subscriptions, emitters, names on the wire) is
//! computed once per render (`asyncapi::Routes`), not once per event. The trees
//! keep members in the order they are added (a schema reads `$schema`, `title`,
//! `type`, `properties`, ...);
//! collections come from the model's order or are sorted, so the bytes are
//! deterministic.

mod asyncapi;
mod json_schema;
pub(crate) mod tree;

use crate::generate::{Owner, Rendered};
use crate::model::{EventId, Model};
use crate::names::kebab;
use crate::wire::Wire;
use std::path::PathBuf;

pub fn render(model: &Model, wire: &Wire) -> Rendered {
    let routes = asyncapi::Routes::of(model, wire);
    let mut files: Rendered = model
        .event_ids()
        .map(|e| {
            (
                routes.schema_paths[e.index()].clone(),
                event_schema(model, e),
                Owner::Storm,
            )
        })
        .collect();
    for context in model.context_ids() {
        let path = PathBuf::from(format!(
            "schemas/{}/asyncapi.yaml",
            kebab(&model.context(context).name.name)
        ));
        let body = asyncapi::document(model, wire, &routes, context).to_yaml();
        files.push((path, body, Owner::Storm));
    }
    files
}

/// The JSON Schema of one event's payload, pretty-printed, as in its file (without
/// the ownership marker): also what the EventBridge schema registry gets.
pub fn event_schema(model: &Model, event: EventId) -> String {
    json_schema::event_schema(model, event).to_json()
}

// Names of broker resources the AsyncAPI documents mention; they match what the
// `routing/` target creates.
