//! `--statistics`: instead of the findings, one row per rule (count, rule id, severity, summary),
//! most frequent first, then the totals; as ruff's `--statistics` does.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::summary_line;
use crate::findings::Severity;
use crate::rules;
use crate::Analysis;

/// One rule's row: how many findings, of which severities (most severe first).
struct Row {
    rule: &'static str,
    count: usize,
    severities: Vec<Severity>,
    summary: &'static str,
}

fn rows(analysis: &Analysis) -> Vec<Row> {
    let mut by_rule: BTreeMap<&'static str, (usize, Vec<Severity>)> = BTreeMap::new();
    for f in &analysis.findings {
        let entry = by_rule.entry(f.rule).or_default();
        entry.0 += 1;
        if !entry.1.contains(&f.severity) {
            entry.1.push(f.severity);
        }
    }
    let mut out: Vec<Row> = by_rule
        .into_iter()
        .map(|(rule, (count, mut severities))| {
            severities.sort();
            let summary = rules::by_id(rule).map_or("", |r| r.meta().summary);
            Row { rule, count, severities, summary }
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.rule.cmp(b.rule)));
    out
}

/// The table, for `--format full` and `concise`.
pub fn render(analysis: &Analysis) -> String {
    let rows = rows(analysis);
    let count_w = rows.iter().map(|r| r.count.to_string().len()).max().unwrap_or(1);
    let rule_w = rows.iter().map(|r| r.rule.len()).max().unwrap_or(0);
    let sev = |r: &Row| r.severities.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("/");
    let sev_w = rows.iter().map(|r| sev(r).len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in &rows {
        let _ = writeln!(out, "{:>count_w$}  {:<rule_w$}  {:<sev_w$}  {}", r.count, r.rule, sev(r), r.summary);
    }
    let _ = writeln!(out, "{}", summary_line(analysis));
    out
}

/// The same rows as JSON, for `--format json`: `severity` is the most severe of the rule's findings.
pub fn render_json(analysis: &Analysis) -> String {
    let list: Vec<serde_json::Value> = rows(analysis)
        .iter()
        .map(|r| {
            serde_json::json!({
                "rule": r.rule,
                "count": r.count,
                "severity": r.severities.first().map_or("", |s| s.as_str()),
                "summary": r.summary,
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".to_string());
    s.push('\n');
    s
}
