//! `sync-lock-across-await`: a guard of a sync lock (`std::sync::Mutex`/`RwLock`, parking_lot, a
//! `RefCell` borrow) still alive at an `.await` in the same async body. Scopes are modelled: a
//! guard ends at the end of its block, at `drop(guard)`, or, as a temporary, at the end of its
//! statement; a plain `if` condition is a scope of its own, a `match`/`if let` scrutinee is not.

use super::blocking_call_in_async::describe_place;
use super::{RawFinding, RawStep, Rule, RuleContext, RuleMeta};
use crate::model::context::Exec;
use crate::model::resolve::Target;
use crate::model::RTy;
use crate::parse::facts::{ByteSpan, Callee};

declare_rule!(
    SyncLockAcrossAwait,
    "sync-lock-across-await",
    High,
    "a std::sync, parking_lot or RefCell guard held across an .await"
);

impl Rule for SyncLockAcrossAwait {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext, out: &mut Vec<RawFinding>) {
        let model = cx.model;
        for f in model.all_fns() {
            let func = model.func(f);
            let locks = func.locks();
            if locks.guards.is_empty() || locks.awaits.is_empty() {
                continue;
            }
            let exec = model.exec_table(f);
            for g in &locks.guards {
                let Exec::Async(kind, _) = exec.of(g.ctx) else { continue };
                let call = &func.calls[g.lock_call.idx()];
                let Callee::Method { receiver, name } = &call.callee else { continue };
                let RTy::Ext(ty, _) = model.value_ty(f, receiver) else { continue };
                let Some(lock) = model.cat.locks.get(&(model.canonical_type(&ty), *name)) else { continue };
                let mut end = g.end;
                if let Some(b) = g.binding {
                    for (db, dc) in &locks.drops {
                        let drop_call = &func.calls[dc.idx()];
                        let at = drop_call.span.start;
                        if *db == b && at > g.start && at < end && is_mem_drop(model, f, drop_call) {
                            end = at;
                        }
                    }
                }
                let Some(at) = locks
                    .awaits
                    .iter()
                    .filter(|(at, ctx)| *ctx == g.ctx && *at > g.start && *at < end)
                    .map(|(at, _)| *at)
                    .min()
                else {
                    continue;
                };
                let method = model.names.str(*name);
                out.push(RawFinding {
                    rule: META.id,
                    severity: META.default_severity,
                    file: f.file,
                    span: call.span,
                    message: format!(
                        "`{}` guard from `{method}()` is held across an `.await` in {}",
                        lock.type_display,
                        describe_place(kind, &model.fn_short_name(f))
                    ),
                    help: format!(
                        "end the guard before the `.await` (put it in its own block or call `drop(guard)`), or, if it must be held, use `{}`",
                        lock.instead
                    ),
                    function: model.fn_path(f),
                    chain: Vec::new(),
                    related: vec![RawStep { function: "the `.await` it is held across".to_string(), file: f.file, span: ByteSpan { start: at, end: at + 5 } }],
                    replace_callee: None,
                });
            }
        }
    }
}

fn is_mem_drop(model: &crate::model::Model, f: crate::model::FnRef, call: &crate::parse::facts::CallSite) -> bool {
    matches!(model.call_target(f, call), Target::ExtFn(p) if model.names.join(&p) == "std::mem::drop")
}
