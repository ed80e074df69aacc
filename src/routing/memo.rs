//! What `storm watch` keeps between renders of the `routing/` target, so that an
//! edit builds again only the parts of the routing it can change.
//!
//! An AWS template is built in parts ([`cloudformation::Scope`]): the model-wide
//! resources, keyed by [`Keys::global`] (the wire, with its namespace, backend and
//! routing options, and every context's name) and by whether any context keeps an
//! event store (which the shared envelope builders' role follows); and each
//! context's own resources, keyed by [`Keys::context`]. A context's part reads its
//! own declarations (its events, aggregates, subscriptions), the names and events
//! of the contexts it subscribes to, the value types its events' schemas use
//! transitively, and the wire: all of which its key covers. The parts' logical ids
//! are those of a whole build only when no two parts take the same id
//! ([`cloudformation::Part::join`]); otherwise the template is built whole.
//!
//! The split into nested stacks depends on every resource (its size, its
//! references), so it is never patched: when the parts' contents are those of the
//! last render, its files are the files; otherwise the template is split again and
//! the stacks whose tree the memo has seen are not written again.
//!
//! Kafka's topic manifests are kept by their context's key; `routing.yaml`, which
//! lists every consumer, by the keys of all contexts.

use super::cloudformation::{self, Part, Scope};
use super::{Routes, kafka, publishers, stores, yaml};
use crate::keys::Keys;
use crate::model::Model;
use crate::schemas::memo::{self as texts, Fingerprint, Format};
use crate::wire::{Backend, Wire};
use std::collections::HashMap;
use xxhash_rust::xxh3::Xxh3;

/// What the routing of one render leaves for the next.
#[derive(Default)]
pub struct Memo {
    /// The parts of the AWS template by their key, with a hash of their content.
    parts: HashMap<u128, (Part, u128)>,
    /// The files of the last AWS render, with the hash of its parts' contents.
    last: Option<(u128, Vec<(String, String)>)>,
    /// The texts of the split's stacks by their tree.
    stacks: crate::schemas::Memo,
    /// Kafka's files (path and text) by key.
    files: HashMap<u128, (String, String)>,
}

// `storm watch` keeps the memo on another thread than the one it renders on.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Memo>();
};

/// What a key is the key of: part of every key, so that no two kinds of input
/// share one.
#[derive(Clone, Copy)]
enum Kind {
    Global,
    Context,
    KafkaTopic,
    KafkaTable,
}

fn key(kind: Kind, wire: &Wire, parts: impl FnOnce(&mut Xxh3)) -> u128 {
    let mut hash = Xxh3::new();
    hash.update(&[kind as u8, wire.backend as u8]);
    parts(&mut hash);
    hash.digest128()
}

impl Memo {
    /// The routing files of `wire.backend` (see [`super::render_with`]).
    pub(super) fn render(
        &mut self,
        model: &Model,
        wire: &Wire,
        keys: &Keys,
    ) -> Result<Vec<(String, String)>, String> {
        let routes = Routes::of(model);
        match wire.backend {
            Backend::Kafka => {
                self.parts.clear();
                self.last = None;
                Ok(self.kafka(model, wire, &routes, keys))
            }
            Backend::Eventbridge | Backend::SnsSqs => {
                self.files.clear();
                self.aws(model, wire, &routes, keys)
            }
        }
    }

    fn aws(
        &mut self,
        model: &Model,
        wire: &Wire,
        routes: &Routes,
        keys: &Keys,
    ) -> Result<Vec<(String, String)>, String> {
        let build = |scope: Scope| -> (Part, u128) {
            let options = &wire.routing;
            let part = match wire.backend {
                Backend::Eventbridge => {
                    cloudformation::eventbridge_scoped(model, wire, routes, options, scope)
                }
                _ => cloudformation::sns_sqs_scoped(model, wire, routes, options, scope),
            };
            let hash = content(&part);
            (part, hash)
        };
        let mut old = std::mem::take(&mut self.parts);
        let mut order: Vec<u128> = Vec::with_capacity(model.contexts.len() + 1);
        let global = key(Kind::Global, wire, |h| {
            h.update(&keys.global().to_le_bytes());
            h.update(&[u8::from(stores(model).is_empty())]);
        });
        order.push(global);
        let mut scopes = vec![(global, Scope::Global)];
        for c in model.context_ids() {
            let k = key(Kind::Context, wire, |h| {
                h.update(&keys.context(c).to_le_bytes())
            });
            order.push(k);
            scopes.push((k, Scope::Context(c)));
        }
        crate::timings::time("routing parts", || {
            for (k, scope) in scopes {
                if self.parts.contains_key(&k) {
                    continue;
                }
                let kept = old.remove(&k).unwrap_or_else(|| build(scope));
                self.parts.insert(k, kept);
            }
        });
        let description = match wire.backend {
            Backend::Eventbridge => cloudformation::eventbridge_description(wire),
            _ => cloudformation::sns_sqs_description(wire),
        };
        let mut whole = Xxh3::new();
        whole.update(description.as_bytes());
        for k in &order {
            whole.update(&self.parts[k].1.to_le_bytes());
        }
        let whole = whole.digest128();
        if let Some((last, files)) = &self.last
            && *last == whole
        {
            return Ok(files.clone());
        }
        self.last = None;
        let template = crate::timings::time("routing join", || {
            Part::join(order.iter().map(|k| &self.parts[k].0), &description)
                .or_else(|| super::template(model, wire))
                .expect("an AWS backend has a template")
        });
        let mut table = self.stacks.table(texts::Part::Routing);
        let files = crate::timings::time("routing split", || {
            super::split(template, wire, &mut |tree| {
                table.text(
                    texts::key(Format::RoutingYaml, |h| texts::hash_value(tree, h)),
                    || yaml(tree),
                )
            })
        });
        self.stacks.keep(texts::Part::Routing, table);
        let files = files?;
        self.last = Some((whole, files.clone()));
        Ok(files)
    }

    fn kafka(
        &mut self,
        model: &Model,
        wire: &Wire,
        routes: &Routes,
        keys: &Keys,
    ) -> Vec<(String, String)> {
        let mut old = std::mem::take(&mut self.files);
        let mut files = Vec::new();
        let mut kept = |k: u128, make: &dyn Fn() -> (String, String)| {
            let file = old.remove(&k).unwrap_or_else(make);
            files.push(file.clone());
            self.files.insert(k, file);
        };
        for producer in publishers(model) {
            let k = key(Kind::KafkaTopic, wire, |h| {
                h.update(&keys.context(producer).to_le_bytes())
            });
            kept(k, &|| {
                let (path, manifest) = kafka::topic(model, wire, producer);
                (path, yaml(&manifest))
            });
        }
        let k = key(Kind::KafkaTable, wire, |h| {
            h.update(&keys.global().to_le_bytes());
            for c in model.context_ids() {
                h.update(&keys.context(c).to_le_bytes());
            }
        });
        kept(k, &|| {
            let table = kafka::table(model, wire, routes);
            (kafka::ROUTING_FILE.to_string(), yaml(&table))
        });
        files
    }
}

/// A hash of a part's content: its resources, outputs and logical ids.
fn content(part: &Part) -> u128 {
    texts::key(Format::RoutingYaml, |h: &mut Fingerprint| {
        for map in [&part.resources, &part.outputs] {
            h.len(map.len());
            for (id, body) in map {
                h.str(id);
                texts::hash_value(body, h);
            }
        }
        h.len(part.ids.len());
        for id in &part.ids {
            h.str(id);
        }
    })
}
