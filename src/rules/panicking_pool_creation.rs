//! `panicking-pool-creation`: the error of creating a pool, opening a connection or taking one
//! from a pool is `unwrap`ped or `expect`ed in code that serves requests, so a database outage
//! panics whatever request reaches it first. `main`, code only `main` reaches, tests and one-shot
//! binaries may fail fast.

use rustc_hash::FxHashMap;

use super::{RawFinding, Rule, RuleContext, RuleMeta};
use crate::catalogue::DbRole;
use crate::model::db::Callers;
use crate::model::{FnRef, Model};
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
                let (role, on) = match model.db_role(f, origin).map(|(r, p)| (r, p.clone())) {
                    Some((role @ (DbRole::CreatePool | DbRole::Connect | DbRole::Acquire), on)) => (role, on),
                    // `pool.begin()` takes a connection from the pool first, and fails like `acquire`.
                    Some((DbRole::Begin, on))
                        if matches!(&origin_call.callee, Callee::Method { receiver, .. }
                            if model.executor_kind(f, receiver) == Some(crate::catalogue::ExecutorKind::Pool)) =>
                    {
                        (DbRole::Acquire, on)
                    }
                    _ => continue,
                };
                candidates.push((f, *name, origin_call, role, on));
            }
        }
        if candidates.is_empty() {
            return;
        }
        let callers = cx.callers();
        let mut startup = FxHashMap::default();
        for (f, name, origin_call, role, on) in candidates {
            if model.is_test_code(f)
                || model.is_one_shot_binary(f.file)
                || startup_only(model, callers, f, &mut startup, 0)
            {
                continue;
            }
            let method = model.names.str(name);
            let api = format!("{}::{}", model.names.join(&on), callee_name(model, origin_call));
            let what_call = callee_name(model, origin_call);
            let fn_name = model.fn_short_name(f);
            let (what, impact) = match role {
                DbRole::Acquire if what_call == "begin" => (
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
                format!("`{method}()` on the result of {what} (`{api}`) in `{fn_name}`: {impact}"),
                "propagate the error with `?` (adding context with `.map_err(..)` or anyhow's `.context(..)`) and let the caller answer 503, or create the pool once at start-up in `main`, where failing fast is right".to_string(),
            ));
        }
    }
}

fn callee_name(model: &Model, call: &crate::parse::facts::CallSite) -> String {
    match &call.callee {
        Callee::Method { name, .. } => model.names.str(*name).to_string(),
        Callee::Path { path, .. } => path.segs.last().map(|s| model.names.str(*s).to_string()).unwrap_or_default(),
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
