//! `error-swallowed-in-transaction`: inside a transaction, a statement's error is dropped (`let _ =`,
//! `.ok()`, an `Err` branch that logs or `continue`s) and the transaction goes on. In PostgreSQL the
//! failed statement has already aborted the transaction: every later statement fails with
//! "current transaction is aborted" (SQLSTATE 25P02) and `COMMIT` rolls everything back.

use super::{RawFinding, Rule, RuleContext, RuleMeta};
use crate::catalogue::{DbRole, ExecutorKind};
use crate::model::{FnRef, Model};
use crate::parse::facts::*;

declare_rule!(
    ErrorSwallowedInTransaction,
    "error-swallowed-in-transaction",
    High,
    "a statement's error is dropped inside a transaction that then goes on (PostgreSQL 25P02)"
);

/// Where a transaction's executor comes from: a binding (`let mut tx = pool.begin().await?`) or
/// the connection a transaction closure hands its body.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TxHandle {
    Binding(BindingId),
    ClosureParam(CtxId),
}

const HELP: &str = "propagate the error with `?` (the transaction rolls back when dropped), or, to skip one bad item and keep the rest, run that item inside a savepoint: `let mut sp = tx.begin().await?;` (sqlx) or `tx.savepoint(\"item\").await?` (tokio-postgres), and commit or drop it per item";

impl Rule for ErrorSwallowedInTransaction {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext, out: &mut Vec<RawFinding>) {
        let model = cx.model;
        for f in model.all_fns() {
            let func = model.func(f);
            if func.db().swallows.is_empty() {
                continue;
            }
            // Savepoints managed by hand (`SAVEPOINT item`) make dropping an error deliberate.
            if model.runs_sql(f, SqlKind::Savepoint) {
                continue;
            }
            let mut reported = Vec::new();
            for sw in &func.db().swallows {
                let Some(stmt_id) = statement_behind(model, f, &sw.value) else { continue };
                let Some(stmt) = model.statement(f, stmt_id) else { continue };
                let Some(executor) = stmt.executor else { continue };
                if model.executor_kind(f, &executor) != Some(ExecutorKind::Transaction) {
                    continue;
                }
                let Some(handle) = tx_handle(model, f, &executor) else { continue };
                if is_savepoint(model, f, handle) {
                    continue;
                }
                let call = &func.calls[stmt_id.idx()];
                let in_loop =
                    func.db().loops.iter().any(|l| l.body.start < call.span.start && call.span.start < l.body.end);
                // A transaction handed in by the caller (`tx: &mut Transaction<..>`) goes on there.
                let from_caller = matches!(handle, TxHandle::Binding(b) if func.params.contains(&b));
                if !in_loop && !from_caller && !used_after(model, f, handle, call.span.end) {
                    continue;
                }
                if reported.contains(&stmt_id) {
                    continue;
                }
                reported.push(stmt_id);
                let how = match sw.how {
                    SwallowHow::LetUnderscore => "discarded with `let _ =`".to_string(),
                    SwallowHow::Method => match sw.call.map(|c| &func.calls[c.idx()].callee) {
                        Some(Callee::Method { name, .. }) => {
                            format!("turned into a value with `.{}(..)`", model.names.str(*name))
                        }
                        _ => "turned into a value".to_string(),
                    },
                    SwallowHow::ErrBranch => {
                        "caught by an error branch that neither returns nor rolls back".to_string()
                    }
                };
                let then = if in_loop {
                    "the loop goes on with the same transaction"
                } else if from_caller {
                    "the caller goes on with the transaction it passed in"
                } else {
                    "the transaction is used again below"
                };
                let message = format!(
                    "the error of `{}` inside a transaction is {how}, and {then}: in PostgreSQL the failed statement aborts the transaction, every later statement fails with \"current transaction is aborted\" (25P02), and the commit rolls everything back",
                    statement_name(model, call)
                );
                out.push(RawFinding::new(&META, f.file, call.span, model.fn_path(f), message, HELP.to_string()));
            }
        }
    }
}

/// The statement whose result a value is: through `let`s and `.await`.
fn statement_behind(model: &Model, f: FnRef, v: &ValueSrc) -> Option<CallId> {
    let func = model.func(f);
    let mut v = v.clone();
    for _ in 0..16 {
        match v {
            ValueSrc::Local(b) => v = func.bindings[b.idx()].init.clone(),
            ValueSrc::Call(id) => {
                if model.statement(f, id).is_some() {
                    return Some(id);
                }
                match &func.calls[id.idx()].callee {
                    Callee::Method { receiver, name } if model.wk.passthrough.contains(name) => v = receiver.clone(),
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
    None
}

fn tx_handle(model: &Model, f: FnRef, executor: &ValueSrc) -> Option<TxHandle> {
    if let Some(b) = model.origin_binding(f, executor) {
        // A closure's parameter bound again (`|conn| { let c = conn; .. }`) is still the closure's.
        if let ValueSrc::ClosureParam(ctx, _) = model.func(f).bindings[b.idx()].init {
            return Some(TxHandle::ClosureParam(ctx));
        }
        return Some(TxHandle::Binding(b));
    }
    match executor {
        ValueSrc::ClosureParam(ctx, _) => Some(TxHandle::ClosureParam(*ctx)),
        _ => None,
    }
}

/// A savepoint: a transaction begun on a transaction (`tx.begin()`, `tx.savepoint(..)`), or a
/// transaction closure nested in another one.
fn is_savepoint(model: &Model, f: FnRef, handle: TxHandle) -> bool {
    let func = model.func(f);
    match handle {
        TxHandle::Binding(b) => {
            let Some(begin) = model.origin_call(f, &func.bindings[b.idx()].init) else { return false };
            let call = &func.calls[begin.idx()];
            match (&call.callee, model.db_role(f, begin)) {
                (Callee::Method { receiver, .. }, Some((DbRole::Begin, _))) => {
                    model.executor_kind(f, receiver) == Some(ExecutorKind::Transaction)
                }
                _ => false,
            }
        }
        TxHandle::ClosureParam(ctx) => model.in_transaction_closure(f, func.ctxs[ctx.idx()].parent),
    }
}

/// Whether the transaction is used by a call after `pos` (a later statement, or its commit).
fn used_after(model: &Model, f: FnRef, handle: TxHandle, pos: u32) -> bool {
    let func = model.func(f);
    let is_handle = |v: &ValueSrc| tx_handle(model, f, v) == Some(handle);
    func.calls.iter().filter(|c| c.span.start >= pos).any(|c| {
        c.args.iter().any(is_handle) || matches!(&c.callee, Callee::Method { receiver, .. } if is_handle(receiver))
    })
}

fn statement_name(model: &Model, call: &CallSite) -> String {
    match &call.callee {
        Callee::Method { name, .. } => model.names.str(*name).to_string(),
        Callee::Path { path, .. } => model.names.join(path.segs()),
        Callee::Other => "the statement".to_string(),
    }
}
