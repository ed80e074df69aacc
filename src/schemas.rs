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
pub(crate) mod memo;
pub(crate) mod tree;

pub use memo::Memo;

use crate::generate::{Owner, Rendered};
use crate::model::{ContextId, EventId, Model};
use crate::names::kebab;
use crate::wire::Wire;
use std::path::PathBuf;
use tree::Node;

pub fn render(model: &Model, wire: &Wire) -> Rendered {
    render_with(model, wire, None)
}

/// [`render`], with the texts of earlier renders kept in `memo` (`storm watch`):
/// only trees the memo has not seen are written out, the bytes are the same.
pub fn render_with(model: &Model, wire: &Wire, memo: Option<&mut Memo>) -> Rendered {
    let routes = asyncapi::Routes::of(model, wire);
    let contexts: Vec<ContextId> = model.context_ids().collect();
    let (schemas, documents) = match memo {
        // Schemas keyed by their model data, documents by their trees; only
        // what the memo has not seen is written.
        Some(memo) => {
            let mut table = memo.table(memo::Part::Schemas);
            let events: Vec<EventId> = model.event_ids().collect();
            let schemas = event_schemas_with(model, &events, &mut table);
            let documents = table.texts(
                &contexts,
                |&c| asyncapi::document(model, wire, &routes, c),
                |tree| memo::node_key(memo::Format::Yaml, tree),
                Node::to_yaml,
            );
            memo.keep(memo::Part::Schemas, table);
            (schemas, documents)
        }
        None => (
            model.event_ids().map(|e| event_schema(model, e)).collect(),
            contexts
                .iter()
                .map(|&c| asyncapi::document(model, wire, &routes, c).to_yaml())
                .collect(),
        ),
    };
    let mut files: Rendered = model
        .event_ids()
        .zip(schemas)
        .map(|(e, body)| (routes.schema_paths[e.index()].clone(), body, Owner::Storm))
        .collect();
    for (&context, body) in contexts.iter().zip(documents) {
        let path = PathBuf::from(format!(
            "schemas/{}/asyncapi.yaml",
            kebab(&model.context(context).name.name)
        ));
        files.push((path, body, Owner::Storm));
    }
    files
}

/// The JSON Schema of one event's payload, pretty-printed, as in its file (without
/// the ownership marker): also what the EventBridge schema registry gets.
pub fn event_schema(model: &Model, event: EventId) -> String {
    json_schema::event_schema(model, event).to_json()
}

/// [`event_schema`] of `events`, from `table` when it has the texts (also the
/// routing target's schema registry, in `storm watch`). The key is a hash of the
/// model data a schema is built from, so a known schema costs no tree.
pub(crate) fn event_schemas_with(
    model: &Model,
    events: &[EventId],
    table: &mut memo::Table,
) -> Vec<String> {
    table.texts(
        events,
        |&e| e,
        |&e| json_schema::key(model, e),
        |&e| event_schema(model, e),
    )
}

// Names of broker resources the AsyncAPI documents mention; they match what the
// `routing/` target creates.
