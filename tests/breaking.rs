//! `storm breaking`, driven by data: every folder of `fixtures/breaking/` holds an
//! `old` and a `new` model (each a `.storm` file or a folder of them), named
//! `<verdict>--<change>[--<detail>]`. A `breaking--` case must report `<change>`
//! as breaking; an `ok--` case must report `<change>` without any breaking change
//! (`no-change`: nothing at all). The human, JSON and GitHub renderings are an
//! insta snapshot. Then the git path: a temporary repository compared against its
//! revisions without a checkout, and the errors of reading a revision.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use storm::analysis::{Analysis, analyze};
use storm::breaking::{self, Change, Kind, What};
use storm::render::Style;
use storm::wire::Backend;

/// `<case>/<side>.storm`, or the folder `<case>/<side>/`.
fn side(case: &Path, side: &str) -> PathBuf {
    let file = case.join(format!("{side}.storm"));
    if file.is_file() {
        file
    } else {
        case.join(side)
    }
}

fn analyzed(path: &Path) -> Analysis {
    let analysis = analyze(&[path.to_path_buf()], Backend::Eventbridge);
    let errors: Vec<String> = analysis
        .diagnostics
        .list
        .iter()
        .filter(|d| d.severity == storm::diagnostic::Severity::Error)
        .map(|d| storm::render::one_line(&analysis.sources, d))
        .collect();
    assert!(
        errors.is_empty(),
        "{}: the fixture has errors:\n{}",
        path.display(),
        errors.join("\n")
    );
    analysis
}

/// Every rendering of the changes, as the three formats print them.
fn rendered(new: &Analysis, changes: &[Change]) -> String {
    let style = Style {
        color: false,
        width: 100,
    };
    let mut out = String::from("--- human\n");
    for change in changes {
        out.push_str(&breaking::human(&new.sources, change, style));
    }
    out.push_str(&breaking::summary(changes));
    out.push_str("\n--- json\n");
    for change in changes {
        out.push_str(&breaking::json(&new.sources, change));
        out.push('\n');
    }
    out.push_str("--- github\n");
    for change in changes {
        out.push_str(&breaking::github(&new.sources, change));
        out.push('\n');
    }
    out
}

#[test]
fn breaking_fixtures() {
    let mut failures = Vec::new();
    for case in common::entries("tests/fixtures/breaking") {
        let name = common::stem(&case);
        let old = analyzed(&side(&case, "old"));
        let new = analyzed(&side(&case, "new"));
        let changes = breaking::compare(&old.model, &new.model);
        let output = rendered(&new, &changes);
        let mut parts = name.split("--");
        let verdict = parts.next().unwrap_or_default();
        let what = parts.next().unwrap_or_default();
        let expected = match verdict {
            "breaking" => true,
            "ok" => false,
            _ => panic!("{name}: a case is named `breaking--<change>` or `ok--<change>`"),
        };
        let problem = if what == "no-change" {
            (!changes.is_empty()).then_some("expected no change at all")
        } else {
            let what =
                What::from_name(what).unwrap_or_else(|| panic!("{name}: unknown change `{what}`"));
            let named: Vec<&Change> = changes.iter().filter(|c| c.what == what).collect();
            let acknowledged = name.contains("acknowledged");
            if named.is_empty() {
                Some("the change the case is named after was not reported")
            } else if breaking::has_breaking(&changes) != expected {
                Some(if expected {
                    "expected a breaking change"
                } else {
                    "expected no breaking change"
                })
            } else if expected && !named.iter().any(|c| c.kind == Kind::Breaking) {
                Some("the change the case is named after is not the breaking one")
            } else if acknowledged && !named.iter().all(|c| c.kind == Kind::Acknowledged) {
                Some("the change is not reported as acknowledged")
            } else {
                None
            }
        };
        if let Some(problem) = problem {
            failures.push(format!("{name}: {problem}; got:\n{output}"));
        }
        // Every change names its event and both versions it has.
        for change in &changes {
            assert!(
                change.event.contains('.'),
                "{name}: `{}` is not `Context.Event`",
                change.event
            );
            assert!(change.old_version.is_some() || change.new_version.is_some());
            assert!(change.sentence().contains(&change.event));
        }
        // Comparing a model with itself finds nothing, whichever side.
        assert!(
            breaking::compare(&new.model, &new.model).is_empty(),
            "{name}: new vs new"
        );
        assert!(
            breaking::compare(&old.model, &old.model).is_empty(),
            "{name}: old vs old"
        );
        insta::with_settings!({ snapshot_path => "snapshots/breaking", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(name, output);
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every kind of change has a case that is named after it, and an explanation
/// (`storm explain CHANGE`) whose verdict a case shows.
#[test]
fn every_change_has_a_case_and_an_explanation() {
    let names: Vec<String> = common::entries("tests/fixtures/breaking")
        .iter()
        .map(|p| common::stem(p))
        .collect();
    for what in What::ALL {
        assert!(
            names
                .iter()
                .any(|n| n.split("--").nth(1) == Some(what.as_str())),
            "no fixture is named after `{what}`"
        );
        let explanation = what.explanation();
        let verdict = explanation
            .strip_prefix(&format!("{what} ("))
            .and_then(|rest| rest.split_once(')'))
            .map(|(verdict, _)| verdict)
            .unwrap_or_else(|| {
                panic!("the explanation of `{what}` starts with `{what} (verdict)`")
            });
        // A breaking verdict has a `breaking--` case; a compatible one an `ok--`
        // case that is not about acknowledging.
        let shown = names.iter().any(|n| {
            let mut parts = n.split("--");
            let (case, named) = (parts.next(), parts.next());
            named == Some(what.as_str())
                && match verdict {
                    "breaking" => case == Some("breaking"),
                    "compatible" => case == Some("ok") && !n.contains("acknowledged"),
                    _ => panic!(
                        "`{what}`: the verdict `{verdict}` is neither breaking nor compatible"
                    ),
                }
        });
        assert!(shown, "no case shows `{what}` as {verdict}");
        assert!(
            explanation.contains("Example"),
            "the explanation of `{what}` has no example"
        );
    }
}

/// The examples compared with themselves: no change, and the same bytes each run.
#[test]
fn examples_compared_with_themselves() {
    for example in [
        "examples/online-store.storm",
        "examples/clinic.storm",
        "examples/parcel-delivery",
    ] {
        let a = analyzed(Path::new(example));
        let b = analyzed(Path::new(example));
        assert!(!a.model.events.is_empty());
        assert_eq!(
            breaking::compare(&a.model, &b.model),
            Vec::new(),
            "{example}"
        );
        let empty = storm::model::Model::default();
        let added = breaking::compare(&empty, &a.model);
        assert_eq!(
            added.len(),
            a.model.events.len(),
            "{example}: every event added"
        );
        assert!(
            added
                .iter()
                .all(|c| c.kind == Kind::Compatible && c.what == What::EventAdded)
        );
        let removed = breaking::compare(&a.model, &empty);
        assert_eq!(
            removed.len(),
            a.model.events.len(),
            "{example}: every event removed"
        );
        assert!(breaking::has_breaking(&removed));
        assert_eq!(
            rendered(&a, &added),
            rendered(&b, &breaking::compare(&empty, &b.model))
        );
    }
}

// ---------------------------------------------------------------------------
// Through git.

fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=storm tests",
            "-c",
            "user.email=storm@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn git_out(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

const ORDERING_V1: &str = "context Ordering {
  type OrderLine { sku: String, quantity: Int }
  aggregate Order {
    command PlaceOrder { lines: [OrderLine], coupon: String? } emits OrderPlaced
    event OrderPlaced { lines: [OrderLine], coupon: String? }
  }
}
";

const ORDERING_V2: &str = "context Ordering {
  type OrderLine { sku: String, quantity: Decimal }
  aggregate Order {
    command PlaceOrder { lines: [OrderLine] } emits OrderPlaced, OrderRejected
    event OrderPlaced { lines: [OrderLine], note: String? }
    event OrderRejected { reason: String }
  }
}
";

const INVENTORY: &str = "context Inventory {
  aggregate Stock {
    command ReserveStock { quantity: Int } emits StockReserved
    event StockReserved { quantity: Int }
  }
  policy ReserveStockForNewOrders when Ordering.OrderPlaced then ReserveStock
}
";

/// (kind, change, event, field) of each change, for comparing lists.
fn brief(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {} v{:?}→v{:?}",
                c.kind.as_str(),
                c.what,
                c.event,
                c.field.as_deref().unwrap_or("-"),
                c.old_version,
                c.new_version
            )
        })
        .collect()
}

/// A model committed, then changed in the working tree (a file edited, one
/// deleted): compared against `HEAD` through git, without a checkout.
#[test]
fn against_a_git_revision() {
    if common::tool("GIT", "git").is_none() {
        return;
    }
    let repo = tempfile::tempdir().expect("temp dir");
    let dir = repo.path();
    git(dir, &["init", "-q"]);
    write(&dir.join("model/ordering.storm"), ORDERING_V1);
    write(&dir.join("model/inventory.storm"), INVENTORY);
    write(
        &dir.join("model/.drafts/ignored.storm"),
        "this is not a model",
    );
    write(&dir.join("model/README.md"), "not a model either");
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "first model"]);
    git(dir, &["tag", "v1"]);

    write(&dir.join("model/ordering.storm"), ORDERING_V2);
    std::fs::remove_file(dir.join("model/inventory.storm")).expect("rm");
    let status_before = git_out(dir, &["status", "--porcelain"]);

    // The same revision through several spellings of the model's path.
    let absolute = dir.join("model");
    // storm run from outside the repository, on a model inside it.
    let outside = tempfile::tempdir().expect("temp dir");
    let cases: Vec<(&Path, &str, Vec<PathBuf>)> = vec![
        (dir, "HEAD", vec![PathBuf::from("model")]),
        (dir, "v1", vec![PathBuf::from("./model/")]),
        (dir, "main", vec![absolute.clone()]),
        (outside.path(), "HEAD", vec![absolute.clone()]),
        (&absolute, "HEAD", vec![PathBuf::from(".")]),
        (
            &absolute,
            "HEAD",
            vec![
                PathBuf::from("ordering.storm"),
                PathBuf::from("../model/inventory.storm"),
            ],
        ),
    ];
    for (repo_dir, rev, paths) in &cases {
        let files = breaking::load_revision(repo_dir, rev, paths)
            .unwrap_or_else(|e| panic!("{rev} {paths:?}: {e}"));
        let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
        assert_eq!(
            names,
            [
                format!("{rev}:model/inventory.storm"),
                format!("{rev}:model/ordering.storm")
            ],
            "{paths:?}"
        );
        assert_eq!(files[0].1, INVENTORY);
        assert_eq!(files[1].1, ORDERING_V1);
    }

    let files = breaking::load_revision(dir, "HEAD", &[PathBuf::from("model")]).expect("HEAD");
    let old = storm::analysis::analyze_texts(files, Backend::Eventbridge);
    assert!(!old.diagnostics.has_errors(), "{:?}", old.diagnostics.list);
    let new = analyze(&[dir.join("model")], Backend::Eventbridge);
    assert!(!new.diagnostics.has_errors(), "{:?}", new.diagnostics.list);
    let changes = breaking::compare(&old.model, &new.model);
    assert_eq!(
        brief(&changes),
        [
            "breaking event-removed Inventory.StockReserved - vSome(1)→vNone",
            "breaking field-removed Ordering.OrderPlaced coupon vSome(1)→vSome(1)",
            "breaking field-type-changed Ordering.OrderPlaced lines[].quantity vSome(1)→vSome(1)",
            "breaking field-added-optional Ordering.OrderPlaced note vSome(1)→vSome(1)",
            "compatible event-added Ordering.OrderRejected - vNone→vSome(1)",
        ]
    );
    // analyze_against picks the same revision.
    let (via, notes) = breaking::analyze_against(
        dir,
        "HEAD",
        &[PathBuf::from("model")],
        None,
        Backend::Eventbridge,
    )
    .expect("against HEAD");
    assert_eq!(breaking::compare(&via.model, &new.model), changes);
    assert!(notes.is_empty(), "{notes:?}");

    // Nothing was checked out: the working tree and the index are as they were.
    assert_eq!(git_out(dir, &["status", "--porcelain"]), status_before);
    assert_eq!(
        std::fs::read_to_string(dir.join("model/ordering.storm")).expect("read"),
        ORDERING_V2
    );
    assert!(!dir.join("model/inventory.storm").exists());

    // Committed, the change is in history: `HEAD~1` against `HEAD` is the same.
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "second model"]);
    let old = breaking::load_revision(dir, "HEAD~1", &[PathBuf::from("model")]).expect("HEAD~1");
    let old = storm::analysis::analyze_texts(old, Backend::Eventbridge);
    assert_eq!(breaking::compare(&old.model, &new.model), changes);
    let head = breaking::load_revision(dir, "HEAD", &[PathBuf::from("model")]).expect("HEAD");
    let head = storm::analysis::analyze_texts(head, Backend::Eventbridge);
    assert!(breaking::compare(&head.model, &new.model).is_empty());
}

/// Against a directory (an older copy of the model), not a revision.
#[test]
fn against_a_directory() {
    let case = Path::new("tests/fixtures/breaking/breaking--field-removed--multi-file-model");
    let (old, notes) = breaking::analyze_against(
        Path::new("."),
        &case.join("old").display().to_string(),
        &[],
        None,
        Backend::Eventbridge,
    )
    .expect("a directory");
    assert!(notes.is_empty(), "{notes:?}");
    let new = analyzed(&case.join("new"));
    let changes = breaking::compare(&old.model, &new.model);
    assert_eq!(
        brief(&changes),
        ["breaking field-removed Ordering.OrderPlaced lines[].quantity vSome(1)→vSome(1)"]
    );
}

/// Reading a revision that cannot be read is an error message, never a panic.
#[test]
fn revision_errors() {
    if common::tool("GIT", "git").is_none() {
        return;
    }
    let repo = tempfile::tempdir().expect("temp dir");
    let dir = repo.path();
    let empty = tempfile::tempdir().expect("temp dir");
    let unborn = tempfile::tempdir().expect("temp dir");
    git(dir, &["init", "-q"]);
    git(unborn.path(), &["init", "-q"]);
    write(&dir.join("model/ordering.storm"), ORDERING_V1);
    write(&dir.join("docs/notes.md"), "no models here");
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "first"]);
    write(&dir.join("model/later.storm"), INVENTORY);
    write(&dir.join("bad.storm"), "");
    std::fs::write(dir.join("bad.storm"), [0xff, 0xfe, b'x']).expect("write");
    git(dir, &["add", "bad.storm"]);
    git(dir, &["commit", "-q", "-m", "not utf-8"]);

    let missing = dir.join("missing");
    let model = || vec![PathBuf::from("model")];
    let cases: Vec<(&str, &Path, &str, Vec<PathBuf>, &str)> = vec![
        (
            "unknown revision",
            dir,
            "no-such-branch",
            model(),
            "unknown revision `no-such-branch`",
        ),
        (
            "revision that is a blob",
            dir,
            "HEAD:model/ordering.storm",
            model(),
            "unknown revision",
        ),
        (
            "option as revision",
            dir,
            "--output=/tmp/storm-breaking-injected",
            model(),
            "unknown revision",
        ),
        (
            "empty revision",
            dir,
            "",
            model(),
            "the revision to compare against is empty",
        ),
        (
            "repository without commits",
            unborn.path(),
            "HEAD",
            model(),
            "unknown revision `HEAD`",
        ),
        (
            "second path outside the repository",
            dir,
            "HEAD",
            vec![PathBuf::from("model"), PathBuf::from("../elsewhere.storm")],
            "`../elsewhere.storm` is outside the git repository",
        ),
        (
            "model outside any repository",
            dir,
            "HEAD",
            vec![PathBuf::from("../elsewhere.storm")],
            "is not in a git repository",
        ),
        (
            "not a git repository",
            empty.path(),
            "HEAD",
            model(),
            "is not in a git repository",
        ),
        (
            "missing directory",
            &missing,
            "HEAD",
            model(),
            "cannot read",
        ),
        (
            "not UTF-8",
            dir,
            "HEAD",
            vec![PathBuf::from("bad.storm")],
            "`bad.storm` at `HEAD` is not valid UTF-8",
        ),
    ];
    for (what, repo_dir, rev, paths, expected) in cases {
        match breaking::load_revision(repo_dir, rev, &paths) {
            Ok(files) => panic!("{what}: expected an error, read {} files", files.len()),
            Err(message) => assert!(
                message.contains(expected),
                "{what}: `{message}` does not say `{expected}`"
            ),
        }
    }
    assert!(!Path::new("/tmp/storm-breaking-injected").exists());
}

/// A model path with no model at the revision (a pull request adding the first
/// model file, or a new folder of them) is compared as an empty model: every
/// event is added, none is breaking, and a note says why.
#[test]
fn model_not_yet_at_the_revision() {
    if common::tool("GIT", "git").is_none() {
        return;
    }
    let repo = tempfile::tempdir().expect("temp dir");
    let dir = repo.path();
    git(dir, &["init", "-q"]);
    write(&dir.join("model/ordering.storm"), ORDERING_V1);
    write(&dir.join("docs/notes.md"), "no models here");
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "first"]);
    write(&dir.join("model/later.storm"), INVENTORY);
    write(&dir.join("nowhere/inventory.storm"), INVENTORY);
    write(&dir.join("docs/inventory.storm"), INVENTORY);
    let cases: Vec<(Vec<PathBuf>, usize, &[&str])> = vec![
        (
            vec![PathBuf::from("model/later.storm")],
            0,
            &["`model/later.storm` does not exist at `HEAD`"],
        ),
        (
            vec![PathBuf::from("nowhere")],
            0,
            &["`nowhere` does not exist at `HEAD`"],
        ),
        (
            vec![PathBuf::from("docs")],
            0,
            &["directory `docs` contains no `.storm` files at `HEAD`"],
        ),
        // Next to a file that is there: only the new one reads as empty.
        (
            vec![
                PathBuf::from("model/ordering.storm"),
                PathBuf::from("model/later.storm"),
            ],
            1,
            &["`model/later.storm` does not exist at `HEAD`"],
        ),
        // A folder model: a file added to it is simply not at the revision.
        (vec![PathBuf::from("model")], 1, &[]),
    ];
    for (paths, files, notes) in cases {
        let revision = breaking::read_revision(dir, "HEAD", &paths)
            .unwrap_or_else(|e| panic!("{paths:?}: {e}"));
        assert_eq!(revision.files.len(), files, "{paths:?}");
        assert_eq!(
            revision.notes.len(),
            notes.len(),
            "{paths:?}: {:?}",
            revision.notes
        );
        for (note, expected) in revision.notes.iter().zip(notes) {
            assert!(
                note.contains(expected),
                "{paths:?}: `{note}` does not say `{expected}`"
            );
            assert!(note.contains("compared as an empty model"), "{note}");
        }
    }
    // Against the empty model, the new file's events are all added.
    write(
        &dir.join("shipping.storm"),
        "context Shipping {\n  aggregate Parcel {\n    command Ship { to: String } emits ParcelShipped\n    event ParcelShipped { to: String, weight: Decimal? }\n  }\n}\n",
    );
    let paths = [dir.join("shipping.storm")];
    let (old, notes) = breaking::analyze_against(dir, "HEAD", &paths, None, Backend::Eventbridge)
        .expect("against HEAD");
    assert!(!old.diagnostics.has_errors(), "{:?}", old.diagnostics.list);
    assert_eq!(notes.len(), 1);
    let new = analyze(&paths, Backend::Eventbridge);
    let changes = breaking::compare(&old.model, &new.model);
    assert!(!changes.is_empty());
    assert!(!breaking::has_breaking(&changes));
    assert!(
        brief(&changes)
            .iter()
            .all(|c| c.starts_with("compatible event-added ")),
        "{:?}",
        brief(&changes)
    );
}

/// Value types nested thousands deep (a hostile model) are compared without
/// running out of stack, and the change at the bottom is found.
#[test]
fn deeply_nested_value_types() {
    let depth = 3000;
    let model = |last: &str| {
        let mut text = String::from("context Deep {\n");
        for i in 0..depth - 1 {
            text.push_str(&format!("  type T{i} {{ v: Int, next: T{} }}\n", i + 1));
        }
        text.push_str(&format!("  type T{} {{ v: {last} }}\n", depth - 1));
        text.push_str("  aggregate A {\n    command Go { t: T0 } emits Went\n    event Went { t: T0 }\n  }\n}\n");
        let analysis = storm::analysis::analyze_texts(
            vec![(PathBuf::from("deep.storm"), text)],
            Backend::Eventbridge,
        );
        assert!(!analysis.diagnostics.has_errors());
        analysis
    };
    let (old, new) = (model("Int"), model("String"));
    let changes = breaking::compare(&old.model, &new.model);
    assert_eq!(changes.len(), 1);
    let field = changes[0].field.as_deref().unwrap_or_default();
    assert_eq!(field, format!("t{}.v", ".next".repeat(depth - 1)));
    assert_eq!(changes[0].kind, Kind::Breaking);
}
