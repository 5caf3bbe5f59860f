//! `panicking-pool-creation`: the error of creating a pool, opening a connection or taking one
//! from a pool is `unwrap`ped or `expect`ed in code that serves requests, so a database outage
//! panics whatever request reaches it first. `main`, code only `main` reaches, tests and one-shot
//! binaries may fail fast.

use rustc_hash::FxHashMap;

use super::{RawFinding, Rule, RuleContext, RuleMeta};
use crate::catalogue::DbRole;
use crate::catalogue::SymPath;
use crate::model::db::Callers;
use crate::model::resolve::Target;
use crate::model::{FnRef, Model};
use crate::parse::facts::CallId;
use crate::parse::facts::Callee;

declare_rule!(
    PanickingPoolCreation,
    "panicking-pool-creation",
    Critical,
    "the error of creating a pool or getting a connection is unwrapped in code that serves requests"
);

impl Rule for PanickingPoolCreation {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext, out: &mut Vec<RawFinding>) {
        let model = cx.model;
        let (unwrap, expect) = (model.names.lookup("unwrap"), model.names.lookup("expect"));
        let mut candidates = Vec::new();
        for f in model.all_fns() {
            let func = model.func(f);
            for call in &func.calls {
                let Callee::Method { receiver, name } = &call.callee else { continue };
                if Some(*name) != unwrap && Some(*name) != expect {
                    continue;
                }
                let Some(origin) = model.origin_call(f, receiver) else { continue };
                let origin_call = &func.calls[origin.idx()];
                let Some((role, on, api_method)) = fallible_db_call(model, f, origin, 0) else { continue };
                candidates.push((f, *name, origin_call, role, on, api_method));
            }
        }
        if candidates.is_empty() {
            return;
        }
        let callers = cx.callers();
        let mut startup = FxHashMap::default();
        for (f, name, origin_call, role, on, api_method) in candidates {
            if model.is_test_code(f)
                || model.is_one_shot_binary(f.file)
                || startup_only(model, callers, f, &mut startup, 0)
            {
                continue;
            }
            let method = model.names.str(name);
            let called = callee_name(model, origin_call);
            let api = if called == api_method {
                format!("`{}::{api_method}`", model.names.join(&on))
            } else {
                // A helper of the workspace returns the checkout's result.
                format!("`{called}()`, which returns `{}::{api_method}`'s result", model.names.join(&on))
            };
            let fn_name = model.fn_short_name(f);
            let (what, impact) = match role {
                DbRole::Acquire if api_method == "begin" => (
                    "beginning a transaction on the pool (which first takes a connection from it)",
                    "it fails whenever the pool is exhausted or the database is down (a pool timeout), and then the request panics instead of getting an error response",
                ),
                DbRole::Acquire => (
                    "taking a connection from the pool",
                    "it fails whenever the pool is exhausted or the database is down (a pool timeout), and then the request panics instead of getting an error response",
                ),
                DbRole::Connect => (
                    "opening a database connection",
                    "it fails whenever the database is unreachable or refuses the login, and then whatever request runs this code panics",
                ),
                _ => (
                    "creating the pool",
                    "it fails whenever the database is unreachable at that moment, and then whatever request first runs this code panics",
                ),
            };
            // At the creating call, which is where the line of a `let`-split unwrap starts too.
            out.push(RawFinding::new(
                &META,
                f.file,
                origin_call.span,
                model.fn_path(f),
                format!("`{method}()` on the result of {what} ({api}) in `{fn_name}`: {impact}"),
                "propagate the error with `?` (adding context with `.map_err(..)` or anyhow's `.context(..)`) and let the caller answer 503, or create the pool once at start-up in `main`, where failing fast is right".to_string(),
            ));
        }
    }
}

/// What a call gets at, if it creates a pool, connects, or takes a connection from a pool
/// (`pool.begin()` takes one first). A workspace fn that returns such a call's result
/// (`fn client(&self) -> Result<Object, PoolError> { self.pool.get().await }`) counts as it.
fn fallible_db_call(model: &Model, f: FnRef, id: CallId, depth: u32) -> Option<(DbRole, SymPath, String)> {
    let call = &model.func(f).calls[id.idx()];
    match model.db_role(f, id) {
        Some((role @ (DbRole::CreatePool | DbRole::Connect | DbRole::Acquire), on)) => {
            return Some((role, on.clone(), callee_name(model, call)))
        }
        Some((DbRole::Begin, on))
            if matches!(&call.callee, Callee::Method { receiver, .. }
                if model.executor_kind(f, receiver) == Some(crate::catalogue::ExecutorKind::Pool)) =>
        {
            return Some((DbRole::Acquire, on.clone(), callee_name(model, call)));
        }
        Some(_) => return None,
        None => {}
    }
    let Target::Workspace(g) = model.call_target(f, call) else { return None };
    if depth >= 2 {
        return None;
    }
    let gf = model.func(g);
    gf.db().returns.iter().find_map(|r| {
        let mut inner = model.origin_call(g, r)?;
        // `Ok(self.pool.get().await?)`: the value inside the `Ok`.
        if let (Callee::Path { path, .. }, [arg]) = (&gf.calls[inner.idx()].callee, &*gf.calls[inner.idx()].args) {
            if path.segs().last().is_some_and(|s| matches!(model.names.str(*s), "Ok" | "Some")) {
                inner = model.origin_call(g, arg)?;
            }
        }
        fallible_db_call(model, g, inner, depth + 1)
    })
}

fn callee_name(model: &Model, call: &crate::parse::facts::CallSite) -> String {
    match &call.callee {
        Callee::Method { name, .. } => model.names.str(*name).to_string(),
        Callee::Path { path, .. } => path.segs().last().map(|s| model.names.str(*s).to_string()).unwrap_or_default(),
        Callee::Other => String::new(),
    }
}

/// `main`, or a fn that only `main` and other such fns call: code that runs once, at start-up.
fn startup_only(model: &Model, callers: &Callers, f: FnRef, memo: &mut FxHashMap<FnRef, bool>, depth: u32) -> bool {
    if let Some(&known) = memo.get(&f) {
        return known;
    }
    if model.is_main(f) {
        memo.insert(f, true);
        return true;
    }
    if depth > 16 {
        return false;
    }
    // Pessimistic while in progress, so that a cycle is not start-up code by itself.
    memo.insert(f, false);
    let list = callers.of(f);
    let answer = !list.is_empty() && list.iter().all(|(c, _)| startup_only(model, callers, *c, memo, depth + 1));
    memo.insert(f, answer);
    answer
}
