//! The compact, syntax-free facts that parsing keeps for each file: modules, scopes, items, and for
//! each function its bindings, call sites and execution contexts. Names are unresolved here; the
//! model resolves them against the whole workspace. No syn type appears in this file.

use crate::intern::Sym;

/// A byte range in the file's text (after a leading BOM, if any, was removed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct ByteSpan {
    pub start: u32,
    pub end: u32,
}

macro_rules! index_type {
    ($($name:ident),*) => {$(
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
        pub struct $name(pub u32);
        impl $name {
            pub fn idx(self) -> usize { self.0 as usize }
        }
    )*};
}
index_type!(ModIdx, ScopeId, FnIdx, StructIdx, ImplIdx, TraitIdx, StaticIdx, AliasIdx, CallId, CtxId, BindingId);

/// A path as written: `a::b::c`, or `::a::b` when `global`.
///
/// Up to four segments (nearly every path) are kept inline: paths are in every call, type and
/// `use`, and a boxed slice for each was a million allocations on the bench corpus. Still 24
/// bytes, the size of the boxed form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Path(PathRepr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum PathRepr {
    /// Unused slots hold `Sym(0)`, so that equal paths are equal here too.
    Inline {
        global: bool,
        len: u8,
        segs: [Sym; INLINE_SEGS],
    },
    Heap {
        global: bool,
        segs: Box<[Sym]>,
    },
}

const INLINE_SEGS: usize = 4;

impl Path {
    pub fn new(global: bool, segs: &[Sym]) -> Path {
        if segs.len() <= INLINE_SEGS {
            let mut inline = [Sym::default(); INLINE_SEGS];
            inline[..segs.len()].copy_from_slice(segs);
            Path(PathRepr::Inline { global, len: segs.len() as u8, segs: inline })
        } else {
            Path(PathRepr::Heap { global, segs: segs.into() })
        }
    }

    pub fn segs(&self) -> &[Sym] {
        match &self.0 {
            PathRepr::Inline { len, segs, .. } => &segs[..*len as usize],
            PathRepr::Heap { segs, .. } => segs,
        }
    }

    pub fn global(&self) -> bool {
        match self.0 {
            PathRepr::Inline { global, .. } | PathRepr::Heap { global, .. } => global,
        }
    }
}

impl std::fmt::Debug for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Path").field("global", &self.global()).field("segs", &self.segs()).finish()
    }
}

// Serialized as the plain struct `{ global, segs }` it replaces.
impl serde::Serialize for Path {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Path", 2)?;
        st.serialize_field("global", &self.global())?;
        st.serialize_field("segs", self.segs())?;
        st.end()
    }
}

impl<'de> serde::Deserialize<'de> for Path {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Path, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(rename = "Path")]
        struct Plain {
            global: bool,
            segs: Vec<Sym>,
        }
        let plain = Plain::deserialize(d)?;
        Ok(Path::new(plain.global, &plain.segs))
    }
}

/// A type as written, with references and lifetimes stripped.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Ty {
    /// `a::B<C, D>`: the generic arguments of the last segment.
    Path {
        path: Path,
        args: Box<[Ty]>,
    },
    Tuple(Box<[Ty]>),
    /// `dyn Trait` or `impl Trait`: the first trait bound.
    Trait(Path),
    Unknown,
}

/// Where an expression's value comes from, as far as syntax tells.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ValueSrc {
    Unknown,
    Local(BindingId),
    SelfValue,
    Field(Box<ValueSrc>, Sym),
    TupleField(Box<ValueSrc>, u32),
    /// The value returned by a recorded call site.
    Call(CallId),
    /// A path expression: a static, a const, a unit struct, a fn item.
    Path(Box<Path>),
    /// A struct literal `Path { .. }`.
    Struct(Box<Path>),
    Closure(CtxId),
    /// A parameter of a closure, by position.
    ClosureParam(CtxId, u32),
    /// A string literal (or a choice between string literals), with what it looks like as SQL.
    Str(StrLit),
    /// A number, bool or char: a literal, or a cast to a number type (`n as i64`).
    Lit,
    /// Text assembled at run time: a `format!`, a `+` of strings; an index into `FnFacts::formats`.
    Format(u32),
}

/// What a string literal says, as far as the SQL rules care.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct StrLit {
    pub sql: SqlKind,
    /// Contains the word `LIMIT` (a chunked `DELETE .. LIMIT` is a clean-up loop by design).
    pub has_limit: bool,
    /// Picked from several literals (`if desc { "DESC" } else { "ASC" }`, a `match` of literals).
    pub picked: bool,
}

/// The kind of SQL statement a text starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SqlKind {
    NotSql,
    Read,
    /// `INSERT`, `UPDATE`, `DELETE`, `MERGE`, `REPLACE`, `UPSERT`.
    Write,
    /// `SAVEPOINT`, `ROLLBACK TO`, `RELEASE`.
    Savepoint,
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `ROLLBACK`, `END`.
    EndTx,
    /// `CREATE`, `ALTER`, `DROP`, `TRUNCATE`, `GRANT`, ...
    Ddl,
}

impl StrLit {
    pub const NOT_SQL: StrLit = StrLit { sql: SqlKind::NotSql, has_limit: false, picked: false };

    /// Reads the first keyword of a text, after whitespace, comments and opening parentheses.
    pub fn classify(text: &str) -> StrLit {
        let mut rest = text;
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
            if let Some(r) = rest.strip_prefix("--") {
                rest = r.split_once('\n').map_or("", |(_, after)| after);
            } else if let Some(r) = rest.strip_prefix("/*") {
                rest = r.split_once("*/").map_or("", |(_, after)| after);
            } else {
                break;
            }
        }
        let word: String =
            rest.chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_uppercase();
        let followed_by_space =
            rest[word.len()..].starts_with(|c: char| c.is_whitespace() || c == ';') || rest.len() == word.len();
        let sql = match word.as_str() {
            _ if !followed_by_space => SqlKind::NotSql,
            "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "REPLACE" | "UPSERT" => SqlKind::Write,
            "SELECT" | "WITH" | "VALUES" | "SHOW" | "EXPLAIN" | "TABLE" => SqlKind::Read,
            "SAVEPOINT" | "RELEASE" => SqlKind::Savepoint,
            "ROLLBACK" if rest[8..].trim_start().to_ascii_uppercase().starts_with("TO") => SqlKind::Savepoint,
            "BEGIN" | "START" => SqlKind::Begin,
            "COMMIT" | "ROLLBACK" | "END" => SqlKind::EndTx,
            "CREATE" | "ALTER" | "DROP" | "TRUNCATE" | "GRANT" | "REVOKE" | "COMMENT" | "VACUUM" | "ANALYZE"
            | "LOCK" | "SET" | "COPY" | "LISTEN" | "NOTIFY" => SqlKind::Ddl,
            _ => SqlKind::NotSql,
        };
        let has_limit = sql != SqlKind::NotSql
            && rest.to_ascii_uppercase().split(|c: char| !c.is_ascii_alphanumeric() && c != '_').any(|w| w == "LIMIT");
        StrLit { sql, has_limit, picked: false }
    }
}

/// SQL text assembled at run time: a `format!` (or `write!`), or a `+` of strings.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FormatFact {
    /// From the macro name (or the left operand of `+`) to the end.
    pub span: ByteSpan,
    /// The template (for `+`: the left operand if it is a literal).
    pub template: StrLit,
    /// The interpolated values, including implicit captures (`{name}`), in order.
    pub parts: Box<[ValueSrc]>,
    /// The template has nothing but placeholders around the interpolations (`"${}"`, `"?"`):
    /// it builds a bind-parameter list, not SQL.
    pub placeholder_only: bool,
    pub ctx: Option<CtxId>,
}

/// A loop in a function body.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LoopFact {
    pub kind: LoopKind,
    /// Where the loop starts (`for`, `while`, `loop`).
    pub start: u32,
    /// The body, braces included.
    pub body: ByteSpan,
    pub ctx: Option<CtxId>,
    /// What it iterates (`for`) or matches (`while let`); `Unknown` for the other loops.
    pub over: ValueSrc,
    /// The body ends with an unconditional `return` or `break`: it runs at most once.
    pub once: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LoopKind {
    /// `for x in items`: over a collection or an iterator.
    ForEach,
    /// `for i in 0..n`: over a range literal (retries, counters).
    ForRange,
    WhileLet,
    While,
    Loop,
}

/// A value stored somewhere that outlives the statement.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StoreFact {
    pub target: StoreTarget,
    pub value: ValueSrc,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum StoreTarget {
    /// A field of a struct literal `Path { field: value }`.
    StructField(Box<Path>, Sym),
    /// The left side of an assignment `place = value`.
    Place(ValueSrc),
    /// An element of a tuple or an array (`(pool, client)`), whose fate is not followed.
    Aggregate,
}

/// A `Result` whose error is dropped, and the code goes on.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SwallowFact {
    /// The value whose error is dropped (a call, or a binding holding its result).
    pub value: ValueSrc,
    pub how: SwallowHow,
    /// For `.ok()`, `.unwrap_or(..)` and the like: that call (a `?` after it propagates instead).
    pub call: Option<CallId>,
    pub ctx: Option<CtxId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SwallowHow {
    /// `let _ = value;`
    LetUnderscore,
    /// `.ok()`, `.unwrap_or_default()`, `.unwrap_or(..)`, `.unwrap_or_else(..)`.
    Method,
    /// An `Err` branch (`if let Err`, a `match` arm, `if x.is_err()`, a missing `else` of
    /// `if let Ok`) that neither returns, propagates, panics nor rolls back.
    ErrBranch,
}

/// A `let` binding, a parameter, or a pattern binding.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Binding {
    pub name: Sym,
    pub ty: Option<Box<Ty>>,
    pub init: ValueSrc,
    /// The scope the type annotation is resolved in.
    pub scope: ScopeId,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Callee {
    /// `a::b(..)`, or `<T as Tr>::f(..)` with `qself = Some(T)` and `path = Tr::f`.
    Path {
        qself: Option<Box<Ty>>,
        path: Path,
    },
    Method {
        receiver: ValueSrc,
        name: Sym,
    },
    /// Calling a local variable (a closure) or an arbitrary expression.
    Other,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CallSite {
    pub callee: Callee,
    pub args: Box<[ValueSrc]>,
    pub ctx: Option<CtxId>,
    pub scope: ScopeId,
    pub span: ByteSpan,
}

/// A nested execution context inside a function body: an async block or a closure.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Ctx {
    pub parent: Option<CtxId>,
    pub kind: CtxKind,
    pub span: ByteSpan,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum CtxKind {
    AsyncBlock,
    Closure {
        is_async: bool,
        /// The call this closure is an argument of, if any.
        passed_to: Option<CallId>,
        /// The binding this closure was stored in (`let job = || ..;`), if any.
        bound_to: Option<BindingId>,
    },
    /// Code that runs only when the call returned `Err` (the `Err` arm of
    /// `match Handle::try_current()`), which the model checks is a "no runtime here" test.
    ErrBranchOf(CallId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Owner {
    Free,
    Impl(ImplIdx),
    Trait(TraitIdx),
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FnFacts {
    pub name: Sym,
    pub module: ModIdx,
    /// The scope the body's names are resolved in (a block scope when the fn is nested in a body).
    pub outer_scope: ScopeId,
    pub owner: Owner,
    pub is_async: bool,
    /// Under `#[tokio::main]`, `#[tokio::test]` and the like: runs inside a runtime.
    pub runtime_entry: bool,
    pub is_test: bool,
    pub has_self: bool,
    pub generics: Box<[Sym]>,
    pub params: Box<[BindingId]>,
    /// Boxed: most fns return nothing or are never asked about, and a `Ty` is 40 bytes.
    pub ret: Option<Box<Ty>>,
    pub bindings: Vec<Binding>,
    pub calls: Vec<CallSite>,
    pub ctxs: Vec<Ctx>,
    /// The span of the fn's name.
    pub span: ByteSpan,
    /// Awaits, lock guards and `drop`s, when the fn has any of them (see `LockFacts`).
    pub locks: Option<Box<LockFacts>>,
    /// What the database rules need, when the fn has any of it (most fns have none, and the
    /// facts of every fn live for the whole run).
    pub db: Option<Box<FnDbFacts>>,
    /// For the initializer of a static (`static POOL: LazyLock<PgPool> = LazyLock::new(..)`), kept
    /// as a fn of its own: that static.
    pub static_init: Option<StaticIdx>,
}

/// The facts of a fn that only the database rules read.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FnDbFacts {
    /// Text assembled at run time (`ValueSrc::Format` indexes this).
    pub formats: Vec<FormatFact>,
    /// Text appended to a binding: `s += x`, `write!(s, ..)` (and `s.push_str(x)`, which is a call).
    pub appends: Vec<(BindingId, ValueSrc, ByteSpan)>,
    pub loops: Vec<LoopFact>,
    pub stores: Vec<StoreFact>,
    pub swallows: Vec<SwallowFact>,
    /// What the fn returns: its body's tail value and `return` values.
    pub returns: Vec<ValueSrc>,
    /// Literal arguments (`10`, `Duration::from_secs(5)`): the call, the argument's position and
    /// its span.
    pub literal_args: Vec<(CallId, u32, ByteSpan)>,
    /// Literal fields of struct literals (`PoolConfig { max_size: 16, .. }`): the struct, the
    /// field and the value's span.
    pub literal_fields: Vec<(Box<Path>, Sym, ByteSpan)>,
}

impl FnDbFacts {
    pub fn is_empty(&self) -> bool {
        self.formats.is_empty()
            && self.appends.is_empty()
            && self.loops.is_empty()
            && self.stores.is_empty()
            && self.swallows.is_empty()
            && self.returns.is_empty()
            && self.literal_args.is_empty()
            && self.literal_fields.is_empty()
    }
}

impl FnFacts {
    /// The fn's database facts (empty when it has none).
    pub fn db(&self) -> &FnDbFacts {
        static EMPTY: std::sync::OnceLock<FnDbFacts> = std::sync::OnceLock::new();
        self.db.as_deref().unwrap_or_else(|| EMPTY.get_or_init(FnDbFacts::default))
    }

    /// The fn's awaits, lock guards and drops (empty when it has none).
    pub fn locks(&self) -> &LockFacts {
        static EMPTY: LockFacts = LockFacts { awaits: Vec::new(), guards: Vec::new(), drops: Vec::new() };
        self.locks.as_deref().unwrap_or(&EMPTY)
    }
}

/// What the lock rule reads about a fn: where it awaits, which values may be lock guards, and
/// what it drops. Kept in a box of its own, as the database facts are: most fns have none of it,
/// every fn's facts live for the whole run, and three empty lists took 72 bytes of each of the
/// 218k fns of the bench corpus.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct LockFacts {
    /// Every `.await` (and awaiting macro such as `select!`): its offset and context.
    pub awaits: Vec<(u32, Option<CtxId>)>,
    /// Every value that may be a lock guard: the result of a `lock`/`read`/`write`/`borrow` call.
    pub guards: Vec<GuardFact>,
    /// `drop(binding)` calls: the binding and the call.
    pub drops: Vec<(BindingId, CallId)>,
}

impl LockFacts {
    pub fn is_empty(&self) -> bool {
        self.awaits.is_empty() && self.guards.is_empty() && self.drops.is_empty()
    }
}

/// A call that may return a lock guard, and how long the guard lives if it does: to the end of its
/// block when bound by `let`, to the end of its statement (its temporary scope) otherwise.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct GuardFact {
    pub lock_call: CallId,
    pub binding: Option<BindingId>,
    /// Where the guard starts to live (the end of the lock call).
    pub start: u32,
    /// Where its scope ends.
    pub end: u32,
    pub ctx: Option<CtxId>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct UseEntry {
    /// The full imported path; for a glob, the path of the module glob-imported.
    pub path: Path,
    /// The name it is imported as (`_` for `as _`); `None` for a glob.
    pub alias: Option<Sym>,
    pub is_pub: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ItemKind {
    Fn(FnIdx),
    Struct(StructIdx),
    Enum,
    Union,
    Trait(TraitIdx),
    /// An inline module or an out-of-line one, both as modules of this file.
    Mod(ModIdx),
    /// `mod x;`: the index into the module's `out_of_line` list.
    ModFile(u32),
    Static(StaticIdx),
    Const,
    TypeAlias(AliasIdx),
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Item {
    pub name: Sym,
    pub kind: ItemKind,
    pub is_pub: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ScopeKind {
    Module(ModIdx),
    Block,
}

/// A module or a block that declares names: its items and its `use`s.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Scope {
    pub parent: Option<ScopeId>,
    pub kind: ScopeKind,
    pub items: Vec<Item>,
    pub uses: Vec<UseEntry>,
    /// Generic parameters in force (fn or impl generics), which shadow every other name.
    pub generics: Vec<Sym>,
    /// The first trait bound of each bounded generic parameter (`T: Repo`, `where T: Repo`).
    pub generic_bounds: Vec<(Sym, Path)>,
    /// The impl whose `Self` this scope sees, if any.
    pub self_impl: Option<ImplIdx>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct OutOfLineMod {
    pub name: Sym,
    /// The value of a `#[path = ".."]` attribute.
    pub path_attr: Option<String>,
    pub span: ByteSpan,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ModuleFacts {
    pub name: Sym,
    pub parent: Option<ModIdx>,
    pub scope: ScopeId,
    pub out_of_line: Vec<OutOfLineMod>,
    /// Under `#[cfg(test)]` (itself or an ancestor).
    pub is_test: bool,
    /// For inline modules: the `#[path]` of the inline module, if any, which moves its children.
    pub path_attr: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StructFacts {
    pub name: Sym,
    pub scope: ScopeId,
    pub generics: Box<[Sym]>,
    /// Named fields; tuple fields are named `0`, `1`, ...
    pub fields: Vec<(Sym, Ty)>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ImplFacts {
    pub scope: ScopeId,
    pub self_ty: Ty,
    pub trait_path: Option<Path>,
    pub generics: Box<[Sym]>,
    pub methods: Vec<FnIdx>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TraitFacts {
    pub name: Sym,
    pub scope: ScopeId,
    /// Methods with a default body are in `fns`; every declared method is named here.
    pub methods: Vec<(Sym, Option<FnIdx>)>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StaticFacts {
    pub name: Sym,
    pub scope: ScopeId,
    pub ty: Ty,
    pub span: ByteSpan,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct AliasFacts {
    pub scope: ScopeId,
    pub generics: Box<[Sym]>,
    pub ty: Ty,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SyntaxError {
    pub span: ByteSpan,
    pub message: String,
}

/// Everything the analysis keeps of one parsed file.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FileFacts {
    pub modules: Vec<ModuleFacts>,
    pub scopes: Vec<Scope>,
    pub fns: Vec<FnFacts>,
    pub structs: Vec<StructFacts>,
    pub impls: Vec<ImplFacts>,
    pub traits: Vec<TraitFacts>,
    pub statics: Vec<StaticFacts>,
    pub aliases: Vec<AliasFacts>,
    /// `extern crate a as b;` renames: (crate, alias).
    pub extern_crates: Vec<(Sym, Sym)>,
    /// Consts initialised with SQL text (`const UPSERT: &str = "INSERT .."`): scope, name, text.
    pub sql_consts: Vec<(ScopeId, Sym, StrLit)>,
    /// `// asynclint: allow(..)` and `allow-file(..)` comments (`suppress::scan`).
    pub directives: Vec<Directive>,
}

/// An `// asynclint: allow(rule, ..) -- reason` (or `allow-file`) comment, read from the raw text.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Directive {
    /// The 1-based line of the comment.
    pub line: u32,
    pub kind: DirectiveKind,
    /// The rule ids, as written (not checked).
    pub ids: Box<[Box<str>]>,
    /// Whether a non-empty ` -- reason` follows.
    pub has_reason: bool,
    /// The comment, from `//` to the end of its line.
    pub span: ByteSpan,
    /// For `allow`: the 1-based line it covers (its own line when it follows code, else the next
    /// line of code) and that line's bytes; 0 and an empty span otherwise.
    pub target_line: u32,
    pub target: ByteSpan,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DirectiveKind {
    /// `allow(..)`: one line.
    Line,
    /// `allow-file(..)`: the whole file.
    File,
    /// Starts with `asynclint:` but cannot be read.
    Malformed,
}

impl FileFacts {
    /// The facts to keep for the whole run: the bindings of fns without calls are dropped, since
    /// bindings only serve to type call receivers and arguments; and every list is copied afresh.
    ///
    /// Why a copy: facts are built while the extractor's temporaries come and go, and lists grow
    /// by doubling, so a file's facts end up scattered over pages whose other blocks are freed
    /// when the file is done. The copy allocates each list at its exact length, one after the
    /// other, and the originals' blocks serve the next file's temporaries. On the bench corpus
    /// this lowered the peak of a run from 627 to 633 MB to 582 to 609 MB, for no measurable
    /// time (the `shrink_to_fit` of each list that this replaces only trimmed in place).
    pub fn compact(mut self) -> FileFacts {
        for f in &mut self.fns {
            if f.calls.is_empty() {
                // Without a call there is no statement, pool or close: the database facts of such
                // a fn serve no rule, except that a fn returning only literals
                // (`fn table(&self) -> &str { "users" }`) tells the SQL rules its result is fixed.
                if let Some(db) = &mut f.db {
                    let returns: Vec<ValueSrc> =
                        db.returns.drain(..).filter(|r| matches!(r, ValueSrc::Str(_))).collect();
                    let literal_fields = std::mem::take(&mut db.literal_fields);
                    **db = FnDbFacts { returns, literal_fields, ..FnDbFacts::default() };
                }
                // Nothing may point at a binding that is gone: facts stay consistent, which the
                // cache's validation checks.
                f.bindings = Vec::new();
                f.params = Box::new([]);
                for c in &mut f.ctxs {
                    if let CtxKind::Closure { bound_to, .. } = &mut c.kind {
                        *bound_to = None;
                    }
                }
            }
            if f.db.as_ref().is_some_and(|d| d.is_empty()) {
                f.db = None;
            }
        }
        // `Clone` of a `Vec`, `Box<[T]>` or `String` allocates exactly its length.
        self.clone()
    }

    pub fn scope(&self, id: ScopeId) -> &Scope {
        &self.scopes[id.idx()]
    }

    /// The module a scope belongs to.
    pub fn module_of_scope(&self, mut id: ScopeId) -> ModIdx {
        loop {
            let scope = &self.scopes[id.idx()];
            match (&scope.kind, scope.parent) {
                (ScopeKind::Module(m), _) => return *m,
                (ScopeKind::Block, Some(parent)) => id = parent,
                (ScopeKind::Block, None) => return ModIdx(0),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_small_and_compare_by_content() {
        assert_eq!(std::mem::size_of::<Path>(), 24);
        let segs: Vec<Sym> = (1..=6).map(Sym).collect();
        for n in 0..=6 {
            let a = Path::new(n % 2 == 0, &segs[..n]);
            assert_eq!(a.segs(), &segs[..n]);
            assert_eq!(a.global(), n % 2 == 0);
            let copy: Vec<Sym> = segs[..n].to_vec();
            assert_eq!(a, Path::new(n % 2 == 0, &copy));
        }
        assert_ne!(Path::new(false, &segs[..2]), Path::new(false, &segs[..3]));
        assert_ne!(Path::new(false, &segs[..2]), Path::new(true, &segs[..2]));
    }

    #[test]
    fn compacted_facts_hold_no_spare_capacity_and_no_unused_bindings() {
        let text = "fn a(x: u32) { let y = x; }\n\
                    fn b() { let v = Vec::new(); for i in 0..9 { v.push(g(i)); h(i); k(i); } }";
        let names = crate::intern::Interner::new();
        // `parse_facts` compacts; the extractor alone does not.
        let raw = {
            let file: syn::File = syn::parse_str(text).unwrap();
            crate::parse::extract::Extractor::new(&names, text).extract_file(&file)
        };
        assert!(raw.fns[1].calls.capacity() > raw.fns[1].calls.len(), "the test needs lists with spare room");
        let facts = crate::parse::parse_facts(text, &names).unwrap();
        let (a, b) = (&facts.fns[0], &facts.fns[1]);
        assert!(a.calls.is_empty() && a.bindings.is_empty() && a.params.is_empty());
        assert_eq!(b.calls.len(), raw.fns[1].calls.len());
        assert!(!b.bindings.is_empty());
        for f in &facts.fns {
            assert_eq!(f.calls.capacity(), f.calls.len());
            assert_eq!(f.bindings.capacity(), f.bindings.len());
        }
        assert_eq!(facts.fns.capacity(), facts.fns.len());
        assert_eq!(facts.scopes.capacity(), facts.scopes.len());
    }
}
