//! The modelling workflow end to end, one scenario per file in
//! `fixtures/workflow/`, run in a fresh temporary directory. A scenario is a
//! list of steps; the transcript (commands, exit codes, output, observations) is
//! an insta snapshot, and `expect` steps fail the test on the spot.
//!
//! Steps:
//! - `copy SRC DEST`: copy a file or directory of the repository into the scenario;
//!   `cp FROM TO` copies within the scenario
//! - `write PATH` ... `end`: write the lines in between
//! - `append PATH TEXT` / `replace PATH OLD => NEW` (`\n` allowed) / `remove PATH`
//! - `rename FROM TO`: an editor saving by rename
//! - `symlink TARGET LINK`: a symbolic link at LINK to TARGET, as written (`..`
//!   leads out of the project into the scenario's temporary folder, `$TMP`)
//! - `storm ARGS...`: run storm there; `expect exit N` checks its exit code
//! - `cd PATH`: later `storm` and `watch` steps run in PATH, a folder of the
//!   scenario (`cd .` goes back to its top)
//! - `git ARGS...`: run git there (fails the test when git fails)
//! - `stamp PATH` then `expect same-mtime PATH`: the file was not rewritten
//! - `expect file PATH` / `expect no-file PATH` / `expect contains PATH TEXT`
//! - `show PATH`: put the file in the transcript
//! - `watch ARGS...`, `wait TEXT` (until storm's stderr shows TEXT, at most 30 s),
//!   `stop`: a `storm watch` in the background
//! - `kill-during MS ARGS...`: start storm, kill it after MS ms; `expect intact DIR`:
//!   every file below DIR that storm owns has a valid checksum (old or new, never half)
//! - `sleep MS`: let time pass (a run trusts its stamp only for files older than
//!   a second, see `storm::stamp`)
//! - `noise PATH`: from now until `stop`, append a line to PATH and read it back
//!   every 5 ms (a log file beside the model, a busy editor)

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

struct Watch {
    child: Child,
    stderr: Arc<Mutex<String>>,
    seen: usize,
}

struct Scenario {
    dir: PathBuf,
    /// Where storm runs, relative to `dir`.
    here: PathBuf,
    transcript: String,
    last_exit: i32,
    stamps: std::collections::HashMap<String, SystemTime>,
    watch: Option<Watch>,
    noise: Option<Noise>,
}

/// A file written and read every few milliseconds in the background.
struct Noise {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

fn storm(dir: &Path) -> Command {
    let mut command = common::storm();
    command.current_dir(dir);
    command
}

impl Scenario {
    fn path(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }

    fn path_of_here(&self) -> PathBuf {
        self.dir.join(&self.here)
    }

    fn scrub(&self, text: &str) -> String {
        let mut text = text.to_string();
        let real = std::fs::canonicalize(&self.dir).unwrap_or_else(|_| self.dir.clone());
        for (dir, name) in [(&real, "$DIR"), (&self.dir, "$DIR")] {
            text = text.replace(dir.to_string_lossy().as_ref(), name);
        }
        // Paths that lead out of the project, through `..` links: into the
        // scenario's own temporary folder.
        for dir in [&real, &self.dir] {
            if let Some(parent) = dir.parent() {
                text = text.replace(parent.to_string_lossy().as_ref(), "$TMP");
            }
        }
        // Watch prints how long a run took; that is not a stable fact.
        let mut out = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let (body, end) = match line.strip_suffix('\n') {
                Some(body) => (body, "\n"),
                None => (line, ""),
            };
            match body
                .strip_suffix(" ms")
                .and_then(|b| b.rfind(" in ").map(|at| &b[..at]))
            {
                Some(head) => {
                    out.push_str(head);
                    out.push_str(" in N ms");
                }
                None => out.push_str(body),
            }
            out.push_str(end);
        }
        out
    }

    fn step(&mut self, name: &str, line: &str, lines: &mut std::slice::Iter<'_, &str>) {
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let args: Vec<&str> = rest.split_whitespace().collect();
        self.transcript.push_str(&format!("> {line}\n"));
        match verb {
            "copy" => copy(&PathBuf::from(args[0]), &self.path(args[1])),
            "cp" => copy(&self.path(args[0]), &self.path(args[1])),
            "write" => {
                let mut text = String::new();
                for l in lines.by_ref() {
                    if *l == "end" {
                        break;
                    }
                    text.push_str(l);
                    text.push('\n');
                }
                let path = self.path(args[0]);
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(path, text).expect("write");
            }
            "append" => {
                let path = self.path(args[0]);
                let mut text = std::fs::read_to_string(&path).unwrap_or_default();
                text.push_str(&rest[args[0].len() + 1..].replace("\\n", "\n"));
                text.push('\n');
                std::fs::write(path, text).expect("append");
            }
            "replace" => {
                let path = self.path(args[0]);
                let text = std::fs::read_to_string(&path).expect("replace: file exists");
                let (old, new) = rest[args[0].len() + 1..]
                    .split_once(" => ")
                    .expect("replace PATH OLD => NEW");
                let (old, new) = (old.replace("\\n", "\n"), new.replace("\\n", "\n"));
                assert!(text.contains(&old), "{name}: `{old}` not in {}", args[0]);
                std::fs::write(path, text.replacen(&old, &new, 1)).expect("replace");
            }
            "remove" => {
                let path = self.path(args[0]);
                if path.is_dir() {
                    std::fs::remove_dir_all(path).expect("remove dir");
                } else {
                    std::fs::remove_file(path).expect("remove");
                }
            }
            "rename" => std::fs::rename(self.path(args[0]), self.path(args[1])).expect("rename"),
            "symlink" => {
                #[cfg(unix)]
                std::os::unix::fs::symlink(args[0], self.path(args[1])).expect("symlink");
                #[cfg(not(unix))]
                panic!("{name}: symbolic links are tested on Unix only");
            }
            "cd" => self.here = PathBuf::from(args[0]),
            "storm" => {
                let output = storm(&self.path_of_here())
                    .args(&args)
                    .output()
                    .expect("storm runs");
                self.last_exit = output.status.code().unwrap_or(-1);
                assert_ne!(
                    self.last_exit,
                    3,
                    "{name}: storm hit a bug: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                let text = format!(
                    "exit {}\n{}{}",
                    self.last_exit,
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
                self.transcript.push_str(&self.scrub(&text));
            }
            "git" => {
                let status = Command::new("git")
                    .args(&args)
                    .current_dir(&self.dir)
                    .env("GIT_AUTHOR_NAME", "storm tests")
                    .env("GIT_AUTHOR_EMAIL", "tests@storm.invalid")
                    .env("GIT_COMMITTER_NAME", "storm tests")
                    .env("GIT_COMMITTER_EMAIL", "tests@storm.invalid")
                    .output()
                    .expect("git runs");
                assert!(
                    status.status.success(),
                    "{name}: git {rest} failed: {}",
                    String::from_utf8_lossy(&status.stderr)
                );
            }
            "stamp" => {
                let mtime = modified(&self.path(args[0]));
                self.stamps.insert(args[0].to_string(), mtime);
            }
            // Sets a file's modification time back to what `stamp` saw, as
            // `touch -r` or `cp -p` would after an edit.
            "backdate" => {
                let file = std::fs::File::options()
                    .write(true)
                    .open(self.path(args[0]))
                    .expect("backdate: file exists");
                file.set_modified(self.stamps[args[0]])
                    .expect("backdate: set the time");
            }
            "show" => {
                let text = std::fs::read_to_string(self.path(args[0])).expect("show: file exists");
                self.transcript.push_str(&text);
            }
            "watch" => {
                let mut child = storm(&self.path_of_here())
                    .args(&args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("storm watch starts");
                let stderr = Arc::new(Mutex::new(String::new()));
                let mut pipe = child.stderr.take().expect("stderr");
                let sink = Arc::clone(&stderr);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = pipe.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        sink.lock()
                            .expect("lock")
                            .push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                });
                self.watch = Some(Watch {
                    child,
                    stderr,
                    seen: 0,
                });
            }
            "wait" => {
                let deadline = Instant::now() + Duration::from_secs(30);
                loop {
                    let watch = self.watch.as_mut().expect("wait needs a watch");
                    let text = watch.stderr.lock().expect("lock").clone();
                    // Only a whole line counts: the rest of it may still be on its way.
                    let found = text[watch.seen..].find(rest).and_then(|at| {
                        let end = watch.seen + at + rest.len();
                        text[end..].find('\n').map(|n| end + n + 1)
                    });
                    if let Some(end) = found {
                        let seen = std::mem::replace(&mut watch.seen, end);
                        let shown = self.scrub(&text[seen..end]);
                        self.transcript.push_str(&shown);
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "{name}: watch never printed `{rest}`:\n{text}"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            "noise" => {
                let path = self.path(args[0]);
                let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let quit = Arc::clone(&stop);
                let thread = std::thread::spawn(move || {
                    use std::io::Write;
                    while !quit.load(std::sync::atomic::Ordering::Relaxed) {
                        if let Ok(mut f) = std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(&path)
                        {
                            let _ = writeln!(f, "noise");
                        }
                        let _ = std::fs::read(&path);
                        std::thread::sleep(Duration::from_millis(5));
                    }
                });
                self.noise = Some(Noise { stop, thread });
            }
            "stop" => {
                if let Some(noise) = self.noise.take() {
                    noise.stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    let _ = noise.thread.join();
                }
                let mut watch = self.watch.take().expect("stop needs a watch");
                let _ = watch.child.kill();
                let _ = watch.child.wait();
            }
            "kill-during" => {
                let ms: u64 = args[0].parse().expect("kill-during MS ARGS...");
                let mut child = storm(&self.dir)
                    .args(&args[1..])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("storm starts");
                std::thread::sleep(Duration::from_millis(ms));
                let _ = child.kill();
                let _ = child.wait();
            }
            "sleep" => {
                let ms: u64 = args[0].parse().expect("sleep MS");
                std::thread::sleep(Duration::from_millis(ms));
            }
            "expect" => self.expect(name, &args, rest),
            other => panic!("{name}: unknown step `{other}`"),
        }
    }

    fn expect(&mut self, name: &str, args: &[&str], rest: &str) {
        match args[0] {
            "exit" => {
                let want: i32 = args[1].parse().expect("exit code");
                assert_eq!(
                    self.last_exit, want,
                    "{name}: exit code\n{}",
                    self.transcript
                );
            }
            "file" => assert!(self.path(args[1]).is_file(), "{name}: {} missing", args[1]),
            "no-file" => assert!(!self.path(args[1]).exists(), "{name}: {} exists", args[1]),
            "contains" => {
                let text = std::fs::read_to_string(self.path(args[1])).expect("file exists");
                let needle = &rest[rest.find(args[1]).expect("path") + args[1].len() + 1..];
                assert!(
                    text.contains(needle),
                    "{name}: {} lacks `{needle}`",
                    args[1]
                );
            }
            "same-mtime" => {
                let before = self.stamps[args[1]];
                assert_eq!(
                    modified(&self.path(args[1])),
                    before,
                    "{name}: {} was rewritten",
                    args[1]
                );
            }
            "intact" => {
                for file in walk(&self.path(args[1])) {
                    let text = std::fs::read_to_string(&file).unwrap_or_default();
                    let state = storm::ownership::state(&file, &text);
                    assert_ne!(
                        state,
                        storm::ownership::State::Edited,
                        "{name}: {} is half written",
                        file.display()
                    );
                }
            }
            other => panic!("{name}: unknown expectation `{other}`"),
        }
    }
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read dir").flatten() {
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

/// `WORKFLOW_ONLY=TEXT` runs only the scenarios whose name contains TEXT.
#[test]
fn workflow_scenarios() {
    let only = std::env::var("WORKFLOW_ONLY").unwrap_or_default();
    for case in common::entries("tests/fixtures/workflow") {
        let name = common::stem(&case);
        if !name.contains(&only) {
            continue;
        }
        let text = std::fs::read_to_string(&case).expect("readable scenario");
        // The scenario's project is a folder of its own in a temporary folder, so
        // that what lies outside it (`..`) is the scenario's too.
        let dir = tempfile::tempdir().expect("temp dir");
        let project = dir.path().join("project");
        std::fs::create_dir(&project).expect("project dir");
        let mut scenario = Scenario {
            dir: project,
            here: PathBuf::from("."),
            transcript: String::new(),
            last_exit: 0,
            stamps: Default::default(),
            watch: None,
            noise: None,
        };
        let lines: Vec<&str> = text.lines().collect();
        let mut iter = lines.iter();
        while let Some(line) = iter.next() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            scenario.step(&name, line, &mut iter);
        }
        if let Some(mut watch) = scenario.watch.take() {
            let _ = watch.child.kill();
        }
        insta::with_settings!({ snapshot_path => "snapshots/workflow", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(name, scenario.transcript);
        });
    }
}
