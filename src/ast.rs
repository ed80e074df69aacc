//! The syntax tree: what the text says, with the span of every name, before any
//! name is resolved. Built by [`crate::syntax`]; pest's pairs never leave that module.

use crate::source::Span;

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

#[derive(Debug, Default)]
pub struct File {
    pub contexts: Vec<Context>,
    pub context_maps: Vec<ContextMap>,
}

#[derive(Debug)]
pub struct Context {
    pub doc: Doc,
    pub name: Ident,
    pub items: Vec<Item>,
    pub span: Span,
}

#[derive(Debug)]
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

#[derive(Debug)]
pub struct Actor {
    pub doc: Doc,
    pub name: Ident,
}

#[derive(Debug)]
pub struct External {
    pub doc: Doc,
    pub name: Ident,
    pub emits: Vec<QName>,
}

#[derive(Debug)]
pub struct TypeDef {
    pub doc: Doc,
    pub name: Ident,
    pub fields: Vec<Field>,
}

#[derive(Debug)]
pub struct EnumDef {
    pub doc: Doc,
    pub name: Ident,
    pub variants: Vec<Variant>,
}

#[derive(Debug)]
pub struct Variant {
    pub doc: Doc,
    pub name: Ident,
}

#[derive(Debug)]
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

#[derive(Debug)]
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

#[derive(Debug)]
pub struct IdDecl {
    pub doc: Doc,
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}

#[derive(Debug)]
pub struct Lifecycle {
    pub states: Vec<Variant>,
    pub span: Span,
}

#[derive(Debug)]
pub struct StateDecl {
    pub fields: Vec<Field>,
    pub span: Span,
}

#[derive(Debug)]
pub struct Command {
    pub doc: Doc,
    pub name: Ident,
    pub by: Option<QName>,
    pub requires: Vec<Ident>,
    pub fields: Vec<Field>,
    pub emits: Vec<QName>,
    pub span: Span,
}

#[derive(Debug)]
pub struct Event {
    pub doc: Doc,
    pub name: Ident,
    pub version: Option<(u32, Span)>,
    pub enters: Option<Ident>,
    pub fields: Vec<Field>,
}

#[derive(Debug)]
pub struct Policy {
    pub doc: Doc,
    pub name: Ident,
    pub when: Vec<QName>,
    pub then: QName,
}

#[derive(Debug)]
pub struct ReadModel {
    pub doc: Doc,
    pub name: Ident,
    pub from: Vec<QName>,
    pub fields: Vec<Field>,
}

#[derive(Debug)]
pub struct Hotspot {
    pub doc: Doc,
    pub text: String,
    pub span: Span,
}

#[derive(Debug)]
pub struct ContextMap {
    pub doc: Doc,
    pub relations: Vec<Relation>,
    pub span: Span,
}

#[derive(Debug)]
pub struct Relation {
    pub doc: Doc,
    pub left: Ident,
    pub right: Ident,
    /// `<->` rather than `->`.
    pub mutual: bool,
    pub patterns: Vec<Ident>,
    pub span: Span,
}
