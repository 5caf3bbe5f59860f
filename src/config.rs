//! The user's configuration: `asynclint.toml`, `.asynclint.toml`, or the
//! `[workspace.metadata.asynclint]` / `[package.metadata.asynclint]` table of a `Cargo.toml`.
//!
//! `Config::parse` and `Config::from_manifest` are pure: text in, a checked `Config` out, or an
//! error that names the file, the key and the line. `discover` and `load`, at the bottom, are the
//! only IO here (they find and read the file); `main` calls them, the analysis never does.
//!
//! Precedence, applied by `main`: command-line flags > `--config PATH` > the discovered file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::Spanned;

use crate::catalogue::{ApiEntry, OffloadEntry};
use crate::findings::{Finding, Severity};
use crate::lines::LineIndex;
use crate::rules;

/// Config file names, in the order they are looked for in each folder (before `Cargo.toml`).
pub const FILE_NAMES: [&str; 2] = ["asynclint.toml", ".asynclint.toml"];

/// A checked configuration. Rule ids are the registry's own `&'static str`s.
#[derive(Debug, Default)]
pub struct Config {
    /// The file it came from, as shown in messages.
    pub file: String,
    /// `select`: the rules to run instead of all of them.
    pub select: Option<Vec<&'static str>>,
    /// `extend-select`: rules added to `select` (or to the default set).
    pub extend_select: Vec<&'static str>,
    /// `ignore`: rules taken out.
    pub ignore: Vec<&'static str>,
    /// `[severity]`: per-rule severity overrides.
    pub severity: BTreeMap<&'static str, Severity>,
    /// `[per-path-ignores]`: rules ignored in files matching globs.
    pub per_path_ignores: PathIgnores,
    /// `[[blocking-api]]`: the user's own blocking functions and methods.
    pub blocking_apis: Vec<ApiEntry>,
    /// `[[offload]]`: the user's own functions that run a closure off the async worker.
    pub offload: Vec<OffloadEntry>,
    /// `fail-on`: the default of `--fail-on`.
    pub fail_on: Option<Severity>,
    /// `require-reason`: a suppression directive without ` -- reason` is reported.
    pub require_reason: bool,
}

/// Globs of `[per-path-ignores]`, matched against paths relative to the checked root (the paths
/// findings show). A glob that matches a folder covers every file under it.
#[derive(Debug)]
pub struct PathIgnores {
    globs: GlobSet,
    /// The rules of each glob, parallel to the globs of the set.
    rules: Vec<Vec<&'static str>>,
}

impl Default for PathIgnores {
    fn default() -> PathIgnores {
        PathIgnores { globs: GlobSet::empty(), rules: Vec::new() }
    }
}

impl PathIgnores {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `rule` is ignored in the file at `path` (relative, with `/`).
    pub fn ignores(&self, path: &str, rule: &str) -> bool {
        if self.rules.is_empty() {
            return false;
        }
        let mut candidate = path;
        loop {
            if self.globs.matches(candidate).iter().any(|&i| self.rules[i].contains(&rule)) {
                return true;
            }
            match candidate.rsplit_once('/') {
                Some((dir, _)) => candidate = dir,
                None => return false,
            }
        }
    }
}

/// A bad configuration: where, which key, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based line and column, when the problem has a place in the file.
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// The dotted key, as written in the file (`select`, `blocking-api[0].severity`).
    pub key: Option<String>,
    pub message: String,
    /// The text of the line, for context.
    pub source_line: Option<String>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid configuration in {}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
            if let Some(column) = self.column {
                write!(f, ", column {column}")?;
            }
        }
        if let Some(key) = &self.key {
            write!(f, ", key `{key}`")?;
        }
        write!(f, ": {}", self.message)?;
        if let (Some(line), Some(text)) = (self.line, &self.source_line) {
            write!(f, "\n  {line} | {}", crate::report::escape_for_terminal(text))?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

// ---- the file's shape ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    select: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    extend_select: Vec<Spanned<String>>,
    #[serde(default)]
    ignore: Vec<Spanned<String>>,
    // Values as plain TOML, checked by hand, so that an error names the key they belong to.
    #[serde(default)]
    severity: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    per_path_ignores: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    blocking_api: Vec<Spanned<RawApi>>,
    #[serde(default)]
    offload: Vec<Spanned<RawOffload>>,
    fail_on: Option<Spanned<String>>,
    #[serde(default)]
    require_reason: bool,
}

/// `[[blocking-api]]`: the fields of `rules/blocking-apis.toml`'s `[[api]]`, with `kind` and
/// `help` optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(rename = "type")]
    type_: Option<String>,
    #[serde(rename = "trait")]
    trait_: Option<String>,
    #[serde(default, alias = "arg-types")]
    arg_types: Vec<String>,
    #[serde(default)]
    methods: Vec<String>,
    kind: Option<String>,
    help: Option<String>,
    replace: Option<String>,
    severity: Option<Severity>,
    via: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOffload {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(rename = "type")]
    type_: Option<String>,
    #[serde(default)]
    methods: Vec<String>,
}

/// The parts of a Cargo.toml that can hold the configuration; everything else is skipped.
#[derive(Deserialize)]
struct Manifest {
    package: Option<MetadataHolder>,
    workspace: Option<MetadataHolder>,
}

#[derive(Deserialize)]
struct MetadataHolder {
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    asynclint: Option<RawConfig>,
}

const DEFAULT_HELP: &str = "`{name}` blocks (a `[[blocking-api]]` of your asynclint configuration): call it inside \
    `tokio::task::spawn_blocking(move || ..)` and `.await` the handle, or use an async equivalent";

/// Where errors point: the file's name and text, and the key prefix of the table (for Cargo.toml).
struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    prefix: &'a str,
}

impl Ctx<'_> {
    fn error(&self, offset: Option<usize>, key: Option<&str>, message: impl Into<String>) -> ConfigError {
        let (line, column, source_line) = match offset {
            Some(at) => {
                let index = LineIndex::new(self.text);
                let (line, column) = index.line_col(self.text, at.min(self.text.len()) as u32);
                (Some(line), Some(column), Some(index.line_text(self.text, line).to_string()))
            }
            None => (None, None, None),
        };
        ConfigError {
            file: self.file.to_string(),
            line,
            column,
            key: key.map(|k| format!("{}{k}", self.prefix)),
            message: message.into(),
            source_line,
        }
    }

    fn rule_id(&self, key: &str, id: &Spanned<String>) -> Result<&'static str, ConfigError> {
        match rules::by_id(id.get_ref()) {
            Some(r) => Ok(r.meta().id),
            None => Err(self.error(Some(id.span().start), Some(key), unknown_rule(id.get_ref()))),
        }
    }

    fn rule_ids(&self, key: &str, ids: &[Spanned<String>]) -> Result<Vec<&'static str>, ConfigError> {
        ids.iter().map(|id| self.rule_id(key, id)).collect()
    }

    fn severity(&self, key: &str, value: &Spanned<toml::Value>) -> Result<Severity, ConfigError> {
        value.get_ref().as_str().and_then(Severity::parse).ok_or_else(|| {
            self.error(
                Some(value.span().start),
                Some(key),
                format!("expected \"critical\", \"high\" or \"medium\", found {}", describe(value.get_ref())),
            )
        })
    }

    fn rust_paths(&self, key: &str, at: usize, paths: &[String]) -> Result<(), ConfigError> {
        for p in paths {
            let ok = !p.is_empty()
                && p.split("::").all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_alphanumeric() || c == '_'));
            if !ok {
                let message = format!("`{p}` is not a Rust path such as `my_crate::db::query_sync`");
                return Err(self.error(Some(at), Some(key), message));
            }
            if let Some(rest) = ["crate::", "self::", "super::"].iter().find_map(|s| p.strip_prefix(s)) {
                let message = format!(
                    "`{p}`: start the path with the crate's name (`my_crate::{rest}`), as other crates name it"
                );
                return Err(self.error(Some(at), Some(key), message));
            }
        }
        Ok(())
    }
}

fn unknown_rule(id: &str) -> String {
    let known: Vec<&str> = rules::all().iter().map(|r| r.meta().id).collect();
    format!("unknown rule `{id}`; known rules: {}", known.join(", "))
}

fn describe(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("\"{s}\""),
        other => {
            let t = other.type_str();
            let article = if t.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
            format!("{article} {t}")
        }
    }
}

/// Deserializes the whole text; a syntax or shape error names its key and line.
fn deserialize<T: DeserializeOwned>(cx: &Ctx, text: &str) -> Result<T, ConfigError> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "")
            .replace("$__serde_spanned_private_value", "");
        let inner = e.into_inner();
        let message = inner.message().trim().replace('\n', ": ");
        let key = (!path.is_empty() && path != ".").then_some(path);
        // The key already carries the table's prefix when a Cargo.toml was read whole.
        let plain = Ctx { file: cx.file, text: cx.text, prefix: "" };
        plain.error(inner.span().map(|s| s.start), key.as_deref(), message)
    })
}

impl Config {
    /// Reads an `asynclint.toml`. `file` is the name errors show.
    pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
        let cx = Ctx { file, text, prefix: "" };
        let raw: RawConfig = deserialize(&cx, text)?;
        Config::check(&cx, raw)
    }

    /// Reads the `[workspace.metadata.asynclint]` or `[package.metadata.asynclint]` table of a
    /// Cargo.toml; `None` when it has neither.
    pub fn from_manifest(file: &str, text: &str) -> Result<Option<Config>, ConfigError> {
        let cx = Ctx { file, text, prefix: "" };
        let manifest: Manifest = deserialize(&cx, text)?;
        let table = |h: Option<MetadataHolder>| h.and_then(|h| h.metadata).and_then(|m| m.asynclint);
        match (table(manifest.workspace), table(manifest.package)) {
            (Some(_), Some(_)) => Err(cx.error(
                None,
                None,
                "both [workspace.metadata.asynclint] and [package.metadata.asynclint] are set; keep one",
            )),
            (Some(raw), None) => Config::check(&Ctx { prefix: "workspace.metadata.asynclint.", ..cx }, raw).map(Some),
            (None, Some(raw)) => Config::check(&Ctx { prefix: "package.metadata.asynclint.", ..cx }, raw).map(Some),
            (None, None) => Ok(None),
        }
    }

    fn check(cx: &Ctx, raw: RawConfig) -> Result<Config, ConfigError> {
        let mut config = Config { file: cx.file.to_string(), require_reason: raw.require_reason, ..Config::default() };
        if let Some(select) = &raw.select {
            config.select = Some(cx.rule_ids("select", select)?);
        }
        config.extend_select = cx.rule_ids("extend-select", &raw.extend_select)?;
        config.ignore = cx.rule_ids("ignore", &raw.ignore)?;
        for (id, value) in &raw.severity {
            let key = format!("severity.{}", id.get_ref());
            let rule = cx.rule_id(&key, id)?;
            config.severity.insert(rule, cx.severity(&key, value)?);
        }
        let mut globs = GlobSetBuilder::new();
        for (pattern, value) in &raw.per_path_ignores {
            let key = format!("per-path-ignores.\"{}\"", pattern.get_ref());
            let at = Some(pattern.span().start);
            let cleaned = pattern.get_ref().trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
            let glob = GlobBuilder::new(cleaned)
                .literal_separator(true)
                .build()
                .map_err(|e| cx.error(at, Some(&key), format!("bad glob: {}", e.kind())))?;
            let ids = match value.get_ref() {
                toml::Value::Array(items) => items
                    .iter()
                    .map(|item| match item.as_str() {
                        Some(s) => rules::by_id(s)
                            .map(|r| r.meta().id)
                            .ok_or_else(|| cx.error(Some(value.span().start), Some(&key), unknown_rule(s))),
                        None => Err(cx.error(
                            Some(value.span().start),
                            Some(&key),
                            format!("expected rule ids (strings), found {}", describe(item)),
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                other => {
                    let message = format!("expected a list of rule ids, found {}", describe(other));
                    return Err(cx.error(Some(value.span().start), Some(&key), message));
                }
            };
            globs.add(glob);
            config.per_path_ignores.rules.push(ids);
        }
        config.per_path_ignores.globs =
            globs.build().map_err(|e| cx.error(None, Some("per-path-ignores"), format!("bad glob: {e}")))?;
        for (i, entry) in raw.blocking_api.into_iter().enumerate() {
            let key = format!("blocking-api[{i}]");
            let at = entry.span().start;
            let e = entry.into_inner();
            let by_receiver = e.type_.is_some() || e.trait_.is_some() || !e.arg_types.is_empty();
            if e.paths.is_empty() && !by_receiver {
                let message = "needs `paths = [..]`, or `type` (or `trait`, or `arg_types`) with `methods = [..]`";
                return Err(cx.error(Some(at), Some(&key), message));
            }
            if by_receiver && e.methods.is_empty() {
                return Err(cx.error(Some(at), Some(&key), "`type`, `trait` and `arg_types` need `methods = [..]`"));
            }
            if !by_receiver && !e.methods.is_empty() {
                return Err(cx.error(Some(at), Some(&key), "`methods` needs the `type` (or `trait`) they belong to"));
            }
            cx.rust_paths(&key, at, &e.paths)?;
            cx.rust_paths(&key, at, e.type_.as_slice())?;
            cx.rust_paths(&key, at, e.trait_.as_slice())?;
            cx.rust_paths(&key, at, &e.arg_types)?;
            config.blocking_apis.push(ApiEntry {
                paths: e.paths,
                type_: e.type_,
                trait_: e.trait_,
                arg_types: e.arg_types,
                methods: e.methods,
                kind: e.kind.unwrap_or_else(|| "custom".to_string()),
                help: e.help.unwrap_or_else(|| DEFAULT_HELP.to_string()),
                replace: e.replace,
                severity: e.severity,
                via: e.via,
                // A user's own API is never fixed mechanically: we cannot know its twin's types.
                fix: false,
            });
        }
        for (i, entry) in raw.offload.into_iter().enumerate() {
            let key = format!("offload[{i}]");
            let at = entry.span().start;
            let e = entry.into_inner();
            if e.paths.is_empty() && (e.type_.is_none() || e.methods.is_empty()) {
                return Err(cx.error(Some(at), Some(&key), "needs `paths = [..]`, or `type` with `methods = [..]`"));
            }
            if e.type_.is_none() && !e.methods.is_empty() {
                return Err(cx.error(Some(at), Some(&key), "`methods` needs the `type` they belong to"));
            }
            cx.rust_paths(&key, at, &e.paths)?;
            cx.rust_paths(&key, at, e.type_.as_slice())?;
            config.offload.push(OffloadEntry { paths: e.paths, type_: e.type_, methods: e.methods });
        }
        if let Some(fail_on) = &raw.fail_on {
            let s = Severity::parse(fail_on.get_ref()).ok_or_else(|| {
                let message = format!("expected \"critical\", \"high\" or \"medium\", found \"{}\"", fail_on.get_ref());
                cx.error(Some(fail_on.span().start), Some("fail-on"), message)
            })?;
            config.fail_on = Some(s);
        }
        Ok(config)
    }

    /// The rules to run, given `--select` from the command line (which wins when given): `None`
    /// runs every rule.
    pub fn rules_to_run(&self, cli_select: &[String]) -> Option<Vec<String>> {
        if !cli_select.is_empty() {
            return Some(cli_select.to_vec());
        }
        if self.select.is_none() && self.extend_select.is_empty() && self.ignore.is_empty() {
            return None;
        }
        let mut set: Vec<&str> = match &self.select {
            Some(s) => s.clone(),
            None => rules::all().iter().map(|r| r.meta().id).collect(),
        };
        for id in &self.extend_select {
            if !set.contains(id) {
                set.push(id);
            }
        }
        set.retain(|id| !self.ignore.contains(id));
        Some(set.into_iter().map(str::to_string).collect())
    }

    /// Drops the findings `[per-path-ignores]` ignores and applies `[severity]`.
    pub fn apply(&self, findings: &mut Vec<Finding>) {
        findings.retain(|f| !self.per_path_ignores.ignores(&f.location.path, f.rule));
        for f in findings.iter_mut() {
            if let Some(&s) = self.severity.get(f.rule) {
                f.severity = s;
            }
        }
    }
}

// ---- IO: finding and reading the file ----------------------------------------------------------

/// IO. The nearest configuration at or above `start` (a folder): in each folder, `asynclint.toml`,
/// then `.asynclint.toml`, then a `Cargo.toml` with an asynclint metadata table.
pub fn discover(start: &Path) -> Result<Option<Config>, ConfigError> {
    let start = start.canonicalize().unwrap_or_else(|_| start.to_path_buf());
    for dir in start.ancestors() {
        for name in FILE_NAMES {
            let path = dir.join(name);
            if path.is_file() {
                return load(&path).map(Some);
            }
        }
        let manifest = dir.join("Cargo.toml");
        if manifest.is_file() {
            let text = read(&manifest)?;
            // Most manifests never mention asynclint; they are not parsed twice.
            if text.contains("asynclint") {
                if let Some(config) = Config::from_manifest(&shown(&manifest), &text)? {
                    return Ok(Some(config));
                }
            }
        }
    }
    Ok(None)
}

/// IO. Reads the file `--config` names: a `Cargo.toml` is read for its metadata table, any other
/// file as an `asynclint.toml`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = read(path)?;
    let file = shown(path);
    if path.file_name().is_some_and(|n| n == "Cargo.toml") {
        return Config::from_manifest(&file, &text)?.ok_or_else(|| ConfigError {
            file,
            line: None,
            column: None,
            key: None,
            message: "has no [workspace.metadata.asynclint] or [package.metadata.asynclint] table".to_string(),
            source_line: None,
        });
    }
    Config::parse(&file, &text)
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: shown(path),
        line: None,
        column: None,
        key: None,
        message: format!("cannot read it: {e}"),
        source_line: None,
    })
}

/// A path as messages show it: relative to the current folder when under it.
fn shown(path: &Path) -> String {
    let cwd = std::env::current_dir().ok().and_then(|d| d.canonicalize().ok());
    let abs: PathBuf = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    match cwd.as_deref().and_then(|c| abs.strip_prefix(c).ok()) {
        Some(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_read() {
        let text = r#"
select = ["blocking-call-in-async", "sync-lock-across-await"]
extend-select = ["block-on-in-async"]
ignore = ["sync-lock-across-await"]
fail-on = "high"
require-reason = true

[severity]
blocking-call-in-async = "medium"

[per-path-ignores]
"tests/**" = ["blocking-call-in-async"]

[[blocking-api]]
paths = ["legacy::query_sync"]

[[offload]]
type = "my_app::Pool"
methods = ["run"]
"#;
        let c = Config::parse("asynclint.toml", text).unwrap();
        assert_eq!(c.rules_to_run(&[]).unwrap(), vec!["blocking-call-in-async", "block-on-in-async"]);
        assert_eq!(c.rules_to_run(&["sync-lock-across-await".to_string()]).unwrap(), vec!["sync-lock-across-await"]);
        assert_eq!(c.fail_on, Some(Severity::High));
        assert!(c.require_reason);
        assert_eq!(c.severity.get("blocking-call-in-async"), Some(&Severity::Medium));
        assert!(c.per_path_ignores.ignores("tests/a/b.rs", "blocking-call-in-async"));
        assert!(!c.per_path_ignores.ignores("tests/a/b.rs", "block-on-in-async"));
        assert!(!c.per_path_ignores.ignores("src/tests.rs", "blocking-call-in-async"));
        assert_eq!(c.blocking_apis[0].paths, vec!["legacy::query_sync"]);
        assert_eq!(c.blocking_apis[0].kind, "custom");
        assert_eq!(c.offload[0].methods, vec!["run"]);
    }

    #[test]
    fn errors_name_the_key_and_the_line() {
        let e = Config::parse("a.toml", "fail-on = \"high\"\nselect = [\"blocking-call-in-async\",\n  \"nope\"]\n")
            .unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("select")));
        assert!(e.message.contains("unknown rule `nope`"), "{e}");
        let e = Config::parse("a.toml", "\n\nbogus = 1\n").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("bogus")));
        let e = Config::parse("a.toml", "select = 3\n").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(1), Some("select")));
        let e = Config::parse("a.toml", "[[blocking-api]]\npaths = [\"a::b\"]\nseverity = \"hi\"\n").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("blocking-api[0].severity")));
        let e = Config::parse("a.toml", "[severity]\nblocking-call-in-async = 3\n").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("severity.blocking-call-in-async")));
        assert!(e.message.ends_with("found an integer"), "{e}");
        let e = Config::parse("a.toml", "select = [\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = Config::from_manifest(
            "Cargo.toml",
            "[package]\nname = \"p\"\n\n[package.metadata.asynclint]\nignore = [\"x\"]\n",
        )
        .unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(5), Some("package.metadata.asynclint.ignore")));
    }

    #[test]
    fn a_manifest_without_the_table_has_no_config() {
        let text = "[package]\nname = \"p\"\n[package.metadata.other]\nx = 1\n";
        assert!(Config::from_manifest("Cargo.toml", text).unwrap().is_none());
    }
}
