//! Name resolution the way rustc does it for paths: block scopes, then the module's items, explicit
//! `use`s and globs, then the extern prelude and the std prelude. `crate`, `self`, `super`, `Self`,
//! aliases, groups, re-exports and renamed crates are followed. A name that does not resolve gives
//! `None`: the rules never guess from the last segment.

use super::types::{LocalTy, RTy};
use super::{DepTarget, FnRef, ModId, Model};
use crate::catalogue::SymPath;
use crate::intern::Sym;
use crate::parse::facts::*;

/// What a path names.
#[derive(Clone, Debug, PartialEq)]
pub enum Res {
    Mod(ModId),
    Fn(FnRef),
    Struct(u32, StructIdx),
    Trait(u32, TraitIdx),
    Alias(u32, AliasIdx),
    /// A local enum or union: a type we know is local, with nothing more to say about it.
    OpaqueType,
    Static(u32, StaticIdx),
    /// A const: where it is declared (file, scope) and its name; no type is kept.
    Const(u32, ScopeId, Sym),
    /// A path into another crate, canonical (`core::` and `alloc::` read as `std::`).
    Ext(SymPath),
    /// A generic parameter: its type is unknown.
    Generic,
    SelfTy(u32, ImplIdx),
    /// An associated item of a local type: `Repo::new`, `Self::load`.
    Assoc(Box<Res>, Sym),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ns {
    Type,
    Value,
    /// A non-final segment of a path (`std` in `std::fs::read`): a module, a crate or a type.
    Module,
}

/// What a call site calls, once resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A function of another crate by its full path (`std::fs::read`, `std::fs::File::open`).
    ExtFn(SymPath),
    /// A method of another crate's type: the type's path and the method name.
    ExtMethod(SymPath, Sym),
    /// A function or method of the workspace.
    Workspace(FnRef),
    Unknown,
}

/// Guards against cycles through imports (`use a::*` in `b` and `use b::*` in `a`).
///
/// A lookup that meets a lookup already in progress stops there (`cut`). Its answer is complete
/// if every cut it met pointed at itself or at lookups it started; if one pointed at an ancestor,
/// the answer may lack what that ancestor will still find, and is not cached. `low` is the lowest
/// stack position a cut pointed at, as in Tarjan's algorithm.
///
/// Within one query, a lookup that came back empty is not walked again: a lookup stops at the first
/// answer, so a scope that gave none before gives none again (anything it could not reach then
/// was in progress, and has come back empty too). Without this, a glob graph that is a deep DAG
/// or a ring would be walked along every one of its exponentially many paths.
#[derive(Default)]
pub struct Guard {
    stack: Vec<(u32, ScopeId, Sym)>,
    low: Option<usize>,
    empty: rustc_hash::FxHashMap<(u32, ScopeId, Sym, Ns), Option<usize>>,
}

/// Memoised answers of `lookup_in_scope`, by (file, scope, name, namespace).
pub type LookupCache = super::memo::Memo<(u32, ScopeId, Sym, Ns), Option<Res>>;

/// Imports deeper than this are not followed (the answer is then not cached). With each scope
/// walked at most once per query, depth costs stack, not time.
const MAX_DEPTH: usize = 256;

impl Model<'_> {
    pub fn resolve_path(&self, file: u32, scope: ScopeId, path: &Path, ns: Ns) -> Option<Res> {
        self.resolve_path_guarded(file, scope, path, ns, &mut Guard::default())
    }

    fn resolve_path_guarded(&self, file: u32, scope: ScopeId, path: &Path, ns: Ns, guard: &mut Guard) -> Option<Res> {
        let segs = path.segs();
        let first = *segs.first()?;
        let wk = &self.wk;
        let module = self.module_of_scope(file, scope)?;
        let ns_at = |i: usize| if i + 1 == segs.len() { ns } else { Ns::Module };
        let mut res = if path.global() {
            self.extern_crate(module, first).unwrap_or_else(|| Res::Ext(Box::new([first])))
        } else if first == wk.crate_ {
            Res::Mod(self.crates[self.modules[module.0 as usize].krate as usize].root)
        } else if first == wk.self_ && segs.len() > 1 {
            Res::Mod(module)
        } else if first == wk.super_ {
            Res::Mod(self.modules[module.0 as usize].parent?)
        } else {
            match self.lookup_scope_chain(file, scope, first, ns_at(0), guard) {
                Some(r) => r,
                // A multi-segment path whose head names nothing local is a path into a crate that
                // is not in the workspace (or that the manifest did not list).
                None if segs.len() > 1 => Res::Ext(Box::new([first])),
                None => return None,
            }
        };
        for (i, &seg) in segs.iter().enumerate().skip(1) {
            let last = i + 1 == segs.len();
            res = match res {
                Res::Mod(m) if seg == wk.super_ => Res::Mod(self.modules[m.0 as usize].parent?),
                Res::Mod(m) if seg == wk.self_ => Res::Mod(m),
                Res::Mod(m) => self.lookup_in_module(m, seg, ns_at(i), guard)?,
                Res::Ext(p) => {
                    let mut v = p.into_vec();
                    v.push(seg);
                    Res::Ext(v.into())
                }
                r @ (Res::Struct(..) | Res::OpaqueType | Res::Alias(..) | Res::SelfTy(..) | Res::Trait(..)) if last => {
                    Res::Assoc(Box::new(r), seg)
                }
                _ => return None,
            };
        }
        Some(self.canonical(res))
    }

    fn canonical(&self, res: Res) -> Res {
        match res {
            Res::Ext(p) if !p.is_empty() && (p[0] == self.wk.core || p[0] == self.wk.alloc) => {
                let mut v = p.into_vec();
                v[0] = self.wk.std;
                Res::Ext(v.into())
            }
            other => other,
        }
    }

    fn lookup_scope_chain(&self, file: u32, scope: ScopeId, name: Sym, ns: Ns, guard: &mut Guard) -> Option<Res> {
        let facts = self.file(file);
        let mut cur = Some(scope);
        while let Some(s) = cur {
            let sc = facts.scope(s);
            if sc.generics.contains(&name) {
                return Some(Res::Generic);
            }
            if name == self.wk.self_ty {
                if let Some(i) = sc.self_impl {
                    return Some(Res::SelfTy(file, i));
                }
            }
            if let Some(r) = self.lookup_in_scope(file, s, name, ns, guard) {
                return Some(r);
            }
            if matches!(sc.kind, ScopeKind::Module(_)) {
                break;
            }
            cur = sc.parent;
        }
        let module = self.module_of_scope(file, scope)?;
        self.extern_crate(module, name).or_else(|| {
            if ns != Ns::Value && (name == self.wk.std || name == self.wk.core || name == self.wk.alloc) {
                return Some(Res::Ext(Box::new([self.wk.std])));
            }
            self.wk.prelude.get(&name).map(|p| Res::Ext(p.clone()))
        })
    }

    /// A crate name as the extern prelude sees it: a dependency (renames applied) or a workspace
    /// library.
    fn extern_crate(&self, module: ModId, name: Sym) -> Option<Res> {
        let krate = &self.crates[self.modules[module.0 as usize].krate as usize];
        match krate.deps.get(&name) {
            Some(DepTarget::Workspace(root)) => return Some(Res::Mod(*root)),
            Some(DepTarget::External(real)) => return Some(Res::Ext(Box::new([*real]))),
            None => {}
        }
        if name == self.wk.std || name == self.wk.core || name == self.wk.alloc {
            return Some(Res::Ext(Box::new([self.wk.std])));
        }
        // A workspace library is reachable by name even where the manifest was not read.
        match self.lib_crates.get(&name) {
            Some(&root) if root != krate.root => Some(Res::Mod(root)),
            _ => None,
        }
    }

    pub(crate) fn lookup_in_module(&self, m: ModId, name: Sym, ns: Ns, guard: &mut Guard) -> Option<Res> {
        let node = &self.modules[m.0 as usize];
        let scope = self.file(node.file).modules[node.local.idx()].scope;
        self.lookup_in_scope(node.file, scope, name, ns, guard)
    }

    fn lookup_in_scope(&self, file: u32, s: ScopeId, name: Sym, ns: Ns, guard: &mut Guard) -> Option<Res> {
        // A scope without `use`s (an impl's, a fn's generics, most modules) answers from its own
        // items at once: memoising it would cost more than it saves, and filled most of the memo.
        if self.file(file).scope(s).uses.is_empty() {
            return self.lookup_in_items(file, s, name, ns);
        }
        let key = (file, s, name, ns);
        if let Some(hit) = self.lookup_cache.get(&key) {
            return hit;
        }
        if let Some(&low) = guard.empty.get(&key) {
            // Empty before in this query; its cuts still count for whoever asks again.
            guard.low = match (guard.low, low) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            return None;
        }
        if guard.stack.len() > MAX_DEPTH {
            guard.low = Some(0);
            return None;
        }
        if let Some(pos) = guard.stack.iter().position(|e| *e == (file, s, name)) {
            guard.low = Some(guard.low.map_or(pos, |l| l.min(pos)));
            return None;
        }
        let depth = guard.stack.len();
        let outer_low = guard.low.take();
        guard.stack.push((file, s, name));
        let found = self.lookup_in_scope_inner(file, s, name, ns, guard);
        guard.stack.pop();
        let inner_low = guard.low.filter(|&l| l < depth);
        if inner_low.is_none() {
            self.lookup_cache.insert(key, found.clone());
        } else if found.is_none() {
            guard.empty.insert(key, inner_low);
        }
        guard.low = match (outer_low, inner_low) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        found
    }

    fn lookup_in_scope_inner(&self, file: u32, s: ScopeId, name: Sym, ns: Ns, guard: &mut Guard) -> Option<Res> {
        if let Some(r) = self.lookup_in_items(file, s, name, ns) {
            return Some(r);
        }
        let sc = self.file(file).scope(s);
        for u in sc.uses.iter().filter(|u| u.alias == Some(name)) {
            if let Some(r) = self.resolve_path_guarded(file, s, &u.path, ns, guard) {
                return Some(r);
            }
        }
        let mut external_globs: Vec<SymPath> = Vec::new();
        for u in sc.uses.iter().filter(|u| u.alias.is_none()) {
            match self.resolve_path_guarded(file, s, &u.path, Ns::Module, guard) {
                Some(Res::Mod(m)) => {
                    if let Some(r) = self.lookup_in_module(m, name, ns, guard) {
                        return Some(r);
                    }
                }
                Some(Res::Ext(p)) => external_globs.push(p),
                _ => {}
            }
        }
        // We cannot list another crate's module, so a glob import from outside the workspace only
        // answers when it is the only glob that could, and never for prelude names it would shadow
        // by accident. At a path's head it answers only for a type (`PgConnection` in
        // `PgConnection::establish` from `diesel::prelude::*`), never for a crate or module name
        // (`std` in `std::fs::read` next to `use std::fs::*`).
        let head_ok = ns != Ns::Module
            || (self.names.str(name).starts_with(|c: char| c.is_ascii_uppercase())
                && name != self.wk.std
                && self.module_of_scope(file, s).is_some_and(|m| self.extern_crate(m, name).is_none()));
        if head_ok && external_globs.len() == 1 && !self.wk.prelude.contains_key(&name) {
            let mut v = external_globs.pop().unwrap_or_default().into_vec();
            v.push(name);
            return Some(Res::Ext(v.into()));
        }
        None
    }

    /// The first item of a scope named `name` that lives in namespace `ns`.
    fn lookup_in_items(&self, file: u32, s: ScopeId, name: Sym, ns: Ns) -> Option<Res> {
        let sc = self.file(file).scope(s);
        match self.big_scopes.get(&(file, s)) {
            // Generated modules declare tens of thousands of items: those are looked up by name.
            Some(index) => {
                let first = index.partition_point(|&(n, _)| n < name);
                index[first..]
                    .iter()
                    .take_while(|&&(n, _)| n == name)
                    .find_map(|&(_, i)| self.item_res(file, s, &sc.items[i as usize], ns))
            }
            None => sc.items.iter().filter(|i| i.name == name).find_map(|item| self.item_res(file, s, item, ns)),
        }
    }

    fn item_res(&self, file: u32, scope: ScopeId, item: &Item, ns: Ns) -> Option<Res> {
        let r = match (item.kind, ns) {
            (ItemKind::Fn(f), Ns::Value) => Res::Fn(FnRef { file, func: f }),
            (ItemKind::Static(s), Ns::Value) => Res::Static(file, s),
            (ItemKind::Const, Ns::Value) => Res::Const(file, scope, item.name),
            (ItemKind::Struct(s), _) => Res::Struct(file, s),
            (ItemKind::Enum | ItemKind::Union, Ns::Type | Ns::Module) => Res::OpaqueType,
            (ItemKind::Trait(t), Ns::Type | Ns::Module) => Res::Trait(file, t),
            (ItemKind::TypeAlias(a), Ns::Type | Ns::Module) => Res::Alias(file, a),
            (ItemKind::Mod(local), Ns::Type | Ns::Module) => Res::Mod(*self.mod_of.get(&(file, local))?),
            (ItemKind::ModFile(_), Ns::Type | Ns::Module) => {
                let module = self.module_of_scope(file, scope)?;
                Res::Mod(*self.modules[module.0 as usize].children.get(&item.name)?)
            }
            _ => return None,
        };
        Some(r)
    }

    /// Whether a trait is in scope at `scope` (imported by name, as `_`, or through a glob of its
    /// module), which rustc requires before its methods can be called.
    pub fn trait_in_scope(&self, file: u32, scope: ScopeId, trait_path: &[Sym]) -> bool {
        let facts = self.file(file);
        let Some((_, module_path)) = trait_path.split_last() else { return false };
        let mut cur = Some(scope);
        while let Some(s) = cur {
            let sc = facts.scope(s);
            for u in &sc.uses {
                let ns = if u.alias.is_some() { Ns::Type } else { Ns::Module };
                match (u.alias, self.resolve_path(file, s, &u.path, ns)) {
                    (Some(_), Some(Res::Ext(p))) if &*p == trait_path => return true,
                    (None, Some(Res::Ext(p))) if &*p == module_path => return true,
                    _ => {}
                }
            }
            if matches!(sc.kind, ScopeKind::Module(_)) {
                break;
            }
            cur = sc.parent;
        }
        false
    }

    // ----- call targets ------------------------------------------------------------------------

    /// What call site `call` of function `f` calls.
    pub fn call_target(&self, f: FnRef, call: &CallSite) -> Target {
        match &call.callee {
            Callee::Path { qself: Some(q), path } => {
                let Some(&method) = path.segs().last() else { return Target::Unknown };
                let facts = self.func(f);
                let ty = self.resolve_ty(f.file, facts.outer_scope, q);
                self.method_target(&ty, method)
            }
            Callee::Path { qself: None, path } => match self.resolve_path(f.file, call.scope, path, Ns::Value) {
                Some(Res::Fn(target)) => Target::Workspace(target),
                Some(Res::Ext(p)) => Target::ExtFn(p),
                Some(Res::Assoc(owner, name)) => {
                    let ty = self.res_to_ty(f.file, *owner, &[]);
                    match ty {
                        RTy::Ext(p, _) => {
                            let mut v = p.into_vec();
                            v.push(name);
                            Target::ExtFn(v.into())
                        }
                        other => self.method_target(&other, name),
                    }
                }
                _ => Target::Unknown,
            },
            Callee::Method { receiver, name } => {
                let ty = self.value_ty(f, receiver);
                self.method_target(&ty, *name)
            }
            Callee::Other => Target::Unknown,
        }
    }

    /// The method `name` on a value of type `ty`.
    pub fn method_target(&self, ty: &RTy, name: Sym) -> Target {
        match ty {
            RTy::Ext(p, _) => Target::ExtMethod(p.clone(), name),
            RTy::Local(LocalTy::Struct(file, s), _) => match self.find_method(*file, *s, name) {
                Some(f) => Target::Workspace(f),
                None => Target::Unknown,
            },
            RTy::Dyn(Res::Trait(file, t)) => match self.dispatch(*file, *t, name) {
                Some(f) => Target::Workspace(f),
                None => Target::Unknown,
            },
            _ => Target::Unknown,
        }
    }

    /// A method called through a workspace trait (`dyn Repo`, `impl Repo`, `T: Repo`, `Self` in a
    /// default method): resolved only when the trait has exactly one implementation in the
    /// workspace; with more, the callee is unknown and no claim is made.
    pub fn dispatch(&self, file: u32, t: TraitIdx, name: Sym) -> Option<FnRef> {
        let impls = self.impls_of_trait(file, t);
        let default = || {
            self.file(file).traits[t.idx()]
                .methods
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, f)| *f)
                .map(|func| FnRef { file, func })
        };
        match &*impls {
            [] => None,
            [(ifile, imp)] => {
                let facts = self.file(*ifile);
                facts.impls[imp.idx()]
                    .methods
                    .iter()
                    .find(|m| facts.fns[m.idx()].name == name)
                    .map(|&func| FnRef { file: *ifile, func })
                    .or_else(default)
            }
            _ => None,
        }
    }

    /// The first trait bound of generic parameter `name` as seen from `scope`, if any.
    pub fn generic_bound(&self, file: u32, scope: ScopeId, name: Sym) -> Option<Res> {
        let facts = self.file(file);
        let mut cur = Some(scope);
        while let Some(s) = cur {
            let sc = facts.scope(s);
            if sc.generics.contains(&name) {
                let (_, bound) = sc.generic_bounds.iter().find(|(n, _)| *n == name)?;
                return self.resolve_path(file, s, bound, Ns::Type);
            }
            if matches!(sc.kind, ScopeKind::Module(_)) {
                return None;
            }
            cur = sc.parent;
        }
        None
    }

    /// A method of a local struct, from its inherent impls first, then its trait impls.
    pub fn find_method(&self, file: u32, s: StructIdx, name: Sym) -> Option<FnRef> {
        self.method_cache.get_or_insert_with((file, s, name), || self.find_method_uncached(file, s, name))
    }

    fn find_method_uncached(&self, file: u32, s: StructIdx, name: Sym) -> Option<FnRef> {
        let impls = self.impls_of_struct(file, s);
        let mut found = None;
        for inherent in [true, false] {
            for &(ifile, imp) in impls.iter() {
                let facts = self.file(ifile);
                let imp_facts = &facts.impls[imp.idx()];
                if imp_facts.trait_path.is_none() != inherent {
                    continue;
                }
                for &m in &imp_facts.methods {
                    if facts.fns[m.idx()].name == name {
                        found.get_or_insert(FnRef { file: ifile, func: m });
                    }
                }
                // A trait method the impl does not override runs the trait's default body.
                if found.is_none() && !inherent {
                    if let Some(Res::Trait(tf, t)) = imp_facts
                        .trait_path
                        .as_ref()
                        .and_then(|tp| self.resolve_path(ifile, imp_facts.scope, tp, Ns::Type))
                    {
                        let default = self.file(tf).traits[t.idx()].methods.iter().find(|(n, _)| *n == name);
                        if let Some((_, Some(func))) = default {
                            found = Some(FnRef { file: tf, func: *func });
                        }
                    }
                }
            }
            if found.is_some() {
                break;
            }
        }
        found
    }
}
