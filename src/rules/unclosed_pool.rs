//! `unclosed-pool`: a sqlx or deadpool pool that is created and never closed: one per test or per
//! call (connections pile up on the server until it refuses new ones), one stored in a struct
//! field or static that nothing closes (or whose owner's `close()` nothing calls), or one built in
//! `main` with no close before the process exits.

use rustc_hash::FxHashSet;

use super::{RawFinding, RawStep, Rule, RuleContext, RuleMeta};
use crate::catalogue::DbRole;
use crate::model::db::Callers;
use crate::model::resolve::{Ns, Res};
use crate::model::types::{LocalTy, RTy};
use crate::model::{FnRef, Model};
use crate::parse::facts::*;

declare_rule!(
    UnclosedPool,
    "unclosed-pool",
    Critical,
    "a sqlx or deadpool pool that is created and never closed (per test, per call, or at shutdown)"
);

/// Where a pool is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Place {
    /// A field of a workspace struct.
    Field(u32, StructIdx, crate::intern::Sym),
    Static(u32, StaticIdx),
}

/// Methods that reach into a holder without changing what is held (`POOL.get().unwrap()`).
const REACH_IN: &[&str] = &["get", "get_or_init", "get_or_try_init", "wait", "lock", "read", "write", "borrow"];

struct Closes {
    /// Each place closed somewhere, with the fn and call that close it.
    places: Vec<(Place, FnRef, CallId)>,
    /// Whether any pool is closed anywhere.
    any: bool,
}

const HELP: &str = "call `pool.close().await` on the shutdown path (after the server stops accepting requests, e.g. after `axum::serve(..).with_graceful_shutdown(..)` returns); in tests, close the pool at the end of each test or share one pool per test binary";

impl Rule for UnclosedPool {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext, out: &mut Vec<RawFinding>) {
        let model = cx.model;
        let mut creations = Vec::new();
        let mut closes = Closes { places: Vec::new(), any: false };
        for f in model.all_fns() {
            let func = model.func(f);
            for &(id, role, _) in model.db_calls(f) {
                let call = &func.calls[id.idx()];
                match role {
                    DbRole::CreatePool | DbRole::CreatePoolLazy if closable(model, f, id) => creations.push((f, id)),
                    DbRole::Close => {
                        closes.any = true;
                        if let Callee::Method { receiver, .. } = &call.callee {
                            if let Some(p) = place_of(model, f, receiver) {
                                closes.places.push((p, f, id));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        if creations.is_empty() {
            return;
        }
        let callers = cx.callers();
        let mut seen = FxHashSet::default();
        for (f, id) in creations {
            judge(model, callers, &closes, f, id, 0, &mut seen, out);
        }
    }
}

/// Whether a creating call makes a pool that has a close method.
fn closable(model: &Model, f: FnRef, id: CallId) -> bool {
    match model.call_ret(f, id, 0) {
        RTy::Ext(p, _) => model.cat.db.closable_pools.contains(&model.canonical_type(&p)),
        _ => false,
    }
}

/// The field or static a value reaches into (`self.pool`, `state.db`, `POOL.get().unwrap()`).
fn place_of(model: &Model, f: FnRef, v: &ValueSrc) -> Option<Place> {
    let func = model.func(f);
    let mut v = v.clone();
    for _ in 0..16 {
        match v {
            ValueSrc::Field(base, name) => {
                return match model.value_ty(f, &base) {
                    RTy::Local(LocalTy::Struct(sf, si), _) => Some(Place::Field(sf, si, name)),
                    _ => None,
                };
            }
            ValueSrc::Path(p) => {
                return match model.resolve_path(f.file, func.outer_scope, &p, Ns::Value) {
                    Some(Res::Static(sf, si)) => Some(Place::Static(sf, si)),
                    _ => None,
                };
            }
            ValueSrc::Call(id) => match &func.calls[id.idx()].callee {
                Callee::Method { receiver, name }
                    if model.wk.passthrough.contains(name) || REACH_IN.contains(&model.names.str(*name)) =>
                {
                    v = receiver.clone()
                }
                _ => return None,
            },
            ValueSrc::Local(b) => v = func.bindings[b.idx()].init.clone(),
            _ => return None,
        }
    }
    None
}

/// `Ok(x)`, `Some(x)`, `Arc::new(x)`, `x.clone()`: calls that wrap or copy the value they are given.
fn wraps(model: &Model, f: FnRef, v: &ValueSrc) -> Option<ValueSrc> {
    let ValueSrc::Call(id) = v else { return None };
    let call = &model.func(f).calls[id.idx()];
    match &call.callee {
        Callee::Path { path, .. } => {
            let last = model.names.str(*path.segs().last()?);
            (matches!(last, "Ok" | "Some" | "new" | "from") && call.args.len() == 1).then(|| call.args[0].clone())
        }
        Callee::Method { receiver, name } if model.wk.passthrough.contains(name) => Some(receiver.clone()),
        _ => None,
    }
}

/// Whether `v` is (a wrapping of) the value of call `id` or of binding `b`.
fn is_value_of(model: &Model, f: FnRef, v: &ValueSrc, id: CallId, b: Option<BindingId>) -> bool {
    let mut v = v.clone();
    for _ in 0..8 {
        match &v {
            ValueSrc::Call(c) if *c == id => return true,
            ValueSrc::Local(x) if Some(*x) == b => return true,
            _ => {}
        }
        match wraps(model, f, &v) {
            Some(inner) => v = inner,
            None => return false,
        }
    }
    false
}

#[allow(clippy::too_many_arguments)]
fn judge(
    model: &Model,
    callers: &Callers,
    closes: &Closes,
    f: FnRef,
    id: CallId,
    depth: u32,
    seen: &mut FxHashSet<(FnRef, CallId)>,
    out: &mut Vec<RawFinding>,
) {
    if depth > 4 || !seen.insert((f, id)) {
        return;
    }
    let func = model.func(f);
    let call = &func.calls[id.idx()];
    // The binding that holds the pool, if any (`let pool = PgPool::connect(..).await?;`).
    let binding = (0..func.bindings.len() as u32)
        .map(BindingId)
        .find(|b| model.origin_call(f, &func.bindings[b.idx()].init) == Some(id));
    // Copies of it (`let p2 = pool.clone();`) count as the same pool.
    let copies: Vec<BindingId> = match binding {
        Some(b) => (0..func.bindings.len() as u32)
            .map(BindingId)
            .filter(|x| *x == b || model.origin_binding(f, &func.bindings[x.idx()].init) == Some(b))
            .collect(),
        None => Vec::new(),
    };
    let is_pool = |v: &ValueSrc| {
        is_value_of(model, f, v, id, binding) || copies.iter().any(|c| is_value_of(model, f, v, id, Some(*c)))
    };
    // Closed right here.
    let closed_here = model.db_calls(f).iter().any(|(c, role, _)| {
        *role == DbRole::Close
            && matches!(&func.calls[c.idx()].callee, Callee::Method { receiver, .. } if is_pool(receiver))
    });
    if closed_here {
        return;
    }
    // Returned: the callers decide.
    if func.db().returns.iter().any(&is_pool) {
        for &(caller, at) in callers.of(f) {
            judge(model, callers, closes, caller, at, depth + 1, seen, out);
        }
        return;
    }
    // Stored in a field or a static.
    let stored = func.db().stores.iter().find_map(|s| {
        if !is_pool(&s.value) {
            return None;
        }
        match &s.target {
            StoreTarget::StructField(path, field) => match model.resolve_path(f.file, call.scope, path, Ns::Type) {
                Some(Res::Struct(sf, si)) => Some(Place::Field(sf, si, *field)),
                Some(Res::SelfTy(..)) | Some(Res::Alias(..)) => {
                    match model.res_to_ty(f.file, model.resolve_path(f.file, call.scope, path, Ns::Type)?, &[]) {
                        RTy::Local(LocalTy::Struct(sf, si), _) => Some(Place::Field(sf, si, *field)),
                        _ => None,
                    }
                }
                _ => None,
            },
            StoreTarget::Place(p) => place_of(model, f, p),
            StoreTarget::Aggregate => None,
        }
    });
    // Moved into a tuple or an array (`(pool, client)`): where it goes next is not followed.
    if func.db().stores.iter().any(|s| matches!(s.target, StoreTarget::Aggregate) && is_pool(&s.value))
        && stored.is_none()
    {
        return;
    }
    // `POOL.set(pool)`, `CELL.get_or_init(|| pool)`: kept in that static or field.
    let stored = stored.or_else(|| {
        func.calls.iter().find_map(|c| match &c.callee {
            Callee::Method { receiver, name }
                if matches!(model.names.str(*name), "set" | "replace" | "get_or_init" | "insert")
                    && c.args.first().is_some_and(&is_pool) =>
            {
                place_of(model, f, receiver)
            }
            _ => None,
        })
    });
    let stored = stored
        .or_else(|| static_initialised(model, f, call.ctx))
        .or_else(|| func.static_init.map(|s| Place::Static(f.file, s)));
    let site = model.fn_short_name(f);
    let report = |message: String, related: Vec<RawStep>, out: &mut Vec<RawFinding>| {
        let finding = RawFinding::new(&META, f.file, call.span, model.fn_path(f), message, HELP.to_string());
        out.push(finding.with_related(related));
    };
    if let Some(place) = stored {
        let holder = describe_place(model, place);
        let closers: Vec<&(Place, FnRef, CallId)> = closes.places.iter().filter(|(p, _, _)| *p == place).collect();
        if closers.is_empty() {
            report(
                format!("the pool created in `{site}` is stored in {holder}, and nothing ever calls `close()` on it: its connections are never closed cleanly, only cut when the process exits, and the server holds them until it notices"),
                Vec::new(),
                out,
            );
            return;
        }
        if closers.iter().any(|(_, g, _)| callers.is_called(model, *g)) {
            return;
        }
        let (_, g, c) = closers[0];
        report(
            format!(
                "the pool created in `{site}` is stored in {holder}; `{}` closes it, but nothing in the workspace calls `{}`, so the pool is never closed",
                model.fn_short_name(*g),
                model.fn_short_name(*g)
            ),
            vec![RawStep { function: format!("closed only in `{}`", model.fn_path(*g)), file: g.file, span: model.func(*g).calls[c.idx()].span }],
            out,
        );
        return;
    }
    if model.is_test_code(f) && func.is_test {
        report(
            format!("test `{site}` creates a pool and never closes it: each test leaves its connections open until the test binary exits, so a growing suite runs out of server connection slots (\"remaining connection slots are reserved\")"),
            Vec::new(),
            out,
        );
        return;
    }
    if model.is_main(f) || func.runtime_entry {
        if !closes.any {
            report(
                format!("the pool created in `{site}` is never closed: nothing in the workspace calls `close()` on a pool, so at shutdown its connections are dropped mid-flight instead of being closed"),
                Vec::new(),
                out,
            );
        }
        return;
    }
    // An ordinary fn: a pool per call, unless it is handed on to other code.
    let escapes = func.calls.iter().enumerate().any(|(i, c)| {
        let is_stmt = model.statement(f, CallId(i as u32)).is_some();
        !is_stmt && c.args.iter().any(&is_pool)
    });
    if !escapes {
        report(
            format!("`{site}` creates a new pool on every call and never closes it: each call opens fresh connections that stay open until the pool is dropped, and under load the server refuses new connections"),
            Vec::new(),
            out,
        );
    }
}

/// A pool made inside `STATIC.get_or_init(|| ..)`: kept in that static.
fn static_initialised(model: &Model, f: FnRef, mut ctx: Option<CtxId>) -> Option<Place> {
    let func = model.func(f);
    for _ in 0..16 {
        let c = ctx?;
        if let CtxKind::Closure { passed_to: Some(owner), .. } = func.ctxs[c.idx()].kind {
            if let Callee::Method { receiver, name } = &func.calls[owner.idx()].callee {
                if model.names.str(*name).starts_with("get_or") || model.names.str(*name) == "set" {
                    return place_of(model, f, receiver);
                }
            }
        }
        ctx = func.ctxs[c.idx()].parent;
    }
    None
}

fn describe_place(model: &Model, place: Place) -> String {
    match place {
        Place::Field(sf, si, name) => {
            format!("field `{}.{}`", model.names.str(model.file(sf).structs[si.idx()].name), model.names.str(name))
        }
        Place::Static(sf, si) => format!("static `{}`", model.names.str(model.file(sf).statics[si.idx()].name)),
    }
}
