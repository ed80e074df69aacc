//! The AsyncAPI 3.0 document of one context: a channel per event it publishes or
//! consumes, a `send` operation per published event and a `receive` operation per
//! consumed one, messages whose payload is the event's JSON Schema file (by
//! reference, so the two cannot drift), and the backend's bindings.

use super::json_schema;
use super::tree::Node;
use crate::model::{Builtin, ContextId, EventId, EventOwner, Handler, Model, Type};
use crate::names::kebab;
use crate::wire::{Backend, Wire, metadata};
use std::collections::BTreeMap;

pub const VERSION: &str = "3.0.0";
/// The reference parser reads JSON Schema as draft-07 (it has no draft-04 schema
/// parser: a draft-04 `schemaFormat` would be accepted unchecked). The schema
/// files use only keywords that mean the same in both drafts.
const SCHEMA_FORMAT: &str = "application/schema+json;version=draft-07";
const SNS_BINDING: &str = "0.1.0";
const SQS_BINDING: &str = "0.2.0";
const KAFKA_BINDING: &str = "0.5.0";

/// `schemas/<context>/asyncapi.yaml` of one context.
pub fn document(model: &Model, wire: &Wire, context: ContextId) -> Node {
    let c = model.context(context);
    let published: Vec<EventId> = model
        .event_ids()
        .filter(|&e| model.event(e).context == context)
        .collect();
    let mut consumed: BTreeMap<EventId, Vec<Handler>> = BTreeMap::new();
    for sub in model.subscriptions() {
        if sub.context == context {
            consumed.entry(sub.event).or_default().push(sub.handler);
        }
    }
    let mut events = published.clone();
    events.extend(consumed.keys().filter(|e| !published.contains(e)));

    let mut channels = Node::map();
    let mut operations = Node::map();
    let mut messages = Node::map();
    for &event in &events {
        let key = model.event_path(event);
        let receives = consumed.contains_key(&event);
        channels.set(
            &key,
            channel(model, wire, event, receives.then_some(context)),
        );
        messages.set(&key, message(model, wire, event, context));
        if published.contains(&event) {
            operations.set(&format!("{key}.send"), send(model, wire, event));
        }
        if let Some(handlers) = consumed.get(&event) {
            operations.set(
                &format!("{key}.receive"),
                receive(model, wire, event, context, handlers),
            );
        }
    }

    let info = Node::map()
        .with("title", Node::str(&c.name.name))
        .with("version", Node::str("1.0.0"))
        .with_opt("description", c.doc.as_deref().map(Node::str));
    let mut doc = Node::map()
        .with("asyncapi", Node::str(VERSION))
        .with("info", info)
        .with("defaultContentType", Node::str("application/json"));
    if !events.is_empty() {
        doc.set("channels", channels);
        doc.set("operations", operations);
        doc.set("components", Node::map().with("messages", messages));
    }
    doc
}

/// The channel of one event; `consumer` is this document's context when it
/// receives the event.
fn channel(model: &Model, wire: &Wire, event: EventId, consumer: Option<ContextId>) -> Node {
    let e = model.event(event);
    let producer = e.context;
    let address = match wire.backend {
        Backend::Eventbridge => wire.event_type(model, event).to_string(),
        Backend::SnsSqs => wire.sns_topic(model, producer),
        Backend::Kafka => wire.topic(model, producer),
    };
    let messages = Node::map().with(
        &e.name.name,
        Node::reference(format!("#/components/messages/{}", model.event_path(event))),
    );
    let mut node = Node::map()
        .with("address", Node::str(address.clone()))
        .with_opt("description", e.doc.as_deref().map(Node::str))
        .with("messages", messages);
    let inbox = consumer.map(|c| sqs_queue_binding(model, wire, c));
    match wire.backend {
        Backend::Eventbridge => {
            node = node.with_opt("bindings", inbox.map(|sqs| Node::map().with("sqs", sqs)));
            node.set(
                "x-eventbridge",
                Node::map()
                    .with("bus", Node::str(wire.bus()))
                    .with("source", Node::str(wire.source(model, producer)))
                    .with("detail-type", Node::str(wire.event_type(model, event))),
            );
        }
        Backend::SnsSqs => {
            let sns = Node::map()
                .with("name", Node::str(address))
                .with("bindingVersion", Node::str(SNS_BINDING));
            let bindings = Node::map().with("sns", sns).with_opt("sqs", inbox);
            node.set("bindings", bindings);
        }
        Backend::Kafka => {
            let kafka = Node::map()
                .with("topic", Node::str(address))
                .with("bindingVersion", Node::str(KAFKA_BINDING));
            node.set("bindings", Node::map().with("kafka", kafka));
        }
    }
    node
}

/// The SQS channel binding of a consuming context's inbox and its dead-letter queue.
fn sqs_queue_binding(model: &Model, wire: &Wire, consumer: ContextId) -> Node {
    let queue = |name: String| {
        Node::map()
            .with("name", Node::str(name))
            .with("fifoQueue", Node::Bool(false))
    };
    let inbox = wire.inbox(model, consumer);
    Node::map()
        .with("queue", queue(inbox.clone()))
        .with(
            "deadLetterQueue",
            queue(wire.dead_letter_queue(model, consumer)),
        )
        .with("bindingVersion", Node::str(SQS_BINDING))
}

fn operation(model: &Model, event: EventId, action: &str, description: String) -> Node {
    let path = model.event_path(event);
    let name = &model.event(event).name.name;
    Node::map()
        .with("action", Node::str(action))
        .with("channel", Node::reference(format!("#/channels/{path}")))
        .with("description", Node::str(description))
        .with(
            "messages",
            Node::List(vec![Node::reference(format!(
                "#/channels/{path}/messages/{name}"
            ))]),
        )
}

fn send(model: &Model, wire: &Wire, event: EventId) -> Node {
    let mut emitters: Vec<String> = model
        .commands
        .iter()
        .filter(|c| c.emits.iter().any(|r| r.id == event))
        .map(|c| format!("command `{}`", c.name.name))
        .collect();
    emitters.extend(
        model
            .externals
            .iter()
            .filter(|x| x.emits.iter().any(|r| r.id == event))
            .map(|x| format!("external system `{}`", x.name.name)),
    );
    let mut description = format!("Publishes `{}`", model.event(event).name.name);
    if !emitters.is_empty() {
        description.push_str(&format!(", emitted by {}", emitters.join(", ")));
    }
    description.push('.');
    let mut node = operation(model, event, "send", description);
    let mut consumers: Vec<ContextId> = model
        .subscriptions()
        .iter()
        .filter(|s| s.event == event)
        .map(|s| s.context)
        .collect();
    consumers.sort_by(|a, b| {
        model
            .context(*a)
            .name
            .name
            .cmp(&model.context(*b).name.name)
    });
    consumers.dedup();
    // The SNS binding needs at least one consumer; an event nobody subscribes to
    // has only the channel's topic binding.
    if wire.backend == Backend::SnsSqs && !consumers.is_empty() {
        let subscriptions: Vec<Node> = consumers
            .iter()
            .map(|&c| {
                Node::map()
                    .with("protocol", Node::str("sqs"))
                    .with(
                        "endpoint",
                        Node::map().with("name", Node::str(wire.inbox(model, c))),
                    )
                    .with(
                        "filterPolicy",
                        Node::map().with("type", Node::strings([wire.event_type(model, event)])),
                    )
                    .with("filterPolicyScope", Node::str("MessageBody"))
                    .with("rawMessageDelivery", Node::Bool(true))
                    .with(
                        "redrivePolicy",
                        Node::map().with(
                            "deadLetterQueue",
                            Node::map().with("name", Node::str(wire.dead_letter_queue(model, c))),
                        ),
                    )
            })
            .collect();
        let producer = model.event(event).context;
        let sns = Node::map()
            .with(
                "topic",
                Node::map().with("name", Node::str(wire.sns_topic(model, producer))),
            )
            .with("consumers", Node::List(subscriptions))
            .with("bindingVersion", Node::str(SNS_BINDING));
        node.set("bindings", Node::map().with("sns", sns));
    }
    node
}

fn receive(
    model: &Model,
    wire: &Wire,
    event: EventId,
    context: ContextId,
    handlers: &[Handler],
) -> Node {
    let handled: Vec<String> = handlers
        .iter()
        .map(|h| match h {
            Handler::Policy(p) => format!("policy `{}`", model.policy(*p).name.name),
            Handler::ReadModel(r) => format!("read model `{}`", model.readmodel(*r).name.name),
        })
        .collect();
    let description = format!(
        "Receives `{}`, handled by {}.",
        model.event_path(event),
        handled.join(", ")
    );
    let mut node = operation(model, event, "receive", description);
    let bindings = match wire.backend {
        Backend::Eventbridge | Backend::SnsSqs => {
            let queue = Node::map()
                .with("name", Node::str(wire.inbox(model, context)))
                .with("fifoQueue", Node::Bool(false));
            Node::map().with(
                "sqs",
                Node::map()
                    .with("queues", Node::List(vec![queue]))
                    .with("bindingVersion", Node::str(SQS_BINDING)),
            )
        }
        Backend::Kafka => Node::map().with(
            "kafka",
            Node::map()
                .with(
                    "groupId",
                    Node::map()
                        .with("type", Node::str("string"))
                        .with("enum", Node::strings([wire.consumer_group(model, context)])),
                )
                .with("bindingVersion", Node::str(KAFKA_BINDING)),
        ),
    };
    node.set("bindings", bindings);
    node
}

/// The message of one event, as described from `from`'s document.
fn message(model: &Model, wire: &Wire, event: EventId, from: ContextId) -> Node {
    let e = model.event(event);
    let schema_path = wire.schema_path(model, event);
    let file = schema_path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let reference = if e.context == from {
        format!("./{file}")
    } else {
        format!("../{}/{file}", kebab(&model.context(e.context).name.name))
    };
    let payload = Node::map()
        .with("schemaFormat", Node::str(SCHEMA_FORMAT))
        .with("schema", Node::reference(reference));
    let mut node = Node::map()
        .with("name", Node::str(&e.name.name))
        .with(
            "title",
            Node::str(format!("{} v{}", e.name.name, e.version)),
        )
        .with_opt("description", e.doc.as_deref().map(Node::str))
        .with("contentType", Node::str("application/json"))
        .with("payload", payload);
    let source = wire.source(model, e.context);
    match wire.backend {
        Backend::Eventbridge => {
            let detail_metadata = Node::map().with("key", Node::str(metadata::KEY)).with(
                "fields",
                Node::strings([
                    metadata::AGGREGATE_ID,
                    metadata::AGGREGATE_VERSION,
                    metadata::EVENT_VERSION,
                ]),
            );
            node.set(
                "x-eventbridge",
                Node::map()
                    .with("source", Node::str(source))
                    .with("detail-type", Node::str(wire.event_type(model, event)))
                    .with("detail-metadata", detail_metadata),
            );
        }
        Backend::SnsSqs | Backend::Kafka => {
            if let (Backend::Kafka, Some(key)) = (wire.backend, kafka_key(model, event)) {
                node.set(
                    "bindings",
                    Node::map().with(
                        "kafka",
                        Node::map()
                            .with("key", key)
                            .with("bindingVersion", Node::str(KAFKA_BINDING)),
                    ),
                );
            }
            node.set(
                "x-cloudevents",
                Node::map()
                    .with("specversion", Node::str("1.0"))
                    .with("mode", Node::str("structured"))
                    .with("source", Node::str(source))
                    .with("type", Node::str(wire.event_type(model, event)))
                    .with("dataschema", Node::str(wire.dataschema(model, event)))
                    .with("datacontenttype", Node::str("application/json")),
            );
        }
    }
    node
}

/// The Kafka key: the id of the aggregate that emitted the event, as a string.
/// Events of externals have no aggregate, and no key.
fn kafka_key(model: &Model, event: EventId) -> Option<Node> {
    let EventOwner::Aggregate(a) = model.event(event).owner else {
        return None;
    };
    let aggregate = model.aggregate(a);
    let description = format!(
        "The id of the `{}` aggregate (`{}`): one aggregate's events share a partition, in order.",
        aggregate.name.name, aggregate.id.name.name
    );
    let text = Node::map().with("type", Node::str("string"));
    let schema = match &aggregate.id.ty {
        Type::Builtin(
            b @ (Builtin::Uuid | Builtin::Date | Builtin::Timestamp | Builtin::Decimal),
        ) => json_schema::builtin(*b),
        Type::Builtin(Builtin::Int) => text.with("pattern", Node::str("^-?[0-9]+$")),
        _ => text,
    };
    let schema = match schema {
        Node::Map(members) => members.into_iter().fold(
            Node::map().with("description", Node::str(description)),
            |n, (k, v)| n.with(&k, v),
        ),
        other => other,
    };
    Some(schema)
}
