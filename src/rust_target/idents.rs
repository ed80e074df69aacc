//! Model names as Rust identifiers and model types as Rust types.

use crate::model::{Builtin, Doc, Model, Type, TypeId};
use crate::names::{pascal, snake};

/// Strict and reserved Rust keywords (edition 2024), escaped as raw identifiers.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// A snake_case identifier (field, module, method), raw when it is a keyword.
pub fn snake_ident(name: &str) -> String {
    escape(snake(name))
}

/// A PascalCase identifier (type, variant, trait).
pub fn pascal_ident(name: &str) -> String {
    escape(pascal(name))
}

/// Keywords that cannot be raw identifiers: an element named `Crate` gets module,
/// method or field `crate_` (`storm check` rejects fields and contexts of these
/// names; elements keep their type names, which are usable).
const NOT_RAW: &[&str] = &["crate", "self", "super", "Self"];

fn escape(ident: String) -> String {
    if NOT_RAW.contains(&ident.as_str()) {
        format!("{ident}_")
    } else if KEYWORDS.contains(&ident.as_str()) {
        format!("r#{ident}")
    } else {
        ident
    }
}

/// The identifier without its `r#`: what serde writes by default.
pub fn unraw(ident: &str) -> &str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

/// Doc comment lines (without the `///`), empty when the element has none.
///
/// The model's prose is kept as Markdown, made safe for `///`: no line starts a
/// code block (leading indentation is dropped and fences are escaped, so rustdoc
/// never runs a doc test made of prose), tabs become spaces (`tabs_in_doc_comments`),
/// characters rustc rejects in comments (bare carriage returns, bidirectional
/// overrides) are dropped, and blank lines around the text are trimmed (an
/// all-blank doc would be `empty_docs`). Markdown that only reads oddly (lazy list
/// continuations, HTML) is allowed in the generated crates' lint attributes.
pub fn doc_lines(doc: &Doc) -> Vec<String> {
    let Some(text) = doc else {
        return Vec::new();
    };
    let mut lines: Vec<String> = text.lines().map(doc_line).collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    let blank = lines.iter().take_while(|l| l.is_empty()).count();
    lines.drain(..blank);
    lines
}

fn doc_line(line: &str) -> String {
    let clean: String = line
        .chars()
        .filter(|c| !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let clean = clean.trim();
    if clean.starts_with("```") || clean.starts_with("~~~") {
        format!("\\{clean}")
    } else {
        clean.to_string()
    }
}

/// Where a type is written from: the contracts crate (`crate::ctx::T`) or a service
/// crate (`::contracts::ctx::T`).
#[derive(Clone, Copy)]
pub enum Site {
    Contracts,
    Service,
}

/// The module path of a context's contracts from `from`.
pub fn contracts_module(model: &Model, context: crate::model::ContextId, from: Site) -> String {
    let module = snake_ident(&model.context(context).name.name);
    match from {
        Site::Contracts => format!("crate::{module}"),
        Site::Service => format!("::contracts::{module}"),
    }
}

/// The Rust type of a model type. `boxed` says whether an optional value type
/// must be boxed (it contains the type being defined).
pub fn rust_type(model: &Model, ty: &Type, from: Site, boxed: &dyn Fn(TypeId) -> bool) -> String {
    match ty {
        Type::Builtin(b) => match b {
            Builtin::String => "::std::string::String".into(),
            Builtin::Int => "i64".into(),
            Builtin::Float => "f64".into(),
            Builtin::Bool => "bool".into(),
            Builtin::Decimal => "::rust_decimal::Decimal".into(),
            Builtin::Uuid => "::uuid::Uuid".into(),
            Builtin::Timestamp => "::chrono::DateTime<::chrono::Utc>".into(),
            Builtin::Date => "::chrono::NaiveDate".into(),
        },
        Type::Named(t) => {
            let def = model.type_def(*t);
            format!(
                "{}::{}",
                contracts_module(model, def.context, from),
                pascal_ident(&def.name.name)
            )
        }
        Type::Enum(e) => {
            let def = model.enum_def(*e);
            format!(
                "{}::{}",
                contracts_module(model, def.context, from),
                pascal_ident(&def.name.name)
            )
        }
        Type::List(inner) => format!(
            "::std::vec::Vec<{}>",
            rust_type(model, inner, from, &|_| false)
        ),
        Type::Optional(inner) => {
            let inner_rust = rust_type(model, inner, from, &|_| false);
            match **inner {
                Type::Named(t) if boxed(t) => {
                    format!("::std::option::Option<::std::boxed::Box<{inner_rust}>>")
                }
                _ => format!("::std::option::Option<{inner_rust}>"),
            }
        }
        // Models with unresolved names generate nothing; keep the output valid anyway.
        Type::Unknown => "::serde_json::Value".into(),
    }
}

/// Whether value type `from` reaches value type `to` through its fields (any depth).
pub fn reaches(model: &Model, from: TypeId, to: TypeId) -> bool {
    let mut seen = vec![false; model.types.len()];
    let mut stack = vec![from];
    while let Some(t) = stack.pop() {
        if std::mem::replace(&mut seen[t.index()], true) {
            continue;
        }
        for field in &model.type_def(t).fields {
            let mut refs = Vec::new();
            field.ty.refs(true, &mut refs);
            for (r, _) in refs {
                if let crate::model::TypeRef::Type(next) = r {
                    if next == to {
                        return true;
                    }
                    stack.push(next);
                }
            }
        }
    }
    false
}
