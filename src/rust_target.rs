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
use crate::model::Model;
use crate::wire::Wire;
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

/// Every file of `rust/`, paths relative to the output directory.
pub fn render(model: &Model, wire: &Wire) -> Rendered {
    let plan = plan::plan(model, wire);
    let mut tera = tera::Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    for (name, body) in TEMPLATES {
        tera.add_raw_template(name, body)
            .unwrap_or_else(|e| panic!("the rust template `{name}` parses: {e:?}"));
    }
    let render = |name: &str, value: &dyn erased::Value| -> String {
        let context =
            tera::Context::from_serialize(&value.json()).expect("the rust plan serializes");
        let text = tera
            .render(name, &context)
            .unwrap_or_else(|e| panic!("the rust template `{name}` renders: {e:?}"));
        let text = tidy(&text);
        if name.ends_with(".rs") {
            keep_overlong(text)
        } else {
            text
        }
    };
    let root = PathBuf::from("rust");
    let mut out: Rendered = vec![
        (
            root.join("Cargo.toml"),
            render("workspace.toml", &plan),
            Owner::Storm,
        ),
        (
            root.join(".gitignore"),
            render("gitignore", &plan),
            Owner::Storm,
        ),
    ];
    let contracts = root.join("crates/contracts");
    out.push((
        contracts.join("Cargo.toml"),
        render("contracts.toml", &plan),
        Owner::Storm,
    ));
    out.push((
        contracts.join("src/lib.rs"),
        render("contracts_lib.rs", &plan),
        Owner::Storm,
    ));
    out.push((
        contracts.join(format!("src/{}.rs", plan.envelope)),
        render("envelope.rs", &plan),
        Owner::Storm,
    ));
    out.push((
        contracts.join("tests/round_trip.rs"),
        render("contracts_test.rs", &plan),
        Owner::Storm,
    ));
    for context in &plan.contexts {
        let module = idents::unraw(&context.module);
        out.push((
            contracts.join(format!("src/{module}.rs")),
            render("context.rs", context),
            Owner::Storm,
        ));
        let service = root.join("crates").join(&context.package);
        out.push((
            service.join("Cargo.toml"),
            render("service.toml", context),
            Owner::Storm,
        ));
        out.push((
            service.join("src/lib.rs"),
            render("service_lib.rs", context),
            Owner::Storm,
        ));
        for aggregate in &context.aggregates {
            let file = &aggregate.file;
            let both = serde_json::json!({ "context": context, "aggregate": aggregate });
            out.push((
                service.join("src/aggregates").join(file),
                render("aggregate.rs", &both),
                Owner::Storm,
            ));
            out.push((
                service.join("src/behaviour").join(file),
                render("behaviour_aggregate.rs", &both),
                Owner::User,
            ));
        }
        if !context.policies.is_empty() {
            out.push((
                service.join("src/policies.rs"),
                render("policies.rs", context),
                Owner::Storm,
            ));
        }
        if !context.read_models.is_empty() {
            out.push((
                service.join("src/projections.rs"),
                render("projections.rs", context),
                Owner::Storm,
            ));
            out.push((
                service.join("src/read_models.rs"),
                render("read_models.rs", context),
                Owner::Storm,
            ));
        }
        if !context.inbox.is_empty() {
            out.push((
                service.join("src/inbox.rs"),
                render("inbox.rs", context),
                Owner::Storm,
            ));
        }
        if context.has_handlers {
            out.push((
                service.join(format!("src/behaviour/{}.rs", context.handlers_module)),
                render("behaviour_handlers.rs", context),
                Owner::User,
            ));
        }
        out.push((
            service.join("tests/generated.rs"),
            render("service_test.rs", context),
            Owner::Storm,
        ));
    }
    out
}

mod erased {
    /// A plan part the templates can see.
    pub trait Value {
        fn json(&self) -> serde_json::Value;
    }

    impl<T: serde::Serialize> Value for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).expect("the rust plan serializes")
        }
    }
}

/// Layout the templates leave to Rust: no trailing spaces, no runs of blank lines,
/// no blank line after an opening or before a closing brace, `{}` for an empty
/// block, one final newline.
fn tidy(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim_end) {
        let prev = out.last().map(String::as_str);
        if line.is_empty()
            && prev.is_none_or(|p| p.is_empty() || p.ends_with('{') || p.ends_with('['))
        {
            continue;
        }
        let closing = line.trim_start().starts_with('}') || line.trim_start().starts_with(')');
        if closing && prev.is_some_and(str::is_empty) {
            out.pop();
        }
        let prev = out.last().map(String::as_str);
        if line.trim_start() == "}"
            && prev.is_some_and(|p| {
                p.ends_with(" {") && !p.trim_start().starts_with(')') && p.len() < 100
            })
        {
            if let Some(open) = out.last_mut() {
                open.push('}');
            }
            continue;
        }
        // Module docs end with a blank line.
        if !line.is_empty()
            && !line.starts_with("//!")
            && prev.is_some_and(|p| p.starts_with("//!"))
        {
            out.push(String::new());
        }
        let prev = out.last().map(String::as_str);
        // Items after an item that ends at the same depth get a blank line between.
        let indent = line.len() - line.trim_start().len();
        let starts_item = ["#[", "///", "pub ", "impl ", "fn ", "mod ", "use ", "type "]
            .iter()
            .any(|p| line[indent..].starts_with(p));
        if starts_item
            && prev.is_some_and(|p| {
                p.ends_with('}')
                    && p.len() - p.trim_start().len() == indent
                    && !p.trim_start().starts_with("//")
            })
        {
            out.push(String::new());
        }
        out.push(line.to_string());
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// The widest line rustfmt lays out (its default `max_width`).
const MAX_WIDTH: usize = 100;

/// The layout above follows rustfmt for names of ordinary length. A line of code
/// still wider than rustfmt's limit means names so long that rustfmt would break
/// lines in ways the layout does not follow, so such a file asks rustfmt to keep
/// it as written (`cargo fmt --check` passes, and the code reads the same).
/// Comment lines do not count: rustfmt leaves them as they are.
fn keep_overlong(text: String) -> String {
    let overlong = text
        .lines()
        .any(|line| !line.trim_start().starts_with("//") && line.chars().count() > MAX_WIDTH);
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
