//! `sql-injection`: SQL text assembled with `format!`, `+` or `push_str` from a runtime value of
//! string or unknown type, then run. Whoever controls that value controls the statement.

use super::{RawFinding, RawStep, Rule, RuleContext, RuleMeta};
use crate::model::db::{SqlBuild, Taint};
use crate::model::Model;

declare_rule!(
    SqlInjection,
    "sql-injection",
    Critical,
    "SQL text built with format!, + or push_str from a runtime value, instead of bind parameters"
);

const HELP: &str = "keep the SQL text constant and pass values as bind parameters: `sqlx::query(\"... WHERE category = $1\").bind(&category)` (tokio-postgres: `client.query(\"... $1\", &[&category])`); for identifiers such as a sort column, match the input against a fixed list of literals";

impl Rule for SqlInjection {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext, out: &mut Vec<RawFinding>) {
        let model = cx.model;
        for b in cx.sql_builds().iter().filter(|b| b.taint == Taint::Runtime) {
            let message = format!(
                "SQL text is built from the runtime value `{}` and run by `{}`: whoever controls that value controls the statement (a quote in a value, or any text where a name or keyword goes, rewrites it)",
                b.culprit,
                sink_name(model, b)
            );
            let finding = RawFinding::new(&META, b.f.file, b.span, model.fn_path(b.f), message, HELP.to_string());
            out.push(finding.with_related(sink_step(model, b)));
        }
    }
}

/// The API that runs the text: `sqlx::query`, `execute`.
pub fn sink_name(model: &Model, b: &SqlBuild) -> String {
    let call = &model.func(b.f).calls[b.sink.idx()];
    match &call.callee {
        crate::parse::facts::Callee::Method { name, .. } => model.names.str(*name).to_string(),
        crate::parse::facts::Callee::Path { path, .. } => model.names.join(path.segs()),
        crate::parse::facts::Callee::Other => "the statement".to_string(),
    }
}

/// The statement the text reaches, when it is elsewhere than the build.
pub fn sink_step(model: &Model, b: &SqlBuild) -> Vec<RawStep> {
    let span = model.func(b.f).calls[b.sink.idx()].span;
    if span.start <= b.span.start && b.span.start < span.end {
        return Vec::new();
    }
    vec![RawStep { function: format!("the text is run here by `{}`", sink_name(model, b)), file: b.f.file, span }]
}
