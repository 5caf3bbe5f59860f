//! `block-on-in-async`: blocking on a future, building a runtime, or calling tokio's `blocking_*`
//! bridges from async context, directly or through sync helpers of the workspace. tokio panics;
//! other executors park the worker thread and can deadlock without a word.

use super::blocking_call_in_async::describe_place;
use super::{chain_from, chain_sentence, RawFinding, Rule, RuleContext, RuleMeta};
use crate::catalogue::BlockingApi;
use crate::model::callgraph::{SiteKind, Summary};

declare_rule!(
    BlockOnInAsync,
    "block-on-in-async",
    Critical,
    "block_on, a new runtime, or a tokio blocking_* method reached from async code: a panic or a silent deadlock"
);

/// What happens at run time, by the catalogue entry's kind.
fn consequence(api: &BlockingApi) -> &'static str {
    match api.kind.as_str() {
        "panic-runtime" => "panics at run time: \"Cannot start a runtime from within a runtime\"",
        "panic-blocking" => "panics at run time: \"Cannot block the current thread from within a runtime\"",
        "build-runtime" => {
            "builds a runtime inside a runtime: blocking on it panics (\"Cannot start a runtime from within a runtime\") and so does dropping it there"
        }
        _ => "parks the worker thread until the future completes; if that future needs this runtime, the service deadlocks without an error",
    }
}

impl Rule for BlockOnInAsync {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext, out: &mut Vec<RawFinding>) {
        let model = cx.model;
        for (f, site, kind, call) in cx.async_sites() {
            let name = model.fn_short_name(f);
            let (api, message, chain, help) = match site.kind {
                SiteKind::BlockOn(api_idx) => {
                    let api = &model.cat.block_on.apis[api_idx];
                    let message =
                        format!("`{}` inside {} {}", api.display, describe_place(kind, &name), consequence(api));
                    (api, message, Vec::new(), api.help.clone())
                }
                SiteKind::Calls(helper) => {
                    let Some(w) = cx.graph.witness(helper, Summary::BlockOn) else { continue };
                    let api = &model.cat.block_on.apis[w.api];
                    let (chain, helpers) = chain_from(cx, f, site.call, helper, Summary::BlockOn);
                    let message =
                        format!("{}, which {}", chain_sentence(&name, &helpers, &api.display), consequence(api));
                    let first = helpers.first().cloned().unwrap_or_default();
                    let help = format!("make `{first}` async and `.await` it, or call it inside `tokio::task::spawn_blocking(move || ..)`: {}", api.help);
                    (api, message, chain, help)
                }
                SiteKind::Blocking(_) => continue,
            };
            out.push(RawFinding {
                rule: META.id,
                severity: api.severity.unwrap_or(META.default_severity),
                file: f.file,
                span: call.span,
                message,
                help,
                function: model.fn_path(f),
                chain,
                related: Vec::new(),
                replace_callee: None,
            });
        }
    }
}
