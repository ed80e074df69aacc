//! `storm breaking`: how the event contracts of a model changed since an earlier
//! version of it (a git revision, read without checking it out, or a directory).
//!
//! The contract of an event is its payload on the wire: the JSON object of its
//! fields. Events are identified by context and name (`Ordering.OrderPlaced`).
//! Types are compared by their resolved structure, never by name: a field of a
//! value type is compared field by field, through lists, optionals and other
//! value types, and an enum by its variants. Renaming a type or an enum (or
//! moving it to another context) without changing its structure leaves the
//! payload as it was, so it is reported as a compatible change.
//!
//! Rules, applied at every level of a payload (an event's fields, and the fields
//! of every value type it reaches). A contract must keep working both ways:
//! stored events are replayed by the new code, and consumers still on the old
//! contract (its schema, with `additionalProperties: false`, and its generated
//! Rust types) receive the new events.
//!
//! | change | verdict |
//! |---|---|
//! | event removed (also: moved to another context, renamed) | breaking |
//! | event moved from its aggregate to another one, or to the context's externals | breaking: the old aggregate's stored streams hold it |
//! | the id type of the event's aggregate changed its form on the wire | breaking: the event's key changed, stored streams are named by old ids |
//! | field removed | breaking |
//! | field's type changed (`Int` → `String`, `T` → `[T]`, enum → `String`, ...) | breaking |
//! | optional field made required (`T?` → `T`) | breaking: stored events without it no longer read |
//! | required field made optional (`T` → `T?`) | breaking: consumers of the old contract expect it on every event |
//! | required field added | breaking |
//! | optional field added | breaking: the old schema allows no other properties |
//! | enum variant removed | breaking |
//! | enum variant added | breaking: consumers of the old contract cannot read the new value |
//! | event's `version` lowered | breaking: versions only go up |
//! | event added, event of the context's externals now recorded by an aggregate | compatible |
//! | type or enum renamed with the same structure, `version` raised | compatible |
//!
//! A breaking change to an event whose `version` was raised (new > old) is
//! acknowledged instead: the new version is a new contract, with its own schema
//! file and `dataschema`. Removing an event, moving it away from its aggregate
//! or changing that aggregate's id cannot be acknowledged: the stored events
//! stay where they are.
//!
//! Every kind of change has a code (`field-removed`, ...) that `--format json`
//! prints and `storm explain` explains (`src/explain/changes/`).

use crate::analysis::{self, Analysis};
use crate::model::{ContextId, Event, EventId, EventOwner, Field, Model, Type, TypeId};
use crate::render::{Style, display_path};
use crate::render::{escape_data, escape_property};
use crate::source::{Sources, Span};
use crate::wire::Backend;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;

/// The verdict on one change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Consumers or stored events of the old contract break.
    Breaking,
    /// A breaking change under a raised `version`.
    Acknowledged,
    /// Nothing that worked before stops working.
    Compatible,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Breaking => "breaking",
            Kind::Acknowledged => "acknowledged",
            Kind::Compatible => "compatible",
        }
    }
}

macro_rules! whats {
    ($($variant:ident = $name:literal,)*) => {
        /// What changed, as a stable code for tools.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum What {
            $($variant,)*
        }

        impl What {
            pub const ALL: &'static [What] = &[$(What::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(What::$variant => $name,)*
                }
            }

            /// The long explanation `storm explain CODE` prints; its first line
            /// is the code, its usual verdict and a summary.
            pub fn explanation(self) -> &'static str {
                match self {
                    $(What::$variant => include_str!(concat!("explain/changes/", $name, ".md")),)*
                }
            }
        }
    };
}

whats! {
    EventRemoved = "event-removed",
    EventAdded = "event-added",
    OwnerChanged = "owner-changed",
    AggregateIdChanged = "aggregate-id-changed",
    VersionRaised = "version-raised",
    VersionLowered = "version-lowered",
    FieldRemoved = "field-removed",
    FieldAddedRequired = "field-added-required",
    FieldAddedOptional = "field-added-optional",
    FieldTypeChanged = "field-type-changed",
    FieldMadeRequired = "field-made-required",
    FieldMadeOptional = "field-made-optional",
    VariantRemoved = "variant-removed",
    VariantAdded = "variant-added",
    TypeRenamed = "type-renamed",
}

impl What {
    pub fn from_name(name: &str) -> Option<What> {
        What::ALL.iter().copied().find(|w| w.as_str() == name)
    }
}

impl std::fmt::Display for What {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change to one event's contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub kind: Kind,
    pub what: What,
    /// `Context.Event`.
    pub event: String,
    /// The field's path in the payload: `lines[].quantity` is the `quantity` of
    /// each element of the list `lines`. `None` for a change to the whole event.
    pub field: Option<String>,
    /// `None` when the event is new.
    pub old_version: Option<u32>,
    /// `None` when the event was removed.
    pub new_version: Option<u32>,
    /// What changed, in words (without the event and versions; see [`Change::sentence`]).
    pub message: String,
    /// Where to look in the new model, when the change is visible there.
    pub span: Option<Span>,
}

impl Change {
    /// The whole change in one sentence: event, versions and what changed.
    pub fn sentence(&self) -> String {
        let versions = match (self.old_version, self.new_version) {
            (Some(old), Some(new)) => format!("version {old} → {new}"),
            (Some(old), None) => format!("version {old}"),
            (None, Some(new)) => format!("version {new}"),
            (None, None) => String::new(),
        };
        format!("event `{}` ({versions}): {}", self.event, self.message)
    }

    /// What to do about a breaking or acknowledged change.
    pub fn help(&self) -> Option<String> {
        let name = self.event.rsplit('.').next().unwrap_or(&self.event);
        match (self.kind, self.what) {
            (Kind::Compatible, _) => None,
            (Kind::Acknowledged, _) => Some(format!(
                "version {} is a new contract: consumers of version {} must be migrated to it",
                self.new_version.unwrap_or_default(),
                self.old_version.unwrap_or_default()
            )),
            (Kind::Breaking, What::EventRemoved) => Some(
                "consumers of the event and stored events lose their contract; keep the event until none is left (a removal cannot be acknowledged with a version)"
                    .to_string(),
            ),
            (Kind::Breaking, What::OwnerChanged) => Some(
                "stored events stay with the aggregate that recorded them, under its name: keep the event (and the aggregate's name) there, and give a new owner an event of its own; a version cannot acknowledge a move"
                    .to_string(),
            ),
            (Kind::Breaking, What::AggregateIdChanged) => Some(
                "the stored streams are named by ids of the old type: keep the id's type, or declare a new aggregate with the new one; a version cannot acknowledge this"
                    .to_string(),
            ),
            (Kind::Breaking, What::VersionLowered) => Some(format!(
                "versions only go up: use `event {name} version {}` or higher",
                self.old_version.unwrap_or_default()
            )),
            (Kind::Breaking, _) => Some(format!(
                "keep the old contract, or raise the version to acknowledge the change: `event {name} version {}`",
                self.old_version.unwrap_or_default() + 1
            )),
        }
    }
}

/// Whether any change breaks a contract (the command exits 1).
pub fn has_breaking(changes: &[Change]) -> bool {
    changes.iter().any(|c| c.kind == Kind::Breaking)
}

/// Every change of the event contracts from `old` to `new`, breaking ones first,
/// then by event and field.
pub fn compare(old: &Model, new: &Model) -> Vec<Change> {
    let old_events = events_by_name(old);
    let new_events = events_by_name(new);
    let mut walker = Walker {
        old,
        new,
        memo: HashMap::new(),
        stack: Vec::new(),
    };
    let mut changes = Vec::new();
    for (key, &old_id) in &old_events {
        let old_event = old.event(old_id);
        let path = format!("{}.{}", key.0, key.1);
        let Some(&new_id) = new_events.get(key) else {
            let elsewhere: Vec<String> = new_events
                .keys()
                .filter(|(c, e)| *e == key.1 && *c != key.0)
                .map(|(c, e)| format!("`{c}.{e}`"))
                .collect();
            let mut message = "the event was removed".to_string();
            if !elsewhere.is_empty() {
                message.push_str(&format!(
                    " (the model now has {}; events are identified by context and name)",
                    elsewhere.join(", ")
                ));
            }
            changes.push(Change {
                kind: Kind::Breaking,
                what: What::EventRemoved,
                event: path,
                field: None,
                old_version: Some(old_event.version),
                new_version: None,
                message,
                span: None,
            });
            continue;
        };
        let new_event = new.event(new_id);
        let (old_version, new_version) = (old_event.version, new_event.version);
        let mut found = Vec::new();
        if new_version < old_version {
            found.push(Found {
                path: String::new(),
                what: What::VersionLowered,
                breaking: true,
                message: format!("the version was lowered from {old_version} to {new_version}"),
                span: Some(new_event.name.span),
            });
        } else if new_version > old_version {
            found.push(Found {
                path: String::new(),
                what: What::VersionRaised,
                breaking: false,
                message: format!("the version was raised from {old_version} to {new_version}"),
                span: Some(new_event.name.span),
            });
        }
        walker.owner((old_event, new_event), &mut found);
        walker.fields(
            (&old_event.fields, old_event.context),
            (&new_event.fields, new_event.context),
            new_event.name.span,
            &mut found,
        );
        for f in found {
            let kind = match (f.breaking, f.what) {
                (false, _) => Kind::Compatible,
                // The stored events stay where they are, whatever the version says.
                (true, What::VersionLowered | What::OwnerChanged | What::AggregateIdChanged) => {
                    Kind::Breaking
                }
                (true, _) if new_version > old_version => Kind::Acknowledged,
                (true, _) => Kind::Breaking,
            };
            changes.push(Change {
                kind,
                what: f.what,
                event: path.clone(),
                old_version: Some(old_version),
                new_version: Some(new_version),
                message: f.message.replace(PATH, &f.path),
                span: f.span,
                field: (!f.path.is_empty()).then_some(f.path),
            });
        }
    }
    for (key, &new_id) in &new_events {
        if !old_events.contains_key(key) {
            let event = new.event(new_id);
            changes.push(Change {
                kind: Kind::Compatible,
                what: What::EventAdded,
                event: format!("{}.{}", key.0, key.1),
                field: None,
                old_version: None,
                new_version: Some(event.version),
                message: "the event was added".to_string(),
                span: Some(event.name.span),
            });
        }
    }
    changes.sort_by(|a, b| {
        (a.kind, &a.event, &a.field, a.what, &a.message)
            .cmp(&(b.kind, &b.event, &b.field, b.what, &b.message))
    });
    changes.dedup();
    changes
}

/// Events by (context, name); the first of duplicates (a model with errors) wins.
fn events_by_name(model: &Model) -> BTreeMap<(String, String), EventId> {
    let mut out = BTreeMap::new();
    for id in model.event_ids() {
        let event = model.event(id);
        let key = (
            model.context(event.context).name.name.clone(),
            event.name.name.clone(),
        );
        out.entry(key).or_insert(id);
    }
    out
}

/// Stands for the field's path in the messages of [`Found`], which are made
/// before the path is complete (a value type is compared once for every event).
const PATH: &str = "\u{1}path\u{1}";

/// A change inside one payload, before it is given to an event; `path` is
/// relative to where the walk started.
#[derive(Clone, Debug)]
struct Found {
    path: String,
    what: What,
    breaking: bool,
    message: String,
    span: Option<Span>,
}

/// Compares two payloads structurally. Comparisons of value types are
/// remembered, so that a type shared by many events is compared once; a
/// comparison that met a recursive type on the way (cut short to stay finite) is
/// not remembered, since its result depends on where the walk started.
struct Walker<'m> {
    old: &'m Model,
    new: &'m Model,
    memo: HashMap<(TypeId, TypeId), Rc<Vec<Found>>>,
    stack: Vec<(TypeId, TypeId)>,
}

fn join(prefix: &str, rest: &str) -> String {
    match (prefix.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (_, true) => prefix.to_string(),
        _ if rest.starts_with('[') => format!("{prefix}{rest}"),
        _ => format!("{prefix}.{rest}"),
    }
}

/// A field from its name to the end of its type.
fn field_span(field: &Field) -> Span {
    let mut span = field.name.span;
    if field.ty_span.file == span.file && field.ty_span.end > span.end {
        span.end = field.ty_span.end;
    }
    span
}

impl<'m> Walker<'m> {
    /// Compares two blocks of fields; `owner` is the new block's element (where a
    /// removed field is reported). Returns whether a recursive type cut the walk short.
    fn fields(
        &mut self,
        (old, old_from): (&[Field], ContextId),
        (new, new_from): (&[Field], ContextId),
        owner: Span,
        out: &mut Vec<Found>,
    ) -> bool {
        let mut cut = false;
        for o in old {
            match new.iter().find(|n| n.name.name == o.name.name) {
                None => out.push(Found {
                    path: o.name.name.clone(),
                    what: What::FieldRemoved,
                    breaking: true,
                    message: format!(
                        "field `{PATH}` (`{}`) was removed",
                        self.old.type_name(&o.ty, old_from)
                    ),
                    span: Some(owner),
                }),
                Some(n) => {
                    cut |= self.ty(
                        (&o.ty, old_from),
                        (&n.ty, new_from),
                        &o.name.name,
                        field_span(n),
                        out,
                    );
                }
            }
        }
        for n in new {
            if old.iter().any(|o| o.name.name == n.name.name) {
                continue;
            }
            let optional = matches!(n.ty, Type::Optional(_));
            let ty = self.new.type_name(&n.ty, new_from);
            out.push(Found {
                path: n.name.name.clone(),
                what: if optional {
                    What::FieldAddedOptional
                } else {
                    What::FieldAddedRequired
                },
                breaking: true,
                message: if optional {
                    format!(
                        "optional field `{PATH}` (`{ty}`) was added; the old schema allows no other properties, so consumers that validate against it reject events that carry it"
                    )
                } else {
                    format!("required field `{PATH}` (`{ty}`) was added")
                },
                span: Some(field_span(n)),
            });
        }
        cut
    }

    /// Compares what records an event: its aggregate (by name, and the type of
    /// that aggregate's id, which is the event's key) or the context's externals.
    fn owner(&self, (old, new): (&Event, &Event), out: &mut Vec<Found>) {
        let aggregate = |model: &'m Model, event: &Event| match event.owner {
            EventOwner::Aggregate(a) => Some(model.aggregate(a)),
            EventOwner::Context => None,
        };
        let (old_model, new_model) = (self.old, self.new);
        let moved = |breaking, message: String| Found {
            path: String::new(),
            what: What::OwnerChanged,
            breaking,
            message,
            span: Some(new.name.span),
        };
        match (aggregate(old_model, old), aggregate(new_model, new)) {
            (Some(o), Some(n)) if o.name.name != n.name.name => {
                // Renamed rather than moved: the old name is gone from the context.
                let gone = !new_model
                    .aggregates
                    .iter()
                    .any(|a| a.name.name == o.name.name && a.context == n.context);
                let old_name = if gone {
                    format!("`{}` (which the model no longer has)", o.name.name)
                } else {
                    format!("`{}`", o.name.name)
                };
                out.push(moved(
                    true,
                    format!(
                        "the event was recorded by aggregate {old_name} and is now recorded by `{}`; the streams stored under `{}` hold it and no longer replay, and its key (the aggregate id) now names a `{0}`",
                        n.name.name, o.name.name
                    ),
                ))
            }
            // The id travels as a string: only its form on the wire counts (an
            // enum id that gains a variant still reads every stored id).
            (Some(o), Some(n))
                if crate::wire::key_form(&o.id.ty) != crate::wire::key_form(&n.id.ty) =>
            {
                out.push(Found {
                    path: String::new(),
                    what: What::AggregateIdChanged,
                    breaking: true,
                    message: format!(
                        "the id of aggregate `{}` changed type from `{}` to `{}`; it is the event's key, and names the stream each stored event belongs to",
                        n.name.name,
                        old_model.type_name(&o.id.ty, o.context),
                        new_model.type_name(&n.id.ty, n.context)
                    ),
                    span: Some(field_span(&n.id)),
                });
            }
            (Some(_), Some(_)) => {}
            (Some(o), None) => out.push(moved(
                true,
                format!(
                    "the event was recorded by aggregate `{}` and is now emitted by the context's externals; `{0}`'s stored streams hold it and no longer replay, and it has no aggregate id any more",
                    o.name.name
                ),
            )),
            (None, Some(n)) => out.push(moved(
                false,
                format!(
                    "the event was emitted by the context's externals and is now recorded by aggregate `{}`, whose id it now carries",
                    n.name.name
                ),
            )),
            (None, None) => {}
        }
    }

    /// Compares two types at `path`; `at` is the new field they belong to.
    fn ty(
        &mut self,
        (old, old_from): (&Type, ContextId),
        (new, new_from): (&Type, ContextId),
        path: &str,
        at: Span,
        out: &mut Vec<Found>,
    ) -> bool {
        let (old_model, new_model) = (self.old, self.new);
        let old_name = || old_model.type_name(old, old_from);
        let new_name = || new_model.type_name(new, new_from);
        match (old, new) {
            (Type::Optional(o), Type::Optional(n)) => {
                self.ty((o, old_from), (n, new_from), path, at, out)
            }
            (Type::Optional(o), n) => {
                out.push(Found {
                    path: path.to_string(),
                    what: What::FieldMadeRequired,
                    breaking: true,
                    message: format!(
                        "`{PATH}` was optional (`{}`) and is now required (`{}`)",
                        old_name(),
                        new_name()
                    ),
                    span: Some(at),
                });
                self.ty((o, old_from), (n, new_from), path, at, out)
            }
            (o, Type::Optional(n)) => {
                out.push(Found {
                    path: path.to_string(),
                    what: What::FieldMadeOptional,
                    breaking: true,
                    message: format!(
                        "`{PATH}` was required (`{}`) and is now optional (`{}`)",
                        old_name(),
                        new_name()
                    ),
                    span: Some(at),
                });
                self.ty((o, old_from), (n, new_from), path, at, out)
            }
            (Type::List(o), Type::List(n)) => {
                self.ty((o, old_from), (n, new_from), &format!("{path}[]"), at, out)
            }
            (Type::Builtin(o), Type::Builtin(n)) if o == n => false,
            (Type::Unknown, Type::Unknown) => false,
            (Type::Named(o), Type::Named(n)) => {
                let (o_def, n_def) = (self.old.type_def(*o), self.new.type_def(*n));
                self.renamed(
                    (o_def.context, &o_def.name.name),
                    (n_def.context, &n_def.name.name),
                    "type",
                    path,
                    at,
                    out,
                );
                let (changes, cut) = self.named(*o, *n);
                for f in changes.iter() {
                    let mut f = f.clone();
                    f.path = join(path, &f.path);
                    out.push(f);
                }
                cut
            }
            (Type::Enum(o), Type::Enum(n)) => {
                let (o_def, n_def) = (self.old.enum_def(*o), self.new.enum_def(*n));
                self.renamed(
                    (o_def.context, &o_def.name.name),
                    (n_def.context, &n_def.name.name),
                    "enum",
                    path,
                    at,
                    out,
                );
                for v in &o_def.variants {
                    if !n_def.variants.iter().any(|w| w.name.name == v.name.name) {
                        out.push(Found {
                            path: path.to_string(),
                            what: What::VariantRemoved,
                            breaking: true,
                            message: format!(
                                "variant `{}` was removed from enum `{}` of `{PATH}`",
                                v.name.name,
                                new_name()
                            ),
                            span: Some(n_def.name.span),
                        });
                    }
                }
                for v in &n_def.variants {
                    if !o_def.variants.iter().any(|w| w.name.name == v.name.name) {
                        out.push(Found {
                            path: path.to_string(),
                            what: What::VariantAdded,
                            breaking: true,
                            message: format!(
                                "variant `{}` was added to enum `{}` of `{PATH}`; consumers of the old contract cannot read it (neither the old schema's `enum` nor their generated Rust enum has it)",
                                v.name.name,
                                new_name()
                            ),
                            span: Some(v.name.span),
                        });
                    }
                }
                false
            }
            _ => {
                let (from, to) = (old_name(), new_name());
                // One name for two kinds (a `type` replaced by an `enum`): say which.
                let (from, to) = if from == to {
                    (
                        format!("`{from}` ({})", kind(old)),
                        format!("`{to}` ({})", kind(new)),
                    )
                } else {
                    (format!("`{from}`"), format!("`{to}`"))
                };
                out.push(Found {
                    path: path.to_string(),
                    what: What::FieldTypeChanged,
                    breaking: true,
                    message: format!("`{PATH}` changed type from {from} to {to}"),
                    span: Some(at),
                });
                false
            }
        }
    }

    /// A note when a field now names a type or enum by another name.
    fn renamed(
        &self,
        (old_context, old_name): (ContextId, &str),
        (new_context, new_name): (ContextId, &str),
        kind: &str,
        path: &str,
        at: Span,
        out: &mut Vec<Found>,
    ) {
        let (old_context, new_context) = (
            &self.old.context(old_context).name.name,
            &self.new.context(new_context).name.name,
        );
        if (old_context, old_name) != (new_context, new_name) {
            let old = format!("{old_context}.{old_name}");
            let new = format!("{new_context}.{new_name}");
            out.push(Found {
                path: path.to_string(),
                what: What::TypeRenamed,
                breaking: false,
                message: format!(
                    "the {kind} of `{PATH}` is now `{new}` instead of `{old}`; names of types are not on the wire, their structure is compared"
                ),
                span: Some(at),
            });
        }
    }

    /// Changes inside two value types, paths relative to them.
    fn named(&mut self, old: TypeId, new: TypeId) -> (Rc<Vec<Found>>, bool) {
        if let Some(found) = self.memo.get(&(old, new)) {
            return (found.clone(), false);
        }
        if self.stack.contains(&(old, new)) {
            // The same pair again below itself: its changes are being collected
            // one level up already.
            return (Rc::new(Vec::new()), true);
        }
        self.stack.push((old, new));
        let (o, n) = (self.old.type_def(old), self.new.type_def(new));
        let mut found = Vec::new();
        // Value types may nest deeper than the thread's stack allows; grow it
        // on the heap when it runs low.
        let cut = stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, || {
            self.fields(
                (&o.fields, o.context),
                (&n.fields, n.context),
                n.name.span,
                &mut found,
            )
        });
        self.stack.pop();
        let found = Rc::new(found);
        if !cut {
            self.memo.insert((old, new), found.clone());
        }
        (found, cut)
    }
}

// ---------------------------------------------------------------------------
// Reading the old model.

/// The model at `against`: a directory or file when one exists at that path
/// (relative to `repo_dir`), else a git revision of the repository around
/// `repo_dir`, read at the same `model_paths` as the current model. With it, the
/// notes a reader of the comparison should see (see [`Revision::notes`]).
///
/// With `config` (the `storm.yaml` the model paths come from, and its `model`
/// entries), a revision is read at the paths that file named at that revision
/// when they differ: a model moved since (`git mv model storms`, and
/// `storm.yaml` edited to match) is compared where it was, not as an empty model.
pub fn analyze_against(
    repo_dir: &Path,
    against: &str,
    model_paths: &[PathBuf],
    config: Option<(&Path, &[&str])>,
    backend: Backend,
) -> Result<(Analysis, Vec<String>), String> {
    let as_path = repo_dir.join(against);
    if !against.is_empty() && as_path.exists() {
        return Ok((analysis::analyze(&[as_path], backend), Vec::new()));
    }
    let mut notes = Vec::new();
    let then = match config {
        Some((config, now)) => models_named_at(repo_dir, against, config)?
            .filter(|(_, entries)| entries.iter().map(String::as_str).ne(now.iter().copied()))
            .map(|(paths, entries)| {
                let entries: Vec<String> = entries.iter().map(|e| format!("`{e}`")).collect();
                notes.push(format!(
                    "`{}` at `{against}` names the model {}: it is read from there",
                    display_path(config),
                    entries.join(", ")
                ));
                paths
            }),
        None => None,
    };
    let model_paths = then.as_deref().unwrap_or(model_paths);
    let revision = read_revision(repo_dir, against, model_paths)?;
    notes.extend(revision.notes);
    Ok((analysis::analyze_texts(revision.files, backend), notes))
}

/// The model paths a config named at a revision, and its entries as written.
type NamedThen = (Vec<PathBuf>, Vec<String>);

/// The model paths `config` named at git revision `rev` (relative to
/// `repo_dir`, globs matched against the files of that revision), and its
/// entries as written; `None` when it was not there or cannot be read as a
/// config then.
fn models_named_at(repo_dir: &Path, rev: &str, config: &Path) -> Result<Option<NamedThen>, String> {
    let base = std::fs::canonicalize(repo_dir)
        .map_err(|e| format!("cannot read `{}`: {e}", display_path(repo_dir)))?;
    let config = std::fs::canonicalize(base.join(config)).unwrap_or_else(|_| base.join(config));
    let dir = config.parent().unwrap_or(&base).to_path_buf();
    let (top, commit) = repository(&dir, rev)?;
    let top_real = std::fs::canonicalize(&top).unwrap_or_else(|_| top.clone());
    let Some(relative) = repo_relative(&base, &top_real, &config) else {
        return Ok(None);
    };
    let AtRevision::Files(found) = tree_files(&top, &commit, rev, &relative)? else {
        return Ok(None);
    };
    let oids: Vec<&str> = found.iter().map(|(_, oid)| oid.as_str()).collect();
    let Some(text) = cat_blobs(&top, &oids)?.pop() else {
        return Ok(None);
    };
    let Some(entries) = String::from_utf8(text)
        .ok()
        .and_then(|text| crate::config::model_entries(&text))
        .filter(|entries| !entries.is_empty())
    else {
        return Ok(None);
    };
    let dir_relative = repo_relative(&base, &top_real, &dir).unwrap_or_default();
    let mut paths = Vec::new();
    for entry in &entries {
        if !entry.contains(['*', '?', '[']) {
            paths.push(dir.join(entry.trim_end_matches('/')));
            continue;
        }
        // A glob matches the files of the revision (or a folder above them).
        let Ok(pattern) = glob::Pattern::new(entry) else {
            return Ok(None);
        };
        let options = glob::MatchOptions {
            require_literal_separator: true,
            ..Default::default()
        };
        let AtRevision::Files(files) = tree_files(&top, &commit, rev, &dir_relative)? else {
            continue;
        };
        let prefix = if dir_relative.is_empty() {
            String::new()
        } else {
            format!("{dir_relative}/")
        };
        for (name, _) in files {
            let Some(below) = name.strip_prefix(&prefix) else {
                continue;
            };
            if Path::new(below)
                .ancestors()
                .any(|p| !p.as_os_str().is_empty() && pattern.matches_path_with(p, options))
            {
                paths.push(dir.join(below));
            }
        }
    }
    Ok(Some((paths, entries)))
}

/// The top folder of the git repository around `dir`, and the commit `rev`
/// names there.
fn repository(dir: &Path, rev: &str) -> Result<(PathBuf, String), String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"], None).map_err(|e| {
        format!(
            "`{}` is not in a git repository, so `{rev}` cannot be read ({e}); to compare against a directory, give its path",
            display_path(dir)
        )
    })?;
    let top = PathBuf::from(top.trim_end_matches(['\n', '\r']));
    let commit = git(
        &top,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &format!("{rev}^{{commit}}"),
        ],
        None,
    )
    .map_err(|_| {
        format!(
            "unknown revision `{rev}` in the git repository at `{}`; give a branch, tag or commit (`HEAD`, `main`, `origin/main`, `v1.2.0`)",
            display_path(&top)
        )
    })?;
    Ok((top, commit.trim().to_string()))
}

/// A model read at a git revision.
#[derive(Debug, Default)]
pub struct Revision {
    /// (`REV:path`, text) pairs in path order, for [`analysis::analyze_texts`].
    pub files: Vec<(PathBuf, String)>,
    /// One sentence (without a `note:` prefix) for each model path that holds no
    /// model at the revision (a pull request adding the first model file): it is
    /// compared as empty, so its events are all added, none breaking.
    pub notes: Vec<String>,
}

/// The model files at git revision `rev`, as [`read_revision`] reads them.
pub fn load_revision(
    repo_dir: &Path,
    rev: &str,
    model_paths: &[PathBuf],
) -> Result<Vec<(PathBuf, String)>, String> {
    read_revision(repo_dir, rev, model_paths).map(|r| r.files)
}

/// The model files at git revision `rev` of the repository around `repo_dir`,
/// read through git (no checkout, the working tree is left alone), as
/// (`REV:path`, text) pairs in path order, for [`analysis::analyze_texts`].
/// `model_paths` are files or directories (all `.storm` files below them) as the
/// current model names them, absolute or relative to `repo_dir`; they need not
/// exist in the working tree any more. A path with no model at `rev` (not there
/// yet, or a directory without `.storm` files) reads as an empty model, with a
/// note that says so.
pub fn read_revision(
    repo_dir: &Path,
    rev: &str,
    model_paths: &[PathBuf],
) -> Result<Revision, String> {
    if rev.is_empty() {
        return Err("the revision to compare against is empty".to_string());
    }
    let base = std::fs::canonicalize(repo_dir)
        .map_err(|e| format!("cannot read `{}`: {e}", display_path(repo_dir)))?;
    // The repository is the one around the model (which may lie outside the
    // current directory's repository, or be gone from the working tree).
    let probe = model_paths
        .first()
        .map(|p| normalize(&base.join(p)))
        .and_then(|p| p.ancestors().find(|a| a.is_dir()).map(Path::to_path_buf))
        .unwrap_or_else(|| base.clone());
    let (top, commit) = repository(&probe, rev)?;
    let top_real = std::fs::canonicalize(&top).unwrap_or_else(|_| top.clone());
    let mut blobs: BTreeMap<String, String> = BTreeMap::new();
    let mut notes = Vec::new();
    for path in model_paths {
        let relative = repo_relative(&base, &top_real, path).ok_or_else(|| {
            format!(
                "`{}` is outside the git repository at `{}`",
                display_path(path),
                display_path(&top)
            )
        })?;
        let shown = display_path(path);
        match tree_files(&top, &commit, rev, &relative)? {
            AtRevision::Files(files) => blobs.extend(files),
            AtRevision::Missing => notes.push(format!(
                "`{shown}` does not exist at `{rev}`, so it is compared as an empty model: its events are all added, none is a breaking change"
            )),
            AtRevision::NoModels => notes.push(format!(
                "directory `{shown}` contains no `.storm` files at `{rev}`, so it is compared as an empty model: its events are all added, none is a breaking change"
            )),
        }
    }
    let oids: Vec<&str> = blobs.values().map(String::as_str).collect();
    let texts = cat_blobs(&top, &oids)?;
    let files = blobs
        .keys()
        .zip(texts)
        .map(|(name, bytes)| {
            String::from_utf8(bytes)
                .map(|text| (PathBuf::from(format!("{rev}:{name}")), text))
                .map_err(|_| format!("`{name}` at `{rev}` is not valid UTF-8"))
        })
        .collect::<Result<_, _>>()?;
    Ok(Revision { files, notes })
}

/// What a model path names at a commit.
enum AtRevision {
    /// Model files, as (repository path, blob id).
    Files(Vec<(String, String)>),
    /// Nothing: the path is not in the commit.
    Missing,
    /// A directory without `.storm` files.
    NoModels,
}

/// `path` relative to the repository's top folder, with `/` separators; `""`
/// for the top folder itself.
fn repo_relative(base: &Path, top: &Path, path: &Path) -> Option<String> {
    let joined = base.join(path);
    let absolute = std::fs::canonicalize(&joined).unwrap_or_else(|_| normalize(&joined));
    let relative = absolute.strip_prefix(top).ok()?;
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// `a/./b/../c` → `a/c`, without touching the file system (the path may be gone
/// from the working tree).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The model files a path names at a commit, as (repository path, blob id): the
/// file itself, or every `.storm` file below a directory (hidden folders,
/// `target` and `node_modules` left out, as when reading the working tree).
fn tree_files(top: &Path, commit: &str, rev: &str, relative: &str) -> Result<AtRevision, String> {
    let spec = if relative.is_empty() { "." } else { relative };
    let listing = git(
        top,
        &[
            "--literal-pathspecs",
            "ls-tree",
            "-r",
            "-z",
            "--full-tree",
            commit,
            "--",
            spec,
        ],
        None,
    )
    .map_err(|e| format!("cannot list the files of `{rev}`: {e}"))?;
    let mut entries: Vec<(String, String)> = Vec::new();
    for record in listing.split('\0').filter(|r| !r.is_empty()) {
        // `<mode> <type> <object>\t<path>`
        let Some((meta, name)) = record.split_once('\t') else {
            continue;
        };
        let mut meta = meta.split(' ');
        let (_mode, kind, oid) = (meta.next(), meta.next(), meta.next());
        if let (Some("blob"), Some(oid)) = (kind, oid) {
            entries.push((name.to_string(), oid.to_string()));
        }
    }
    if entries.is_empty() {
        return Ok(AtRevision::Missing);
    }
    if entries.len() == 1 && entries[0].0 == relative {
        return Ok(AtRevision::Files(entries));
    }
    let prefix = if relative.is_empty() {
        String::new()
    } else {
        format!("{relative}/")
    };
    let models: Vec<(String, String)> = entries
        .into_iter()
        .filter(|(name, _)| {
            let Some(below) = name.strip_prefix(&prefix) else {
                return false;
            };
            let mut parts: Vec<&str> = below.split('/').collect();
            let file = parts.pop().unwrap_or_default();
            file.ends_with(".storm")
                && parts
                    .iter()
                    .all(|d| !d.starts_with('.') && *d != "target" && *d != "node_modules")
        })
        .collect();
    if models.is_empty() {
        return Ok(AtRevision::NoModels);
    }
    Ok(AtRevision::Files(models))
}

/// The contents of blobs, in order, through one `git cat-file --batch`.
fn cat_blobs(top: &Path, oids: &[&str]) -> Result<Vec<Vec<u8>>, String> {
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let mut input = String::new();
    for oid in oids {
        input.push_str(oid);
        input.push('\n');
    }
    let output = git_bytes(top, &["cat-file", "--batch"], Some(input.into_bytes()))?;
    let mut rest = output.as_slice();
    let mut out = Vec::with_capacity(oids.len());
    for oid in oids {
        let newline = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| format!("git cat-file ended early, before `{oid}`"))?;
        let header = String::from_utf8_lossy(&rest[..newline]).into_owned();
        let size: usize = header
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|_| header.split(' ').nth(1) == Some("blob"))
            .ok_or_else(|| format!("git cat-file cannot read `{oid}`: {header}"))?;
        let body = rest
            .get(newline + 1..newline + 1 + size)
            .ok_or_else(|| format!("git cat-file ended in the middle of `{oid}`"))?;
        out.push(body.to_vec());
        rest = rest.get(newline + 2 + size..).unwrap_or_default();
    }
    Ok(out)
}

fn git(dir: &Path, args: &[&str], input: Option<Vec<u8>>) -> Result<String, String> {
    git_bytes(dir, args, input).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Runs git in `dir`; its standard output, or its first line of complaint.
fn git_bytes(dir: &Path, args: &[&str], input: Option<Vec<u8>>) -> Result<Vec<u8>, String> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `git`: {e}; storm reads revisions through git"))?;
    // Feed stdin from another thread, so that a large output cannot block the
    // writer while nobody reads.
    let writer = match (input, child.stdin.take()) {
        (Some(bytes), Some(mut stdin)) => Some(std::thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        })),
        _ => None,
    };
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let err_reader = std::thread::spawn(move || {
        if let Some(pipe) = err_pipe.as_mut() {
            let _ = pipe.read_to_end(&mut stderr);
        }
        stderr
    });
    if let Some(pipe) = out_pipe.as_mut() {
        pipe.read_to_end(&mut stdout)
            .map_err(|e| format!("cannot read git's output: {e}"))?;
    }
    let stderr = err_reader.join().unwrap_or_default();
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    let status = child.wait().map_err(|e| format!("cannot run `git`: {e}"))?;
    if status.success() {
        Ok(stdout)
    } else {
        let text = String::from_utf8_lossy(&stderr);
        let first = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message")
            .trim()
            .to_string();
        Err(format!("git: {first}"))
    }
}

// ---------------------------------------------------------------------------
// Rendering.

/// `3 breaking, 1 acknowledged, 2 compatible changes to event contracts`.
pub fn summary(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "no changes to event contracts".to_string();
    }
    let count = |kind| changes.iter().filter(|c| c.kind == kind).count();
    format!(
        "{} breaking, {} acknowledged, {} compatible {} to event contracts",
        count(Kind::Breaking),
        count(Kind::Acknowledged),
        count(Kind::Compatible),
        if changes.len() == 1 {
            "change"
        } else {
            "changes"
        }
    )
}

/// For people: the verdict, the sentence, where, the line, and what to do.
pub fn human(sources: &Sources, change: &Change, style: Style) -> String {
    let paint = |code: &str, text: &str| {
        if style.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let colour = match change.kind {
        Kind::Breaking => "1;31",
        Kind::Acknowledged => "1;33",
        Kind::Compatible => "1;32",
    };
    let mut out = format!(
        "{}: {}\n",
        paint(
            colour,
            &format!("{}[{}]", change.kind.as_str(), change.what)
        ),
        change.sentence()
    );
    if let Some(span) = change.span {
        let file = sources.get(span.file);
        let (line, column) = file.line_col(span.start);
        let (end_line, end_column) = file.line_col(span.end);
        let number = line.to_string();
        let gutter = " ".repeat(number.len());
        out.push_str(&format!(
            "{gutter}{} {}:{line}:{column}\n",
            paint("1;34", "-->"),
            display_path(&file.path)
        ));
        let text = file.text.lines().nth(line - 1).unwrap_or_default();
        let width = if end_line == line {
            end_column.saturating_sub(column).max(1)
        } else {
            text.chars().count().saturating_sub(column - 1).max(1)
        };
        let bar = paint("1;34", "|");
        out.push_str(&format!("{gutter} {bar}\n"));
        out.push_str(&format!("{} {bar} {text}\n", paint("1;34", &number)));
        out.push_str(&format!(
            "{gutter} {bar} {}{}\n",
            " ".repeat(column - 1),
            paint(colour, &"^".repeat(width))
        ));
    }
    if let Some(help) = change.help() {
        out.push_str(&format!("  = help: {help}\n"));
    }
    out.push('\n');
    out
}

/// A change as JSON: the keys of a diagnostic of `--format json` (cli.md), so that
/// one reader takes both, then what is particular to a change.
#[derive(Serialize)]
struct JsonChange<'a> {
    /// What changed (`field-removed`, ...; `storm explain` knows each).
    code: &'static str,
    /// `error` for a breaking change, `warning` for an acknowledged one, `note`
    /// for a compatible one.
    severity: &'static str,
    message: String,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    help: Option<String>,
    kind: Kind,
    event: &'a str,
    field: Option<&'a str>,
    old_version: Option<u32>,
    new_version: Option<u32>,
}

/// One JSON object on one line.
pub fn json(sources: &Sources, change: &Change) -> String {
    let place = change.span.map(|span| {
        let file = sources.get(span.file);
        (
            display_path(&file.path),
            file.line_col(span.start),
            file.line_col(span.end),
        )
    });
    let value = JsonChange {
        code: change.what.as_str(),
        severity: match change.kind {
            Kind::Breaking => "error",
            Kind::Acknowledged => "warning",
            Kind::Compatible => "note",
        },
        message: change.sentence(),
        file: place.as_ref().map(|p| p.0.clone()),
        line: place.as_ref().map(|p| p.1.0),
        column: place.as_ref().map(|p| p.1.1),
        end_line: place.as_ref().map(|p| p.2.0),
        end_column: place.as_ref().map(|p| p.2.1),
        help: change.help(),
        kind: change.kind,
        event: &change.event,
        field: change.field.as_deref(),
        old_version: change.old_version,
        new_version: change.new_version,
    };
    serde_json::to_string(&value).unwrap_or_default()
}

/// A GitHub Actions workflow command: `error` for a breaking change, `warning`
/// for an acknowledged one, `notice` for a compatible one.
pub fn github(sources: &Sources, change: &Change) -> String {
    let level = match change.kind {
        Kind::Breaking => "error",
        Kind::Acknowledged => "warning",
        Kind::Compatible => "notice",
    };
    let mut properties = Vec::new();
    if let Some(span) = change.span {
        let file = sources.get(span.file);
        let (line, column) = file.line_col(span.start);
        let (end_line, end_column) = file.line_col(span.end);
        properties.push(format!(
            "file={}",
            escape_property(&display_path(&file.path))
        ));
        properties.push(format!(
            "line={line},col={column},endLine={end_line},endColumn={end_column}"
        ));
    }
    properties.push(format!(
        "title={}",
        escape_property(&format!(
            "storm {} change: {}",
            change.kind.as_str(),
            change.what
        ))
    ));
    let mut message = change.sentence();
    if let Some(help) = change.help() {
        message.push_str("\nhelp: ");
        message.push_str(&help);
    }
    format!(
        "::{level} {}::{}",
        properties.join(","),
        escape_data(&message)
    )
}

/// What kind of type a field has, in words.
fn kind(ty: &Type) -> &'static str {
    match ty {
        Type::Builtin(_) => "a built-in type",
        Type::Named(_) => "a value type",
        Type::Enum(_) => "an enum",
        Type::List(_) => "a list",
        Type::Optional(_) => "an optional",
        Type::Unknown => "an unknown type",
    }
}
