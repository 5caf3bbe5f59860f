//! The walk: finds the `.rs` files and Cargo manifests under the paths the user named, the way
//! ripgrep does (`.gitignore` respected, hidden folders and `target/` skipped, symlinks followed
//! only inside the root, loops detected), and reads the manifests into crate specs. Together with
//! `FsLoader`, this is the only disk access outside `main`.

pub mod cargo;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::findings::{ErrorKind, FileError};
use crate::workspace::{CrateSpec, WorkspaceInput};
use crate::SourceLoader;

pub struct WalkOptions {
    /// Do not read `.gitignore` and other ignore files.
    pub no_ignore: bool,
}

pub struct Walked {
    /// The folder paths are shown relative to.
    pub base: PathBuf,
    pub input: WorkspaceInput,
    pub errors: Vec<FileError>,
}

#[derive(Debug)]
pub struct WalkError(pub String);

/// Reads files from disk, relative to the walk's base.
pub struct FsLoader {
    pub base: PathBuf,
}

impl SourceLoader for FsLoader {
    fn load(&self, path: &str) -> Result<Vec<u8>, String> {
        std::fs::read(self.base.join(path)).map_err(|e| e.to_string())
    }
}

pub fn walk(paths: &[PathBuf], options: &WalkOptions) -> Result<Walked, WalkError> {
    let cwd = std::env::current_dir().map_err(|e| WalkError(format!("cannot read the current directory: {e}")))?;
    for p in paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(WalkError(format!("path does not exist: {}", p.display())));
        }
    }
    let base = match paths {
        [one] if one.is_dir() => one.clone(),
        _ => cwd.clone(),
    };
    let base_canon = base.canonicalize().unwrap_or_else(|_| base.clone());
    let mut files: BTreeSet<String> = BTreeSet::new();
    let mut sizes: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut manifests: Vec<(String, PathBuf)> = Vec::new();
    let mut errors = Vec::new();
    for root in paths {
        let root_canon = root.canonicalize().unwrap_or_else(|_| root.clone());
        if root.is_file() {
            // A file named on the command line is analysed even when ignore files would skip it.
            files.insert(rel_display(&base_canon, &root_canon, root));
            continue;
        }
        if !root.is_dir() {
            // A FIFO, a socket or a device: reading it could block forever, so it is named and
            // skipped rather than silently dropped.
            errors.push(FileError {
                kind: ErrorKind::IoError,
                path: rel_display(&base_canon, &root_canon, root),
                line: None,
                column: None,
                message: "not a regular file or folder (a FIFO, socket or device): not read".to_string(),
            });
            continue;
        }
        if let Some((dir, manifest)) = enclosing_manifest(&root_canon) {
            if dir != root_canon {
                manifests.push((rel_display(&base_canon, &dir, &dir), manifest));
            }
        }
        let mut builder = ignore::WalkBuilder::new(root);
        let inside = root_canon.clone();
        // Folders reached through a link: files under them get their canonical path, so that a
        // file reachable two ways is analysed once.
        let linked: std::sync::Arc<std::sync::Mutex<Vec<PathBuf>>> = Default::default();
        let linked_in_filter = linked.clone();
        builder
            .hidden(true)
            .follow_links(true)
            .git_ignore(!options.no_ignore)
            .git_global(!options.no_ignore)
            .git_exclude(!options.no_ignore)
            .ignore(!options.no_ignore)
            .parents(!options.no_ignore)
            .require_git(false)
            .sort_by_file_name(|a, b| a.cmp(b))
            .filter_entry(move |entry| {
                // Links are followed only while they stay inside the root, files and folders alike.
                if entry.path_is_symlink() {
                    match entry.path().canonicalize() {
                        Ok(target) if target.starts_with(&inside) => {
                            if entry.file_type().is_some_and(|t| t.is_dir()) {
                                linked_in_filter
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .push(entry.path().to_path_buf());
                            }
                        }
                        // A broken link is kept, so that the walk reports it.
                        Err(_) => return true,
                        Ok(_) => return false,
                    }
                }
                // `target/` beside a manifest is cargo's build folder; a module folder named
                // `target` elsewhere is code.
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                !(is_dir
                    && entry.file_name() == "target"
                    && entry.path().parent().is_some_and(|p| p.join("Cargo.toml").is_file()))
            });
        // Walk on every core; entries arrive in any order, and are sorted below.
        let found: std::sync::Mutex<Vec<Found>> = std::sync::Mutex::new(Vec::new());
        let (root_given, base_given, cwd_ref) = (root.clone(), base.clone(), &cwd);
        builder.build_parallel().run(|| {
            let found = &found;
            let (root_given, base_given, base_canon, linked) = (&root_given, &base_given, &base_canon, &linked);
            Box::new(move |entry| {
                let item = match entry {
                    Ok(entry) => {
                        let via_link = {
                            let dirs = linked.lock().unwrap_or_else(|e| e.into_inner());
                            !dirs.is_empty()
                                && (entry.path_is_symlink() || dirs.iter().any(|d| entry.path().starts_with(d)))
                        };
                        classify_entry(&entry, root_given, base_given, base_canon, cwd_ref, via_link)
                    }
                    Err(e) => Some(Found::Error(walk_error(base_canon, &e))),
                };
                if let Some(item) = item {
                    found.lock().unwrap_or_else(|e| e.into_inner()).push(item);
                }
                ignore::WalkState::Continue
            })
        });
        for item in found.into_inner().unwrap_or_else(|e| e.into_inner()) {
            match item {
                Found::Source(rel, size) => {
                    sizes.insert(rel.clone(), size);
                    files.insert(rel);
                }
                Found::Manifest(dir, path) => manifests.push((dir, path)),
                Found::Error(e) => errors.push(e),
            }
        }
    }
    let mut parsed = Vec::new();
    manifests.sort();
    manifests.dedup();
    for (dir, path) in manifests {
        let shown = if dir.is_empty() { "Cargo.toml".to_string() } else { format!("{dir}/Cargo.toml") };
        match std::fs::read_to_string(&path) {
            Ok(text) => match cargo::Manifest::parse(dir, &text) {
                Ok(m) => parsed.push(m),
                Err(e) => errors.push(FileError {
                    kind: ErrorKind::IoError,
                    path: shown,
                    line: None,
                    column: None,
                    message: format!("cannot read manifest: {e}"),
                }),
            },
            Err(e) => errors.push(FileError {
                kind: ErrorKind::IoError,
                path: shown,
                line: None,
                column: None,
                message: e.to_string(),
            }),
        }
    }
    let crates: Vec<CrateSpec> = cargo::crates_of(&parsed, &files);
    let files: Vec<String> = files.into_iter().collect();
    let sizes = files.iter().map(|f| sizes.get(f).copied().unwrap_or(0)).collect();
    Ok(Walked { base, input: WorkspaceInput { crates, files, sizes }, errors })
}

enum Found {
    Source(String, u64),
    Manifest(String, PathBuf),
    Error(FileError),
}

fn classify_entry(
    entry: &ignore::DirEntry,
    root: &Path,
    base: &Path,
    base_canon: &Path,
    cwd: &Path,
    via_link: bool,
) -> Option<Found> {
    if !entry.file_type()?.is_file() {
        return None;
    }
    let path = entry.path();
    let fast = if via_link || entry.path_is_symlink() { None } else { fast_rel(path, root, base, cwd) };
    let rel = fast.unwrap_or_else(|| rel_display(base_canon, &canon_parent(path), path));
    if path.extension().is_some_and(|e| e == "rs") {
        Some(Found::Source(rel, entry.metadata().map_or(0, |m| m.len())))
    } else if entry.file_name() == "Cargo.toml" {
        Some(Found::Manifest(crate::workspace::parent_dir(&rel).to_string(), path.to_path_buf()))
    } else {
        None
    }
}

/// The path relative to the base without touching the disk, when the walk reached it through no
/// link: under the base as given, or under a relative root when the base is the current folder.
fn fast_rel(path: &Path, root: &Path, base: &Path, cwd: &Path) -> Option<String> {
    let rel = match path.strip_prefix(base) {
        Ok(r) => r,
        Err(_) if base == cwd && root.is_relative() => path,
        Err(_) => return None,
    };
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            std::path::Component::Normal(p) => parts.push(p.to_string_lossy()),
            std::path::Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// The nearest folder at or above `dir` with a Cargo.toml that is a package.
fn enclosing_manifest(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let start = if dir.is_file() { dir.parent()? } else { dir };
    for d in start.ancestors() {
        let m = d.join("Cargo.toml");
        if m.is_file() {
            let text = std::fs::read_to_string(&m).ok()?;
            if text.contains("[package]") {
                return Some((d.to_path_buf(), m));
            }
            return None;
        }
    }
    None
}

fn canon_parent(path: &Path) -> PathBuf {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => {
            parent.canonicalize().map(|p| p.join(name)).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

/// A path relative to the base, with `/`; paths outside the base are shown as given.
fn rel_display(base: &Path, canon: &Path, given: &Path) -> String {
    match canon.strip_prefix(base) {
        Ok(rel) => {
            let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            parts.join("/")
        }
        Err(_) => given.to_string_lossy().replace('\\', "/"),
    }
}

fn walk_error(base: &Path, e: &ignore::Error) -> FileError {
    let (path, mut message) = describe_walk_error(e);
    if let Some(p) = &path {
        if std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()) && std::fs::metadata(p).is_err() {
            message = "broken symlink: its target does not exist".to_string();
        }
    }
    let path = path.map(|p| rel_display(base, &canon_parent(&p), &p)).unwrap_or_default();
    FileError { kind: ErrorKind::IoError, path, line: None, column: None, message }
}

fn describe_walk_error(e: &ignore::Error) -> (Option<PathBuf>, String) {
    match e {
        ignore::Error::WithPath { path, err } => (Some(path.clone()), describe_walk_error(err).1),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => describe_walk_error(err),
        ignore::Error::Loop { child, ancestor } => {
            (Some(child.clone()), format!("symlink loop: points back to {}; not followed", ancestor.display()))
        }
        ignore::Error::Io(io) => (None, io.to_string()),
        other => (None, other.to_string()),
    }
}
