//! `--format concise`: one line per finding, `path:line:col: severity[rule] message`, the shape
//! editors and grep understand.

use std::fmt::Write;

use super::{escape_for_terminal, summary_line};
use crate::Analysis;

pub fn render(analysis: &Analysis) -> String {
    let mut out = String::new();
    for f in &analysis.findings {
        let _ = writeln!(
            out,
            "{}:{}:{}: {}[{}] {}",
            escape_for_terminal(&f.location.path),
            f.location.line,
            f.location.column,
            f.severity.as_str(),
            f.rule,
            escape_for_terminal(&f.message)
        );
    }
    for e in &analysis.errors {
        let pos = match (e.line, e.column) {
            (Some(l), Some(c)) => format!(":{l}:{c}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{}{pos}: error[{}] {}",
            escape_for_terminal(&e.path),
            e.kind.as_str(),
            escape_for_terminal(&e.message)
        );
    }
    let _ = writeln!(out, "{}", summary_line(analysis));
    out
}
