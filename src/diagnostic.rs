//! Problems found in a model, each with a stable code, a place and a fix.

use crate::source::Span;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($($variant:ident = $name:literal, $severity:ident;)*) => {
        /// The stable code of every diagnostic storm reports.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            /// The severity before `lints` in the config changes it.
            pub fn default_severity(self) -> Severity {
                match self {
                    $(Code::$variant => Severity::$severity,)*
                }
            }

            /// The long explanation printed by `storm explain`.
            pub fn explanation(self) -> &'static str {
                match self {
                    $(Code::$variant => include_str!(concat!("explain/", $name, ".md")),)*
                }
            }
        }
    };
}

codes! {
    Io = "io", Error;
    Config = "config", Error;
    NestingTooDeep = "nesting-too-deep", Error;
    Syntax = "syntax", Error;
    DuplicateName = "duplicate-name", Error;
    UnknownReference = "unknown-reference", Error;
    WrongKind = "wrong-kind", Error;
    ForeignEventEmitted = "foreign-event-emitted", Error;
    CommandWithoutEvent = "command-without-event", Error;
    PolicyOutsideContext = "policy-outside-context", Error;
    UnknownState = "unknown-state", Error;
    IdentifierClash = "identifier-clash", Error;
    TypeCycle = "type-cycle", Error;
    ContextmapPattern = "contextmap-pattern", Error;
    UndeclaredDependency = "undeclared-dependency", Error;
    PolicyLoop = "policy-loop", Warning;
    EventNeverEmitted = "event-never-emitted", Warning;
    UnreachableState = "unreachable-state", Warning;
    UnusedElement = "unused-element", Warning;
    Naming = "naming", Warning;
    Hotspot = "hotspot", Warning;
    EmptyElement = "empty-element", Warning;
    RoutingLimit = "routing-limit", Error;
}

impl Code {
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == name)
    }

    /// Whether `lints` in the config may change this code's severity.
    pub fn is_lint(self) -> bool {
        self.default_severity() == Severity::Warning || self == Code::UndeclaredDependency
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A span with what to say about it.
#[derive(Clone, Debug)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// Where the problem is; the first label is the primary one.
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.default_severity(),
            message: message.into(),
            labels: vec![Label {
                span,
                text: String::new(),
            }],
            help: None,
        }
    }

    /// Text for the primary label.
    pub fn label(mut self, text: impl Into<String>) -> Diagnostic {
        self.labels[0].text = text.into();
        self
    }

    /// A second place that explains the first ("first defined here").
    pub fn with(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Diagnostic {
        self.help = Some(text.into());
        self
    }

    pub fn severity(mut self, severity: Severity) -> Diagnostic {
        self.severity = severity;
        self
    }

    pub fn span(&self) -> Span {
        self.labels[0].span
    }
}

/// Where diagnostics are collected while a model is read and checked.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub list: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.list.push(diagnostic);
    }

    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.list.iter().filter(|d| d.severity == severity).count()
    }

    /// Sorted by file and position, so that output is stable whatever order checks ran in.
    pub fn sort(&mut self) {
        self.list
            .sort_by(|a, b| (a.span(), a.code, &a.message).cmp(&(b.span(), b.code, &b.message)));
        self.list
            .dedup_by(|a, b| a.code == b.code && a.span() == b.span() && a.message == b.message);
    }
}
