//! The configuration and inline suppressions, end to end: each test writes a small project (and
//! its `asynclint.toml`, `.asynclint.toml` or Cargo.toml metadata table) into its own temp folder
//! and drives the `asynclint` binary. Every test also checks the run without the setting under
//! test, so that it fails if the setting stops working.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_asynclint");

const BLOCKING: &str = "blocking-call-in-async";
const BLOCK_ON: &str = "block-on-in-async";
const LOCK: &str = "sync-lock-across-await";
const UNUSED: &str = "unused-suppression";

/// One finding of each of the three analysis rules: blocking (critical) on line 4, a lock guard
/// across `.await` (high) on line 7, `block_on` (critical) on line 12.
const THREE: &str = "use std::time::Duration;

pub async fn sleepy() {
    std::thread::sleep(Duration::from_millis(1));
}
pub async fn locked(m: &std::sync::Mutex<u32>) {
    let g = m.lock().unwrap();
    tokio::task::yield_now().await;
    drop(g);
}
pub async fn nested() {
    futures::executor::block_on(async {});
}
";

// ---- harness -------------------------------------------------------------------------------------

/// A folder of its own under the temp dir, removed on drop.
struct TestDir {
    path: PathBuf,
}

impl TestDir {
    fn new(test: &str) -> TestDir {
        let path = std::env::temp_dir().join(format!("asynclint-config-{}-{test}", std::process::id()));
        if path.symlink_metadata().is_ok() {
            std::fs::remove_dir_all(&path).unwrap();
        }
        std::fs::create_dir_all(&path).unwrap();
        TestDir { path }
    }

    /// A package `app` (`src/lib.rs` is its root) with `THREE` in `src/lib.rs`.
    fn project(test: &str) -> TestDir {
        let dir = TestDir::new(test);
        dir.write("Cargo.toml", MANIFEST).write("src/lib.rs", THREE);
        dir
    }

    fn write(&self, rel: &str, contents: &str) -> &TestDir {
        let path = self.path.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    fn remove(&self, rel: &str) -> &TestDir {
        std::fs::remove_file(self.path.join(rel)).unwrap();
        self
    }

    /// Runs `asynclint <args>` in this folder.
    fn run(&self, args: &[&str]) -> Run {
        self.run_in(".", args)
    }

    fn run_in(&self, sub: &str, args: &[&str]) -> Run {
        let out = Command::new(BIN)
            // The default cache folder (`target/asynclint/` of the checked project), whatever the
            // developer has set.
            .env_remove("ASYNCLINT_CACHE_DIR")
            .args(args)
            .current_dir(self.path.join(sub))
            .env_remove("ASYNCLINT_FORMAT")
            .env_remove("NO_COLOR")
            .env("COLUMNS", "100")
            .stdin(Stdio::null())
            .output()
            .expect("cannot start asynclint");
        Run {
            args: args.iter().map(|s| s.to_string()).collect(),
            code: out.status.code().expect("killed by a signal"),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `check --format json` and its findings as (rule, path, line, severity), sorted.
    fn findings(&self, extra: &[&str]) -> Vec<(String, String, u64, String)> {
        let mut args = vec!["check", "--format", "json", "--exit-zero"];
        args.extend_from_slice(extra);
        self.run(&args).assert_code(0).findings()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

const MANIFEST: &str = "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";

struct Run {
    args: Vec<String>,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn assert_code(&self, expected: i32) -> &Run {
        assert_eq!(self.code, expected, "unexpected exit code\n{self}");
        self
    }

    fn findings(&self) -> Vec<(String, String, u64, String)> {
        let json: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{self}"));
        let mut out: Vec<_> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["rule"].as_str().unwrap().to_string(),
                    f["path"].as_str().unwrap().to_string(),
                    f["line"].as_u64().unwrap(),
                    f["severity"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "asynclint {:?}\nexit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }
}

/// The rules of a list of findings, sorted, with repeats.
fn rules_of(findings: &[(String, String, u64, String)]) -> Vec<&str> {
    let mut v: Vec<&str> = findings.iter().map(|f| f.0.as_str()).collect();
    v.sort_unstable();
    v
}

fn find<'a>(findings: &'a [(String, String, u64, String)], rule: &str) -> Vec<&'a (String, String, u64, String)> {
    findings.iter().filter(|f| f.0 == rule).collect()
}

// ---- rule selection, severity, fail-on -------------------------------------------------------------

#[test]
fn without_a_config_every_rule_runs() {
    let dir = TestDir::project("defaults");
    assert_eq!(rules_of(&dir.findings(&[])), vec![BLOCK_ON, BLOCKING, LOCK]);
}

#[test]
fn select_runs_only_the_rules_named() {
    let dir = TestDir::project("select");
    dir.write("asynclint.toml", "select = [\"sync-lock-across-await\"]\n");
    assert_eq!(rules_of(&dir.findings(&[])), vec![LOCK]);
}

#[test]
fn ignore_takes_rules_out() {
    let dir = TestDir::project("ignore");
    dir.write("asynclint.toml", "ignore = [\"blocking-call-in-async\", \"block-on-in-async\"]\n");
    assert_eq!(rules_of(&dir.findings(&[])), vec![LOCK]);
}

#[test]
fn extend_select_adds_to_select_and_ignore_comes_last() {
    let dir = TestDir::project("extend-select");
    dir.write(
        "asynclint.toml",
        "select = [\"sync-lock-across-await\"]\nextend-select = [\"block-on-in-async\", \"blocking-call-in-async\"]\nignore = [\"sync-lock-across-await\"]\n",
    );
    assert_eq!(rules_of(&dir.findings(&[])), vec![BLOCK_ON, BLOCKING]);
}

#[test]
fn command_line_select_wins_over_the_config() {
    let dir = TestDir::project("cli-select");
    dir.write("asynclint.toml", "select = [\"sync-lock-across-await\"]\nignore = [\"block-on-in-async\"]\n");
    assert_eq!(rules_of(&dir.findings(&["--select", "block-on-in-async"])), vec![BLOCK_ON]);
}

#[test]
fn severity_overrides_apply_to_findings_and_the_gate() {
    let dir = TestDir::project("severity");
    dir.write("asynclint.toml", "[severity]\nblocking-call-in-async = \"medium\"\nblock-on-in-async = \"medium\"\n");
    let found = dir.findings(&[]);
    assert_eq!(find(&found, BLOCKING)[0].3, "medium");
    assert_eq!(find(&found, BLOCK_ON)[0].3, "medium");
    assert_eq!(find(&found, LOCK)[0].3, "high");
    // Only the lock finding is high now: --fail-on critical passes.
    dir.run(&["check", "--fail-on", "critical"]).assert_code(0);
    dir.remove("asynclint.toml");
    dir.run(&["check", "--fail-on", "critical"]).assert_code(1);
}

#[test]
fn fail_on_in_the_config_is_the_default_and_the_flag_wins() {
    let dir = TestDir::project("fail-on");
    dir.write("src/lib.rs", "pub async fn locked(m: &std::sync::Mutex<u32>) {\n    let g = m.lock().unwrap();\n    tokio::task::yield_now().await;\n    drop(g);\n}\n");
    // The only finding is high.
    dir.run(&["check"]).assert_code(1);
    dir.write("asynclint.toml", "fail-on = \"critical\"\n");
    dir.run(&["check"]).assert_code(0);
    dir.run(&["check", "--fail-on", "high"]).assert_code(1);
}

// ---- per-path ignores --------------------------------------------------------------------------

#[test]
fn per_path_ignores_match_globs_relative_to_the_checked_folder() {
    let dir = TestDir::project("per-path");
    let sleepy = "pub async fn f() {\n    std::thread::sleep(std::time::Duration::from_millis(1));\n}\n";
    dir.write("tests/it.rs", sleepy).write("tests/deep/more.rs", sleepy).write("examples/demo.rs", sleepy);
    dir.write("src/bin/tool.rs", sleepy);
    let before = dir.findings(&[]);
    let blocking_files = |f: &[(String, String, u64, String)]| -> Vec<String> {
        find(f, BLOCKING).iter().map(|x| x.1.clone()).collect()
    };
    assert_eq!(
        blocking_files(&before),
        vec!["examples/demo.rs", "src/bin/tool.rs", "src/lib.rs", "tests/deep/more.rs", "tests/it.rs"]
    );
    dir.write(
        "asynclint.toml",
        "[per-path-ignores]\n\"tests/**\" = [\"blocking-call-in-async\"]\n\"examples\" = [\"blocking-call-in-async\"]\n\"src/bin/*.rs\" = [\"block-on-in-async\"]\n",
    );
    let after = dir.findings(&[]);
    // `*` does not cross `/`, and the src/bin glob names another rule.
    assert_eq!(blocking_files(&after), vec!["src/bin/tool.rs", "src/lib.rs"]);
    // Other rules in src/ are untouched.
    assert_eq!(find(&after, LOCK).len(), 1);
}

// ---- the user's own blocking APIs and offload functions -----------------------------------------

const LEGACY_APP: &str = "mod legacy;
mod pool;

pub async fn handler() -> u32 {
    legacy::query_sync(1)
}

pub async fn via_helper() -> u32 {
    lookup(2)
}

fn lookup(id: u32) -> u32 {
    crate::legacy::query_sync(id)
}

pub fn sync_caller() -> u32 {
    legacy::query_sync(3)
}

pub async fn with_db(db: &legacy::LegacyDb) -> u32 {
    db.load()
}

pub async fn offloaded() -> usize {
    pool::run_on_pool(|| std::fs::read(\"data.bin\").map_or(0, |b| b.len()))
}
";

const LEGACY: &str = "pub fn query_sync(id: u32) -> u32 {
    extern_query(id)
}

fn extern_query(id: u32) -> u32 {
    id
}

pub struct LegacyDb;

impl LegacyDb {
    pub fn load(&self) -> u32 {
        7
    }
}
";

/// Runs closures on a pool asynclint knows nothing about.
const POOL: &str = "pub fn run_on_pool<F: FnOnce() -> usize>(f: F) -> usize {
    crate::pool::POOL.with(|p| p.execute(f))
}
";

fn legacy_project(test: &str) -> TestDir {
    let dir = TestDir::new(test);
    dir.write("Cargo.toml", MANIFEST)
        .write("src/lib.rs", LEGACY_APP)
        .write("src/legacy.rs", LEGACY)
        .write("src/pool.rs", POOL);
    dir
}

#[test]
fn a_blocking_api_entry_reports_the_users_own_function_and_its_async_callers() {
    let dir = legacy_project("blocking-api");
    // Without configuration, nothing in `query_sync` looks blocking (line 25 is `std::fs::read`).
    assert_eq!(find(&dir.findings(&[]), BLOCKING).iter().map(|f| f.2).collect::<Vec<_>>(), vec![25]);
    dir.write(
        "asynclint.toml",
        "[[blocking-api]]\npaths = [\"app::legacy::query_sync\"]\nhelp = \"use `app::legacy::query(..).await`\"\n",
    );
    let run = dir.run(&["check", "--format", "json"]);
    run.assert_code(1);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    let blocking: Vec<&Value> = json["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == BLOCKING).collect();
    let lines: Vec<u64> = blocking.iter().map(|f| f["line"].as_u64().unwrap()).collect();
    // Directly in `handler`, and through `lookup` in `via_helper`; not in the sync caller.
    assert_eq!(lines, vec![5, 9, 25], "{run}");
    assert_eq!(blocking[0]["message"], "blocking call `app::legacy::query_sync` inside async fn `handler`");
    assert_eq!(blocking[0]["help"], "use `app::legacy::query(..).await`");
    assert!(blocking[1]["message"].as_str().unwrap().contains("calls `lookup`, which calls `app::legacy::query_sync`"));
    assert_eq!(blocking[1]["chain"].as_array().unwrap().len(), 2, "{run}");
}

#[test]
fn a_blocking_api_entry_with_a_type_reports_its_methods() {
    let dir = legacy_project("blocking-api-type");
    assert_eq!(find(&dir.findings(&[]), BLOCKING).iter().map(|f| f.2).collect::<Vec<_>>(), vec![25]);
    dir.write(
        "asynclint.toml",
        "[[blocking-api]]\ntype = \"app::legacy::LegacyDb\"\nmethods = [\"load\"]\nseverity = \"high\"\n",
    );
    let found = dir.findings(&[]);
    let blocking = find(&found, BLOCKING);
    assert_eq!(blocking.len(), 2, "{found:?}");
    assert_eq!((blocking[0].2, blocking[0].3.as_str()), (21, "high"));
}

#[test]
fn an_offload_entry_makes_the_users_own_pool_an_offload() {
    let dir = legacy_project("offload");
    // Without configuration, the closure given to `run_on_pool` is async code.
    let before = dir.findings(&[]);
    assert_eq!(find(&before, BLOCKING).iter().map(|f| f.2).collect::<Vec<_>>(), vec![25]);
    dir.write("asynclint.toml", "[[offload]]\npaths = [\"app::pool::run_on_pool\"]\n");
    assert!(find(&dir.findings(&[]), BLOCKING).is_empty());
}

// ---- discovery and precedence ------------------------------------------------------------------

#[test]
fn the_config_is_found_from_a_subfolder() {
    let dir = TestDir::project("discovery");
    dir.write("asynclint.toml", "select = [\"sync-lock-across-await\"]\n");
    // Checking `src` from inside it: the config is one folder up.
    let run = dir.run_in("src", &["check", "--format", "json", "--exit-zero"]);
    assert_eq!(rules_of(&run.findings()), vec![LOCK], "{run}");
    // Checking the file `src/lib.rs` from the root.
    assert_eq!(rules_of(&dir.findings(&["src/lib.rs"])), vec![LOCK]);
}

#[test]
fn a_hidden_config_file_is_found_and_the_plain_one_comes_first() {
    let dir = TestDir::project("hidden");
    dir.write(".asynclint.toml", "select = [\"block-on-in-async\"]\n");
    assert_eq!(rules_of(&dir.findings(&[])), vec![BLOCK_ON]);
    dir.write("asynclint.toml", "select = [\"sync-lock-across-await\"]\n");
    assert_eq!(rules_of(&dir.findings(&[])), vec![LOCK]);
}

#[test]
fn the_nearest_config_wins() {
    let dir = TestDir::project("nearest");
    dir.write("asynclint.toml", "select = [\"block-on-in-async\"]\n");
    dir.write("inner/Cargo.toml", &MANIFEST.replace("app", "inner")).write("inner/src/lib.rs", THREE);
    dir.write("inner/asynclint.toml", "select = [\"sync-lock-across-await\"]\n");
    assert_eq!(rules_of(&dir.findings(&["inner"])), vec![LOCK]);
    dir.remove("inner/asynclint.toml");
    assert_eq!(rules_of(&dir.findings(&["inner"])), vec![BLOCK_ON]);
}

#[test]
fn cargo_metadata_tables_are_read() {
    let dir = TestDir::project("metadata");
    dir.write("Cargo.toml", &format!("{MANIFEST}\n[package.metadata.asynclint]\nselect = [\"block-on-in-async\"]\n"));
    assert_eq!(rules_of(&dir.findings(&[])), vec![BLOCK_ON]);
    // A workspace's table serves its members, whose own manifests have none.
    let ws = TestDir::new("workspace-metadata");
    ws.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\n\n[workspace.metadata.asynclint]\nignore = [\"blocking-call-in-async\"]\n",
    );
    ws.write("crates/member/Cargo.toml", &MANIFEST.replace("app", "member")).write("crates/member/src/lib.rs", THREE);
    assert_eq!(rules_of(&ws.findings(&[])), vec![BLOCK_ON, LOCK]);
    assert_eq!(rules_of(&ws.findings(&["crates/member"])), vec![BLOCK_ON, LOCK]);
    // An asynclint.toml beside the manifest comes first.
    ws.write("asynclint.toml", "select = [\"sync-lock-across-await\"]\n");
    assert_eq!(rules_of(&ws.findings(&[])), vec![LOCK]);
}

#[test]
fn the_config_flag_overrides_discovery() {
    let dir = TestDir::project("config-flag");
    dir.write("asynclint.toml", "select = [\"block-on-in-async\"]\n");
    dir.write("ci/strict.toml", "select = [\"sync-lock-across-await\"]\n");
    assert_eq!(rules_of(&dir.findings(&["--config", "ci/strict.toml"])), vec![LOCK]);
    // A Cargo.toml given to --config is read for its table.
    dir.write(
        "other/Cargo.toml",
        &format!("{MANIFEST}\n[package.metadata.asynclint]\nselect = [\"blocking-call-in-async\"]\n"),
    );
    assert_eq!(rules_of(&dir.findings(&["--config", "other/Cargo.toml"])), vec![BLOCKING]);
    // ... and the flag still loses to --select.
    assert_eq!(
        rules_of(&dir.findings(&["--config", "ci/strict.toml", "--select", "block-on-in-async"])),
        vec![BLOCK_ON]
    );
    let run = dir.run(&["check", "--config", "missing.toml"]);
    run.assert_code(2);
    assert!(run.stderr.contains("missing.toml") && run.stderr.contains("cannot read"), "{run}");
    let run = dir.run(&["check", "--config", "Cargo.toml"]);
    run.assert_code(2);
    assert!(run.stderr.contains("has no [workspace.metadata.asynclint]"), "{run}");
}

// ---- bad configuration ---------------------------------------------------------------------------

/// Runs `check` with `text` as the config file `name` and returns its standard error, checking
/// exit code 2 and that the message names the file, the key and the line.
#[track_caller]
fn bad_config(name: &str, text: &str, key: &str, line: u32, says: &str) -> String {
    let dir = TestDir::project("bad-config");
    dir.write(name, text);
    let run = dir.run(&["check"]);
    run.assert_code(2);
    let first = run.stderr.lines().next().unwrap_or("");
    assert!(first.starts_with(&format!("error: invalid configuration in {name}, line {line},")), "{run}");
    if key.is_empty() {
        assert!(!first.contains("key `"), "{run}");
    } else {
        assert!(first.contains(&format!("key `{key}`")), "{run}");
    }
    assert!(first.contains(says), "expected `{says}`\n{run}");
    assert!(run.stdout.is_empty(), "{run}");
    run.stderr.clone()
}

#[test]
fn a_bad_config_names_the_file_the_key_and_the_line() {
    bad_config(
        "asynclint.toml",
        "fail-on = \"high\"\nselect = [\n  \"blocking-call-in-async\",\n  \"blocking-in-async\",\n]\n",
        "select",
        4,
        "unknown rule `blocking-in-async`",
    );
    bad_config("asynclint.toml", "\n# comment\nselct = [\"a\"]\n", "selct", 3, "unknown field `selct`");
    bad_config("asynclint.toml", "ignore = 3\n", "ignore", 1, "invalid type: integer `3`, expected a sequence");
    bad_config("asynclint.toml", "require-reason = \"yes\"\n", "require-reason", 1, "expected a boolean");
    bad_config(
        "asynclint.toml",
        "\nfail-on = \"low\"\n",
        "fail-on",
        2,
        "expected \"critical\", \"high\" or \"medium\"",
    );
    bad_config(
        "asynclint.toml",
        "[severity]\nblock-on-in-async = \"severe\"\n",
        "severity.block-on-in-async",
        2,
        "\"severe\"",
    );
    bad_config("asynclint.toml", "[severity]\nno-such-rule = \"high\"\n", "severity.no-such-rule", 2, "unknown rule");
    bad_config(
        "asynclint.toml",
        "[per-path-ignores]\n\"tests/**\" = [\"blocking-call-in-async\", \"nope\"]\n",
        "per-path-ignores.\"tests/**\"",
        2,
        "unknown rule `nope`",
    );
    bad_config(
        "asynclint.toml",
        "[per-path-ignores]\n\"tests/[\" = []\n",
        "per-path-ignores.\"tests/[\"",
        2,
        "bad glob",
    );
    bad_config(
        "asynclint.toml",
        "[[blocking-api]]\npaths = [\"a::b\"]\n\n[[blocking-api]]\npaths = [\"c::d\"]\nseverity = \"hi\"\n",
        "blocking-api[1].severity",
        6,
        "unknown variant `hi`",
    );
    bad_config(
        "asynclint.toml",
        "[[blocking-api]]\npath = [\"a::b\"]\n",
        "blocking-api[0].path",
        2,
        "unknown field `path`",
    );
    bad_config("asynclint.toml", "[[blocking-api]]\nhelp = \"x\"\n", "blocking-api[0]", 1, "needs `paths");
    bad_config(
        "asynclint.toml",
        "[[offload]]\npaths = [\"crate::pool::run\"]\n",
        "offload[0]",
        1,
        "start the path with the crate's name",
    );
    bad_config(".asynclint.toml", "fail-on = \"high\"\nselect = [\"a\" \"b\"]\n", "", 2, "invalid array");
    bad_config(
        "Cargo.toml",
        &format!("{MANIFEST}\n[package.metadata.asynclint]\nignore = [\"blocking-call-in-async\"]\nfail-on = 1\n"),
        "package.metadata.asynclint.fail-on",
        8,
        "invalid type: integer `1`",
    );
    bad_config(
        "Cargo.toml",
        &format!("{MANIFEST}\n[package.metadata.asynclint]\nignore = [\"nope\"]\n"),
        "package.metadata.asynclint.ignore",
        7,
        "unknown rule `nope`",
    );
}

#[test]
fn a_toml_syntax_error_names_the_line_and_shows_it() {
    let dir = TestDir::project("syntax");
    dir.write("asynclint.toml", "select = [\"blocking-call-in-async\"]\nignore = [\"x\"\n[severity]\n");
    let run = dir.run(&["check"]);
    run.assert_code(2);
    assert!(run.stderr.starts_with("error: invalid configuration in asynclint.toml, line 3,"), "{run}");
    assert!(run.stderr.contains("  3 | [severity]"), "{run}");
}

// ---- inline suppressions -------------------------------------------------------------------------

/// `THREE` with `edit` applied, as `src/lib.rs`; the findings.
fn with_source(dir: &TestDir, source: &str) -> Vec<(String, String, u64, String)> {
    dir.write("src/lib.rs", source);
    dir.findings(&[])
}

#[test]
fn a_directive_at_the_end_of_the_line_suppresses_it() {
    let dir = TestDir::project("same-line");
    let source = THREE
        .replace("from_millis(1));", "from_millis(1)); // asynclint: allow(blocking-call-in-async) -- warm-up only");
    let cache = dir.path.join("cache").to_string_lossy().into_owned();
    dir.write("src/lib.rs", &source);
    assert_eq!(rules_of(&dir.findings(&["--cache-dir", &cache])), vec![BLOCK_ON, LOCK]);
    assert!(dir.path.join("cache/facts.bin").is_file(), "the cache was not written");
    // The second run reads the file's facts, directives included, from the cache.
    assert_eq!(rules_of(&dir.findings(&["--cache-dir", &cache])), vec![BLOCK_ON, LOCK]);
}

#[test]
fn a_directive_on_the_line_above_suppresses_the_next_line_of_code() {
    let dir = TestDir::project("line-above");
    let source = THREE.replace(
        "    std::thread::sleep",
        "    // asynclint: allow(blocking-call-in-async) -- warm-up only\n    // (a plain comment in between)\n    std::thread::sleep",
    );
    assert_eq!(rules_of(&with_source(&dir, &source)), vec![BLOCK_ON, LOCK]);
    // A directive two lines of code above covers nothing.
    let source = THREE.replace(
        "pub async fn sleepy() {",
        "// asynclint: allow(blocking-call-in-async) -- too far away\npub async fn sleepy() {",
    );
    let found = with_source(&dir, &source);
    assert_eq!(rules_of(&found), vec![BLOCK_ON, BLOCKING, LOCK, UNUSED]);
    assert_eq!(find(&found, UNUSED)[0].2, 3);
}

#[test]
fn a_file_directive_suppresses_the_rule_in_the_whole_file() {
    let dir = TestDir::project("file-level");
    let source = format!("{THREE}\npub async fn again() {{\n    std::thread::sleep(std::time::Duration::from_millis(2));\n}}\n// asynclint: allow-file(blocking-call-in-async) -- a load-test harness\n");
    assert_eq!(rules_of(&with_source(&dir, &source)), vec![BLOCK_ON, LOCK]);
    // In another file it does nothing.
    dir.write("src/other.rs", "pub async fn f() {\n    std::thread::sleep(std::time::Duration::from_millis(2));\n}\n");
    dir.write("src/lib.rs", &format!("mod other;\n{source}"));
    let found = dir.findings(&[]);
    assert_eq!(find(&found, BLOCKING).iter().map(|f| f.1.as_str()).collect::<Vec<_>>(), vec!["src/other.rs"]);
}

#[test]
fn a_directive_with_several_ids_suppresses_each() {
    let dir = TestDir::project("several-ids");
    let source = THREE.replace(
        "    futures::executor::block_on(async {});",
        "    // asynclint: allow(block-on-in-async, blocking-call-in-async) -- a test helper\n    futures::executor::block_on(async { std::thread::sleep(std::time::Duration::from_millis(1)) });",
    );
    let without = with_source(&dir, &source.replace("asynclint:", "not-a-directive:"));
    assert_eq!(find(&without, BLOCKING).len(), 2, "{without:?}");
    let found = with_source(&dir, &source);
    // Only the sleep in `sleepy` is left of the blocking calls, and the directive is used.
    assert_eq!(rules_of(&found), vec![BLOCKING, LOCK]);
}

#[test]
fn unused_and_unknown_directives_are_reported() {
    let dir = TestDir::project("unused");
    let source = format!(
        "{THREE}
pub async fn clean() {{
    // asynclint: allow(blocking-call-in-async) -- was blocking once
    tokio::task::yield_now().await;
    tokio::task::yield_now().await; // asynclint: allow(blocking-in-async) -- typo
    tokio::task::yield_now().await; // asynclint: allow blocking-call-in-async
}}
// asynclint: allow-file(sync-lock-across-await, block-on-in-async) -- only one is used
"
    );
    let found = with_source(&dir, &source);
    let unused: Vec<u64> = find(&found, UNUSED).iter().map(|f| f.2).collect();
    assert_eq!(unused, vec![16, 18, 19], "{found:?}");
    assert_eq!(find(&found, UNUSED)[0].3, "medium");
    // The file directive suppressed both, so it is not reported: the lock and block_on are gone.
    assert_eq!(rules_of(&found), vec![BLOCKING, UNUSED, UNUSED, UNUSED]);
    let run = dir.run(&["check", "--format", "concise", "--exit-zero"]);
    assert!(run.stdout.contains("no `blocking-call-in-async` finding on line 17 to suppress"), "{run}");
    assert!(run.stdout.contains("unknown rule `blocking-in-async`"), "{run}");
    assert!(run.stdout.contains("cannot read this asynclint directive"), "{run}");
    // A file directive with one used and one unused id names the unused one.
    dir.write(
        "src/lib.rs",
        &format!(
            "{}// asynclint: allow-file(block-on-in-async, sync-lock-across-await) -- x\n",
            THREE.replace("    let g = m.lock().unwrap();\n", "    let g = 1;\n")
        ),
    );
    let run = dir.run(&["check", "--format", "concise", "--exit-zero"]);
    assert!(run.stdout.contains("no `sync-lock-across-await` finding in this file to suppress"), "{run}");
    assert!(!run.stdout.contains("no `block-on-in-async`"), "{run}");
}

#[test]
fn directives_for_rules_that_did_not_run_are_not_judged() {
    let dir = TestDir::project("not-run");
    let source = THREE.replace("from_millis(1));", "from_millis(1)); // asynclint: allow(blocking-call-in-async) -- x");
    dir.write("src/lib.rs", &source);
    assert_eq!(rules_of(&dir.findings(&["--select", "sync-lock-across-await,unused-suppression"])), vec![LOCK]);
    dir.write("asynclint.toml", "ignore = [\"blocking-call-in-async\"]\n");
    assert_eq!(rules_of(&dir.findings(&[])), vec![BLOCK_ON, LOCK]);
    // The rule itself can be ignored: an unknown id is then not reported either.
    dir.write("src/lib.rs", &source.replace("allow(blocking-call-in-async)", "allow(nope)"));
    dir.write("asynclint.toml", "");
    assert_eq!(rules_of(&dir.findings(&[])), vec![BLOCK_ON, BLOCKING, LOCK, UNUSED]);
    dir.write("asynclint.toml", "ignore = [\"unused-suppression\"]\n");
    assert_eq!(rules_of(&dir.findings(&[])), vec![BLOCK_ON, BLOCKING, LOCK]);
}

#[test]
fn require_reason_reports_directives_without_one() {
    let dir = TestDir::project("require-reason");
    let source =
        THREE.replace("from_millis(1));", "from_millis(1)); // asynclint: allow(blocking-call-in-async)").replace(
            "    let g = m.lock()",
            "    // asynclint: allow(sync-lock-across-await) -- never contended\n    let g = m.lock()",
        );
    dir.write("src/lib.rs", &source);
    assert_eq!(rules_of(&dir.findings(&[])), vec![BLOCK_ON]);
    dir.write("asynclint.toml", "require-reason = true\n");
    let found = dir.findings(&[]);
    // The directive still suppresses; it is reported for the missing reason.
    assert_eq!(rules_of(&found), vec![BLOCK_ON, UNUSED]);
    assert_eq!(find(&found, UNUSED)[0].2, 4);
    let run = dir.run(&["check", "--format", "concise", "--exit-zero"]);
    assert!(run.stdout.contains("no reason given"), "{run}");
}

#[test]
fn text_that_only_looks_like_a_directive_does_nothing() {
    let dir = TestDir::project("look-alike");
    let source = THREE.replace(
        "    std::thread::sleep(Duration::from_millis(1));",
        "    let _s = \"// asynclint: allow(blocking-call-in-async)\"; std::thread::sleep(Duration::from_millis(1));",
    );
    assert_eq!(rules_of(&with_source(&dir, &source)), vec![BLOCK_ON, BLOCKING, LOCK]);
}

// ---- --statistics --------------------------------------------------------------------------------

#[test]
fn statistics_print_one_row_per_rule_and_the_totals() {
    let dir = TestDir::project("statistics");
    let source = format!("{THREE}pub async fn again() {{\n    std::thread::sleep(Duration::from_millis(2));\n}}\n");
    dir.write("src/lib.rs", &source);
    let run = dir.run(&["check", "--statistics"]);
    run.assert_code(1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{run}");
    let cols = |l: &str| l.split_whitespace().take(3).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(cols(lines[0]), vec!["2", BLOCKING, "critical"], "{run}");
    assert_eq!(cols(lines[1]), vec!["1", BLOCK_ON, "critical"], "{run}");
    assert_eq!(cols(lines[2]), vec!["1", LOCK, "high"], "{run}");
    assert!(lines[0].ends_with("in async code, directly or through sync helpers"), "{run}");
    assert_eq!(lines[3], "Found 4 findings (3 critical, 1 high) in 1 of 1 file.");
    assert!(!run.stdout.contains("src/lib.rs"), "statistics replace the findings\n{run}");
    // Severity overrides show, and concise prints the same table.
    dir.write("asynclint.toml", "[severity]\nsync-lock-across-await = \"medium\"\n");
    let concise = dir.run(&["check", "--statistics", "--format", "concise"]);
    assert!(concise.stdout.lines().nth(2).is_some_and(|l| cols(l) == vec!["1", LOCK, "medium"]), "{concise}");
    let json = dir.run(&["check", "--statistics", "--format", "json"]);
    let rows: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(rows[0]["rule"], BLOCKING);
    assert_eq!(rows[0]["count"], 2);
    assert_eq!(rows[2]["severity"], "medium");
    dir.run(&["check", "--statistics", "--format", "sarif"]).assert_code(2);
}

// ---- the docs cannot lie ---------------------------------------------------------------------------

fn fenced<'a>(doc: &'a str, lang: &str) -> Vec<&'a str> {
    let open = format!("```{lang}\n");
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(i) = rest.find(&open) {
        let body = &rest[i + open.len()..];
        let Some(end) = body.find("\n```") else { break };
        out.push(&body[..end + 1]);
        rest = &body[end + 4..];
    }
    out
}

fn root_file(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

#[test]
fn every_toml_example_in_the_docs_is_a_valid_config() {
    let guide = root_file("docs/configuration.md");
    let readme = root_file("README.md");
    let section = readme.split("## Configuration and suppressions").nth(1).expect("README has the section");
    let blocks: Vec<&str> =
        fenced(&guide, "toml").into_iter().chain(fenced(section.split("\n## ").next().unwrap(), "toml")).collect();
    assert!(blocks.len() >= 10, "only {} toml blocks", blocks.len());
    for block in blocks {
        if block.contains("metadata.asynclint") {
            let config = asynclint::config::Config::from_manifest("Cargo.toml", block);
            assert!(matches!(config, Ok(Some(_))), "{config:?}\n{block}");
        } else {
            let config = asynclint::config::Config::parse("asynclint.toml", block);
            assert!(config.is_ok(), "{:?}\n{block}", config.err());
        }
    }
}

#[test]
fn the_suppression_example_in_the_guide_suppresses_everything_it_says() {
    let guide = root_file("docs/configuration.md");
    let section = guide.split("## Inline suppressions").nth(1).unwrap();
    let code = fenced(section, "rust")[0];
    let dir = TestDir::project("guide-example");
    dir.write("src/lib.rs", code);
    assert_eq!(dir.findings(&[]), vec![]);
    // Without the directives, each would be reported.
    dir.write("src/lib.rs", &code.replace("asynclint:", "not-asynclint:"));
    assert_eq!(rules_of(&dir.findings(&[])), vec![BLOCK_ON, BLOCKING, BLOCKING, BLOCKING, LOCK]);
}
