//! `non-atomic-batch-write`: a loop that writes row by row straight to a pool or a plain
//! connection, where every statement commits on its own. A failure half-way leaves half the batch
//! written, and a retry writes the first half twice. Writes reached through workspace helpers that
//! use a pool of their own (`self.pool`) count too, and the chain is shown.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use super::{RawFinding, RawStep, Rule, RuleContext, RuleMeta};
use crate::catalogue::{DbRole, ExecutorKind};
use crate::model::callgraph::SiteKind;
use crate::model::{FnRef, Model};
use crate::parse::facts::*;

declare_rule!(
    NonAtomicBatchWrite,
    "non-atomic-batch-write",
    High,
    "writes in a loop, each committed on its own on a pool or connection, instead of one transaction"
);

/// Iterator and stream adapters whose closure runs once per item.
const PER_ITEM: &[&str] = &[
    "map",
    "for_each",
    "try_for_each",
    "for_each_concurrent",
    "try_for_each_concurrent",
    "then",
    "and_then",
    "filter_map",
    "flat_map",
    "map_ok",
];
/// Adapters that only iterators and streams have: a `map` on their chain runs per item.
const ITERATING: &[&str] = &[
    "iter",
    "into_iter",
    "iter_mut",
    "chunks",
    "drain",
    "values",
    "keys",
    "lines",
    "into_values",
    // sqlx's row streams
    "fetch",
    "fetch_many",
    "into_stream",
];
/// What a `while let` must take items from to be a batch: a `next()` of an iterator or stream.
/// `while let Some(job) = rx.recv().await` handles independent jobs, one by one.
const NEXT_ITEM: &[&str] = &["next", "try_next", "pop", "pop_front", "pop_back"];

/// Why a fn writes outside a transaction: its call `call` is the write (`via == None`) or calls `via`.
#[derive(Clone, Copy)]
struct Writes {
    call: CallId,
    via: Option<FnRef>,
}

const HELP: &str = "open one transaction before the loop (`let mut tx = pool.begin().await?;`), run every statement on `&mut *tx` (pass it to helpers as `&mut PgConnection` or `impl Executor`), and `tx.commit().await?` after the loop; or write the batch as one set-based statement (`INSERT .. SELECT * FROM UNNEST($1, $2)`, or sqlx `QueryBuilder::push_values`)";

impl Rule for NonAtomicBatchWrite {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext, out: &mut Vec<RawFinding>) {
        let model = cx.model;
        // Direct autocommit writes of every fn, then who reaches one through workspace calls.
        let mut own: FxHashMap<FnRef, Writes> = FxHashMap::default();
        let mut direct: FxHashMap<FnRef, Vec<CallId>> = FxHashMap::default();
        for f in model.all_fns() {
            if model.db_calls(f).is_empty() {
                continue;
            }
            for &(id, role, _) in model.db_calls(f) {
                if !matches!(role, DbRole::Statement | DbRole::Run) {
                    continue;
                }
                let Some(uses_param) = autocommit_write(model, f, id) else { continue };
                // `BEGIN` run by hand makes the connection's statements one transaction.
                if model.runs_sql(f, SqlKind::Begin) {
                    break;
                }
                direct.entry(f).or_default().push(id);
                if !uses_param && !own.contains_key(&f) {
                    own.insert(f, Writes { call: id, via: None });
                }
            }
        }
        if direct.is_empty() && own.is_empty() {
            return;
        }
        let callers = cx.callers();
        let mut queue: VecDeque<FnRef> = own.keys().copied().collect();
        queue.make_contiguous().sort();
        while let Some(g) = queue.pop_front() {
            for &(caller, call) in callers.of(g) {
                if own.contains_key(&caller)
                    || model.in_transaction_closure(caller, model.func(caller).calls[call.idx()].ctx)
                {
                    continue;
                }
                own.insert(caller, Writes { call, via: Some(g) });
                queue.push_back(caller);
            }
        }
        let mut fns: Vec<FnRef> = model
            .all_fns()
            .filter(|f| !model.func(*f).db().loops.is_empty() || has_per_item_closure(model, *f))
            .collect();
        fns.sort();
        for f in fns {
            let func = model.func(f);
            // Seeding and set-up code in tests and examples is not a batch anyone retries.
            if model.is_test_code(f) {
                continue;
            }
            // Calls into helpers that write on a pool of their own.
            let site_callee: FxHashMap<CallId, FnRef> = cx.graph.sites[cx.graph.index(f)]
                .iter()
                .filter_map(|s| match s.kind {
                    SiteKind::Calls(g) if own.contains_key(&g) => Some((s.call, g)),
                    _ => None,
                })
                .collect();
            if (site_callee.is_empty() && !direct.contains_key(&f)) || model.runs_sql(f, SqlKind::Begin) {
                continue;
            }
            // Each write in a loop, with the innermost loop holding it.
            let mut found: Vec<(CallId, ByteSpan, Option<FnRef>)> = Vec::new();
            for (i, call) in func.calls.iter().enumerate() {
                let id = CallId(i as u32);
                if model.in_transaction_closure(f, call.ctx) {
                    continue;
                }
                let via = if direct.get(&f).is_some_and(|d| d.contains(&id)) {
                    None
                } else if let Some(g) = site_callee.get(&id) {
                    Some(*g)
                } else {
                    continue;
                };
                let Some(loop_span) = innermost_loop(model, f, call) else { continue };
                found.push((id, loop_span, via));
            }
            // One finding per loop: its first write.
            found.sort_by_key(|(id, l, _)| (l.start, func.calls[id.idx()].span.start));
            found.dedup_by_key(|(_, l, _)| *l);
            for (id, loop_span, via) in found {
                let call = &func.calls[id.idx()];
                let loop_step = RawStep {
                    function: "the loop".to_string(),
                    file: f.file,
                    span: ByteSpan { start: loop_span.start, end: loop_span.start + 1 },
                };
                let (message, chain) = match via {
                    None => (
                        format!(
                            "{} runs {} straight on {}: each one commits on its own, so a failure half-way leaves the batch half-written",
                            describe_write(model, f, id),
                            loop_words(func, loop_span),
                            executor_words(model, f, id)
                        ),
                        Vec::new(),
                    ),
                    Some(g) => {
                        let (chain, names) = chain_to_write(model, &own, f, id, g);
                        let through = match names.len() {
                            0 | 1 => String::new(),
                            _ => format!(" (through `{}`)", names[1..].join("` → `")),
                        };
                        (
                            format!(
                                "`{}` is called {} and writes{through} on a pool or connection of its own, outside any transaction: each call commits on its own, so a failure half-way leaves the batch half-written",
                                model.fn_short_name(g),
                                loop_words(func, loop_span),
                            ),
                            chain,
                        )
                    }
                };
                let finding = RawFinding::new(&META, f.file, call.span, model.fn_path(f), message, HELP.to_string());
                out.push(finding.with_chain(chain).with_related(vec![loop_step]));
            }
        }
    }
}

/// Whether a call is a write statement on a pool or a plain connection. `Some(true)` when its
/// executor is a parameter of the fn (so the caller decides what it is).
fn autocommit_write(model: &Model, f: FnRef, id: CallId) -> Option<bool> {
    let func = model.func(f);
    let stmt = model.statement(f, id)?;
    let is_write = stmt.write_query
        || stmt.sql.as_ref().is_some_and(|sql| {
            let lit = model.sql_kind(f, sql);
            // A chunked `DELETE .. LIMIT` is a clean-up loop by design.
            lit.sql == SqlKind::Write && !lit.has_limit
        });
    if !is_write || model.in_transaction_closure(f, func.calls[id.idx()].ctx) {
        return None;
    }
    let executor = stmt.executor?;
    match model.executor_kind(f, &executor)? {
        ExecutorKind::Transaction => None,
        ExecutorKind::Pool | ExecutorKind::Connection => {
            let param = model.origin_binding(f, &executor).is_some_and(|b| func.params.contains(&b));
            Some(param)
        }
    }
}

fn has_per_item_closure(model: &Model, f: FnRef) -> bool {
    let func = model.func(f);
    func.ctxs
        .iter()
        .any(|c| matches!(&c.kind, CtxKind::Closure { passed_to: Some(call), .. } if per_item_call(model, f, *call)))
}

/// A call that runs its closure argument once per item of an iterator or stream.
fn per_item_call(model: &Model, f: FnRef, call: CallId) -> bool {
    let func = model.func(f);
    let Callee::Method { receiver, name } = &func.calls[call.idx()].callee else { return false };
    let name = model.names.str(*name);
    if !PER_ITEM.contains(&name) {
        return false;
    }
    if name.starts_with("for_each") || name.starts_with("try_for_each") {
        return true;
    }
    // `map` on an `Option` or a `Result` runs once: only a chain from an iterator counts.
    let mut v = receiver.clone();
    for _ in 0..16 {
        let ValueSrc::Call(c) = v else { return false };
        match &func.calls[c.idx()].callee {
            Callee::Method { receiver, name } => {
                if ITERATING.contains(&model.names.str(*name)) {
                    return true;
                }
                v = receiver.clone();
            }
            Callee::Path { path, .. } => return path.segs().last().is_some_and(|s| model.names.str(*s) == "iter"),
            Callee::Other => return false,
        }
    }
    false
}

/// The innermost loop (a `for` over a collection, a `while let`, or a per-item closure) that a
/// call runs in, as the span of its start.
fn innermost_loop(model: &Model, f: FnRef, call: &CallSite) -> Option<ByteSpan> {
    let func = model.func(f);
    let mut best: Option<ByteSpan> = None;
    for l in &func.db().loops {
        let batch = match l.kind {
            LoopKind::ForEach => true,
            LoopKind::WhileLet => next_item(model, f, &l.over),
            _ => false,
        };
        if batch && !l.once && l.body.start < call.span.start && call.span.start < l.body.end {
            // Only loops in the same closure or async block: a spawned block runs once per spawn.
            if l.ctx == call.ctx && best.is_none_or(|b| l.start > b.start) {
                best = Some(ByteSpan { start: l.start, end: l.body.end });
            }
        }
    }
    let mut ctx = call.ctx;
    for _ in 0..64 {
        let Some(c) = ctx else { break };
        let x = &func.ctxs[c.idx()];
        if let CtxKind::Closure { passed_to: Some(p), .. } = x.kind {
            if per_item_call(model, f, p) {
                let span = ByteSpan { start: x.span.start, end: x.span.end };
                if best.is_none_or(|b| span.start > b.start) {
                    best = Some(span);
                }
                break;
            }
        }
        ctx = x.parent;
    }
    best
}

/// "in a loop", or "once per item" for a closure given to `map`/`for_each` (whose futures
/// `join_all` may run together).
fn loop_words(func: &FnFacts, loop_span: ByteSpan) -> &'static str {
    if func.db().loops.iter().any(|l| l.start == loop_span.start) {
        "in a loop"
    } else {
        "once per item"
    }
}

/// Whether a `while let` scrutinee takes the next item of an iterator or stream.
fn next_item(model: &Model, f: FnRef, v: &ValueSrc) -> bool {
    let ValueSrc::Call(id) = v else { return false };
    match &model.func(f).calls[id.idx()].callee {
        Callee::Method { name, .. } => NEXT_ITEM.contains(&model.names.str(*name)),
        _ => false,
    }
}

fn describe_write(model: &Model, f: FnRef, id: CallId) -> &'static str {
    match model.statement(f, id) {
        Some(s) if s.write_query => "a diesel write",
        // Only SQL text classified as a write gets here.
        _ => "a write statement (INSERT/UPDATE/DELETE)",
    }
}

fn executor_words(model: &Model, f: FnRef, id: CallId) -> String {
    let Some(exec) = model.statement(f, id).and_then(|s| s.executor) else { return "the pool".to_string() };
    let name = model.describe_value(f, &exec);
    match model.executor_kind(f, &exec) {
        Some(ExecutorKind::Connection) => format!("the connection `{name}`"),
        _ => format!("the pool `{name}`"),
    }
}

/// The chain from the call in the loop down to the write.
fn chain_to_write(
    model: &Model,
    own: &FxHashMap<FnRef, Writes>,
    f: FnRef,
    call: CallId,
    first: FnRef,
) -> (Vec<RawStep>, Vec<String>) {
    let span = |g: FnRef, c: CallId| model.func(g).calls[c.idx()].span;
    let mut steps = vec![RawStep { function: model.fn_path(f), file: f.file, span: span(f, call) }];
    let mut names = Vec::new();
    let mut cur = Some(first);
    for _ in 0..32 {
        let Some(g) = cur else { break };
        let Some(w) = own.get(&g) else { break };
        names.push(model.fn_short_name(g));
        steps.push(RawStep { function: model.fn_path(g), file: g.file, span: span(g, w.call) });
        cur = w.via;
    }
    (steps, names)
}
