//! The `routing/` target: the model's subscriptions as the chosen backend's
//! resources (outputs.md, "routing/ — the backend"). Only `wire.backend` is
//! rendered.
//!
//! Output is YAML serialised with serde_yaml from `serde_json::Value` trees built
//! here: CloudFormation and Kubernetes manifests are data, every value in them is
//! derived from the model, and a template would only restate the tree. Maps are
//! sorted (serde_json without `preserve_order`), so the bytes are deterministic.
//!
//! The AWS templates are safe by default (README, "Safe by default"): retained,
//! protected and recoverable event stores, encryption at rest everywhere, queue
//! policies limited to their real senders, alarms on every dead-letter queue.

mod cloudformation;
mod kafka;
mod memo;
pub mod stacks;

pub use memo::Memo;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::generate::{Owner, Rendered};
use crate::keys::Keys;
use crate::model::{ContextId, EventId, EventOwner, Model};
use crate::schemas::EventSchemas;
use crate::source::Span;
use crate::wire::{Backend, Wire};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// What `targets: { routing: { ... } }` in storm.yaml sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// A customer-managed KMS key (key or alias ARN) that encrypts every table,
    /// queue, topic and the bus; AWS-managed keys when `None`.
    pub kms_key: Option<String>,
}

/// The routing files of `wire.backend`. An AWS template beyond CloudFormation's
/// limits is written as a root `template.yaml` with its nested stacks beside it
/// (`stacks/*.yaml`, see [`stacks`]); the error says why a template cannot be
/// split into stacks AWS accepts.
pub fn render(model: &Model, wire: &Wire) -> Result<Rendered, String> {
    render_with(model, wire, None)
}

/// [`render`], with the event schemas of EventBridge's registry taken from
/// `schemas`, which the `schemas/` target shares.
pub fn render_sharing(
    model: &Model,
    wire: &Wire,
    schemas: &EventSchemas,
) -> Result<Rendered, String> {
    within_limits(model, wire)?;
    Ok(owned(fresh(model, wire, Some(schemas))?))
}

/// [`render`], with what earlier renders built kept in `memo` (`storm watch`):
/// each part of an AWS template (the model-wide resources, each context's own)
/// is built again only when its key changed ([`memo`]), the template is split
/// into stacks again only when a part's content changed, and only stacks whose
/// tree is new are written out. The bytes are those of [`render`].
pub fn render_with(
    model: &Model,
    wire: &Wire,
    memo: Option<(&mut Memo, &Keys)>,
) -> Result<Rendered, String> {
    within_limits(model, wire)?;
    let files = match memo {
        None => fresh(model, wire, None)?,
        Some((memo, keys)) => memo.render(model, wire, keys)?,
    };
    Ok(owned(files))
}

/// An error unless every name the backend needs is within the broker's limits.
fn within_limits(model: &Model, wire: &Wire) -> Result<(), String> {
    // `check` reports these ([`name_limits`]); a library caller gets the first.
    match overlong_names(model, wire).first() {
        Some(overlong) => Err(format!(
            "the {} routing needs a name its broker refuses: {}",
            wire.backend.as_str(),
            overlong.message(wire)
        )),
        None => Ok(()),
    }
}

fn owned(files: Vec<(String, String)>) -> Rendered {
    files
        .into_iter()
        .map(|(path, body)| (PathBuf::from(path), body, Owner::Storm))
        .collect()
}

/// The files of `wire.backend`, built from nothing; the registry's event schemas
/// from `schemas` when given.
fn fresh(
    model: &Model,
    wire: &Wire,
    schemas: Option<&EventSchemas>,
) -> Result<Vec<(String, String)>, String> {
    match template_with(model, wire, schemas) {
        Some(template) => split(template, wire, &mut yaml),
        None => Ok(kafka::render(model, wire, &Routes::of(model))),
    }
}

/// An AWS template as files: split into stacks, each written by `write`.
fn split(
    template: serde_json::Value,
    wire: &Wire,
    write: &mut dyn FnMut(&serde_json::Value) -> String,
) -> Result<Vec<(String, String)>, String> {
    let dir = format!("routing/{}", wire.backend.as_str());
    Ok(stacks::split(template)
        .map_err(|e| format!("the {} routing template: {e}", wire.backend.as_str()))?
        .into_iter()
        .map(|(file, tree)| (format!("{dir}/{file}"), write(&tree)))
        .collect())
}

/// The longest names the brokers take (AWS and Kafka quotas).
const MAX_QUEUE_NAME: usize = 80;
const MAX_TOPIC_NAME: usize = 256;
const MAX_TABLE_NAME: usize = 255;
const MAX_SCHEMA_NAME: usize = 385;
const MAX_KAFKA_TOPIC: usize = 249;

/// A name of a resource that the broker would refuse: too long.
struct Overlong {
    /// The name of the element the resource is named after.
    span: Span,
    /// What the resource is: "SQS queue", "Kafka topic", ...
    what: &'static str,
    name: String,
    limit: usize,
    /// Whether the name holds the namespace (a queue name does not).
    namespaced: bool,
}

/// The names the backend's resources get from the model that are beyond the
/// broker's limits, at most one per element (the longest). The event bus is
/// named after the namespace alone, which storm.yaml keeps within 200 characters
/// (AWS takes 256).
fn overlong_names(model: &Model, wire: &Wire) -> Vec<Overlong> {
    let mut names: Vec<Overlong> = Vec::new();
    let mut add = |span: Span, what, name: String, limit, namespaced| {
        if name.chars().count() > limit {
            names.push(Overlong {
                span,
                what,
                name,
                limit,
                namespaced,
            });
        }
    };
    let context = |c: ContextId| model.context(c).name.span;
    match wire.backend {
        Backend::Eventbridge | Backend::SnsSqs => {
            for c in Routes::of(model).consumers.into_keys() {
                add(
                    context(c),
                    "SQS queue",
                    wire.inbox(model, c),
                    MAX_QUEUE_NAME,
                    false,
                );
                let dlq = wire.dead_letter_queue(model, c);
                add(context(c), "SQS queue", dlq, MAX_QUEUE_NAME, false);
            }
            for c in stores(model) {
                let table = wire.event_store_table(model, c);
                add(context(c), "DynamoDB table", table, MAX_TABLE_NAME, true);
            }
            if wire.backend == Backend::SnsSqs {
                for c in publishers(model) {
                    let topic = wire.sns_topic(model, c);
                    add(context(c), "SNS topic", topic, MAX_TOPIC_NAME, true);
                }
            } else {
                for e in model.event_ids() {
                    let event = model.event(e);
                    let schema =
                        format!("{}@{}", wire.source(model, event.context), event.name.name);
                    add(event.name.span, "schema", schema, MAX_SCHEMA_NAME, true);
                }
            }
        }
        Backend::Kafka => {
            for c in publishers(model) {
                let topic = wire.topic(model, c);
                add(context(c), "Kafka topic", topic, MAX_KAFKA_TOPIC, true);
            }
        }
    }
    // One per element: the longest of its names.
    names.sort_by(|a, b| {
        (a.span.file, a.span.start)
            .cmp(&(b.span.file, b.span.start))
            .then(b.name.len().cmp(&a.name.len()))
    });
    names.dedup_by(|later, first| later.span == first.span);
    names
}

impl Overlong {
    fn broker(&self, wire: &Wire) -> &'static str {
        match wire.backend {
            Backend::Kafka => "Kafka",
            Backend::Eventbridge | Backend::SnsSqs => "AWS",
        }
    }

    fn message(&self, wire: &Wire) -> String {
        format!(
            "the {} name `{}` has {} characters; {} allows at most {}",
            self.what,
            crate::names::abbreviated(&self.name),
            self.name.chars().count(),
            self.broker(wire),
            self.limit
        )
    }
}

/// Every name the backend's resources get from the model within the broker's
/// limit: a name AWS or Kafka would refuse is a `routing-limit` error at the
/// element the resource is named after.
pub fn name_limits(model: &Model, wire: &Wire, diags: &mut Diagnostics) {
    for overlong in overlong_names(model, wire) {
        let help = if overlong.namespaced {
            "shorten this name, or the namespace (storm.yaml `namespace`)"
        } else {
            "shorten this name"
        };
        diags.push(
            Diagnostic::new(Code::RoutingLimit, overlong.span, overlong.message(wire))
                .label(format!("the {} is named after this", overlong.what))
                .help(format!(
                    "{help}; the {} backend cannot create the {}",
                    wire.backend.as_str(),
                    overlong.what
                )),
        );
    }
}

/// The CloudFormation template of an AWS backend as one tree, before it is split
/// into stacks; `None` for Kafka.
pub fn template(model: &Model, wire: &Wire) -> Option<serde_json::Value> {
    template_with(model, wire, None)
}

/// [`template`], with the registry's event schemas from `schemas` when given.
fn template_with(
    model: &Model,
    wire: &Wire,
    schemas: Option<&EventSchemas>,
) -> Option<serde_json::Value> {
    let options = &wire.routing;
    match wire.backend {
        Backend::Eventbridge => Some(cloudformation::eventbridge(
            model,
            wire,
            &Routes::of(model),
            options,
            schemas,
        )),
        Backend::SnsSqs => Some(cloudformation::sns_sqs(
            model,
            wire,
            &Routes::of(model),
            options,
        )),
        Backend::Kafka => None,
    }
}

/// Who receives what: for each consuming context, for each producing context, the
/// event types it takes, each once however many handlers name it.
pub struct Routes {
    /// consumer → producer → events (in model order, without repeats).
    pub consumers: BTreeMap<ContextId, BTreeMap<ContextId, Vec<EventId>>>,
}

impl Routes {
    pub fn of(model: &Model) -> Routes {
        let mut sets: BTreeMap<ContextId, BTreeMap<ContextId, BTreeSet<EventId>>> = BTreeMap::new();
        for sub in model.subscriptions() {
            let producer = model.event(sub.event).context;
            sets.entry(sub.context)
                .or_default()
                .entry(producer)
                .or_default()
                .insert(sub.event);
        }
        let consumers = sets
            .into_iter()
            .map(|(c, by)| {
                let by = by
                    .into_iter()
                    .map(|(p, events)| (p, events.into_iter().collect()))
                    .collect();
                (c, by)
            })
            .collect();
        Routes { consumers }
    }
}

/// Contexts that publish: they declare at least one event.
pub fn publishers(model: &Model) -> Vec<ContextId> {
    model
        .context_ids()
        .filter(|&c| model.events.iter().any(|e| e.context == c))
        .collect()
}

/// Contexts whose aggregates record events, and so have an event store. An
/// aggregate with no events (an `empty-element` warning; it can have no
/// commands either) stores nothing, and has nothing to publish.
pub fn stores(model: &Model) -> Vec<ContextId> {
    let recording: BTreeSet<ContextId> = model
        .events
        .iter()
        .filter(|e| matches!(e.owner, EventOwner::Aggregate(_)))
        .map(|e| e.context)
        .collect();
    model
        .context_ids()
        .filter(|c| recording.contains(c))
        .collect()
}

/// A YAML document from a JSON-like tree, as every routing file is written.
pub fn yaml(value: &serde_json::Value) -> String {
    // The schemas' direct YAML writer, byte for byte serde_yaml's output and many
    // times faster on large templates; serde_yaml itself for what it does not cover.
    let text = match crate::schemas::tree::Node::from_json(value) {
        Some(tree) => tree.to_yaml(),
        None => {
            serde_yaml::to_string(value).unwrap_or_else(|e| format!("# cannot serialise: {e}\n"))
        }
    };
    quote_dates(text)
}

/// YAML 1.1 readers (PyYAML, CloudFormation tools) turn a plain `2010-09-09` into
/// a date; quote such scalars so that every reader sees the string we wrote.
/// A line's value is what follows its last `: ` (or, for a sequence item, its
/// first `- `); inside a block scalar (`key: |`), lines are content, never
/// rewritten. Lines end at `\n` (a `\r` before it is dropped). Only the few
/// lines that end in a date are looked at closely, and a text without any
/// comes back as it is.
fn quote_dates(text: String) -> String {
    let bytes = text.as_bytes();
    let mut edits = Edits::default();
    let mut block: Option<usize> = None;
    let mut start = 0;
    while start < text.len() {
        let newline = memchr::memchr(b'\n', &bytes[start..]).map(|i| start + i);
        let end = newline.unwrap_or(text.len());
        let cr = newline.is_some() && end > start && bytes[end - 1] == b'\r';
        let line_end = if cr { end - 1 } else { end };
        let line = &text[start..line_end];
        let indent = || line.len() - line.trim_start().len();
        let in_block = block.is_some_and(|parent| indent() > parent || line.trim().is_empty());
        if !in_block {
            block = None;
            if starts_block(line) {
                block = Some(indent());
            }
            // A quoted value is the last ten bytes of its line.
            let at = line.len().saturating_sub(10);
            if line.get(at..).is_some_and(is_date) && value_start(line) == Some(at) {
                edits.insert(&text, start + at, "'");
                edits.insert(&text, line_end, "'");
            }
        }
        if cr {
            edits.skip(&text, line_end, end);
        }
        if newline.is_none() {
            edits.insert(&text, text.len(), "\n");
        }
        start = end + 1;
    }
    edits.finish(text)
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Whether a line ends in a block scalar's indicator (`|`, `|-`, `>`, `>-`).
fn starts_block(line: &str) -> bool {
    let tail = line.trim_end();
    tail.ends_with('|') || tail.ends_with("|-") || tail.ends_with('>') || tail.ends_with(">-")
}

/// Where the value of a line starts: after its last `: `, else after the first
/// `- ` of a sequence item.
fn value_start(line: &str) -> Option<usize> {
    line.rfind(": ").map(|i| i + 2).or_else(|| {
        line.trim_start()
            .starts_with("- ")
            .then(|| line.find("- ").map(|i| i + 2))
            .flatten()
    })
}

/// Insertions into and cuts out of a text, in order of position; the text is
/// only copied when there is one.
#[derive(Default)]
struct Edits {
    out: String,
    /// How much of the text `out` holds.
    copied: usize,
    any: bool,
}

impl Edits {
    fn insert(&mut self, text: &str, at: usize, what: &str) {
        self.skip(text, at, at);
        self.out.push_str(what);
    }

    fn skip(&mut self, text: &str, from: usize, to: usize) {
        if !self.any {
            self.out.reserve(text.len() + 64);
            self.any = true;
        }
        self.out.push_str(&text[self.copied..from]);
        self.copied = to;
    }

    fn finish(mut self, text: String) -> String {
        if !self.any {
            return text;
        }
        self.out.push_str(&text[self.copied..]);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::{is_date, quote_dates, starts_block, value_start};

    /// The first `quote_dates`: every line looked at and copied.
    fn line_by_line(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        // Inside a block scalar (`key: |`), lines are content, never rewritten.
        let mut block: Option<usize> = None;
        for line in text.lines() {
            let indent = line.len() - line.trim_start().len();
            if let Some(parent) = block {
                if indent > parent || line.trim().is_empty() {
                    out.push_str(line);
                    out.push('\n');
                    continue;
                }
                block = None;
            }
            if starts_block(line) {
                block = Some(indent);
            }
            match value_start(line) {
                Some(at) if is_date(&line[at..]) => {
                    out.push_str(&line[..at]);
                    out.push('\'');
                    out.push_str(&line[at..]);
                    out.push('\'');
                }
                _ => out.push_str(line),
            }
            out.push('\n');
        }
        out
    }

    /// Lines that exercise each rule: values, sequence items, block scalars,
    /// near-dates, carriage returns, whitespace that is not a space.
    const LINES: &[&str] = &[
        "key: 2010-09-09",
        "- 2010-09-09",
        "- - 2010-09-09",
        "- k: 2010-09-09",
        "a: b: 2010-09-09",
        "  2010-09-09",
        "2010-09-09: x",
        "x: 2010-9-099",
        "x: 2010-09-090",
        "x: 20100-9-09",
        "x: 2010-09-09\r",
        "x: y\r",
        "\u{a0}k: 2010-09-09",
        "  text: |",
        "  text: |-",
        "  folded: >",
        "  folded: >-",
        "    2010-09-09",
        "    c: 2010-09-09",
        "",
        "   ",
        "\u{a0}",
        "é: 2010-09-09",
        "plain",
    ];

    #[test]
    fn dates_are_quoted_as_line_by_line() {
        let mut seed: u64 = 0xda7e;
        for n in 0..20_000 {
            let mut text = String::new();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            for k in 0..=(seed >> 59) % 10 {
                let i = (seed >> (5 * k + 4)) as usize % LINES.len();
                text.push_str(LINES[i]);
                text.push('\n');
            }
            if n % 3 == 0 {
                text.pop();
            }
            assert_eq!(quote_dates(text.clone()), line_by_line(&text), "{text:?}");
        }
    }
}
