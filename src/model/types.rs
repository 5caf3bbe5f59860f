//! Value types, as far as source tells: declared types of parameters, fields, statics and `let`s,
//! return types of workspace functions, and the catalogue's facts about external constructors and
//! methods. `Option`, `Result` and smart pointers are looked through. Anything else is `Unknown`,
//! and rules make no claim about an unknown receiver.

use super::resolve::{Ns, Res, Target};
use super::{FnRef, Model};
use crate::catalogue::{FnReturn, SymPath};
use crate::intern::Sym;
use crate::parse::facts::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LocalTy {
    Struct(u32, StructIdx),
}

/// A resolved type.
#[derive(Clone, Debug, PartialEq)]
pub enum RTy {
    Ext(SymPath, Vec<RTy>),
    Local(LocalTy, Vec<RTy>),
    Tuple(Vec<RTy>),
    /// `dyn Trait` / `impl Trait` / a generic bounded by a trait: the trait.
    Dyn(Res),
    Unknown,
}

const MAX_TYPE_DEPTH: u32 = 24;

thread_local! {
    /// Set when a type computation on this thread stopped at the depth limit, so that its answer
    /// is not memoised.
    static TRUNCATED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Model<'_> {
    pub fn resolve_ty(&self, file: u32, scope: ScopeId, ty: &Ty) -> RTy {
        self.resolve_ty_in(file, scope, ty, &[], 0)
    }

    fn resolve_ty_in(&self, file: u32, scope: ScopeId, ty: &Ty, subst: &[(Sym, RTy)], depth: u32) -> RTy {
        if depth > MAX_TYPE_DEPTH {
            return RTy::Unknown;
        }
        match ty {
            Ty::Path { path, args } => {
                if path.segs().len() == 1 && !path.global() {
                    if let Some((_, t)) = subst.iter().find(|(n, _)| *n == path.segs()[0]) {
                        return t.clone();
                    }
                }
                let args: Vec<RTy> =
                    args.iter().map(|a| self.resolve_ty_in(file, scope, a, subst, depth + 1)).collect();
                match self.resolve_path(file, scope, path, Ns::Type) {
                    // A generic parameter is known only by its trait bound.
                    Some(Res::Generic) if path.segs().len() == 1 => {
                        match self.generic_bound(file, scope, path.segs()[0]) {
                            Some(bound @ Res::Trait(..)) => RTy::Dyn(bound),
                            _ => RTy::Unknown,
                        }
                    }
                    Some(res) => self.norm(self.res_to_ty_in(file, res, &args, depth + 1)),
                    None => RTy::Unknown,
                }
            }
            Ty::Tuple(elems) => {
                RTy::Tuple(elems.iter().map(|e| self.resolve_ty_in(file, scope, e, subst, depth + 1)).collect())
            }
            Ty::Trait(path) => match self.resolve_path(file, scope, path, Ns::Type) {
                Some(r) => RTy::Dyn(r),
                None => RTy::Unknown,
            },
            Ty::Unknown => RTy::Unknown,
        }
    }

    pub fn res_to_ty(&self, file: u32, res: Res, args: &[RTy]) -> RTy {
        self.res_to_ty_in(file, res, args, 0)
    }

    fn res_to_ty_in(&self, _file: u32, res: Res, args: &[RTy], depth: u32) -> RTy {
        if depth > MAX_TYPE_DEPTH {
            return RTy::Unknown;
        }
        match res {
            Res::Ext(p) => RTy::Ext(p, args.to_vec()),
            Res::Struct(f, s) => RTy::Local(LocalTy::Struct(f, s), args.to_vec()),
            Res::Alias(f, a) => {
                let alias = &self.file(f).aliases[a.idx()];
                let subst: Vec<(Sym, RTy)> = alias.generics.iter().copied().zip(args.iter().cloned()).collect();
                self.resolve_ty_in(f, alias.scope, &alias.ty, &subst, depth + 1)
            }
            Res::SelfTy(f, i) => {
                let imp = &self.file(f).impls[i.idx()];
                self.resolve_ty_in(f, imp.scope, &imp.self_ty, &[], depth + 1)
            }
            Res::Trait(..) => RTy::Dyn(res),
            _ => RTy::Unknown,
        }
    }

    /// Looks through `Option`, `Result`, `Box`, `Arc`, `Rc`, lock guards and the like.
    pub fn norm(&self, mut ty: RTy) -> RTy {
        for _ in 0..MAX_TYPE_DEPTH {
            match ty {
                RTy::Ext(ref p, ref args) if !args.is_empty() && self.wk.wrappers.iter().any(|w| w == p) => {
                    ty = args[0].clone();
                }
                _ => return ty,
            }
        }
        ty
    }

    /// The type of a value inside function `f`.
    pub fn value_ty(&self, f: FnRef, v: &ValueSrc) -> RTy {
        self.value_ty_in(f, v, 0)
    }

    fn value_ty_in(&self, f: FnRef, v: &ValueSrc, depth: u32) -> RTy {
        if depth > MAX_TYPE_DEPTH {
            TRUNCATED.with(|t| t.set(true));
            return RTy::Unknown;
        }
        let func = self.func(f);
        let ty = match v {
            ValueSrc::Unknown | ValueSrc::Str(_) | ValueSrc::Lit | ValueSrc::Format(_) | ValueSrc::Closure(_) => {
                RTy::Unknown
            }
            ValueSrc::Local(b) => {
                let binding = &func.bindings[b.idx()];
                match &binding.ty {
                    Some(t) => self.resolve_ty(f.file, binding.scope, t),
                    None => self.value_ty_in(f, &binding.init, depth + 1),
                }
            }
            ValueSrc::SelfValue => match func.owner {
                Owner::Impl(i) => {
                    let imp = &self.file(f.file).impls[i.idx()];
                    self.resolve_ty(f.file, imp.scope, &imp.self_ty)
                }
                // `self` in a trait's default method: whatever implements the trait.
                Owner::Trait(t) => RTy::Dyn(Res::Trait(f.file, t)),
                Owner::Free => RTy::Unknown,
            },
            ValueSrc::Field(base, name) => {
                let base_ty = self.value_ty_in(f, base, depth + 1);
                self.field_ty(&base_ty, *name)
            }
            ValueSrc::TupleField(base, i) => match self.value_ty_in(f, base, depth + 1) {
                RTy::Tuple(elems) => elems.get(*i as usize).cloned().unwrap_or(RTy::Unknown),
                other => match self.names.lookup(&i.to_string()) {
                    Some(sym) => self.field_ty(&other, sym),
                    None => RTy::Unknown,
                },
            },
            ValueSrc::Call(id) => self.call_ret(f, *id, depth + 1),
            ValueSrc::Path(p) => match self.resolve_path(f.file, self.scope_of_fn_body(f), p, Ns::Value) {
                Some(Res::Static(sf, s)) => {
                    let st = &self.file(sf).statics[s.idx()];
                    self.resolve_ty(sf, st.scope, &st.ty)
                }
                Some(Res::Struct(sf, s)) => RTy::Local(LocalTy::Struct(sf, s), Vec::new()),
                _ => RTy::Unknown,
            },
            ValueSrc::Struct(p) => match self.resolve_path(f.file, self.scope_of_fn_body(f), p, Ns::Type) {
                Some(r) => self.res_to_ty(f.file, r, &[]),
                None => RTy::Unknown,
            },
            ValueSrc::ClosureParam(ctx, i) => self.closure_param_ty(f, *ctx, *i),
        };
        self.norm(ty)
    }

    fn scope_of_fn_body(&self, f: FnRef) -> ScopeId {
        self.func(f).outer_scope
    }

    fn field_ty(&self, base: &RTy, name: Sym) -> RTy {
        match base {
            RTy::Local(LocalTy::Struct(sf, s), args) => {
                let st = &self.file(*sf).structs[s.idx()];
                let Some((_, fty)) = st.fields.iter().find(|(n, _)| *n == name) else { return RTy::Unknown };
                let subst: Vec<(Sym, RTy)> = st.generics.iter().copied().zip(args.iter().cloned()).collect();
                let ty = self.resolve_ty_in(*sf, st.scope, fty, &subst, 1);
                self.norm(ty)
            }
            _ => RTy::Unknown,
        }
    }

    fn closure_param_ty(&self, f: FnRef, ctx: CtxId, i: u32) -> RTy {
        let func = self.func(f);
        let CtxKind::Closure { passed_to: Some(call), .. } = &func.ctxs[ctx.idx()].kind else { return RTy::Unknown };
        match self.call_target(f, &func.calls[call.idx()]) {
            Target::ExtFn(p) => match self.cat.closure_params.get(&p).and_then(|ps| ps.get(i as usize)) {
                Some(t) => RTy::Ext(t.clone(), Vec::new()),
                None => RTy::Unknown,
            },
            _ => RTy::Unknown,
        }
    }

    /// The type a call site returns.
    pub fn call_ret(&self, f: FnRef, id: CallId, depth: u32) -> RTy {
        if let Some(hit) = self.ret_cache.get(&(f, id)) {
            return hit;
        }
        if depth > MAX_TYPE_DEPTH {
            TRUNCATED.with(|t| t.set(true));
            return RTy::Unknown;
        }
        let outer = TRUNCATED.with(|t| t.replace(false));
        let ty = self.call_ret_uncached(f, id, depth);
        let truncated = TRUNCATED.with(|t| t.get());
        if !truncated {
            self.ret_cache.insert((f, id), ty.clone());
        }
        TRUNCATED.with(|t| t.set(truncated | outer));
        ty
    }

    fn call_ret_uncached(&self, f: FnRef, id: CallId, depth: u32) -> RTy {
        let func = self.func(f);
        let call = &func.calls[id.idx()];
        // The receiver's type is computed once: recomputing it through `call_target` would make
        // long method chains exponential.
        let target = match &call.callee {
            Callee::Method { receiver, name } => {
                let recv = self.value_ty_in(f, receiver, depth + 1);
                if self.wk.passthrough.contains(name) {
                    return recv;
                }
                if let RTy::Ext(p, args) = &recv {
                    return self.ext_method_ret(p, args, *name).map(|t| self.norm(t)).unwrap_or(RTy::Unknown);
                }
                self.method_target(&recv, *name)
            }
            _ => self.call_target(f, call),
        };
        match target {
            Target::Workspace(target) => self.fn_ret(target, depth + 1),
            Target::ExtFn(p) => {
                if let Some(r) = self.cat.fn_returns.get(&p) {
                    return match r {
                        FnReturn::One(t) => RTy::Ext(t.clone(), Vec::new()),
                        FnReturn::Tuple(ts) => RTy::Tuple(ts.iter().map(|t| RTy::Ext(t.clone(), Vec::new())).collect()),
                    };
                }
                let Some((name, ty_path)) = p.split_last() else { return RTy::Unknown };
                // `Arc::new(x)`, `Box::new(x)`, `Some(x)`, `Ok(x)`: a wrapper of `x`, looked through.
                if let [arg] = &*call.args {
                    if self.wk.wrappers.iter().any(|w| **w == *ty_path) {
                        return self.value_ty_in(f, arg, depth + 1);
                    }
                }
                match self.cat.type_info(ty_path) {
                    Some(info) if info.constructors.contains(name) => RTy::Ext(info.canonical.clone(), Vec::new()),
                    // An associated fn the catalogue lists among the type's methods (`File::options`).
                    Some(info) => info.returns.get(name).map_or(RTy::Unknown, |r| RTy::Ext(r.clone(), Vec::new())),
                    None => RTy::Unknown,
                }
            }
            Target::ExtMethod(..) | Target::Unknown => RTy::Unknown,
        }
    }

    fn ext_method_ret(&self, p: &SymPath, args: &[RTy], name: Sym) -> Option<RTy> {
        let info = self.cat.type_info(p)?;
        if info.builders.contains(&name) {
            return Some(RTy::Ext(info.canonical.clone(), args.to_vec()));
        }
        if info.deref.contains(&name) {
            return Some(args.first().cloned().unwrap_or(RTy::Unknown));
        }
        if let Some(r) = info.returns.get(&name) {
            return Some(RTy::Ext(r.clone(), Vec::new()));
        }
        let target = info.deref_to.as_ref()?;
        self.ext_method_ret(target, &[], name)
    }

    /// The declared return type of a workspace fn, with `Self` read as the impl's type.
    fn fn_ret(&self, target: FnRef, depth: u32) -> RTy {
        let tf = self.func(target);
        let Some(ret) = &tf.ret else { return RTy::Unknown };
        let ty = self.resolve_ty_in(target.file, tf.outer_scope, ret, &[], depth);
        self.norm(ty)
    }
}
