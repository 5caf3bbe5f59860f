//! Hostile input (issue 6, "Robustness"): whatever the files under review hold, asynclint must not
//! panic, hang or crash, must say clearly what it could not analyse, must still analyse every other
//! file, must exit with the documented code, must never let control characters from the code reach
//! a terminal, and must write nothing but what the user named.
//!
//! - Adversarial inputs, one test each, through the binary (exit codes, the walk) next to a good
//!   file whose finding must survive: a 50 MB file, deep nesting, long lines, BOM, CRLF, shebang,
//!   unreadable files, `#[path]` cycles, odd names. `tests/cli.rs` already covers non-UTF-8 files,
//!   symlink loops, dangling symlinks and ESC in `full`/`concise`; this file does not repeat them.
//! - Property tests (proptest; `cargo fuzz` is not installed on this machine) through the library:
//!   arbitrary bytes, token soups, mutated fixtures, and 1 vs 2 threads. 200 cases each by default;
//!   `PROPTEST_CASES=5000 cargo test --release --test robustness` fuzzes longer, and
//!   `PROPTEST_RNG_SEED=<n>` picks another sequence, `PROPTEST_RNG_SEED=random` a new one each run
//!   (the default seed is fixed, so CI is stable). Each prints its cases, time and outcomes
//!   (`--nocapture`).
//! - Terminal safety of every human-readable format, and no stray writes.
//! - The facts cache as hostile input: damaged, or forged and shipped with the checked tree.
//!
//! Every run of the binary gets its own `HOME` and `XDG_CACHE_HOME`, so that a test can check
//! nothing is written there; the default cache goes to each test project's own `target/`. A test whose name ends in `_bug` fails today: its doc comment describes
//! the defect and how to reproduce it, and it is meant to pass, renamed, once the defect is
//! fixed; "Regression (fixed)" marks the ones that already were.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use asynclint::findings::{ErrorKind, FileError, Finding};
use asynclint::workspace::WorkspaceInput;
use asynclint::{analyze, Analysis, MemoryLoader, Options, SourceLoader};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_asynclint");
const RULE: &str = "blocking-call-in-async";
/// A call that fires `blocking-call-in-async` (critical) inside an async fn.
const SLEEP: &str = "std::thread::sleep(std::time::Duration::from_millis(1))";
/// Longest a single run of the binary may take before the test calls it a hang.
const TIMEOUT: Duration = Duration::from_secs(60);

// ---- harness: the binary ---------------------------------------------------------------------------

/// A folder of its own under the temp dir, removed on drop (also when the test fails), with a
/// home of its own beside it, so that a test can see that nothing is written there (the default
/// facts cache lives in the project's `target/asynclint/`, never in `~/.cache`).
struct TestDir {
    path: PathBuf,
    home: PathBuf,
}

impl TestDir {
    fn new(test: &str) -> TestDir {
        let path = std::env::temp_dir().join(format!("asynclint-robust-{}-{test}", std::process::id()));
        if path.symlink_metadata().is_ok() {
            std::fs::remove_dir_all(&path).unwrap();
        }
        std::fs::create_dir_all(&path).unwrap();
        let home = path.with_extension("home");
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        TestDir { path, home }
    }

    /// A Cargo package whose lib declares `mod good;`: `src/good.rs` has one blocking call, at
    /// 1:16. Bad files are written next to it and analysed as files no `mod` reaches.
    fn with_good_file(test: &str) -> TestDir {
        let dir = TestDir::new(test);
        dir.write("Cargo.toml", "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
        dir.write("src/lib.rs", "pub mod good;\n");
        dir.write("src/good.rs", good_source());
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

    fn run(&self, args: &[&str]) -> Run {
        self.run_at(&self.path, args, TIMEOUT)
    }

    /// Runs `asynclint <args>` in `cwd`, with this test's own home and cache home.
    fn run_at(&self, cwd: &Path, args: &[&str], timeout: Duration) -> Run {
        run_command(self.command(BIN), cwd, args, timeout)
    }

    /// `program` with this test's own `HOME` and `XDG_CACHE_HOME`, and the default cache folder.
    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("HOME", &self.home).env("XDG_CACHE_HOME", self.home.join(".cache")).env_remove("ASYNCLINT_CACHE_DIR");
        c
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        // Undo `chmod 000` and the like, so that removal cannot fail on them.
        fn open_up(p: &Path) {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if let Ok(m) = p.symlink_metadata() {
                    if m.is_dir() {
                        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
                        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
                            open_up(&e.path());
                        }
                    } else if m.is_file() {
                        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644));
                    }
                }
            }
        }
        open_up(&self.path);
        let _ = std::fs::remove_dir_all(&self.path);
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

struct Run {
    args: Vec<String>,
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
    elapsed: Duration,
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
        // Reports can be huge here (the 50 MB file); show their ends only.
        let out = String::from_utf8_lossy(&self.stdout);
        let out = if out.len() > 4000 {
            format!(
                "{}\n[... {} bytes ...]\n{}",
                clip(&out, 0, 2000),
                out.len() - 4000,
                clip(&out, out.len() - 2000, out.len())
            )
        } else {
            out.into_owned()
        };
        write!(
            f,
            "asynclint {:?}\nexit code: {} after {:?}\n--- stdout ---\n{out}\n--- stderr ---\n{}",
            self.args, self.code, self.elapsed, self.stderr
        )
    }
}

/// `text[from..to]`, widened to character boundaries and cut to the text.
fn clip(text: &str, mut from: usize, mut to: usize) -> &str {
    to = to.min(text.len());
    from = from.min(to);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    while !text.is_char_boundary(to) {
        to += 1;
    }
    &text[from..to]
}

/// Runs the binary with a fixed environment, failing the test if it hangs or dies of a signal (a
/// stack overflow aborts with SIGABRT).
fn run_command(command: Command, cwd: &Path, args: &[&str], timeout: Duration) -> Run {
    let out = support::run_binary(command, cwd, args, timeout);
    let args = args.iter().map(|s| s.to_string()).collect();
    Run { args, code: out.code, stdout: out.stdout, stderr: out.stderr, elapsed: out.elapsed }
}

fn good_source() -> String {
    format!("async fn f() {{ {SLEEP}; }}\n")
}

fn findings_of<'a>(report: &'a Value, path: &str) -> Vec<&'a Value> {
    report["findings"].as_array().expect("`findings`").iter().filter(|f| f["path"] == path).collect()
}

fn errors_of<'a>(report: &'a Value, path: &str) -> Vec<&'a Value> {
    report["errors"].as_array().expect("`errors`").iter().filter(|e| e["path"] == path).collect()
}

/// `(line, column)` of a JSON finding or error.
fn at(v: &Value) -> (u64, u64) {
    (v["line"].as_u64().unwrap_or(0), v["column"].as_u64().unwrap_or(0))
}

/// `check --format json` over the whole project: exit 1 (the good file's finding is critical), the
/// good file's one finding where it belongs, and no error but for `bad` paths. Returns the report.
#[track_caller]
fn check_project(dir: &TestDir, bad: &[&str]) -> (Run, Value) {
    let run = dir.run(&["check", "--format", "json"]);
    run.assert_code(1);
    let report = run.json();
    let good = findings_of(&report, "src/good.rs");
    assert_eq!(good.len(), 1, "the good file's finding is missing\n{run}");
    assert_eq!((good[0]["rule"].as_str(), at(good[0])), (Some(RULE), (1, 16)), "{run}");
    for e in report["errors"].as_array().unwrap() {
        let path = e["path"].as_str().unwrap();
        assert!(bad.contains(&path), "unexpected error for `{path}`\n{run}");
        assert_ne!(e["kind"], "internal-error", "a panic was caught\n{run}");
    }
    for path in bad {
        let errs = errors_of(&report, path);
        assert!(errs.len() <= 1, "more than one error for {path}\n{run}");
    }
    (run, report)
}

/// The exit codes of the README for a file checked alone: 1 with findings, else 0; with
/// `--strict`, also 1 when the file could not be read or parsed.
#[track_caller]
fn assert_alone_exit_codes(dir: &TestDir, rel: &str, has_findings: bool, has_error: bool) {
    let run = dir.run(&["check", "--format", "json", rel]);
    run.assert_code(i32::from(has_findings));
    let report = run.json();
    assert_eq!(!report["errors"].as_array().unwrap().is_empty(), has_error, "{run}");
    let strict = dir.run(&["check", "--format", "json", "--strict", rel]);
    strict.assert_code(i32::from(has_findings || has_error));
}

// ---- harness: the library --------------------------------------------------------------------------

/// Analyses in-memory files, as orphan modules of no crate (like `tests/fixtures.rs` does).
fn analyse_with(loader: &dyn SourceLoader, paths: &[&str], sizes: &[u64], threads: Option<usize>) -> Analysis {
    let mut order: Vec<usize> = (0..paths.len()).collect();
    order.sort_by_key(|&i| paths[i]);
    let input = WorkspaceInput {
        files: order.iter().map(|&i| paths[i].to_string()).collect(),
        sizes: order.iter().map(|&i| sizes.get(i).copied().unwrap_or(0)).collect(),
        ..Default::default()
    };
    let options = Options { threads, ..Default::default() };
    analyze(&input, loader, &options).expect("the analysis itself must not fail")
}

fn analyse(files: &[(&str, &[u8])], threads: Option<usize>) -> Analysis {
    let mut loader = MemoryLoader::default();
    for (p, b) in files {
        loader.files.insert(p.to_string(), b.to_vec());
    }
    let paths: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
    let sizes: Vec<u64> = files.iter().map(|(_, b)| b.len() as u64).collect();
    analyse_with(&loader, &paths, &sizes, threads)
}

const GOOD: &str = "good.rs";

fn describe(a: &Analysis) -> String {
    let f: Vec<String> = a
        .findings
        .iter()
        .map(|f| format!("{}:{}:{} {} {}", f.location.path, f.location.line, f.location.column, f.rule, f.message))
        .collect();
    let e: Vec<String> =
        a.errors.iter().map(|e| format!("{} {:?} {:?}:{:?} {}", e.path, e.kind, e.line, e.column, e.message)).collect();
    format!("findings:\n  {}\nerrors:\n  {}", f.join("\n  "), e.join("\n  "))
}

/// The invariants every analysis of hostile input keeps: the good file still has exactly its one
/// finding; no caught panic; at most one error per file, a parse or IO error, for the `bad` files
/// only; no finding in a file that had an error; every location inside its file.
fn check_invariants(a: &Analysis, sources: &HashMap<&str, &[u8]>, bad: &[&str]) -> Result<(), String> {
    let fail = |why: String| Err(format!("{why}\n{}", describe(a)));
    let good: Vec<&Finding> = a.findings.iter().filter(|f| f.location.path == GOOD).collect();
    if good.len() != 1 || (good[0].rule, good[0].location.line, good[0].location.column) != (RULE, 1, 16) {
        return fail("the good file does not have exactly its one finding at 1:16".into());
    }
    let mut per_file: BTreeMap<&str, Vec<&FileError>> = BTreeMap::new();
    for e in &a.errors {
        if e.kind == ErrorKind::InternalError {
            return fail(format!("internal-error (a caught panic) for {}", e.path));
        }
        if !bad.contains(&e.path.as_str()) {
            return fail(format!("error for a file that is not bad: {}", e.path));
        }
        per_file.entry(e.path.as_str()).or_default().push(e);
    }
    for (path, errs) in &per_file {
        if errs.len() > 1 {
            return fail(format!("{} errors for {path}", errs.len()));
        }
        if a.findings.iter().any(|f| f.location.path == *path) {
            return fail(format!("{path} has an error and findings too"));
        }
    }
    for f in &a.findings {
        let Some(bytes) = sources.get(f.location.path.as_str()) else {
            return fail(format!("finding in a file that was not analysed: {}", f.location.path));
        };
        let l = &f.location;
        let lines = bytes.iter().filter(|b| **b == b'\n').count() as u32 + 1;
        let ok = l.line >= 1
            && l.column >= 1
            && l.line <= lines
            && l.end_line <= lines
            && (l.line, l.column) <= (l.end_line, l.end_column)
            && l.byte_start <= l.byte_end
            && (l.byte_end as usize) <= bytes.len();
        if !ok {
            return fail(format!("location out of its file ({} bytes, {lines} lines): {l:?}", bytes.len()));
        }
    }
    Ok(())
}

/// Analyses `bad` next to the good file and checks the invariants.
fn check_bad_file(bad: &[u8], threads: Option<usize>) -> Result<Analysis, String> {
    let good = good_source();
    let files: [(&str, &[u8]); 2] = [(GOOD, good.as_bytes()), ("bad.rs", bad)];
    let a = analyse(&files, threads);
    check_invariants(&a, &files.iter().copied().collect(), &["bad.rs"])?;
    Ok(a)
}

// ---- adversarial inputs: size ----------------------------------------------------------------------

/// One copy of an ordinary pair of functions; the async one has a blocking call on its line 6.
const UNIT: &str = "/// Loads the record {i} and retries once.
pub async fn load_{i}(id: u64) -> Result<u64, String> {
    let attempts = vec![1u64, 2, 3];
    for a in &attempts {
        if *a == id {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    let total: u64 = attempts.iter().map(|x| x * 2).sum();
    Ok(total + id)
}

fn helper_{i}(x: u64) -> u64 {
    let y = x.wrapping_mul(31).rotate_left(7);
    if y % 2 == 0 { y / 2 } else { 3 * y + 1 }
}

";

/// A huge file (a file no `mod` reaches is a module root of its own: `crate::load_0`): copies of `UNIT` up to 50 MiB, each with its finding at the right line. Parsing is
/// single-threaded per file, and syn in a debug build manages about 0.5 MB/s here, so a debug build
/// (plain `cargo test`) uses 2 MiB; `cargo test --release --test robustness` runs the full 50 MiB
/// (measured on this 2-core machine: about 26 s and 5.6 GB peak memory for the binary, of which
/// 24 s is parsing). `ASYNCLINT_BIG_FILE_MIB` overrides the size.
#[test]
fn huge_file_is_analysed_with_every_finding() {
    let default_mib = if cfg!(debug_assertions) { 2 } else { 50 };
    let mib: usize = std::env::var("ASYNCLINT_BIG_FILE_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(default_mib);
    let target = mib << 20;
    let mut text = String::with_capacity(target + UNIT.len() * 2);
    let mut copies = 0usize;
    while text.len() < target {
        text.push_str(&UNIT.replace("{i}", &copies.to_string()));
        copies += 1;
    }
    let unit_lines = UNIT.lines().count() as u64;
    let sleep_line = UNIT.lines().position(|l| l.contains("thread::sleep")).unwrap() as u64 + 1;
    let sleep_col = UNIT.lines().find(|l| l.contains("thread::sleep")).unwrap().find("std::").unwrap() as u64 + 1;

    let dir = TestDir::with_good_file("huge_file_is_analysed_with_every_finding");
    dir.write("src/big.rs", &text);
    let size = text.len();
    drop(text);
    let run = dir.run_at(&dir.path, &["check", "--format", "json"], Duration::from_secs(600));
    eprintln!(
        "huge file: {:.1} MiB, {copies} copies, analysed in {:.2?} ({} build)",
        size as f64 / f64::from(1 << 20),
        run.elapsed,
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    run.assert_code(1);
    let report = run.json();
    assert!(report["errors"].as_array().unwrap().is_empty(), "{run}");
    assert_eq!(findings_of(&report, "src/good.rs").len(), 1, "{run}");
    let big = findings_of(&report, "src/big.rs");
    assert_eq!(big.len(), copies, "one finding per copy\n{run}");
    for (i, f) in big.iter().enumerate() {
        let expected = (i as u64 * unit_lines + sleep_line, sleep_col);
        assert_eq!(at(f), expected, "finding {i} is misplaced: {f}");
        assert_eq!(f["function"], format!("crate::load_{i}"), "finding {i}: {f}");
    }
    assert_eq!(report["summary"]["findings"], copies + 1, "{run}");
}

/// A 1 MiB single line: thousands of functions on one line, and a 1 MiB string literal followed by
/// a blocking call. Columns count characters, up to about a million.
#[test]
fn one_mib_single_line_has_exact_columns() {
    let dir = TestDir::with_good_file("one_mib_single_line_has_exact_columns");
    let mut line = String::new();
    let mut expected_cols = Vec::new();
    let mut i = 0;
    while line.len() < 1 << 20 {
        if i % 10 == 0 {
            line.push_str(&format!("async fn a{i}() {{ "));
            expected_cols.push(line.chars().count() as u64 + 1);
            line.push_str(&format!("{SLEEP}; }} "));
        } else {
            line.push_str(&format!("fn s{i}(x: u32) -> u32 {{ x.wrapping_add({i}) }} "));
        }
        i += 1;
    }
    dir.write("src/long_line.rs", &line);
    // Multi-byte characters in the literal: columns are characters, not bytes.
    let literal = "é".repeat(1 << 19);
    let literal_line = format!("async fn lit() {{ let _s = \"{literal}\"; {SLEEP}; }}");
    let literal_col = literal_line.find("std::").map(|b| literal_line[..b].chars().count() as u64 + 1).unwrap();
    dir.write("src/long_literal.rs", &literal_line);

    let (run, report) = check_project(&dir, &[]);
    let cols: Vec<(u64, u64)> = findings_of(&report, "src/long_line.rs").iter().map(|f| at(f)).collect();
    assert_eq!(cols, expected_cols.iter().map(|c| (1, *c)).collect::<Vec<_>>(), "{run}");
    let lit = findings_of(&report, "src/long_literal.rs");
    assert_eq!(lit.len(), 1, "{run}");
    assert_eq!(at(lit[0]), (1, literal_col), "{run}");
    assert_eq!(lit[0]["end_column"], literal_col + SLEEP.chars().count() as u64, "{run}");
    assert_alone_exit_codes(&dir, "src/long_literal.rs", true, false);
}

#[test]
fn empty_file_is_analysed_without_findings_or_errors() {
    let dir = TestDir::with_good_file("empty_file_is_analysed_without_findings_or_errors");
    dir.write("src/empty.rs", "");
    dir.write("src/blank.rs", "\n\n   \n");
    let (run, report) = check_project(&dir, &[]);
    assert_eq!(report["summary"]["files"], 4, "{run}");
    assert!(findings_of(&report, "src/empty.rs").is_empty(), "{run}");
    assert_alone_exit_codes(&dir, "src/empty.rs", false, false);
    assert_alone_exit_codes(&dir, "src/blank.rs", false, false);
}

// ---- adversarial inputs: nesting -------------------------------------------------------------------

const DEPTH: usize = 10_000;

/// Columns of `SLEEP` in a one-line file: its start, 1-based in characters.
fn col_of_sleep(text: &str) -> u64 {
    text[..text.find("std::thread").unwrap()].chars().count() as u64 + 1
}

#[test]
fn ten_thousand_nested_blocks_are_analysed() {
    let dir = TestDir::with_good_file("ten_thousand_nested_blocks_are_analysed");
    let text = format!("async fn deep() {}{SLEEP};{}\n", "{ ".repeat(DEPTH), " }".repeat(DEPTH));
    dir.write("src/blocks.rs", &text);
    // And 10,000 nested blocks with nothing inside, in a sync fn.
    dir.write("src/empty_blocks.rs", format!("fn g() {}{}\n", "{".repeat(DEPTH), "}".repeat(DEPTH)));
    let (run, report) = check_project(&dir, &[]);
    let deep = findings_of(&report, "src/blocks.rs");
    assert_eq!(deep.len(), 1, "{run}");
    assert_eq!(at(deep[0]), (1, col_of_sleep(&text)), "{run}");
    assert!(findings_of(&report, "src/empty_blocks.rs").is_empty(), "{run}");
    assert_alone_exit_codes(&dir, "src/blocks.rs", true, false);
}

#[test]
fn ten_thousand_nested_parentheses_are_analysed() {
    let dir = TestDir::with_good_file("ten_thousand_nested_parentheses_are_analysed");
    let text = format!("async fn deep() {{ let _x = {}{SLEEP}{}; }}\n", "(".repeat(DEPTH), ")".repeat(DEPTH));
    dir.write("src/parens.rs", &text);
    // Nested tuples and arrays of literals too.
    dir.write(
        "src/tuples.rs",
        format!(
            "fn g() {{ let _t = {}1,{}; let _a = {}1{}; }}\n",
            "(".repeat(DEPTH),
            ")".repeat(DEPTH),
            "[".repeat(DEPTH),
            "]".repeat(DEPTH)
        ),
    );
    let (run, report) = check_project(&dir, &[]);
    let deep = findings_of(&report, "src/parens.rs");
    assert_eq!(deep.len(), 1, "{run}");
    assert_eq!(at(deep[0]), (1, col_of_sleep(&text)), "{run}");
    assert!(findings_of(&report, "src/tuples.rs").is_empty(), "{run}");
    assert_alone_exit_codes(&dir, "src/parens.rs", true, false);
}

#[test]
fn deeply_nested_closures_and_async_blocks_are_analysed() {
    let dir = TestDir::with_good_file("deeply_nested_closures_and_async_blocks_are_analysed");
    // 10,000 async blocks in a sync fn: the innermost one is async code.
    let blocks = format!("fn outer() {{ let _f = {}{SLEEP}{}; }}\n", "async { ".repeat(DEPTH), " }".repeat(DEPTH));
    dir.write("src/async_blocks.rs", &blocks);
    // 10,000 async closures, one inside the other.
    let closures = format!("fn outer() {{ let _c = {}{SLEEP}; }}\n", "async move || ".repeat(DEPTH));
    dir.write("src/async_closures.rs", &closures);
    // 10,000 plain closures alternating with async blocks.
    let mixed = format!(
        "fn outer() {{ let _c = {}{SLEEP}{}; }}\n",
        "|| async move { ".repeat(DEPTH / 2),
        " }".repeat(DEPTH / 2)
    );
    dir.write("src/mixed.rs", &mixed);
    let (run, report) = check_project(&dir, &[]);
    for (path, text) in
        [("src/async_blocks.rs", &blocks), ("src/async_closures.rs", &closures), ("src/mixed.rs", &mixed)]
    {
        let f = findings_of(&report, path);
        assert_eq!(f.len(), 1, "{path}\n{run}");
        assert_eq!(at(f[0]), (1, col_of_sleep(text)), "{path}\n{run}");
    }
    assert_alone_exit_codes(&dir, "src/mixed.rs", true, false);
}

#[test]
fn deeply_nested_modules_and_functions_are_analysed() {
    // 10,000 levels, as the issue asks. Each module used to keep its path and folder, which made
    // memory grow with the depth squared (590 MB in a debug build); both are now worked out on
    // demand from the parents.
    let depth = 10_000;
    let dir = TestDir::with_good_file("deeply_nested_modules_and_functions_are_analysed");
    let mods = format!("{}pub async fn g() {{ {SLEEP}; }}{}\n", "pub mod m { ".repeat(depth), " }".repeat(depth));
    dir.write("src/mods.rs", &mods);
    let fns = format!("{}async fn h() {{ {SLEEP}; }}{}\n", "fn g() { ".repeat(DEPTH), " }".repeat(DEPTH));
    dir.write("src/fns.rs", &fns);
    let (run, report) = check_project(&dir, &[]);
    let f = findings_of(&report, "src/mods.rs");
    assert_eq!(f.len(), 1, "{run}");
    assert_eq!(at(f[0]), (1, col_of_sleep(&mods)), "{run}");
    assert_eq!(f[0]["function"], format!("crate::{}g", "m::".repeat(depth)), "{run}");
    let f = findings_of(&report, "src/fns.rs");
    assert_eq!(f.len(), 1, "{run}");
    assert_eq!(at(f[0]), (1, col_of_sleep(&fns)), "{run}");
}

/// Regression (fixed): nesting deep enough overflows the parser's stack and aborts the whole process (SIGABRT,
/// "thread '<unknown>' has overflowed its stack"): no report at all, the other files' findings
/// lost. 200,000 nested blocks is a 400 KB file; a debug build already dies at 30,000.
/// Reproduce: `python3 -c "print('fn g() ' + '{'*200000 + '}'*200000)" > deep.rs;
/// target/release/asynclint check deep.rs` -> exit 134. Expected: a diagnostic for that file
/// (e.g. a parse-error "nesting too deep"), the rest of the run as usual.
#[test]
fn nesting_deeper_than_the_stack_is_a_diagnostic_not_a_crash() {
    let dir = TestDir::with_good_file("nesting_deeper_than_the_stack_is_a_diagnostic_not_a_crash");
    let n = 200_000;
    dir.write("src/blocks.rs", format!("fn g() {}{}\n", "{".repeat(n), "}".repeat(n)));
    dir.write("src/parens.rs", format!("fn g() {{ let _x = {}1{}; }}\n", "(".repeat(n), ")".repeat(n)));
    let (run, report) = check_project(&dir, &["src/blocks.rs", "src/parens.rs"]);
    for path in ["src/blocks.rs", "src/parens.rs"] {
        assert!(findings_of(&report, path).is_empty(), "{run}");
    }
    assert_alone_exit_codes(&dir, "src/blocks.rs", false, true);
}

/// Median of a few runs of `f`, in seconds.
fn time_it(mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..3)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[1]
}

/// Asserts that analysing `make(4n)` takes less than 8 times as long as `make(n)`: linear time
/// gives about 4, quadratic about 16. `n` is for a debug build; a release build, about ten times
/// faster, uses 4n. Below 0.1 s the clock is mostly noise, so a faster large run passes too.
fn assert_roughly_linear(what: &str, n: usize, make: impl Fn(usize) -> String) {
    let n = if cfg!(debug_assertions) { n } else { 4 * n };
    let small = make(n);
    let large = make(4 * n);
    let t_small = time_it(|| {
        check_bad_file(small.as_bytes(), Some(1)).unwrap();
    });
    let t_large = time_it(|| {
        check_bad_file(large.as_bytes(), Some(1)).unwrap();
    });
    let ratio = t_large / t_small.max(1e-3);
    eprintln!("{what}: n={n} {t_small:.3}s, 4n {t_large:.3}s, ratio {ratio:.1}");
    assert!(
        ratio < 8.0 || t_large < 0.1,
        "{what}: 4x the input took {ratio:.1}x the time ({t_small:.3}s -> {t_large:.3}s): quadratic?"
    );
}

/// Regression (fixed): a long method chain takes time quadratic in its length. `x.a().a()....a()` with 100,000
/// calls (a 400 KB line) takes 46 s in release (and > 120 s in debug): for every call,
/// `parse::extract::expr_start` walks down the whole receiver chain again (90% of the profile).
/// Reproduce: `python3 -c "print('async fn g(x: u8) { x' + '.a()'*100000 + '; }')" > chain.rs;
/// time target/release/asynclint check chain.rs`.
#[test]
fn long_method_chain_is_analysed_in_linear_time() {
    assert_roughly_linear("method chain", 3_000, |n| format!("async fn g(x: u8) {{ x{}; }}\n", ".a()".repeat(n)));
}

/// Regression (fixed): nested macro calls take time quadratic in their depth. `vec![vec![...]]` 10,000 deep (a
/// 60 KB file) takes 5.3 s in release and 27 s in debug: each macro's tokens are re-parsed as
/// expressions, and syn's `TokenBuffer` flattens the whole nested stream again at every level.
/// Reproduce: `python3 -c "print('async fn g() { ' + 'vec!['*10000 + '1' + ']'*10000 + '; }')" > m.rs;
/// time target/release/asynclint check m.rs`.
#[test]
fn nested_macro_calls_are_analysed_in_linear_time() {
    assert_roughly_linear("nested vec!", 500, |n| {
        format!("async fn g() {{ let _v = {}1{}; }}\n", "vec![".repeat(n), "]".repeat(n))
    });
}

/// Regression (fixed): deep nesting in a large file takes time quadratic in its depth. In files of
/// 256 KiB or more, data tables are emptied before parsing, and the first version of that pass
/// looked into every group's whole contents from each enclosing group: 11,000 nested parentheses
/// around a call, in a 334 KB file, took 3 s in release instead of 0.08 s.
#[test]
fn deep_nesting_in_a_large_file_is_analysed_in_linear_time() {
    let padding = format!("// {}\n", "x".repeat(100)).repeat(2_700);
    assert_roughly_linear("nested parentheses, large file", 500, |n| {
        format!("async fn g() {{ let _ = {}f(){}; }}\n{padding}", "(".repeat(n), ")".repeat(n))
    });
}

// ---- adversarial inputs: encodings, line ends, names -----------------------------------------------

#[test]
fn bom_does_not_shift_lines_or_columns() {
    let dir = TestDir::with_good_file("bom_does_not_shift_lines_or_columns");
    dir.write("src/bom.rs", format!("\u{feff}async fn b() {{ {SLEEP}; }}\n"));
    // A BOM before a shebang and before a parse error.
    dir.write(
        "src/bom_shebang.rs",
        format!("\u{feff}#!/usr/bin/env run-cargo-script\nasync fn s() {{\n    {SLEEP};\n}}\n"),
    );
    dir.write("src/bom_broken.rs", "\u{feff}fn b() {\n    let x = 1\n    let y = 2;\n}\n");
    let (run, report) = check_project(&dir, &["src/bom_broken.rs"]);
    let f = findings_of(&report, "src/bom.rs");
    assert_eq!(f.len(), 1, "{run}");
    assert_eq!(at(f[0]), (1, 16), "the BOM is not a column\n{run}");
    let f = findings_of(&report, "src/bom_shebang.rs");
    assert_eq!(f.len(), 1, "{run}");
    assert_eq!(at(f[0]), (3, 5), "{run}");
    let e = errors_of(&report, "src/bom_broken.rs");
    assert_eq!(e.len(), 1, "{run}");
    assert_eq!((e[0]["kind"].as_str(), at(e[0])), (Some("parse-error"), (3, 5)), "{run}");
    assert_alone_exit_codes(&dir, "src/bom_broken.rs", false, true);
    // The concise line and the full format's header show the same place.
    let run = dir.run(&["check", "--format", "concise", "src/bom.rs"]);
    assert!(run.stdout().starts_with("src/bom.rs:1:16: critical[blocking-call-in-async]"), "{run}");
}

#[test]
fn crlf_line_endings_give_the_right_lines_and_columns() {
    let dir = TestDir::with_good_file("crlf_line_endings_give_the_right_lines_and_columns");
    let text = format!("fn main() {{}}\r\n\r\nasync fn f() {{\r\n    let x = 1;\r\n    let _ = x; {SLEEP};\r\n}}\r\n");
    dir.write("src/crlf.rs", &text);
    // A call over several CRLF lines: start and end.
    dir.write(
        "src/crlf_multi.rs",
        "async fn g() {\r\n    std::thread::sleep(\r\n        std::time::Duration::from_millis(1),\r\n    );\r\n}\r\n",
    );
    // Old Mac line ends (CR alone) are not line breaks for rustc either: all one line.
    dir.write("src/cr_only.rs", format!("async fn h() {{\r    {SLEEP};\r}}\r"));
    dir.write("src/crlf_broken.rs", "fn b() {\r\n    let x = 1\r\n    let y = 2;\r\n}\r\n");
    let (run, report) = check_project(&dir, &["src/crlf_broken.rs"]);
    let f = findings_of(&report, "src/crlf.rs");
    assert_eq!(f.len(), 1, "{run}");
    // `    let _ = x; ` is 15 characters; the CR is not part of any column.
    assert_eq!(at(f[0]), (5, 16), "{run}");
    assert_eq!((&f[0]["end_line"], &f[0]["end_column"]), (&Value::from(5), &Value::from(16 + SLEEP.len())), "{run}");
    let f = findings_of(&report, "src/crlf_multi.rs");
    assert_eq!(f.len(), 1, "{run}");
    assert_eq!(at(f[0]), (2, 5), "{run}");
    assert_eq!((&f[0]["end_line"], &f[0]["end_column"]), (&Value::from(4), &Value::from(6)), "{run}");
    let f = findings_of(&report, "src/cr_only.rs");
    assert_eq!(f.len(), 1, "{run}");
    // `async fn h() {\r    `: 19 characters, the CR among them.
    assert_eq!(at(f[0]), (1, 20), "{run}");
    let e = errors_of(&report, "src/crlf_broken.rs");
    assert_eq!((e[0]["kind"].as_str(), at(e[0])), (Some("parse-error"), (3, 5)), "{run}");
    // Concise agrees with JSON.
    let run = dir.run(&["check", "--format", "concise", "src/crlf.rs"]);
    assert!(run.stdout().starts_with("src/crlf.rs:5:16: critical["), "{run}");
    assert_alone_exit_codes(&dir, "src/crlf_broken.rs", false, true);
}

/// Regression (fixed): the `full` format shows every line of a CRLF file with a `?` at its end: the `\r` is
/// replaced by `sanitize_source` (as a control character) before miette sees it. Reproduce: a
/// CRLF file with a finding, `asynclint check --format full --color never` -> ` 5 │ ...;?`.
#[test]
fn crlf_source_is_shown_without_stray_question_marks() {
    let dir = TestDir::with_good_file("crlf_source_is_shown_without_stray_question_marks");
    dir.write("src/crlf.rs", format!("async fn f() {{\r\n    let x = 1;\r\n    {SLEEP};\r\n}}\r\n"));
    let run = dir.run(&["check", "--format", "full", "--color", "never", "src/crlf.rs"]);
    run.assert_code(1);
    let out = run.stdout();
    assert!(out.contains("    let x = 1;\n"), "the line before the finding is not shown cleanly\n{run}");
    assert!(!out.contains(";?") && !out.contains("{?"), "a CR is shown as `?`\n{run}");
}

#[test]
fn shebang_is_not_code_and_keeps_the_lines() {
    let dir = TestDir::with_good_file("shebang_is_not_code_and_keeps_the_lines");
    dir.write("src/script.rs", format!("#!/usr/bin/env rust-script\nasync fn s() {{ {SLEEP}; }}\n"));
    // `#![...]` at the start is an inner attribute, not a shebang.
    dir.write("src/inner_attr.rs", format!("#![allow(unused)]\nasync fn t() {{ {SLEEP}; }}\n"));
    // A shebang and nothing else; a shebang with no newline.
    dir.write("src/only_shebang.rs", "#!/bin/sh\n");
    dir.write("src/shebang_no_newline.rs", "#!/bin/sh");
    let (run, report) = check_project(&dir, &[]);
    for path in ["src/script.rs", "src/inner_attr.rs"] {
        let f = findings_of(&report, path);
        assert_eq!(f.len(), 1, "{path}\n{run}");
        assert_eq!(at(f[0]), (2, 16), "{path}\n{run}");
    }
    assert_alone_exit_codes(&dir, "src/only_shebang.rs", false, false);
    assert_alone_exit_codes(&dir, "src/shebang_no_newline.rs", false, false);
}

#[test]
fn file_names_with_non_ascii_and_spaces_named_on_the_command_line() {
    // cli.rs covers such names reached by the walk; here they are named as arguments, and one has
    // right-to-left and combining characters.
    let dir = TestDir::with_good_file("file_names_with_non_ascii_and_spaces_named_on_the_command_line");
    let names = ["src/my módulo.rs", "src/ünïcödé dir/数据 file.rs", "src/שלום a\u{301}.rs", "src/ -leading dash.rs"];
    for name in names {
        dir.write(name, format!("pub async fn g() {{ {SLEEP}; }}\n"));
    }
    let (run, report) = check_project(&dir, &[]);
    for name in names {
        let f = findings_of(&report, name);
        assert_eq!(f.len(), 1, "{name}\n{run}");
        assert_eq!(at(f[0]), (1, 20), "{name}\n{run}");
    }
    let run = dir.run(&["check", "--format", "concise", "--", names[1], names[2], names[3]]);
    run.assert_code(1);
    for name in &names[1..] {
        assert!(run.stdout().contains(&format!("{name}:1:20: critical[")), "{name}\n{run}");
    }
}

// ---- adversarial inputs: unreadable, cycles, macros ------------------------------------------------

/// Whether this process runs as root, which reads files whatever their mode.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}

/// An unreadable file: mode 000. Root reads any file, so as root the binary is run as `nobody`
/// through `setpriv` (util-linux); the test folder is world-readable, the file is not. Without
/// root it runs as it is. (A FIFO is no unreadable file: the walk skips non-regular files, see the
/// next test; a dangling symlink is in cli.rs.)
#[cfg(unix)]
#[test]
fn unreadable_file_is_an_io_error_and_the_rest_is_analysed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TestDir::with_good_file("unreadable_file_is_an_io_error_and_the_rest_is_analysed");
    dir.write("src/secret.rs", format!("pub async fn s() {{ {SLEEP}; }}\n"));
    std::fs::set_permissions(dir.join("src/secret.rs"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let run_as_user = |args: &[&str]| -> Run {
        if is_root() {
            let mut c = dir.command("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN]);
            run_command(c, &dir.path, args, TIMEOUT)
        } else {
            dir.run(args)
        }
    };
    let probe = run_as_user(&["--version"]);
    probe.assert_code(0);
    let run = run_as_user(&["check", "--format", "json", "--no-cache"]);
    run.assert_code(1);
    let report = run.json();
    assert_eq!(findings_of(&report, "src/good.rs").len(), 1, "{run}");
    let e = errors_of(&report, "src/secret.rs");
    assert_eq!(e.len(), 1, "{run}");
    assert_eq!(e[0]["kind"], "io-error", "{run}");
    assert!(e[0]["message"].as_str().unwrap().contains("ermission denied"), "{run}");
    assert_eq!(report["errors"].as_array().unwrap().len(), 1, "{run}");
    run_as_user(&["check", "--format", "json", "--no-cache", "src/secret.rs"]).assert_code(0);
    run_as_user(&["check", "--format", "json", "--no-cache", "--strict", "src/secret.rs"]).assert_code(1);
}

/// A FIFO named `x.rs` (reading it would block forever), a folder named `y.rs`: the walk must not
/// hang on the first and must look into the second.
#[cfg(unix)]
#[test]
fn fifo_and_folder_named_like_rust_files_do_not_hang_the_walk() {
    let dir = TestDir::with_good_file("fifo_and_folder_named_like_rust_files_do_not_hang_the_walk");
    let status = Command::new("mkfifo").arg(dir.join("src/pipe.rs")).status().expect("mkfifo");
    assert!(status.success());
    dir.write("src/folder.rs/inner.rs", format!("pub async fn i() {{ {SLEEP}; }}\n"));
    let (run, report) = check_project(&dir, &[]);
    assert!(!run.stdout().contains("pipe.rs") || !errors_of(&report, "src/pipe.rs").is_empty(), "{run}");
    assert_eq!(findings_of(&report, "src/folder.rs/inner.rs").len(), 1, "{run}");
    // Named on the command line, next to a good file: named as not read, and the rest analysed.
    let run = dir.run(&["check", "--format", "json", "src/pipe.rs", "src/good.rs"]);
    run.assert_code(1);
    assert_eq!(findings_of(&run.json(), "src/good.rs").len(), 1, "{run}");
    let report = run.json();
    let skipped = errors_of(&report, "src/pipe.rs");
    assert_eq!(skipped.len(), 1, "{run}");
    assert!(skipped[0]["message"].as_str().unwrap_or("").contains("not a regular file"), "{run}");
    // Alone: one io-error, not a silent "0 files".
    let run = dir.run(&["check", "--format", "concise", "src/pipe.rs"]);
    assert!(run.stdout().contains("src/pipe.rs") && run.stdout().contains("not a regular file"), "{run}");
}

#[test]
fn mod_cycle_through_path_attributes_terminates() {
    let dir = TestDir::new("mod_cycle_through_path_attributes_terminates");
    dir.write("Cargo.toml", "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    dir.write("src/lib.rs", "pub mod good;\nmod a;\n#[path = \"lib.rs\"]\nmod itself;\n");
    dir.write("src/good.rs", good_source());
    dir.write("src/a.rs", format!("#[path = \"b.rs\"]\nmod b;\npub async fn in_a() {{ {SLEEP}; }}\n"));
    dir.write("src/b.rs", format!("#[path = \"a.rs\"]\nmod a;\npub async fn in_b() {{ {SLEEP}; }}\n"));
    // Paths that leave the root or name no file.
    dir.write(
        "src/away.rs",
        "#[path = \"../../../../../../etc/passwd\"]\nmod p;\n#[path = \"/dev/zero\"]\nmod z;\n#[path = \"\"]\nmod e;\n",
    );
    let (run, report) = check_project(&dir, &[]);
    let a = findings_of(&report, "src/a.rs");
    let b = findings_of(&report, "src/b.rs");
    assert_eq!((a.len(), b.len()), (1, 1), "each finding once\n{run}");
    assert_eq!(at(a[0]), (3, 23), "{run}");
    assert_eq!(at(b[0]), (3, 23), "{run}");
    assert_eq!(report["summary"]["files"], 5, "{run}");
}

/// A diamond chain of `#[path]` modules: each of 30 files declares the next one twice. Mounting
/// files per declaration would make 2^30 modules; each file must be analysed once.
#[test]
fn path_attribute_diamonds_do_not_multiply_modules() {
    let dir = TestDir::with_good_file("path_attribute_diamonds_do_not_multiply_modules");
    let n = 30;
    dir.write("src/lib.rs", "pub mod good;\n#[path = \"f0.rs\"]\nmod a;\n#[path = \"f0.rs\"]\nmod b;\n");
    for i in 0..n {
        let next = i + 1;
        dir.write(
            &format!("src/f{i}.rs"),
            format!(
                "#[path = \"f{next}.rs\"]\nmod a;\n#[path = \"f{next}.rs\"]\nmod b;\npub async fn g() {{ {SLEEP}; }}\n"
            ),
        );
    }
    dir.write(&format!("src/f{n}.rs"), format!("pub async fn g() {{ {SLEEP}; }}\n"));
    let (run, report) = check_project(&dir, &[]);
    for i in 0..=n {
        let path = format!("src/f{i}.rs");
        let f = findings_of(&report, &path);
        assert_eq!(f.len(), 1, "{path}\n{run}");
    }
    assert!(run.elapsed < Duration::from_secs(20), "{run}");
}

/// Regression (fixed): name resolution through glob re-exports took exponential time. 100 modules where
/// `m{i}` has `pub use super::m{i+1}::*; pub use super::m{i+2}::*;` (a 6 KB file, no cycle) run
/// for more than 60 s in release; 50 modules in a ring, each globbing two others
/// (`m{(i+1)%n}`, `m{(i+7)%n}`), take 27 s, 60 more than 60 s (40: 0.7 s). The time is all in
/// `model::resolve` (`lookup_in_scope` 74%, `resolve_path_guarded` 14% of the profile): results cut
/// short by the depth limit (`MAX_DEPTH` = 48) or by a cycle are not memoised, so a lookup seems
/// to walk every path of the glob graph, 2^depth of them. Reproduce:
///
/// ```text
/// python3 -c "print('\\n'.join(f'pub mod m{i} {{ pub use super::m{i+1}::*; pub use super::m{i+2}::*; }}'
///     for i in range(100)) + '\\npub mod m100 {}\\npub mod m101 {}\\nasync fn f() { m0::sleep(d); }')" > g.rs
/// timeout 60 target/release/asynclint check g.rs    # exit 124
/// ```
#[test]
fn glob_import_graphs_resolve_in_bounded_time() {
    let dir = TestDir::with_good_file("glob_import_graphs_resolve_in_bounded_time");
    let n = 100;
    let mut dag: Vec<String> = (0..n)
        .map(|i| format!("pub mod m{i} {{ pub use super::m{}::*; pub use super::m{}::*; }}", i + 1, i + 2))
        .collect();
    dag.push(format!("pub mod m{n} {{ pub use std::thread::sleep; }}\npub mod m{} {{}}", n + 1));
    dag.push("async fn f(d: std::time::Duration) { m0::sleep(d); m5::nothing(); }".to_string());
    dir.write("src/glob_dag.rs", dag.join("\n"));
    let n = 60;
    let mut ring: Vec<String> = (0..n)
        .map(|i| format!("pub mod m{i} {{ pub use super::m{}::*; pub use super::m{}::*; }}", (i + 1) % n, (i + 7) % n))
        .collect();
    ring.push("async fn f(d: std::time::Duration) { m0::sleep(d); m5::nothing(); }".to_string());
    dir.write("src/glob_ring.rs", ring.join("\n"));
    // Within the depth limit, a diamond chain of 30 glob levels (2^30 paths) still resolves
    // `m0::sleep` to `std::thread::sleep`, once.
    let n = 30;
    let mut shallow: Vec<String> = (0..n)
        .map(|i| format!("pub mod m{i} {{ pub use super::m{}::*; pub use super::m{}::*; }}", i + 1, i + 2))
        .collect();
    shallow.push(format!("pub mod m{n} {{ pub use std::thread::sleep; }}\npub mod m{} {{}}", n + 1));
    shallow.push("async fn f(d: std::time::Duration) {\n    m0::sleep(d);\n}".to_string());
    dir.write("src/glob_dag_shallow.rs", shallow.join("\n"));
    // Linear work would take milliseconds; 20 s is a hang.
    let run = dir.run_at(&dir.path, &["check", "--format", "json"], Duration::from_secs(20));
    run.assert_code(1);
    let report = run.json();
    assert_eq!(findings_of(&report, "src/good.rs").len(), 1, "{run}");
    let found = findings_of(&report, "src/glob_dag_shallow.rs");
    assert_eq!(found.len(), 1, "{run}");
    assert_eq!(at(found[0]), (n as u64 + 4, 5), "{run}");
    assert!(report["errors"].as_array().unwrap().is_empty(), "{run}");
}

#[test]
fn deeply_recursive_macro_rules_is_not_expanded() {
    let dir = TestDir::with_good_file("deeply_recursive_macro_rules_is_not_expanded");
    // A macro that would recurse once per token, invoked on 100,000 tokens, and one whose
    // invocation nests 10,000 token trees.
    dir.write(
        "src/macros.rs",
        format!(
            "macro_rules! r {{ () => {{}}; ($h:tt $($t:tt)*) => {{ r!($($t)*); }}; }}\nr!({});\nr!({}x{});\n",
            "x ".repeat(100_000),
            "(".repeat(DEPTH),
            ")".repeat(DEPTH)
        ),
    );
    // A macro invocation only, with a blocking call inside a token tree no one can see into.
    dir.write("src/only_invocation.rs", format!("r! {{ async fn hidden() {{ {SLEEP}; }} }}\n"));
    let (run, report) = check_project(&dir, &[]);
    assert!(findings_of(&report, "src/macros.rs").is_empty(), "{run}");
    assert_alone_exit_codes(&dir, "src/macros.rs", false, false);
}

#[test]
fn include_of_a_missing_file_is_not_followed() {
    let dir = TestDir::with_good_file("include_of_a_missing_file_is_not_followed");
    dir.write(
        "src/includes.rs",
        format!(
            "include!(\"missing.rs\");\ninclude!(concat!(env!(\"OUT_DIR\"), \"/gen.rs\"));\n\
             async fn i() {{ let _s = include_str!(\"/etc/shadow\"); let _b = include_bytes!(\"nope\"); {SLEEP}; }}\n"
        ),
    );
    let (run, report) = check_project(&dir, &[]);
    let f = findings_of(&report, "src/includes.rs");
    assert_eq!(f.len(), 1, "{run}");
    assert_eq!(at(f[0]).0, 3, "{run}");
    assert_alone_exit_codes(&dir, "src/includes.rs", true, false);
}

// ---- adversarial inputs through the library: the loader --------------------------------------------

/// Serves files from memory, failing or changing them on chosen reads.
struct TrickyLoader {
    files: HashMap<String, Vec<u8>>,
    reads: Mutex<HashMap<String, usize>>,
    /// path -> what its n-th read (0-based) and every later one returns.
    script: HashMap<String, (usize, Result<Vec<u8>, String>)>,
    loads: AtomicUsize,
}

impl TrickyLoader {
    fn new(files: &[(&str, &[u8])]) -> TrickyLoader {
        TrickyLoader {
            files: files.iter().map(|(p, b)| (p.to_string(), b.to_vec())).collect(),
            reads: Mutex::default(),
            script: HashMap::new(),
            loads: AtomicUsize::new(0),
        }
    }

    fn changed_from_read(mut self, path: &str, n: usize, then: Result<&[u8], &str>) -> TrickyLoader {
        self.script.insert(path.to_string(), (n, then.map(<[u8]>::to_vec).map_err(str::to_string)));
        self
    }

    fn analyse(&self) -> Analysis {
        let mut paths: Vec<&str> = self.files.keys().map(String::as_str).collect();
        paths.sort_unstable();
        analyse_with(self, &paths, &[], None)
    }
}

impl SourceLoader for TrickyLoader {
    fn load(&self, path: &str) -> Result<Vec<u8>, String> {
        self.loads.fetch_add(1, Ordering::Relaxed);
        let n = {
            let mut reads = self.reads.lock().unwrap();
            let n = reads.entry(path.to_string()).or_insert(0);
            *n += 1;
            *n - 1
        };
        match self.script.get(path) {
            Some((from, then)) if n >= *from => then.clone(),
            _ => self.files.get(path).cloned().ok_or_else(|| "no such file".to_string()),
        }
    }
}

#[test]
fn unreadable_file_through_the_loader_is_one_io_error() {
    let good = good_source();
    let other = format!("pub async fn o() {{ {SLEEP}; }}\n");
    let loader = TrickyLoader::new(&[(GOOD, good.as_bytes()), ("locked.rs", other.as_bytes())]).changed_from_read(
        "locked.rs",
        0,
        Err("Permission denied (os error 13)"),
    );
    let a = loader.analyse();
    let sources: HashMap<&str, &[u8]> = [(GOOD, good.as_bytes())].into_iter().collect();
    check_invariants(&a, &sources, &["locked.rs"]).unwrap();
    assert_eq!(a.errors.len(), 1, "{}", describe(&a));
    assert_eq!(
        (a.errors[0].kind, a.errors[0].message.as_str()),
        (ErrorKind::IoError, "Permission denied (os error 13)")
    );
}

/// A file that vanishes after it was parsed (before its findings are placed): an io-error for it,
/// no panic, the other file's finding intact.
#[test]
fn file_vanishing_during_the_run_is_an_io_error() {
    let good = good_source();
    let other = format!("pub async fn o() {{ {SLEEP}; }}\n");
    let loader = TrickyLoader::new(&[(GOOD, good.as_bytes()), ("gone.rs", other.as_bytes())]).changed_from_read(
        "gone.rs",
        1,
        Err("No such file or directory (os error 2)"),
    );
    let a = loader.analyse();
    let sources: HashMap<&str, &[u8]> = [(GOOD, good.as_bytes()), ("gone.rs", other.as_bytes())].into_iter().collect();
    check_invariants(&a, &sources, &["gone.rs"]).unwrap();
    let e: Vec<&FileError> = a.errors.iter().filter(|e| e.path == "gone.rs").collect();
    assert_eq!(e.len(), 1, "{}", describe(&a));
    assert_eq!(e[0].kind, ErrorKind::IoError);
}

/// Regression (fixed): a file that changes between parsing and the placing of its findings (an editor saving,
/// a `git checkout` during the run) gets findings at places that are not in it any more: the
/// second read is not compared with the first, and the old byte offsets are mapped onto the new
/// text (clamped). With the file emptied, the finding is reported at 1:1 with `byte_start` 39 and
/// `byte_end` 94 in a 0-byte file. Expected: an io-error "file changed during the run" (as for a
/// vanished file), or the locations of the text that was analysed. No panic in any case (none
/// seen). Reproduce: a `SourceLoader` that returns `""` on the second read of a file with a finding.
#[test]
fn file_changing_during_the_run_is_detected() {
    let good = good_source();
    let other = format!("pub async fn o() {{ let _é = \"ééé\"; {SLEEP}; }}\n");
    let cut_in_char = &other.as_bytes()[..other.find('é').unwrap() + 1];
    let changes: [&[u8]; 4] = [b"", b"fn", b"\xff\xfe not utf-8", cut_in_char];
    for changed in changes {
        let loader = TrickyLoader::new(&[(GOOD, good.as_bytes()), ("edited.rs", other.as_bytes())]).changed_from_read(
            "edited.rs",
            1,
            Ok(changed),
        );
        let a = loader.analyse();
        let sources: HashMap<&str, &[u8]> = [(GOOD, good.as_bytes()), ("edited.rs", changed)].into_iter().collect();
        check_invariants(&a, &sources, &["edited.rs"]).unwrap_or_else(|e| panic!("changed to {changed:?}: {e}"));
        assert!(loader.loads.load(Ordering::Relaxed) >= 3);
    }
}

// ---- property tests --------------------------------------------------------------------------------

fn fuzz_config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let mut config = ProptestConfig {
        cases,
        // Shrinking an analysis is slow; a few hundred steps find a small input well enough.
        max_shrink_iters: 400,
        // No regression files written into the source tree; a failure prints its input.
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(0x6173_796e_636c_696e);
    }
    config
}

/// Bytes that make Rust-looking text more often than uniform bytes do.
fn rusty_bytes() -> impl Strategy<Value = Vec<u8>> {
    let alphabet: Vec<u8> = b"{}()[]<>;:,.=|&!?#'\"\\/*+-_ \n\r\tabcdefmnrstuwy019".to_vec();
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2048),
        proptest::collection::vec(proptest::sample::select(alphabet), 0..2048),
        // Valid UTF-8, any characters (controls, bidi, astral).
        "\\PC{0,600}".prop_map(String::into_bytes),
        any::<String>().prop_map(String::into_bytes),
    ]
}

const VOCABULARY: &[&str] = &[
    "fn",
    "async",
    "{",
    "}",
    "(",
    ")",
    ".await",
    "::",
    "std",
    "thread",
    "sleep",
    "let",
    "=",
    ";",
    "|",
    "move",
    "mod",
    "use",
    "*",
    "impl",
    "for",
    "trait",
    "#[tokio::main]",
    "#![allow(x)]",
    "#[path = \"x.rs\"]",
    "struct",
    "enum",
    "match",
    "=>",
    "if",
    "else",
    "loop",
    "while",
    "return",
    "pub",
    "crate",
    "self",
    "Self",
    "super",
    "dyn",
    "where",
    "<",
    ">",
    ",",
    "!",
    "?",
    "->",
    "&",
    "'a",
    "[",
    "]",
    ".",
    "..",
    "..=",
    "static",
    "const",
    "unsafe",
    "extern",
    "type",
    "as",
    "in",
    "ref",
    "mut",
    "macro_rules!",
    "vec!",
    "include!",
    "tokio",
    "spawn_blocking",
    "block_on",
    "Mutex",
    "lock",
    "unwrap",
    "fs",
    "read",
    "time",
    "Duration",
    "from_millis",
    "x",
    "f",
    "main",
    "r#async",
    "_",
    "1",
    "0x1f",
    "1.0",
    "\"s\"",
    "'c'",
    "b\"x\"",
    "r#\"raw\"#",
    "//",
    "/*",
    "*/",
    "#",
    "$",
    "@",
    "\\",
    "\n",
    "\u{feff}",
    "\u{202e}",
    "é",
];

/// A token soup: vocabulary words with spaces, newlines or nothing between them.
fn token_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (proptest::sample::select(VOCABULARY), proptest::sample::select(&[" ", "", "\n"][..])),
        0..300,
    )
    .prop_map(|tokens| tokens.into_iter().flat_map(|(t, sep)| [t, sep]).collect())
}

/// An expression built from async-relevant pieces: awaits, async blocks and closures, blocking
/// calls, locks, offloads, nested to a few levels.
fn expression() -> impl Strategy<Value = String> {
    let leaf = proptest::sample::select(vec![
        "x",
        "1",
        "\"s\"",
        "f()",
        "x.await",
        "std::thread::sleep(d)",
        "sleep(d)",
        "std::fs::read(\"p\")",
        "fs::read_to_string(p)",
        "m.lock().unwrap()",
        "m.lock().await",
        "rt.block_on(fut)",
        "futures::executor::block_on(fut)",
        "Handle::current().block_on(fut)",
        "tokio::time::sleep(d)",
        "self.g()",
        "Self::h()",
        "crate::a0()",
        "super::s0()",
        "client.query_opt(q)",
    ])
    .prop_map(String::from);
    leaf.prop_recursive(5, 48, 3, |inner| {
        let i = || inner.clone();
        proptest::strategy::Union::new(vec![
            i().prop_map(|e| format!("{e}.await")).boxed(),
            i().prop_map(|e| format!("async {{ {e} }}")).boxed(),
            (i(), i()).prop_map(|(a, b)| format!("async move {{ {a}; {b} }}")).boxed(),
            i().prop_map(|e| format!("|| {e}")).boxed(),
            i().prop_map(|e| format!("move |y| {{ {e} }}")).boxed(),
            i().prop_map(|e| format!("async move || {e}")).boxed(),
            i().prop_map(|e| format!("({e})")).boxed(),
            (i(), i()).prop_map(|(a, b)| format!("{{ let v = {a}; {b} }}")).boxed(),
            (i(), i()).prop_map(|(a, b)| format!("if c {{ {a} }} else {{ {b} }}")).boxed(),
            (i(), i()).prop_map(|(a, b)| format!("match v {{ Ok(_) => {a}, Err(_) => {b} }}")).boxed(),
            (i(), i()).prop_map(|(a, b)| format!("f({a}, {b})")).boxed(),
            (i(), i()).prop_map(|(a, b)| format!("{a}.then({b})")).boxed(),
            i().prop_map(|e| format!("tokio::task::spawn_blocking(move || {e})")).boxed(),
            i().prop_map(|e| format!("tokio::spawn(async move {{ {e} }})")).boxed(),
            i().prop_map(|e| format!("std::thread::spawn(|| {e})")).boxed(),
            (i(), i()).prop_map(|(a, b)| format!("vec![{a}, {b}]")).boxed(),
            i().prop_map(|e| format!("loop {{ {e}; break; }}")).boxed(),
            i().prop_map(|e| format!("{{ let g = m.lock().unwrap(); {e}.await; drop(g); }}")).boxed(),
            i().prop_map(|e| format!("tokio::select! {{ v = {e} => v, }}")).boxed(),
            i().prop_map(|e| format!("{e}?")).boxed(),
        ])
    })
}

/// A file of items around such expressions: async and sync fns, impls, traits, modules, `use`s.
fn rust_items() -> impl Strategy<Value = String> {
    let item = (0..9u8, expression(), expression(), 0..4u8).prop_map(|(kind, a, b, n)| match kind {
        0 => format!("async fn a{n}() {{ {a}; {b}; }}"),
        1 => format!("fn s{n}(d: Duration) {{ {a}; }}"),
        2 => format!("#[tokio::main]\nasync fn main() {{ let _ = {a}; }}"),
        3 => format!("impl T{n} {{ async fn g(&self) {{ {a}; }} fn h() {{ {b}; }} }}"),
        4 => format!("trait Tr{n} {{ fn t(&self) {{ {a}; }} }}\nimpl Tr{n} for T {{}}"),
        5 => format!("mod m{n} {{ use super::*; pub async fn inner() {{ {a}; }} }}"),
        6 => "use std::thread::sleep;\nuse std::sync::Mutex;\nuse std::{fs, time::Duration};".to_string(),
        7 => format!("async fn guard(m: &std::sync::Mutex<u8>) {{ let g = m.lock().unwrap(); {a}.await; {b}; }}"),
        _ => format!("fn sync_helper{n}() -> u8 {{ {a}; 0 }}\nasync fn caller{n}() {{ sync_helper{n}(); }}"),
    });
    proptest::collection::vec(item, 0..6).prop_map(|items| items.join("\n"))
}

/// Token streams: plain soups of the vocabulary, and Rust-shaped code (most of which parses) with
/// up to three vocabulary tokens dropped in anywhere.
fn token_stream() -> impl Strategy<Value = String> {
    let noisy = (rust_items(), proptest::collection::vec((any::<Index>(), proptest::sample::select(VOCABULARY)), 0..4))
        .prop_map(|(mut code, noise)| {
            for (at, token) in noise {
                let mut at = at.index(code.len() + 1);
                while !code.is_char_boundary(at) {
                    at -= 1;
                }
                code.insert_str(at, token);
            }
            code
        });
    prop_oneof![1 => token_soup(), 3 => noisy]
}

/// Every `.rs` file under `fixtures/` (single-file fixtures and project files), read at test time.
fn fixture_files() -> &'static [(String, Vec<u8>)] {
    static FILES: std::sync::OnceLock<Vec<(String, Vec<u8>)>> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, Vec<u8>)>) {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
            entries.sort();
            for p in entries {
                if p.is_dir() {
                    walk(&p, root, out);
                } else if p.extension().is_some_and(|e| e == "rs") {
                    let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                    out.push((rel, std::fs::read(&p).unwrap()));
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut out = Vec::new();
        walk(&root, &root, &mut out);
        assert!(out.len() > 20, "fixtures not found under {}", root.display());
        out
    })
}

#[derive(Clone, Debug)]
enum Mutation {
    DeleteBytes(Index, usize),
    DuplicateBytes(Index, usize),
    SwapBytes(Index, Index, usize),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    Insert(Index, &'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => (any::<Index>(), 1..64usize).prop_map(|(i, n)| Mutation::DeleteBytes(i, n)),
        1 => (any::<Index>(), 1..64usize).prop_map(|(i, n)| Mutation::DuplicateBytes(i, n)),
        1 => (any::<Index>(), any::<Index>(), 1..32usize).prop_map(|(a, b, n)| Mutation::SwapBytes(a, b, n)),
        // Line edits keep more files parsing, so that the analysis past the parser is reached.
        2 => any::<Index>().prop_map(Mutation::DeleteLine),
        2 => any::<Index>().prop_map(Mutation::DuplicateLine),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        1 => (any::<Index>(), proptest::sample::select(VOCABULARY)).prop_map(|(i, t)| Mutation::Insert(i, t)),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        match m {
            Mutation::DeleteBytes(i, n) if len > 0 => {
                let at = i.index(len);
                bytes.drain(at..(at + n).min(len));
            }
            Mutation::DuplicateBytes(i, n) if len > 0 => {
                let at = i.index(len);
                let piece: Vec<u8> = bytes[at..(at + n).min(len)].to_vec();
                bytes.splice(at..at, piece);
            }
            Mutation::SwapBytes(a, b, n) if len > 2 * n => {
                let (a, b) = (a.index(len - n), b.index(len - n));
                let (lo, hi) = (a.min(b), a.max(b));
                if hi >= lo + n {
                    for k in 0..*n {
                        bytes.swap(lo + k, hi + k);
                    }
                }
            }
            Mutation::DeleteLine(i) | Mutation::DuplicateLine(i) | Mutation::SwapLines(i, _) => {
                let mut lines: Vec<Vec<u8>> = bytes.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
                if lines.is_empty() {
                    continue;
                }
                let at = i.index(lines.len());
                match m {
                    Mutation::DeleteLine(_) => {
                        lines.remove(at);
                    }
                    Mutation::DuplicateLine(_) => {
                        let l = lines[at].clone();
                        lines.insert(at, l);
                    }
                    Mutation::SwapLines(_, j) => {
                        let other = j.index(lines.len());
                        lines.swap(at, other);
                    }
                    _ => unreachable!(),
                }
                bytes = lines.concat();
            }
            Mutation::Insert(i, t) => {
                let at = i.index(len + 1);
                bytes.splice(at..at, t.bytes());
            }
            _ => {}
        }
    }
    bytes
}

/// A fixture and the mutations to apply to it.
fn mutated_fixture() -> impl Strategy<Value = (usize, Vec<Mutation>)> {
    (0..fixture_files().len(), proptest::collection::vec(mutation(), 1..5))
}

/// What the fuzzed file came to, over all cases: to see that the fuzzers reach past the lexer.
#[derive(Default)]
struct Tally {
    cases: usize,
    clean: usize,
    with_findings: usize,
    parse_errors: usize,
    io_errors: usize,
}

impl Tally {
    fn add(&mut self, a: &Analysis, fuzzed: &[&str]) {
        self.cases += 1;
        let errors: Vec<&FileError> = a.errors.iter().filter(|e| fuzzed.contains(&e.path.as_str())).collect();
        self.parse_errors += errors.iter().filter(|e| e.kind == ErrorKind::ParseError).count();
        self.io_errors += errors.iter().filter(|e| e.kind == ErrorKind::IoError).count();
        let findings = a.findings.iter().filter(|f| fuzzed.contains(&f.location.path.as_str())).count();
        if findings > 0 {
            self.with_findings += 1;
        } else if errors.is_empty() {
            self.clean += 1;
        }
    }
}

/// Runs a property over `strategy` (panics inside the analysis are caught by proptest and shrunk
/// like failures), then prints how many cases it ran, in how long, and what they came to.
fn fuzz<S: Strategy>(name: &str, strategy: S, property: impl Fn(S::Value) -> Result<(Analysis, Vec<String>), String>) {
    let mut runner = proptest::test_runner::TestRunner::new(fuzz_config());
    let tally = std::cell::RefCell::new(Tally::default());
    let start = Instant::now();
    let result = runner.run(&strategy, |value| {
        let (analysis, fuzzed) = property(value).map_err(TestCaseError::fail)?;
        let fuzzed: Vec<&str> = fuzzed.iter().map(String::as_str).collect();
        tally.borrow_mut().add(&analysis, &fuzzed);
        Ok(())
    });
    let t = tally.borrow();
    eprintln!(
        "{name}: {} cases in {:.2?}: {} clean, {} with findings, {} parse errors, {} io errors",
        t.cases,
        start.elapsed(),
        t.clean,
        t.with_findings,
        t.parse_errors,
        t.io_errors
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

/// (a) Arbitrary bytes as a file: no panic; no error, or one parse/io error for that file.
#[test]
fn fuzz_arbitrary_bytes() {
    fuzz("arbitrary bytes", rusty_bytes(), |bytes| Ok((check_bad_file(&bytes, None)?, vec!["bad.rs".into()])));
}

/// (b) Token soups from a Rust vocabulary: no panic, at most one error for the file.
#[test]
fn fuzz_token_streams() {
    fuzz("token streams", token_stream(), |text| Ok((check_bad_file(text.as_bytes(), None)?, vec!["bad.rs".into()])));
}

/// (c) Fixture files with bytes and lines deleted, duplicated, swapped, tokens inserted: no panic,
/// at most one error, and the unmutated good file keeps its finding.
#[test]
fn fuzz_mutated_fixtures() {
    fuzz("mutated fixtures", mutated_fixture(), |(index, mutations)| {
        let bytes = apply(fixture_files()[index].1.clone(), &mutations);
        Ok((check_bad_file(&bytes, None)?, vec!["bad.rs".into()]))
    });
}

/// (d) Determinism: a few files (mutated fixtures, token soups), analysed with 1 and with 2
/// threads, give identical findings and errors.
#[test]
fn fuzz_one_and_two_threads_agree() {
    let workspace =
        (proptest::collection::vec(mutated_fixture(), 1..5), proptest::collection::vec(token_stream(), 0..3));
    fuzz("1 vs 2 threads", workspace, |(fixtures, soups)| {
        let mut files: Vec<(String, Vec<u8>)> = vec![(GOOD.to_string(), good_source().into_bytes())];
        for (k, (index, mutations)) in fixtures.iter().enumerate() {
            let (name, original) = &fixture_files()[*index];
            files.push((format!("m{k}/{name}"), apply(original.clone(), mutations)));
        }
        for (k, soup) in soups.iter().enumerate() {
            files.push((format!("soup{k}.rs"), soup.clone().into_bytes()));
        }
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
        let one = analyse(&refs, Some(1));
        let two = analyse(&refs, Some(2));
        if one.findings != two.findings || one.errors != two.errors {
            return Err(format!("1 thread:\n{}\n2 threads:\n{}", describe(&one), describe(&two)));
        }
        let bad: Vec<&str> = refs.iter().skip(1).map(|(p, _)| *p).collect();
        check_invariants(&one, &refs.iter().copied().collect(), &bad)?;
        let fuzzed = bad.iter().map(|p| p.to_string()).collect();
        Ok((one, fuzzed))
    });
}

/// The unmutated fixtures analysed together: no errors at all, and 1 vs 2 threads agree.
#[test]
fn all_fixture_files_together_are_deterministic_and_error_free() {
    let mut refs: Vec<(&str, &[u8])> = fixture_files().iter().map(|(p, b)| (p.as_str(), b.as_slice())).collect();
    let good = good_source();
    refs.push((GOOD, good.as_bytes()));
    let one = analyse(&refs, Some(1));
    let two = analyse(&refs, Some(2));
    // `projects/broken-input/` holds a file that does not parse, on purpose.
    let broken: Vec<&str> = refs.iter().map(|(p, _)| *p).filter(|p| p.starts_with("projects/broken-input/")).collect();
    assert!(!broken.is_empty());
    check_invariants(&one, &refs.iter().copied().collect(), &broken).unwrap();
    assert!(one.findings.len() > 20, "{}", describe(&one));
    assert_eq!(one.findings, two.findings);
    assert_eq!(one.errors, two.errors);
}

// ---- terminal safety -------------------------------------------------------------------------------

/// Characters that must never reach a terminal raw: C0 controls but `\n` and `\t`, DEL, C1
/// controls (U+009B is a one-character CSI for some terminals), and the bidi overrides and
/// isolates of CVE-2021-42574 ("Trojan Source").
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

fn unsafe_spots(text: &str) -> Vec<String> {
    text.char_indices()
        .filter(|(_, c)| is_unsafe(*c))
        .map(|(i, c)| format!("U+{:04X} at byte {i}: {:?}", c as u32, clip(text, i.saturating_sub(40), i + 20)))
        .collect()
}

const HUMAN_FORMATS: &[&str] = &["full", "concise", "markdown", "github"];

fn hostile_project(test: &str) -> TestDir {
    let dir = TestDir::with_good_file(test);
    // ESC/CSI, OSC with BEL, a C1 CSI, DEL, bidi overrides and isolates, in strings and comments
    // on the lines of findings.
    dir.write(
        "src/hostile.rs",
        format!(
            "async fn f() {{ let _s = \"\x1b[31mred\x1b[0m\x07\u{9b}2J\x7f\"; /* \x1b]0;title\x07 \u{202e}evil\u{202c} */ {SLEEP}; }} // \x1b[2J\u{2066}x\u{2069}\n\
             async fn g() {{\n    // \u{202e} }}; if admin {{ \u{2066}\n    {SLEEP}; /* \x08\x08\x08\r overwritten */\n}}\n"
        ),
    );
    // A parse error with controls near it, in a plain file name.
    dir.write("src/broken.rs", "pub fn b( { \"\x1b[2J\u{202e}\n");
    dir
}

/// Runs every human format (and `review`) in `dir` and lists the unsafe characters in the output.
fn unsafe_output(dir: &TestDir, must_mention: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for format in HUMAN_FORMATS {
        let run = dir.run(&["check", "--format", format, "--color", "never", "--date", "2026-01-01"]);
        run.assert_code(1);
        let out = run.stdout();
        // The hostile file is reported at all, so its text is rendered.
        assert!(out.contains(must_mention), "--format {format}\n{run}");
        for spot in unsafe_spots(&out) {
            problems.push(format!("--format {format} stdout: {spot}"));
        }
        for spot in unsafe_spots(&run.stderr) {
            problems.push(format!("--format {format} stderr: {spot}"));
        }
    }
    // `review` is the markdown format by default.
    let run = dir.run(&["review", "--date", "2026-01-01"]);
    for spot in unsafe_spots(&run.stdout()) {
        problems.push(format!("review: {spot}"));
    }
    problems
}

/// ESC/CSI, OSC, BEL, C1 CSI, DEL, backspaces, CR and bidi overrides in strings and comments on
/// the lines of findings (and next to a parse error): in no human format do they come out raw.
#[test]
fn control_characters_in_source_never_reach_the_terminal() {
    let dir = hostile_project("control_characters_in_source_never_reach_the_terminal");
    let problems = unsafe_output(&dir, "hostile.rs");
    assert!(problems.is_empty(), "raw control characters in human output:\n{}", problems.join("\n"));
}

/// `ws/`: a workspace with one crate, `crates/a`, whose `src/lib.rs` and `src/b.rs` each have a
/// blocking call; and `loose/x.rs`, a file with one, outside any cargo project.
fn write_workspace_and_loose_file(root: &TestDir) {
    root.write("ws/Cargo.toml", "[workspace]\nmembers = [\"crates/a\"]\n");
    root.write("ws/crates/a/Cargo.toml", "[package]\nname = \"a\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    root.write("ws/crates/a/src/lib.rs", format!("pub mod b;\npub async fn f() {{ {SLEEP}; }}\n"));
    root.write("ws/crates/a/src/b.rs", format!("pub async fn g() {{ {SLEEP}; }}\n"));
    root.write("loose/x.rs", format!("pub async fn g() {{ {SLEEP}; }}\n"));
}

/// The cache packs under `dir`, by path relative to it.
fn packs(dir: &Path) -> Vec<String> {
    snapshot(dir).into_keys().filter(|k| k.ends_with("facts.bin")).collect()
}

/// The default cache is where cargo builds: `target/asynclint/` beside the workspace's manifest,
/// in a subfolder of its own for a crate checked alone, and in the checked folder itself when no
/// manifest is at or above it. `ASYNCLINT_CACHE_DIR` names another folder; set empty, it is unset.
#[test]
fn default_cache_is_in_the_cargo_target_folder() {
    let root = TestDir::new("default_cache_is_in_the_cargo_target_folder");
    write_workspace_and_loose_file(&root);
    let ws = root.join("ws");
    let at = |cwd: &Path, args: &[&str], env: Option<&str>| {
        let mut command = root.command(BIN);
        if let Some(value) = env {
            command.env("ASYNCLINT_CACHE_DIR", value);
        }
        run_command(command, cwd, args, TIMEOUT).assert_code(1);
    };

    at(&ws, &["check", "crates/a"], None);
    let crate_alone = packs(&ws);
    assert_eq!(crate_alone.len(), 1, "{crate_alone:?}");
    let sub = crate_alone[0].strip_prefix("target/asynclint/").unwrap().strip_suffix("/facts.bin").unwrap();
    assert!(sub.len() == 16 && sub.bytes().all(|b| b.is_ascii_hexdigit()), "{crate_alone:?}");
    // From inside the crate, the same folder.
    at(&ws.join("crates/a"), &["check"], None);
    assert_eq!(packs(&ws), crate_alone);
    at(&ws, &["check"], None);
    let both = packs(&ws);
    assert_eq!(both.len(), 2, "{both:?}");
    assert!(both.contains(&"target/asynclint/facts.bin".to_string()), "{both:?}");

    at(&root.join("loose"), &["check"], None);
    assert_eq!(packs(&root.join("loose")), vec!["target/asynclint/facts.bin".to_string()]);

    let named = root.join("named");
    at(&ws, &["check"], Some(named.to_str().unwrap()));
    assert_eq!(packs(&named), vec!["facts.bin".to_string()]);
    at(&ws, &["check", "crates/a"], Some(""));
    assert_eq!(packs(&ws), both, "an empty ASYNCLINT_CACHE_DIR was not taken as unset");
}

/// Files named on the command line are shown from the current folder, but their cache goes with
/// them: into the target folder of the project they are in, never into the current folder. Files
/// outside any cargo project are checked without a cache, since no folder is theirs.
#[test]
fn files_named_from_another_folder_cache_in_their_own_project() {
    let root = TestDir::new("files_named_from_another_folder_cache_in_their_own_project");
    write_workspace_and_loose_file(&root);
    let cwd = root.join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let ws = root.join("ws");
    let lib = ws.join("crates/a/src/lib.rs");
    let b = ws.join("crates/a/src/b.rs");
    let before_loose = snapshot(&root.join("loose"));

    let one = root.run_at(&cwd, &["check", lib.to_str().unwrap()], TIMEOUT);
    one.assert_code(1);
    let two = root.run_at(&cwd, &["check", lib.to_str().unwrap(), b.to_str().unwrap()], TIMEOUT);
    two.assert_code(1);
    assert_eq!(snapshot(&cwd).len(), 0, "written in the current folder: {:?}", snapshot(&cwd).keys());
    let packs = packs(&ws);
    assert_eq!(packs.len(), 1, "both runs anchor on crates/a/src: {packs:?}");
    assert!(packs[0].starts_with("target/asynclint/"), "{packs:?}");

    let loose = root.run_at(&cwd, &["check", root.join("loose/x.rs").to_str().unwrap()], TIMEOUT);
    loose.assert_code(1);
    assert_eq!(snapshot(&cwd).len(), 0, "written in the current folder: {:?}", snapshot(&cwd).keys());
    assert!(diff(&before_loose, &snapshot(&root.join("loose"))).is_empty(), "written beside a loose file");
}

/// The default cache folder is in the checked tree, so a pull request can plant things there.
/// A `target` committed as a link to a folder elsewhere: the run goes on without a cache, says
/// why, and writes nothing through the link. A pack that is a link to `/dev/zero` and a seal that
/// is a pipe: neither is opened (reading either would never end), and the report is the same.
#[cfg(unix)]
#[test]
fn links_and_pipes_planted_where_the_cache_goes_are_not_followed() {
    let dir = cache_project("links_and_pipes_planted_where_the_cache_goes_are_not_followed");
    let reference = dir.run(&["check", "--format", "json", "--no-cache"]);
    let elsewhere = dir.path.with_extension("elsewhere");
    let _ = std::fs::remove_dir_all(&elsewhere);
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("target")).unwrap();
    let run = dir.run(&["check", "--format", "json"]);
    assert_eq!(run.stdout, reference.stdout, "{run}");
    assert!(run.stderr.contains("not caching") && run.stderr.contains("--cache-dir"), "{run}");
    assert!(snapshot(&elsewhere).is_empty(), "written through the link: {:?}", snapshot(&elsewhere));
    std::fs::remove_dir_all(&elsewhere).unwrap();

    std::fs::remove_file(dir.join("target")).unwrap();
    std::fs::create_dir_all(dir.join("target/asynclint")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("target/asynclint/facts.bin")).unwrap();
    let fifo = Command::new("mkfifo").arg(dir.join("target/asynclint/facts.seal")).status().unwrap();
    assert!(fifo.success());
    let run = dir.run(&["check", "--format", "json"]);
    assert_eq!(run.stdout, reference.stdout, "{run}");
    // Both were replaced by a pack and a seal of our own.
    for name in ["facts.bin", "facts.seal"] {
        let meta = std::fs::symlink_metadata(dir.join("target/asynclint").join(name)).unwrap();
        assert!(meta.is_file(), "{name} is still not a plain file");
    }
}

/// A link planted under the name of the pack's temporary file (`facts.tmp<pid>`) is removed, not
/// written through. The process id is the test's own here, since the cache runs in this process.
#[cfg(unix)]
#[test]
fn a_link_under_the_temporary_name_is_not_written_through() {
    use asynclint::FactsCache;
    let dir = TestDir::new("a_link_under_the_temporary_name_is_not_written_through");
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    let cache_dir = dir.join("cache");
    std::fs::create_dir_all(&cache_dir).unwrap();
    // The pack and the seal are both written aside under this name, one after the other.
    std::os::unix::fs::symlink(&victim, cache_dir.join(format!("facts.tmp{}", std::process::id()))).unwrap();
    let cache = asynclint::cache::DiskCache::open(&cache_dir);
    cache.put("src/lib.rs", 1, b"facts".to_vec());
    cache.save(&["src/lib.rs".to_string()]).unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    let mut left: Vec<String> =
        std::fs::read_dir(&cache_dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    assert_eq!(left, ["facts.bin", "facts.seal"]);
    assert!(std::fs::symlink_metadata(cache_dir.join("facts.bin")).unwrap().is_file());
}

/// Writes the seal `src/cache.rs` would write for `pack` as it is now (its format: the magic line,
/// then device, inode, status-change seconds and nanoseconds, and size, as little-endian u64s).
/// Only a test on the same disk can do this; an attacker shipping a pack cannot.
#[cfg(unix)]
fn reseal(pack: &Path) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(pack).unwrap();
    let mut seal = b"asynclint-seal\n".to_vec();
    for n in [m.dev(), m.ino(), m.ctime() as u64, m.ctime_nsec() as u64, m.len()] {
        seal.extend_from_slice(&n.to_le_bytes());
    }
    std::fs::write(pack.with_file_name("facts.seal"), seal).unwrap();
}

/// The identity of the pack file: a run that rewrites the pack renames a new file into place.
#[cfg(unix)]
fn pack_identity(pack: &Path) -> (u64, i64, i64) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(pack).unwrap();
    (m.ino(), m.ctime(), m.ctime_nsec())
}

/// A sealed pack is trusted: an unchanged tree leaves it as it is. The same pack and seal copied
/// elsewhere (a checkout, an archive, a CI cache step) are not: the run parses every file again and
/// writes a pack of its own. So is a pack whose seal is missing or was edited.
#[cfg(unix)]
#[test]
fn only_a_pack_sealed_in_place_is_read() {
    let dir = cache_project("only_a_pack_sealed_in_place_is_read");
    let reference = dir.run(&["check", "--format", "json", "--no-cache"]);
    let cold = dir.run(&["check", "--format", "json"]);
    assert_eq!(cold.stdout, reference.stdout, "{cold}");
    let cache = dir.path.join("target/asynclint");
    let (pack, seal) = (cache.join("facts.bin"), cache.join("facts.seal"));
    let written = pack_identity(&pack);
    let warm = dir.run(&["check", "--format", "json"]);
    assert_eq!(warm.stdout, reference.stdout, "{warm}");
    assert_eq!(pack_identity(&pack), written, "a warm run over an unchanged tree rewrote a sealed pack");

    // Copied with its seal, byte for byte.
    let copy = dir.path.join("copied");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(&pack, copy.join("facts.bin")).unwrap();
    std::fs::copy(&seal, copy.join("facts.seal")).unwrap();
    let copied = pack_identity(&copy.join("facts.bin"));
    let run = dir.run(&["check", "--format", "json", "--cache-dir", copy.to_str().unwrap()]);
    assert_eq!(run.stdout, reference.stdout, "{run}");
    assert_ne!(pack_identity(&copy.join("facts.bin")), copied, "a copied pack was trusted");
    // The pack it wrote is sealed where it is.
    let rewritten = pack_identity(&copy.join("facts.bin"));
    dir.run(&["check", "--format", "json", "--cache-dir", copy.to_str().unwrap()]);
    assert_eq!(pack_identity(&copy.join("facts.bin")), rewritten, "the rewritten pack was not sealed");

    // A missing seal, and a seal with one byte changed.
    for damage in ["remove", "edit"] {
        let before = pack_identity(&pack);
        if damage == "remove" {
            std::fs::remove_file(&seal).unwrap();
        } else {
            let mut bytes = std::fs::read(&seal).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            std::fs::write(&seal, bytes).unwrap();
        }
        let run = dir.run(&["check", "--format", "json"]);
        assert_eq!(run.stdout, reference.stdout, "{run}");
        assert_ne!(pack_identity(&pack), before, "a pack was read with its seal {damage}d");
    }
}

/// Regression (fixed): `--format github` copies file names into `file=` unescaped but for `%`, `\r`, `\n`, `:`
/// and `,`, so ESC, BEL and bidi overrides in a file name reach the Actions log raw (`full`,
/// `concise` and `markdown` escape them). Reproduce: a file `src/e\x1b[31mvil.rs` with a finding;
/// `asynclint check --format github` prints `::error file=src/e\x1b[31mvil.rs,...`; the same for
/// the `file=` of a parse error.
#[cfg(unix)]
#[test]
fn control_characters_in_file_names_never_reach_the_terminal() {
    let dir = TestDir::with_good_file("control_characters_in_file_names_never_reach_the_terminal");
    dir.write("src/e\x1b[31mvil\x07\u{202e}.rs", format!("pub async fn g() {{ {SLEEP}; }}\n"));
    dir.write("src/b\x1b[1mroken\u{9b}.rs", "pub fn b( {\n");
    let problems = unsafe_output(&dir, "vil");
    assert!(problems.is_empty(), "raw control characters in human output:\n{}", problems.join("\n"));
}

/// Regression (fixed): a newline in a file name forges lines of `--format concise` (and of the `full` header): a
/// file named "x\nsrc/lib.rs:9:9: critical[blocking-call-in-async] injected\n.rs" prints a line that
/// looks like a finding of another file. `escape_for_terminal` keeps `\n` for messages, and paths
/// go through it too. Reproduce: create such a file with one finding, `check --format concise`.
#[cfg(unix)]
#[test]
fn newline_in_a_file_name_cannot_forge_a_finding_line() {
    let dir = TestDir::with_good_file("newline_in_a_file_name_cannot_forge_a_finding_line");
    let name = "src/x\nsrc/lib.rs:9:9: critical[blocking-call-in-async] injected\n.rs";
    dir.write(name, format!("pub async fn g() {{ {SLEEP}; }}\n"));
    let run = dir.run(&["check", "--format", "concise"]);
    run.assert_code(1);
    let out = run.stdout();
    let lines: Vec<&str> = out.lines().collect();
    // Two findings and the summary: three lines, none of them about src/lib.rs.
    assert_eq!(lines.len(), 3, "{run}");
    assert!(!lines.iter().any(|l| l.starts_with("src/lib.rs:")), "a forged line\n{run}");
}

// ---- nothing written but what the user named ----------------------------------------------------

/// Every entry under `root` (hidden ones too), with its kind, size and a hash of its content.
fn snapshot(root: &Path) -> BTreeMap<String, (String, u64, u64)> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, (String, u64, u64)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let m = p.symlink_metadata().unwrap();
            if m.is_dir() {
                out.insert(rel, ("dir".into(), 0, 0));
                walk(&p, root, out);
            } else if m.is_symlink() {
                let target = std::fs::read_link(&p).unwrap().to_string_lossy().into_owned();
                out.insert(rel, (format!("link -> {target}"), 0, 0));
            } else {
                let bytes = std::fs::read(&p).unwrap_or_default();
                out.insert(rel, ("file".into(), m.len(), asynclint::content_hash(&bytes)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn diff(before: &BTreeMap<String, (String, u64, u64)>, after: &BTreeMap<String, (String, u64, u64)>) -> Vec<String> {
    let keys: HashSet<&String> = before.keys().chain(after.keys()).collect();
    let mut out: Vec<String> = keys
        .into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| format!("{k}: {:?} -> {:?}", before.get(k), after.get(k)))
        .collect();
    out.sort();
    out
}

#[test]
fn nothing_is_written_but_the_named_report_and_cache() {
    let root = TestDir::new("nothing_is_written_but_the_named_report_and_cache");
    let project = root.join("project");
    let elsewhere = root.join("cwd");
    let reports = root.join("reports");
    let cache = root.join("cache");
    for d in [&project, &elsewhere, &reports] {
        std::fs::create_dir_all(d).unwrap();
    }
    root.write("project/Cargo.toml", "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    root.write("project/src/lib.rs", format!("mod broken;\npub async fn f() {{ {SLEEP}; }}\n"));
    root.write("project/src/broken.rs", "fn b( {\n");
    root.write("project/.hidden/x.rs", format!("pub async fn h() {{ {SLEEP}; }}\n"));
    root.write("project/.gitignore", "ignored/\n");
    root.write("project/ignored/y.rs", "fn y() {}\n");
    std::fs::create_dir_all(project.join(".git")).unwrap();
    root.write("project/.git/HEAD", "ref: refs/heads/main\n");
    let p = project.to_str().unwrap();
    let before = snapshot(&project);

    // Every format, to a named file outside the project, from another folder, without a cache.
    for format in ["json", "full", "concise", "markdown", "github", "sarif", "gitlab", "rdjson", "cargo-json"] {
        let out = reports.join(format!("report.{format}"));
        let run = root.run_at(
            &elsewhere,
            &["check", "--no-cache", "--format", format, "-o", out.to_str().unwrap(), p],
            TIMEOUT,
        );
        run.assert_code(1);
        assert!(run.stdout.is_empty(), "{run}");
        assert!(out.is_file(), "{run}");
        assert!(
            diff(&before, &snapshot(&project)).is_empty(),
            "--format {format} wrote into the project: {:?}",
            diff(&before, &snapshot(&project))
        );
    }
    let run = root.run_at(
        &elsewhere,
        &["review", "--no-cache", "--date", "2026-01-01", "-o", reports.join("review.md").to_str().unwrap(), p],
        TIMEOUT,
    );
    run.assert_code(1);
    assert_eq!(
        snapshot(&elsewhere).len(),
        0,
        "something was written in the current folder: {:?}",
        snapshot(&elsewhere)
    );
    assert_eq!(snapshot(&reports).len(), 10, "{:?}", snapshot(&reports).keys());

    // With the cache in a named folder: only there.
    let run =
        root.run_at(&elsewhere, &["check", "--format", "json", "--cache-dir", cache.to_str().unwrap(), p], TIMEOUT);
    run.assert_code(1);
    assert!(diff(&before, &snapshot(&project)).is_empty(), "{:?}", diff(&before, &snapshot(&project)));
    assert!(!snapshot(&cache).is_empty(), "the named cache folder was not used");

    // With the default cache, from inside the project and from elsewhere: the pack and its seal in
    // the project's `target/asynclint/`, where cargo builds, and nothing else anywhere: not in the
    // home (with or without `XDG_CACHE_HOME`), not in the current folder, no temporary file left.
    let home_before = snapshot(&root.home);
    for (cwd, args) in [(&project, &["check", "--format", "json"][..]), (&elsewhere, &["check", "--format", "json", p])]
    {
        for xdg in [true, false] {
            let mut command = root.command(BIN);
            if !xdg {
                command.env_remove("XDG_CACHE_HOME");
            }
            let run = run_command(command, cwd, args, TIMEOUT);
            run.assert_code(1);
            let changes = diff(&before, &snapshot(&project));
            let unexpected: Vec<&String> = changes
                .iter()
                .filter(|c| {
                    !["target:", "target/asynclint:", "target/asynclint/facts.bin:", "target/asynclint/facts.seal:"]
                        .iter()
                        .any(|known| c.starts_with(known))
                })
                .collect();
            assert!(unexpected.is_empty(), "written in the project outside target/asynclint: {unexpected:?}");
            assert!(project.join("target/asynclint/facts.seal").is_file(), "the default cache was not written");
            assert_eq!(snapshot(&elsewhere).len(), 0, "{:?}", snapshot(&elsewhere));
        }
    }
    assert!(diff(&home_before, &snapshot(&root.home)).is_empty(), "{:?}", diff(&home_before, &snapshot(&root.home)));
}

// ---- the facts cache is input too ------------------------------------------------------------------

/// The files of the default cache (`target/asynclint/`) of a project.
fn cache_files(project: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = snapshot(&project.join("target"))
        .into_iter()
        .filter(|(_, (kind, _, _))| kind == "file")
        .map(|(rel, _)| project.join("target").join(rel))
        .collect();
    out.sort();
    out
}

fn cache_project(test: &str) -> TestDir {
    let dir = TestDir::with_good_file(test);
    dir.write("src/lib.rs", "pub mod good;\npub mod more;\n");
    dir.write(
        "src/more.rs",
        format!(
            "use std::sync::Mutex;\nfn helper() {{ {SLEEP}; }}\npub async fn chain() {{ helper(); }}\n\
             pub async fn guard(m: &Mutex<u8>) {{ let g = m.lock().unwrap(); other().await; drop(g); }}\n\
             async fn other() {{}}\n"
        ),
    );
    dir
}

/// The cache follows the tree: a warm run reports what a cold one does, a changed file is
/// analysed again, and a removed file leaves the pack (the pack is written as facts are made,
/// then completed with the entries it keeps).
#[test]
fn cache_follows_changes_to_the_tree() {
    let dir = cache_project("cache_follows_changes_to_the_tree");
    let cache_dir = dir.path.join("target").join("asynclint");
    let cache_arg = cache_dir.to_string_lossy().into_owned();
    let cached = ["check", "--format", "json", "--cache-dir", cache_arg.as_str()];
    let uncached = ["check", "--format", "json", "--no-cache"];
    let cold = dir.run(&cached);
    cold.assert_code(1);
    assert!(!findings_of(&cold.json(), "src/more.rs").is_empty(), "{cold}");
    let pack = cache_dir.join("facts.bin");
    let contains = |needle: &str| std::fs::read(&pack).unwrap().windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(contains("src/more.rs") && contains("src/good.rs"), "the pack lacks a file");
    let warm = dir.run(&cached);
    assert!(warm.stdout == cold.stdout, "the warm run differs\n{cold}\n{warm}");
    // Changed: its findings go, the other file's stay.
    dir.write("src/more.rs", "pub async fn chain() {}\n");
    let changed = dir.run(&cached);
    assert!(changed.stdout == dir.run(&uncached).stdout, "a changed file kept its cached facts\n{changed}");
    assert!(findings_of(&changed.json(), "src/more.rs").is_empty(), "{changed}");
    assert!(!findings_of(&changed.json(), "src/good.rs").is_empty(), "{changed}");
    // Removed: it leaves the pack, and no temporary file is left beside it.
    std::fs::remove_file(dir.join("src/more.rs")).unwrap();
    dir.write("src/lib.rs", "pub mod good;\n");
    let removed = dir.run(&cached);
    assert!(removed.stdout == dir.run(&uncached).stdout, "{removed}");
    assert!(!contains("src/more.rs") && contains("src/good.rs"), "a removed file stayed in the pack");
    let mut left: Vec<_> = std::fs::read_dir(&cache_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, vec![std::ffi::OsString::from("facts.bin"), std::ffi::OsString::from("facts.seal")]);
}

/// Regression (fixed): a damaged cache is trusted, and can crash the run. Cutting, emptying or overwriting the
/// pack is handled (it is ignored), but a single byte changed inside a cached file's string table
/// or facts decodes to other facts: 15 of the 133 damages tried change the report (with byte 60
/// of `target/asynclint/facts.bin` plus one, the finding in `good.rs` is in "async fn `g`" instead
/// of `f`; others drop findings or rename functions), and one (byte 465 plus one) panics outside
/// `catch_unwind`: exit 101, "index out of bounds: the len is 1 but the index is 1" at
/// `src/parse/facts.rs:389` (`module_of_scope`). Decoded facts are not validated (indices in
/// range, scope parents acyclic: a scope that is its own parent would make `module_of_scope` loop
/// forever) and there is no checksum over the blobs. Expected (issue 6: "a corrupt cache is ignored and
/// rebuilt, never trusted"): the same report as `--no-cache`. Reproduce: run `check` once in a
/// project, add one to a byte of `target/asynclint/facts.bin`, run `check` again.
#[test]
fn corrupt_cache_is_ignored() {
    let dir = cache_project("corrupt_cache_is_ignored");
    let reference = dir.run(&["check", "--format", "json", "--no-cache"]);
    reference.assert_code(1);
    assert!(reference.json()["findings"].as_array().unwrap().len() >= 3, "{reference}");
    // The cache is kept where this test can damage it.
    let cache_dir = dir.path.join("target").join("asynclint");
    let cache_arg = cache_dir.to_string_lossy().into_owned();
    let cached = ["check", "--format", "json", "--cache-dir", cache_arg.as_str()];
    dir.run(&cached).assert_code(1);
    let files = cache_files(&dir.path);
    assert!(!files.is_empty(), "no cache was written under target/");
    let pristine: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let intact = dir.run(&cached);
    assert!(intact.stdout == reference.stdout, "even the intact cache changes the report\n{intact}");
    let mut tried = 0;
    let mut wrong = Vec::new();
    for (file, bytes) in files.iter().zip(&pristine) {
        let name = file.strip_prefix(&dir.path).unwrap().display().to_string();
        let mut damages: Vec<(String, Vec<u8>)> = vec![
            ("emptied".into(), Vec::new()),
            ("cut in half".into(), bytes[..bytes.len() / 2].to_vec()),
            ("cut by one byte".into(), bytes[..bytes.len() - 1].to_vec()),
            ("grown by garbage".into(), [bytes.as_slice(), &[0xff; 64]].concat()),
            ("overwritten with garbage".into(), (0..bytes.len()).map(|i| (i * 7919 % 251) as u8).collect()),
        ];
        // Single bytes flipped or bumped, at 64 places spread over the file.
        for k in 0..64 {
            let at = k * bytes.len() / 64;
            let mut flipped = bytes.clone();
            flipped[at] ^= 0xff;
            damages.push((format!("byte {at} flipped"), flipped));
            let mut bumped = bytes.clone();
            bumped[at] = bumped[at].wrapping_add(1);
            damages.push((format!("byte {at} plus one"), bumped));
        }
        for (what, damaged) in damages {
            std::fs::write(file, &damaged).unwrap();
            // Damage that came from the disk itself (a bad sector, a bit flip) keeps the pack's
            // inode and status-change time, so its seal would still hold: the pack is resealed to
            // check that checksums and validation catch it on their own.
            if file.ends_with("facts.bin") {
                reseal(file);
            }
            let run = dir.run(&cached);
            tried += 1;
            if run.code != 1 || run.stdout != reference.stdout {
                let summary = serde_json::from_slice::<Value>(&run.stdout).map_or_else(
                    |_| format!("exit {}, stderr {}", run.code, run.stderr.trim()),
                    |r| {
                        format!(
                            "exit {}, {} findings, functions {:?}",
                            run.code,
                            r["summary"]["findings"],
                            r["findings"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|f| f["function"].as_str().unwrap_or("").to_string())
                                .collect::<Vec<_>>()
                        )
                    },
                );
                wrong.push(format!("{name} {what}: {summary}"));
            }
            std::fs::write(file, bytes).unwrap();
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {tried} damaged caches changed the report (reference: {} findings):\n{}",
        wrong.len(),
        reference.json()["summary"]["findings"],
        wrong.join("\n")
    );
}

/// Security: a cache that comes with the checked tree must not decide what is reported. The default
/// cache is `target/asynclint/facts.bin` inside the checked project, so a pull request can commit
/// one (`target/` is only ignored by convention) holding the facts of an innocent version of a
/// file under the content hash of the real one: its findings would vanish (here both findings of
/// `src/more.rs`, a blocking chain and a lock held across `.await`). The seal beside the pack
/// records the inode and status-change time the pack had when asynclint wrote it, and editing,
/// copying or checking out the pack changes both. (Regression: before the seal, the default cache
/// lived in `~/.cache` instead, against the issue's "under `target/`".)
#[test]
fn cache_shipped_with_the_checked_tree_cannot_hide_findings() {
    let dir = cache_project("cache_shipped_with_the_checked_tree_cannot_hide_findings");
    // The attacker builds the pack where the default cache is, and commits it.
    let shipped = dir.path.join("target").join("asynclint");
    let shipped_arg = shipped.to_string_lossy().into_owned();
    let real = std::fs::read(dir.join("src/more.rs")).unwrap();
    let reference = dir.run(&["check", "--format", "json", "--no-cache"]);
    reference.assert_code(1);
    assert!(!findings_of(&reference.json(), "src/more.rs").is_empty(), "{reference}");
    // The attacker's machine: the innocent version, cached.
    let innocent = b"pub async fn chain() {}\npub async fn guard() {}\n";
    std::fs::write(dir.join("src/more.rs"), innocent).unwrap();
    dir.run(&["check", "--format", "json", "--cache-dir", shipped_arg.as_str()]);
    let files = cache_files(&dir.path);
    assert!(!files.is_empty(), "no cache was written under target/");
    // Its key made the hash of the real file.
    let (from, to) = (asynclint::content_hash(innocent).to_le_bytes(), asynclint::content_hash(&real).to_le_bytes());
    let mut patched = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        if let Some(at) = bytes.windows(from.len()).position(|w| w == from.as_slice()) {
            let forged = [&bytes[..at], to.as_slice(), &bytes[at + from.len()..]].concat();
            std::fs::write(file, forged).unwrap();
            patched += 1;
        }
    }
    assert_eq!(patched, 1, "the cache no longer keys files by `content_hash`, little-endian: update this test");
    std::fs::write(dir.join("src/more.rs"), &real).unwrap();
    #[cfg(unix)]
    let forged_pack = std::fs::read(shipped.join("facts.bin")).unwrap();
    let run = dir.run(&["check", "--format", "json"]);
    assert!(
        run.code == 1 && run.stdout == reference.stdout,
        "a forged cache changed the report\n--- without cache ---\n{reference}\n--- with the forged cache ---\n{run}"
    );
    // The seal is what stops it: the same forged pack, sealed where it lies (which only a process
    // on this disk can do, after the pack is in place), hides the findings.
    #[cfg(unix)]
    {
        std::fs::write(shipped.join("facts.bin"), forged_pack).unwrap();
        reseal(&shipped.join("facts.bin"));
        let fooled = dir.run(&["check", "--format", "json"]);
        assert!(
            findings_of(&fooled.json(), "src/more.rs").is_empty(),
            "the forged pack no longer hides findings even when sealed, so this test shows nothing\n{fooled}"
        );
    }
}
