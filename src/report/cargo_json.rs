//! `--format cargo-json`: the JSON lines `cargo check --message-format=json` prints, one
//! `compiler-message` per finding wrapping a rustc JSON diagnostic, then `build-finished`. Tools
//! that read cargo's messages (rust-analyzer's `check.overrideCommand`, bacon, CI problem
//! matchers) show the findings as if the compiler had reported them.
//!
//! Conventions (the rustc book's JSON chapter): `line_*` are 1-based; `column_*` are 1-based
//! character columns, `column_end` exclusive, exactly the location model's; `byte_start`/`byte_end`
//! are 0-based offsets with the end exclusive. They index the file after a leading byte-order
//! mark, where rustc counts the mark: for the rare file that starts with one, they are 3 less
//! than rustc's (readers such as rust-analyzer use the lines and columns, which agree). Critical
//! and high findings are `error`s, medium ones `warning`s. The help
//! is a `help` child; the call chain and related places are `note` children without spans, since
//! the location model has no byte range for them.

use serde_json::{json, Value};

use super::rdjson::Files;
use super::ReportContext;
use crate::findings::{FileError, Finding, Severity};
use crate::Analysis;

pub fn render(analysis: &Analysis, ctx: &ReportContext) -> String {
    let mut files = Files::new(ctx.sources);
    let mut out = String::new();
    let diagnostics = analysis
        .findings
        .iter()
        .map(finding_diagnostic)
        .chain(analysis.errors.iter().map(|e| error_diagnostic(e, &mut files)))
        .collect::<Vec<_>>();
    for d in diagnostics {
        out.push_str(&serde_json::to_string(&envelope(d)).unwrap_or_default());
        out.push('\n');
    }
    let done = json!({"reason": "build-finished", "success": analysis.findings.is_empty()});
    out.push_str(&serde_json::to_string(&done).unwrap_or_default());
    out.push('\n');
    out
}

pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
    }
}

/// The `compiler-message` cargo wraps every rustc diagnostic in. The target is a stand-in with
/// every field cargo writes, so strict readers (`cargo_metadata::Message`) accept it.
fn envelope(message: Value) -> Value {
    json!({
        "reason": "compiler-message",
        "package_id": "asynclint",
        "manifest_path": "",
        "target": {
            "kind": ["lib"],
            "crate_types": ["lib"],
            "name": "asynclint",
            "src_path": "",
            "edition": "2021",
            "doc": false,
            "doctest": false,
            "test": false,
        },
        "message": message,
    })
}

fn label(rule: &str) -> &'static str {
    match rule {
        "blocking-call-in-async" => "blocks the async worker thread",
        "block-on-in-async" => "blocks on a future inside the runtime",
        "sync-lock-across-await" => "this guard is held across an `.await`",
        _ => "here",
    }
}

fn finding_diagnostic(f: &Finding) -> Value {
    let loc = &f.location;
    let span = json!({
        "file_name": loc.path,
        "byte_start": loc.byte_start,
        "byte_end": loc.byte_end,
        "line_start": loc.line,
        "line_end": loc.end_line,
        "column_start": loc.column,
        "column_end": loc.end_column,
        "is_primary": true,
        "text": [],
        "label": label(f.rule),
        // The `tokio` twin may need the crate's `fs`/`time` features: rustc's "MaybeIncorrect".
        "suggested_replacement": f.fix.as_ref().map(|x| x.replacement.clone()),
        "suggestion_applicability": f.fix.as_ref().map(|_| "MaybeIncorrect"),
        "expansion": null,
    });
    let mut children = vec![child("help", &f.help)];
    if !f.chain.is_empty() {
        let steps: Vec<String> =
            f.chain.iter().map(|s| format!("`{}` ({}:{}:{})", s.function, s.path, s.line, s.column)).collect();
        children.push(child("note", &format!("call chain: {}", steps.join(" -> "))));
    }
    for r in &f.related {
        children.push(child("note", &format!("{} is at {}:{}:{}", r.message, r.path, r.line, r.column)));
    }
    let lvl = level(f.severity);
    let rendered = format!(
        "{lvl}[{}]: {}\n --> {}:{}:{}\n  = help: {}\n",
        f.rule, f.message, loc.path, loc.line, loc.column, f.help
    );
    json!({
        "$message_type": "diagnostic",
        "message": f.message,
        "code": {"code": f.rule, "explanation": null},
        "level": lvl,
        "spans": [span],
        "children": children,
        "rendered": rendered,
    })
}

/// A file error: an `error` with a zero-width span at its position when the file text gives
/// the byte offset, and no span otherwise.
fn error_diagnostic(e: &FileError, files: &mut Files) -> Value {
    let mut spans = Vec::new();
    let mut at = String::new();
    if let (Some(line), Some(column)) = (e.line, e.column) {
        at = format!(":{line}:{column}");
        if let Some(offset) = files.offset_of(&e.path, line, column) {
            spans.push(json!({
                "file_name": e.path,
                "byte_start": offset,
                "byte_end": offset,
                "line_start": line,
                "line_end": line,
                "column_start": column,
                "column_end": column,
                "is_primary": true,
                "text": [],
                "label": null,
                "suggested_replacement": null,
                "suggestion_applicability": null,
                "expansion": null,
            }));
        }
    }
    let message = format!("{}: {}", e.kind.as_str(), e.message);
    json!({
        "$message_type": "diagnostic",
        "message": message,
        "code": {"code": e.kind.as_str(), "explanation": null},
        "level": "error",
        "spans": spans,
        "children": [child("note", "asynclint did not analyse this file")],
        "rendered": format!("error[{}]: {}\n --> {}{at}\n", e.kind.as_str(), e.message, e.path),
    })
}

fn child(level: &str, message: &str) -> Value {
    json!({"message": message, "code": null, "level": level, "spans": [], "children": [], "rendered": null})
}
