//! `blocking-call-in-async`: a call to a known blocking API (std::fs, thread::sleep, std::net, a
//! sync database or HTTP client, ...) made in async context, directly or through sync helpers of
//! the workspace, where it stalls the worker thread and every task scheduled on it.

use super::{chain_from, chain_sentence, RawFinding, Rule, RuleContext, RuleMeta};
use crate::model::callgraph::{SiteKind, Summary};
use crate::model::context::AsyncKind;

declare_rule!(BlockingCallInAsync, "blocking-call-in-async", Critical, "a blocking call (std::fs, thread::sleep, std::net, a sync DB or HTTP client) in async code, directly or through sync helpers");

/// "async fn `retry`", "an async block in `spawn_worker`".
pub fn describe_place(kind: AsyncKind, name: &str) -> String {
    match kind {
        AsyncKind::AsyncFn => format!("async fn `{name}`"),
        AsyncKind::AsyncBlock => format!("an async block in `{name}`"),
        AsyncKind::AsyncClosure => format!("an async closure in `{name}`"),
    }
}

impl Rule for BlockingCallInAsync {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext, out: &mut Vec<RawFinding>) {
        let model = cx.model;
        for (f, site, kind, call) in cx.async_sites() {
            let name = model.fn_short_name(f);
            match site.kind {
                SiteKind::Blocking(api_idx) => {
                    let api = &model.cat.blocking.apis[api_idx];
                    out.push(RawFinding {
                        rule: META.id,
                        severity: api.severity.unwrap_or(META.default_severity),
                        file: f.file,
                        span: call.span,
                        message: format!("blocking call `{}` inside {}", api.display, describe_place(kind, &name)),
                        help: api.help.clone(),
                        function: model.fn_path(f),
                        chain: Vec::new(),
                        related: Vec::new(),
                        // Only a call by path has a callee to swap; a method call does not.
                        replace_callee: match (&call.callee, api.fix) {
                            (crate::parse::facts::Callee::Path { qself: None, .. }, true) => api.replace.clone(),
                            _ => None,
                        },
                    });
                }
                SiteKind::Calls(helper) => {
                    let Some(w) = cx.graph.witness(helper, Summary::Blocking) else { continue };
                    let api = &model.cat.blocking.apis[w.api];
                    let (chain, helpers) = chain_from(cx, f, site.call, helper, Summary::Blocking);
                    let first = helpers.first().cloned().unwrap_or_default();
                    out.push(RawFinding {
                            rule: META.id,
                            severity: api.severity.unwrap_or(META.default_severity),
                            file: f.file,
                            span: call.span,
                            message: format!("{} (blocking)", chain_sentence(&name, &helpers, &api.display)),
                            help: format!(
                                "run `{first}` inside `tokio::task::spawn_blocking(move || ..)` and `.await` it, or make the chain async: {}",
                                api.help
                            ),
                            function: model.fn_path(f),
                            chain,
                            related: Vec::new(),
                            replace_callee: None,
                        });
                }
                SiteKind::BlockOn(_) => {}
            }
        }
    }
}
