//! The Markdown review (`--format markdown`, `asynclint review`): a snapshot of the bundled
//! example, the structure every review must have, grouping by root cause, escaping of hostile
//! code, the review date, and the `review` subcommand. Update the snapshot with
//! `INSTA_UPDATE=always cargo test --test markdown` and review the diff.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use asynclint::findings::{Finding, Location, Severity};
use asynclint::report::markdown::{self, MarkdownContext};
use asynclint::Analysis;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_asynclint");
const DATE: &str = "2026-01-15";

// ---- harness -------------------------------------------------------------------------------------

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel)
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `asynclint <args>` in the temp dir with a clean environment plus `env`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(BIN);
    // The default cache folder (`target/asynclint/` of the checked project), whatever the
    // developer has set.
    cmd.env_remove("ASYNCLINT_CACHE_DIR");
    cmd.args(args)
        .current_dir(std::env::temp_dir())
        .env_remove("ASYNCLINT_FORMAT")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("cannot start asynclint");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn review_of(root: &Path) -> String {
    let out = run(&["check", "--format", "markdown", "--date", DATE, root.to_str().unwrap()], &[]);
    assert!(out.code == 0 || out.code == 1, "exit {}\n{}", out.code, out.stderr);
    out.stdout
}

fn findings_of(root: &Path) -> Vec<Value> {
    let out = run(&["check", "--format", "json", root.to_str().unwrap()], &[]);
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.stdout));
    v["findings"].as_array().unwrap().clone()
}

/// A folder of its own under the temp dir, removed on drop.
struct TestDir(PathBuf);

impl TestDir {
    fn new(name: &str) -> TestDir {
        let path = std::env::temp_dir().join(format!("asynclint-md-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        let dir = TestDir(path);
        dir.write("Cargo.toml", "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
        dir
    }

    fn write(&self, rel: &str, text: &str) -> &TestDir {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---- a naive reading of the review ---------------------------------------------------------------

/// Lines outside fenced code blocks, with the fences checked: each opening fence must be closed
/// by a line of at least as many backticks, and the document must not end inside a block.
fn prose_lines(md: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut open: Option<usize> = None;
    for line in md.lines() {
        let ticks = line.chars().take_while(|c| *c == '`').count();
        match open {
            None if ticks >= 3 => open = Some(ticks),
            None => out.push(line),
            Some(n) if ticks >= n && line.trim_end().chars().all(|c| c == '`') => open = None,
            Some(_) => {}
        }
    }
    assert!(open.is_none(), "the review ends inside a code block:\n{md}");
    out
}

/// The text of a line outside its code spans (a run of N backticks up to the next run of N).
fn outside_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '`' {
            let n = chars[i..].iter().take_while(|c| **c == '`').count();
            let mut j = i + n;
            let mut close = None;
            while j < chars.len() {
                if chars[j] == '`' {
                    let m = chars[j..].iter().take_while(|c| **c == '`').count();
                    if m == n {
                        close = Some(j + m);
                        break;
                    }
                    j += m;
                } else {
                    j += 1;
                }
            }
            match close {
                Some(end) => i = end,
                None => {
                    out.extend(&chars[i..i + n]);
                    i += n;
                }
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// No `<` outside code blocks and code spans is left unescaped, so nothing can become HTML.
fn assert_no_raw_html(md: &str) {
    for line in prose_lines(md) {
        let text = outside_code_spans(line);
        let raw = text.char_indices().any(|(i, c)| c == '<' && !text[..i].ends_with('\\'));
        assert!(!raw, "unescaped `<` in prose: {line:?}\n{md}");
    }
}

struct Parsed {
    /// `### N.` numbers per section heading.
    sections: BTreeMap<String, Vec<usize>>,
    summary: [usize; 3],
    /// (path, line) listed under some issue's Files Affected.
    affected: BTreeSet<(String, u32)>,
    status: String,
}

const SECTIONS: [&str; 3] =
    ["## 🔴 CRITICAL ISSUES", "## 🟡 HIGH PRIORITY ISSUES", "## 🟢 MEDIUM PRIORITY IMPROVEMENTS"];

fn count_before(s: &str, marker: &str) -> usize {
    let at = s.find(marker).unwrap_or_else(|| panic!("summary lacks {marker:?}: {s}"));
    let head = &s[..at];
    let digits: String = head.chars().rev().take_while(|c| c.is_ascii_digit()).collect();
    digits.chars().rev().collect::<String>().parse().unwrap()
}

fn parse(md: &str) -> Parsed {
    let prose = prose_lines(md);
    let mut sections: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut current = String::new();
    let mut affected = BTreeSet::new();
    let mut in_affected = false;
    let mut summary = [usize::MAX; 3];
    let mut status = String::new();
    for line in &prose {
        if line.starts_with("## ") {
            current = line.to_string();
            in_affected = false;
        } else if let Some(rest) = line.strip_prefix("### ") {
            if let Some((n, _)) = rest.split_once(". ") {
                if let Ok(n) = n.parse::<usize>() {
                    sections.entry(current.clone()).or_default().push(n);
                }
            }
            in_affected = false;
        } else if line.starts_with("This review identified ") {
            summary = [
                count_before(line, " critical issue"),
                count_before(line, " high-priority issue"),
                count_before(line, " medium-priority improvement"),
            ];
        } else if let Some(s) = line.strip_prefix("**Review Status**: ") {
            status = s.to_string();
        } else if *line == "**Files Affected**:" {
            in_affected = true;
        } else if line.starts_with("**") || *line == "---" {
            in_affected = false;
        } else if in_affected {
            if let Some(item) = line.strip_prefix("- `") {
                let (path, rest) = item.split_once('`').unwrap();
                let rest = rest.trim_start();
                let nums = rest.strip_prefix("lines ").or_else(|| rest.strip_prefix("line ")).unwrap();
                for n in nums.split(|c: char| !c.is_ascii_digit()).take_while(|s| !s.is_empty()) {
                    affected.insert((path.to_string(), n.parse().unwrap()));
                }
                // "lines 12, 17, 25 (...)": the comma-separated list.
                for n in nums.split(", ").map(|s| s.split(' ').next().unwrap()) {
                    if let Ok(n) = n.parse() {
                        affected.insert((path.to_string(), n));
                    }
                }
            }
        }
    }
    Parsed { sections, summary, affected, status }
}

/// Checks the shape every review must have and returns the parse.
fn check_structure(md: &str, findings: &[Value]) -> Parsed {
    // Top-level parts, in order.
    let order = [
        "# Async Code Review - ",
        "**Review Date**: ",
        "**Reviewer**: asynclint ",
        "**Scope**: ",
        "## Executive Summary",
        "This review identified **",
        SECTIONS[0],
        SECTIONS[1],
        SECTIONS[2],
        "## ✅ POSITIVE FINDINGS",
        "## 📋 RECOMMENDATIONS SUMMARY",
        "### Immediate Actions (Critical)",
        "### Short-term (High Priority)",
        "### Long-term (Medium Priority)",
        "## 🔍 TESTING RECOMMENDATIONS",
        "## 📚 REFERENCES",
        "**Review Status**: ",
        "**Next Steps**:",
    ];
    let mut at = 0;
    for part in order {
        let found = md[at..].find(part).unwrap_or_else(|| panic!("missing or out of order: {part:?}\n{md}"));
        at += found + part.len();
    }
    assert!(md.starts_with("# Async Code Review - "), "{md}");
    assert_no_raw_html(md);
    let p = parse(md);
    // Counts in the summary are the issues under each heading.
    for (i, heading) in SECTIONS.iter().enumerate() {
        let n = p.sections.get(*heading).map_or(0, Vec::len);
        assert_eq!(p.summary[i], n, "summary count vs `### N.` issues under {heading}\n{md}");
    }
    // Issues are numbered 1..=N across the sections, in order, and only there.
    let numbers: Vec<usize> = SECTIONS.iter().flat_map(|h| p.sections.get(*h).cloned().unwrap_or_default()).collect();
    assert_eq!(numbers, (1..=numbers.len()).collect::<Vec<_>>(), "{md}");
    let all: usize = p.sections.values().map(Vec::len).sum();
    assert_eq!(all, numbers.len(), "`### N.` headings outside the issue sections\n{md}");
    // Each issue has its parts, in order, and ends with a rule.
    for chunk in md.split("\n### ").skip(1).filter(|c| c.starts_with(|ch: char| ch.is_ascii_digit())) {
        let mut at = 0;
        for part in [
            "**Location**: ",
            "**Issue**: ",
            "**Code**:",
            "```",
            "**Impact**:",
            "**Fix**: ",
            "```rust",
            "**Files Affected**:",
            "\n---\n",
        ] {
            let found = chunk[at..].find(part).unwrap_or_else(|| panic!("issue lacks {part:?} in order:\n### {chunk}"));
            at += found + part.len();
        }
    }
    // Every finding appears under some Files Affected.
    for f in findings {
        let key = (f["path"].as_str().unwrap().to_string(), f["line"].as_u64().unwrap() as u32);
        assert!(p.affected.contains(&key), "finding {key:?} is in no Files Affected list\n{md}");
    }
    // The status follows from the counts.
    let expected = if p.summary[0] > 0 {
        "⚠️ **REQUIRES IMMEDIATE ATTENTION**"
    } else if p.summary[1] + p.summary[2] > 0 {
        "🟡 **CHANGES RECOMMENDED**"
    } else {
        "✅ **APPROVED**"
    };
    assert_eq!(p.status, expected, "{md}");
    p
}

// ---- tests ---------------------------------------------------------------------------------------

#[test]
fn inventory_service_review_snapshot() {
    let md = review_of(&fixture("projects/inventory-service"));
    insta::assert_snapshot!("inventory_service_review", md);
}

#[test]
fn every_fixture_project_has_the_review_structure() {
    let mut roots: Vec<PathBuf> =
        std::fs::read_dir(fixture("projects")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    // The rule fixtures, one file each: block_on, locks, transitive chains.
    for dir in ["block-on-in-async", "sync-lock-across-await", "blocking-call-in-async-transitive"] {
        for e in std::fs::read_dir(fixture(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rs") {
                roots.push(p);
            }
        }
    }
    roots.sort();
    assert!(roots.len() >= 10, "fixtures not found: {roots:?}");
    for root in roots {
        let md = review_of(&root);
        let findings = findings_of(&root);
        let p = check_structure(&md, &findings);
        let issues: usize = p.summary.iter().sum();
        assert!(issues <= findings.len(), "{} issues from {} findings in {}", issues, findings.len(), root.display());
        assert_eq!(issues == 0, findings.is_empty(), "{}\n{md}", root.display());
    }
}

#[test]
fn inventory_service_counts_grouped_issues() {
    let root = fixture("projects/inventory-service");
    let md = review_of(&root);
    let p = check_structure(&md, &findings_of(&root));
    // 23 findings; the two direct `std::fs::File` calls and `read_dir` in reports.rs are one issue,
    // and so are the two `read_to_string` calls in tests/api.rs. The database findings: the pool in
    // `main` (never closed) and the test pool kept in a static are two issues of `unclosed-pool`
    // (two files), plus one issue for each other database rule that fired.
    assert_eq!(p.summary, [15, 4, 1], "{md}");
    assert!(md.contains("**Location**: `src/routes/reports.rs` lines 44, 45, 87\n"), "{md}");
}

#[test]
fn three_async_callers_of_one_blocking_helper_are_one_issue() {
    let dir = TestDir::new("grouping");
    dir.write(
        "src/lib.rs",
        "\
pub mod db;

pub async fn get_user(id: u32) -> String {
    db::load(id)
}

pub async fn get_order(id: u32) -> String {
    let s = db::load(id);
    s
}

pub async fn get_invoice(id: u32) -> usize {
    db::load(id).len()
}
",
    );
    dir.write(
        "src/db.rs",
        "\
/// The sync data layer: every call reads a file.
pub fn load(id: u32) -> String {
    read_row(id)
}

fn read_row(id: u32) -> String {
    std::fs::read_to_string(format!(\"rows/{id}\")).unwrap_or_default()
}
",
    );
    let findings = findings_of(&dir.0);
    assert_eq!(findings.len(), 3, "{findings:?}");
    let md = review_of(&dir.0);
    let p = check_structure(&md, &findings);
    assert_eq!(p.summary, [1, 0, 0], "three callers of one blocking helper must be one issue\n{md}");
    assert!(md.contains("### 1. Blocking Filesystem I/O via the Sync Helper `read_row`"), "{md}");
    assert!(md.contains("- `src/lib.rs` lines 4, 8, 13\n"), "{md}");
    assert!(md.contains("- `src/db.rs` line 7 (the blocking call in `read_row`)"), "{md}");
    assert!(md.contains("Three async call sites"), "{md}");
    // The fix offloads the helper call as written at each site.
    assert!(md.contains("tokio::task::spawn_blocking(move || db::load(id)).await?.len()"), "{md}");
    assert!(md.contains("→ `load` (`src/db.rs:3`) → `read_row` (`src/db.rs:7`) → `std::fs::read_to_string`"), "{md}");
}

#[test]
fn direct_calls_get_mechanical_rewrites() {
    let dir = TestDir::new("rewrites");
    dir.write(
        "src/lib.rs",
        "\
use std::time::Duration;

pub async fn backoff(d: Duration) {
    std::thread::sleep(d);
}

pub async fn settings(path: &std::path::Path) -> std::io::Result<String> {
    if !path.exists() {
        return Ok(String::new());
    }
    let text = std::fs::read_to_string(path)?;
    Ok(text)
}
",
    );
    let md = review_of(&dir.0);
    assert!(md.contains("\ntokio::time::sleep(d).await;\n"), "{md}");
    assert!(md.contains("\nlet text = tokio::fs::read_to_string(path).await?;\n"), "{md}");
    assert!(md.contains("\nif !tokio::fs::try_exists(&path).await.unwrap_or(false) {\n"), "{md}");
    // The finding's line carries the marker in the Code block.
    assert!(md.contains("    std::thread::sleep(d);  // ❌ BLOCKS THE ASYNC WORKER\n"), "{md}");
}

#[test]
fn hostile_snippets_cannot_break_out_of_code_blocks() {
    let dir = TestDir::new("hostile");
    dir.write(
        "src/lib.rs",
        "\
pub async fn evil() -> usize {
    let fence = \"```\\n</pre><script>alert(1)</script>\\n````\";
    std::thread::sleep(std::time::Duration::from_millis(1)); let more = \"`````<img src=x onerror=alert(2)>\";
    fence.len() + more.len()
}
",
    );
    let md = review_of(&dir.0);
    // Every fence closes (checked by `prose_lines`), and nothing of the snippet leaks into prose.
    let prose = prose_lines(&md).join("\n");
    assert!(!prose.contains("<script>"), "{prose}");
    assert!(!prose.contains("<img"), "{prose}");
    assert!(md.contains("<script>alert(1)</script>"), "the snippet must still be shown:\n{md}");
    // The code blocks holding the hostile lines use a fence longer than their longest backtick run.
    assert!(md.contains("\n``````rust\n"), "{md}");
    check_structure(&md, &findings_of(&dir.0));
}

fn finding(path: &str, line: u32, function: &str, message: &str, snippet: &str, start: u32) -> Finding {
    Finding {
        rule: "blocking-call-in-async",
        severity: Severity::Critical,
        message: message.to_string(),
        location: Location {
            path: path.to_string(),
            line,
            column: 1,
            end_line: line,
            end_column: 1 + snippet.len() as u32,
            byte_start: start,
            byte_end: start + snippet.len() as u32,
        },
        function: function.to_string(),
        chain: Vec::new(),
        related: Vec::new(),
        help: "use `tokio::time::sleep(..).await` <b>now</b>".to_string(),
        snippet: snippet.to_string(),
        fingerprint: String::new(),
        fix: None,
    }
}

#[test]
fn hostile_paths_names_and_targets_are_escaped() {
    let path = "src/a`b<script>\n.rs";
    let source = "async fn f() {\n    std::thread::sleep(d); // ``` </code>\n}\n";
    let call = "std::thread::sleep(d)";
    let start = source.find(call).unwrap() as u32;
    let analysis = Analysis {
        findings: vec![finding(
            path,
            2,
            "crate::f",
            "blocking call `std::thread::sleep` inside async fn `f`",
            call,
            start,
        )],
        errors: Vec::new(),
        files: 1,
        timings: Vec::new(),
        offloaded: Vec::new(),
        db_practices: Default::default(),
    };
    let sources: HashMap<String, String> = [(path.to_string(), source.to_string())].into();
    let rules = vec!["blocking-call-in-async".to_string()];
    let positives = vec!["uses `<pool>` <i>well</i>".to_string()];
    let ctx = MarkdownContext {
        sources: &sources,
        target: "<img src=x> *target*",
        branch: Some("feat/`x`"),
        date: DATE,
        version: "0.0.0",
        rules: &rules,
        crates: Some(1),
        positives: &positives,
        base: None,
    };
    let md = markdown::render(&analysis, &ctx);
    assert_no_raw_html(&md);
    let prose = prose_lines(&md).join("\n");
    assert!(md.starts_with("# Async Code Review - \\<img src=x\\> \\*target\\* - `` feat/`x` `` Branch\n"), "{md}");
    assert!(prose.contains("``src/a`b<script>\\u{a}.rs``"), "{prose}");
    assert!(prose.contains("\\<i\\>well\\</i\\>"), "{prose}");
    assert!(md.contains("\n````rust\n"), "the block holding ``` needs a 4-backtick fence\n{md}");
    assert!(md.contains("tokio::time::sleep(d).await;"), "{md}");
    // The same input renders the same bytes.
    assert_eq!(md, markdown::render(&analysis, &ctx));
}

#[test]
fn clean_code_is_approved() {
    let dir = TestDir::new("clean");
    dir.write(
        "src/lib.rs",
        "pub async fn ok() {\n    tokio::time::sleep(std::time::Duration::from_millis(1)).await;\n}\n",
    );
    let out = run(&["review", "--date", DATE, dir.0.to_str().unwrap()], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let p = check_structure(&out.stdout, &[]);
    assert_eq!(p.summary, [0, 0, 0]);
    assert!(out.stdout.contains("**No blocking calls on the async workers**"), "{}", out.stdout);
}

#[test]
fn review_subcommand_is_check_with_markdown() {
    let root = fixture("projects/inventory-service");
    let root = root.to_str().unwrap();
    let review = run(&["review", "--date", DATE, root], &[]);
    assert_eq!(review.code, 1, "{}", review.stderr);
    assert_eq!(review.stdout, review_of(Path::new(root)));
    // ASYNCLINT_FORMAT is `check`'s default; `review` stays Markdown unless told otherwise.
    let env_json = run(&["review", "--date", DATE, root], &[("ASYNCLINT_FORMAT", "json")]);
    assert_eq!(env_json.stdout, review.stdout);
    let check_env = run(&["check", root], &[("ASYNCLINT_FORMAT", "json")]);
    assert!(check_env.stdout.starts_with('{'), "{}", check_env.stdout);
    // An explicit --format still wins.
    let json = run(&["review", "--format", "json", root], &[]);
    assert!(serde_json::from_str::<Value>(&json.stdout).is_ok(), "{}", json.stdout);
    // Same input, same bytes.
    assert_eq!(run(&["review", "--date", DATE, root], &[]).stdout, review.stdout);
}

#[test]
fn review_date_comes_from_the_flag_then_source_date_epoch_then_the_clock() {
    let root = fixture("projects/broken-input");
    let root = root.to_str().unwrap();
    let date_line = |out: &Out| {
        out.stdout
            .lines()
            .find(|l| l.starts_with("**Review Date**: "))
            .unwrap_or_else(|| panic!("{}", out.stdout))
            .to_string()
    };
    let epoch0 = run(&["review", root], &[("SOURCE_DATE_EPOCH", "0")]);
    assert_eq!(date_line(&epoch0), "**Review Date**: 1970-01-01");
    let leap = run(&["review", root], &[("SOURCE_DATE_EPOCH", "951782400")]);
    assert_eq!(date_line(&leap), "**Review Date**: 2000-02-29");
    let flag = run(&["review", "--date", "2024-02-29", root], &[("SOURCE_DATE_EPOCH", "0")]);
    assert_eq!(date_line(&flag), "**Review Date**: 2024-02-29");
    // Today in UTC, from the clock.
    let day = |t: std::time::SystemTime| {
        markdown::date_from_unix_seconds(t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64)
    };
    let before = day(std::time::SystemTime::now());
    let now = run(&["review", root], &[]);
    let after = day(std::time::SystemTime::now());
    let got = date_line(&now);
    assert!(got == format!("**Review Date**: {before}") || got == format!("**Review Date**: {after}"), "{got}");
    // Bad dates are usage errors.
    let bad_flag = run(&["review", "--date", "2023-02-29", root], &[]);
    assert_eq!(bad_flag.code, 2, "{}", bad_flag.stdout);
    let bad_env = run(&["review", root], &[("SOURCE_DATE_EPOCH", "yesterday")]);
    assert_eq!(bad_env.code, 2, "{}", bad_env.stdout);
    assert!(bad_env.stderr.contains("SOURCE_DATE_EPOCH"), "{}", bad_env.stderr);
    // Other formats do not care about the review date.
    let json = run(&["check", "--format", "json", root], &[("SOURCE_DATE_EPOCH", "yesterday")]);
    assert_eq!(json.code, 1, "{}", json.stderr);
}

#[test]
fn civil_from_days_matches_known_dates_and_round_trips() {
    assert_eq!(markdown::civil_from_days(0), (1970, 1, 1));
    assert_eq!(markdown::civil_from_days(-719_468), (0, 3, 1));
    assert_eq!(markdown::civil_from_days(11_016), (2000, 2, 29));
    assert_eq!(markdown::civil_from_days(20_468), (2026, 1, 15));
    assert_eq!(markdown::date_from_unix_seconds(-1), "1969-12-31");
    assert_eq!(markdown::date_from_unix_seconds(4_102_444_800), "2100-01-01");
    // Day by day across four centuries: the day after each date is the next day of the calendar.
    let mut prev = markdown::civil_from_days(-146_097);
    for d in -146_096..=146_097 {
        let (y, m, day) = markdown::civil_from_days(d);
        assert_eq!(markdown::days_from_civil(y, m, day), d);
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let month_len = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][prev.1 as usize - 1];
        let expected = if prev.2 < month_len {
            (prev.0, prev.1, prev.2 + 1)
        } else if prev.1 < 12 {
            (prev.0, prev.1 + 1, 1)
        } else {
            (prev.0 + 1, 1, 1)
        };
        assert_eq!((y, m, day), expected, "day {d}");
        prev = (y, m, day);
    }
    assert!(markdown::parse_date("2023-02-29").is_err());
    assert!(markdown::parse_date("2024-02-29").is_ok());
    assert!(markdown::parse_date("2024-2-29").is_err());
}

#[test]
fn branch_of_the_checked_root_is_shown() {
    let dir = TestDir::new("branch");
    dir.write("src/lib.rs", "pub async fn f() {\n    std::thread::sleep(std::time::Duration::from_millis(1));\n}\n");
    dir.write(".git/HEAD", "ref: refs/heads/feature/sqlite-to-postgres\n");
    let md = review_of(&dir.0);
    assert!(md.contains("\n**Branch**: `feature/sqlite-to-postgres`\n"), "{md}");
    assert!(md.lines().next().unwrap().ends_with(" - `feature/sqlite-to-postgres` Branch"), "{md}");
    // A detached HEAD names no branch.
    dir.write(".git/HEAD", "0123456789abcdef0123456789abcdef01234567\n");
    assert!(!review_of(&dir.0).contains("**Branch**"));
}
