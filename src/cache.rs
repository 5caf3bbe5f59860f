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
//! then, for each file:
//!   path: u32 length, UTF-8   content hash: u64   blob checksum: u64   blob: u32 length, bytes
//! ```
//!
//! A file has up to two entries: its facts, under its path and content hash, and its calls as the
//! call graph classified them (`model::callgraph::SiteCache`), under its path prefixed with
//! `SITES_PREFIX` and a key that also covers every other file's interface.
//!
//! Beside the pack, `facts.seal` records the identity the pack had on disk when this tool wrote
//! it: device, inode, status-change time to the nanosecond, and size (see `identity`). A pack
//! whose identity differs is not read. The pack lives in the checked tree (`target/asynclint/`),
//! where a pull request could commit a forged one (facts of an innocent file under the content
//! hash of a guilty one). Checking out, copying, unpacking or editing a file gives it a new inode
//! or status-change time, which no one can choose or predict; so only a pack written on this
//! disk, by us, and untouched since is trusted. The price: a cache copied or restored from an
//! archive (a CI cache step) is rebuilt once, like a missing one.
//!
//! All integers little-endian, entries in no particular order (fresh ones as they are made, then
//! those kept from the last pack). Reading it copies no blob; writing it holds no blob: a fresh
//! one goes to disk as soon as it is made. (A serde pack decoded every blob into a buffer of its
//! own, kept every fresh blob until the end, and was encoded whole into another buffer before it
//! was written: 260 MB more at the peak on the bench corpus.)

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::bytes::Reader;
use crate::parse::cached::FACTS_FORMAT;
use crate::FactsCache;

const MAGIC: &[u8] = b"asynclint-facts\n";
const SEAL_MAGIC: &[u8] = b"asynclint-seal\n";

/// One file's entry in the pack that was read: content hash, blob checksum, where the blob is.
struct Entry {
    hash: u64,
    checksum: u64,
    blob: Range<usize>,
}

pub struct DiskCache {
    file: PathBuf,
    /// `facts.seal`, beside the pack.
    seal: PathBuf,
    /// The pack as read, and its entries by path.
    data: Vec<u8>,
    old: HashMap<String, Entry>,
    /// Paths whose old entry was used (its hash matched and its checksum held).
    hits: Mutex<HashSet<String>>,
    /// The next pack, written as facts are made: fresh blobs go to disk at once instead of
    /// waiting in memory for the end of the run (69 MB at the peak on the bench corpus).
    next: Mutex<NextPack>,
}

#[derive(Default)]
struct NextPack {
    /// The temporary file and its writer, made on the first fresh entry.
    out: Option<(PathBuf, std::io::BufWriter<std::fs::File>)>,
    /// The paths written so far.
    written: HashSet<String>,
    /// The first write error; the pack is then abandoned.
    failed: Option<std::io::Error>,
}

impl NextPack {
    fn write(&mut self, file: &Path, path: &str, hash: u64, checksum: u64, blob: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if let Err(e) = self.try_write(file, path, hash, checksum, blob) {
            self.failed = Some(e);
        }
    }

    fn try_write(&mut self, file: &Path, path: &str, hash: u64, checksum: u64, blob: &[u8]) -> std::io::Result<()> {
        self.begin(file)?;
        let Some((_, out)) = &mut self.out else { return Ok(()) };
        write_bytes(out, path.as_bytes())?;
        out.write_all(&hash.to_le_bytes())?;
        out.write_all(&checksum.to_le_bytes())?;
        write_bytes(out, blob)?;
        self.written.insert(path.to_string());
        Ok(())
    }

    /// Makes the temporary file and writes the header, once.
    fn begin(&mut self, file: &Path) -> std::io::Result<()> {
        if self.out.is_none() {
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir)?;
            }
            // Written aside and renamed, so a crash or a concurrent run never leaves half a pack.
            let tmp = file.with_extension(format!("tmp{}", std::process::id()));
            // 1 MiB at a time: each write is made holding the lock the parsing threads share.
            let mut out = std::io::BufWriter::with_capacity(1 << 20, create_fresh(&tmp)?);
            out.write_all(MAGIC)?;
            write_bytes(&mut out, env!("CARGO_PKG_VERSION").as_bytes())?;
            out.write_all(&FACTS_FORMAT.to_le_bytes())?;
            self.out = Some((tmp, out));
        }
        Ok(())
    }
}

impl Drop for NextPack {
    /// A pack that was not completed (the run stopped early, or a write failed) is removed.
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.out.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

impl DiskCache {
    /// The cache in `dir` (created when saved). An unreadable or foreign pack counts as empty.
    /// A pack the seal does not vouch for counts as empty too.
    pub fn open(dir: &Path) -> DiskCache {
        let file = dir.join("facts.bin");
        let seal = dir.join("facts.seal");
        let data = if is_sealed(&file, &seal) { std::fs::read(&file).unwrap_or_default() } else { Vec::new() };
        let old = index(&data).unwrap_or_default();
        let data = if old.is_empty() { Vec::new() } else { data };
        DiskCache { file, seal, data, old, hits: Mutex::default(), next: Mutex::default() }
    }

    /// Completes the pack for the files of this run, unless nothing changed: the entries of
    /// unchanged files are copied from the old pack after the fresh ones. Entries of files that
    /// are gone are dropped, so the pack does not grow without end.
    pub fn save(self, files: &[String]) -> std::io::Result<()> {
        let hits = self.hits.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut next = self.next.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = next.failed.take() {
            return Err(e);
        }
        if next.written.is_empty() && hits.len() == self.old.len() {
            return Ok(());
        }
        let current: HashSet<&str> = files.iter().map(String::as_str).collect();
        let mut kept: Vec<&String> =
            hits.iter().filter(|p| current.contains(file_of(p)) && !next.written.contains(*p)).collect();
        kept.sort();
        for path in kept {
            if let Some(e) = self.old.get(path) {
                next.write(&self.file, path, e.hash, e.checksum, &self.data[e.blob.clone()]);
            }
        }
        if let Some(e) = next.failed.take() {
            return Err(e);
        }
        // Every file of the last run may be gone: then the pack is a header alone.
        next.begin(&self.file)?;
        let Some((tmp, out)) = next.out.take() else { return Ok(()) };
        // Not synced to disk: a pack cut by a crash fails its framing or its checksums, and is
        // then ignored like any damaged pack.
        let result = out.into_inner().map_err(|e| e.into_error()).and_then(|_| std::fs::rename(&tmp, &self.file));
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result?;
        write_seal(&self.file, &self.seal)
    }
}

/// What identifies the pack on disk, as `facts.seal` records it: the inode (with its device) and
/// the status-change time are set by the file system when a file is made or changed, and no
/// checkout, copy or archive can give a file chosen ones. The size is a cheap extra check.
#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> [u64; 5] {
    use std::os::unix::fs::MetadataExt;
    [meta.dev(), meta.ino(), meta.ctime() as u64, meta.ctime_nsec() as u64, meta.len()]
}

/// Elsewhere, the creation and modification times stand in for the inode and status change.
#[cfg(not(unix))]
fn identity(meta: &std::fs::Metadata) -> [u64; 5] {
    let nanos = |t: std::io::Result<std::time::SystemTime>| {
        t.ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos() as u64)
    };
    [0, 0, nanos(meta.created()), nanos(meta.modified()), meta.len()]
}

fn seal_bytes(pack: &std::fs::Metadata) -> Vec<u8> {
    let mut out = SEAL_MAGIC.to_vec();
    for n in identity(pack) {
        out.extend_from_slice(&n.to_le_bytes());
    }
    out
}

/// Whether `seal` records the identity `pack` has now. Missing files vouch for nothing, and
/// neither does anything but plain files: a link, a pipe or a device planted in the checked tree
/// is never opened (reading `/dev/zero` or a pipe would never end).
fn is_sealed(pack: &Path, seal: &Path) -> bool {
    let plain = |path: &Path| std::fs::symlink_metadata(path).ok().filter(std::fs::Metadata::is_file);
    let (Some(pack_meta), Some(seal_meta)) = (plain(pack), plain(seal)) else { return false };
    let expected = seal_bytes(&pack_meta);
    seal_meta.len() == expected.len() as u64 && std::fs::read(seal).is_ok_and(|recorded| recorded == expected)
}

/// Creates `path` for writing, failing rather than following anything already there: a link
/// planted under the temporary file's name must not make us overwrite its target. A leftover of
/// ours (a run killed mid-write, under a reused process id) is removed first; removing a link
/// removes the link only.
fn create_fresh(path: &Path) -> std::io::Result<std::fs::File> {
    let create = || std::fs::OpenOptions::new().write(true).create_new(true).open(path);
    match create() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(path)?;
            create()
        }
        other => other,
    }
}

/// Records the identity of the pack just renamed into place. Written aside and renamed too; if a
/// concurrent run replaced the pack meanwhile, the seal matches neither and the next run starts
/// afresh, which is safe.
fn write_seal(pack: &Path, seal: &Path) -> std::io::Result<()> {
    let bytes = seal_bytes(&std::fs::metadata(pack)?);
    let tmp = seal.with_extension(format!("tmp{}", std::process::id()));
    let result = create_fresh(&tmp).and_then(|mut f| f.write_all(&bytes)).and_then(|()| std::fs::rename(&tmp, seal));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The file an entry of the pack is about.
fn file_of(entry: &str) -> &str {
    entry.strip_prefix(SITES_PREFIX).unwrap_or(entry)
}

fn write_bytes(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(std::io::Error::other)?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)
}

/// The entries of a pack by path; `None` if it is not a pack of this version and format, or is
/// cut or damaged anywhere in its framing.
fn index(data: &[u8]) -> Option<HashMap<String, Entry>> {
    let mut r = Reader::new(data);
    if r.take(MAGIC.len())? != MAGIC || r.bytes()? != env!("CARGO_PKG_VERSION").as_bytes() || r.u64()? != FACTS_FORMAT {
        return None;
    }
    let mut entries = HashMap::new();
    while !r.is_done() {
        let path = std::str::from_utf8(r.bytes()?).ok()?.to_string();
        let hash = r.u64()?;
        let checksum = r.u64()?;
        let len = r.u32()? as usize;
        let start = r.at();
        r.take(len)?;
        entries.insert(path, Entry { hash, checksum, blob: start..start + len });
    }
    Some(entries)
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
        // The checksum is taken here, on the parsing thread.
        let checksum = crate::content_hash(&blob);
        self.next.lock().unwrap_or_else(|e| e.into_inner()).write(&self.file, path, hash, checksum, &blob);
    }

    fn get_sites(&self, path: &str, key: u64) -> Option<&[u8]> {
        self.get(&format!("{SITES_PREFIX}{path}"), key)
    }

    fn put_sites(&self, path: &str, key: u64, blob: Vec<u8>) {
        self.put(&format!("{SITES_PREFIX}{path}"), key, blob)
    }
}

/// A file's classified calls are kept in the pack as an entry of their own, under its path with
/// this prefix (no path the walk gives starts with a NUL).
const SITES_PREFIX: &str = "\0sites:";
