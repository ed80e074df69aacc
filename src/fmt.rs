//! `storm fmt`: a model file in the canonical layout.
//!
//! The syntax tree drops `//` comments, so the formatter works on the text: a small
//! lexer turns it into tokens, each carrying the comments written before it; a
//! parser that follows the grammar groups the tokens into items, fields and blocks;
//! a printer lays them out. The layout depends only on the tokens, never on the
//! spaces of the input, with three exceptions that are fixed points of the layout
//! itself (so formatting twice changes nothing): blank lines between items are kept
//! (at most one), a field or variant block written on one line stays on one line
//! when it fits, and comments stay on the line they were written on.
//!
//! The canonical layout:
//! - two spaces of indentation; one item per line; `context`, `aggregate` and
//!   `contextmap` blocks always open on their header line and close on a line of
//!   their own (`{}` when empty);
//! - exactly one blank line between top-level blocks; elsewhere a blank line is kept
//!   where the input had one or more between two items, fields or comment lines, and
//!   dropped right after `{` and right before `}`;
//! - a field, variant or state block (`{ a: Int, b: String }`, `{ Placed, Paid }`)
//!   stays on one line, with `, ` between entries, when it was written on one line
//!   and the whole item still fits in [`WIDTH`] columns; otherwise it has one entry
//!   per line without commas, and the item goes on after its `}` (`} emits A, B`);
//! - reference lists (`emits`, `requires`, `when`, `from`, context-map patterns) are
//!   written with `, ` between names, on one line as long as it fits in [`WIDTH`]
//!   columns; the names that do not fit go on continuation lines, two spaces further
//!   in (and so do the item's blocks);
//! - spacing: `name: Type`, `Type?`, `[Type]`, `Context.Name`, `Up -> Down : a, b`;
//! - a `//` comment stays at the end of its line (`// c` after the token it
//!   followed) or on a line of its own, indented like what follows it; a comment
//!   inside an item's header breaks the header there: the rest of the item
//!   continues on the next line, two spaces further in, and so do its blocks;
//! - `///` doc comments are always on their own line, above what they document;
//!   the text of every comment and every string is kept verbatim, except that
//!   trailing spaces are trimmed;
//! - the file ends with one newline (an empty file stays empty).
//!
//! Formatting never changes what a model means: text with syntax errors is refused,
//! and the formatted text is parsed again and must give the same syntax tree (spans
//! aside) and the same comments in the same order, or formatting fails instead of
//! returning it.

use crate::diagnostic::Diagnostics;
use crate::source::FileId;
use crate::syntax;

/// The width that a block written on one line must fit in to stay on one line.
pub const WIDTH: usize = 100;
const INDENT: usize = 2;

const KEYWORDS: &[&str] = &[
    "contextmap",
    "context",
    "actor",
    "external",
    "type",
    "enum",
    "aggregate",
    "id",
    "lifecycle",
    "state",
    "command",
    "event",
    "policy",
    "readmodel",
    "hotspot",
    "by",
    "requires",
    "emits",
    "version",
    "enters",
    "when",
    "then",
    "from",
];

#[derive(Debug)]
pub enum FormatError {
    /// The text does not parse; these diagnostics say why. Nothing was formatted.
    Syntax(Diagnostics),
    /// storm could not lay the text out without changing it: a bug in storm.
    Internal(String),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Syntax(d) => write!(
                f,
                "the model has {} syntax error(s); fix them before formatting",
                d.list.len()
            ),
            FormatError::Internal(why) => write!(
                f,
                "storm could not format this file without changing it ({why}); \
                 this is a bug in storm, please report it with the file"
            ),
        }
    }
}

impl std::error::Error for FormatError {}

/// The text in the canonical layout. Diagnostics of a refused text refer to
/// `FileId(0)`; use [`format_as`] to give the file another id.
pub fn format(text: &str) -> Result<String, FormatError> {
    format_as(FileId(0), text)
}

/// [`format`], for text that the caller knows as `file` (its diagnostics carry it).
pub fn format_as(file: FileId, text: &str) -> Result<String, FormatError> {
    let mut diags = Diagnostics::default();
    let before = syntax::parse(file, text, &mut diags);
    if diags.has_errors() {
        return Err(FormatError::Syntax(diags));
    }
    let tokens = lex(text).map_err(FormatError::Internal)?;
    let items = Parser {
        toks: &tokens,
        pos: 0,
    }
    .file()
    .map_err(FormatError::Internal)?;
    let mut printer = Printer {
        toks: &tokens,
        out: String::new(),
    };
    printer.file(&items);
    let out = printer.out;

    // The guarantee: the same syntax tree and the same comments, in the same order.
    let mut after_diags = Diagnostics::default();
    let after = syntax::parse(file, &out, &mut after_diags);
    if after_diags.has_errors() {
        return Err(FormatError::Internal(
            "the formatted text does not parse".into(),
        ));
    }
    if without_spans(&format!("{before:?}")) != without_spans(&format!("{after:?}")) {
        return Err(FormatError::Internal(
            "the formatted text means something else".into(),
        ));
    }
    let comments = |text: &str| -> Result<Vec<String>, FormatError> {
        Ok(lex(text)
            .map_err(FormatError::Internal)?
            .iter()
            .flat_map(|t| t.comments.iter().map(|c| c.text.to_string()))
            .collect())
    };
    if comments(text)? != comments(&out)? {
        return Err(FormatError::Internal(
            "the formatted text lost or moved a comment".into(),
        ));
    }
    Ok(out)
}

/// A syntax tree's debug text without its spans, to compare two trees.
fn without_spans(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug;
    while let Some(start) = rest.find("Span {") {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        rest = rest.find('}').map_or("", |end| &rest[end + 1..]);
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------- lexer

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Word,
    Punct,
    Str,
    Eof,
}

/// A `//` or `///` comment, trailing spaces trimmed.
#[derive(Debug)]
struct Comment<'t> {
    text: &'t str,
    /// Nothing but whitespace (and commas) before it on its line.
    own_line: bool,
    /// A blank line between it and what came before.
    blank_before: bool,
    doc: bool,
}

/// A word, a punctuation mark or a string, with the comments written before it.
/// Commas are not tokens: they are optional everywhere in the grammar, and the
/// printer writes them where the layout has them.
#[derive(Debug)]
struct Token<'t> {
    kind: Kind,
    text: &'t str,
    comments: Vec<Comment<'t>>,
    /// A line break between it and the token before (through any comments).
    newline_before: bool,
    blank_before: bool,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn lex(text: &str) -> Result<Vec<Token<'_>>, String> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut comments = Vec::new();
    let mut newlines = 0usize;
    let mut seen = false;
    let mut newline_since_token = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let at = |k: usize| bytes.get(i + k).copied();
        let (kind, len) = match b {
            // `\r\n`, `\n` and a lone `\r` each end a line, as in the grammar.
            b'\r' if at(1) == Some(b'\n') => {
                i += 1;
                continue;
            }
            b'\n' | b'\r' => {
                newlines += 1;
                newline_since_token = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b',' => {
                i += 1;
                continue;
            }
            0xEF if text[i..].starts_with('\u{FEFF}') => {
                i += '\u{FEFF}'.len_utf8();
                continue;
            }
            b'/' if at(1) == Some(b'/') => {
                let end = text[i..].find(['\n', '\r']).map_or(text.len(), |n| i + n);
                let body = text[i..end].trim_end();
                comments.push(Comment {
                    text: body,
                    own_line: !seen || newlines > 0,
                    blank_before: newlines > 1,
                    doc: body.starts_with("///") && !body.starts_with("////"),
                });
                newlines = 0;
                seen = true;
                i = end;
                continue;
            }
            b'"' => {
                let mut j = i + 1;
                loop {
                    match bytes.get(j) {
                        Some(b'"') => break,
                        Some(b'\\') => j += 2,
                        Some(b'\n' | b'\r') | None => {
                            return Err("a string is not closed".into());
                        }
                        Some(_) => j += 1,
                    }
                }
                (Kind::Str, j + 1 - i)
            }
            b'{' | b'}' | b'[' | b']' | b':' | b'?' => (Kind::Punct, 1),
            b'-' if at(1) == Some(b'>') => (Kind::Punct, 2),
            b'<' if at(1) == Some(b'-') && at(2) == Some(b'>') => (Kind::Punct, 3),
            _ if is_word(b) => {
                let mut j = i + 1;
                while let Some(&c) = bytes.get(j) {
                    let next = bytes.get(j + 1).copied();
                    let go_on = is_word(c)
                        || (c == b'.' && next.is_some_and(is_word))
                        || (c == b'-' && next != Some(b'>'));
                    if !go_on {
                        break;
                    }
                    j += 1;
                }
                (Kind::Word, j - i)
            }
            _ => {
                let c = text[i..].chars().next().unwrap_or('?');
                return Err(format!("unexpected character `{c}`"));
            }
        };
        tokens.push(Token {
            kind,
            text: &text[i..i + len],
            comments: std::mem::take(&mut comments),
            newline_before: newline_since_token || newlines > 0,
            blank_before: newlines > 1,
        });
        newlines = 0;
        newline_since_token = false;
        seen = true;
        i += len;
    }
    tokens.push(Token {
        kind: Kind::Eof,
        text: "",
        comments,
        newline_before: newline_since_token || newlines > 0,
        blank_before: newlines > 1,
    });
    Ok(tokens)
}

// ---------------------------------------------------------------- parser

/// What separates a token from the one before it on a line.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Sep {
    Tight,
    Space,
    Comma,
}

/// Part of an item: a token (with what goes before it) or a `{ ... }` block.
#[derive(Debug)]
enum Piece {
    Tok(usize, Sep),
    Block(Block),
}

#[derive(Debug)]
struct Block {
    open: usize,
    close: usize,
    /// Items of a context, aggregate or context map; fields; variants or states.
    entries: Vec<Vec<Piece>>,
    /// Fields, variants and states may stay on one line; items never do.
    list: bool,
}

/// An item, a field, a variant or a relation: the pieces it is written with.
type Entry = Vec<Piece>;

struct Parser<'a, 't> {
    toks: &'a [Token<'t>],
    pos: usize,
}

impl Parser<'_, '_> {
    fn peek(&self) -> (Kind, &str) {
        self.peek_at(0)
    }

    fn peek_at(&self, k: usize) -> (Kind, &str) {
        self.toks
            .get(self.pos + k)
            .map_or((Kind::Eof, ""), |t| (t.kind, t.text))
    }

    fn is(&self, text: &str) -> bool {
        let (kind, t) = self.peek();
        kind != Kind::Eof && kind != Kind::Str && t == text
    }

    fn unexpected<T>(&self, wanted: &str) -> Result<T, String> {
        let (_, t) = self.peek();
        Err(format!("expected {wanted}, found `{t}`"))
    }

    /// The next token, which must be of `kind` (and read `text`, if given).
    fn take(&mut self, kind: Kind, text: Option<&str>, sep: Sep) -> Result<Piece, String> {
        let (k, t) = self.peek();
        if k != kind || text.is_some_and(|w| w != t) {
            return self.unexpected(text.unwrap_or(match kind {
                Kind::Word => "a name",
                Kind::Str => "a string",
                _ => "punctuation",
            }));
        }
        self.pos += 1;
        Ok(Piece::Tok(self.pos - 1, sep))
    }

    fn word(&mut self, sep: Sep) -> Result<Piece, String> {
        self.take(Kind::Word, None, sep)
    }

    fn kw(&mut self, text: &str, sep: Sep) -> Result<Piece, String> {
        self.take(Kind::Word, Some(text), sep)
    }

    fn punct(&mut self, text: &str, sep: Sep) -> Result<Piece, String> {
        self.take(Kind::Punct, Some(text), sep)
    }

    fn file(mut self) -> Result<Vec<Entry>, String> {
        let mut items = Vec::new();
        loop {
            let item = match self.peek() {
                (Kind::Eof, _) => return Ok(items),
                (Kind::Word, "context") => vec![
                    self.kw("context", Sep::Space)?,
                    self.word(Sep::Space)?,
                    self.items(Self::context_item)?,
                ],
                (Kind::Word, "contextmap") => vec![
                    self.kw("contextmap", Sep::Space)?,
                    self.items(Self::relation)?,
                ],
                _ => return self.unexpected("`context` or `contextmap`"),
            };
            items.push(item);
        }
    }

    /// A block of items, each read by `item`.
    fn items(&mut self, item: fn(&mut Self) -> Result<Entry, String>) -> Result<Piece, String> {
        let open = self.pos;
        self.punct("{", Sep::Space)?;
        let mut entries = Vec::new();
        while !self.is("}") {
            if self.peek().0 == Kind::Eof {
                return self.unexpected("`}`");
            }
            entries.push(item(self)?);
        }
        let close = self.pos;
        self.punct("}", Sep::Space)?;
        Ok(Piece::Block(Block {
            open,
            close,
            entries,
            list: false,
        }))
    }

    /// A block of fields, variants or states, each read by `entry`.
    fn list(&mut self, entry: fn(&mut Self) -> Result<Entry, String>) -> Result<Piece, String> {
        let mut block = match self.items(entry)? {
            Piece::Block(b) => b,
            Piece::Tok(..) => unreachable!("`items` returns a block"),
        };
        block.list = true;
        Ok(Piece::Block(block))
    }

    fn fields(&mut self) -> Result<Piece, String> {
        self.list(|p| {
            let mut entry = vec![p.word(Sep::Space)?, p.punct(":", Sep::Tight)?];
            p.type_expr(Sep::Space, &mut entry)?;
            Ok(entry)
        })
    }

    fn names(&mut self) -> Result<Piece, String> {
        self.list(|p| Ok(vec![p.word(Sep::Space)?]))
    }

    fn type_expr(&mut self, sep: Sep, out: &mut Entry) -> Result<(), String> {
        if self.is("[") {
            out.push(self.punct("[", sep)?);
            self.type_expr(Sep::Tight, out)?;
            out.push(self.punct("]", Sep::Tight)?);
        } else {
            out.push(self.word(sep)?);
        }
        if self.is("?") {
            out.push(self.punct("?", Sep::Tight)?);
        }
        Ok(())
    }

    fn is_name(&self) -> bool {
        let (kind, t) = self.peek();
        kind == Kind::Word && !KEYWORDS.contains(&t)
    }

    /// `A, B, C` after a keyword.
    fn refs(&mut self, out: &mut Entry) -> Result<(), String> {
        if !self.is_name() {
            return self.unexpected("a name");
        }
        out.push(self.word(Sep::Space)?);
        while self.is_name() {
            out.push(self.word(Sep::Comma)?);
        }
        Ok(())
    }

    fn context_item(&mut self) -> Result<Entry, String> {
        let (kind, keyword) = self.peek();
        if kind != Kind::Word {
            return self.unexpected("a context element");
        }
        let keyword = keyword.to_string();
        let mut e = vec![self.word(Sep::Space)?];
        match keyword.as_str() {
            "actor" => e.push(self.word(Sep::Space)?),
            "external" => {
                e.push(self.word(Sep::Space)?);
                if self.is("emits") {
                    e.push(self.kw("emits", Sep::Space)?);
                    self.refs(&mut e)?;
                }
            }
            "type" => {
                e.push(self.word(Sep::Space)?);
                e.push(self.fields()?);
            }
            "enum" => {
                e.push(self.word(Sep::Space)?);
                e.push(self.names()?);
            }
            "aggregate" => {
                e.push(self.word(Sep::Space)?);
                e.push(self.items(Self::aggregate_item)?);
            }
            "event" => self.event(&mut e)?,
            "policy" => {
                e.push(self.word(Sep::Space)?);
                e.push(self.kw("when", Sep::Space)?);
                self.refs(&mut e)?;
                e.push(self.kw("then", Sep::Space)?);
                e.push(self.word(Sep::Space)?);
            }
            "readmodel" => {
                e.push(self.word(Sep::Space)?);
                e.push(self.kw("from", Sep::Space)?);
                self.refs(&mut e)?;
                if self.is("{") {
                    e.push(self.fields()?);
                }
            }
            "hotspot" => e.push(self.take(Kind::Str, None, Sep::Space)?),
            _ => {
                self.pos -= 1;
                return self.unexpected("a context element");
            }
        }
        Ok(e)
    }

    fn aggregate_item(&mut self) -> Result<Entry, String> {
        let (kind, keyword) = self.peek();
        if kind != Kind::Word {
            return self.unexpected("an aggregate element");
        }
        let keyword = keyword.to_string();
        let mut e = vec![self.word(Sep::Space)?];
        match keyword.as_str() {
            "id" => {
                e.push(self.word(Sep::Space)?);
                e.push(self.punct(":", Sep::Tight)?);
                self.type_expr(Sep::Space, &mut e)?;
            }
            "lifecycle" => e.push(self.names()?),
            "state" => e.push(self.fields()?),
            "command" => {
                e.push(self.word(Sep::Space)?);
                if self.is("by") {
                    e.push(self.kw("by", Sep::Space)?);
                    e.push(self.word(Sep::Space)?);
                }
                if self.is("requires") {
                    e.push(self.kw("requires", Sep::Space)?);
                    self.refs(&mut e)?;
                }
                if self.is("{") {
                    e.push(self.fields()?);
                }
                if self.is("emits") {
                    e.push(self.kw("emits", Sep::Space)?);
                    self.refs(&mut e)?;
                }
            }
            "event" => self.event(&mut e)?,
            "hotspot" => e.push(self.take(Kind::Str, None, Sep::Space)?),
            _ => {
                self.pos -= 1;
                return self.unexpected("an aggregate element");
            }
        }
        Ok(e)
    }

    /// The rest of `event Name [version N] [enters State] [{ fields }]`.
    fn event(&mut self, e: &mut Entry) -> Result<(), String> {
        e.push(self.word(Sep::Space)?);
        if self.is("version") {
            e.push(self.kw("version", Sep::Space)?);
            e.push(self.word(Sep::Space)?);
        }
        if self.is("enters") {
            e.push(self.kw("enters", Sep::Space)?);
            e.push(self.word(Sep::Space)?);
        }
        if self.is("{") {
            e.push(self.fields()?);
        }
        Ok(())
    }

    /// `Up -> Down [: pattern, ...]`; a pattern is a word not followed by an arrow.
    fn relation(&mut self) -> Result<Entry, String> {
        let mut e = vec![self.word(Sep::Space)?];
        let arrow = if self.is("<->") { "<->" } else { "->" };
        e.push(self.punct(arrow, Sep::Space)?);
        e.push(self.word(Sep::Space)?);
        if self.is(":") {
            e.push(self.punct(":", Sep::Space)?);
            let mut sep = Sep::Space;
            loop {
                let arrow_next = matches!(self.peek_at(1), (Kind::Punct, "->" | "<->"));
                if self.peek().0 != Kind::Word || arrow_next {
                    break;
                }
                e.push(self.word(sep)?);
                sep = Sep::Comma;
            }
            if sep == Sep::Space {
                return self.unexpected("a context-map pattern");
            }
        }
        Ok(e)
    }
}

// ---------------------------------------------------------------- printer

/// What goes before the next thing printed.
#[derive(Clone, Copy, Debug)]
enum Break {
    Sep(Sep),
    Line {
        indent: usize,
        /// Keep a blank line here if the input had one.
        blank: bool,
        /// Write a blank line here whatever the input had.
        force: bool,
        /// Between two items or fields (blank lines may be kept after a comment).
        boundary: bool,
    },
}

impl Break {
    fn line(indent: usize, blank: bool, force: bool, boundary: bool) -> Break {
        Break::Line {
            indent,
            blank,
            force,
            boundary,
        }
    }
}

struct Printer<'a, 't> {
    toks: &'a [Token<'t>],
    out: String,
}

impl Printer<'_, '_> {
    fn file(&mut self, items: &[Entry]) {
        for (i, item) in items.iter().enumerate() {
            self.entry(item, 0, Break::line(0, true, i > 0, true));
        }
        let eof = self.toks.len() - 1;
        self.comments(eof, Break::line(0, true, false, true), 0);
        if !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    /// An item, field, variant or relation whose first token goes after `first`.
    /// Once a comment has broken its header, the item's blocks are indented from
    /// the continuation line.
    fn entry(&mut self, pieces: &[Piece], indent: usize, first: Break) {
        let cont = indent + INDENT;
        let mut base = indent;
        for (i, piece) in pieces.iter().enumerate() {
            match piece {
                Piece::Tok(t, sep) => {
                    let mut brk = if i == 0 { first } else { Break::Sep(*sep) };
                    // A reference list too long for its line goes on after a comma,
                    // on continuation lines.
                    if i > 0
                        && matches!(sep, Sep::Comma)
                        && self.toks[*t].comments.is_empty()
                        && self.column() + sep_width(*sep) + self.len(*t) > WIDTH
                    {
                        self.out.push(',');
                        brk = Break::line(cont, false, false, false);
                    }
                    if self.put(*t, brk, cont) && i > 0 {
                        base = cont;
                    }
                }
                Piece::Block(block) => self.block(block, &pieces[i + 1..], base),
            }
        }
    }

    /// A block, followed on its item by `rest`.
    fn block(&mut self, b: &Block, rest: &[Piece], indent: usize) {
        // A comment before `{` puts it on a continuation line; the block follows it.
        let mut indent = indent;
        if self.put(b.open, Break::Sep(Sep::Space), indent + INDENT) {
            indent += INDENT;
        }
        let inner = indent + INDENT;
        if b.entries.is_empty() && self.toks[b.close].comments.is_empty() {
            self.put(b.close, Break::Sep(Sep::Tight), inner);
            return;
        }
        if b.list && self.stays_on_one_line(b, rest) {
            for (i, entry) in b.entries.iter().enumerate() {
                let sep = if i == 0 { Sep::Space } else { Sep::Comma };
                self.entry(entry, indent, Break::Sep(sep));
            }
            self.put(b.close, Break::Sep(Sep::Space), inner);
            return;
        }
        for (i, entry) in b.entries.iter().enumerate() {
            self.entry(entry, inner, Break::line(inner, i > 0, false, true));
        }
        let before_close = Break::line(inner, !b.entries.is_empty(), false, true);
        self.comments(b.close, before_close, inner);
        self.word(b.close, Break::line(indent, false, false, false));
    }

    /// Whether a list block (its `{` just printed) and the rest of its item fit on
    /// the current line, and were written on one line without comments.
    fn stays_on_one_line(&self, b: &Block, rest: &[Piece]) -> bool {
        let last = last_token(rest).unwrap_or(b.close);
        let written_on_one_line = !(b.open + 1..=b.close).any(|t| self.toks[t].newline_before);
        let commented = (b.open + 1..=last).any(|t| !self.toks[t].comments.is_empty());
        if !written_on_one_line || commented {
            return false;
        }
        let width = self.list_width(b).zip(self.width(rest));
        width.is_some_and(|(block, rest)| self.column() + block - 1 + rest <= WIDTH)
    }

    fn width(&self, pieces: &[Piece]) -> Option<usize> {
        let mut width = 0;
        for piece in pieces {
            width += match piece {
                Piece::Tok(t, sep) => sep_width(*sep) + self.len(*t),
                Piece::Block(b) if b.list => 1 + self.list_width(b)?,
                Piece::Block(_) => return None,
            };
        }
        Some(width)
    }

    /// `{ a: Int, b: String }` on one line.
    fn list_width(&self, b: &Block) -> Option<usize> {
        if b.entries.is_empty() {
            return Some(2);
        }
        let mut width = 4 + 2 * (b.entries.len() - 1);
        for entry in &b.entries {
            width += self.width(entry)? - 1;
        }
        Some(width)
    }

    fn len(&self, t: usize) -> usize {
        self.toks[t].text.chars().count()
    }

    fn column(&self) -> usize {
        let line = self.out.rfind('\n').map_or(0, |n| n + 1);
        self.out[line..].chars().count()
    }

    /// Writes token `t` and the comments before it; says whether it starts a line.
    fn put(&mut self, t: usize, brk: Break, cont: usize) -> bool {
        let brk = self.comments(t, brk, cont);
        self.word(t, brk);
        matches!(brk, Break::Line { .. })
    }

    /// Writes the comments before token `t`; returns what goes before the token.
    /// A comment that followed a token on its line stays at the end of the line;
    /// others get a line of their own. After a comment the token starts a new
    /// line: `cont` is its indentation if `brk` did not already start a line.
    fn comments(&mut self, t: usize, mut brk: Break, cont: usize) -> Break {
        let toks = self.toks;
        for c in &toks[t].comments {
            if let Break::Sep(Sep::Comma) = brk {
                self.out.push(',');
                brk = Break::Sep(Sep::Space);
            }
            if let Break::Sep(_) = brk {
                brk = Break::line(cont, false, false, false);
            }
            if !c.own_line && !c.doc && !self.out.is_empty() {
                self.out.push(' ');
            } else {
                self.realize(brk, c.blank_before);
                if let Break::Line {
                    indent, boundary, ..
                } = brk
                {
                    brk = Break::line(indent, boundary, false, boundary);
                }
            }
            self.out.push_str(c.text);
        }
        brk
    }

    fn word(&mut self, t: usize, brk: Break) {
        self.realize(brk, self.toks[t].blank_before);
        self.out.push_str(self.toks[t].text);
    }

    fn realize(&mut self, brk: Break, blank_in_input: bool) {
        match brk {
            Break::Sep(Sep::Tight) => {}
            Break::Sep(Sep::Space) => self.out.push(' '),
            Break::Sep(Sep::Comma) => self.out.push_str(", "),
            Break::Line {
                indent,
                blank,
                force,
                ..
            } => {
                if self.out.is_empty() {
                    return;
                }
                self.out.push('\n');
                if force || (blank && blank_in_input) {
                    self.out.push('\n');
                }
                self.out.extend(std::iter::repeat_n(' ', indent));
            }
        }
    }
}

fn sep_width(sep: Sep) -> usize {
    match sep {
        Sep::Tight => 0,
        Sep::Space => 1,
        Sep::Comma => 2,
    }
}

fn last_token(pieces: &[Piece]) -> Option<usize> {
    match pieces.last()? {
        Piece::Tok(t, _) => Some(*t),
        Piece::Block(b) => Some(b.close),
    }
}
