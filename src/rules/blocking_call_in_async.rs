//! `blocking-call-in-async`: a call to a known blocking API (std::fs, thread::sleep, std::net, a
//! sync database or HTTP client, ...) made directly in async context, where it stalls the worker
//! thread and every task scheduled on it.

use super::{RawFinding, Rule, RuleMeta};
use crate::findings::Severity;
use crate::model::context::{AsyncKind, Exec};
use crate::model::Model;

pub struct BlockingCallInAsync;

pub static META: RuleMeta = RuleMeta {
    id: "blocking-call-in-async",
    default_severity: Severity::Critical,
    summary: "a blocking call (std::fs, thread::sleep, std::net, a sync DB or HTTP client) in async code",
    doc: include_str!("../../rules/blocking-call-in-async.md"),
};

impl Rule for BlockingCallInAsync {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, model: &Model, out: &mut Vec<RawFinding>) {
        for f in model.all_fns() {
            let func = model.func(f);
            if func.calls.is_empty() {
                continue;
            }
            let exec = model.exec_table(f);
            for call in &func.calls {
                let Exec::Async(kind, _) = exec.of(call.ctx) else { continue };
                let Some(api_idx) = model.api_called(&model.cat.blocking, f, call) else { continue };
                let api = &model.cat.blocking.apis[api_idx];
                let name = model.fn_short_name(f);
                let place = match kind {
                    AsyncKind::AsyncFn => format!("async fn `{name}`"),
                    AsyncKind::AsyncBlock => format!("an async block in `{name}`"),
                    AsyncKind::AsyncClosure => format!("an async closure in `{name}`"),
                };
                out.push(RawFinding {
                    rule: META.id,
                    severity: api.severity.unwrap_or(META.default_severity),
                    file: f.file,
                    span: call.span,
                    message: format!("blocking call `{}` inside {place}", api.display),
                    help: api.help.clone(),
                    function: model.fn_path(f),
                    chain: Vec::new(),
                });
            }
        }
    }
}
