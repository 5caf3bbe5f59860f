//! Reporters: one output format per file. Each turns an `Analysis` into text; none prints, reads
//! files or sees syntax. Human formats escape whatever came from the code under review, so that a
//! hostile file cannot drive the terminal.

pub mod cargo_json;
pub mod concise;
pub mod full;
pub mod github;
pub mod gitlab;
pub mod json;
pub mod json_lines;
pub mod markdown;
pub mod rdjson;
pub mod review_db;
pub mod sarif;
pub mod statistics;

use std::collections::HashMap;

use crate::findings::{Finding, Severity};
use crate::Analysis;

/// What reporters may need beyond the analysis: the source text of files with findings, and
/// whether to use color.
pub struct ReportContext<'a> {
    pub sources: &'a HashMap<String, String>,
    pub color: bool,
    pub width: usize,
}

/// Replaces control characters and bidirectional overrides with `?`, byte for byte, so the text
/// is safe on a terminal and every byte offset into it still holds.
pub fn sanitize_source(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        // The `\r` of a CRLF line end is part of the line end, which the renderer handles.
        if c == '\r' && chars.peek() == Some(&'\n') {
            out.push(c);
            continue;
        }
        if is_unsafe_char(c) {
            for _ in 0..c.len_utf8() {
                out.push('?');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes control characters in short strings (paths, messages) for human-readable output,
/// line breaks and tabs included: a file name must not be able to start a line of its own.
pub fn escape_for_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_unsafe_char(c) || c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)
}

/// Bidirectional embeddings, overrides and isolates: they reorder what a terminal or a page shows
/// ("Trojan source"), so they are never written raw.
pub fn is_bidi_control(c: char) -> bool {
    ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c)
}

pub fn count_by_severity(findings: &[Finding]) -> [usize; 3] {
    let mut counts = [0; 3];
    for f in findings {
        counts[f.severity as usize] += 1;
    }
    counts
}

/// `Found 3 findings (2 critical, 1 high) in 12 files.`
pub fn summary_line(analysis: &Analysis) -> String {
    let [c, h, m] = count_by_severity(&analysis.findings);
    let n = analysis.findings.len();
    let files = analysis.files;
    let plural = |n: usize, one: &str, many: &str| if n == 1 { one.to_string() } else { many.to_string() };
    let mut s = if n == 0 {
        format!("No findings in {files} {}.", plural(files, "file", "files"))
    } else {
        let parts: Vec<String> = [(c, Severity::Critical), (h, Severity::High), (m, Severity::Medium)]
            .iter()
            .filter(|(k, _)| *k > 0)
            .map(|(k, s)| format!("{k} {}", s.as_str()))
            .collect();
        let mut with_findings: Vec<&str> = analysis.findings.iter().map(|f| f.location.path.as_str()).collect();
        with_findings.sort_unstable();
        with_findings.dedup();
        format!(
            "Found {n} {} ({}) in {} of {files} {}.",
            plural(n, "finding", "findings"),
            parts.join(", "),
            with_findings.len(),
            plural(files, "file", "files")
        )
    };
    if !analysis.errors.is_empty() {
        let e = analysis.errors.len();
        s.push_str(&format!(" {e} {} could not be analysed.", plural(e, "file", "files")));
    }
    s
}
