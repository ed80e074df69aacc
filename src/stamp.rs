//! What the last successful `generate` into a directory left there, so that a run
//! with nothing to do costs a check of the model and a look at file metadata,
//! not a rendering of every target.
//!
//! A stamp records a key (the storm binary, the model's text, and every setting
//! that shapes the output) and, for every file the run left in place, its size
//! and change time, and for every directory below `out` (and `out` itself) its
//! change time; a change time is the later of the modification and the status
//! change time, which no tool can set back. A later run with the same key
//! trusts the disk only when every file and directory still has exactly those.
//! Any edit, removal or replacement of a file changes the file's; any entry
//! added, removed or renamed in a directory (say, a stale generated file put
//! back) changes the directory's. Either sends the run down the full path, which
//! compares contents and looks at every file below `out`. On that path, after an
//! edit of the model, the stamp still saves work: each file storm owns is
//! recorded with the checksum its marker states, and a file nobody touched since
//! (same size and time) that would get the same checksum again is not read
//! ([`untouched`]). Like git's index it guards against "racy" entries: a
//! file or directory modified less than [`RACY_MARGIN`] before the stamp was
//! written could have changed again in the same clock tick, so it is never
//! trusted and the full path runs (and writes a stamp that can be trusted).
//!
//! Stamps live in the user's cache directory (`$STORM_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/storm`, else `~/.cache/storm`), one per output directory,
//! never below `out` (whose files the team commits). A stamp that cannot be read
//! or written is no stamp: the full path runs.

use crate::generate::{Output, Owner, Targets};
use crate::source::Sources;
use crate::wire::Wire;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Files changed this close before the stamp was written are not trusted.
const RACY_MARGIN: Duration = Duration::from_secs(1);
const HEADER: &str = "storm stamp 4";

/// Everything the generated files depend on, as a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key(String);

impl Key {
    pub fn new(sources: &Sources, wire: &Wire, targets: Targets) -> Key {
        let mut hash = Sha256::new();
        hash.update(env!("CARGO_PKG_VERSION"));
        // The binary itself: a rebuilt storm may render differently.
        if let Some((size, modified)) = std::env::current_exe().ok().and_then(|exe| metadata(&exe))
        {
            hash.update(format!("exe {size} {modified}\n"));
        }
        hash.update(format!("{wire:?}\n{targets:?}\n"));
        for (_, file) in sources.iter() {
            let path = file.path.to_string_lossy();
            hash.update(format!("{} {}\n", path.len(), file.text.len()));
            hash.update(path.as_bytes());
            hash.update(&file.text);
        }
        let digest = hash.finalize();
        Key(crate::ownership::hex(&digest))
    }
}

/// What a trusted stamp says the directory holds.
#[derive(Debug, PartialEq, Eq)]
pub struct Fresh {
    /// Files storm owns, each as the model produces it.
    pub owned: usize,
    /// Hand-written files, present.
    pub hand_written: usize,
}

/// A file's size and change time (see [`changed`]).
pub type FileState = (u64, u128);

/// Size and change time of a regular file, not a link to one (see [`changed`]).
pub fn metadata(path: &Path) -> Option<FileState> {
    state_of(&std::fs::symlink_metadata(path).ok()?)
}

/// [`metadata`] of a file already looked at (or open).
pub fn state_of(meta: &std::fs::Metadata) -> Option<FileState> {
    if !meta.is_file() {
        return None;
    }
    Some((meta.len(), changed(meta)?))
}

/// Change time of a directory, not a link to one (see [`changed`]).
fn dir_modified(path: &Path) -> Option<u128> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_dir() {
        return None;
    }
    changed(&meta)
}

/// When an entry last changed, in nanoseconds since the epoch: the later of its
/// modification time and, on Unix, its status change time. A file whose
/// modification time was set back (`touch -r`, `cp -p`) or that was put in place
/// by a rename still shows its change: nothing can set the status change time.
fn changed(meta: &std::fs::Metadata) -> Option<u128> {
    let modified = meta
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_nanos();
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let status = u128::try_from(meta.ctime()).ok()? * 1_000_000_000
            + u128::try_from(meta.ctime_nsec()).ok()?;
        Some(modified.max(status))
    }
    #[cfg(not(unix))]
    Some(modified)
}

fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("STORM_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("storm"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/storm"))
}

/// Where the stamp of `out` lives: named by a digest of its absolute path.
fn stamp_path(out: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(out).ok()?;
    let digest = Sha256::digest(absolute.to_string_lossy().as_bytes());
    let name: String = crate::ownership::hex(&digest[..16]);
    Some(cache_dir()?.join(format!("{name}.stamp")))
}

/// A stamp as read back: its key, when it was written, and its entries.
struct Stamp {
    key: String,
    trusted_before: u128,
    entries: Vec<Entry>,
}

/// A line of a stamp: a directory, or a file storm owns (with its marker's
/// checksum) or a hand-written one.
struct Entry {
    kind: String,
    size: u64,
    modified: u128,
    checksum: String,
    path: PathBuf,
}

/// The stamp of `out`, if there is one for this very directory.
fn read(out: &Path) -> Option<Stamp> {
    let text = std::fs::read_to_string(stamp_path(out)?).ok()?;
    let mut lines = text.lines();
    if lines.next()? != HEADER {
        return None;
    }
    let absolute = std::path::absolute(out).ok()?;
    if lines.next()? != format!("out {}", absolute.to_string_lossy()) {
        return None;
    }
    let key = lines.next()?.strip_prefix("key ")?.to_string();
    let written: u128 = lines.next()?.strip_prefix("written ")?.parse().ok()?;
    let mut entries = Vec::new();
    for line in lines {
        let mut parts = line.splitn(5, ' ');
        entries.push(Entry {
            kind: parts.next()?.to_string(),
            size: parts.next()?.parse().ok()?,
            modified: parts.next()?.parse().ok()?,
            checksum: parts.next()?.to_string(),
            path: out.join(parts.next()?),
        });
    }
    Some(Stamp {
        key,
        trusted_before: written.checked_sub(RACY_MARGIN.as_nanos())?,
        entries,
    })
}

impl Entry {
    /// Whether the directory or file is exactly as the stamp saw it, and was
    /// not modified so close to the stamp that it may have changed unseen.
    fn untouched(&self, trusted_before: u128) -> bool {
        self.modified < trusted_before
            && match self.kind.as_str() {
                "dir" => dir_modified(&self.path) == Some(self.modified),
                _ => metadata(&self.path) == Some((self.size, self.modified)),
            }
    }
}

/// Whether the last run into `out` had this key and left every file as it is now.
pub fn fresh(out: &Path, key: &Key) -> Option<Fresh> {
    // An output folder deleted since holds nothing fresh; its stamp (a line for
    // each of thousands of files) need not be read to find that out.
    std::fs::symlink_metadata(out).ok()?;
    let stamp = read(out)?;
    if stamp.key != key.0 {
        return None;
    }
    let mut fresh = Fresh {
        owned: 0,
        hand_written: 0,
    };
    for entry in &stamp.entries {
        match entry.kind.as_str() {
            // An entry added, removed or renamed in it would have changed this.
            "dir" | "storm" if !entry.untouched(stamp.trusted_before) => return None,
            "dir" => {}
            "storm" => fresh.owned += 1,
            // Hand-written files are the team's to change: they only need to exist.
            "user" => {
                metadata(&entry.path)?;
                fresh.hand_written += 1;
            }
            _ => return None,
        }
    }
    Some(fresh)
}

/// What the last run into `out` (whatever its key) recorded of the files storm
/// owns: size, change time and the checksum their marker states. A run after an
/// edit of the model need not read a file again that nobody touched since
/// ([`Recorded::untouched`]) and that would get the same checksum (see
/// [`crate::writer::plan`]).
#[derive(Debug, Default)]
pub struct Recorded {
    trusted_before: u128,
    files: HashMap<PathBuf, (u64, u128, String)>,
}

impl Recorded {
    /// The stamp of `out`, if there is one (empty if not).
    pub fn of(out: &Path) -> Recorded {
        let Some(stamp) = read(out) else {
            return Recorded::default();
        };
        let files = stamp
            .entries
            .into_iter()
            .filter(|e| e.kind == "storm")
            .filter_map(|e| {
                let relative = e.path.strip_prefix(out).ok()?.to_path_buf();
                Some((relative, (e.size, e.modified, e.checksum)))
            })
            .collect();
        Recorded {
            trusted_before: stamp.trusted_before,
            files,
        }
    }

    /// The checksum the marker of `relative` (below `out`) stated when the stamp
    /// was written, if the file now has exactly the size and change time it had
    /// then, and was not modified so close to the stamp that it may have changed
    /// unseen.
    pub fn untouched(&self, relative: &Path, now: FileState) -> Option<&str> {
        let (size, modified, checksum) = self.files.get(relative)?;
        (*modified < self.trusted_before && (*size, *modified) == now).then_some(checksum.as_str())
    }
}

/// Forgets the stamp of `out`: from now on the disk may differ from it.
pub fn forget(out: &Path) {
    if let Some(path) = stamp_path(out) {
        let _ = std::fs::remove_file(path);
    }
}

/// What the comparison saw below `out`, for [`record`]: every directory
/// (relative, `out` itself as `.`) and the size and change time of every file.
#[derive(Debug, Default)]
pub struct Seen {
    pub dirs: Vec<PathBuf>,
    pub files: HashMap<PathBuf, FileState>,
}

/// A file a run left below `out` (relative to it), as its stamp records it: who
/// owns it and, for storm's own, the checksum its marker states.
pub struct Left<'a> {
    pub path: &'a Path,
    pub owner: Owner,
    pub checksum: Option<&'a str>,
}

impl<'a> Left<'a> {
    /// Each of `files`, as the run leaves it.
    pub fn all(files: &'a BTreeMap<PathBuf, Output>) -> Vec<Left<'a>> {
        files
            .iter()
            .map(|(path, output)| Left {
                path,
                owner: output.owner,
                checksum: crate::ownership::stated_checksum(path, &output.content),
            })
            .collect()
    }
}

/// Records that `out` holds exactly `files` (just written or found unchanged).
/// `seen` is what the comparison found before the run wrote `written` (paths
/// relative to `out`): the size and change time of any other file are taken
/// from it rather than asked for again. A file changed since it was seen shows
/// a later change time than recorded, which can only make the next run look
/// at it, never trust it.
pub fn record(out: &Path, key: &Key, files: &[Left], seen: &Seen, written: &[PathBuf]) {
    let (Some(path), Ok(absolute)) = (stamp_path(out), std::path::absolute(out)) else {
        return;
    };
    let Ok(now) = SystemTime::now().duration_since(UNIX_EPOCH) else {
        return;
    };
    let mut text = format!(
        "{HEADER}\nout {}\nkey {}\nwritten {}\n",
        absolute.to_string_lossy(),
        key.0,
        now.as_nanos()
    );
    // Directories first: a file put into `out` from now on changes one of them.
    // Those the run wrote into may be new; those it removed from may be gone.
    // A directory already in the set has its ancestors there too.
    let mut dirs: HashSet<&Path> = seen.dirs.iter().map(PathBuf::as_path).collect();
    dirs.insert(Path::new("."));
    for file in written {
        for dir in file.ancestors().skip(1) {
            if dir.as_os_str().is_empty() || !dirs.insert(dir) {
                break;
            }
        }
    }
    let mut dirs: Vec<&Path> = dirs.into_iter().collect();
    dirs.sort_unstable();
    for relative in dirs {
        let Some(name) = relative.to_str().filter(|n| !n.contains('\n')) else {
            return;
        };
        let modified = match std::fs::symlink_metadata(out.join(relative)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && relative != Path::new(".") => {
                continue;
            }
            Ok(meta) if meta.is_dir() => changed(&meta),
            _ => None,
        };
        let Some(modified) = modified else {
            return;
        };
        let _ = writeln!(text, "dir 0 {modified} - {name}");
    }
    // Then every file, a line each, made on every core (the files just written
    // are asked for their size and change time).
    let written: HashSet<&Path> = written.iter().map(PathBuf::as_path).collect();
    let lines = crate::parallel::runs(files, |part| {
        let mut lines = String::new();
        for file in part {
            let relative = file.path;
            let name = relative.to_str().filter(|n| !n.contains('\n'))?;
            let found = match seen.files.get(relative) {
                Some(found) if !written.contains(relative) => Some(*found),
                _ => metadata(&out.join(relative)),
            };
            let (size, modified) = found?;
            let (owner, checksum) = match file.owner {
                Owner::Storm => ("storm", file.checksum.unwrap_or("-")),
                Owner::User => ("user", "-"),
            };
            let _ = writeln!(lines, "{owner} {size} {modified} {checksum} {name}");
        }
        Some(lines)
    });
    for part in lines {
        let Some(part) = part else {
            return;
        };
        text.push_str(&part);
    }
    let Some(dir) = path.parent() else {
        return;
    };
    if std::fs::create_dir_all(dir).is_ok() {
        let _ = crate::writer::write_atomic(&path, &text);
    }
}
