//! `--format sarif`: SARIF 2.1.0, shaped the way GitHub code scanning ingests it (one run, every
//! rule in `tool.driver.rules`, `partialFingerprints`, call chains as `codeFlows`).
//!
//! Conventions: `columnKind` is `unicodeCodePoints`, so columns are the location model's 1-based
//! character columns unchanged, and `endColumn` is exclusive, as SARIF defines it. Paths become
//! relative URI references (percent-encoded) against `%SRCROOT%`, the checked root. File errors
//! are `toolExecutionNotifications` of the one invocation.

use std::fmt::Write;

use serde_json::{json, Map, Value};

use crate::findings::{ChainStep, FileError, Finding, Related, Severity};
use crate::rules::{self, RuleMeta};
use crate::Analysis;

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The key of our own fingerprint in `partialFingerprints`; the `/v1` changes if the fingerprint
/// algorithm ever does, so that code scanning does not match old alerts against new hashes.
pub const FINGERPRINT_KEY: &str = "asynclint/v1";
/// GitHub (and the schema) cap `shortDescription`/`fullDescription` at 1024 characters.
const DESCRIPTION_MAX: usize = 1024;

pub fn to_value(analysis: &Analysis) -> Value {
    let metas: Vec<&'static RuleMeta> = rules::all().iter().map(|r| r.meta()).collect();
    let rules: Vec<Value> = metas.iter().map(|m| rule_value(m)).collect();
    let results: Vec<Value> = analysis.findings.iter().map(|f| result_value(f, &metas)).collect();
    let notifications: Vec<Value> = analysis.errors.iter().map(notification_value).collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "asynclint",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

pub fn render(analysis: &Analysis) -> String {
    let mut s = serde_json::to_string_pretty(&to_value(analysis)).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}

/// `error` for critical and high, `warning` for medium: the SARIF `level`.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
    }
}

fn rule_value(meta: &RuleMeta) -> Value {
    let mut tags = vec!["async", "correctness"];
    if meta.id == "blocking-call-in-async" {
        tags.push("performance");
    }
    json!({
        "id": meta.id,
        "name": pascal_case(meta.id),
        "shortDescription": {"text": truncate(meta.summary, DESCRIPTION_MAX)},
        "fullDescription": {"text": full_description(meta)},
        "help": {"text": meta.doc, "markdown": meta.doc},
        "defaultConfiguration": {"level": level(meta.default_severity)},
        "properties": {
            "tags": tags,
            "precision": "high",
            "problem.severity": level(meta.default_severity),
        },
    })
}

fn result_value(f: &Finding, metas: &[&RuleMeta]) -> Value {
    let mut r = Map::new();
    r.insert("ruleId".into(), json!(f.rule));
    if let Some(i) = metas.iter().position(|m| m.id == f.rule) {
        r.insert("ruleIndex".into(), json!(i));
    }
    r.insert("level".into(), json!(level(f.severity)));
    r.insert("message".into(), json!({"text": message_text(f)}));
    let loc = &f.location;
    r.insert(
        "locations".into(),
        json!([{"physicalLocation": {
            "artifactLocation": artifact_location(&loc.path),
            "region": {
                "startLine": loc.line,
                "startColumn": loc.column,
                "endLine": loc.end_line,
                "endColumn": loc.end_column,
            },
        }}]),
    );
    r.insert("partialFingerprints".into(), json!({FINGERPRINT_KEY: f.fingerprint}));
    if !f.chain.is_empty() {
        let steps: Vec<Value> = f
            .chain
            .iter()
            .enumerate()
            .map(|(i, step)| {
                json!({
                    "location": {
                        "physicalLocation": point_location(&step.path, step.line, step.column),
                        "message": {"text": step_message(&f.chain, i)},
                    },
                    "nestingLevel": i,
                    "executionOrder": i + 1,
                })
            })
            .collect();
        r.insert("codeFlows".into(), json!([{"threadFlows": [{"locations": steps}]}]));
    }
    if !f.related.is_empty() {
        let related: Vec<Value> = f.related.iter().enumerate().map(|(i, rel)| related_value(i, rel)).collect();
        r.insert("relatedLocations".into(), Value::Array(related));
    }
    // GitHub ignores `fixes`; the VS Code SARIF viewer and other tools apply them.
    if let Some(fix) = &f.fix {
        r.insert(
            "fixes".into(),
            json!([{
                "description": {"text": format!("replace with `{}`", fix.replacement)},
                "artifactChanges": [{
                    "artifactLocation": artifact_location(&loc.path),
                    "replacements": [{
                        "deletedRegion": {
                            "startLine": loc.line,
                            "startColumn": loc.column,
                            "endLine": loc.end_line,
                            "endColumn": loc.end_column,
                        },
                        "insertedContent": {"text": fix.replacement},
                    }],
                }],
            }]),
        );
    }
    r.insert("properties".into(), json!({"severity": f.severity.as_str(), "function": f.function}));
    Value::Object(r)
}

/// The finding's message, then the help, then a link to each related location (`[text](id)`,
/// which GitHub renders as a link to `relatedLocations[id]`). Literal brackets are escaped so
/// that they are not read as links.
fn message_text(f: &Finding) -> String {
    let mut text = escape_brackets(&f.message);
    for (i, rel) in f.related.iter().enumerate() {
        let _ = write!(text, "; see [{}]({})", escape_brackets(&rel.message), i + 1);
    }
    let _ = write!(text, "\nhelp: {}", escape_brackets(&f.help));
    text
}

/// What happens at one step of a call chain: step `i` is a call made in `chain[i].function`, to
/// `chain[i + 1].function` or, at the last step, to the API the finding is about.
fn step_message(chain: &[ChainStep], i: usize) -> String {
    match chain.get(i + 1) {
        Some(next) => format!("`{}` calls `{}`", chain[i].function, next.function),
        None => format!("`{}` makes the call this finding reports", chain[i].function),
    }
}

fn related_value(i: usize, rel: &Related) -> Value {
    json!({
        "id": i + 1,
        "physicalLocation": point_location(&rel.path, rel.line, rel.column),
        "message": {"text": rel.message},
    })
}

fn notification_value(e: &FileError) -> Value {
    let mut region = Map::new();
    if let Some(line) = e.line {
        region.insert("startLine".into(), json!(line));
        if let Some(column) = e.column {
            region.insert("startColumn".into(), json!(column));
        }
    }
    let mut physical = Map::new();
    physical.insert("artifactLocation".into(), artifact_location(&e.path));
    if !region.is_empty() {
        physical.insert("region".into(), Value::Object(region));
    }
    json!({
        "level": "error",
        "message": {"text": format!("{}: {}", e.kind.as_str(), e.message)},
        "locations": [{"physicalLocation": physical}],
        "descriptor": {"id": e.kind.as_str()},
    })
}

/// A location known only by its start (chain steps and related places carry no end).
fn point_location(path: &str, line: u32, column: u32) -> Value {
    json!({
        "artifactLocation": artifact_location(path),
        "region": {"startLine": line, "startColumn": column},
    })
}

/// Relative paths become URI references against `%SRCROOT%`; absolute ones (files named outside
/// the checked root) become `file://` URIs. Everything but unreserved characters and `/` is
/// percent-encoded, so spaces, `%`, `#`, `:` and non-ASCII names stay valid URI references.
pub fn artifact_location(path: &str) -> Value {
    let bytes = path.as_bytes();
    if path.starts_with('/') {
        json!({"uri": format!("file://{}", percent_encode(path))})
    } else if bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/' {
        json!({"uri": format!("file:///{}:{}", &path[..1], percent_encode(&path[2..]))})
    } else {
        json!({"uri": percent_encode(path), "uriBaseId": "%SRCROOT%"})
    }
}

pub fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn escape_brackets(s: &str) -> String {
    s.replace('[', "\\[").replace(']', "\\]")
}

/// `blocking-call-in-async` -> `BlockingCallInAsync`.
fn pascal_case(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|first| first.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// The first paragraph of the doc's "What it does" section, on one line; the summary when the
/// doc has no such section.
fn full_description(meta: &RuleMeta) -> String {
    let section = meta.doc.split("## What it does").nth(1).unwrap_or("");
    let paragraph: Vec<&str> =
        section.lines().map(str::trim).skip_while(|l| l.is_empty()).take_while(|l| !l.is_empty()).collect();
    let text = paragraph.join(" ");
    if text.is_empty() || text.starts_with('#') {
        truncate(meta.summary, DESCRIPTION_MAX)
    } else {
        truncate(&text, DESCRIPTION_MAX)
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded_and_relative() {
        assert_eq!(artifact_location("src/a b/é.rs"), json!({"uri": "src/a%20b/%C3%A9.rs", "uriBaseId": "%SRCROOT%"}));
        assert_eq!(artifact_location("a:b#c%.rs")["uri"], "a%3Ab%23c%25.rs");
        assert_eq!(artifact_location("/tmp/x.rs"), json!({"uri": "file:///tmp/x.rs"}));
        assert_eq!(artifact_location("C:/x y.rs"), json!({"uri": "file:///C:/x%20y.rs"}));
    }

    #[test]
    fn names_and_descriptions() {
        assert_eq!(pascal_case("sync-lock-across-await"), "SyncLockAcrossAwait");
        for r in rules::all() {
            let d = full_description(r.meta());
            assert!(!d.is_empty() && d.chars().count() <= DESCRIPTION_MAX && !d.contains('\n'), "{d}");
        }
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
