//! The JSON Schema (draft-04, the form the EventBridge schema registry takes) of one
//! event's payload: its fields as properties, the non-optional ones required, no
//! other properties, value types and enums as `definitions`, doc comments as
//! `description`s.
//!
//! Only keywords whose meaning is the same in draft-04 and draft-07 are used (no
//! `id`/`$id`, no exclusive bounds), so AsyncAPI tools, which read JSON Schema as
//! draft-07, see exactly the same contract.

use super::memo::{self, Fingerprint, Format, Key};
use super::tree::Node;
use crate::model::{Builtin, ContextId, Doc, EventId, Field, Model, Type, TypeRef};
use std::collections::{BTreeMap, HashMap};

pub const DRAFT_04: &str = "http://json-schema.org/draft-04/schema#";
/// An exact decimal: a string so that no precision is lost.
pub const DECIMAL_PATTERN: &str = r"^-?[0-9]+(\.[0-9]+)?$";
/// draft-04 has no `uuid` format: the pattern is what validators enforce.
pub const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/// RFC 3339 full-date (draft-04 has no `date` format).
pub const DATE_PATTERN: &str = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
/// RFC 3339 date-time, for validators that do not check formats.
pub const DATE_TIME_PATTERN: &str = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$";

/// The schema of the event's payload.
pub fn event_schema(model: &Model, event: EventId) -> Node {
    let e = model.event(event);
    let keys = DefinitionKeys::of(model, e.context, &e.fields);
    let schema = Node::map()
        .with("$schema", Node::str(DRAFT_04))
        .with("title", Node::str(e.name.name.clone()))
        .with_opt("description", e.doc.clone().map(Node::str));
    let mut schema = object(schema, &e.fields, &keys);
    if !keys.order.is_empty() {
        let definitions: BTreeMap<&str, Node> = keys
            .order
            .iter()
            .map(|r| (keys.key(*r), definition(model, *r, &keys)))
            .collect();
        schema.set(
            "definitions",
            Node::Map(
                definitions
                    .into_iter()
                    .map(|(k, v)| (k.to_string().into(), v))
                    .collect(),
            ),
        );
    }
    schema
}

/// The memo key of [`event_schema`] written as JSON: a hash of all the model data
/// it reads (the event's name, doc and fields, and the definitions it reaches
/// with their keys), without building the tree.
pub fn key(model: &Model, event: EventId) -> Key {
    let e = model.event(event);
    let keys = DefinitionKeys::of(model, e.context, &e.fields);
    memo::key(Format::EventSchema, |h| {
        h.str(&e.name.name);
        hash_doc(&e.doc, h);
        hash_fields(&e.fields, &keys, h);
        h.len(keys.order.len());
        for &r in &keys.order {
            h.str(keys.key(r));
            match r {
                TypeRef::Type(t) => {
                    let def = model.type_def(t);
                    h.tag(0);
                    hash_doc(&def.doc, h);
                    hash_fields(&def.fields, &keys, h);
                }
                TypeRef::Enum(en) => {
                    let def = model.enum_def(en);
                    h.tag(1);
                    hash_doc(&def.doc, h);
                    h.len(def.variants.len());
                    for v in &def.variants {
                        h.str(&v.name.name);
                        hash_doc(&v.doc, h);
                    }
                }
            }
        }
    })
}

fn hash_doc(doc: &Doc, h: &mut Fingerprint) {
    match doc {
        None => h.tag(0),
        Some(doc) => {
            h.tag(1);
            h.str(doc);
        }
    }
}

fn hash_fields(fields: &[Field], keys: &DefinitionKeys, h: &mut Fingerprint) {
    h.len(fields.len());
    for field in fields {
        h.str(&field.name.name);
        hash_doc(&field.doc, h);
        hash_type(&field.ty, keys, h);
    }
}

fn hash_type(ty: &Type, keys: &DefinitionKeys, h: &mut Fingerprint) {
    match ty {
        Type::Builtin(b) => {
            h.tag(0);
            h.str(b.name());
        }
        Type::Named(t) => {
            h.tag(1);
            h.str(keys.key(TypeRef::Type(*t)));
        }
        Type::Enum(e) => {
            h.tag(2);
            h.str(keys.key(TypeRef::Enum(*e)));
        }
        Type::List(inner) => {
            h.tag(3);
            hash_type(inner, keys, h);
        }
        Type::Optional(inner) => {
            h.tag(4);
            hash_type(inner, keys, h);
        }
        Type::Unknown => h.tag(5),
    }
}

/// `type: object` with the fields as properties, appended to `head`.
fn object(head: Node, fields: &[Field], keys: &DefinitionKeys) -> Node {
    let mut properties = Node::map();
    let mut required = Vec::new();
    for field in fields {
        let schema = match &field.ty {
            // Absent, or null: both are how JSON says "no value".
            Type::Optional(inner) => nullable(type_schema(inner, keys)),
            ty => {
                required.push(field.name.name.clone());
                type_schema(ty, keys)
            }
        };
        properties.set(field.name.name.clone(), described(schema, &field.doc));
    }
    let mut node = head
        .with("type", Node::str("object"))
        .with("properties", properties);
    // draft-04: `required` must have at least one element when present.
    if !required.is_empty() {
        node.set("required", Node::strings(required));
    }
    node.with("additionalProperties", Node::Bool(false))
}

fn definition(model: &Model, r: TypeRef, keys: &DefinitionKeys) -> Node {
    match r {
        TypeRef::Type(t) => {
            let def = model.type_def(t);
            let head = Node::map().with_opt("description", def.doc.clone().map(Node::str));
            object(head, &def.fields, keys)
        }
        TypeRef::Enum(e) => {
            let def = model.enum_def(e);
            let mut lines: Vec<String> = def.doc.iter().cloned().collect();
            let documented: Vec<String> = def
                .variants
                .iter()
                .filter_map(|v| Some(format!("- `{}`: {}", v.name.name, v.doc.as_ref()?)))
                .collect();
            if !documented.is_empty() {
                lines.push(documented.join("\n"));
            }
            let node = Node::map()
                .with_opt(
                    "description",
                    (!lines.is_empty()).then(|| Node::str(lines.join("\n\n"))),
                )
                .with("type", Node::str("string"));
            if def.variants.is_empty() {
                // draft-04 wants at least one `enum` value; no value is valid.
                return node.with("not", Node::map());
            }
            node.with(
                "enum",
                Node::strings(def.variants.iter().map(|v| v.name.name.clone())),
            )
        }
    }
}

fn type_schema(ty: &Type, keys: &DefinitionKeys) -> Node {
    match ty {
        Type::Builtin(b) => builtin(*b),
        Type::Named(t) => Node::reference(format!("#/definitions/{}", keys.key(TypeRef::Type(*t)))),
        Type::Enum(e) => Node::reference(format!("#/definitions/{}", keys.key(TypeRef::Enum(*e)))),
        Type::List(inner) => Node::map()
            .with("type", Node::str("array"))
            .with("items", type_schema(inner, keys)),
        Type::Optional(inner) => nullable(type_schema(inner, keys)),
        // Only in models with errors, which generate nothing; any value.
        Type::Unknown => Node::map(),
    }
}

pub fn builtin(b: Builtin) -> Node {
    let string = |format: Option<&'static str>, pattern: &'static str| {
        Node::map()
            .with("type", Node::str("string"))
            .with_opt("format", format.map(Node::str))
            .with("pattern", Node::str(pattern))
    };
    match b {
        Builtin::String => Node::map().with("type", Node::str("string")),
        Builtin::Int => Node::map().with("type", Node::str("integer")),
        Builtin::Float => Node::map().with("type", Node::str("number")),
        Builtin::Bool => Node::map().with("type", Node::str("boolean")),
        Builtin::Decimal => string(None, DECIMAL_PATTERN),
        Builtin::Uuid => string(Some("uuid"), UUID_PATTERN),
        Builtin::Timestamp => string(Some("date-time"), DATE_TIME_PATTERN),
        Builtin::Date => string(Some("date"), DATE_PATTERN),
    }
}

/// The schema, or null.
fn nullable(schema: Node) -> Node {
    match schema.get("type") {
        // `pattern`, `format` and `items` only constrain their own type: null passes.
        Some(Node::Str(ty)) if schema.get("$ref").is_none() => {
            let ty = Node::strings([ty.clone(), "null".into()]);
            let mut schema = schema;
            schema.set("type", ty);
            schema
        }
        _ => Node::map().with(
            "anyOf",
            Node::List(vec![schema, Node::map().with("type", Node::str("null"))]),
        ),
    }
}

/// The schema with a `description` first; a `$ref` is wrapped in `allOf`, since
/// draft-04 ignores every member next to `$ref`.
fn described(schema: Node, doc: &Doc) -> Node {
    let Some(doc) = doc else {
        return schema;
    };
    let head = Node::map().with("description", Node::str(doc.clone()));
    if schema.get("$ref").is_some() {
        return head.with("allOf", Node::List(vec![schema]));
    }
    match schema {
        Node::Map(members) => members
            .into_iter()
            .fold(head, |node, (k, v)| node.with(k, v)),
        other => other,
    }
}

/// The definition key of every value type and enum one event's payload reaches.
/// The event's own context's names are kept; another context's `Context.Name`
/// becomes `ContextName`, numbered when that is taken.
struct DefinitionKeys {
    order: Vec<TypeRef>,
    keys: HashMap<TypeRef, String>,
}

impl DefinitionKeys {
    fn of(model: &Model, from: ContextId, fields: &[Field]) -> DefinitionKeys {
        let mut seen: Vec<TypeRef> = Vec::new();
        let mut pending: Vec<(TypeRef, bool)> = Vec::new();
        for field in fields {
            field.ty.refs(true, &mut pending);
        }
        while let Some((r, _)) = pending.pop() {
            if seen.contains(&r) {
                continue;
            }
            seen.push(r);
            if let TypeRef::Type(t) = r {
                for field in &model.type_def(t).fields {
                    field.ty.refs(true, &mut pending);
                }
            }
        }
        let describe = |r: TypeRef| match r {
            TypeRef::Type(t) => (
                model.type_def(t).context,
                model.type_def(t).name.name.as_str(),
            ),
            TypeRef::Enum(e) => (
                model.enum_def(e).context,
                model.enum_def(e).name.name.as_str(),
            ),
        };
        seen.sort_by(|a, b| {
            let (ca, na) = describe(*a);
            let (cb, nb) = describe(*b);
            (ca != from, &model.context(ca).name.name, na).cmp(&(
                cb != from,
                &model.context(cb).name.name,
                nb,
            ))
        });
        let mut keys: HashMap<TypeRef, String> = HashMap::new();
        for r in &seen {
            let (context, name) = describe(*r);
            let base = if context == from {
                name.to_string()
            } else {
                format!("{}{}", model.context(context).name.name, name)
            };
            let mut key = base.clone();
            let mut n = 2;
            while keys.values().any(|k| *k == key) {
                key = format!("{base}{n}");
                n += 1;
            }
            keys.insert(*r, key);
        }
        DefinitionKeys { order: seen, keys }
    }

    fn key(&self, r: TypeRef) -> &str {
        self.keys.get(&r).map(String::as_str).unwrap_or("Unknown")
    }
}
