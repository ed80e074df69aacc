//! What each context's generated parts depend on, as one key per context, so
//! that `storm watch` can keep a part whose key an edit did not change without
//! building it again.
//!
//! A context's key covers, by their text (so that nothing a context says can be
//! missed): the context itself; every context it mentions (an event it handles,
//! a command its policies issue, a type or actor it uses) or that mentions it;
//! and, transitively, every context whose value types or enums any of those use
//! in a field. On top comes what shapes every part: the wire (namespace,
//! backend, routing options), every context's name in model order, and the
//! context map. A part built from one context and the model around it (its
//! crate, its schemas, its routing, its section of the docs) reads nothing
//! outside these; a target whose part reads further must widen its key, not
//! use this one.

use crate::model::{ContextId, Field, Model, TypeRef};
use crate::source::Sources;
use crate::wire::Wire;
use std::collections::BTreeSet;
use xxhash_rust::xxh3::Xxh3;

/// One key per context (see the module's documentation), and the key of what
/// shapes every part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    contexts: Vec<u128>,
    global: u128,
}

impl Keys {
    pub fn new(model: &Model, sources: &Sources, wire: &Wire) -> Keys {
        let mut global = Xxh3::new();
        write(&mut global, &format!("{wire:?}"));
        for context in &model.contexts {
            write(&mut global, &context.name.name);
        }
        global.update(&[u8::from(model.has_context_map)]);
        for relation in &model.relations {
            let ends = [relation.upstream, relation.downstream];
            for end in ends {
                global.update(&end.0.to_le_bytes());
            }
            global.update(&[u8::from(relation.mutual)]);
            for pattern in &relation.patterns {
                write(&mut global, pattern);
            }
            write(&mut global, relation.doc.as_deref().unwrap_or("\u{0}"));
        }
        let global = global.digest128();
        // Each context as written: its doc, its file and its text.
        let own: Vec<u128> = model
            .contexts
            .iter()
            .map(|context| {
                let mut hash = Xxh3::new();
                write(&mut hash, context.doc.as_deref().unwrap_or("\u{0}"));
                write(
                    &mut hash,
                    &sources.get(context.span.file).path.to_string_lossy(),
                );
                write(&mut hash, sources.text(context.span));
                hash.digest128()
            })
            .collect();
        let (mentions, types_used) = mentions(model);
        let mut mentioned_by = vec![BTreeSet::new(); mentions.len()];
        for (from, targets) in mentions.iter().enumerate() {
            for &to in targets {
                mentioned_by[to].insert(from);
            }
        }
        let contexts = (0..own.len())
            .map(|c| {
                let mut reached: BTreeSet<usize> = BTreeSet::from([c]);
                reached.extend(&mentions[c]);
                reached.extend(&mentioned_by[c]);
                let used = reached.iter().flat_map(|&d| types_used[d].iter().copied());
                reached.extend(types_reached(model, used));
                // The context itself first: two contexts that mention each
                // other reach the same set.
                let mut hash = Xxh3::new();
                hash.update(&global.to_le_bytes());
                hash.update(&(c as u64).to_le_bytes());
                for d in reached {
                    hash.update(&(d as u64).to_le_bytes());
                    hash.update(&own[d].to_le_bytes());
                }
                hash.digest128()
            })
            .collect();
        Keys { contexts, global }
    }

    /// The key of one context's parts.
    pub fn context(&self, id: ContextId) -> u128 {
        self.contexts[id.index()]
    }

    /// The key of what shapes every part: a part built from the model as a whole
    /// must not use it alone.
    pub fn global(&self) -> u128 {
        self.global
    }
}

/// A string, with its length first: `("ab", "c")` and `("a", "bc")` differ.
fn write(hash: &mut Xxh3, text: &str) {
    hash.update(&(text.len() as u64).to_le_bytes());
    hash.update(text.as_bytes());
}

/// Per context: the other contexts anything in it mentions, and the value types
/// and enums its fields use.
fn mentions(model: &Model) -> (Vec<BTreeSet<usize>>, Vec<BTreeSet<TypeRef>>) {
    let n = model.contexts.len();
    let mut types = vec![BTreeSet::new(); n];
    let mut field_types = |from: ContextId, fields: &[Field]| {
        for field in fields {
            let mut refs = Vec::new();
            field.ty.refs(true, &mut refs);
            types[from.index()].extend(refs.into_iter().map(|(r, _)| r));
        }
    };
    for def in &model.types {
        field_types(def.context, &def.fields);
    }
    for aggregate in &model.aggregates {
        field_types(aggregate.context, std::slice::from_ref(&aggregate.id));
        field_types(aggregate.context, &aggregate.state);
    }
    for command in &model.commands {
        field_types(command.context, &command.fields);
    }
    for event in &model.events {
        field_types(event.context, &event.fields);
    }
    for readmodel in &model.readmodels {
        field_types(readmodel.context, &readmodel.fields);
    }
    let mut all: Vec<BTreeSet<usize>> = types
        .iter()
        .map(|used| used.iter().map(|&r| context_of(model, r)).collect())
        .collect();
    let mut mention = |from: ContextId, to: ContextId| {
        all[from.index()].insert(to.index());
    };
    for command in &model.commands {
        if let Some(actor) = command.by {
            mention(command.context, model.actor(actor.id).context);
        }
        for event in &command.emits {
            mention(command.context, model.event(event.id).context);
        }
    }
    for external in &model.externals {
        for event in &external.emits {
            mention(external.context, model.event(event.id).context);
        }
    }
    for policy in &model.policies {
        for event in &policy.when {
            mention(policy.context, model.event(event.id).context);
        }
        if let Some(command) = policy.then {
            mention(policy.context, model.command(command.id).context);
        }
    }
    for readmodel in &model.readmodels {
        for event in &readmodel.from {
            mention(readmodel.context, model.event(event.id).context);
        }
    }
    (all, types)
}

/// The context a value type or enum is declared in.
fn context_of(model: &Model, r: TypeRef) -> usize {
    match r {
        TypeRef::Type(t) => model.type_def(t).context.index(),
        TypeRef::Enum(e) => model.enum_def(e).context.index(),
    }
}

/// The contexts of `used` and of every value type or enum their fields use,
/// transitively.
fn types_reached(model: &Model, used: impl Iterator<Item = TypeRef>) -> BTreeSet<usize> {
    let mut seen: BTreeSet<TypeRef> = BTreeSet::new();
    let mut todo: Vec<TypeRef> = used.collect();
    while let Some(r) = todo.pop() {
        if !seen.insert(r) {
            continue;
        }
        if let TypeRef::Type(t) = r {
            for field in &model.type_def(t).fields {
                let mut refs = Vec::new();
                field.ty.refs(true, &mut refs);
                todo.extend(refs.into_iter().map(|(r, _)| r));
            }
        }
    }
    seen.into_iter().map(|r| context_of(model, r)).collect()
}
