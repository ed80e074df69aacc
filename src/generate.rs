//! The back half of the pipeline: a checked model → the files of every target.
//! Nothing here touches the file system; the command layer writes or diffs.

use crate::keys::Keys;
use crate::model::Model;
use crate::ownership;
use crate::source::Sources;
use crate::timings::time;
use crate::wire::{Backend, Wire};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use xxhash_rust::xxh3::xxh3_128;

/// Who a generated file belongs to once written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// storm: rewritten whenever the model changes, removed when no longer produced.
    Storm,
    /// People: written once, when missing, as a starting point; never touched again.
    User,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// Shared: `storm watch` keeps the files of one run for the next, and a file
    /// an edit left as it was costs no copy.
    pub content: Arc<String>,
    pub owner: Owner,
}

/// Which targets to generate.
#[derive(Clone, Copy, Debug)]
pub struct Targets {
    pub rust: bool,
    pub schemas: bool,
    pub routing: bool,
    pub docs: bool,
}

impl Targets {
    pub const ALL: Targets = Targets {
        rust: true,
        schemas: true,
        routing: true,
        docs: true,
    };
}

/// What a target produces: paths relative to the output directory, with the
/// content as the target renders it (without ownership marker).
pub type Rendered = Vec<(PathBuf, String, Owner)>;

/// What one render leaves for the next in the same process (`storm watch`), so
/// that an edit re-renders only what it affects.
#[derive(Default)]
pub struct Memo {
    rust: crate::rust_target::Memo,
    schemas: crate::schemas::Memo,
    routing: crate::routing::Memo,
    docs: crate::docs::Memo,
    /// Each target's (rust, schemas, routing, docs).
    marks: [Marks; 4],
}

/// Every generated file, by path relative to the output directory. Files storm
/// owns carry their marker. The Rust target (the largest, itself spread over the
/// cores) renders beside the others. The error says why a target cannot be
/// rendered as the backend would accept it (a routing template too large even for
/// nested stacks).
pub fn files(
    model: &Model,
    wire: &Wire,
    targets: Targets,
) -> Result<BTreeMap<PathBuf, Output>, String> {
    files_with(model, wire, targets, None)
}

/// [`files`], reusing what `memo` holds from an earlier render and leaving in it
/// what this one produced. The model's text (`sources`) decides which parts an
/// edit leaves as they were ([`Keys`]).
pub fn files_with(
    model: &Model,
    wire: &Wire,
    targets: Targets,
    memo: Option<(&mut Memo, &Sources)>,
) -> Result<BTreeMap<PathBuf, Output>, String> {
    let files = Mutex::new(BTreeMap::new());
    each_target(model, wire, targets, memo, &|part: Vec<(
        PathBuf,
        Output,
    )>| {
        crate::parallel::lock(&files).extend(part);
    })?;
    let files = crate::parallel::unlocked(files);
    let long = too_long(files.keys());
    if !long.is_empty() {
        return Err(names_too_long(&long));
    }
    Ok(files)
}

/// Renders every target, handing its files to `deliver` as soon as they are
/// rendered and marked, in parts, on the thread that rendered them (to be
/// written at once, say, while the rest still renders). Nothing is kept.
pub fn delivered(
    model: &Model,
    wire: &Wire,
    targets: Targets,
    deliver: Deliver,
) -> Result<(), String> {
    each_target(model, wire, targets, None, deliver)
}

/// The folders most of the targets' files go into, known from the model before
/// anything is rendered: those of the Rust and schemas targets (thousands of
/// files), not every one, and maybe some that stay empty.
pub fn folders(model: &Model, targets: Targets) -> Vec<PathBuf> {
    let mut folders = Vec::new();
    if targets.rust {
        folders.extend(crate::rust_target::folders(model));
    }
    if targets.schemas {
        folders.extend(crate::schemas::folders(model));
    }
    folders
}

/// What takes rendered and marked files, in parts, on any thread.
pub type Deliver<'a> = &'a (dyn Fn(Vec<(PathBuf, Output)>) + Sync);

/// Renders and marks every target, each on its own thread (the Rust target
/// spreads over the cores itself): the machine shares them out, and no target
/// waits for another. With `memo`, see [`files_with`].
fn each_target(
    model: &Model,
    wire: &Wire,
    targets: Targets,
    memo: Option<(&mut Memo, &Sources)>,
    deliver: Deliver,
) -> Result<(), String> {
    let (mut rust, mut schemas, mut routing, mut docs) = (None, None, None, None);
    let mut marks: [Option<&mut Marks>; 4] = [None, None, None, None];
    let keys;
    if let Some((m, sources)) = memo {
        keys = time("keys", || Keys::new(model, sources, wire));
        (rust, schemas, routing, docs) = (
            Some((&mut m.rust, &keys)),
            Some((&mut m.schemas, &keys)),
            Some((&mut m.routing, &keys)),
            Some((&mut m.docs, &keys)),
        );
        marks = m.marks.each_mut().map(Some);
    }
    let [rust_marks, schemas_marks, routing_marks, docs_marks] = marks;
    // A run from nothing builds each event's schema once for both targets that
    // write it (a memo keeps its own texts).
    let both = targets.schemas && targets.routing && wire.backend == Backend::Eventbridge;
    let shared = (schemas.is_none() && routing.is_none())
        .then(|| crate::schemas::EventSchemas::new(model, both));
    let shared = shared.as_ref();
    std::thread::scope(|scope| {
        let mut running = Vec::new();
        if targets.rust {
            running.push(scope.spawn(|| {
                time("render rust", || {
                    // Without a memo to keep, each context is delivered at once.
                    let part = |files| deliver(marked_with(files, None));
                    let files = crate::rust_target::render_with(model, wire, rust, Some(&part));
                    deliver(marked_with(files, rust_marks));
                    Ok(())
                })
            }));
        }
        if targets.schemas {
            running.push(scope.spawn(|| {
                time("render schemas", || {
                    if let Some(shared) = shared {
                        // A context at a time, each marked and delivered on this
                        // thread while the Rust target keeps the cores busy.
                        crate::parallel::alone(|| {
                            crate::schemas::render_parts(model, wire, shared, &|files| {
                                deliver(marked_with(files, None))
                            })
                        });
                        return Ok(());
                    }
                    let files = crate::schemas::render_with(model, wire, schemas);
                    deliver(marked_with(files, schemas_marks));
                    Ok(())
                })
            }));
        }
        if targets.routing {
            running.push(scope.spawn(|| {
                time("render routing", || {
                    let files = match shared {
                        Some(shared) => crate::routing::render_sharing(model, wire, shared)?,
                        None => crate::routing::render_with(model, wire, routing)?,
                    };
                    deliver(marked_with(files, routing_marks));
                    Ok(())
                })
            }));
        }
        if targets.docs {
            running.push(scope.spawn(|| {
                time("render docs", || {
                    let docs = crate::docs::render_with(model, wire, docs);
                    let files = vec![(PathBuf::from("docs/model.md"), docs, Owner::Storm)];
                    deliver(marked_with(files, docs_marks));
                    Ok(())
                })
            }));
        }
        running
            .into_iter()
            .try_for_each(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
    })
}

/// Whether every file name (path component) of `path` is within what file
/// systems take, with room for the writer's temporary name beside it.
pub fn fits(path: &std::path::Path) -> bool {
    path.iter()
        .all(|part| part.len() <= crate::writer::MAX_FILE_NAME)
}

/// The file names among `paths` that do not [`fits`], each once, in order.
pub fn too_long<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) -> Vec<String> {
    let mut too_long: Vec<String> = Vec::new();
    for path in paths.into_iter().filter(|path| !fits(path)) {
        for part in path.iter() {
            let part = part.to_string_lossy();
            if part.len() > crate::writer::MAX_FILE_NAME && !too_long.iter().any(|n| *n == part) {
                too_long.push(part.into_owned());
            }
        }
    }
    too_long
}

/// Why a model whose names make file names longer than file systems take
/// ([`too_long`]) cannot be generated, naming them: said before anything is written.
pub fn names_too_long(too_long: &[String]) -> String {
    let limit = crate::writer::MAX_FILE_NAME;
    const SHOWN: usize = 5;
    let mut lines: Vec<String> = too_long
        .iter()
        .take(SHOWN)
        .map(|name| {
            format!(
                "`{}` has {} bytes, at most {limit} fit",
                crate::names::abbreviated(name),
                name.len()
            )
        })
        .collect();
    if too_long.len() > SHOWN {
        lines.push(format!("and {} more", too_long.len() - SHOWN));
    }
    format!(
        "the model's names make file names too long for the file system:\n  {}\nhelp: shorten the names these files are named after",
        lines.join("\n  ")
    )
}

/// The files a target marked last time, by path, with a fast hash of each body:
/// a body met again is neither hashed with SHA-256 nor marked again.
type Marks = HashMap<PathBuf, (u128, Arc<String>)>;

/// A target's files as written: those storm owns with their marker. With
/// `marks`, the marked files it holds from the last render are reused, and this
/// render's are left in it. Bodies are hashed and marked on every core.
fn marked_with(rendered: Rendered, mut marks: Option<&mut Marks>) -> Vec<(PathBuf, Output)> {
    let previous = marks.as_deref_mut().map(std::mem::take);
    let mut files: Vec<Marking> = rendered
        .into_iter()
        .map(|(path, body, owner)| Marking {
            path,
            owner,
            content: Err(body),
            key: None,
        })
        .collect();
    crate::parallel::runs_mut(&mut files, |part| {
        for Marking {
            path,
            owner,
            content,
            key,
        } in part
        {
            let Err(body) = content else { continue };
            let body = std::mem::take(body);
            if *owner == Owner::User {
                *content = Ok(Arc::new(body));
                continue;
            }
            *key = previous.as_ref().map(|_| xxh3_128(body.as_bytes()));
            let reused = previous
                .as_ref()
                .and_then(|previous| previous.get(path))
                .filter(|(old, _)| Some(*old) == *key)
                .map(|(_, content)| content.clone());
            *content = Ok(reused.unwrap_or_else(|| {
                let checksum = ownership::checksum(&body);
                // A path without comment syntax storm knows cannot carry a marker.
                Arc::new(ownership::mark_with(path, body, &checksum).unwrap_or_else(|body| body))
            }));
        }
    });
    files
        .into_iter()
        .map(|file| {
            let content = file.content.unwrap_or_else(Arc::new);
            if let (Some(marks), Some(key)) = (marks.as_deref_mut(), file.key) {
                marks.insert(file.path.clone(), (key, content.clone()));
            }
            let owner = file.owner;
            (file.path, Output { content, owner })
        })
        .collect()
}

/// A rendered file on its way to being written.
struct Marking {
    path: PathBuf,
    owner: Owner,
    /// As rendered until marked, or shared with the last render.
    content: Result<Arc<String>, String>,
    /// With marks: the fast hash of a body storm owns.
    key: Option<u128>,
}
