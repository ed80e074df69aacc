//! The last step of `generate`: compare what the model produces with what is on
//! disk below `out`, then write it (atomically, only what changed) or, for
//! `--check`, describe the difference. storm touches only files it owns
//! (see [`crate::ownership`]) and hand-written files it is asked to create.
//! An output folder that does not exist yet needs no comparison: it is built
//! beside, as the targets render, and renamed into place ([`Staging`]).

use crate::generate::{Output, Owner};
use crate::ownership::{self, State};
use crate::stamp::FileState;
use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Suffix of the temporary files of atomic writes; left behind only by a killed run.
const TEMP_SUFFIX: &str = ".storm-tmp";

/// The longest file name storm writes, in bytes: file systems take 255, and the
/// temporary file beside it (`.name.storm-tmp`) is 11 longer.
pub const MAX_FILE_NAME: usize = 255 - 1 - TEMP_SUFFIX.len();

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// A file storm owns, new or changed: written.
    Write {
        content: Arc<String>,
        old: Option<String>,
    },
    /// Already as the model produces it.
    Unchanged,
    /// A hand-written file that exists: never touched again.
    Kept,
    /// A file storm owns that the model no longer produces.
    Remove { old: String },
    /// A file storm owns, edited by hand since: not overwritten without `--force`.
    Edited { content: Arc<String>, old: String },
    /// Like `Remove`, but edited by hand since storm wrote it.
    EditedStale { old: String },
    /// A file storm did not write stands where it would write: never touched.
    Foreign,
    /// A temporary file of an interrupted run: removed.
    Leftover,
}

/// What a run would do to every path below `out` it cares about, sorted by path.
#[derive(Debug, Default)]
pub struct Plan {
    pub out: PathBuf,
    pub actions: BTreeMap<PathBuf, Action>,
    /// What the comparison found below `out`, for the stamp.
    pub seen: crate::stamp::Seen,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub kept: usize,
}

/// Compares the generated files with the disk. With `force`, hand edits of owned
/// files are overwritten (and edited stale files removed). `recorded` is what the
/// last run's stamp says of the files it left: one nobody changed since that
/// would get the same checksum again is not read.
pub fn plan(
    out: &Path,
    files: &BTreeMap<PathBuf, Output>,
    force: bool,
    recorded: &crate::stamp::Recorded,
) -> io::Result<Plan> {
    if let Some(to) = std::fs::read_link(out).ok().filter(|_| !out.exists()) {
        return Err(io::Error::other(format!(
            "it is a symbolic link to `{}`, which does not exist; create that folder, or remove the link",
            to.display()
        )));
    }
    if out.exists() && !out.is_dir() {
        return Err(io::Error::other(format!(
            "`{}` exists and is not a directory",
            out.display()
        )));
    }
    let same = |path: &Path, now: FileState| {
        files.get(path).is_some_and(|new| {
            new.owner == Owner::User
                || recorded
                    .untouched(path, now)
                    .is_some_and(|sum| ownership::stated_checksum(path, &new.content) == Some(sum))
        })
    };
    // Below an `out` that does not exist yet, no file can stand in the way.
    let walked = out.is_dir();
    let (found, seen) = existing(out, same)?;
    // Both sides are sorted by path: one merge pairs them.
    let mut on_disk = found.into_iter().peekable();
    let mut actions = Vec::with_capacity(files.len());
    for (path, output) in files {
        while let Some((old_path, old)) = on_disk.next_if(|(p, _)| p < path) {
            if let Some(action) = leftover(&old_path, old, force) {
                actions.push((old_path, action));
            }
        }
        let old = on_disk.next_if(|(p, _)| p == path).map(|(_, old)| old);
        let action = match old {
            None if walked && out.join(path).exists() => Action::Foreign,
            None => Action::Write {
                content: output.content.clone(),
                old: None,
            },
            Some(_) if output.owner == Owner::User => Action::Kept,
            Some(Disk::Same) => Action::Unchanged,
            Some(Disk::Read(old)) if *old == *output.content => Action::Unchanged,
            Some(Disk::Read(old)) => match ownership::state(path, &old) {
                State::Owned => Action::Write {
                    content: output.content.clone(),
                    old: Some(old),
                },
                State::Edited if force => Action::Write {
                    content: output.content.clone(),
                    old: Some(old),
                },
                State::Edited => Action::Edited {
                    content: output.content.clone(),
                    old,
                },
                State::Foreign => Action::Foreign,
            },
        };
        actions.push((path.clone(), action));
    }
    for (old_path, old) in on_disk {
        if let Some(action) = leftover(&old_path, old, force) {
            actions.push((old_path, action));
        }
    }
    let actions = actions.into_iter().collect();
    Ok(Plan {
        out: out.to_path_buf(),
        actions,
        seen,
    })
}

/// What becomes of a file on disk the model no longer produces: storm's own is
/// removed (when edited by hand, only with `force`), a temporary file of a killed
/// run too; anyone else's is left alone (`None`).
fn leftover(path: &Path, old: Disk, force: bool) -> Option<Action> {
    let Disk::Read(old) = old else { return None };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.ends_with(TEMP_SUFFIX)
        && ownership::state(&original_of_temp(path), &old) != State::Foreign
    {
        return Some(Action::Leftover);
    }
    match ownership::state(path, &old) {
        State::Owned => Some(Action::Remove { old }),
        State::Edited if force => Some(Action::Remove { old }),
        State::Edited => Some(Action::EditedStale { old }),
        State::Foreign => None,
    }
}

/// `.name.ext.storm-tmp` → `name.ext`, to read a leftover's marker by its syntax.
fn original_of_temp(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let original = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
        .unwrap_or(&name);
    path.with_file_name(original)
}

/// A file below `out` as the plan sees it.
enum Disk {
    /// Its content.
    Read(String),
    /// Not read: what the run would write there (or a hand-written file, which
    /// only needs to exist).
    Same,
}

/// Every regular UTF-8 file below `out`, by path relative to it, and what the
/// stamp needs of the tree: its directories, and the size and change time of
/// its files. Files that are not text, and symbolic links, are nobody's business
/// but their owner's. The tree is walked first, then its files are looked at on
/// every core and read, except those `same` says need not be (given their size
/// and change time).
fn existing(
    out: &Path,
    same: impl Fn(&Path, FileState) -> bool + Sync,
) -> io::Result<(BTreeMap<PathBuf, Disk>, crate::stamp::Seen)> {
    let mut paths = Vec::new();
    let mut seen = crate::stamp::Seen::default();
    if !out.is_dir() {
        return Ok((BTreeMap::new(), seen));
    }
    seen.dirs.push(PathBuf::from("."));
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() {
                // Build output of generated crates is not storm's to look at.
                if entry.file_name() != "target" || dir != out.join("rust") {
                    seen.dirs
                        .push(path.strip_prefix(out).unwrap_or(&path).to_path_buf());
                    stack.push(path);
                }
            } else if kind.is_file() {
                paths.push(path);
            }
        }
    }
    let read = |paths: &[PathBuf]| -> Vec<(PathBuf, Disk, Option<FileState>)> {
        paths
            .iter()
            .filter_map(|path| {
                let relative = path.strip_prefix(out).unwrap_or(path).to_path_buf();
                let now = crate::stamp::metadata(path);
                if now.is_some_and(|now| same(&relative, now)) {
                    return Some((relative, Disk::Same, now));
                }
                let text = std::fs::read_to_string(path).ok()?;
                Some((relative, Disk::Read(text), now))
            })
            .collect()
    };
    let mut found = BTreeMap::new();
    for (relative, disk, now) in crate::parallel::runs(&paths, read).into_iter().flatten() {
        if let Some(now) = now {
            seen.files.insert(relative.clone(), now);
        }
        found.insert(relative, disk);
    }
    Ok((found, seen))
}

impl Plan {
    /// The files [`Plan::apply`] writes, relative to `out`.
    pub fn written(&self) -> Vec<PathBuf> {
        self.actions
            .iter()
            .filter(|(_, a)| matches!(a, Action::Write { .. }))
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// Whether anything stops a plain `generate`: hand edits, or files in the way.
    pub fn conflicts(&self) -> Vec<(&Path, &Action)> {
        self.actions
            .iter()
            .filter(|(_, a)| {
                matches!(
                    a,
                    Action::Edited { .. } | Action::EditedStale { .. } | Action::Foreign
                )
            })
            .map(|(p, a)| (p.as_path(), a))
            .collect()
    }

    /// Carries the plan out: writes, removals and clean-up. Conflicting files are
    /// left as they are.
    pub fn apply(&self) -> io::Result<Summary> {
        let mut summary = Summary::default();
        // Removals first: a removed file may stand where a directory now goes.
        let mut writes: Vec<(PathBuf, &str)> = Vec::new();
        for (path, action) in &self.actions {
            let full = self.out.join(path);
            match action {
                Action::Write { content, .. } => writes.push((full, content)),
                Action::Unchanged => summary.unchanged += 1,
                Action::Kept => summary.kept += 1,
                Action::Remove { .. } => {
                    std::fs::remove_file(&full)?;
                    remove_empty_parents(&full, &self.out);
                    summary.removed += 1;
                }
                Action::Leftover => std::fs::remove_file(&full)?,
                Action::Edited { .. } | Action::EditedStale { .. } | Action::Foreign => {}
            }
        }
        // Each directory is created once, then the files are written, both on
        // every core: on a large tree the file system's own work dominates.
        let dirs: HashSet<&Path> = writes.iter().filter_map(|(p, _)| p.parent()).collect();
        let mut dirs: Vec<&Path> = dirs.into_iter().collect();
        dirs.sort_unstable();
        let created = crate::parallel::runs(&dirs, |part| {
            part.iter().try_for_each(std::fs::create_dir_all)
        });
        created.into_iter().collect::<io::Result<()>>()?;
        // Each core takes the next directory's files when done with one. Halves
        // of the sorted list would be uneven (`rust/`, before `schemas/`, holds
        // most of the bytes), and two cores in one directory wait for its lock.
        let by_dir: Vec<&[(PathBuf, &str)]> = writes
            .chunk_by(|a, b| a.0.parent() == b.0.parent())
            .collect();
        let written = crate::parallel::each(&by_dir, |files| {
            files
                .iter()
                .try_for_each(|(full, content)| write_beside(full, content))
        });
        written.into_iter().collect::<io::Result<()>>()?;
        summary.written = writes.len();
        Ok(summary)
    }

    /// The files whose content on disk differs from what the model produces:
    /// (path, what is on disk, what would be) — for `--check`.
    pub fn drift(&self) -> Vec<(&Path, &str, &str, &'static str)> {
        let mut out = Vec::new();
        for (path, action) in &self.actions {
            let entry = match action {
                Action::Write { content, old: None } => ("", content.as_str(), "missing"),
                Action::Write {
                    content,
                    old: Some(old),
                } => (old.as_str(), content.as_str(), "differs"),
                Action::Edited { content, old } => {
                    (old.as_str(), content.as_str(), "edited by hand")
                }
                Action::Remove { old } | Action::EditedStale { old } => {
                    (old.as_str(), "", "stale: no longer produced")
                }
                Action::Foreign => ("", "", "in the way: not written by storm"),
                Action::Unchanged | Action::Kept | Action::Leftover => continue,
            };
            out.push((path.as_path(), entry.0, entry.1, entry.2));
        }
        out
    }
}

/// A new output folder, built beside where it goes and renamed into place once
/// complete: its files need no temporary names of their own (nor a rename
/// each), a reader never sees half a tree at `out`, and a run that fails or is
/// stopped leaves nothing there. Dropped unfinished, it removes what it wrote.
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    /// Every folder below `dir` made so far, relative to it.
    made: std::sync::Mutex<HashSet<PathBuf>>,
    /// Folders made before any file ([`Staging::premake`]).
    premade: std::sync::Mutex<Vec<PathBuf>>,
    finished: bool,
}

/// Whether a run can build its output in a [`Staging`] folder.
pub enum Start {
    Staged(Staging),
    /// Something stands at `out` (a link, even a dangling one, too): the run
    /// compares with it and writes in place.
    InPlace,
    /// The staging folder of a run that was stopped before it finished stands
    /// beside `out`: the run writes in place, and the folder can be deleted.
    Leftover(PathBuf),
}

/// A file written into a [`Staging`] folder, as the stamp needs it: the rest
/// of it is on disk only.
pub struct Staged {
    pub path: PathBuf,
    pub owner: Owner,
    pub checksum: Option<String>,
    pub state: Option<FileState>,
}

impl Staging {
    /// A staging folder for `out` (`.name.storm-tmp` beside it), made now, when
    /// nothing stands at `out` yet; its parent folders are made too.
    pub fn start(out: &Path) -> Start {
        match std::fs::symlink_metadata(out) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            _ => return Start::InPlace,
        }
        // `out` as its parent and name: `gen/.` is `gen`.
        let (Some(parent), Some(name)) = (out.parent(), out.file_name()) else {
            return Start::InPlace;
        };
        let mut staged = std::ffi::OsString::from(".");
        staged.push(name);
        staged.push(TEMP_SUFFIX);
        let dir = parent.join(staged);
        if !parent.as_os_str().is_empty() && std::fs::create_dir_all(parent).is_err() {
            return Start::InPlace;
        }
        match std::fs::create_dir(&dir) {
            Ok(()) => Start::Staged(Staging {
                out: parent.join(name),
                dir,
                made: Default::default(),
                premade: Default::default(),
                finished: false,
            }),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Start::Leftover(dir),
            Err(_) => Start::InPlace,
        }
    }

    /// Writes `files` (paths relative to `out`) into the staging folder, on every
    /// core, keeping of each only what the stamp needs.
    pub fn write(&self, mut files: Vec<(PathBuf, Output)>) -> io::Result<Vec<Staged>> {
        files.sort_unstable_by(|a, b| path_order(&a.0, &b.0));
        let by_dir: Vec<&[(PathBuf, Output)]> = files
            .chunk_by(|a, b| a.0.parent() == b.0.parent())
            .collect();
        let written = crate::parallel::each(&by_dir, |files| {
            if let Some(parent) = files[0].0.parent() {
                self.make(parent)?;
            }
            files
                .iter()
                .map(|(path, output)| {
                    use std::io::Write as _;
                    // Nothing is overwritten: the folder is new, and each path comes once.
                    let mut file = std::fs::File::create_new(self.dir.join(path))?;
                    file.write_all(output.content.as_bytes())?;
                    let state = file
                        .metadata()
                        .ok()
                        .and_then(|m| crate::stamp::state_of(&m));
                    let checksum = match output.owner {
                        Owner::Storm => ownership::stated_checksum(path, &output.content),
                        Owner::User => None,
                    };
                    Ok(Staged {
                        path: path.clone(),
                        owner: output.owner,
                        checksum: checksum.map(str::to_owned),
                        state,
                    })
                })
                .collect::<io::Result<Vec<Staged>>>()
        });
        let mut staged = Vec::with_capacity(files.len());
        for part in written {
            staged.append(&mut part?);
        }
        Ok(staged)
    }

    /// Makes `relative` and its parents below the staging folder, each once.
    fn make(&self, relative: &Path) -> io::Result<()> {
        if relative.as_os_str().is_empty() {
            return Ok(());
        }
        if crate::parallel::lock(&self.made).contains(relative) {
            return Ok(());
        }
        std::fs::create_dir_all(self.dir.join(relative))?;
        let mut made = crate::parallel::lock(&self.made);
        for dir in relative.ancestors() {
            if dir.as_os_str().is_empty() || !made.insert(dir.to_path_buf()) {
                break;
            }
        }
        Ok(())
    }

    /// Makes `folders` (relative to `out`) before any file is written; those
    /// no file went into are removed again by [`Staging::finish`]. On ext4
    /// without a journal, creating 18k files right after `rm -rf` of the last
    /// output took 8.3–9.2 s with folders made among the files as they came,
    /// and 4.2–5.8 s with them made first (model L, this project's machine).
    /// The targets may render meanwhile, as long as no file is written before.
    pub fn premake(&self, folders: Vec<PathBuf>) -> io::Result<()> {
        let mut premade = crate::parallel::lock(&self.premade);
        *premade = folders;
        premade.iter().try_for_each(|folder| self.make(folder))
    }

    /// Puts the finished tree in place at `out`, without the folders made
    /// beforehand that stayed empty, and says which folders it holds, relative
    /// to `out` (`out` itself as `.`). Fails if something was put there
    /// meanwhile; the staging folder is then removed.
    pub fn finish(mut self) -> io::Result<Vec<PathBuf>> {
        let mut made = std::mem::take(&mut *crate::parallel::lock(&self.made));
        let mut premade = std::mem::take(&mut *crate::parallel::lock(&self.premade));
        // Deepest first: a parent empties when its last child goes.
        premade.sort_unstable_by(|a, b| b.cmp(a));
        for premade in &premade {
            for folder in premade.ancestors() {
                if folder.as_os_str().is_empty()
                    || !made.contains(folder)
                    || std::fs::remove_dir(self.dir.join(folder)).is_err()
                {
                    break;
                }
                made.remove(folder);
            }
        }
        std::fs::rename(&self.dir, &self.out)?;
        self.finished = true;
        let mut folders: Vec<PathBuf> = made.into_iter().collect();
        folders.push(PathBuf::from("."));
        folders.sort_unstable();
        Ok(folders)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The order of [`Path`]'s `Ord` for the paths storm generates (relative, no
/// `.` or `..` components, no doubled or trailing separator), found by their
/// bytes: a separator sorts before every other byte, as the end of a component
/// sorts before a longer one. `Path`'s comparison parses components and took
/// 30 ms to sort the 18,439 files of model L, on one core at the end of a run.
pub fn path_order(a: &Path, b: &Path) -> std::cmp::Ordering {
    let (a, b) = (
        a.as_os_str().as_encoded_bytes(),
        b.as_os_str().as_encoded_bytes(),
    );
    let rank = |byte: u8| {
        if std::path::is_separator(char::from(byte)) {
            0
        } else {
            u16::from(byte) + 1
        }
    };
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(at) => rank(a[at]).cmp(&rank(b[at])),
        None => a.len().cmp(&b.len()),
    }
}

/// Writes a temporary file next to the target, then renames it over the target:
/// a reader (or a killed run) sees the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, content: &str) -> io::Result<()> {
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    write_beside(path, content)
}

/// [`write_atomic`] into a directory that exists.
fn write_beside(path: &Path, content: &str) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}{TEMP_SUFFIX}"));
    std::fs::write(&temp, content)?;
    std::fs::rename(&temp, path)
}

/// Removes directories emptied by a removal, up to (not including) `out`.
fn remove_empty_parents(file: &Path, out: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == out || !d.starts_with(out) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same order as `Path`'s, on the shapes of generated paths that bytes
    /// alone would order otherwise.
    #[test]
    fn path_order_is_the_order_of_paths() {
        let mut paths: Vec<&Path> = [
            "a",
            "a.b",
            "a/b",
            "a-b",
            "a/b/c",
            "a/b.c",
            "a/b/c.d",
            "ab",
            "a b",
            "a/",
            "b",
            "rust/crates/x-service/src/lib.rs",
            "rust/crates/x/src/lib.rs",
            "rust/crates/x.service/Cargo.toml",
            "schemas/x/asyncapi.yaml",
            "schemas/x.json",
            "ü/a",
            "u/a",
            "A",
            "_",
            "~",
        ]
        .iter()
        .map(Path::new)
        .filter(|p| !p.as_os_str().as_encoded_bytes().ends_with(b"/"))
        .collect();
        let mut by_bytes = paths.clone();
        paths.sort();
        by_bytes.sort_by(|a, b| path_order(a, b));
        assert_eq!(by_bytes, paths);
    }
}
