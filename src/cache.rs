//! The on-disk cache of parsed facts, used by the binary: one pack file holding, for each file of
//! the last run, its content hash and its facts. Keyed by the tool version and the facts format
//! too, so an upgrade starts afresh. A pack that cannot be read is ignored and rewritten; a blob
//! that does not decode is parsed again (see `parse::cached`). Like the walk, this does IO; the
//! analysis sees only the `FactsCache` trait.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::parse::cached::FACTS_FORMAT;
use crate::FactsCache;

const MAGIC: &str = "asynclint-facts";

#[derive(Serialize, Deserialize)]
struct Pack {
    magic: String,
    tool_version: String,
    format: u64,
    /// Path, content hash, checksum of the blob, blob.
    entries: Vec<(String, u64, u64, Vec<u8>)>,
}

pub struct DiskCache {
    file: PathBuf,
    old: HashMap<String, (u64, Vec<u8>)>,
    hits: Mutex<HashSet<String>>,
    fresh: Mutex<Vec<(String, u64, Vec<u8>)>>,
}

impl DiskCache {
    /// The cache in `dir` (created when saved). An unreadable or foreign pack counts as empty.
    pub fn open(dir: &Path) -> DiskCache {
        let file = dir.join("facts.bin");
        let old = std::fs::read(&file)
            .ok()
            .and_then(|bytes| postcard::from_bytes::<Pack>(&bytes).ok())
            .filter(|p| p.magic == MAGIC && p.tool_version == env!("CARGO_PKG_VERSION") && p.format == FACTS_FORMAT)
            // A blob whose checksum does not match was damaged on disk: it is dropped, and the
            // file parsed again.
            .map(|p| {
                p.entries
                    .into_iter()
                    .filter(|(_, _, sum, blob)| *sum == crate::content_hash(blob))
                    .map(|(path, hash, _, blob)| (path, (hash, blob)))
                    .collect()
            })
            .unwrap_or_default();
        DiskCache { file, old, hits: Mutex::default(), fresh: Mutex::default() }
    }

    /// Writes the pack for the files of this run, unless nothing changed. Entries of files that
    /// are gone are dropped, so the pack does not grow without end.
    pub fn save(self, files: &[String]) -> std::io::Result<()> {
        let hits = self.hits.into_inner().unwrap_or_else(|e| e.into_inner());
        let fresh = self.fresh.into_inner().unwrap_or_else(|e| e.into_inner());
        if fresh.is_empty() && hits.len() == self.old.len() {
            return Ok(());
        }
        let current: HashSet<&str> = files.iter().map(String::as_str).collect();
        let mut entries: Vec<(String, u64, u64, Vec<u8>)> = Vec::new();
        let fresh_paths: HashSet<String> = fresh.iter().map(|(p, _, _)| p.clone()).collect();
        let mut old = self.old;
        for path in hits {
            if current.contains(path.as_str()) && !fresh_paths.contains(&path) {
                if let Some((hash, blob)) = old.remove(&path) {
                    entries.push((path, hash, crate::content_hash(&blob), blob));
                }
            }
        }
        entries.extend(
            fresh
                .into_iter()
                .filter(|(p, _, _)| current.contains(p.as_str()))
                .map(|(p, h, blob)| (p, h, crate::content_hash(&blob), blob)),
        );
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let pack = Pack {
            magic: MAGIC.to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            format: FACTS_FORMAT,
            entries,
        };
        let bytes = postcard::to_allocvec(&pack).map_err(std::io::Error::other)?;
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Written aside and renamed, so a crash or a concurrent run never leaves half a pack.
        let tmp = self.file.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &self.file)
    }
}

impl FactsCache for DiskCache {
    fn get(&self, path: &str, hash: u64) -> Option<&[u8]> {
        let (h, blob) = self.old.get(path)?;
        if *h != hash {
            return None;
        }
        self.hits.lock().unwrap_or_else(|e| e.into_inner()).insert(path.to_string());
        Some(blob)
    }

    fn put(&self, path: &str, hash: u64, blob: Vec<u8>) {
        self.fresh.lock().unwrap_or_else(|e| e.into_inner()).push((path.to_string(), hash, blob));
    }
}
