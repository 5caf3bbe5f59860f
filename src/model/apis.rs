//! Catalogue queries on resolved call sites: is this call a known blocking API?

use super::resolve::Target;
use super::types::RTy;
use super::{FnRef, Model};
use crate::catalogue::{ApiSet, SymPath};
use crate::intern::Sym;
use crate::parse::facts::*;

impl Model<'_> {
    /// The entry of `set` that `call` (in function `f`) calls, if any.
    pub fn api_called(&self, set: &ApiSet, f: FnRef, call: &CallSite) -> Option<usize> {
        self.api_called_with(set, f, call, &self.call_target(f, call))
    }

    /// Like `api_called`, with the call's target already resolved.
    pub fn api_called_with(&self, set: &ApiSet, f: FnRef, call: &CallSite, target: &Target) -> Option<usize> {
        let direct = match target {
            // A workspace crate may be the catalogued crate itself (vendored code): a call into
            // another crate of the workspace is also checked under the callee's public path.
            Target::Workspace(g) if self.crate_of(f.file) != self.crate_of(g.file) => {
                let (ty, name) = self.public_path(*g)?;
                match ty {
                    Some(t) => self.api_method(set, &t, name),
                    None => self.api_fn(set, &self.module_path_of(*g, name)),
                }
            }
            Target::ExtFn(p) => self.api_fn(set, p),
            // `<T as Trait>::f(..)` names an associated fn as a method of `T`.
            Target::ExtMethod(t, m) => self.api_method(set, t, *m).or_else(|| {
                let mut v = t.to_vec();
                v.push(*m);
                self.api_fn(set, &SymPath::from(v))
            }),
            // The user's own blocking fns (`[[blocking-api]]`) count inside their crate too.
            Target::Workspace(g) => return self.user_api(set, *g),
            Target::Unknown => None,
        };
        if direct.is_some() {
            return direct;
        }
        let Callee::Method { name, .. } = &call.callee else { return None };
        // Trait methods callable on any receiver, once the trait is in scope.
        if let Some(entries) = set.trait_methods.get(name) {
            for (trait_path, idx) in entries {
                if self.trait_in_scope(f.file, call.scope, trait_path) {
                    return Some(*idx);
                }
            }
        }
        // Methods that block because of the connection they are given (diesel's `load(&mut conn)`).
        if let Some(entries) = set.arg_methods.get(name) {
            for arg in call.args.iter() {
                if let RTy::Ext(p, _) = self.value_ty(f, arg) {
                    let canonical = self.canonical_type(&p);
                    for (types, idx) in entries {
                        if types.contains(&canonical) {
                            return Some(*idx);
                        }
                    }
                }
            }
        }
        None
    }

    fn api_fn(&self, set: &ApiSet, p: &SymPath) -> Option<usize> {
        if let Some(&idx) = set.paths.get(p) {
            return Some(idx);
        }
        // `Alias::method` where the catalogue knows the type under another path.
        let (name, ty) = p.split_last()?;
        let info = self.cat.type_info(ty)?;
        let mut v = info.canonical.to_vec();
        v.push(*name);
        set.paths.get(&SymPath::from(v)).copied()
    }

    fn api_method(&self, set: &ApiSet, ty: &SymPath, name: Sym) -> Option<usize> {
        let mut ty = self.canonical_type(ty);
        for _ in 0..4 {
            if let Some(&idx) = set.methods.get(&(ty.clone(), name)) {
                return Some(idx);
            }
            // `PathBuf` derefs to `Path`.
            ty = self.cat.type_info(&ty)?.deref_to.clone()?;
        }
        None
    }

    /// The crate a file belongs to.
    pub fn crate_of(&self, file: u32) -> Option<u32> {
        self.mod_of.get(&(file, ModIdx(0))).map(|m| self.modules[m.0 as usize].krate)
    }

    /// A workspace fn called from its own crate: a user's `[[blocking-api]]` entry, if it is one.
    fn user_api(&self, set: &ApiSet, g: FnRef) -> Option<usize> {
        let from = set.user_from?;
        let idx = match self.public_path(g)? {
            (Some(t), name) => self.api_method(set, &t, name),
            (None, name) => self.api_fn(set, &self.module_path_of(g, name)),
        }?;
        (idx >= from).then_some(idx)
    }

    /// A workspace fn as another crate names it: its impl type's path (for methods) and its name.
    pub(crate) fn public_path(&self, g: FnRef) -> Option<(Option<SymPath>, Sym)> {
        let func = self.func(g);
        match func.owner {
            Owner::Free => Some((None, func.name)),
            Owner::Impl(i) => {
                let imp = &self.file(g.file).impls[i.idx()];
                let Ty::Path { path, .. } = &imp.self_ty else { return None };
                let ty_name = *path.segs().last()?;
                Some((Some(self.module_path_of(g, ty_name)), func.name))
            }
            Owner::Trait(_) => None,
        }
    }

    /// `krate::module::name` for a name defined in the module of fn `g`.
    pub(crate) fn module_path_of(&self, g: FnRef, name: Sym) -> SymPath {
        let func = self.func(g);
        let mut out = Vec::new();
        if let Some(&m) = self.mod_of.get(&(g.file, func.module)) {
            out.push(self.crates[self.modules[m.0 as usize].krate as usize].name);
            out.extend(self.module_path(m).into_iter().skip(1));
        }
        out.push(name);
        out.into()
    }

    pub fn canonical_type(&self, p: &SymPath) -> SymPath {
        match self.cat.type_info(p) {
            Some(info) => info.canonical.clone(),
            None => p.clone(),
        }
    }
}
