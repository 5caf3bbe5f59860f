//! Database facts on resolved calls, shared by the database rules: what a call does to a pool,
//! a connection or a transaction (`rules/database-apis.toml`), which executor a statement runs on,
//! what its SQL text is and how it was built, and who calls whom in the workspace.

use rustc_hash::{FxHashMap, FxHashSet};

use super::callgraph::CallGraph;
use super::resolve::{Ns, Res, Target};
use super::types::RTy;
use super::{FnRef, Model};
use crate::catalogue::{DbRole, ExecutorKind, SymPath};
use crate::parse::facts::*;
use crate::workspace::CrateKind;

/// Values are followed through `let`s and method chains at most this far.
const MAX_FOLLOW: u32 = 16;

/// A statement: a call that runs SQL (or a diesel query) on an executor.
#[derive(Clone, Debug)]
pub struct Statement {
    /// The executor it runs on, when the call names one.
    pub executor: Option<ValueSrc>,
    /// The SQL text argument, when the statement has one.
    pub sql: Option<ValueSrc>,
    /// A diesel `insert_into`/`update`/`delete` query, which writes without SQL text.
    pub write_query: bool,
}

/// Types whose values print without quotes or SQL syntax: interpolating one cannot inject.
const SCALAR_TYPES: &[&str] =
    &["Uuid", "NaiveDate", "NaiveDateTime", "NaiveTime", "DateTime", "Date", "Decimal", "Duration"];

/// Methods that keep a number a number (prefixes: `saturating_add`, `checked_mul`, ...).
const NUMBER_METHODS: &[&str] = &[
    "clamp",
    "min",
    "max",
    "abs",
    "pow",
    "saturating_",
    "wrapping_",
    "checked_",
    "unwrap_or",
    "unwrap",
    "expect",
    "to_string",
    "clone",
    "round",
    "floor",
    "ceil",
];

/// Methods that hand on the value they are called on (`&sql` is looked through already).
const TEXT_PASSTHROUGH: &[&str] = &["as_str", "as_ref", "to_string", "to_owned", "clone", "into", "as_mut", "borrow"];

/// The calls with a database role, by fn, sorted by call.
pub type DbIndex = FxHashMap<FnRef, Box<[(CallId, DbRole, SymPath)]>>;

impl Model<'_> {
    /// The calls of `f` that have a database role, sorted by call id.
    pub fn db_calls(&self, f: FnRef) -> &[(CallId, DbRole, SymPath)] {
        let index = self.db_index.get_or_init(|| {
            use rayon::prelude::*;
            let fns: Vec<FnRef> = self.all_fns().collect();
            fns.par_iter()
                .filter_map(|&f| {
                    let calls = self.compute_db_calls(f);
                    (!calls.is_empty()).then_some((f, calls))
                })
                .collect()
        });
        index.get(&f).map(|b| &**b).unwrap_or(&[])
    }

    /// The calls of `f` that have a database role, computed (`db_calls` keeps them).
    pub(crate) fn compute_db_calls(&self, f: FnRef) -> Box<[(CallId, DbRole, SymPath)]> {
        let calls = self.func(f).calls.iter().enumerate().filter_map(|(i, c)| {
            let role = self.compute_db_role(f, c).or_else(|| match &c.callee {
                Callee::Method { name, .. } if self.cat.db.runs.contains(name) => {
                    Some((DbRole::Run, SymPath::default()))
                }
                _ => None,
            });
            role.map(|(r, p)| (CallId(i as u32), r, p))
        });
        calls.collect()
    }

    /// Hands over the database roles of every call, when they were computed (or read from the
    /// cache) with the call graph; the first index given or computed stays.
    pub(crate) fn provide_db_index(&self, index: DbIndex) {
        let _ = self.db_index.set(index);
    }

    /// What call `id` of `f` does, by the database catalogue.
    pub fn db_role(&self, f: FnRef, id: CallId) -> Option<(DbRole, &SymPath)> {
        let calls = self.db_calls(f);
        let at = calls.binary_search_by_key(&id, |(c, _, _)| *c).ok()?;
        Some((calls[at].1, &calls[at].2))
    }

    fn compute_db_role(&self, f: FnRef, call: &CallSite) -> Option<(DbRole, SymPath)> {
        let name = match &call.callee {
            Callee::Path { path, .. } => *path.segs().last()?,
            Callee::Method { name, .. } => *name,
            Callee::Other => return None,
        };
        // Most calls name nothing the catalogue knows; they are skipped before any resolution.
        if !self.cat.db.names.contains(&name) {
            return None;
        }
        let (mut on, method) = match self.call_target(f, call) {
            Target::ExtFn(p) => {
                let (m, ty) = p.split_last()?;
                (self.canonical_type(&SymPath::from(ty.to_vec())), *m)
            }
            Target::ExtMethod(t, m) => (self.canonical_type(&t), m),
            _ => return None,
        };
        for _ in 0..4 {
            if let Some(role) = self.cat.db.roles.get(&(on.clone(), method)) {
                return Some((*role, on));
            }
            // `deadpool_postgres::Object` derefs to `tokio_postgres::Client`.
            on = self.cat.type_info(&on)?.deref_to.clone()?;
        }
        None
    }

    /// The statement a call runs, if it runs one.
    pub fn statement(&self, f: FnRef, id: CallId) -> Option<Statement> {
        let func = self.func(f);
        let call = &func.calls[id.idx()];
        let (role, _) = self.db_role(f, id)?;
        let Callee::Method { receiver, .. } = &call.callee else { return None };
        match role {
            DbRole::Statement => {
                return Some(Statement {
                    executor: Some(receiver.clone()),
                    sql: call.args.first().cloned(),
                    write_query: false,
                })
            }
            DbRole::Run => {}
            _ => return None,
        }
        let (root_role, root) = self.query_root(f, receiver)?;
        let root_call = &func.calls[root.idx()];
        Some(Statement {
            executor: call.args.first().cloned(),
            sql: match root_role {
                DbRole::Query => root_call.args.first().cloned(),
                _ => None,
            },
            write_query: root_role == DbRole::WriteQuery,
        })
    }

    /// Whether `f` runs a statement whose SQL is of `kind` (`BEGIN` by hand, `SAVEPOINT ..`).
    pub fn runs_sql(&self, f: FnRef, kind: SqlKind) -> bool {
        self.db_calls(f).iter().any(|&(id, role, _)| {
            matches!(role, DbRole::Statement | DbRole::Run)
                && self.statement(f, id).and_then(|s| s.sql).is_some_and(|sql| self.sql_kind(f, &sql).sql == kind)
        })
    }

    /// The `query`/`write-query` call a method chain starts from (`sqlx::query(..).bind(..)`),
    /// following `let`s (`let mut q = sqlx::query(..); q = q.bind(..); q.execute(..)`).
    pub fn query_root(&self, f: FnRef, start: &ValueSrc) -> Option<(DbRole, CallId)> {
        let func = self.func(f);
        let mut v = start.clone();
        for _ in 0..MAX_FOLLOW * 4 {
            match v {
                ValueSrc::Call(id) => {
                    let c = &func.calls[id.idx()];
                    if let Some((role @ (DbRole::Query | DbRole::WriteQuery), _)) = self.db_role(f, id) {
                        return Some((role, id));
                    }
                    match &c.callee {
                        Callee::Method { receiver, .. } => v = receiver.clone(),
                        _ => return None,
                    }
                }
                ValueSrc::Local(b) => v = func.bindings[b.idx()].init.clone(),
                _ => return None,
            }
        }
        None
    }

    /// The kind of executor a value is: by its type, or as the connection a transaction closure
    /// (`conn.transaction(|conn| ..)`) hands to its body.
    pub fn executor_kind(&self, f: FnRef, v: &ValueSrc) -> Option<ExecutorKind> {
        if let Some(ctx) = self.closure_param_origin(f, v) {
            if self.is_transaction_closure(f, ctx) {
                return Some(ExecutorKind::Transaction);
            }
        }
        match self.value_ty(f, v) {
            RTy::Ext(p, _) => self.cat.db.executors.get(&self.canonical_type(&p)).copied(),
            _ => None,
        }
    }

    /// The closure a value is a parameter of, through `let`s and `&mut *`.
    fn closure_param_origin(&self, f: FnRef, v: &ValueSrc) -> Option<CtxId> {
        let func = self.func(f);
        let mut v = v.clone();
        for _ in 0..MAX_FOLLOW {
            match v {
                ValueSrc::ClosureParam(ctx, _) => return Some(ctx),
                ValueSrc::Local(b) => v = func.bindings[b.idx()].init.clone(),
                ValueSrc::Call(id) => match &func.calls[id.idx()].callee {
                    Callee::Method { receiver, name } if self.wk.passthrough.contains(name) => v = receiver.clone(),
                    _ => return None,
                },
                _ => return None,
            }
        }
        None
    }

    /// Whether closure `ctx` is the body of a transaction (`conn.transaction(|conn| ..)`).
    pub fn is_transaction_closure(&self, f: FnRef, ctx: CtxId) -> bool {
        let func = self.func(f);
        match &func.ctxs[ctx.idx()].kind {
            CtxKind::Closure { passed_to: Some(c), .. } => matches!(
                &func.calls[c.idx()].callee,
                Callee::Method { name, .. } if self.cat.db.transaction_closures.contains(name)
            ),
            _ => false,
        }
    }

    /// Whether code in context `ctx` runs inside a transaction closure.
    pub fn in_transaction_closure(&self, f: FnRef, mut ctx: Option<CtxId>) -> bool {
        let func = self.func(f);
        for _ in 0..64 {
            let Some(c) = ctx else { return false };
            if self.is_transaction_closure(f, c) {
                return true;
            }
            ctx = func.ctxs[c.idx()].parent;
        }
        false
    }

    /// The call a value comes from, through `let`s, `.await`/`?` (already transparent), and
    /// methods that hand their receiver on (`unwrap`, `clone`, `context`).
    pub fn origin_call(&self, f: FnRef, v: &ValueSrc) -> Option<CallId> {
        let func = self.func(f);
        let mut v = v.clone();
        for _ in 0..MAX_FOLLOW {
            match v {
                ValueSrc::Local(b) => v = func.bindings[b.idx()].init.clone(),
                ValueSrc::Call(id) => match &func.calls[id.idx()].callee {
                    Callee::Method { receiver, name } if self.wk.passthrough.contains(name) => v = receiver.clone(),
                    _ => return Some(id),
                },
                _ => return None,
            }
        }
        None
    }

    /// The binding a value is, through `&`, `clone()` and the like.
    pub fn origin_binding(&self, f: FnRef, v: &ValueSrc) -> Option<BindingId> {
        let func = self.func(f);
        let mut v = v.clone();
        for _ in 0..MAX_FOLLOW {
            match v {
                ValueSrc::Local(b) => return Some(b),
                ValueSrc::Call(id) => match &func.calls[id.idx()].callee {
                    Callee::Method { receiver, name } if self.wk.passthrough.contains(name) => v = receiver.clone(),
                    _ => return None,
                },
                _ => return None,
            }
        }
        None
    }

    /// What SQL a text value holds: a literal, a `const` holding one, or a format's template.
    pub fn sql_kind(&self, f: FnRef, v: &ValueSrc) -> StrLit {
        let func = self.func(f);
        let mut v = v.clone();
        for _ in 0..MAX_FOLLOW {
            match v {
                ValueSrc::Str(lit) => return lit,
                ValueSrc::Format(i) => return func.db().formats[i as usize].template,
                ValueSrc::Local(b) => v = func.bindings[b.idx()].init.clone(),
                ValueSrc::Path(ref p) => return self.const_sql(f, p).unwrap_or(StrLit::NOT_SQL),
                ValueSrc::Call(id) => match &func.calls[id.idx()].callee {
                    Callee::Method { receiver, name } if self.is_text_passthrough(*name) => v = receiver.clone(),
                    _ => return StrLit::NOT_SQL,
                },
                _ => return StrLit::NOT_SQL,
            }
        }
        StrLit::NOT_SQL
    }

    pub fn is_text_passthrough(&self, name: crate::intern::Sym) -> bool {
        TEXT_PASSTHROUGH.contains(&self.names.str(name))
    }

    /// The SQL of a `const` a path names (`const UPSERT: &str = "INSERT .."`).
    pub fn const_sql(&self, f: FnRef, p: &Path) -> Option<StrLit> {
        let scope = self.func(f).outer_scope;
        match self.resolve_path(f.file, scope, p, Ns::Value)? {
            Res::Const(file, scope, name) => {
                self.file(file).sql_consts.iter().find(|(s, n, _)| *s == scope && *n == name).map(|(_, _, l)| *l)
            }
            _ => None,
        }
    }

    /// Whether a path names a `const` or a `static` (a value fixed at compile time or start-up).
    pub fn names_constant(&self, f: FnRef, p: &Path) -> bool {
        let scope = self.func(f).outer_scope;
        matches!(self.resolve_path(f.file, scope, p, Ns::Value), Some(Res::Const(..) | Res::Static(..)))
    }

    /// The kind of crate a file belongs to.
    pub fn crate_kind(&self, file: u32) -> Option<CrateKind> {
        self.crate_of(file).and_then(|c| self.crates[c as usize].kind)
    }

    /// Test code: a test fn, a `#[cfg(test)]` module, or a crate under `tests/`, `benches/` or
    /// `examples/`.
    pub fn is_test_code(&self, f: FnRef) -> bool {
        let func = self.func(f);
        func.is_test
            || self.file(f.file).modules.get(func.module.idx()).is_some_and(|m| m.is_test)
            || matches!(self.crate_kind(f.file), Some(CrateKind::Test | CrateKind::Bench | CrateKind::Example))
    }

    /// A binary's `main` (a fn named `main` at the root of its crate).
    pub fn is_main(&self, f: FnRef) -> bool {
        let func = self.func(f);
        self.names.str(func.name) == "main"
            && func.owner == Owner::Free
            && func.module == ModIdx(0)
            && self.mod_of.get(&(f.file, ModIdx(0))).is_some_and(|m| self.modules[m.0 as usize].parent.is_none())
    }

    /// A one-shot tool: a binary under `src/bin/`, a build script, or an example.
    pub fn is_one_shot_binary(&self, file: u32) -> bool {
        match self.crate_kind(file) {
            Some(CrateKind::Build | CrateKind::Example) => true,
            Some(CrateKind::Bin) => self.paths[file as usize].contains("src/bin/"),
            _ => false,
        }
    }
}

/// Who calls whom among workspace fns.
pub struct Callers {
    map: FxHashMap<FnRef, Vec<(FnRef, CallId)>>,
}

impl Callers {
    pub fn build(graph: &CallGraph) -> Callers {
        let mut map: FxHashMap<FnRef, Vec<(FnRef, CallId)>> = FxHashMap::default();
        for (callee, caller, call) in graph.workspace_edges() {
            map.entry(callee).or_default().push((caller, call));
        }
        for v in map.values_mut() {
            v.sort();
            v.dedup();
        }
        Callers { map }
    }

    /// Whether anything runs fn `g`: a workspace call, or it is `main`, a runtime entry, a test, or
    /// a `Drop` impl.
    pub fn is_called(&self, model: &Model, g: FnRef) -> bool {
        let func = model.func(g);
        if !self.of(g).is_empty() || model.is_main(g) || func.runtime_entry || func.is_test {
            return true;
        }
        match func.owner {
            Owner::Impl(i) => model.file(g.file).impls[i.idx()]
                .trait_path
                .as_ref()
                .and_then(|p| p.segs().last())
                .is_some_and(|s| model.names.str(*s) == "Drop"),
            _ => false,
        }
    }

    pub fn of(&self, f: FnRef) -> &[(FnRef, CallId)] {
        self.map.get(&f).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every fn from which one of `targets` is reached by workspace calls, targets included.
    pub fn reaching(&self, targets: impl IntoIterator<Item = FnRef>) -> FxHashSet<FnRef> {
        let mut seen: FxHashSet<FnRef> = FxHashSet::default();
        let mut stack: Vec<FnRef> = targets.into_iter().collect();
        while let Some(f) = stack.pop() {
            if seen.insert(f) {
                stack.extend(self.of(f).iter().map(|(c, _)| *c));
            }
        }
        seen
    }
}

/// How dangerous an interpolated value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Taint {
    /// A literal picked from a fixed set (`match sort { "name" => "name", _ => "id" }`): the one
    /// way to make an identifier dynamic, and fine.
    Picked,
    /// A literal, a `const`, a `static`, a placeholder list.
    Constant,
    /// A runtime value of a number or bool type: it cannot carry SQL.
    Number,
    /// A runtime value of unknown or string type.
    Runtime,
}

/// A place where SQL text is assembled at run time and then run.
#[derive(Clone, Debug)]
pub struct SqlBuild {
    pub f: FnRef,
    /// The `format!`, `+`, or `push_str` call that assembles the text.
    pub span: ByteSpan,
    /// The worst of what it interpolates, and a short description of the worst value.
    pub taint: Taint,
    pub culprit: String,
    /// The call that runs (or makes a query from) the text.
    pub sink: CallId,
}

impl Model<'_> {
    /// Every SQL text assembled at run time that reaches the SQL argument of a statement.
    pub fn sql_builds(&self) -> Vec<SqlBuild> {
        let mut out: Vec<SqlBuild> = Vec::new();
        for f in self.all_fns() {
            let func = self.func(f);
            if func.db().formats.is_empty()
                && func.db().appends.is_empty()
                && func.calls.iter().all(|c| !self.is_push_str(c))
            {
                continue;
            }
            for &(sink, role, _) in self.db_calls(f) {
                if !matches!(role, DbRole::Statement | DbRole::Query | DbRole::SqlAppend) {
                    continue;
                }
                let call = &func.calls[sink.idx()];
                let Some(sql) = call.args.first() else { continue };
                let mut builds = Vec::new();
                self.text_builds(f, sql, &mut builds, 0);
                for (span, parts) in builds {
                    if parts.is_empty() {
                        continue;
                    }
                    let mut taint = Taint::Picked;
                    let mut culprit = String::new();
                    for p in &parts {
                        let t = self.taint(f, p, 0);
                        if t > taint || culprit.is_empty() {
                            culprit = self.describe_value(f, p);
                        }
                        taint = taint.max(t);
                    }
                    if taint == Taint::Picked {
                        continue;
                    }
                    // `a + b + c` is one place: its pieces share a start, and the worst one speaks.
                    match out.iter_mut().find(|b| b.f == f && b.span.start == span.start) {
                        Some(b) if taint > b.taint => {
                            b.taint = taint;
                            b.culprit = culprit;
                        }
                        Some(_) => {}
                        None => out.push(SqlBuild { f, span, taint, culprit, sink }),
                    }
                }
            }
        }
        out
    }

    fn is_push_str(&self, c: &CallSite) -> bool {
        matches!(&c.callee, Callee::Method { name, .. } if self.names.str(*name) == "push_str")
    }

    /// The places that assemble a text value: its `format!`s and `+`s, and the `push_str`, `+=`
    /// and `write!` calls that append to the binding holding it.
    fn text_builds(&self, f: FnRef, v: &ValueSrc, out: &mut Vec<(ByteSpan, Vec<ValueSrc>)>, depth: u32) {
        if depth > MAX_FOLLOW {
            return;
        }
        let func = self.func(f);
        match v {
            ValueSrc::Format(i) => {
                let fact = &func.db().formats[*i as usize];
                if fact.placeholder_only {
                    return;
                }
                let mut parts = Vec::new();
                for p in fact.parts.iter() {
                    match p {
                        // `a + b + c`: the inner `+` is part of this one.
                        ValueSrc::Format(j) if func.db().formats[*j as usize].span.start == fact.span.start => {
                            self.text_builds(f, p, out, depth + 1);
                        }
                        _ => parts.push(p.clone()),
                    }
                }
                out.push((fact.span, parts));
            }
            ValueSrc::Local(b) => {
                self.text_builds(f, &func.bindings[b.idx()].init, out, depth + 1);
                for (target, appended, span) in &func.db().appends {
                    if target != b {
                        continue;
                    }
                    match appended {
                        ValueSrc::Format(_) => self.text_builds(f, appended, out, depth + 1),
                        ValueSrc::Str(_) => {}
                        other => out.push((*span, vec![other.clone()])),
                    }
                }
                for c in &func.calls {
                    let Callee::Method { receiver: ValueSrc::Local(r), .. } = &c.callee else { continue };
                    if r != b || !self.is_push_str(c) {
                        continue;
                    }
                    match c.args.first() {
                        Some(arg @ ValueSrc::Format(_)) => self.text_builds(f, arg, out, depth + 1),
                        Some(ValueSrc::Str(_)) | None => {}
                        Some(arg) => out.push((c.span, vec![arg.clone()])),
                    }
                }
            }
            ValueSrc::Call(id) => match &func.calls[id.idx()].callee {
                Callee::Method { receiver, name } if self.is_text_passthrough(*name) => {
                    self.text_builds(f, receiver, out, depth + 1)
                }
                // `String::from(format!(..))`
                Callee::Path { .. } if func.calls[id.idx()].args.len() == 1 => {
                    if let arg @ ValueSrc::Format(_) = &func.calls[id.idx()].args[0] {
                        self.text_builds(f, arg, out, depth + 1);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// How dangerous an interpolated value is.
    pub fn taint(&self, f: FnRef, v: &ValueSrc, depth: u32) -> Taint {
        if depth > MAX_FOLLOW {
            return Taint::Runtime;
        }
        let func = self.func(f);
        match v {
            ValueSrc::Str(lit) if lit.picked => Taint::Picked,
            ValueSrc::Str(_) | ValueSrc::Lit => Taint::Constant,
            // A path in value position names an item: a const, a static, a unit value.
            ValueSrc::Path(_) => Taint::Constant,
            ValueSrc::Format(i) => {
                let fact = &func.db().formats[*i as usize];
                if fact.placeholder_only {
                    return Taint::Constant;
                }
                fact.parts.iter().map(|p| self.taint(f, p, depth + 1)).max().unwrap_or(Taint::Constant)
            }
            ValueSrc::Local(b) => {
                let binding = &func.bindings[b.idx()];
                if binding.ty.as_deref().is_some_and(|t| self.ty_is_number(t)) || self.value_is_number(f, v, 0) {
                    return Taint::Number;
                }
                if func.params.contains(b) {
                    return Taint::Runtime;
                }
                match &binding.init {
                    ValueSrc::Unknown => Taint::Runtime,
                    init @ ValueSrc::Call(id) => {
                        if self.builds_placeholders(f, *id) {
                            Taint::Constant
                        } else {
                            self.taint(f, init, depth + 1)
                        }
                    }
                    init => self.taint(f, init, depth + 1),
                }
            }
            ValueSrc::Call(id) => {
                let call = &func.calls[id.idx()];
                if let Callee::Method { name, receiver } = &call.callee {
                    match self.names.str(*name) {
                        "len" | "count" | "is_empty" => return Taint::Number,
                        n if TEXT_PASSTHROUGH.contains(&n) => return self.taint(f, receiver, depth + 1),
                        _ => {}
                    }
                }
                // A workspace fn that only ever returns literals (`fn table(&self) -> &str { "t" }`).
                if let Target::Workspace(g) = self.call_target(f, call) {
                    let returns = &self.func(g).db().returns;
                    if !returns.is_empty() && returns.iter().all(|r| matches!(r, ValueSrc::Str(_))) {
                        return Taint::Constant;
                    }
                }
                self.number_typed(f, v)
            }
            ValueSrc::Field(..) | ValueSrc::TupleField(..) | ValueSrc::SelfValue => self.number_typed(f, v),
            _ => Taint::Runtime,
        }
    }

    /// A declared type whose values cannot carry SQL: a number or bool, a UUID, a date or time,
    /// a decimal, or an `Option` of one.
    fn ty_is_number(&self, t: &Ty) -> bool {
        match t {
            Ty::Path { path, args } => {
                let Some(last) = path.segs().last().map(|s| self.names.str(*s)) else { return false };
                if last == "Option" && args.len() == 1 {
                    return self.ty_is_number(&args[0]);
                }
                args.is_empty()
                    && ((path.segs().len() == 1 && crate::parse::extract::NUMBER_TYPES.contains(&last))
                        || SCALAR_TYPES.contains(&last))
            }
            _ => false,
        }
    }

    /// Whether a value is a number (or another scalar that cannot carry SQL), through `let`s,
    /// fields, and methods that keep a number a number (`clamp`, `min`, `unwrap_or`).
    fn value_is_number(&self, f: FnRef, v: &ValueSrc, depth: u32) -> bool {
        if depth > MAX_FOLLOW {
            return false;
        }
        let func = self.func(f);
        match v {
            ValueSrc::Lit => true,
            ValueSrc::Local(b) => {
                let binding = &func.bindings[b.idx()];
                match &binding.ty {
                    Some(t) => self.ty_is_number(t),
                    None => self.value_is_number(f, &binding.init, depth + 1),
                }
            }
            ValueSrc::Field(base, name) => match self.value_ty(f, base) {
                RTy::Local(super::types::LocalTy::Struct(sf, si), _) => {
                    let st = &self.file(sf).structs[si.idx()];
                    st.fields.iter().any(|(n, t)| n == name && self.ty_is_number(t))
                }
                _ => false,
            },
            ValueSrc::Call(id) => match &func.calls[id.idx()].callee {
                Callee::Method { receiver, name } => {
                    let m = self.names.str(*name);
                    if matches!(m, "len" | "count" | "is_empty") {
                        return true;
                    }
                    NUMBER_METHODS.iter().any(|p| m.starts_with(p)) && self.value_is_number(f, receiver, depth + 1)
                }
                _ => false,
            },
            _ => false,
        }
    }

    fn number_typed(&self, f: FnRef, v: &ValueSrc) -> Taint {
        if self.value_is_number(f, v, 0) {
            return Taint::Number;
        }
        match self.value_ty(f, v) {
            RTy::Ext(p, _) if p.len() == 1 && crate::parse::extract::NUMBER_TYPES.contains(&self.names.str(p[0])) => {
                Taint::Number
            }
            _ => Taint::Runtime,
        }
    }

    /// `(1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")`: a chain with a closure
    /// that formats nothing but a placeholder builds a bind-parameter list.
    fn builds_placeholders(&self, f: FnRef, id: CallId) -> bool {
        let func = self.func(f);
        let mut v = ValueSrc::Call(id);
        for _ in 0..MAX_FOLLOW {
            let ValueSrc::Call(c) = v else { return false };
            let call = &func.calls[c.idx()];
            for arg in call.args.iter() {
                if let ValueSrc::Closure(ctx) = arg {
                    let inside = |fm: &FormatFact| {
                        let mut c = fm.ctx;
                        for _ in 0..64 {
                            match c {
                                Some(x) if x == *ctx => return true,
                                Some(x) => c = func.ctxs[x.idx()].parent,
                                None => return false,
                            }
                        }
                        false
                    };
                    if func.db().formats.iter().any(|fm| fm.placeholder_only && inside(fm)) {
                        return true;
                    }
                }
            }
            match &call.callee {
                Callee::Method { receiver, .. } => v = receiver.clone(),
                _ => return false,
            }
        }
        false
    }

    /// A short description of a value for messages: `q.category`, `name`, `ids.join(..)`.
    pub fn describe_value(&self, f: FnRef, v: &ValueSrc) -> String {
        let func = self.func(f);
        match v {
            ValueSrc::Local(b) => self.names.str(func.bindings[b.idx()].name).to_string(),
            ValueSrc::SelfValue => "self".to_string(),
            ValueSrc::Field(base, name) => format!("{}.{}", self.describe_value(f, base), self.names.str(*name)),
            ValueSrc::TupleField(base, i) => format!("{}.{i}", self.describe_value(f, base)),
            ValueSrc::Path(p) => self.names.join(p.segs()),
            ValueSrc::Call(id) => match &func.calls[id.idx()].callee {
                Callee::Method { receiver, name } => {
                    let args = if func.calls[id.idx()].args.is_empty() { "()" } else { "(..)" };
                    format!("{}.{}{args}", self.describe_value(f, receiver), self.names.str(*name))
                }
                Callee::Path { path, .. } => {
                    let args = if func.calls[id.idx()].args.is_empty() { "()" } else { "(..)" };
                    format!("{}{args}", self.names.join(path.segs()))
                }
                Callee::Other => "a call".to_string(),
            },
            ValueSrc::Format(_) => "a formatted string".to_string(),
            ValueSrc::Str(_) => "a string literal".to_string(),
            ValueSrc::Lit => "a number".to_string(),
            _ => "a value".to_string(),
        }
    }
}

/// What the code does right with its database, for the review's positive findings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DbPractices {
    /// The fns that close a pool, as paths, sorted.
    pub pool_closers: Vec<String>,
    /// Transactions opened (not counting savepoints), and savepoints.
    pub transactions: usize,
    pub savepoints: usize,
    /// Queries that pass their values with `.bind(..)`.
    pub bound_queries: usize,
    /// Pool size and timeout settings given something other than a literal.
    pub configured_pool_settings: usize,
}

impl Model<'_> {
    pub fn db_practices(&self, callers: &Callers) -> DbPractices {
        let mut out = DbPractices::default();
        let bind = self.names.lookup("bind");
        let mut bound_roots: FxHashSet<(FnRef, CallId)> = FxHashSet::default();
        for f in self.all_fns() {
            let func = self.func(f);
            for (i, call) in func.calls.iter().enumerate() {
                if let (Some(b), Callee::Method { name, receiver }) = (bind, &call.callee) {
                    if *name == b {
                        if let Some((_, root)) = self.query_root(f, receiver) {
                            bound_roots.insert((f, root));
                        }
                        continue;
                    }
                }
                let Some((role, _)) = self.db_role(f, CallId(i as u32)) else { continue };
                match (role, &call.callee) {
                    // Only closes that something runs: a `close()` nobody calls is a finding.
                    (DbRole::Close, _) if callers.is_called(self, f) => out.pool_closers.push(self.fn_path(f)),
                    (DbRole::Begin, Callee::Method { receiver, .. }) => {
                        if self.executor_kind(f, receiver) == Some(ExecutorKind::Transaction) {
                            out.savepoints += 1;
                        } else {
                            out.transactions += 1;
                        }
                    }
                    (DbRole::PoolSetting, _) => {
                        let literal = func.db().literal_args.iter().any(|(c, _, _)| c.idx() == i);
                        if !literal && !call.args.is_empty() {
                            out.configured_pool_settings += 1;
                        }
                    }
                    _ => {}
                }
            }
            // Transaction closures (`conn.transaction(|conn| ..)`).
            out.transactions +=
                (0..func.ctxs.len()).filter(|c| self.is_transaction_closure(f, CtxId(*c as u32))).count();
        }
        out.bound_queries = bound_roots.len();
        out.pool_closers.sort();
        out.pool_closers.dedup();
        out
    }
}
