//! Facts to bytes and back, for the on-disk cache. A blob is a string table (the file's symbols)
//! followed by the facts, with symbols written as positions in that table. Decoding checks
//! everything and returns `None` for anything it does not understand: a cache is never trusted.

use crate::intern::{codec, Interner};

use super::facts::FileFacts;

/// Changes whenever the code that makes facts changes (a hash of its source, computed at compile
/// time), so that a cache written by another build is ignored, even at the same version number:
/// the skimming before lexing, the extractor and its line table, the directive scanner (the
/// directives are facts too), the encoding and the interner.
pub const FACTS_FORMAT: u64 = crate::lines::fnv1a_sources(&[
    include_str!("facts.rs"),
    include_str!("skim.rs"),
    include_str!("extract.rs"),
    include_str!("mod.rs"),
    include_str!("cached.rs"),
    include_str!("../lines.rs"),
    include_str!("../suppress.rs"),
    include_str!("../intern.rs"),
]);

/// The facts as a cache blob (the interface hash, see `interface_hash`, then the symbol table,
/// then the facts), and the interface hash.
pub fn encode(facts: &FileFacts, interner: &Interner) -> Option<(Vec<u8>, u64)> {
    let interface = interface_hash(facts, interner)?;
    let (head, body) = encode_with_symbols(facts, interner)?;
    let mut blob = Vec::with_capacity(12 + head.len() + body.len());
    blob.extend_from_slice(&interface.to_le_bytes());
    blob.extend_from_slice(&(head.len() as u32).to_le_bytes());
    blob.extend_from_slice(&head);
    blob.extend_from_slice(&body);
    Some((blob, interface))
}

/// `value` in postcard, with symbols as positions in a table of their names; (table, value).
/// The bytes depend only on the names, not on the symbols a run happened to give them.
fn encode_with_symbols(value: &impl serde::Serialize, interner: &Interner) -> Option<(Vec<u8>, Vec<u8>)> {
    codec::begin_encode();
    let body = postcard::to_allocvec(value);
    let syms = codec::end_encode();
    let body = body.ok()?;
    let head = interner.with_names(&syms, |names| postcard::to_allocvec(names)).ok()?;
    Some((head, body))
}

/// The facts and their interface hash, from a blob made by `encode`.
pub fn decode(blob: &[u8], interner: &Interner) -> Option<(FileFacts, u64)> {
    let interface = u64::from_le_bytes(blob.get(..8)?.try_into().ok()?);
    let blob = &blob[8..];
    let head_len = u32::from_le_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let head = blob.get(4..4usize.checked_add(head_len)?)?;
    let body = &blob[4 + head_len..];
    let names: Vec<&str> = postcard::from_bytes(head).ok()?;
    codec::begin_decode(names.iter().map(|n| interner.intern(n)).collect());
    let facts = postcard::from_bytes::<FileFacts>(body);
    codec::end_decode();
    Some((facts.ok().filter(valid)?, interface))
}

/// A hash of what other files can learn from this one: its modules, scopes, items and `use`s,
/// types, impls, and each fn's signature (less its parameters), but no fn body and no position. How a call elsewhere
/// resolves, and so what the call graph says about it, depends on these alone (and on the
/// offload wrappers, which `callgraph::workspace_key` adds). An edit inside a fn body keeps it.
///
/// The structs are taken apart field by field: a field added to the facts does not compile here
/// until it is sorted into the interface or out of it.
pub fn interface_hash(facts: &FileFacts, interner: &Interner) -> Option<u64> {
    use super::facts::*;
    #[derive(serde::Serialize)]
    struct Interface<'a> {
        modules: Vec<ModuleSig<'a>>,
        scopes: &'a [Scope],
        fns: Vec<FnSig<'a>>,
        structs: &'a [StructFacts],
        impls: &'a [ImplFacts],
        traits: &'a [TraitFacts],
        statics: Vec<(Sym, ScopeId, &'a Ty)>,
        aliases: &'a [AliasFacts],
        extern_crates: &'a [(Sym, Sym)],
    }
    #[derive(serde::Serialize)]
    struct ModuleSig<'a> {
        name: Sym,
        parent: Option<ModIdx>,
        scope: ScopeId,
        out_of_line: Vec<(Sym, &'a Option<String>)>,
        is_test: bool,
        path_attr: &'a Option<String>,
    }
    #[derive(serde::Serialize)]
    struct FnSig<'a> {
        name: Sym,
        module: ModIdx,
        outer_scope: ScopeId,
        owner: Owner,
        is_async: bool,
        runtime_entry: bool,
        is_test: bool,
        has_self: bool,
        generics: &'a [Sym],
        ret: &'a Option<Box<Ty>>,
        static_init: Option<StaticIdx>,
    }
    use crate::intern::Sym;
    let FileFacts {
        modules,
        scopes,
        fns,
        structs,
        impls,
        traits,
        statics,
        aliases,
        extern_crates,
        sql_consts: _,
        directives: _,
    } = facts;
    let modules = modules
        .iter()
        .map(|m| {
            let ModuleFacts { name, parent, scope, out_of_line, is_test, path_attr } = m;
            ModuleSig {
                name: *name,
                parent: *parent,
                scope: *scope,
                out_of_line: out_of_line.iter().map(|o| (o.name, &o.path_attr)).collect(),
                is_test: *is_test,
                path_attr,
            }
        })
        .collect();
    let fns = fns
        .iter()
        .map(|f| {
            let FnFacts {
                name,
                module,
                outer_scope,
                owner,
                is_async,
                runtime_entry,
                is_test,
                has_self,
                generics,
                // How another fn's call resolves never reads this fn's parameters, only whether
                // it is an offload wrapper, which the workspace key covers. (And a fn without
                // calls keeps no parameters at all: they would make a body edit an interface one.)
                params: _,
                ret,
                bindings: _,
                calls: _,
                ctxs: _,
                span: _,
                locks: _,
                db: _,
                static_init,
            } = f;
            FnSig {
                name: *name,
                module: *module,
                outer_scope: *outer_scope,
                owner: *owner,
                is_async: *is_async,
                runtime_entry: *runtime_entry,
                is_test: *is_test,
                has_self: *has_self,
                generics,
                ret,
                static_init: *static_init,
            }
        })
        .collect();
    let statics = statics
        .iter()
        .map(|st| {
            let StaticFacts { name, scope, ty, span: _ } = st;
            (*name, *scope, ty)
        })
        .collect();
    let view = Interface { modules, scopes, fns, structs, impls, traits, statics, aliases, extern_crates };
    let (head, body) = encode_with_symbols(&view, interner)?;
    Some(crate::sha256_u64(&[&(head.len() as u64).to_le_bytes(), &head, &body]))
}

/// Whether every index in decoded facts points where it may, and every parent link goes
/// backwards (so no walk up the scopes can loop). The model indexes without checking, so facts
/// that did not come from the extractor are checked here.
fn valid(f: &FileFacts) -> bool {
    let ok_scope = |s: super::facts::ScopeId| s.idx() < f.scopes.len();
    let ok_mod = |m: super::facts::ModIdx| m.idx() < f.modules.len();
    if f.modules.is_empty() {
        return false;
    }
    for (i, m) in f.modules.iter().enumerate() {
        if !ok_scope(m.scope) || m.parent.is_some_and(|p| p.idx() >= i) {
            return false;
        }
    }
    for (i, s) in f.scopes.iter().enumerate() {
        if s.parent.is_some_and(|p| p.idx() >= i) {
            return false;
        }
        if let super::facts::ScopeKind::Module(m) = s.kind {
            if !ok_mod(m) {
                return false;
            }
        }
        if s.self_impl.is_some_and(|i| i.idx() >= f.impls.len()) {
            return false;
        }
        for item in &s.items {
            use super::facts::ItemKind::*;
            let fine = match item.kind {
                Fn(x) => x.idx() < f.fns.len(),
                Struct(x) => x.idx() < f.structs.len(),
                Trait(x) => x.idx() < f.traits.len(),
                Mod(x) => ok_mod(x),
                ModFile(_) => true,
                Static(x) => x.idx() < f.statics.len(),
                TypeAlias(x) => x.idx() < f.aliases.len(),
                Enum | Union | Const => true,
            };
            if !fine {
                return false;
            }
        }
    }
    let scoped_ok = f.structs.iter().all(|s| ok_scope(s.scope))
        && f.traits
            .iter()
            .all(|t| ok_scope(t.scope) && t.methods.iter().all(|(_, m)| m.is_none_or(|m| m.idx() < f.fns.len())))
        && f.statics.iter().all(|s| ok_scope(s.scope))
        && f.sql_consts.iter().all(|(s, _, _)| ok_scope(*s))
        && f.aliases.iter().all(|a| ok_scope(a.scope))
        && f.impls.iter().all(|i| ok_scope(i.scope) && i.methods.iter().all(|m| m.idx() < f.fns.len()));
    scoped_ok && f.fns.iter().all(|func| valid_fn(f, func))
}

fn valid_fn(f: &FileFacts, func: &super::facts::FnFacts) -> bool {
    use super::facts::{Callee, CtxKind, Owner, StoreTarget, ValueSrc};
    let db = func.db();
    let (nb, nc, nx, nf) = (func.bindings.len(), func.calls.len(), func.ctxs.len(), db.formats.len());
    fn value_ok(v: &ValueSrc, nb: usize, nc: usize, nx: usize, nf: usize) -> bool {
        match v {
            ValueSrc::Local(b) => b.idx() < nb,
            ValueSrc::Field(base, _) | ValueSrc::TupleField(base, _) => value_ok(base, nb, nc, nx, nf),
            ValueSrc::Call(c) => c.idx() < nc,
            ValueSrc::Closure(x) | ValueSrc::ClosureParam(x, _) => x.idx() < nx,
            // A format refers only to earlier formats, so following parts always ends.
            ValueSrc::Format(i) => (*i as usize) < nf,
            _ => true,
        }
    }
    let owner_ok = match func.owner {
        Owner::Impl(i) => i.idx() < f.impls.len(),
        Owner::Trait(t) => t.idx() < f.traits.len(),
        Owner::Free => true,
    };
    owner_ok
        && func.module.idx() < f.modules.len()
        && func.outer_scope.idx() < f.scopes.len()
        && func.params.iter().all(|b| b.idx() < nb)
        && func.bindings.iter().all(|b| b.scope.idx() < f.scopes.len() && value_ok(&b.init, nb, nc, nx, nf))
        && func.calls.iter().all(|c| {
            c.scope.idx() < f.scopes.len()
                && c.ctx.is_none_or(|x| x.idx() < nx)
                && c.args.iter().all(|a| value_ok(a, nb, nc, nx, nf))
                && match &c.callee {
                    Callee::Method { receiver, .. } => value_ok(receiver, nb, nc, nx, nf),
                    _ => true,
                }
        })
        && func.ctxs.iter().enumerate().all(|(i, x)| {
            x.parent.is_none_or(|p| p.idx() < i)
                && match &x.kind {
                    CtxKind::Closure { passed_to, bound_to, .. } => {
                        passed_to.is_none_or(|c| c.idx() < nc) && bound_to.is_none_or(|b| b.idx() < nb)
                    }
                    CtxKind::ErrBranchOf(c) => c.idx() < nc,
                    CtxKind::AsyncBlock => true,
                }
        })
        && func.locks().awaits.iter().all(|(_, x)| x.is_none_or(|x| x.idx() < nx))
        && func.locks().guards.iter().all(|g| {
            g.lock_call.idx() < nc && g.binding.is_none_or(|b| b.idx() < nb) && g.ctx.is_none_or(|x| x.idx() < nx)
        })
        && func.locks().drops.iter().all(|(b, c)| b.idx() < nb && c.idx() < nc)
        && db.formats.iter().enumerate().all(|(k, x)| {
            x.ctx.is_none_or(|c| c.idx() < nx)
                && x.parts
                    .iter()
                    .all(|v| value_ok(v, nb, nc, nx, k) && !matches!(v, ValueSrc::Format(i) if *i as usize >= k))
        })
        && db.appends.iter().all(|(b, v, _)| b.idx() < nb && value_ok(v, nb, nc, nx, nf))
        && db.loops.iter().all(|l| l.ctx.is_none_or(|x| x.idx() < nx) && value_ok(&l.over, nb, nc, nx, nf))
        && func.static_init.is_none_or(|s| s.idx() < f.statics.len())
        && db.stores.iter().all(|st| {
            value_ok(&st.value, nb, nc, nx, nf)
                && match &st.target {
                    StoreTarget::Place(p) => value_ok(p, nb, nc, nx, nf),
                    StoreTarget::StructField(..) | StoreTarget::Aggregate => true,
                }
        })
        && db.swallows.iter().all(|sw| {
            value_ok(&sw.value, nb, nc, nx, nf)
                && sw.call.is_none_or(|c| c.idx() < nc)
                && sw.ctx.is_none_or(|x| x.idx() < nx)
        })
        && db.returns.iter().all(|v| value_ok(v, nb, nc, nx, nf))
        && db.literal_args.iter().all(|(c, _, _)| c.idx() < nc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_survive_a_round_trip_into_another_interner() {
        let text = "use std::fs;\nasync fn f(p: &str) { let x: Vec<u8> = fs::read(p).unwrap(); g(x).await; }\nfn g(_: Vec<u8>) {}\n";
        let a = Interner::new();
        let facts = crate::parse::parse_facts(text, &a).unwrap();
        let (blob, written) = encode(&facts, &a).unwrap();
        let b = Interner::new();
        b.intern("something else first");
        let (back, interface) = decode(&blob, &b).unwrap();
        // The interface hash depends on names, not on the symbols a run gave them.
        assert_eq!(Some(interface), interface_hash(&back, &b));
        assert_eq!(interface, written);
        assert_eq!(format!("{:?}", facts.fns.len()), format!("{:?}", back.fns.len()));
        let (na, nb) = (a.freeze(), b.freeze());
        assert_eq!(na.str(facts.fns[0].name), nb.str(back.fns[0].name));
        assert_eq!(facts.fns[0].calls.len(), back.fns[0].calls.len());
    }

    #[test]
    fn interface_hash_ignores_bodies_and_positions_only() {
        let hash = |text: &str| {
            let names = Interner::new();
            interface_hash(&crate::parse::parse_facts(text, &names).unwrap(), &names).unwrap()
        };
        let base =
            hash("use std::fs;\nstatic N: u32 = 1;\nfn f(p: &str) -> u32 { g(p) }\nfn g(_: &str) -> u32 { 1 }\n");
        // Another body, and everything moved by a comment: the same interface.
        let body = "use std::fs;\nstatic N: u32 = 1;\n// moved\nfn f(p: &str) -> u32 { fs::read(p).unwrap(); g(p) }\n\
                    fn g(_: &str) -> u32 { 2 }\n";
        assert_eq!(hash(body), base);
        // Parameters are not part of it (see `interface_hash`).
        assert_eq!(
            hash("use std::fs;\nstatic N: u32 = 1;\nfn f(p: &String) -> u32 { g(p) }\nfn g(_: &str) -> u32 { 1 }\n"),
            base
        );
        let wrapper =
            |body: &str| format!("pub fn run_off<F: FnOnce() -> u32 + Send + 'static>(f: F) {{\n    {body}\n}}\n");
        assert_eq!(hash(&wrapper("tokio::task::spawn_blocking(f);")), hash(&wrapper("std::mem::drop(f);")));
        for other in [
            "use std::io;\nstatic N: u32 = 1;\nfn f(p: &str) -> u32 { g(p) }\nfn g(_: &str) -> u32 { 1 }\n",
            "use std::fs;\nstatic N: u64 = 1;\nfn f(p: &str) -> u32 { g(p) }\nfn g(_: &str) -> u32 { 1 }\n",
            "use std::fs;\nstatic N: u32 = 1;\nasync fn f(p: &str) -> u32 { g(p) }\nfn g(_: &str) -> u32 { 1 }\n",
            "use std::fs;\nstatic N: u32 = 1;\nfn f(p: &str) -> u64 { g(p) }\nfn g(_: &str) -> u32 { 1 }\n",
            "use std::fs;\nstatic N: u32 = 1;\nfn g(_: &str) -> u32 { 1 }\nfn f(p: &str) -> u32 { g(p) }\n",
            "use std::fs;\nstatic N: u32 = 1;\nfn f(p: &str) -> u32 { fn h() {} g(p) }\nfn g(_: &str) -> u32 { 1 }\n",
        ] {
            assert_ne!(hash(other), base, "{other}");
        }
    }

    #[test]
    fn damaged_blobs_are_rejected_not_trusted() {
        let a = Interner::new();
        let facts = crate::parse::parse_facts("fn f() { g(); }", &a).unwrap();
        let (blob, _) = encode(&facts, &a).unwrap();
        for cut in [0, 3, 5, blob.len() / 2, blob.len() - 1] {
            assert!(decode(&blob[..cut], &a).is_none() || cut == blob.len(), "cut at {cut} decoded");
        }
        let mut flipped = blob.clone();
        flipped[4] ^= 0xff;
        let _ = decode(&flipped, &a);
    }
}

#[cfg(test)]
mod roundtrip_all {
    use super::*;

    #[test]
    fn every_fixture_file_round_trips() {
        let mut failed = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut stack = vec![root.join("fixtures"), root.join("src")];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    let a = Interner::new();
                    let Ok(facts) = crate::parse::parse_facts(&crate::parse::source_text(&text), &a) else { continue };
                    let (blob, _) = encode(&facts, &a).unwrap();
                    if decode(&blob, &a).is_none() {
                        failed.push(p.display().to_string());
                    }
                }
            }
        }
        assert!(failed.is_empty(), "{failed:?}");
    }
}
