//! What the walk found, as plain data: the crates of the workspace and the source files. The walk
//! fills it in from disk; tests build it by hand.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CrateKind {
    Lib,
    Bin,
    Test,
    Example,
    Bench,
    Build,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// The name the code uses (`pg` for `pg = { package = "postgres" }`), with `-` as `_`.
    pub name: String,
    /// The real crate name, with `-` as `_`.
    pub krate: String,
}

#[derive(Clone, Debug)]
pub struct CrateSpec {
    /// The crate's name as code refers to it, with `-` as `_`.
    pub name: String,
    pub kind: CrateKind,
    /// The crate root file, relative to the checked root, with `/`.
    pub root: String,
    /// The package folder, relative to the checked root (`""` for the root itself).
    pub package_dir: String,
    /// The declared dependencies; `None` when no manifest says (a lone file).
    pub deps: Option<Vec<Dependency>>,
}

/// The input of an analysis: every crate found and every `.rs` file to analyse.
#[derive(Clone, Debug, Default)]
pub struct WorkspaceInput {
    pub crates: Vec<CrateSpec>,
    /// Relative paths with `/`, sorted.
    pub files: Vec<String>,
    /// File sizes in bytes, when known (parallel to `files`): the largest files are parsed first.
    pub sizes: Vec<u64>,
}

/// Joins and normalises a relative path (`a/b/../c.rs` -> `a/c.rs`); `None` if it leaves the root.
pub fn join_rel(dir: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in rel.split(['/', '\\']) {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// The folder part of a relative path (`src/a.rs` -> `src`).
pub fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}
