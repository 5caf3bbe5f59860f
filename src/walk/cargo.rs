//! Reads Cargo manifests into crate specs: the package's targets (lib, bins, tests, examples,
//! benches, build script), found the way cargo finds them, and its dependencies with renames.

use std::collections::{BTreeSet, HashMap};

use crate::workspace::{join_rel, CrateKind, CrateSpec, Dependency};

pub struct Manifest {
    /// The folder of the manifest, relative to the checked root (`""` for the root).
    pub dir: String,
    pub doc: toml::Table,
}

impl Manifest {
    pub fn parse(dir: String, text: &str) -> Result<Manifest, String> {
        let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| e.message().to_string())?;
        Ok(Manifest { dir, doc })
    }

    fn workspace_deps(&self) -> Option<&toml::Table> {
        self.doc.get("workspace")?.get("dependencies")?.as_table()
    }
}

fn underscore(s: &str) -> String {
    s.replace('-', "_")
}

/// The crates of every package manifest, given every `.rs` file found.
pub fn crates_of(manifests: &[Manifest], files: &BTreeSet<String>) -> Vec<CrateSpec> {
    let mut out = Vec::new();
    for m in manifests {
        let Some(package) = m.doc.get("package").and_then(|p| p.as_table()) else { continue };
        let Some(pkg_name) = package.get("name").and_then(|n| n.as_str()) else { continue };
        // The nearest manifest with `[workspace]` at or above this one gives `workspace = true` deps.
        let ws_deps = manifests
            .iter()
            .filter(|w| {
                w.workspace_deps().is_some()
                    && (w.dir.is_empty() || m.dir == w.dir || m.dir.starts_with(&format!("{}/", w.dir)))
            })
            .max_by_key(|w| w.dir.len())
            .and_then(|w| w.workspace_deps());
        let deps = dependencies(&m.doc, ws_deps);
        let rel = |p: &str| join_rel(&m.dir, p).unwrap_or_default();
        let exists = |p: &str| files.contains(p);
        let mut push = |name: String, kind: CrateKind, root: String| {
            if exists(&root) && !out.iter().any(|c: &CrateSpec| c.root == root) {
                out.push(CrateSpec { name, kind, root, package_dir: m.dir.clone(), deps: Some(deps.clone()) });
            }
        };
        let lib = m.doc.get("lib").and_then(|l| l.as_table());
        let lib_name = lib
            .and_then(|l| l.get("name"))
            .and_then(|n| n.as_str())
            .map(underscore)
            .unwrap_or_else(|| underscore(pkg_name));
        let lib_path =
            lib.and_then(|l| l.get("path")).and_then(|p| p.as_str()).map(rel).unwrap_or_else(|| rel("src/lib.rs"));
        push(lib_name, CrateKind::Lib, lib_path);
        for (section, kind, auto_dir) in [
            ("bin", CrateKind::Bin, "src/bin"),
            ("test", CrateKind::Test, "tests"),
            ("example", CrateKind::Example, "examples"),
            ("bench", CrateKind::Bench, "benches"),
        ] {
            if let Some(targets) = m.doc.get(section).and_then(|t| t.as_array()) {
                for t in targets {
                    let name = t.get("name").and_then(|n| n.as_str()).unwrap_or(pkg_name);
                    let path = match t.get("path").and_then(|p| p.as_str()) {
                        Some(p) => rel(p),
                        None => rel(&format!("{auto_dir}/{name}.rs")),
                    };
                    push(underscore(name), kind, path);
                }
            }
            if kind == CrateKind::Bin {
                push(underscore(pkg_name), kind, rel("src/main.rs"));
            }
            let prefix = format!("{}/", rel(auto_dir));
            // The files under the folder, from the sorted set: scanning all of them for each
            // manifest was quadratic, a fifth of a warm run on the bench corpus.
            let auto: Vec<(String, String)> = files
                .range::<str, _>((std::ops::Bound::Included(prefix.as_str()), std::ops::Bound::Unbounded))
                .take_while(|f| f.starts_with(&prefix))
                .filter_map(|f| {
                    let rest = f.strip_prefix(&prefix)?;
                    match rest.split('/').collect::<Vec<_>>().as_slice() {
                        [file] if file.ends_with(".rs") => Some((file.trim_end_matches(".rs").to_string(), f.clone())),
                        [dir, "main.rs"] => Some((dir.to_string(), f.clone())),
                        _ => None,
                    }
                })
                .collect();
            for (name, path) in auto {
                push(underscore(&name), kind, path);
            }
        }
        let build = match package.get("build") {
            Some(toml::Value::String(p)) => Some(rel(p)),
            Some(toml::Value::Boolean(false)) => None,
            _ => Some(rel("build.rs")),
        };
        if let Some(b) = build {
            push("build_script_build".to_string(), CrateKind::Build, b);
        }
    }
    out
}

fn dependencies(doc: &toml::Table, ws_deps: Option<&toml::Table>) -> Vec<Dependency> {
    let mut tables: Vec<&toml::Table> = Vec::new();
    for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(t) = doc.get(key).and_then(|t| t.as_table()) {
            tables.push(t);
        }
    }
    if let Some(targets) = doc.get("target").and_then(|t| t.as_table()) {
        for cfg in targets.values() {
            for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
                if let Some(t) = cfg.get(key).and_then(|t| t.as_table()) {
                    tables.push(t);
                }
            }
        }
    }
    let mut by_name: HashMap<String, String> = HashMap::new();
    for table in tables {
        for (key, value) in table {
            let mut package = value.get("package").and_then(|p| p.as_str()).map(str::to_string);
            if value.get("workspace").and_then(|w| w.as_bool()) == Some(true) {
                if let Some(ws) = ws_deps.and_then(|w| w.get(key)) {
                    package = package.or_else(|| ws.get("package").and_then(|p| p.as_str()).map(str::to_string));
                }
            }
            let real = package.unwrap_or_else(|| key.clone());
            by_name.insert(underscore(key), underscore(&real));
        }
    }
    let mut deps: Vec<Dependency> = by_name.into_iter().map(|(name, krate)| Dependency { name, krate }).collect();
    deps.sort_by(|a, b| a.name.cmp(&b.name));
    deps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_renamed_dependencies() {
        let manifest = Manifest::parse(
            "app".into(),
            r#"
            [package]
            name = "my-app"
            [dependencies]
            pg = { package = "postgres", version = "0.19" }
            tokio = "1"
            "#,
        )
        .unwrap();
        let files: BTreeSet<String> = [
            "app/src/main.rs",
            "app/src/lib.rs",
            "app/src/bin/tool.rs",
            "app/tests/it.rs",
            "app/examples/demo/main.rs",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let crates = crates_of(&[manifest], &files);
        let roots: Vec<(&str, CrateKind, &str)> =
            crates.iter().map(|c| (c.name.as_str(), c.kind, c.root.as_str())).collect();
        assert_eq!(
            roots,
            vec![
                ("my_app", CrateKind::Lib, "app/src/lib.rs"),
                ("my_app", CrateKind::Bin, "app/src/main.rs"),
                ("tool", CrateKind::Bin, "app/src/bin/tool.rs"),
                ("it", CrateKind::Test, "app/tests/it.rs"),
                ("demo", CrateKind::Example, "app/examples/demo/main.rs"),
            ]
        );
        let deps = crates[0].deps.as_ref().unwrap();
        assert!(deps.contains(&Dependency { name: "pg".into(), krate: "postgres".into() }));
    }
}
