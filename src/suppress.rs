//! Inline suppressions: `// asynclint: allow(rule-id, ..) -- reason` at the end of a line or on
//! its own line above the code, and `// asynclint: allow-file(rule-id, ..) -- reason` anywhere in a
//! file.
//!
//! syn never sees comments, so `scan` reads the raw text, on the parsing thread, and keeps the
//! directives in the file's facts. Files without the text `asynclint:` cost one substring search;
//! the others are lexed once (strings, raw strings, char literals and block comments skipped), so
//! a directive inside a string literal is never taken for one. `run`, called by `analyze` after
//! the rules, drops the findings a directive covers and reports, as `unused-suppression`, the
//! directives that suppressed nothing, name an unknown rule, cannot be read, or (with
//! `require-reason`) give no reason.

use std::collections::HashSet;

use crate::parse::facts::{ByteSpan, Directive, DirectiveKind, FileFacts};
use crate::rules::{self, RawFinding};

const MARKER: &str = "asynclint:";

/// The directives of a file's text (the text syn parses, so offsets agree with findings).
pub fn scan(text: &str) -> Vec<Directive> {
    if !text.contains(MARKER) {
        return Vec::new();
    }
    let lexed = lex(text);
    let mut out = Vec::new();
    for &(start, end) in &lexed.comments {
        let body = &text[start + 2..end];
        // `///` and `//!` are documentation, which may well show the syntax.
        if body.starts_with('/') || body.starts_with('!') {
            continue;
        }
        let Some(rest) = body.trim_start().strip_prefix(MARKER) else { continue };
        let line = lexed.line_of(start);
        let (kind, ids, has_reason) = parse_directive(rest);
        let span = ByteSpan { start: start as u32, end: end.max(start) as u32 };
        let (target_line, target) = match kind {
            DirectiveKind::File => (0, ByteSpan { start: 0, end: text.len() as u32 }),
            DirectiveKind::Malformed => (0, ByteSpan::default()),
            DirectiveKind::Line => {
                // At the end of a line of code: that line. On a line of its own: the next line of
                // code, past other comment lines; a blank line ends the search.
                let target = if lexed.code[line] {
                    Some(line)
                } else {
                    (line + 1..lexed.code.len())
                        .take_while(|&l| lexed.code[l] || lexed.comment[l])
                        .find(|&l| lexed.code[l])
                };
                match target {
                    Some(l) => (l as u32 + 1, lexed.line_span(l, text.len())),
                    // Nothing to cover: the directive can only be unused.
                    None => (line as u32 + 2, ByteSpan { start: u32::MAX, end: u32::MAX }),
                }
            }
        };
        out.push(Directive {
            line: line as u32 + 1,
            kind,
            ids: ids.into_iter().map(String::into_boxed_str).collect(),
            has_reason,
            span,
            target_line,
            target,
        });
    }
    out
}

/// `allow(a, b) -- reason` or `allow-file(a) -- reason`, after the `asynclint:` marker.
fn parse_directive(rest: &str) -> (DirectiveKind, Vec<String>, bool) {
    let malformed = (DirectiveKind::Malformed, Vec::new(), false);
    let rest = rest.trim_start();
    let (kind, rest) = if let Some(r) = rest.strip_prefix("allow-file") {
        (DirectiveKind::File, r)
    } else if let Some(r) = rest.strip_prefix("allow") {
        (DirectiveKind::Line, r)
    } else {
        return malformed;
    };
    let Some(rest) = rest.trim_start().strip_prefix('(') else { return malformed };
    let Some((list, after)) = rest.split_once(')') else { return malformed };
    let ids: Vec<String> = list.split(',').map(|s| s.trim().to_string()).collect();
    if ids.iter().any(|id| id.is_empty() || id.contains(char::is_whitespace)) {
        return malformed;
    }
    let has_reason = after.trim_start().strip_prefix("--").is_some_and(|r| !r.trim().is_empty());
    (kind, ids, has_reason)
}

/// Whether directive `d` covers a finding at `span`: any line of the finding's code is the line
/// an `allow` covers, or the directive is `allow-file`.
pub fn covers(d: &Directive, span: ByteSpan) -> bool {
    match d.kind {
        DirectiveKind::File => true,
        DirectiveKind::Malformed => false,
        DirectiveKind::Line => {
            let end = span.end.max(span.start);
            span.start <= d.target.end && (end > d.target.start || span.start >= d.target.start)
        }
    }
}

/// A directive's rule id that suppressed at least one finding: (file, directive, id).
pub type Used = HashSet<(u32, u32, u32)>;

/// Drops the findings a directive covers, and says which directive ids did it.
pub fn apply(raw: &mut Vec<RawFinding>, facts: &[Option<FileFacts>], used: &mut Used) {
    raw.retain(|f| {
        let Some(Some(file)) = facts.get(f.file as usize) else { return true };
        let mut suppressed = false;
        for (di, d) in file.directives.iter().enumerate() {
            if !covers(d, f.span) {
                continue;
            }
            for (ii, id) in d.ids.iter().enumerate() {
                if &**id == f.rule {
                    used.insert((f.file, di as u32, ii as u32));
                    suppressed = true;
                }
            }
        }
        !suppressed
    });
}

/// Applies the directives to the rules' findings, then adds the `unused-suppression` findings
/// (which directives may suppress too). `enabled` says whether a rule ran.
pub fn run(
    raw: &mut Vec<RawFinding>,
    facts: &[Option<FileFacts>],
    enabled: &dyn Fn(&str) -> bool,
    require_reason: bool,
) {
    if facts.iter().flatten().all(|f| f.directives.is_empty()) {
        return;
    }
    let mut used = Used::new();
    apply(raw, facts, &mut used);
    if !enabled(rules::unused_suppression::META.id) {
        return;
    }
    let mut extra = rules::unused_suppression::report(facts, &used, enabled, require_reason);
    apply(&mut extra, facts, &mut used);
    raw.extend(extra);
}

// ---- a small Rust lexer: where the `//` comments are and which lines hold code -------------------

struct Lexed {
    /// `//` comments: the offset of `//` and the end of the line.
    comments: Vec<(usize, usize)>,
    /// Per line (0-based): holds code (anything but whitespace and comments).
    code: Vec<bool>,
    /// Per line: holds a comment.
    comment: Vec<bool>,
    /// The offset where each line starts.
    starts: Vec<usize>,
}

impl Lexed {
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset) - 1
    }

    /// The bytes of line `l`, without its line break.
    fn line_span(&self, l: usize, len: usize) -> ByteSpan {
        let start = self.starts[l];
        let end = self.starts.get(l + 1).map_or(len, |&next| next - 1);
        ByteSpan { start: start as u32, end: end as u32 }
    }

    fn newline(&mut self, at: usize) {
        self.starts.push(at + 1);
        self.code.push(false);
        self.comment.push(false);
    }

    fn mark_comment(&mut self) {
        if let Some(c) = self.comment.last_mut() {
            *c = true;
        }
    }

    fn mark_code(&mut self) {
        if let Some(c) = self.code.last_mut() {
            *c = true;
        }
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

fn lex(text: &str) -> Lexed {
    let b = text.as_bytes();
    let n = b.len();
    let mut lx = Lexed { comments: Vec::new(), code: vec![false], comment: vec![false], starts: vec![0] };
    let mut i = 0;
    while i < n {
        match b[i] {
            b'\n' => {
                lx.newline(i);
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(n, |k| i + k);
                lx.comments.push((i, end));
                lx.mark_comment();
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                lx.mark_comment();
                let mut depth = 1;
                i += 2;
                while i < n && depth > 0 {
                    if b[i] == b'\n' {
                        lx.newline(i);
                        lx.mark_comment();
                        i += 1;
                    } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                lx.mark_code();
                i += 1;
                while i < n && b[i] != b'"' {
                    if b[i] == b'\\' && i + 1 < n {
                        i += 1;
                    }
                    if b[i] == b'\n' {
                        lx.newline(i);
                        lx.mark_code();
                    }
                    i += 1;
                }
                i += 1;
            }
            b'r' if raw_string_hashes(b, i).is_some() => {
                lx.mark_code();
                let hashes = raw_string_hashes(b, i).unwrap_or(0);
                i += 2 + hashes;
                loop {
                    if i >= n {
                        break;
                    }
                    if b[i] == b'"' && b[i + 1..].iter().take(hashes).filter(|&&h| h == b'#').count() == hashes {
                        i += 1 + hashes;
                        break;
                    }
                    if b[i] == b'\n' {
                        lx.newline(i);
                        lx.mark_code();
                    }
                    i += 1;
                }
            }
            b'\'' => {
                lx.mark_code();
                i += char_literal_len(text, i);
            }
            _ => {
                lx.mark_code();
                i += 1;
            }
        }
    }
    lx
}

/// At `r`: the number of `#` of a raw string literal starting here (`r"`, `r#"`, also after `b`
/// or `c`), or `None` when this `r` is part of an identifier or a raw identifier (`r#match`).
fn raw_string_hashes(b: &[u8], i: usize) -> Option<usize> {
    let prev_ok = match i.checked_sub(1).map(|p| b[p]) {
        None => true,
        Some(b'b' | b'c') => i < 2 || !is_ident_byte(b[i - 2]),
        Some(p) => !is_ident_byte(p),
    };
    if !prev_ok {
        return None;
    }
    let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
    (b.get(i + 1 + hashes) == Some(&b'"')).then_some(hashes)
}

/// At `'`: the length of a char literal starting here (`'a'`, `'\''`, `'\u{1F600}'`, `'é'`), or 1
/// for a lifetime or label.
fn char_literal_len(text: &str, i: usize) -> usize {
    let b = text.as_bytes();
    if b.get(i + 1) == Some(&b'\\') {
        // An escape: the closing quote comes after the escaped character, within a few bytes.
        let from = i + 3;
        return match text.get(from..).and_then(|t| t.bytes().take(10).position(|c| c == b'\'' || c == b'\n')) {
            Some(k) if b[from + k] == b'\'' => from + k + 1 - i,
            _ => 1,
        };
    }
    let Some(c) = text.get(i + 1..).and_then(|t| t.chars().next()) else { return 1 };
    if c != '\n' && b.get(i + 1 + c.len_utf8()) == Some(&b'\'') {
        2 + c.len_utf8()
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<(u32, DirectiveKind, Vec<String>, bool, u32)> {
        scan(text)
            .into_iter()
            .map(|d| (d.line, d.kind, d.ids.iter().map(|s| s.to_string()).collect(), d.has_reason, d.target_line))
            .collect()
    }

    #[test]
    fn directives_and_the_lines_they_cover() {
        let text = "fn f() {\n    a(); // asynclint: allow(x) -- why\n    // asynclint: allow(x, y)\n    // another comment\n    b();\n}\n// asynclint: allow-file(z) -- generated\n";
        assert_eq!(
            lines(text),
            vec![
                (2, DirectiveKind::Line, vec!["x".into()], true, 2),
                (3, DirectiveKind::Line, vec!["x".into(), "y".into()], false, 5),
                (7, DirectiveKind::File, vec!["z".into()], true, 0),
            ]
        );
    }

    #[test]
    fn strings_char_literals_and_doc_comments_are_not_directives() {
        let text = concat!(
            "const A: &str = \"// asynclint: allow(x)\";\n",
            "const B: &str = r#\"\n// asynclint: allow(x)\n\"#;\n",
            "const C: char = '\"'; // asynclint: allow(real) -- after a quote char\n",
            "/// asynclint: allow(x)\n",
            "/* // asynclint: allow(x) */\n",
            "fn f<'a>(s: &'a str) {} // asynclint: allow(lifetime)\n",
        );
        let found: Vec<Vec<String>> = lines(text).into_iter().map(|l| l.2).collect();
        assert_eq!(found, vec![vec!["real".to_string()], vec!["lifetime".to_string()]]);
    }

    #[test]
    fn malformed_directives_and_blank_lines() {
        let text = "// asynclint: alow(x)\n// asynclint: allow()\n// asynclint: allow(x)\n\nfn f() {}\n";
        let got = lines(text);
        assert_eq!(got[0].1, DirectiveKind::Malformed);
        assert_eq!(got[1].1, DirectiveKind::Malformed);
        // A blank line ends the search for the covered line: nothing is covered.
        assert_eq!(got[2].1, DirectiveKind::Line);
        assert!(!covers(&scan(text)[2], ByteSpan { start: 44, end: 50 }));
    }
}
