//! asynclint: a fast static reviewer for async Rust.
//!
//! The pipeline is walk -> parse -> model -> rules -> findings -> report. This library holds all of
//! it except the walk's disk access and the printing: `analyze` takes the list of crates and files
//! and a `SourceLoader`, and returns plain data. Only the binary prints or picks an exit code.

pub mod baseline;
mod bytes;
pub mod cache;
pub mod catalogue;
pub mod config;
pub mod diff;
pub mod findings;
pub mod intern;
pub mod lines;
pub mod memory;
pub mod model;
pub mod parse;
pub mod report;
pub mod rules;
pub mod suppress;
pub mod walk;
pub mod workspace;

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

use catalogue::{ApiEntry, Catalogue, OffloadEntry};
use findings::{ChainStep, ErrorKind, FileError, Finding, Fix, Related};
use intern::Interner;
use lines::LineIndex;
use parse::facts::FileFacts;
use rules::RawFinding;
use workspace::WorkspaceInput;

/// Gives the analysis the bytes of a file, by its path relative to the checked root. The binary
/// reads from disk; tests serve files from memory. The analysis itself never touches the disk.
pub trait SourceLoader: Sync {
    fn load(&self, path: &str) -> Result<Vec<u8>, String>;
}

/// Files held in memory, for tests and embedding.
#[derive(Default)]
pub struct MemoryLoader {
    pub files: HashMap<String, Vec<u8>>,
}

impl SourceLoader for MemoryLoader {
    fn load(&self, path: &str) -> Result<Vec<u8>, String> {
        self.files.get(path).cloned().ok_or_else(|| "no such file".to_string())
    }
}

#[derive(Default)]
pub struct Options {
    /// Worker threads for parsing; `None` uses every core.
    pub threads: Option<usize>,
    /// Rule ids to run; `None` runs every rule.
    pub rules: Option<Vec<String>>,
    /// The user's extra blocking APIs and offload functions.
    pub extra_apis: Vec<ApiEntry>,
    pub extra_offload: Vec<OffloadEntry>,
    /// Report suppression directives without ` -- reason` (config `require-reason`).
    pub require_reason: bool,
    /// Where parsed facts are kept between runs, if anywhere.
    pub cache: Option<std::sync::Arc<dyn FactsCache>>,
    /// Counts the files parsed so far, for a progress display; the analysis only increments it.
    pub progress: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
    /// Also gather what the code does right (offloaded blocking work, database practices), which
    /// only the Markdown review shows.
    pub review: bool,
}

/// Keeps the facts of files between runs, by path and content hash. The binary keeps them on
/// disk (`cache::DiskCache`); the analysis only asks and offers, and never trusts what it gets:
/// a blob that does not decode is parsed again.
pub trait FactsCache: Send + Sync {
    fn get(&self, path: &str, hash: u64) -> Option<&[u8]>;
    fn put(&self, path: &str, hash: u64, blob: Vec<u8>);

    /// The classified calls of a file (`model::callgraph::SiteCache`), by path and a key that
    /// covers the file and what it depends on. A cache may keep none.
    fn get_sites(&self, _path: &str, _key: u64) -> Option<&[u8]> {
        None
    }
    fn put_sites(&self, _path: &str, _key: u64, _blob: Vec<u8>) {}
}

/// The content hash the cache is keyed by (with the tool version, kept by the cache itself):
/// SHA-256, of which 64 bits are kept. A fast non-cryptographic hash would let one untrusted pull
/// request craft a file that collides with an entry another one left in a shared CI cache; finding
/// a second input for a given SHA-256 prefix of 64 bits is out of reach.
pub fn content_hash(bytes: &[u8]) -> u64 {
    sha256_u64(&[bytes])
}

/// The first 64 bits of the SHA-256 of `parts`, one after the other: every key the cache is
/// looked up by (see `content_hash` for why not a faster hash).
pub(crate) fn sha256_u64(parts: &[&[u8]]) -> u64 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in parts {
        h.update(part);
    }
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// The result of an analysis: findings and file errors, both sorted.
#[derive(Debug, Default)]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub errors: Vec<FileError>,
    pub files: usize,
    /// Wall time of each phase, in order, for `--timings`.
    pub timings: Vec<(&'static str, std::time::Duration)>,
    /// Blocking calls the code already runs off the async workers (inside `spawn_blocking` and
    /// the like): what it does right, for the review's positive findings. Sorted.
    pub offloaded: Vec<OffloadedCall>,
    /// Database practices the code already follows (pools closed, transactions, bound values).
    pub db_practices: model::db::DbPractices,
}

/// A known blocking API called inside an offloaded closure.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OffloadedCall {
    pub path: String,
    pub line: u32,
    pub api: String,
    pub function: String,
}

#[derive(Debug)]
pub struct AnalysisError(pub String);

/// Syn recurses once per nesting level; deeply nested code needs a stack far larger than the
/// default 2 MiB. Only touched pages are ever committed.
const PARSE_STACK: usize = 1 << 30;

pub fn analyze(
    input: &WorkspaceInput,
    loader: &dyn SourceLoader,
    options: &Options,
) -> Result<Analysis, AnalysisError> {
    let mut timings = Vec::new();
    let mut clock = std::time::Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&'static str, std::time::Duration)>| {
        let now = std::time::Instant::now();
        timings.push((name, now - clock));
        clock = now;
    };
    let interner = Interner::new();
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(PARSE_STACK)
        .num_threads(options.threads.unwrap_or(0))
        .build()
        .map_err(|e| AnalysisError(format!("cannot start worker threads: {e}")))?;
    let parsed = parse_all(input, loader, &interner, &pool, options.cache.as_deref(), options.progress.as_deref());
    // The syntax trees are gone, and their pages would only sit in memory through the call
    // graph, which makes the run's peak (see `memory::release_freed`).
    pool.broadcast(|_| memory::release_freed());
    memory::release_freed();
    lap("parse", &mut timings);
    let mut names = interner.freeze();
    let cat = Catalogue::load(&mut names, &options.extra_apis, &options.extra_offload)
        .map_err(|e| AnalysisError(format!("{}: {}", e.file, e.message)))?;
    let mut facts: Vec<Option<FileFacts>> = Vec::with_capacity(parsed.len());
    let mut errors: Vec<Option<FileError>> = Vec::with_capacity(parsed.len());
    let mut hashes: Vec<u64> = Vec::with_capacity(parsed.len());
    let mut interfaces: Vec<Option<u64>> = Vec::with_capacity(parsed.len());
    for (f, e, h, i) in parsed {
        facts.push(f);
        errors.push(e);
        hashes.push(h);
        interfaces.push(i);
    }
    let mut errors: Vec<FileError> = errors.into_iter().flatten().collect();
    let model = pool.install(|| model::Model::build(&mut names, input, &facts, &input.files, &cat));
    lap("model", &mut timings);
    let reuse = options.cache.as_deref().and_then(|cache| {
        let config = format!("{:?}\n{:?}", options.extra_apis, options.extra_offload);
        let workspace = model::callgraph::workspace_key(&model, input, &interfaces, &config)?;
        Some(model::callgraph::SiteCache { cache, paths: &input.files, hashes: &hashes, workspace })
    });
    let graph = pool.install(|| model::callgraph::CallGraph::build(&model, reuse.as_ref()));
    lap("call graph", &mut timings);
    let cx = rules::RuleContext::new(&model, &graph);
    let mut raw = Vec::new();
    for rule in rules::all() {
        if let Some(selected) = &options.rules {
            if !selected.iter().any(|id| id == rule.meta().id) {
                continue;
            }
        }
        rule.check(&cx, &mut raw);
    }
    // `// asynclint: allow(..)` directives, and `unused-suppression`, which judges them.
    let enabled = |id: &str| options.rules.as_ref().is_none_or(|s| s.iter().any(|r| r == id));
    suppress::run(&mut raw, &facts, &enabled, options.require_reason);
    let (offloaded, db_practices) = if options.review {
        (offloaded_calls(&model, &input.files, &hashes, loader), model.db_practices(cx.callers()))
    } else {
        Default::default()
    };
    lap("rules", &mut timings);
    drop(cx);
    drop(graph);
    drop(model);
    // Freeing millions of small facts took a third of a second that the user waited for; a
    // thread of its own frees them while the findings are placed and the report is written.
    // (If the thread cannot start, the closure and its facts are dropped here.)
    let _ = std::thread::Builder::new().name("asynclint-free".to_string()).spawn(move || drop((facts, names)));
    let findings = materialize(raw, &input.files, &hashes, loader, &mut errors);
    errors.sort();
    errors.dedup();
    lap("findings", &mut timings);
    Ok(Analysis { findings, errors, files: input.files.len(), timings, offloaded, db_practices })
}

/// Every known blocking API called inside an offloaded closure, with its line. Only files that
/// have one are read again (and skipped if they changed since).
fn offloaded_calls(
    model: &model::Model,
    paths: &[String],
    hashes: &[u64],
    loader: &dyn SourceLoader,
) -> Vec<OffloadedCall> {
    let mut raw: Vec<(u32, u32, String, String)> = Vec::new();
    for f in model.all_fns() {
        let func = model.func(f);
        if func.ctxs.is_empty() {
            continue;
        }
        let exec = model.exec_table(f);
        for call in &func.calls {
            if exec.of(call.ctx) != model::context::Exec::Offloaded {
                continue;
            }
            if let Some(api) = model.api_called(&model.cat.blocking, f, call) {
                raw.push((f.file, call.span.start, model.cat.blocking.apis[api].display.clone(), model.fn_path(f)));
            }
        }
    }
    let mut texts: HashMap<u32, Option<(String, LineIndex)>> = HashMap::new();
    let mut out = Vec::new();
    for (file, start, api, function) in raw {
        let text =
            texts.entry(file).or_insert_with(|| analysed_text(loader, &paths[file as usize], hashes[file as usize]));
        if let Some((s, index)) = text {
            let (line, _) = index.line_col(s, start);
            out.push(OffloadedCall { path: paths[file as usize].clone(), line, api, function });
        }
    }
    out.sort();
    out
}

/// Parses every file on the pool, largest first, each thread taking the next file as it finishes
/// one. Largest-first balances the threads (no core idles at the end on a huge file) and keeps the
/// memory peak low: the biggest syntax trees are built and dropped while the facts are still few,
/// and their pages are reused for facts later.
fn parse_all(
    input: &WorkspaceInput,
    loader: &dyn SourceLoader,
    interner: &Interner,
    pool: &rayon::ThreadPool,
    cache: Option<&dyn FactsCache>,
    progress: Option<&AtomicUsize>,
) -> Vec<Parsed> {
    let n = input.files.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(input.sizes.get(i).copied().unwrap_or(0)), i));
    let next = AtomicUsize::new(0);
    let per_thread: Vec<Vec<(usize, Parsed)>> = pool.broadcast(|_| {
        let mut done = Vec::new();
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&i) = order.get(k) else { break };
            done.push((i, parse_one(&input.files[i], loader, interner, cache)));
            if let Some(p) = progress {
                p.fetch_add(1, Ordering::Relaxed);
            }
        }
        done
    });
    pool.broadcast(|_| Interner::release_thread_cache());
    let mut out: Vec<Parsed> = (0..n).map(|_| (None, None, 0, None)).collect();
    for (i, r) in per_thread.into_iter().flatten() {
        out[i] = r;
    }
    out
}

/// One file's outcome: its facts, or the error that kept it from having any.
/// With the content hash of what was read, so that a file that changes before its findings are
/// placed is caught.
/// And, when a cache is in use, the hash of the facts' interface (`parse::cached::interface_hash`).
type Parsed = (Option<FileFacts>, Option<FileError>, u64, Option<u64>);

fn parse_one(path: &str, loader: &dyn SourceLoader, interner: &Interner, cache: Option<&dyn FactsCache>) -> Parsed {
    let io_error = |message: String| FileError {
        kind: ErrorKind::IoError,
        path: path.to_string(),
        line: None,
        column: None,
        message,
    };
    // The text is scratch; facts decoded from the cache are not (see `memory`).
    let bytes = match memory::scratch(|| loader.load(path)) {
        Ok(b) => b,
        Err(e) => return (None, Some(io_error(e)), 0, None),
    };
    let hash = content_hash(&bytes);
    if let Some(c) = cache {
        if let Some((facts, interface)) = c.get(path, hash).and_then(|blob| parse::cached::decode(blob, interner)) {
            return (Some(facts), None, hash, Some(interface));
        }
    }
    let raw = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let message = format!("file is not valid UTF-8 (invalid byte at offset {at})");
            return (None, Some(io_error(message)), hash, None);
        }
    };
    let result = catch_unwind(AssertUnwindSafe(|| {
        let text = memory::scratch(|| parse::source_text(&raw));
        let outcome = parse::parse_facts(&text, interner);
        // Spans of this file are no longer needed; free proc-macro2's per-thread source map.
        proc_macro2::extra::invalidate_current_thread_spans();
        match outcome {
            Ok(facts) => {
                let interface = cache.and_then(|c| {
                    let (blob, interface) = parse::cached::encode(&facts, interner)?;
                    c.put(path, hash, blob);
                    Some(interface)
                });
                (Some(facts), None, interface)
            }
            Err(e) => {
                let index = LineIndex::new(&text);
                let (line, column) = index.line_col(&text, e.span.start);
                let error = FileError {
                    kind: ErrorKind::ParseError,
                    path: path.to_string(),
                    line: Some(line),
                    column: Some(column),
                    message: e.message,
                };
                (None, Some(error), None)
            }
        }
    }));
    match result {
        Ok((facts, error, interface)) => (facts, error, hash, interface),
        Err(_) => {
            proc_macro2::extra::invalidate_current_thread_spans();
            let error = FileError {
                kind: ErrorKind::InternalError,
                path: path.to_string(),
                line: None,
                column: None,
                message: "internal error while analysing this file; the rest of the run went on".to_string(),
            };
            (None, Some(error), hash, None)
        }
    }
}

/// A file's text read again, with its line index, if it is still the text that was analysed
/// (same content hash): spans into another text would point at the wrong code, or past its end.
fn analysed_text(loader: &dyn SourceLoader, path: &str, hash: u64) -> Option<(String, LineIndex)> {
    let bytes = loader.load(path).ok().filter(|b| content_hash(b) == hash)?;
    let text = parse::source_text(&String::from_utf8(bytes).ok()?).into_owned();
    let index = LineIndex::new(&text);
    Some((text, index))
}

/// Gives raw findings their lines, columns, snippets and fingerprints. Only files with findings are
/// read again.
fn materialize(
    raw: Vec<RawFinding>,
    paths: &[String],
    hashes: &[u64],
    loader: &dyn SourceLoader,
    errors: &mut Vec<FileError>,
) -> Vec<Finding> {
    let mut by_file: HashMap<u32, Vec<RawFinding>> = HashMap::new();
    for r in raw {
        by_file.entry(r.file).or_default().push(r);
    }
    let mut texts: HashMap<u32, (String, LineIndex)> = HashMap::new();
    let mut needed: Vec<u32> = by_file.keys().copied().collect();
    for r in by_file.values().flatten() {
        needed.extend(r.chain.iter().chain(&r.related).map(|s| s.file));
    }
    needed.sort_unstable();
    needed.dedup();
    for file in needed {
        let path = &paths[file as usize];
        let Some(text) = analysed_text(loader, path, hashes[file as usize]) else {
            errors.push(FileError {
                kind: ErrorKind::IoError,
                path: path.clone(),
                line: None,
                column: None,
                message: "file changed or vanished during the run".to_string(),
            });
            continue;
        };
        texts.insert(file, text);
    }
    let mut out = Vec::new();
    for (file, list) in by_file {
        let Some((text, index)) = texts.get(&file) else { continue };
        let path = &paths[file as usize];
        for r in list {
            let location = index.location(text, path, r.span);
            let snippet = lines::normalized_snippet(text, r.span);
            let chain = r
                .chain
                .iter()
                .filter_map(|step| {
                    let (t, idx) = texts.get(&step.file)?;
                    let (line, column) = idx.line_col(t, step.span.start);
                    Some(ChainStep {
                        function: step.function.clone(),
                        path: paths[step.file as usize].clone(),
                        line,
                        column,
                    })
                })
                .collect();
            let related = r
                .related
                .iter()
                .filter_map(|step| {
                    let (t, idx) = texts.get(&step.file)?;
                    let (line, column) = idx.line_col(t, step.span.start);
                    Some(Related {
                        message: step.function.clone(),
                        path: paths[step.file as usize].clone(),
                        line,
                        column,
                    })
                })
                .collect();
            let fix = r.replace_callee.as_deref().and_then(|twin| awaited_twin(text, r.span, twin));
            out.push(Finding {
                rule: r.rule,
                severity: r.severity,
                message: r.message,
                location,
                function: r.function,
                chain,
                related,
                help: r.help,
                fix,
                snippet,
                fingerprint: String::new(),
            });
        }
    }
    out.sort_by(|a, b| {
        (&a.location.path, a.location.byte_start, a.location.byte_end, a.rule, &a.message).cmp(&(
            &b.location.path,
            b.location.byte_start,
            b.location.byte_end,
            b.rule,
            &b.message,
        ))
    });
    out.dedup_by(|a, b| a.rule == b.rule && a.location == b.location && a.message == b.message);
    assign_fingerprints(&mut out);
    out
}

/// `path::to::f(args)` as `twin(args).await`: the text of the call from its first `(` on is kept
/// as written. Only when the text before it is a plain path, so nothing but the callee changes.
fn awaited_twin(text: &str, span: parse::facts::ByteSpan, twin: &str) -> Option<Fix> {
    let call = text.get(span.start as usize..span.end as usize)?;
    let open = call.find('(')?;
    let callee = &call[..open];
    let plain = !callee.trim().is_empty()
        && callee.chars().all(|c| c.is_alphanumeric() || c == '_' || c == ':' || c.is_whitespace());
    (plain && call.ends_with(')')).then(|| Fix { replacement: format!("{twin}{}.await", &call[open..]) })
}

/// Fingerprints name a finding without line numbers, so they survive edits elsewhere in the file:
/// rule, path, enclosing function and the normalised code, plus an occurrence number when the same
/// code appears twice in one function.
fn assign_fingerprints(findings: &mut [Finding]) {
    let mut seen: HashMap<u64, u32> = HashMap::new();
    for f in findings.iter_mut() {
        let base = lines::fnv1a(&[f.rule, &f.location.path, &f.function, &f.snippet]);
        let n = seen.entry(base).or_insert(0);
        let occurrence = *n;
        *n += 1;
        let full = lines::fnv1a(&[&format!("{base:016x}"), &occurrence.to_string()]);
        f.fingerprint = format!("{full:016x}");
    }
}
