//! `--format full` (the default): rustc-like graphical diagnostics through miette, with the code,
//! a label under the call, the `help` line and, for call chains, each step.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode, SourceSpan};

use super::{escape_for_terminal, sanitize_source, summary_line, ReportContext};
use crate::findings::{Finding, Severity};
use crate::Analysis;

pub fn render(analysis: &Analysis, ctx: &ReportContext) -> String {
    let theme = if ctx.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(ctx.width.max(40)).with_context_lines(1);
    let mut out = String::new();
    let mut sanitized: std::collections::HashMap<&str, Arc<str>> = std::collections::HashMap::new();
    for f in &analysis.findings {
        let src = sanitized
            .entry(f.location.path.as_str())
            .or_insert_with(|| {
                Arc::from(sanitize_source(ctx.sources.get(&f.location.path).map(String::as_str).unwrap_or("")))
            })
            .clone();
        let diag = FindingDiagnostic {
            finding: f,
            source: NamedSrc { name: escape_for_terminal(&f.location.path), text: src },
        };
        if handler.render_report(&mut out, &diag).is_err() {
            out.push_str(&format!(
                "{}:{}:{}: {}\n",
                diag.source.name,
                f.location.line,
                f.location.column,
                escape_for_terminal(&f.message)
            ));
        }
        out.push('\n');
    }
    for e in &analysis.errors {
        let pos = match (e.line, e.column) {
            (Some(l), Some(c)) => format!(":{l}:{c}"),
            _ => String::new(),
        };
        out.push_str(&format!(
            "error[{}]: {}\n  --> {}{pos}\n\n",
            e.kind.as_str(),
            escape_for_terminal(&e.message),
            escape_for_terminal(&e.path)
        ));
    }
    out.push_str(&summary_line(analysis));
    out.push('\n');
    out
}

struct NamedSrc {
    name: String,
    text: Arc<str>,
}

impl SourceCode for NamedSrc {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self.text.as_ref().read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

struct FindingDiagnostic<'a> {
    finding: &'a Finding,
    source: NamedSrc,
}

impl fmt::Debug for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl fmt::Display for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.finding.severity.as_str(), escape_for_terminal(&self.finding.message))
    }
}

impl std::error::Error for FindingDiagnostic<'_> {}

impl Diagnostic for FindingDiagnostic<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.finding.rule))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Critical | Severity::High => miette::Severity::Error,
            Severity::Medium => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let mut text = escape_for_terminal(&self.finding.help);
        if !self.finding.chain.is_empty() {
            text.push_str("\ncall chain:");
            for step in &self.finding.chain {
                text.push_str(&format!(
                    "\n  {} ({}:{}:{})",
                    step.function,
                    escape_for_terminal(&step.path),
                    step.line,
                    step.column
                ));
            }
        }
        Some(Box::new(text))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let loc = &self.finding.location;
        let span = SourceSpan::new((loc.byte_start as usize).into(), (loc.byte_end - loc.byte_start) as usize);
        let label = match self.finding.rule {
            "blocking-call-in-async" => "blocks the async worker thread",
            _ => "here",
        };
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(Some(label.to_string()), span))))
    }
}
