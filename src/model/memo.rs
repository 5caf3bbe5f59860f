//! Memo tables shared by the threads that resolve names and type calls.
//!
//! One lock per table made the threads queue on it: with two threads, building the call graph
//! took as long as with one. Each table is cut into shards by the key's hash, so two threads
//! rarely want the same lock, and the locks are read-write: most calls are hits on a few hot
//! keys (the modules that many globs import), which readers share.

use std::hash::{BuildHasher, Hash};
use std::sync::RwLock;

use rustc_hash::{FxBuildHasher, FxHashMap};

const SHARDS: usize = 64;

pub struct Memo<K, V> {
    shards: Box<[RwLock<FxHashMap<K, V>>]>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo { shards: (0..SHARDS).map(|_| RwLock::new(FxHashMap::default())).collect() }
    }
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    pub fn get(&self, key: &K) -> Option<V> {
        // A poisoned shard (a panic elsewhere) still holds valid entries.
        let shard = self.shard(key).read().unwrap_or_else(|e| e.into_inner());
        shard.get(key).cloned()
    }

    pub fn insert(&self, key: K, value: V) {
        self.shard(&key).write().unwrap_or_else(|e| e.into_inner()).insert(key, value);
    }

    /// The memoised value, or `make`'s, memoised. Two threads may both make it; they agree.
    pub fn get_or_insert_with(&self, key: K, make: impl FnOnce() -> V) -> V {
        if let Some(hit) = self.get(&key) {
            return hit;
        }
        let value = make();
        self.insert(key, value.clone());
        value
    }

    fn shard(&self, key: &K) -> &RwLock<FxHashMap<K, V>> {
        // Neither the low bits (the map's bucket) nor the top seven (its tag for each entry): a
        // shard whose keys all shared their tag bits would compare keys on every probe.
        let i = (FxBuildHasher.hash_one(key) >> 32) as usize % SHARDS;
        &self.shards[i]
    }
}
