//! `formatted-sql`: SQL text assembled at run time from constants or numbers only. Not injectable,
//! but the statement text changes per call, which defeats prepared-statement caching, hides the
//! SQL from compile-time checking (`sqlx::query!`), and invites the next edit to interpolate user
//! input the same way.

use super::sql_injection::{sink_name, sink_step};
use super::{RawFinding, Rule, RuleContext, RuleMeta};
use crate::model::db::Taint;

declare_rule!(
    FormattedSql,
    "formatted-sql",
    Medium,
    "SQL text built with format! from constants or numbers, where a static string and bind parameters would do"
);

const HELP: &str = "write the statement as one string literal (`concat!` can join constant pieces) and pass numbers as bind parameters (`LIMIT $1` with `.bind(limit)`)";

impl Rule for FormattedSql {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext, out: &mut Vec<RawFinding>) {
        let model = cx.model;
        for b in cx.sql_builds().iter().filter(|b| b.taint != Taint::Runtime) {
            // Compile-time checking is sqlx's `query!`; other drivers only lose the literal.
            let sqlx = matches!(model.db_role(b.f, b.sink), Some((_, on)) if on.first().is_some_and(|s| model.names.str(*s) == "sqlx"));
            let checked = if sqlx { ", and `sqlx::query!` cannot check it" } else { "" };
            let consequence = match b.taint {
                Taint::Number => format!(
                    "interpolating the number `{}`: not injectable, but every new value makes a new statement text to parse and plan{checked}",
                    b.culprit
                ),
                _ => format!(
                    "interpolating only fixed text (`{}`): not injectable, but the SQL is not one literal{checked}, and the next edit can interpolate user input the same way",
                    b.culprit
                ),
            };
            let message =
                format!("SQL text run by `{}` is assembled with `format!`, {consequence}", sink_name(model, b));
            let finding = RawFinding::new(&META, b.f.file, b.span, model.fn_path(b.f), message, HELP.to_string());
            out.push(finding.with_related(sink_step(model, b)));
        }
    }
}
