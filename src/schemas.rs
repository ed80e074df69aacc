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

use memo::Key;
pub use memo::Memo;

use crate::generate::{Owner, Rendered};
use crate::keys::Keys;
use crate::model::{ContextId, EventId, Model};
use crate::names::kebab;
use crate::wire::Wire;
use std::path::PathBuf;
use tree::Node;

pub fn render(model: &Model, wire: &Wire) -> Rendered {
    let routes = asyncapi::Routes::of(model, wire);
    let mut files: Rendered = model
        .event_ids()
        .map(|e| schema_file(model, &routes, e))
        .collect();
    for context in model.context_ids() {
        files.push(document_file(model, wire, &routes, context));
    }
    files
}

/// [`render`] a context at a time: each context's schemas and document go to
/// `part` as soon as they are built. The event schemas come from `shared`, which
/// another target writes too.
pub fn render_parts(model: &Model, wire: &Wire, shared: &EventSchemas, part: &dyn Fn(Rendered)) {
    let routes = asyncapi::Routes::of(model, wire);
    for context in model.context_ids() {
        let mut files: Rendered = routes
            .published(context)
            .iter()
            .map(|&e| {
                let path = routes.schema_paths[e.index()].clone();
                (path, shared.take(model, e), Owner::Storm)
            })
            .collect();
        files.push(document_file(model, wire, &routes, context));
        part(files);
    }
}

/// An event's JSON Schema, where it goes.
fn schema_file(
    model: &Model,
    routes: &asyncapi::Routes,
    event: EventId,
) -> (PathBuf, String, Owner) {
    let path = routes.schema_paths[event.index()].clone();
    (path, event_schema(model, event), Owner::Storm)
}

/// The JSON Schema of every event, for the two targets that write them: the
/// `schemas/` files and EventBridge's schema registry in `routing/`. The first to
/// ask for an event's schema builds it and keeps a copy for the second, which
/// takes it, so that a run builds each schema once and holds it only between
/// the two. Both may ask at the same time: the second waits for the first.
pub struct EventSchemas {
    slots: Vec<std::sync::Mutex<Slot>>,
}

enum Slot {
    Unbuilt,
    /// Built by one target, waiting for the other.
    Kept(String),
    /// Handed to both.
    Given,
}

impl EventSchemas {
    /// `shared`: whether both targets ask; if not, each schema is built when
    /// asked for and nothing is kept.
    pub fn new(model: &Model, shared: bool) -> EventSchemas {
        let events = if shared { model.events.len() } else { 0 };
        EventSchemas {
            slots: (0..events)
                .map(|_| std::sync::Mutex::new(Slot::Unbuilt))
                .collect(),
        }
    }

    /// The schema of `event`, as [`event_schema`] writes it.
    pub fn take(&self, model: &Model, event: EventId) -> String {
        let Some(slot) = self.slots.get(event.index()) else {
            return event_schema(model, event);
        };
        let mut slot = crate::parallel::lock(slot);
        match std::mem::replace(&mut *slot, Slot::Given) {
            Slot::Kept(text) => text,
            Slot::Unbuilt => {
                let text = event_schema(model, event);
                *slot = Slot::Kept(text.clone());
                text
            }
            // A third asker (none today) builds its own.
            Slot::Given => event_schema(model, event),
        }
    }
}

/// A context's AsyncAPI document, where it goes.
fn document_file(
    model: &Model,
    wire: &Wire,
    routes: &asyncapi::Routes,
    context: ContextId,
) -> (PathBuf, String, Owner) {
    let body = asyncapi::document(model, wire, routes, context).to_yaml();
    (document_path(model, context), body, Owner::Storm)
}

/// [`render`], with each context's files of earlier renders kept in `memo`
/// (`storm watch`) by the context's key: a context whose key is unchanged is
/// taken from the memo as it is, and only the others are built. The bytes are
/// those of [`render`].
///
/// The key covers what a context's files read: its events' schemas read the
/// events' fields and the value types and enums they reach (the contexts of
/// those types, transitively); its AsyncAPI document reads the events it
/// publishes, who emits them (commands and externals that mention it) and who
/// consumes them (contexts whose policies or read models mention it), the
/// events it consumes (contexts it mentions), every context's name (its wire
/// names, the order of consumers) and the wire. Relative order of events and
/// handlers of different contexts follows the order of the contexts.
pub fn render_with(model: &Model, wire: &Wire, memo: Option<(&mut Memo, &Keys)>) -> Rendered {
    let Some((memo, keys)) = memo else {
        return render(model, wire);
    };
    let mut published = vec![0usize; model.contexts.len()];
    for event in &model.events {
        published[event.context.index()] += 1;
    }
    let mut old = std::mem::take(&mut memo.contexts);
    // A context whose key changed may still have schemas and a document the
    // memo saw: those are found by what they are built from.
    let mut table = memo.table(memo::Part::Schemas);
    let mut kept: Vec<(Key, memo::ContextFiles)> = Vec::with_capacity(model.contexts.len());
    let mut routes = None;
    for context in model.context_ids() {
        let key = keys.context(context);
        let files = match old.remove(&key) {
            Some(files) if files.schemas.len() == published[context.index()] => files,
            _ => {
                let routes = routes.get_or_insert_with(|| asyncapi::Routes::of(model, wire));
                context_files(model, wire, routes, context, &mut table)
            }
        };
        kept.push((key, files));
    }
    // The schemas in the model's order of events, as [`render`] gives them.
    let mut next = vec![0usize; kept.len()];
    let mut files: Rendered = Vec::with_capacity(model.events.len() + kept.len());
    for event in model.event_ids() {
        let c = model.event(event).context.index();
        let (path, body) = &kept[c].1.schemas[next[c]];
        next[c] += 1;
        files.push((path.clone(), body.clone(), Owner::Storm));
    }
    for (_, context) in &kept {
        let (path, body) = &context.document;
        files.push((path.clone(), body.clone(), Owner::Storm));
    }
    // Two contexts never share a key: it covers the context's index.
    memo.contexts = kept.into_iter().collect();
    memo.keep(memo::Part::Schemas, table);
    files
}

/// The files of one context: its events' schemas and its AsyncAPI document.
fn context_files(
    model: &Model,
    wire: &Wire,
    routes: &asyncapi::Routes,
    context: ContextId,
    table: &mut memo::Table,
) -> memo::ContextFiles {
    let events = routes.published(context);
    let schemas = event_schemas_with(model, events, table);
    let document = table
        .texts(
            &[context],
            |&c| asyncapi::document(model, wire, routes, c),
            |tree| memo::node_key(memo::Format::Yaml, tree),
            Node::to_yaml,
        )
        .pop()
        .unwrap_or_default();
    memo::ContextFiles {
        schemas: events
            .iter()
            .map(|e| routes.schema_paths[e.index()].clone())
            .zip(schemas)
            .collect(),
        document: (document_path(model, context), document),
    }
}

/// The folders of `schemas/`, one per context, known before anything is rendered.
pub fn folders(model: &Model) -> Vec<PathBuf> {
    model
        .context_ids()
        .filter_map(|c| document_path(model, c).parent().map(PathBuf::from))
        .collect()
}

/// `schemas/<context>/asyncapi.yaml`.
fn document_path(model: &Model, context: ContextId) -> PathBuf {
    PathBuf::from(format!(
        "schemas/{}/asyncapi.yaml",
        kebab(&model.context(context).name.name)
    ))
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
