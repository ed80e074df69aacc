//! The JSON Schema (draft-04) of one event's payload, as registered in the
//! EventBridge schema registry. Same rules as the `schemas/` target: required =
//! the non-optional fields, no other properties, value types and enums as
//! definitions, doc comments as descriptions.

use crate::model::{Builtin, EventId, Model, Type, TypeRef};
use serde_json::{Map, Value, json};

/// A decimal travels as a string so that no precision is lost.
const DECIMAL_PATTERN: &str = "^-?[0-9]+(\\.[0-9]+)?$";

pub fn event_schema(model: &Model, event: EventId) -> Value {
    let e = model.event(event);
    let from = e.context;
    let mut schema = Map::new();
    schema.insert(
        "$schema".into(),
        json!("http://json-schema.org/draft-04/schema#"),
    );
    schema.insert("title".into(), json!(e.name.name));
    if let Some(doc) = &e.doc {
        schema.insert("description".into(), json!(doc));
    }
    schema.insert("type".into(), json!("object"));
    let mut definitions = Map::new();
    let mut pending: Vec<TypeRef> = Vec::new();
    let (properties, required) = object_parts(model, &e.fields, from, &mut pending);
    schema.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        schema.insert("required".into(), json!(required));
    }
    schema.insert("additionalProperties".into(), json!(false));
    while let Some(next) = pending.pop() {
        let key = definition_name(model, next, from);
        if definitions.contains_key(&key) {
            continue;
        }
        let body = match next {
            TypeRef::Type(t) => {
                let def = model.type_def(t);
                let (properties, required) = object_parts(model, &def.fields, from, &mut pending);
                let mut body = Map::new();
                if let Some(doc) = &def.doc {
                    body.insert("description".into(), json!(doc));
                }
                body.insert("type".into(), json!("object"));
                body.insert("properties".into(), Value::Object(properties));
                if !required.is_empty() {
                    body.insert("required".into(), json!(required));
                }
                body.insert("additionalProperties".into(), json!(false));
                body
            }
            TypeRef::Enum(en) => {
                let def = model.enum_def(en);
                let mut body = Map::new();
                if let Some(doc) = &def.doc {
                    body.insert("description".into(), json!(doc));
                }
                body.insert("type".into(), json!("string"));
                let variants: Vec<&str> = def.variants.iter().map(|v| v.name.name.as_str()).collect();
                body.insert("enum".into(), json!(variants));
                body
            }
        };
        definitions.insert(key, Value::Object(body));
    }
    if !definitions.is_empty() {
        schema.insert("definitions".into(), Value::Object(definitions));
    }
    Value::Object(schema)
}

fn object_parts(
    model: &Model,
    fields: &[crate::model::Field],
    from: crate::model::ContextId,
    pending: &mut Vec<TypeRef>,
) -> (Map<String, Value>, Vec<String>) {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in fields {
        let mut property = type_schema(model, &field.ty, from, pending);
        if let (Some(doc), Value::Object(map)) = (&field.doc, &mut property) {
            if map.contains_key("$ref") {
                // Siblings of `$ref` are ignored in draft-04: wrap it.
                property = json!({ "description": doc, "allOf": [property] });
            } else {
                map.insert("description".into(), json!(doc));
            }
        }
        if !matches!(field.ty, Type::Optional(_)) {
            required.push(field.name.name.clone());
        }
        properties.insert(field.name.name.clone(), property);
    }
    (properties, required)
}

fn type_schema(
    model: &Model,
    ty: &Type,
    from: crate::model::ContextId,
    pending: &mut Vec<TypeRef>,
) -> Value {
    match ty {
        Type::Builtin(b) => match b {
            Builtin::String => json!({ "type": "string" }),
            Builtin::Int => json!({ "type": "integer" }),
            Builtin::Float => json!({ "type": "number" }),
            Builtin::Bool => json!({ "type": "boolean" }),
            Builtin::Decimal => json!({ "type": "string", "pattern": DECIMAL_PATTERN }),
            Builtin::Uuid => json!({ "type": "string", "format": "uuid" }),
            Builtin::Timestamp => json!({ "type": "string", "format": "date-time" }),
            Builtin::Date => json!({ "type": "string", "format": "date" }),
        },
        Type::Named(t) => reference(model, TypeRef::Type(*t), from, pending),
        Type::Enum(e) => reference(model, TypeRef::Enum(*e), from, pending),
        Type::List(inner) => {
            json!({ "type": "array", "items": type_schema(model, inner, from, pending) })
        }
        Type::Optional(inner) => {
            json!({ "anyOf": [type_schema(model, inner, from, pending), { "type": "null" }] })
        }
        Type::Unknown => json!({}),
    }
}

fn reference(
    model: &Model,
    target: TypeRef,
    from: crate::model::ContextId,
    pending: &mut Vec<TypeRef>,
) -> Value {
    pending.push(target);
    json!({ "$ref": format!("#/definitions/{}", definition_name(model, target, from)) })
}

/// `Address`, or `PatientRegistry.Address` for a type of another context.
fn definition_name(model: &Model, target: TypeRef, from: crate::model::ContextId) -> String {
    let ty = match target {
        TypeRef::Type(t) => Type::Named(t),
        TypeRef::Enum(e) => Type::Enum(e),
    };
    model.type_name(&ty, from)
}
