//! `unused-suppression`: an `// asynclint: allow(..)` or `allow-file(..)` directive that suppresses
//! nothing, names a rule that does not exist, cannot be read, or (with `require-reason = true`)
//! gives no ` -- reason`.
//!
//! Whether a directive suppressed something is known only once every other rule has run, so this
//! rule does not fit `Rule::check`, which sees the model, not the other rules' findings: its
//! `check` is empty and `analyze` calls `report` (through `suppress::run`) after the other rules,
//! with the directives of every file and the ids that did suppress a finding. It stays in
//! `rules::all()` for its metadata, `--select`, `asynclint rules` and `asynclint explain`.

use super::{RawFinding, Rule, RuleContext, RuleMeta};
use crate::parse::facts::{DirectiveKind, FileFacts};
use crate::suppress::Used;

declare_rule!(
    UnusedSuppression,
    "unused-suppression",
    Medium,
    "an `// asynclint: allow(..)` directive that suppresses nothing, names an unknown rule, or gives no reason"
);

impl Rule for UnusedSuppression {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    /// Runs in `analyze` after the other rules instead: see the module docs.
    fn check(&self, _cx: &RuleContext, _out: &mut Vec<RawFinding>) {}
}

/// One finding per directive with a problem. `used` holds the directive ids that suppressed a
/// finding; `enabled` says which rules ran (a directive for a rule that did not run is not judged).
pub fn report(
    facts: &[Option<FileFacts>],
    used: &Used,
    enabled: &dyn Fn(&str) -> bool,
    require_reason: bool,
) -> Vec<RawFinding> {
    let mut out = Vec::new();
    for (file, facts) in facts.iter().enumerate() {
        let Some(facts) = facts else { continue };
        for (di, d) in facts.directives.iter().enumerate() {
            let mut problems = Vec::new();
            let mut unknown = Vec::new();
            let mut unused = Vec::new();
            if d.kind == DirectiveKind::Malformed {
                problems.push(
                    "cannot read this asynclint directive: write `asynclint: allow(rule-id, ..) -- reason` or `asynclint: allow-file(rule-id, ..) -- reason`"
                        .to_string(),
                );
            }
            for (ii, id) in d.ids.iter().enumerate() {
                match super::by_id(id) {
                    None => unknown.push(format!("`{id}`")),
                    // A directive about this rule is never "unused": that would recurse.
                    Some(r) if r.meta().id == META.id => {}
                    Some(r) if !enabled(r.meta().id) => {}
                    Some(_) if used.contains(&(file as u32, di as u32, ii as u32)) => {}
                    Some(_) => unused.push(format!("`{id}`")),
                }
            }
            if !unknown.is_empty() {
                let s = if unknown.len() == 1 { "" } else { "s" };
                problems.push(format!("unknown rule{s} {} (`asynclint rules` lists them)", unknown.join(", ")));
            }
            if !unused.is_empty() {
                let place = match d.kind {
                    DirectiveKind::File => "in this file".to_string(),
                    _ => format!("on line {}", d.target_line),
                };
                problems.push(format!("no {} finding {place} to suppress", unused.join(" or ")));
            }
            if require_reason && d.kind != DirectiveKind::Malformed && !d.has_reason {
                problems.push("no reason given: end the directive with ` -- why this is fine`".to_string());
            }
            if problems.is_empty() {
                continue;
            }
            let help = if !unknown.is_empty() || d.kind == DirectiveKind::Malformed {
                "fix the rule id (see `asynclint rules`) or remove the directive"
            } else if !unused.is_empty() {
                "remove the directive (or the rule ids that suppress nothing); it would hide a future finding nobody reviewed"
            } else {
                "say why the finding is acceptable after ` -- `, so the next reader can judge it"
            };
            out.push(RawFinding {
                rule: META.id,
                severity: META.default_severity,
                file: file as u32,
                span: d.span,
                message: format!("suppression directive: {}", problems.join("; ")),
                help: help.to_string(),
                function: String::new(),
                chain: Vec::new(),
                related: Vec::new(),
                replace_callee: None,
            });
        }
    }
    out
}
