//! Catalogue queries on resolved call sites: is this call a known blocking API?

use super::resolve::Target;
use super::types::RTy;
use super::{FnRef, Model};
use crate::catalogue::SymPath;
use crate::intern::Sym;
use crate::parse::facts::*;

impl Model<'_> {
    /// The catalogue entry of the blocking API that `call` (in function `f`) calls, if any.
    pub fn blocking_api(&self, f: FnRef, call: &CallSite) -> Option<usize> {
        let target = self.call_target(f, call);
        let direct = match &target {
            Target::ExtFn(p) => self.blocking_fn(p),
            Target::ExtMethod(t, m) => self.blocking_method(t, *m),
            Target::Workspace(_) => return None,
            Target::Unknown => None,
        };
        if direct.is_some() {
            return direct;
        }
        let Callee::Method { name, .. } = &call.callee else { return None };
        // Trait methods callable on any receiver, once the trait is in scope.
        if let Some(entries) = self.cat.blocking_trait_methods.get(name) {
            for (trait_path, idx) in entries {
                if self.trait_in_scope(f.file, call.scope, trait_path) {
                    return Some(*idx);
                }
            }
        }
        // Methods that block because of the connection they are given (diesel's `load(&mut conn)`).
        if let Some(entries) = self.cat.blocking_arg_methods.get(name) {
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

    fn blocking_fn(&self, p: &SymPath) -> Option<usize> {
        if let Some(&idx) = self.cat.blocking_paths.get(p) {
            return Some(idx);
        }
        // `Alias::method` where the catalogue knows the type under another path.
        let (name, ty) = p.split_last()?;
        let info = self.cat.type_info(ty)?;
        let mut v = info.canonical.to_vec();
        v.push(*name);
        self.cat.blocking_paths.get(&SymPath::from(v)).copied()
    }

    fn blocking_method(&self, ty: &SymPath, name: Sym) -> Option<usize> {
        let mut ty = self.canonical_type(ty);
        for _ in 0..4 {
            if let Some(&idx) = self.cat.blocking_methods.get(&(ty.clone(), name)) {
                return Some(idx);
            }
            // `PathBuf` derefs to `Path`.
            ty = self.cat.type_info(&ty)?.deref_to.clone()?;
        }
        None
    }

    pub fn canonical_type(&self, p: &SymPath) -> SymPath {
        match self.cat.type_info(p) {
            Some(info) => info.canonical.clone(),
            None => p.clone(),
        }
    }
}
