//! End-to-end tests of the `asynclint` binary: exit codes, output formats, and the walk over awkward
//! trees (parse errors, non-UTF-8 files, symlinks, ignore files, odd file names). Each test writes a
//! small project into its own folder under the system temp dir and removes it when done.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_asynclint");
const RULE: &str = "blocking-call-in-async";
/// A call that fires `blocking-call-in-async` (critical) inside an async fn.
const SLEEP: &str = "std::thread::sleep(std::time::Duration::from_millis(1))";
/// Longest a single run may take before the test calls it a hang.
const TIMEOUT: Duration = Duration::from_secs(60);

// ---- harness -------------------------------------------------------------------------------------

/// A folder of its own under the temp dir, removed on drop (also when the test fails).
struct TestDir {
    path: PathBuf,
}

impl TestDir {
    fn new(test: &str) -> TestDir {
        let path = std::env::temp_dir().join(format!("asynclint-cli-{}-{test}", std::process::id()));
        if path.symlink_metadata().is_ok() {
            std::fs::remove_dir_all(&path).unwrap();
        }
        std::fs::create_dir_all(&path).unwrap();
        TestDir { path }
    }

    /// A folder with a package manifest named `p`.
    fn project(test: &str) -> TestDir {
        let dir = TestDir::new(test);
        dir.write("Cargo.toml", "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
        dir
    }

    fn join(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> &TestDir {
        let path = self.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    fn mkdir(&self, rel: &str) -> &TestDir {
        std::fs::create_dir_all(self.join(rel)).unwrap();
        self
    }

    /// Runs `asynclint <args>` with this folder as the current directory.
    fn run(&self, args: &[&str]) -> Run {
        run_in(&self.path, args)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        // remove_dir_all removes symlinks themselves, never what they point to.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

struct Run {
    args: Vec<String>,
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8(self.stdout.clone()).unwrap_or_else(|_| panic!("stdout is not UTF-8\n{self}"))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{self}"))
    }

    #[track_caller]
    fn assert_code(&self, expected: i32) -> &Run {
        assert_eq!(self.code, expected, "unexpected exit code\n{self}");
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "asynclint {:?}\nexit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args,
            self.code,
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        )
    }
}

/// Runs the binary with a fixed environment, failing the test if it hangs or dies of a signal.
fn run_in(cwd: &Path, args: &[&str]) -> Run {
    let mut command = Command::new(BIN);
    // The default cache folder (`target/asynclint/` of the checked project), whatever the
    // developer has set.
    command.env_remove("ASYNCLINT_CACHE_DIR");
    let out = support::run_binary(command, cwd, args, TIMEOUT);
    Run { args: args.iter().map(|s| s.to_string()).collect(), code: out.code, stdout: out.stdout, stderr: out.stderr }
}

/// `fn main` plus an async fn `f` with a blocking call at line 3, column 5.
fn main_with_blocking_call() -> String {
    format!("fn main() {{}}\nasync fn f() {{\n    {SLEEP};\n}}\n")
}

fn inventory_service() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/projects/inventory-service")
}

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().expect("`findings` is an array")
}

fn errors(report: &Value) -> &Vec<Value> {
    report["errors"].as_array().expect("`errors` is an array")
}

/// `(path, line)` of every finding, in report order.
fn finding_sites(report: &Value) -> Vec<(String, u64)> {
    findings(report).iter().map(|f| (f["path"].as_str().unwrap().to_string(), f["line"].as_u64().unwrap())).collect()
}

fn finding_paths(report: &Value) -> Vec<String> {
    finding_sites(report).into_iter().map(|(p, _)| p).collect()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().expect("an object").keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

fn sorted<'a>(k: &[&'a str]) -> Vec<&'a str> {
    let mut k = k.to_vec();
    k.sort_unstable();
    k
}

// ---- exit codes ------------------------------------------------------------------------------------

#[test]
fn clean_project_exits_0() {
    let dir = TestDir::project("clean_project_exits_0");
    dir.write(
        "src/main.rs",
        "fn main() {}\nasync fn f() {\n    tokio::time::sleep(std::time::Duration::from_millis(1)).await;\n}\n",
    );
    let run = dir.run(&["check", "--format", "concise"]);
    run.assert_code(0);
    assert_eq!(run.stdout(), "No findings in 1 file.\n", "{run}");
}

#[test]
fn blocking_call_in_async_fn_exits_1() {
    let dir = TestDir::project("blocking_call_in_async_fn_exits_1");
    dir.write("src/main.rs", main_with_blocking_call());
    let run = dir.run(&["check", "--format", "concise"]);
    run.assert_code(1);
    assert!(run.stdout().contains(RULE), "{run}");
}

#[test]
fn exit_zero_exits_0_but_still_reports() {
    let dir = TestDir::project("exit_zero_exits_0_but_still_reports");
    dir.write("src/main.rs", main_with_blocking_call());
    let run = dir.run(&["check", "--format", "json", "--exit-zero"]);
    run.assert_code(0);
    assert_eq!(run.json()["summary"]["findings"], 1, "{run}");
}

/// `Path::exists` is a high-severity blocking call, below the `critical` threshold.
fn project_with_only_a_high_finding(test: &str) -> TestDir {
    let dir = TestDir::project(test);
    dir.write(
        "src/main.rs",
        "fn main() {}\nasync fn f() {\n    let p = std::path::Path::new(\"x\");\n    let _ = p.exists();\n}\n",
    );
    dir
}

#[test]
fn fail_on_critical_exits_0_with_only_a_high_finding() {
    let dir = project_with_only_a_high_finding("fail_on_critical_exits_0_with_only_a_high_finding");
    let run = dir.run(&["check", "--format", "json", "--fail-on", "critical"]);
    run.assert_code(0);
    let report = run.json();
    assert_eq!(report["summary"]["by_severity"]["high"], 1, "{run}");
    assert_eq!(report["summary"]["findings"], 1, "{run}");
}

#[test]
fn fail_on_high_exits_1_with_a_high_finding() {
    let dir = project_with_only_a_high_finding("fail_on_high_exits_1_with_a_high_finding");
    let run = dir.run(&["check", "--format", "json", "--fail-on", "high"]);
    run.assert_code(1);
    assert_eq!(run.json()["summary"]["by_severity"]["high"], 1, "{run}");
}

#[test]
fn unknown_rule_in_select_exits_2() {
    let dir = TestDir::project("unknown_rule_in_select_exits_2");
    dir.write("src/main.rs", main_with_blocking_call());
    let run = dir.run(&["check", "--select", "no-such-rule"]);
    run.assert_code(2);
    assert!(run.stderr.contains("no-such-rule"), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    // A known id is accepted, and the finding makes it exit 1.
    dir.run(&["check", "--format", "concise", "--select", RULE]).assert_code(1);
}

#[test]
fn nonexistent_path_exits_2() {
    let dir = TestDir::project("nonexistent_path_exits_2");
    dir.write("src/main.rs", "fn main() {}\n");
    let run = dir.run(&["check", "does-not-exist"]);
    run.assert_code(2);
    assert!(run.stderr.contains("does-not-exist"), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
}

#[test]
fn unknown_flag_exits_2() {
    let dir = TestDir::project("unknown_flag_exits_2");
    dir.write("src/main.rs", "fn main() {}\n");
    let run = dir.run(&["check", "--no-such-flag"]);
    run.assert_code(2);
    assert!(run.stderr.contains("--no-such-flag"), "{run}");
}

#[test]
fn explain_known_rule_prints_its_doc() {
    let run = run_in(Path::new(env!("CARGO_MANIFEST_DIR")), &["explain", RULE]);
    run.assert_code(0);
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules").join(format!("{RULE}.md"));
    let doc = std::fs::read_to_string(doc_path).unwrap();
    assert!(doc.starts_with(&format!("# {RULE}")));
    assert_eq!(run.stdout(), doc, "{run}");
}

#[test]
fn explain_unknown_rule_exits_2() {
    let run = run_in(&std::env::temp_dir(), &["explain", "nope"]);
    run.assert_code(2);
    assert!(run.stdout.is_empty(), "{run}");
    assert!(run.stderr.contains("nope") && run.stderr.contains(RULE), "{run}");
}

#[test]
fn rules_lists_blocking_call_in_async() {
    let run = run_in(&std::env::temp_dir(), &["rules"]);
    run.assert_code(0);
    assert!(run.stdout().lines().any(|l| l.split_whitespace().next() == Some(RULE)), "{run}");

    let run = run_in(&std::env::temp_dir(), &["rules", "--json"]);
    run.assert_code(0);
    let list = run.json();
    let rule = list.as_array().unwrap().iter().find(|r| r["id"] == RULE).unwrap_or_else(|| panic!("{run}"));
    assert_eq!(rule["severity"], "critical", "{run}");
}

// ---- formats ---------------------------------------------------------------------------------------

#[test]
fn concise_format_prints_one_line_per_finding_and_a_summary() {
    let dir = TestDir::project("concise_format_prints_one_line_per_finding_and_a_summary");
    dir.write("src/main.rs", format!("mod net;\n{}", main_with_blocking_call()));
    dir.write("src/net.rs", format!("pub async fn g() {{ {SLEEP}; }}\n"));
    let run = dir.run(&["check", "--format", "concise"]);
    run.assert_code(1);
    let stdout = run.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{run}");
    // Sorted by path: src/main.rs before src/net.rs.
    let expected = [
        ("src/main.rs:4:5: critical[blocking-call-in-async] ", "async fn `f`"),
        ("src/net.rs:1:20: critical[blocking-call-in-async] ", "async fn `g`"),
    ];
    for (line, (prefix, function)) in lines.iter().zip(expected) {
        let message = line.strip_prefix(prefix).unwrap_or_else(|| panic!("`{line}` does not start with `{prefix}`"));
        assert!(message.contains("std::thread::sleep") && message.contains(function), "{run}");
    }
    assert_eq!(lines[2], "Found 2 findings (2 critical) in 2 of 2 files.", "{run}");
}

#[test]
fn json_format_matches_the_documented_schema() {
    let dir = TestDir::project("json_format_matches_the_documented_schema");
    dir.write("src/main.rs", format!("mod bad;\nmod latin1;\n{}", main_with_blocking_call()));
    dir.write("src/bad.rs", "pub fn b() {\n    let x = 1\n    let y = 2;\n}\n");
    dir.write("src/latin1.rs", b"pub fn s() -> &'static str { \"caf\xe9\" }\n");
    let run = dir.run(&["check", "--format", "json"]);
    run.assert_code(1);
    let report = run.json();

    assert_eq!(keys(&report), sorted(&["version", "tool", "summary", "findings", "errors"]), "{run}");
    assert_eq!(report["version"], 1);
    assert_eq!(keys(&report["tool"]), sorted(&["name", "version"]));
    assert_eq!(report["tool"]["name"], "asynclint");
    assert_eq!(report["tool"]["version"], env!("CARGO_PKG_VERSION"));

    let summary = &report["summary"];
    assert_eq!(keys(summary), sorted(&["files", "findings", "by_severity", "errors"]));
    assert_eq!(keys(&summary["by_severity"]), sorted(&["critical", "high", "medium"]));
    assert_eq!(summary["files"], 3, "{run}");
    assert_eq!(summary["findings"], 1, "{run}");
    assert_eq!(summary["by_severity"]["critical"], 1, "{run}");
    assert_eq!(summary["by_severity"]["high"], 0, "{run}");
    assert_eq!(summary["by_severity"]["medium"], 0, "{run}");
    assert_eq!(summary["errors"], 2, "{run}");

    let list = findings(&report);
    assert_eq!(list.len(), 1, "{run}");
    let f = &list[0];
    assert_eq!(
        keys(f),
        sorted(&[
            "rule",
            "severity",
            "message",
            "path",
            "line",
            "column",
            "end_line",
            "end_column",
            "function",
            "chain",
            "related",
            "help",
            "fingerprint",
            "fix"
        ]),
        "{run}"
    );
    for key in ["rule", "severity", "message", "path", "function", "help", "fingerprint"] {
        assert!(f[key].is_string(), "finding `{key}` is not a string\n{run}");
    }
    for key in ["line", "column", "end_line", "end_column"] {
        assert!(f[key].as_u64().is_some_and(|n| n >= 1), "finding `{key}` is not a positive integer\n{run}");
    }
    assert!(f["chain"].is_array(), "{run}");
    assert!(f["related"].is_array(), "{run}");
    assert_eq!(f["rule"], RULE);
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["path"], "src/main.rs");
    // `std::thread::sleep(..)` starts at 5:5 on the line `    std::thread::sleep(...);`; the end
    // column is exclusive.
    assert_eq!((&f["line"], &f["column"]), (&Value::from(5), &Value::from(5)), "{run}");
    assert_eq!(f["end_line"], 5, "{run}");
    assert_eq!(f["end_column"], 5 + SLEEP.chars().count(), "{run}");
    assert_eq!(f["function"], "crate::f", "{run}");
    assert!(!f["help"].as_str().unwrap().is_empty(), "{run}");
    let fingerprint = f["fingerprint"].as_str().unwrap();
    assert!(fingerprint.len() == 16 && fingerprint.bytes().all(|b| b.is_ascii_hexdigit()), "{run}");

    let errs = errors(&report);
    assert_eq!(errs.len(), 2, "{run}");
    for e in errs {
        assert_eq!(keys(e), sorted(&["kind", "path", "line", "column", "message"]), "{run}");
        assert!(e["path"].is_string() && e["message"].is_string(), "{run}");
        for key in ["line", "column"] {
            assert!(e[key].is_null() || e[key].as_u64().is_some_and(|n| n >= 1), "error `{key}`\n{run}");
        }
    }
    let parse = errs.iter().find(|e| e["kind"] == "parse-error").unwrap_or_else(|| panic!("{run}"));
    assert_eq!(parse["path"], "src/bad.rs");
    assert_eq!((&parse["line"], &parse["column"]), (&Value::from(3), &Value::from(5)), "{run}");
    let io = errs.iter().find(|e| e["kind"] == "io-error").unwrap_or_else(|| panic!("{run}"));
    assert_eq!(io["path"], "src/latin1.rs");
    assert!(io["line"].is_null() && io["column"].is_null(), "{run}");
}

#[test]
fn output_flag_writes_the_report_to_the_file_and_nothing_to_stdout() {
    let dir = TestDir::project("output_flag_writes_the_report_to_the_file_and_nothing_to_stdout");
    dir.write("src/main.rs", main_with_blocking_call());
    let to_stdout = dir.run(&["check", "--format", "json"]);
    to_stdout.assert_code(1);
    let run = dir.run(&["check", "--format", "json", "-o", "report.json"]);
    run.assert_code(1);
    assert!(run.stdout.is_empty(), "{run}");
    let written = std::fs::read(dir.join("report.json")).unwrap();
    assert_eq!(written, to_stdout.stdout, "{run}");
    assert_eq!(finding_paths(&to_stdout.json()), ["src/main.rs"]);
}

// ---- broken input ----------------------------------------------------------------------------------

const BROKEN: &str = "pub fn b() {\n    let x = 1\n    let y = 2;\n}\n";

#[test]
fn parse_error_is_reported_once_and_other_files_are_still_analysed() {
    let dir = TestDir::project("parse_error_is_reported_once_and_other_files_are_still_analysed");
    dir.write("src/main.rs", "mod bad;\nmod good;\nfn main() {}\n");
    dir.write("src/bad.rs", BROKEN);
    dir.write("src/good.rs", format!("pub async fn g() {{\n    {SLEEP};\n}}\n"));
    let run = dir.run(&["check", "--format", "json"]);
    // The finding alone makes it exit 1; a parse error alone does not (see the two tests below).
    run.assert_code(1);
    let report = run.json();
    let errs = errors(&report);
    assert_eq!(errs.len(), 1, "{run}");
    assert_eq!(errs[0]["kind"], "parse-error", "{run}");
    assert_eq!(errs[0]["path"], "src/bad.rs", "{run}");
    assert_eq!((&errs[0]["line"], &errs[0]["column"]), (&Value::from(3), &Value::from(5)), "{run}");
    assert_eq!(finding_sites(&report), [("src/good.rs".to_string(), 2)], "{run}");
}

fn project_with_only_a_parse_error(test: &str) -> TestDir {
    let dir = TestDir::project(test);
    dir.write("src/main.rs", "mod bad;\nfn main() {}\n");
    dir.write("src/bad.rs", BROKEN);
    dir
}

#[test]
fn parse_error_alone_exits_0_without_strict() {
    let dir = project_with_only_a_parse_error("parse_error_alone_exits_0_without_strict");
    let run = dir.run(&["check", "--format", "concise"]);
    run.assert_code(0);
    assert!(run.stdout().contains("src/bad.rs:3:5: error[parse-error]"), "{run}");
}

#[test]
fn parse_error_alone_exits_1_with_strict() {
    let dir = project_with_only_a_parse_error("parse_error_alone_exits_1_with_strict");
    let run = dir.run(&["check", "--format", "concise", "--strict"]);
    run.assert_code(1);
    assert!(run.stdout().contains("src/bad.rs:3:5: error[parse-error]"), "{run}");
}

#[test]
fn non_utf8_file_is_an_io_error_and_other_files_are_still_analysed() {
    let dir = TestDir::project("non_utf8_file_is_an_io_error_and_other_files_are_still_analysed");
    dir.write("src/main.rs", format!("mod bytes;\n{}", main_with_blocking_call()));
    dir.write("src/bytes.rs", b"fn main() { let x = \"\xff\xfe\"; }");
    let run = dir.run(&["check", "--format", "json"]);
    run.assert_code(1);
    let report = run.json();
    let errs = errors(&report);
    assert_eq!(errs.len(), 1, "{run}");
    assert_eq!(errs[0]["kind"], "io-error", "{run}");
    assert_eq!(errs[0]["path"], "src/bytes.rs", "{run}");
    assert_eq!(finding_sites(&report), [("src/main.rs".to_string(), 4)], "{run}");
}

// ---- symlinks --------------------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn symlink_loop_neither_hangs_nor_analyses_a_file_twice() {
    let dir = TestDir::project("symlink_loop_neither_hangs_nor_analyses_a_file_twice");
    dir.write("src/main.rs", main_with_blocking_call());
    // src/loop -> src/.. (the project root), so src/loop/src/loop/... never ends.
    std::os::unix::fs::symlink("..", dir.join("src/loop")).unwrap();
    let run = dir.run(&["check", "--format", "json"]);
    run.assert_code(1);
    let report = run.json();
    assert_eq!(finding_sites(&report), [("src/main.rs".to_string(), 3)], "{run}");
    assert_eq!(report["summary"]["files"], 1, "{run}");
    // A diagnostic about the loop is fine, anything else is not.
    for e in errors(&report) {
        assert!(e["message"].as_str().unwrap().contains("loop"), "{run}");
    }
}

#[cfg(unix)]
#[test]
fn symlink_to_a_folder_outside_the_root_is_not_followed() {
    let dir = TestDir::new("symlink_to_a_folder_outside_the_root_is_not_followed");
    dir.write("outside/evil.rs", format!("pub async fn outside() {{ {SLEEP}; }}\n"));
    dir.write("proj/Cargo.toml", "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    dir.write("proj/src/main.rs", main_with_blocking_call());
    std::os::unix::fs::symlink(dir.join("outside"), dir.join("proj/src/ext")).unwrap();
    let proj = dir.join("proj");
    // From inside the root with the default path, and from elsewhere with an absolute path.
    let runs = [
        run_in(&proj, &["check", "--format", "json"]),
        dir.run(&["check", "--format", "json", proj.to_str().unwrap()]),
    ];
    for run in runs {
        run.assert_code(1);
        let report = run.json();
        assert_eq!(finding_paths(&report), ["src/main.rs"], "{run}");
        assert_eq!(report["summary"]["files"], 1, "{run}");
        assert!(!String::from_utf8_lossy(&run.stdout).contains("evil.rs"), "the outside file was seen\n{run}");
    }
}

#[cfg(unix)]
#[test]
fn dangling_symlink_does_not_stop_the_run() {
    let dir = TestDir::project("dangling_symlink_does_not_stop_the_run");
    dir.write("src/main.rs", main_with_blocking_call());
    std::os::unix::fs::symlink("missing.rs", dir.join("src/x.rs")).unwrap();
    let run = dir.run(&["check", "--format", "json"]);
    run.assert_code(1);
    let report = run.json();
    assert_eq!(finding_sites(&report), [("src/main.rs".to_string(), 3)], "{run}");
    // An io-error about the link is fine; nothing else.
    for e in errors(&report) {
        assert_eq!(e["kind"], "io-error", "{run}");
        assert!(e["path"].as_str().unwrap().ends_with("x.rs"), "{run}");
    }
}

// ---- ignore files ----------------------------------------------------------------------------------

fn project_with_ignored_folder(test: &str, with_git_dir: bool) -> TestDir {
    let dir = TestDir::project(test);
    dir.write("src/main.rs", "fn main() {}\n");
    dir.write("ignored/gen.rs", format!("pub async fn g() {{ {SLEEP}; }}\n"));
    dir.write(".gitignore", "ignored/\n");
    if with_git_dir {
        dir.mkdir(".git");
    }
    dir
}

#[test]
fn gitignored_folder_is_skipped_without_a_git_dir() {
    let dir = project_with_ignored_folder("gitignored_folder_is_skipped_without_a_git_dir", false);
    let run = dir.run(&["check", "--format", "json"]);
    run.assert_code(0);
    assert_eq!(run.json()["summary"]["files"], 1, "{run}");
}

#[test]
fn gitignored_folder_is_skipped_in_a_git_repo() {
    let dir = project_with_ignored_folder("gitignored_folder_is_skipped_in_a_git_repo", true);
    let run = dir.run(&["check", "--format", "json"]);
    run.assert_code(0);
    assert_eq!(run.json()["summary"]["files"], 1, "{run}");
}

#[test]
fn no_ignore_analyses_gitignored_folder() {
    let dir = project_with_ignored_folder("no_ignore_analyses_gitignored_folder", true);
    let run = dir.run(&["check", "--format", "json", "--no-ignore"]);
    run.assert_code(1);
    let report = run.json();
    assert_eq!(finding_paths(&report), ["ignored/gen.rs"], "{run}");
    assert_eq!(report["summary"]["files"], 2, "{run}");
}

#[test]
fn target_folder_beside_a_manifest_is_skipped() {
    let dir = TestDir::project("target_folder_beside_a_manifest_is_skipped");
    dir.write("src/main.rs", "fn main() {}\n");
    dir.write("target/debug/build/out.rs", format!("pub async fn g() {{ {SLEEP}; }}\n"));
    // No ignore file mentions target/, and --no-ignore must not bring it back either.
    for args in [&["check", "--format", "json"][..], &["check", "--format", "json", "--no-ignore"]] {
        let run = dir.run(args);
        run.assert_code(0);
        assert_eq!(run.json()["summary"]["files"], 1, "{run}");
    }
}

#[test]
fn module_folder_named_target_is_analysed() {
    let dir = TestDir::project("module_folder_named_target_is_analysed");
    dir.write("src/main.rs", "mod target;\nfn main() {}\n");
    dir.write("src/target/mod.rs", format!("pub async fn g() {{ {SLEEP}; }}\n"));
    let run = dir.run(&["check", "--format", "json"]);
    run.assert_code(1);
    assert_eq!(finding_paths(&run.json()), ["src/target/mod.rs"], "{run}");
}

// ---- determinism -----------------------------------------------------------------------------------

#[test]
fn json_output_is_identical_across_runs() {
    let root = inventory_service();
    let root = root.to_str().unwrap();
    let cwd = std::env::temp_dir();
    let first = run_in(&cwd, &["check", "--format", "json", root]);
    let second = run_in(&cwd, &["check", "--format", "json", root]);
    first.assert_code(1);
    assert!(!findings(&first.json()).is_empty(), "{first}");
    assert!(first.stdout == second.stdout, "two runs differ\n{first}\n{second}");
}

#[test]
fn json_output_is_identical_with_1_and_4_threads() {
    let root = inventory_service();
    let root = root.to_str().unwrap();
    let cwd = std::env::temp_dir();
    let one = run_in(&cwd, &["check", "--format", "json", "--threads", "1", root]);
    let four = run_in(&cwd, &["check", "--format", "json", "--threads", "4", root]);
    one.assert_code(1);
    four.assert_code(1);
    assert!(findings(&one.json()).len() > 1, "{one}");
    assert!(one.stdout == four.stdout, "--threads 1 and --threads 4 differ\n{one}\n{four}");
}

// ---- terminal safety and file names ----------------------------------------------------------------

#[test]
fn escape_byte_in_source_does_not_reach_the_terminal() {
    let dir = TestDir::project("escape_byte_in_source_does_not_reach_the_terminal");
    dir.write("src/main.rs", format!("fn main() {{}}\nasync fn f() {{ let _s = \"\x1b[31mred\"; {SLEEP}; }}\n"));
    for format in ["full", "concise"] {
        let run = dir.run(&["check", "--format", format, "--color", "never"]);
        run.assert_code(1);
        assert!(!run.stdout.contains(&0x1b), "raw ESC in --format {format} output\n{run}");
        assert!(run.stdout().contains("src/main.rs"), "{run}");
    }
    // The line with the escape is shown in the full format, made harmless.
    let run = dir.run(&["check", "--format", "full", "--color", "never"]);
    assert!(run.stdout().contains("[31mred"), "{run}");
}

#[cfg(unix)]
#[test]
fn escape_byte_in_file_name_does_not_reach_the_terminal() {
    let dir = TestDir::project("escape_byte_in_file_name_does_not_reach_the_terminal");
    dir.write("src/main.rs", "fn main() {}\n");
    dir.write("src/e\x1b[31mvil.rs", format!("pub async fn g() {{ {SLEEP}; }}\n"));
    for format in ["full", "concise"] {
        let run = dir.run(&["check", "--format", format, "--color", "never"]);
        run.assert_code(1);
        assert!(!run.stdout.contains(&0x1b), "raw ESC in --format {format} output\n{run}");
        assert!(run.stdout().contains("[31mvil.rs"), "{run}");
    }
    // JSON keeps the real name (escaped as JSON does).
    let run = dir.run(&["check", "--format", "json"]);
    assert_eq!(finding_paths(&run.json()), ["src/e\x1b[31mvil.rs"], "{run}");
}

#[test]
fn paths_with_spaces_and_non_ascii_are_analysed_and_shown_with_slashes() {
    let dir = TestDir::project("paths_with_spaces_and_non_ascii_are_analysed_and_shown_with_slashes");
    dir.write("src/main.rs", "#[path = \"my módulo.rs\"]\nmod m;\nfn main() {}\n");
    dir.write("src/my módulo.rs", format!("pub async fn g() {{ {SLEEP}; }}\n"));
    // Reached by no `mod`: linted as an orphan file.
    dir.write("src/sub dir/ørphan file.rs", format!("pub async fn h() {{ {SLEEP}; }}\n"));
    let run = dir.run(&["check", "--format", "concise"]);
    run.assert_code(1);
    let stdout = run.stdout();
    assert!(stdout.contains("src/my módulo.rs:1:20: critical[blocking-call-in-async] "), "{run}");
    assert!(stdout.contains("src/sub dir/ørphan file.rs:1:20: critical[blocking-call-in-async] "), "{run}");

    let run = dir.run(&["check", "--format", "json"]);
    let report = run.json();
    assert_eq!(finding_paths(&report), ["src/my módulo.rs", "src/sub dir/ørphan file.rs"], "{run}");
    // The `#[path]` module is attached where it is declared.
    assert_eq!(findings(&report)[0]["function"], "crate::m::g", "{run}");
}
