//! Interned identifiers shared by every parsing thread, so facts hold 4-byte symbols instead of strings.

use std::cell::RefCell;
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
    // Fx, not SipHash: interning is on the hot path of parsing, and these keys are identifiers.
    static CACHE: RefCell<(u64, FxHashMap<Box<str>, Sym>)> = RefCell::new((0, FxHashMap::default()));
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
                cache.0 = self.id;
                cache.1.clear();
            }
            if let Some(&sym) = cache.1.get(s) {
                return sym;
            }
            let sym = {
                let mut table = self.shared.lock().unwrap_or_else(|e| e.into_inner());
                table.get_or_insert(s)
            };
            cache.1.insert(s.into(), sym);
            sym
        })
    }

    /// The string of a symbol, while the table is still shared.
    pub fn name(&self, sym: Sym) -> std::sync::Arc<str> {
        let table = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        table.strings.get(sym.0 as usize).cloned().unwrap_or_else(|| std::sync::Arc::from(""))
    }

    /// Frees this thread's cache; parsing threads call it when the parallel phase ends.
    pub fn release_thread_cache() {
        CACHE.with(|cache| *cache.borrow_mut() = (0, FxHashMap::default()));
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
