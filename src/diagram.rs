//! The board as a diagram: the flow of actors, commands, events, policies and read
//! models (Mermaid `flowchart` or Graphviz DOT), an aggregate's lifecycle (Mermaid
//! `stateDiagram-v2`) and the context map (Mermaid `flowchart`).
//!
//! Node ids come from an element's kind and index (`ev12`), never from user text, so
//! they are always valid and unique; labels are escaped for each format. Elements are
//! visited in the order of the model's vectors, so the same model gives the same bytes.

use crate::model::{AggregateId, ContextId, EventOwner, Model};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum DiagramFormat {
    Mermaid,
    Dot,
}

impl DiagramFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DiagramFormat::Mermaid => "mermaid",
            DiagramFormat::Dot => "dot",
        }
    }
}

impl std::str::FromStr for DiagramFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<DiagramFormat, String> {
        match s {
            "mermaid" => Ok(DiagramFormat::Mermaid),
            "dot" => Ok(DiagramFormat::Dot),
            _ => Err(format!(
                "unknown diagram format `{s}`; use `mermaid` or `dot`"
            )),
        }
    }
}

/// The board of the whole model, or with `context`, that context and only the
/// elements of other contexts it is directly connected to.
pub fn render(model: &Model, format: DiagramFormat, context: Option<ContextId>) -> String {
    Arrows::of(model).render(model, format, context)
}

/// Every arrow of the board, and which of them touch each context: computed once,
/// so that drawing every context's board (as the docs do) does not go over the
/// whole model again for each one.
pub struct Arrows {
    edges: Vec<(Node, Node)>,
    /// Per context: the indices of the edges with an end in it, in edge order.
    touching: Vec<Vec<usize>>,
}

impl Arrows {
    pub fn of(model: &Model) -> Arrows {
        let edges = all_edges(model);
        let mut touching = vec![Vec::new(); model.contexts.len()];
        for (i, (a, b)) in edges.iter().enumerate() {
            let (ca, cb) = (a.context(model), b.context(model));
            touching[ca.index()].push(i);
            if cb != ca {
                touching[cb.index()].push(i);
            }
        }
        Arrows { edges, touching }
    }

    /// What [`render`] draws.
    pub fn render(
        &self,
        model: &Model,
        format: DiagramFormat,
        context: Option<ContextId>,
    ) -> String {
        let board = Board::new(model, self, context);
        match format {
            DiagramFormat::Mermaid => board.mermaid(model),
            DiagramFormat::Dot => board.dot(model),
        }
    }
}

/// The lifecycle of an aggregate as a Mermaid `stateDiagram-v2`; `None` when the
/// aggregate has no lifecycle. A transition is drawn from each state of its
/// command's `requires`. A command without `requires` is accepted in every
/// status, and before the aggregate exists: it is drawn once from the start,
/// and a note on the state it leads to says that it comes from any state (an
/// arrow from every state would grow with states × commands, and Mermaid
/// draws at most 500 arrows).
pub fn mermaid_states(model: &Model, aggregate: AggregateId) -> Option<String> {
    let agg = model.aggregate(aggregate);
    if agg.lifecycle.is_empty() {
        return None;
    }
    let mut out = String::from("stateDiagram-v2\n");
    for (i, state) in agg.lifecycle.iter().enumerate() {
        let _ = writeln!(out, "  state \"{}\" as s{i}", state_text(&state.name.name));
    }
    let mut transitions: Vec<String> = Vec::new();
    let mut drawn: HashSet<String> = HashSet::new();
    // State → what leads there from any state, in model order.
    let mut anywhere: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    // The aggregate's own commands, in model order.
    for command in agg.commands.iter().map(|&c| model.command(c)) {
        for event in &command.emits {
            let ev = model.event(event.id);
            if ev.owner != EventOwner::Aggregate(aggregate) {
                continue;
            }
            let Some(to) = ev.enters.map(|s| s.id).filter(|&s| s < agg.lifecycle.len()) else {
                continue;
            };
            let label = format!(
                "{} / {}",
                state_text(&command.name.name),
                state_text(&ev.name.name)
            );
            let froms: Vec<String> = if command.requires.is_empty() {
                let labels = anywhere.entry(to).or_default();
                if !labels.contains(&label) {
                    labels.push(label.clone());
                }
                vec!["[*]".to_string()]
            } else {
                command
                    .requires
                    .iter()
                    .map(|s| s.id)
                    .filter(|&s| s < agg.lifecycle.len())
                    .map(|s| format!("s{s}"))
                    .collect()
            };
            for from in froms {
                let line = format!("  {from} --> s{to} : {label}\n");
                if drawn.insert(line.clone()) {
                    transitions.push(line);
                }
            }
        }
    }
    out.extend(transitions);
    for (to, labels) in anywhere {
        let _ = writeln!(
            out,
            "  note left of s{to} : from any state, {}",
            labels.join(", ")
        );
    }
    Some(out)
}

/// The contexts and the relations of the `contextmap` as a Mermaid `flowchart`:
/// `Up --> Down` labelled with the patterns, `<-->` for mutual relations. Without a
/// `contextmap`, dotted arrows show which context consumes which context's events.
pub fn mermaid_context_map(model: &Model) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, context) in model.contexts.iter().enumerate() {
        let _ = writeln!(out, "  ctx{i}[\"{}\"]", mermaid_text(&context.name.name));
    }
    if model.has_context_map {
        for relation in &model.relations {
            let arrow = if relation.mutual { "<-->" } else { "-->" };
            let label = if relation.patterns.is_empty() {
                String::new()
            } else {
                format!("|\"{}\"|", mermaid_text(&relation.patterns.join(", ")))
            };
            let _ = writeln!(
                out,
                "  ctx{} {arrow}{label} ctx{}",
                relation.upstream.index(),
                relation.downstream.index()
            );
        }
    } else {
        let mut pairs: Vec<(ContextId, ContextId)> = model
            .subscriptions()
            .iter()
            .map(|s| (model.event(s.event).context, s.context))
            .filter(|(up, down)| up != down)
            .collect();
        pairs.sort();
        pairs.dedup();
        for (up, down) in pairs {
            let _ = writeln!(out, "  ctx{} -.-> ctx{}", up.index(), down.index());
        }
    }
    out
}

/// What a node stands for; its id is derived from this alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Node {
    Actor(usize),
    External(usize),
    Command(usize),
    Event(usize),
    Policy(usize),
    ReadModel(usize),
    ContextHotspot(usize, usize),
    AggregateHotspot(usize, usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Actor,
    External,
    Command,
    Event,
    Policy,
    ReadModel,
    Hotspot,
}

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::Actor,
        Kind::External,
        Kind::Command,
        Kind::Event,
        Kind::Policy,
        Kind::ReadModel,
        Kind::Hotspot,
    ];

    fn class(self) -> &'static str {
        match self {
            Kind::Actor => "actor",
            Kind::External => "external",
            Kind::Command => "command",
            Kind::Event => "event",
            Kind::Policy => "policy",
            Kind::ReadModel => "readmodel",
            Kind::Hotspot => "hotspot",
        }
    }

    fn fill(self) -> &'static str {
        match self {
            Kind::Actor => ACTOR,
            Kind::External => EXTERNAL,
            Kind::Command => COMMAND,
            Kind::Event => EVENT,
            Kind::Policy => POLICY,
            Kind::ReadModel => READMODEL,
            Kind::Hotspot => HOTSPOT,
        }
    }
}

const EVENT: &str = "#ff9f43";
const COMMAND: &str = "#54a0ff";
const POLICY: &str = "#c8a2c8";
const READMODEL: &str = "#1dd1a1";
const ACTOR: &str = "#feca57";
const AGGREGATE: &str = "#ffd32a";
const EXTERNAL: &str = "#ff9ff3";
const HOTSPOT: &str = "#ff6b6b";

/// Hotspot texts are wrapped at about this many characters.
const WRAP: usize = 32;

impl Node {
    fn id(self) -> String {
        match self {
            Node::Actor(i) => format!("ac{i}"),
            Node::External(i) => format!("ex{i}"),
            Node::Command(i) => format!("cm{i}"),
            Node::Event(i) => format!("ev{i}"),
            Node::Policy(i) => format!("po{i}"),
            Node::ReadModel(i) => format!("rm{i}"),
            Node::ContextHotspot(c, k) => format!("hc{c}_{k}"),
            Node::AggregateHotspot(a, k) => format!("ha{a}_{k}"),
        }
    }

    fn kind(self) -> Kind {
        match self {
            Node::Actor(_) => Kind::Actor,
            Node::External(_) => Kind::External,
            Node::Command(_) => Kind::Command,
            Node::Event(_) => Kind::Event,
            Node::Policy(_) => Kind::Policy,
            Node::ReadModel(_) => Kind::ReadModel,
            Node::ContextHotspot(..) | Node::AggregateHotspot(..) => Kind::Hotspot,
        }
    }

    fn context(self, model: &Model) -> ContextId {
        match self {
            Node::Actor(i) => model.actors[i].context,
            Node::External(i) => model.externals[i].context,
            Node::Command(i) => model.commands[i].context,
            Node::Event(i) => model.events[i].context,
            Node::Policy(i) => model.policies[i].context,
            Node::ReadModel(i) => model.readmodels[i].context,
            Node::ContextHotspot(c, _) => ContextId(c as u32),
            Node::AggregateHotspot(a, _) => model.aggregates[a].context,
        }
    }

    /// The label as lines of plain text, before escaping.
    fn label(self, model: &Model) -> Vec<String> {
        match self {
            Node::Actor(i) => vec![model.actors[i].name.name.clone()],
            Node::External(i) => vec![model.externals[i].name.name.clone()],
            Node::Command(i) => vec![model.commands[i].name.name.clone()],
            Node::Event(i) => {
                let event = &model.events[i];
                if event.version > 1 {
                    vec![format!("{} v{}", event.name.name, event.version)]
                } else {
                    vec![event.name.name.clone()]
                }
            }
            Node::Policy(i) => vec![model.policies[i].name.name.clone()],
            Node::ReadModel(i) => vec![model.readmodels[i].name.name.clone()],
            Node::ContextHotspot(c, k) => wrap(&model.contexts[c].hotspots[k].text, WRAP),
            Node::AggregateHotspot(a, k) => wrap(&model.aggregates[a].hotspots[k].text, WRAP),
        }
    }
}

/// The nodes of one context, grouped as they are drawn.
struct ContextNodes {
    context: ContextId,
    /// Actors, externals and the events externals emit.
    before: Vec<Node>,
    aggregates: Vec<(AggregateId, Vec<Node>)>,
    /// Policies, read models and open questions.
    after: Vec<Node>,
}

impl ContextNodes {
    fn nodes(&self) -> impl Iterator<Item = Node> + '_ {
        self.before
            .iter()
            .chain(self.aggregates.iter().flat_map(|(_, nodes)| nodes))
            .chain(&self.after)
            .copied()
    }
}

/// The nodes and edges of one diagram, already filtered to what is shown.
struct Board {
    focus: Option<ContextId>,
    contexts: Vec<ContextNodes>,
    edges: Vec<(Node, Node)>,
}

impl Board {
    fn new(model: &Model, arrows: &Arrows, focus: Option<ContextId>) -> Board {
        let Some(focus) = focus else {
            return Board {
                focus,
                contexts: model
                    .context_ids()
                    .map(|c| context_nodes(model, c))
                    .collect(),
                edges: arrows.edges.clone(),
            };
        };
        // The arrows with an end in the focus, and the nodes they connect.
        let edges: Vec<(Node, Node)> = arrows
            .touching
            .get(focus.index())
            .into_iter()
            .flatten()
            .map(|&i| arrows.edges[i])
            .collect();
        let mut shown: Vec<Node> = edges.iter().flat_map(|&(a, b)| [a, b]).collect();
        shown.sort();
        shown.dedup();
        let keep = |node: &Node| node.context(model) == focus || shown.binary_search(node).is_ok();
        // Only the focus and the contexts of shown nodes can have anything to draw.
        let mut drawn: Vec<ContextId> = shown.iter().map(|n| n.context(model)).collect();
        if focus.index() < model.contexts.len() {
            drawn.push(focus);
        }
        drawn.sort();
        drawn.dedup();
        let contexts = drawn
            .into_iter()
            .map(|c| {
                let mut nodes = context_nodes(model, c);
                nodes.before.retain(keep);
                nodes.after.retain(keep);
                for (_, inner) in &mut nodes.aggregates {
                    inner.retain(keep);
                }
                nodes
                    .aggregates
                    .retain(|(a, inner)| !inner.is_empty() || model.aggregate(*a).context == focus);
                nodes
            })
            .filter(|nodes| nodes.context == focus || nodes.nodes().next().is_some())
            .collect();
        Board {
            focus: Some(focus),
            contexts,
            edges,
        }
    }

    fn nodes(&self) -> impl Iterator<Item = Node> + '_ {
        self.contexts.iter().flat_map(ContextNodes::nodes)
    }

    fn mermaid(&self, model: &Model) -> String {
        let mut out = String::from("flowchart LR\n");
        let node = |out: &mut String, node: Node, indent: &str| {
            let label = node
                .label(model)
                .iter()
                .map(|line| mermaid_text(line))
                .collect::<Vec<_>>()
                .join("<br>");
            let id = node.id();
            let _ = match node.kind() {
                Kind::Actor => writeln!(out, "{indent}{id}([\"{label}\"])"),
                Kind::External => writeln!(out, "{indent}{id}[[\"{label}\"]]"),
                Kind::Hotspot => writeln!(out, "{indent}{id}{{{{\"{label}\"}}}}"),
                _ => writeln!(out, "{indent}{id}[\"{label}\"]"),
            };
        };
        for group in &self.contexts {
            let context = model.context(group.context);
            let _ = writeln!(
                out,
                "  subgraph ctx{}[\"{}\"]",
                group.context.index(),
                mermaid_text(&context.name.name)
            );
            for &n in &group.before {
                node(&mut out, n, "    ");
            }
            for (aggregate, nodes) in &group.aggregates {
                let _ = writeln!(
                    out,
                    "    subgraph ag{}[\"{}\"]",
                    aggregate.index(),
                    mermaid_text(&model.aggregate(*aggregate).name.name)
                );
                for &n in nodes {
                    node(&mut out, n, "      ");
                }
                out.push_str("    end\n");
            }
            for &n in &group.after {
                node(&mut out, n, "    ");
            }
            out.push_str("  end\n");
        }
        for &(from, to) in &self.edges {
            let arrow = if from.context(model) == to.context(model) {
                "-->"
            } else {
                "-.->"
            };
            let _ = writeln!(out, "  {} {arrow} {}", from.id(), to.id());
        }
        let ids = |ids: &mut dyn Iterator<Item = String>| ids.collect::<Vec<_>>().join(",");
        let (own, foreign): (Vec<&ContextNodes>, Vec<&ContextNodes>) = self
            .contexts
            .iter()
            .partition(|g| self.focus.is_none_or(|f| g.context == f));
        let mut classes: Vec<(&str, String, String)> = vec![
            (
                "context",
                "fill:#ffffff,stroke:#555,color:#000".to_string(),
                ids(&mut own.iter().map(|g| format!("ctx{}", g.context.index()))),
            ),
            (
                "foreign",
                "fill:#f4f4f4,stroke:#999,stroke-dasharray:4 4,color:#555".to_string(),
                ids(&mut foreign.iter().map(|g| format!("ctx{}", g.context.index()))),
            ),
            (
                "aggregate",
                format!("fill:{AGGREGATE},stroke:#555,color:#000"),
                ids(&mut self
                    .contexts
                    .iter()
                    .flat_map(|g| &g.aggregates)
                    .map(|(a, _)| format!("ag{}", a.index()))),
            ),
        ];
        for kind in Kind::ALL {
            let small = if kind == Kind::Actor {
                ",font-size:11px"
            } else {
                ""
            };
            classes.push((
                kind.class(),
                format!("fill:{},stroke:#555,color:#000{small}", kind.fill()),
                ids(&mut self.nodes().filter(|n| n.kind() == kind).map(Node::id)),
            ));
        }
        for (class, style, members) in classes {
            if !members.is_empty() {
                let _ = writeln!(out, "  classDef {class} {style}");
                let _ = writeln!(out, "  class {members} {class}");
            }
        }
        out
    }

    fn dot(&self, model: &Model) -> String {
        let mut out = String::from("digraph storm {\n");
        out.push_str("  graph [rankdir=LR, fontname=\"Helvetica\", compound=true];\n");
        out.push_str(
            "  node [shape=box, style=\"filled,rounded\", fontname=\"Helvetica\", fontsize=12, color=\"#555555\"];\n",
        );
        out.push_str("  edge [color=\"#555555\"];\n");
        let node = |out: &mut String, node: Node, indent: &str| {
            let label = node
                .label(model)
                .iter()
                .map(|line| dot_text(line))
                .collect::<Vec<_>>()
                .join("\\n");
            let kind = node.kind();
            let extra = match kind {
                Kind::Actor => ", fontsize=10, height=0.3, margin=\"0.06,0.02\"",
                Kind::Hotspot => ", shape=note, style=filled",
                Kind::External => ", style=filled",
                _ => "",
            };
            let _ = writeln!(
                out,
                "{indent}{} [label=\"{label}\", fillcolor=\"{}\"{extra}];",
                node.id(),
                kind.fill()
            );
        };
        for group in &self.contexts {
            let context = model.context(group.context);
            let _ = writeln!(out, "  subgraph cluster_ctx{} {{", group.context.index());
            let _ = writeln!(out, "    label=\"{}\";", dot_text(&context.name.name));
            if self.focus.is_none_or(|f| f == group.context) {
                out.push_str("    style=\"rounded\";\n    color=\"#555555\";\n");
            } else {
                out.push_str(
                    "    style=\"rounded,dashed,filled\";\n    color=\"#999999\";\n    fillcolor=\"#f4f4f4\";\n    fontcolor=\"#555555\";\n",
                );
            }
            for &n in &group.before {
                node(&mut out, n, "    ");
            }
            for (aggregate, nodes) in &group.aggregates {
                let _ = writeln!(out, "    subgraph cluster_ag{} {{", aggregate.index());
                let _ = writeln!(
                    out,
                    "      label=\"{}\";",
                    dot_text(&model.aggregate(*aggregate).name.name)
                );
                let _ = writeln!(
                    out,
                    "      style=\"filled,rounded\";\n      fillcolor=\"{AGGREGATE}\";\n      color=\"#555555\";"
                );
                for &n in nodes {
                    node(&mut out, n, "      ");
                }
                if nodes.is_empty() {
                    // An empty cluster is not drawn; keep the aggregate visible.
                    let _ = writeln!(
                        out,
                        "      ag{} [label=\"\", shape=point, style=invis];",
                        aggregate.index()
                    );
                }
                out.push_str("    }\n");
            }
            for &n in &group.after {
                node(&mut out, n, "    ");
            }
            if group.nodes().next().is_none() {
                let _ = writeln!(
                    out,
                    "    ctx{} [label=\"\", shape=point, style=invis];",
                    group.context.index()
                );
            }
            out.push_str("  }\n");
        }
        for &(from, to) in &self.edges {
            let style = if from.context(model) == to.context(model) {
                ""
            } else {
                " [style=dashed]"
            };
            let _ = writeln!(out, "  {} -> {}{style};", from.id(), to.id());
        }
        out.push_str("}\n");
        out
    }
}

/// The nodes of a context, in the order of the model's vectors.
fn context_nodes(model: &Model, context: ContextId) -> ContextNodes {
    // The context's own index lists: in source order, and no scan of the model.
    let c = model.context(context);
    let mut before: Vec<Node> = c.actors.iter().map(|a| Node::Actor(a.index())).collect();
    before.extend(c.externals.iter().map(|e| Node::External(e.index())));
    before.extend(c.events.iter().map(|e| Node::Event(e.index())));
    let aggregates = c
        .aggregates
        .iter()
        .map(|&id| {
            let agg = model.aggregate(id);
            let mut nodes: Vec<Node> = agg
                .commands
                .iter()
                .map(|c| Node::Command(c.index()))
                .collect();
            nodes.extend(agg.events.iter().map(|e| Node::Event(e.index())));
            nodes.extend((0..agg.hotspots.len()).map(|k| Node::AggregateHotspot(id.index(), k)));
            (id, nodes)
        })
        .collect();
    let mut after: Vec<Node> = c.policies.iter().map(|p| Node::Policy(p.index())).collect();
    after.extend(c.readmodels.iter().map(|r| Node::ReadModel(r.index())));
    after.extend((0..c.hotspots.len()).map(|k| Node::ContextHotspot(context.index(), k)));
    ContextNodes {
        context,
        before,
        aggregates,
        after,
    }
}

/// Every arrow of the board, in a fixed order: `by`, emits (commands, then
/// externals), `when`, `then`, `from`.
fn all_edges(model: &Model) -> Vec<(Node, Node)> {
    let mut edges = Vec::new();
    for (i, command) in model.commands.iter().enumerate() {
        if let Some(actor) = command.by {
            edges.push((Node::Actor(actor.id.index()), Node::Command(i)));
        }
    }
    for (i, command) in model.commands.iter().enumerate() {
        for event in &command.emits {
            edges.push((Node::Command(i), Node::Event(event.id.index())));
        }
    }
    for (i, external) in model.externals.iter().enumerate() {
        for event in &external.emits {
            edges.push((Node::External(i), Node::Event(event.id.index())));
        }
    }
    for (i, policy) in model.policies.iter().enumerate() {
        for event in &policy.when {
            edges.push((Node::Event(event.id.index()), Node::Policy(i)));
        }
        if let Some(command) = policy.then {
            edges.push((Node::Policy(i), Node::Command(command.id.index())));
        }
    }
    for (i, readmodel) in model.readmodels.iter().enumerate() {
        for event in &readmodel.from {
            edges.push((Node::Event(event.id.index()), Node::ReadModel(i)));
        }
    }
    // First occurrence wins, so the order stays the model's.
    let mut seen = std::collections::HashSet::with_capacity(edges.len());
    edges.retain(|edge| seen.insert(*edge));
    edges
}

/// Text for a Mermaid label inside `"..."`: letters, digits, spaces and plain
/// punctuation stay; `"` becomes `#quot;` and every other character its numeric
/// entity (`#35;`), so nothing in it is read as Mermaid, HTML or Markdown syntax.
pub fn mermaid_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_alphanumeric() || c == ' ' || ",.-_?!'()/".contains(c) {
            out.push(c);
        } else if c == '"' {
            out.push_str("#quot;");
        } else if c.is_whitespace() || c.is_control() {
            out.push(' ');
        } else {
            let _ = write!(out, "#{};", c as u32);
        }
    }
    out
}

/// Text for a DOT label inside `"..."`.
pub fn dot_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A name in a state diagram: names are identifiers, but keep only what cannot
/// break the line.
fn state_text(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Splits text into lines of about `width` characters at spaces (and at newlines).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// A small model built by hand, for the tests of the diagrams and the docs.
#[cfg(test)]
pub(crate) mod fixture {
    use crate::model::*;
    use crate::source::{FileId, Span};

    const AT: Span = Span {
        file: FileId(0),
        start: 0,
        end: 0,
    };

    fn name(text: &str) -> Name {
        Name {
            name: text.to_string(),
            span: AT,
        }
    }

    fn at<T>(id: T) -> Ref<T> {
        Ref { id, span: AT }
    }

    fn doc(text: &str) -> Doc {
        (!text.is_empty()).then(|| text.to_string())
    }

    fn field(field: &str, ty: Type) -> Field {
        Field {
            doc: None,
            name: name(field),
            ty,
            ty_span: AT,
        }
    }

    /// Builds a model; elements are found by name (`Context.Name` across contexts).
    #[derive(Default)]
    pub struct Builder {
        pub model: Model,
    }

    impl Builder {
        fn ctx(&self, context: &str) -> ContextId {
            ContextId(
                self.model
                    .contexts
                    .iter()
                    .position(|c| c.name.name == context)
                    .unwrap() as u32,
            )
        }

        fn event_id(&self, path: &str) -> EventId {
            let (context, event) = path.split_once('.').unwrap();
            let context = self.ctx(context);
            EventId(
                self.model
                    .events
                    .iter()
                    .position(|e| e.context == context && e.name.name == event)
                    .unwrap() as u32,
            )
        }

        fn agg(&self, aggregate: &str) -> AggregateId {
            AggregateId(
                self.model
                    .aggregates
                    .iter()
                    .position(|a| a.name.name == aggregate)
                    .unwrap() as u32,
            )
        }

        fn state(&self, aggregate: AggregateId, state: &str) -> Ref<StateIndex> {
            at(self
                .model
                .aggregate(aggregate)
                .lifecycle
                .iter()
                .position(|s| s.name.name == state)
                .unwrap())
        }

        pub fn context(&mut self, context: &str, text: &str) -> &mut Self {
            self.model.contexts.push(Context {
                doc: doc(text),
                name: name(context),
                span: AT,
                actors: vec![],
                externals: vec![],
                types: vec![],
                enums: vec![],
                aggregates: vec![],
                events: vec![],
                policies: vec![],
                readmodels: vec![],
                hotspots: vec![],
            });
            self
        }

        fn last(&self) -> ContextId {
            ContextId(self.model.contexts.len() as u32 - 1)
        }

        pub fn actor(&mut self, actor: &str, text: &str) -> &mut Self {
            let context = self.last();
            self.model.contexts[context.index()]
                .actors
                .push(ActorId(self.model.actors.len() as u32));
            self.model.actors.push(Actor {
                context,
                doc: doc(text),
                name: name(actor),
            });
            self
        }

        pub fn aggregate(&mut self, aggregate: &str, lifecycle: &[&str]) -> &mut Self {
            let context = self.last();
            self.model.contexts[context.index()]
                .aggregates
                .push(AggregateId(self.model.aggregates.len() as u32));
            self.model.aggregates.push(Aggregate {
                context,
                doc: None,
                name: name(aggregate),
                id: field("id", Type::Builtin(Builtin::Uuid)),
                lifecycle: lifecycle
                    .iter()
                    .map(|s| Variant {
                        doc: None,
                        name: name(s),
                    })
                    .collect(),
                has_lifecycle: !lifecycle.is_empty(),
                state: vec![],
                commands: vec![],
                events: vec![],
                hotspots: vec![],
            });
            self
        }

        /// An event of the last aggregate, or of the context when `aggregate` is false.
        pub fn event(&mut self, event: &str, aggregate: bool, enters: Option<&str>) -> &mut Self {
            let context = self.last();
            let id = EventId(self.model.events.len() as u32);
            let owner = if aggregate {
                let a = AggregateId(self.model.aggregates.len() as u32 - 1);
                self.model.aggregates[a.index()].events.push(id);
                EventOwner::Aggregate(a)
            } else {
                self.model.contexts[context.index()].events.push(id);
                EventOwner::Context
            };
            let enters = match (owner, enters) {
                (EventOwner::Aggregate(a), Some(state)) => Some(self.state(a, state)),
                _ => None,
            };
            self.model.events.push(Event {
                context,
                owner,
                doc: None,
                name: name(event),
                version: 1,
                enters,
                fields: vec![field("at", Type::Builtin(Builtin::Timestamp))],
            });
            self
        }

        /// A command of the last aggregate; `emits` names events of that aggregate,
        /// declared before.
        pub fn command(
            &mut self,
            command: &str,
            by: Option<&str>,
            requires: &[&str],
            emits: &[&str],
        ) -> &mut Self {
            let context = self.last();
            let aggregate = AggregateId(self.model.aggregates.len() as u32 - 1);
            let cname = self.model.context(context).name.name.clone();
            let by = by.map(|actor| {
                at(ActorId(
                    self.model
                        .actors
                        .iter()
                        .position(|a| a.name.name == actor)
                        .unwrap() as u32,
                ))
            });
            let requires = requires.iter().map(|s| self.state(aggregate, s)).collect();
            let emits = emits
                .iter()
                .map(|e| at(self.event_id(&format!("{cname}.{e}"))))
                .collect();
            self.model.aggregates[aggregate.index()]
                .commands
                .push(CommandId(self.model.commands.len() as u32));
            self.model.commands.push(Command {
                context,
                aggregate,
                doc: None,
                name: name(command),
                by,
                requires,
                fields: vec![],
                emits,
            });
            self
        }

        pub fn external(&mut self, external: &str, emits: &[&str]) -> &mut Self {
            let context = self.last();
            let emits = emits.iter().map(|e| at(self.event_id(e))).collect();
            self.model.contexts[context.index()]
                .externals
                .push(ExternalId(self.model.externals.len() as u32));
            self.model.externals.push(External {
                context,
                doc: None,
                name: name(external),
                emits,
            });
            self
        }

        pub fn policy(&mut self, policy: &str, when: &[&str], then: &str) -> &mut Self {
            let context = self.last();
            let when = when.iter().map(|e| at(self.event_id(e))).collect();
            let then = self
                .model
                .commands
                .iter()
                .position(|c| c.context == context && c.name.name == then)
                .map(|i| at(CommandId(i as u32)));
            self.model.contexts[context.index()]
                .policies
                .push(PolicyId(self.model.policies.len() as u32));
            self.model.policies.push(Policy {
                context,
                doc: None,
                name: name(policy),
                when,
                then,
            });
            self
        }

        pub fn readmodel(&mut self, readmodel: &str, from: &[&str]) -> &mut Self {
            let context = self.last();
            let from = from.iter().map(|e| at(self.event_id(e))).collect();
            self.model.contexts[context.index()]
                .readmodels
                .push(ReadModelId(self.model.readmodels.len() as u32));
            self.model.readmodels.push(ReadModel {
                context,
                doc: None,
                name: name(readmodel),
                from,
                fields: vec![],
            });
            self
        }

        pub fn hotspot(&mut self, aggregate: Option<&str>, text: &str) -> &mut Self {
            let hotspot = Hotspot {
                doc: None,
                text: text.to_string(),
                span: AT,
            };
            match aggregate {
                Some(a) => {
                    let a = self.agg(a);
                    self.model.aggregates[a.index()].hotspots.push(hotspot);
                }
                None => {
                    let c = self.last();
                    self.model.contexts[c.index()].hotspots.push(hotspot);
                }
            }
            self
        }

        pub fn relation(
            &mut self,
            up: &str,
            down: &str,
            mutual: bool,
            patterns: &[&str],
        ) -> &mut Self {
            self.model.has_context_map = true;
            let relation = Relation {
                doc: None,
                upstream: self.ctx(up),
                downstream: self.ctx(down),
                mutual,
                patterns: patterns.iter().map(|p| p.to_string()).collect(),
                span: AT,
            };
            self.model.relations.push(relation);
            self
        }
    }

    /// The online store of the language reference, with tricky texts added.
    pub fn online_store() -> Model {
        let mut b = Builder::default();
        b.context(
            "Ordering",
            "The online store from the big-picture workshop.\nOrders: `PlaceOrder` | pay | ship.",
        )
        .actor("Customer", "A person buying from the shop.")
        .aggregate("Order", &["Placed", "Paid", "Shipped", "Cancelled"])
        .event("OrderPlaced", true, Some("Placed"))
        .event("OrderRejected", true, None)
        .event("OrderPaid", true, Some("Paid"))
        .event("OrderCancelled", true, Some("Cancelled"))
        .event("OrderShipped", true, Some("Shipped"))
        .command("PlaceOrder", Some("Customer"), &[], &["OrderPlaced", "OrderRejected"])
        .command("ConfirmPayment", None, &["Placed"], &["OrderPaid"])
        .command("CancelOrder", Some("Customer"), &["Placed", "Paid"], &["OrderCancelled"])
        .command("MarkShipped", None, &["Paid"], &["OrderShipped"])
        .hotspot(
            Some("Order"),
            "What happens when a payment arrives for a \"cancelled\" order?",
        )
        .context("Inventory", "")
        .aggregate("Stock", &[])
        .event("StockReserved", true, None)
        .event("StockShortage", true, None)
        .command("ReserveStock", None, &[], &["StockReserved", "StockShortage"])
        .policy("ReserveStockForNewOrders", &["Ordering.OrderPlaced"], "ReserveStock")
        .hotspot(
            None,
            "Tricky: \"quotes\", <b>tags</b> & a|pipe; #hash `tick` \\back\\slash\n1. é漢字🙂 end --> x",
        )
        .context("Payments", "")
        .event("PaymentCaptured", false, None)
        .external("PaymentGateway", &["Payments.PaymentCaptured"])
        .context("Analytics", "")
        .readmodel(
            "DailySales",
            &["Ordering.OrderPlaced", "Ordering.OrderCancelled"],
        )
        .context("Empty", "A context with nothing in it yet.");
        // Back to Ordering for what refers to other contexts.
        let ordering = b.ctx("Ordering");
        let push_ordering = |b: &mut Builder| {
            // Policies and read models of Ordering are added last; `last()` is the
            // newest context, so add them by hand.
            let when = vec![at(b.event_id("Payments.PaymentCaptured"))];
            let then = b
                .model
                .commands
                .iter()
                .position(|c| c.name.name == "ConfirmPayment")
                .map(|i| at(CommandId(i as u32)));
            let id = PolicyId(b.model.policies.len() as u32);
            b.model.contexts[ordering.index()].policies.push(id);
            b.model.policies.push(Policy {
                context: ordering,
                doc: None,
                name: name("ConfirmPaidOrders"),
                when,
                then,
            });
            let when = vec![at(b.event_id("Inventory.StockReserved"))];
            let then = b
                .model
                .commands
                .iter()
                .position(|c| c.name.name == "MarkShipped")
                .map(|i| at(CommandId(i as u32)));
            let id = PolicyId(b.model.policies.len() as u32);
            b.model.contexts[ordering.index()].policies.push(id);
            b.model.policies.push(Policy {
                context: ordering,
                doc: None,
                name: name("ShipReservedOrders"),
                when,
                then,
            });
            let from = ["OrderPlaced", "OrderPaid", "OrderCancelled", "OrderShipped"]
                .iter()
                .map(|e| at(b.event_id(&format!("Ordering.{e}"))))
                .collect();
            let id = ReadModelId(b.model.readmodels.len() as u32);
            b.model.contexts[ordering.index()].readmodels.push(id);
            b.model.readmodels.push(ReadModel {
                context: ordering,
                doc: Some("Every order | its status".to_string()),
                name: name("OrderHistory"),
                from,
                fields: vec![],
            });
        };
        push_ordering(&mut b);
        b.relation("Ordering", "Inventory", false, &["customer-supplier"])
            .relation(
                "Payments",
                "Ordering",
                false,
                &["open-host-service", "published-language"],
            )
            .relation("Inventory", "Ordering", false, &[])
            .relation("Ordering", "Analytics", true, &["partnership"]);
        b.model
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mermaid(context: Option<u32>) -> String {
        render(
            &fixture::online_store(),
            DiagramFormat::Mermaid,
            context.map(ContextId),
        )
    }

    #[test]
    fn mermaid_board_has_every_sticky_and_arrow() {
        let out = mermaid(None);
        assert!(out.starts_with("flowchart LR\n"));
        for line in [
            "  subgraph ctx0[\"Ordering\"]",
            "    ac0([\"Customer\"])",
            "    subgraph ag0[\"Order\"]",
            "      cm0[\"PlaceOrder\"]",
            "      ev0[\"OrderPlaced\"]",
            "    ex0[[\"PaymentGateway\"]]",
            "  ac0 --> cm0",
            "  cm0 --> ev0",
            "  ex0 --> ev7",
            "  ev0 -.-> po0",
            "  po0 --> cm4",
            "  ev0 -.-> rm0",
            "  ev7 -.-> po1",
            "  ev0 --> rm1",
            "  classDef event fill:#ff9f43,stroke:#555,color:#000",
            "  class ag0,ag1 aggregate",
            "  class ctx0,ctx1,ctx2,ctx3,ctx4 context",
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
        assert_eq!(out, mermaid(None), "deterministic");
    }

    #[test]
    fn labels_are_escaped() {
        let out = mermaid(None);
        let hotspot = out.lines().find(|l| l.contains("hc1_0")).unwrap();
        assert!(hotspot.contains("#quot;quotes#quot;"), "{hotspot}");
        assert!(hotspot.contains("#60;b#62;tags"), "{hotspot}");
        assert!(hotspot.contains("é漢字#128578;"), "{hotspot}");
        assert!(hotspot.contains("<br>"), "{hotspot}");
        let inner = hotspot
            .trim()
            .trim_start_matches("hc1_0{{\"")
            .trim_end_matches("\"}}");
        assert!(!inner.contains(['"', '|', '`', ';', '<', '>']) || inner.contains("#"));
        for bad in ['"', '|', '`', '\\'] {
            assert!(!inner.contains(bad), "{bad} in {inner}");
        }

        let dot = render(&fixture::online_store(), DiagramFormat::Dot, None);
        let hotspot = dot.lines().find(|l| l.contains("hc1_0 [")).unwrap();
        assert!(hotspot.contains(r#"\"quotes\""#), "{hotspot}");
        assert!(hotspot.contains(r"\\back\\slash"), "{hotspot}");
        assert!(hotspot.contains(r"\n"), "{hotspot}");
    }

    #[test]
    fn focus_shows_the_context_and_its_direct_neighbours() {
        // Inventory: its stock, the Ordering event its policy reacts to, and the
        // Ordering policy that reacts to its event.
        let out = mermaid(Some(1));
        assert!(out.contains("subgraph ctx1[\"Inventory\"]"));
        assert!(out.contains("subgraph ctx0[\"Ordering\"]"));
        assert!(out.contains("ev0[\"OrderPlaced\"]"));
        assert!(out.contains("po2[\"ShipReservedOrders\"]"));
        assert!(out.contains("  ev0 -.-> po0"));
        assert!(out.contains("  ev5 -.-> po2"));
        assert!(!out.contains("Customer"), "{out}");
        assert!(!out.contains("ctx2"), "{out}");
        assert!(
            !out.contains("cm3"),
            "the policy's command is two steps away: {out}"
        );
        // Empty aggregates of other contexts are not drawn.
        assert!(out.contains("subgraph ag0[\"Order\"]"));
        assert!(!out.contains("ctx4"));
    }

    #[test]
    fn dot_board() {
        let out = render(&fixture::online_store(), DiagramFormat::Dot, None);
        assert!(out.starts_with("digraph storm {\n"));
        assert!(out.contains("subgraph cluster_ag0 {"));
        assert!(out.contains("ev0 [label=\"OrderPlaced\", fillcolor=\"#ff9f43\"];"));
        assert!(out.contains("  ev0 -> po0 [style=dashed];"));
        assert!(out.contains("  ac0 -> cm0;"));
        assert!(out.contains("ctx4 [label=\"\", shape=point, style=invis];"));
        assert!(out.ends_with("}\n"));
    }

    #[test]
    fn lifecycle() {
        // PlaceOrder has no `requires`: its guard accepts it in every status.
        let model = fixture::online_store();
        let out = mermaid_states(&model, AggregateId(0)).unwrap();
        assert_eq!(
            out,
            "stateDiagram-v2\n  state \"Placed\" as s0\n  state \"Paid\" as s1\n  state \"Shipped\" as s2\n  state \"Cancelled\" as s3\n  [*] --> s0 : PlaceOrder / OrderPlaced\n  s0 --> s1 : ConfirmPayment / OrderPaid\n  s0 --> s3 : CancelOrder / OrderCancelled\n  s1 --> s3 : CancelOrder / OrderCancelled\n  s1 --> s2 : MarkShipped / OrderShipped\n  note left of s0 : from any state, PlaceOrder / OrderPlaced\n"
        );
        assert_eq!(mermaid_states(&model, AggregateId(1)), None);
    }

    #[test]
    fn context_map() {
        let mut model = fixture::online_store();
        let out = mermaid_context_map(&model);
        assert!(out.contains("  ctx0 -->|\"customer-supplier\"| ctx1\n"));
        assert!(out.contains("  ctx2 -->|\"open-host-service, published-language\"| ctx0\n"));
        assert!(out.contains("  ctx1 --> ctx0\n"));
        assert!(out.contains("  ctx0 <-->|\"partnership\"| ctx3\n"));
        model.has_context_map = false;
        model.relations.clear();
        let out = mermaid_context_map(&model);
        assert!(out.contains("  ctx0 -.-> ctx1\n"), "{out}");
        assert!(out.contains("  ctx0 -.-> ctx3\n"), "{out}");
        assert!(out.contains("  ctx2 -.-> ctx0\n"), "{out}");
    }

    #[test]
    fn wrapping() {
        assert_eq!(wrap("a bb ccc", 4), ["a bb", "ccc"]);
        assert_eq!(wrap("x\ny", 10), ["x", "y"]);
        assert_eq!(wrap("", 10), [""]);
    }
}
