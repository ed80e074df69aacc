//! Hostile input: storm never panics, never overflows its stack, never hangs, and
//! always answers with a diagnostic and the exit code cli.md gives (1 for a model
//! with errors, 2 for a file that cannot be read, never 3: that is a panic reaching
//! the hook).
//!
//! - `fixtures/hostile/<exit>--<case>` (files and directories) run through the real
//!   binary; the exit code must be `<exit>`, and exit code and output are an insta
//!   snapshot. Two cases name paths that do not exist on purpose.
//! - A proptest mutates the example models (byte deletions, insertions and
//!   replacements, line swaps, truncation, runs of brackets) and feeds them, and
//!   arbitrary bytes, to `analyze_texts` and to `analyze` on files in a temp dir.

mod common;

use proptest::prelude::*;
use proptest::sample::Index;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use storm::analysis::Analysis;
use storm::render::{self, Style};
use storm::wire::Backend;

/// Lines of output longer than this are cut in snapshots (a 100,000-character
/// identifier is printed in full by storm, but the snapshot needs only its start).
const SNAPSHOT_LINE: usize = 200;

/// A run that takes longer than this is a hang (the worst fixture takes well under a
/// second in a release build). This is a guard against hanging the suite, not a
/// timing assertion.
const HANG: Duration = Duration::from_secs(60);

/// Paths that do not exist, checked as if they were fixtures.
const MISSING: &[&str] = &[
    "tests/fixtures/hostile/2--missing.storm",
    "tests/fixtures/hostile/2--missing-directory/",
];

#[test]
fn hostile_fixtures_through_the_binary() {
    let mut cases = common::entries("tests/fixtures/hostile");
    cases.extend(MISSING.iter().map(PathBuf::from));
    let mut failures = Vec::new();
    for path in cases {
        let name = common::stem(&path);
        let (expected, _) = name
            .split_once("--")
            .unwrap_or_else(|| panic!("{name}: fixture named <exit code>--<case>"));
        let expected: i32 = expected
            .parse()
            .unwrap_or_else(|_| panic!("{name}: fixture named <exit code>--<case>"));
        let run = storm_check(&path);
        let snapshot = format!(
            "$ storm check {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
            path.display(),
            run.code
                .map_or("none (killed: hang)".to_string(), |c| c.to_string()),
            shorten(&run.stdout),
            shorten(&run.stderr),
        );
        if run.code != Some(expected) {
            failures.push(format!(
                "{name}: expected exit {expected}, got {:?}\n{}",
                run.code,
                head(&snapshot)
            ));
        }
        if run.stderr.contains("this is a bug in storm") || run.stderr.contains("panicked") {
            failures.push(format!("{name}: storm panicked\n{}", head(&snapshot)));
        }
        insta::with_settings!({ snapshot_path => "snapshots/hostile", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(name, snapshot);
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `storm check PATH` with colour off and a fixed width; killed after [`HANG`].
fn storm_check(path: &Path) -> Run {
    let mut child = common::storm()
        .arg("check")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("storm binary runs");
    // Drain both pipes on threads, so a large output cannot block the child.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).expect("pipe readable");
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait for storm") {
            break status.code();
        }
        if started.elapsed() > HANG {
            child.kill().expect("kill a hung storm");
            child.wait().expect("reap storm");
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Cuts long lines, so that snapshots stay readable.
fn shorten(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let chars = line.chars().count();
        if chars > SNAPSHOT_LINE {
            out.extend(line.chars().take(SNAPSHOT_LINE));
            out.push_str(&format!("… [{} more characters]", chars - SNAPSHOT_LINE));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// The start of a snapshot, for failure messages.
fn head(snapshot: &str) -> String {
    snapshot.lines().take(30).collect::<Vec<_>>().join("\n")
}

// ---------------------------------------------------------------- property tests

/// The example models, as (relative path, bytes) per file.
fn examples() -> Vec<Vec<(PathBuf, Vec<u8>)>> {
    let mut models = Vec::new();
    for path in common::entries("examples") {
        if path.is_dir() {
            let files = common::entries(path.to_str().expect("utf-8 path"))
                .into_iter()
                .filter(|f| f.extension().is_some_and(|e| e == "storm"))
                .map(|f| {
                    let bytes = std::fs::read(&f).expect("example readable");
                    (
                        f.strip_prefix("examples").expect("below").to_path_buf(),
                        bytes,
                    )
                })
                .collect::<Vec<_>>();
            models.push(files);
        } else if path.extension().is_some_and(|e| e == "storm") {
            let bytes = std::fs::read(&path).expect("example readable");
            let name = path.strip_prefix("examples").expect("below").to_path_buf();
            models.push(vec![(name, bytes)]);
        }
    }
    assert!(models.len() >= 3, "examples/ holds the example models");
    models
}

#[derive(Clone, Debug)]
enum Mutation {
    Delete(Index, usize),
    Insert(Index, Vec<u8>),
    Replace(Index, u8),
    SwapLines(Index, Index),
    Truncate(Index),
    /// A run of one opening (or closing) bracket: nesting near and past the limit.
    Run(Index, u8, usize),
}

/// Bytes worth inserting: storm's own tokens more often than noise.
fn insertion() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "{", "}", "[", "]", "?", ",", ".", ":", "->", "<->", "\"", "///", "// ", "\n",
            "context ", "contextmap ", "aggregate ", "command ", "event ", "emits ",
            "policy ", "when ", "then ", "readmodel ", "from ", "type ", "enum ",
            "lifecycle ", "state ", "requires ", "enters ", "version ", "by ", "id ",
            "external ", "actor ", "hotspot ", "Uuid", "String", "\u{FEFF}", "\r\n",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 1..16),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        3 => (any::<Index>(), insertion()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        3 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), prop::sample::select(b"[{]}(".to_vec()), 1usize..200)
            .prop_map(|(i, b, n)| Mutation::Run(i, b, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
    match m {
        Mutation::Delete(i, n) => {
            let start = at(i, bytes.len());
            let end = (start + n).min(bytes.len());
            bytes.drain(start..end);
        }
        Mutation::Insert(i, ins) => {
            let start = at(i, bytes.len());
            bytes.splice(start..start, ins.iter().copied());
        }
        Mutation::Replace(i, b) => {
            if !bytes.is_empty() {
                let k = i.index(bytes.len());
                bytes[k] = *b;
            }
        }
        Mutation::SwapLines(a, b) => {
            let mut lines: Vec<Vec<u8>> =
                bytes.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
            let (x, y) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(x, y);
            *bytes = lines.join(&b'\n');
        }
        Mutation::Truncate(i) => {
            let len = at(i, bytes.len());
            bytes.truncate(len);
        }
        Mutation::Run(i, b, n) => {
            let start = at(i, bytes.len());
            bytes.splice(start..start, std::iter::repeat_n(*b, *n));
        }
    }
}

/// What must hold for any input: every label points inside its file, on character
/// boundaries, and every diagnostic renders in each format.
fn well_formed(analysis: &Analysis) -> Result<(), TestCaseError> {
    let style = Style {
        color: false,
        width: 100,
    };
    for d in &analysis.diagnostics.list {
        for label in &d.labels {
            let text = &analysis.sources.get(label.span.file).text;
            let (start, end) = (label.span.start as usize, label.span.end as usize);
            prop_assert!(
                start <= end && end <= text.len(),
                "{d:?}: span outside its file"
            );
            prop_assert!(
                text.is_char_boundary(start) && text.is_char_boundary(end),
                "{d:?}: span splits a character"
            );
        }
        prop_assert!(!render::human(&analysis.sources, d, style).is_empty());
        prop_assert!(!render::json(&analysis.sources, d).is_empty());
        prop_assert!(!render::github(&analysis.sources, d).is_empty());
    }
    Ok(())
}

proptest! {
    // 192 cases of each test keep the whole file well under 20 s in a debug build.
    #![proptest_config(ProptestConfig { cases: 192, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_examples_never_panic(
        model in any::<Index>(),
        file in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let models = examples();
        let mut files = models[model.index(models.len())].clone();
        let k = file.index(files.len());
        for m in &mutations {
            apply(&mut files[k].1, m);
        }
        // In memory, decoded as the loader decodes invalid UTF-8.
        let texts = files
            .iter()
            .map(|(p, b)| (p.clone(), String::from_utf8_lossy(b).into_owned()))
            .collect();
        let analysis = storm::analysis::analyze_texts(texts, Backend::SnsSqs);
        well_formed(&analysis)?;
        // On disk, through the loader: a directory model, or the one file.
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, bytes) in &files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
            std::fs::write(&path, bytes).expect("write model");
        }
        let input = if files.len() == 1 { dir.path().join(&files[0].0) } else { dir.path().to_path_buf() };
        let analysis = storm::analysis::analyze(&[input], Backend::Eventbridge);
        well_formed(&analysis)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let analysis = storm::analysis::analyze_texts(vec![(PathBuf::from("fuzz.storm"), text)], Backend::Kafka);
        well_formed(&analysis)?;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fuzz.storm");
        std::fs::write(&path, &bytes).expect("write model");
        let analysis = storm::analysis::analyze(&[path], Backend::Eventbridge);
        well_formed(&analysis)?;
        // Bytes that are not UTF-8 are an unreadable file, not a model error.
        prop_assert_eq!(std::str::from_utf8(&bytes).is_err(), analysis.has_io_errors());
    }
}
