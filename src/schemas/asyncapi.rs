//! The AsyncAPI 3.0 document of one context: a channel per event it publishes or
//! consumes, a `send` operation per published event and a `receive` operation per
//! consumed one, messages whose payload is the event's JSON Schema file (by
//! reference, so the two cannot drift), and the backend's bindings.

use super::json_schema;
use super::tree::Node;
use crate::model::{Builtin, ContextId, EventId, EventOwner, Handler, Model};
use crate::names::kebab;
use crate::wire::{Backend, Wire, metadata};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const VERSION: &str = "3.0.0";
/// The reference parser reads JSON Schema as draft-07 (it has no draft-04 schema
/// parser: a draft-04 `schemaFormat` would be accepted unchecked). The schema
/// files use only keywords that mean the same in both drafts.
const SCHEMA_FORMAT: &str = "application/schema+json;version=draft-07";
const SNS_BINDING: &str = "0.1.0";
const SQS_BINDING: &str = "0.2.0";
const KAFKA_BINDING: &str = "0.5.0";

/// What the documents need from the whole model, computed once for all of them:
/// who publishes, consumes and emits each event.
pub struct Routes {
    /// Per context: the events it publishes, in model order.
    published: Vec<Vec<EventId>>,
    /// Per context: the events it consumes, with their handlers in subscription order.
    consumed: Vec<BTreeMap<EventId, Vec<Handler>>>,
    /// Per event: the contexts consuming it, sorted by name, without repeats.
    consumers: Vec<Vec<ContextId>>,
    /// Per event: the commands, then the externals, that emit it, in model order.
    emitters: Vec<Vec<Emitter>>,
    /// Per context: its names on the wire.
    names: Vec<Names>,
    /// Per event: the path of its JSON Schema, and the file's name.
    pub schema_paths: Vec<PathBuf>,
    schema_files: Vec<String>,
}

/// A context's names on the wire, as [`Wire`] spells them (asked once per context,
/// not once per mention).
struct Names {
    kebab: String,
    source: String,
    inbox: String,
    dead_letter_queue: String,
    sns_topic: String,
    topic: String,
    consumer_group: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Emitter {
    Command(usize),
    External(usize),
}

impl Routes {
    pub fn of(model: &Model, wire: &Wire) -> Routes {
        let mut published = vec![Vec::new(); model.contexts.len()];
        for event in model.event_ids() {
            published[model.event(event).context.index()].push(event);
        }
        let mut consumed = vec![BTreeMap::<EventId, Vec<Handler>>::new(); model.contexts.len()];
        let mut consumers = vec![Vec::new(); model.events.len()];
        for sub in model.subscriptions() {
            consumed[sub.context.index()]
                .entry(sub.event)
                .or_default()
                .push(sub.handler);
            consumers[sub.event.index()].push(sub.context);
        }
        for contexts in &mut consumers {
            contexts.sort_by(|a, b| {
                model
                    .context(*a)
                    .name
                    .name
                    .cmp(&model.context(*b).name.name)
            });
            contexts.dedup();
        }
        let mut emitters: Vec<Vec<Emitter>> = vec![Vec::new(); model.events.len()];
        let emitted = |emitters: &mut Vec<Vec<Emitter>>, event: EventId, by: Emitter| {
            let list = &mut emitters[event.index()];
            // Once per emitter, however often it names the event.
            if list.last() != Some(&by) {
                list.push(by);
            }
        };
        for (i, command) in model.commands.iter().enumerate() {
            for r in &command.emits {
                emitted(&mut emitters, r.id, Emitter::Command(i));
            }
        }
        for (i, external) in model.externals.iter().enumerate() {
            for r in &external.emits {
                emitted(&mut emitters, r.id, Emitter::External(i));
            }
        }
        let names = model
            .context_ids()
            .map(|c| Names {
                kebab: kebab(&model.context(c).name.name),
                source: wire.source(model, c),
                inbox: wire.inbox(model, c),
                dead_letter_queue: wire.dead_letter_queue(model, c),
                sns_topic: wire.sns_topic(model, c),
                topic: wire.topic(model, c),
                consumer_group: wire.consumer_group(model, c),
            })
            .collect();
        let schema_paths: Vec<PathBuf> = model
            .event_ids()
            .map(|e| wire.schema_path(model, e))
            .collect();
        let schema_files = schema_paths
            .iter()
            .map(|path| {
                path.file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        Routes {
            published,
            consumed,
            consumers,
            emitters,
            names,
            schema_paths,
            schema_files,
        }
    }
}

impl Routes {
    /// The events `context` publishes, in model order.
    pub fn published(&self, context: ContextId) -> &[EventId] {
        &self.published[context.index()]
    }
}

/// `schemas/<context>/asyncapi.yaml` of one context.
pub fn document(model: &Model, wire: &Wire, routes: &Routes, context: ContextId) -> Node {
    let c = model.context(context);
    let published = &routes.published[context.index()];
    let consumed = &routes.consumed[context.index()];
    let mut events = published.clone();
    events.extend(
        consumed
            .keys()
            .filter(|e| published.binary_search(e).is_err()),
    );

    let mut channels = Node::map();
    let mut operations = Node::map();
    let mut messages = Node::map();
    for &event in &events {
        let key = model.event_path(event);
        let receives = consumed.contains_key(&event);
        channels.set(
            key.clone(),
            channel(model, wire, routes, event, receives.then_some(context)),
        );
        messages.set(key.clone(), message(model, wire, routes, event, context));
        if published.binary_search(&event).is_ok() {
            operations.set(format!("{key}.send"), send(model, wire, routes, event));
        }
        if let Some(handlers) = consumed.get(&event) {
            operations.set(
                format!("{key}.receive"),
                receive(model, wire, routes, event, context, handlers),
            );
        }
    }

    let info = Node::map()
        .with("title", Node::str(c.name.name.clone()))
        .with("version", Node::str("1.0.0"))
        .with_opt("description", c.doc.clone().map(Node::str));
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
fn channel(
    model: &Model,
    wire: &Wire,
    routes: &Routes,
    event: EventId,
    consumer: Option<ContextId>,
) -> Node {
    let e = model.event(event);
    let producer = e.context;
    let address = match wire.backend {
        Backend::Eventbridge => wire.event_type(model, event).to_string(),
        Backend::SnsSqs => routes.names[producer.index()].sns_topic.clone(),
        Backend::Kafka => routes.names[producer.index()].topic.clone(),
    };
    let messages = Node::map().with(
        e.name.name.clone(),
        Node::reference(format!("#/components/messages/{}", model.event_path(event))),
    );
    let mut node = Node::map()
        .with("address", Node::str(address.clone()))
        .with_opt("description", e.doc.clone().map(Node::str))
        .with("messages", messages);
    let inbox = consumer.map(|c| sqs_queue_binding(routes, c));
    match wire.backend {
        Backend::Eventbridge => {
            node = node.with_opt("bindings", inbox.map(|sqs| Node::map().with("sqs", sqs)));
            node.set(
                "x-eventbridge",
                Node::map()
                    .with("bus", Node::str(wire.bus()))
                    .with(
                        "source",
                        Node::str(routes.names[producer.index()].source.clone()),
                    )
                    .with(
                        "detail-type",
                        Node::str(wire.event_type(model, event).to_string()),
                    ),
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
fn sqs_queue_binding(routes: &Routes, consumer: ContextId) -> Node {
    let queue = |name: String| {
        Node::map()
            .with("name", Node::str(name))
            .with("fifoQueue", Node::Bool(false))
    };
    let names = &routes.names[consumer.index()];
    Node::map()
        .with("queue", queue(names.inbox.clone()))
        .with("deadLetterQueue", queue(names.dead_letter_queue.clone()))
        .with("bindingVersion", Node::str(SQS_BINDING))
}

fn operation(model: &Model, event: EventId, action: &'static str, description: String) -> Node {
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

fn send(model: &Model, wire: &Wire, routes: &Routes, event: EventId) -> Node {
    let emitters: Vec<String> = routes.emitters[event.index()]
        .iter()
        .map(|by| match *by {
            Emitter::Command(i) => format!("command `{}`", model.commands[i].name.name),
            Emitter::External(i) => format!("external system `{}`", model.externals[i].name.name),
        })
        .collect();
    let mut description = format!("Publishes `{}`", model.event(event).name.name);
    if !emitters.is_empty() {
        description.push_str(&format!(", emitted by {}", emitters.join(", ")));
    }
    description.push('.');
    let mut node = operation(model, event, "send", description);
    let consumers = &routes.consumers[event.index()];
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
                        Node::map().with("name", Node::str(routes.names[c.index()].inbox.clone())),
                    )
                    .with(
                        "filterPolicy",
                        Node::map().with(
                            "type",
                            Node::strings([wire.event_type(model, event).to_string()]),
                        ),
                    )
                    .with("filterPolicyScope", Node::str("MessageBody"))
                    .with("rawMessageDelivery", Node::Bool(true))
                    .with(
                        "redrivePolicy",
                        Node::map().with(
                            "deadLetterQueue",
                            Node::map().with(
                                "name",
                                Node::str(routes.names[c.index()].dead_letter_queue.clone()),
                            ),
                        ),
                    )
            })
            .collect();
        let producer = model.event(event).context;
        let sns = Node::map()
            .with(
                "topic",
                Node::map().with(
                    "name",
                    Node::str(routes.names[producer.index()].sns_topic.clone()),
                ),
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
    routes: &Routes,
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
                .with(
                    "name",
                    Node::str(routes.names[context.index()].inbox.clone()),
                )
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
                    Node::map().with("type", Node::str("string")).with(
                        "enum",
                        Node::strings([routes.names[context.index()].consumer_group.clone()]),
                    ),
                )
                .with("bindingVersion", Node::str(KAFKA_BINDING)),
        ),
    };
    node.set("bindings", bindings);
    node
}

/// The message of one event, as described from `from`'s document.
fn message(model: &Model, wire: &Wire, routes: &Routes, event: EventId, from: ContextId) -> Node {
    let e = model.event(event);
    let file = &routes.schema_files[event.index()];
    let reference = if e.context == from {
        format!("./{file}")
    } else {
        format!("../{}/{file}", routes.names[e.context.index()].kebab)
    };
    let payload = Node::map()
        .with("schemaFormat", Node::str(SCHEMA_FORMAT))
        .with("schema", Node::reference(reference));
    let mut node = Node::map()
        .with("name", Node::str(e.name.name.clone()))
        .with(
            "title",
            Node::str(format!("{} v{}", e.name.name, e.version)),
        )
        .with_opt("description", e.doc.clone().map(Node::str))
        .with("contentType", Node::str("application/json"))
        .with("payload", payload);
    let source = routes.names[e.context.index()].source.clone();
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
                    .with(
                        "detail-type",
                        Node::str(wire.event_type(model, event).to_string()),
                    )
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
                    .with("type", Node::str(wire.event_type(model, event).to_string()))
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
    let schema = match crate::wire::key_form(&aggregate.id.ty) {
        Some(Builtin::Int) => text.with("pattern", Node::str("^-?[0-9]+$")),
        Some(b) => json_schema::builtin(b),
        None => text,
    };
    let schema = match schema {
        Node::Map(members) => members.into_iter().fold(
            Node::map().with("description", Node::str(description)),
            |n, (k, v)| n.with(k, v),
        ),
        other => other,
    };
    Some(schema)
}
