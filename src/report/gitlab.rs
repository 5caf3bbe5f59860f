//! `--format gitlab`: a GitLab Code Quality report, the JSON array that
//! `artifacts: reports: codequality:` takes (the Code Climate issue subset GitLab reads).
//!
//! Conventions: `location.path` is relative to the checked root; `lines.begin`/`lines.end` are
//! 1-based and inclusive (GitLab reads lines only, no columns). Severity: critical -> critical,
//! high -> major, medium -> minor. GitLab keeps only the first issue of a given fingerprint, so
//! fingerprints here are unique within the report: the finding's fingerprint, which already
//! counts occurrences, with a suffix should two ever coincide.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::findings::{FileError, Finding, Severity};
use crate::lines::fnv1a;
use crate::Analysis;

pub fn render(analysis: &Analysis) -> String {
    let mut seen: HashSet<String> = HashSet::new();
    let mut issues: Vec<Value> = Vec::new();
    for f in &analysis.findings {
        let fingerprint = unique(&mut seen, &f.fingerprint);
        issues.push(finding_issue(f, fingerprint));
    }
    for e in &analysis.errors {
        let base = format!("{:016x}", fnv1a(&["asynclint-file-error", e.kind.as_str(), &e.path, &e.message]));
        let fingerprint = unique(&mut seen, &base);
        issues.push(error_issue(e, fingerprint));
    }
    let mut s = serde_json::to_string_pretty(&Value::Array(issues)).unwrap_or_else(|_| "[]".to_string());
    s.push('\n');
    s
}

pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "major",
        Severity::Medium => "minor",
    }
}

/// Code Climate categories: a blocking call costs throughput (and latency for every task on the
/// worker); `block_on` in async code and a lock held across `.await` panic or deadlock.
pub fn categories(rule: &str) -> &'static [&'static str] {
    match rule {
        "blocking-call-in-async" => &["Performance"],
        _ => &["Bug Risk"],
    }
}

fn unique(seen: &mut HashSet<String>, base: &str) -> String {
    let mut candidate = base.to_string();
    let mut n = 1;
    while !seen.insert(candidate.clone()) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    candidate
}

fn finding_issue(f: &Finding, fingerprint: String) -> Value {
    let mut body = format!("{}\n\nhelp: {}", f.message, f.help);
    if !f.chain.is_empty() {
        body.push_str("\n\ncall chain:");
        for s in &f.chain {
            body.push_str(&format!("\n- `{}` ({}:{}:{})", s.function, s.path, s.line, s.column));
        }
    }
    json!({
        "type": "issue",
        "check_name": f.rule,
        "description": format!("{}: {}", f.rule, f.message),
        "content": {"body": body},
        "categories": categories(f.rule),
        "severity": severity(f.severity),
        "fingerprint": fingerprint,
        "location": {
            "path": f.location.path,
            "lines": {"begin": f.location.line, "end": f.location.end_line},
        },
    })
}

fn error_issue(e: &FileError, fingerprint: String) -> Value {
    let line = e.line.unwrap_or(1);
    json!({
        "type": "issue",
        "check_name": e.kind.as_str(),
        "description": format!("{}: {} (this file was not analysed)", e.kind.as_str(), e.message),
        "categories": ["Bug Risk"],
        "severity": "minor",
        "fingerprint": fingerprint,
        "location": {"path": e.path, "lines": {"begin": line, "end": line}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_made_unique() {
        let mut seen = HashSet::new();
        assert_eq!(unique(&mut seen, "ab"), "ab");
        assert_eq!(unique(&mut seen, "ab"), "ab-1");
        assert_eq!(unique(&mut seen, "ab"), "ab-2");
        assert_eq!(unique(&mut seen, "ab-1-x"), "ab-1-x");
    }
}
