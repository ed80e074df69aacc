//! The syntax tree: what the text says, with the span of every name, before any
//! name is resolved. Built by [`crate::syntax`]; pest's pairs never leave that module.

use crate::source::{FileId, Span};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A possibly qualified name: `Name` or `Context.Name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QName {
    pub context: Option<Ident>,
    pub name: Ident,
    pub span: Span,
}

impl std::fmt::Display for QName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.context {
            Some(c) => write!(f, "{}.{}", c.name, self.name.name),
            None => f.write_str(&self.name.name),
        }
    }
}

/// The text of the `///` lines before an element, joined by newlines.
pub type Doc = Option<String>;

#[derive(Clone, Debug, Default)]
pub struct File {
    pub contexts: Vec<Context>,
    pub context_maps: Vec<ContextMap>,
}

#[derive(Clone, Debug)]
pub struct Context {
    pub doc: Doc,
    pub name: Ident,
    pub items: Vec<Item>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Item {
    Actor(Actor),
    External(External),
    Type(TypeDef),
    Enum(EnumDef),
    Aggregate(Aggregate),
    Event(Event),
    Policy(Policy),
    ReadModel(ReadModel),
    Hotspot(Hotspot),
}

#[derive(Clone, Debug)]
pub struct Actor {
    pub doc: Doc,
    pub name: Ident,
}

#[derive(Clone, Debug)]
pub struct External {
    pub doc: Doc,
    pub name: Ident,
    pub emits: Vec<QName>,
}

#[derive(Clone, Debug)]
pub struct TypeDef {
    pub doc: Doc,
    pub name: Ident,
    pub fields: Vec<Field>,
}

#[derive(Clone, Debug)]
pub struct EnumDef {
    pub doc: Doc,
    pub name: Ident,
    pub variants: Vec<Variant>,
}

#[derive(Clone, Debug)]
pub struct Variant {
    pub doc: Doc,
    pub name: Ident,
}

#[derive(Clone, Debug)]
pub struct Field {
    pub doc: Doc,
    pub name: Ident,
    pub ty: TypeExpr,
}

#[derive(Clone, Debug)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum TypeExprKind {
    Named(QName),
    List(Box<TypeExpr>),
    Optional(Box<TypeExpr>),
}

#[derive(Clone, Debug)]
pub struct Aggregate {
    pub doc: Doc,
    pub name: Ident,
    pub ids: Vec<IdDecl>,
    pub lifecycles: Vec<Lifecycle>,
    pub states: Vec<StateDecl>,
    pub commands: Vec<Command>,
    pub events: Vec<Event>,
    pub hotspots: Vec<Hotspot>,
}

#[derive(Clone, Debug)]
pub struct IdDecl {
    pub doc: Doc,
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Lifecycle {
    pub states: Vec<Variant>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct StateDecl {
    pub fields: Vec<Field>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Command {
    pub doc: Doc,
    pub name: Ident,
    pub by: Option<QName>,
    pub requires: Vec<Ident>,
    pub fields: Vec<Field>,
    pub emits: Vec<QName>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Event {
    pub doc: Doc,
    pub name: Ident,
    pub version: Option<(u32, Span)>,
    pub enters: Option<Ident>,
    pub fields: Vec<Field>,
}

#[derive(Clone, Debug)]
pub struct Policy {
    pub doc: Doc,
    pub name: Ident,
    pub when: Vec<QName>,
    pub then: QName,
}

#[derive(Clone, Debug)]
pub struct ReadModel {
    pub doc: Doc,
    pub name: Ident,
    pub from: Vec<QName>,
    pub fields: Vec<Field>,
}

#[derive(Clone, Debug)]
pub struct Hotspot {
    pub doc: Doc,
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ContextMap {
    pub doc: Doc,
    pub relations: Vec<Relation>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Relation {
    pub doc: Doc,
    pub left: Ident,
    pub right: Ident,
    /// `<->` rather than `->`.
    pub mutual: bool,
    pub patterns: Vec<Ident>,
    pub span: Span,
}

/// Moves a parsed part of a file to where the same text now stands: `storm
/// watch` reuses the parse of every top-level block an edit did not touch
/// ([`crate::syntax::Memo`]), though an edit above it moved it.
pub trait Relocate {
    /// Every span into `file`, `delta` bytes further (or back).
    fn relocate(&mut self, file: FileId, delta: i64);
}

impl Relocate for Span {
    fn relocate(&mut self, file: FileId, delta: i64) {
        let moved = |at: u32| u32::try_from(i64::from(at) + delta).unwrap_or(at);
        self.file = file;
        self.start = moved(self.start);
        self.end = moved(self.end);
    }
}

impl<T: Relocate> Relocate for Vec<T> {
    fn relocate(&mut self, file: FileId, delta: i64) {
        self.iter_mut().for_each(|t| t.relocate(file, delta));
    }
}

impl<T: Relocate> Relocate for Option<T> {
    fn relocate(&mut self, file: FileId, delta: i64) {
        if let Some(t) = self {
            t.relocate(file, delta);
        }
    }
}

impl<T: Relocate> Relocate for Box<T> {
    fn relocate(&mut self, file: FileId, delta: i64) {
        (**self).relocate(file, delta);
    }
}

impl Relocate for (u32, Span) {
    fn relocate(&mut self, file: FileId, delta: i64) {
        self.1.relocate(file, delta);
    }
}

/// `Relocate` for a struct: the fields that hold spans.
macro_rules! relocate {
    ($($type:ty => $($field:ident),+;)*) => {$(
        impl Relocate for $type {
            fn relocate(&mut self, file: FileId, delta: i64) {
                $(self.$field.relocate(file, delta);)+
            }
        }
    )*};
}

relocate! {
    File => contexts, context_maps;
    Ident => span;
    QName => context, name, span;
    Context => name, items, span;
    Actor => name;
    External => name, emits;
    TypeDef => name, fields;
    EnumDef => name, variants;
    Variant => name;
    Field => name, ty;
    TypeExpr => kind, span;
    Aggregate => name, ids, lifecycles, states, commands, events, hotspots;
    IdDecl => name, ty, span;
    Lifecycle => states, span;
    StateDecl => fields, span;
    Command => name, by, requires, fields, emits, span;
    Event => name, version, enters, fields;
    Policy => name, when, then;
    ReadModel => name, from, fields;
    Hotspot => span;
    ContextMap => relations, span;
    Relation => left, right, patterns, span;
}

impl Relocate for Item {
    fn relocate(&mut self, file: FileId, delta: i64) {
        match self {
            Item::Actor(x) => x.relocate(file, delta),
            Item::External(x) => x.relocate(file, delta),
            Item::Type(x) => x.relocate(file, delta),
            Item::Enum(x) => x.relocate(file, delta),
            Item::Aggregate(x) => x.relocate(file, delta),
            Item::Event(x) => x.relocate(file, delta),
            Item::Policy(x) => x.relocate(file, delta),
            Item::ReadModel(x) => x.relocate(file, delta),
            Item::Hotspot(x) => x.relocate(file, delta),
        }
    }
}

impl Relocate for TypeExprKind {
    fn relocate(&mut self, file: FileId, delta: i64) {
        match self {
            TypeExprKind::Named(x) => x.relocate(file, delta),
            TypeExprKind::List(x) | TypeExprKind::Optional(x) => x.relocate(file, delta),
        }
    }
}
