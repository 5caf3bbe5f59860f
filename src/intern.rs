//! Interned identifiers shared by every parsing thread, so facts hold 4-byte symbols instead of strings.

use std::cell::RefCell;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rustc_hash::FxHashMap;

/// An interned string. Only meaningful together with the `Interner`/`Names` that made it, so it is
/// serialized through `codec`, which maps it to an index into a string table of its own.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Sym(pub u32);

/// Serializing symbols for the on-disk cache. While encoding, each symbol is written as its
/// position in a per-file table (recorded here); while decoding, each position is mapped back to
/// a symbol of the current interner. Outside an encode or decode, a symbol cannot be serialized.
pub mod codec {
    use super::Sym;
    use rustc_hash::FxHashMap as HashMap;
    use std::cell::RefCell;

    /// Positions given so far, and the symbols in position order.
    type Table = (HashMap<Sym, u32>, Vec<Sym>);

    thread_local! {
        static ENCODING: RefCell<Option<Table>> = const { RefCell::new(None) };
        static DECODING: RefCell<Option<Vec<Sym>>> = const { RefCell::new(None) };
    }

    pub fn begin_encode() {
        ENCODING.with(|e| *e.borrow_mut() = Some((HashMap::default(), Vec::new())));
    }

    /// The symbols written since `begin_encode`, in table order.
    pub fn end_encode() -> Vec<Sym> {
        ENCODING.with(|e| e.borrow_mut().take().map(|(_, order)| order).unwrap_or_default())
    }

    pub fn begin_decode(table: Vec<Sym>) {
        DECODING.with(|d| *d.borrow_mut() = Some(table));
    }

    pub fn end_decode() {
        DECODING.with(|d| *d.borrow_mut() = None);
    }

    impl serde::Serialize for Sym {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let local = ENCODING.with(|e| {
                let mut e = e.borrow_mut();
                let (map, order) = e.as_mut()?;
                Some(*map.entry(*self).or_insert_with(|| {
                    order.push(*self);
                    order.len() as u32 - 1
                }))
            });
            match local {
                Some(i) => s.serialize_u32(i),
                None => Err(serde::ser::Error::custom("symbols are serialized only through intern::codec")),
            }
        }
    }

    impl<'de> serde::Deserialize<'de> for Sym {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Sym, D::Error> {
            let local = u32::deserialize(d)?;
            // A cache is never trusted: an index outside the table is an error, not a panic.
            DECODING
                .with(|t| t.borrow().as_ref().and_then(|t| t.get(local as usize).copied()))
                .ok_or_else(|| serde::de::Error::custom("symbol index outside the table"))
        }
    }
}

static NEXT_INTERNER_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    // Per-thread cache: most identifiers repeat (`self`, `new`, `unwrap`), so the shared lock is only
    // taken the first time a thread sees a string. Keyed by interner id so that two analyses in one
    // process never mix symbols.
    static CACHE: RefCell<(u64, ThreadCache)> = RefCell::new((0, ThreadCache::default()));
}

/// A thread's strings and their symbols. The table holds every name the thread has parsed, far
/// more than fits in a CPU cache, so a hit costs memory reads: with `Box<str>` keys, one for the
/// table's slot and one more for the key's text. Names of up to `INLINE` bytes (nearly all) are
/// kept in the slot itself, next to their hash, which is compared first.
#[derive(Default)]
struct ThreadCache {
    table: hashbrown::HashTable<CacheEntry>,
}

const INLINE: usize = 22;

struct CacheEntry {
    hash: u64,
    key: CacheKey,
    sym: Sym,
}

enum CacheKey {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl CacheKey {
    fn new(s: &str) -> CacheKey {
        match s.len() {
            len @ 0..=INLINE => {
                let mut bytes = [0u8; INLINE];
                bytes[..len].copy_from_slice(s.as_bytes());
                CacheKey::Inline { len: len as u8, bytes }
            }
            _ => CacheKey::Heap(s.into()),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            CacheKey::Inline { len, bytes } => &bytes[..*len as usize],
            CacheKey::Heap(s) => s.as_bytes(),
        }
    }
}

impl ThreadCache {
    fn get(&self, hash: u64, s: &str) -> Option<Sym> {
        self.table.find(hash, |e| e.hash == hash && e.key.as_bytes() == s.as_bytes()).map(|e| e.sym)
    }

    fn insert(&mut self, hash: u64, s: &str, sym: Sym) {
        self.table.insert_unique(hash, CacheEntry { hash, key: CacheKey::new(s), sym }, |e| e.hash);
    }
}

/// Thread-safe interner used while files are parsed in parallel.
pub struct Interner {
    id: u64,
    shared: Mutex<Table>,
}

/// Each string is stored once, shared by the map and the list.
#[derive(Default)]
struct Table {
    map: FxHashMap<std::sync::Arc<str>, Sym>,
    strings: Vec<std::sync::Arc<str>>,
}

impl Default for Interner {
    fn default() -> Self {
        Self::new()
    }
}

impl Interner {
    pub fn new() -> Self {
        Interner { id: NEXT_INTERNER_ID.fetch_add(1, Ordering::Relaxed), shared: Mutex::new(Table::default()) }
    }

    pub fn intern(&self, s: &str) -> Sym {
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.0 != self.id {
                *cache = (self.id, ThreadCache::default());
            }
            // Fx, not SipHash: interning is on the hot path of parsing, and these keys are names.
            let hash = rustc_hash::FxBuildHasher.hash_one(s);
            if let Some(sym) = cache.1.get(hash, s) {
                return sym;
            }
            // A new name lives for the whole run, in the shared table and in this cache: never
            // on the scratch heap's pages, whichever caller is interning (see `crate::memory`).
            crate::memory::lasting(|| {
                let sym = {
                    let mut table = self.shared.lock().unwrap_or_else(|e| e.into_inner());
                    table.get_or_insert(s)
                };
                cache.1.insert(hash, s, sym);
                sym
            })
        })
    }

    /// Calls `f` with the strings of `syms`, while the table is still shared. The lock is taken
    /// once for them all: the cache encodes every file's symbols from the parsing threads.
    pub fn with_names<R>(&self, syms: &[Sym], f: impl FnOnce(&[&str]) -> R) -> R {
        let table = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        let names: Vec<&str> = syms.iter().map(|s| table.strings.get(s.0 as usize).map_or("", |n| &**n)).collect();
        f(&names)
    }

    /// Frees this thread's cache; parsing threads call it when the parallel phase ends.
    pub fn release_thread_cache() {
        CACHE.with(|cache| *cache.borrow_mut() = (0, ThreadCache::default()));
    }

    /// Ends the parallel phase: the table becomes a plain single-threaded one.
    pub fn freeze(self) -> Names {
        let table = self.shared.into_inner().unwrap_or_else(|e| e.into_inner());
        Names { table }
    }
}

impl Table {
    fn get_or_insert(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.map.get(s) {
            return sym;
        }
        let sym = Sym(self.strings.len() as u32);
        let shared: std::sync::Arc<str> = s.into();
        self.strings.push(shared.clone());
        self.map.insert(shared, sym);
        sym
    }
}

/// The frozen symbol table used by the model and rules.
pub struct Names {
    table: Table,
}

impl Names {
    pub fn str(&self, sym: Sym) -> &str {
        self.table.strings.get(sym.0 as usize).map(|s| &**s).unwrap_or("?")
    }

    pub fn intern(&mut self, s: &str) -> Sym {
        self.table.get_or_insert(s)
    }

    pub fn len(&self) -> usize {
        self.table.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.strings.is_empty()
    }

    pub fn lookup(&self, s: &str) -> Option<Sym> {
        self.table.map.get(s).copied()
    }

    pub fn join(&self, path: &[Sym]) -> String {
        let mut out = String::new();
        for (i, s) in path.iter().enumerate() {
            if i > 0 {
                out.push_str("::");
            }
            out.push_str(self.str(*s));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_intern_to_one_symbol_each_inline_or_not() {
        let interner = Interner::new();
        // Around the inline limit, empty, non-ASCII, and names that share a prefix.
        let names: Vec<String> = ["", "a", "ab", "é", "名前", "x".repeat(INLINE - 1).as_str(), &"x".repeat(INLINE)]
            .iter()
            .map(|s| s.to_string())
            .chain([&"x".repeat(INLINE + 1), &"y".repeat(300), "std::fs::read"].iter().map(|s| s.to_string()))
            .collect();
        let first: Vec<Sym> = names.iter().map(|n| interner.intern(n)).collect();
        let again: Vec<Sym> = names.iter().map(|n| interner.intern(n)).collect();
        assert_eq!(first, again);
        let distinct: std::collections::HashSet<Sym> = first.iter().copied().collect();
        assert_eq!(distinct.len(), names.len());
        // Another thread, with a cache of its own, gets the same symbols.
        let other: Vec<Sym> =
            std::thread::scope(|s| s.spawn(|| names.iter().map(|n| interner.intern(n)).collect()).join().unwrap());
        assert_eq!(other, first);
        let frozen = interner.freeze();
        for (n, sym) in names.iter().zip(&first) {
            assert_eq!(frozen.str(*sym), n);
        }
    }
}
