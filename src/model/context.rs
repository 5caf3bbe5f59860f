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
                            return Exec::Sync;
                        }
                    }
                }
                CtxKind::Closure { is_async: true, .. } => return Exec::Async(AsyncKind::AsyncClosure, Some(c)),
                CtxKind::Closure { passed_to, bound_to, .. } => {
                    if passed_to.is_some_and(|call| self.is_offload_call(f, call)) {
                        return Exec::Offloaded;
                    }
                    if let Some(b) = bound_to {
                        let passed_on = func.calls.iter().enumerate().any(|(i, call)| {
                            call.args.contains(&ValueSrc::Local(*b)) && self.is_offload_call(f, CallId(i as u32))
                        });
                        if passed_on {
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

    /// Whether a call hands its closure argument to another thread.
    pub fn is_offload_call(&self, f: FnRef, call: CallId) -> bool {
        let site = &self.func(f).calls[call.idx()];
        match self.call_target(f, site) {
            Target::ExtFn(p) => self.cat.offload_paths.contains(&p),
            Target::ExtMethod(t, m) => self.cat.offload_methods.contains(&(t, m)),
            _ => false,
        }
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
