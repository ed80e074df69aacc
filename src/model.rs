//! The resolved model: every element of every context, with references turned into
//! ids. Built by [`crate::resolve`]; what checks, plans and generators work on.
//! Collections keep the order of the source (files sorted by path), so output
//! derived from them is deterministic.

use crate::source::Span;

macro_rules! ids {
    ($($name:ident),*) => {$(
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);
        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

ids!(
    ContextId,
    ActorId,
    ExternalId,
    TypeId,
    EnumId,
    AggregateId,
    CommandId,
    EventId,
    PolicyId,
    ReadModelId
);

/// A name as written, with where it was written.
#[derive(Clone, Debug)]
pub struct Name {
    pub name: String,
    pub span: Span,
}

impl From<&crate::ast::Ident> for Name {
    fn from(ident: &crate::ast::Ident) -> Name {
        Name {
            name: ident.name.clone(),
            span: ident.span,
        }
    }
}

pub type Doc = Option<String>;

/// A resolved reference, with where the model wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ref<T> {
    pub id: T,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Builtin {
    String,
    Int,
    Float,
    Bool,
    Decimal,
    Uuid,
    Timestamp,
    Date,
}

impl Builtin {
    pub const ALL: [Builtin; 8] = [
        Builtin::String,
        Builtin::Int,
        Builtin::Float,
        Builtin::Bool,
        Builtin::Decimal,
        Builtin::Uuid,
        Builtin::Timestamp,
        Builtin::Date,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Builtin::String => "String",
            Builtin::Int => "Int",
            Builtin::Float => "Float",
            Builtin::Bool => "Bool",
            Builtin::Decimal => "Decimal",
            Builtin::Uuid => "Uuid",
            Builtin::Timestamp => "Timestamp",
            Builtin::Date => "Date",
        }
    }

    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.iter().copied().find(|b| b.name() == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Builtin(Builtin),
    Named(TypeId),
    Enum(EnumId),
    List(Box<Type>),
    Optional(Box<Type>),
    /// A name that did not resolve; an error was reported.
    Unknown,
}

impl Type {
    /// The value types and enums this type mentions, with whether the mention is
    /// direct (not behind a list or optional).
    pub fn refs(&self, direct: bool, out: &mut Vec<(TypeRef, bool)>) {
        match self {
            Type::Named(t) => out.push((TypeRef::Type(*t), direct)),
            Type::Enum(e) => out.push((TypeRef::Enum(*e), direct)),
            Type::List(inner) | Type::Optional(inner) => inner.refs(false, out),
            Type::Builtin(_) | Type::Unknown => {}
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TypeRef {
    Type(TypeId),
    Enum(EnumId),
}

#[derive(Clone, Debug)]
pub struct Field {
    pub doc: Doc,
    pub name: Name,
    pub ty: Type,
    pub ty_span: Span,
}

#[derive(Debug)]
pub struct Context {
    pub doc: Doc,
    pub name: Name,
    pub span: Span,
    pub actors: Vec<ActorId>,
    pub externals: Vec<ExternalId>,
    pub types: Vec<TypeId>,
    pub enums: Vec<EnumId>,
    pub aggregates: Vec<AggregateId>,
    /// Events declared at context level (emitted by externals).
    pub events: Vec<EventId>,
    pub policies: Vec<PolicyId>,
    pub readmodels: Vec<ReadModelId>,
    pub hotspots: Vec<Hotspot>,
}

#[derive(Debug)]
pub struct Actor {
    pub context: ContextId,
    pub doc: Doc,
    pub name: Name,
}

#[derive(Debug)]
pub struct External {
    pub context: ContextId,
    pub doc: Doc,
    pub name: Name,
    pub emits: Vec<Ref<EventId>>,
}

#[derive(Debug)]
pub struct TypeDef {
    pub context: ContextId,
    pub doc: Doc,
    pub name: Name,
    pub fields: Vec<Field>,
}

#[derive(Debug)]
pub struct EnumDef {
    pub context: ContextId,
    pub doc: Doc,
    pub name: Name,
    pub variants: Vec<Variant>,
}

#[derive(Clone, Debug)]
pub struct Variant {
    pub doc: Doc,
    pub name: Name,
}

#[derive(Debug)]
pub struct Aggregate {
    pub context: ContextId,
    pub doc: Doc,
    pub name: Name,
    /// The identity field; `id: Uuid` when the model does not name one.
    pub id: Field,
    /// States in the order written; empty when the aggregate has no lifecycle.
    pub lifecycle: Vec<Variant>,
    pub has_lifecycle: bool,
    pub state: Vec<Field>,
    pub commands: Vec<CommandId>,
    pub events: Vec<EventId>,
    pub hotspots: Vec<Hotspot>,
}

/// Index of a state in its aggregate's lifecycle.
pub type StateIndex = usize;

#[derive(Debug)]
pub struct Command {
    pub context: ContextId,
    pub aggregate: AggregateId,
    pub doc: Doc,
    pub name: Name,
    pub by: Option<Ref<ActorId>>,
    pub requires: Vec<Ref<StateIndex>>,
    pub fields: Vec<Field>,
    pub emits: Vec<Ref<EventId>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventOwner {
    Aggregate(AggregateId),
    /// Declared at context level, emitted by the context's externals.
    Context,
}

#[derive(Debug)]
pub struct Event {
    pub context: ContextId,
    pub owner: EventOwner,
    pub doc: Doc,
    pub name: Name,
    pub version: u32,
    pub enters: Option<Ref<StateIndex>>,
    pub fields: Vec<Field>,
}

#[derive(Debug)]
pub struct Policy {
    pub context: ContextId,
    pub doc: Doc,
    pub name: Name,
    pub when: Vec<Ref<EventId>>,
    pub then: Option<Ref<CommandId>>,
}

#[derive(Debug)]
pub struct ReadModel {
    pub context: ContextId,
    pub doc: Doc,
    pub name: Name,
    pub from: Vec<Ref<EventId>>,
    pub fields: Vec<Field>,
}

#[derive(Clone, Debug)]
pub struct Hotspot {
    pub doc: Doc,
    pub text: String,
    pub span: Span,
}

#[derive(Debug)]
pub struct Relation {
    pub doc: Doc,
    pub upstream: ContextId,
    pub downstream: ContextId,
    /// `<->`: each side consumes what the other publishes.
    pub mutual: bool,
    pub patterns: Vec<String>,
    pub span: Span,
}

#[derive(Debug, Default)]
pub struct Model {
    pub contexts: Vec<Context>,
    pub actors: Vec<Actor>,
    pub externals: Vec<External>,
    pub types: Vec<TypeDef>,
    pub enums: Vec<EnumDef>,
    pub aggregates: Vec<Aggregate>,
    pub commands: Vec<Command>,
    pub events: Vec<Event>,
    pub policies: Vec<Policy>,
    pub readmodels: Vec<ReadModel>,
    pub relations: Vec<Relation>,
    /// Whether the model has a `contextmap` at all (it may be empty).
    pub has_context_map: bool,
}

macro_rules! accessors {
    ($($fn:ident($id:ident) -> $ty:ident in $field:ident;)*) => {
        impl Model {
            $(pub fn $fn(&self, id: $id) -> &$ty {
                &self.$field[id.index()]
            })*
        }
    };
}

accessors! {
    context(ContextId) -> Context in contexts;
    actor(ActorId) -> Actor in actors;
    external(ExternalId) -> External in externals;
    type_def(TypeId) -> TypeDef in types;
    enum_def(EnumId) -> EnumDef in enums;
    aggregate(AggregateId) -> Aggregate in aggregates;
    command(CommandId) -> Command in commands;
    event(EventId) -> Event in events;
    policy(PolicyId) -> Policy in policies;
    readmodel(ReadModelId) -> ReadModel in readmodels;
}

impl Model {
    pub fn context_ids(&self) -> impl Iterator<Item = ContextId> {
        (0..self.contexts.len() as u32).map(ContextId)
    }

    pub fn event_ids(&self) -> impl Iterator<Item = EventId> {
        (0..self.events.len() as u32).map(EventId)
    }

    /// `Context.Event`, the way the model names an event from anywhere.
    pub fn event_path(&self, id: EventId) -> String {
        let event = self.event(id);
        format!(
            "{}.{}",
            self.context(event.context).name.name,
            event.name.name
        )
    }

    /// The name of a type as the model writes it, qualified when it lives in
    /// another context than `from`.
    pub fn type_name(&self, ty: &Type, from: ContextId) -> String {
        let qualified = |context: ContextId, name: &str| {
            if context == from {
                name.to_string()
            } else {
                format!("{}.{}", self.context(context).name.name, name)
            }
        };
        match ty {
            Type::Builtin(b) => b.name().to_string(),
            Type::Named(t) => qualified(self.type_def(*t).context, &self.type_def(*t).name.name),
            Type::Enum(e) => qualified(self.enum_def(*e).context, &self.enum_def(*e).name.name),
            Type::List(inner) => format!("[{}]", self.type_name(inner, from)),
            Type::Optional(inner) => format!("{}?", self.type_name(inner, from)),
            Type::Unknown => "?".to_string(),
        }
    }

    /// Every subscription of the model: an event delivered to a context because one
    /// of the context's policies or read models names it. Sorted, without repeats.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        let mut subs: Vec<Subscription> = Vec::new();
        for (i, policy) in self.policies.iter().enumerate() {
            for event in &policy.when {
                subs.push(Subscription {
                    event: event.id,
                    context: policy.context,
                    handler: Handler::Policy(PolicyId(i as u32)),
                });
            }
        }
        for (i, readmodel) in self.readmodels.iter().enumerate() {
            for event in &readmodel.from {
                subs.push(Subscription {
                    event: event.id,
                    context: readmodel.context,
                    handler: Handler::ReadModel(ReadModelId(i as u32)),
                });
            }
        }
        subs.sort();
        subs.dedup();
        subs
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Handler {
    Policy(PolicyId),
    ReadModel(ReadModelId),
}

/// One event reaching one handler of one context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subscription {
    pub event: EventId,
    pub context: ContextId,
    pub handler: Handler,
}
