//! Where code runs: on an async worker (async fn, async block, async closure, runtime entry point),
//! in plain sync code, or offloaded to another thread (a closure given to `spawn_blocking`,
//! `std::thread::spawn` and the like, directly or through a variable). Closures given to anything
//! else (iterator adapters, `unwrap_or_else`, ...) run in place, in the context around them.

use super::resolve::Target;
use super::{FnRef, Model};
use crate::parse::facts::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsyncKind {
    AsyncFn,
    AsyncBlock,
    AsyncClosure,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exec {
    /// On an async worker thread; `CtxId` is the innermost async block or closure, if any.
    Async(AsyncKind, Option<CtxId>),
    Sync,
    Offloaded,
    /// Runs only where no runtime exists (the `Err` branch of `Handle::try_current()`): neither
    /// async context nor part of what calling the enclosing fn does inside a runtime.
    NoRuntime,
}

impl Model<'_> {
    /// The execution context of code at `ctx` inside function `f`.
    pub fn exec_of(&self, f: FnRef, mut ctx: Option<CtxId>) -> Exec {
        let func = self.func(f);
        while let Some(c) = ctx {
            let node = &func.ctxs[c.idx()];
            match &node.kind {
                CtxKind::AsyncBlock => return Exec::Async(AsyncKind::AsyncBlock, Some(c)),
                // `match Handle::try_current() { Err(_) => .. }`: runs only where no runtime is.
                CtxKind::ErrBranchOf(call) => {
                    let site = &func.calls[call.idx()];
                    if let Target::ExtFn(p) = self.call_target(f, site) {
                        if self.names.join(&p) == "tokio::runtime::Handle::try_current" {
                            return Exec::NoRuntime;
                        }
                    }
                }
                CtxKind::Closure { is_async: true, .. } => return Exec::Async(AsyncKind::AsyncClosure, Some(c)),
                CtxKind::Closure { passed_to, bound_to, .. } => {
                    if passed_to.is_some_and(|call| self.is_offload_call(f, call)) {
                        return Exec::Offloaded;
                    }
                    let wrapped = passed_to.is_none_or(|call| self.is_box_like(f, call));
                    if let (true, Some(b)) = (wrapped, bound_to) {
                        if self.binding_offloaded(f, *b) {
                            return Exec::Offloaded;
                        }
                    }
                }
            }
            ctx = node.parent;
        }
        if func.is_async || func.runtime_entry {
            Exec::Async(AsyncKind::AsyncFn, None)
        } else {
            Exec::Sync
        }
    }

    /// Whether a call hands its closure argument to another thread: an offload API, or a
    /// workspace fn that passes one of its parameters straight to one.
    pub fn is_offload_call(&self, f: FnRef, call: CallId) -> bool {
        let site = &self.func(f).calls[call.idx()];
        match self.call_target(f, site) {
            Target::ExtFn(p) => self.cat.offload_paths.contains(&p),
            Target::ExtMethod(t, m) => self.cat.offload_methods.contains(&(t, m)),
            Target::Workspace(g) => self.offload_wrappers.contains(&g) || self.api_called_with_offload(f, g),
            Target::Unknown => false,
        }
    }

    /// A call into another workspace crate that is a catalogued offload API (`blocking::unblock`
    /// when the `blocking` crate is part of the workspace).
    /// The user's own offload fns and methods (`[[offload]]`) count inside their crate too.
    fn api_called_with_offload(&self, f: FnRef, g: FnRef) -> bool {
        let same_crate = self.crate_of(f.file) == self.crate_of(g.file);
        let user = !self.cat.user_offload_paths.is_empty() || !self.cat.user_offload_methods.is_empty();
        if same_crate && !user {
            return false;
        }
        let func = self.func(g);
        match func.owner {
            Owner::Free => {
                let path = self.module_path_of(g, func.name);
                self.cat.user_offload_paths.contains(&path) || (!same_crate && self.cat.offload_paths.contains(&path))
            }
            Owner::Impl(_) if user => self
                .public_path(g)
                .is_some_and(|(t, name)| t.is_some_and(|t| self.cat.user_offload_methods.contains(&(t, name)))),
            _ => false,
        }
    }

    /// `Box::new(closure)`, `Arc::new(closure)`, `Box::pin(closure)`: the closure is still the
    /// value, only wrapped.
    fn is_box_like(&self, f: FnRef, call: CallId) -> bool {
        let site = &self.func(f).calls[call.idx()];
        match self.call_target(f, site) {
            Target::ExtFn(p) => {
                let s = self.names.join(&p);
                matches!(
                    s.as_str(),
                    "std::boxed::Box::new" | "std::boxed::Box::pin" | "std::sync::Arc::new" | "std::rc::Rc::new"
                )
            }
            _ => false,
        }
    }

    /// Whether the value of binding `b` (or of a binding that copies it, `let job2 = job;`) is
    /// passed to an offload call in `f`.
    fn binding_offloaded(&self, f: FnRef, b: BindingId) -> bool {
        let func = self.func(f);
        let mut holders = vec![b];
        let mut i = 0;
        while i < holders.len() && holders.len() < 64 {
            let h = holders[i];
            for (j, binding) in func.bindings.iter().enumerate() {
                if binding.init == ValueSrc::Local(h) && !holders.contains(&BindingId(j as u32)) {
                    holders.push(BindingId(j as u32));
                }
            }
            i += 1;
        }
        func.calls.iter().enumerate().any(|(i, call)| {
            call.args.iter().any(|a| matches!(a, ValueSrc::Local(x) if holders.contains(x)))
                && self.is_offload_call(f, CallId(i as u32))
        })
    }

    /// Workspace fns that hand one of their parameters to an offload API
    /// (`fn blocking<F>(work: F) { spawn_blocking(work) }`). One level: a wrapper of a wrapper is
    /// not followed.
    pub(crate) fn find_offload_wrappers(&self) -> std::collections::HashSet<FnRef> {
        use rayon::prelude::*;
        // Resolving every call that passes a parameter on was most of this pass. An offload call
        // is written with the API's own name, or with another name that a `use .. as` gives it;
        // no other call needs resolving.
        let cat = self.cat;
        let mut names: std::collections::HashSet<crate::intern::Sym> = cat
            .offload_paths
            .iter()
            .chain(&cat.user_offload_paths)
            .filter_map(|p| p.last().copied())
            .chain(cat.offload_methods.iter().chain(&cat.user_offload_methods).map(|(_, m)| *m))
            .collect();
        names.extend(self.other_names());
        let may_offload = |call: &CallSite| match &call.callee {
            Callee::Path { path, .. } => path.segs().last().is_some_and(|n| names.contains(n)),
            Callee::Method { name, .. } => names.contains(name),
            Callee::Other => false,
        };
        let fns: Vec<FnRef> = self.all_fns().collect();
        fns.par_iter()
            .copied()
            .filter(|&f| {
                let func = self.func(f);
                !func.params.is_empty()
                    && func.calls.iter().enumerate().any(|(i, call)| {
                        may_offload(call)
                            && call.args.iter().any(|a| matches!(a, ValueSrc::Local(b) if func.params.contains(b)))
                            && self.is_offload_call(f, CallId(i as u32))
                    })
            })
            .collect()
    }
}

/// The execution context of every context node of one function, computed once per function.
pub struct ExecTable {
    root: Exec,
    by_ctx: Vec<Exec>,
}

impl ExecTable {
    pub fn of(&self, ctx: Option<CtxId>) -> Exec {
        match ctx {
            Some(c) => self.by_ctx.get(c.idx()).copied().unwrap_or(self.root),
            None => self.root,
        }
    }
}

impl Model<'_> {
    pub fn exec_table(&self, f: FnRef) -> ExecTable {
        let n = self.func(f).ctxs.len();
        ExecTable {
            root: self.exec_of(f, None),
            by_ctx: (0..n).map(|i| self.exec_of(f, Some(CtxId(i as u32)))).collect(),
        }
    }
}
