//! Syntax trees to the resolved model: declare every element, then resolve every
//! reference. Reports the checks that are about names and where things live:
//! `duplicate-name`, `unknown-reference`, `wrong-kind`, `foreign-event-emitted`,
//! `command-without-event`, `policy-outside-context`, `unknown-state`,
//! `contextmap-pattern`.

use crate::ast;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::*;
use crate::source::Span;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Element {
    Actor(ActorId),
    External(ExternalId),
    Type(TypeId),
    Enum(EnumId),
    Aggregate(AggregateId),
    Command(CommandId),
    Event(EventId),
    Policy(PolicyId),
    ReadModel(ReadModelId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Actor,
    External,
    Type,
    Enum,
    Aggregate,
    Command,
    Event,
    Policy,
    ReadModel,
}

impl Kind {
    fn article(self) -> &'static str {
        match self {
            Kind::Actor => "an actor",
            Kind::External => "an external system",
            Kind::Type => "a type",
            Kind::Enum => "an enum",
            Kind::Aggregate => "an aggregate",
            Kind::Command => "a command",
            Kind::Event => "an event",
            Kind::Policy => "a policy",
            Kind::ReadModel => "a read model",
        }
    }
}

impl Element {
    fn kind(self) -> Kind {
        match self {
            Element::Actor(_) => Kind::Actor,
            Element::External(_) => Kind::External,
            Element::Type(_) => Kind::Type,
            Element::Enum(_) => Kind::Enum,
            Element::Aggregate(_) => Kind::Aggregate,
            Element::Command(_) => Kind::Command,
            Element::Event(_) => Kind::Event,
            Element::Policy(_) => Kind::Policy,
            Element::ReadModel(_) => Kind::ReadModel,
        }
    }
}

/// Far beyond the unknown names of any real model; bounds the cost of a file full
/// of them (4,000 unknown references against 1,500 names took 3 s without it).
const SUGGESTION_BUDGET: usize = 200;

const PATTERNS: &[&str] = &[
    "customer-supplier",
    "conformist",
    "anticorruption-layer",
    "open-host-service",
    "published-language",
];
const MUTUAL_PATTERNS: &[&str] = &["partnership", "shared-kernel"];

/// Builds the model from every file's syntax tree. Files must come sorted by path.
pub fn resolve(files: &[ast::File], diags: &mut Diagnostics) -> Model {
    let mut r = Resolver {
        model: Model::default(),
        contexts: HashMap::new(),
        scopes: Vec::new(),
        ambiguous: Default::default(),
        suggestions: std::cell::Cell::new(SUGGESTION_BUDGET),
        diags,
    };
    let contexts = r.declare_contexts(files);
    let mut pending = Vec::new();
    for &(context, ast) in &contexts {
        r.declare_items(context, ast, &mut pending);
    }
    for item in pending {
        r.resolve_item(item);
    }
    r.resolve_context_maps(files);
    r.model
}

struct Resolver<'d> {
    model: Model,
    contexts: HashMap<String, ContextId>,
    /// Per context: every element by name, with the span of its name.
    scopes: Vec<HashMap<String, (Element, Span)>>,
    /// Names defined twice in a context: references to them are not resolved, and
    /// not reported again (the duplicate is).
    ambiguous: std::collections::HashSet<(ContextId, String)>,
    /// How many more "did you mean" searches this model may cost (each compares
    /// with every name of a context); past it, help lines name no candidate.
    suggestions: std::cell::Cell<usize>,
    diags: &'d mut Diagnostics,
}

/// An element declared, whose references are resolved once every name is known.
enum Pending<'a> {
    External(ExternalId, &'a ast::External),
    Type(TypeId, &'a ast::TypeDef),
    Aggregate(AggregateId, &'a ast::Aggregate),
    Command(CommandId, &'a ast::Command),
    Event(EventId, &'a ast::Event),
    Policy(PolicyId, &'a ast::Policy),
    ReadModel(ReadModelId, &'a ast::ReadModel),
}

fn hotspot(h: &ast::Hotspot) -> Hotspot {
    Hotspot {
        doc: h.doc.clone(),
        text: h.text.clone(),
        span: h.span,
    }
}

fn variant(v: &ast::Variant) -> Variant {
    Variant {
        doc: v.doc.clone(),
        name: Name::from(&v.name),
    }
}

impl<'d> Resolver<'d> {
    fn declare_contexts<'a>(
        &mut self,
        files: &'a [ast::File],
    ) -> Vec<(ContextId, &'a ast::Context)> {
        let mut out = Vec::new();
        for context in files.iter().flat_map(|f| &f.contexts) {
            if let Some(&first) = self.contexts.get(&context.name.name) {
                let first = self.model.context(first).name.span;
                self.diags.push(
                    Diagnostic::new(
                        Code::DuplicateName,
                        context.name.span,
                        format!("context `{}` is defined twice", context.name.name),
                    )
                    .label("second definition")
                    .with(first, "first defined here")
                    .help(
                        "a context lives in exactly one block; merge the two blocks or rename one",
                    ),
                );
                continue;
            }
            let id = ContextId(self.model.contexts.len() as u32);
            self.contexts.insert(context.name.name.clone(), id);
            self.scopes.push(HashMap::new());
            self.model.contexts.push(Context {
                doc: context.doc.clone(),
                name: Name::from(&context.name),
                span: context.span,
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
            out.push((id, context));
        }
        out
    }

    /// Adds a name to its context's scope, reporting a clash with an earlier one.
    fn declare(&mut self, context: ContextId, name: &ast::Ident, element: Element) {
        let scope = &mut self.scopes[context.index()];
        if let Some(&(first, first_span)) = scope.get(&name.name) {
            let context_name = &self.model.context(context).name.name;
            let kinds = if first.kind() == element.kind() {
                String::new()
            } else {
                format!(
                    " ({} and {})",
                    first.kind().article(),
                    element.kind().article()
                )
            };
            self.diags.push(
                Diagnostic::new(
                    Code::DuplicateName,
                    name.span,
                    format!(
                        "`{}` is defined twice in context `{context_name}`{kinds}",
                        name.name
                    ),
                )
                .label("second definition")
                .with(first_span, "first defined here")
                .help("element names are unique within a context across all kinds (one sticky, one name); rename one of them"),
            );
            self.ambiguous.insert((context, name.name.clone()));
            return;
        }
        scope.insert(name.name.clone(), (element, name.span));
    }

    fn declare_items<'a>(
        &mut self,
        context: ContextId,
        ast: &'a ast::Context,
        pending: &mut Vec<Pending<'a>>,
    ) {
        for item in &ast.items {
            match item {
                ast::Item::Actor(a) => {
                    let id = ActorId(self.model.actors.len() as u32);
                    self.model.actors.push(Actor {
                        context,
                        doc: a.doc.clone(),
                        name: Name::from(&a.name),
                    });
                    self.model.contexts[context.index()].actors.push(id);
                    self.declare(context, &a.name, Element::Actor(id));
                }
                ast::Item::External(e) => {
                    let id = ExternalId(self.model.externals.len() as u32);
                    self.model.externals.push(External {
                        context,
                        doc: e.doc.clone(),
                        name: Name::from(&e.name),
                        emits: vec![],
                    });
                    self.model.contexts[context.index()].externals.push(id);
                    self.declare(context, &e.name, Element::External(id));
                    pending.push(Pending::External(id, e));
                }
                ast::Item::Type(t) => {
                    self.not_builtin(&t.name);
                    let id = TypeId(self.model.types.len() as u32);
                    self.model.types.push(TypeDef {
                        context,
                        doc: t.doc.clone(),
                        name: Name::from(&t.name),
                        fields: vec![],
                    });
                    self.model.contexts[context.index()].types.push(id);
                    self.declare(context, &t.name, Element::Type(id));
                    pending.push(Pending::Type(id, t));
                }
                ast::Item::Enum(e) => {
                    self.not_builtin(&e.name);
                    let id = EnumId(self.model.enums.len() as u32);
                    let names: Vec<&ast::Ident> = e.variants.iter().map(|v| &v.name).collect();
                    self.unique(&names, "variant", &e.name.name);
                    self.model.enums.push(EnumDef {
                        context,
                        doc: e.doc.clone(),
                        name: Name::from(&e.name),
                        variants: e.variants.iter().map(variant).collect(),
                    });
                    self.model.contexts[context.index()].enums.push(id);
                    self.declare(context, &e.name, Element::Enum(id));
                }
                ast::Item::Aggregate(a) => self.declare_aggregate(context, a, pending),
                ast::Item::Event(e) => {
                    let id = self.declare_event(context, EventOwner::Context, e, pending);
                    self.model.contexts[context.index()].events.push(id);
                }
                ast::Item::Policy(p) => {
                    let id = PolicyId(self.model.policies.len() as u32);
                    self.model.policies.push(Policy {
                        context,
                        doc: p.doc.clone(),
                        name: Name::from(&p.name),
                        when: vec![],
                        then: None,
                    });
                    self.model.contexts[context.index()].policies.push(id);
                    self.declare(context, &p.name, Element::Policy(id));
                    pending.push(Pending::Policy(id, p));
                }
                ast::Item::ReadModel(m) => {
                    let id = ReadModelId(self.model.readmodels.len() as u32);
                    self.model.readmodels.push(ReadModel {
                        context,
                        doc: m.doc.clone(),
                        name: Name::from(&m.name),
                        from: vec![],
                        fields: vec![],
                    });
                    self.model.contexts[context.index()].readmodels.push(id);
                    self.declare(context, &m.name, Element::ReadModel(id));
                    pending.push(Pending::ReadModel(id, m));
                }
                ast::Item::Hotspot(h) => self.model.contexts[context.index()]
                    .hotspots
                    .push(hotspot(h)),
            }
        }
    }

    fn not_builtin(&mut self, name: &ast::Ident) {
        if Builtin::from_name(&name.name).is_some() {
            self.diags.push(
                Diagnostic::new(
                    Code::DuplicateName,
                    name.span,
                    format!("`{}` is the name of a built-in type", name.name),
                )
                .label("shadows the built-in type")
                .help(format!("rename it, e.g. `{}Value`", name.name)),
            );
        }
    }

    /// Reports a name that a reference list (`emits`, `when`, ...) names twice.
    fn listed_once(&mut self, names: impl IntoIterator<Item = (String, Span)>, list: &str) {
        let mut seen: HashMap<String, Span> = HashMap::new();
        for (name, span) in names {
            if let Some(&first) = seen.get(&name) {
                self.diags.push(
                    Diagnostic::new(
                        Code::DuplicateName,
                        span,
                        format!("`{name}` is listed twice in {list}"),
                    )
                    .label("listed again")
                    .with(first, "first listed here")
                    .help("name it once"),
                );
            } else {
                seen.insert(name, span);
            }
        }
    }

    /// Reports names that repeat within one block (fields, variants, states).
    fn unique(&mut self, names: &[&ast::Ident], what: &str, owner: &str) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for name in names {
            if let Some(&first) = seen.get(name.name.as_str()) {
                self.diags.push(
                    Diagnostic::new(
                        Code::DuplicateName,
                        name.span,
                        format!("{what} `{}` appears twice in `{owner}`", name.name),
                    )
                    .label("second definition")
                    .with(first, "first defined here")
                    .help(format!(
                        "{what} names are unique within their block; remove or rename one"
                    )),
                );
            } else {
                seen.insert(&name.name, name.span);
            }
        }
    }

    fn declare_aggregate<'a>(
        &mut self,
        context: ContextId,
        a: &'a ast::Aggregate,
        pending: &mut Vec<Pending<'a>>,
    ) {
        let id = AggregateId(self.model.aggregates.len() as u32);
        for (what, spans) in [
            ("id", a.ids.iter().map(|i| i.span).collect::<Vec<_>>()),
            ("lifecycle", a.lifecycles.iter().map(|l| l.span).collect()),
            ("state", a.states.iter().map(|s| s.span).collect()),
        ] {
            for &extra in spans.iter().skip(1) {
                self.diags.push(
                    Diagnostic::new(
                        Code::DuplicateName,
                        extra,
                        format!("aggregate `{}` has more than one `{what}`", a.name.name),
                    )
                    .label("second one")
                    .with(spans[0], "first one here")
                    .help(format!("an aggregate has at most one `{what}`; merge them")),
                );
            }
        }
        let lifecycle: Vec<Variant> = a
            .lifecycles
            .first()
            .map(|l| l.states.iter().map(variant).collect())
            .unwrap_or_default();
        if let Some(l) = a.lifecycles.first() {
            let names: Vec<&ast::Ident> = l.states.iter().map(|s| &s.name).collect();
            self.unique(&names, "state", &a.name.name);
        }
        let default_id = Field {
            doc: None,
            name: Name {
                name: "id".to_string(),
                span: a.name.span,
            },
            ty: Type::Builtin(Builtin::Uuid),
            ty_span: a.name.span,
        };
        self.model.aggregates.push(Aggregate {
            context,
            doc: a.doc.clone(),
            name: Name::from(&a.name),
            id: default_id,
            has_lifecycle: !a.lifecycles.is_empty(),
            lifecycle,
            state: vec![],
            commands: vec![],
            events: vec![],
            hotspots: a.hotspots.iter().map(hotspot).collect(),
        });
        self.model.contexts[context.index()].aggregates.push(id);
        self.declare(context, &a.name, Element::Aggregate(id));
        for c in &a.commands {
            let command = CommandId(self.model.commands.len() as u32);
            self.model.commands.push(Command {
                context,
                aggregate: id,
                doc: c.doc.clone(),
                name: Name::from(&c.name),
                by: None,
                requires: vec![],
                fields: vec![],
                emits: vec![],
            });
            self.model.aggregates[id.index()].commands.push(command);
            self.declare(context, &c.name, Element::Command(command));
            pending.push(Pending::Command(command, c));
        }
        for e in &a.events {
            let event = self.declare_event(context, EventOwner::Aggregate(id), e, pending);
            self.model.aggregates[id.index()].events.push(event);
        }
        pending.push(Pending::Aggregate(id, a));
    }

    fn declare_event<'a>(
        &mut self,
        context: ContextId,
        owner: EventOwner,
        e: &'a ast::Event,
        pending: &mut Vec<Pending<'a>>,
    ) -> EventId {
        let id = EventId(self.model.events.len() as u32);
        self.model.events.push(Event {
            context,
            owner,
            doc: e.doc.clone(),
            name: Name::from(&e.name),
            version: e.version.map_or(1, |(v, _)| v),
            enters: None,
            fields: vec![],
        });
        self.declare(context, &e.name, Element::Event(id));
        pending.push(Pending::Event(id, e));
        id
    }

    fn resolve_item(&mut self, item: Pending<'_>) {
        match item {
            Pending::External(id, e) => {
                let context = self.model.external(id).context;
                self.listed_once(
                    e.emits.iter().map(|q| (q.to_string(), q.span)),
                    &format!("the `emits` of `{}`", e.name.name),
                );
                let mut emits = vec![];
                for q in &e.emits {
                    let Some(event) = self.event(context, q) else {
                        continue;
                    };
                    let ev = self.model.event(event);
                    if ev.owner != EventOwner::Context || ev.context != context {
                        let owner = self.owner_words(event);
                        self.diags.push(
                            Diagnostic::new(
                                Code::ForeignEventEmitted,
                                q.span,
                                format!(
                                    "external `{}` emits `{q}`, an event of {owner}",
                                    e.name.name
                                ),
                            )
                            .label("not an event of this context's externals")
                            .with(ev.name.span, "declared here")
                            .help("an external system emits events declared at context level in its own context: add `event Name { ... }` next to the `external`"),
                        );
                        continue;
                    }
                    emits.push(Ref {
                        id: event,
                        span: q.span,
                    });
                }
                self.model.externals[id.index()].emits = emits;
            }
            Pending::Type(id, t) => {
                let context = self.model.type_def(id).context;
                let fields = self.fields(context, &t.fields, &t.name.name);
                self.model.types[id.index()].fields = fields;
            }
            Pending::Aggregate(id, a) => {
                let context = self.model.aggregate(id).context;
                if let Some(decl) = a.ids.first() {
                    if !matches!(decl.ty.kind, ast::TypeExprKind::Named(_)) {
                        self.diags.push(
                            Diagnostic::new(
                                Code::WrongKind,
                                decl.ty.span,
                                format!("the id of `{}` must be a single value", a.name.name),
                            )
                            .label("a list or an optional cannot identify an aggregate")
                            .help("use a plain type: `id order_id: Uuid`"),
                        );
                    }
                    self.model.aggregates[id.index()].id = Field {
                        doc: decl.doc.clone(),
                        name: Name::from(&decl.name),
                        ty: self.ty(context, &decl.ty),
                        ty_span: decl.ty.span,
                    };
                }
                let state = a
                    .states
                    .first()
                    .map(|s| self.fields(context, &s.fields, &a.name.name))
                    .unwrap_or_default();
                let id_field = &self.model.aggregate(id).id;
                if let Some(clash) = state.iter().find(|f| f.name.name == id_field.name.name) {
                    let id_span = id_field.name.span;
                    self.diags.push(
                        Diagnostic::new(
                            Code::DuplicateName,
                            clash.name.span,
                            format!(
                                "state field `{}` has the name of the aggregate's id",
                                clash.name.name
                            ),
                        )
                        .label("already the id")
                        .with(id_span, "the id")
                        .help("the id is part of the aggregate's state already; remove the field or rename it"),
                    );
                }
                self.model.aggregates[id.index()].state = state;
            }
            Pending::Command(id, c) => self.resolve_command(id, c),
            Pending::Event(id, e) => {
                let (context, owner) = {
                    let ev = self.model.event(id);
                    (ev.context, ev.owner)
                };
                let fields = self.fields(context, &e.fields, &e.name.name);
                let enters = match (owner, &e.enters) {
                    (EventOwner::Aggregate(agg), Some(state)) => {
                        self.state(agg, state).map(|index| Ref {
                            id: index,
                            span: state.span,
                        })
                    }
                    (EventOwner::Context, Some(state)) => {
                        self.diags.push(
                            Diagnostic::new(
                                Code::UnknownState,
                                state.span,
                                format!(
                                    "event `{}` enters `{}`, but it belongs to no aggregate",
                                    e.name.name, state.name
                                ),
                            )
                            .label("no lifecycle here")
                            .help("only events of an aggregate with a `lifecycle` can enter a state; remove `enters`"),
                        );
                        None
                    }
                    (_, None) => None,
                };
                let event = &mut self.model.events[id.index()];
                event.fields = fields;
                event.enters = enters;
            }
            Pending::Policy(id, p) => {
                let context = self.model.policy(id).context;
                self.listed_once(
                    p.when.iter().map(|q| (q.to_string(), q.span)),
                    &format!("the `when` of `{}`", p.name.name),
                );
                let when = p
                    .when
                    .iter()
                    .filter_map(|q| {
                        self.event(context, q).map(|e| Ref {
                            id: e,
                            span: q.span,
                        })
                    })
                    .collect();
                let then = self.policy_command(context, p);
                let policy = &mut self.model.policies[id.index()];
                policy.when = when;
                policy.then = then;
            }
            Pending::ReadModel(id, m) => {
                let context = self.model.readmodel(id).context;
                self.listed_once(
                    m.from.iter().map(|q| (q.to_string(), q.span)),
                    &format!("the `from` of `{}`", m.name.name),
                );
                let from = m
                    .from
                    .iter()
                    .filter_map(|q| {
                        self.event(context, q).map(|e| Ref {
                            id: e,
                            span: q.span,
                        })
                    })
                    .collect();
                let fields = self.fields(context, &m.fields, &m.name.name);
                let readmodel = &mut self.model.readmodels[id.index()];
                readmodel.from = from;
                readmodel.fields = fields;
            }
        }
    }

    fn resolve_command(&mut self, id: CommandId, c: &ast::Command) {
        let (context, aggregate) = {
            let command = self.model.command(id);
            (command.context, command.aggregate)
        };
        let by =
            c.by.as_ref()
                .and_then(|q| match self.lookup(context, q, &[Kind::Actor]) {
                    Some(Element::Actor(actor)) => Some(Ref {
                        id: actor,
                        span: q.span,
                    }),
                    _ => None,
                });
        self.listed_once(
            c.requires.iter().map(|s| (s.name.clone(), s.span)),
            &format!("the `requires` of `{}`", c.name.name),
        );
        self.listed_once(
            c.emits.iter().map(|q| (q.to_string(), q.span)),
            &format!("the `emits` of `{}`", c.name.name),
        );
        let requires = c
            .requires
            .iter()
            .filter_map(|s| {
                self.state(aggregate, s).map(|index| Ref {
                    id: index,
                    span: s.span,
                })
            })
            .collect();
        let fields = self.fields(context, &c.fields, &c.name.name);
        let mut emits = vec![];
        for q in &c.emits {
            let Some(event) = self.event(context, q) else {
                continue;
            };
            if self.model.event(event).owner != EventOwner::Aggregate(aggregate) {
                let owner = self.owner_words(event);
                let agg_name = &self.model.aggregate(aggregate).name.name;
                self.diags.push(
                    Diagnostic::new(
                        Code::ForeignEventEmitted,
                        q.span,
                        format!("command `{}` emits `{q}`, an event of {owner}", c.name.name),
                    )
                    .label("not an event of this aggregate")
                    .with(self.model.event(event).name.span, "declared here")
                    .help(format!(
                        "a command may emit only events of its own aggregate: declare the event in `aggregate {agg_name}`, or emit it from a command of its own aggregate"
                    )),
                );
                continue;
            }
            emits.push(Ref {
                id: event,
                span: q.span,
            });
        }
        if c.emits.is_empty() {
            self.diags.push(
                Diagnostic::new(
                    Code::CommandWithoutEvent,
                    c.name.span,
                    format!("command `{}` emits no event", c.name.name),
                )
                .label("no `emits`")
                .help("a command must record what happened: add `emits EventName` after it"),
            );
        }
        let command = &mut self.model.commands[id.index()];
        command.by = by;
        command.requires = requires;
        command.fields = fields;
        command.emits = emits;
    }

    /// `aggregate Order` or `context Payments`, for messages.
    fn owner_words(&self, event: EventId) -> String {
        let ev = self.model.event(event);
        match ev.owner {
            EventOwner::Aggregate(a) => format!(
                "aggregate `{}.{}`",
                self.model.context(ev.context).name.name,
                self.model.aggregate(a).name.name
            ),
            EventOwner::Context => format!(
                "context `{}` (emitted by its externals)",
                self.model.context(ev.context).name.name
            ),
        }
    }

    fn policy_command(&mut self, context: ContextId, p: &ast::Policy) -> Option<Ref<CommandId>> {
        let q = &p.then;
        // A command of another context, named bare or qualified: the policy is in
        // the wrong place, which says more than "unknown" would.
        let elsewhere = match &q.context {
            Some(c) if c.name != self.model.context(context).name.name => {
                self.contexts.get(&c.name).copied().filter(|other| {
                    matches!(
                        self.scopes[other.index()].get(&q.name.name),
                        Some((Element::Command(_), _))
                    )
                })
            }
            None if !self.scopes[context.index()].contains_key(&q.name.name) => {
                self.model.context_ids().find(|other| {
                    matches!(
                        self.scopes[other.index()].get(&q.name.name),
                        Some((Element::Command(_), _))
                    )
                })
            }
            _ => None,
        };
        if let Some(other) = elsewhere {
            let other_name = self.model.context(other).name.name.clone();
            let command_span = self.scopes[other.index()][&q.name.name].1;
            self.diags.push(
                Diagnostic::new(
                    Code::PolicyOutsideContext,
                    q.span,
                    format!(
                        "policy `{}` issues `{}`, a command of context `{other_name}`",
                        p.name.name, q.name.name
                    ),
                )
                .label(format!("belongs to `{other_name}`"))
                .with(command_span, "the command is declared here")
                .help(format!(
                    "a policy lives in the context whose command it issues: move `policy {}` into `context {other_name}`",
                    p.name.name
                )),
            );
            return None;
        }
        match self.lookup(context, q, &[Kind::Command]) {
            Some(Element::Command(command)) => Some(Ref {
                id: command,
                span: q.span,
            }),
            _ => None,
        }
    }

    fn event(&mut self, context: ContextId, q: &ast::QName) -> Option<EventId> {
        match self.lookup(context, q, &[Kind::Event]) {
            Some(Element::Event(event)) => Some(event),
            _ => None,
        }
    }

    fn state(&mut self, aggregate: AggregateId, state: &ast::Ident) -> Option<StateIndex> {
        let agg = self.model.aggregate(aggregate);
        if !agg.has_lifecycle {
            let name = agg.name.name.clone();
            self.diags.push(
                Diagnostic::new(
                    Code::UnknownState,
                    state.span,
                    format!(
                        "aggregate `{name}` has no lifecycle, so it has no state `{}`",
                        state.name
                    ),
                )
                .label("no such state")
                .with(agg.name.span, "aggregate declared here")
                .help(format!(
                    "declare the states it moves through: `lifecycle {{ {}, ... }}`",
                    state.name
                )),
            );
            return None;
        }
        if let Some(index) = agg.lifecycle.iter().position(|s| s.name.name == state.name) {
            return Some(index);
        }
        let names: Vec<&str> = agg.lifecycle.iter().map(|s| s.name.name.as_str()).collect();
        let help = match closest(&state.name, names.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("the states of `{}` are {}", agg.name.name, list(&names)),
        };
        let (agg_name, agg_span) = (agg.name.name.clone(), agg.name.span);
        self.diags.push(
            Diagnostic::new(
                Code::UnknownState,
                state.span,
                format!("aggregate `{agg_name}` has no state `{}`", state.name),
            )
            .label("not in the lifecycle")
            .with(agg_span, "aggregate declared here")
            .help(help),
        );
        None
    }

    fn fields(&mut self, context: ContextId, fields: &[ast::Field], owner: &str) -> Vec<Field> {
        let names: Vec<&ast::Ident> = fields.iter().map(|f| &f.name).collect();
        self.unique(&names, "field", owner);
        fields
            .iter()
            .map(|f| Field {
                doc: f.doc.clone(),
                name: Name::from(&f.name),
                ty: self.ty(context, &f.ty),
                ty_span: f.ty.span,
            })
            .collect()
    }

    fn ty(&mut self, context: ContextId, ty: &ast::TypeExpr) -> Type {
        match &ty.kind {
            ast::TypeExprKind::List(inner) => Type::List(Box::new(self.ty(context, inner))),
            ast::TypeExprKind::Optional(inner) => Type::Optional(Box::new(self.ty(context, inner))),
            ast::TypeExprKind::Named(q) => {
                if let (None, Some(builtin)) = (&q.context, Builtin::from_name(&q.name.name)) {
                    return Type::Builtin(builtin);
                }
                match self.lookup(context, q, &[Kind::Type, Kind::Enum]) {
                    Some(Element::Type(t)) => Type::Named(t),
                    Some(Element::Enum(e)) => Type::Enum(e),
                    _ => Type::Unknown,
                }
            }
        }
    }

    /// Resolves a possibly qualified name to an element of one of the wanted kinds,
    /// reporting `unknown-reference` or `wrong-kind`.
    fn lookup(&mut self, from: ContextId, q: &ast::QName, want: &[Kind]) -> Option<Element> {
        let wanted = want[0].article();
        let target = match &q.context {
            None => from,
            Some(c) => match self.contexts.get(&c.name) {
                Some(&target) => target,
                None => {
                    let names: Vec<&str> = self.contexts.keys().map(String::as_str).collect();
                    let help = match closest(&c.name, names.iter().copied()) {
                        Some(best) => format!("did you mean `{best}.{}`?", q.name.name),
                        None => format!("the model's contexts are {}", list(&sorted(names))),
                    };
                    self.diags.push(
                        Diagnostic::new(
                            Code::UnknownReference,
                            c.span,
                            format!("unknown context `{}` in `{q}`", c.name),
                        )
                        .label("no context has this name")
                        .help(help),
                    );
                    return None;
                }
            },
        };
        if self.ambiguous.contains(&(target, q.name.name.clone())) {
            return None;
        }
        match self.scopes[target.index()].get(&q.name.name) {
            Some(&(element, _)) if want.contains(&element.kind()) => Some(element),
            Some(&(element, span)) => {
                self.diags.push(
                    Diagnostic::new(
                        Code::WrongKind,
                        q.span,
                        format!(
                            "`{q}` is {}, but {wanted} is expected here",
                            element.kind().article()
                        ),
                    )
                    .label(format!("expected {wanted}"))
                    .with(span, format!("`{}` is declared here", q.name.name))
                    .help(self.candidates_help(target, q, want)),
                );
                None
            }
            None => {
                let noun = &wanted[wanted.find(' ').map_or(0, |i| i + 1)..];
                self.diags.push(
                    Diagnostic::new(
                        Code::UnknownReference,
                        q.span,
                        format!("unknown {noun} `{q}`"),
                    )
                    .label(format!("no {noun} has this name"))
                    .help(self.candidates_help(target, q, want)),
                );
                None
            }
        }
    }

    /// "did you mean ...?": the closest name of a wanted kind, here or, for a bare
    /// name, the same name in another context.
    fn candidates_help(&self, target: ContextId, q: &ast::QName, want: &[Kind]) -> String {
        let wanted = want[0].article();
        let mut names: Vec<&str> = self.scopes[target.index()]
            .iter()
            .filter(|(_, (e, _))| want.contains(&e.kind()))
            .map(|(n, _)| n.as_str())
            .collect();
        if want.contains(&Kind::Type) && q.context.is_none() {
            names.extend(Builtin::ALL.iter().map(|b| b.name()));
        }
        let budget = self.suggestions.get();
        self.suggestions.set(budget.saturating_sub(1));
        let best = if budget > 0 {
            closest(&q.name.name, names.iter().copied())
        } else {
            None
        };
        if let Some(best) = best {
            return match &q.context {
                Some(c) => format!("did you mean `{}.{best}`?", c.name),
                None => format!("did you mean `{best}`?"),
            };
        }
        if q.context.is_none() {
            let mut elsewhere: Vec<String> = self
                .model
                .context_ids()
                .filter(|&c| c != target)
                .filter(|c| {
                    self.scopes[c.index()]
                        .get(&q.name.name)
                        .is_some_and(|(e, _)| want.contains(&e.kind()))
                })
                .map(|c| format!("`{}.{}`", self.model.context(c).name.name, q.name.name))
                .collect();
            elsewhere.sort();
            if !elsewhere.is_empty() {
                return format!(
                    "{wanted} of another context is named with its context: did you mean {}?",
                    elsewhere.join(" or ")
                );
            }
        }
        names.sort_unstable();
        let context = &self.model.context(target).name.name;
        let plural = match want[0] {
            Kind::Type => "types and enums".to_string(),
            Kind::Actor => "actors".to_string(),
            Kind::Command => "commands".to_string(),
            Kind::Event => "events".to_string(),
            other => format!(
                "{}s",
                &other.article()[other.article().find(' ').map_or(0, |i| i + 1)..]
            ),
        };
        if names.is_empty() || want[0] == Kind::Type {
            format!(
                "declare {wanted} named `{}` in context `{context}`",
                q.name.name
            )
        } else {
            format!("the {plural} of context `{context}` are {}", list(&names))
        }
    }

    fn resolve_context_maps(&mut self, files: &[ast::File]) {
        let maps: Vec<&ast::ContextMap> = files.iter().flat_map(|f| &f.context_maps).collect();
        self.model.has_context_map = !maps.is_empty();
        for extra in maps.iter().skip(1) {
            self.diags.push(
                Diagnostic::new(
                    Code::DuplicateName,
                    Span {
                        end: extra.span.start + 10,
                        ..extra.span
                    },
                    "the model has more than one `contextmap`",
                )
                .label("second context map")
                .with(
                    Span {
                        end: maps[0].span.start + 10,
                        ..maps[0].span
                    },
                    "first one here",
                )
                .help("a model has at most one `contextmap`; move these relations into the first"),
            );
        }
        let mut seen: HashMap<(ContextId, ContextId), Span> = HashMap::new();
        for relation in maps.iter().flat_map(|m| &m.relations) {
            let up = self.context_ref(&relation.left);
            let down = self.context_ref(&relation.right);
            self.listed_once(
                relation.patterns.iter().map(|p| (p.name.clone(), p.span)),
                "the patterns of this relation",
            );
            if let (Some(u), Some(d)) = (up, down) {
                if u == d {
                    self.diags.push(
                        Diagnostic::new(
                            Code::ContextmapPattern,
                            relation.span,
                            format!("`{}` is related to itself", relation.left.name),
                        )
                        .label("a context always sees its own events")
                        .help("remove this relation"),
                    );
                    continue;
                }
                let mut keys = vec![(u, d)];
                if relation.mutual {
                    keys.push((d, u));
                }
                if let Some(first) = keys.iter().find_map(|k| seen.get(k).copied()) {
                    self.diags.push(
                        Diagnostic::new(
                            Code::DuplicateName,
                            relation.span,
                            format!(
                                "the relation between `{}` and `{}` is declared twice",
                                relation.left.name, relation.right.name
                            ),
                        )
                        .label("declared again")
                        .with(first, "first declared here")
                        .help("declare each relation once, with all its patterns"),
                    );
                    continue;
                }
                for k in keys {
                    seen.insert(k, relation.span);
                }
            }
            let mut patterns = vec![];
            for p in &relation.patterns {
                let (fits, others) = if relation.mutual {
                    (MUTUAL_PATTERNS, PATTERNS)
                } else {
                    (PATTERNS, MUTUAL_PATTERNS)
                };
                if fits.contains(&p.name.as_str()) {
                    patterns.push(p.name.clone());
                    continue;
                }
                let arrow = if relation.mutual { "<->" } else { "->" };
                let help = if others.contains(&p.name.as_str()) {
                    if relation.mutual {
                        format!(
                            "`{}` describes a one-way relation: write `{} -> {}`",
                            p.name, relation.left.name, relation.right.name
                        )
                    } else {
                        format!(
                            "`{}` describes a two-way relation: write `{} <-> {}`",
                            p.name, relation.left.name, relation.right.name
                        )
                    }
                } else {
                    match closest(&p.name, fits.iter().copied()) {
                        Some(best) => format!("did you mean `{best}`?"),
                        None => format!("`{arrow}` takes {}", list(fits)),
                    }
                };
                self.diags.push(
                    Diagnostic::new(
                        Code::ContextmapPattern,
                        p.span,
                        format!("`{}` is not a pattern of `{arrow}`", p.name),
                    )
                    .label("not a pattern here")
                    .help(help),
                );
            }
            if let (Some(upstream), Some(downstream)) = (up, down) {
                self.model.relations.push(Relation {
                    doc: relation.doc.clone(),
                    upstream,
                    downstream,
                    mutual: relation.mutual,
                    patterns,
                    span: relation.span,
                });
            }
        }
    }

    fn context_ref(&mut self, name: &ast::Ident) -> Option<ContextId> {
        if let Some(&id) = self.contexts.get(&name.name) {
            return Some(id);
        }
        let names: Vec<&str> = self.contexts.keys().map(String::as_str).collect();
        let help = match closest(&name.name, names.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None if names.is_empty() => "the model declares no context yet".to_string(),
            None => format!("the model's contexts are {}", list(&sorted(names))),
        };
        self.diags.push(
            Diagnostic::new(
                Code::UnknownReference,
                name.span,
                format!("unknown context `{}` in the context map", name.name),
            )
            .label("no context has this name")
            .help(help),
        );
        None
    }
}

fn sorted(mut names: Vec<&str>) -> Vec<&str> {
    names.sort_unstable();
    names
}

/// `a`, `b` and `c` (at most eight, then "...").
pub fn list(names: &[&str]) -> String {
    joined(names, "and")
}

/// `a`, `b` or `c` (at most eight, then "...").
pub fn either(names: &[&str]) -> String {
    joined(names, "or")
}

fn joined(names: &[&str], word: &str) -> String {
    let shown: Vec<String> = names.iter().take(8).map(|n| format!("`{n}`")).collect();
    let more = if names.len() > 8 { ", ..." } else { "" };
    match shown.split_last() {
        None => "none".to_string(),
        Some((last, [])) => format!("{last}{more}"),
        Some((last, rest)) if more.is_empty() => format!("{} {word} {last}", rest.join(", ")),
        Some(_) => format!("{}{more}", shown.join(", ")),
    }
}

/// The candidate closest to `name`, if it is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let length = lower.chars().count();
    let limit = (length / 3).max(1);
    candidates
        .filter(|c| *c != name)
        // The distance is at least the difference in length: skip the far ones
        // before paying for the comparison.
        .filter(|c| {
            c.len().abs_diff(name.len()) <= limit * 4 && c.chars().count().abs_diff(length) <= limit
        })
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}
