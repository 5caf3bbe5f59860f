//! Runs every fixture and checks its inline expectations both ways: each `//~ rule-id` (or
//! `//~^ rule-id` for the line above, one caret per line) must be matched by a finding of that rule
//! on that line, and each finding must be matched by an annotation.
//!
//! - `fixtures/<rule-id>/*.rs`: each file is analysed alone, as a crate of its own.
//! - `fixtures/projects/<name>/`: each project is walked and analysed like `asynclint check` does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use asynclint::walk::{walk, FsLoader, WalkOptions};
use asynclint::workspace::WorkspaceInput;
use asynclint::{analyze, rules, Analysis, MemoryLoader, Options};

type Key = (String, u32, String);

fn expectations(path: &str, text: &str) -> Result<BTreeMap<Key, usize>, String> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let Some(pos) = line.find("//~") else { continue };
        let rest = &line[pos + 3..];
        let carets = rest.chars().take_while(|c| *c == '^').count();
        let target = (i + 1)
            .checked_sub(carets)
            .filter(|l| *l >= 1)
            .ok_or_else(|| format!("{path}:{}: caret points above the file", i + 1))?;
        let ids: Vec<&str> = rest[carets..].split_whitespace().collect();
        if ids.is_empty() {
            return Err(format!("{path}:{}: `//~` names no rule", i + 1));
        }
        for id in ids {
            if rules::by_id(id).is_none() {
                return Err(format!("{path}:{}: unknown rule `{id}` in annotation", i + 1));
            }
            *out.entry((path.to_string(), target as u32, id.to_string())).or_insert(0) += 1;
        }
    }
    Ok(out)
}

fn actual(analysis: &Analysis) -> BTreeMap<Key, Vec<String>> {
    let mut out: BTreeMap<Key, Vec<String>> = BTreeMap::new();
    for f in &analysis.findings {
        out.entry((f.location.path.clone(), f.location.line, f.rule.to_string())).or_default().push(f.message.clone());
    }
    out
}

/// Compares expectations with findings and describes every difference.
fn compare(expected: &BTreeMap<Key, usize>, found: &BTreeMap<Key, Vec<String>>) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, &n) in expected {
        let got = found.get(key).map_or(0, Vec::len);
        if got < n {
            problems.push(format!("missing    {}:{}: {} (expected {n}, found {got})", key.0, key.1, key.2));
        }
    }
    for (key, messages) in found {
        let want = expected.get(key).copied().unwrap_or(0);
        if messages.len() > want {
            for m in &messages[want..] {
                problems.push(format!("unexpected {}:{}: {}: {m}", key.0, key.1, key.2));
            }
        }
    }
    problems
}

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

#[test]
fn rule_fixtures_match_their_annotations() {
    let mut problems = Vec::new();
    let mut checked = 0;
    // Every folder of `fixtures/` but `projects/` holds single-file fixtures; each rule must have
    // at least one folder named after it (`blocking-call-in-async`, `blocking-call-in-async-transitive`).
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_root())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "projects"))
        .collect();
    dirs.sort();
    for rule in rules::all() {
        let id = rule.meta().id;
        assert!(
            dirs.iter().any(|d| d.file_name().unwrap().to_string_lossy().starts_with(id)),
            "rule `{id}` has no fixture folder under fixtures/"
        );
    }
    for dir in dirs {
        let folder = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "fixture folder `{folder}` has no .rs files");
        for path in files {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let shown = format!("{folder}/{name}");
            let text = std::fs::read_to_string(&path).unwrap();
            let expected = match expectations(&shown, &text) {
                Ok(e) => e,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            let mut loader = MemoryLoader::default();
            loader.files.insert(shown.clone(), text.into_bytes());
            let input = WorkspaceInput { files: vec![shown.clone()], ..Default::default() };
            let analysis = analyze(&input, &loader, &Options::default()).unwrap();
            for e in &analysis.errors {
                problems.push(format!("error      {}: {:?} {}", e.path, e.kind, e.message));
            }
            problems.extend(compare(&expected, &actual(&analysis)));
            checked += 1;
        }
    }
    assert!(checked > 0);
    assert!(problems.is_empty(), "{} fixture mismatches:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn project_fixtures_match_their_annotations() {
    let root = fixtures_root().join("projects");
    let mut projects: Vec<PathBuf> =
        std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    projects.sort();
    assert!(!projects.is_empty());
    let mut problems = Vec::new();
    for project in projects {
        let walked = walk(std::slice::from_ref(&project), &WalkOptions { no_ignore: false }).unwrap();
        let loader = FsLoader { base: walked.base.clone() };
        let analysis = analyze(&walked.input, &loader, &Options::default()).unwrap();
        let mut expected = BTreeMap::new();
        for file in &walked.input.files {
            let text = std::fs::read_to_string(project.join(file)).unwrap_or_default();
            match expectations(file, &text) {
                Ok(e) => expected.extend(e),
                Err(e) => problems.push(e),
            }
        }
        let name = project.file_name().unwrap().to_string_lossy().into_owned();
        let diffs = compare(&expected, &actual(&analysis));
        problems.extend(diffs.into_iter().map(|d| format!("[{name}] {d}")));
    }
    assert!(problems.is_empty(), "{} fixture mismatches:\n{}", problems.len(), problems.join("\n"));
}
