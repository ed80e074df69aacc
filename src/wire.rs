//! How events travel: sources, types and the names of broker resources. One place,
//! so that docs, schemas, routing and generated code agree.

use crate::model::{Builtin, ContextId, EventId, Model, Type};
use crate::names::kebab;

/// How an aggregate's id travels as the key of its events (the `aggregate_id`
/// of the metadata, the Kafka message key): always a string, in the form of one
/// of these built-ins, or (`None`) any string, whatever else the id's type is.
pub fn key_form(id: &Type) -> Option<Builtin> {
    match id {
        Type::Builtin(
            b @ (Builtin::Uuid
            | Builtin::Date
            | Builtin::Timestamp
            | Builtin::Decimal
            | Builtin::Int),
        ) => Some(*b),
        _ => None,
    }
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    Eventbridge,
    SnsSqs,
    Kafka,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Eventbridge => "eventbridge",
            Backend::SnsSqs => "sns-sqs",
            Backend::Kafka => "kafka",
        }
    }
}

/// The naming of one model on the wire.
#[derive(Clone, Debug)]
pub struct Wire {
    pub namespace: String,
    pub backend: Backend,
    /// How the routing target builds the backend's resources (storm.yaml
    /// `targets: { routing: { ... } }`).
    pub routing: crate::routing::Options,
}

impl Wire {
    /// A model's naming on a backend, with the routing target's defaults.
    pub fn new(namespace: String, backend: Backend) -> Wire {
        Wire {
            namespace,
            backend,
            routing: crate::routing::Options::default(),
        }
    }
}

impl Wire {
    /// `<namespace>.<context-kebab>`, the `source` of every event of a context.
    pub fn source(&self, model: &Model, context: ContextId) -> String {
        format!(
            "{}.{}",
            self.namespace,
            kebab(&model.context(context).name.name)
        )
    }

    /// The event's declared name: EventBridge `detail-type`, CloudEvents `type`.
    pub fn event_type<'m>(&self, model: &'m Model, event: EventId) -> &'m str {
        &model.event(event).name.name
    }

    /// The Kafka topic a context publishes to.
    pub fn topic(&self, model: &Model, context: ContextId) -> String {
        format!("{}.events", self.source(model, context))
    }

    /// The queue a consuming context reads its events from.
    pub fn inbox(&self, model: &Model, context: ContextId) -> String {
        format!("{}-inbox", kebab(&model.context(context).name.name))
    }

    /// How one subscription is routed, in words, for the docs.
    pub fn route(&self, model: &Model, event: EventId, consumer: ContextId) -> String {
        let producer = model.event(event).context;
        let source = self.source(model, producer);
        let ty = self.event_type(model, event);
        match self.backend {
            Backend::Eventbridge => format!(
                "EventBridge rule: source `{source}`, detail-type `{ty}` → queue `{}`",
                self.inbox(model, consumer)
            ),
            Backend::SnsSqs => format!(
                "SNS topic of `{}`, filter `type = {ty}` → queue `{}`",
                kebab(&model.context(producer).name.name),
                self.inbox(model, consumer)
            ),
            Backend::Kafka => format!(
                "topic `{}`, group `{}` keeps `{ty}`",
                self.topic(model, producer),
                kebab(&model.context(consumer).name.name)
            ),
        }
    }
}

/// The keys of the `metadata` object EventBridge events carry in `detail`, next to
/// the payload's fields (outputs.md, "Events on the wire").
pub mod metadata {
    /// The id of the aggregate instance that emitted the event, as a string.
    pub const AGGREGATE_ID: &str = "aggregate_id";
    /// The aggregate's version (sequence number) after this event.
    pub const AGGREGATE_VERSION: &str = "aggregate_version";
    /// The event's contract version (`version N` in the model).
    pub const EVENT_VERSION: &str = "event_version";
    /// The key of the object in `detail`.
    pub const KEY: &str = "metadata";
}

impl Wire {
    /// Where an event's JSON Schema lives, relative to the output directory.
    pub fn schema_path(&self, model: &Model, event: EventId) -> std::path::PathBuf {
        let e = model.event(event);
        std::path::PathBuf::from(format!(
            "schemas/{}/{}.v{}.schema.json",
            kebab(&model.context(e.context).name.name),
            e.name.name,
            e.version
        ))
    }

    /// The CloudEvents `dataschema` of an event: a URN naming its contract.
    pub fn dataschema(&self, model: &Model, event: EventId) -> String {
        let e = model.event(event);
        format!(
            "urn:storm:{}:{}:v{}",
            self.source(model, e.context),
            e.name.name,
            e.version
        )
    }
}

/// A resource name from parts: only the characters every AWS name accepts.
pub fn aws_name(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

impl Wire {
    /// The EventBridge bus (and the schema registry) of the model.
    pub fn bus(&self) -> String {
        aws_name(&[&self.namespace])
    }

    /// The SNS topic a context publishes to.
    pub fn sns_topic(&self, model: &Model, context: ContextId) -> String {
        aws_name(&[
            &self.namespace,
            &kebab(&model.context(context).name.name),
            "events",
        ])
    }

    /// The DynamoDB event store of a context with aggregates.
    pub fn event_store_table(&self, model: &Model, context: ContextId) -> String {
        aws_name(&[
            &self.namespace,
            &kebab(&model.context(context).name.name),
            "events",
        ])
    }

    /// The dead-letter queue of a consuming context's inbox.
    pub fn dead_letter_queue(&self, model: &Model, context: ContextId) -> String {
        format!("{}-dlq", self.inbox(model, context))
    }

    /// The Kafka consumer group of a consuming context.
    pub fn consumer_group(&self, model: &Model, context: ContextId) -> String {
        kebab(&model.context(context).name.name)
    }
}
