//! The call graph's part of the cache (`model::callgraph::SiteCache`): a file's classified calls
//! are reused only while the file and every other file's interface are unchanged, and a run that
//! reuses them reports exactly what a run without any cache does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use asynclint::workspace::{CrateKind, CrateSpec, WorkspaceInput};
use asynclint::{analyze, Analysis, FactsCache, MemoryLoader, Options};

/// Entries by (whether they are sites, path): key and blob.
type Entries = HashMap<(bool, String), (u64, Vec<u8>)>;

/// A cache in memory: what the last run left (`old`, read) and what this run writes (`new`).
#[derive(Default)]
struct MemoryCache {
    old: Entries,
    new: Mutex<Entries>,
    /// The files whose classified calls were reused.
    sites_reused: Mutex<Vec<String>>,
}

impl MemoryCache {
    /// The cache the next run starts from: this run's entries over the last run's.
    fn next(&self) -> MemoryCache {
        let mut old = self.old.clone();
        old.extend(self.new.lock().unwrap().drain());
        MemoryCache { old, ..Default::default() }
    }

    fn lookup(&self, sites: bool, path: &str, key: u64) -> Option<&[u8]> {
        let (k, blob) = self.old.get(&(sites, path.to_string()))?;
        (*k == key).then_some(blob.as_slice())
    }
}

impl FactsCache for MemoryCache {
    fn get(&self, path: &str, hash: u64) -> Option<&[u8]> {
        self.lookup(false, path, hash)
    }

    fn put(&self, path: &str, hash: u64, blob: Vec<u8>) {
        self.new.lock().unwrap().insert((false, path.to_string()), (hash, blob));
    }

    fn get_sites(&self, path: &str, key: u64) -> Option<&[u8]> {
        let blob = self.lookup(true, path, key)?;
        self.sites_reused.lock().unwrap().push(path.to_string());
        Some(blob)
    }

    fn put_sites(&self, path: &str, key: u64, blob: Vec<u8>) {
        self.new.lock().unwrap().insert((true, path.to_string()), (key, blob));
    }
}

const LIB: &str = "pub mod db;\npub mod handlers;\npub mod helpers;\n";
/// Database roles are kept with the classified calls: the warm run must still see this pool.
const DB: &str =
    "pub async fn connect() -> sqlx::PgPool {\n    sqlx::PgPool::connect(\"postgres://app\").await.unwrap()\n}\n";
const HANDLERS: &str = "use crate::helpers::load;\n\npub async fn handle() -> u32 {\n    load()\n}\n";
const FAST_HELPERS: &str = "pub fn load() -> u32 {\n    1\n}\n";

fn analyse(files: &[(&str, &str)], cache: Option<Arc<MemoryCache>>) -> Analysis {
    let mut loader = MemoryLoader::default();
    for (path, text) in files {
        loader.files.insert(path.to_string(), text.as_bytes().to_vec());
    }
    let mut paths: Vec<String> = files.iter().map(|(p, _)| p.to_string()).collect();
    paths.sort();
    let input = WorkspaceInput {
        crates: vec![CrateSpec {
            name: "app".into(),
            kind: CrateKind::Lib,
            root: "src/lib.rs".into(),
            package_dir: String::new(),
            deps: Some(Vec::new()),
        }],
        sizes: vec![0; paths.len()],
        files: paths,
    };
    let options = Options { cache: cache.map(|c| c as Arc<dyn FactsCache>), ..Default::default() };
    analyze(&input, &loader, &options).expect("the analysis must not fail")
}

fn report(a: &Analysis) -> Vec<String> {
    a.findings.iter().map(|f| format!("{}:{} {} {}", f.location.path, f.location.line, f.rule, f.message)).collect()
}

/// Runs with `cache` and without any, checks they agree, and returns the cache for the next run
/// and the files whose sites were reused, sorted.
fn run(files: &[(&str, &str)], cache: &MemoryCache) -> (MemoryCache, Vec<String>, Vec<String>) {
    let cache = Arc::new(cache.next());
    let cached = analyse(files, Some(cache.clone()));
    let fresh = analyse(files, None);
    assert_eq!(report(&cached), report(&fresh), "a run with the cache reports something else");
    let mut reused = cache.sites_reused.lock().unwrap().clone();
    reused.sort();
    (cache.next(), reused, report(&fresh))
}

fn blocking_findings(report: &[String]) -> Vec<&String> {
    report.iter().filter(|f| f.starts_with("src/handlers.rs") && f.contains("blocking-call-in-async")).collect()
}

#[test]
fn classified_calls_are_reused_only_while_what_they_depend_on_is_unchanged() {
    let start = MemoryCache::default();
    let v1 = [("src/lib.rs", LIB), ("src/db.rs", DB), ("src/handlers.rs", HANDLERS), ("src/helpers.rs", FAST_HELPERS)];
    let (cache, reused, first) = run(&v1, &start);
    assert!(reused.is_empty(), "a cold run reused {reused:?}");
    assert!(blocking_findings(&first).is_empty(), "{first:?}");
    assert!(first.iter().any(|f| f.starts_with("src/db.rs") && f.contains("panicking-pool-creation")), "{first:?}");

    // Unchanged: every file with fns is reused.
    let (cache, reused, second) = run(&v1, &cache);
    assert_eq!(reused, ["src/db.rs", "src/handlers.rs", "src/helpers.rs"]);
    assert_eq!(second, first);

    // An edit inside a body: only that file is classified again, and the handler that calls the
    // helper (whose own sites are reused) is now flagged through it.
    let slow_body = "pub fn load() -> u32 {\n    std::thread::sleep(std::time::Duration::from_millis(5));\n    1\n}\n";
    let v2 = [("src/lib.rs", LIB), ("src/db.rs", DB), ("src/handlers.rs", HANDLERS), ("src/helpers.rs", slow_body)];
    let (cache, reused, third) = run(&v2, &cache);
    assert_eq!(reused, ["src/db.rs", "src/handlers.rs"]);
    assert_eq!(blocking_findings(&third).len(), 1, "{third:?}");

    // An edit to what another file sees: `load` is now re-exported from a module below, after a
    // fn that takes its old position. The handler's call resolves elsewhere, so no file may reuse
    // its sites; kept ones would point the call at `fast`, which does not block.
    let moved = "pub fn fast() -> u32 {\n    1\n}\n\nmod inner {\n    pub fn load() -> u32 {\n        \
                 std::thread::sleep(std::time::Duration::from_millis(5));\n        1\n    }\n}\n\npub use inner::load;\n";
    let v3 = [("src/lib.rs", LIB), ("src/db.rs", DB), ("src/handlers.rs", HANDLERS), ("src/helpers.rs", moved)];
    let (_, reused, fourth) = run(&v3, &cache);
    assert!(reused.is_empty(), "sites reused across an interface change: {reused:?}");
    assert_eq!(blocking_findings(&fourth).len(), 1, "{fourth:?}");
}

/// Whether a fn is an offload wrapper depends on its body, and decides where the closures its
/// callers give it run: a body edit that makes it one (or not) must reach the callers' sites.
#[test]
fn an_offload_wrapper_edited_in_its_body_reclassifies_its_callers() {
    let lib = "pub mod jobs;\npub mod offload;\n";
    let jobs = "pub async fn nightly() {\n    crate::offload::run_off(|| {\n        \
                std::thread::sleep(std::time::Duration::from_secs(1));\n        1\n    });\n}\n";
    let wrapper =
        |body: &str| format!("pub fn run_off<F: FnOnce() -> u32 + Send + 'static>(f: F) {{\n    {body}\n}}\n");
    let (offloads, runs_in_place) = (wrapper("tokio::task::spawn_blocking(f);"), wrapper("std::mem::drop(f);"));
    let run_version = |wrapper: &str, cache: &MemoryCache| {
        run(&[("src/lib.rs", lib), ("src/jobs.rs", jobs), ("src/offload.rs", wrapper)], cache)
    };
    let (cache, _, first) = run_version(&offloads, &MemoryCache::default());
    assert!(first.iter().all(|f| !f.contains("blocking-call-in-async")), "{first:?}");
    let (cache, reused, second) = run_version(&runs_in_place, &cache);
    assert!(!reused.contains(&"src/jobs.rs".to_string()), "the caller's sites were reused: {reused:?}");
    assert!(second.iter().any(|f| f.starts_with("src/jobs.rs") && f.contains("blocking-call-in-async")), "{second:?}");
    let (_, _, third) = run_version(&offloads, &cache);
    assert_eq!(third, first);
}

#[test]
fn damaged_classified_calls_are_not_trusted() {
    let v1 = [("src/lib.rs", LIB), ("src/db.rs", DB), ("src/handlers.rs", HANDLERS), ("src/helpers.rs", FAST_HELPERS)];
    let (cache, _, reference) = run(&v1, &MemoryCache::default());
    let sites: Vec<(bool, String)> = cache.old.keys().filter(|(sites, _)| *sites).cloned().collect();
    assert!(!sites.is_empty(), "no classified calls were kept");
    for key in sites {
        let (k, blob) = cache.old[&key].clone();
        let mut damages: Vec<Vec<u8>> = vec![Vec::new(), blob[..blob.len() / 2].to_vec(), [&blob[..], &[7]].concat()];
        for at in 0..blob.len() {
            for delta in [1u8, 0x80, 0xff] {
                let mut d = blob.clone();
                d[at] = d[at].wrapping_add(delta);
                damages.push(d);
            }
        }
        for damaged in damages {
            let mut old = cache.old.clone();
            old.insert(key.clone(), (k, damaged.clone()));
            let damaged_cache = Arc::new(MemoryCache { old, ..Default::default() });
            // Whatever the damage, the run neither panics nor reads an index out of range;
            // findings may differ only where the damage still decodes to valid sites.
            let a = analyse(&v1, Some(damaged_cache));
            assert!(a.errors.is_empty(), "{:?}", a.errors);
        }
    }
    assert!(blocking_findings(&reference).is_empty());
}

// ---- property: random workspaces and edits ---------------------------------------------------------

use proptest::prelude::*;

const MODULES: [&str; 3] = ["a", "b", "c"];
const NAMES: [&str; 3] = ["load", "save", "run"];

/// One item of a generated module: a kind of item, a name, another module, a body.
type ItemChoice = (u8, usize, usize, u8);

fn body(choice: u8, other: &str, name: &str) -> String {
    match choice % 5 {
        0 => "1".to_string(),
        1 => "std::thread::sleep(std::time::Duration::from_millis(1));\n    1".to_string(),
        2 => format!("crate::{other}::{name}()"),
        3 => format!("{name}()"),
        _ => "std::fs::read(\"x\").map(|b| b.len() as u32).unwrap_or(0)".to_string(),
    }
}

/// A module's text from its items. Names may clash or resolve nowhere: the property is only that
/// the cache changes nothing, whatever the code means.
fn render(items: &[ItemChoice]) -> String {
    let mut out = String::new();
    for &(kind, name, other, b) in items {
        let (name, other) = (NAMES[name], MODULES[other]);
        let text = match kind % 9 {
            0 => format!("pub fn {name}() -> u32 {{\n    {}\n}}\n", body(b, other, name)),
            1 => format!("pub async fn {name}_async() -> u32 {{\n    {}\n}}\n", body(b, other, name)),
            2 => format!("pub use crate::{other}::{name};\n"),
            3 => format!("use crate::{other}::*;\n"),
            4 => format!("mod inner_{name} {{\n    pub fn {name}() -> u32 {{\n        {}\n    }}\n}}\npub use inner_{name}::{name};\n", body(b, other, name)),
            5 => format!("pub async fn pool_{name}() -> sqlx::PgPool {{\n    sqlx::PgPool::connect(\"postgres://x\").await.unwrap()\n}}\n"),
            6 => format!("pub async fn call_{name}() -> u32 {{\n    crate::{other}::{name}()\n}}\n"),
            // An offload wrapper or not, by its body alone: what the callers' closures run on
            // changes with a body edit in another file.
            7 => {
                let inner = if b % 2 == 0 { "tokio::task::spawn_blocking(f);" } else { "std::mem::drop(f);" };
                format!("pub fn offload_{name}<F: FnOnce() -> u32 + Send + 'static>(f: F) {{\n    {inner}\n}}\n")
            }
            _ => format!(
                "pub async fn use_{name}() {{\n    crate::{other}::offload_{name}(|| {{\n        \
                 std::thread::sleep(std::time::Duration::from_millis(1));\n        1\n    }});\n}}\n"
            ),
        };
        out.push_str(&text);
    }
    out
}

fn items() -> impl Strategy<Value = Vec<ItemChoice>> {
    proptest::collection::vec((any::<u8>(), 0..NAMES.len(), 0..MODULES.len(), any::<u8>()), 0..6)
}

/// An edit: the module, whether only bodies change, and the new items (or bodies).
type Edit = (usize, bool, Vec<ItemChoice>);

/// A workspace (three modules), then edits: each replaces one module's text, or only the body
/// choices of its items (which keeps its interface).
fn workspace_and_edits() -> impl Strategy<Value = (Vec<Vec<ItemChoice>>, Vec<Edit>)> {
    let modules = proptest::collection::vec(items(), MODULES.len());
    let edits = proptest::collection::vec((0..MODULES.len(), any::<bool>(), items()), 1..4);
    (modules, edits)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        failure_persistence: None,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    /// Whatever the workspace and however it is edited, a run with the cache reports what a run
    /// without one does (`run` asserts it), and an unchanged tree reuses every file with fns.
    #[test]
    fn cached_runs_report_what_fresh_runs_do((mut modules, edits) in workspace_and_edits()) {
        let lib = "pub mod a;\npub mod b;\npub mod c;\n".to_string();
        let files = |modules: &[Vec<ItemChoice>]| -> Vec<(String, String)> {
            let mut v = vec![("src/lib.rs".to_string(), lib.clone())];
            for (m, items) in MODULES.iter().zip(modules) {
                v.push((format!("src/{m}.rs"), render(items)));
            }
            v
        };
        let mut cache = MemoryCache::default();
        let first = files(&modules);
        let refs: Vec<(&str, &str)> = first.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
        let (next, _, _) = run(&refs, &cache);
        let (next, reused, _) = run(&refs, &next);
        let with_fns = MODULES.iter().zip(&modules).filter(|(_, items)| items.iter().any(|i| ![2u8, 3].contains(&(i.0 % 9)))).count();
        prop_assert_eq!(reused.len(), with_fns, "{:?}", reused);
        cache = next;
        for (module, body_only, new_items) in edits {
            if body_only {
                // The same items with other bodies.
                for (item, new) in modules[module].iter_mut().zip(new_items.iter().cycle()) {
                    item.3 = new.3;
                }
            } else {
                modules[module] = new_items;
            }
            let now = files(&modules);
            let refs: Vec<(&str, &str)> = now.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
            let (next, _, _) = run(&refs, &cache);
            cache = next;
        }
    }
}
