//! The API knowledge the rules rest on, loaded from the TOML files under `rules/` (embedded in the
//! binary) and from the user's configuration: which external APIs block, how values of external
//! types come about, and which APIs run a closure off the async worker thread.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::findings::Severity;
use crate::intern::{Names, Sym};

pub const BLOCKING_APIS_TOML: &str = include_str!("../rules/blocking-apis.toml");
pub const API_TYPES_TOML: &str = include_str!("../rules/api-types.toml");
pub const OFFLOAD_APIS_TOML: &str = include_str!("../rules/offload-apis.toml");
pub const BLOCK_ON_APIS_TOML: &str = include_str!("../rules/block-on-apis.toml");
pub const SYNC_LOCKS_TOML: &str = include_str!("../rules/sync-locks.toml");
pub const DATABASE_APIS_TOML: &str = include_str!("../rules/database-apis.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DbApiEntry {
    role: DbRole,
    on: String,
    methods: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DbExecutors {
    pools: Vec<String>,
    connections: Vec<String>,
    transactions: Vec<String>,
    closable_pools: Vec<String>,
    runtime_bound: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MethodList {
    methods: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseFile {
    executors: DbExecutors,
    api: Vec<DbApiEntry>,
    runs: MethodList,
    transaction_closures: MethodList,
}

/// What a database API call does (see `rules/database-apis.toml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DbRole {
    CreatePool,
    CreatePoolLazy,
    Connect,
    Acquire,
    Close,
    Begin,
    Statement,
    Query,
    WriteQuery,
    SqlAppend,
    PoolSetting,
    /// Not written in the catalogue: a method named like one in `[runs]` (`execute`, `fetch_all`),
    /// which runs a query when its receiver chain starts from a `query` call.
    #[serde(skip_deserializing)]
    Run,
}

/// What kind of executor a statement runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutorKind {
    Pool,
    Connection,
    Transaction,
}

/// The database facts, by canonical type (or module) path and method name.
#[derive(Debug, Default)]
pub struct DbCatalogue {
    pub roles: HashMap<(SymPath, Sym), DbRole>,
    pub executors: HashMap<SymPath, ExecutorKind>,
    pub closable_pools: HashSet<SymPath>,
    pub runtime_bound: HashSet<SymPath>,
    /// Methods that run a query made earlier in the chain, with the executor as first argument.
    pub runs: HashSet<Sym>,
    pub transaction_closures: HashSet<Sym>,
    /// Every method or fn name that has a role, to skip the other calls before resolving them.
    pub names: HashSet<Sym>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockEntry {
    #[serde(rename = "type")]
    type_: String,
    methods: Vec<String>,
    guard: String,
    instead: String,
}

#[derive(Debug, Deserialize)]
struct LocksFile {
    #[serde(default)]
    lock: Vec<LockEntry>,
}

/// A sync lock whose guard must not cross an `.await`.
#[derive(Debug, Clone)]
pub struct LockInfo {
    pub type_display: String,
    pub guard: String,
    pub instead: String,
}

/// A path of interned segments, canonical (`core::` and `alloc::` read as `std::`).
pub type SymPath = Box<[Sym]>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiEntry {
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    #[serde(rename = "trait")]
    pub trait_: Option<String>,
    #[serde(default)]
    pub arg_types: Vec<String>,
    #[serde(default)]
    pub methods: Vec<String>,
    pub kind: String,
    pub help: String,
    pub replace: Option<String>,
    pub severity: Option<Severity>,
    /// For `arg_types` entries: the trait or type the methods belong to, for messages.
    pub via: Option<String>,
    /// `replace` is a mechanical fix: the twin takes the same arguments and, once awaited,
    /// returns the same type, so `path(args)` can become `replace(args).await`.
    #[serde(default)]
    pub fix: bool,
}

#[derive(Debug, Deserialize)]
struct BlockingFile {
    #[serde(default)]
    api: Vec<ApiEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeEntry {
    path: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    constructors: Vec<String>,
    #[serde(default)]
    builders: Vec<String>,
    #[serde(default)]
    deref: Vec<String>,
    #[serde(default)]
    returns: HashMap<String, String>,
    deref_to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Returns {
    One(String),
    Tuple(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionEntry {
    path: String,
    returns: Option<Returns>,
    #[serde(default)]
    closure_params: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct TypesFile {
    #[serde(default, rename = "type")]
    types: Vec<TypeEntry>,
    #[serde(default, rename = "function")]
    functions: Vec<FunctionEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffloadEntry {
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    #[serde(default)]
    pub methods: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct OffloadFile {
    #[serde(default)]
    offload: Vec<OffloadEntry>,
}

/// One blocking API, as shown in findings.
#[derive(Debug, Clone)]
pub struct BlockingApi {
    /// The canonical name shown in messages: `std::thread::sleep`, `postgres::Client::execute`.
    pub display: String,
    pub kind: String,
    pub help: String,
    pub replace: Option<String>,
    pub severity: Option<Severity>,
    /// Whether `replace` is a mechanical fix (see `ApiEntry::fix`).
    pub fix: bool,
}

#[derive(Debug, Default)]
pub struct TypeInfo {
    pub constructors: HashSet<Sym>,
    pub builders: HashSet<Sym>,
    pub deref: HashSet<Sym>,
    pub returns: HashMap<Sym, SymPath>,
    pub deref_to: Option<SymPath>,
    /// The canonical path, for aliases.
    pub canonical: SymPath,
}

#[derive(Debug, Clone)]
pub enum FnReturn {
    One(SymPath),
    Tuple(Vec<SymPath>),
}

/// A set of APIs a rule looks for, indexed every way a call can name them.
#[derive(Debug, Default)]
pub struct ApiSet {
    pub apis: Vec<BlockingApi>,
    pub paths: HashMap<SymPath, usize>,
    pub methods: HashMap<(SymPath, Sym), usize>,
    pub trait_methods: HashMap<Sym, Vec<(SymPath, usize)>>,
    pub arg_methods: HashMap<Sym, Vec<(HashSet<SymPath>, usize)>>,
    /// The index in `apis` of the first entry from the user's configuration (`[[blocking-api]]`),
    /// if any: those also match the user's own fns inside their crate.
    pub user_from: Option<usize>,
}

#[derive(Debug, Default)]
pub struct Catalogue {
    /// APIs that block the thread (`blocking-call-in-async`).
    pub blocking: ApiSet,
    /// APIs that block on a future or need to own the thread (`block-on-in-async`).
    pub block_on: ApiSet,
    pub types: HashMap<SymPath, TypeInfo>,
    pub fn_returns: HashMap<SymPath, FnReturn>,
    pub closure_params: HashMap<SymPath, Vec<SymPath>>,
    pub offload_paths: HashSet<SymPath>,
    pub offload_methods: HashSet<(SymPath, Sym)>,
    /// The user's own offload fns and methods (`[[offload]]`), matched inside their crate too.
    pub user_offload_paths: HashSet<SymPath>,
    pub user_offload_methods: HashSet<(SymPath, Sym)>,
    /// Sync locks by (type, guard-returning method).
    pub locks: HashMap<(SymPath, Sym), LockInfo>,
    pub db: DbCatalogue,
}

#[derive(Debug)]
pub struct CatalogueError {
    pub file: String,
    pub message: String,
}

pub fn sym_path(names: &mut Names, path: &str) -> SymPath {
    path.split("::").map(|s| names.intern(s.trim())).collect()
}

impl Catalogue {
    /// The built-in catalogue plus the user's extra blocking APIs and offload functions.
    pub fn load(
        names: &mut Names,
        extra_apis: &[ApiEntry],
        extra_offload: &[OffloadEntry],
    ) -> Result<Catalogue, CatalogueError> {
        let blocking: BlockingFile = parse("rules/blocking-apis.toml", BLOCKING_APIS_TOML)?;
        let types: TypesFile = parse("rules/api-types.toml", API_TYPES_TOML)?;
        let offload: OffloadFile = parse("rules/offload-apis.toml", OFFLOAD_APIS_TOML)?;
        let block_on: BlockingFile = parse("rules/block-on-apis.toml", BLOCK_ON_APIS_TOML)?;
        let mut cat = Catalogue::default();
        for entry in &blocking.api {
            cat.blocking.add(names, entry);
        }
        if !extra_apis.is_empty() {
            cat.blocking.user_from = Some(cat.blocking.apis.len());
        }
        for entry in extra_apis {
            cat.blocking.add(names, entry);
        }
        for entry in &block_on.api {
            cat.block_on.add(names, entry);
        }
        let db: DatabaseFile = parse("rules/database-apis.toml", DATABASE_APIS_TOML)?;
        for entry in &db.api {
            let on = sym_path(names, &entry.on);
            for m in &entry.methods {
                let m = names.intern(m);
                cat.db.names.insert(m);
                cat.db.roles.insert((on.clone(), m), entry.role);
            }
        }
        let kinds = [
            (&db.executors.pools, ExecutorKind::Pool),
            (&db.executors.connections, ExecutorKind::Connection),
            (&db.executors.transactions, ExecutorKind::Transaction),
        ];
        for (list, kind) in kinds {
            for t in list {
                cat.db.executors.insert(sym_path(names, t), kind);
            }
        }
        cat.db.closable_pools = db.executors.closable_pools.iter().map(|t| sym_path(names, t)).collect();
        cat.db.runtime_bound = db.executors.runtime_bound.iter().map(|t| sym_path(names, t)).collect();
        cat.db.runs = db.runs.methods.iter().map(|m| names.intern(m)).collect();
        cat.db.transaction_closures = db.transaction_closures.methods.iter().map(|m| names.intern(m)).collect();
        cat.db.names.extend(cat.db.runs.iter().copied());
        cat.db.names.extend(cat.db.transaction_closures.iter().copied());
        let locks: LocksFile = parse("rules/sync-locks.toml", SYNC_LOCKS_TOML)?;
        for l in &locks.lock {
            let tp = sym_path(names, &l.type_);
            let info = LockInfo { type_display: l.type_.clone(), guard: l.guard.clone(), instead: l.instead.clone() };
            for m in &l.methods {
                cat.locks.insert((tp.clone(), names.intern(m)), info.clone());
            }
        }
        for t in &types.types {
            let canonical = sym_path(names, &t.path);
            for p in std::iter::once(&t.path).chain(&t.aliases) {
                let info = TypeInfo {
                    constructors: t.constructors.iter().map(|s| names.intern(s)).collect(),
                    builders: t.builders.iter().map(|s| names.intern(s)).collect(),
                    deref: t.deref.iter().map(|s| names.intern(s)).collect(),
                    returns: t.returns.iter().map(|(k, v)| (names.intern(k), sym_path(names, v))).collect(),
                    deref_to: t.deref_to.as_deref().map(|d| sym_path(names, d)),
                    canonical: canonical.clone(),
                };
                cat.types.insert(sym_path(names, p), info);
            }
        }
        for f in &types.functions {
            let path = sym_path(names, &f.path);
            match &f.returns {
                Some(Returns::One(r)) => {
                    cat.fn_returns.insert(path.clone(), FnReturn::One(sym_path(names, r)));
                }
                Some(Returns::Tuple(rs)) => {
                    let elems = rs.iter().map(|r| sym_path(names, r)).collect();
                    cat.fn_returns.insert(path.clone(), FnReturn::Tuple(elems));
                }
                None => {}
            }
            if !f.closure_params.is_empty() {
                let params = f.closure_params.iter().map(|p| sym_path(names, p)).collect();
                cat.closure_params.insert(path, params);
            }
        }
        for o in extra_offload {
            cat.user_offload_paths.extend(o.paths.iter().map(|p| sym_path(names, p)));
            if let Some(t) = &o.type_ {
                let tp = sym_path(names, t);
                cat.user_offload_methods.extend(o.methods.iter().map(|m| (tp.clone(), names.intern(m))));
            }
        }
        for o in offload.offload.iter().chain(extra_offload) {
            for p in &o.paths {
                cat.offload_paths.insert(sym_path(names, p));
            }
            if let Some(t) = &o.type_ {
                let tp = sym_path(names, t);
                for m in &o.methods {
                    cat.offload_methods.insert((tp.clone(), names.intern(m)));
                }
            }
        }
        Ok(cat)
    }

    /// The type facts for a type path, following aliases.
    pub fn type_info(&self, path: &[Sym]) -> Option<&TypeInfo> {
        self.types.get(path)
    }
}

impl ApiSet {
    fn add(&mut self, names: &mut Names, entry: &ApiEntry) {
        let push = |apis: &mut Vec<BlockingApi>, display: String, name: &str| {
            apis.push(BlockingApi {
                display,
                kind: entry.kind.clone(),
                help: entry.help.replace("{name}", name),
                replace: entry.replace.as_ref().map(|r| r.replace("{name}", name)),
                severity: entry.severity,
                fix: entry.fix,
            });
            apis.len() - 1
        };
        for p in &entry.paths {
            let name = p.rsplit("::").next().unwrap_or(p);
            let idx = push(&mut self.apis, p.clone(), name);
            self.paths.insert(sym_path(names, p), idx);
        }
        if let Some(t) = &entry.type_ {
            let tp = sym_path(names, t);
            for m in &entry.methods {
                let idx = push(&mut self.apis, format!("{t}::{m}"), m);
                self.methods.insert((tp.clone(), names.intern(m)), idx);
            }
        }
        if let Some(tr) = &entry.trait_ {
            let tp = sym_path(names, tr);
            for m in &entry.methods {
                let idx = push(&mut self.apis, format!("{tr}::{m}"), m);
                self.trait_methods.entry(names.intern(m)).or_default().push((tp.clone(), idx));
            }
        }
        if !entry.arg_types.is_empty() {
            let types: HashSet<SymPath> = entry.arg_types.iter().map(|t| sym_path(names, t)).collect();
            let via = entry.via.clone().unwrap_or_else(|| entry.arg_types[0].clone());
            for m in &entry.methods {
                let idx = push(&mut self.apis, format!("{via}::{m}"), m);
                self.arg_methods.entry(names.intern(m)).or_default().push((types.clone(), idx));
            }
        }
    }
}

fn parse<T: for<'de> Deserialize<'de>>(file: &str, text: &str) -> Result<T, CatalogueError> {
    toml::from_str(text).map_err(|e| CatalogueError { file: file.to_string(), message: e.to_string() })
}
