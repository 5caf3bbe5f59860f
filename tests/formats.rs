//! The machine-readable formats, end to end through the binary: each one is checked against its
//! consumer's spec (SARIF 2.1.0 through the official JSON schema, reviewdog's byte columns, GitHub
//! workflow-command escaping, GitLab's unique fingerprints, cargo's JSON messages) and against the
//! `json` format, which carries the location model unchanged.
//!
//! The project under test has: a finding on a line with non-ASCII text before the call, a finding
//! with a call chain (async fn -> sync fn -> `std::thread::sleep`), a finding with a related place
//! (a lock guard held across an `.await`), a finding in a file whose name needs escaping in every
//! format (`,`, `:`, a space, `é`, `%`), and a file that does not parse.

mod support;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_asynclint");
const TIMEOUT: Duration = Duration::from_secs(60);
const SLEEP: &str = "std::thread::sleep(std::time::Duration::from_millis(1))";
/// Every format this file tests, with whether its whole output is one JSON document.
const FORMATS: &[&str] = &["json", "json-lines", "sarif", "rdjson", "rdjsonl", "github", "gitlab", "cargo-json"];
/// The file whose name every format has to escape or encode.
const ODD: &str = "src/we,ird:na me é%.rs";

// ---- harness -------------------------------------------------------------------------------------

struct TestDir {
    path: PathBuf,
}

impl TestDir {
    fn new(test: &str) -> TestDir {
        let path = std::env::temp_dir().join(format!("asynclint-formats-{}-{test}", std::process::id()));
        if path.symlink_metadata().is_ok() {
            std::fs::remove_dir_all(&path).unwrap();
        }
        std::fs::create_dir_all(&path).unwrap();
        let dir = TestDir { path };
        dir.write("Cargo.toml", "[package]\nname = \"p\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
        dir
    }

    /// The project described at the top of this file.
    fn sample(test: &str) -> TestDir {
        let dir = TestDir::new(test);
        dir.write(
            "src/lib.rs",
            &format!(
                "pub async fn greet() {{\n    let café = \"é\"; {SLEEP};\n    let _ = café;\n}}\n\n\
                 fn load() {{\n    {SLEEP};\n}}\n\n\
                 pub async fn handler() {{\n    load();\n}}\n\n\
                 pub async fn locked(m: &std::sync::Mutex<u32>) {{\n    let g = m.lock().unwrap();\n    other().await;\n    drop(g);\n}}\n\n\
                 async fn other() {{}}\n"
            ),
        );
        dir.write(ODD, &format!("pub async fn odd() {{ {SLEEP}; }}\n"));
        dir.write("src/bad.rs", "fn broken( {\n");
        dir
    }

    fn write(&self, rel: &str, contents: &str) {
        let path = self.path.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path.join(rel)).unwrap()
    }

    /// `asynclint check --format <format> .` in this folder: its stdout, after checking the exit
    /// code (1 with findings, 0 without).
    fn check(&self, format: &str, expected_code: i32) -> String {
        let (code, stdout, stderr) = run_in(&self.path, &["check", "--format", format, "."]);
        assert_eq!(
            code, expected_code,
            "--format {format}: exit code\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        );
        stdout
    }

    /// The `json` format, the reference the other formats are checked against.
    fn json(&self) -> Value {
        serde_json::from_str(&self.check("json", 1)).unwrap()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn run_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let mut command = Command::new(BIN);
    // The default cache folder (`target/asynclint/` of the checked project), whatever the
    // developer has set.
    command.env_remove("ASYNCLINT_CACHE_DIR");
    let out = support::run_binary(command, cwd, args, TIMEOUT);
    (out.code, String::from_utf8(out.stdout).expect("stdout is UTF-8"), out.stderr)
}

fn lines_as_json(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))).collect()
}

fn findings(reference: &Value) -> &Vec<Value> {
    reference["findings"].as_array().unwrap()
}

fn errors(reference: &Value) -> &Vec<Value> {
    reference["errors"].as_array().unwrap()
}

/// The reference finding with this message fragment.
fn finding<'a>(reference: &'a Value, fragment: &str) -> &'a Value {
    findings(reference)
        .iter()
        .find(|f| f["message"].as_str().unwrap().contains(fragment))
        .unwrap_or_else(|| panic!("no finding with `{fragment}` in {reference:#}"))
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

// ---- sample sanity -------------------------------------------------------------------------------

#[test]
fn the_sample_project_has_what_the_format_tests_need() {
    let dir = TestDir::sample("sample");
    let r = dir.json();
    let greet = finding(&r, "`greet`");
    // The non-ASCII line: `é` twice before the call, so char and byte columns differ by 2.
    assert_eq!((n(&greet["line"]), n(&greet["column"])), (2, 21), "{greet:#}");
    assert!(finding(&r, "`handler` calls `load`")["chain"].as_array().unwrap().len() == 2);
    assert!(finding(&r, "guard")["related"].as_array().unwrap().len() == 1);
    assert!(findings(&r).iter().any(|f| f["path"] == ODD), "{r:#}");
    assert_eq!(errors(&r).len(), 1, "{r:#}");
    assert_eq!(errors(&r)[0]["kind"], "parse-error");
}

// ---- json-lines ----------------------------------------------------------------------------------

#[test]
fn json_lines_round_trips_to_the_json_format() {
    let dir = TestDir::sample("json-lines");
    let r = dir.json();
    let lines = lines_as_json(&dir.check("json-lines", 1));
    let expected: Vec<Value> = findings(&r).iter().chain(errors(&r)).cloned().collect();
    assert_eq!(lines, expected);
    // Findings have a `rule`, file errors a `kind`, and nothing has both.
    for line in &lines {
        assert!(line.get("rule").is_some() != line.get("kind").is_some(), "{line}");
    }
}

// ---- sarif ---------------------------------------------------------------------------------------

/// The official schema, with the one pattern Rust's regex engine cannot compile fixed in memory
/// (see tests/schemas/README.md), compiled with format checks on (`uri`, `uri-reference`).
fn sarif_validator() -> jsonschema::Validator {
    let text = include_str!("schemas/sarif-schema-2.1.0.json");
    let mut schema: Value = serde_json::from_str(text).unwrap();
    for owner in ["run", "toolComponent"] {
        let pattern = schema.pointer_mut(&format!("/definitions/{owner}/properties/language/pattern")).unwrap();
        assert_eq!(*pattern, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$", "the vendored schema changed");
        *pattern = json!("^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$");
    }
    jsonschema::options().should_validate_formats(true).build(&schema).unwrap()
}

#[track_caller]
fn assert_valid_sarif(validator: &jsonschema::Validator, doc: &Value) {
    let problems: Vec<String> = validator.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(problems.is_empty(), "not valid SARIF 2.1.0:\n{}", problems.join("\n"));
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let dir = TestDir::sample("sarif-schema");
    let doc: Value = serde_json::from_str(&dir.check("sarif", 1)).unwrap();
    let validator = sarif_validator();
    assert_valid_sarif(&validator, &doc);
    // The validator is not vacuous: the same document with a wrong column kind, a raw path in a
    // URI and a result without a message is rejected on all three.
    let mut broken = doc.clone();
    broken["runs"][0]["columnKind"] = json!("characters");
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = json!(ODD);
    broken["runs"][0]["results"][1].as_object_mut().unwrap().remove("message");
    let paths: Vec<String> = validator.iter_errors(&broken).map(|e| e.instance_path().to_string()).collect();
    for expected in [
        "/runs/0/columnKind",
        "/runs/0/results/0/locations/0/physicalLocation/artifactLocation/uri",
        "/runs/0/results/1",
    ] {
        assert!(paths.iter().any(|p| p == expected), "{expected} not reported: {paths:?}");
    }
    // A clean project is valid too (empty results, no notifications).
    let clean = TestDir::new("sarif-clean");
    clean.write("src/lib.rs", "pub async fn fine() {}\n");
    let doc: Value = serde_json::from_str(&clean.check("sarif", 0)).unwrap();
    assert_valid_sarif(&validator, &doc);
    assert_eq!(doc["runs"][0]["results"], json!([]));
}

#[test]
fn sarif_follows_github_code_scanning_conventions() {
    let dir = TestDir::sample("sarif-github");
    let r = dir.json();
    let doc: Value = serde_json::from_str(&dir.check("sarif", 1)).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(doc["$schema"], "https://json.schemastore.org/sarif-2.1.0.json");
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "asynclint");
    assert_eq!(driver["semanticVersion"], env!("CARGO_PKG_VERSION"));

    // Every rule, in `asynclint rules` order, with what GitHub requires and reads.
    let ids: Vec<&str> = asynclint::rules::all().iter().map(|r| r.meta().id).collect();
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.iter().map(|r| r["id"].as_str().unwrap()).collect::<Vec<_>>(), ids);
    for (rule, meta) in rules.iter().zip(asynclint::rules::all().iter().map(|r| r.meta())) {
        for text in ["shortDescription", "fullDescription"] {
            let t = rule[text]["text"].as_str().unwrap();
            assert!(!t.is_empty() && t.chars().count() <= 1024, "{text} of {}: {t}", meta.id);
        }
        assert_eq!(rule["help"]["markdown"], meta.doc);
        assert!(!rule["help"]["text"].as_str().unwrap().is_empty());
        let level = if meta.default_severity == asynclint::findings::Severity::Medium { "warning" } else { "error" };
        assert_eq!(rule["defaultConfiguration"]["level"], level);
        assert_eq!(rule["properties"]["precision"], "high");
        assert_eq!(rule["properties"]["problem.severity"], level);
        assert!(rule["properties"].get("security-severity").is_none(), "not security rules");
        assert!(!rule["name"].as_str().unwrap().is_empty());
    }

    // One result per finding, in order, with the location model's columns unchanged.
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), findings(&r).len());
    for (res, f) in results.iter().zip(findings(&r)) {
        assert_eq!(res["ruleId"], f["rule"]);
        assert_eq!(rules[n(&res["ruleIndex"]) as usize]["id"], f["rule"]);
        assert_eq!(res["level"], "error", "critical and high are errors");
        assert!(res["message"]["text"].as_str().unwrap().starts_with(f["message"].as_str().unwrap()));
        let locations = res["locations"].as_array().unwrap();
        assert_eq!(locations.len(), 1);
        let physical = &locations[0]["physicalLocation"];
        let region = &physical["region"];
        assert_eq!(
            [&region["startLine"], &region["startColumn"], &region["endLine"], &region["endColumn"]],
            [&f["line"], &f["column"], &f["end_line"], &f["end_column"]]
        );
        assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert_eq!(res["partialFingerprints"]["asynclint/v1"], f["fingerprint"]);
    }

    // The non-ASCII line: columns count characters (`é` is one), the end is exclusive.
    let greet = results.iter().find(|x| x["message"]["text"].as_str().unwrap().contains("`greet`")).unwrap();
    let region = &greet["locations"][0]["physicalLocation"]["region"];
    let line = dir.read("src/lib.rs").lines().nth(1).unwrap().to_string();
    let start = line.find("std::thread::sleep").unwrap();
    assert_eq!(n(&region["startColumn"]) as usize, line[..start].chars().count() + 1);
    let end = line.find(");").unwrap() + 1;
    assert_eq!(n(&region["endColumn"]) as usize, line[..end].chars().count() + 1);

    // Paths are percent-encoded URI references.
    let odd = results.iter().find(|x| x["message"]["text"].as_str().unwrap().contains("`odd`")).unwrap();
    assert_eq!(
        odd["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "src/we%2Cird%3Ana%20me%20%C3%A9%25.rs"
    );

    // The call chain is a code flow, one thread-flow location per step, each with a message.
    let chained = finding(&r, "`handler` calls `load`");
    let res = results.iter().find(|x| x["partialFingerprints"]["asynclint/v1"] == chained["fingerprint"]).unwrap();
    let steps = res["codeFlows"][0]["threadFlows"][0]["locations"].as_array().unwrap();
    let chain = chained["chain"].as_array().unwrap();
    assert_eq!(steps.len(), chain.len());
    for (step, c) in steps.iter().zip(chain) {
        let region = &step["location"]["physicalLocation"]["region"];
        assert_eq!((&region["startLine"], &region["startColumn"]), (&c["line"], &c["column"]));
        assert!(step["location"]["message"]["text"].as_str().unwrap().contains(c["function"].as_str().unwrap()));
    }
    assert!(results.iter().filter(|x| x.get("codeFlows").is_some()).count() == 1, "only chained findings get flows");

    // The related `.await` is a related location, linked from the message by its id.
    let locked = finding(&r, "guard");
    let res = results.iter().find(|x| x["partialFingerprints"]["asynclint/v1"] == locked["fingerprint"]).unwrap();
    let related = &res["relatedLocations"][0];
    let rel = &locked["related"][0];
    assert_eq!(related["physicalLocation"]["region"]["startLine"], rel["line"]);
    assert_eq!(related["physicalLocation"]["region"]["startColumn"], rel["column"]);
    let id = n(&related["id"]);
    assert!(res["message"]["text"].as_str().unwrap().contains(&format!("]({id})")), "{res:#}");

    // The parse error is a tool execution notification of a successful invocation.
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["level"], "error");
    let e = &errors(&r)[0];
    let loc = &notes[0]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "src/bad.rs");
    assert_eq!((&loc["region"]["startLine"], &loc["region"]["startColumn"]), (&e["line"], &e["column"]));
    // Fixes exactly where the json format has one, replacing the result's own region.
    assert!(run.get("fixes").is_none());
    for (x, f) in results.iter().zip(findings(&r)) {
        match f["fix"]["replacement"].as_str() {
            Some(text) => {
                let change = &x["fixes"][0]["artifactChanges"][0];
                assert_eq!(change["replacements"][0]["insertedContent"]["text"], text, "{x}");
                assert_eq!(change["replacements"][0]["deletedRegion"], x["locations"][0]["physicalLocation"]["region"]);
            }
            None => assert!(x.get("fixes").is_none(), "{x}"),
        }
    }
}

// ---- rdjson / rdjsonl ----------------------------------------------------------------------------

/// The fields reviewdog's protojson reader knows; it rejects any other.
fn assert_only_proto_fields(d: &Value) {
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<HashSet<_>>();
    let allowed = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
    assert!(
        keys(d).is_subset(&allowed(&[
            "message",
            "location",
            "severity",
            "source",
            "code",
            "suggestions",
            "original_output"
        ])),
        "{d}"
    );
    assert!(keys(&d["location"]).is_subset(&allowed(&["path", "range"])), "{d}");
    if let Some(range) = d["location"].get("range") {
        assert!(keys(range).is_subset(&allowed(&["start", "end"])), "{d}");
        for pos in range.as_object().unwrap().values() {
            assert!(keys(pos).is_subset(&allowed(&["line", "column"])), "{d}");
        }
    }
    assert!(keys(&d["code"]).is_subset(&allowed(&["value", "url"])), "{d}");
    assert!(["ERROR", "WARNING", "INFO"].contains(&d["severity"].as_str().unwrap()), "{d}");
}

#[test]
fn rdjson_columns_count_utf8_bytes_and_ends_are_exclusive() {
    let dir = TestDir::sample("rdjson");
    let r = dir.json();
    let result: Value = serde_json::from_str(&dir.check("rdjson", 1)).unwrap();
    assert_eq!(result["source"]["name"], "asynclint");
    let diagnostics = result["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), findings(&r).len() + errors(&r).len());
    // rdjsonl is the same diagnostics, one per line.
    let lines = lines_as_json(&dir.check("rdjsonl", 1));
    assert_eq!(&lines, diagnostics);
    for d in diagnostics {
        assert_only_proto_fields(d);
    }

    // Every finding: byte columns from the file text, independently of the reporter.
    for (d, f) in diagnostics.iter().zip(findings(&r)) {
        let text = dir.read(f["path"].as_str().unwrap());
        let byte_col = |line: u64, char_col: u64| -> u64 {
            let l = text.lines().nth(line as usize - 1).unwrap();
            l.chars().take(char_col as usize - 1).map(char::len_utf8).sum::<usize>() as u64 + 1
        };
        let range = &d["location"]["range"];
        assert_eq!(d["location"]["path"], f["path"]);
        assert_eq!(d["code"]["value"], f["rule"]);
        assert_eq!(d["severity"], "ERROR");
        assert_eq!(range["start"]["line"], f["line"]);
        assert_eq!(n(&range["start"]["column"]), byte_col(n(&f["line"]), n(&f["column"])), "{d}");
        assert_eq!(range["end"]["line"], f["end_line"]);
        assert_eq!(n(&range["end"]["column"]), byte_col(n(&f["end_line"]), n(&f["end_column"])), "{d}");
    }

    // The non-ASCII line, spelled out: the call starts 2 bytes later than its character column.
    let greet = diagnostics.iter().find(|d| d["message"].as_str().unwrap().contains("`greet`")).unwrap();
    let line = dir.read("src/lib.rs").lines().nth(1).unwrap().to_string();
    let start = line.find("std::thread::sleep").unwrap();
    assert_eq!(n(&greet["location"]["range"]["start"]["column"]) as usize, start + 1);
    assert_eq!(start + 1, line[..start].chars().count() + 1 + 2);
    // Exclusive end: the byte after `)` of the call.
    assert_eq!(n(&greet["location"]["range"]["end"]["column"]) as usize, line.find(");").unwrap() + 2);

    // The chain and the help reach the review comment through the message.
    let chained = diagnostics.iter().find(|d| d["message"].as_str().unwrap().contains("`handler` calls")).unwrap();
    let message = chained["message"].as_str().unwrap();
    assert!(message.contains("\nhelp: ") && message.contains("call chain: `crate::handler`"), "{message}");

    // The parse error, at its byte column.
    let e = diagnostics.last().unwrap();
    assert_eq!(e["code"]["value"], "parse-error");
    assert_eq!(e["location"]["path"], "src/bad.rs");
    assert_eq!(e["location"]["range"]["start"]["line"], errors(&r)[0]["line"]);
    // Suggestions exactly where the json format has a fix, over the finding's own range.
    for (d, f) in diagnostics.iter().zip(findings(&r)) {
        match f["fix"]["replacement"].as_str() {
            Some(text) => {
                assert_eq!(d["suggestions"][0]["text"], text, "{d}");
                assert_eq!(d["suggestions"][0]["range"], d["location"]["range"], "{d}");
            }
            None => assert!(d.get("suggestions").is_none(), "an invented suggestion: {d}"),
        }
    }
    assert!(e.get("suggestions").is_none());
}

#[test]
fn rdjson_falls_back_to_whole_lines_when_the_file_changed() {
    // A finding whose file no longer matches (here: the text before it grew by a multi-byte char
    // between analysis and report) cannot happen through the CLI, so check the renderer itself.
    use asynclint::findings::{Finding, Location, Severity};
    let text = "async fn a() {\n    x();\n}\n";
    let start = text.find("x()").unwrap() as u32;
    let finding = Finding {
        rule: "blocking-call-in-async",
        severity: Severity::Critical,
        message: "m".into(),
        location: Location {
            path: "a.rs".into(),
            line: 2,
            column: 5,
            end_line: 2,
            end_column: 8,
            byte_start: start,
            byte_end: start + 3,
        },
        function: "crate::a".into(),
        chain: Vec::new(),
        related: Vec::new(),
        help: "h".into(),
        snippet: "x()".into(),
        fingerprint: "f".into(),
        fix: None,
    };
    let analysis = asynclint::Analysis { findings: vec![finding], files: 1, ..Default::default() };
    let render = |source: &str| {
        let sources = std::collections::HashMap::from([("a.rs".to_string(), source.to_string())]);
        let ctx = asynclint::report::ReportContext { sources: &sources, color: false, width: 0 };
        let out = asynclint::report::rdjson::render_lines(&analysis, &ctx);
        serde_json::from_str::<Value>(out.trim_end()).unwrap()["location"]["range"].clone()
    };
    assert_eq!(render(text), json!({"start": {"line": 2, "column": 5}, "end": {"line": 2, "column": 8}}));
    assert_eq!(render("async fn a() {\n    é();\n}\n"), json!({"start": {"line": 2}, "end": {"line": 2}}));
    assert_eq!(render(""), json!({"start": {"line": 2}, "end": {"line": 2}}));
}

// ---- github --------------------------------------------------------------------------------------

/// Undoes `@actions/core`'s property escaping.
fn unescape(s: &str) -> String {
    s.replace("%2C", ",").replace("%3A", ":").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
}

#[test]
fn github_annotations_are_escaped_one_per_line_most_severe_first() {
    let dir = TestDir::sample("github");
    let r = dir.json();
    let out = dir.check("github", 1);
    let lines: Vec<&str> = out.lines().collect();
    let expected = findings(&r).len() + errors(&r).len();
    assert_eq!(lines.len(), expected + 1, "one line per annotation and a summary:\n{out}");
    assert!(lines[expected].starts_with("Found ") && !lines[expected].starts_with("::"), "{out}");

    let mut seen_paths = HashSet::new();
    let mut last_rank = 0;
    for line in &lines[..expected] {
        let (command, rest) = line[2..].split_once(' ').unwrap_or_else(|| panic!("no properties: {line}"));
        assert!(line.starts_with("::") && ["error", "warning"].contains(&command), "{line}");
        // The first `::` after the properties ends them, so no property may hold a raw `:`.
        let (props, message) = rest.split_once("::").unwrap();
        assert!(!props.contains(':') && !props.contains('\n') && !props.contains('\r'), "{line}");
        assert!(!message.contains('\n') && !message.contains('\r'));
        let props: Vec<(&str, &str)> = props.split(',').map(|kv| kv.split_once('=').unwrap()).collect();
        let get = |k: &str| props.iter().find(|(key, _)| *key == k).map(|(_, v)| unescape(v));
        let keys: Vec<&str> = props.iter().map(|(k, _)| *k).collect();
        let file = get("file").unwrap();
        seen_paths.insert(file.clone());
        assert!(get("title").unwrap().starts_with("asynclint: "), "{line}");
        let at_line = get("line").and_then(|l| l.parse::<u64>().ok());
        if let Some(f) = findings(&r).iter().find(|f| f["path"] == file.as_str() && f["line"].as_u64() == at_line) {
            assert_eq!(keys, ["file", "line", "endLine", "col", "endColumn", "title"], "{line}");
            assert_eq!(get("col").unwrap(), f["column"].to_string());
            assert_eq!(get("endColumn").unwrap(), f["end_column"].to_string());
            assert_eq!(get("endLine").unwrap(), f["end_line"].to_string());
            let text = unescape(message);
            assert!(
                text.starts_with(f["message"].as_str().unwrap())
                    && text.contains(&format!("\nhelp: {}", f["help"].as_str().unwrap())),
                "{line}"
            );
            let rank = if f["severity"] == "critical" { 0 } else { 1 };
            assert!(rank >= last_rank, "not most severe first:\n{out}");
            last_rank = rank;
        } else {
            assert_eq!(file, "src/bad.rs", "{line}");
            assert_eq!(command, "error");
            assert_eq!(keys, ["file", "line", "col", "title"]);
        }
    }
    assert!(seen_paths.contains(ODD), "the odd file name comes back intact: {seen_paths:?}");
    // The multi-line message travels as one line.
    assert!(out.contains("%0Ahelp: "));
}

// ---- gitlab --------------------------------------------------------------------------------------

#[test]
fn gitlab_report_is_an_array_with_unique_fingerprints() {
    let dir = TestDir::sample("gitlab");
    // The same code twice in one function: the same rule, path, function and snippet.
    dir.write("src/twice.rs", &format!("pub async fn twice() {{\n    {SLEEP};\n    {SLEEP};\n}}\n"));
    let r = dir.json();
    let issues: Value = serde_json::from_str(&dir.check("gitlab", 1)).unwrap();
    let issues = issues.as_array().expect("a JSON array");
    assert_eq!(issues.len(), findings(&r).len() + errors(&r).len());
    let fingerprints: HashSet<&str> = issues.iter().map(|i| i["fingerprint"].as_str().unwrap()).collect();
    assert_eq!(fingerprints.len(), issues.len(), "fingerprints repeat");
    assert_eq!(issues.iter().filter(|i| i["location"]["path"] == "src/twice.rs").count(), 2);
    for (issue, f) in issues.iter().zip(findings(&r)) {
        assert_eq!(issue["type"], "issue");
        assert_eq!(issue["check_name"], f["rule"]);
        assert_eq!(
            issue["description"],
            format!("{}: {}", f["rule"].as_str().unwrap(), f["message"].as_str().unwrap())
        );
        let severity = match f["severity"].as_str().unwrap() {
            "critical" => "critical",
            "high" => "major",
            _ => "minor",
        };
        assert_eq!(issue["severity"], severity);
        assert_eq!(issue["location"]["path"], f["path"]);
        assert_eq!(issue["location"]["lines"]["begin"], f["line"]);
        assert_eq!(issue["location"]["lines"]["end"], f["end_line"]);
        let category = if f["rule"] == "blocking-call-in-async" { "Performance" } else { "Bug Risk" };
        assert_eq!(issue["categories"], json!([category]));
    }
    let last = issues.last().unwrap();
    assert_eq!(last["check_name"], "parse-error");
    assert_eq!(last["location"]["lines"]["begin"], errors(&r)[0]["line"]);
}

// ---- cargo-json ----------------------------------------------------------------------------------

#[test]
fn cargo_json_lines_are_compiler_messages_with_the_model_columns() {
    let dir = TestDir::sample("cargo-json");
    let r = dir.json();
    let messages = lines_as_json(&dir.check("cargo-json", 1));
    assert_eq!(messages.len(), findings(&r).len() + errors(&r).len() + 1);
    assert_eq!(messages.last().unwrap(), &json!({"reason": "build-finished", "success": false}));
    for m in &messages[..messages.len() - 1] {
        assert_eq!(m["reason"], "compiler-message");
        for key in ["package_id", "manifest_path"] {
            assert!(m[key].is_string(), "{key} in {m}");
        }
        for key in ["name", "src_path"] {
            assert!(m["target"][key].is_string(), "target.{key} in {m}");
        }
        assert!(m["target"]["kind"].is_array());
        let d = &m["message"];
        for key in ["message", "level", "spans", "children", "code"] {
            assert!(d.get(key).is_some(), "{key} in {d}");
        }
        for child in d["children"].as_array().unwrap() {
            assert!(child["message"].is_string() && child["spans"] == json!([]) && child["children"] == json!([]));
            assert!(["help", "note"].contains(&child["level"].as_str().unwrap()));
        }
    }
    for (m, f) in messages.iter().zip(findings(&r)) {
        let d = &m["message"];
        assert_eq!(d["message"], f["message"]);
        assert_eq!(d["code"], json!({"code": f["rule"], "explanation": null}));
        assert_eq!(d["level"], "error");
        let spans = d["spans"].as_array().unwrap();
        assert_eq!(spans.len(), 1);
        let s = &spans[0];
        assert_eq!(s["is_primary"], true);
        assert_eq!(s["file_name"], f["path"]);
        assert_eq!(
            [&s["line_start"], &s["column_start"], &s["line_end"], &s["column_end"]],
            [&f["line"], &f["column"], &f["end_line"], &f["end_column"]]
        );
        // Exactly the findings with a mechanical fix carry it, as rustc's "MaybeIncorrect".
        assert_eq!(s["suggested_replacement"], f["fix"]["replacement"]);
        let applicability = if f["fix"].is_null() { Value::Null } else { Value::from("MaybeIncorrect") };
        assert_eq!(s["suggestion_applicability"], applicability);
        assert_eq!(s["expansion"], Value::Null);
        // The byte range covers the call the columns describe.
        let text = dir.read(f["path"].as_str().unwrap());
        let code = &text[n(&s["byte_start"]) as usize..n(&s["byte_end"]) as usize];
        let line = text.lines().nth(n(&f["line"]) as usize - 1).unwrap();
        let by_columns: String = line
            .chars()
            .skip(n(&f["column"]) as usize - 1)
            .take((n(&f["end_column"]) - n(&f["column"])) as usize)
            .collect();
        assert_eq!(code, by_columns);
        assert_eq!(d["children"][0]["level"], "help");
        assert_eq!(d["children"][0]["message"], f["help"]);
        let rendered = d["rendered"].as_str().unwrap();
        let head = format!(
            "error[{}]: {}\n --> {}:{}:{}\n",
            f["rule"].as_str().unwrap(),
            f["message"].as_str().unwrap(),
            f["path"].as_str().unwrap(),
            f["line"],
            f["column"]
        );
        assert!(rendered.starts_with(&head), "{rendered}");
    }
    let greet =
        messages.iter().find(|m| m["message"]["message"].as_str().is_some_and(|s| s.contains("`greet`"))).unwrap();
    assert!(greet["message"]["spans"][0]["byte_start"] != greet["message"]["spans"][0]["column_start"]);
    // The parse error, with a zero-width span at its position.
    let e = &messages[messages.len() - 2]["message"];
    assert_eq!(e["code"]["code"], "parse-error");
    let s = &e["spans"][0];
    assert_eq!((&s["line_start"], &s["column_start"]), (&errors(&r)[0]["line"], &errors(&r)[0]["column"]));
    assert_eq!(s["byte_start"], s["byte_end"]);

    // Without findings: only `build-finished`, successful.
    let clean = TestDir::new("cargo-json-clean");
    clean.write("src/lib.rs", "pub async fn fine() {}\n");
    assert_eq!(lines_as_json(&clean.check("cargo-json", 0)), [json!({"reason": "build-finished", "success": true})]);
}

// ---- all formats ---------------------------------------------------------------------------------

#[test]
fn every_format_is_deterministic() {
    let dir = TestDir::sample("deterministic");
    for format in FORMATS {
        let first = dir.check(format, 1);
        let second = dir.check(format, 1);
        assert_eq!(first, second, "--format {format} differs between two runs");
        assert!(first.ends_with('\n'), "--format {format} does not end its last line");
    }
}

#[test]
fn a_clean_project_gives_empty_reports() {
    let dir = TestDir::new("clean");
    dir.write("src/lib.rs", "pub async fn fine() {}\n");
    assert_eq!(dir.check("json-lines", 0), "");
    assert_eq!(dir.check("rdjsonl", 0), "");
    assert_eq!(serde_json::from_str::<Value>(&dir.check("rdjson", 0)).unwrap()["diagnostics"], json!([]));
    assert_eq!(serde_json::from_str::<Value>(&dir.check("gitlab", 0)).unwrap(), json!([]));
    let github = dir.check("github", 0);
    assert_eq!(github.lines().count(), 1, "{github}");
    assert!(!github.starts_with("::"));
}

/// Applies rdjson suggestions the way reviewdog does: each replaces its range (1-based line,
/// 1-based byte column, end exclusive) with its text; later ranges first, so earlier ones stay put.
fn apply_suggestions(text: &str, diagnostics: &[Value]) -> String {
    let line_starts: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let offset = |pos: &Value| line_starts[n(&pos["line"]) as usize - 1] + n(&pos["column"]) as usize - 1;
    let mut edits: Vec<(usize, usize, String)> = diagnostics
        .iter()
        .flat_map(|d| d["suggestions"].as_array().cloned().unwrap_or_default())
        .map(|s| (offset(&s["range"]["start"]), offset(&s["range"]["end"]), s["text"].as_str().unwrap().to_string()))
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_string();
    for (start, end, with) in edits {
        out.replace_range(start..end, &with);
    }
    out
}

#[test]
fn rdjson_suggestions_apply_cleanly_and_fix_what_they_claim() {
    let dir = TestDir::new("suggestions");
    let source =
        "use std::thread;\nuse std::time::Duration;\n\npub async fn f(p: &str) -> std::io::Result<String> {\n    \
                  thread::sleep(Duration::from_millis(10));\n    let s = std::fs::read_to_string(p)?;\n    \
                  let é = \"ü\"; std::fs::write(p, é)?;\n    let _f = std::fs::File::open(p)?;\n    Ok(s)\n}\n";
    dir.write("src/lib.rs", source);
    let (code, out, err) = run_in(&dir.path, &["check", "--format", "rdjsonl", "--no-cache"]);
    assert_eq!(code, 1, "{err}");
    let diagnostics = lines_as_json(&out);
    let with: Vec<&Value> = diagnostics.iter().filter(|d| d.get("suggestions").is_some()).collect();
    // sleep, read_to_string and write have same-signature twins; File::open does not.
    assert_eq!(with.len(), 3, "{out}");
    for d in &diagnostics {
        assert_only_proto_fields(d);
    }
    let fixed = apply_suggestions(source, &diagnostics);
    assert!(fixed.contains("    tokio::time::sleep(Duration::from_millis(10)).await;\n"), "{fixed}");
    assert!(fixed.contains("let s = tokio::fs::read_to_string(p).await?;"), "{fixed}");
    assert!(fixed.contains("let é = \"ü\"; tokio::fs::write(p, é).await?;"), "{fixed}");
    // The fixed file parses, and only the finding without a suggestion is left.
    dir.write("src/lib.rs", &fixed);
    let (code, out, err) = run_in(&dir.path, &["check", "--format", "json", "--no-cache"]);
    assert_eq!(code, 1, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert!(errors(&report).is_empty(), "{out}");
    let left: Vec<&str> = findings(&report).iter().map(|f| f["message"].as_str().unwrap()).collect();
    assert_eq!(left, vec!["blocking call `std::fs::File::open` inside async fn `f`"], "{out}");
}
