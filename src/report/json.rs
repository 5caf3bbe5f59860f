//! `--format json`: the versioned schema review bots read (documented in docs/json-schema.md).
//! Field names and meanings only change with `version`.

use serde_json::{json, Value};

use super::count_by_severity;
use crate::findings::{FileError, Finding};
use crate::Analysis;

pub const SCHEMA_VERSION: u32 = 1;

/// One finding as it appears in the `findings` array (and, one per line, in `json-lines`).
pub fn finding_value(f: &Finding) -> Value {
    json!({
        "rule": f.rule,
        "severity": f.severity.as_str(),
        "message": f.message,
        "path": f.location.path,
        "line": f.location.line,
        "column": f.location.column,
        "end_line": f.location.end_line,
        "end_column": f.location.end_column,
        "function": f.function,
        "chain": f.chain.iter().map(|s| json!({"function": s.function, "path": s.path, "line": s.line, "column": s.column})).collect::<Vec<_>>(),
        "related": f.related.iter().map(|r| json!({"message": r.message, "path": r.path, "line": r.line, "column": r.column})).collect::<Vec<_>>(),
        "help": f.help,
        "fingerprint": f.fingerprint,
        "fix": f.fix.as_ref().map(|x| json!({"replacement": x.replacement})),
    })
}

/// One file error as it appears in the `errors` array (and, one per line, in `json-lines`).
pub fn error_value(e: &FileError) -> Value {
    json!({"kind": e.kind.as_str(), "path": e.path, "line": e.line, "column": e.column, "message": e.message})
}

pub fn to_value(analysis: &Analysis) -> Value {
    let [critical, high, medium] = count_by_severity(&analysis.findings);
    let findings: Vec<Value> = analysis.findings.iter().map(finding_value).collect();
    let errors: Vec<Value> = analysis.errors.iter().map(error_value).collect();
    json!({
        "version": SCHEMA_VERSION,
        "tool": {"name": "asynclint", "version": env!("CARGO_PKG_VERSION")},
        "summary": {
            "files": analysis.files,
            "findings": analysis.findings.len(),
            "by_severity": {"critical": critical, "high": high, "medium": medium},
            "errors": analysis.errors.len(),
        },
        "findings": findings,
        "errors": errors,
    })
}

pub fn render(analysis: &Analysis) -> String {
    let mut s = serde_json::to_string_pretty(&to_value(analysis)).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}
