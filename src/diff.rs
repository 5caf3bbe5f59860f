//! Diff-aware review (`review --base REV`, `check --new-from-rev REV`): which lines a branch added
//! or changed, read from `git diff --unified=0` output. Pure: `main` runs git and hands the text
//! here, together with the untracked files, which count as added in full.
//!
//! Only lines on the new side that the diff marks `+` count as changed. A pure deletion changes no
//! line that is still there, so a finding next to it is not "on a changed line". Paths are the
//! repository-relative paths git prints (`b/` side, C-quoting undone); `repo_relative` maps the
//! analysis' paths (relative to the checked root) onto them.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The lines added or changed on the new side of a diff, per file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ChangedLines {
    /// Repository-relative path (with `/`) to sorted, disjoint, inclusive line ranges. A file
    /// with no ranges is in the diff (a pure rename, a new empty file) with no added line.
    files: BTreeMap<String, Vec<(u32, u32)>>,
}

/// A diff this parser cannot read: a hunk header it does not understand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffError {
    /// 1-based line of the diff text.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for DiffError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read the diff at line {}: {}", self.line, self.message)
    }
}

/// Where the parser is: between files and hunks, or inside a hunk with lines still to come.
enum State {
    Header,
    Hunk { old_left: u32, new_left: u32, new_line: u32 },
}

impl ChangedLines {
    /// Reads a unified diff as `git diff --unified=0 --no-color --src-prefix=a/ --dst-prefix=b/`
    /// prints it. Context lines (any `--unified`) are followed but never count as changed. Hunk
    /// bodies are consumed by the counts in their headers, so an added line that reads `++ x`
    /// (printed `+++ x`) is never taken for a file header.
    pub fn parse(diff: &str) -> Result<ChangedLines, DiffError> {
        let mut out = ChangedLines::default();
        let mut current: Option<String> = None;
        let mut state = State::Header;
        for (i, line) in diff.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if let State::Hunk { old_left, new_left, new_line } = &mut state {
                let consumed = match line.as_bytes().first() {
                    Some(b'+') => {
                        if let Some(path) = &current {
                            out.add_line(path, *new_line);
                        }
                        *new_line += 1;
                        *new_left = new_left.saturating_sub(1);
                        true
                    }
                    Some(b'-') => {
                        *old_left = old_left.saturating_sub(1);
                        true
                    }
                    // `\ No newline at end of file` belongs to the line before it.
                    Some(b'\\') => true,
                    // A context line; an empty one when a tool stripped its trailing space.
                    Some(b' ') | None => {
                        *new_line += 1;
                        *new_left = new_left.saturating_sub(1);
                        *old_left = old_left.saturating_sub(1);
                        true
                    }
                    // A hunk shorter than its header said: read the line as a header.
                    Some(_) => false,
                };
                if !consumed || (*old_left == 0 && *new_left == 0) {
                    state = State::Header;
                }
                if consumed {
                    continue;
                }
            }
            if line.starts_with("diff --git ") || line.starts_with("diff --cc ") || line.starts_with("diff --combined ")
            {
                // The header names both sides ambiguously when paths have spaces; the `+++` line
                // (or `rename to`/`copy to`) that follows names the new side exactly.
                current = None;
            } else if let Some(rest) = line.strip_prefix("+++ ") {
                current = new_side_path(rest);
                if let Some(path) = &current {
                    out.files.entry(path.clone()).or_default();
                }
            } else if let Some(rest) = line.strip_prefix("rename to ").or_else(|| line.strip_prefix("copy to ")) {
                let path = unquote(rest);
                out.files.entry(path.clone()).or_default();
                current = Some(path);
            } else if line.starts_with("@@") {
                let (old_count, new_start, new_count) = hunk_header(line)
                    .ok_or_else(|| DiffError { line: i + 1, message: format!("bad hunk header `{line}`") })?;
                if old_count > 0 || new_count > 0 {
                    state = State::Hunk { old_left: old_count, new_left: new_count, new_line: new_start };
                }
            }
            // Everything else (`index`, `--- a/..`, modes, `Binary files .. differ`, `\ No newline`
            // after a finished hunk) says nothing about added lines.
        }
        Ok(out)
    }

    /// Marks every line of `path` as added: an untracked file is new in full.
    pub fn add_whole_file(&mut self, path: &str) {
        self.files.insert(path.to_string(), vec![(1, u32::MAX)]);
    }

    fn add_line(&mut self, path: &str, line: u32) {
        let ranges = self.files.entry(path.to_string()).or_default();
        match ranges.last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(line) => *end = line,
            Some((_, end)) if *end >= line => {
                // Out of order (hunks of one file always ascend in git's output): insert and merge.
                ranges.push((line, line));
                ranges.sort_unstable();
                merge(ranges);
            }
            _ => ranges.push((line, line)),
        }
    }

    /// Whether `line` of `path` was added or changed.
    pub fn contains_line(&self, path: &str, line: u32) -> bool {
        self.files.get(path).is_some_and(|ranges| {
            let i = ranges.partition_point(|&(_, end)| end < line);
            ranges.get(i).is_some_and(|&(start, _)| start <= line)
        })
    }

    /// Whether `path` is in the diff at all (changed, added, renamed or copied; not deleted).
    pub fn contains_file(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// Each changed file with its inclusive line ranges, sorted by path.
    pub fn files(&self) -> impl Iterator<Item = (&str, &[(u32, u32)])> {
        self.files.iter().map(|(p, r)| (p.as_str(), r.as_slice()))
    }

    /// Whether a finding starting at `line` of `path` is kept: its line was changed, or with
    /// `whole_files`, its file was.
    pub fn keeps(&self, path: &str, line: u32, whole_files: bool) -> bool {
        if whole_files {
            self.contains_file(path)
        } else {
            self.contains_line(path, line)
        }
    }
}

fn merge(ranges: &mut Vec<(u32, u32)>) {
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for &(s, e) in ranges.iter() {
        match merged.last_mut() {
            Some((_, end)) if s <= end.saturating_add(1) => *end = (*end).max(e),
            _ => merged.push((s, e)),
        }
    }
    *ranges = merged;
}

/// The path of a `+++ ` line: `None` for `/dev/null` (a deleted file). Git appends a tab when
/// the name has a space in it, and C-quotes names with quotes, backslashes or control characters.
fn new_side_path(rest: &str) -> Option<String> {
    let rest = rest.strip_suffix('\t').unwrap_or(rest);
    if rest == "/dev/null" {
        return None;
    }
    let path = unquote(rest);
    Some(path.strip_prefix("b/").map(str::to_string).unwrap_or(path))
}

/// Undoes git's C-style quoting (`"caf\303\251 \"x\".rs"`); an unquoted name is returned as is.
pub fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return s.to_string();
    };
    let bytes = inner.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let c = bytes[i + 1];
        i += 2;
        out.push(match c {
            b'a' => 0x07,
            b'b' => 0x08,
            b't' => b'\t',
            b'n' => b'\n',
            b'v' => 0x0b,
            b'f' => 0x0c,
            b'r' => b'\r',
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match bytes.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                u8::try_from(v).unwrap_or(b'?')
            }
            other => other,
        });
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `@@ -a[,b] +c[,d] @@ ...` as (b, c, d); a missing count is 1.
fn hunk_header(line: &str) -> Option<(u32, u32, u32)> {
    let mut parts = line.strip_prefix("@@ ")?.split(' ');
    let old = parts.next()?.strip_prefix('-')?;
    let new = parts.next()?.strip_prefix('+')?;
    if parts.next() != Some("@@") {
        return None;
    }
    let range = |r: &str| -> Option<(u32, u32)> {
        match r.split_once(',') {
            Some((start, count)) => Some((start.parse().ok()?, count.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (_, old_count) = range(old)?;
    let (new_start, new_count) = range(new)?;
    Some((old_count, new_start, new_count))
}

/// The repository-relative path (with `/`) of a finding's `path`, which is relative to the checked
/// root `base` (or absolute, for a file outside it). `base` and `top` (the repository's top-level
/// folder) must both be canonical. `None` when the file is outside the repository.
pub fn repo_relative(base: &Path, top: &Path, path: &str) -> Option<String> {
    let joined = normalize(&base.join(path));
    let rel = joined.strip_prefix(top).ok()?;
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    Some(parts.join("/"))
}

/// Removes `.` and resolves `..` lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(c: &ChangedLines, path: &str) -> Vec<(u32, u32)> {
        c.files().find(|(p, _)| *p == path).map(|(_, r)| r.to_vec()).unwrap_or_else(|| panic!("{path} not in {c:?}"))
    }

    #[test]
    fn modified_file_with_added_and_changed_lines() {
        let diff = "\
diff --git a/src/lib.rs b/src/lib.rs
index 1111111..2222222 100644
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -3,0 +4,2 @@ fn a() {
+    let x = 1;
+    let y = 2;
@@ -10 +12 @@ fn b() {
-    old();
+    new();
@@ -20,2 +22,0 @@ fn c() {
-    gone();
-    gone_too();
";
        let c = ChangedLines::parse(diff).unwrap();
        assert_eq!(ranges(&c, "src/lib.rs"), vec![(4, 5), (12, 12)]);
        assert!(c.contains_line("src/lib.rs", 4));
        assert!(c.contains_line("src/lib.rs", 5));
        assert!(!c.contains_line("src/lib.rs", 6));
        assert!(c.contains_line("src/lib.rs", 12));
        assert!(!c.contains_line("src/lib.rs", 22), "a deletion changes no remaining line");
        assert!(!c.contains_line("src/other.rs", 4));
    }

    #[test]
    fn new_deleted_and_renamed_files() {
        let diff = "\
diff --git a/src/new.rs b/src/new.rs
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/src/new.rs
@@ -0,0 +1,3 @@
+fn a() {}
+fn b() {}
+fn c() {}
diff --git a/src/old.rs b/src/old.rs
deleted file mode 100644
index 4444444..0000000
--- a/src/old.rs
+++ /dev/null
@@ -1,2 +0,0 @@
-fn a() {}
-fn b() {}
diff --git a/src/before.rs b/src/after.rs
similarity 90%
rename from src/before.rs
rename to src/after.rs
index 5555555..6666666 100644
--- a/src/before.rs
+++ b/src/after.rs
@@ -7 +7 @@
-x
+y
diff --git a/src/moved.rs b/src/moved2.rs
similarity index 100%
rename from src/moved.rs
rename to src/moved2.rs
";
        let c = ChangedLines::parse(diff).unwrap();
        assert_eq!(ranges(&c, "src/new.rs"), vec![(1, 3)]);
        assert!(!c.contains_file("src/old.rs"), "a deleted file is not in the new tree");
        assert!(!c.contains_file("src/before.rs"));
        assert_eq!(ranges(&c, "src/after.rs"), vec![(7, 7)]);
        assert!(c.contains_file("src/moved2.rs"), "a pure rename is a changed file");
        assert!(!c.contains_line("src/moved2.rs", 1), "but adds no line");
        assert!(c.keeps("src/moved2.rs", 1, true));
        assert!(!c.keeps("src/moved2.rs", 1, false));
    }

    #[test]
    fn names_with_spaces_quotes_and_unicode() {
        let diff = "\
diff --git a/src/my file.rs b/src/my file.rs
--- a/src/my file.rs\t
+++ b/src/my file.rs\t
@@ -1 +1 @@
-a
+b
diff --git \"a/src/caf\\303\\251 \\\"q\\\".rs\" \"b/src/caf\\303\\251 \\\"q\\\".rs\"
--- \"a/src/caf\\303\\251 \\\"q\\\".rs\"
+++ \"b/src/caf\\303\\251 \\\"q\\\".rs\"
@@ -2 +2 @@
-a
+b
";
        let c = ChangedLines::parse(diff).unwrap();
        assert!(c.contains_line("src/my file.rs", 1), "{c:?}");
        assert!(c.contains_line("src/café \"q\".rs", 2), "{c:?}");
    }

    #[test]
    fn no_newline_markers_and_lines_that_look_like_headers() {
        let diff = "\
diff --git a/a.rs b/a.rs
--- a/a.rs
+++ b/a.rs
@@ -1,2 +1,3 @@
--- not a header, a removed line reading `-- not a header`
-last
\\ No newline at end of file
+++ b/fake.rs
+diff --git a/x b/x
+last
\\ No newline at end of file
diff --git a/b.rs b/b.rs
--- a/b.rs
+++ b/b.rs
@@ -5 +5 @@
-x
\\ No newline at end of file
+y
\\ No newline at end of file
";
        let c = ChangedLines::parse(diff).unwrap();
        assert_eq!(ranges(&c, "a.rs"), vec![(1, 3)]);
        assert!(!c.contains_file("fake.rs"), "an added line `++ b/fake.rs` is not a header");
        assert!(!c.contains_file("x"));
        assert_eq!(ranges(&c, "b.rs"), vec![(5, 5)]);
    }

    #[test]
    fn context_lines_are_followed_but_not_counted() {
        let diff = "\
--- a/c.rs
+++ b/c.rs
@@ -10,4 +10,5 @@ fn f() {
 ctx
-old
+new
+added

 ctx
";
        let c = ChangedLines::parse(diff).unwrap();
        assert_eq!(ranges(&c, "c.rs"), vec![(11, 12)]);
    }

    #[test]
    fn binary_and_mode_only_changes_add_no_lines() {
        let diff = "\
diff --git a/img.png b/img.png
index 1..2 100644
Binary files a/img.png and b/img.png differ
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
";
        let c = ChangedLines::parse(diff).unwrap();
        assert_eq!(c.files().count(), 0, "{c:?}");
    }

    #[test]
    fn bad_hunk_header_is_an_error() {
        let e = ChangedLines::parse("--- a/x\n+++ b/x\n@@ -1 +two @@\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("bad hunk header"), "{e}");
    }

    #[test]
    fn empty_diff_changes_nothing() {
        let c = ChangedLines::parse("").unwrap();
        assert!(!c.keeps("src/lib.rs", 1, false));
        assert!(!c.keeps("src/lib.rs", 1, true));
    }

    #[test]
    fn untracked_files_count_as_added_in_full() {
        let mut c = ChangedLines::default();
        c.add_whole_file("src/untracked.rs");
        assert!(c.contains_line("src/untracked.rs", 1));
        assert!(c.contains_line("src/untracked.rs", 100_000));
        assert!(c.keeps("src/untracked.rs", 7, false));
    }

    #[test]
    fn unquote_handles_escapes() {
        assert_eq!(unquote("plain name.rs"), "plain name.rs");
        assert_eq!(unquote("\"a\\tb\\\\c\\\"d\""), "a\tb\\c\"d");
        assert_eq!(unquote("\"\\303\\251\""), "é");
    }

    #[test]
    fn paths_map_from_the_checked_root_to_the_repository() {
        let top = Path::new("/repo");
        assert_eq!(
            repo_relative(Path::new("/repo/crates/app"), top, "src/lib.rs").as_deref(),
            Some("crates/app/src/lib.rs")
        );
        assert_eq!(repo_relative(top, top, "src/lib.rs").as_deref(), Some("src/lib.rs"));
        assert_eq!(repo_relative(Path::new("/repo/a"), top, "../b/x.rs").as_deref(), Some("b/x.rs"));
        assert_eq!(repo_relative(Path::new("/elsewhere"), top, "x.rs"), None);
        assert_eq!(repo_relative(Path::new("/tmp"), top, "/repo/src/x.rs").as_deref(), Some("src/x.rs"));
    }
}
