//! The workspace model: the module tree of every crate, built from the parsed facts, plus name
//! resolution (`resolve`), value types (`types`) and execution contexts (`context`) on top of it.
//! It reads facts only; it never sees syntax trees and does no IO.

pub mod apis;
pub mod callgraph;
pub mod context;
pub mod db;
mod memo;
pub mod resolve;
pub mod types;

use rustc_hash::FxHashMap as HashMap;

use crate::catalogue::{Catalogue, SymPath};
use crate::intern::{Names, Sym};
use crate::parse::facts::*;
use crate::workspace::{join_rel, parent_dir, CrateKind, WorkspaceInput};

pub use resolve::Res;
pub use types::RTy;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModId(pub u32);

/// A function anywhere in the workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FnRef {
    pub file: u32,
    pub func: FnIdx,
}

#[derive(Debug)]
pub struct ModuleNode {
    pub file: u32,
    pub local: ModIdx,
    pub krate: u32,
    pub parent: Option<ModId>,
    /// The module's name: `crate` for a crate root, else the name its parent declares it by. Its
    /// path is the names up the parents (`Model::module_path`); a path per module made 10,000
    /// nested modules take 200 MB.
    pub name: Sym,
    /// Out-of-line children (`mod x;`) by name.
    pub children: HashMap<Sym, ModId>,
}

#[derive(Debug)]
pub enum DepTarget {
    Workspace(ModId),
    External(Sym),
}

#[derive(Debug)]
pub struct CrateNode {
    pub name: Sym,
    /// What the manifest made it; `None` for a file no crate reaches.
    pub kind: Option<crate::workspace::CrateKind>,
    pub root: ModId,
    pub deps: HashMap<Sym, DepTarget>,
}

/// Symbols the model compares against, interned once.
pub struct WellKnown {
    pub crate_: Sym,
    pub self_: Sym,
    pub self_ty: Sym,
    pub super_: Sym,
    pub std: Sym,
    pub core: Sym,
    pub alloc: Sym,
    pub underscore: Sym,
    pub prelude: HashMap<Sym, SymPath>,
    pub wrappers: Vec<SymPath>,
    pub passthrough: Vec<Sym>,
}

pub struct Model<'a> {
    pub names: &'a Names,
    pub cat: &'a Catalogue,
    /// Per file: its facts, or `None` when it could not be read or parsed.
    pub files: &'a [Option<FileFacts>],
    pub paths: &'a [String],
    pub crates: Vec<CrateNode>,
    pub modules: Vec<ModuleNode>,
    pub mod_of: HashMap<(u32, ModIdx), ModId>,
    pub wk: WellKnown,
    /// Impl blocks by the names their headers write, resolved lazily into the two memos below.
    impl_index: ImplIndex,
    impls_of_struct_memo: memo::Memo<(u32, StructIdx), ImplList>,
    impls_of_trait_memo: memo::Memo<(u32, TraitIdx), ImplList>,
    /// Workspace fns that hand a parameter to an offload API.
    pub offload_wrappers: std::collections::HashSet<FnRef>,
    /// Library crates of the workspace by name (the first one, when two share a name).
    pub lib_crates: HashMap<Sym, ModId>,
    /// For scopes with many items: (name, position) of every item, sorted, so that the items of
    /// a name are found by binary search. One allocation per scope: generated modules declare
    /// hundreds of thousands of items in all, and a list per name cost 58 MB on the bench corpus.
    pub big_scopes: HashMap<(u32, ScopeId), ItemsByName>,
    // The caches are shared by the threads that classify calls; a lock costs little next to what
    // a cache hit saves.
    lookup_cache: resolve::LookupCache,
    /// Memoised call return types, by (fn, call).
    ret_cache: memo::Memo<(FnRef, CallId), RTy>,
    /// Memoised method lookups on local types.
    method_cache: memo::Memo<(u32, StructIdx, Sym), Option<FnRef>>,
    /// The database role of every call that has one, by fn. The call graph provides it, having
    /// found the roles with the calls' classification (or read them from the cache); asked before
    /// that, `db_calls` computes it.
    db_index: std::sync::OnceLock<db::DbIndex>,
}

/// The library crates of the input by name and by package folder (the first of each, in input
/// order). Every crate looks up each of its dependencies: a scan of all crates for each made
/// building the module tree grow with the square of the workspace.
struct LibIndex<'i> {
    by_name: HashMap<&'i str, usize>,
    by_package: HashMap<&'i str, usize>,
}

impl<'i> LibIndex<'i> {
    fn new(input: &'i WorkspaceInput) -> LibIndex<'i> {
        let mut libs = LibIndex { by_name: HashMap::default(), by_package: HashMap::default() };
        for (i, c) in input.crates.iter().enumerate().filter(|(_, c)| c.kind == CrateKind::Lib) {
            libs.by_name.entry(c.name.as_str()).or_insert(i);
            libs.by_package.entry(c.package_dir.as_str()).or_insert(i);
        }
        libs
    }
}

/// Impl blocks (file, impl), in file order.
pub type ImplList = std::sync::Arc<[(u32, ImplIdx)]>;

/// The (name, position) of each item of a scope, sorted.
pub type ItemsByName = Box<[(Sym, u32)]>;

/// Impl blocks by the last segment of their self type and of their trait, as written.
#[derive(Default)]
struct ImplIndex {
    by_self_name: HashMap<Sym, Vec<(u32, ImplIdx)>>,
    by_trait_name: HashMap<Sym, Vec<(u32, ImplIdx)>>,
    /// The other names a type or trait is given: `use a::Repo as Store` and `type Store = Repo`
    /// file `Store` under `Repo`.
    renames: HashMap<Sym, Vec<Sym>>,
}

impl<'a> Model<'a> {
    pub fn build(
        names: &'a mut Names,
        input: &WorkspaceInput,
        files: &'a [Option<FileFacts>],
        paths: &'a [String],
        cat: &'a Catalogue,
    ) -> Model<'a> {
        let wk = WellKnown::new(names);
        // Crate names may appear in no source file (a renamed dependency's real name), so they are
        // interned here, before the table becomes read-only.
        for spec in &input.crates {
            names.intern(&spec.name);
            for d in spec.deps.iter().flatten() {
                names.intern(&d.name);
                names.intern(&d.krate);
            }
        }
        for path in paths {
            let stem = path.rsplit('/').next().unwrap_or("").trim_end_matches(".rs");
            names.intern(stem);
        }
        let names: &'a Names = names;
        let mut model = Model {
            names,
            cat,
            files,
            paths,
            crates: Vec::new(),
            modules: Vec::new(),
            mod_of: HashMap::default(),
            wk,
            impl_index: ImplIndex::default(),
            impls_of_struct_memo: Default::default(),
            impls_of_trait_memo: Default::default(),
            offload_wrappers: std::collections::HashSet::new(),
            lib_crates: HashMap::default(),
            big_scopes: HashMap::default(),
            lookup_cache: Default::default(),
            ret_cache: Default::default(),
            method_cache: Default::default(),
            db_index: Default::default(),
        };
        model.index_big_scopes();
        model.build_module_tree(input);
        for c in &model.crates {
            let root = &model.modules[c.root.0 as usize];
            if root.local == ModIdx(0) && model.paths[root.file as usize].ends_with("lib.rs") {
                model.lib_crates.entry(c.name).or_insert(c.root);
            }
        }
        model.index_impls();
        model.offload_wrappers = model.find_offload_wrappers();
        model
    }

    pub fn file(&self, file: u32) -> &'a FileFacts {
        static EMPTY: std::sync::OnceLock<FileFacts> = std::sync::OnceLock::new();
        self.files[file as usize].as_ref().unwrap_or_else(|| EMPTY.get_or_init(FileFacts::default))
    }

    pub fn func(&self, f: FnRef) -> &'a FnFacts {
        &self.file(f.file).fns[f.func.idx()]
    }

    /// `crate::a::b` as symbols, starting with `crate`: the names of `m` and its parents.
    pub fn module_path(&self, m: ModId) -> Vec<Sym> {
        let mut path = Vec::new();
        let mut cur = Some(m);
        // Parents form a tree (a file is assigned once); the bound only guards that.
        while let Some(id) = cur.filter(|_| path.len() <= self.modules.len()) {
            let node = &self.modules[id.0 as usize];
            path.push(node.name);
            cur = node.parent;
        }
        path.reverse();
        path
    }

    pub fn module_of_scope(&self, file: u32, scope: ScopeId) -> Option<ModId> {
        let local = self.file(file).module_of_scope(scope);
        self.mod_of.get(&(file, local)).copied()
    }

    /// Every function of the workspace, in file order.
    pub fn all_fns(&self) -> impl Iterator<Item = FnRef> + '_ {
        self.files.iter().enumerate().flat_map(|(file, facts)| {
            let n = facts.as_ref().map_or(0, |f| f.fns.len());
            (0..n).map(move |i| FnRef { file: file as u32, func: FnIdx(i as u32) })
        })
    }

    // ----- module tree -------------------------------------------------------------------------

    fn build_module_tree(&mut self, input: &WorkspaceInput) {
        let index: HashMap<&str, u32> = self.paths.iter().enumerate().map(|(i, p)| (p.as_str(), i as u32)).collect();
        let mut names_mut = Vec::new();
        // Libraries first, so that a file reached by both `lib.rs` and `main.rs` belongs to the lib.
        let mut order: Vec<usize> = (0..input.crates.len()).collect();
        order.sort_by_key(|&i| (input.crates[i].kind != CrateKind::Lib, i));
        let mut crate_of_spec = vec![None; input.crates.len()];
        let libs = LibIndex::new(input);
        for &ci in &order {
            let spec = &input.crates[ci];
            let Some(&file) = index.get(spec.root.as_str()) else { continue };
            if self.files[file as usize].is_none() || self.mod_of.contains_key(&(file, ModIdx(0))) {
                continue;
            }
            let krate = self.crates.len() as u32;
            let name = self.intern_lookup(&spec.name, &mut names_mut);
            let root = self.assign_file(file, krate, self.wk.crate_, None, true, &index);
            self.crates.push(CrateNode { name, kind: Some(spec.kind), root, deps: HashMap::default() });
            crate_of_spec[ci] = Some(krate);
        }
        // Files no crate reaches are analysed as crate roots of their own, with the dependencies of
        // the package they sit in.
        for file in 0..self.paths.len() as u32 {
            if self.files[file as usize].is_none() || self.mod_of.contains_key(&(file, ModIdx(0))) {
                continue;
            }
            let krate = self.crates.len() as u32;
            let root = self.assign_file(file, krate, self.wk.crate_, None, true, &index);
            let stem = self.paths[file as usize].rsplit('/').next().unwrap_or("").trim_end_matches(".rs").to_string();
            let name = self.intern_lookup(&stem, &mut names_mut);
            self.crates.push(CrateNode { name, kind: None, root, deps: HashMap::default() });
            let path = &self.paths[file as usize];
            let owner = input
                .crates
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    c.package_dir.is_empty()
                        || path.strip_prefix(c.package_dir.as_str()).is_some_and(|rest| rest.starts_with('/'))
                })
                .max_by_key(|(i, c)| (c.package_dir.len(), c.kind == CrateKind::Lib, std::cmp::Reverse(*i)))
                .map(|(i, _)| i);
            if let Some(ci) = owner {
                crate_of_spec.push(Some(krate));
                self.fill_deps(krate, input, ci, &mut names_mut, &index, &libs);
            }
        }
        for (ci, krate) in crate_of_spec.iter().enumerate().take(input.crates.len()) {
            if let Some(k) = krate {
                self.fill_deps(*k, input, ci, &mut names_mut, &index, &libs);
            }
        }
    }

    fn intern_lookup(&self, s: &str, _scratch: &mut Vec<Sym>) -> Sym {
        // Every crate and dependency name was interned in `build`.
        self.names.lookup(s).unwrap_or(Sym(u32::MAX))
    }

    fn fill_deps(
        &mut self,
        krate: u32,
        input: &WorkspaceInput,
        spec_idx: usize,
        scratch: &mut Vec<Sym>,
        file_index: &HashMap<&str, u32>,
        libs: &LibIndex,
    ) {
        let spec = &input.crates[spec_idx];
        let mut deps = HashMap::default();
        let lib_root = |model: &Model, name: &str| -> Option<ModId> {
            libs.by_name.get(name).and_then(|&c| {
                let file = *file_index.get(input.crates[c].root.as_str())?;
                model.mod_of.get(&(file, ModIdx(0))).copied()
            })
        };
        // Non-library targets of a package see its library under the package's crate name.
        if spec.kind != CrateKind::Lib {
            if let Some(lib) = libs.by_package.get(spec.package_dir.as_str()).map(|&c| &input.crates[c]) {
                if let Some(root) = lib_root(self, &lib.name) {
                    deps.insert(self.intern_lookup(&lib.name, scratch), DepTarget::Workspace(root));
                }
            }
        }
        for d in spec.deps.iter().flatten() {
            let code = self.intern_lookup(&d.name, scratch);
            let target = match lib_root(self, &d.krate) {
                Some(root) => DepTarget::Workspace(root),
                None => DepTarget::External(self.intern_lookup(&d.krate, scratch)),
            };
            deps.insert(code, target);
        }
        self.crates[krate as usize].deps = deps;
    }

    /// Makes modules for every module of `file` and, recursively, for the files its `mod x;`
    /// declarations name. A file already assigned is linked, never assigned twice, so `#[path]`
    /// cycles end.
    fn assign_file(
        &mut self,
        file: u32,
        krate: u32,
        name: Sym,
        parent: Option<ModId>,
        is_crate_root: bool,
        index: &HashMap<&str, u32>,
    ) -> ModId {
        let facts = self.file(file);
        let mut ids = Vec::with_capacity(facts.modules.len());
        for (local, m) in facts.modules.iter().enumerate() {
            let (parent_id, mod_name) = match m.parent {
                None => (parent, name),
                Some(p) => (Some(ids[p.idx()]), m.name),
            };
            let id = ModId(self.modules.len() as u32);
            self.modules.push(ModuleNode {
                file,
                local: ModIdx(local as u32),
                krate,
                parent: parent_id,
                name: mod_name,
                children: HashMap::default(),
            });
            self.mod_of.insert((file, ModIdx(local as u32)), id);
            ids.push(id);
        }
        let file_path = self.paths[file as usize].clone();
        let file_dir = parent_dir(&file_path).to_string();
        let stem = file_path.rsplit('/').next().unwrap_or("").trim_end_matches(".rs").to_string();
        let mod_rs = is_crate_root || stem == "mod";
        // Where children of the file's root module live.
        let root_child_dir = if mod_rs { file_dir.clone() } else { join_rel(&file_dir, &stem).unwrap_or_default() };
        // Where the children of inline module `local` live: the root's folder, then one step per
        // inline module down to it. Worked out only for modules that declare `mod x;`: a folder
        // kept for every module made 10,000 nested inline modules take 300 MB.
        let child_dir = |local: usize| -> String {
            let mut chain = Vec::new();
            let mut cur = Some(local);
            while let Some(i) = cur.filter(|_| chain.len() <= facts.modules.len()) {
                let m = &facts.modules[i];
                if m.parent.is_some() {
                    chain.push(m);
                }
                cur = m.parent.map(|p| p.idx());
            }
            let mut dir = root_child_dir.clone();
            for m in chain.into_iter().rev() {
                dir = match &m.path_attr {
                    Some(pa) => join_rel(&dir, pa).unwrap_or_default(),
                    None => join_rel(&dir, self.names.str(m.name)).unwrap_or_default(),
                };
            }
            dir
        };
        for (local, m) in facts.modules.iter().enumerate() {
            if m.out_of_line.is_empty() {
                continue;
            }
            let local_dir = child_dir(local);
            for decl in &m.out_of_line {
                let name = self.names.str(decl.name);
                let candidates: Vec<Option<String>> = match &decl.path_attr {
                    // `#[path]` outside inline modules is relative to the file's own folder.
                    Some(pa) if m.parent.is_none() => vec![join_rel(&file_dir, pa)],
                    Some(pa) => vec![join_rel(&local_dir, pa)],
                    None => vec![
                        join_rel(&local_dir, &format!("{name}.rs")),
                        join_rel(&local_dir, &format!("{name}/mod.rs")),
                    ],
                };
                let Some(child_file) = candidates.into_iter().flatten().find_map(|c| index.get(c.as_str()).copied())
                else {
                    continue;
                };
                let this = ids[local];
                let child = match self.mod_of.get(&(child_file, ModIdx(0))) {
                    Some(&existing) => existing,
                    None if self.files[child_file as usize].is_some() => {
                        self.assign_file(child_file, krate, decl.name, Some(this), false, index)
                    }
                    None => continue,
                };
                self.modules[this.0 as usize].children.insert(decl.name, child);
            }
        }
        ids[0]
    }

    fn index_big_scopes(&mut self) {
        const BIG: usize = 64;
        for (file, facts) in self.files.iter().enumerate() {
            for (s, scope) in facts.iter().flat_map(|f| f.scopes.iter().enumerate()) {
                if scope.items.len() >= BIG {
                    let mut index: Vec<(Sym, u32)> =
                        scope.items.iter().enumerate().map(|(i, item)| (item.name, i as u32)).collect();
                    index.sort_unstable();
                    self.big_scopes.insert((file as u32, ScopeId(s as u32)), index.into());
                }
            }
        }
    }

    /// Files every impl block under the name its header writes for its self type and its trait
    /// (`Repo` for `impl db::Repo`, `Display` for `impl fmt::Display for X`), without resolving
    /// anything: most impls of a large workspace are never asked about, and resolving them all
    /// up front was most of the model's build time. `impls_of_struct`/`impls_of_trait` resolve
    /// the candidates of one type when first asked.
    fn index_impls(&mut self) {
        let mut index = ImplIndex::default();
        for facts in self.files.iter().flatten() {
            for scope in &facts.scopes {
                // `use a::Repo as Store;` and `type Store = Repo;`: an impl may name a type or a
                // trait by another name than its own.
                for u in &scope.uses {
                    if let (Some(alias), Some(&original)) = (u.alias, u.path.segs().last()) {
                        if alias != original {
                            index.renames.entry(original).or_default().push(alias);
                        }
                    }
                }
                for item in &scope.items {
                    if let ItemKind::TypeAlias(a) = item.kind {
                        if let Ty::Path { path, .. } = &facts.aliases[a.idx()].ty {
                            if let Some(&original) = path.segs().last().filter(|&&o| o != item.name) {
                                index.renames.entry(original).or_default().push(item.name);
                            }
                        }
                    }
                }
            }
        }
        for (file, facts) in self.files.iter().enumerate() {
            for (i, imp) in facts.iter().flat_map(|f| f.impls.iter().enumerate()) {
                let id = (file as u32, ImplIdx(i as u32));
                if let Ty::Path { path, .. } = &imp.self_ty {
                    if let Some(&name) = path.segs().last() {
                        index.by_self_name.entry(name).or_default().push(id);
                    }
                }
                if let Some(&name) = imp.trait_path.as_ref().and_then(|p| p.segs().last()) {
                    index.by_trait_name.entry(name).or_default().push(id);
                }
            }
        }
        self.impl_index = index;
    }

    /// Every name that a `use .. as` or a type alias gives to something named otherwise.
    pub(crate) fn other_names(&self) -> impl Iterator<Item = Sym> + '_ {
        self.impl_index.renames.values().flatten().copied()
    }

    /// The impls filed under `name` or under any name it is given elsewhere (`use .. as`, type
    /// aliases, followed from alias to alias), before resolution.
    fn impl_candidates(&self, name: Sym, filed: &HashMap<Sym, Vec<(u32, ImplIdx)>>) -> Vec<(u32, ImplIdx)> {
        let renames = &self.impl_index.renames;
        let mut names = vec![name];
        let mut i = 0;
        while let Some(&n) = names.get(i) {
            for &other in renames.get(&n).into_iter().flatten() {
                if !names.contains(&other) {
                    names.push(other);
                }
            }
            i += 1;
        }
        let mut found: Vec<(u32, ImplIdx)> =
            names.iter().flat_map(|n| filed.get(n).into_iter().flatten()).copied().collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// The impl blocks of a local struct, in file order.
    pub fn impls_of_struct(&self, file: u32, s: StructIdx) -> ImplList {
        self.impls_of_struct_memo.get_or_insert_with((file, s), || {
            let name = self.file(file).structs[s.idx()].name;
            self.impls_named(name, &self.impl_index.by_self_name, |ifile, imp| {
                matches!(
                    self.resolve_ty(ifile, imp.scope, &imp.self_ty),
                    RTy::Local(types::LocalTy::Struct(f, st), _) if (f, st) == (file, s)
                )
            })
        })
    }

    /// The impl blocks of a workspace trait, in file order.
    pub fn impls_of_trait(&self, file: u32, t: TraitIdx) -> ImplList {
        self.impls_of_trait_memo.get_or_insert_with((file, t), || {
            let name = self.file(file).traits[t.idx()].name;
            self.impls_named(name, &self.impl_index.by_trait_name, |ifile, imp| {
                let resolved =
                    imp.trait_path.as_ref().and_then(|tp| self.resolve_path(ifile, imp.scope, tp, resolve::Ns::Type));
                resolved == Some(Res::Trait(file, t))
            })
        })
    }

    /// The candidates filed under `name` (`impl_candidates`) that resolve to what `is_for` wants.
    fn impls_named(
        &self,
        name: Sym,
        filed: &HashMap<Sym, Vec<(u32, ImplIdx)>>,
        is_for: impl Fn(u32, &ImplFacts) -> bool,
    ) -> ImplList {
        self.impl_candidates(name, filed)
            .into_iter()
            .filter(|&(ifile, imp)| is_for(ifile, &self.file(ifile).impls[imp.idx()]))
            .collect()
    }

    // ----- display -----------------------------------------------------------------------------

    /// `crate::db::Repo::load` for a method, `crate::net::retry` for a free fn.
    pub fn fn_path(&self, f: FnRef) -> String {
        let facts = self.file(f.file);
        let func = &facts.fns[f.func.idx()];
        let mut out = match self.mod_of.get(&(f.file, func.module)) {
            Some(m) => self.names.join(&self.module_path(*m)),
            None => "crate".to_string(),
        };
        match func.owner {
            Owner::Impl(i) => {
                if let Ty::Path { path, .. } = &facts.impls[i.idx()].self_ty {
                    if let Some(last) = path.segs().last() {
                        out.push_str("::");
                        out.push_str(self.names.str(*last));
                    }
                }
            }
            Owner::Trait(t) => {
                out.push_str("::");
                out.push_str(self.names.str(facts.traits[t.idx()].name));
            }
            Owner::Free => {}
        }
        out.push_str("::");
        out.push_str(self.names.str(func.name));
        out
    }

    /// `Repo::load` for a method, `retry` for a free fn: the short name used in messages.
    pub fn fn_short_name(&self, f: FnRef) -> String {
        let facts = self.file(f.file);
        let func = &facts.fns[f.func.idx()];
        let name = self.names.str(func.name);
        match func.owner {
            Owner::Impl(i) => match &facts.impls[i.idx()].self_ty {
                Ty::Path { path, .. } if !path.segs().is_empty() => {
                    format!("{}::{name}", self.names.str(path.segs()[path.segs().len() - 1]))
                }
                _ => name.to_string(),
            },
            Owner::Trait(t) => format!("{}::{name}", self.names.str(facts.traits[t.idx()].name)),
            Owner::Free => name.to_string(),
        }
    }
}

impl WellKnown {
    fn new(names: &mut Names) -> WellKnown {
        let mut p = |s: &str| -> SymPath { s.split("::").map(|x| names.intern(x)).collect() };
        // The std prelude names that matter for typing values and for `drop(guard)`.
        let prelude_list = [
            "std::boxed::Box",
            "std::vec::Vec",
            "std::string::String",
            "std::option::Option",
            "std::option::Option::Some",
            "std::option::Option::None",
            "std::result::Result",
            "std::result::Result::Ok",
            "std::result::Result::Err",
            "std::mem::drop",
        ];
        let mut prelude = HashMap::default();
        for path in prelude_list {
            let sp = p(path);
            prelude.insert(sp[sp.len() - 1], sp);
        }
        let wrappers = [
            "std::sync::Arc",
            "std::rc::Rc",
            "std::boxed::Box",
            "std::option::Option",
            "std::result::Result",
            "std::io::Result",
            "std::thread::Result",
            "anyhow::Result",
            "eyre::Result",
            "color_eyre::Result",
            "sqlx::Result",
            "diesel::QueryResult",
            "diesel::result::QueryResult",
            "reqwest::Result",
            "tokio::io::Result",
            "tonic::Result",
            "std::pin::Pin",
            "std::mem::ManuallyDrop",
            "std::sync::MutexGuard",
            "std::sync::RwLockReadGuard",
            "std::sync::RwLockWriteGuard",
            "std::cell::Ref",
            "std::cell::RefMut",
            "parking_lot::MutexGuard",
            "parking_lot::RwLockReadGuard",
            "parking_lot::RwLockWriteGuard",
            "tokio::sync::MutexGuard",
            "tokio::sync::OwnedMutexGuard",
            "tokio::sync::RwLockReadGuard",
            "tokio::sync::RwLockWriteGuard",
            "std::sync::LazyLock",
            // Framework extractors and shared-state wrappers that deref to what they hold.
            "actix_web::web::Data",
            "actix_web::web::ReqData",
            "axum::extract::State",
            "axum::Extension",
            "axum::extract::Extension",
            "axum::Json",
            "axum::extract::Json",
            "actix_web::web::Json",
            "std::cell::LazyCell",
            "once_cell::sync::Lazy",
            "once_cell::unsync::Lazy",
        ]
        .iter()
        .map(|s| p(s))
        .collect();
        let passthrough = [
            "unwrap",
            "expect",
            "unwrap_or_default",
            "unwrap_or",
            "unwrap_or_else",
            "unwrap_unchecked",
            "clone",
            "as_ref",
            "as_mut",
            "as_deref",
            "as_deref_mut",
            "deref",
            "deref_mut",
            "to_owned",
            "by_ref",
            "context",
            "with_context",
            "wrap_err",
            "map_err",
            "ok",
            "ok_or",
            "ok_or_else",
            "into_inner_unchecked",
        ]
        .iter()
        .map(|s| names.intern(s))
        .collect();
        WellKnown {
            crate_: names.intern("crate"),
            self_: names.intern("self"),
            self_ty: names.intern("Self"),
            super_: names.intern("super"),
            std: names.intern("std"),
            core: names.intern("core"),
            alloc: names.intern("alloc"),
            underscore: names.intern("_"),
            prelude,
            wrappers,
            passthrough,
        }
    }
}
