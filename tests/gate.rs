//! The CI gate, end to end: baselines (`--generate-baseline`, `--baseline`, `--prune-baseline`),
//! branch review (`check --new-from-rev`, `--whole-files`, `review --base`) on real git
//! repositories made in the temp dir, `cargo asynclint` against `asynclint`, and the CI files at
//! the repository root. Each test owns its folder and removes it when done.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_asynclint");
const CARGO_BIN: &str = env!("CARGO_BIN_EXE_cargo-asynclint");
const DATE: &str = "2026-01-15";

// ---- harness -------------------------------------------------------------------------------------

/// A folder of its own under the temp dir, removed on drop (also when the test fails).
struct Dir {
    path: PathBuf,
}

impl Dir {
    fn new(test: &str) -> Dir {
        let path = std::env::temp_dir().join(format!("asynclint-gate-{}-{test}", std::process::id()));
        if path.symlink_metadata().is_ok() {
            std::fs::remove_dir_all(&path).unwrap();
        }
        std::fs::create_dir_all(&path).unwrap();
        // Canonical, so that paths git prints and paths we compare agree (macOS: /var -> /private/var).
        Dir { path: path.canonicalize().unwrap() }
    }

    /// A git repository on branch `main` with one package `p` at `pkg` ("" for the top level),
    /// nothing committed yet.
    fn repo(test: &str, pkg: &str) -> Dir {
        let dir = Dir::new(test);
        dir.git(&["init", "-q"]);
        dir.git(&["symbolic-ref", "HEAD", "refs/heads/main"]);
        dir.write(&join(pkg, "Cargo.toml"), "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
        dir
    }

    fn join(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    fn write(&self, rel: &str, contents: &str) -> &Dir {
        let path = self.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
    }

    /// Runs git in this folder with a fixed identity; the test fails if git does.
    #[track_caller]
    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(&self.path)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run git");
        assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[track_caller]
    fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    /// Runs `asynclint <args>` in the folder `rel` of this one.
    fn run(&self, rel: &str, args: &[&str]) -> Out {
        run(BIN, &self.join(rel), args)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

struct Out {
    args: Vec<String>,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    #[track_caller]
    fn code(&self, expected: i32) -> &Out {
        assert_eq!(self.code, expected, "unexpected exit code\n{self}");
        self
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{self}"))
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?}\nexit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `bin args..` in `cwd` with a fixed environment. Git discovery stops at the temp dir, so a
/// folder there is never taken for part of a repository around it.
fn run(bin: &str, cwd: &Path, args: &[&str]) -> Out {
    let out = Command::new(bin)
        // The default cache folder (`target/asynclint/` of the checked project), whatever the
        // developer has set.
        .env_remove("ASYNCLINT_CACHE_DIR")
        .args(args)
        .current_dir(cwd)
        .env_remove("ASYNCLINT_FORMAT")
        .env_remove("NO_COLOR")
        .env_remove("SOURCE_DATE_EPOCH")
        .env("GIT_CEILING_DIRECTORIES", ceiling())
        .env("COLUMNS", "100")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    Out {
        args: std::iter::once(bin).chain(args.iter().copied()).map(str::to_string).collect(),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ceiling() -> PathBuf {
    std::env::temp_dir().canonicalize().unwrap()
}

/// An async fn `name` whose body makes a blocking call (a critical `blocking-call-in-async`).
fn blocking(name: &str) -> String {
    format!("pub async fn {name}() {{\n    std::thread::sleep(std::time::Duration::from_millis(1));\n}}\n")
}

/// The same fn, fixed.
fn fixed(name: &str) -> String {
    format!("pub async fn {name}() {{\n    tokio::time::sleep(std::time::Duration::from_millis(1)).await;\n}}\n")
}

/// `(path, function)` of every finding of a `--format json` report, in report order.
fn sites(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .expect("`findings` is an array")
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f["function"].as_str().unwrap().to_string()))
        .collect()
}

fn site(path: &str, function: &str) -> (String, String) {
    (path.to_string(), function.to_string())
}

/// A repository whose `main` has `old_handler` (blocking) in src/lib.rs and a blocking
/// `untouched` in src/other.rs, and a checked-out branch `feature` that adds `new_handler`
/// (blocking) to src/lib.rs, after `main` has moved on by fixing `old_handler` there. Against the
/// tip of `main`, `old_handler` would look added by the branch; against the merge base it is not.
fn branch_repo(test: &str) -> Dir {
    let repo = Dir::repo(test, "");
    repo.write("src/lib.rs", &format!("mod other;\n\n{}", blocking("old_handler")));
    repo.write("src/other.rs", &blocking("untouched"));
    repo.commit_all("main");
    repo.git(&["branch", "feature"]);
    repo.write("src/lib.rs", &format!("mod other;\n\n{}", fixed("old_handler")));
    repo.commit_all("fix old_handler on main");
    repo.git(&["checkout", "-q", "feature"]);
    repo.write("src/lib.rs", &format!("mod other;\n\n{}\n{}", blocking("old_handler"), blocking("new_handler")));
    repo.commit_all("feature");
    repo
}

// ---- baseline ------------------------------------------------------------------------------------

#[test]
fn baseline_hides_known_findings_and_reports_only_new_ones() {
    let dir = Dir::repo("baseline_new", "");
    dir.write("src/lib.rs", &blocking("known"));
    let generated = dir.run("", &["check", "--generate-baseline", "asynclint-baseline.json"]);
    generated.code(0);
    assert_eq!(generated.stdout, "", "generating prints no report\n{generated}");
    assert!(generated.stderr.contains("wrote 1 finding to asynclint-baseline.json"), "{generated}");

    let file: Value = serde_json::from_str(&dir.read("asynclint-baseline.json")).unwrap();
    assert_eq!(file["version"], 1);
    let entries = file["findings"].as_object().expect("findings keyed by fingerprint");
    assert_eq!(entries.len(), 1, "{file:#}");
    let (fingerprint, entry) = entries.iter().next().unwrap();
    assert_eq!(fingerprint.len(), 16, "{file:#}");
    assert_eq!(entry["rule"], "blocking-call-in-async");
    assert_eq!(entry["path"], "src/lib.rs");
    assert_eq!(entry["function"], "crate::known");
    assert_eq!(entry["count"], 1);
    assert!(entry["message"].as_str().unwrap().contains("std::thread::sleep"), "{file:#}");
    assert!(entry.get("line").is_none(), "no line numbers in a baseline: {file:#}");

    // Nothing new: clean, and the human formats say what the baseline hid.
    let clean = dir.run("", &["check", "--format", "concise", "--baseline", "asynclint-baseline.json"]);
    clean.code(0);
    assert!(clean.stdout.contains("No findings"), "{clean}");
    assert!(clean.stderr.contains("1 known finding hidden by baseline"), "{clean}");

    // The known finding moves down (no longer line 2) and a new one arrives: only the new one fails.
    dir.write("src/lib.rs", &format!("// moved\n\n\n{}\n{}", blocking("known"), blocking("fresh")));
    let gated = dir.run("", &["check", "--format", "json", "--baseline", "asynclint-baseline.json"]);
    gated.code(1);
    let report = gated.json();
    assert_eq!(sites(&report), vec![site("src/lib.rs", "crate::fresh")], "{gated}");
    assert_eq!(report["summary"]["findings"], 1);
    assert_eq!(report["baseline"], serde_json::json!({"unmatched": []}), "{gated}");

    // Without a baseline the documented schema is unchanged: no `baseline` key.
    let plain = dir.run("", &["check", "--format", "json"]).json();
    assert!(plain.get("baseline").is_none(), "{plain:#}");
    assert_eq!(sites(&plain).len(), 2);

    // --exit-zero and --fail-on still judge what is left after the baseline.
    dir.run("", &["check", "--baseline", "asynclint-baseline.json", "--exit-zero"]).code(0);
    dir.run("", &["check", "--baseline", "asynclint-baseline.json", "--fail-on", "high"]).code(1);
}

#[test]
fn stale_baseline_entries_are_listed_and_pruned() {
    let dir = Dir::repo("baseline_prune", "");
    dir.write("src/lib.rs", &format!("{}\n{}", blocking("stays"), blocking("gets_fixed")));
    dir.run("", &["check", "--generate-baseline", "bl.json"]).code(0);
    let before = dir.read("bl.json");
    let file: Value = serde_json::from_str(&before).unwrap();
    let fixed_fp = file["findings"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, e)| e["function"] == "crate::gets_fixed")
        .map(|(fp, _)| fp.clone())
        .expect("entry for gets_fixed");

    dir.write("src/lib.rs", &format!("{}\n{}", blocking("stays"), fixed("gets_fixed")));
    let human = dir.run("", &["check", "--format", "concise", "--baseline", "bl.json"]);
    human.code(0);
    assert!(human.stderr.contains("1 baseline entry in bl.json no longer match"), "{human}");
    assert!(human.stderr.contains("--prune-baseline"), "{human}");
    assert!(human.stderr.contains(&fixed_fp) && human.stderr.contains("crate::gets_fixed"), "{human}");
    assert!(!human.stderr.contains("crate::stays"), "a matched entry is not stale\n{human}");

    let json = dir.run("", &["check", "--format", "json", "--baseline", "bl.json"]);
    json.code(0);
    let unmatched = json.json()["baseline"]["unmatched"].clone();
    assert_eq!(unmatched.as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(unmatched[0]["fingerprint"], fixed_fp.as_str());
    assert_eq!(unmatched[0]["function"], "crate::gets_fixed");
    assert_eq!(unmatched[0]["count"], 1);
    assert!(json.stderr.is_empty(), "JSON carries the list; stderr stays quiet\n{json}");
    assert_eq!(dir.read("bl.json"), before, "listing never rewrites the file");

    let pruned = dir.run("", &["check", "--format", "concise", "--baseline", "bl.json", "--prune-baseline"]);
    pruned.code(0);
    assert!(pruned.stderr.contains("removed 1 baseline entry"), "{pruned}");
    let after: Value = serde_json::from_str(&dir.read("bl.json")).unwrap();
    let left: Vec<&str> =
        after["findings"].as_object().unwrap().values().map(|e| e["function"].as_str().unwrap()).collect();
    assert_eq!(left, vec!["crate::stays"], "{after:#}");

    let again = dir.run("", &["check", "--format", "concise", "--baseline", "bl.json"]);
    again.code(0);
    assert!(!again.stderr.contains("no longer match"), "{again}");

    // The fixed call coming back is new again: the file only shrinks.
    dir.write("src/lib.rs", &format!("{}\n{}", blocking("stays"), blocking("gets_fixed")));
    let back = dir.run("", &["check", "--format", "json", "--baseline", "bl.json"]);
    back.code(1);
    assert_eq!(sites(&back.json()), vec![site("src/lib.rs", "crate::gets_fixed")], "{back}");
}

#[test]
fn unusable_baselines_are_errors() {
    let dir = Dir::repo("baseline_errors", "");
    dir.write("src/lib.rs", &blocking("f"));
    let missing = dir.run("", &["check", "--baseline", "nope.json"]);
    missing.code(2);
    assert!(missing.stderr.contains("error: cannot read baseline nope.json"), "{missing}");

    dir.write("corrupt.json", "{\"version\": 1, \"findings\": ");
    let corrupt = dir.run("", &["check", "--baseline", "corrupt.json"]);
    corrupt.code(2);
    assert!(corrupt.stderr.contains("cannot use baseline corrupt.json: not valid JSON"), "{corrupt}");

    dir.write("future.json", "{\"version\": 2, \"findings\": {}}");
    let future = dir.run("", &["check", "--baseline", "future.json"]);
    future.code(2);
    assert!(future.stderr.contains("version 2 is not supported"), "{future}");

    let no_baseline = dir.run("", &["check", "--prune-baseline"]);
    no_baseline.code(2);
    assert!(no_baseline.stderr.contains("--baseline"), "{no_baseline}");

    let both = dir.run("", &["check", "--baseline", "a.json", "--generate-baseline", "b.json"]);
    both.code(2);
    assert!(!dir.join("b.json").exists(), "{both}");
}

// ---- branch review -------------------------------------------------------------------------------

#[test]
fn new_from_rev_keeps_only_the_branchs_findings() {
    let repo = branch_repo("new_from_rev");
    let all = repo.run("", &["check", "--format", "json"]);
    all.code(1);
    assert_eq!(sites(&all.json()).len(), 3, "the whole workspace has three findings\n{all}");

    let new = repo.run("", &["check", "--format", "json", "--new-from-rev", "main"]);
    new.code(1);
    assert_eq!(sites(&new.json()), vec![site("src/lib.rs", "crate::new_handler")], "{new}");

    // Nothing new on the branch: the gate passes although old findings remain.
    repo.write("src/lib.rs", &format!("mod other;\n\n{}", blocking("old_handler")));
    let clean = repo.run("", &["check", "--format", "concise", "--new-from-rev", "main"]);
    clean.code(0);
    assert!(clean.stdout.contains("No findings"), "{clean}");
}

#[test]
fn uncommitted_and_untracked_changes_count_as_the_branchs() {
    let repo = branch_repo("uncommitted");
    // An unstaged edit in a tracked file, a staged new file, and an untracked file no crate reaches.
    repo.write("src/other.rs", &format!("{}\n{}", blocking("untouched"), blocking("edited")));
    repo.write("src/staged.rs", &blocking("staged"));
    repo.git(&["add", "src/staged.rs"]);
    repo.write("src/untracked file.rs", &blocking("untracked"));
    // Ignored files are neither walked nor part of the change.
    repo.write(".gitignore", "ignored.rs\n");
    repo.write("src/ignored.rs", &blocking("ignored"));
    let out = repo.run("", &["check", "--format", "json", "--new-from-rev", "main"]);
    out.code(1);
    let mut got = sites(&out.json());
    got.sort();
    assert_eq!(
        got,
        vec![
            site("src/lib.rs", "crate::new_handler"),
            site("src/other.rs", "crate::other::edited"),
            site("src/staged.rs", "crate::staged"),
            site("src/untracked file.rs", "crate::untracked"),
        ],
        "{out}"
    );
}

#[test]
fn whole_files_widens_to_every_finding_in_a_changed_file() {
    let repo = branch_repo("whole_files");
    let out = repo.run("", &["check", "--format", "json", "--new-from-rev", "main", "--whole-files"]);
    out.code(1);
    assert_eq!(
        sites(&out.json()),
        vec![site("src/lib.rs", "crate::old_handler"), site("src/lib.rs", "crate::new_handler")],
        "src/other.rs did not change\n{out}"
    );
    let needs_rev = repo.run("", &["check", "--whole-files"]);
    needs_rev.code(2);
    assert!(needs_rev.stderr.contains("--new-from-rev"), "{needs_rev}");
}

#[test]
fn renamed_files_and_names_with_spaces() {
    let repo = Dir::repo("renames", "");
    repo.write("src/lib.rs", "#[path = \"old name.rs\"]\nmod moved;\n");
    repo.write("src/old name.rs", &format!("{}\n{}", blocking("kept"), fixed("grown")));
    repo.commit_all("main");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.git(&["mv", "src/old name.rs", "src/new name.rs"]);
    repo.write("src/lib.rs", "#[path = \"new name.rs\"]\nmod moved;\n");
    repo.write("src/new name.rs", &format!("{}\n{}", blocking("kept"), blocking("grown")));
    repo.commit_all("rename and edit");
    let out = repo.run("", &["check", "--format", "json", "--new-from-rev", "main"]);
    out.code(1);
    assert_eq!(sites(&out.json()), vec![site("src/new name.rs", "crate::moved::grown")], "{out}");
    let whole = repo.run("", &["check", "--format", "json", "--new-from-rev", "main", "--whole-files"]);
    assert_eq!(sites(&whole.json()).len(), 2, "{whole}");
}

#[test]
fn review_base_writes_a_review_of_the_new_finding_only() {
    let repo = Dir::repo("review_base", "");
    repo.write("src/lib.rs", &format!("mod feature;\n\n{}", blocking("old_handler")));
    repo.write("src/feature.rs", "");
    repo.commit_all("main");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("src/feature.rs", &blocking("new_handler"));
    repo.commit_all("feature");

    let out = repo.run("", &["review", "--base", "main", "--date", DATE, "-o", "review.md"]);
    out.code(1);
    let md = repo.read("review.md");
    let title = md.lines().next().unwrap();
    assert!(title.contains("`feature` Branch") && title.contains("changes since `main`"), "{title}");
    assert!(md.contains("**Base**: `main`"), "{md}");
    assert!(md.contains("identified **1 critical issue**"), "{md}");
    assert!(md.contains("new_handler") && md.contains("src/feature.rs"), "{md}");
    assert!(!md.contains("old_handler"), "the finding main already had is not reviewed\n{md}");

    // `--new-from-rev` is the same flag under `review`; without it, both findings are reviewed.
    let alias = repo.run("", &["review", "--new-from-rev", "main", "--date", DATE]);
    assert_eq!(alias.stdout, md, "{alias}");
    let whole = repo.run("", &["review", "--date", DATE]);
    assert!(whole.stdout.contains("old_handler") && !whole.stdout.contains("changes since"), "{whole}");
}

#[test]
fn checked_root_in_a_subfolder_of_the_repository() {
    let repo = Dir::repo("subfolder", "crates/app");
    repo.write("crates/app/src/lib.rs", &format!("mod more;\n\n{}", blocking("old_handler")));
    repo.write("crates/app/src/more.rs", "");
    repo.write("crates/other/Cargo.toml", "[package]\nname = \"other\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    repo.write("crates/other/src/lib.rs", "");
    repo.commit_all("main");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    // The same relative path in the sibling crate changes too: it must not leak into app's filter.
    repo.write("crates/other/src/lib.rs", &blocking("sibling"));
    repo.write("crates/app/src/more.rs", &format!("\n\n\n{}", blocking("new_handler")));
    repo.commit_all("feature");

    let expected = vec![site("src/more.rs", "crate::more::new_handler")];
    for (cwd, args) in [
        ("", vec!["check", "crates/app", "--format", "json", "--new-from-rev", "main"]),
        ("crates/app", vec!["check", "--format", "json", "--new-from-rev", "main"]),
        ("crates/app/src", vec!["check", "..", "--format", "json", "--new-from-rev", "main"]),
    ] {
        let out = repo.run(cwd, &args);
        out.code(1);
        assert_eq!(sites(&out.json()), expected, "in {cwd:?}\n{out}");
    }
    // The old finding's line in the sibling's file name (src/lib.rs, line 4) is not a change of app's.
    repo.write("crates/other/src/lib.rs", &format!("\n\n\n{}", blocking("sibling")));
    repo.write("crates/app/src/lib.rs", &format!("mod more;\n\n{}", blocking("old_handler")));
    let out = repo.run("crates/app", &["check", "--format", "json", "--new-from-rev", "main"]);
    assert_eq!(sites(&out.json()), expected, "{out}");
    // A single file named from elsewhere maps onto the repository too.
    let file = repo.join("crates/app/src/more.rs");
    let out = run(BIN, &ceiling(), &["check", file.to_str().unwrap(), "--format", "json", "--new-from-rev", "main"]);
    out.code(1);
    assert_eq!(sites(&out.json()).len(), 1, "{out}");
}

#[test]
fn not_a_repository_or_an_unknown_revision_is_an_error() {
    let dir = Dir::new("not_a_repo");
    dir.write("Cargo.toml", "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    dir.write("src/lib.rs", &blocking("f"));
    let out = dir.run("", &["check", "--new-from-rev", "main"]);
    out.code(2);
    assert!(out.stderr.contains("needs a git repository"), "{out}");
    assert_eq!(out.stdout, "", "no report on a usage error\n{out}");

    let review = dir.run("", &["review", "--base", "main"]);
    review.code(2);
    assert!(review.stderr.contains("needs a git repository"), "{review}");

    let repo = branch_repo("unknown_rev");
    let unknown = repo.run("", &["check", "--new-from-rev", "no-such-branch"]);
    unknown.code(2);
    assert!(unknown.stderr.contains("unknown git revision `no-such-branch`"), "{unknown}");
    let option = repo.run("", &["check", "--new-from-rev=--output=x"]);
    option.code(2);
    assert!(option.stderr.contains("`--output=x` is not a git revision"), "{option}");
    assert!(!repo.join("x").exists(), "a revision is never passed to git as an option\n{option}");
}

// ---- cargo asynclint -----------------------------------------------------------------------------

#[test]
fn cargo_asynclint_prints_the_same_bytes_as_asynclint() {
    let repo = branch_repo("cargo_parity");
    let cwd = repo.join("");
    let cases: [&[&str]; 6] = [
        &["check", "--format", "json"],
        &["check", "--format", "concise", "--new-from-rev", "main"],
        &["check", "--format", "full", "--color", "never"],
        &["check", "--format", "sarif", "--fail-on", "critical"],
        &["review", "--base", "main", "--date", DATE],
        &["check", "--select", "no-such-rule"],
    ];
    for args in cases {
        let plain = run(BIN, &cwd, args);
        let mut with_name = vec!["asynclint"];
        with_name.extend_from_slice(args);
        let cargo = run(CARGO_BIN, &cwd, &with_name);
        assert_eq!((cargo.code, &cargo.stdout, &cargo.stderr), (plain.code, &plain.stdout, &plain.stderr), "{cargo}");
        assert!(plain.code == 1 || plain.code == 2, "{plain}");
        // Run by hand, without the subcommand's name, it behaves the same.
        let direct = run(CARGO_BIN, &cwd, args);
        assert_eq!((direct.code, &direct.stdout), (plain.code, &plain.stdout), "{direct}");
    }
    let help = run(CARGO_BIN, &cwd, &["asynclint", "check", "--help"]);
    help.code(0);
    assert!(help.stdout.contains("Usage: cargo asynclint check"), "{help}");
}

#[test]
fn cargo_finds_the_subcommand_on_the_path() {
    let repo = branch_repo("cargo_subcommand");
    let bin_dir = Path::new(CARGO_BIN).parent().unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin_dir.to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(&cargo)
        .env_remove("ASYNCLINT_CACHE_DIR")
        .args(["asynclint", "check", "--format", "concise", "--new-from-rev", "main"])
        .current_dir(repo.join(""))
        .env("PATH", path)
        // Cargo looks in $CARGO_HOME/bin before PATH; an installed asynclint there must not answer.
        .env("CARGO_HOME", repo.join("cargo-home"))
        .env_remove("ASYNCLINT_FORMAT")
        .env("GIT_CEILING_DIRECTORIES", ceiling())
        .stdin(Stdio::null())
        .output()
        .expect("cannot run cargo");
    let plain = repo.run("", &["check", "--format", "concise", "--new-from-rev", "main"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), plain.stdout);
    assert!(plain.stdout.contains("new_handler"), "{plain}");
}

// ---- CI files ------------------------------------------------------------------------------------

fn root_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The value of `key: value` lines, at any indentation, with quotes removed.
fn yaml_values(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start().trim_start_matches("- ");
            let v = l.strip_prefix(key)?.strip_prefix(':')?.trim();
            Some(v.trim_matches(|c| c == '"' || c == '\'').to_string())
        })
        .collect()
}

#[test]
fn pre_commit_hook_runs_the_gate_on_the_whole_crate() {
    let text = root_file(".pre-commit-hooks.yaml");
    assert!(!text.contains('\t'), "YAML forbids tabs for indentation");
    assert_eq!(yaml_values(&text, "id"), vec!["asynclint"]);
    assert_eq!(yaml_values(&text, "language"), vec!["rust"]);
    assert_eq!(yaml_values(&text, "entry"), vec!["asynclint check --format concise"]);
    assert_eq!(yaml_values(&text, "types"), vec!["[rust]"]);
    assert_eq!(yaml_values(&text, "pass_filenames"), vec!["false"]);
    assert_eq!(yaml_values(&text, "require_serial"), vec!["true"]);
}

#[test]
fn github_action_installs_from_source_and_runs_the_gate() {
    let text = root_file("action.yml");
    assert!(!text.contains('\t'), "YAML forbids tabs for indentation");
    assert_eq!(yaml_values(&text, "using"), vec!["composite"]);
    for input in ["args", "format", "fail-on", "sarif-file", "version"] {
        assert!(text.contains(&format!("\n  {input}:\n")), "input `{input}` missing");
    }
    assert!(
        text.contains("cargo install --locked --path \"$GITHUB_ACTION_PATH\""),
        "installs from the action's source"
    );
    assert!(!text.contains("releases/download"), "no prebuilt binaries");
    assert!(text.contains("\nbranding:\n") && text.contains("\noutputs:\n"), "branding and outputs");
    // Every `${{ inputs.x }}` names a declared input.
    for used in text.split("inputs.").skip(1) {
        let name: String = used.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        assert!(text.contains(&format!("\n  {name}:\n")), "`inputs.{name}` is not declared");
    }
    // Every shell step says which shell, as composite actions require.
    let runs = text.matches("\n      run:").count() + text.matches("\n        run:").count();
    let shells = text.matches("shell: bash").count();
    assert!(runs > 0 && shells >= runs, "{runs} run steps, {shells} with `shell: bash`");
}

#[test]
fn readme_ci_section_shows_each_integration() {
    let readme = root_file("README.md");
    let ci = readme.split("\n## CI").nth(1).expect("README has a `## CI` section");
    let ci = ci.split("\n## ").next().unwrap();
    for needle in [
        "--format github",
        "github/codeql-action/upload-sarif@v3",
        "security-events: write",
        "if: always()",
        "reviewdog",
        "codequality",
        ".pre-commit-config.yaml",
        "rust-analyzer.check.overrideCommand",
        "--format cargo-json",
        "--new-from-rev",
        "--baseline",
        "cargo asynclint",
        "fetch-depth: 0",
    ] {
        assert!(ci.contains(needle), "the README's CI section does not mention `{needle}`");
    }
}
