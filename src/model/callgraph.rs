//! The workspace call graph and what it says about each sync fn: whether calling it may block (or
//! block on a future), with one witness, the shortest chain of calls down to the API. Built once
//! per analysis from the per-function facts; cycles and recursion end because the summaries are a
//! breadth-first search over reverse edges.

use std::collections::VecDeque;

use rayon::prelude::*;

use super::context::Exec;
use super::resolve::Target;
use super::{FnRef, Model};
use crate::catalogue::ApiSet;
use crate::parse::facts::{CallId, FnIdx};

/// A call worth knowing about, classified once.
#[derive(Clone, Copy, Debug)]
pub struct Site {
    pub call: CallId,
    pub exec: Exec,
    pub kind: SiteKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteKind {
    /// A blocking API (index into `cat.blocking`).
    Blocking(usize),
    /// A block_on-like API (index into `cat.block_on`).
    BlockOn(usize),
    /// A fn of the workspace.
    Calls(FnRef),
}

/// Why a sync fn may block: its call `call` either is the API (`via == None`) or calls `via`,
/// which may block in turn.
#[derive(Clone, Copy, Debug)]
pub struct Witness {
    pub call: CallId,
    pub via: Option<FnRef>,
    pub api: usize,
    pub depth: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Summary {
    Blocking,
    BlockOn,
}

pub struct CallGraph {
    base: Vec<u32>,
    pub sites: Vec<Vec<Site>>,
    blocking: Vec<Option<Witness>>,
    block_on: Vec<Option<Witness>>,
}

impl CallGraph {
    pub fn build(model: &Model) -> CallGraph {
        let mut base = Vec::with_capacity(model.files.len());
        let mut total = 0u32;
        for facts in model.files {
            base.push(total);
            total += facts.as_ref().map_or(0, |f| f.fns.len() as u32);
        }
        let fns: Vec<FnRef> = model.all_fns().collect();
        debug_assert_eq!(fns.len(), total as usize);
        let sites: Vec<Vec<Site>> = fns.par_iter().map(|&f| classify(model, f)).collect();
        let mut graph = CallGraph { base, sites, blocking: Vec::new(), block_on: Vec::new() };
        graph.blocking = graph.summarize(model, Summary::Blocking);
        graph.block_on = graph.summarize(model, Summary::BlockOn);
        graph
    }

    pub fn index(&self, f: FnRef) -> usize {
        (self.base[f.file as usize] + f.func.0) as usize
    }

    fn fn_at(&self, idx: usize) -> FnRef {
        let file = self.base.partition_point(|&b| b as usize <= idx) - 1;
        // Files without functions share a base with the next file; take the last one that starts here.
        FnRef { file: file as u32, func: FnIdx(idx as u32 - self.base[file]) }
    }

    /// Every workspace fn and the calls to it from other workspace fns: (callee, caller, call).
    pub fn workspace_edges(&self) -> impl Iterator<Item = (FnRef, FnRef, CallId)> + '_ {
        self.sites.iter().enumerate().flat_map(move |(i, sites)| {
            let caller = self.fn_at(i);
            sites.iter().filter_map(move |s| match s.kind {
                SiteKind::Calls(g) => Some((g, caller, s.call)),
                _ => None,
            })
        })
    }

    pub fn witness(&self, f: FnRef, which: Summary) -> Option<Witness> {
        let list = match which {
            Summary::Blocking => &self.blocking,
            Summary::BlockOn => &self.block_on,
        };
        list.get(self.index(f)).copied().flatten()
    }

    fn summarize(&self, model: &Model, which: Summary) -> Vec<Option<Witness>> {
        let n = self.sites.len();
        let mut out: Vec<Option<Witness>> = vec![None; n];
        let mut reverse: Vec<Vec<(usize, CallId)>> = vec![Vec::new(); n];
        let mut queue = VecDeque::new();
        for (i, sites) in self.sites.iter().enumerate() {
            if !is_sync_fn(model, self.fn_at(i)) {
                continue;
            }
            for s in sites.iter().filter(|s| s.exec == Exec::Sync) {
                match (s.kind, which) {
                    (SiteKind::Blocking(api), Summary::Blocking) | (SiteKind::BlockOn(api), Summary::BlockOn)
                        if out[i].is_none() =>
                    {
                        out[i] = Some(Witness { call: s.call, via: None, api, depth: 1 });
                        queue.push_back(i);
                    }
                    (SiteKind::Calls(g), _) if is_sync_fn(model, g) => reverse[self.index(g)].push((i, s.call)),
                    _ => {}
                }
            }
        }
        while let Some(g) = queue.pop_front() {
            let Some(w) = out[g] else { continue };
            let callee = self.fn_at(g);
            for &(caller, call) in &reverse[g] {
                if out[caller].is_none() {
                    out[caller] = Some(Witness { call, via: Some(callee), api: w.api, depth: w.depth + 1 });
                    queue.push_back(caller);
                }
            }
        }
        out
    }
}

/// A fn whose body runs on the caller's thread when called (not an async fn, which only builds a
/// future, and not a runtime entry point).
pub fn is_sync_fn(model: &Model, f: FnRef) -> bool {
    let func = model.func(f);
    !func.is_async && !func.runtime_entry
}

fn classify(model: &Model, f: FnRef) -> Vec<Site> {
    let func = model.func(f);
    if func.calls.is_empty() {
        return Vec::new();
    }
    let exec = model.exec_table(f);
    let mut out = Vec::new();
    for (i, call) in func.calls.iter().enumerate() {
        let e = exec.of(call.ctx);
        let target = model.call_target(f, call);
        // Calls between workspace fns are kept whatever runs them: the database rules follow
        // them to see who reaches what. API calls matter only where they can block the runtime.
        let kind = if matches!(e, Exec::Offloaded | Exec::NoRuntime) {
            match target {
                Target::Workspace(g) => SiteKind::Calls(g),
                _ => continue,
            }
        } else if let Some(api) = api(model, &model.cat.blocking, f, call, &target) {
            SiteKind::Blocking(api)
        } else if let Some(api) = api(model, &model.cat.block_on, f, call, &target) {
            SiteKind::BlockOn(api)
        } else if let Target::Workspace(g) = target {
            SiteKind::Calls(g)
        } else {
            continue;
        };
        out.push(Site { call: CallId(i as u32), exec: e, kind });
    }
    out
}

fn api(model: &Model, set: &ApiSet, f: FnRef, call: &crate::parse::facts::CallSite, target: &Target) -> Option<usize> {
    model.api_called_with(set, f, call, target)
}
