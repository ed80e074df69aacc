//! `storm.yaml`: where the model is and what to generate from it. Every mistake
//! in it is a diagnostic pointing at the line and column (exit code 2).

use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::source::{FileId, Sources, Span};
use crate::wire::Backend;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

pub const FILE_NAME: &str = "storm.yaml";

const KEYS: &[&str] = &[
    "version",
    "model",
    "namespace",
    "backend",
    "out",
    "targets",
    "lints",
];
const TARGET_KEYS: &[&str] = &["rust", "schemas", "routing", "docs", "kms_key"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub version: u32,
    #[serde(default)]
    pub model: OneOrMany,
    pub namespace: Option<String>,
    pub backend: Option<Backend>,
    pub out: Option<PathBuf>,
    #[serde(default)]
    pub targets: Targets,
    #[serde(default)]
    pub lints: BTreeMap<String, Lint>,
}

/// `model: path` or `model: [path, ...]`.
#[derive(Debug, Default)]
pub enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

// By hand, not `#[serde(untagged)]`: an untagged enum loses where the value was
// and says "did not match any variant of untagged enum OneOrMany". These
// visitors see the value itself, so a mistake points at it and says what fits.
impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Paths;
        impl<'de> Visitor<'de> for Paths {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a path or a list of paths, e.g. `[model/]`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<OneOrMany, E> {
                Ok(OneOrMany::None)
            }
            fn visit_none<E: de::Error>(self) -> Result<OneOrMany, E> {
                Ok(OneOrMany::None)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut many = Vec::new();
                while let Some(PathEntry(path)) = seq.next_element()? {
                    many.push(path);
                }
                Ok(OneOrMany::Many(many))
            }
        }
        deserializer.deserialize_any(Paths)
    }
}

/// One path of a `model` list: a string, nothing else.
struct PathEntry(String);

impl<'de> Deserialize<'de> for PathEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OnePath;
        impl Visitor<'_> for OnePath {
            type Value = PathEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a path (a string such as `model/`; quote it if it looks like a number)",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PathEntry, E> {
                Ok(PathEntry(v.to_string()))
            }
        }
        deserializer.deserialize_any(OnePath)
    }
}

impl OneOrMany {
    pub fn entries(&self) -> Vec<&str> {
        match self {
            OneOrMany::None => vec![],
            OneOrMany::One(one) => vec![one.as_str()],
            OneOrMany::Many(many) => many.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default = "rust_on")]
    pub rust: RustTarget,
    #[serde(default = "on")]
    pub schemas: bool,
    #[serde(default = "routing_on")]
    pub routing: RoutingTarget,
    #[serde(default = "on")]
    pub docs: bool,
}

impl Default for Targets {
    fn default() -> Targets {
        Targets {
            rust: rust_on(),
            schemas: true,
            routing: routing_on(),
            docs: true,
        }
    }
}

fn on() -> bool {
    true
}

fn rust_on() -> RustTarget {
    RustTarget::Enabled(true)
}

/// `rust: true | false | { runtime: cqrs-es }`.
#[derive(Debug)]
pub enum RustTarget {
    Enabled(bool),
    Options(RustOptions),
}

impl<'de> Deserialize<'de> for RustTarget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SwitchOr {
            expecting: RUST_EXPECTED,
            on: RustTarget::Enabled,
            options: RustTarget::Options,
        })
    }
}

const RUST_EXPECTED: &str = "`true`, `false` or `{ runtime: cqrs-es }`";
const ROUTING_EXPECTED: &str = "`true`, `false` or `{ kms_key: <KMS key ARN> }`";

/// A target that is switched on or off, or given options (a mapping, read as
/// `O`: its own mistakes point into it).
struct SwitchOr<T, O> {
    expecting: &'static str,
    on: fn(bool) -> T,
    options: fn(O) -> T,
}

impl<'de, T, O: Deserialize<'de>> Visitor<'de> for SwitchOr<T, O> {
    type Value = T;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        Ok((self.on)(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        O::deserialize(de::value::MapAccessDeserializer::new(map)).map(self.options)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RustOptions {
    #[serde(default)]
    pub runtime: Runtime,
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
pub enum Runtime {
    #[default]
    #[serde(rename = "cqrs-es")]
    CqrsEs,
}

impl RustTarget {
    pub fn enabled(&self) -> bool {
        !matches!(self, RustTarget::Enabled(false))
    }
}

fn routing_on() -> RoutingTarget {
    RoutingTarget::Enabled(true)
}

/// `routing: true | false | { kms_key: <KMS key or alias ARN> }`.
#[derive(Debug)]
pub enum RoutingTarget {
    Enabled(bool),
    Options(RoutingOptions),
}

impl<'de> Deserialize<'de> for RoutingTarget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SwitchOr {
            expecting: ROUTING_EXPECTED,
            on: RoutingTarget::Enabled,
            options: RoutingTarget::Options,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingOptions {
    /// The customer-managed KMS key that encrypts every table, queue, topic and
    /// the bus; AWS-managed keys when absent.
    pub kms_key: Option<String>,
}

impl RoutingTarget {
    pub fn enabled(&self) -> bool {
        !matches!(self, RoutingTarget::Enabled(false))
    }

    pub fn options(&self) -> crate::routing::Options {
        match self {
            RoutingTarget::Options(o) => crate::routing::Options {
                kms_key: o.kms_key.clone(),
            },
            RoutingTarget::Enabled(_) => crate::routing::Options::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Lint {
    Allow,
    Warn,
    Deny,
}

impl Lint {
    pub fn severity(self) -> Option<Severity> {
        match self {
            Lint::Allow => None,
            Lint::Warn => Some(Severity::Warning),
            Lint::Deny => Some(Severity::Error),
        }
    }
}

/// A config read from disk, with the directory its paths are relative to.
#[derive(Debug)]
pub struct Found {
    pub path: PathBuf,
    pub dir: PathBuf,
    pub config: Config,
    /// The `model` entries, resolved to paths below `dir` (globs expanded).
    pub models: Vec<PathBuf>,
}

/// A config that cannot be used: its text (when it could be read) and why.
#[derive(Debug)]
pub struct ConfigError {
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
}

/// `storm.yaml` in `start` or the nearest parent.
pub fn discover(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

pub fn read(path: &Path) -> Result<Found, ConfigError> {
    let mut sources = Sources::default();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            let file = sources.add(path.to_path_buf(), String::new());
            let d = Diagnostic::new(
                Code::Config,
                Span::new(file, 0, 0),
                format!("cannot read `{}`: {e}", path.display()),
            )
            .label("here")
            .help("check the path and its permissions");
            return Err(ConfigError {
                sources,
                diagnostics: vec![d],
            });
        }
    };
    let file = sources.add(path.to_path_buf(), text.clone());
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut diagnostics = Vec::new();
    let config = match (duplicate_key(file, &text), parse(&text)) {
        (Some(d), _) => {
            diagnostics.push(d);
            None
        }
        (None, Ok(config)) => Some(config),
        (None, Err(e)) => {
            diagnostics.push(yaml_error(file, &text, &e));
            None
        }
    };
    let mut models = Vec::new();
    if let Some(config) = &config {
        validate(file, &text, &dir, config, &mut diagnostics, &mut models);
    }
    match config {
        Some(config) if diagnostics.is_empty() => Ok(Found {
            path: path.to_path_buf(),
            dir,
            config,
            models,
        }),
        _ => Err(ConfigError {
            sources,
            diagnostics,
        }),
    }
}

/// The `model` entries of a config's text, as written; `None` when the text is
/// not a config storm reads.
pub fn model_entries(text: &str) -> Option<Vec<String>> {
    let config = parse(text).ok()?;
    Some(
        config
            .model
            .entries()
            .into_iter()
            .map(str::to_string)
            .collect(),
    )
}

fn parse(text: &str) -> Result<Config, serde_yaml::Error> {
    if text.trim().is_empty() {
        // An empty document has no `version`; say so rather than "invalid type: unit".
        return serde_yaml::from_str("{}");
    }
    serde_yaml::from_str(text)
}

/// A key given twice in one mapping, at any depth (serde keeps the last of a
/// map's duplicates without a word): the second one, or `None`.
fn duplicate_key(file: FileId, text: &str) -> Option<Diagnostic> {
    let e = serde_yaml::from_str::<serde_yaml::Value>(text).err()?;
    let message = e.to_string();
    let at = message.find("duplicate entry")?;
    let path = message[..at].strip_suffix(": ");
    let rest = &message[at..];
    let rest = rest.find(" at line ").map_or(rest, |i| &rest[..i]);
    let key = rest
        .strip_prefix("duplicate entry with key \"")
        .and_then(|k| k.strip_suffix('"'))
        .map(|k| k.replace("\\\"", "\"").replace("\\\\", "\\"));
    let start = e.location().map_or(0, |l| l.index()).min(text.len());
    let span = key
        .as_deref()
        .and_then(|k| second_key(text, start, k))
        .map_or(
            Span::new(file, start, (start + 1).min(text.len())),
            |(from, to)| Span::new(file, from, to),
        );
    let shown = key
        .as_deref()
        .map_or("a key".to_string(), |k| format!("`{k}`"));
    let message = match path {
        Some(path) => format!("{shown} is given twice in `{path}`"),
        None => format!("{shown} is given twice"),
    };
    Some(
        Diagnostic::new(Code::Config, span, message)
            .label("given again here")
            .help("a key appears once in a mapping; keep the one you mean and remove the other"),
    )
}

/// The second occurrence of `key` as a key of the mapping that starts at `start`
/// (a flow mapping `{ ... }` or a block mapping whose keys share a column).
fn second_key(text: &str, start: usize, key: &str) -> Option<(usize, usize)> {
    let quoted = |name: &str| [name.to_string(), format!("\"{name}\""), format!("'{name}'")];
    // The key at `at`, if it is `key` (plain or quoted) followed by `:`.
    let key_at = |at: usize| -> Option<(usize, usize)> {
        quoted(key).into_iter().find_map(|form| {
            let after = text[at..].strip_prefix(form.as_str())?;
            after
                .trim_start_matches([' ', '\t'])
                .starts_with(':')
                .then_some((at, at + form.len()))
        })
    };
    let mut seen = 0;
    if text[start..].starts_with('{') {
        let (mut depth, mut quote, mut expect_key) = (0usize, None, false);
        for (i, c) in text[start..].char_indices() {
            let at = start + i;
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => continue,
                (None, '"' | '\'') if !(depth == 1 && expect_key) => quote = Some(c),
                (None, '{' | '[') => {
                    depth += 1;
                    expect_key = depth == 1;
                    continue;
                }
                (None, '}' | ']') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return None;
                    }
                }
                (None, ',') if depth == 1 => {
                    expect_key = true;
                    continue;
                }
                _ => {}
            }
            if expect_key && !c.is_whitespace() {
                expect_key = false;
                if let Some(span) = key_at(at) {
                    seen += 1;
                    if seen == 2 {
                        return Some(span);
                    }
                }
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
        }
        return None;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let column = start - line_start;
    let mut at = line_start;
    for line in text[line_start..].split_inclusive('\n') {
        let body = line.trim_end();
        let indent = body.len() - body.trim_start().len();
        let blank = body.trim_start().is_empty() || body.trim_start().starts_with('#');
        if at == line_start {
            // The first line: the mapping starts at `start` (perhaps after `- `).
            if key_at(start).is_some() {
                seen += 1;
            }
        } else if !blank {
            if indent < column {
                return None;
            }
            if indent == column
                && let Some(span) = key_at(at + indent)
            {
                seen += 1;
                if seen == 2 {
                    return Some(span);
                }
            }
        }
        at += line.len();
    }
    None
}

fn yaml_error(file: FileId, text: &str, e: &serde_yaml::Error) -> Diagnostic {
    let offset = e.location().map_or(0, |l| l.index()).min(text.len());
    let message = e.to_string();
    // yaml_serde appends " at line L column C"; the label shows where.
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    // serde names the Rust types it expected; say what to write instead.
    let message = [
        ("struct Config", "a mapping such as `version: 1`"),
        (
            "struct Targets",
            "a mapping of targets, e.g. `{ docs: false }`",
        ),
        ("struct RustOptions", "`{ runtime: cqrs-es }`"),
        ("struct RoutingOptions", "`{ kms_key: <KMS key ARN> }`"),
        ("enum Backend", "`eventbridge`, `sns-sqs` or `kafka`"),
        ("enum Runtime", "`cqrs-es`"),
        ("enum Lint", "`allow`, `warn` or `deny`"),
        ("u32", "a whole number such as `1`"),
    ]
    .iter()
    .fold(message, |m, (rust, said)| m.replace(rust, said));
    // Where in the document: yaml_serde puts `targets.rust.runtime: ` in front.
    let path = message
        .split_once(": ")
        .map(|(p, _)| p)
        .filter(|p| !p.is_empty() && !p.contains(' '))
        .unwrap_or("")
        .to_string();
    // A mapping or list where a word of a fixed set belongs.
    let message = message.replace(
        "a YAML tag starting with '!'",
        match path.rsplit('.').next().unwrap_or("") {
            "backend" => "`eventbridge`, `sns-sqs` or `kafka`",
            "runtime" => "`cqrs-es`",
            _ if path.starts_with("lints.") => "`allow`, `warn` or `deny`",
            _ => "a single value",
        },
    );
    let help = if message.contains(RUST_EXPECTED)
        || message.contains("expected `runtime`")
        || message.contains("expected `cqrs-es`")
    {
        "`rust` is `true`, `false` or `{ runtime: cqrs-es }` (the one runtime storm generates for)"
            .to_string()
    } else if message.contains(ROUTING_EXPECTED) || message.contains("expected `kms_key`") {
        "`routing` is `true`, `false` or `{ kms_key: <KMS key ARN> }`, e.g. `{ kms_key: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab }`".to_string()
    } else if message.contains("expected a path") {
        "`model` is a path or a list of paths relative to storm.yaml (files, directories or globs), e.g. `model: [model/]`".to_string()
    } else if let Some(field) = between(&message, "unknown field `", "`") {
        let candidates = KEYS.iter().chain(TARGET_KEYS).copied();
        match crate::resolve::closest(field, candidates) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("the keys of storm.yaml are {}", crate::resolve::list(KEYS)),
        }
    } else if message.contains("missing field `version`") {
        "start the file with `version: 1`".to_string()
    } else if message.contains("eventbridge") {
        "`backend` is one of `eventbridge`, `sns-sqs` and `kafka`".to_string()
    } else if path.starts_with("lints") {
        "`lints` maps check codes to `allow`, `warn` or `deny`, e.g. `lints: { hotspot: deny }`"
            .to_string()
    } else if path == "version" {
        "write `version: 1`".to_string()
    } else if path.starts_with("targets") {
        "`targets` turns each of `rust`, `schemas`, `routing` and `docs` on or off, e.g. `targets: { docs: false }`".to_string()
    } else if path.starts_with("model") {
        "`model` is a path or a list of paths relative to storm.yaml (files, directories or globs), e.g. `model: [model/]`".to_string()
    } else {
        "storm.yaml's keys are `version`, `model`, `namespace`, `backend`, `out`, `targets` and `lints`; `storm init` writes an example".to_string()
    };
    let end = (offset + 1).min(text.len());
    Diagnostic::new(Code::Config, Span::new(file, offset, end), message)
        .label("here")
        .help(help)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let to = s[from..].find(end)? + from;
    Some(&s[from..to])
}

/// The span of the first occurrence of `needle` after `after` (a key), or of the
/// key itself, for diagnostics about values serde accepted but storm does not.
fn locate(file: FileId, text: &str, key: &str, needle: &str) -> Span {
    let key_at = text
        .match_indices(&format!("{key}:"))
        .map(|(i, _)| i)
        .find(|&i| i == 0 || text[..i].ends_with(['\n', ' ', '{', ',']))
        .unwrap_or(0);
    match text[key_at..].find(needle).filter(|_| !needle.is_empty()) {
        Some(i) => Span::new(file, key_at + i, key_at + i + needle.len()),
        None => Span::new(file, key_at, key_at + key.len()),
    }
}

fn validate(
    file: FileId,
    text: &str,
    dir: &Path,
    config: &Config,
    diagnostics: &mut Vec<Diagnostic>,
    models: &mut Vec<PathBuf>,
) {
    if config.version != 1 {
        diagnostics.push(
            Diagnostic::new(
                Code::Config,
                locate(file, text, "version", &config.version.to_string()),
                format!("unsupported `version: {}`", config.version),
            )
            .label("this storm reads version 1")
            .help("write `version: 1`"),
        );
    }
    // The project: the config's directory, with every symbolic link resolved.
    let project = real_path(dir);
    // The entry each of `models` comes from, as written.
    let mut entries: Vec<&str> = Vec::new();
    for entry in config.model.entries() {
        let span = locate(file, text, "model", entry);
        let before = models.len();
        if let Err(why) = inside(Path::new(entry)) {
            diagnostics.push(
                Diagnostic::new(Code::Config, span, format!("model path `{entry}` {why}"))
                    .label("outside the project")
                    .help("model paths are relative to storm.yaml and stay below its directory"),
            );
            continue;
        }
        let pattern = dir.join(entry);
        if entry.contains(['*', '?', '[']) {
            let matches = glob::glob(&pattern.to_string_lossy());
            match matches {
                Err(e) => diagnostics.push(
                    Diagnostic::new(
                        Code::Config,
                        span,
                        format!("`{entry}` is not a valid glob: {e}"),
                    )
                    .label("bad pattern")
                    .help("globs use `*`, `**` and `?`, e.g. `model/**/*.storm`"),
                ),
                Ok(paths) => {
                    // A model is `.storm` files and folders of them: a README or
                    // notes beside them, matched by `dir/*`, are not part of it.
                    let (mut found, others): (Vec<PathBuf>, Vec<PathBuf>) = paths
                        .filter_map(Result::ok)
                        .partition(|p| p.is_dir() || p.extension().is_some_and(|e| e == "storm"));
                    found.sort();
                    if found.is_empty() {
                        let what = if others.is_empty() {
                            "no file".to_string()
                        } else {
                            format!(
                                "no `.storm` file or folder ({} other file{})",
                                others.len(),
                                if others.len() == 1 { "" } else { "s" }
                            )
                        };
                        diagnostics.push(
                            Diagnostic::new(
                                Code::Config,
                                span,
                                format!("`{entry}` matches {what}"),
                            )
                            .label("no match")
                            .help("check the pattern; it is relative to storm.yaml"),
                        );
                    }
                    models.extend(found);
                }
            }
        } else if !pattern.exists() {
            diagnostics.push(
                Diagnostic::new(
                    Code::Config,
                    span,
                    format!("model path `{entry}` does not exist"),
                )
                .label("no such file or directory")
                .help("model paths are relative to storm.yaml"),
            );
        } else {
            models.push(pattern);
        }
        entries.resize(models.len(), entry);
        // Below the project by name, outside it through a symbolic link.
        if let Some(escaped) = models[before..]
            .iter()
            .map(|m| real_path(m))
            .find(|m| !m.starts_with(&project))
        {
            diagnostics.push(
                Diagnostic::new(
                    Code::Config,
                    span,
                    format!(
                        "model path `{entry}` leads outside the project, to `{}`",
                        escaped.display()
                    ),
                )
                .label("outside the project through a symbolic link")
                .help("model paths stay below the directory of storm.yaml; move the model into the project"),
            );
            models.truncate(before);
            entries.truncate(before);
        }
    }
    if let Some(out) = &config.out {
        let shown = out.to_string_lossy();
        let real = real_path(&dir.join(out));
        let span = locate(file, text, "out", &shown);
        if let Err(why) = inside(out) {
            diagnostics.push(
                Diagnostic::new(Code::Config, locate(file, text, "out", &shown), format!("output directory `{shown}` {why}"))
                    .label("outside the project")
                    .help("`out` is relative to storm.yaml and stays below its directory, e.g. `out: generated`"),
            );
        } else if out.components().next().is_none() || out == Path::new(".") {
            diagnostics.push(
                Diagnostic::new(
                    Code::Config,
                    locate(file, text, "out", &shown),
                    "`out` must be a directory of its own",
                )
                .label("the project itself")
                .help("storm owns everything below `out`; give it a directory such as `generated`"),
            );
        } else if !real.starts_with(&project) {
            diagnostics.push(
                Diagnostic::new(
                    Code::Config,
                    span,
                    format!(
                        "output directory `{shown}` leads outside the project, to `{}`",
                        real.display()
                    ),
                )
                .label("outside the project through a symbolic link")
                .help("`out` stays below the directory of storm.yaml; name a directory there, e.g. `out: generated`"),
            );
        } else if real == project {
            diagnostics.push(
                Diagnostic::new(Code::Config, span, "`out` must be a directory of its own")
                    .label("the project itself, through a symbolic link")
                    .help("storm owns everything below `out`; give it a directory such as `generated`"),
            );
        } else if let Some((i, how)) = overlap(&real, models) {
            diagnostics.push(
                Diagnostic::new(
                    Code::Config,
                    span,
                    format!("output directory `{shown}` {how} `{}`", entries[i]),
                )
                .label("overlaps the model")
                .help("storm owns everything below `out` and the model is yours: keep them apart, e.g. `model: [model/]` and `out: generated`"),
            );
        }
    }
    if let Some(ns) = &config.namespace
        && let Err(why) = valid_namespace(ns)
    {
        diagnostics.push(
            Diagnostic::new(
                Code::Config,
                locate(file, text, "namespace", ns),
                format!("namespace `{ns}` {why}"),
            )
            .label("not a valid event source prefix")
            .help("a namespace is words joined by dots, e.g. `com.example.shop`"),
        );
    }
    if let RoutingTarget::Options(RoutingOptions { kms_key: Some(key) }) = &config.targets.routing
        && let Err(why) = valid_kms_key(key)
    {
        diagnostics.push(
            Diagnostic::new(
                Code::Config,
                locate(file, text, "kms_key", key),
                format!("`kms_key` `{key}` {why}"),
            )
            .label("not a customer-managed KMS key")
            .help("give the ARN of a symmetric KMS key you manage, `arn:aws:kms:<region>:<account>:key/<key id>`, or of its alias, `arn:aws:kms:<region>:<account>:alias/<name>`"),
        );
    }
    for code in config.lints.keys() {
        let span = locate(file, text, "lints", code);
        match Code::from_name(code) {
            Some(c) if c.is_lint() => {}
            Some(_) => diagnostics.push(
                Diagnostic::new(
                    Code::Config,
                    span,
                    format!("`{code}` is always an error; its severity cannot be changed"),
                )
                .label("not a lint")
                .help("remove this line; only warnings (and `undeclared-dependency`) can be set"),
            ),
            None => {
                let names: Vec<&str> = Code::ALL
                    .iter()
                    .filter(|c| c.is_lint())
                    .map(|c| c.as_str())
                    .collect();
                let help = match crate::resolve::closest(code, names.iter().copied()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("the lints are {}", crate::resolve::list(&names)),
                };
                diagnostics.push(
                    Diagnostic::new(Code::Config, span, format!("no check is named `{code}`"))
                        .label("unknown check")
                        .help(help),
                );
            }
        }
    }
}

/// Where `path` really is: absolute, with every symbolic link resolved. The part
/// that does not exist yet is appended to the deepest ancestor that does (and
/// whose links are resolved), its `..` taken by name; a link to nowhere is
/// followed to where it points.
pub fn real_path(path: &Path) -> PathBuf {
    real_path_within(path, 40)
}

fn real_path_within(path: &Path, links: u32) -> PathBuf {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let components: Vec<Component> = absolute.components().collect();
    for split in (1..=components.len()).rev() {
        let head: PathBuf = components[..split].iter().collect();
        let mut real = match std::fs::canonicalize(&head) {
            Ok(real) => real,
            Err(_) => match std::fs::read_link(&head) {
                // A dangling link: writing through it would create its target.
                Ok(target) if links > 0 => {
                    let parent = head.parent().unwrap_or(Path::new("/"));
                    real_path_within(&parent.join(target), links - 1)
                }
                _ => continue,
            },
        };
        for component in &components[split..] {
            match component {
                Component::ParentDir => {
                    real.pop();
                }
                Component::Normal(name) => real.push(name),
                _ => {}
            }
        }
        return real;
    }
    absolute
}

/// How the output directory `out` (a real path, see [`real_path`]) overlaps the
/// model, if it does: which input, and how. It overlaps when it is a model
/// directory, lies inside one, or holds a model file or directory; a model file
/// beside `out` is fine.
pub fn overlap(out: &Path, models: &[PathBuf]) -> Option<(usize, &'static str)> {
    models.iter().enumerate().find_map(|(i, model)| {
        let real = real_path(model);
        let how = if real.is_dir() {
            if real == out {
                "is the model directory"
            } else if out.starts_with(&real) {
                "is inside the model directory"
            } else if real.starts_with(out) {
                "holds the model directory"
            } else {
                return None;
            }
        } else if real.starts_with(out) {
            "holds the model file"
        } else {
            return None;
        };
        Some((i, how))
    })
}

/// A relative path that stays below the directory it is relative to.
fn inside(path: &Path) -> Result<(), &'static str> {
    let mut depth = 0i32;
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => return Err("is absolute"),
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return Err("leaves the project directory");
                }
            }
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
        }
    }
    Ok(())
}

/// A customer-managed KMS key by ARN: `arn:<partition>:kms:<region>:<account>:key/<id>`
/// or `...:alias/<name>`. Every resource of the templates and every IAM policy
/// accept both (the policies need the key ARN to grant anything on the key).
pub fn valid_kms_key(arn: &str) -> Result<(), &'static str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, partition, service, region, account, resource] = parts[..] else {
        return Err("is not an ARN (`arn:<partition>:kms:<region>:<account>:key/<id>`)");
    };
    let lower = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if scheme != "arn" || !partition.starts_with("aws") || !lower(partition) {
        return Err("is not an ARN (`arn:<partition>:kms:<region>:<account>:key/<id>`)");
    }
    if service != "kms" {
        return Err("is not a KMS ARN (its service must be `kms`)");
    }
    if !lower(region) || region.starts_with('-') || region.ends_with('-') {
        return Err("has no valid region (such as `eu-west-1`)");
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err("has no valid account id (12 digits)");
    }
    if let Some(id) = resource.strip_prefix("key/") {
        if id.is_empty()
            || id.len() > 128
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err("has no valid key id after `key/`");
        }
        return Ok(());
    }
    if let Some(name) = resource.strip_prefix("alias/") {
        if name.starts_with("aws/") {
            return Err(
                "names an AWS-managed key, which cannot be shared with EventBridge and SNS; leave `kms_key` out for AWS-managed keys",
            );
        }
        if name.is_empty()
            || name.len() > 250
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'))
        {
            return Err("has no valid alias name after `alias/`");
        }
        return Ok(());
    }
    Err("names neither a key (`key/<id>`) nor an alias (`alias/<name>`)")
}

/// An event source prefix: EventBridge and CloudEvents accept it, AWS does not reserve it.
pub fn valid_namespace(ns: &str) -> Result<(), &'static str> {
    if ns.is_empty() {
        return Err("is empty");
    }
    if ns.len() > 200 {
        return Err("is longer than 200 characters");
    }
    if ns.starts_with("aws.") || ns == "aws" {
        return Err("starts with `aws.`, which AWS reserves for its own events");
    }
    if !ns
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err("may only hold letters, digits, `.`, `-` and `_`");
    }
    if ns.starts_with(['.', '-']) || ns.ends_with(['.', '-']) || ns.contains("..") {
        return Err("must not start or end with `.` or `-`, nor hold `..`");
    }
    Ok(())
}
