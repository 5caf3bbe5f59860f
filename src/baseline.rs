//! Baselines (`--generate-baseline FILE`, `--baseline FILE`, `--prune-baseline`): adopt asynclint
//! on a codebase with known findings, fail only on new ones, and let the list of known ones only
//! shrink. Pure functions on data; `main` reads and writes the file.
//!
//! The file is JSON, versioned, keyed by fingerprint. Fingerprints hash the rule, the path, the
//! enclosing function and the normalised code, never line numbers, so entries survive edits
//! elsewhere in a file. Rule, path, function and message are there for the humans who review the
//! file; matching uses only the fingerprint and the count.
//!
//! ```json
//! {
//!   "version": 1,
//!   "tool": "asynclint",
//!   "findings": {
//!     "06e8495fab4d932a": {"rule": "blocking-call-in-async", "path": "src/lib.rs", "function": "crate::greet",
//!                          "message": "blocking call `std::thread::sleep` inside async fn `greet`", "count": 1}
//!   }
//! }
//! ```

use serde_json::{json, Map, Value};

use crate::findings::Finding;

pub const BASELINE_VERSION: u64 = 1;

/// One known finding, or several with the same fingerprint (`count`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub fingerprint: String,
    pub rule: String,
    pub path: String,
    pub function: String,
    pub message: String,
    pub count: u32,
}

/// A baseline: its entries sorted by path, rule, function, fingerprint, one per fingerprint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baseline {
    pub entries: Vec<Entry>,
}

/// A baseline file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineError(pub String);

impl std::fmt::Display for BaselineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The result of applying a baseline to findings.
#[derive(Debug, Default)]
pub struct Filtered {
    /// Findings the baseline does not know: the new ones.
    pub new: Vec<Finding>,
    /// How many findings the baseline hid.
    pub hidden: usize,
    /// Entries (or parts of their count) no finding matched any more: fixed, moved to another
    /// function, or changed. `count` is the unmatched part.
    pub unmatched: Vec<Entry>,
}

/// The baseline of these findings: one entry per fingerprint, with how often it occurs.
pub fn generate(findings: &[Finding]) -> Baseline {
    let mut entries: Vec<Entry> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for f in findings {
        match index.get(f.fingerprint.as_str()) {
            Some(&i) => entries[i].count += 1,
            None => {
                index.insert(&f.fingerprint, entries.len());
                entries.push(Entry {
                    fingerprint: f.fingerprint.clone(),
                    rule: f.rule.to_string(),
                    path: f.location.path.clone(),
                    function: f.function.clone(),
                    message: f.message.clone(),
                    count: 1,
                });
            }
        }
    }
    sort(&mut entries);
    Baseline { entries }
}

fn sort(entries: &mut [Entry]) {
    entries.sort_by(|a, b| {
        (&a.path, &a.rule, &a.function, &a.fingerprint).cmp(&(&b.path, &b.rule, &b.function, &b.fingerprint))
    });
}

/// Hides the findings the baseline knows, each entry up to its count, in the findings' order.
pub fn filter(findings: Vec<Finding>, baseline: &Baseline) -> Filtered {
    let mut left: std::collections::HashMap<&str, u32> =
        baseline.entries.iter().map(|e| (e.fingerprint.as_str(), e.count)).collect();
    let mut out = Filtered::default();
    for f in findings {
        match left.get_mut(f.fingerprint.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                out.hidden += 1;
            }
            _ => out.new.push(f),
        }
    }
    out.unmatched = baseline
        .entries
        .iter()
        .filter_map(|e| {
            let n = left.get(e.fingerprint.as_str()).copied().unwrap_or(0);
            (n > 0).then(|| Entry { count: n, ..e.clone() })
        })
        .collect();
    out
}

/// The baseline without its unmatched entries (as `filter` reports them): an entry loses the
/// unmatched part of its count, and goes when nothing is left. Nothing is ever added.
pub fn prune(baseline: &Baseline, unmatched: &[Entry]) -> Baseline {
    let entries = baseline
        .entries
        .iter()
        .filter_map(|e| {
            let gone: u32 = unmatched.iter().filter(|u| u.fingerprint == e.fingerprint).map(|u| u.count).sum();
            let count = e.count.saturating_sub(gone);
            (count > 0).then(|| Entry { count, ..e.clone() })
        })
        .collect();
    Baseline { entries }
}

/// One entry as JSON, with its fingerprint (as in `--format json`'s `baseline.unmatched`).
pub fn entry_value(e: &Entry) -> Value {
    json!({
        "fingerprint": e.fingerprint,
        "rule": e.rule,
        "path": e.path,
        "function": e.function,
        "message": e.message,
        "count": e.count,
    })
}

/// The file's text: pretty JSON, entries in the baseline's order, a final newline.
pub fn to_json(baseline: &Baseline) -> String {
    let mut findings = Map::new();
    for e in &baseline.entries {
        findings.insert(
            e.fingerprint.clone(),
            json!({"rule": e.rule, "path": e.path, "function": e.function, "message": e.message, "count": e.count}),
        );
    }
    let value = json!({"version": BASELINE_VERSION, "tool": "asynclint", "findings": findings});
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}

/// Reads a baseline file's text. Unknown fields are ignored; a wrong version, a missing field or
/// a field of the wrong type is an error that names it.
pub fn from_json(text: &str) -> Result<Baseline, BaselineError> {
    let value: Value = serde_json::from_str(text).map_err(|e| BaselineError(format!("not valid JSON: {e}")))?;
    let top = value.as_object().ok_or_else(|| BaselineError("expected a JSON object".to_string()))?;
    match top.get("version").and_then(Value::as_u64) {
        Some(BASELINE_VERSION) => {}
        Some(v) => {
            return Err(BaselineError(format!(
                "baseline version {v} is not supported (this asynclint reads version {BASELINE_VERSION})"
            )))
        }
        None => return Err(BaselineError("missing `version` (expected 1)".to_string())),
    }
    let findings = top
        .get("findings")
        .and_then(Value::as_object)
        .ok_or_else(|| BaselineError("missing `findings` object".to_string()))?;
    let mut entries = Vec::with_capacity(findings.len());
    for (fingerprint, body) in findings {
        let field = |name: &str| -> Result<String, BaselineError> {
            body.get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| BaselineError(format!("entry `{fingerprint}`: missing or non-string `{name}`")))
        };
        let positive = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|&n| n > 0);
        let count = match body.get("count") {
            None => 1,
            Some(v) => positive(v)
                .ok_or_else(|| BaselineError(format!("entry `{fingerprint}`: `count` must be a positive integer")))?,
        };
        entries.push(Entry {
            fingerprint: fingerprint.clone(),
            rule: field("rule")?,
            path: field("path")?,
            function: field("function")?,
            message: field("message")?,
            count,
        });
    }
    sort(&mut entries);
    Ok(Baseline { entries })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Location, Severity};

    fn finding(path: &str, line: u32, fingerprint: &str) -> Finding {
        Finding {
            rule: "blocking-call-in-async",
            severity: Severity::Critical,
            message: "blocking call `std::thread::sleep`".to_string(),
            location: Location {
                path: path.to_string(),
                line,
                column: 1,
                end_line: line,
                end_column: 2,
                byte_start: 0,
                byte_end: 1,
            },
            function: "crate::f".to_string(),
            chain: vec![],
            related: vec![],
            help: String::new(),
            snippet: String::new(),
            fingerprint: fingerprint.to_string(),
            fix: None,
        }
    }

    #[test]
    fn generate_counts_duplicates_and_sorts_by_path() {
        let b = generate(&[finding("src/z.rs", 1, "bb"), finding("src/a.rs", 9, "aa"), finding("src/z.rs", 5, "bb")]);
        let summary: Vec<(&str, &str, u32)> =
            b.entries.iter().map(|e| (e.path.as_str(), e.fingerprint.as_str(), e.count)).collect();
        assert_eq!(summary, vec![("src/a.rs", "aa", 1), ("src/z.rs", "bb", 2)]);
    }

    #[test]
    fn file_round_trips_without_line_numbers() {
        let b = generate(&[finding("src/a.rs", 42, "aa"), finding("src/a.rs", 43, "aa")]);
        let text = to_json(&b);
        assert!(!text.contains("42"), "no line numbers in the file:\n{text}");
        assert!(text.contains("\"version\": 1"), "{text}");
        assert!(text.contains("\"aa\": {"), "keyed by fingerprint:\n{text}");
        assert_eq!(from_json(&text).unwrap(), b);
    }

    #[test]
    fn filter_hides_known_findings_up_to_their_count() {
        let b = generate(&[finding("src/a.rs", 1, "aa"), finding("src/a.rs", 2, "aa"), finding("src/b.rs", 1, "bb")]);
        let now = vec![
            finding("src/a.rs", 10, "aa"),
            finding("src/a.rs", 11, "aa"),
            finding("src/a.rs", 12, "aa"),
            finding("src/c.rs", 1, "cc"),
        ];
        let f = filter(now, &b);
        assert_eq!(f.hidden, 2);
        let new: Vec<(&str, u32)> = f.new.iter().map(|f| (f.fingerprint.as_str(), f.location.line)).collect();
        assert_eq!(new, vec![("aa", 12), ("cc", 1)], "a third occurrence is new, and so is an unknown one");
        let unmatched: Vec<(&str, u32)> = f.unmatched.iter().map(|e| (e.fingerprint.as_str(), e.count)).collect();
        assert_eq!(unmatched, vec![("bb", 1)]);
    }

    #[test]
    fn prune_drops_unmatched_entries_and_lowers_counts() {
        let b = generate(&[finding("src/a.rs", 1, "aa"), finding("src/a.rs", 2, "aa"), finding("src/b.rs", 1, "bb")]);
        let f = filter(vec![finding("src/a.rs", 1, "aa"), finding("src/new.rs", 1, "nn")], &b);
        let unmatched: Vec<(&str, u32)> = f.unmatched.iter().map(|e| (e.fingerprint.as_str(), e.count)).collect();
        assert_eq!(unmatched, vec![("aa", 1), ("bb", 1)]);
        let pruned = prune(&b, &f.unmatched);
        let left: Vec<(&str, u32)> = pruned.entries.iter().map(|e| (e.fingerprint.as_str(), e.count)).collect();
        assert_eq!(left, vec![("aa", 1)], "pruning never adds the new finding");
        assert!(filter(vec![finding("src/a.rs", 1, "aa")], &pruned).unmatched.is_empty());
    }

    #[test]
    fn bad_files_are_errors_that_say_why() {
        let err = |t: &str| from_json(t).unwrap_err().0;
        assert!(err("{").contains("not valid JSON"));
        assert!(err("[]").contains("JSON object"));
        assert!(err(r#"{"findings": {}}"#).contains("missing `version`"));
        assert!(err(r#"{"version": 2, "findings": {}}"#).contains("version 2 is not supported"));
        assert!(err(r#"{"version": 1}"#).contains("missing `findings`"));
        assert!(err(r#"{"version": 1, "findings": {"aa": {"rule": "r", "path": "p", "function": "f"}}}"#)
            .contains("entry `aa`: missing or non-string `message`"));
        assert!(err(r#"{"version": 1, "findings": {"aa": {"rule": "r", "path": "p", "function": "f", "message": "m", "count": 0}}}"#)
            .contains("`count` must be a positive integer"));
        let ok = from_json(r#"{"version": 1, "extra": true, "findings": {"aa": {"rule": "r", "path": "p", "function": "f", "message": "m", "future": 1}}}"#)
            .unwrap();
        assert_eq!(ok.entries[0].count, 1, "count defaults to 1; unknown fields are ignored");
    }
}
