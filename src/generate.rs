//! The back half of the pipeline: a checked model → the files of every target.
//! Nothing here touches the file system; the command layer writes or diffs.

use crate::model::Model;
use crate::ownership;
use crate::timings::time;
use crate::wire::Wire;
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    pub content: String,
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
/// what this one produced.
pub fn files_with(
    model: &Model,
    wire: &Wire,
    targets: Targets,
    memo: Option<&mut Memo>,
) -> Result<BTreeMap<PathBuf, Output>, String> {
    let rust_memo = memo.map(|m| &mut m.rust);
    // Every target on its own thread (the Rust target spreads over the cores
    // itself): the machine shares them out, and no target waits for another.
    let rendered: Vec<Result<Vec<(PathBuf, Output)>, String>> = std::thread::scope(|scope| {
        let mut targets_running = Vec::new();
        if targets.rust {
            targets_running.push(scope.spawn(|| {
                time("render rust", || {
                    Ok(marked(crate::rust_target::render_with(
                        model, wire, rust_memo,
                    )))
                })
            }));
        }
        if targets.schemas {
            targets_running.push(scope.spawn(|| {
                time("render schemas", || {
                    Ok(marked(crate::schemas::render(model, wire)))
                })
            }));
        }
        if targets.routing {
            targets_running.push(scope.spawn(|| {
                time("render routing", || {
                    crate::routing::render(model, wire).map(marked)
                })
            }));
        }
        if targets.docs {
            targets_running.push(scope.spawn(|| {
                time("render docs", || {
                    let docs = crate::docs::render(model, wire);
                    Ok(marked(vec![(
                        PathBuf::from("docs/model.md"),
                        docs,
                        Owner::Storm,
                    )]))
                })
            }));
        }
        targets_running
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut files = Vec::new();
    for target in rendered {
        files.extend(target?);
    }
    Ok(files.into_iter().collect())
}

/// A target's files as written: those storm owns with their marker.
fn marked(rendered: Rendered) -> Vec<(PathBuf, Output)> {
    rendered
        .into_iter()
        .map(|(path, body, owner)| {
            let content = match owner {
                Owner::Storm => ownership::mark(&path, &body).unwrap_or(body),
                Owner::User => body,
            };
            (path, Output { content, owner })
        })
        .collect()
}
