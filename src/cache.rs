//! The on-disk cache of parsed facts, used by the binary: one pack file holding, for each file of
//! the last run, its content hash and its facts. Keyed by the tool version and the facts format
//! too, so an upgrade starts afresh. A pack that cannot be read is ignored and rewritten; a blob
//! whose checksum fails, or that does not decode, is parsed again (see `parse::cached`). Like the
//! walk, this does IO; the analysis sees only the `FactsCache` trait.
//!
//! The pack is a flat file, read in one piece and indexed in place, and written as a stream:
//!
//! ```text
//! "asynclint-facts\n"
//! version: u32 length, UTF-8          format: u64
//! then, for each file, sorted by path:
//!   path: u32 length, UTF-8   content hash: u64   blob checksum: u64   blob: u32 length, bytes
//! ```
//!
//! All integers little-endian. Reading it copies no blob; writing it builds no second copy. (A
//! serde pack decoded every blob into a buffer of its own, and was encoded whole into another
//! before it was written: 140 MB more at the peak on the bench corpus.)

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::parse::cached::FACTS_FORMAT;
use crate::FactsCache;

const MAGIC: &[u8] = b"asynclint-facts\n";

/// One file's entry in the pack that was read: content hash, blob checksum, where the blob is.
struct Entry {
    hash: u64,
    checksum: u64,
    blob: Range<usize>,
}

pub struct DiskCache {
    file: PathBuf,
    /// The pack as read, and its entries by path.
    data: Vec<u8>,
    old: HashMap<String, Entry>,
    /// Paths whose old entry was used (its hash matched and its checksum held).
    hits: Mutex<HashSet<String>>,
    fresh: Mutex<Vec<(String, u64, Vec<u8>)>>,
}

impl DiskCache {
    /// The cache in `dir` (created when saved). An unreadable or foreign pack counts as empty.
    pub fn open(dir: &Path) -> DiskCache {
        let file = dir.join("facts.bin");
        let data = std::fs::read(&file).unwrap_or_default();
        let old = index(&data).unwrap_or_default();
        let data = if old.is_empty() { Vec::new() } else { data };
        DiskCache { file, data, old, hits: Mutex::default(), fresh: Mutex::default() }
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
        let fresh_paths: HashSet<&str> = fresh.iter().map(|(p, _, _)| p.as_str()).collect();
        // (path, content hash, checksum, blob)
        let mut entries: Vec<(&str, u64, u64, &[u8])> = Vec::new();
        for path in &hits {
            if current.contains(path.as_str()) && !fresh_paths.contains(path.as_str()) {
                if let Some(e) = self.old.get(path) {
                    entries.push((path, e.hash, e.checksum, &self.data[e.blob.clone()]));
                }
            }
        }
        for (path, hash, blob) in &fresh {
            if current.contains(path.as_str()) {
                entries.push((path, *hash, crate::content_hash(blob), blob));
            }
        }
        entries.sort_by(|a, b| a.0.cmp(b.0));
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Written aside and renamed, so a crash or a concurrent run never leaves half a pack.
        let tmp = self.file.with_extension(format!("tmp{}", std::process::id()));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        out.write_all(MAGIC)?;
        write_bytes(&mut out, env!("CARGO_PKG_VERSION").as_bytes())?;
        out.write_all(&FACTS_FORMAT.to_le_bytes())?;
        for (path, hash, checksum, blob) in entries {
            write_bytes(&mut out, path.as_bytes())?;
            out.write_all(&hash.to_le_bytes())?;
            out.write_all(&checksum.to_le_bytes())?;
            write_bytes(&mut out, blob)?;
        }
        // Not synced to disk: a pack cut by a crash fails its framing or its checksums, and is
        // then ignored like any damaged pack.
        out.flush()?;
        drop(out);
        std::fs::rename(&tmp, &self.file)
    }
}

fn write_bytes(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)
}

/// The entries of a pack by path; `None` if it is not a pack of this version and format, or is
/// cut or damaged anywhere in its framing.
fn index(data: &[u8]) -> Option<HashMap<String, Entry>> {
    let mut r = Reader { data, at: 0 };
    if r.take(MAGIC.len())? != MAGIC || r.bytes()? != env!("CARGO_PKG_VERSION").as_bytes() || r.u64()? != FACTS_FORMAT {
        return None;
    }
    let mut entries = HashMap::new();
    while r.at < data.len() {
        let path = std::str::from_utf8(r.bytes()?).ok()?.to_string();
        let hash = r.u64()?;
        let checksum = r.u64()?;
        let len = r.u32()? as usize;
        let start = r.at;
        r.take(len)?;
        entries.insert(path, Entry { hash, checksum, blob: start..start + len });
    }
    Some(entries)
}

/// Reads the pack's framing; every read is bounds-checked, since the pack is never trusted.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.data.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        self.take(len)
    }
}

impl FactsCache for DiskCache {
    fn get(&self, path: &str, hash: u64) -> Option<&[u8]> {
        let entry = self.old.get(path)?;
        if entry.hash != hash {
            return None;
        }
        let blob = &self.data[entry.blob.clone()];
        // A blob damaged on disk is dropped, and the file parsed again. Checked here, on the
        // parsing threads, rather than for the whole pack when it is opened.
        if crate::content_hash(blob) != entry.checksum {
            return None;
        }
        self.hits.lock().unwrap_or_else(|e| e.into_inner()).insert(path.to_string());
        Some(blob)
    }

    fn put(&self, path: &str, hash: u64, blob: Vec<u8>) {
        self.fresh.lock().unwrap_or_else(|e| e.into_inner()).push((path.to_string(), hash, blob));
    }
}
