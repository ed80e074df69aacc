//! `docs/model.md` (without its generated-file marker, which [`crate::generate`]
//! adds): the board as Mermaid diagrams (flows, lifecycles, context map)
//! and the table of subscriptions with their routing. Rust shapes a plan of
//! ready-to-print strings; the template in `templates/docs/` only lays it out.

use crate::diagram::{self, DiagramFormat};
use crate::keys::Keys;
use crate::model::{ContextId, EventId, Handler, Model, Ref};
use crate::wire::Wire;
use serde::Serialize;
use std::collections::HashMap;
use xxhash_rust::xxh3::Xxh3;

const TEMPLATE: &str = include_str!("../templates/docs/model.md.tera");
/// One context's section: the loop of the whole document, over that context.
const CONTEXT_TEMPLATE: &str = include_str!("../templates/docs/context.md.tera");

/// What one render leaves for the next in the same process (`storm watch`): each
/// context's section by its key ([`Keys`]) and the model's layout (see
/// [`layout`]). An edit renders again only the sections it changes; the head,
/// the context map and the subscriptions are built every time.
#[derive(Default)]
pub struct Memo {
    sections: HashMap<u128, String>,
}

/// The content of `docs/model.md`.
pub fn render(model: &Model, wire: &Wire) -> String {
    render_with(model, wire, None)
}

/// [`render`], reusing the sections `memo` holds from an earlier render and
/// leaving in it those of this one.
pub fn render_with(model: &Model, wire: &Wire, memo: Option<(&mut Memo, &Keys)>) -> String {
    let mut tera = tera::Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    tera.add_raw_template("model.md", TEMPLATE)
        .expect("the docs template parses");
    tera.add_raw_template("context.md", CONTEXT_TEMPLATE)
        .expect("the docs context template parses");
    let ids: Vec<ContextId> = model.context_ids().collect();
    let (mut memo, keys) = memo.unzip();
    let previous = memo
        .as_deref_mut()
        .map(|m| std::mem::take(&mut m.sections))
        .unwrap_or_default();
    let layout = keys.map(|_| layout(model));
    let key = |c: ContextId| -> Option<u128> {
        let (keys, layout) = (keys?, layout?);
        let mut hash = Xxh3::new();
        hash.update(&keys.context(c).to_le_bytes());
        hash.update(&layout.to_le_bytes());
        Some(hash.digest128())
    };
    let arrows = std::sync::OnceLock::new();
    let sections: Vec<(Option<u128>, String)> = crate::parallel::each(&ids, |&c| {
        let key = key(c);
        if let Some(text) = key.and_then(|k| previous.get(&k)) {
            return (key, text.clone());
        }
        let arrows = arrows.get_or_init(|| diagram::Arrows::of(model));
        let plan = Sections {
            contexts: [context_plan(model, arrows, c)],
        };
        let values = tera::Context::from_serialize(&plan).expect("a section serializes");
        let text = tera
            .render("context.md", &values)
            .expect("the docs context template renders");
        (key, text)
    });
    let mut joined = String::with_capacity(sections.iter().map(|(_, s)| s.len()).sum());
    for (_, text) in &sections {
        joined.push_str(text);
    }
    if let Some(memo) = memo {
        memo.sections = sections
            .into_iter()
            .filter_map(|(key, text)| Some((key?, text)))
            .collect();
    }
    let plan = plan(model, wire, joined);
    let context = tera::Context::from_serialize(&plan).expect("the docs plan serializes");
    tera.render("model.md", &context)
        .expect("the docs template renders")
}

/// Where every element stands in the model's lists: the diagrams name elements
/// by their index in the whole model (`ev12`), so an element added to one
/// context renames those of the contexts after it.
fn layout(model: &Model) -> u128 {
    let mut hash = Xxh3::new();
    let mut ids = |list: &mut dyn Iterator<Item = u32>| {
        let list: Vec<u32> = list.collect();
        hash.update(&(list.len() as u64).to_le_bytes());
        for id in list {
            hash.update(&id.to_le_bytes());
        }
    };
    for context in &model.contexts {
        ids(&mut context.actors.iter().map(|i| i.0));
        ids(&mut context.externals.iter().map(|i| i.0));
        ids(&mut context.types.iter().map(|i| i.0));
        ids(&mut context.enums.iter().map(|i| i.0));
        ids(&mut context.aggregates.iter().map(|i| i.0));
        ids(&mut context.events.iter().map(|i| i.0));
        ids(&mut context.policies.iter().map(|i| i.0));
        ids(&mut context.readmodels.iter().map(|i| i.0));
        for &a in &context.aggregates {
            let aggregate = model.aggregate(a);
            ids(&mut aggregate.commands.iter().map(|i| i.0));
            ids(&mut aggregate.events.iter().map(|i| i.0));
        }
    }
    hash.digest128()
}

/// The values the section template sees: one context, as the loop of the whole
/// document would.
#[derive(Serialize)]
struct Sections {
    contexts: [ContextPlan; 1],
}

#[derive(Serialize)]
struct Plan {
    title: String,
    backend: &'static str,
    count: usize,
    sections: String,
    has_context_map: bool,
    context_map: String,
    subscriptions: Vec<SubscriptionRow>,
}

#[derive(Serialize)]
struct ContextPlan {
    name: String,
    doc: String,
    flow: String,
    lifecycles: Vec<Lifecycle>,
    elements: Vec<ElementRow>,
    /// Markdown list items, escaped.
    hotspots: Vec<String>,
}

#[derive(Serialize)]
struct Lifecycle {
    name: String,
    diagram: String,
}

/// One row of a context's element table; every cell escaped.
#[derive(Serialize)]
struct ElementRow {
    kind: &'static str,
    name: String,
    details: String,
    description: String,
}

/// One row of the subscription table; every cell escaped.
#[derive(Serialize)]
struct SubscriptionRow {
    event: String,
    source: String,
    ty: String,
    consumer: String,
    handler: String,
    routing: String,
}

fn plan(model: &Model, wire: &Wire, sections: String) -> Plan {
    Plan {
        title: cell(&wire.namespace),
        backend: wire.backend.as_str(),
        count: model.contexts.len(),
        sections,
        has_context_map: model.has_context_map,
        context_map: diagram::mermaid_context_map(model),
        subscriptions: model
            .subscriptions()
            .iter()
            .map(|sub| SubscriptionRow {
                event: cell(&model.event_path(sub.event)),
                source: cell(&wire.source(model, model.event(sub.event).context)),
                ty: cell(wire.event_type(model, sub.event)),
                consumer: cell(&model.context(sub.context).name.name),
                handler: match sub.handler {
                    Handler::Policy(p) => format!("policy `{}`", cell(&model.policy(p).name.name)),
                    Handler::ReadModel(r) => {
                        format!("read model `{}`", cell(&model.readmodel(r).name.name))
                    }
                },
                routing: cell(&wire.route(model, sub.event, sub.context)),
            })
            .collect(),
    }
}

fn context_plan(model: &Model, arrows: &diagram::Arrows, id: ContextId) -> ContextPlan {
    let context = model.context(id);
    // The context's own index lists are in model order: no scan of the model.
    let aggregates = &context.aggregates;
    let lifecycles = aggregates
        .iter()
        .filter_map(|&a| {
            diagram::mermaid_states(model, a).map(|diagram| Lifecycle {
                name: model.aggregate(a).name.name.clone(),
                diagram,
            })
        })
        .collect();
    let mut hotspots: Vec<String> = context.hotspots.iter().map(|h| markdown(&h.text)).collect();
    for &a in aggregates {
        let aggregate = model.aggregate(a);
        hotspots.extend(
            aggregate
                .hotspots
                .iter()
                .map(|h| format!("{}: {}", aggregate.name.name, markdown(&h.text))),
        );
    }
    ContextPlan {
        name: context.name.name.clone(),
        doc: context.doc.clone().unwrap_or_default(),
        flow: arrows.render(model, DiagramFormat::Mermaid, Some(id)),
        lifecycles,
        elements: elements(model, id),
        hotspots,
    }
}

/// The elements of a context with what the board says about them and their docs.
fn elements(model: &Model, context: ContextId) -> Vec<ElementRow> {
    let events = |ids: &[Ref<EventId>]| -> String {
        ids.iter()
            .map(|e| format!("`{}`", event_ref(model, e.id, context)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let row = |kind: &'static str, name: &str, details: String, doc: &Option<String>| ElementRow {
        kind,
        name: cell(name),
        details: cell(&details),
        description: cell(doc.as_deref().unwrap_or("")),
    };
    // The context's index lists are in model order, as the rows are.
    let c = model.context(context);
    let mut rows = Vec::new();
    for actor in c.actors.iter().map(|&a| model.actor(a)) {
        rows.push(row("actor", &actor.name.name, String::new(), &actor.doc));
    }
    for external in c.externals.iter().map(|&x| model.external(x)) {
        let details = if external.emits.is_empty() {
            String::new()
        } else {
            format!("emits {}", events(&external.emits))
        };
        rows.push(row("external", &external.name.name, details, &external.doc));
    }
    for event in c.events.iter().map(|&e| model.event(e)) {
        let details = format!("version {}", event.version);
        rows.push(row("event", &event.name.name, details, &event.doc));
    }
    for aggregate in c.aggregates.iter().map(|&a| model.aggregate(a)) {
        let mut details = format!(
            "id `{}: {}`",
            aggregate.id.name.name,
            model.type_name(&aggregate.id.ty, context)
        );
        if !aggregate.lifecycle.is_empty() {
            let states: Vec<String> = aggregate
                .lifecycle
                .iter()
                .map(|s| format!("`{}`", s.name.name))
                .collect();
            details.push_str(&format!("; lifecycle {}", states.join(", ")));
        }
        rows.push(row(
            "aggregate",
            &aggregate.name.name,
            details,
            &aggregate.doc,
        ));
        for command in aggregate.commands.iter().map(|&c| model.command(c)) {
            let mut parts = Vec::new();
            if let Some(actor) = command.by {
                parts.push(format!("by `{}`", model.actor(actor.id).name.name));
            }
            if !command.requires.is_empty() {
                let states: Vec<String> = command
                    .requires
                    .iter()
                    .filter_map(|s| aggregate.lifecycle.get(s.id))
                    .map(|s| format!("`{}`", s.name.name))
                    .collect();
                parts.push(format!("requires {}", states.join(", ")));
            }
            if !command.emits.is_empty() {
                parts.push(format!("emits {}", events(&command.emits)));
            }
            rows.push(row(
                "command",
                &command.name.name,
                parts.join("; "),
                &command.doc,
            ));
        }
        for event in aggregate.events.iter().map(|&e| model.event(e)) {
            let mut details = format!("version {}", event.version);
            if let Some(state) = event.enters.and_then(|s| aggregate.lifecycle.get(s.id)) {
                details.push_str(&format!("; enters `{}`", state.name.name));
            }
            rows.push(row("event", &event.name.name, details, &event.doc));
        }
    }
    for policy in c.policies.iter().map(|&p| model.policy(p)) {
        let mut details = format!("when {}", events(&policy.when));
        if let Some(command) = policy.then {
            details.push_str(&format!(" then `{}`", model.command(command.id).name.name));
        }
        rows.push(row("policy", &policy.name.name, details, &policy.doc));
    }
    for readmodel in c.readmodels.iter().map(|&r| model.readmodel(r)) {
        let details = format!("from {}", events(&readmodel.from));
        rows.push(row(
            "read model",
            &readmodel.name.name,
            details,
            &readmodel.doc,
        ));
    }
    for ty in c.types.iter().map(|&t| model.type_def(t)) {
        let fields: Vec<String> = ty
            .fields
            .iter()
            .map(|f| format!("`{}`", f.name.name))
            .collect();
        rows.push(row("type", &ty.name.name, fields.join(", "), &ty.doc));
    }
    for en in c.enums.iter().map(|&e| model.enum_def(e)) {
        let variants: Vec<String> = en
            .variants
            .iter()
            .map(|v| format!("`{}`", v.name.name))
            .collect();
        rows.push(row("enum", &en.name.name, variants.join(", "), &en.doc));
    }
    rows
}

/// An event as the context `from` names it: bare when its own, `Context.Event` otherwise.
fn event_ref(model: &Model, event: EventId, from: ContextId) -> String {
    if model.event(event).context == from {
        model.event(event).name.name.clone()
    } else {
        model.event_path(event)
    }
}

/// Text for a Markdown table cell: one line, `|` escaped.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for (i, part) in word.split('|').enumerate() {
            if i > 0 {
                out.push_str("\\|");
            }
            out.push_str(part);
        }
    }
    out
}

/// Free text (an open question) as literal Markdown on one line: every character
/// Markdown or HTML could read as syntax is escaped, and so is a start that would
/// open a list.
fn markdown(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let digits = one_line.chars().take_while(char::is_ascii_digit).count();
    let mut out = String::with_capacity(one_line.len());
    for (i, c) in one_line.chars().enumerate() {
        let list_start = (i == 0 && matches!(c, '-' | '+'))
            || (i == digits && digits > 0 && matches!(c, '.' | ')'));
        match c {
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if list_start => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagram::fixture;
    use crate::wire::Backend;

    fn docs(backend: Backend) -> String {
        let wire = Wire::new("com.example.shop".to_string(), backend);
        render(&fixture::online_store(), &wire)
    }

    #[test]
    fn sections() {
        let out = docs(Backend::Eventbridge);
        assert!(out.starts_with("# Event model `com.example.shop`\n"));
        for heading in [
            "## Ordering",
            "### Lifecycle of Order",
            "### Elements",
            "### Open questions",
            "## Inventory",
            "## Empty",
            "## Context map",
            "## Subscriptions",
        ] {
            assert!(
                out.lines().any(|l| l == heading),
                "missing {heading} in\n{out}"
            );
        }
        assert!(!out.contains("### Lifecycle of Stock"));
        assert_eq!(out.matches("```mermaid\n").count(), 5 + 1 + 1, "{out}");
        assert_eq!(out.matches("```").count() % 2, 0);
        assert!(out.contains(
            "The online store from the big-picture workshop.\nOrders: `PlaceOrder` | pay | ship.\n"
        ));
        assert!(out.ends_with("|\n"), "{out}");
        assert!(!out.contains("\n\n\n"), "{out}");
        assert_eq!(out, docs(Backend::Eventbridge), "deterministic");
    }

    #[test]
    fn subscription_table() {
        let out = docs(Backend::Eventbridge);
        let rows: Vec<&str> = out
            .lines()
            .skip_while(|l| *l != "## Subscriptions")
            .filter(|l| l.starts_with("| `"))
            .collect();
        assert_eq!(rows.len(), fixture::online_store().subscriptions().len());
        assert_eq!(
            rows[0],
            "| `Ordering.OrderPlaced` | `com.example.shop.ordering` | `OrderPlaced` | Ordering | read model `OrderHistory` | EventBridge rule: source `com.example.shop.ordering`, detail-type `OrderPlaced` → queue `ordering-inbox` |"
        );
        let kafka = docs(Backend::Kafka);
        assert!(kafka.contains("| read model `DailySales` | topic `com.example.shop.ordering.events`, group `analytics` keeps `OrderPlaced` |"));
    }

    #[test]
    fn cells_and_questions_are_escaped() {
        let out = docs(Backend::SnsSqs);
        assert!(out.contains("| read model | `OrderHistory` | from `OrderPlaced`, `OrderPaid`, `OrderCancelled`, `OrderShipped` | Every order \\| its status |"));
        assert!(out.contains(
            "- Tricky: \"quotes\", \\<b\\>tags\\</b\\> &amp; a\\|pipe; \\#hash \\`tick\\` \\\\back\\\\slash 1. é漢字🙂 end --\\> x\n"
        ), "{out}");
        assert!(
            out.contains(
                "- Order: What happens when a payment arrives for a \"cancelled\" order?\n"
            )
        );
        assert_eq!(markdown("1. first"), "1\\. first");
        assert_eq!(markdown("- item"), "\\- item");
        assert_eq!(markdown("12) x - y"), "12\\) x - y");
        assert_eq!(cell("a | b\nc"), "a \\| b c");
    }
}
