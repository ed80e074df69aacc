//! Text to syntax tree. Parsing never fails: it returns what it could read and
//! reports every malformed item, so that one run shows every syntax error.
//! pest's pairs stay inside this module.

use crate::ast::*;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::{FileId, Span};
use pest::Parser;
use pest::error::InputLocation;
use pest::iterators::Pair;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/storm.pest"]
struct StormParser;

/// How deep brackets and braces may nest. Far beyond any real model, and low enough
/// that no recursive pass over the tree can exhaust the stack.
pub const MAX_NESTING: usize = 64;

pub fn parse(file: FileId, text: &str, diags: &mut Diagnostics) -> File {
    if let Some(offset) = too_deep(text) {
        diags.push(
            Diagnostic::new(
                Code::NestingTooDeep,
                Span::new(file, offset, offset + 1),
                format!("brackets nested more than {MAX_NESTING} levels deep"),
            )
            .label("too deep")
            .help("no model needs this much nesting; introduce a named `type` for the inner part"),
        );
        return File::default();
    }
    let p = Parse { file, text };
    // A large file is parsed in pieces (runs of whole top-level blocks) on every
    // core, each thread taking the next piece when done. Small pieces keep pest's
    // token queue small, so each thread reuses its memory rather than faulting in
    // fresh pages for one huge queue. A piece with any problem sends the whole
    // file through the one-piece parse, so that recovery and messages are exactly
    // those of a sequential parse.
    let pieces = split_top_level(text);
    if pieces.len() > 1 {
        let parsed = crate::parallel::each(&pieces, |&(start, end)| {
            let mut problems = Diagnostics::default();
            let piece = p.parse_piece(start, end, &mut problems);
            problems.list.is_empty().then_some(piece)
        });
        if let Some(parsed) = parsed.into_iter().collect::<Option<Vec<File>>>() {
            let mut out = File::default();
            for piece in parsed {
                out.contexts.extend(piece.contexts);
                out.context_maps.extend(piece.context_maps);
            }
            return out;
        }
    }
    p.parse_piece(0, text.len(), diags)
}

/// Where each top-level block ends (just after its `}`), or `None` when the
/// braces do not balance.
fn block_ends(text: &str) -> Option<Vec<usize>> {
    let mut ends = Vec::new();
    let mut depth = 0i64;
    for (at, b) in brackets(text) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
                if depth == 0 {
                    ends.push(at + 1);
                }
            }
            _ => {}
        }
    }
    (depth == 0).then_some(ends)
}

/// What parsing left for the next parse in the same process (`storm watch`):
/// each top-level block that parsed without a problem, by the hash of its text
/// (doc comments and blank lines before it included), with where it stood.
#[derive(Default)]
pub struct Memo {
    blocks: HashMap<u64, (u32, File)>,
}

/// [`parse`], reusing the blocks `memo` holds from an earlier parse (moved to
/// where their text stands now) and parsing the others on every core. Any
/// problem, or a file that does not split into blocks, sends the whole file
/// through [`parse`], so that messages are exactly the same.
pub fn parse_with(file: FileId, text: &str, diags: &mut Diagnostics, memo: &mut Memo) -> File {
    let previous = std::mem::take(&mut memo.blocks);
    let blocks = match block_ends(text) {
        Some(ends) if too_deep(text).is_none() => {
            let starts = std::iter::once(0).chain(ends.iter().copied());
            let ends = ends.iter().copied().chain(std::iter::once(text.len()));
            starts.zip(ends).collect::<Vec<(usize, usize)>>()
        }
        _ => return parse(file, text, diags),
    };
    let hash = |range: (usize, usize)| {
        let mut hasher = std::hash::DefaultHasher::new();
        text[range.0..range.1].hash(&mut hasher);
        hasher.finish()
    };
    let p = Parse { file, text };
    let parsed: Vec<Option<(u64, File)>> = crate::parallel::runs(&blocks, |blocks| {
        blocks
            .iter()
            .map(|&(start, end)| {
                let key = hash((start, end));
                if let Some((at, block)) = previous.get(&key) {
                    let mut block = block.clone();
                    block.relocate(file, start as i64 - i64::from(*at));
                    return Some((key, block));
                }
                let mut problems = Diagnostics::default();
                let block = p.parse_piece(start, end, &mut problems);
                problems.list.is_empty().then_some((key, block))
            })
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    if parsed.iter().any(Option::is_none) {
        return parse(file, text, diags);
    }
    let mut out = File::default();
    for (&(start, _), (key, block)) in blocks.iter().zip(parsed.into_iter().flatten()) {
        out.contexts.extend(block.contexts.iter().cloned());
        out.context_maps.extend(block.context_maps.iter().cloned());
        memo.blocks.insert(key, (start as u32, block));
    }
    out
}

/// Below this size a file is parsed in one piece: threads would cost more.
const PARALLEL_FROM: usize = 256 * 1024;

/// About how large a piece of a large file is.
const PIECE: usize = 64 * 1024;

/// Splits a large file into pieces of about [`PIECE`] bytes, each a run of whole
/// top-level blocks. One piece when the file is small or its braces do not balance.
fn split_top_level(text: &str) -> Vec<(usize, usize)> {
    if crate::parallel::threads() < 2 || text.len() < PARALLEL_FROM {
        return vec![(0, text.len())];
    }
    let Some(ends) = block_ends(text) else {
        return vec![(0, text.len())];
    };
    let mut pieces = Vec::new();
    let mut start = 0;
    for end in ends {
        if end - start >= PIECE {
            pieces.push((start, end));
            start = end;
        }
    }
    pieces.push((start, text.len()));
    pieces.retain(|(a, b)| b > a);
    pieces
}

impl Parse<'_> {
    fn parse_piece(&self, start: usize, end: usize, diags: &mut Diagnostics) -> File {
        let text = &self.text[start..end];
        match StormParser::parse(Rule::file, text) {
            Ok(mut pairs) => {
                let mut out = File::default();
                if let Some(file_pair) = pairs.next() {
                    self.file(file_pair, start, &mut out, diags);
                }
                out
            }
            Err(error) => {
                let mut d = self.error(&error, start);
                // A string left open to the end of its line swallows the brackets
                // after it, and the file then fails far below: the string is the news.
                if let Some(open) = unclosed_strings(text).map(|at| at + start).find(|&at| {
                    let line_end = self.text[at..]
                        .find('\n')
                        .map_or(self.text.len(), |i| at + i);
                    at < d.span().start as usize
                        && self.text[at..line_end].contains(['{', '}', '[', ']'])
                }) {
                    diags.push(self.unclosed_string(open));
                    return File::default();
                }
                if d.span().start as usize >= self.text.trim_end().len()
                    && let Some(open) = unclosed_brace(self.text)
                {
                    d = d.with(
                        Span::new(self.file, open, open + 1),
                        "this `{` is never closed",
                    );
                }
                diags.push(d);
                File::default()
            }
        }
    }
}

/// The brackets of a text that are not inside a comment or a string, with their
/// offsets: what the scans before parsing (nesting, pieces, unclosed braces) need.
fn brackets(text: &str) -> impl Iterator<Item = (usize, u8)> + '_ {
    let bytes = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let at = i;
            i += 1;
            match bytes[at] {
                b'/' if bytes.get(at + 1) == Some(&b'/') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b'"' => {
                    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                        i += 1;
                    }
                    i += 1;
                }
                b @ (b'{' | b'}' | b'[' | b']' | b'(' | b')') => return Some((at, b)),
                _ => {}
            }
        }
        None
    })
}

/// The `{` that most likely lacks its `}` when a file ends inside a block: the
/// first whose matching `}` (by counting) sits at another indentation, else the
/// outermost one left open.
fn unclosed_brace(text: &str) -> Option<usize> {
    let indent = |at: usize| {
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        text[line_start..].len() - text[line_start..].trim_start().len()
    };
    let mut stack: Vec<usize> = Vec::new();
    let mut mismatched: Option<usize> = None;
    for (at, b) in brackets(text) {
        match b {
            b'{' => stack.push(at),
            b'}' => {
                if let Some(open) = stack.pop() {
                    let same_line = !text[open..at].contains('\n');
                    if !same_line && indent(open) != indent(at) && mismatched.is_none() {
                        mismatched = Some(open);
                    }
                }
            }
            _ => {}
        }
    }
    mismatched.or(stack.first().copied())
}

/// The offset of the first bracket nested deeper than [`MAX_NESTING`].
fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (at, b) in brackets(text) {
        if matches!(b, b'{' | b'[' | b'(') {
            depth += 1;
            if depth > MAX_NESTING {
                return Some(at);
            }
        } else {
            depth = depth.saturating_sub(1);
        }
    }
    None
}

/// Where a malformed item was found, which decides what could have stood there.
#[derive(Clone, Copy, PartialEq)]
enum Level {
    Top,
    Context,
    Aggregate,
}

struct Parse<'t> {
    file: FileId,
    text: &'t str,
}

impl<'t> Parse<'t> {
    fn span(&self, pair: &Pair<'_, Rule>, offset: usize) -> Span {
        let s = pair.as_span();
        Span::new(self.file, s.start() + offset, s.end() + offset)
    }

    fn file(&self, pair: Pair<'_, Rule>, offset: usize, out: &mut File, diags: &mut Diagnostics) {
        for item in pair.into_inner() {
            match item.as_rule() {
                Rule::context => out.contexts.push(self.context(item, offset, diags)),
                Rule::contextmap => out.context_maps.push(self.contextmap(item, offset, diags)),
                Rule::bad_top => {
                    if let Some(parsed) = self.recover(&item, offset, Level::Top, diags) {
                        match parsed {
                            Recovered::Context(c) => out.contexts.push(c),
                            Recovered::ContextMap(m) => out.context_maps.push(m),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn ident(&self, pair: Pair<'_, Rule>, offset: usize) -> Ident {
        // Role rules (`event_name`, ...) wrap a single `name` or `ident`.
        let span = self.span(&pair, offset);
        Ident {
            name: pair.as_str().to_string(),
            span,
        }
    }

    fn qname(&self, pair: Pair<'_, Rule>, offset: usize) -> QName {
        let span = self.span(&pair, offset);
        let text = pair.as_str();
        let part = |start: usize, end: usize| Ident {
            name: text[start..end].to_string(),
            span: Span::new(
                self.file,
                span.start as usize + start,
                span.start as usize + end,
            ),
        };
        match text.find('.') {
            Some(dot) => QName {
                context: Some(part(0, dot)),
                name: part(dot + 1, text.len()),
                span,
            },
            None => QName {
                context: None,
                name: part(0, text.len()),
                span,
            },
        }
    }

    fn docs(&self, pair: Pair<'_, Rule>) -> Doc {
        let lines: Vec<&str> = pair
            .into_inner()
            .filter_map(|d| d.into_inner().next())
            .map(|t| {
                let t = t.as_str();
                t.strip_prefix(' ').unwrap_or(t).trim_end()
            })
            .collect();
        if lines.is_empty() {
            None
        } else {
            Some(lines.join("\n"))
        }
    }

    fn context(&self, pair: Pair<'_, Rule>, offset: usize, diags: &mut Diagnostics) -> Context {
        let span = self.span(&pair, offset);
        let mut doc = None;
        let mut name = None;
        let mut items = Vec::new();
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::docs => doc = self.docs(child),
                Rule::context_name => name = Some(self.ident(child, offset)),
                Rule::bad_item => {
                    if let Some(Recovered::Item(item)) =
                        self.recover(&child, offset, Level::Context, diags)
                    {
                        items.push(item);
                    }
                }
                _ => {
                    if let Some(item) = self.item(child, offset, diags) {
                        items.push(item);
                    }
                }
            }
        }
        Context {
            doc,
            name: name.expect("grammar: a context has a name"),
            items,
            span,
        }
    }

    fn item(&self, pair: Pair<'_, Rule>, offset: usize, diags: &mut Diagnostics) -> Option<Item> {
        Some(match pair.as_rule() {
            Rule::actor => {
                let (doc, mut rest) = self.split_docs(pair);
                Item::Actor(Actor {
                    doc,
                    name: self.ident(self.next_of(&mut rest, Rule::actor_name), offset),
                })
            }
            Rule::external => {
                let (doc, mut rest) = self.split_docs(pair);
                let name = self.ident(self.next_of(&mut rest, Rule::external_name), offset);
                let emits = rest
                    .find(|p| p.as_rule() == Rule::event_list)
                    .map(|l| self.event_list(l, offset))
                    .unwrap_or_default();
                Item::External(External { doc, name, emits })
            }
            Rule::type_def => {
                let (doc, mut rest) = self.split_docs(pair);
                let name = self.ident(self.next_of(&mut rest, Rule::type_name), offset);
                let fields = self.fields(self.next_of(&mut rest, Rule::fields), offset);
                Item::Type(TypeDef { doc, name, fields })
            }
            Rule::enum_def => {
                let (doc, mut rest) = self.split_docs(pair);
                let name = self.ident(self.next_of(&mut rest, Rule::enum_name), offset);
                let variants = rest
                    .filter(|p| p.as_rule() == Rule::variant)
                    .map(|v| self.variant(v, offset))
                    .collect();
                Item::Enum(EnumDef {
                    doc,
                    name,
                    variants,
                })
            }
            Rule::aggregate => Item::Aggregate(self.aggregate(pair, offset, diags)),
            Rule::event => Item::Event(self.event(pair, offset)),
            Rule::policy => {
                let (doc, mut rest) = self.split_docs(pair);
                let name = self.ident(self.next_of(&mut rest, Rule::policy_name), offset);
                let when = self.event_list(self.next_of(&mut rest, Rule::event_list), offset);
                let then = self.qname(self.next_of(&mut rest, Rule::command_ref), offset);
                Item::Policy(Policy {
                    doc,
                    name,
                    when,
                    then,
                })
            }
            Rule::readmodel => {
                let (doc, mut rest) = self.split_docs(pair);
                let name = self.ident(self.next_of(&mut rest, Rule::readmodel_name), offset);
                let from = self.event_list(self.next_of(&mut rest, Rule::event_list), offset);
                let fields = rest
                    .find(|p| p.as_rule() == Rule::fields)
                    .map(|f| self.fields(f, offset))
                    .unwrap_or_default();
                Item::ReadModel(ReadModel {
                    doc,
                    name,
                    from,
                    fields,
                })
            }
            Rule::hotspot => Item::Hotspot(self.hotspot(pair, offset)),
            _ => return None,
        })
    }

    fn split_docs<'p>(
        &self,
        pair: Pair<'p, Rule>,
    ) -> (Doc, impl Iterator<Item = Pair<'p, Rule>> + use<'p, 't>) {
        let mut inner = pair.into_inner().peekable();
        let doc = match inner.peek() {
            Some(p) if p.as_rule() == Rule::docs => inner.next().and_then(|d| self.docs(d)),
            _ => None,
        };
        (doc, inner)
    }

    fn next_of<'p>(
        &self,
        rest: &mut impl Iterator<Item = Pair<'p, Rule>>,
        rule: Rule,
    ) -> Pair<'p, Rule> {
        rest.find(|p| p.as_rule() == rule)
            .unwrap_or_else(|| panic!("grammar: expected {rule:?}"))
    }

    fn variant(&self, pair: Pair<'_, Rule>, offset: usize) -> Variant {
        let (doc, mut rest) = self.split_docs(pair);
        let name = rest.next().expect("grammar: a variant has a name");
        Variant {
            doc,
            name: self.ident(name, offset),
        }
    }

    fn event_list(&self, pair: Pair<'_, Rule>, offset: usize) -> Vec<QName> {
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::event_ref)
            .map(|p| self.qname(p, offset))
            .collect()
    }

    fn fields(&self, pair: Pair<'_, Rule>, offset: usize) -> Vec<Field> {
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::field)
            .map(|f| {
                let (doc, mut rest) = self.split_docs(f);
                let name = self.ident(self.next_of(&mut rest, Rule::field_name), offset);
                let ty = self.type_expr(self.next_of(&mut rest, Rule::type_expr), offset);
                Field { doc, name, ty }
            })
            .collect()
    }

    /// The span of a pair from after its doc comments to the end of its last
    /// child, and of that child's last child, down to a pair without any: rules
    /// that end in an optional part also hold the whitespace (and comments)
    /// pest skipped before trying it, and so do rules that end in such a rule
    /// (`id key: String` ends in a type, which may end in `?`).
    fn tight_span(&self, pair: &Pair<'_, Rule>, offset: usize) -> Span {
        let mut span = self.span(pair, offset);
        if let Some(first) = pair
            .clone()
            .into_inner()
            .find(|p| p.as_rule() != Rule::docs)
        {
            span.start = (first.as_span().start() + offset) as u32;
        }
        let mut last = pair.clone();
        while let Some(child) = last.clone().into_inner().next_back() {
            last = child;
        }
        span.end = (last.as_span().end() + offset) as u32;
        span
    }

    fn type_expr(&self, pair: Pair<'_, Rule>, offset: usize) -> TypeExpr {
        let span = self.tight_span(&pair, offset);
        let mut inner = pair.into_inner();
        let base = inner.next().expect("grammar: a type has a base");
        let base_span = self.span(&base, offset);
        let kind = match base.as_rule() {
            Rule::list_type => {
                let element = base
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::type_expr)
                    .expect("grammar: a list has an element type");
                TypeExprKind::List(Box::new(self.type_expr(element, offset)))
            }
            _ => TypeExprKind::Named(self.qname(base, offset)),
        };
        if inner.any(|p| p.as_rule() == Rule::optional) {
            TypeExpr {
                kind: TypeExprKind::Optional(Box::new(TypeExpr {
                    kind,
                    span: base_span,
                })),
                span,
            }
        } else {
            TypeExpr { kind, span }
        }
    }

    fn aggregate(&self, pair: Pair<'_, Rule>, offset: usize, diags: &mut Diagnostics) -> Aggregate {
        let (doc, rest) = self.split_docs(pair);
        let mut agg = Aggregate {
            doc,
            name: Ident {
                name: String::new(),
                span: Span::new(self.file, 0, 0),
            },
            ids: vec![],
            lifecycles: vec![],
            states: vec![],
            commands: vec![],
            events: vec![],
            hotspots: vec![],
        };
        for child in rest {
            match child.as_rule() {
                Rule::aggregate_name => agg.name = self.ident(child, offset),
                Rule::bad_item => {
                    if let Some(recovered) = self.recover(&child, offset, Level::Aggregate, diags) {
                        self.aggregate_item(&mut agg, recovered);
                    }
                }
                Rule::id_decl
                | Rule::lifecycle
                | Rule::state_decl
                | Rule::command
                | Rule::event
                | Rule::hotspot => {
                    let item = self.aggregate_part(child, offset);
                    self.aggregate_item(&mut agg, item);
                }
                _ => {}
            }
        }
        agg
    }

    fn aggregate_item(&self, agg: &mut Aggregate, item: Recovered) {
        match item {
            Recovered::Id(i) => agg.ids.push(i),
            Recovered::Lifecycle(l) => agg.lifecycles.push(l),
            Recovered::State(s) => agg.states.push(s),
            Recovered::Command(c) => agg.commands.push(c),
            Recovered::Item(Item::Event(e)) => agg.events.push(e),
            Recovered::Item(Item::Hotspot(h)) => agg.hotspots.push(h),
            _ => {}
        }
    }

    fn aggregate_part(&self, pair: Pair<'_, Rule>, offset: usize) -> Recovered {
        let span = self.tight_span(&pair, offset);
        match pair.as_rule() {
            Rule::id_decl => {
                let (doc, mut rest) = self.split_docs(pair);
                let name = self.ident(self.next_of(&mut rest, Rule::field_name), offset);
                let ty = self.type_expr(self.next_of(&mut rest, Rule::type_expr), offset);
                Recovered::Id(IdDecl {
                    doc,
                    name,
                    ty,
                    span,
                })
            }
            Rule::lifecycle => {
                let (_, rest) = self.split_docs(pair);
                Recovered::Lifecycle(Lifecycle {
                    states: rest
                        .filter(|p| p.as_rule() == Rule::state)
                        .map(|s| self.variant(s, offset))
                        .collect(),
                    span,
                })
            }
            Rule::state_decl => {
                let (_, mut rest) = self.split_docs(pair);
                Recovered::State(StateDecl {
                    fields: self.fields(self.next_of(&mut rest, Rule::fields), offset),
                    span,
                })
            }
            Rule::command => Recovered::Command(self.command(pair, offset)),
            Rule::event => Recovered::Item(Item::Event(self.event(pair, offset))),
            _ => Recovered::Item(Item::Hotspot(self.hotspot(pair, offset))),
        }
    }

    fn command(&self, pair: Pair<'_, Rule>, offset: usize) -> Command {
        let span = self.tight_span(&pair, offset);
        let (doc, rest) = self.split_docs(pair);
        let mut command = Command {
            doc,
            name: Ident {
                name: String::new(),
                span,
            },
            by: None,
            requires: vec![],
            fields: vec![],
            emits: vec![],
            span,
        };
        for child in rest {
            match child.as_rule() {
                Rule::command_name => command.name = self.ident(child, offset),
                Rule::actor_ref => command.by = Some(self.qname(child, offset)),
                Rule::requires => {
                    command.requires = child
                        .into_inner()
                        .filter(|p| p.as_rule() == Rule::state_ref)
                        .map(|p| self.ident(p, offset))
                        .collect()
                }
                Rule::fields => command.fields = self.fields(child, offset),
                Rule::emits => {
                    command.emits = child
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::event_list)
                        .map(|l| self.event_list(l, offset))
                        .unwrap_or_default()
                }
                _ => {}
            }
        }
        command
    }

    fn event(&self, pair: Pair<'_, Rule>, offset: usize) -> Event {
        let (doc, rest) = self.split_docs(pair);
        let mut event = Event {
            doc,
            name: Ident {
                name: String::new(),
                span: Span::new(self.file, 0, 0),
            },
            version: None,
            enters: None,
            fields: vec![],
        };
        for child in rest {
            match child.as_rule() {
                Rule::event_name => event.name = self.ident(child, offset),
                Rule::version => {
                    let number = self.next_of(&mut child.into_inner(), Rule::number);
                    // Too large to be a version: keep it as 0, which checks report.
                    let value = number.as_str().parse().unwrap_or(0);
                    event.version = Some((value, self.span(&number, offset)));
                }
                Rule::enters => {
                    event.enters = Some(self.ident(
                        self.next_of(&mut child.into_inner(), Rule::state_ref),
                        offset,
                    ))
                }
                Rule::fields => event.fields = self.fields(child, offset),
                _ => {}
            }
        }
        event
    }

    fn hotspot(&self, pair: Pair<'_, Rule>, offset: usize) -> Hotspot {
        let span = self.span(&pair, offset);
        let (doc, mut rest) = self.split_docs(pair);
        let string = self.next_of(&mut rest, Rule::string);
        let text = string
            .into_inner()
            .find(|p| p.as_rule() == Rule::string_text)
            .map(|t| unescape(t.as_str()))
            .unwrap_or_default();
        Hotspot { doc, text, span }
    }

    fn contextmap(
        &self,
        pair: Pair<'_, Rule>,
        offset: usize,
        diags: &mut Diagnostics,
    ) -> ContextMap {
        let span = self.span(&pair, offset);
        let (doc, rest) = self.split_docs(pair);
        let mut relations = Vec::new();
        for child in rest {
            match child.as_rule() {
                Rule::relation => relations.push(self.relation(child, offset)),
                Rule::bad_relation => {
                    let start = child.as_span().start() + offset;
                    match StormParser::parse(Rule::relation_only, child.as_str()) {
                        Err(error) => diags.push(self.error(&error, start)),
                        Ok(mut pairs) => {
                            if let Some(r) = pairs.next().and_then(|p| p.into_inner().next()) {
                                relations.push(self.relation(r, start));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        ContextMap {
            doc,
            relations,
            span,
        }
    }

    fn relation(&self, r: Pair<'_, Rule>, offset: usize) -> Relation {
        let span = self.tight_span(&r, offset);
        let (doc, rest) = self.split_docs(r);
        let mut names = vec![];
        let mut mutual = false;
        let mut patterns = vec![];
        for child in rest {
            match child.as_rule() {
                Rule::context_ref => names.push(self.ident(child, offset)),
                Rule::arrow => mutual = child.as_str() == "<->",
                Rule::pattern => patterns.push(self.ident(child, offset)),
                _ => {}
            }
        }
        let right = names.pop().expect("grammar: a relation has two sides");
        let left = names.pop().expect("grammar: a relation has two sides");
        Relation {
            doc,
            left,
            right,
            mutual,
            patterns,
            span,
        }
    }

    /// Re-parses what a catch-all rule swallowed with the rule of the item it looks
    /// like, reports why it does not parse, and returns it if it does after all.
    fn recover(
        &self,
        pair: &Pair<'_, Rule>,
        base: usize,
        level: Level,
        diags: &mut Diagnostics,
    ) -> Option<Recovered> {
        let chunk = pair.as_str();
        let offset = pair.as_span().start() + base;
        let keyword = leading_word(chunk);
        let rule = match (level, keyword) {
            (Level::Top, "context") => Rule::context_only,
            (Level::Top, "contextmap") => Rule::contextmap_only,
            (Level::Context | Level::Aggregate, "event") => Rule::event_only,
            (Level::Context | Level::Aggregate, "hotspot") => Rule::hotspot_only,
            (Level::Context, "actor") => Rule::actor_only,
            (Level::Context, "external") => Rule::external_only,
            (Level::Context, "type") => Rule::type_only,
            (Level::Context, "enum") => Rule::enum_only,
            (Level::Context, "aggregate") => Rule::aggregate_only,
            (Level::Context, "policy") => Rule::policy_only,
            (Level::Context, "readmodel") => Rule::readmodel_only,
            (Level::Aggregate, "id") => Rule::id_only,
            (Level::Aggregate, "lifecycle") => Rule::lifecycle_only,
            (Level::Aggregate, "state") => Rule::state_only,
            (Level::Aggregate, "command") => Rule::command_only,
            _ => {
                diags.push(self.misplaced(chunk, offset, level, keyword));
                return None;
            }
        };
        match StormParser::parse(rule, chunk) {
            Err(error) => {
                diags.push(self.error(&error, offset));
                None
            }
            Ok(mut pairs) => {
                let item = pairs.next()?.into_inner().next()?;
                Some(match item.as_rule() {
                    Rule::context => Recovered::Context(self.context(item, offset, diags)),
                    Rule::contextmap => Recovered::ContextMap(self.contextmap(item, offset, diags)),
                    Rule::id_decl | Rule::lifecycle | Rule::state_decl | Rule::command => {
                        self.aggregate_part(item, offset)
                    }
                    _ => Recovered::Item(self.item(item, offset, diags)?),
                })
            }
        }
    }

    fn misplaced(&self, chunk: &str, offset: usize, level: Level, keyword: &str) -> Diagnostic {
        let start =
            offset + (chunk.len() - chunk.trim_start_matches(|c: char| c.is_whitespace()).len());
        if only_doc_comments(chunk) {
            return Diagnostic::new(
                Code::Syntax,
                Span::new(self.file, start, start + 3),
                "a doc comment must come before the element it documents",
            )
            .label("documents nothing")
            .help("put the `///` lines right above an element or a field, or use `//` for a plain comment");
        }
        if keyword.is_empty() {
            // Past comments: what the item really starts with.
            let first = offset + (chunk.len() - skip_comments(chunk).len());
            if let Some(d) = self.non_ascii_name(first) {
                return d;
            }
        }
        let (start, found) = if let Some(pos) = chunk.find(keyword).filter(|_| !keyword.is_empty())
        {
            (offset + pos, format!("`{keyword}`"))
        } else {
            (start, describe_found(self.text, start))
        };
        let end = start + found_len(self.text, start);
        let span = Span::new(self.file, start, end);
        let (message, help) = match (level, keyword) {
            (Level::Context, "id" | "lifecycle" | "state" | "command") => (
                format!("`{keyword}` belongs inside an `aggregate`"),
                "move it into the aggregate it belongs to: `aggregate Name { ... }`".to_string(),
            ),
            (Level::Aggregate, "actor" | "external" | "type" | "enum" | "policy" | "readmodel") => (
                format!("`{keyword}` belongs to the context, not to an aggregate"),
                "move it out of the `aggregate` block, into the enclosing `context`".to_string(),
            ),
            (Level::Top, "actor" | "external" | "type" | "enum" | "aggregate" | "event" | "policy" | "readmodel" | "hotspot" | "id" | "lifecycle" | "state" | "command") => (
                format!("`{keyword}` belongs inside a `context`"),
                "put it into a `context Name { ... }` block; if it was in one, a `}` above closes that block too early".to_string(),
            ),
            (Level::Top, _) if chunk.trim_start().starts_with('}') => (
                "this `}` closes no block".to_string(),
                "remove it, or look above for a block closed too early".to_string(),
            ),
            (Level::Top, _) => (
                format!("expected `context` or `contextmap`, found {found}"),
                "a model file holds `context Name { ... }` blocks and at most one `contextmap { ... }`"
                    .to_string(),
            ),
            (_, _) if chunk.trim_start().starts_with("///") => (
                "a doc comment must come before the element it documents".to_string(),
                "put the `///` lines right above an element or a field, or use `//` for a plain comment"
                    .to_string(),
            ),
            (Level::Context, _) => (
                format!("expected a context element, found {found}"),
                "a context holds `actor`, `external`, `type`, `enum`, `aggregate`, `event`, `policy`, `readmodel` and `hotspot`".to_string(),
            ),
            (Level::Aggregate, _) => (
                format!("expected an aggregate element, found {found}"),
                "an aggregate holds `id`, `lifecycle`, `state`, `command`, `event` and `hotspot`"
                    .to_string(),
            ),
        };
        let help = if is_invisible(self.text[start..].chars().next()) {
            INVISIBLE_HELP.to_string()
        } else {
            help
        };
        Diagnostic::new(Code::Syntax, span, message)
            .label("not expected here")
            .help(help)
    }

    /// A pest error as a diagnostic in words: what was expected at the furthest point.
    fn error(&self, error: &pest::error::Error<Rule>, offset: usize) -> Diagnostic {
        let pos = offset
            + match error.location {
                InputLocation::Pos(p) => p,
                InputLocation::Span((s, _)) => s,
            };
        let expected = match &error.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } => {
                if positives.contains(&Rule::string_end)
                    && let Some(open) = self.string_open_before(pos)
                {
                    return self.unclosed_string(open);
                }
                if positives.contains(&Rule::string_end) && self.text[pos..].starts_with('\\') {
                    return self.unknown_escape(pos);
                }
                expected_words(positives)
            }
            pest::error::ErrorVariant::CustomError { message } => message.clone(),
        };
        if let Some(d) = self.non_ascii_name(pos) {
            return d;
        }
        let found = describe_found(self.text, pos);
        let end = pos + found_len(self.text, pos);
        let help = if is_invisible(self.text[pos..].chars().next()) {
            INVISIBLE_HELP.to_string()
        } else {
            help_for(&expected, &found, last_keyword(&self.text[..pos]))
        };
        Diagnostic::new(
            Code::Syntax,
            Span::new(self.file, pos, end),
            format!("expected {expected}, found {found}"),
        )
        .label(format!("expected {expected}"))
        .help(help)
    }

    /// A backslash in a string that starts none of the escapes storm reads.
    fn unknown_escape(&self, pos: usize) -> Diagnostic {
        let len = self.text[pos + 1..]
            .chars()
            .next()
            .filter(|c| !matches!(c, '\n' | '\r'))
            .map_or(1, |c| 1 + c.len_utf8());
        let escape = &self.text[pos..pos + len];
        Diagnostic::new(
            Code::Syntax,
            Span::new(self.file, pos, pos + len),
            format!("`{escape}` is not an escape storm knows"),
        )
        .label("unknown escape")
        .help("in a string, write `\\\"` for a quote, `\\\\` for a backslash, `\\n` for a new line and `\\t` for a tab")
    }

    /// A string that runs to the end of its line, pointed at where it opens.
    fn unclosed_string(&self, open: usize) -> Diagnostic {
        let line_end = self.text[open..]
            .find(['\n', '\r'])
            .map_or(self.text.len(), |i| open + i);
        Diagnostic::new(
            Code::Syntax,
            Span::new(self.file, open, open + 1),
            "this string is not closed: expected a closing `\"` before the end of the line",
        )
        .label("the string opens here")
        .with(
            Span::new(self.file, line_end, line_end),
            "expected a closing `\"`",
        )
        .help("close the string with `\"` on the same line; write `\\\"` for a quote inside it")
    }

    /// Where the string open at `pos` (on the same line) starts.
    fn string_open_before(&self, pos: usize) -> Option<usize> {
        let line_start = self.text[..pos].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[pos..]
            .find('\n')
            .map_or(self.text.len(), |i| pos + i);
        unclosed_strings(&self.text[line_start..line_end])
            .map(|at| at + line_start)
            .find(|&at| at < pos)
    }

    /// A name written with letters outside ASCII (`Straße`), when one is at `pos`.
    fn non_ascii_name(&self, pos: usize) -> Option<Diagnostic> {
        let c = self.text.get(pos..)?.chars().next()?;
        if c.is_ascii() || !c.is_alphanumeric() {
            return None;
        }
        let is_name = |c: char| c.is_alphanumeric() || c == '_';
        let start = self.text[..pos]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| c.is_ascii_alphanumeric() || c == '_')
            .last()
            .map_or(pos, |(i, _)| i);
        let end = self.text[pos..]
            .find(|c: char| !is_name(c))
            .map_or(self.text.len(), |i| pos + i);
        let word: String = self.text[start..end].chars().take(40).collect();
        Some(
            Diagnostic::new(
                Code::Syntax,
                Span::new(self.file, pos, pos + c.len_utf8()),
                format!("`{word}` is not a valid name: `{c}` is not an ASCII letter"),
            )
            .label("not an ASCII letter")
            .help(NON_ASCII_HELP),
        )
    }
}

/// What a catch-all rule turned out to hold once re-parsed.
enum Recovered {
    Context(Context),
    ContextMap(ContextMap),
    Item(Item),
    Id(IdDecl),
    Lifecycle(Lifecycle),
    State(StateDecl),
    Command(Command),
}

/// The first word of a chunk, past doc comments, comments and whitespace.
fn leading_word(chunk: &str) -> &str {
    let rest = skip_comments(chunk);
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// A chunk past leading whitespace, comments and doc comments.
fn skip_comments(chunk: &str) -> &str {
    let mut rest = chunk;
    loop {
        rest = rest.trim_start();
        if rest.starts_with("//") {
            rest = rest.find('\n').map_or("", |i| &rest[i..]);
        } else {
            return rest;
        }
    }
}

/// Whether a chunk holds doc comments and nothing else.
fn only_doc_comments(chunk: &str) -> bool {
    let trimmed = chunk.trim_start();
    trimmed.starts_with("///")
        && trimmed
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with("//"))
}

/// The offsets of the strings in a text that are still open when their line ends,
/// outside comments.
fn unclosed_strings(text: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let at = i;
            i += 1;
            match bytes[at] {
                b'/' if bytes.get(at + 1) == Some(&b'/') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b'"' => loop {
                    match bytes.get(i) {
                        None | Some(b'\n' | b'\r') => return Some(at),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => i += 2,
                        Some(_) => i += 1,
                    }
                },
                _ => {}
            }
        }
        None
    })
}

const NON_ASCII_HELP: &str = "names are ASCII letters, digits and `_`, starting with a letter: spell the name in ASCII (`Strasse`, not `Straße`); doc comments and hotspots may hold any text";

const INVISIBLE_HELP: &str = "remove the invisible character: a model is plain text (tabs, spaces and newlines between words)";

/// Whether a character is one a message cannot show as it is: a control
/// character, or one that takes no room on screen.
fn is_invisible(c: Option<char>) -> bool {
    c.is_some_and(|c| {
        (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
    })
}

fn describe_found(text: &str, pos: usize) -> String {
    if pos >= text.len() {
        return "end of file".to_string();
    }
    let len = found_len(text, pos);
    let token = &text[pos..pos + len];
    match token.chars().next() {
        Some('\n') | Some('\r') => "end of line".to_string(),
        Some(c) if c.is_control() => format!("the control character U+{:04X}", c as u32),
        Some(c) if is_invisible(Some(c)) => {
            format!("the invisible character U+{:04X}", c as u32)
        }
        _ => format!("`{token}`"),
    }
}

/// The last keyword before an offset within the item being read: which list or
/// name a parse error is about (`from` of a read model, `when` of a policy).
fn last_keyword(before: &str) -> &str {
    // An item is short: looking back a little is enough, and keeps every error cheap.
    let mut from = before.len().saturating_sub(1000);
    while !before.is_char_boundary(from) {
        from += 1;
    }
    let mut words = before[from..]
        .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty());
    words
        .find(|w| {
            matches!(
                *w,
                "emits" | "from" | "when" | "then" | "event" | "by" | "requires" | "enters"
            )
        })
        .unwrap_or("")
}

/// The length of the token at `pos`: a word, or one character.
fn found_len(text: &str, pos: usize) -> usize {
    let rest = match text.get(pos..) {
        Some(rest) if !rest.is_empty() => rest,
        _ => return 0,
    };
    let word = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    if word > 0 {
        word.min(40)
    } else {
        rest.chars().next().map_or(0, char::len_utf8)
    }
}

fn expected_words(rules: &[Rule]) -> String {
    let mut words: Vec<&str> = Vec::new();
    for rule in rules {
        if let Some(w) = rule_words(*rule).filter(|w| !words.contains(w)) {
            words.push(w);
        }
    }
    if words.is_empty() && rules.contains(&Rule::EOI) {
        return "end of file".to_string();
    }
    if words.is_empty() {
        return "something else".to_string();
    }
    match words.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => unreachable!("words is not empty"),
    }
}

fn rule_words(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::context_name | Rule::context_ref => "a context name",
        Rule::actor_name | Rule::actor_ref => "an actor name",
        Rule::external_name => "an external system's name",
        Rule::type_name => "a type name",
        Rule::enum_name => "an enum name",
        Rule::variant_name => "a variant name",
        Rule::aggregate_name => "an aggregate name",
        Rule::state_name | Rule::state_ref | Rule::state => "a state name",
        Rule::command_name => "a command name",
        Rule::command_ref => "a command name",
        Rule::event_name | Rule::event_ref | Rule::event_list => "an event name",
        Rule::policy_name => "a policy name",
        Rule::readmodel_name => "a read model name",
        Rule::field_name | Rule::field => "a field name",
        Rule::type_expr | Rule::named_type | Rule::list_type => "a type",
        Rule::variant => "a variant name",
        Rule::relation => "a context-map relation (`Up -> Down`)",
        Rule::arrow => "`->` or `<->`",
        Rule::pattern => "a context-map pattern",
        Rule::number => "a version number",
        Rule::string => "a quoted string",
        Rule::string_end => "a closing `\"`",
        Rule::fields => "`{`",
        Rule::requires => "`requires`",
        Rule::emits => "`emits`",
        Rule::version => "`version`",
        Rule::enters => "`enters`",
        Rule::optional => "`?`",
        Rule::context => "`context`",
        Rule::contextmap => "`contextmap`",
        Rule::actor | Rule::kw_actor => "`actor`",
        Rule::external | Rule::kw_external => "`external`",
        Rule::type_def | Rule::kw_type => "`type`",
        Rule::enum_def | Rule::kw_enum => "`enum`",
        Rule::aggregate | Rule::kw_aggregate => "`aggregate`",
        Rule::id_decl | Rule::kw_id => "`id`",
        Rule::lifecycle | Rule::kw_lifecycle => "`lifecycle`",
        Rule::state_decl | Rule::kw_state => "`state`",
        Rule::command | Rule::kw_command => "`command`",
        Rule::event | Rule::kw_event => "`event`",
        Rule::policy | Rule::kw_policy => "`policy`",
        Rule::readmodel | Rule::kw_readmodel => "`readmodel`",
        Rule::hotspot | Rule::kw_hotspot => "`hotspot`",
        Rule::kw_context => "`context`",
        Rule::kw_contextmap => "`contextmap`",
        Rule::kw_by => "`by`",
        Rule::kw_requires => "`requires`",
        Rule::kw_emits => "`emits`",
        Rule::kw_version => "`version`",
        Rule::kw_enters => "`enters`",
        Rule::kw_when => "`when`",
        Rule::kw_then => "`then`",
        Rule::kw_from => "`from`",
        Rule::p_open => "`{`",
        Rule::p_close => "`}`",
        Rule::p_colon => "`:`",
        Rule::p_comma => "`,`",
        Rule::p_lbrack => "`[`",
        Rule::p_rbrack => "`]`",
        Rule::p_quest => "`?`",
        _ => return None,
    })
}

/// The help for an error, from what was expected, what was found and the
/// keyword that came last.
fn help_for(expected: &str, found: &str, keyword: &str) -> String {
    let help = if expected.contains("a type") || expected.contains("`]`") {
        "a type is a built-in (`String`, `Int`, `Float`, `Bool`, `Decimal`, `Uuid`, `Timestamp`, `Date`), a `type` or `enum` by name (`Context.Name` for another context's), `[T]` for a list or `T?` for an optional"
    } else if expected.contains("an event name") && keyword == "from" {
        "a read model names the events it is built from, separated by commas, before its fields: `readmodel OrderSummary from OrderPlaced, OrderShipped { ... }`"
    } else if expected.contains("an event name") && keyword == "when" {
        "a policy names the events it reacts to, then the command it issues: `policy ShipPaidOrders when PaymentReceived then Shipping.ShipOrder`"
    } else if expected.contains("an event name") && keyword == "emits" {
        "name one or more events, separated by commas: `emits OrderPlaced, OrderRejected`"
    } else if expected.contains("`}`") && found == "`?`" {
        "`?` makes a type optional and comes once, right after it: `note: String?`, `tags: [String?]`"
    } else if expected.contains("`}`") {
        "every `{` needs its `}`; check that the block above is closed"
    } else if expected.contains("a field name") || expected == "`:`" {
        "a field is `name: Type`, e.g. `order_id: Uuid`"
    } else if expected.contains("closing `\"`") {
        "close the string with `\"` on the same line"
    } else if expected.contains("`context`") {
        "a model file holds `context Name { ... }` blocks and at most one `contextmap { ... }`"
    } else if expected.contains("version number") {
        "a version is a whole number from 1: `event OrderCancelled version 2`"
    } else if expected.contains("`->`")
        || expected.contains("relation")
        || expected.contains("pattern")
    {
        "a relation is `Up -> Down : pattern, ...` or `A <-> B : partnership`"
    } else if expected.contains(" name") {
        "names start with a letter and hold letters, digits and `_`; keywords such as `event` or `state` cannot be names"
    } else {
        "see the language reference (`storm explain syntax`) for the form of each element"
    };
    help.to_string()
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces of a large file, parsed apart on every core, make the same tree
    /// (spans, docs and comments between blocks included) as one parse of it.
    #[test]
    fn a_large_file_parses_in_pieces_as_in_one() {
        let examples = [
            include_str!("../examples/clinic.storm"),
            include_str!("../examples/online-store.storm"),
        ];
        let mut text = String::new();
        for round in 0.. {
            if text.len() > 3 * PARALLEL_FROM {
                break;
            }
            text.push_str(&format!("// round {round}\n\n"));
            text.push_str(examples[round % 2]);
        }
        let pieces = split_top_level(&text);
        if crate::parallel::threads() > 1 {
            assert!(pieces.len() > 10, "{} pieces", pieces.len());
        }
        let mut diags = Diagnostics::default();
        let parsed = parse(FileId(0), &text, &mut diags);
        assert!(diags.list.is_empty());
        let p = Parse {
            file: FileId(0),
            text: &text,
        };
        let whole = p.parse_piece(0, text.len(), &mut diags);
        assert!(diags.list.is_empty());
        assert!(!whole.contexts.is_empty());
        assert_eq!(format!("{parsed:?}"), format!("{whole:?}"));
    }
}
