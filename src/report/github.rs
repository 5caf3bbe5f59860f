//! `--format github`: GitHub Actions workflow commands, one `::error` / `::warning` line per
//! finding, which the runner turns into annotations on the changed files.
//!
//! Conventions (`@actions/core`): `line`/`endLine` are 1-based; `col`/`endColumn` are 1-based
//! character columns, `endColumn` exclusive like the location model, and are only sent when the
//! finding starts and ends on one line. Critical and high findings are `::error`, medium ones
//! `::warning`. GitHub shows only 10 annotations of each level per step, so the most severe come
//! first and the output ends with a plain summary line. Every value is escaped, so nothing from
//! the code under review (a path, a message) can end the command or start another one.

use std::fmt::Write;

use super::summary_line;
use crate::findings::{FileError, Finding, Severity};
use crate::Analysis;

/// Annotations GitHub shows per level and step; past it they stay in the log only.
const SHOWN_PER_LEVEL: usize = 10;

pub fn render(analysis: &Analysis) -> String {
    // Rank: critical and high findings, then file errors (also `::error`), then warnings.
    let mut lines: Vec<(u8, String)> = analysis
        .findings
        .iter()
        .map(|f| {
            let rank = match f.severity {
                Severity::Critical => 0,
                Severity::High => 1,
                Severity::Medium => 3,
            };
            (rank, finding_command(f))
        })
        .chain(analysis.errors.iter().map(|e| (2, error_command(e))))
        .collect();
    lines.sort_by_key(|(rank, _)| *rank);
    let mut out = String::new();
    for (_, line) in &lines {
        out.push_str(line);
        out.push('\n');
    }
    let errors = lines.iter().filter(|(rank, _)| *rank < 3).count();
    let warnings = lines.len() - errors;
    let mut summary = summary_line(analysis);
    if errors > SHOWN_PER_LEVEL || warnings > SHOWN_PER_LEVEL {
        summary.push_str(&format!(
            " GitHub shows {SHOWN_PER_LEVEL} annotations of each level per step; the rest are in this log \
             (use --format sarif or rdjsonl to see all of them on the pull request)."
        ));
    }
    let _ = writeln!(out, "{summary}");
    out
}

pub fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
    }
}

fn finding_command(f: &Finding) -> String {
    let loc = &f.location;
    let mut props =
        vec![("file", loc.path.clone()), ("line", loc.line.to_string()), ("endLine", loc.end_line.to_string())];
    if loc.line == loc.end_line {
        props.push(("col", loc.column.to_string()));
        props.push(("endColumn", loc.end_column.to_string()));
    }
    props.push(("title", format!("asynclint: {} ({})", f.rule, f.severity.as_str())));
    let mut message = format!("{}\nhelp: {}", f.message, f.help);
    if !f.chain.is_empty() {
        let steps: Vec<String> =
            f.chain.iter().map(|s| format!("{} ({}:{}:{})", s.function, s.path, s.line, s.column)).collect();
        let _ = write!(message, "\ncall chain: {}", steps.join(" -> "));
    }
    for r in &f.related {
        let _ = write!(message, "\nsee {} ({}:{}:{})", r.message, r.path, r.line, r.column);
    }
    format_command(command(f.severity), &props, &message)
}

fn error_command(e: &FileError) -> String {
    let mut props = vec![("file", e.path.clone())];
    if let Some(line) = e.line {
        props.push(("line", line.to_string()));
        if let Some(column) = e.column {
            props.push(("col", column.to_string()));
        }
    }
    props.push(("title", format!("asynclint: {}", e.kind.as_str())));
    format_command("error", &props, &format!("{}: {} (this file was not analysed)", e.kind.as_str(), e.message))
}

/// `::name key=value,key=value::message`, escaped as `@actions/core` does.
pub fn format_command(name: &str, props: &[(&str, String)], message: &str) -> String {
    let props: Vec<String> = props.iter().map(|(k, v)| format!("{k}={}", escape_property(v))).collect();
    format!("::{name} {}::{}", props.join(","), escape_data(message))
}

/// Message escaping: `%`, CR and LF as the runner decodes them; any other control character or
/// bidirectional override (from a file name or the code) is written out as `\u{..}`, so it never
/// reaches the log raw.
pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c if c.is_control() || super::is_bidi_control(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// Property escaping: as for messages, plus `:` and `,`, which delimit properties.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_data("50%\r\nnext::x"), "50%25%0D%0Anext::x");
        assert_eq!(escape_property("a,b:c%\n"), "a%2Cb%3Ac%25%0A");
        assert_eq!(
            format_command("error", &[("file", "a,b.rs".to_string()), ("line", "3".to_string())], "x\ny"),
            "::error file=a%2Cb.rs,line=3::x%0Ay"
        );
    }
}
