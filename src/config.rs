//! `storm.yaml`: where the model is and what to generate from it. Every mistake
//! in it is a diagnostic pointing at the line and column (exit code 2).

use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::source::{FileId, Sources, Span};
use crate::wire::Backend;
use serde::Deserialize;
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
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
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
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RustTarget {
    Enabled(bool),
    Options(RustOptions),
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
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RoutingTarget {
    Enabled(bool),
    Options(RoutingOptions),
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
    let config = match parse(&text) {
        Ok(config) => Some(config),
        Err(e) => {
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

fn parse(text: &str) -> Result<Config, serde_yaml::Error> {
    if text.trim().is_empty() {
        // An empty document has no `version`; say so rather than "invalid type: unit".
        return serde_yaml::from_str("{}");
    }
    serde_yaml::from_str(text)
}

fn yaml_error(file: FileId, text: &str, e: &serde_yaml::Error) -> Diagnostic {
    let offset = e.location().map_or(0, |l| l.index()).min(text.len());
    let message = e.to_string();
    // yaml_serde appends " at line L column C"; the label shows where.
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    let help = if let Some(field) = between(&message, "unknown field `", "`") {
        let candidates = KEYS.iter().chain(TARGET_KEYS).copied();
        match crate::resolve::closest(field, candidates) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("the keys of storm.yaml are {}", crate::resolve::list(KEYS)),
        }
    } else if message.contains("missing field `version`") {
        "start the file with `version: 1`".to_string()
    } else if message.contains("Backend") || message.contains("eventbridge") {
        "`backend` is one of `eventbridge`, `sns-sqs` and `kafka`".to_string()
    } else if message.contains("RoutingTarget") {
        "`routing` is `true`, `false` or `{ kms_key: <KMS key ARN> }`, e.g. `{ kms_key: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab }`".to_string()
    } else if message.contains("RustTarget") || message.contains("Runtime") {
        "`rust` is `true`, `false` or `{ runtime: cqrs-es }` (the one runtime storm generates for)"
            .to_string()
    } else if message.contains("variant") && message.contains("allow") {
        "a lint is `allow`, `warn` or `deny`".to_string()
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
    for entry in config.model.entries() {
        let span = locate(file, text, "model", entry);
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
                    let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
                    found.sort();
                    if found.is_empty() {
                        diagnostics.push(
                            Diagnostic::new(
                                Code::Config,
                                span,
                                format!("`{entry}` matches no file"),
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
    }
    if let Some(out) = &config.out {
        let shown = out.to_string_lossy();
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
            .help("a namespace is dot-separated lower-case words, e.g. `com.example.shop`"),
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
