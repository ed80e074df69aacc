//! What `storm watch` keeps between renders of the `schemas/` and `routing/`
//! targets. The `schemas/` target keeps each context's files by the context's
//! key ([`crate::keys::Keys`]), so that a context an edit does not reach costs
//! nothing; below that, and for the `routing/` target, the text emitted from
//! each input (an event's JSON Schema, a context's AsyncAPI document, a routing
//! file) by a 128-bit hash of the input and of how it is written. AsyncAPI documents and routing files are keyed by
//! their trees, which are built as always and hashed (cheaper than writing
//! them); event schemas by the model data they are built from, so a known one
//! costs no tree at all. Only inputs the memo has not seen are written, so the
//! bytes are those of a fresh render whatever the memo saw before.
//!
//! Each target keeps its own table, and a render keeps only the entries it used:
//! the memo holds about one model's worth of text, however many renders it sees,
//! and one memo may serve both targets.

use super::tree::Node;
use std::collections::HashMap;
use std::path::PathBuf;
use xxhash_rust::xxh3::xxh3_128;

/// A 128-bit XXH3 of what a text is emitted from.
pub(crate) type Key = u128;

/// The encoding of an input that is hashed: tags, lengths and bytes, in one
/// buffer (hashed at once, which is many times faster than piece by piece).
pub(crate) struct Fingerprint(Vec<u8>);

impl Fingerprint {
    pub(crate) fn tag(&mut self, tag: u8) {
        self.0.push(tag);
    }

    pub(crate) fn len(&mut self, len: usize) {
        self.0.extend_from_slice(&(len as u64).to_le_bytes());
    }

    pub(crate) fn int(&mut self, n: i64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
}

/// The texts of earlier renders by the hash of what they were emitted from.
#[derive(Default)]
pub struct Memo {
    tables: [HashMap<Key, String>; Part::COUNT],
    /// Each context's files of the `schemas/` target by the context's key
    /// ([`crate::keys::Keys::context`]): a context whose key an edit left as it
    /// was costs neither a schema nor a tree.
    pub(crate) contexts: HashMap<Key, ContextFiles>,
}

/// One context's files of the `schemas/` target: the JSON Schemas of the
/// events it publishes (in model order) and its AsyncAPI document.
pub(crate) struct ContextFiles {
    pub(crate) schemas: Vec<(PathBuf, String)>,
    pub(crate) document: (PathBuf, String),
}

// `storm watch` keeps the memo on another thread than the one it renders on.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Memo>();
};

/// The target a table belongs to: renders of one target do not drop another's entries.
#[derive(Clone, Copy)]
pub(crate) enum Part {
    Schemas,
    Routing,
}

impl Part {
    const COUNT: usize = 2;
}

/// How a tree becomes text: part of every key, as one tree gives different texts.
#[derive(Clone, Copy)]
pub(crate) enum Format {
    /// [`Node::to_yaml`].
    Yaml,
    /// `routing::yaml` of a `serde_json::Value`.
    RoutingYaml,
    /// An event's JSON Schema, keyed by the model data it is built from
    /// (`json_schema::key`) rather than by its tree.
    EventSchema,
}

impl Memo {
    /// The part's table for one render; [`Memo::keep`] puts back what it used.
    pub(crate) fn table(&mut self, part: Part) -> Table {
        Table {
            old: std::mem::take(&mut self.tables[part as usize]),
            new: HashMap::new(),
        }
    }

    /// Keeps the entries a render used, and only those.
    pub(crate) fn keep(&mut self, part: Part, table: Table) {
        self.tables[part as usize] = table.new;
    }

    /// How many texts the memo holds.
    pub fn len(&self) -> usize {
        let contexts: usize = self.contexts.values().map(|c| c.schemas.len() + 1).sum();
        self.tables.iter().map(HashMap::len).sum::<usize>() + contexts
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One render's view of a table: the entries of the last render, and those used so far.
pub(crate) struct Table {
    old: HashMap<Key, String>,
    new: HashMap<Key, String>,
}

impl Table {
    /// The text of `key`: remembered, or made now and remembered.
    pub fn text(&mut self, key: Key, make: impl FnOnce() -> String) -> String {
        if let Some(text) = self.new.get(&key) {
            return text.clone();
        }
        let text = self.old.remove(&key).unwrap_or_else(make);
        self.new.insert(key, text.clone());
        text
    }
}

impl Table {
    /// The texts of many items: each item's tree is built (`build`) and hashed
    /// (`key`), and written (`write`) only when the table does not have its text.
    /// (Spreading this over the cores did not pay on model L: the trees are
    /// cheap, and the other targets keep the second core busy.)
    pub fn texts<I, T>(
        &mut self,
        items: &[I],
        build: impl Fn(&I) -> T,
        key: impl Fn(&T) -> Key,
        write: impl Fn(&T) -> String,
    ) -> Vec<String> {
        items
            .iter()
            .map(|item| {
                let tree = build(item);
                self.text(key(&tree), || write(&tree))
            })
            .collect()
    }
}

/// The key of an input written in `format`: a 128-bit XXH3 of the format and of
/// an unambiguous encoding of the input (tags, lengths, bytes).
pub(crate) fn key(format: Format, input: impl FnOnce(&mut Fingerprint)) -> Key {
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUFFER.with(|buffer| {
        let mut h = Fingerprint(std::mem::take(&mut *buffer.borrow_mut()));
        h.0.clear();
        h.tag(format as u8);
        input(&mut h);
        let key = xxh3_128(&h.0);
        *buffer.borrow_mut() = h.0;
        key
    })
}

/// The key of `node` written as `format`.
pub(crate) fn node_key(format: Format, node: &Node) -> Key {
    key(format, |h| hash_node(node, h))
}

/// Every member in order, as both writers visit them.
pub(crate) fn hash_node(node: &Node, h: &mut Fingerprint) {
    match node {
        Node::Bool(b) => {
            h.tag(0);
            h.tag(u8::from(*b));
        }
        Node::Int(n) => {
            h.tag(1);
            h.int(*n);
        }
        Node::Str(s) => {
            h.tag(2);
            h.str(s);
        }
        Node::List(items) => {
            h.tag(3);
            h.len(items.len());
            for item in items {
                hash_node(item, h);
            }
        }
        Node::Map(members) => {
            h.tag(4);
            h.len(members.len());
            for (k, v) in members {
                h.str(k);
                hash_node(v, h);
            }
        }
    }
}

/// Every member in its map's order (the order both writers see), numbers as
/// the text serde_json gives them.
pub(crate) fn hash_value(value: &serde_json::Value, h: &mut Fingerprint) {
    use serde_json::Value;
    match value {
        Value::Null => h.tag(5),
        Value::Bool(b) => {
            h.tag(0);
            h.tag(u8::from(*b));
        }
        Value::Number(n) => {
            h.tag(1);
            match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => {
                    h.tag(0);
                    h.int(i);
                }
                (None, Some(u)) => {
                    h.tag(1);
                    h.0.extend_from_slice(&u.to_le_bytes());
                }
                (None, None) => {
                    h.tag(2);
                    h.str(&n.to_string());
                }
            }
        }
        Value::String(s) => {
            h.tag(2);
            h.str(s);
        }
        Value::Array(items) => {
            h.tag(3);
            h.len(items.len());
            for item in items {
                hash_value(item, h);
            }
        }
        Value::Object(members) => {
            h.tag(4);
            h.len(members.len());
            for (k, v) in members {
                h.str(k);
                hash_value(v, h);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Memo;
    use crate::diagnostic::Severity;
    use crate::keys::Keys;
    use crate::model::Model;
    use crate::source::Sources;
    use crate::wire::{Backend, Wire};
    use std::path::PathBuf;

    fn example(name: &str) -> String {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name);
        std::fs::read_to_string(&path).expect("the example model")
    }

    fn model(text: &str) -> (Model, Sources) {
        let analysis = crate::analysis::analyze_texts(
            vec![(PathBuf::from("model.storm"), text.to_string())],
            Backend::Eventbridge,
        );
        let errors: Vec<String> = analysis
            .diagnostics
            .list
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.message.clone())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        (analysis.model, analysis.sources)
    }

    /// The clinic as written, and after the edits `storm watch` sees: a field
    /// added, an event renamed, a doc changed in a value type, a policy
    /// subscribing across contexts; the online store between them.
    fn models() -> Vec<(&'static str, (Model, Sources))> {
        let clinic = example("clinic.storm");
        let edit = |from: &str, to: &str| {
            assert!(clinic.contains(from), "{from}");
            clinic.replace(from, to)
        };
        vec![
            ("clinic", model(&clinic)),
            (
                "field added",
                model(&edit(
                    "event TimeBlocked { slot: TimeSlot, reason: String }",
                    "event TimeBlocked { slot: TimeSlot, reason: String, note: String? }",
                )),
            ),
            (
                "event renamed",
                model(&edit("PatientArchived", "PatientRetired")),
            ),
            (
                "doc of a value type's field changed",
                model(&edit(
                    "/// Where letters go;",
                    "/// Where paper letters go;",
                )),
            ),
            (
                "policy added",
                model(&edit(
                    "  policy RequestFromPortal when",
                    "  policy CancelForArchived when PatientRegistry.PatientArchived, PatientRegistry.PatientRegistered then BlockTime\n  policy RequestFromPortal when",
                )),
            ),
            ("online store", model(&example("online-store.storm"))),
            ("clinic again", model(&clinic)),
        ]
    }

    /// With one memo across models, backends and namespaces, both targets write
    /// exactly what a fresh render writes, and the memo keeps only the last
    /// render's texts.
    #[test]
    fn a_memo_changes_no_byte() {
        let models = models();
        let mut memo = Memo::default();
        let mut routing_memo = crate::routing::Memo::default();
        for backend in [Backend::Eventbridge, Backend::SnsSqs, Backend::Kafka] {
            for namespace in ["acme", "other"] {
                let wire = Wire::new(namespace.into(), backend);
                for (name, (model, sources)) in &models {
                    let keys = Keys::new(model, sources, &wire);
                    let schemas = crate::schemas::render(model, &wire);
                    let routing = crate::routing::render(model, &wire).expect("routing");
                    for _ in 0..2 {
                        let memoised =
                            crate::schemas::render_with(model, &wire, Some((&mut memo, &keys)));
                        assert!(memoised == schemas, "schemas of {name} on {backend:?}");
                        let memoised = crate::routing::render_with(
                            model,
                            &wire,
                            Some((&mut routing_memo, &keys)),
                        )
                        .expect("routing");
                        assert!(memoised == routing, "routing of {name} on {backend:?}");
                    }
                    assert!(
                        memo.len() <= schemas.len() + model.events.len(),
                        "{} texts kept",
                        memo.len()
                    );
                }
            }
        }
    }
}
