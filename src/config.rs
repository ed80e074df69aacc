//! `storm.yaml`: where the model is and what to generate from it.

use crate::diagnostic::Severity;
use crate::wire::Backend;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "storm.yaml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub version: u32,
    #[serde(default)]
    pub model: Vec<PathBuf>,
    pub namespace: Option<String>,
    pub backend: Option<Backend>,
    pub out: Option<PathBuf>,
    #[serde(default)]
    pub targets: Targets,
    #[serde(default)]
    pub lints: BTreeMap<String, Lint>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default = "on")]
    pub rust: Toggle,
    #[serde(default = "on")]
    pub schemas: Toggle,
    #[serde(default = "on")]
    pub routing: Toggle,
    #[serde(default = "on")]
    pub docs: Toggle,
}

impl Default for Targets {
    fn default() -> Targets {
        Targets {
            rust: on(),
            schemas: on(),
            routing: on(),
            docs: on(),
        }
    }
}

fn on() -> Toggle {
    Toggle::Enabled(true)
}

/// `true`, `false`, or a table of options (`rust: { runtime: cqrs-es }`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Toggle {
    Enabled(bool),
    Options(BTreeMap<String, serde_yaml::Value>),
}

impl Toggle {
    pub fn enabled(&self) -> bool {
        !matches!(self, Toggle::Enabled(false))
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

/// A config as found on disk, with the directory its paths are relative to.
#[derive(Debug)]
pub struct Found {
    pub path: PathBuf,
    pub dir: PathBuf,
    pub config: Config,
}

/// `storm.yaml` in `start` or the nearest parent.
pub fn discover(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

pub fn read(path: &Path) -> Result<Found, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let config: Config = serde_yaml::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        format!("{}{at}: {e}", path.display())
    })?;
    if config.version != 1 {
        return Err(format!(
            "{}: unsupported `version: {}`; this storm reads version 1",
            path.display(),
            config.version
        ));
    }
    for code in config.lints.keys() {
        match crate::diagnostic::Code::from_name(code) {
            Some(c) if c.is_lint() => {}
            Some(_) => {
                return Err(format!(
                    "{}: `lints.{code}`: `{code}` is always an error and cannot be changed",
                    path.display()
                ));
            }
            None => {
                return Err(format!(
                    "{}: `lints.{code}`: no such check; `storm explain` lists the codes",
                    path.display()
                ));
            }
        }
    }
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(Found {
        path: path.to_path_buf(),
        dir,
        config,
    })
}
