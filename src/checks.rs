//! The checks that need the whole resolved model, each a small function named for
//! what it finds. Name resolution checks live in [`crate::resolve`].

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Severity};
use crate::graph::{Edge, ModelGraph, Node};
use crate::model::*;
use crate::names;
use crate::source::Span;
use petgraph::algo::tarjan_scc;
use petgraph::graph::NodeIndex;
use petgraph::visit::{Dfs, EdgeFiltered, EdgeRef, IntoNeighbors, NodeFiltered};
use std::collections::{HashMap, HashSet, VecDeque};

pub fn run(model: &Model, graph: &ModelGraph, diags: &mut Diagnostics) {
    // The clash check, the costliest, runs beside the others; its findings
    // still come first, as if the checks ran one after another.
    let mut rest = Diagnostics::default();
    let clashes = std::thread::scope(|scope| {
        let clashes = scope.spawn(|| {
            let mut clashes = Diagnostics::default();
            identifiers_clash(model, &mut clashes);
            clashes
        });
        others(model, graph, &mut rest);
        clashes
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    });
    diags.list.extend(clashes.list);
    diags.list.extend(rest.list);
}

fn others(model: &Model, graph: &ModelGraph, diags: &mut Diagnostics) {
    types_contain_themselves(model, graph, diags);
    dependencies_are_declared(model, graph, diags);
    policies_loop(model, graph, diags);
    events_are_emitted(model, graph, diags);
    states_are_reachable(model, diags);
    elements_are_used(model, graph, diags);
    names_follow_conventions(model, diags);
    hotspots_are_open(model, diags);
    elements_are_not_empty(model, diags);
}

fn elements_are_not_empty(model: &Model, diags: &mut Diagnostics) {
    for c in &model.contexts {
        let empty = c.actors.is_empty()
            && c.externals.is_empty()
            && c.types.is_empty()
            && c.enums.is_empty()
            && c.aggregates.is_empty()
            && c.events.is_empty()
            && c.policies.is_empty()
            && c.readmodels.is_empty();
        if empty {
            diags.push(
                Diagnostic::new(Code::EmptyElement, c.name.span, format!("context `{}` is empty", c.name.name))
                    .label("nothing on the board here yet")
                    .help("add what the workshop found (aggregates, policies, read models), or remove the context"),
            );
        }
    }
    for a in &model.aggregates {
        if a.commands.is_empty() {
            diags.push(
                Diagnostic::new(
                    Code::EmptyElement,
                    a.name.span,
                    format!("aggregate `{}` has no command", a.name.name),
                )
                .label("nothing can change it")
                .help(format!(
                    "add the commands it accepts: `command Name emits Event` inside `aggregate {}`",
                    a.name.name
                )),
            );
        }
    }
    for e in &model.enums {
        if e.variants.is_empty() {
            diags.push(
                Diagnostic::new(
                    Code::EmptyElement,
                    e.name.span,
                    format!("enum `{}` has no variant", e.name.name),
                )
                .label("no value can have this type")
                .help(format!(
                    "list its values: `enum {} {{ First, Second }}`",
                    e.name.name
                )),
            );
        }
    }
}

/// Every field list of the model, with the name of its owner for messages.
fn field_lists(model: &Model) -> Vec<(&str, ContextId, &[Field])> {
    let mut lists: Vec<(&str, ContextId, &[Field])> = Vec::new();
    for t in &model.types {
        lists.push((&t.name.name, t.context, &t.fields));
    }
    for a in &model.aggregates {
        lists.push((&a.name.name, a.context, std::slice::from_ref(&a.id)));
        lists.push((&a.name.name, a.context, &a.state));
    }
    for c in &model.commands {
        lists.push((&c.name.name, c.context, &c.fields));
    }
    for e in &model.events {
        lists.push((&e.name.name, e.context, &e.fields));
    }
    for r in &model.readmodels {
        lists.push((&r.name.name, r.context, &r.fields));
    }
    lists
}

/// Every named element of a context, as generated code names its type.
fn element_names(model: &Model, context: ContextId) -> Vec<&Name> {
    let c = model.context(context);
    let mut names: Vec<&Name> = Vec::new();
    names.extend(c.actors.iter().map(|&i| &model.actor(i).name));
    names.extend(c.externals.iter().map(|&i| &model.external(i).name));
    names.extend(c.types.iter().map(|&i| &model.type_def(i).name));
    names.extend(c.enums.iter().map(|&i| &model.enum_def(i).name));
    for &a in &c.aggregates {
        let agg = model.aggregate(a);
        names.push(&agg.name);
        names.extend(agg.commands.iter().map(|&i| &model.command(i).name));
        names.extend(agg.events.iter().map(|&i| &model.event(i).name));
    }
    names.extend(c.events.iter().map(|&i| &model.event(i).name));
    names.extend(c.policies.iter().map(|&i| &model.policy(i).name));
    names.extend(c.readmodels.iter().map(|&i| &model.readmodel(i).name));
    names
}

fn identifiers_clash(model: &Model, diags: &mut Diagnostics) {
    let contexts: Vec<&Name> = model.contexts.iter().map(|c| &c.name).collect();
    clashes(
        &contexts,
        names::kebab,
        "context",
        "in paths and crate names",
        diags,
    );
    for context in model.context_ids() {
        clashes(
            &element_names(model, context),
            names::pascal,
            "element",
            "as a type in generated code",
            diags,
        );
    }
    for e in &model.enums {
        let variants: Vec<&Name> = e.variants.iter().map(|v| &v.name).collect();
        clashes(
            &variants,
            names::pascal,
            "variant",
            "in generated code",
            diags,
        );
    }
    for a in &model.aggregates {
        let states: Vec<&Name> = a.lifecycle.iter().map(|v| &v.name).collect();
        clashes(&states, names::pascal, "state", "in generated code", diags);
    }
    for (_, _, fields) in field_lists(model) {
        let names: Vec<&Name> = fields.iter().map(|f| &f.name).collect();
        clashes(&names, names::snake, "field", "in generated code", diags);
    }
    event_fields_leave_metadata_free(model, diags);
}

/// An EventBridge event's `detail` is the payload's fields plus storm's metadata
/// object under one reserved key (outputs.md, "Events on the wire"): an event field
/// of that name would be overwritten by it, or taken for it.
fn event_fields_leave_metadata_free(model: &Model, diags: &mut Diagnostics) {
    let key = crate::wire::metadata::KEY;
    for event in &model.events {
        for field in event.fields.iter().filter(|f| f.name.name == key) {
            diags.push(
                Diagnostic::new(
                    Code::IdentifierClash,
                    field.name.span,
                    format!(
                        "field `{key}` of event `{}` clashes with the `{key}` object events carry on the wire",
                        event.name.name
                    ),
                )
                .label(format!("`{key}` is reserved in an event's payload"))
                .help(format!(
                    "rename the field (e.g. `{}_{key}`); EventBridge delivers the aggregate id and version in `detail.{key}`",
                    names::snake(&event.name.name)
                )),
            );
        }
    }
}

/// Reports names that differ as written but become the same identifier, and names
/// that become no usable identifier at all.
fn clashes(
    list: &[&Name],
    convert: fn(&str) -> String,
    what: &str,
    where_: &str,
    diags: &mut Diagnostics,
) {
    let mut seen: HashMap<String, &Name> = HashMap::new();
    for &name in list {
        let ident = convert(&name.name);
        if ident.is_empty() || names::RUST_NOT_RAW.contains(&ident.as_str()) {
            // Say what the name becomes when that is not the name as written
            // (`super_` loses its `_`).
            let becomes = if ident.is_empty() || ident == name.name {
                String::new()
            } else {
                format!(" (in Rust it becomes `{ident}`)")
            };
            diags.push(
                Diagnostic::new(
                    Code::IdentifierClash,
                    name.span,
                    format!("{what} name `{}` cannot be used as an identifier in generated code{becomes}", name.name),
                )
                .label("not usable in Rust, even escaped")
                .help(format!("rename the {what}; `self`, `Self`, `super`, `crate` and names made only of `_` are reserved")),
            );
            continue;
        }
        match seen.get(&ident) {
            Some(first) if first.name != name.name => diags.push(
                Diagnostic::new(
                    Code::IdentifierClash,
                    name.span,
                    format!(
                        "{what} `{}` and `{}` both become `{ident}` {where_}",
                        first.name, name.name
                    ),
                )
                .label(format!("becomes `{ident}`"))
                .with(
                    first.span,
                    format!("`{}` becomes `{ident}` too", first.name),
                )
                .help("rename one of them so that they differ by more than case or underscores"),
            ),
            Some(_) => {}
            None => {
                seen.insert(ident, name);
            }
        }
    }
}

/// Finds one cycle through `start` within `nodes` (a strongly connected component).
fn cycle_through<G>(graph: G, nodes: &HashSet<NodeIndex>, start: NodeIndex) -> Vec<NodeIndex>
where
    G: IntoNeighbors<NodeId = NodeIndex>,
{
    let mut parent: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = graph
            .neighbors(node)
            .filter(|n| nodes.contains(n))
            .collect();
        next.sort();
        for n in next {
            if n == start {
                let mut path = vec![node];
                let mut cur = node;
                while cur != start {
                    cur = parent[&cur];
                    path.push(cur);
                }
                path.reverse();
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(n) {
                e.insert(node);
                queue.push_back(n);
            }
        }
    }
    vec![start]
}

/// Strongly connected components that contain a cycle, each as one cycle.
fn cycles<G>(graph: G, self_loop: impl Fn(NodeIndex) -> bool) -> Vec<Vec<NodeIndex>>
where
    G: IntoNeighbors<NodeId = NodeIndex>
        + petgraph::visit::IntoNodeIdentifiers
        + petgraph::visit::NodeIndexable,
{
    let mut out = Vec::new();
    for scc in tarjan_scc(graph) {
        if scc.len() == 1 && !self_loop(scc[0]) {
            continue;
        }
        let nodes: HashSet<NodeIndex> = scc.iter().copied().collect();
        let start = *scc.iter().min().expect("an SCC is not empty");
        out.push(cycle_through(graph, &nodes, start));
    }
    out.sort();
    out
}

fn types_contain_themselves(model: &Model, graph: &ModelGraph, diags: &mut Diagnostics) {
    let direct = EdgeFiltered::from_fn(&graph.graph, |e| {
        matches!(e.weight(), Edge::UsesType { direct: true })
            && matches!(graph.graph[e.source()], Node::Type(_))
    });
    let only_types = NodeFiltered::from_fn(&direct, |n| matches!(graph.graph[n], Node::Type(_)));
    let self_loop = |n: NodeIndex| direct.neighbors(n).any(|m| m == n);
    for cycle in cycles(&only_types, self_loop) {
        let ids: Vec<TypeId> = cycle
            .iter()
            .filter_map(|&n| match graph.node(n) {
                Node::Type(t) => Some(t),
                _ => None,
            })
            .collect();
        let names: Vec<&str> = ids
            .iter()
            .map(|&t| model.type_def(t).name.name.as_str())
            .collect();
        let shown = names
            .iter()
            .chain(names.first())
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(" → ");
        // Label the field of each type that holds the next one.
        let mut labels: Vec<(Span, String)> = Vec::new();
        for (i, &t) in ids.iter().enumerate() {
            let next = ids[(i + 1) % ids.len()];
            if let Some(f) = model
                .type_def(t)
                .fields
                .iter()
                .find(|f| f.ty == Type::Named(next))
            {
                labels.push((
                    f.ty_span,
                    format!("`{}` holds `{}`", names[i], model.type_def(next).name.name),
                ));
            }
        }
        let first = labels
            .first()
            .map(|(s, _)| *s)
            .unwrap_or(model.type_def(ids[0]).name.span);
        let mut d = Diagnostic::new(
            Code::TypeCycle,
            first,
            format!("value types contain themselves: {shown}"),
        )
        .label(labels.first().map(|(_, t)| t.clone()).unwrap_or_default());
        for (span, text) in labels.into_iter().skip(1) {
            d = d.with(span, text);
        }
        diags.push(d.help(
            "a value cannot contain itself directly; make one field of the cycle a list `[T]` or an optional `T?`",
        ));
    }
}

fn dependencies_are_declared(model: &Model, graph: &ModelGraph, diags: &mut Diagnostics) {
    let severity = if model.has_context_map {
        Severity::Error
    } else {
        Severity::Warning
    };
    let mut allowed: HashMap<ContextId, HashSet<NodeIndex>> = HashMap::new();
    let depends = EdgeFiltered::from_fn(&graph.graph, |e| *e.weight() == Edge::DependsOn);
    let mut check = |user: ContextId,
                     owner: ContextId,
                     span: Span,
                     what: String,
                     diags: &mut Diagnostics| {
        if user == owner {
            return;
        }
        let reachable = allowed.entry(user).or_insert_with(|| {
            let mut set = HashSet::new();
            let mut dfs = Dfs::new(&depends, graph.context(user));
            while let Some(n) = dfs.next(&depends) {
                set.insert(n);
            }
            set
        });
        if reachable.contains(&graph.context(owner)) {
            return;
        }
        let (u, o) = (
            &model.context(user).name.name,
            &model.context(owner).name.name,
        );
        let help = if model.has_context_map {
            format!("if `{u}` really depends on `{o}`, add `{o} -> {u}` to the `contextmap`")
        } else {
            format!("declare how the contexts relate: `contextmap {{ {o} -> {u} }}`")
        };
        let message = if model.has_context_map {
            format!(
                "context `{u}` uses {what} of `{o}`, but the context map has no path from `{o}` to `{u}`"
            )
        } else {
            format!(
                "context `{u}` uses {what} of `{o}`, and the model has no context map to allow it"
            )
        };
        diags.push(
            Diagnostic::new(Code::UndeclaredDependency, span, message)
                .label(format!("from context `{o}`"))
                .severity(severity)
                .help(help),
        );
    };
    for p in &model.policies {
        for e in &p.when {
            let ev = model.event(e.id);
            check(
                p.context,
                ev.context,
                e.span,
                format!("event `{}`", ev.name.name),
                diags,
            );
        }
    }
    for r in &model.readmodels {
        for e in &r.from {
            let ev = model.event(e.id);
            check(
                r.context,
                ev.context,
                e.span,
                format!("event `{}`", ev.name.name),
                diags,
            );
        }
    }
    for (_, context, fields) in field_lists(model) {
        for f in fields {
            let mut refs = Vec::new();
            f.ty.refs(true, &mut refs);
            for (r, _) in refs {
                let (owner, name) = match r {
                    TypeRef::Type(t) => (model.type_def(t).context, &model.type_def(t).name.name),
                    TypeRef::Enum(e) => (model.enum_def(e).context, &model.enum_def(e).name.name),
                };
                check(context, owner, f.ty_span, format!("type `{name}`"), diags);
            }
        }
    }
}

fn policies_loop(model: &Model, graph: &ModelGraph, diags: &mut Diagnostics) {
    let flow = EdgeFiltered::from_fn(&graph.graph, |e| {
        matches!(e.weight(), Edge::Emits | Edge::Triggers)
            || (*e.weight() == Edge::Issues && matches!(graph.graph[e.source()], Node::Policy(_)))
    });
    for cycle in cycles(&flow, |_| false) {
        // Read it as the board does: from the event that triggers the first policy.
        let mut cycle = cycle;
        if let Some(p) = cycle
            .iter()
            .position(|&n| matches!(graph.node(n), Node::Policy(_)))
        {
            let len = cycle.len();
            cycle.rotate_left((p + len - 1) % len);
        }
        let steps: Vec<String> = cycle
            .iter()
            .map(|&n| match graph.node(n) {
                Node::Event(e) => format!("event `{}`", model.event_path(e)),
                Node::Policy(p) => format!("policy `{}`", model.policy(p).name.name),
                Node::Command(c) => format!("command `{}`", model.command(c).name.name),
                _ => String::new(),
            })
            .collect();
        let policies: Vec<PolicyId> = cycle
            .iter()
            .filter_map(|&n| match graph.node(n) {
                Node::Policy(p) => Some(p),
                _ => None,
            })
            .collect();
        let Some(&first) = policies.first() else {
            continue;
        };
        let mut d = Diagnostic::new(
            Code::PolicyLoop,
            model.policy(first).name.span,
            format!("policies form a loop: {} → {}", steps.join(" → "), steps[0]),
        )
        .label("this policy starts the loop again");
        for &p in &policies[1..] {
            d = d.with(model.policy(p).name.span, "part of the loop");
        }
        diags.push(d.help(
            "make sure the loop ends (a `requires` that rejects the repeated command, or an event the policy does not hear); if it does, allow the lint: `lints: { policy-loop: allow }`",
        ));
    }
}

fn events_are_emitted(model: &Model, graph: &ModelGraph, diags: &mut Diagnostics) {
    for id in model.event_ids() {
        let emitted = graph
            .graph
            .edges_directed(graph.event(id), petgraph::Direction::Incoming)
            .any(|e| *e.weight() == Edge::Emits);
        if emitted {
            continue;
        }
        let event = model.event(id);
        let (message, help) = match event.owner {
            EventOwner::Aggregate(a) => (
                format!("no command emits event `{}`", event.name.name),
                format!(
                    "add `{}` to the `emits` of the command of `{}` that records it, or remove the event",
                    event.name.name,
                    model.aggregate(a).name.name
                ),
            ),
            EventOwner::Context => (
                format!("no external system emits event `{}`", event.name.name),
                format!(
                    "name it in an external's `emits`: `external Name emits {}`",
                    event.name.name
                ),
            ),
        };
        diags.push(
            Diagnostic::new(Code::EventNeverEmitted, event.name.span, message)
                .label("never emitted")
                .help(help),
        );
    }
}

fn states_are_reachable(model: &Model, diags: &mut Diagnostics) {
    for aggregate in model.aggregates.iter().filter(|a| a.has_lifecycle) {
        let entered_by = |state: StateIndex| {
            aggregate
                .events
                .iter()
                .any(|&e| model.event(e).enters.is_some_and(|s| s.id == state))
        };
        // Creation: commands without `requires` are accepted before any state.
        let mut reached: HashSet<StateIndex> = HashSet::new();
        loop {
            let before = reached.len();
            for &c in &aggregate.commands {
                let command = model.command(c);
                let accepted = command.requires.is_empty()
                    || command.requires.iter().any(|s| reached.contains(&s.id));
                if !accepted {
                    continue;
                }
                for e in &command.emits {
                    if let Some(s) = model.event(e.id).enters {
                        reached.insert(s.id);
                    }
                }
            }
            if reached.len() == before {
                break;
            }
        }
        let creates = aggregate
            .commands
            .iter()
            .any(|&c| model.command(c).requires.is_empty());
        for (index, state) in aggregate.lifecycle.iter().enumerate() {
            if reached.contains(&index) {
                continue;
            }
            let (message, help) = if !entered_by(index) {
                (
                    format!(
                        "no event enters state `{}` of `{}`",
                        state.name.name, aggregate.name.name
                    ),
                    format!(
                        "add `enters {}` to the event that moves the aggregate there, or remove the state",
                        state.name.name
                    ),
                )
            } else if !aggregate.events.iter().any(|&e| {
                model.event(e).enters.is_some_and(|s| s.id == index)
                    && aggregate
                        .commands
                        .iter()
                        .any(|&c| model.command(c).emits.iter().any(|r| r.id == e))
            }) {
                (
                    format!(
                        "state `{}` of `{}` cannot be reached: no command emits the events entering it",
                        state.name.name, aggregate.name.name
                    ),
                    "add the event that enters it to the `emits` of a command".to_string(),
                )
            } else if !creates {
                (
                    format!(
                        "state `{}` of `{}` cannot be reached: every command `requires` a state, so none creates the aggregate",
                        state.name.name, aggregate.name.name
                    ),
                    "let the command that creates the aggregate go without `requires`".to_string(),
                )
            } else {
                (
                    format!("state `{}` of `{}` cannot be reached from the aggregate's creation", state.name.name, aggregate.name.name),
                    "the events entering it are emitted only by commands that require states the aggregate never reaches; check their `requires`".to_string(),
                )
            };
            diags.push(
                Diagnostic::new(Code::UnreachableState, state.name.span, message)
                    .label("unreachable")
                    .help(help),
            );
        }
    }
}

fn elements_are_used(model: &Model, graph: &ModelGraph, diags: &mut Diagnostics) {
    // A type or enum is used when something that is not a value type (a command,
    // an event, a read model, an aggregate) reaches it through the types it uses:
    // a type used only by unused types is unused too.
    let uses = EdgeFiltered::from_fn(&graph.graph, |e| {
        matches!(e.weight(), Edge::UsesType { .. })
    });
    let mut reached: HashSet<NodeIndex> = HashSet::new();
    for root in graph.graph.node_indices() {
        if matches!(graph.node(root), Node::Type(_) | Node::Enum(_)) {
            continue;
        }
        let mut dfs = Dfs::new(&uses, root);
        while let Some(n) = dfs.next(&uses) {
            reached.insert(n);
        }
    }
    let used_by_others = |node: NodeIndex| reached.contains(&node);
    let mut unused: Vec<(&Name, &str)> = Vec::new();
    for (i, t) in model.types.iter().enumerate() {
        if !used_by_others(graph.type_node(TypeId(i as u32))) {
            unused.push((&t.name, "type"));
        }
    }
    for (i, e) in model.enums.iter().enumerate() {
        if !used_by_others(graph.enum_node(EnumId(i as u32))) {
            unused.push((&e.name, "enum"));
        }
    }
    for (i, a) in model.actors.iter().enumerate() {
        if graph
            .graph
            .neighbors(graph.actor(ActorId(i as u32)))
            .next()
            .is_none()
        {
            unused.push((&a.name, "actor"));
        }
    }
    for (name, kind) in unused {
        let help = if kind == "actor" {
            format!(
                "name it on the commands it issues (`command Name by {}`), or remove it",
                name.name
            )
        } else {
            format!(
                "use it as the type of a field (`field: {}`), or remove it",
                name.name
            )
        };
        diags.push(
            Diagnostic::new(
                Code::UnusedElement,
                name.span,
                format!("{kind} `{}` is never used", name.name),
            )
            .label("unused")
            .help(help),
        );
    }
}

fn names_follow_conventions(model: &Model, diags: &mut Diagnostics) {
    let mut pascal: Vec<(&Name, &str)> = Vec::new();
    pascal.extend(model.contexts.iter().map(|c| (&c.name, "context")));
    for context in model.context_ids() {
        pascal.extend(
            element_names(model, context)
                .into_iter()
                .map(|n| (n, "element")),
        );
    }
    for e in &model.enums {
        pascal.extend(e.variants.iter().map(|v| (&v.name, "variant")));
    }
    for a in &model.aggregates {
        pascal.extend(a.lifecycle.iter().map(|v| (&v.name, "state")));
    }
    for (name, what) in pascal {
        if !names::is_pascal(&name.name) {
            diags.push(
                Diagnostic::new(
                    Code::Naming,
                    name.span,
                    format!("{what} name `{}` is not in PascalCase", name.name),
                )
                .label("not PascalCase")
                .help(rename_to(names::pascal(&name.name))),
            );
        }
    }
    for event in &model.events {
        if !names::is_past_tense(&event.name.name) {
            diags.push(
                Diagnostic::new(
                    Code::Naming,
                    event.name.span,
                    format!("event `{}` is not in the past tense", event.name.name),
                )
                .label("an event says what happened")
                .help("name events for what happened, ending in a past participle: `OrderPlaced`, `PaymentSent`"),
            );
        }
    }
    for (_, _, fields) in field_lists(model) {
        for f in fields {
            if !names::is_snake(&f.name.name) {
                diags.push(
                    Diagnostic::new(
                        Code::Naming,
                        f.name.span,
                        format!("field `{}` is not in snake_case", f.name.name),
                    )
                    .label("not snake_case")
                    .help(rename_to(names::snake(&f.name.name))),
                );
            }
        }
    }
}

/// "write `X`", unless `X` is no name at all or one Rust reserves.
fn rename_to(suggestion: String) -> String {
    if suggestion.is_empty() || names::RUST_NOT_RAW.contains(&suggestion.as_str()) {
        "rename it: letters and digits, starting with a letter".to_string()
    } else {
        format!("write `{suggestion}`")
    }
}

fn hotspots_are_open(model: &Model, diags: &mut Diagnostics) {
    let all = model
        .contexts
        .iter()
        .flat_map(|c| &c.hotspots)
        .chain(model.aggregates.iter().flat_map(|a| &a.hotspots));
    for h in all {
        let text = if h.text.trim().is_empty() {
            "(empty: write the question between the quotes)".to_string()
        } else {
            // The question is printed on a terminal: control characters escaped.
            h.text
                .chars()
                .map(|c| match c {
                    c if c.is_control() => format!("U+{:04X}", c as u32),
                    c => c.to_string(),
                })
                .collect()
        };
        diags.push(
            Diagnostic::new(Code::Hotspot, h.span, format!("open question: {text}"))
                .label("hotspot")
                .help("answer it in the model and remove the hotspot; `lints: { hotspot: deny }` keeps open questions out of a release"),
        );
    }
}

/// What an SNS subscription filter policy can hold: values summed over its keys.
pub const SNS_FILTER_VALUES: usize = 150;

/// The backend can express every subscription. EventBridge and Kafka can (rules
/// are split when a pattern grows too long); SNS filters one subscription per
/// consuming context and topic, and a filter policy holds at most 150 values.
pub fn routing_fits(model: &Model, backend: crate::wire::Backend, diags: &mut Diagnostics) {
    if backend != crate::wire::Backend::SnsSqs {
        return;
    }
    // (consumer, producer) → the distinct event types, and the first place named.
    let mut filters: std::collections::BTreeMap<(ContextId, ContextId), (HashSet<EventId>, Span)> =
        std::collections::BTreeMap::new();
    let refs = model
        .policies
        .iter()
        .flat_map(|p| p.when.iter().map(move |e| (p.context, e)))
        .chain(
            model
                .readmodels
                .iter()
                .flat_map(|r| r.from.iter().map(move |e| (r.context, e))),
        );
    for (consumer, event) in refs {
        let producer = model.event(event.id).context;
        let entry = filters
            .entry((consumer, producer))
            .or_insert_with(|| (HashSet::new(), event.span));
        entry.0.insert(event.id);
    }
    for ((consumer, producer), (events, span)) in filters {
        if events.len() <= SNS_FILTER_VALUES {
            continue;
        }
        let (c, p) = (
            &model.context(consumer).name.name,
            &model.context(producer).name.name,
        );
        diags.push(
            Diagnostic::new(
                Code::RoutingLimit,
                span,
                format!(
                    "context `{c}` subscribes to {} event types of `{p}`; an SNS filter policy holds at most {SNS_FILTER_VALUES}",
                    events.len()
                ),
            )
            .label(format!("first of {} subscriptions to `{p}`", events.len()))
            .help(format!(
                "SNS allows one subscription of `{c}`'s queue to `{p}`'s topic; split `{c}`, subscribe to fewer events, or use `backend: eventbridge` or `kafka`"
            )),
        );
    }
}
