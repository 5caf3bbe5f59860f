//! Snapshots of the rendered reports, made by the real binary with a fixed width (`COLUMNS=100`)
//! and no color. Paths in the reports are relative to the checked root, so the snapshots do not
//! depend on where the repository is checked out. Update with
//! `INSTA_UPDATE=always cargo test --test snapshots` and review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel)
}

/// Runs `asynclint <args>` in `cwd` and returns stdout, checking the exit code.
fn asynclint(cwd: &Path, args: &[&str], expected_code: i32) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_asynclint"))
        // The default cache folder (`target/asynclint/` of the checked project), whatever the
        // developer has set.
        .env_remove("ASYNCLINT_CACHE_DIR")
        .args(args)
        .current_dir(cwd)
        .env("COLUMNS", "100")
        .env_remove("ASYNCLINT_FORMAT")
        .env_remove("NO_COLOR")
        .output()
        .expect("cannot start asynclint");
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    assert_eq!(
        out.status.code(),
        Some(expected_code),
        "asynclint {args:?}\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn inventory_service(format: &str) -> String {
    let root = fixture("projects/inventory-service");
    // Run from elsewhere with an absolute path: the report must still show root-relative paths.
    asynclint(&std::env::temp_dir(), &["check", "--format", format, root.to_str().unwrap()], 1)
}

#[test]
fn inventory_service_concise() {
    insta::assert_snapshot!("inventory_service_concise", inventory_service("concise"));
}

#[test]
fn inventory_service_json() {
    insta::assert_snapshot!("inventory_service_json", inventory_service("json"));
}

#[test]
fn single_file_full() {
    // A file named on the command line is shown relative to the current directory.
    let out = asynclint(
        &fixture("projects/broken-input/src"),
        &["check", "--format", "full", "--color", "never", "good.rs"],
        1,
    );
    insta::assert_snapshot!("single_file_full", out);
}

#[test]
fn broken_input_full() {
    // The full format with a finding and a parse error in the same report.
    let root = fixture("projects/broken-input");
    let out =
        asynclint(&std::env::temp_dir(), &["check", "--format", "full", "--color", "never", root.to_str().unwrap()], 1);
    insta::assert_snapshot!("broken_input_full", out);
}
