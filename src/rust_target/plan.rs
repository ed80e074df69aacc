//! The plan the Rust templates see: every identifier, type and wire name worked
//! out here, so the templates only lay code out.

use super::idents::{
    Site, contracts_module, doc_lines, pascal_ident, reaches, rust_type, snake_ident, unraw,
};
use crate::model::{
    AggregateId, ContextId, EventId, EventOwner, Field, Handler, Model, PolicyId, ReadModelId, Type,
};
use crate::names::kebab;
use crate::wire::{Wire, metadata};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Serialize, Hash)]
pub struct Plan {
    /// Workspace members, relative to `rust/`, sorted.
    pub members: Vec<String>,
    pub namespace: String,
    /// The contracts module with envelopes and metadata (`envelope`, unless a
    /// context takes that name: see [`envelope_module`]).
    pub envelope: String,
    pub metadata: MetadataKeys,
    /// What the contracts crate's tests see of each context.
    pub contexts: Vec<TestedContext>,
    /// Whether any context publishes an event (the contracts tests have work).
    pub any_events: bool,
    /// (module, doc lines) of every context, sorted by module as rustfmt orders them.
    pub modules: Vec<(String, Vec<String>)>,
}

/// A context as the contracts crate's tests see it: its module and the round
/// trips of its events.
#[derive(Clone, Serialize, Hash)]
pub struct TestedContext {
    pub module: String,
    /// `use ::contracts::<module> as model;` (without a rename that rustfmt drops).
    pub model_use: String,
    pub any_event_round_trips: bool,
    pub events: Vec<TestedEvent>,
}

#[derive(Clone, Serialize, Hash)]
pub struct TestedEvent {
    pub ident: String,
    pub version: u32,
    pub test: String,
    pub expected: String,
    pub round_trips: bool,
    pub type_assert: String,
}

/// What the workspace-wide files need of a context, taken from its plan once its
/// own files are rendered.
#[derive(Clone)]
pub struct Summary {
    package: String,
    module: String,
    doc: Vec<String>,
    tested: TestedContext,
}

impl Summary {
    pub fn of(context: &mut ContextPlan) -> Summary {
        let events = std::mem::take(&mut context.events)
            .into_iter()
            .map(|e| TestedEvent {
                ident: e.ident,
                version: e.version,
                test: e.test,
                expected: e.expected,
                round_trips: e.round_trips,
                type_assert: e.type_assert,
            })
            .collect();
        Summary {
            package: context.package.clone(),
            module: context.module.clone(),
            doc: std::mem::take(&mut context.doc),
            tested: TestedContext {
                model_use: model_use("use", &context.module),
                module: context.module.clone(),
                any_event_round_trips: context.any_event_round_trips,
                events,
            },
        }
    }
}

#[derive(Serialize, Hash)]
pub struct MetadataKeys {
    pub key: &'static str,
    pub aggregate_id: &'static str,
    pub aggregate_version: &'static str,
    pub event_version: &'static str,
}

#[derive(Serialize, Hash)]
pub struct ContextPlan {
    pub name: String,
    pub doc: Vec<String>,
    /// The context's module in the contracts crate.
    pub module: String,
    /// `pub use ::contracts::<module> as model;`, without a rename rustfmt drops.
    pub model_use: String,
    /// Folder and package of its service crate (`ordering-service`).
    pub package: String,
    /// Library name of its service crate (`ordering_service`).
    pub lib: String,
    pub source: String,
    /// `pub const SOURCE: &str = "...";`, laid out.
    pub source_const: String,
    pub envelope: String,
    pub types: Vec<TypePlan>,
    pub enums: Vec<EnumPlan>,
    pub events: Vec<EventPlan>,
    pub aggregates: Vec<AggregatePlan>,
    pub policies: Vec<PolicyPlan>,
    pub read_models: Vec<ReadModelPlan>,
    /// Subscribed events, with their handlers in this context.
    pub inbox: Vec<InboxEvent>,
    /// Aggregates whose commands policies issue: variants of `inbox::Issued`.
    pub issued: Vec<IssuedPlan>,
    pub has_handlers: bool,
    /// Modules of `behaviour`, sorted as rustfmt orders them.
    pub behaviour_modules: Vec<String>,
    /// (module, doc lines) of every aggregate, sorted as rustfmt orders `mod`s.
    pub aggregate_modules: Vec<(String, Vec<String>)>,
    /// The behaviour module of policies and projections: `handlers`, unless an
    /// aggregate takes that name; then `reactions`, `reactions2`, ...
    pub handlers_module: String,
    /// The `H: ...` line of `dispatch` and `receive`, laid out.
    pub bounds: String,
    /// Whether any command round-trips in the generated tests.
    pub any_command_round_trips: bool,
    /// Whether any event of the context round-trips in the contracts tests.
    pub any_event_round_trips: bool,
}

#[derive(Serialize, Hash)]
pub struct FieldPlan {
    pub doc: Vec<String>,
    pub ident: String,
    /// The model's name, kept on the wire.
    pub wire: String,
    pub rename: bool,
    /// The Rust type and whether it is optional (what `decl` and `attr` are
    /// made from; the templates use those).
    #[serde(skip)]
    pub ty: String,
    #[serde(skip)]
    pub optional: bool,
    /// The `#[serde(...)]` attribute, laid out as rustfmt does at the struct's
    /// field indentation; empty when serde's defaults fit.
    pub attr: String,
    /// `pub ident: Type,` laid out at the field indentation.
    pub decl: String,
}

#[derive(Serialize, Hash)]
pub struct TypePlan {
    pub doc: Vec<String>,
    pub ident: String,
    pub fields: Vec<FieldPlan>,
}

#[derive(Serialize, Hash)]
pub struct VariantPlan {
    pub doc: Vec<String>,
    pub ident: String,
    pub wire: String,
    pub rename: bool,
}

#[derive(Serialize, Hash)]
pub struct EnumPlan {
    pub doc: Vec<String>,
    pub ident: String,
    pub variants: Vec<VariantPlan>,
}

#[derive(Serialize, Hash)]
pub struct EventPlan {
    pub doc: Vec<String>,
    pub ident: String,
    pub wire: String,
    pub version: u32,
    pub fields: Vec<FieldPlan>,
    /// A test function name: `order_placed`.
    pub test: String,
    /// The JSON keys of the default value (non-optional fields), sorted.
    pub keys: Vec<String>,
    /// `let expected: [&str; N] = [...];` at eight spaces, laid out.
    pub expected: String,
    /// Whether its default value serializes (see [`default_serializes`]): only
    /// then do the generated tests round-trip it.
    pub round_trips: bool,
    /// `assert_eq!(E::EVENT_TYPE, "...");` at eight spaces, laid out.
    pub type_assert: String,
}

#[derive(Serialize, Hash)]
pub struct CommandPlan {
    pub doc: Vec<String>,
    pub ident: String,
    pub wire: String,
    pub method: String,
    /// The start of its test names (the method, bare).
    pub test: String,
    /// Whether its Rust name differs from the model's (serde renames it).
    pub rename: bool,
    pub fields: Vec<FieldPlan>,
    pub keys: Vec<String>,
    /// `let expected: [&str; N] = [...];` at eight spaces, laid out.
    pub expected: String,
    /// Whether its default value serializes: only then is it round-tripped.
    pub round_trips: bool,
    /// `assert_eq!(guard(Some(Status::S), &command), Ok(()));` for each required
    /// status, at eight spaces, laid out.
    pub accepted_asserts: Vec<String>,
    /// Status variants the command requires; empty: accepted in any state.
    pub requires: Vec<String>,
    /// Status variants it is rejected in (when it has `requires`).
    pub rejected: Vec<String>,
    /// `for status in [Status::S, ...] {` over those variants when there are two
    /// or more (clippy flags a loop over one), at eight spaces, laid out.
    pub rejected_loop: String,
    /// Its arm in `guard` and in `handle`, laid out.
    pub guard_arm: String,
    /// The generated tests' `let command = ...;` of its default value, as the
    /// command struct and as the aggregate's `Command`, at eight spaces, laid out.
    /// `Default` is spelled out: the tests glob-import the aggregate's module,
    /// whose aggregate may be named `Default`.
    pub default_struct: String,
    pub default_command: String,
    pub handle_arm: String,
}

#[derive(Serialize, Hash)]
pub struct AggregateEventPlan {
    pub doc: Vec<String>,
    pub ident: String,
    pub wire: String,
    pub version: u32,
    /// `::contracts::ordering::OrderPlaced`
    pub path: String,
    pub method: String,
    pub rename: bool,
    pub enters: Option<String>,
    /// Its `Evolve` declaration and its skeleton in the behaviour file, laid out.
    pub evolve_decl: String,
    pub evolve_skeleton: String,
}

#[derive(Serialize, Hash)]
pub struct AggregatePlan {
    pub name: String,
    pub doc: Vec<String>,
    pub module: String,
    /// Its file name in `aggregates/` and `behaviour/` (the module without `r#`).
    pub file: String,
    /// Its module in the generated tests (never `inbox`).
    pub test_module: String,
    pub ident: String,
    pub id_field: String,
    pub id_type: String,
    pub has_lifecycle: bool,
    pub states: Vec<VariantPlan>,
    pub state_fields: Vec<FieldPlan>,
    pub commands: Vec<CommandPlan>,
    pub events: Vec<AggregateEventPlan>,
    pub has_guard: bool,
    /// Whether the generated tests have a test of its commands (a round trip or a
    /// guard), so that its test module is not empty.
    pub has_tests: bool,
    /// The imports of its behaviour file, sorted as rustfmt does (edition 2021).
    /// `use crate::aggregates::<module>::{...};` of the behaviour skeleton, laid out.
    pub behaviour_use: String,
}

/// One event a handler reacts to.
#[derive(Serialize, Hash)]
pub struct HandlerEvent {
    pub method: String,
    pub path: String,
    /// `Context.Event`
    pub name: String,
}

#[derive(Serialize, Hash)]
pub struct PolicyPlan {
    pub name: String,
    pub doc: Vec<String>,
    pub ident: String,
    pub events: Vec<HandlerEvent>,
    /// The issued command: `crate::aggregates::order::commands::ConfirmPayment`.
    pub command_path: String,
    pub command_name: String,
    /// `pub type <Policy> = Issue<command>;` at four spaces, laid out.
    pub alias: String,
    /// Variant of `inbox::Issued` and of the aggregate's `Command`.
    pub aggregate_variant: String,
    pub aggregate_module: String,
    pub command_variant: String,
}

#[derive(Serialize, Hash)]
pub struct ViewPlan {
    /// The signature of `View::update`, laid out.
    pub signature: String,
    pub aggregate_module: String,
    pub aggregate_ident: String,
    pub events: Vec<ViewEvent>,
    /// Whether the read model takes every event of the aggregate.
    pub all: bool,
}

#[derive(Serialize, Hash)]
pub struct ViewEvent {
    /// The variant of the aggregate's `Event`.
    pub variant: String,
    /// The projection call, laid out for an arm body (16) or an `if let` (12).
    pub call_arm: String,
    pub call_if: String,
    /// The projection method.
    pub method: String,
}

#[derive(Serialize, Hash)]
pub struct ReadModelPlan {
    pub name: String,
    pub doc: Vec<String>,
    pub ident: String,
    /// Its field in `inbox::Views`.
    pub field: String,
    pub fields: Vec<FieldPlan>,
    pub events: Vec<HandlerEvent>,
    pub views: Vec<ViewPlan>,
}

#[derive(Serialize, Hash)]
pub struct InboxHandler {
    pub is_policy: bool,
    pub method: String,
    /// For read models: the field of `Views`.
    pub view: String,
    /// For policies: the `Issued` variant and command variant.
    pub aggregate_variant: String,
    pub aggregate_module: String,
    pub command_variant: String,
    /// What the generated tests record: `ConfirmPaidOrders <- Payments.PaymentCaptured`.
    pub label: String,
    /// The call statement in `dispatch`, laid out.
    pub call: String,
    /// For policies: the statement wrapping the issued command, laid out.
    pub wrap: String,
}

#[derive(Serialize, Hash)]
pub struct InboxEvent {
    /// `("source", "Type") => Event::V(decode(&envelope)?),` at eight spaces,
    /// laid out.
    pub arm: String,
    pub variant: String,
    pub path: String,
    pub source: String,
    pub wire: String,
    pub name: String,
    pub test: String,
    pub handlers: Vec<InboxHandler>,
    /// How many of the handlers are policies (each issues one command in tests).
    pub policies: usize,
    /// `let expected = vec![...];` with the handler labels, laid out.
    pub expected: String,
    /// Whether the event's default value serializes: only then is it delivered
    /// in the generated tests.
    pub round_trips: bool,
}

#[derive(Serialize, Hash)]
pub struct IssuedPlan {
    pub variant: String,
    pub module: String,
}

/// The contracts module with envelopes and metadata: `envelope`, unless a context
/// takes that name; then the first of `storm_envelope`, `storm_envelope2`, ... that
/// none takes.
pub fn envelope_module(model: &Model) -> String {
    let taken: Vec<String> = model
        .context_ids()
        .map(|c| snake_ident(&model.context(c).name.name))
        .collect();
    free_name(&["envelope", "storm_envelope"], &taken)
}

/// An identifier without its `r#` or the `_` that makes `crate_` usable: the
/// start of a longer snake_case name.
fn bare(ident: &str) -> &str {
    let plain = unraw(ident);
    match plain.strip_suffix('_') {
        Some(stem) if !stem.is_empty() => stem,
        _ => plain,
    }
}

/// `use ::contracts::<module> as model;`: a context's contracts under the name
/// `model`, without the `as model` rustfmt removes when the module is `model`.
fn model_use(keyword: &str, module: &str) -> String {
    if module == "model" {
        format!("{keyword} ::contracts::model;")
    } else {
        format!("{keyword} ::contracts::{module} as model;")
    }
}

/// The first of `preferred` not in `taken`, else the last one numbered from 2.
fn free_name(preferred: &[&str], taken: &[String]) -> String {
    let last = preferred.last().copied().unwrap_or("storm");
    preferred
        .iter()
        .map(|p| p.to_string())
        .chain((2..).map(|n| format!("{last}{n}")))
        .find(|name| !taken.iter().any(|t| unraw(t) == name))
        .unwrap_or_else(|| last.to_string())
}

/// How rustfmt (style edition 2021, the generated workspace's) orders the names
/// of one `use` list: `self` first, then snake_case, CamelCase and
/// SCREAMING_CASE names, each group in byte order.
fn use_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn group(s: &str) -> u8 {
        if s == "self" {
            0
        } else if s.starts_with(char::is_lowercase) {
            1
        } else if s
            .chars()
            .all(|c| c.is_uppercase() || c == '_' || c.is_numeric())
        {
            3
        } else {
            2
        }
    }
    group(a).cmp(&group(b)).then_with(|| a.cmp(b))
}

/// The workspace-wide plan, from the summaries of every context in model order.
pub fn plan(wire: &Wire, envelope: &str, summaries: Vec<Summary>) -> Plan {
    let mut members = vec!["crates/contracts".to_string()];
    members.extend(summaries.iter().map(|c| format!("crates/{}", c.package)));
    members.sort();
    let mut modules: Vec<(String, Vec<String>)> = Vec::with_capacity(summaries.len() + 1);
    let mut contexts = Vec::with_capacity(summaries.len());
    for summary in summaries {
        modules.push((summary.module, summary.doc));
        contexts.push(summary.tested);
    }
    modules.push((envelope.to_string(), Vec::new()));
    modules.sort_by(|a, b| unraw(&a.0).cmp(unraw(&b.0)));
    Plan {
        any_events: contexts.iter().any(|c| c.any_event_round_trips),
        modules,
        members,
        envelope: envelope.to_string(),
        namespace: wire.namespace.clone(),
        metadata: MetadataKeys {
            key: metadata::KEY,
            aggregate_id: metadata::AGGREGATE_ID,
            aggregate_version: metadata::AGGREGATE_VERSION,
            event_version: metadata::EVENT_VERSION,
        },
        contexts,
    }
}

/// The plans of a struct's fields, laid out for `indent` spaces.
fn fields(
    model: &Model,
    list: &[Field],
    site: Site,
    indent: usize,
    boxed: &dyn Fn(crate::model::TypeId) -> bool,
) -> Vec<FieldPlan> {
    list.iter()
        .map(|f| {
            let ident = snake_ident(&f.name.name);
            let rename = unraw(&ident) != f.name.name;
            let optional = matches!(f.ty, Type::Optional(_));
            let ty = rust_type(model, &f.ty, site, boxed);
            let prefix = format!("pub {ident}: ");
            FieldPlan {
                decl: type_line(indent, &prefix, &ty, ","),
                attr: serde_attr(indent, rename.then_some(f.name.name.as_str()), optional),
                doc: doc_lines(&f.doc),
                rename,
                wire: f.name.name.clone(),
                ty,
                optional,
                ident,
            }
        })
        .collect()
}

/// A call statement laid out as rustfmt does at `indent` spaces: on one line when
/// it fits, else broken after `=`, else one argument a line.
pub fn call(indent: usize, prefix: &str, path: &str, args: &[&str], suffix: &str) -> String {
    let pad = " ".repeat(indent);
    let joined = args.join(", ");
    let one = format!("{prefix}{path}({joined}){suffix}");
    if indent + one.len() <= 100 && joined.len() <= 60 {
        return format!("{pad}{one}");
    }
    let rest = format!("{path}({joined}){suffix}");
    if !prefix.is_empty() && indent + 4 + rest.len() <= 100 && joined.len() <= 60 {
        return format!("{pad}{}\n{pad}    {rest}", prefix.trim_end());
    }
    if args.is_empty() {
        // Nothing to break between the parentheses: the file keeps storm's layout.
        return format!("{pad}{one}");
    }
    let simple = args.iter().all(|a| {
        let a = a.strip_prefix('&').unwrap_or(a);
        a.chars().all(|c| c.is_alphanumeric() || c == '_')
    });
    let packed = format!("{pad}    {},", args.join(", "));
    if simple && packed.len() <= 100 {
        return format!("{pad}{prefix}{path}(\n{packed}\n{pad}){suffix}");
    }
    let mut out = format!("{pad}{prefix}{path}(\n");
    for arg in args {
        out.push_str(&format!("{pad}    {arg},\n"));
    }
    out.push_str(&format!("{pad}){suffix}"));
    out
}

/// A call inside a macro's arguments (`assert_eq!(a, b);`) laid out as rustfmt
/// does at `indent` spaces: on one line when it fits and its arguments are short,
/// else one argument a line, without the trailing comma rustfmt leaves out inside
/// macros. An argument that is itself a call (`f(x, y)`) is laid out the same way.
pub fn macro_call(indent: usize, path: &str, args: &[String], suffix: &str) -> String {
    let pad = " ".repeat(indent);
    let joined = args.join(", ");
    let one = format!("{pad}{path}({joined}){suffix}");
    if one.len() <= 100 && joined.len() <= 60 {
        return one;
    }
    let mut out = format!("{pad}{path}(\n");
    for (i, arg) in args.iter().enumerate() {
        let comma = if i + 1 < args.len() { "," } else { "" };
        out.push_str(&nested_call(indent + 4, arg, comma));
        out.push('\n');
    }
    out.push_str(&format!("{pad}){suffix}"));
    out
}

/// One argument of [`macro_call`]: a call `f(a, b)` whose arguments hold no
/// commas of their own is broken like its parent when too long.
fn nested_call(indent: usize, arg: &str, suffix: &str) -> String {
    let pad = " ".repeat(indent);
    let one = format!("{pad}{arg}{suffix}");
    let split = arg.find('(').filter(|_| arg.ends_with(')')).map(|open| {
        let inner = &arg[open + 1..arg.len() - 1];
        (&arg[..open], inner)
    });
    match split {
        Some((path, inner))
            if (one.len() > 100 || inner.len() > 60)
                && !path.is_empty()
                && inner.split(", ").all(|a| !a.contains(',')) =>
        {
            let args: Vec<String> = inner.split(", ").map(str::to_string).collect();
            macro_call(indent, path, &args, suffix)
        }
        _ => one,
    }
}

/// `head[items]tail` (an array or `vec!`) laid out as rustfmt does: on one line when
/// the items are short (or just one) and the line fits, else one item a line.
pub fn list(indent: usize, head: &str, items: &[String], tail: &str) -> String {
    let pad = " ".repeat(indent);
    let joined = items.join(", ");
    let one = format!("{pad}{head}[{joined}]{tail}");
    if one.len() <= 100 && (items.len() <= 1 || joined.len() <= 60) {
        return one;
    }
    let mut out = format!("{pad}{head}[\n");
    for item in items {
        out.push_str(&format!("{pad}    {item},\n"));
    }
    out.push_str(&format!("{pad}]{tail}"));
    out
}

/// A match arm laid out as rustfmt does: `pattern => expr,` when it fits, else the
/// expression in a block.
pub fn arm(indent: usize, pattern: &str, expr: &str) -> String {
    let pad = " ".repeat(indent);
    let one = format!("{pad}{pattern} => {expr},");
    if one.len() <= 100 {
        one
    } else {
        format!("{pad}{pattern} => {{\n{pad}    {expr}\n{pad}}}")
    }
}

/// A method of one `&mut self` and one reference parameter, laid out as rustfmt
/// does; `end` is `;` for a declaration or ` {}` for an empty body.
pub fn method(indent: usize, name: &str, param: &str, end: &str) -> String {
    let pad = " ".repeat(indent);
    let sig = format!("{pad}fn {name}(&mut self, {param})");
    if sig.len() + end.len() <= 100 {
        return format!("{sig}{end}");
    }
    if end == " {}" && sig.len() + 2 <= 100 {
        return format!("{sig} {{\n{pad}}}");
    }
    let end = if end == " {}" {
        format!(" {{\n{pad}}}")
    } else {
        end.to_string()
    };
    format!("{pad}fn {name}(\n{pad}    &mut self,\n{pad}    {param},\n{pad}){end}")
}

/// `prefix` `ty` `suffix` at `indent`, with generic arguments broken over lines
/// as rustfmt does when the line is too long.
fn type_line(indent: usize, prefix: &str, ty: &str, suffix: &str) -> String {
    let pad = " ".repeat(indent);
    let one = format!("{pad}{prefix}{ty}{suffix}");
    if one.len() <= 100 {
        return one;
    }
    // rustfmt moves a type that fits on the next line there before it breaks
    // generic arguments.
    let next = format!("{pad}    {ty}{suffix}");
    if !prefix.trim().is_empty() && next.len() <= 100 {
        return format!("{pad}{}\n{next}", prefix.trim_end());
    }
    match (ty.find('<'), ty.ends_with('>')) {
        (Some(open), true) => {
            let head = &ty[..open];
            let inner = &ty[open + 1..ty.len() - 1];
            format!(
                "{pad}{prefix}{head}<\n{}\n{pad}>{suffix}",
                type_line(indent + 4, "", inner, ",")
            )
        }
        _ => one,
    }
}

fn serde_attr(indent: usize, rename: Option<&str>, optional: bool) -> String {
    let mut args: Vec<String> = Vec::new();
    if let Some(wire) = rename {
        args.push(format!("rename = {wire:?}"));
    }
    if optional {
        args.push("default".to_string());
        args.push("skip_serializing_if = \"::std::option::Option::is_none\"".to_string());
    }
    if args.is_empty() {
        return String::new();
    }
    let line = format!("#[serde({})]", args.join(", "));
    if line.len() + indent <= 100 {
        line
    } else {
        // Broken over lines, an attribute's last argument takes no comma.
        let pad = " ".repeat(indent);
        format!(
            "#[serde(\n{pad}    {}\n{pad})]",
            args.join(&format!(",\n{pad}    "))
        )
    }
}

fn expected_keys(keys: &[String]) -> String {
    let items: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    list(
        8,
        &format!("let expected: [&str; {}] = ", keys.len()),
        &items,
        ";",
    )
}

fn keys(fields: &[FieldPlan]) -> Vec<String> {
    let mut keys: Vec<String> = fields
        .iter()
        .filter(|f| !f.optional)
        .map(|f| f.wire.clone())
        .collect();
    keys.sort();
    keys
}

fn variant(doc: &crate::model::Doc, name: &str) -> VariantPlan {
    let ident = pascal_ident(name);
    VariantPlan {
        doc: doc_lines(doc),
        rename: unraw(&ident) != name,
        wire: name.to_string(),
        ident,
    }
}

/// The identifier of an aggregate's struct: its name, unless that is one of the
/// names its module already uses.
fn aggregate_ident(name: &str) -> String {
    let ident = pascal_ident(name);
    if [
        "Command", "Event", "Status", "State", "Error", "Decide", "Evolve",
    ]
    .contains(&ident.as_str())
    {
        format!("{ident}Aggregate")
    } else {
        ident
    }
}

fn event_path(model: &Model, event: EventId) -> String {
    let e = model.event(event);
    format!(
        "{}::{}",
        contracts_module(model, e.context, Site::Service),
        pascal_ident(&e.name.name)
    )
}

/// Method names for a handler's events: `on_<event>`, qualified by context where
/// two events share a name.
fn handler_events(model: &Model, events: &[EventId]) -> Vec<HandlerEvent> {
    let methods = event_idents(
        model,
        events,
        crate::names::snake,
        |name| format!("on_{}", crate::names::snake(name)),
        |context, name| {
            format!(
                "on_{}_{}",
                crate::names::snake(context),
                crate::names::snake(name)
            )
        },
        "_",
    );
    events
        .iter()
        .zip(methods)
        .map(|(&e, method)| HandlerEvent {
            method,
            path: event_path(model, e),
            name: model.event_path(e),
        })
        .collect()
}

/// One identifier per event, all distinct: `alone(event)` when no other event of
/// the list has its identifier (`key`), else `qualified(context, event)` (events
/// of two contexts may share a name, or `HTTPDone` and `HttpDone` one identifier).
fn event_idents(
    model: &Model,
    events: &[EventId],
    key: fn(&str) -> String,
    alone: impl Fn(&str) -> String,
    qualified: impl Fn(&str, &str) -> String,
    separator: &str,
) -> Vec<String> {
    let mut count: HashMap<String, usize> = HashMap::new();
    for &e in events {
        *count.entry(key(&model.event(e).name.name)).or_default() += 1;
    }
    let names = events
        .iter()
        .map(|&e| {
            let event = model.event(e);
            if count[&key(&event.name.name)] > 1 {
                qualified(&model.context(event.context).name.name, &event.name.name)
            } else {
                alone(&event.name.name)
            }
        })
        .collect();
    distinct(names, separator)
}

/// `names` made distinct: a name met again gets the first free number after it
/// (`name_2`, `Name2`, with `separator`). Names that are distinct stay as they
/// are. Context and event names joined can meet (`Ab` + `CdHappened`, `AbCd` +
/// `Happened`), which no check of the model rules out.
fn distinct(names: Vec<String>, separator: &str) -> Vec<String> {
    let mut taken: std::collections::HashSet<String> = names.iter().cloned().collect();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    names
        .into_iter()
        .map(|name| {
            if seen.insert(name.clone()) {
                return name;
            }
            let mut n = 2;
            let mut free = format!("{name}{separator}{n}");
            while taken.contains(&free) {
                n += 1;
                free = format!("{name}{separator}{n}");
            }
            taken.insert(free.clone());
            seen.insert(free.clone());
            free
        })
        .collect()
}

fn dedup_events(refs: &[crate::model::Ref<EventId>]) -> Vec<EventId> {
    let mut out: Vec<EventId> = Vec::new();
    for r in refs {
        if !out.contains(&r.id) {
            out.push(r.id);
        }
    }
    out
}

/// Folder and package name of a context's service crate (`ordering-service`).
pub fn package(context: &crate::model::Context) -> String {
    format!("{}-service", kebab(&context.name.name))
}

/// The plan of one context; `subs` are its subscriptions, in the model's order
/// ([`Model::subscriptions`] of this context).
pub fn context_plan(
    model: &Model,
    wire: &Wire,
    envelope: &str,
    id: ContextId,
    subs: &[crate::model::Subscription],
) -> ContextPlan {
    let context = model.context(id);
    let module = snake_ident(&context.name.name);
    let package = package(context);
    let lib = package.replace('-', "_");
    let no_box = |_| false;

    let types = context
        .types
        .iter()
        .map(|&t| {
            let def = model.type_def(t);
            TypePlan {
                doc: doc_lines(&def.doc),
                ident: pascal_ident(&def.name.name),
                fields: fields(model, &def.fields, Site::Contracts, 4, &|other| {
                    reaches(model, other, t)
                }),
            }
        })
        .collect();
    let enums = context
        .enums
        .iter()
        .map(|&e| {
            let def = model.enum_def(e);
            EnumPlan {
                doc: doc_lines(&def.doc),
                ident: pascal_ident(&def.name.name),
                variants: def
                    .variants
                    .iter()
                    .map(|v| variant(&v.doc, &v.name.name))
                    .collect(),
            }
        })
        .collect();

    // Every event of the context: its aggregates' in order, then context-level ones.
    let mut event_ids: Vec<EventId> = Vec::new();
    for &a in &context.aggregates {
        event_ids.extend(model.aggregate(a).events.iter().copied());
    }
    event_ids.extend(context.events.iter().copied());
    let events: Vec<EventPlan> = event_ids
        .iter()
        .map(|&e| {
            let event = model.event(e);
            let fields = fields(model, &event.fields, Site::Contracts, 4, &no_box);
            EventPlan {
                doc: doc_lines(&event.doc),
                ident: pascal_ident(&event.name.name),
                wire: event.name.name.clone(),
                version: event.version,
                test: snake_ident(&event.name.name),
                round_trips: default_serializes(model, &event.fields),
                type_assert: macro_call(
                    8,
                    "assert_eq!",
                    &[
                        "E::EVENT_TYPE".to_string(),
                        format!("{:?}", event.name.name),
                    ],
                    ";",
                ),
                expected: expected_keys(&keys(&fields)),
                keys: keys(&fields),
                fields,
            }
        })
        .collect();

    let aggregates: Vec<AggregatePlan> = context
        .aggregates
        .iter()
        .map(|&a| aggregate_plan(model, a))
        .collect();
    let aggregate_of = |command: crate::model::CommandId| {
        let a = model.command(command).aggregate;
        let agg = model.aggregate(a);
        (snake_ident(&agg.name.name), aggregate_ident(&agg.name.name))
    };

    let policy_plan = |p: PolicyId| {
        let policy = model.policy(p);
        let events = handler_events(model, &dedup_events(&policy.when));
        let (aggregate_module, aggregate_variant, command_path, command_name, command_variant) =
            match policy.then {
                Some(then) => {
                    let (module, ident) = aggregate_of(then.id);
                    let cmd = pascal_ident(&model.command(then.id).name.name);
                    (
                        module.clone(),
                        ident,
                        format!("crate::aggregates::{module}::commands::{cmd}"),
                        model.command(then.id).name.name.clone(),
                        cmd,
                    )
                }
                None => Default::default(),
            };
        let ident = pascal_ident(&policy.name.name);
        let alias = type_line(
            4,
            &format!("pub type {ident} = "),
            &format!("::contracts::{envelope}::Issue<{command_path}>"),
            ";",
        );
        PolicyPlan {
            alias,
            name: policy.name.name.clone(),
            doc: doc_lines(&policy.doc),
            ident: pascal_ident(&policy.name.name),
            events,
            command_path,
            command_name,
            aggregate_variant,
            aggregate_module,
            command_variant,
        }
    };
    let policies: Vec<PolicyPlan> = context.policies.iter().map(|&p| policy_plan(p)).collect();

    let read_model_plan = |r: ReadModelId| {
        let rm = model.readmodel(r);
        let from = dedup_events(&rm.from);
        let events = handler_events(model, &from);
        let views = context
            .aggregates
            .iter()
            .filter_map(|&a| {
                let agg = model.aggregate(a);
                let taken: Vec<ViewEvent> = from
                    .iter()
                    .zip(&events)
                    .filter(|(e, _)| model.event(**e).owner == EventOwner::Aggregate(a))
                    .map(|(e, h)| ViewEvent {
                        call_arm: call(
                            16,
                            "",
                            &format!(
                                "crate::projections::{}::{}",
                                pascal_ident(&rm.name.name),
                                h.method
                            ),
                            &["&handlers", "self", "e", "&metadata"],
                            ";",
                        ),
                        call_if: call(
                            12,
                            "",
                            &format!(
                                "crate::projections::{}::{}",
                                pascal_ident(&rm.name.name),
                                h.method
                            ),
                            &["&handlers", "self", "e", "&metadata"],
                            ";",
                        ),
                        variant: pascal_ident(&model.event(*e).name.name),
                        method: h.method.clone(),
                    })
                    .collect();
                if taken.is_empty() {
                    return None;
                }
                let ty = format!(
                    "::cqrs_es::EventEnvelope<crate::aggregates::{}::{}>",
                    snake_ident(&agg.name.name),
                    aggregate_ident(&agg.name.name)
                );
                let one = format!("    fn update(&mut self, event: &{ty}) {{");
                let signature = if one.len() <= 100 {
                    one
                } else {
                    format!("    fn update(\n        &mut self,\n        event: &{ty},\n    ) {{")
                };
                Some(ViewPlan {
                    signature,
                    aggregate_module: snake_ident(&agg.name.name),
                    aggregate_ident: aggregate_ident(&agg.name.name),
                    all: taken.len() == agg.events.len(),
                    events: taken,
                })
            })
            .collect();
        ReadModelPlan {
            name: rm.name.name.clone(),
            doc: doc_lines(&rm.doc),
            ident: pascal_ident(&rm.name.name),
            field: snake_ident(&rm.name.name),
            fields: fields(model, &rm.fields, Site::Service, 4, &no_box),
            events,
            views,
        }
    };
    let read_models: Vec<ReadModelPlan> = context
        .readmodels
        .iter()
        .map(|&r| read_model_plan(r))
        .collect();

    // The inbox: subscribed events in subscription order, each with its handlers.
    let mut inbox_events: Vec<EventId> = Vec::new();
    for s in subs {
        if !inbox_events.contains(&s.event) {
            inbox_events.push(s.event);
        }
    }
    let variants = event_idents(
        model,
        &inbox_events,
        crate::names::pascal,
        pascal_ident,
        |context, name| {
            format!(
                "{}{}",
                crate::names::pascal(context),
                crate::names::pascal(name)
            )
        },
        "",
    );
    let tests = distinct(
        inbox_events
            .iter()
            .map(|&e| {
                let event = model.event(e);
                format!(
                    "{}_{}",
                    crate::names::snake(&model.context(event.context).name.name),
                    crate::names::snake(&event.name.name)
                )
            })
            .collect(),
        "_",
    );
    // Each subscribed event's handlers, in subscription order.
    let mut by_event: HashMap<EventId, Vec<Handler>> = HashMap::new();
    for s in subs {
        by_event.entry(s.event).or_default().push(s.handler);
    }
    let inbox = inbox_events
        .iter()
        .zip(variants.into_iter().zip(tests))
        .map(|(&e, (variant, test))| {
            let event = model.event(e);
            let handlers = by_event
                .get(&e)
                .into_iter()
                .flatten()
                .map(|handler| match *handler {
                    Handler::Policy(p) => {
                        let computed;
                        let plan = match context.policies.iter().position(|&q| q == p) {
                            Some(i) => &policies[i],
                            None => {
                                computed = policy_plan(p);
                                &computed
                            }
                        };
                        let idx = dedup_events(&model.policy(p).when)
                            .iter()
                            .position(|x| *x == e)
                            .unwrap_or(0);
                        let trait_path = format!("crate::policies::{}", plan.ident);
                        let method = plan.events[idx].method.clone();
                        InboxHandler {
                            wrap: call(
                                16,
                                "let command = ",
                                &format!(
                                    "crate::aggregates::{}::Command::{}",
                                    plan.aggregate_module, plan.command_variant
                                ),
                                &["issue.command"],
                                ";",
                            ),
                            call: call(
                                12,
                                "let issue = ",
                                &format!("{trait_path}::{method}"),
                                &["handlers", "event", "metadata"],
                                ";",
                            ),
                            is_policy: true,
                            method: plan.events[idx].method.clone(),
                            view: String::new(),
                            aggregate_variant: plan.aggregate_variant.clone(),
                            aggregate_module: plan.aggregate_module.clone(),
                            command_variant: plan.command_variant.clone(),
                            label: format!("{} <- {}", plan.name, model.event_path(e)),
                        }
                    }
                    Handler::ReadModel(r) => {
                        let rm = model.readmodel(r);
                        let computed;
                        let events = match context.readmodels.iter().position(|&q| q == r) {
                            Some(i) => &read_models[i].events,
                            None => {
                                computed = handler_events(model, &dedup_events(&rm.from));
                                &computed
                            }
                        };
                        let idx = dedup_events(&rm.from)
                            .iter()
                            .position(|x| *x == e)
                            .unwrap_or(0);
                        let trait_path =
                            format!("crate::projections::{}", pascal_ident(&rm.name.name));
                        let view = format!("&mut views.{}", snake_ident(&rm.name.name));
                        let method = events[idx].method.clone();
                        InboxHandler {
                            wrap: String::new(),
                            call: call(
                                12,
                                "",
                                &format!("{trait_path}::{method}"),
                                &["handlers", &view, "event", "metadata"],
                                ";",
                            ),
                            is_policy: false,
                            method: events[idx].method.clone(),
                            view: snake_ident(&rm.name.name),
                            aggregate_variant: String::new(),
                            aggregate_module: String::new(),
                            command_variant: String::new(),
                            label: format!("{} <- {}", rm.name.name, model.event_path(e)),
                        }
                    }
                })
                .collect();
            let handlers: Vec<InboxHandler> = handlers;
            let labels: Vec<String> = handlers.iter().map(|h| format!("{:?}", h.label)).collect();
            let expected = list(8, "let expected = vec!", &labels, ";");
            let source = wire.source(model, event.context);
            let ty = wire.event_type(model, e).to_string();
            InboxEvent {
                arm: inbox_arm(&source, &ty, &variant, envelope),
                expected,
                round_trips: default_serializes(model, &event.fields),
                policies: handlers.iter().filter(|h| h.is_policy).count(),
                test,
                variant,
                path: event_path(model, e),
                source,
                wire: ty,
                name: model.event_path(e),
                handlers,
            }
        })
        .collect();
    let mut issued: Vec<IssuedPlan> = Vec::new();
    for p in &policies {
        if !p.aggregate_variant.is_empty()
            && !issued.iter().any(|i| i.variant == p.aggregate_variant)
        {
            issued.push(IssuedPlan {
                variant: p.aggregate_variant.clone(),
                module: p.aggregate_module.clone(),
            });
        }
    }
    let has_handlers = !policies.is_empty() || !read_models.is_empty();
    let taken: Vec<String> = aggregates.iter().map(|a| a.module.clone()).collect();
    let handlers_module = free_name(&["handlers", "reactions"], &taken);
    let mut behaviour_modules: Vec<String> = aggregates.iter().map(|a| a.module.clone()).collect();
    if has_handlers {
        behaviour_modules.push(handlers_module.clone());
    }
    behaviour_modules.sort_by(|a, b| unraw(a).cmp(unraw(b)));
    let mut aggregate_modules: Vec<(String, Vec<String>)> = aggregates
        .iter()
        .map(|a| (a.module.clone(), a.doc.clone()))
        .collect();
    aggregate_modules.sort_by(|a, b| unraw(&a.0).cmp(unraw(&b.0)));
    let mut traits: Vec<String> = policies
        .iter()
        .map(|p| format!("crate::policies::{}", p.ident))
        .collect();
    traits.extend(
        read_models
            .iter()
            .map(|r| format!("crate::projections::{}", r.ident)),
    );
    traits.push("?Sized".to_string());
    let one = format!("    H: {},", traits.join(" + "));
    let bounds = if one.len() <= 100 {
        one
    } else {
        format!("    H: {},", traits.join("\n        + "))
    };
    ContextPlan {
        handlers_module,
        bounds,
        behaviour_modules,
        aggregate_modules,
        any_command_round_trips: aggregates
            .iter()
            .any(|a| a.commands.iter().any(|c| c.round_trips)),
        any_event_round_trips: events.iter().any(|e| e.round_trips),
        name: context.name.name.clone(),
        doc: doc_lines(&context.doc),
        model_use: model_use("pub use", &module),
        module,
        lib,
        package,
        source_const: {
            let one = format!("pub const SOURCE: &str = {:?};", wire.source(model, id));
            if one.len() <= 100 {
                one
            } else {
                format!(
                    "pub const SOURCE: &str =\n    {:?};",
                    wire.source(model, id)
                )
            }
        },
        source: wire.source(model, id),
        envelope: envelope.to_string(),
        types,
        enums,
        events,
        has_handlers,
        aggregates,
        policies,
        read_models,
        inbox,
        issued,
    }
}

fn aggregate_plan(model: &Model, id: AggregateId) -> AggregatePlan {
    let agg = model.aggregate(id);
    let states: Vec<VariantPlan> = agg
        .lifecycle
        .iter()
        .map(|v| variant(&v.doc, &v.name.name))
        .collect();
    let commands: Vec<CommandPlan> = agg
        .commands
        .iter()
        .map(|&c| {
            let command = model.command(c);
            let fields = fields(model, &command.fields, Site::Service, 8, &|_| false);
            let requires: Vec<String> = command
                .requires
                .iter()
                .map(|r| states[r.id].ident.clone())
                .collect();
            let rejected = if requires.is_empty() {
                Vec::new()
            } else {
                states
                    .iter()
                    .map(|s| s.ident.clone())
                    .filter(|s| !requires.contains(s))
                    .collect()
            };
            let ident = pascal_ident(&command.name.name);
            let method = snake_ident(&command.name.name);
            let keys = keys(&fields);
            let allowed = if requires.is_empty() {
                "true".to_string()
            } else {
                let states: Vec<String> = requires.iter().map(|s| format!("Status::{s}")).collect();
                format!("matches!(status, Some({}))", states.join(" | "))
            };
            CommandPlan {
                default_struct: call(
                    8,
                    "let command = ",
                    &format!("<commands::{ident} as ::std::default::Default>::default"),
                    &[],
                    ";",
                ),
                default_command: call(
                    8,
                    "let command = ",
                    &format!("Command::{ident}"),
                    &["::std::default::Default::default()"],
                    ";",
                ),
                rename: ident != command.name.name,
                guard_arm: arm(8, &format!("Command::{ident}(_)"), &allowed),
                handle_arm: arm(
                    12,
                    &format!("Command::{ident}(command)"),
                    &format!("Decide::{method}(self, command, services)?"),
                ),
                doc: doc_lines(&command.doc),
                test: bare(&method).to_string(),
                ident,
                wire: command.name.name.clone(),
                method,
                expected: expected_keys(&keys),
                round_trips: default_serializes(model, &command.fields),
                accepted_asserts: requires
                    .iter()
                    .map(|s| {
                        let guard = format!("guard(Some(Status::{s}), &command)");
                        macro_call(8, "assert_eq!", &[guard, "Ok(())".to_string()], ";")
                    })
                    .collect(),
                keys,
                fields,
                requires,
                rejected_loop: if rejected.len() < 2 {
                    String::new()
                } else {
                    let statuses: Vec<String> =
                        rejected.iter().map(|s| format!("Status::{s}")).collect();
                    list(8, "for status in ", &statuses, " {")
                },
                rejected,
            }
        })
        .collect();
    let events = agg
        .events
        .iter()
        .map(|&e| {
            let event = model.event(e);
            let method = snake_ident(&event.name.name);
            let path = event_path(model, e);
            let ident = pascal_ident(&event.name.name);
            AggregateEventPlan {
                rename: ident != event.name.name,
                evolve_decl: self::method(4, &method, &format!("event: &{path}"), ";"),
                evolve_skeleton: self::method(4, &method, &format!("_event: &{path}"), " {}"),
                doc: doc_lines(&event.doc),
                ident,
                wire: event.name.name.clone(),
                version: event.version,
                path,
                method,
                enters: event.enters.map(|s| states[s.id].ident.clone()),
            }
        })
        .collect();
    let ident = aggregate_ident(&agg.name.name);
    // The skeleton's decisions name `commands`, `Error` and `Event`; without
    // commands it has none, and unused imports would fail `clippy -D warnings`.
    let used: &[&str] = if commands.is_empty() {
        &["Decide", "Evolve"]
    } else {
        &["Decide", "Error", "Event", "Evolve"]
    };
    let mut imports: Vec<String> = used.iter().map(|s| s.to_string()).collect();
    imports.push(ident.clone());
    if !commands.is_empty() {
        imports.push("commands".to_string());
    }
    imports.sort_by(|a, b| use_order(a, b));
    let module = snake_ident(&agg.name.name);
    AggregatePlan {
        behaviour_use: use_line(&format!("crate::aggregates::{module}"), &imports),
        name: agg.name.name.clone(),
        doc: doc_lines(&agg.doc),
        file: format!("{}.rs", unraw(&module)),
        test_module: format!("{}_aggregate", bare(&module)),
        module,
        ident,
        id_field: agg.id.name.name.clone(),
        id_type: model.type_name(&agg.id.ty, agg.context),
        has_lifecycle: agg.has_lifecycle && !states.is_empty(),
        has_guard: commands.iter().any(|c| !c.requires.is_empty()),
        has_tests: commands
            .iter()
            .any(|c| c.round_trips || !c.requires.is_empty()),
        state_fields: fields(model, &agg.state, Site::Service, 4, &|_| false),
        states,
        commands,
        events,
    }
}

/// Whether the `Default` value of a record with these fields serializes. An enum
/// the model leaves without values gets a placeholder variant, its `Default`, that
/// serde never writes: a record holding one directly (not in a list or optional,
/// which default to empty) has a default that cannot be written.
fn default_serializes(model: &Model, fields: &[Field]) -> bool {
    fn placeholder(model: &Model, ty: &Type, seen: &mut Vec<crate::model::TypeId>) -> bool {
        match ty {
            Type::Enum(e) => model.enum_def(*e).variants.is_empty(),
            Type::Named(t) if !seen.contains(t) => {
                seen.push(*t);
                model
                    .type_def(*t)
                    .fields
                    .iter()
                    .any(|f| placeholder(model, &f.ty, seen))
            }
            _ => false,
        }
    }
    let mut seen = Vec::new();
    !fields.iter().any(|f| placeholder(model, &f.ty, &mut seen))
}

/// `use path::{items};` laid out as rustfmt does: on one line when it fits, else
/// the items packed into lines of at most 100 characters at four spaces.
fn use_line(path: &str, items: &[String]) -> String {
    let one = format!("use {path}::{{{}}};", items.join(", "));
    if one.len() <= 100 {
        return one;
    }
    let mut lines: Vec<String> = Vec::new();
    for item in items {
        match lines.last_mut() {
            // The line, a space, the item and its comma.
            Some(line) if line.len() + item.len() + 2 <= 100 => {
                line.push(' ');
                line.push_str(item);
                line.push(',');
            }
            _ => lines.push(format!("    {item},")),
        }
    }
    format!("use {path}::{{\n{}\n}};", lines.join("\n"))
}

/// The inbox's match arm of one subscribed event at eight spaces, laid out as
/// rustfmt does: on one line when it fits; else the pattern (broken over lines
/// when too long itself) and the body in a block when the body fits on a line of
/// its own; else the call broken after its parenthesis.
fn inbox_arm(source: &str, ty: &str, variant: &str, envelope: &str) -> String {
    let pattern = format!("({source:?}, {ty:?})");
    let arg = format!("::contracts::{envelope}::decode(&envelope)?");
    let body = format!("Event::{variant}({arg})");
    let one = format!("        {pattern} => {body},");
    if one.len() <= 100 {
        return one;
    }
    let head = if 8 + pattern.len() + " => {".len() <= 100 {
        format!("        {pattern}")
    } else {
        format!("        (\n            {source:?},\n            {ty:?},\n        )")
    };
    if 12 + body.len() <= 100 {
        format!("{head} => {{\n            {body}\n        }}")
    } else {
        format!("{head} => Event::{variant}(\n            {arg},\n        ),")
    }
}
