//! `--format rdjson` (one reviewdog `DiagnosticResult`) and `--format rdjsonl` (one reviewdog
//! `Diagnostic` per line), for `reviewdog -f=rdjson` / `-f=rdjsonl`.
//!
//! Conventions (reviewdog's `proto/rdf/reviewdog.proto`): lines are 1-based, columns are 1-based
//! and count UTF-8 BYTES, and `end` is exclusive. The location model has character columns, so
//! the byte columns come from the file text in `ReportContext::sources` (the same text, after
//! `parse::source_text`, that the byte offsets index); where the text is missing or no longer
//! matches the finding, the range falls back to whole lines (start and end without columns).
//!
//! reviewdog reads these with protojson, which rejects unknown fields: only fields of the proto
//! are written. `suggestions` are written for findings with a mechanical fix (a blocking call
//! whose async twin takes the same arguments, `std::thread::sleep(d)` -> `tokio::time::sleep(d)
//! .await`); other helps (`spawn_blocking`, a different lock) are not mechanical edits.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::ReportContext;
use crate::findings::{FileError, Finding, Severity};
use crate::Analysis;

/// The files whose text this format (and `cargo-json`) needs in `ReportContext::sources`: those
/// with findings, and those with a file error at a known line.
pub fn source_paths(analysis: &Analysis) -> Vec<String> {
    let mut paths: Vec<String> = analysis
        .findings
        .iter()
        .map(|f| f.location.path.clone())
        .chain(analysis.errors.iter().filter(|e| e.line.is_some()).map(|e| e.path.clone()))
        .collect();
    paths.sort_unstable();
    paths.dedup();
    paths
}

pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "ERROR",
        Severity::Medium => "WARNING",
    }
}

/// `--format rdjson`: one `DiagnosticResult`, pretty-printed.
pub fn render(analysis: &Analysis, ctx: &ReportContext) -> String {
    let value = json!({
        "source": source(),
        "diagnostics": diagnostics(analysis, ctx),
    });
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}

/// `--format rdjsonl`: one `Diagnostic` per line, nothing else (no summary line: every line must
/// parse as a `Diagnostic`).
pub fn render_lines(analysis: &Analysis, ctx: &ReportContext) -> String {
    let mut out = String::new();
    for d in diagnostics(analysis, ctx) {
        out.push_str(&serde_json::to_string(&d).unwrap_or_default());
        out.push('\n');
    }
    out
}

fn source() -> Value {
    json!({"name": "asynclint"})
}

fn diagnostics(analysis: &Analysis, ctx: &ReportContext) -> Vec<Value> {
    let mut files = Files::new(ctx.sources);
    let mut out: Vec<Value> = analysis.findings.iter().map(|f| finding_diagnostic(f, &mut files)).collect();
    out.extend(analysis.errors.iter().map(|e| error_diagnostic(e, &mut files)));
    out
}

fn finding_diagnostic(f: &Finding, files: &mut Files) -> Value {
    let loc = &f.location;
    let start = files.byte_column(&loc.path, loc.line, loc.column, loc.byte_start);
    let end = files.byte_column(&loc.path, loc.end_line, loc.end_column, loc.byte_end);
    let range = match (start, end) {
        (Some(sc), Some(ec)) => json!({
            "start": {"line": loc.line, "column": sc},
            "end": {"line": loc.end_line, "column": ec},
        }),
        // Without columns reviewdog reads the range as whole lines, end line included.
        _ => json!({"start": {"line": loc.line}, "end": {"line": loc.end_line}}),
    };
    let mut message = format!("{}\nhelp: {}", f.message, f.help);
    if !f.chain.is_empty() {
        let steps: Vec<String> =
            f.chain.iter().map(|s| format!("`{}` ({}:{}:{})", s.function, s.path, s.line, s.column)).collect();
        message.push_str(&format!("\ncall chain: {}", steps.join(" -> ")));
    }
    for r in &f.related {
        message.push_str(&format!("\nsee {} ({}:{}:{})", r.message, r.path, r.line, r.column));
    }
    let mut diagnostic = json!({
        "message": message,
        "location": {"path": loc.path, "range": range},
        "severity": severity(f.severity),
        "source": source(),
        "code": {"value": f.rule},
    });
    // A mechanical fix becomes a suggestion over exactly the finding's range, which reviewdog
    // posts as a one-click suggested change. Without byte columns there is no exact range.
    if let (Some(fix), Some(sc), Some(ec)) = (&f.fix, start, end) {
        diagnostic["suggestions"] = json!([{
            "range": {"start": {"line": loc.line, "column": sc}, "end": {"line": loc.end_line, "column": ec}},
            "text": fix.replacement,
        }]);
    }
    diagnostic
}

fn error_diagnostic(e: &FileError, files: &mut Files) -> Value {
    let location = match (e.line, e.column) {
        (Some(line), Some(column)) => match files.byte_column_of(&e.path, line, column) {
            Some(bc) => json!({"path": e.path, "range": {"start": {"line": line, "column": bc}}}),
            None => json!({"path": e.path, "range": {"start": {"line": line}}}),
        },
        (Some(line), None) => json!({"path": e.path, "range": {"start": {"line": line}}}),
        _ => json!({"path": e.path}),
    };
    json!({
        "message": format!("{}: {}", e.kind.as_str(), e.message),
        "location": location,
        "severity": "ERROR",
        "source": source(),
        "code": {"value": e.kind.as_str()},
    })
}

/// Line starts of the files in `sources`, built on first use.
pub struct Files<'a> {
    pub sources: &'a HashMap<String, String>,
    pub lines: HashMap<String, Vec<usize>>,
}

impl<'a> Files<'a> {
    pub fn new(sources: &'a HashMap<String, String>) -> Files<'a> {
        Files { sources, lines: HashMap::new() }
    }

    /// The byte offset of a 1-based line and 1-based character column, if the text has them.
    pub fn offset_of(&mut self, path: &str, line: u32, column: u32) -> Option<usize> {
        let text = self.sources.get(path)?;
        let starts = self.lines.entry(path.to_string()).or_insert_with(|| {
            let mut v = vec![0];
            v.extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
            v
        });
        let start = *starts.get((line as usize).checked_sub(1)?)?;
        let end = starts.get(line as usize).copied().unwrap_or(text.len());
        let line_text = text.get(start..end)?;
        let k = (column as usize).checked_sub(1)?;
        let at = line_text.char_indices().map(|(i, _)| i).chain(std::iter::once(line_text.len())).nth(k)?;
        Some(start + at)
    }

    /// The 1-based byte column of a 1-based character column.
    pub fn byte_column_of(&mut self, path: &str, line: u32, column: u32) -> Option<u32> {
        let offset = self.offset_of(path, line, column)?;
        let line_start = self.lines.get(path)?[line as usize - 1];
        Some((offset - line_start + 1) as u32)
    }

    /// The byte column of a position whose byte offset is also known: `None` unless the text
    /// puts that line and character column at exactly that offset (a file that changed since).
    pub fn byte_column(&mut self, path: &str, line: u32, column: u32, offset: u32) -> Option<u32> {
        if self.offset_of(path, line, column)? != offset as usize {
            return None;
        }
        self.byte_column_of(path, line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_columns_count_utf8_bytes() {
        let mut sources = HashMap::new();
        sources.insert("a.rs".to_string(), "fn a() {}\nlet é = a𐐀b;\n".to_string());
        let mut files = Files::new(&sources);
        // `b` is character 11 of line 2 and byte 15 (é is 2 bytes, 𐐀 is 4).
        assert_eq!(files.byte_column_of("a.rs", 2, 11), Some(15));
        assert_eq!(files.byte_column_of("a.rs", 1, 1), Some(1));
        let b = sources["a.rs"].find('b').unwrap() as u32;
        assert_eq!(files.byte_column("a.rs", 2, 11, b), Some(15));
        assert_eq!(files.byte_column("a.rs", 2, 11, b + 1), None);
        assert_eq!(files.byte_column_of("a.rs", 9, 1), None);
        assert_eq!(files.byte_column_of("b.rs", 1, 1), None);
    }
}
