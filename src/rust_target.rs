//! `rust/`: a Cargo workspace on cqrs-es 0.5 for the whole model. One `contracts`
//! crate holds every context's value types and events (so contexts that consume
//! each other's events never form a crate cycle); one `<context>-service` crate per
//! context holds its commands, aggregates, lifecycle guard, read models, handler
//! traits and inbox. What people write by hand lives in `src/behaviour/`, written
//! once (generation gap); generated code calls it through traits without default
//! methods, so a new command, event, policy or read model is a compile error naming
//! the missing method. Rust shapes the plan ([`plan`]); templates in
//! `templates/rust/` lay it out.

mod idents;
mod plan;

use crate::generate::{Owner, Rendered};
use crate::keys::Keys;
use crate::model::{ContextId, Model};
use crate::wire::Wire;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "workspace.toml",
        include_str!("../templates/rust/workspace.toml.tera"),
    ),
    (
        "gitignore",
        include_str!("../templates/rust/gitignore.tera"),
    ),
    (
        "contracts.toml",
        include_str!("../templates/rust/contracts.toml.tera"),
    ),
    (
        "contracts_lib.rs",
        include_str!("../templates/rust/contracts_lib.rs.tera"),
    ),
    (
        "envelope.rs",
        include_str!("../templates/rust/envelope.rs.tera"),
    ),
    (
        "context.rs",
        include_str!("../templates/rust/context.rs.tera"),
    ),
    (
        "contracts_test.rs",
        include_str!("../templates/rust/contracts_test.rs.tera"),
    ),
    (
        "service.toml",
        include_str!("../templates/rust/service.toml.tera"),
    ),
    (
        "service_lib.rs",
        include_str!("../templates/rust/service_lib.rs.tera"),
    ),
    (
        "aggregate.rs",
        include_str!("../templates/rust/aggregate.rs.tera"),
    ),
    (
        "policies.rs",
        include_str!("../templates/rust/policies.rs.tera"),
    ),
    (
        "projections.rs",
        include_str!("../templates/rust/projections.rs.tera"),
    ),
    (
        "read_models.rs",
        include_str!("../templates/rust/read_models.rs.tera"),
    ),
    ("inbox.rs", include_str!("../templates/rust/inbox.rs.tera")),
    (
        "service_test.rs",
        include_str!("../templates/rust/service_test.rs.tera"),
    ),
    (
        "behaviour_aggregate.rs",
        include_str!("../templates/rust/behaviour_aggregate.rs.tera"),
    ),
    (
        "behaviour_handlers.rs",
        include_str!("../templates/rust/behaviour_handlers.rs.tera"),
    ),
];

/// What one render leaves for the next in the same process (`storm watch`): the
/// files and workspace summary of each context by its key ([`Keys`]), which
/// covers all its plan is made from, and the workspace's files by the hash of
/// the workspace plan. An edit plans and renders again only the contexts whose
/// key it changes.
#[derive(Default)]
pub struct Memo {
    contexts: HashMap<u128, (Rendered, plan::Summary)>,
    workspace: Option<(u64, Rendered)>,
}

/// Every file of `rust/`, paths relative to the output directory.
pub fn render(model: &Model, wire: &Wire) -> Rendered {
    render_with(model, wire, None, None)
}

/// The folders of `rust/` that the files of most models' contexts go into,
/// known before anything is rendered (see [`crate::writer::Staging::premake`]).
pub fn folders(model: &Model) -> Vec<PathBuf> {
    let crates = PathBuf::from("rust/crates");
    let mut folders = vec![crates.join("contracts/src")];
    for id in model.context_ids() {
        let service = crates.join(plan::package(model.context(id)));
        for sub in ["src/aggregates", "src/behaviour", "tests"] {
            folders.push(service.join(sub));
        }
    }
    folders
}

/// What takes a context's files as soon as they are rendered, on the worker
/// that rendered them (to be written while the others render).
pub type Part<'a> = &'a (dyn Fn(Rendered) + Sync);

/// [`render`], reusing what `memo` holds from an earlier render and leaving in it
/// what this one produced.
///
/// Each plan part is turned into template values once and shared by every file
/// that shows it (tera's values share arrays and maps); contexts render on
/// every core, and their files are put back in plan order. Without a memo,
/// `part` takes each context's files as soon as they are rendered, and only the
/// workspace's are returned.
pub fn render_with(
    model: &Model,
    wire: &Wire,
    memo: Option<(&mut Memo, &Keys)>,
    part: Option<Part>,
) -> Rendered {
    let part = part.filter(|_| memo.is_none());
    let mut tera = tera::Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    for (name, body) in TEMPLATES {
        tera.add_raw_template(name, body)
            .unwrap_or_else(|e| panic!("the rust template `{name}` parses: {e:?}"));
    }
    let renderer = Renderer { tera: &tera };
    let root = PathBuf::from("rust");
    let contracts = root.join("crates/contracts");
    let envelope = plan::envelope_module(model);
    let ids: Vec<ContextId> = model.context_ids().collect();
    let (mut memo, keys) = memo.unzip();
    let previous = memo
        .as_deref_mut()
        .map(|m| std::mem::take(&mut m.contexts))
        .unwrap_or_default();
    // Each context's subscriptions, found once for the whole model.
    let mut subscriptions = vec![Vec::new(); ids.len()];
    for sub in model.subscriptions() {
        subscriptions[sub.context.index()].push(sub);
    }
    // Each worker plans, renders and drops the next context (or takes it from
    // the memo), keeping what the workspace-wide files need.
    let pieces = crate::parallel::each(&ids, |&id| {
        let key = keys.map(|k| k.context(id));
        if let Some((files, summary)) = key.and_then(|k| previous.get(&k)) {
            return (key, files.clone(), summary.clone(), true);
        }
        let subs = &subscriptions[id.index()];
        let mut context = plan::context_plan(model, wire, &envelope, id, subs);
        let mut files = Rendered::new();
        renderer.context(&context, &root, &contracts, &mut files);
        if let Some(part) = part {
            part(std::mem::take(&mut files));
        }
        (key, files, plan::Summary::of(&mut context), false)
    });
    let mut previous = previous;
    let mut files = Vec::with_capacity(ids.len());
    let mut summaries = Vec::with_capacity(ids.len());
    let mut reused = 0;
    for (key, rendered, summary, from_memo) in pieces {
        if let (Some(memo), Some(key)) = (memo.as_deref_mut(), key) {
            let entry = match previous.remove(&key) {
                Some(entry) if from_memo => entry,
                _ => (rendered.clone(), summary.clone()),
            };
            memo.contexts.insert(key, entry);
        }
        reused += usize::from(from_memo);
        files.push(rendered);
        summaries.push(summary);
    }
    if memo.is_some() {
        crate::timings::note("render rust", || {
            format!("{reused} of {} contexts from the memo", ids.len())
        });
    }
    let plan = plan::plan(wire, &envelope, summaries);
    let key = fingerprint(&plan);
    let mut out = match memo.as_deref_mut().and_then(|m| m.workspace.take()) {
        Some((old, files)) if old == key => files,
        _ => workspace_files(&renderer, &plan, &root, &contracts),
    };
    if let Some(memo) = memo {
        memo.workspace = Some((key, out.clone()));
    }
    out.extend(files.into_iter().flatten());
    out
}

/// The files of the workspace as a whole: its manifests, the contracts crate's
/// root and envelope, and the round-trip tests of every event.
fn workspace_files(
    renderer: &Renderer,
    plan: &plan::Plan,
    root: &std::path::Path,
    contracts: &std::path::Path,
) -> Rendered {
    let whole = values(plan);
    vec![
        renderer.storm(root.join("Cargo.toml"), "workspace.toml", &whole),
        renderer.storm(root.join(".gitignore"), "gitignore", &whole),
        renderer.storm(contracts.join("Cargo.toml"), "contracts.toml", &whole),
        renderer.storm(contracts.join("src/lib.rs"), "contracts_lib.rs", &whole),
        renderer.storm(
            contracts.join(format!("src/{}.rs", plan.envelope)),
            "envelope.rs",
            &whole,
        ),
        renderer.storm(
            contracts.join("tests/round_trip.rs"),
            "contracts_test.rs",
            &whole,
        ),
    ]
}

/// A plan's hash: equal plans render equal files.
fn fingerprint(plan: &impl Hash) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    plan.hash(&mut hasher);
    hasher.finish()
}

/// A plan part as the values a template sees.
fn values(part: &impl serde::Serialize) -> tera::Context {
    tera::Context::from_serialize(part).expect("a rust plan part is a struct")
}

struct Renderer<'a> {
    tera: &'a tera::Tera,
}

impl Renderer<'_> {
    fn text(&self, name: &str, values: &tera::Context) -> String {
        thread_local! {
            /// What tera writes, before [`tidy`]: one buffer a thread, kept from
            /// one file to the next, instead of each file's growing from small.
            static RENDERED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let (text, overlong) = RENDERED.with_borrow_mut(|rendered| {
            rendered.clear();
            self.tera
                .render_to(name, values, &mut *rendered)
                .unwrap_or_else(|e| panic!("the rust template `{name}` renders: {e:?}"));
            let text = std::str::from_utf8(rendered)
                .unwrap_or_else(|e| panic!("the rust template `{name}` renders text: {e}"));
            tidy(text)
        });
        if overlong && name.ends_with(".rs") {
            keep_overlong(text)
        } else {
            text
        }
    }

    fn storm(&self, path: PathBuf, name: &str, values: &tera::Context) -> (PathBuf, String, Owner) {
        (path, self.text(name, values), Owner::Storm)
    }

    fn user(&self, path: PathBuf, name: &str, values: &tera::Context) -> (PathBuf, String, Owner) {
        (path, self.text(name, values), Owner::User)
    }

    /// The files of one context: its module of the contracts crate and its service.
    fn context(
        &self,
        context: &plan::ContextPlan,
        root: &std::path::Path,
        contracts: &std::path::Path,
        out: &mut Rendered,
    ) {
        let values = values(context);
        let module = idents::unraw(&context.module);
        out.push(self.storm(
            contracts.join(format!("src/{module}.rs")),
            "context.rs",
            &values,
        ));
        let service = root.join("crates").join(&context.package);
        out.push(self.storm(service.join("Cargo.toml"), "service.toml", &values));
        out.push(self.storm(service.join("src/lib.rs"), "service_lib.rs", &values));
        // Each aggregate's values as the context's values already hold them
        // (shared, not converted again).
        let aggregates = values.get("aggregates").and_then(tera::Value::as_array);
        for (i, aggregate) in context.aggregates.iter().enumerate() {
            let file = &aggregate.file;
            let mut both = tera::Context::new();
            both.insert(
                "context",
                &AggregateContext {
                    name: &context.name,
                },
            );
            match aggregates.and_then(|all| all.get(i)) {
                Some(converted) => both.insert_value("aggregate", converted.clone()),
                None => both.insert("aggregate", aggregate),
            }
            out.push(self.storm(
                service.join("src/aggregates").join(file),
                "aggregate.rs",
                &both,
            ));
            out.push(self.user(
                service.join("src/behaviour").join(file),
                "behaviour_aggregate.rs",
                &both,
            ));
        }
        if !context.policies.is_empty() {
            out.push(self.storm(service.join("src/policies.rs"), "policies.rs", &values));
        }
        if !context.read_models.is_empty() {
            out.push(self.storm(
                service.join("src/projections.rs"),
                "projections.rs",
                &values,
            ));
            out.push(self.storm(
                service.join("src/read_models.rs"),
                "read_models.rs",
                &values,
            ));
        }
        if !context.inbox.is_empty() {
            out.push(self.storm(service.join("src/inbox.rs"), "inbox.rs", &values));
        }
        if context.has_handlers {
            out.push(self.user(
                service.join(format!("src/behaviour/{}.rs", context.handlers_module)),
                "behaviour_handlers.rs",
                &values,
            ));
        }
        out.push(self.storm(
            service.join("tests/generated.rs"),
            "service_test.rs",
            &values,
        ));
    }
}

/// What an aggregate's files see of their context.
#[derive(serde::Serialize)]
struct AggregateContext<'a> {
    name: &'a str,
}

/// Layout the templates leave to Rust: no trailing spaces, no runs of blank lines,
/// no blank line after an opening or before a closing brace, `{}` for an empty
/// block, one final newline. Also says whether a line of code is wider than
/// rustfmt lays out (see [`keep_overlong`]).
fn tidy(text: &str) -> (String, bool) {
    // Templates leave many short lines: one scan finds every line break. Blank
    // lines added between items can outnumber those dropped: room for them too.
    let lines = memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1;
    let mut out: Vec<Line> = Vec::with_capacity(lines + lines / 8 + 16);
    let mut start = 0;
    let lines = memchr::memchr_iter(b'\n', text.as_bytes())
        .chain((!text.ends_with('\n')).then_some(text.len()))
        .map(|end| {
            let line = &text[start..end];
            start = end + 1;
            line.trim_end()
        });
    for line in lines {
        let line = Line::new(line);
        let prev = out.last();
        if line.text.is_empty()
            && prev.is_none_or(|p| p.text.is_empty() || p.ends_with('{') || p.ends_with('['))
        {
            continue;
        }
        let closing = line.code.starts_with('}') || line.code.starts_with(')');
        if closing && prev.is_some_and(|p| p.text.is_empty()) {
            out.pop();
        }
        let prev = out.last_mut();
        if line.code == "}"
            && let Some(open) = prev
            && !open.closed
            && open.text.ends_with(" {")
            && !open.code.starts_with(')')
            && open.text.len() < 100
        {
            open.closed = true;
            continue;
        }
        let prev = out.last();
        // Module docs end with a blank line.
        if !line.text.is_empty()
            && !line.text.starts_with("//!")
            && prev.is_some_and(|p| p.text.starts_with("//!"))
        {
            out.push(Line::new(""));
        }
        let prev = out.last();
        // Items after an item that ends at the same depth get a blank line between.
        let starts_item = ["#[", "///", "pub ", "impl ", "fn ", "mod ", "use ", "type "]
            .iter()
            .any(|p| line.code.starts_with(p));
        if starts_item
            && prev.is_some_and(|p| {
                p.ends_with('}') && p.indent() == line.indent() && !p.code.starts_with("//")
            })
        {
            out.push(Line::new(""));
        }
        out.push(line);
    }
    while out.last().is_some_and(|l| l.text.is_empty()) {
        out.pop();
    }
    // With room for the ownership marker, which goes in front in place.
    let mut text = String::with_capacity(
        out.iter()
            .map(|l| l.text.len() + 1 + usize::from(l.closed))
            .sum::<usize>()
            + 256,
    );
    let mut overlong = false;
    for line in &out {
        text.push_str(line.text);
        if line.closed {
            text.push('}');
        }
        overlong = overlong || line.text.len() + usize::from(line.closed) > MAX_WIDTH;
        text.push('\n');
    }
    if out.is_empty() {
        text.push('\n');
    }
    (text, overlong)
}

/// A line of [`tidy`]'s output: the template's line, its code without the
/// indentation, and whether an empty block's `}` was pulled up onto it.
struct Line<'a> {
    text: &'a str,
    code: &'a str,
    closed: bool,
}

impl<'a> Line<'a> {
    fn new(text: &'a str) -> Line<'a> {
        // Indentation is ASCII: skipped a byte at a time. Only a line that goes
        // on with a non-ASCII character, or a vertical tab (whitespace to
        // `char`, not to `u8`), is trimmed by the Unicode rules.
        let blank = text
            .bytes()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(text.len());
        let code = match text.as_bytes().get(blank) {
            Some(b) if !b.is_ascii() || *b == b'\x0b' => text.trim_start(),
            _ => &text[blank..],
        };
        Line {
            text,
            code,
            closed: false,
        }
    }

    fn indent(&self) -> usize {
        self.text.len() - self.code.len()
    }

    fn ends_with(&self, c: char) -> bool {
        if self.closed {
            c == '}'
        } else {
            self.text.ends_with(c)
        }
    }
}

/// The widest line rustfmt lays out (its default `max_width`).
const MAX_WIDTH: usize = 100;

/// The layout above follows rustfmt for names of ordinary length. A line of code
/// still wider than rustfmt's limit means names so long that rustfmt would break
/// lines in ways the layout does not follow, so such a file asks rustfmt to keep
/// it as written (`cargo fmt --check` passes, and the code reads the same).
/// Comment lines do not count: rustfmt leaves them as they are.
/// `text` is only looked at when a line is wider in bytes ([`tidy`] says so).
fn keep_overlong(text: String) -> String {
    let overlong = text.lines().any(|line| {
        line.len() > MAX_WIDTH
            && line.chars().count() > MAX_WIDTH
            && !line.trim_start().starts_with("//")
    });
    if !overlong {
        return text;
    }
    let lines: Vec<&str> = text.lines().collect();
    let docs = lines.iter().take_while(|l| l.starts_with("//!")).count();
    let mut out: Vec<&str> = lines[..docs].to_vec();
    if docs > 0 {
        out.push("");
    }
    out.push("// Names here are too long for rustfmt's layout: it keeps storm's.");
    out.push("#![cfg_attr(rustfmt, rustfmt::skip)]");
    let rest = &lines[docs..];
    if rest.first().is_some_and(|l| !l.is_empty()) {
        out.push("");
    }
    out.extend(rest);
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::Line;

    /// A line's code is its text without the indentation the Unicode rules see,
    /// whatever blanks (ASCII or not) it starts with.
    #[test]
    fn code_is_the_text_trimmed_at_the_start() {
        let blanks = [
            " ", "\t", "\n", "\r", "\x0b", "\x0c", "\u{a0}", "\u{3000}", "\u{2028}",
        ];
        let rests = ["", "}", "x y", "\u{e9}t\u{e9}", " "];
        for a in blanks {
            for b in blanks {
                for rest in rests {
                    let text = format!("{a}{b}{rest}");
                    assert_eq!(Line::new(&text).code, text.trim_start(), "{text:?}");
                }
            }
        }
    }
}
