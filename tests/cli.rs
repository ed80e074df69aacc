//! The binary end to end: one case per file in `fixtures/cli/`, whose first line
//! is the command line (after `storm`). `$OUT` stands for a fresh temporary
//! directory. The exit code, stdout and stderr are an insta snapshot.

mod common;

#[test]
fn cli_cases() {
    for case in common::entries("tests/fixtures/cli") {
        let name = common::stem(&case);
        let text = std::fs::read_to_string(&case).expect("readable case");
        let line = text.lines().next().expect("a case has a command line");
        let out = tempfile::tempdir().expect("temp dir");
        let out_path = out.path().to_string_lossy().into_owned();
        let args: Vec<String> = line
            .split_whitespace()
            .map(|a| a.replace("$OUT", &out_path))
            .collect();
        let output = common::storm().args(&args).output().expect("storm runs");
        let code = output.status.code().unwrap_or(-1);
        assert_ne!(
            code,
            3,
            "{name}: storm hit a bug:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let shown = format!(
            "$ storm {line}\nexit: {code}\n--- stdout\n{}--- stderr\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .replace(&out_path, "$OUT");
        insta::with_settings!({ snapshot_path => "snapshots/cli", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(name, shown);
        });
    }
}
