//! `runtime-bound-static`: a pool, client or socket that belongs to the runtime that created it,
//! kept in a `static` and used from several runtimes, such as several `#[tokio::test]` fns (each
//! test has its own runtime). Once the first test's runtime ends, the connections it spawned die
//! with it, and the next test gets "dispatch task is gone" or a pool timeout.

use rustc_hash::{FxHashMap, FxHashSet};

use super::{RawFinding, RawStep, Rule, RuleContext, RuleMeta};
use crate::model::resolve::{Ns, Res};
use crate::model::types::{LocalTy, RTy};
use crate::model::{FnRef, Model};
use crate::parse::facts::*;

declare_rule!(
    RuntimeBoundStatic,
    "runtime-bound-static",
    High,
    "a pool, client or socket bound to one runtime, kept in a static and used from several runtimes (tests)"
);

const HELP: &str = "create the pool or client inside each test (or use `#[sqlx::test]`, which hands each test its own pool), or run the tests on one shared runtime that outlives them all";

impl Rule for RuntimeBoundStatic {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &RuleContext, out: &mut Vec<RawFinding>) {
        let model = cx.model;
        // Statics whose type holds a runtime-bound value, with that type's name.
        let mut bound: FxHashMap<(u32, StaticIdx), String> = FxHashMap::default();
        for (file, facts) in model.files.iter().enumerate() {
            let Some(facts) = facts else { continue };
            for (i, st) in facts.statics.iter().enumerate() {
                let ty = model.resolve_ty(file as u32, st.scope, &st.ty);
                if let Some(name) = runtime_bound(model, &ty, 0) {
                    bound.insert((file as u32, StaticIdx(i as u32)), name);
                }
            }
        }
        if bound.is_empty() {
            return;
        }
        let names: FxHashSet<crate::intern::Sym> =
            bound.keys().map(|(file, s)| model.file(*file).statics[s.idx()].name).collect();
        // The fns that use each static.
        let mut users: FxHashMap<(u32, StaticIdx), Vec<FnRef>> = FxHashMap::default();
        for f in model.all_fns() {
            let func = model.func(f);
            let mut here = FxHashSet::default();
            let values = func.calls.iter().flat_map(|c| {
                let receiver = match &c.callee {
                    Callee::Method { receiver, .. } => Some(receiver),
                    _ => None,
                };
                c.args.iter().chain(receiver)
            });
            for v in values.chain(func.bindings.iter().map(|b| &b.init)) {
                if let Some(p) = static_path(v) {
                    if p.segs().last().is_some_and(|s| names.contains(s)) {
                        if let Some(Res::Static(sf, si)) = model.resolve_path(f.file, func.outer_scope, p, Ns::Value) {
                            if bound.contains_key(&(sf, si)) && here.insert((sf, si)) {
                                users.entry((sf, si)).or_default().push(f);
                            }
                        }
                    }
                }
            }
        }
        let callers = cx.callers();
        let mut keys: Vec<_> = users.keys().copied().collect();
        keys.sort();
        for key in keys {
            let reached = callers.reaching(users[&key].iter().copied());
            let mut tests: Vec<FnRef> =
                reached.into_iter().filter(|g| model.func(*g).runtime_entry && model.is_test_code(*g)).collect();
            if tests.len() < 2 {
                continue;
            }
            tests.sort();
            let (sf, si) = key;
            let st = &model.file(sf).statics[si.idx()];
            let (a, b) = (model.fn_short_name(tests[0]), model.fn_short_name(tests[1]));
            let more = if tests.len() > 2 { format!(" and {} more", tests.len() - 2) } else { String::new() };
            let message = format!(
                "static `{}` holds a `{}`, which belongs to the runtime that created it, and is used from the tests `{a}` and `{b}`{more}, each with a runtime of its own: once the first of them ends, the connections it opened die with its runtime and the others fail (\"dispatch task is gone\", pool timeouts)",
                model.names.str(st.name),
                bound[&key]
            );
            let uses = tests
                .iter()
                .take(2)
                .map(|t| RawStep {
                    function: format!("used from test `{}`", model.fn_path(*t)),
                    file: t.file,
                    span: model.func(*t).span,
                })
                .collect();
            out.push(RawFinding::new(&META, sf, st.span, String::new(), message, HELP.to_string()).with_related(uses));
        }
    }
}

/// The static a value names, through field accesses and method receivers it starts from.
fn static_path(v: &ValueSrc) -> Option<&Path> {
    match v {
        ValueSrc::Path(p) => Some(p),
        ValueSrc::Field(base, _) | ValueSrc::TupleField(base, _) => static_path(base),
        _ => None,
    }
}

/// The runtime-bound type a type holds, looking into generic arguments and one level of fields of
/// workspace structs.
fn runtime_bound(model: &Model, ty: &RTy, depth: u32) -> Option<String> {
    if depth > 6 {
        return None;
    }
    match ty {
        RTy::Ext(p, args) => {
            let canonical = model.canonical_type(p);
            if model.cat.db.runtime_bound.contains(&canonical) {
                return Some(model.names.join(p));
            }
            args.iter().find_map(|a| runtime_bound(model, a, depth + 1))
        }
        RTy::Local(LocalTy::Struct(sf, si), args) => {
            if let Some(found) = args.iter().find_map(|a| runtime_bound(model, a, depth + 1)) {
                return Some(found);
            }
            if depth > 2 {
                return None;
            }
            let st = &model.file(*sf).structs[si.idx()];
            st.fields.iter().find_map(|(_, t)| runtime_bound(model, &model.resolve_ty(*sf, st.scope, t), depth + 1))
        }
        RTy::Tuple(elems) => elems.iter().find_map(|e| runtime_bound(model, e, depth + 1)),
        _ => None,
    }
}
