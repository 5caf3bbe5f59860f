//! The workspace call graph and what it says about each sync fn: whether calling it may block (or
//! block on a future), with one witness, the shortest chain of calls down to the API. Built once
//! per analysis from the per-function facts; cycles and recursion end because the summaries are a
//! breadth-first search over reverse edges.

use std::collections::VecDeque;

use rayon::prelude::*;

use super::context::{AsyncKind, Exec};
use super::db::DbIndex;
use super::resolve::Target;
use super::{FnRef, Model};
use crate::bytes::Reader;
use crate::catalogue::{ApiSet, DbRole, SymPath};
use crate::intern::Sym;
use crate::parse::facts::{CallId, CallSite, Callee, CtxId, FnFacts, FnIdx, Owner};
use rustc_hash::FxHashSet;

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

/// One file's calls, per fn: the classified sites and the calls with a database role.
#[derive(Default)]
struct FileCalls {
    sites: Vec<Vec<Site>>,
    db: Vec<DbCalls>,
}

type DbCalls = Box<[(CallId, DbRole, SymPath)]>;

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
    /// Classifies every call of the workspace. With `reuse`, a file whose classified calls were
    /// kept under the same key is not classified again.
    pub fn build(model: &Model, reuse: Option<&SiteCache>) -> CallGraph {
        let mut base = Vec::with_capacity(model.files.len());
        let mut total = 0u32;
        for facts in model.files {
            base.push(total);
            total += facts.as_ref().map_or(0, |f| f.fns.len() as u32);
        }
        // Each file's calls are classified, and their database roles found, in one pass: both
        // resolve the same calls, and both are kept in the cache together.
        let method_names = MethodNames::of(model);
        let per_file: Vec<FileCalls> = (0..model.files.len() as u32)
            .into_par_iter()
            .map(|file| {
                let n = model.files[file as usize].as_ref().map_or(0, |f| f.fns.len());
                if n == 0 {
                    return FileCalls::default();
                }
                if let Some(kept) = reuse.and_then(|r| r.get(model, file)) {
                    return kept;
                }
                let fns = (0..n).map(|i| FnRef { file, func: FnIdx(i as u32) });
                let calls = FileCalls {
                    sites: fns.clone().map(|f| classify(model, &method_names, f)).collect(),
                    db: fns.map(|f| model.compute_db_calls(f)).collect(),
                };
                if let Some(r) = reuse {
                    r.put(model, file, &calls);
                }
                calls
            })
            .collect();
        let mut sites: Vec<Vec<Site>> = Vec::with_capacity(total as usize);
        let mut db_index = DbIndex::default();
        for (file, calls) in per_file.into_iter().enumerate() {
            sites.extend(calls.sites);
            for (i, roles) in calls.db.into_iter().enumerate() {
                if !roles.is_empty() {
                    db_index.insert(FnRef { file: file as u32, func: FnIdx(i as u32) }, roles);
                }
            }
        }
        model.provide_db_index(db_index);
        debug_assert_eq!(sites.len(), total as usize);
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

/// The names a method call must have to be classified as anything: the methods of the
/// workspace's impls and traits, and the method names of the blocking and block_on catalogues.
///
/// A method call by another name (`.unwrap()`, `.iter()` in most workspaces) can resolve to no
/// workspace fn, since methods are found by name and cannot be renamed, and can match no API, so
/// `classify` would drop it after typing its receiver, the costliest step of the call graph.
/// Calls by path are always classified: a `use .. as` may rename them.
struct MethodNames(FxHashSet<Sym>);

impl MethodNames {
    fn of(model: &Model) -> MethodNames {
        let mut names = FxHashSet::default();
        for facts in model.files.iter().flatten() {
            names.extend(facts.fns.iter().filter(|f| !matches!(f.owner, Owner::Free)).map(|f| f.name));
            names.extend(facts.traits.iter().flat_map(|t| t.methods.iter().map(|(name, _)| *name)));
        }
        for set in [&model.cat.blocking, &model.cat.block_on] {
            names.extend(set.methods.keys().map(|(_, name)| *name));
            names.extend(set.paths.keys().filter_map(|p| p.last().copied()));
            names.extend(set.trait_methods.keys().copied());
            names.extend(set.arg_methods.keys().copied());
        }
        MethodNames(names)
    }

    fn may_classify(&self, call: &CallSite) -> bool {
        match &call.callee {
            Callee::Method { name, .. } => self.0.contains(name),
            _ => true,
        }
    }
}

fn classify(model: &Model, method_names: &MethodNames, f: FnRef) -> Vec<Site> {
    let func = model.func(f);
    if func.calls.is_empty() {
        return Vec::new();
    }
    let exec = model.exec_table(f);
    let mut out = Vec::new();
    for (i, call) in func.calls.iter().enumerate() {
        if !method_names.may_classify(call) {
            continue;
        }
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

/// Keeps each file's classified calls between runs, in the facts cache.
///
/// How a file's calls classify depends on the file itself and on what every other file declares
/// (its interface, `parse::cached::interface_hash`), never on other fns' bodies, except through
/// the set of offload wrappers. So a file's sites are keyed by its content hash and one key for
/// the whole workspace (`workspace_key`): an edit inside a fn body reclassifies that file alone;
/// an edit to a signature, an item or a `use` reclassifies every file.
pub struct SiteCache<'c> {
    pub cache: &'c dyn crate::FactsCache,
    pub paths: &'c [String],
    /// The content hash of each file.
    pub hashes: &'c [u64],
    pub workspace: u64,
}

impl SiteCache<'_> {
    fn key(&self, file: u32) -> u64 {
        crate::sha256_u64(&[&self.workspace.to_le_bytes(), &self.hashes[file as usize].to_le_bytes()])
    }

    fn get(&self, model: &Model, file: u32) -> Option<FileCalls> {
        let blob = self.cache.get_sites(&self.paths[file as usize], self.key(file))?;
        decode_calls(model, file, blob)
    }

    fn put(&self, model: &Model, file: u32, calls: &FileCalls) {
        self.cache.put_sites(&self.paths[file as usize], self.key(file), encode_calls(model, calls));
    }
}

/// Changes whenever the code that makes facts or classifies calls, or the catalogue built into
/// the binary, does.
const SITES_FORMAT: u64 = crate::parse::cached::FACTS_FORMAT
    ^ crate::lines::fnv1a_sources(&[
        include_str!("mod.rs"),
        include_str!("callgraph.rs"),
        include_str!("resolve.rs"),
        include_str!("types.rs"),
        include_str!("context.rs"),
        include_str!("apis.rs"),
        include_str!("memo.rs"),
        include_str!("db.rs"),
        include_str!("../catalogue.rs"),
        crate::catalogue::BLOCKING_APIS_TOML,
        crate::catalogue::API_TYPES_TOML,
        crate::catalogue::OFFLOAD_APIS_TOML,
        crate::catalogue::BLOCK_ON_APIS_TOML,
        crate::catalogue::DATABASE_APIS_TOML,
        crate::catalogue::SYNC_LOCKS_TOML,
    ])
    .rotate_left(1);

/// The key of everything outside a file that its sites depend on: the classifying code, the
/// user's extra APIs (`config`, any stable rendering of them), the crates, and each file's path
/// and interface hash, in order (so the positions that `FnRef`s hold are the same), and the
/// offload wrappers. `None` if a file with facts has no interface hash.
pub fn workspace_key(
    model: &Model,
    input: &crate::workspace::WorkspaceInput,
    interfaces: &[Option<u64>],
    config: &str,
) -> Option<u64> {
    let mut text = format!("{config}\n{:?}\n", input.crates);
    for (i, path) in input.files.iter().enumerate() {
        let interface = match (&model.files[i], interfaces.get(i).copied().flatten()) {
            (None, _) => "-".to_string(),
            (Some(_), Some(x)) => format!("{x:016x}"),
            (Some(_), None) => return None,
        };
        text.push_str(&format!("{path:?} {interface}\n"));
    }
    let mut wrappers: Vec<FnRef> = model.offload_wrappers.iter().copied().collect();
    wrappers.sort_by_key(|f| (f.file, f.func.0));
    text.push_str(&format!("{wrappers:?}"));
    Some(crate::sha256_u64(&[&SITES_FORMAT.to_le_bytes(), env!("CARGO_PKG_VERSION").as_bytes(), text.as_bytes()]))
}

/// A file's calls as bytes: per fn, a count, then per site the call, the context and the kind;
/// then per fn, a count, then per database call the call, the role and the type it is on (its
/// segments as text: symbols differ from run to run). Little-endian u32s and one-byte tags.
fn encode_calls(model: &Model, calls: &FileCalls) -> Vec<u8> {
    let mut out = Vec::new();
    let u32_ = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
    for fn_sites in &calls.sites {
        u32_(&mut out, fn_sites.len() as u32);
        for s in fn_sites {
            u32_(&mut out, s.call.0);
            match s.exec {
                Exec::Sync => out.push(0),
                Exec::Offloaded => out.push(1),
                Exec::NoRuntime => out.push(2),
                Exec::Async(kind, None) => out.push(3 + async_tag(kind)),
                Exec::Async(kind, Some(ctx)) => {
                    out.push(6 + async_tag(kind));
                    u32_(&mut out, ctx.0);
                }
            }
            match s.kind {
                SiteKind::Blocking(api) => {
                    out.push(0);
                    u32_(&mut out, api as u32);
                }
                SiteKind::BlockOn(api) => {
                    out.push(1);
                    u32_(&mut out, api as u32);
                }
                SiteKind::Calls(g) => {
                    out.push(2);
                    u32_(&mut out, g.file);
                    u32_(&mut out, g.func.0);
                }
            }
        }
    }
    for roles in &calls.db {
        u32_(&mut out, roles.len() as u32);
        for (call, role, on) in roles.iter() {
            u32_(&mut out, call.0);
            out.push(db_role_tag(*role));
            u32_(&mut out, on.len() as u32);
            for seg in on.iter() {
                let text = model.names.str(*seg);
                u32_(&mut out, text.len() as u32);
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
    out
}

/// A database role's tag in the cache: its position in `DB_ROLES`. A match, so that a new role
/// does not compile until it has a tag.
fn db_role_tag(role: DbRole) -> u8 {
    match role {
        DbRole::CreatePool => 0,
        DbRole::CreatePoolLazy => 1,
        DbRole::Connect => 2,
        DbRole::Acquire => 3,
        DbRole::Close => 4,
        DbRole::Begin => 5,
        DbRole::Statement => 6,
        DbRole::Query => 7,
        DbRole::WriteQuery => 8,
        DbRole::SqlAppend => 9,
        DbRole::PoolSetting => 10,
        DbRole::Run => 11,
    }
}

/// Every database role, by its tag in the cache.
const DB_ROLES: [DbRole; 12] = [
    DbRole::CreatePool,
    DbRole::CreatePoolLazy,
    DbRole::Connect,
    DbRole::Acquire,
    DbRole::Close,
    DbRole::Begin,
    DbRole::Statement,
    DbRole::Query,
    DbRole::WriteQuery,
    DbRole::SqlAppend,
    DbRole::PoolSetting,
    DbRole::Run,
];

fn async_tag(kind: AsyncKind) -> u8 {
    match kind {
        AsyncKind::AsyncFn => 0,
        AsyncKind::AsyncBlock => 1,
        AsyncKind::AsyncClosure => 2,
    }
}

/// The calls of `file` from a blob, checked against the model: every index must point where it
/// may and every name must be known, since a cache is never trusted. `None` for anything else.
fn decode_calls(model: &Model, file: u32, blob: &[u8]) -> Option<FileCalls> {
    let facts = model.files.get(file as usize)?.as_ref()?;
    let mut r = Reader::new(blob);
    let sites = facts
        .fns
        .iter()
        .map(|func| read_list(&mut r, func.calls.len(), |r| decode_site(r, model, func)))
        .collect::<Option<Vec<_>>>()?;
    let db = facts
        .fns
        .iter()
        .map(|func| {
            let roles = read_list(&mut r, func.calls.len(), |r| decode_db_call(r, model, func))?;
            // Sorted: `db_role` searches them by call.
            roles.windows(2).all(|w| w[0].0 .0 < w[1].0 .0).then(|| roles.into_boxed_slice())
        })
        .collect::<Option<Vec<_>>>()?;
    r.is_done().then_some(FileCalls { sites, db })
}

/// A count, then that many items. The count is not trusted to size the list beyond `most`.
fn read_list<'a, T>(
    r: &mut Reader<'a>,
    most: usize,
    mut item: impl FnMut(&mut Reader<'a>) -> Option<T>,
) -> Option<Vec<T>> {
    let n = r.u32()? as usize;
    let mut out = Vec::with_capacity(n.min(most));
    for _ in 0..n {
        out.push(item(r)?);
    }
    Some(out)
}

fn decode_site(r: &mut Reader, model: &Model, func: &FnFacts) -> Option<Site> {
    let call = Some(r.u32()?).filter(|&c| (c as usize) < func.calls.len())?;
    let exec = match r.u8()? {
        0 => Exec::Sync,
        1 => Exec::Offloaded,
        2 => Exec::NoRuntime,
        t @ 3..=5 => Exec::Async(async_kind(t - 3), None),
        t @ 6..=8 => {
            let ctx = Some(r.u32()?).filter(|&x| (x as usize) < func.ctxs.len())?;
            Exec::Async(async_kind(t - 6), Some(CtxId(ctx)))
        }
        _ => return None,
    };
    let kind = match r.u8()? {
        0 => SiteKind::Blocking(Some(r.u32()? as usize).filter(|&a| a < model.cat.blocking.apis.len())?),
        1 => SiteKind::BlockOn(Some(r.u32()? as usize).filter(|&a| a < model.cat.block_on.apis.len())?),
        2 => {
            let (g_file, g_func) = (r.u32()?, r.u32()?);
            let g_fns = model.files.get(g_file as usize)?.as_ref()?.fns.len();
            SiteKind::Calls(FnRef { file: g_file, func: FnIdx(Some(g_func).filter(|&g| (g as usize) < g_fns)?) })
        }
        _ => return None,
    };
    Some(Site { call: CallId(call), exec, kind })
}

fn decode_db_call(r: &mut Reader, model: &Model, func: &FnFacts) -> Option<(CallId, DbRole, SymPath)> {
    let call = Some(r.u32()?).filter(|&c| (c as usize) < func.calls.len())?;
    let role = *DB_ROLES.get(r.u8()? as usize)?;
    let on = read_list(r, 16, |r| model.names.lookup(std::str::from_utf8(r.bytes()?).ok()?))?;
    Some((CallId(call), role, SymPath::from(on)))
}

fn async_kind(tag: u8) -> AsyncKind {
    match tag {
        0 => AsyncKind::AsyncFn,
        1 => AsyncKind::AsyncBlock,
        _ => AsyncKind::AsyncClosure,
    }
}

fn api(model: &Model, set: &ApiSet, f: FnRef, call: &crate::parse::facts::CallSite, target: &Target) -> Option<usize> {
    model.api_called_with(set, f, call, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_db_role_tag_names_its_role() {
        for (tag, role) in DB_ROLES.iter().enumerate() {
            assert_eq!(db_role_tag(*role) as usize, tag, "{role:?}");
        }
    }
}
