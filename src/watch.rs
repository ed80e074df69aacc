//! Waiting for the model to change: file-system events (notify), filtered to the
//! model's files and the config, debounced. Directories are watched rather than
//! files, so editors that save by writing a new file and renaming it over the old
//! one, and files deleted and created again, are seen like plain saves.

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// How long the files must stay quiet before a change counts: one save often
/// arrives as several events (truncate, write, rename, metadata).
pub const DEBOUNCE: Duration = Duration::from_millis(50);

/// What to watch: model files and directories, the config, and what to ignore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Targets {
    /// Model inputs, absolute: `.storm` files, or directories of them.
    pub models: Vec<PathBuf>,
    /// The config file, absolute.
    pub config: Option<PathBuf>,
    /// The output directory, absolute: storm's own writes never trigger a run.
    pub out: PathBuf,
}

pub struct Changes {
    _watcher: RecommendedWatcher,
    events: Receiver<notify::Result<notify::Event>>,
    targets: Targets,
}

/// An absolute, symlink-free form of a path that may not exist yet.
pub fn absolute(path: &Path) -> PathBuf {
    crate::config::real_path(path)
}

impl Changes {
    pub fn new(targets: Targets) -> notify::Result<Changes> {
        let (tx, events) = channel();
        let mut watcher = notify::recommended_watcher(move |event| {
            let _ = tx.send(event);
        })?;
        let mut dirs: Vec<(PathBuf, RecursiveMode)> = Vec::new();
        for model in &targets.models {
            if model.is_dir() {
                dirs.push((model.clone(), RecursiveMode::Recursive));
            } else if let Some(parent) = model.parent() {
                dirs.push((parent.to_path_buf(), RecursiveMode::NonRecursive));
            }
        }
        if let Some(parent) = targets.config.as_ref().and_then(|c| c.parent()) {
            dirs.push((parent.to_path_buf(), RecursiveMode::NonRecursive));
        }
        dirs.sort();
        dirs.dedup();
        for (dir, mode) in dirs {
            watcher.watch(&dir, mode)?;
        }
        Ok(Changes {
            _watcher: watcher,
            events,
            targets,
        })
    }

    /// Whether a path that changed is part of the model or the config.
    fn relevant(&self, path: &Path) -> bool {
        if path.starts_with(&self.targets.out) {
            return false;
        }
        if self.targets.config.as_deref() == Some(path) {
            return true;
        }
        self.targets.models.iter().any(|model| {
            if model.is_dir() || !model.exists() && path.starts_with(model) {
                path.starts_with(model) && path.extension().is_some_and(|e| e == "storm")
            } else {
                path == model
            }
        })
    }

    /// Blocks until the model or config changed, then waits for quiet. Returns the
    /// changed paths, or `None` when watching stopped. Only relevant events restart
    /// the quiet period: a log file in the same directory that is read or written
    /// every few milliseconds must not hold a change back forever.
    pub fn next(&self) -> Option<Vec<PathBuf>> {
        let mut changed: Vec<PathBuf> = Vec::new();
        let mut quiet_at = Instant::now();
        loop {
            let event = if changed.is_empty() {
                self.events.recv().ok()?
            } else {
                let wait = quiet_at.saturating_duration_since(Instant::now());
                match self.events.recv_timeout(wait) {
                    Ok(event) => event,
                    Err(RecvTimeoutError::Timeout) => {
                        changed.sort();
                        changed.dedup();
                        return Some(changed);
                    }
                    Err(RecvTimeoutError::Disconnected) => return None,
                }
            };
            let Ok(event) = event else { continue };
            if matches!(event.kind, notify::EventKind::Access(_)) {
                continue;
            }
            let before = changed.len();
            changed.extend(event.paths.into_iter().filter(|p| self.relevant(p)));
            if changed.len() > before {
                quiet_at = Instant::now() + DEBOUNCE;
            }
        }
    }
}
