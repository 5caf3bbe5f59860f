//! The rules. Each rule lives in its own file with its metadata; its documentation is
//! `rules/<rule-id>.md` and its fixtures are `fixtures/<rule-id>/`. Rules read the model and
//! produce raw findings; they do no IO and print nothing.

use crate::findings::Severity;
use crate::model::callgraph::{CallGraph, Summary};
use crate::model::{FnRef, Model};
use crate::parse::facts::{ByteSpan, CallId};

/// Declares a rule's type and its `META`: id, default severity, summary, and its documentation
/// page `rules/<id>.md`.
macro_rules! declare_rule {
    ($ty:ident, $id:literal, $severity:ident, $summary:expr) => {
        pub struct $ty;

        pub static META: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
            id: $id,
            default_severity: $crate::findings::Severity::$severity,
            summary: $summary,
            doc: include_str!(concat!("../../rules/", $id, ".md")),
        };
    };
}

pub mod block_on_in_async;
pub mod blocking_call_in_async;
pub mod error_swallowed_in_transaction;
pub mod formatted_sql;
pub mod hardcoded_pool_size;
pub mod non_atomic_batch_write;
pub mod panicking_pool_creation;
pub mod runtime_bound_static;
pub mod sql_injection;
pub mod sync_lock_across_await;
pub mod unclosed_pool;
pub mod unused_suppression;

pub struct RuleMeta {
    /// The kebab-case id, which reads well after "allow".
    pub id: &'static str,
    pub default_severity: Severity,
    pub summary: &'static str,
    /// The rule's documentation page, `rules/<id>.md`.
    pub doc: &'static str,
}

/// A finding before it is given lines, columns, a snippet and a fingerprint.
#[derive(Clone, Debug)]
pub struct RawFinding {
    pub rule: &'static str,
    pub severity: Severity,
    pub file: u32,
    pub span: ByteSpan,
    pub message: String,
    pub help: String,
    pub function: String,
    pub chain: Vec<RawStep>,
    /// Other places worth showing (the `.await` a guard is held across).
    pub related: Vec<RawStep>,
    /// For a call whose blocking callee has a mechanical async twin: that twin's path. The fix is
    /// `twin(args).await`, made from the call's text when findings are placed.
    pub replace_callee: Option<String>,
}

impl RawFinding {
    /// A finding of rule `meta` at its default severity, with no chain, related places or fix.
    pub fn new(meta: &RuleMeta, file: u32, span: ByteSpan, function: String, message: String, help: String) -> Self {
        RawFinding {
            rule: meta.id,
            severity: meta.default_severity,
            file,
            span,
            message,
            help,
            function,
            chain: Vec::new(),
            related: Vec::new(),
            replace_callee: None,
        }
    }

    pub fn with_chain(mut self, chain: Vec<RawStep>) -> Self {
        self.chain = chain;
        self
    }

    pub fn with_related(mut self, related: Vec<RawStep>) -> Self {
        self.related = related;
        self
    }
}

#[derive(Clone, Debug)]
pub struct RawStep {
    pub function: String,
    pub file: u32,
    pub span: ByteSpan,
}

/// What rules read: the model and the call graph built on it.
pub struct RuleContext<'m, 'a> {
    pub model: &'m Model<'a>,
    pub graph: &'m CallGraph,
    /// Who calls whom, built on first use and shared by the rules that ask.
    callers: std::sync::OnceLock<crate::model::db::Callers>,
    /// The SQL texts assembled at run time, which `sql-injection` and `formatted-sql` split.
    sql_builds: std::sync::OnceLock<Vec<crate::model::db::SqlBuild>>,
}

impl<'m, 'a> RuleContext<'m, 'a> {
    pub fn new(model: &'m Model<'a>, graph: &'m CallGraph) -> Self {
        RuleContext { model, graph, callers: std::sync::OnceLock::new(), sql_builds: std::sync::OnceLock::new() }
    }

    pub fn sql_builds(&self) -> &[crate::model::db::SqlBuild] {
        self.sql_builds.get_or_init(|| self.model.sql_builds())
    }

    pub fn callers(&self) -> &crate::model::db::Callers {
        self.callers.get_or_init(|| crate::model::db::Callers::build(self.graph))
    }
}

impl RuleContext<'_, '_> {
    /// Every classified call made in async context: the fn, the call's site in the graph, what
    /// kind of async context it is, and the call.
    pub fn async_sites(
        &self,
    ) -> impl Iterator<
        Item = (
            FnRef,
            &crate::model::callgraph::Site,
            crate::model::context::AsyncKind,
            &crate::parse::facts::CallSite,
        ),
    > {
        self.model.all_fns().flat_map(move |f| {
            self.graph.sites[self.graph.index(f)].iter().filter_map(move |site| match site.exec {
                crate::model::context::Exec::Async(kind, _) => {
                    Some((f, site, kind, &self.model.func(f).calls[site.call.idx()]))
                }
                _ => None,
            })
        })
    }
}

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, cx: &RuleContext, out: &mut Vec<RawFinding>);
}

/// Every rule, in the order `asynclint rules` lists them.
pub fn all() -> &'static [&'static dyn Rule] {
    &[
        &blocking_call_in_async::BlockingCallInAsync,
        &block_on_in_async::BlockOnInAsync,
        &sync_lock_across_await::SyncLockAcrossAwait,
        &unclosed_pool::UnclosedPool,
        &panicking_pool_creation::PanickingPoolCreation,
        &hardcoded_pool_size::HardcodedPoolSize,
        &error_swallowed_in_transaction::ErrorSwallowedInTransaction,
        &non_atomic_batch_write::NonAtomicBatchWrite,
        &sql_injection::SqlInjection,
        &formatted_sql::FormattedSql,
        &runtime_bound_static::RuntimeBoundStatic,
        // Runs after the others, in `analyze` (`suppress::run`): it judges their findings.
        &unused_suppression::UnusedSuppression,
    ]
}

/// The chain from an async call site down to an API through sync helpers: one step per call,
/// starting with the call in the async code. Also returns the helpers' short names, in order.
pub fn chain_from(
    cx: &RuleContext,
    caller: FnRef,
    call: CallId,
    first: FnRef,
    which: Summary,
) -> (Vec<RawStep>, Vec<String>) {
    let model = cx.model;
    let span = |f: FnRef, c: CallId| model.func(f).calls[c.idx()].span;
    let mut steps = vec![RawStep { function: model.fn_path(caller), file: caller.file, span: span(caller, call) }];
    let mut names = Vec::new();
    let mut cur = Some(first);
    let mut guard = 0;
    while let (Some(f), true) = (cur, guard < 64) {
        guard += 1;
        let Some(w) = cx.graph.witness(f, which) else { break };
        names.push(model.fn_short_name(f));
        steps.push(RawStep { function: model.fn_path(f), file: f.file, span: span(f, w.call) });
        cur = w.via;
    }
    (steps, names)
}

/// "`a` calls `b`, which calls `c`, which calls `API`".
pub fn chain_sentence(caller: &str, helpers: &[String], api: &str) -> String {
    let mut s = format!("`{caller}` calls `{}`", helpers.first().map(String::as_str).unwrap_or("?"));
    for h in helpers.iter().skip(1) {
        s.push_str(&format!(", which calls `{h}`"));
    }
    s.push_str(&format!(", which calls `{api}`"));
    s
}

pub fn by_id(id: &str) -> Option<&'static dyn Rule> {
    all().iter().copied().find(|r| r.meta().id == id)
}
