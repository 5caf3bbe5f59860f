//! Turns one syn tree into `FileFacts`. This is the only place that sees syn's expression types;
//! it records every call with where its receiver and arguments come from, every binding, and every
//! async block or closure, and resolves nothing.

use proc_macro2::{Delimiter, Spacing, Span, TokenStream, TokenTree};
use syn::spanned::Spanned;

use super::facts::*;
use crate::intern::{Interner, Sym};
use crate::lines::LineIndex;

/// Attribute paths that run a fn inside an async runtime.
const RUNTIME_ENTRY_ATTRS: &[&[&str]] = &[
    &["tokio", "main"],
    &["tokio", "test"],
    &["actix_web", "main"],
    &["actix_web", "test"],
    &["actix_rt", "main"],
    &["actix_rt", "test"],
    &["async_std", "main"],
    &["async_std", "test"],
    &["sqlx", "test"],
    &["rocket", "main"],
    &["rocket", "async_test"],
    &["ntex", "main"],
    &["ntex", "test"],
    &["monoio", "main"],
    &["compio", "main"],
    &["glommio", "main"],
];

/// Macros whose tokens are templates or foreign syntax, not code that runs where the macro stands.
const OPAQUE_MACROS: &[&str] = &[
    "macro_rules",
    "quote",
    "quote_spanned",
    "parse_quote",
    "parse_quote_spanned",
    "html",
    "rsx",
    "view",
    "sql",
    "include_str",
    "include_bytes",
    "concat",
    "stringify",
    "env",
    "option_env",
    "compile_error",
    "cfg",
];

pub struct Extractor<'i> {
    interner: &'i Interner,
    /// The text the tokens were lexed from, and its lines: spans become byte offsets through
    /// them. proc-macro2's own `Span::byte_range` counts chars from the nearest offset it computed
    /// before and remembers each answer in a map, which cost more than the rest of the span
    /// handling.
    text: &'i str,
    lines: LineIndex,
    facts: FileFacts,
    fn_stack: Vec<FnState>,
    kw: Keywords,
    /// How many macro bodies we are inside. Each level re-parses its tokens, so nesting is capped.
    macro_depth: u32,
}

/// Macro bodies nested deeper than this are not looked into (`vec![vec![..]]` a thousand deep
/// would otherwise be re-parsed a thousand times).
const MAX_MACRO_DEPTH: u32 = 8;

/// Names the extractor compares against, interned once per file.
struct Keywords {
    guard_methods: Vec<Sym>,
    unwrap: Sym,
    expect: Sym,
    unwrap_or_else: Sym,
    drop: Sym,
    try_current: Sym,
    is_err: Sym,
    is_ok: Sym,
    /// Methods that turn an error into a value and go on.
    swallowing: Vec<Sym>,
}

struct FnState {
    facts: FnFacts,
    /// The database facts, moved into `facts.db` by `finish` if there are any.
    db: FnDbFacts,
    /// Likewise for `facts.locks`.
    locks: LockFacts,
    ctx: Option<CtxId>,
    scope: ScopeId,
    locals: Vec<(Sym, BindingId)>,
    levels: Vec<usize>,
    /// Where temporaries created now are dropped: the end of the current statement or condition.
    temp_end: u32,
    /// Where a `let` binding made now goes out of scope: the end of the current block.
    block_end: u32,
}

impl FnState {
    /// The fn's facts once its body is walked, with its database and lock facts boxed in when it
    /// has any.
    fn finish(self) -> FnFacts {
        let mut facts = self.facts;
        if !self.db.is_empty() {
            facts.db = Some(Box::new(self.db));
        }
        if !self.locks.is_empty() {
            facts.locks = Some(Box::new(self.locks));
        }
        facts
    }
}

/// Methods whose result may be a lock guard; the model keeps those whose receiver is a sync lock.
const GUARD_METHODS: &[&str] = &["lock", "read", "write", "borrow", "borrow_mut", "try_lock", "upgradable_read"];

/// Primitive number types: a value of one cannot carry SQL.
pub const NUMBER_TYPES: &[&str] =
    &["i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize", "f32", "f64", "bool"];

/// Macros that await inside: holding a guard across them holds it across an `.await`.
const AWAITING_MACROS: &[&str] = &["select", "join", "try_join"];

impl<'i> Extractor<'i> {
    pub fn new(interner: &'i Interner, text: &'i str) -> Self {
        let kw = Keywords {
            guard_methods: GUARD_METHODS.iter().map(|m| interner.intern(m)).collect(),
            unwrap: interner.intern("unwrap"),
            expect: interner.intern("expect"),
            unwrap_or_else: interner.intern("unwrap_or_else"),
            drop: interner.intern("drop"),
            try_current: interner.intern("try_current"),
            is_err: interner.intern("is_err"),
            is_ok: interner.intern("is_ok"),
            swallowing: ["ok", "unwrap_or_default", "unwrap_or", "unwrap_or_else"]
                .iter()
                .map(|m| interner.intern(m))
                .collect(),
        };
        Extractor {
            interner,
            text,
            lines: LineIndex::new(text),
            facts: FileFacts::default(),
            fn_stack: Vec::new(),
            kw,
            macro_depth: 0,
        }
    }

    pub fn extract_file(mut self, file: &syn::File) -> FileFacts {
        let is_test = has_cfg_test(&file.attrs);
        let root = self.new_module(self.sym("crate"), None, is_test, None);
        let scope = self.facts.modules[root.idx()].scope;
        self.items(&file.items, scope, root, is_test);
        self.facts
    }

    fn sym(&self, s: &str) -> Sym {
        self.interner.intern(s)
    }

    /// The byte offset where a span starts.
    fn start(&self, span: Span) -> u32 {
        let at = span.start();
        self.lines.offset(self.text, at.line, at.column)
    }

    /// The byte offset where a span ends.
    fn end(&self, span: Span) -> u32 {
        let at = span.end();
        self.lines.offset(self.text, at.line, at.column)
    }

    fn span_of(&self, s: Span) -> ByteSpan {
        ByteSpan { start: self.start(s), end: self.end(s) }
    }

    fn stmt_start(&self, s: &syn::Stmt) -> Option<u32> {
        let span = match s {
            syn::Stmt::Local(l) => l.let_token.span,
            syn::Stmt::Expr(e, _) => expr_first_token(e),
            syn::Stmt::Macro(m) => m.mac.path.segments.first()?.ident.span(),
            syn::Stmt::Item(_) => return None,
        };
        Some(self.start(span))
    }

    fn ident(&self, i: &syn::Ident) -> Sym {
        // Raw identifiers (`r#type`) name the same item as the plain word.
        let s = i.to_string();
        match s.strip_prefix("r#") {
            Some(rest) => self.sym(rest),
            None => self.sym(&s),
        }
    }

    fn new_module(&mut self, name: Sym, parent: Option<ModIdx>, is_test: bool, path_attr: Option<String>) -> ModIdx {
        let idx = ModIdx(self.facts.modules.len() as u32);
        let scope = self.new_scope(None, ScopeKind::Module(idx), Vec::new(), None);
        self.facts.modules.push(ModuleFacts { name, parent, scope, out_of_line: Vec::new(), is_test, path_attr });
        idx
    }

    fn new_scope(
        &mut self,
        parent: Option<ScopeId>,
        kind: ScopeKind,
        generics: Vec<Sym>,
        self_impl: Option<ImplIdx>,
    ) -> ScopeId {
        let id = ScopeId(self.facts.scopes.len() as u32);
        self.facts.scopes.push(Scope {
            parent,
            kind,
            items: Vec::new(),
            uses: Vec::new(),
            generics,
            generic_bounds: Vec::new(),
            self_impl,
        });
        id
    }

    fn generic_bounds(&self, g: &syn::Generics) -> Vec<(Sym, Path)> {
        let mut out = Vec::new();
        for p in &g.params {
            if let syn::GenericParam::Type(t) = p {
                if let Some(path) = first_trait(&t.bounds) {
                    out.push((self.ident(&t.ident), self.path(path)));
                }
            }
        }
        if let Some(w) = &g.where_clause {
            for pred in &w.predicates {
                if let syn::WherePredicate::Type(pt) = pred {
                    if let syn::Type::Path(tp) = &pt.bounded_ty {
                        if let (Some(id), Some(path)) = (tp.path.get_ident(), first_trait(&pt.bounds)) {
                            out.push((self.ident(id), self.path(path)));
                        }
                    }
                }
            }
        }
        out
    }

    fn add_item(&mut self, scope: ScopeId, name: Sym, kind: ItemKind, vis: &syn::Visibility) {
        let is_pub = !matches!(vis, syn::Visibility::Inherited);
        self.facts.scopes[scope.idx()].items.push(Item { name, kind, is_pub });
    }

    // ----- items -------------------------------------------------------------------------------

    fn items(&mut self, items: &[syn::Item], scope: ScopeId, module: ModIdx, in_test: bool) {
        for item in items {
            self.item(item, scope, module, in_test);
        }
    }

    fn item(&mut self, item: &syn::Item, scope: ScopeId, module: ModIdx, in_test: bool) {
        match item {
            syn::Item::Fn(f) => {
                let is_test = in_test || has_cfg_test(&f.attrs) || is_test_fn(&f.attrs);
                let idx = self.function(&f.sig, &f.attrs, Some(&f.block), scope, module, Owner::Free, None, is_test);
                self.add_item(scope, self.ident(&f.sig.ident), ItemKind::Fn(idx), &f.vis);
            }
            syn::Item::Mod(m) => {
                let name = self.ident(&m.ident);
                let is_test = in_test || has_cfg_test(&m.attrs);
                let path_attr = path_attr(&m.attrs);
                match &m.content {
                    Some((_, inner)) => {
                        let child = self.new_module(name, Some(module), is_test, path_attr);
                        self.add_item(scope, name, ItemKind::Mod(child), &m.vis);
                        let child_scope = self.facts.modules[child.idx()].scope;
                        self.items(inner, child_scope, child, is_test);
                    }
                    None => {
                        let span = self.span_of(m.ident.span());
                        let list = &mut self.facts.modules[module.idx()].out_of_line;
                        let n = list.len() as u32;
                        list.push(OutOfLineMod { name, path_attr, span });
                        self.add_item(scope, name, ItemKind::ModFile(n), &m.vis);
                    }
                }
            }
            syn::Item::Use(u) => {
                let is_pub = !matches!(u.vis, syn::Visibility::Inherited);
                let mut out = Vec::new();
                self.use_tree(&mut Vec::new(), u.leading_colon.is_some(), &u.tree, is_pub, &mut out);
                self.facts.scopes[scope.idx()].uses.extend(out);
            }
            syn::Item::ExternCrate(e) => {
                let krate = self.ident(&e.ident);
                let alias = e.rename.as_ref().map(|(_, i)| self.ident(i)).unwrap_or(krate);
                if e.ident != "self" {
                    self.facts.extern_crates.push((krate, alias));
                    let is_pub = !matches!(e.vis, syn::Visibility::Inherited);
                    let path = Path::new(true, &[krate]);
                    self.facts.scopes[scope.idx()].uses.push(UseEntry { path, alias: Some(alias), is_pub });
                }
            }
            syn::Item::Struct(s) => {
                let idx = StructIdx(self.facts.structs.len() as u32);
                let generics = self.generic_names(&s.generics);
                let fields = self.fields(&s.fields);
                self.facts.structs.push(StructFacts {
                    name: self.ident(&s.ident),
                    scope,
                    generics: generics.into(),
                    fields,
                });
                self.add_item(scope, self.ident(&s.ident), ItemKind::Struct(idx), &s.vis);
            }
            syn::Item::Enum(e) => {
                // Enums are kept as field-less structs: what matters is their impls.
                let idx = StructIdx(self.facts.structs.len() as u32);
                let generics = self.generic_names(&e.generics);
                self.facts.structs.push(StructFacts {
                    name: self.ident(&e.ident),
                    scope,
                    generics: generics.into(),
                    fields: Vec::new(),
                });
                self.add_item(scope, self.ident(&e.ident), ItemKind::Struct(idx), &e.vis);
            }
            syn::Item::Union(u) => self.add_item(scope, self.ident(&u.ident), ItemKind::Union, &u.vis),
            syn::Item::Trait(t) => {
                let idx = TraitIdx(self.facts.traits.len() as u32);
                let name = self.ident(&t.ident);
                self.facts.traits.push(TraitFacts { name, scope, methods: Vec::new() });
                self.add_item(scope, name, ItemKind::Trait(idx), &t.vis);
                let generics = self.generic_names(&t.generics);
                let trait_scope = self.new_scope(Some(scope), ScopeKind::Block, generics, None);
                self.facts.scopes[trait_scope.idx()].generic_bounds = self.generic_bounds(&t.generics);
                let is_test = in_test || has_cfg_test(&t.attrs);
                for ti in &t.items {
                    if let syn::TraitItem::Fn(f) = ti {
                        let body = f.default.as_ref();
                        let fn_idx = body.map(|b| {
                            self.function(
                                &f.sig,
                                &f.attrs,
                                Some(b),
                                trait_scope,
                                module,
                                Owner::Trait(idx),
                                None,
                                is_test,
                            )
                        });
                        let name = self.ident(&f.sig.ident);
                        self.facts.traits[idx.idx()].methods.push((name, fn_idx));
                    }
                }
            }
            syn::Item::Impl(i) => {
                let idx = ImplIdx(self.facts.impls.len() as u32);
                let generics = self.generic_names(&i.generics);
                let self_ty = self.ty(&i.self_ty);
                let trait_path = i.trait_.as_ref().map(|(p, _)| self.path(p));
                self.facts.impls.push(ImplFacts {
                    scope,
                    self_ty,
                    trait_path,
                    generics: generics.clone().into(),
                    methods: Vec::new(),
                });
                let impl_scope = self.new_scope(Some(scope), ScopeKind::Block, generics, Some(idx));
                self.facts.scopes[impl_scope.idx()].generic_bounds = self.generic_bounds(&i.generics);
                let is_test = in_test || has_cfg_test(&i.attrs);
                for ii in &i.items {
                    if let syn::ImplItem::Fn(f) = ii {
                        let is_test = is_test || is_test_fn(&f.attrs);
                        let fn_idx = self.function(
                            &f.sig,
                            &f.attrs,
                            Some(&f.block),
                            impl_scope,
                            module,
                            Owner::Impl(idx),
                            Some(idx),
                            is_test,
                        );
                        self.facts.impls[idx.idx()].methods.push(fn_idx);
                    }
                }
            }
            syn::Item::Static(s) => {
                let idx = StaticIdx(self.facts.statics.len() as u32);
                let ty = self.ty(&s.ty);
                self.facts.statics.push(StaticFacts {
                    name: self.ident(&s.ident),
                    scope,
                    ty,
                    span: self.span_of(s.ident.span()),
                });
                self.add_item(scope, self.ident(&s.ident), ItemKind::Static(idx), &s.vis);
                self.static_initializer(idx, &s.expr, scope, module, in_test || has_cfg_test(&s.attrs));
            }
            // Consts are named but not typed: generated bindings declare them by the hundred
            // thousand, and a const is never a receiver any rule judges.
            syn::Item::Const(c) => {
                let name = self.ident(&c.ident);
                if let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(text), .. }) = strip_parens(&c.expr) {
                    let lit = StrLit::classify(&text.value());
                    if lit.sql != SqlKind::NotSql {
                        self.facts.sql_consts.push((scope, name, lit));
                    }
                }
                self.add_item(scope, name, ItemKind::Const, &c.vis)
            }
            syn::Item::Macro(m) if m.mac.path.segments.last().is_some_and(|s| s.ident == "lazy_static") => {
                for (vis, ident, ty, init) in parse_lazy_static(m.mac.tokens.clone()) {
                    let idx = StaticIdx(self.facts.statics.len() as u32);
                    let ty = self.ty(&ty);
                    let name = self.ident(&ident);
                    self.facts.statics.push(StaticFacts { name, scope, ty, span: self.span_of(ident.span()) });
                    self.add_item(scope, name, ItemKind::Static(idx), &vis);
                    self.static_initializer(idx, &init, scope, module, in_test);
                }
            }
            syn::Item::Type(t) => {
                let idx = AliasIdx(self.facts.aliases.len() as u32);
                let generics = self.generic_names(&t.generics).into();
                let ty = self.ty(&t.ty);
                self.facts.aliases.push(AliasFacts { scope, generics, ty });
                self.add_item(scope, self.ident(&t.ident), ItemKind::TypeAlias(idx), &t.vis);
            }
            _ => {}
        }
    }

    fn fields(&self, fields: &syn::Fields) -> Vec<(Sym, Ty)> {
        fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let name = match &f.ident {
                    Some(id) => self.ident(id),
                    None => self.sym(&i.to_string()),
                };
                (name, self.ty(&f.ty))
            })
            .collect()
    }

    fn generic_names(&self, g: &syn::Generics) -> Vec<Sym> {
        g.params
            .iter()
            .filter_map(|p| match p {
                syn::GenericParam::Type(t) => Some(self.ident(&t.ident)),
                syn::GenericParam::Const(c) => Some(self.ident(&c.ident)),
                syn::GenericParam::Lifetime(_) => None,
            })
            .collect()
    }

    fn use_tree(
        &self,
        prefix: &mut Vec<Sym>,
        global: bool,
        tree: &syn::UseTree,
        is_pub: bool,
        out: &mut Vec<UseEntry>,
    ) {
        let entry = |segs: Vec<Sym>, alias: Option<Sym>| UseEntry { path: Path::new(global, &segs), alias, is_pub };
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(self.ident(&p.ident));
                self.use_tree(prefix, global, &p.tree, is_pub, out);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                if n.ident == "self" {
                    if let Some(&last) = prefix.last() {
                        out.push(entry(prefix.clone(), Some(last)));
                    }
                } else {
                    let name = self.ident(&n.ident);
                    let mut segs = prefix.clone();
                    segs.push(name);
                    out.push(entry(segs, Some(name)));
                }
            }
            syn::UseTree::Rename(r) => {
                let alias = self.ident(&r.rename);
                if r.ident == "self" {
                    out.push(entry(prefix.clone(), Some(alias)));
                } else {
                    let mut segs = prefix.clone();
                    segs.push(self.ident(&r.ident));
                    out.push(entry(segs, Some(alias)));
                }
            }
            syn::UseTree::Glob(_) => out.push(entry(prefix.clone(), None)),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, global, t, is_pub, out);
                }
            }
        }
    }

    // ----- functions ---------------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn function(
        &mut self,
        sig: &syn::Signature,
        attrs: &[syn::Attribute],
        body: Option<&syn::Block>,
        scope: ScopeId,
        module: ModIdx,
        owner: Owner,
        self_impl: Option<ImplIdx>,
        is_test: bool,
    ) -> FnIdx {
        let generics = self.generic_names(&sig.generics);
        let outer_scope = if generics.is_empty() {
            scope
        } else {
            let s = self.new_scope(Some(scope), ScopeKind::Block, generics.clone(), self_impl);
            self.facts.scopes[s.idx()].generic_bounds = self.generic_bounds(&sig.generics);
            s
        };
        let runtime_entry = attrs.iter().any(|a| {
            let segs: Vec<String> = a.path().segments.iter().map(|s| s.ident.to_string()).collect();
            RUNTIME_ENTRY_ATTRS.iter().any(|known| known.iter().copied().eq(segs.iter().map(String::as_str)))
        });
        let facts = FnFacts {
            name: self.ident(&sig.ident),
            module,
            outer_scope,
            owner,
            is_async: sig.asyncness.is_some(),
            runtime_entry,
            is_test,
            has_self: sig.receiver().is_some(),
            generics: generics.into(),
            params: Box::new([]),
            ret: match &sig.output {
                syn::ReturnType::Default => None,
                syn::ReturnType::Type(_, t) => Some(Box::new(self.ty(t))),
            },
            bindings: Vec::new(),
            calls: Vec::new(),
            ctxs: Vec::new(),
            span: self.span_of(sig.ident.span()),
            locks: None,
            db: None,
            static_init: None,
        };
        let body_end = body.map_or(0, |b| self.start(b.brace_token.span.close()));
        self.fn_stack.push(FnState {
            facts,
            db: FnDbFacts::default(),
            locks: LockFacts::default(),
            ctx: None,
            scope: outer_scope,
            locals: Vec::new(),
            levels: Vec::new(),
            temp_end: body_end,
            block_end: body_end,
        });
        let mut params = Vec::new();
        for input in &sig.inputs {
            if let syn::FnArg::Typed(pt) = input {
                let ty = self.ty(&pt.ty);
                let first = self.cur().facts.bindings.len();
                self.bind_pat(&pt.pat, ValueSrc::Unknown, Some(ty));
                let last = self.cur().facts.bindings.len();
                params.extend((first..last).map(|b| BindingId(b as u32)));
            }
        }
        self.cur().facts.params = params.into();
        if let Some(block) = body {
            let tail = self.block(block);
            self.returned(tail);
        }
        let state = self.fn_stack.pop().expect("pushed above");
        let idx = FnIdx(self.facts.fns.len() as u32);
        self.facts.fns.push(state.finish());
        idx
    }

    /// A static's initializer that runs code (`LazyLock::new(|| ..)`, `lazy_static!`) is kept as a
    /// sync fn of its own, named after the static, so that the calls it makes are seen. Plain
    /// values (literals, paths, const constructors of no arguments) are skipped.
    fn static_initializer(&mut self, idx: StaticIdx, init: &syn::Expr, scope: ScopeId, module: ModIdx, is_test: bool) {
        let runs_code = match strip_parens(init) {
            syn::Expr::Call(c) => !c.args.is_empty(),
            syn::Expr::MethodCall(_) | syn::Expr::Block(_) | syn::Expr::Macro(_) | syn::Expr::Closure(_) => true,
            _ => false,
        };
        if !runs_code || !self.fn_stack.is_empty() {
            return;
        }
        let st = &self.facts.statics[idx.idx()];
        let facts = FnFacts {
            name: st.name,
            module,
            outer_scope: scope,
            owner: Owner::Free,
            is_async: false,
            runtime_entry: false,
            is_test,
            has_self: false,
            generics: Box::new([]),
            params: Box::new([]),
            ret: Some(Box::new(st.ty.clone())),
            bindings: Vec::new(),
            calls: Vec::new(),
            ctxs: Vec::new(),
            span: st.span,
            locks: None,
            db: None,
            static_init: Some(idx),
        };
        let end = st.span.end;
        self.fn_stack.push(FnState {
            facts,
            db: FnDbFacts::default(),
            locks: LockFacts::default(),
            ctx: None,
            scope,
            locals: Vec::new(),
            levels: Vec::new(),
            temp_end: end,
            block_end: end,
        });
        self.expr(init);
        let state = self.fn_stack.pop().expect("pushed above");
        self.facts.fns.push(state.finish());
    }

    fn cur(&mut self) -> &mut FnState {
        self.fn_stack.last_mut().expect("inside a fn body")
    }

    fn push_level(&mut self) {
        let st = self.cur();
        st.levels.push(st.locals.len());
    }

    fn pop_level(&mut self) {
        let st = self.cur();
        if let Some(n) = st.levels.pop() {
            st.locals.truncate(n);
        }
    }

    fn local(&mut self, name: Sym) -> Option<BindingId> {
        self.cur().locals.iter().rev().find(|(n, _)| *n == name).map(|(_, b)| *b)
    }

    fn new_binding(&mut self, name: Sym, ty: Option<Ty>, init: ValueSrc) -> BindingId {
        let st = self.cur();
        let id = BindingId(st.facts.bindings.len() as u32);
        let scope = st.scope;
        st.facts.bindings.push(Binding { name, ty: ty.map(Box::new), init, scope });
        st.locals.push((name, id));
        id
    }

    fn bind_pat(&mut self, pat: &syn::Pat, src: ValueSrc, ty: Option<Ty>) {
        match pat {
            syn::Pat::Ident(pi) => {
                let name = self.ident(&pi.ident);
                self.new_binding(name, ty, src.clone());
                if let Some((_, sub)) = &pi.subpat {
                    self.bind_pat(sub, src, None);
                }
            }
            syn::Pat::Type(pt) => {
                let ty = self.ty(&pt.ty);
                self.bind_pat(&pt.pat, src, Some(ty));
            }
            syn::Pat::Tuple(t) => {
                for (i, p) in t.elems.iter().enumerate() {
                    let elem_ty = match &ty {
                        Some(Ty::Tuple(elems)) => elems.get(i).cloned(),
                        _ => None,
                    };
                    self.bind_pat(p, ValueSrc::TupleField(Box::new(src.clone()), i as u32), elem_ty);
                }
            }
            syn::Pat::TupleStruct(ts) => {
                // `Ok(x)` and `Some(x)` unwrap the value: the model treats `Result<T>` and `Option<T>`
                // as `T`, the way `?` and `unwrap` do.
                let last = ts.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                let passes = (last == "Ok" || last == "Some") && ts.elems.len() == 1;
                // `State(state): State<AppState>`, `Json(body): Json<Req>`: a one-field wrapper
                // pattern over a one-argument type binds the argument.
                if let (false, Some(Ty::Path { args, .. }), [elem]) =
                    (passes, &ty, ts.elems.iter().collect::<Vec<_>>().as_slice())
                {
                    if args.len() == 1 {
                        let inner = args[0].clone();
                        self.bind_pat(elem, ValueSrc::Unknown, Some(inner));
                        return;
                    }
                }
                for p in &ts.elems {
                    let s = if passes { src.clone() } else { ValueSrc::Unknown };
                    self.bind_pat(p, s, None);
                }
            }
            syn::Pat::Reference(r) => self.bind_pat(&r.pat, src, ty),
            syn::Pat::Paren(p) => self.bind_pat(&p.pat, src, ty),
            // A guard inside a pattern (`(Some(x) if x > 0) | None`, unstable) binds what its
            // pattern binds. A match arm's own guard is split off and walked by `expr`.
            syn::Pat::Guard(g) => self.bind_pat(&g.pat, src, ty),
            syn::Pat::Or(o) => {
                for case in &o.cases {
                    self.bind_pat(case, src.clone(), ty.clone());
                }
            }
            syn::Pat::Struct(s) => {
                // `let AppState { geo, .. } = state;`: each binding is that field of the value.
                for f in &s.fields {
                    let field = match &f.member {
                        syn::Member::Named(id) => ValueSrc::Field(Box::new(src.clone()), self.ident(id)),
                        syn::Member::Unnamed(i) => ValueSrc::TupleField(Box::new(src.clone()), i.index),
                    };
                    self.bind_pat(&f.pat, field, None);
                }
            }
            syn::Pat::Slice(s) => {
                for p in &s.elems {
                    self.bind_pat(p, ValueSrc::Unknown, None);
                }
            }
            _ => {}
        }
    }

    // ----- blocks and statements ---------------------------------------------------------------

    fn block(&mut self, block: &syn::Block) -> ValueSrc {
        let saved_scope = self.cur().scope;
        let has_items = block.stmts.iter().any(|s| matches!(s, syn::Stmt::Item(_)));
        if has_items {
            let parent = self.cur().scope;
            let self_impl = self.facts.scopes[parent.idx()].self_impl;
            let scope = self.new_scope(Some(parent), ScopeKind::Block, Vec::new(), self_impl);
            self.cur().scope = scope;
            let module = self.cur().facts.module;
            let in_test = self.cur().facts.is_test;
            for stmt in &block.stmts {
                if let syn::Stmt::Item(item) = stmt {
                    self.item(item, scope, module, in_test);
                }
            }
        }
        self.push_level();
        let close = self.start(block.brace_token.span.close());
        let (saved_temp, saved_block) = (self.cur().temp_end, self.cur().block_end);
        self.cur().block_end = close;
        let mut value = ValueSrc::Unknown;
        for (i, stmt) in block.stmts.iter().enumerate() {
            value = ValueSrc::Unknown;
            // A statement's temporaries die before the next statement starts; only whitespace and
            // comments lie between, so the next start is as good as the statement's end.
            let next = block.stmts[i + 1..].iter().find_map(|s| self.stmt_start(s)).unwrap_or(close);
            self.cur().temp_end = next;
            match stmt {
                syn::Stmt::Local(l) => self.local_stmt(l),
                syn::Stmt::Item(_) => {}
                syn::Stmt::Expr(e, semi) => {
                    if semi.is_none() {
                        // A tail expression's temporaries outlive the block (edition 2021).
                        self.cur().temp_end = saved_temp.max(close);
                    }
                    let v = self.expr(e);
                    if semi.is_none() {
                        value = v;
                    }
                }
                syn::Stmt::Macro(m) => {
                    self.mac(&m.mac);
                }
            }
        }
        let st = self.cur();
        st.temp_end = saved_temp;
        st.block_end = saved_block;
        self.pop_level();
        self.cur().scope = saved_scope;
        value
    }

    fn local_stmt(&mut self, l: &syn::Local) {
        let (pat, ty) = match &l.pat {
            syn::Pat::Type(pt) => (&*pt.pat, Some(self.ty(&pt.ty))),
            p => (p, None),
        };
        let Some(init) = &l.init else {
            self.bind_pat(pat, ValueSrc::Unknown, ty);
            return;
        };
        // `let job = || ..;` remembers the binding, so that passing `job` to an offload API later
        // moves the closure off the async context.
        if let (syn::Pat::Ident(pi), syn::Expr::Closure(c)) = (pat, strip_parens(&init.expr)) {
            let name = self.ident(&pi.ident);
            let id = {
                let st = self.cur();
                let id = BindingId(st.facts.bindings.len() as u32);
                let scope = st.scope;
                st.facts.bindings.push(Binding { name, ty: ty.clone().map(Box::new), init: ValueSrc::Unknown, scope });
                id
            };
            let ctx = self.closure(c, None, Some(id));
            let st = self.cur();
            st.facts.bindings[id.idx()].init = ValueSrc::Closure(ctx);
            st.locals.push((name, id));
            return;
        }
        let ctxs_before = self.cur().facts.ctxs.len();
        let value = self.expr(&init.expr);
        if let Some((_, diverge)) = &init.diverge {
            self.expr(diverge);
        }
        if matches!(pat, syn::Pat::Wild(_)) {
            self.swallow(&value, SwallowHow::LetUnderscore, None);
        }
        let guard_call = self.guard_call(&value);
        let first_binding = self.cur().facts.bindings.len() as u32;
        self.bind_pat(pat, value, ty);
        // Closures made directly in the initializer (`Box::new(move || ..)`, either branch of an
        // `if`) end up in the binding, so passing the binding to an offload API offloads them.
        if matches!(pat, syn::Pat::Ident(_)) {
            let st = self.cur();
            let here = st.ctx;
            for c in &mut st.facts.ctxs[ctxs_before..] {
                if let (true, CtxKind::Closure { bound_to: bound @ None, .. }) = (c.parent == here, &mut c.kind) {
                    *bound = Some(BindingId(first_binding));
                }
            }
        }
        // `let g = m.lock().unwrap();` (or `let Ok(g) = m.lock() else { .. };`) keeps the guard to
        // the end of the block. `let _ = ..` drops it at once, so it stays a temporary.
        let binds_guard = match pat {
            syn::Pat::Ident(_) => true,
            syn::Pat::TupleStruct(ts) => ts.elems.len() == 1 && matches!(ts.elems.first(), Some(syn::Pat::Ident(_))),
            _ => false,
        };
        if let (Some(lock), true) = (guard_call, binds_guard) {
            let st = self.cur();
            let block_end = st.block_end;
            if let Some(g) = st.locks.guards.iter_mut().rev().find(|g| g.lock_call == lock) {
                g.binding = Some(BindingId(first_binding));
                g.end = block_end;
            }
        }
    }

    /// The lock call behind a value, looking through `unwrap`, `expect` and `?`.
    fn guard_call(&mut self, v: &ValueSrc) -> Option<CallId> {
        let mut v = v.clone();
        for _ in 0..4 {
            let ValueSrc::Call(id) = v else { return None };
            let st = self.fn_stack.last()?;
            match &st.facts.calls[id.idx()].callee {
                Callee::Method { receiver, name } => {
                    if self.kw.guard_methods.contains(name) {
                        return Some(id);
                    }
                    if *name == self.kw.unwrap || *name == self.kw.expect || *name == self.kw.unwrap_or_else {
                        v = receiver.clone();
                        continue;
                    }
                    return None;
                }
                _ => return None,
            }
        }
        None
    }

    // ----- expressions -------------------------------------------------------------------------

    fn expr(&mut self, e: &syn::Expr) -> ValueSrc {
        match e {
            syn::Expr::Array(a) => {
                for x in &a.elems {
                    self.expr(x);
                }
                ValueSrc::Unknown
            }
            syn::Expr::Assign(a) => {
                let place = self.expr(&a.left);
                let value = self.expr(&a.right);
                if matches!(value, ValueSrc::Local(_) | ValueSrc::Call(_))
                    && matches!(place, ValueSrc::Field(..) | ValueSrc::Path(_) | ValueSrc::Local(_))
                {
                    self.cur().db.stores.push(StoreFact { target: StoreTarget::Place(place), value });
                }
                ValueSrc::Unknown
            }
            syn::Expr::Async(a) => {
                self.with_ctx(CtxKind::AsyncBlock, self.span_of(a.async_token.span), |this| {
                    this.block(&a.block);
                });
                ValueSrc::Unknown
            }
            syn::Expr::Await(a) => {
                let v = self.expr(&a.base);
                let at = self.start(a.await_token.span);
                let st = self.cur();
                let ctx = st.ctx;
                st.locks.awaits.push((at, ctx));
                v
            }
            syn::Expr::Binary(b) => {
                let left = self.expr(&b.left);
                let right = self.expr(&b.right);
                match b.op {
                    syn::BinOp::Add(_) => {
                        let template = self.str_of(&left);
                        let texty = template.is_some()
                            || matches!(left, ValueSrc::Format(_))
                            || matches!(right, ValueSrc::Str(_) | ValueSrc::Format(_))
                            || matches!(strip_parens(&b.right), syn::Expr::Reference(_));
                        if !texty {
                            return ValueSrc::Unknown;
                        }
                        let template = template.or_else(|| match left {
                            ValueSrc::Format(i) => self.fn_stack.last().map(|st| st.db.formats[i as usize].template),
                            _ => None,
                        });
                        let start = self.start(expr_first_token(&b.left));
                        let end = self.end(expr_start(&b.right));
                        let parts: Vec<ValueSrc> =
                            [left, right].into_iter().filter(|v| !matches!(v, ValueSrc::Str(_))).collect();
                        self.new_format(FormatFact {
                            span: ByteSpan { start, end },
                            template: template.unwrap_or(StrLit::NOT_SQL),
                            parts: parts.into(),
                            placeholder_only: false,
                            ctx: None,
                        })
                    }
                    syn::BinOp::AddAssign(_) => {
                        if let ValueSrc::Local(target) = left {
                            if !matches!(right, ValueSrc::Unknown | ValueSrc::Lit) {
                                let start = self.start(expr_first_token(&b.left));
                                let end = self.end(expr_start(&b.right));
                                self.cur().db.appends.push((target, right, ByteSpan { start, end }));
                            }
                        }
                        ValueSrc::Unknown
                    }
                    _ => ValueSrc::Unknown,
                }
            }
            syn::Expr::Block(b) => self.block(&b.block),
            syn::Expr::Break(b) => {
                if let Some(x) = &b.expr {
                    self.expr(x);
                }
                ValueSrc::Unknown
            }
            syn::Expr::Call(c) => self.call(c),
            syn::Expr::Cast(c) => {
                self.expr(&c.expr);
                // `offset as i64` is a number, whatever it was cast from.
                match &*c.ty {
                    syn::Type::Path(tp) if tp.path.get_ident().is_some_and(|i| NUMBER_TYPES.iter().any(|n| i == n)) => {
                        ValueSrc::Lit
                    }
                    _ => ValueSrc::Unknown,
                }
            }
            syn::Expr::Closure(c) => ValueSrc::Closure(self.closure(c, None, None)),
            syn::Expr::Const(c) => {
                self.block(&c.block);
                ValueSrc::Unknown
            }
            syn::Expr::Field(f) => {
                let base = self.expr(&f.base);
                match &f.member {
                    syn::Member::Named(id) => ValueSrc::Field(Box::new(base), self.ident(id)),
                    syn::Member::Unnamed(i) => ValueSrc::TupleField(Box::new(base), i.index),
                }
            }
            syn::Expr::ForLoop(f) => {
                let over = self.expr(&f.expr);
                let kind = match strip_parens(&f.expr) {
                    syn::Expr::Range(_) => LoopKind::ForRange,
                    _ => LoopKind::ForEach,
                };
                self.record_loop(kind, f.for_token.span, &f.body, over);
                self.push_level();
                self.bind_pat(&f.pat, ValueSrc::Unknown, None);
                self.block(&f.body);
                self.pop_level();
                ValueSrc::Unknown
            }
            syn::Expr::Group(g) => self.expr(&g.expr),
            syn::Expr::If(i) => {
                self.push_level();
                let is_let = matches!(strip_parens(&i.cond), syn::Expr::Let(_));
                let saved_temp = self.cur().temp_end;
                if !is_let {
                    // A plain `if` condition is a temporary scope of its own: a guard taken there
                    // is gone before the body runs. An `if let` scrutinee lives through the body.
                    let then_open = self.start(i.then_branch.brace_token.span.open());
                    self.cur().temp_end = then_open;
                }
                let cond = self.expr(&i.cond);
                self.cur().temp_end = saved_temp;
                self.if_swallow(i, &cond);
                let (then_err, else_err) = self.err_test(&i.cond, &cond);
                let mut then_value = ValueSrc::Unknown;
                self.in_err_branch(then_err, |this| {
                    then_value = this.block(&i.then_branch);
                });
                self.pop_level();
                let mut else_value = ValueSrc::Unknown;
                if let Some((_, els)) = &i.else_branch {
                    self.in_err_branch(else_err, |this| {
                        else_value = this.expr(els);
                    });
                }
                // A choice between literals (`if desc { "DESC" } else { "ASC" }`) is a literal.
                match (then_value, else_value) {
                    (ValueSrc::Str(a), ValueSrc::Str(_)) => ValueSrc::Str(StrLit { picked: true, ..a }),
                    _ => ValueSrc::Unknown,
                }
            }
            syn::Expr::Index(i) => {
                self.expr(&i.expr);
                self.expr(&i.index);
                ValueSrc::Unknown
            }
            syn::Expr::Let(l) => {
                // The scrutinee's value, so that `if let Err(_) = try_current()` can be recognised.
                let v = self.expr(&l.expr);
                self.bind_pat(&l.pat, v.clone(), None);
                v
            }
            syn::Expr::Lit(l) => match &l.lit {
                syn::Lit::Str(text) => ValueSrc::Str(StrLit::classify(&text.value())),
                syn::Lit::Int(_) | syn::Lit::Float(_) | syn::Lit::Bool(_) | syn::Lit::Char(_) => ValueSrc::Lit,
                _ => ValueSrc::Unknown,
            },
            syn::Expr::Loop(l) => {
                self.record_loop(LoopKind::Loop, l.loop_token.span, &l.body, ValueSrc::Unknown);
                self.block(&l.body);
                ValueSrc::Unknown
            }
            syn::Expr::Macro(m) => self.mac(&m.mac),
            syn::Expr::Match(m) => {
                let v = self.expr(&m.expr);
                let tested = self.try_current_call(&v);
                if let Some(arm) = err_arm(&m.arms) {
                    if !leaves(&arm.body) {
                        self.swallow(&v, SwallowHow::ErrBranch, None);
                    }
                }
                let mut all_str = None;
                let mut arm_values_are_str = !m.arms.is_empty();
                for arm in &m.arms {
                    self.push_level();
                    let (pat, guard) = arm_parts(&arm.pat);
                    self.bind_pat(pat, v.clone(), None);
                    let err_arm = tested.filter(|_| pat_is_err(pat));
                    let mut value = ValueSrc::Unknown;
                    self.in_err_branch(err_arm, |this| {
                        if let Some(g) = guard {
                            this.expr(g);
                        }
                        value = this.expr(&arm.body);
                    });
                    match value {
                        ValueSrc::Str(lit) => all_str = all_str.or(Some(lit)),
                        _ => arm_values_are_str = false,
                    }
                    self.pop_level();
                }
                match (arm_values_are_str, all_str) {
                    (true, Some(lit)) => ValueSrc::Str(StrLit { picked: true, ..lit }),
                    _ => ValueSrc::Unknown,
                }
            }
            syn::Expr::MethodCall(m) => self.method_call(m),
            syn::Expr::Paren(p) => self.expr(&p.expr),
            syn::Expr::Path(p) => {
                if p.qself.is_none() && p.path.leading_colon.is_none() && p.path.segments.len() == 1 {
                    let seg = &p.path.segments[0];
                    if seg.ident == "self" {
                        return ValueSrc::SelfValue;
                    }
                    let name = self.ident(&seg.ident);
                    if let Some(b) = self.local(name) {
                        return ValueSrc::Local(b);
                    }
                }
                if p.qself.is_some() {
                    return ValueSrc::Unknown;
                }
                ValueSrc::Path(Box::new(self.path(&p.path)))
            }
            syn::Expr::Range(r) => {
                if let Some(x) = &r.start {
                    self.expr(x);
                }
                if let Some(x) = &r.end {
                    self.expr(x);
                }
                ValueSrc::Unknown
            }
            syn::Expr::RawAddr(r) => self.expr(&r.expr),
            syn::Expr::Reference(r) => self.expr(&r.expr),
            syn::Expr::Repeat(r) => {
                self.expr(&r.expr);
                self.expr(&r.len);
                ValueSrc::Unknown
            }
            syn::Expr::Return(r) => {
                if let Some(x) = &r.expr {
                    let v = self.expr(x);
                    if self.cur().ctx.is_none() {
                        self.returned(v);
                    }
                }
                ValueSrc::Unknown
            }
            syn::Expr::Struct(s) => {
                for f in &s.fields {
                    if let (syn::Member::Named(field), true, None) = (&f.member, is_literal_setting(&f.expr), &s.qself)
                    {
                        let entry =
                            (Box::new(self.path(&s.path)), self.ident(field), self.span_of(expr_start(&f.expr)));
                        self.cur().db.literal_fields.push(entry);
                    }
                    let value = self.expr(&f.expr);
                    if let (syn::Member::Named(field), ValueSrc::Local(_) | ValueSrc::Call(_)) = (&f.member, &value) {
                        if s.qself.is_none() {
                            let target = StoreTarget::StructField(Box::new(self.path(&s.path)), self.ident(field));
                            self.cur().db.stores.push(StoreFact { target, value });
                        }
                    }
                }
                if let Some(rest) = &s.rest {
                    self.expr(rest);
                }
                if s.qself.is_some() {
                    return ValueSrc::Unknown;
                }
                ValueSrc::Struct(Box::new(self.path(&s.path)))
            }
            syn::Expr::Try(t) => {
                let v = self.expr(&t.expr);
                // `.ok()?` and `.unwrap_or(..)?` hand the error on after all.
                if let ValueSrc::Call(id) = v {
                    self.cur().db.swallows.retain(|s| s.call != Some(id));
                }
                v
            }
            syn::Expr::TryBlock(t) => {
                self.block(&t.block);
                ValueSrc::Unknown
            }
            syn::Expr::Tuple(t) => {
                for x in &t.elems {
                    let value = self.expr(x);
                    if matches!(value, ValueSrc::Local(_)) {
                        self.cur().db.stores.push(StoreFact { target: StoreTarget::Aggregate, value });
                    }
                }
                ValueSrc::Unknown
            }
            syn::Expr::Unary(u) => {
                let v = self.expr(&u.expr);
                match u.op {
                    syn::UnOp::Deref(_) => v,
                    _ => ValueSrc::Unknown,
                }
            }
            syn::Expr::Unsafe(u) => self.block(&u.block),
            syn::Expr::While(w) => {
                let kind = match strip_parens(&w.cond) {
                    syn::Expr::Let(_) => LoopKind::WhileLet,
                    _ => LoopKind::While,
                };
                let at = self.cur().db.loops.len();
                self.record_loop(kind, w.while_token.span, &w.body, ValueSrc::Unknown);
                self.push_level();
                let saved_temp = self.cur().temp_end;
                if !matches!(strip_parens(&w.cond), syn::Expr::Let(_)) {
                    let body_open = self.start(w.body.brace_token.span.open());
                    self.cur().temp_end = body_open;
                }
                let over = self.expr(&w.cond);
                self.cur().db.loops[at].over = over;
                self.cur().temp_end = saved_temp;
                self.block(&w.body);
                self.pop_level();
                ValueSrc::Unknown
            }
            syn::Expr::Yield(y) => {
                if let Some(x) = &y.expr {
                    self.expr(x);
                }
                ValueSrc::Unknown
            }
            _ => ValueSrc::Unknown,
        }
    }

    /// The call behind `v` if it is a `try_current()` call (by name; the model checks that it is
    /// tokio's `Handle::try_current`).
    fn try_current_call(&self, v: &ValueSrc) -> Option<CallId> {
        let ValueSrc::Call(id) = v else { return None };
        let call = &self.fn_stack.last()?.facts.calls[id.idx()];
        let name = match &call.callee {
            Callee::Path { path, .. } => path.segs().last().copied(),
            Callee::Method { name, .. } => Some(*name),
            Callee::Other => None,
        };
        (name == Some(self.kw.try_current)).then_some(*id)
    }

    /// For an `if` condition, which branch runs only when a `try_current()` call failed:
    /// `if let Err(_) = try_current()` and `if try_current().is_err()` (then), `.is_ok()` (else).
    fn err_test(&self, cond: &syn::Expr, value: &ValueSrc) -> (Option<CallId>, Option<CallId>) {
        match strip_parens(cond) {
            syn::Expr::Let(l) if pat_is_err(&l.pat) => (self.try_current_call(value), None),
            syn::Expr::Let(_) => (None, None),
            _ => {
                let ValueSrc::Call(id) = value else { return (None, None) };
                let Some(st) = self.fn_stack.last() else { return (None, None) };
                match &st.facts.calls[id.idx()].callee {
                    Callee::Method { receiver, name } if *name == self.kw.is_err => {
                        (self.try_current_call(receiver), None)
                    }
                    Callee::Method { receiver, name } if *name == self.kw.is_ok => {
                        (None, self.try_current_call(receiver))
                    }
                    _ => (None, None),
                }
            }
        }
    }

    fn in_err_branch(&mut self, call: Option<CallId>, f: impl FnOnce(&mut Self)) {
        match call {
            Some(c) => {
                self.with_ctx(CtxKind::ErrBranchOf(c), ByteSpan::default(), f);
            }
            None => f(self),
        }
    }

    fn with_ctx(&mut self, kind: CtxKind, span: ByteSpan, f: impl FnOnce(&mut Self)) -> CtxId {
        let st = self.cur();
        let id = CtxId(st.facts.ctxs.len() as u32);
        st.facts.ctxs.push(Ctx { parent: st.ctx, kind, span });
        let saved = st.ctx;
        st.ctx = Some(id);
        f(self);
        self.cur().ctx = saved;
        id
    }

    fn closure(&mut self, c: &syn::ExprClosure, passed_to: Option<CallId>, bound_to: Option<BindingId>) -> CtxId {
        let kind = CtxKind::Closure { is_async: c.asyncness.is_some(), passed_to, bound_to };
        let span = self.span_of(c.inputs_begin.span);
        self.with_ctx(kind, span, |this| {
            this.push_level();
            let ctx = this.cur().ctx.expect("set by with_ctx");
            for (i, input) in c.inputs.iter().enumerate() {
                this.bind_pat(input, ValueSrc::ClosureParam(ctx, i as u32), None);
            }
            this.expr(&c.body);
            this.pop_level();
        })
    }

    fn reserve_call(&mut self) -> CallId {
        let st = self.cur();
        let id = CallId(st.facts.calls.len() as u32);
        let scope = st.scope;
        st.facts.calls.push(CallSite {
            callee: Callee::Other,
            args: Box::new([]),
            ctx: st.ctx,
            scope,
            span: ByteSpan::default(),
        });
        id
    }

    fn args(&mut self, id: CallId, args: &syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>) -> Box<[ValueSrc]> {
        for (i, a) in args.iter().enumerate() {
            if is_literal_setting(a) {
                let span = self.span_of(expr_start(a));
                self.cur().db.literal_args.push((id, i as u32, span));
            }
        }
        args.iter()
            .map(|a| match strip_parens(a) {
                syn::Expr::Closure(c) => ValueSrc::Closure(self.closure(c, Some(id), None)),
                // `spawn_blocking({ let x = ..; move || .. })`: the block's tail closure is the argument.
                syn::Expr::Block(b) if b.block.stmts.iter().all(|s| !matches!(s, syn::Stmt::Item(_))) => {
                    match b.block.stmts.split_last() {
                        Some((syn::Stmt::Expr(syn::Expr::Closure(c), None), rest)) => {
                            self.push_level();
                            for stmt in rest {
                                match stmt {
                                    syn::Stmt::Local(l) => self.local_stmt(l),
                                    syn::Stmt::Expr(e, _) => {
                                        self.expr(e);
                                    }
                                    syn::Stmt::Macro(m) => {
                                        self.mac(&m.mac);
                                    }
                                    syn::Stmt::Item(_) => {}
                                }
                            }
                            let ctx = self.closure(c, Some(id), None);
                            self.pop_level();
                            ValueSrc::Closure(ctx)
                        }
                        _ => self.expr(a),
                    }
                }
                other => self.expr(other),
            })
            .collect()
    }

    fn call(&mut self, c: &syn::ExprCall) -> ValueSrc {
        let id = self.reserve_call();
        let callee = match strip_parens(&c.func) {
            syn::Expr::Path(p) => {
                let is_local = p.qself.is_none() && p.path.leading_colon.is_none() && p.path.segments.len() == 1 && {
                    let name = self.ident(&p.path.segments[0].ident);
                    self.local(name).is_some()
                };
                if is_local {
                    Callee::Other
                } else {
                    let qself = p.qself.as_ref().map(|q| Box::new(self.ty(&q.ty)));
                    let mut path = self.path(&p.path);
                    if let Some(q) = &p.qself {
                        // `<T as Trait>::f`: keep `Trait::f`; `<T>::f`: keep `f` with `T` as qself.
                        path = Path::new(path.global(), &path.segs()[q.position.min(path.segs().len())..]);
                    }
                    Callee::Path { qself, path }
                }
            }
            other => {
                self.expr(other);
                Callee::Other
            }
        };
        let args = self.args(id, &c.args);
        let span = ByteSpan { start: self.start(expr_start(&c.func)), end: self.end(c.paren_token.span.close()) };
        if let (Callee::Path { path, .. }, [ValueSrc::Local(b)]) = (&callee, &*args) {
            if path.segs().last() == Some(&self.kw.drop) {
                let b = *b;
                self.cur().locks.drops.push((b, id));
            }
        }
        let call = &mut self.cur().facts.calls[id.idx()];
        call.callee = callee;
        call.args = args;
        call.span = span;
        ValueSrc::Call(id)
    }

    /// Where an already-walked expression starts: for a call (through `?` and `.await`), the start
    /// recorded for it, so that long method chains are not walked again at every link.
    fn start_of(&self, e: &syn::Expr, value: &ValueSrc) -> u32 {
        let mut inner = e;
        while let syn::Expr::Try(syn::ExprTry { expr, .. }) | syn::Expr::Await(syn::ExprAwait { base: expr, .. }) =
            inner
        {
            inner = expr;
        }
        if let (syn::Expr::MethodCall(_) | syn::Expr::Call(_), ValueSrc::Call(id)) = (inner, value) {
            if let Some(call) = self.fn_stack.last().and_then(|st| st.facts.calls.get(id.idx())) {
                return call.span.start;
            }
        }
        self.start(expr_first_token(e))
    }

    fn method_call(&mut self, m: &syn::ExprMethodCall) -> ValueSrc {
        let id = self.reserve_call();
        let receiver = self.expr(&m.receiver);
        let start = self.start_of(&m.receiver, &receiver);
        let args = self.args(id, &m.args);
        let span = ByteSpan { start, end: self.end(m.paren_token.span.close()) };
        let name = self.ident(&m.method);
        let is_guard = self.kw.guard_methods.contains(&name);
        if self.kw.swallowing.contains(&name) {
            // `unwrap_or_else(|e| panic!(..))` does not go on.
            let panics = m.args.iter().any(|a| match strip_parens(a) {
                syn::Expr::Closure(c) => leaves(&c.body),
                _ => false,
            });
            if !panics {
                self.swallow(&receiver, SwallowHow::Method, Some(id));
            }
        }
        let st = self.cur();
        let call = &mut st.facts.calls[id.idx()];
        call.callee = Callee::Method { receiver, name };
        call.args = args;
        call.span = span;
        if is_guard {
            // Until a `let` claims it, a guard is a temporary of the current statement.
            let (end, ctx) = (st.temp_end, st.ctx);
            st.locks.guards.push(GuardFact { lock_call: id, binding: None, start: span.end, end, ctx });
        }
        ValueSrc::Call(id)
    }

    /// Macro bodies are token streams; where their comma-, semicolon- or `=>`-separated pieces parse
    /// as expressions (`format!`, `vec!`, `tokio::select!`, `join!`, `assert!` ...), they are walked
    /// like any other code, so calls inside them are seen.
    fn mac(&mut self, m: &syn::Macro) -> ValueSrc {
        let Some(last) = m.path.segments.last() else { return ValueSrc::Unknown };
        let name = last.ident.to_string();
        if OPAQUE_MACROS.contains(&name.as_str()) || self.fn_stack.is_empty() {
            return ValueSrc::Unknown;
        }
        if matches!(name.as_str(), "format" | "write" | "writeln") && self.macro_depth < MAX_MACRO_DEPTH {
            if let Some(v) = self.format_mac(m, &name) {
                return v;
            }
        }
        if AWAITING_MACROS.contains(&name.as_str()) {
            let at = self.start(last.ident.span());
            let st = self.cur();
            let ctx = st.ctx;
            st.locks.awaits.push((at, ctx));
        }
        if self.macro_depth >= MAX_MACRO_DEPTH {
            return ValueSrc::Unknown;
        }
        self.macro_depth += 1;
        // The macro's own syntax tree is scratch, like the file's (see `crate::memory`).
        let chunks = crate::memory::scratch(|| split_macro_tokens(m.tokens.clone()));
        for chunk in chunks {
            if is_inert_chunk(&chunk) {
                continue;
            }
            if let Ok(e) = crate::memory::scratch(|| syn::parse2::<syn::Expr>(chunk)) {
                self.expr(&e);
            }
        }
        self.macro_depth -= 1;
        ValueSrc::Unknown
    }

    /// `format!(template, args..)`, `write!(target, template, args..)`: the text it builds, with
    /// its interpolated values (implicit `{name}` captures included). `None` when the template is
    /// not a literal, so the macro is walked like any other.
    fn format_mac(&mut self, m: &syn::Macro, name: &str) -> Option<ValueSrc> {
        let (target, template, args) = crate::memory::scratch(|| {
            let mut chunks = split_macro_tokens(m.tokens.clone()).into_iter();
            let target = match name {
                "format" => None,
                _ => Some(syn::parse2::<syn::Expr>(chunks.next()?).ok()?),
            };
            let template: syn::LitStr = syn::parse2(chunks.next()?).ok()?;
            let args: Vec<syn::Expr> = chunks.map(syn::parse2::<syn::Expr>).collect::<Result<_, _>>().ok()?;
            Some((target, template, args))
        })?;
        self.macro_depth += 1;
        let target = target.map(|t| self.expr(&t));
        let mut positional = Vec::new();
        let mut named = Vec::new();
        for a in &args {
            match a {
                syn::Expr::Assign(na) => match strip_parens(&na.left) {
                    syn::Expr::Path(p) if p.path.get_ident().is_some() => {
                        let v = self.expr(&na.right);
                        named.push((p.path.segments[0].ident.to_string(), v));
                    }
                    _ => positional.push(self.expr(a)),
                },
                _ => positional.push(self.expr(a)),
            }
        }
        self.macro_depth -= 1;
        let text = template.value();
        let (holes, literal_text) = format_holes(&text);
        let mut parts = Vec::new();
        let mut next = 0;
        for hole in holes {
            let v = match hole {
                Hole::Next => {
                    next += 1;
                    positional.get(next - 1).cloned()
                }
                Hole::Index(i) => positional.get(i).cloned(),
                Hole::Name(n) => match named.iter().find(|(k, _)| *k == n) {
                    Some((_, v)) => Some(v.clone()),
                    None => {
                        let sym = self.sym(&n);
                        Some(match self.local(sym) {
                            Some(b) => ValueSrc::Local(b),
                            None => ValueSrc::Path(Box::new(Path::new(false, &[sym]))),
                        })
                    }
                },
            };
            parts.extend(v);
        }
        let placeholder_only = literal_text.contains(['$', '?', '@', ':'])
            && literal_text.chars().all(|c| "$?@:,() ".contains(c) || c.is_ascii_digit());
        let start = self.start(m.path.segments.first()?.ident.span());
        let end = match &m.delimiter {
            syn::MacroDelimiter::Paren(d) => self.end(d.span.close()) as usize,
            syn::MacroDelimiter::Brace(d) => self.end(d.span.close()) as usize,
            syn::MacroDelimiter::Bracket(d) => self.end(d.span.close()) as usize,
        } as u32;
        let fact = FormatFact {
            span: ByteSpan { start, end },
            template: StrLit::classify(&text),
            parts: parts.into(),
            placeholder_only,
            ctx: None,
        };
        let value = self.new_format(fact);
        Some(match target {
            Some(ValueSrc::Local(b)) => {
                self.cur().db.appends.push((b, value, ByteSpan { start, end }));
                ValueSrc::Unknown
            }
            Some(_) => ValueSrc::Unknown,
            None => value,
        })
    }

    fn new_format(&mut self, mut fact: FormatFact) -> ValueSrc {
        let st = self.cur();
        fact.ctx = st.ctx;
        let formats = &mut st.db.formats;
        formats.push(fact);
        ValueSrc::Format(formats.len() as u32 - 1)
    }

    /// The literal behind a value that is a literal or a `String` made from one
    /// (`"..".to_string()`, `String::from("..")`).
    fn str_of(&self, v: &ValueSrc) -> Option<StrLit> {
        match v {
            ValueSrc::Str(lit) => Some(*lit),
            ValueSrc::Call(id) => {
                let call = &self.fn_stack.last()?.facts.calls[id.idx()];
                match (&call.callee, &*call.args) {
                    (Callee::Method { receiver: ValueSrc::Str(lit), .. }, []) => Some(*lit),
                    (Callee::Path { .. }, [ValueSrc::Str(lit)]) => Some(*lit),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Records that the error of `value` is dropped, when `value` is something a rule can follow.
    fn swallow(&mut self, value: &ValueSrc, how: SwallowHow, call: Option<CallId>) {
        if matches!(value, ValueSrc::Call(_) | ValueSrc::Local(_)) {
            let st = self.cur();
            let ctx = st.ctx;
            st.db.swallows.push(SwallowFact { value: value.clone(), how, call, ctx });
        }
    }

    /// `if let Err(e) = v { .. }`, `if v.is_err() { .. }` whose block goes on, and
    /// `if let Ok(x) = v { .. }` with no `else` or one that goes on.
    fn if_swallow(&mut self, i: &syn::ExprIf, cond: &ValueSrc) {
        let else_leaves = i.else_branch.as_ref().is_some_and(|(_, e)| leaves(e));
        match strip_parens(&i.cond) {
            syn::Expr::Let(l) if pat_is_err(&l.pat) && !block_leaves(&i.then_branch) => {
                self.swallow(cond, SwallowHow::ErrBranch, None);
            }
            syn::Expr::Let(l) if pat_is_ok(&l.pat) && !else_leaves => {
                self.swallow(cond, SwallowHow::ErrBranch, None);
            }
            syn::Expr::MethodCall(mc)
                if mc.method == "is_err" && mc.args.is_empty() && !block_leaves(&i.then_branch) =>
            {
                if let ValueSrc::Call(id) = cond {
                    let receiver = match &self.cur().facts.calls[id.idx()].callee {
                        Callee::Method { receiver, .. } => receiver.clone(),
                        _ => ValueSrc::Unknown,
                    };
                    self.swallow(&receiver, SwallowHow::ErrBranch, None);
                }
            }
            _ => {}
        }
    }

    fn returned(&mut self, v: ValueSrc) {
        if matches!(v, ValueSrc::Local(_) | ValueSrc::Call(_) | ValueSrc::Str(_)) {
            self.cur().db.returns.push(v);
        }
    }

    fn record_loop(&mut self, kind: LoopKind, keyword: Span, body: &syn::Block, over: ValueSrc) {
        let open = self.start(body.brace_token.span.open());
        let close = self.end(body.brace_token.span.close());
        let once = matches!(body.stmts.last(), Some(syn::Stmt::Expr(syn::Expr::Return(_) | syn::Expr::Break(_), _)));
        let start = self.start(keyword);
        let st = self.cur();
        let ctx = st.ctx;
        st.db.loops.push(LoopFact { kind, start, body: ByteSpan { start: open, end: close }, ctx, over, once });
    }

    // ----- paths and types ---------------------------------------------------------------------

    fn path(&self, p: &syn::Path) -> Path {
        let segs: Vec<Sym> = p.segments.iter().map(|s| self.ident(&s.ident)).collect();
        Path::new(p.leading_colon.is_some(), &segs)
    }

    fn ty(&self, t: &syn::Type) -> Ty {
        match t {
            syn::Type::Path(tp) if tp.qself.is_none() => {
                let args = match tp.path.segments.last().map(|s| &s.arguments) {
                    Some(syn::PathArguments::AngleBracketed(ab)) => ab
                        .args
                        .iter()
                        .filter_map(|a| match a {
                            syn::GenericArgument::Type(t) => Some(self.ty(t)),
                            _ => None,
                        })
                        .collect(),
                    _ => Box::new([]) as Box<[Ty]>,
                };
                Ty::Path { path: self.path(&tp.path), args }
            }
            syn::Type::Reference(r) => self.ty(&r.elem),
            syn::Type::Paren(p) => self.ty(&p.elem),
            syn::Type::Group(g) => self.ty(&g.elem),
            syn::Type::Tuple(t) => Ty::Tuple(t.elems.iter().map(|e| self.ty(e)).collect()),
            syn::Type::TraitObject(o) => first_trait(&o.bounds).map(|p| Ty::Trait(self.path(p))).unwrap_or(Ty::Unknown),
            syn::Type::ImplTrait(i) => first_trait(&i.bounds).map(|p| Ty::Trait(self.path(p))).unwrap_or(Ty::Unknown),
            _ => Ty::Unknown,
        }
    }
}

fn first_trait(bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>) -> Option<&syn::Path> {
    bounds.iter().find_map(|b| match b {
        syn::TypeParamBound::Trait(t) => Some(&t.path),
        _ => None,
    })
}

fn strip_parens(mut e: &syn::Expr) -> &syn::Expr {
    loop {
        match e {
            syn::Expr::Paren(p) => e = &p.expr,
            syn::Expr::Group(g) => e = &g.expr,
            _ => return e,
        }
    }
}

/// Where an expression's first token starts, for callers that need no more than that. Beyond
/// what `expr_start` knows, blocks, branches, loops, jumps and unary operators answer from their
/// first token too. `expr_start` falls back on `Spanned::span` for them, which re-tokenises the
/// whole expression: each `if`, `match` or `for` statement cost as much as printing its body,
/// once for every statement it sits in. With attributes in front, the fallback is kept (the first
/// token is then the attribute's).
fn expr_first_token(e: &syn::Expr) -> Span {
    let label_or = |label: &Option<syn::Label>, keyword: Span| label.as_ref().map_or(keyword, |l| l.name.apostrophe);
    if let Some(operand) = leading_operand(e) {
        return expr_first_token(operand);
    }
    match e {
        syn::Expr::If(x) if x.attrs.is_empty() => x.if_token.span,
        syn::Expr::Match(x) if x.attrs.is_empty() => x.match_token.span,
        syn::Expr::Let(x) if x.attrs.is_empty() => x.let_token.span,
        syn::Expr::ForLoop(x) if x.attrs.is_empty() => label_or(&x.label, x.for_token.span),
        syn::Expr::While(x) if x.attrs.is_empty() => label_or(&x.label, x.while_token.span),
        syn::Expr::Loop(x) if x.attrs.is_empty() => label_or(&x.label, x.loop_token.span),
        syn::Expr::Unsafe(x) if x.attrs.is_empty() => x.unsafe_token.span,
        syn::Expr::Async(x) if x.attrs.is_empty() => x.async_token.span,
        syn::Expr::Const(x) if x.attrs.is_empty() => x.const_token.span,
        syn::Expr::TryBlock(x) if x.attrs.is_empty() => x.try_token.span,
        syn::Expr::Return(x) if x.attrs.is_empty() => x.return_token.span,
        syn::Expr::Break(x) if x.attrs.is_empty() => x.break_token.span,
        syn::Expr::Continue(x) if x.attrs.is_empty() => x.continue_token.span,
        syn::Expr::Yield(x) if x.attrs.is_empty() => x.yield_token.span,
        syn::Expr::Infer(x) if x.attrs.is_empty() => x.underscore_token.span,
        syn::Expr::RawAddr(x) if x.attrs.is_empty() => x.and_token.span,
        syn::Expr::Repeat(x) if x.attrs.is_empty() => x.bracket_token.span.open(),
        // One token: spanning it re-tokenises nothing else.
        syn::Expr::Unary(x) if x.attrs.is_empty() => x.op.span(),
        syn::Expr::Assign(x) if x.attrs.is_empty() => expr_first_token(&x.left),
        syn::Expr::Range(x) if x.attrs.is_empty() => match &x.start {
            Some(start) => expr_first_token(start),
            None => x.limits.span(),
        },
        _ => expr_start(e),
    }
}

/// The operand an expression begins with, when its first token is that operand's: the callee
/// of a call, the receiver of a method, the base of a field, `.await`, `?` or index, the left of
/// a binary operator, the value of a cast, the inside of an invisible group.
fn leading_operand(e: &syn::Expr) -> Option<&syn::Expr> {
    match e {
        syn::Expr::Call(c) => Some(&c.func),
        syn::Expr::MethodCall(m) => Some(&m.receiver),
        syn::Expr::Field(f) => Some(&f.base),
        syn::Expr::Await(a) => Some(&a.base),
        syn::Expr::Try(t) => Some(&t.expr),
        syn::Expr::Index(i) => Some(&i.expr),
        syn::Expr::Binary(b) => Some(&b.left),
        syn::Expr::Cast(c) => Some(&c.expr),
        syn::Expr::Group(g) => Some(&g.expr),
        _ => None,
    }
}

/// The span of an expression's first token, found without re-tokenising the whole expression
/// (which `Spanned::span` does, and which costs quadratic time on long method chains).
fn expr_start(e: &syn::Expr) -> Span {
    if let Some(operand) = leading_operand(e) {
        return expr_start(operand);
    }
    match e {
        syn::Expr::Paren(p) => p.paren_token.span.open(),
        syn::Expr::Reference(r) => r.and_token.span,
        syn::Expr::Path(p) => match (&p.qself, &p.path.leading_colon, p.path.segments.first()) {
            (Some(q), _, _) => q.lt_token.span,
            (None, Some(c), _) => c.spans[0],
            (None, None, Some(seg)) => seg.ident.span(),
            _ => e.span(),
        },
        syn::Expr::Lit(l) => l.lit.span(),
        syn::Expr::Macro(m) => match m.mac.path.segments.first() {
            Some(seg) => seg.ident.span(),
            None => e.span(),
        },
        syn::Expr::Tuple(t) => t.paren_token.span.open(),
        syn::Expr::Array(a) => a.bracket_token.span.open(),
        syn::Expr::Block(b) => b.block.brace_token.span.open(),
        syn::Expr::Struct(s) => match s.path.segments.first() {
            Some(seg) => seg.ident.span(),
            None => e.span(),
        },
        _ => e.span(),
    }
}

fn pat_is_err(p: &syn::Pat) -> bool {
    match p {
        syn::Pat::TupleStruct(ts) => ts.path.segments.last().is_some_and(|s| s.ident == "Err"),
        _ => false,
    }
}

/// Whether a piece of a macro's body records no fact when walked as an expression: no group (so
/// no call, block, index or struct), no closure, macro, assignment, `?` or `+` (which can build
/// SQL text), and no word that makes an expression of its own (`.await`, `return` ...). What is
/// left are literals, paths, fields, casts, references and comparisons (`"text"`, `n`,
/// `self.id`, `a < b`, `&x`), whose value `mac` drops. Most pieces of `println!`, `info!`,
/// `assert!` and `vec!` are like this, and parsing each with syn took about 1.5 % of a cold
/// run's CPU.
fn is_inert_chunk(chunk: &TokenStream) -> bool {
    const ACTIVE_WORDS: &[&str] =
        &["await", "return", "break", "continue", "yield", "become", "let", "async", "move", "unsafe", "const"];
    chunk.clone().into_iter().all(|tree| match tree {
        TokenTree::Literal(_) => true,
        TokenTree::Ident(word) => !ACTIVE_WORDS.iter().any(|k| word == k),
        TokenTree::Punct(p) => !matches!(p.as_char(), '!' | '|' | '=' | '?' | '+' | '#' | '$'),
        TokenTree::Group(_) => false,
    })
}

fn split_macro_tokens(tokens: TokenStream) -> Vec<TokenStream> {
    let mut chunks = Vec::new();
    let mut current: Vec<TokenTree> = Vec::new();
    let mut after_arrow = false;
    let mut iter = tokens.into_iter().peekable();
    while let Some(tt) = iter.next() {
        let is_sep = match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' || p.as_char() == ';' => true,
            TokenTree::Punct(p) if p.as_char() == '=' && p.spacing() == Spacing::Joint => {
                if matches!(iter.peek(), Some(TokenTree::Punct(n)) if n.as_char() == '>') {
                    iter.next();
                    true
                } else {
                    false
                }
            }
            _ => false,
        };
        if is_sep {
            if !current.is_empty() {
                chunks.push(current.drain(..).collect());
            }
            after_arrow = matches!(&tt, TokenTree::Punct(p) if p.as_char() == '=');
            continue;
        }
        // `pat = fut => { .. }` needs no comma after the block (`select!`, `match`-like macros).
        let ends_arm = after_arrow
            && current.is_empty()
            && matches!(&tt, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace);
        current.push(tt);
        if ends_arm {
            chunks.push(current.drain(..).collect());
        }
        after_arrow = false;
    }
    if !current.is_empty() {
        chunks.push(current.into_iter().collect());
    }
    // A macro whose whole body is one brace group (`m! {{ .. }}`) is walked as that block.
    chunks
        .into_iter()
        .map(|c: TokenStream| {
            let mut it = c.clone().into_iter();
            match (it.next(), it.next()) {
                (Some(TokenTree::Group(g)), None) if g.delimiter() == Delimiter::None => g.stream(),
                _ => c,
            }
        })
        .collect()
}

fn has_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && match &a.meta {
                syn::Meta::List(l) => tokens_contain_ident(l.tokens.clone(), "test"),
                _ => false,
            }
    })
}

fn tokens_contain_ident(tokens: TokenStream, word: &str) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(i) => i == word,
        TokenTree::Group(g) => tokens_contain_ident(g.stream(), word),
        _ => false,
    })
}

fn is_test_fn(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().segments.last().is_some_and(|s| s.ident == "test"))
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

/// A literal setting: a number, or a call of literals such as `Duration::from_secs(5)` or
/// `Some(Duration::from_millis(500))`.
fn is_literal_setting(e: &syn::Expr) -> bool {
    match strip_parens(e) {
        syn::Expr::Lit(l) => matches!(l.lit, syn::Lit::Int(_) | syn::Lit::Float(_)),
        syn::Expr::Call(c) => {
            let known = match strip_parens(&c.func) {
                syn::Expr::Path(p) => p.path.segments.last().is_some_and(|s| {
                    matches!(
                        s.ident.to_string().as_str(),
                        "Some"
                            | "new"
                            | "from_secs"
                            | "from_millis"
                            | "from_micros"
                            | "from_nanos"
                            | "from_secs_f64"
                            | "from_secs_f32"
                            | "from_mins"
                    )
                }),
                _ => false,
            };
            known && !c.args.is_empty() && c.args.iter().all(is_literal_setting)
        }
        _ => false,
    }
}

/// One `{..}` of a format string.
enum Hole {
    Next,
    Index(usize),
    Name(String),
}

/// The holes of a format string, and its literal text with the holes taken out.
fn format_holes(text: &str) -> (Vec<Hole>, String) {
    let mut holes = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut inner = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    inner.push(c);
                }
                let arg = inner.split(':').next().unwrap_or("").trim();
                holes.push(if arg.is_empty() {
                    Hole::Next
                } else if let Ok(i) = arg.parse::<usize>() {
                    Hole::Index(i)
                } else {
                    Hole::Name(arg.strip_prefix("r#").unwrap_or(arg).to_string())
                });
            }
            c => literal.push(c),
        }
    }
    (holes, literal)
}

fn pat_is_ok(p: &syn::Pat) -> bool {
    match p {
        syn::Pat::TupleStruct(ts) => ts.path.segments.last().is_some_and(|s| s.ident == "Ok"),
        _ => false,
    }
}

/// The arm of a `match` that handles an error: `Err(..)`, or `_` next to an `Ok(..)` arm.
fn err_arm(arms: &[syn::Arm]) -> Option<&syn::Arm> {
    if let Some(a) = arms.iter().find(|a| pat_is_err(arm_parts(&a.pat).0)) {
        return Some(a);
    }
    if arms.iter().any(|a| pat_is_ok(arm_parts(&a.pat).0)) {
        return arms.iter().find(|a| matches!(arm_parts(&a.pat).0, syn::Pat::Wild(_)));
    }
    None
}

/// A match arm's pattern and its guard: syn keeps `Err(e) if e.is_fatal()` as one guard pattern.
fn arm_parts(pat: &syn::Pat) -> (&syn::Pat, Option<&syn::Expr>) {
    match pat {
        syn::Pat::Guard(g) => (&g.pat, Some(&g.guard)),
        other => (other, None),
    }
}

/// Whether code leaves the surrounding transaction when it runs: it returns, propagates with `?`,
/// panics, exits, or rolls back. Nested closures, async blocks and items are not looked into.
fn leaves(e: &syn::Expr) -> bool {
    let mut v = Leaves(false);
    syn::visit::Visit::visit_expr(&mut v, e);
    v.0
}

fn block_leaves(b: &syn::Block) -> bool {
    let mut v = Leaves(false);
    syn::visit::Visit::visit_block(&mut v, b);
    v.0
}

struct Leaves(bool);

impl<'ast> syn::visit::Visit<'ast> for Leaves {
    fn visit_expr_return(&mut self, _: &'ast syn::ExprReturn) {
        self.0 = true;
    }
    fn visit_expr_try(&mut self, _: &'ast syn::ExprTry) {
        self.0 = true;
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if m.method == "rollback" {
            self.0 = true;
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let syn::Expr::Path(p) = strip_parens(&c.func) {
            let segs: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
            if segs.ends_with(&["process".to_string(), "exit".to_string()]) {
                self.0 = true;
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if m.path.segments.last().is_some_and(|s| {
            matches!(s.ident.to_string().as_str(), "panic" | "unreachable" | "todo" | "unimplemented" | "bail")
        }) {
            self.0 = true;
        }
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// The statics of a `lazy_static! { static ref NAME: Type = init; .. }` block.
fn parse_lazy_static(tokens: TokenStream) -> Vec<(syn::Visibility, syn::Ident, syn::Type, syn::Expr)> {
    use syn::parse::Parser;
    let parser = |input: syn::parse::ParseStream| {
        let mut out = Vec::new();
        while !input.is_empty() {
            input.call(syn::Attribute::parse_outer)?;
            let vis: syn::Visibility = input.parse()?;
            input.parse::<syn::Token![static]>()?;
            input.parse::<syn::Token![ref]>()?;
            let ident: syn::Ident = input.parse()?;
            input.parse::<syn::Token![:]>()?;
            let ty: syn::Type = input.parse()?;
            input.parse::<syn::Token![=]>()?;
            let init: syn::Expr = input.parse()?;
            input.parse::<syn::Token![;]>()?;
            out.push((vis, ident, ty, init));
        }
        Ok(out)
    };
    parser.parse2(tokens).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The facts of `fn f() { <code>; }`, debug-printed; spans stay put because the blank
    /// version keeps the length.
    fn facts_of_statement(code: &str) -> String {
        let text = format!("fn f() {{ {code}; }}");
        let names = crate::intern::Interner::new();
        let file: syn::File = syn::parse_str(&text).unwrap();
        format!("{:?}", Extractor::new(&names, &text).extract_file(&file))
    }

    #[test]
    fn pieces_deemed_inert_record_no_fact_and_the_others_are_parsed() {
        let inert = [
            "\"SELECT 1\"",
            "42",
            "x",
            "self",
            "true",
            "self.pool.size",
            "a < b && c > -1",
            "&x",
            "*guard",
            "n as u64",
            "std::process::id",
            "a..b",
        ];
        // Each walked as code would record something (a call, an await, a closure, an SQL append,
        // a built string, a return), so none may be skipped.
        let active =
            ["f(x)", "fut.await", "|x| x", "s += \"a\"", "\"SELECT \" + t", "return x", "x?", "[g(1)]", "m!(x)"];
        for code in inert {
            let chunk: TokenStream = code.parse().unwrap();
            assert!(is_inert_chunk(&chunk), "{code}");
            let blank = " ".repeat(code.len());
            assert_eq!(facts_of_statement(code), facts_of_statement(&blank), "{code} records facts");
        }
        for code in active {
            let chunk: TokenStream = code.parse().unwrap();
            assert!(!is_inert_chunk(&chunk), "{code}");
        }
        // The comparison itself can tell: an active piece changes the facts.
        assert_ne!(facts_of_statement("fut.await"), facts_of_statement("         "));
    }

    /// `expr_first_token` answers what `Spanned::span` would, without re-tokenising: for every
    /// expression of code without attributes, the same start.
    #[test]
    fn first_token_of_every_expression_is_where_its_span_starts() {
        let code = r#"
            async fn f(xs: Vec<u32>, m: &std::sync::Mutex<u32>) -> Result<u32, E> {
                let mut n = 0;
                'outer: for x in &xs { if *x > 3 { continue 'outer; } n += x; }
                while n < 10 { n = n + 1; }
                'l: loop { break 'l; }
                let y = match n { 0 => -1, k if k > 2 => !0, _ => 2 };
                if let Some(v) = xs.first() { n = *v; } else { return Err(E); }
                let r = ..n; let s = 1..=n; let t = [0u8; 4]; let _ = &raw const n;
                unsafe { g() }; async move { h().await }; const { 1 };
                let c = move |a: u32| a + 1;
                *m.lock().unwrap() = c(n) as u32;
                (n, y).0.checked_add(1).ok_or(E)?;
                Ok(-(n as i64) as u32)
            }
        "#;
        struct Check(Vec<String>);
        impl<'a> syn::visit::Visit<'a> for Check {
            fn visit_expr(&mut self, e: &'a syn::Expr) {
                let (fast, slow) = (expr_first_token(e).start(), e.span().start());
                if (fast.line, fast.column) != (slow.line, slow.column) {
                    self.0.push(format!("expression at {slow:?}: first token at {fast:?}"));
                }
                syn::visit::visit_expr(self, e);
            }
        }
        let file: syn::File = syn::parse_str(code).unwrap();
        let mut check = Check(Vec::new());
        syn::visit::Visit::visit_file(&mut check, &file);
        assert!(check.0.is_empty(), "{:#?}", check.0);
    }
}
