//! Diagnostics for people (rustc-like, through miette), for tools (JSON lines) and
//! for GitHub Actions (annotation lines).

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceFile;
use crate::source::{Sources, Span};
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Github,
}

/// How human output looks: colour and width follow the terminal, tests fix both.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
    pub width: usize,
}

pub fn human(sources: &Sources, diagnostic: &Diagnostic, style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false);
    let report = Report::new(sources, diagnostic);
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        // Rendering into a String cannot fail; fall back to one line anyway.
        out = one_line(sources, diagnostic);
    }
    out
}

/// `file:line:col: severity[code]: message`, for summaries and logs.
pub fn one_line(sources: &Sources, d: &Diagnostic) -> String {
    let (file, line, column) = location(sources, d.span());
    format!(
        "{file}:{line}:{column}: {}[{}]: {}",
        d.severity.as_str(),
        d.code,
        d.message
    )
}

fn location(sources: &Sources, span: Span) -> (String, usize, usize) {
    let file = sources.get(span.file);
    let (line, column) = file.line_col(span.start);
    (display_path(&file.path), line, column)
}

pub fn display_path(path: &std::path::Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

#[derive(serde::Serialize)]
struct JsonLabel {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    text: String,
}

#[derive(serde::Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    severity: Severity,
    message: &'a str,
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    help: Option<&'a str>,
    labels: Vec<JsonLabel>,
}

/// One JSON object on one line.
pub fn json(sources: &Sources, d: &Diagnostic) -> String {
    let labels: Vec<JsonLabel> = d
        .labels
        .iter()
        .map(|l| {
            let (file, line, column) = location(sources, l.span);
            let end = sources.get(l.span.file).line_col(l.span.end);
            JsonLabel {
                file,
                line,
                column,
                end_line: end.0,
                end_column: end.1,
                text: l.text.clone(),
            }
        })
        .collect();
    let primary = &labels[0];
    let value = JsonDiagnostic {
        code: d.code.as_str(),
        severity: d.severity,
        message: &d.message,
        file: primary.file.clone(),
        line: primary.line,
        column: primary.column,
        end_line: primary.end_line,
        end_column: primary.end_column,
        help: d.help.as_deref(),
        labels,
    };
    serde_json::to_string(&value).unwrap_or_default()
}

/// A GitHub Actions workflow command: `::error file=...,line=...::message`.
pub fn github(sources: &Sources, d: &Diagnostic) -> String {
    let (file, line, column) = location(sources, d.span());
    let (end_line, end_column) = sources.get(d.span().file).line_col(d.span().end);
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    format!(
        "::{level} file={},line={line},col={column},endLine={end_line},endColumn={end_column},title={}::{}",
        escape_property(&file),
        escape_property(&format!("storm {}", d.code)),
        escape_data(&message)
    )
}

/// Escapes the message of a GitHub Actions workflow command.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property (`file=`, `title=`) of a GitHub Actions workflow command.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A diagnostic as miette sees it: the labels of the primary file, and one related
/// report per other file that a label points into.
struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: Window<'a>,
    labels: Vec<LabeledSpan>,
    related: Vec<Related<'a>>,
}

struct Related<'a> {
    source: Window<'a>,
    label: LabeledSpan,
}

fn named<'a>(sources: &'a Sources, span: Span) -> Window<'a> {
    let file = sources.get(span.file);
    Window {
        name: display_path(&file.path),
        file,
    }
}

/// A model file as miette reads it: through the file's line index, so that a
/// report costs what it shows rather than the size of the file, and with long
/// lines cut to a window around the span.
struct Window<'a> {
    name: String,
    file: &'a SourceFile,
}

/// Lines longer than this are shown as a window around the span.
const LONG_LINE: usize = 400;
const WINDOW_MARGIN: usize = 80;

impl SourceCode for Window<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let text = self.file.shown();
        let start = span.offset();
        let end = start + span.len();
        if end > text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let span_first = self.file.line_of(start);
        let span_last = self.file.line_of(end.saturating_sub(1).max(start));
        let mut first = span_first.saturating_sub(before);
        let mut last = (span_last + after).min(self.file.line_count() - 1);
        let mut from = self.file.line_start(first);
        let mut to = self.file.line_end(last).min(text.len());
        if to - from > LONG_LINE {
            // Only the span's own lines, and of those a window around the span.
            first = span_first;
            last = span_last;
            from = floor_char(
                text,
                start
                    .saturating_sub(WINDOW_MARGIN)
                    .max(self.file.line_start(first)),
            );
            to = ceil_char(
                text,
                (end + WINDOW_MARGIN).min(self.file.line_end(last).min(text.len())),
            );
        }
        let column = if before == 0 {
            text[self.file.line_start(first)..start].chars().count()
        } else {
            text[self.file.line_start(first)..from].chars().count()
        };
        let data = if before == 0 {
            &text[start..to]
        } else {
            &text[from..to]
        };
        let offset = if before == 0 { start } else { from };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            data.as_bytes(),
            (offset, data.len()).into(),
            first,
            column,
            last + 1,
        )))
    }
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn labeled(span: Span, text: &str) -> LabeledSpan {
    let text = (!text.is_empty()).then(|| text.to_string());
    LabeledSpan::new(text, span.start as usize, span.len())
}

impl<'a> Report<'a> {
    fn new(sources: &'a Sources, diagnostic: &'a Diagnostic) -> Report<'a> {
        let primary = diagnostic.span();
        let mut labels = Vec::new();
        let mut related = Vec::new();
        for (i, l) in diagnostic.labels.iter().enumerate() {
            if l.span.file == primary.file {
                let mut label = labeled(l.span, &l.text);
                if i == 0 {
                    label = LabeledSpan::new_primary_with_span(
                        label.label().map(str::to_string),
                        SourceSpan::new(label.offset().into(), label.len()),
                    );
                }
                labels.push(label);
            } else {
                related.push(Related {
                    source: named(sources, l.span),
                    label: labeled(l.span, &l.text),
                });
            }
        }
        Report {
            diagnostic,
            source: named(sources, primary),
            labels,
            related,
        }
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

impl fmt::Debug for Related<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label.label().unwrap_or("related"))
    }
}

impl fmt::Display for Related<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label.label().unwrap_or("related"))
    }
}

impl std::error::Error for Related<'_> {}

impl miette::Diagnostic for Related<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(self.label.clone())))
    }
}
