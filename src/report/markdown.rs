//! `--format markdown` and `asynclint review`: the findings written up as a code review, in the
//! shape a senior reviewer uses: a summary, the issues by severity (each with its location, the
//! code, the impact, a fix and the files affected), positive findings, recommendations, tests to
//! add and the review status.
//!
//! Findings with one root cause are one issue; `group_findings` documents the rule. Everything
//! shown comes from the `Analysis`, the `MarkdownContext` and the built-in API catalogue; nothing
//! here reads files, the clock or the environment, so the same input renders byte for byte the
//! same review.
//!
//! Escaping: every code block is fenced with more backticks than the longest backtick run inside
//! it, inline code is fenced the same way, control characters are made visible, and text that came
//! from the code under review never reaches the Markdown outside a code span or block, so it
//! cannot open HTML or close a fence.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::sanitize_source;
use crate::catalogue::{BlockingApi, Catalogue};
use crate::findings::{Finding, Severity};
use crate::intern::Interner;
use crate::Analysis;

const BLOCKING: &str = "blocking-call-in-async";
const BLOCK_ON: &str = "block-on-in-async";
const LOCK: &str = "sync-lock-across-await";
const UNUSED: &str = "unused-suppression";

/// Lines of context shown above and below a finding.
const CONTEXT: u32 = 2;
/// Code windows shown per issue; the rest are listed under **Files Affected**.
const MAX_WINDOWS: usize = 3;
/// Items listed in a sentence or a **Location** line before "and N more".
const CAPPED: usize = 8;
/// Call sites rewritten in a fix block; the rest get "same rewrite" in a comment.
const MAX_FIX_SITES: usize = 4;

/// Everything the review needs besides the analysis. `main` gathers it; the reporter does no IO.
pub struct MarkdownContext<'a> {
    /// Source text (as `parse::source_text` returns it) of the files with findings and of the
    /// files their call chains and related locations pass through, by root-relative path. A
    /// missing file falls back to the finding's one-line snippet.
    pub sources: &'a HashMap<String, String>,
    /// What was reviewed, for the title: the checked folder's name.
    pub target: &'a str,
    /// The checked folder's git branch, when it is a repository on a branch.
    pub branch: Option<&'a str>,
    /// The review date, `YYYY-MM-DD`.
    pub date: &'a str,
    /// asynclint's version.
    pub version: &'a str,
    /// Ids of the rules that ran, in `rules::all()` order.
    pub rules: &'a [String],
    /// Number of crates (Cargo packages) analysed, when manifests were found.
    pub crates: Option<usize>,
    /// Positive observations beyond the ones findings alone support. The analysis cannot compute
    /// any yet (a pool that is closed, work moved into `spawn_blocking`): these need facts from
    /// the core, which will fill this list. Text with `code spans`; it is escaped like messages.
    pub positives: &'a [String],
    /// The revision the branch is compared with (`review --base REV`), when the review covers
    /// only the findings on lines changed since the merge base.
    pub base: Option<&'a str>,
}

// ---- dates ---------------------------------------------------------------------------------------

/// The proleptic Gregorian date of a day count since 1970-01-01, as (year, month, day).
/// Howard Hinnant's `civil_from_days`, exact for every `i64` day count that fits the year range.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The day count since 1970-01-01 of a proleptic Gregorian date; the inverse of `civil_from_days`.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` (UTC) of a Unix time in seconds, as `SOURCE_DATE_EPOCH` gives it.
pub fn date_from_unix_seconds(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Checks a `YYYY-MM-DD` date (a real calendar day, years 0000-9999) and returns it normalised.
pub fn parse_date(s: &str) -> Result<String, String> {
    let err = || format!("invalid date `{s}`: expected YYYY-MM-DD, a real calendar day");
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(err());
    }
    let num = |r: std::ops::Range<usize>| -> Result<u32, String> {
        let part = &s[r];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| err())
        } else {
            Err(err())
        }
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d == 0 {
        return Err(err());
    }
    // A day is real when it survives the round trip through the day count.
    if civil_from_days(days_from_civil(i64::from(y), m, d)) != (i64::from(y), m, d) {
        return Err(err());
    }
    Ok(s.to_string())
}

// ---- Markdown escaping ---------------------------------------------------------------------------

/// Control characters (line breaks included) made visible, so a value stays on its line.
fn one_line(s: &str) -> String {
    super::escape_for_terminal(s)
}

fn longest_backtick_run(s: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in s.chars() {
        if c == '`' {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// Inline code that shows `s` literally, whatever backticks it holds.
pub fn code(s: &str) -> String {
    let s = one_line(s);
    let fence = "`".repeat(longest_backtick_run(&s) + 1);
    // CommonMark strips one space on each side when both are there; pad when the content would
    // otherwise touch the fence with a backtick or lose its own edge spaces.
    let pad =
        s.starts_with('`') || s.ends_with('`') || (s.starts_with(' ') && s.ends_with(' ') && !s.trim().is_empty());
    if pad {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

/// Plain prose: ASCII punctuation with a meaning in Markdown or HTML is backslash-escaped.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in one_line(s).chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '&' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text in which `backticked` parts are code (the form of messages and help texts): each part is
/// escaped for what it is.
fn message(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&code(part));
        } else {
            out.push_str(&text(part));
        }
    }
    out
}

/// A fenced code block that no line of `body` can close early.
pub fn code_block(lang: &str, body: &str) -> String {
    let fence = "`".repeat((longest_backtick_run(body) + 1).max(3));
    let body = body.trim_end_matches('\n');
    format!("{fence}{lang}\n{body}\n{fence}\n")
}

// ---- small text helpers --------------------------------------------------------------------------

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

fn number_word(n: usize) -> String {
    const WORDS: [&str; 11] = ["No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten"];
    WORDS.get(n).map_or_else(|| n.to_string(), |w| w.to_string())
}

/// "a", "a and b", "a, b and c".
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `crate::notify::Notifier::new` -> `Notifier::new`, `crate::handlers::damage` -> `damage`: the
/// name a reader knows the function by, as the rules' messages show it.
fn short_fn(path: &str) -> String {
    let segs: Vec<&str> = path.split("::").collect();
    match segs.as_slice() {
        [.., ty, name] if ty.starts_with(|c: char| c.is_ascii_uppercase()) => format!("{ty}::{name}"),
        [.., name] => name.to_string(),
        [] => path.to_string(),
    }
}

fn last_segment(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

/// The `backticked` parts of a message, in order.
fn code_spans(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

/// "line 4" or "lines 4, 9, 12".
fn lines_phrase(lines: &BTreeSet<u32>) -> String {
    let list: Vec<String> = lines.iter().map(u32::to_string).collect();
    if list.len() == 1 {
        format!("line {}", list[0])
    } else {
        format!("lines {}", list.join(", "))
    }
}

/// At most `CAPPED` lines; the full list is under **Files Affected**.
fn lines_phrase_capped(lines: &BTreeSet<u32>) -> String {
    if lines.len() <= CAPPED {
        return lines_phrase(lines);
    }
    let shown: Vec<String> = lines.iter().take(CAPPED).map(u32::to_string).collect();
    format!("lines {} and {} more", shown.join(", "), lines.len() - CAPPED)
}

/// `join_and` of at most `CAPPED` items, then "and N {more}".
fn join_capped(items: &[String], more: &str) -> String {
    if items.len() <= CAPPED {
        return join_and(items);
    }
    format!("{}, and {} {more}", items[..CAPPED].join(", "), items.len() - CAPPED)
}

fn is_test_location(f: &Finding) -> bool {
    let p = &f.location.path;
    p.starts_with("tests/") || p.contains("/tests/") || f.function.contains("::tests::")
}

// ---- a tiny Rust lexer, enough to find calls, parentheses and comments ---------------------------

/// Which bytes of `s` are code (outside string and char literals and comments), and where line
/// comments start. Strings that begin before `s` are not known; the result is a best effort used
/// only to shape suggestions.
struct Lexed {
    code: Vec<bool>,
    line_comments: Vec<usize>,
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn lex(s: &str) -> Lexed {
    let b = s.as_bytes();
    let n = b.len();
    let mut code = vec![true; n];
    let mut line_comments = Vec::new();
    let mark = |code: &mut Vec<bool>, from: usize, to: usize| {
        for c in code.iter_mut().take(to.min(n)).skip(from) {
            *c = false;
        }
    };
    let mut i = 0;
    while i < n {
        let prev_ident = i > 0 && is_ident_byte(b[i - 1]);
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                line_comments.push(i);
                let end = s[i..].find('\n').map_or(n, |e| i + e);
                mark(&mut code, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let (mut j, mut depth) = (i + 2, 1);
                while j < n && depth > 0 {
                    if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                        depth += 1;
                        j += 2;
                    } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                        depth -= 1;
                        j += 2;
                    } else {
                        j += 1;
                    }
                }
                mark(&mut code, i, j);
                i = j;
            }
            b'r' if !prev_ident || (i >= 1 && b[i - 1] == b'b' && (i < 2 || !is_ident_byte(b[i - 2]))) => {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) == Some(&b'"') {
                    let close: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
                    let start = i + 2 + hashes;
                    let end = s[start..].find(&close).map_or(n, |e| start + e + close.len());
                    mark(&mut code, i, end);
                    i = end;
                } else {
                    i += 1;
                }
            }
            b'"' => {
                let mut j = i + 1;
                while j < n && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let end = (j + 1).min(n);
                mark(&mut code, i, end);
                i = end;
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
                if b.get(i + 1) == Some(&b'\\') {
                    let end = s[i + 2..].find('\'').map_or(n, |e| i + 2 + e + 1);
                    mark(&mut code, i, end);
                    i = end;
                } else if let Some(c) = s[i + 1..].chars().next() {
                    let after = i + 1 + c.len_utf8();
                    if b.get(after) == Some(&b'\'') {
                        mark(&mut code, i, after + 1);
                        i = after + 1;
                    } else {
                        i += 1;
                    }
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    Lexed { code, line_comments }
}

/// The line without its trailing `//` comment and trailing whitespace.
fn strip_line_comment(line: &str) -> &str {
    let lexed = lex(line);
    let end = lexed.line_comments.first().copied().unwrap_or(line.len());
    line[..end].trim_end()
}

/// The index of the bracket closing the one at `open`, in code.
fn matching_close(s: &str, lexed: &Lexed, open: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 0i32;
    for (i, &c) in b.iter().enumerate().skip(open) {
        if !lexed.code[i] {
            continue;
        }
        match c {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `path::to::f(args)` -> (`path::to::f`, `(args)`), when the whole text is one path call.
fn path_call(s: &str) -> Option<(&str, &str)> {
    let s = s.trim();
    let open = s.find('(')?;
    let callee = s[..open].trim_end();
    let ok = callee.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && callee.chars().all(|c| c.is_ascii_alphanumeric() || "_:<>, &'".contains(c));
    if !ok {
        return None;
    }
    let lexed = lex(s);
    (matching_close(s, &lexed, open)? == s.len() - 1).then(|| (callee, &s[open..]))
}

/// `recv.method(args)` -> (`recv`, `method`, `(args)`), when the whole text is one method call.
fn method_call(s: &str) -> Option<(&str, &str, &str)> {
    let s = s.trim();
    if !s.ends_with(')') {
        return None;
    }
    let lexed = lex(s);
    let b = s.as_bytes();
    let (mut depth, mut last_dot, mut last_open) = (0i32, None, None);
    for (i, &c) in b.iter().enumerate() {
        if !lexed.code[i] {
            continue;
        }
        match c {
            b'(' | b'[' | b'{' => {
                if depth == 0 && c == b'(' {
                    last_open = Some(i);
                }
                depth += 1;
            }
            b')' | b']' | b'}' => depth -= 1,
            b'.' if depth == 0 => last_dot = Some(i),
            _ => {}
        }
    }
    let (dot, open) = (last_dot?, last_open?);
    if dot > open || matching_close(s, &lexed, open)? != s.len() - 1 {
        return None;
    }
    let name = s[dot + 1..open].trim();
    let name = name.split("::").next().unwrap_or(name).trim();
    let ok = !name.is_empty() && name.bytes().all(is_ident_byte);
    let receiver = s[..dot].trim_end();
    (ok && !receiver.is_empty()).then(|| (receiver, name, &s[open..]))
}

/// `&expr`, with parentheses when the expression is more than a postfix chain.
fn borrow(expr: &str) -> String {
    let simple = expr.chars().all(|c| c.is_alphanumeric() || "_.:()[]\"'&".contains(c));
    if simple {
        format!("&{expr}")
    } else {
        format!("&({expr})")
    }
}

// ---- source access -------------------------------------------------------------------------------

/// The sources by path, with their line indexes built once.
type Sources<'s> = HashMap<String, Source<'s>>;

struct Source<'s> {
    text: &'s str,
    starts: Vec<usize>,
}

impl<'s> Source<'s> {
    fn new(text: &'s str) -> Source<'s> {
        let mut starts = vec![0];
        starts.extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        Source { text, starts }
    }

    fn line_count(&self) -> u32 {
        self.starts.len() as u32
    }

    /// Byte range of lines `from..=to` (1-based), line break of the last excluded.
    fn range(&self, from: u32, to: u32) -> Option<(usize, usize)> {
        let a = *self.starts.get(from.checked_sub(1)? as usize)?;
        let b = self.starts.get(to as usize).map_or(self.text.len(), |e| e.saturating_sub(1));
        (a <= b).then_some((a, b))
    }

    fn line(&self, n: u32) -> Option<&'s str> {
        let (a, b) = self.range(n, n)?;
        Some(self.text[a..b].trim_end_matches('\r'))
    }
}

// ---- the API catalogue, for kinds and mechanical replacements ------------------------------------

struct Apis {
    blocking: HashMap<String, BlockingApi>,
    block_on: HashMap<String, BlockingApi>,
}

impl Apis {
    fn load() -> Apis {
        let mut names = Interner::new().freeze();
        let by_display = |apis: &[BlockingApi]| -> HashMap<String, BlockingApi> {
            apis.iter().map(|a| (a.display.clone(), a.clone())).collect()
        };
        match Catalogue::load(&mut names, &[], &[]) {
            Ok(cat) => Apis { blocking: by_display(&cat.blocking.apis), block_on: by_display(&cat.block_on.apis) },
            Err(_) => Apis { blocking: HashMap::new(), block_on: HashMap::new() },
        }
    }
}

// ---- what a finding is about ---------------------------------------------------------------------

/// What a finding says, read back from its rule, message and chain. The core does not carry the
/// API or its kind as fields yet, so they are parsed from the message (the rules write them in
/// backticks); a message of another shape falls back to a generic issue.
#[derive(Clone, Debug)]
struct Facts {
    /// The API reached (`std::fs::read`), or the lock type for `sync-lock-across-await`.
    api: String,
    /// The catalogue kind (`filesystem`, `database`, `panic-runtime`, ...), or "" when unknown.
    kind: String,
    /// The async code the finding is in: `async fn `x``, `an async block in `x``.
    place: String,
}

fn facts(f: &Finding, apis: &Apis) -> Option<Facts> {
    let spans = code_spans(&f.message);
    let place = place_of(f);
    match f.rule {
        BLOCKING | BLOCK_ON => {
            let api = if f.chain.is_empty() { spans.first()? } else { spans.last()? }.to_string();
            let table = if f.rule == BLOCKING { &apis.blocking } else { &apis.block_on };
            let kind = table.get(&api).map(|a| a.kind.clone()).unwrap_or_default();
            Some(Facts { api, kind, place })
        }
        LOCK => Some(Facts { api: spans.first()?.to_string(), kind: String::new(), place }),
        _ => None,
    }
}

/// "async fn `reserve`", from the message's "inside ..." / "in ..." part, else from the function.
fn place_of(f: &Finding) -> String {
    for marker in [" inside ", " in "] {
        if let Some(at) = f.message.rfind(marker) {
            let rest = &f.message[at + marker.len()..];
            for kind in ["async fn ", "an async block in ", "an async closure in "] {
                if let Some(name) = rest.strip_prefix(kind).and_then(|r| code_spans(r).first().copied()) {
                    return format!("{kind}{}", code(name));
                }
            }
        }
    }
    code(&short_fn(&f.function))
}

// ---- grouping ------------------------------------------------------------------------------------

/// Grouping rule: one issue per root cause.
///
/// - A finding reached through sync helpers (a call chain) is grouped by where the chain ends:
///   the last helper (its file and path) and the API it calls. Three async fns calling the same
///   blocking helper, by whatever route, are one issue: fixing the helper fixes all of them.
/// - A direct finding of `blocking-call-in-async` or `block-on-in-async` is grouped with the other
///   direct findings of the same rule, severity and API kind (filesystem, database, sleep, panic,
///   deadlock, ...) in the same file: one fix pattern applied through one file.
/// - `sync-lock-across-await` findings are grouped by file and lock type.
/// - Findings of any other rule are grouped by rule and file.
///
/// Severity is part of every key, so an issue's severity is that of all its findings. Issues are
/// ordered by severity, then rule (`block_on` panics, blocking calls, locks, others), then their
/// first location; their findings by location.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Chain { rule_rank: u8, helper_path: String, helper: String, api: String },
    Direct { rule_rank: u8, path: String, kind: String },
    Lock { path: String, lock: String },
    Other { rule: String, path: String },
}

fn rule_rank(rule: &str) -> u8 {
    match rule {
        BLOCK_ON => 0,
        BLOCKING => 1,
        LOCK => 2,
        r if super::review_db::text(r).is_some() => 3,
        _ => 4,
    }
}

struct Issue<'f> {
    severity: Severity,
    rule: &'static str,
    key: Key,
    findings: Vec<&'f Finding>,
    facts: Vec<Option<Facts>>,
}

impl Issue<'_> {
    fn is_chain(&self) -> bool {
        matches!(self.key, Key::Chain { .. })
    }

    fn kind(&self) -> &str {
        self.facts.iter().flatten().map(|f| f.kind.as_str()).next().unwrap_or("")
    }

    fn apis(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for f in self.facts.iter().flatten() {
            if !seen.contains(&f.api) {
                seen.push(f.api.clone());
            }
        }
        seen
    }

    /// The last helper of the chain: (short name, path, line).
    fn helper(&self) -> Option<(String, String, u32)> {
        let step = self.findings.first()?.chain.last()?;
        Some((short_fn(&step.function), step.path.clone(), step.line))
    }

    fn all_in_main(&self) -> bool {
        self.findings.iter().all(|f| short_fn(&f.function) == "main")
    }

    fn all_in_tests(&self) -> bool {
        self.findings.iter().all(|f| is_test_location(f))
    }

    fn functions(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for f in &self.findings {
            let name = code(&short_fn(&f.function));
            if !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }
}

type FindingFacts<'f> = (&'f Finding, Option<Facts>);

fn group_findings<'f>(findings: &'f [Finding], apis: &Apis) -> Vec<Issue<'f>> {
    let mut groups: BTreeMap<(Severity, Key), Vec<FindingFacts<'f>>> = BTreeMap::new();
    for f in findings {
        let facts = facts(f, apis);
        let path = f.location.path.clone();
        let key = match (&facts, f.chain.last()) {
            (Some(fa), Some(step)) if f.rule == BLOCKING || f.rule == BLOCK_ON => Key::Chain {
                rule_rank: rule_rank(f.rule),
                helper_path: step.path.clone(),
                helper: step.function.clone(),
                api: fa.api.clone(),
            },
            (Some(fa), None) if f.rule == BLOCKING || f.rule == BLOCK_ON => {
                let kind = if fa.kind.is_empty() { format!("api:{}", fa.api) } else { fa.kind.clone() };
                Key::Direct { rule_rank: rule_rank(f.rule), path, kind }
            }
            (Some(fa), _) if f.rule == LOCK => Key::Lock { path, lock: fa.api.clone() },
            _ => Key::Other { rule: f.rule.to_string(), path },
        };
        groups.entry((f.severity, key)).or_default().push((f, facts));
    }
    let mut issues: Vec<Issue> = groups
        .into_iter()
        .map(|((severity, key), mut list)| {
            list.sort_by(|a, b| {
                let la = &a.0.location;
                let lb = &b.0.location;
                (&la.path, la.line, la.column, &a.0.message).cmp(&(&lb.path, lb.line, lb.column, &b.0.message))
            });
            let rule = list[0].0.rule;
            let (findings, facts) = list.into_iter().unzip();
            Issue { severity, rule, key, findings, facts }
        })
        .collect();
    issues.sort_by(|a, b| {
        let first = |i: &Issue| {
            let l = &i.findings[0].location;
            (l.path.clone(), l.line, l.column)
        };
        (a.severity, rule_rank(a.rule), first(a), &a.key).cmp(&(b.severity, rule_rank(b.rule), first(b), &b.key))
    });
    issues
}

// ---- words per rule and kind ---------------------------------------------------------------------

struct BlockingWords {
    /// Title words: "Blocking Filesystem I/O".
    title: &'static str,
    /// In a sentence: "blocking filesystem calls".
    noun: &'static str,
    /// What one call does to the worker.
    clause: &'static str,
    /// First impact bullet.
    impact: &'static str,
}

fn blocking_words(kind: &str, severity: Severity) -> BlockingWords {
    let w = |title, noun, clause, impact| BlockingWords { title, noun, clause, impact };
    match kind {
        "database" => w(
            "Blocking Synchronous Database Calls",
            "synchronous database calls",
            "Each call holds a tokio worker thread for a full database round-trip.",
            "Holds a tokio worker thread for every database round-trip, and for the wait when the connection or pool is busy",
        ),
        "filesystem" if severity != Severity::Critical => w(
            "Blocking Filesystem Queries",
            "blocking filesystem queries",
            "Each query parks the worker thread for a metadata lookup: quick on a local disk, slow on network storage or under I/O pressure.",
            "Parks a tokio worker thread for a metadata lookup: quick on a local disk, slow on network storage or under I/O pressure",
        ),
        "filesystem" => w(
            "Blocking Filesystem I/O",
            "blocking filesystem calls",
            "Each call parks the tokio worker thread until the disk answers.",
            "Parks a tokio worker thread for every disk operation",
        ),
        "sleep" => w(
            "`std::thread::sleep` on the Async Worker",
            "blocking sleeps",
            "The sleep parks the tokio worker thread for its whole duration instead of yielding to the runtime.",
            "Parks a tokio worker thread for the whole sleep instead of yielding to the runtime",
        ),
        "http" => w(
            "Blocking HTTP Client",
            "blocking HTTP client calls",
            "Each request parks the worker thread until the remote server answers or the client's timeout fires.",
            "Parks a tokio worker thread until the remote server answers, up to the client's timeout",
        ),
        "network" => w(
            "Blocking Network I/O",
            "blocking `std::net` I/O",
            "Each call parks the worker thread until the peer or the resolver answers.",
            "Parks a tokio worker thread until the peer or the DNS resolver answers",
        ),
        "process" => w(
            "Blocking Child-Process Calls",
            "blocking child-process calls",
            "Each call parks the worker thread until the child process exits.",
            "Parks a tokio worker thread until the child process exits",
        ),
        "sync" => w(
            "Blocking Thread Synchronisation",
            "blocking thread synchronisation",
            "Each call parks the worker thread until another thread signals it.",
            "Parks a tokio worker thread until another thread signals it",
        ),
        "stdin" => w(
            "Blocking Stdin Reads",
            "blocking standard-input reads",
            "Each read parks the worker thread until input arrives.",
            "Parks a tokio worker thread until input arrives",
        ),
        _ => w(
            "Blocking Calls",
            "blocking calls",
            "Each call parks the tokio worker thread until it returns.",
            "Parks a tokio worker thread until the call returns",
        ),
    }
}

/// What a `block-on-in-async` API kind does at run time.
fn block_on_consequence(kind: &str) -> &'static str {
    match kind {
        "panic-runtime" => {
            "tokio refuses to block a worker on a future: the call panics with \"Cannot start a runtime from within a runtime\" the first time this path runs."
        }
        "panic-blocking" => {
            "tokio's `blocking_*` bridges are for sync threads: inside the runtime they panic with \"Cannot block the current thread from within a runtime\"."
        }
        "build-runtime" => {
            "Building a runtime inside the runtime is a panic waiting to happen: blocking on it or dropping it in async code panics with \"Cannot start a runtime from within a runtime\"."
        }
        _ => {
            "It does not panic: it parks the worker thread until the future completes, and if that future needs this runtime (a spawned task, a timer, I/O), it never does."
        }
    }
}

fn block_on_title(kind: &str, apis: &[String]) -> String {
    match kind {
        "panic-runtime" => "`block_on` Inside the Runtime Panics".to_string(),
        "panic-blocking" => {
            let methods: BTreeSet<&str> = apis.iter().map(|a| last_segment(a)).collect();
            match methods.into_iter().collect::<Vec<_>>().as_slice() {
                [one] => format!("{} Inside the Runtime Panics", code(one)),
                _ => "Tokio `blocking_*` Calls Inside the Runtime Panic".to_string(),
            }
        }
        "build-runtime" => "A Runtime Built Inside the Runtime".to_string(),
        _ => "`block_on` on an Async Worker Can Deadlock".to_string(),
    }
}

fn lock_title(lock: &str) -> String {
    match lock {
        "std::sync::Mutex" => "Std Mutex Guard Held Across `.await`".to_string(),
        "std::sync::RwLock" => "Std RwLock Guard Held Across `.await`".to_string(),
        "std::cell::RefCell" => "`RefCell` Borrow Held Across `.await`".to_string(),
        other if other.starts_with("parking_lot::") => {
            format!("parking\\_lot {} Guard Held Across `.await`", text(last_segment(other)))
        }
        other => format!("{} Guard Held Across `.await`", code(other)),
    }
}

/// The async replacement for a sync driver or client, by the API's crate.
fn async_alternative(api: &str) -> Option<&'static str> {
    let table: [(&str, &str); 9] = [
        ("postgres::", "`tokio_postgres` (or `sqlx`), with an async pool such as `deadpool_postgres`"),
        ("diesel::", "`diesel_async` with `AsyncPgConnection` (or `deadpool_diesel`'s `interact`)"),
        ("r2d2::", "an async pool (`bb8`, `deadpool`, `sqlx::Pool`)"),
        ("rusqlite::", "`tokio_rusqlite` or `sqlx::SqlitePool`"),
        ("mysql::", "`mysql_async`"),
        ("redis::", "`redis::aio::MultiplexedConnection` and `AsyncCommands`"),
        ("reqwest::blocking::", "the async `reqwest::Client`"),
        ("ureq::", "the async `reqwest::Client`"),
        ("std::fs::", "`tokio::fs`"),
    ];
    table.iter().find(|(prefix, _)| api.starts_with(prefix)).map(|(_, alt)| *alt)
}

/// Sync types whose async twin has the same methods, to be `.await`ed: (sync type or trait, the
/// methods the twin has, what else has to change).
const TWINS: &[(&str, &[&str], &str)] = &[
    (
        "std::fs::File",
        &[
            "read",
            "read_to_string",
            "read_to_end",
            "read_exact",
            "write",
            "write_all",
            "flush",
            "sync_all",
            "sync_data",
            "set_len",
            "metadata",
            "seek",
            "set_permissions",
        ],
        "the file must be a `tokio::fs::File`, with `use tokio::io::{AsyncReadExt, AsyncWriteExt};`",
    ),
    ("std::fs::OpenOptions", &["open"], "the builder must be a `tokio::fs::OpenOptions`"),
    ("std::process::Command", &["output", "status"], "the command must be a `tokio::process::Command`"),
    ("std::process::Child", &["wait", "wait_with_output"], "the child must come from `tokio::process::Command`"),
    (
        "std::net::TcpStream",
        &["read", "read_exact", "read_to_end", "read_to_string", "write", "write_all", "flush", "peek"],
        "the stream must be a `tokio::net::TcpStream`, with `use tokio::io::{AsyncReadExt, AsyncWriteExt};`",
    ),
    ("std::net::TcpListener", &["accept"], "the listener must be a `tokio::net::TcpListener`"),
    (
        "std::net::UdpSocket",
        &["recv", "recv_from", "send", "send_to", "connect", "peek_from"],
        "the socket must be a `tokio::net::UdpSocket`",
    ),
    ("std::sync::mpsc::Receiver", &["recv"], "the channel must be a `tokio::sync::mpsc` channel"),
    ("std::sync::Barrier", &["wait"], "the barrier must be a `tokio::sync::Barrier`"),
    (
        "postgres::Client",
        &[
            "execute",
            "query",
            "query_one",
            "query_opt",
            "query_raw",
            "query_typed",
            "batch_execute",
            "simple_query",
            "prepare",
            "prepare_typed",
            "transaction",
            "copy_in",
            "copy_out",
        ],
        "the client must be a `tokio_postgres::Client` (same methods, async)",
    ),
    (
        "postgres::Transaction",
        &[
            "execute",
            "query",
            "query_one",
            "query_opt",
            "batch_execute",
            "simple_query",
            "prepare",
            "commit",
            "rollback",
        ],
        "the transaction must be a `tokio_postgres::Transaction`",
    ),
    ("reqwest::blocking::RequestBuilder", &["send"], "the client must be the async `reqwest::Client`"),
    ("reqwest::blocking::Client", &["execute"], "the client must be the async `reqwest::Client`"),
    (
        "diesel::RunQueryDsl",
        &["load", "execute", "get_result", "get_results", "first"],
        "with `diesel_async::RunQueryDsl` in scope and an `AsyncPgConnection` (`diesel_async`) for the connection",
    ),
    (
        "mysql::Conn",
        &["query", "query_drop", "query_first", "exec", "exec_drop", "exec_first", "exec_batch", "prep", "ping"],
        "the connection must be a `mysql_async::Conn`, with `use mysql_async::prelude::Queryable;`",
    ),
    (
        "mysql::PooledConn",
        &["query", "query_drop", "query_first", "exec", "exec_drop", "exec_first", "exec_batch", "prep", "ping"],
        "the connection must come from a `mysql_async::Pool`, with `use mysql_async::prelude::Queryable;`",
    ),
    (
        "redis::Connection",
        &[
            "get", "set", "del", "exists", "expire", "incr", "decr", "hget", "hset", "hgetall", "lpush", "rpush",
            "lpop", "rpop", "sadd", "smembers", "publish", "set_ex", "get_del", "keys", "mget",
        ],
        "the connection must be a `redis::aio::MultiplexedConnection`, with `use redis::AsyncCommands;`",
    ),
];

// ---- fixes ---------------------------------------------------------------------------------------

/// How a call site is rewritten.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default)]
enum Strategy {
    /// The async twin of the API, called the same way: exact.
    #[default]
    Replace,
    /// The same method on the async twin of the receiver's type: the receiver's type changes too.
    Twin,
    /// The call moved onto tokio's blocking pool.
    SpawnBlocking,
    /// A shape to follow, not a rewrite.
    Pattern,
}

#[derive(Default)]
struct SiteFix {
    /// The new text of the finding's span.
    replacement: String,
    strategy: Strategy,
    /// A comment for the site: what else has to change.
    note: String,
    /// Drop a `?`, `.unwrap()` or `.expect(..)` right after the span: the replacement is no `Result`.
    eat_result: bool,
}

const SPAWN_NOTE: &str =
    "pattern: the closure must own what it uses ('static): move owned values in (a cloned `Arc`, pool or `String`)";

fn spawn_blocking(call: &str, question: bool) -> SiteFix {
    let q = if question { "?" } else { "" };
    SiteFix {
        replacement: format!("tokio::task::spawn_blocking(move || {}).await{q}", call.trim()),
        strategy: Strategy::SpawnBlocking,
        note: SPAWN_NOTE.to_string(),
        eat_result: false,
    }
}

/// `X::builder(..)` / `X::new()` of a blocking `reqwest` client -> the same on `reqwest::Client`.
fn async_reqwest_client(call: &str) -> Option<String> {
    let call = call.trim();
    for ctor in ["::builder(", "::new("] {
        if let Some(at) = call.find(ctor) {
            let path = &call[..at];
            if !path.is_empty() && path.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                return Some(format!("reqwest::Client{}", &call[at..]));
            }
        }
    }
    None
}

/// tokio's `ReadDir` is not an iterator: a `read_dir` rewrite is only half of the change.
fn read_dir_note(fix: SiteFix, api: &str) -> SiteFix {
    if last_segment(api) != "read_dir" {
        return fix;
    }
    SiteFix {
        strategy: Strategy::Pattern,
        note: "pattern: tokio's `ReadDir` is not an iterator; loop with `while let Some(entry) = entries.next_entry().await? { .. }`"
            .to_string(),
        ..fix
    }
}

/// The rewrite of a direct `blocking-call-in-async` call.
fn fix_blocking_direct(call: &str, api: &str, apis: &Apis) -> SiteFix {
    let info = apis.blocking.get(api);
    // 1. An async twin by path, with the same name: the callee changes, the arguments stay.
    if let (Some(replace), Some((callee, args))) = (info.and_then(|i| i.replace.as_deref()), path_call(call)) {
        if last_segment(replace) == last_segment(api) && !callee.is_empty() {
            let fix = SiteFix {
                replacement: format!("{replace}{args}.await"),
                strategy: Strategy::Replace,
                note: String::new(),
                eat_result: false,
            };
            return read_dir_note(fix, api);
        }
    }
    // 2. `std::path::Path` queries: tokio::fs functions with the same meaning.
    if let (Some(method), Some((recv, _, _))) = (api.strip_prefix("std::path::Path::"), method_call(call)) {
        let p = borrow(recv);
        let replacement = match method {
            "exists" => Some(format!("tokio::fs::try_exists({p}).await.unwrap_or(false)")),
            "try_exists" => Some(format!("tokio::fs::try_exists({p}).await")),
            "is_dir" | "is_file" => Some(format!("tokio::fs::metadata({p}).await.is_ok_and(|m| m.{method}())")),
            "is_symlink" => {
                Some(format!("tokio::fs::symlink_metadata({p}).await.is_ok_and(|m| m.file_type().is_symlink())"))
            }
            "metadata" | "symlink_metadata" | "canonicalize" | "read_link" | "read_dir" => {
                Some(format!("tokio::fs::{method}({p}).await"))
            }
            _ => None,
        };
        if let Some(replacement) = replacement {
            return read_dir_note(
                SiteFix { replacement, strategy: Strategy::Replace, note: String::new(), eat_result: false },
                api,
            );
        }
    }
    // 3. Blocking reqwest clients: build the async client instead (spawn_blocking is no fix: the
    //    blocking client panics when dropped inside async code).
    if api == "reqwest::blocking::ClientBuilder::build" || api == "reqwest::blocking::Client::new" {
        let replacement = async_reqwest_client(call)
            .unwrap_or_else(|| "reqwest::Client::builder() /* same settings */.build()".to_string());
        return SiteFix {
            replacement,
            strategy: Strategy::Pattern,
            note: "pattern: the value holding the client becomes a `reqwest::Client`, and its requests `.send().await`"
                .to_string(),
            eat_result: false,
        };
    }
    // 4. The same method on the async twin of the receiver's type.
    if let Some((ty, method)) = api.rsplit_once("::") {
        if let Some((_, methods, note)) = TWINS.iter().find(|(sync, ..)| *sync == ty) {
            if methods.contains(&method) && method_call(call).is_some() {
                return SiteFix {
                    replacement: format!("{}.await", call.trim()),
                    strategy: Strategy::Twin,
                    note: format!("pattern: {note}"),
                    eat_result: false,
                };
            }
        }
    }
    // 5. Anything else moves to the blocking pool.
    spawn_blocking(call, true)
}

/// The rewrite of a direct `block-on-in-async` call.
fn fix_block_on_direct(call: &str, api: &str, kind: &str) -> SiteFix {
    let method = last_segment(api);
    let exact = |replacement: String| SiteFix {
        replacement,
        strategy: Strategy::Replace,
        note: String::new(),
        eat_result: false,
    };
    if kind == "build-runtime" {
        return SiteFix {
            replacement: "tokio::runtime::Handle::current()".to_string(),
            strategy: Strategy::Pattern,
            note: "pattern: use the runtime you are already on (or just `.await`) instead of building one".to_string(),
            eat_result: true,
        };
    }
    if method == "block_on" {
        // `rt.block_on(fut)` / `executor::block_on(fut)` -> `fut.await`; `fut.block_on()` -> `fut.await`.
        let future = match (method_call(call), path_call(call)) {
            (Some((recv, "block_on", args)), _) if args.trim() == "()" => Some(recv.to_string()),
            (Some((_, "block_on", args)), _) => Some(args[1..args.len() - 1].trim().to_string()),
            (None, Some((_, args))) => Some(args[1..args.len() - 1].trim().to_string()),
            _ => None,
        };
        if let Some(fut) = future.filter(|f| !f.is_empty() && !f.contains(',')) {
            let simple = fut.starts_with("async") || fut.chars().all(|c| c.is_alphanumeric() || "_.:()&".contains(c));
            return exact(if simple { format!("{fut}.await") } else { format!("({fut}).await") });
        }
    }
    if let Some((recv, m, args)) = method_call(call) {
        let replacement = match (api, m) {
            ("tokio::sync::oneshot::Receiver::blocking_recv", _) => Some(format!("{recv}.await")),
            (_, "blocking_lock") => Some(format!("{recv}.lock().await")),
            (_, "blocking_read") => Some(format!("{recv}.read().await")),
            (_, "blocking_write") => Some(format!("{recv}.write().await")),
            (_, "blocking_send") => Some(format!("{recv}.send{args}.await")),
            (_, "blocking_recv") => Some(format!("{recv}.recv().await")),
            _ => None,
        };
        if let Some(r) = replacement {
            return exact(r);
        }
    }
    SiteFix {
        replacement: format!("{}.await", call.trim()),
        strategy: Strategy::Pattern,
        note: "pattern: `.await` the future instead of blocking on it".to_string(),
        eat_result: false,
    }
}

/// Whether the finding's call sits in a sync closure (`.map(|x| call(x))`, `|x| { call(x) }`),
/// judged from up to ten lines before it: the innermost bracket still open at the call is a
/// closure's argument list or body when a `|` follows it or directly precedes it.
fn in_sync_closure(src: &Source, f: &Finding) -> bool {
    let first = f.location.line.saturating_sub(10).max(1);
    let Some((a, _)) = src.range(first, f.location.line) else { return false };
    let end = f.location.byte_start as usize;
    let Some(prefix) = src.text.get(a..end) else { return false };
    let lexed = lex(prefix);
    let b = prefix.as_bytes();
    // Open brackets, each with whether a sync closure's `|..|` appeared at its level since its last
    // `;`, and whether an `async |..|` header is open there.
    let mut open: Vec<(usize, bool, bool)> = vec![(usize::MAX, false, false)];
    for (i, &c) in b.iter().enumerate() {
        if !lexed.code[i] {
            continue;
        }
        match c {
            b'(' | b'[' | b'{' => open.push((i, false, false)),
            b')' | b']' | b'}' if open.len() > 1 => {
                open.pop();
            }
            b';' => open.last_mut().map_or((), |top| top.1 = false),
            b'|' => {
                let is_async = is_async_header(&prefix[..i]);
                if let Some(top) = open.last_mut() {
                    if top.2 {
                        top.2 = false;
                    } else if is_async {
                        top.2 = true;
                    } else {
                        top.1 = true;
                    }
                }
            }
            _ => {}
        }
    }
    let &(p, pipe, _) = open.last().unwrap_or(&(usize::MAX, false, false));
    if p == usize::MAX {
        return pipe;
    }
    let before = prefix[..p].trim_end();
    let closure_body = b[p] == b'{'
        && before.ends_with('|')
        && !before.ends_with("||")
        && !before[..before.len() - 1].rfind('|').is_some_and(|h| is_async_header(&before[..h]));
    pipe || closure_body
}

/// Whether the text before a closure's opening `|` makes it an async closure.
fn is_async_header(before: &str) -> bool {
    let t = before.trim_end();
    let t = t.strip_suffix("move").map_or(t, str::trim_end);
    t.ends_with("async") && !t[..t.len() - 5].ends_with(|c: char| c.is_alphanumeric() || c == '_')
}

/// The text of a finding's lines with its span replaced, comments dropped and dedented.
fn rewritten_lines(src: &Source, f: &Finding, fix: &SiteFix) -> Option<String> {
    let (a, b) = src.range(f.location.line, f.location.end_line.max(f.location.line))?;
    let (bs, mut be) = (f.location.byte_start as usize, f.location.byte_end as usize);
    if !(a <= bs && bs <= be && be <= b && src.text.is_char_boundary(bs) && src.text.is_char_boundary(be)) {
        return None;
    }
    if fix.eat_result {
        let rest = &src.text[be..b];
        let eaten = if rest.starts_with('?') {
            1
        } else if rest.starts_with(".unwrap()") {
            ".unwrap()".len()
        } else if rest.starts_with(".expect(") {
            let lexed = lex(rest);
            matching_close(rest, &lexed, ".expect".len()).map_or(0, |close| close + 1)
        } else {
            0
        };
        be += eaten;
    }
    let joined = format!("{}{}{}", &src.text[a..bs], fix.replacement, &src.text[be..b]);
    let lines: Vec<&str> = joined.lines().map(|l| strip_line_comment(l.trim_end_matches('\r'))).collect();
    Some(dedent(&lines))
}

fn dedent(lines: &[&str]) -> String {
    let indent =
        lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    lines.iter().map(|l| l.get(indent..).unwrap_or(l.trim_start())).collect::<Vec<_>>().join("\n")
}

/// The call text of a finding: its span in the source, else its snippet.
fn call_text<'a>(src: Option<&Source<'a>>, f: &'a Finding) -> &'a str {
    src.and_then(|s| s.text.get(f.location.byte_start as usize..f.location.byte_end as usize)).unwrap_or(&f.snippet)
}

fn site_fix(issue: &Issue, f: &Finding, facts: Option<&Facts>, call: &str, apis: &Apis) -> SiteFix {
    let Some(fa) = facts else { return spawn_blocking(call, true) };
    if !f.chain.is_empty() {
        let helper = f.chain.get(1).map(|s| short_fn(&s.function)).unwrap_or_default();
        if fa.api == "reqwest::blocking::ClientBuilder::build" || fa.api == "reqwest::blocking::Client::new" {
            return SiteFix {
                replacement: call.trim().to_string(),
                strategy: Strategy::Pattern,
                note: "pattern: keep this call; fix the helper (below)".to_string(),
                eat_result: false,
            };
        }
        if fa.kind == "build-runtime" {
            return SiteFix {
                replacement: call.trim().to_string(),
                strategy: Strategy::Pattern,
                note: format!(
                    "pattern: make `{helper}` use `tokio::runtime::Handle::current()` instead of building a runtime"
                ),
                eat_result: false,
            };
        }
        return spawn_blocking(call, true);
    }
    match issue.rule {
        BLOCKING => fix_blocking_direct(call, &fa.api, apis),
        BLOCK_ON => fix_block_on_direct(call, &fa.api, &fa.kind),
        _ => spawn_blocking(call, true),
    }
}

// ---- code windows --------------------------------------------------------------------------------

struct Window {
    path: String,
    from: u32,
    to: u32,
    marks: BTreeMap<u32, Vec<String>>,
    /// A comment shown above the window when the block holds several.
    label: String,
}

/// Windows of ±`CONTEXT` lines around the marked lines, merged when they touch.
fn windows_for(marks: &[(String, u32, String, String)], sources: &Sources) -> Vec<Window> {
    // (order of first appearance, path) -> (line, mark, label)
    type Marks<'m> = Vec<(u32, &'m str, &'m str)>;
    let mut by_path: BTreeMap<(usize, &str), Marks> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (path, line, mark, label) in marks {
        if !order.contains(&path.as_str()) {
            order.push(path);
        }
        let idx = order.iter().position(|p| *p == path).unwrap_or(0);
        by_path.entry((idx, path)).or_default().push((*line, mark, label));
    }
    let mut out: Vec<Window> = Vec::new();
    for ((_, path), mut list) in by_path {
        list.sort_by_key(|(l, ..)| *l);
        let max = sources.get(path).map_or(u32::MAX, Source::line_count);
        for (line, mark, label) in list {
            let from = line.saturating_sub(CONTEXT).max(1);
            let to = (line + CONTEXT).min(max);
            match out.last_mut() {
                Some(w) if w.path == path && from <= w.to + 1 => {
                    w.to = w.to.max(to);
                    w.marks.entry(line).or_default().push(mark.to_string());
                }
                _ => {
                    let mut marks = BTreeMap::new();
                    marks.insert(line, vec![mark.to_string()]);
                    out.push(Window { path: path.to_string(), from, to, marks, label: label.to_string() });
                }
            }
        }
    }
    out
}

fn render_windows(
    windows: &[Window],
    omitted: usize,
    sources: &Sources,
    fallback: &HashMap<(String, u32), String>,
) -> String {
    let mut body = String::new();
    let several = windows.len() > 1;
    for (i, w) in windows.iter().enumerate() {
        if i > 0 {
            body.push('\n');
        }
        if several {
            body.push_str(&format!("// {}\n", one_line(&w.label)));
        }
        let src = sources.get(&w.path);
        let mut lines: Vec<(String, bool)> = Vec::new();
        for n in w.from..=w.to {
            let marks = w.marks.get(&n);
            let line = match src.and_then(|s| s.line(n)) {
                Some(l) => sanitize_source(l),
                None if marks.is_some() => fallback.get(&(w.path.clone(), n)).cloned().unwrap_or_default(),
                None => continue,
            };
            let mut line = line.trim_end().to_string();
            if let Some(marks) = marks {
                let mut uniq: Vec<&str> = Vec::new();
                for m in marks {
                    if !uniq.contains(&m.as_str()) {
                        uniq.push(m);
                    }
                }
                line.push_str(&format!("  // ❌ {}", uniq.join("; ")));
            }
            lines.push((line, marks.is_some()));
        }
        // Blank context lines at the edges add nothing.
        while lines.first().is_some_and(|(l, marked)| !marked && l.trim().is_empty()) {
            lines.remove(0);
        }
        while lines.last().is_some_and(|(l, marked)| !marked && l.trim().is_empty()) {
            lines.pop();
        }
        for (l, _) in lines {
            body.push_str(&l);
            body.push('\n');
        }
    }
    if omitted > 0 {
        body.push_str(&format!(
            "\n// … {}, listed under Files Affected\n",
            plural(omitted, "more code location", "more code locations")
        ));
    }
    code_block("rust", &body)
}

// ---- one issue -----------------------------------------------------------------------------------

struct Rendered {
    title: String,
    body: String,
    /// The action for the recommendations summary.
    action: String,
}

fn locations_by_file(findings: &[&Finding]) -> Vec<(String, BTreeSet<u32>)> {
    let mut out: Vec<(String, BTreeSet<u32>)> = Vec::new();
    for f in findings {
        let path = &f.location.path;
        match out.iter_mut().find(|(p, _)| p == path) {
            Some((_, lines)) => {
                lines.insert(f.location.line);
            }
            None => out.push((path.clone(), BTreeSet::from([f.location.line]))),
        }
    }
    out
}

fn marker(issue: &Issue, f: &Finding, facts: Option<&Facts>) -> String {
    let kind = facts.map_or("", |fa| fa.kind.as_str());
    let via = f.chain.get(1).map(|s| format!(" (via `{}`)", short_fn(&s.function))).unwrap_or_default();
    match issue.rule {
        BLOCKING => format!("BLOCKS THE ASYNC WORKER{via}"),
        BLOCK_ON => match kind {
            "deadlock" => format!("CAN DEADLOCK THE RUNTIME{via}"),
            "build-runtime" => format!("RUNTIME INSIDE THE RUNTIME{via}"),
            _ => format!("PANICS INSIDE THE RUNTIME{via}"),
        },
        LOCK => "GUARD TAKEN HERE".to_string(),
        _ => f.rule.to_string(),
    }
}

fn render_issue(issue: &Issue, sources: &Sources, catalogue: &Apis) -> Rendered {
    let first = issue.findings[0];
    let kind = issue.kind().to_string();
    let apis = issue.apis();
    let helper = issue.helper();
    let files = locations_by_file(&issue.findings);

    // Title.
    let title = match (&issue.key, issue.rule) {
        (Key::Chain { .. }, BLOCKING) => {
            let w = blocking_words(&kind, issue.severity);
            format!("{} via the Sync Helper {}", w.title, code(&helper.clone().unwrap_or_default().0))
        }
        (Key::Chain { .. }, _) => {
            format!("{} via {}", block_on_title(&kind, &apis), code(&helper.clone().unwrap_or_default().0))
        }
        (Key::Direct { path, .. }, BLOCKING) => {
            let w = blocking_words(&kind, issue.severity);
            let where_ = if kind == "sleep" { "" } else { " in Async Code" };
            format!("{}{where_} ({})", w.title, code(path))
        }
        (Key::Direct { path, .. }, _) => format!("{} ({})", block_on_title(&kind, &apis), code(path)),
        (Key::Lock { lock, .. }, _) => {
            let fns = issue.functions();
            if fns.len() == 1 {
                format!("{} in {}", lock_title(lock), fns[0])
            } else {
                format!("{} ({})", lock_title(lock), code(&first.location.path))
            }
        }
        (Key::Other { rule, path }, _) => match super::review_db::text(rule) {
            Some(t) => format!("{} ({})", t.title, code(path)),
            None => format!("{} ({})", code(rule), code(path)),
        },
    };

    let mut body = String::new();
    let location: Vec<String> =
        files.iter().map(|(p, lines)| format!("{} {}", code(p), lines_phrase_capped(lines))).collect();
    body.push_str(&format!("**Location**: {}\n\n", location.join("; ")));

    // Issue sentence.
    let issue_text = issue_sentence(issue, &kind, &apis, helper.as_ref());
    body.push_str(&format!("**Issue**: {issue_text}\n\n"));

    // Code.
    let mut marks: Vec<(String, u32, String, String)> = Vec::new();
    let mut fallback: HashMap<(String, u32), String> = HashMap::new();
    for (f, fa) in issue.findings.iter().zip(&issue.facts) {
        let label = format!("{} ({})", f.location.path, short_fn(&f.function));
        marks.push((f.location.path.clone(), f.location.line, marker(issue, f, fa.as_ref()), label));
        fallback.insert((f.location.path.clone(), f.location.line), sanitize_source(&f.snippet));
        if issue.rule == LOCK {
            for r in &f.related {
                marks.push((
                    r.path.clone(),
                    r.line,
                    "STILL HELD AT THIS `.await`".to_string(),
                    format!("{} ({})", r.path, short_fn(&f.function)),
                ));
            }
        }
    }
    let mut windows = windows_for(&marks, sources);
    let mut omitted = windows.len().saturating_sub(MAX_WINDOWS);
    windows.truncate(MAX_WINDOWS);
    // The helper's blocking line is the root cause: always shown, after the callers.
    if let (true, Some((name, path, line))) = (issue.is_chain(), &helper) {
        let api = apis.first().cloned().unwrap_or_default();
        let what = if issue.rule == BLOCKING { "THE BLOCKING CALL" } else { "THE CALL" };
        let mark = (path.clone(), *line, format!("{what}: {api}"), format!("{path} (the sync helper `{name}`)"));
        windows.extend(windows_for(&[mark], sources));
    }
    if windows.len() == 1 {
        omitted = 0;
    }
    body.push_str("**Code**:\n\n");
    body.push_str(&render_windows(&windows, omitted, sources, &fallback));
    body.push('\n');

    // Call chains.
    if issue.is_chain() {
        body.push_str("**Call chain**:\n\n");
        let mut seen = BTreeSet::new();
        for (f, fa) in issue.findings.iter().zip(&issue.facts) {
            let mut parts: Vec<String> = f
                .chain
                .iter()
                .map(|s| format!("{} ({})", code(&short_fn(&s.function)), code(&format!("{}:{}", s.path, s.line))))
                .collect();
            parts.push(code(&fa.as_ref().map(|x| x.api.clone()).unwrap_or_default()));
            let line = format!("- {}\n", parts.join(" → "));
            if seen.insert(line.clone()) {
                body.push_str(&line);
            }
        }
        body.push('\n');
    }

    // Impact.
    body.push_str("**Impact**:\n\n");
    for bullet in impact(issue, &kind, &apis, helper.as_ref()) {
        body.push_str(&format!("- {bullet}\n"));
    }
    body.push('\n');

    // Fix.
    let (lead, fix_code, alternative) = fix(issue, &kind, &apis, helper.as_ref(), sources, catalogue);
    body.push_str(&format!("**Fix**: {lead}\n\n"));
    body.push_str(&code_block("rust", &fix_code));
    body.push('\n');
    if let Some(alt) = alternative {
        body.push_str(&format!("**Alternative Fix**: {alt}\n\n"));
    }

    // Files affected.
    body.push_str("**Files Affected**:\n\n");
    for (p, lines) in &files {
        body.push_str(&format!("- {} {}\n", code(p), lines_phrase(lines)));
    }
    if issue.rule == LOCK {
        let mut awaits: Vec<(String, BTreeSet<u32>)> = Vec::new();
        for r in issue.findings.iter().flat_map(|f| &f.related) {
            match awaits.iter_mut().find(|(p, _)| *p == r.path) {
                Some((_, l)) => {
                    l.insert(r.line);
                }
                None => awaits.push((r.path.clone(), BTreeSet::from([r.line]))),
            }
        }
        for (p, lines) in awaits {
            body.push_str(&format!(
                "- {} {} (the `.await` the guard is held across)\n",
                code(&p),
                lines_phrase(&lines)
            ));
        }
    }
    if let (true, Some((name, path, line))) = (issue.is_chain(), &helper) {
        let what = if issue.rule == BLOCKING { "the blocking call" } else { "the call" };
        body.push_str(&format!("- {} line {line} ({what} in {})\n", code(path), code(name)));
    }
    body.push('\n');

    let action = action(issue, &kind, &apis, helper.as_ref());
    Rendered { title, body, action }
}

fn issue_sentence(issue: &Issue, kind: &str, apis: &[String], helper: Option<&(String, String, u32)>) -> String {
    let first = issue.findings[0];
    let rule_note = format!("Rule: {}.", code(issue.rule));
    match (issue.rule, helper, issue.is_chain()) {
        (BLOCKING | BLOCK_ON, Some((name, _, _)), true) => {
            let api = code(apis.first().map(String::as_str).unwrap_or(""));
            let callers: Vec<String> = issue
                .findings
                .iter()
                .map(|f| {
                    format!(
                        "{} ({} line {})",
                        code(&short_fn(f.chain.first().map_or(f.function.as_str(), |s| s.function.as_str()))),
                        code(&f.location.path),
                        f.location.line
                    )
                })
                .collect();
            let consequence = if issue.rule == BLOCKING {
                format!("on the async worker thread. {}", blocking_words(kind, issue.severity).clause)
            } else {
                format!("from async code. {}", block_on_consequence(kind))
            };
            let n = callers.len();
            if n == 1 {
                format!(
                    "The async code in {} calls the sync helper {}, which calls {api} {consequence} Nothing at the call site looks blocking. {rule_note}",
                    callers[0],
                    code(name)
                )
            } else {
                format!(
                    "{} async call sites — {} — reach the sync helper {}, which calls {api} {consequence} It is one root cause: fixing the helper layer, or offloading it at each call site, fixes every location. {rule_note}",
                    number_word(n),
                    join_capped(&callers, "more call sites"),
                    code(name)
                )
            }
        }
        (BLOCKING | BLOCK_ON, _, false) => {
            // Per place, the APIs called there.
            let mut per_place: Vec<(String, Vec<String>)> = Vec::new();
            for (f, fa) in issue.findings.iter().zip(&issue.facts) {
                let Some(fa) = fa else { continue };
                let api = code(&fa.api);
                match per_place.iter_mut().find(|(p, _)| *p == fa.place) {
                    Some((_, list)) => {
                        if !list.contains(&api) {
                            list.push(api);
                        }
                    }
                    None => per_place.push((fa.place.clone(), vec![api])),
                }
                let _ = f;
            }
            let parts: Vec<String> =
                per_place.iter().map(|(place, list)| format!("{} in {place}", join_and(list))).collect();
            if issue.rule == BLOCKING {
                let w = blocking_words(kind, issue.severity);
                format!(
                    "The async code in {} makes {} directly on the worker thread: {}. {} {rule_note}",
                    code(&first.location.path),
                    w.noun,
                    join_capped(&parts, "more"),
                    w.clause
                )
            } else {
                format!(
                    "The async code in {} blocks on async work: {}. {} {rule_note}",
                    code(&first.location.path),
                    join_capped(&parts, "more"),
                    block_on_consequence(kind)
                )
            }
        }
        (LOCK, ..) => {
            let mut parts = Vec::new();
            for (f, fa) in issue.findings.iter().zip(&issue.facts) {
                let place = fa.as_ref().map_or_else(|| code(&short_fn(&f.function)), |x| x.place.clone());
                let method = code_spans(&f.message).get(1).map(|m| code(m)).unwrap_or_else(|| code("lock()"));
                let at = f.related.first().map_or_else(String::new, |r| format!(" on line {}", r.line));
                parts.push(format!(
                    "in {place}, the guard from {method} taken on line {} is still alive at the `.await`{at}",
                    f.location.line
                ));
            }
            let lock = issue.facts.iter().flatten().next().map(|f| code(&f.api)).unwrap_or_default();
            format!(
                "A {lock} guard is held while the task is suspended: {}. The lock stays taken for as long as the awaited operation runs. {rule_note}",
                join_capped(&parts, "more")
            )
        }
        _ => {
            let msgs: Vec<String> = issue.findings.iter().map(|f| message(&f.message)).collect();
            format!("{}. {rule_note}", msgs.join("; "))
        }
    }
}

fn impact(issue: &Issue, kind: &str, apis: &[String], helper: Option<&(String, String, u32)>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    match issue.rule {
        BLOCKING => {
            out.push(blocking_words(kind, issue.severity).impact.to_string());
            out.push("Every other task scheduled on that worker stalls with it, and timers fire late".to_string());
            out.push(
                "Latency climbs under load, and once every worker is blocked the service stops answering — with no error in the logs"
                    .to_string(),
            );
            if apis
                .iter()
                .any(|a| a == "reqwest::blocking::ClientBuilder::build" || a == "reqwest::blocking::Client::new")
            {
                out.push(
                    "A `reqwest::blocking` client runs its own runtime inside; dropping it in async code panics"
                        .to_string(),
                );
            }
        }
        BLOCK_ON => {
            match kind {
                "panic-runtime" => out.push(
                    "Panics at run time with \"Cannot start a runtime from within a runtime\" the first time this path runs"
                        .to_string(),
                ),
                "panic-blocking" => out.push(
                    "Panics at run time with \"Cannot block the current thread from within a runtime\"".to_string(),
                ),
                "build-runtime" => out.push(
                    "Blocking on the new runtime, or dropping it in async code, panics with \"Cannot start a runtime from within a runtime\""
                        .to_string(),
                ),
                _ => {
                    out.push("No panic: the worker thread parks until the future completes".to_string());
                    out.push(
                        "If that future needs this runtime (a spawned task, a timer, a socket), it never completes: the service hangs without an error"
                            .to_string(),
                    );
                }
            }
            out.push(
                "The failure shows at run time, on whichever request first takes this path, far from where the code was written"
                    .to_string(),
            );
        }
        LOCK => {
            let lock = issue.facts.iter().flatten().next().map(|f| f.api.clone()).unwrap_or_default();
            if lock == "std::cell::RefCell" {
                out.push("While the task is suspended at the `.await`, the borrow stays active: any other borrow of the `RefCell` from another task panics (`already borrowed`)".to_string());
                out.push(
                    "The future is not `Send`, so it cannot be given to `tokio::spawn` on a multi-thread runtime"
                        .to_string(),
                );
            } else {
                out.push("While the task is suspended at the `.await`, the lock stays held: every other task calling `lock()` blocks its worker thread".to_string());
                out.push("If a waiting task runs on the same worker as the suspended one, the suspended task never resumes to release the lock: the worker deadlocks".to_string());
                if lock.starts_with("std::") {
                    out.push("The guard is not `Send`, so the future cannot be given to `tokio::spawn` on a multi-thread runtime; the bug hides in code that is only `.await`ed directly".to_string());
                }
            }
        }
        UNUSED => {
            out.push("A directive that suppresses nothing stays in the code: the next finding on its line (for `allow-file`, in its file) is silenced without anyone having reviewed it".to_string());
            out.push("A misspelt rule id suppresses nothing while looking as if it did".to_string());
        }
        rule => match super::review_db::text(rule) {
            Some(t) => {
                // The pool-per-test-or-call bullet only where that is the shape found.
                let per_call =
                    issue.findings.iter().any(|f| f.message.contains("every call") || f.message.starts_with("test "));
                for (i, b) in t.impact.iter().enumerate() {
                    if rule == "unclosed-pool" && i == 1 && !per_call {
                        continue;
                    }
                    out.push(b.to_string());
                }
            }
            None => out.push("See the rule's documentation: `asynclint explain ".to_string() + rule + "`"),
        },
    }
    if let Some((name, ..)) = helper {
        out.push(format!(
            "The problem is hidden in the sync helper `{}`, so nothing at the async call site looks wrong, and every new caller inherits it",
            name
        ));
    }
    let runtime_cost = matches!(issue.rule, BLOCKING | BLOCK_ON | LOCK);
    if !runtime_cost {
        // The database rules say in their own bullets where the cost falls.
    } else if issue.all_in_tests() {
        out.push(
            "Every location is in test code: the cost is slow or stalled tests rather than production latency"
                .to_string(),
        );
    } else if issue.all_in_main() {
        out.push("Every location is in `main`, so this runs once at start-up: it delays start-up and stalls the runtime while it runs rather than slowing requests".to_string());
    }
    out.into_iter().map(|b| message(&b)).collect()
}

/// The fix: a lead sentence, the code, and an alternative.
fn fix(
    issue: &Issue,
    kind: &str,
    apis: &[String],
    helper: Option<&(String, String, u32)>,
    sources: &Sources,
    catalogue: &Apis,
) -> (String, String, Option<String>) {
    if issue.rule == LOCK {
        return fix_lock(issue, sources);
    }
    if issue.rule == UNUSED {
        return fix_unused_suppression(issue, sources);
    }
    if let Some(t) = super::review_db::text(issue.rule) {
        // The finding's own advice first: it names the APIs of this code.
        let mut helps: Vec<&str> = Vec::new();
        for f in &issue.findings {
            if !helps.contains(&f.help.as_str()) {
                helps.push(&f.help);
            }
        }
        let mut body: String = helps.iter().map(|h| format!("// {}\n", one_line(h))).collect();
        body.push_str(t.fix_code);
        return (
            format!("{} (pattern)", t.fix_lead.trim_end_matches(':')) + ":",
            body,
            t.alternative.map(str::to_string),
        );
    }
    let mut body = String::new();
    // The catalogue's advice for each API, once.
    let mut helps: Vec<String> = Vec::new();
    for f in &issue.findings {
        let help = if f.chain.is_empty() {
            f.help.clone()
        } else {
            f.help.split_once(": ").map_or(f.help.clone(), |(_, api_help)| api_help.to_string())
        };
        if !help.is_empty() && !helps.contains(&help) {
            helps.push(help);
        }
    }
    for h in &helps {
        for line in h.lines() {
            body.push_str(&format!("// {line}\n"));
        }
    }
    let mut strategies = BTreeSet::new();
    let several = issue.findings.len() > 1;
    let reqwest_client =
        apis.iter().any(|a| a == "reqwest::blocking::ClientBuilder::build" || a == "reqwest::blocking::Client::new");
    // When the fix belongs in the helper (a blocking client or a runtime it builds), the call
    // sites stay as they are.
    let fix_in_helper = issue.is_chain() && (reqwest_client || kind == "build-runtime");
    if fix_in_helper {
        strategies.insert(Strategy::Pattern);
    }
    let shown: Vec<(&Finding, Option<&Facts>)> = issue
        .findings
        .iter()
        .copied()
        .zip(issue.facts.iter().map(Option::as_ref))
        .take(MAX_FIX_SITES)
        .filter(|_| !fix_in_helper)
        .collect();
    let mut fixes: Vec<SiteFix> = shown
        .iter()
        .map(|(f, fa)| {
            let src = sources.get(&f.location.path);
            site_fix(issue, f, *fa, call_text(src, f), catalogue)
        })
        .collect();
    // One function, one approach: when part of a function's blocking work must move to the
    // blocking pool, an async twin for the rest would not fit it (a sync pool's connection, say).
    let offloaded: BTreeSet<&str> = shown
        .iter()
        .zip(&fixes)
        .filter(|(_, x)| x.strategy == Strategy::SpawnBlocking)
        .map(|((f, _), _)| f.function.as_str())
        .collect();
    for ((f, _), fix) in shown.iter().zip(fixes.iter_mut()) {
        if fix.strategy == Strategy::Twin && offloaded.contains(f.function.as_str()) {
            let src = sources.get(&f.location.path);
            *fix = spawn_blocking(call_text(src, f), true);
        }
    }
    let mut sites: Vec<(&Finding, SiteFix, String)> = Vec::new();
    for ((f, _), mut site) in shown.into_iter().zip(fixes) {
        let src = sources.get(&f.location.path);
        // `.await` cannot go into a sync closure: the rewrite is then only a pattern.
        if site.strategy != Strategy::Pattern && src.is_some_and(|s| in_sync_closure(s, f)) {
            site.strategy = Strategy::Pattern;
            site.note = "pattern: this call is inside a closure, where `.await` cannot go; turn the closure into a loop (or `futures::future::join_all` the futures) first".to_string();
        }
        strategies.insert(site.strategy);
        let code_text = src.and_then(|s| rewritten_lines(s, f, &site)).unwrap_or_else(|| site.replacement.clone());
        sites.push((f, site, code_text));
    }
    // A note every site shares is said once, above them.
    let shared_note = match sites.first() {
        Some((_, first, _)) if sites.iter().all(|(_, s, _)| s.note == first.note) => first.note.clone(),
        _ => String::new(),
    };
    if !shared_note.is_empty() {
        body.push_str(&format!("// {}\n", one_line(&shared_note)));
    }
    for (f, site, code_text) in &sites {
        let mut header = Vec::new();
        if several {
            body.push('\n');
            header.push(format!("{}:{}", f.location.path, f.location.line));
        }
        if !site.note.is_empty() && shared_note.is_empty() {
            header.push(site.note.clone());
        }
        if !header.is_empty() {
            body.push_str(&format!("// {}\n", one_line(&header.join(" — "))));
        }
        body.push_str(&sanitize_source(code_text));
        body.push('\n');
    }
    if issue.findings.len() > MAX_FIX_SITES && !fix_in_helper {
        let more = issue.findings.len() - MAX_FIX_SITES;
        body.push_str(&format!(
            "\n// … the same rewrite at {} (see Files Affected)\n",
            plural(more, "more call site", "more call sites")
        ));
    }
    // For chains, the helper's own line when the fix belongs there.
    if let (true, Some((name, path, line))) = (fix_in_helper, helper) {
        {
            let step = issue.findings[0].chain.last();
            let helper_line = sources
                .get(path)
                .and_then(|s| s.line(*line).map(str::to_string))
                .map(|l| strip_line_comment(&l).trim().to_string());
            let column = step.map_or(1, |s| s.column) as usize;
            let rewritten = helper_line.as_ref().and_then(|l| {
                let start = l.len() - l.trim_start().len();
                let raw = sources.get(path).and_then(|s| s.line(*line).map(str::to_string))?;
                let raw = strip_line_comment(&raw).to_string();
                let at = raw.char_indices().nth(column.saturating_sub(1)).map(|(i, _)| i)?;
                let _ = start;
                if reqwest_client {
                    let tail = &raw[at..];
                    let new_tail = async_reqwest_client(tail)?;
                    Some(format!("{}{}", raw[..at].trim_start(), new_tail))
                } else {
                    Some(format!("{}tokio::runtime::Handle::current()", raw[..at].trim_start()))
                }
            });
            body.push_str(&format!(
                "// {path}:{line}, in `{name}` — pattern: {}\n",
                if reqwest_client {
                    "build the async client here; `spawn_blocking` is no fix, the blocking client would still be dropped in async code"
                } else {
                    "take the running runtime's handle instead of building a runtime (or make the helper async)"
                }
            ));
            match rewritten {
                Some(r) => body.push_str(&format!("{}\n", sanitize_source(&r))),
                None => body.push_str(&format!(
                    "// (rewrite the call to `{}` in `{name}`)\n",
                    apis.first().cloned().unwrap_or_default()
                )),
            }
        }
    }

    let lead = match strategies.iter().collect::<Vec<_>>().as_slice() {
        [Strategy::Replace] => "Use the async equivalent and `.await` it:".to_string(),
        [Strategy::Twin] => {
            "Use the async type and `.await` the same call (the receiver's type changes with it):".to_string()
        }
        [Strategy::SpawnBlocking] if issue.is_chain() => {
            let firsts: BTreeSet<String> =
                issue.findings.iter().filter_map(|f| f.chain.get(1)).map(|s| short_fn(&s.function)).collect();
            match firsts.iter().collect::<Vec<_>>().as_slice() {
                [one] => format!("Run {} on tokio's blocking thread pool at each async call site:", code(one)),
                _ => "Run the sync call on tokio's blocking thread pool at each async call site:".to_string(),
            }
        }
        [Strategy::SpawnBlocking] => "Move the blocking work onto tokio's blocking thread pool:".to_string(),
        [Strategy::Pattern] if issue.is_chain() => "Fix the helper, where the problem is:".to_string(),
        [Strategy::Pattern] => "Follow this pattern:".to_string(),
        _ => "Rewrite each call site:".to_string(),
    };
    let api = apis.first().cloned().unwrap_or_default();
    let alternative = match (issue.rule, helper) {
        (BLOCKING, Some((name, ..))) if issue.is_chain() && !reqwest_client => {
            let covers = match issue.findings.len() {
                1 => "its call site then `.await`s it".to_string(),
                2 => "both call sites then `.await` it".to_string(),
                n => format!("all {n} call sites then `.await` it"),
            };
            let between = if issue.findings.iter().any(|f| f.chain.len() > 2) {
                " (with the helpers between it and the async code)"
            } else {
                ""
            };
            Some(match async_alternative(&api) {
                Some(alt) => format!("make {}{between} async on {}; {covers}.", code(name), message(alt)),
                None => format!("make {}{between} async; {covers}.", code(name)),
            })
        }
        (BLOCK_ON, Some((name, ..))) if issue.is_chain() && kind != "build-runtime" => Some(format!(
            "make {} async and `.await` the future it blocks on; `tokio::task::spawn_blocking` is only the bridge while callers are still sync.",
            code(name)
        )),
        (BLOCKING, None) if strategies.contains(&Strategy::SpawnBlocking) => {
            let mut alts: Vec<String> = Vec::new();
            for a in apis {
                if let Some(alt) = async_alternative(a).map(message) {
                    if !alts.contains(&alt) {
                        alts.push(alt);
                    }
                }
            }
            (!alts.is_empty())
                .then(|| format!("move to {}; then `.await` the calls, with no thread hop.", join_and(&alts)))
        }
        _ => None,
    };
    (lead, body, alternative)
}

/// The lock fix: the guard's lines in a block of their own that ends before the `.await`, when
/// the lines in between are balanced; otherwise the general shape, with the real lock call.
/// `unused-suppression`: each line without its directive (a directive on a line of its own goes).
fn fix_unused_suppression(issue: &Issue, sources: &Sources) -> (String, String, Option<String>) {
    let mut body = String::new();
    for (i, f) in issue.findings.iter().enumerate() {
        if i == MAX_FIX_SITES {
            body.push_str("\n// … the same at the other locations (see Files Affected)\n");
            break;
        }
        let line = sources.get(&f.location.path).and_then(|s| s.line(f.location.line)).unwrap_or("");
        let at = line.char_indices().nth(f.location.column.saturating_sub(1) as usize).map_or(line.len(), |(b, _)| b);
        let kept = line[..at].trim_end();
        body.push_str(&format!("// {}:{}\n", f.location.path, f.location.line));
        if kept.trim().is_empty() {
            body.push_str("// (delete the directive's line)\n");
        } else {
            body.push_str(&format!("{}\n", sanitize_source(kept.trim_start())));
        }
    }
    let alternative =
        "if the directive is needed, correct its rule id (`asynclint rules` lists them) or add ` -- reason`"
            .to_string();
    ("Remove the directive:".to_string(), body, Some(alternative))
}

fn fix_lock(issue: &Issue, sources: &Sources) -> (String, String, Option<String>) {
    let mut body = String::new();
    let mut instead = String::new();
    for (i, f) in issue.findings.iter().enumerate() {
        if i == MAX_FIX_SITES {
            body.push_str("\n// … the same change at the other locations (see Files Affected)\n");
            break;
        }
        if let Some(x) = code_spans(&f.help).last().filter(|x| x.starts_with("tokio::")) {
            instead = x.to_string();
        }
        if i > 0 {
            body.push('\n');
        }
        let src = sources.get(&f.location.path);
        let lock_call = call_text(src, f).trim().to_string();
        let await_line = f.related.first().map(|r| r.line);
        let guard_line = src.and_then(|s| s.line(f.location.line)).map(|l| strip_line_comment(l).to_string());
        let binding = guard_line.as_deref().and_then(let_binding);
        let scoped = match (&src, await_line, &binding) {
            (Some(s), Some(aw), Some((name, rhs))) if aw > f.location.line => {
                scoped_guard(s, f.location.line, aw, name, rhs)
            }
            _ => None,
        };
        if issue.findings.len() > 1 {
            body.push_str(&format!("// {}:{}\n", f.location.path, f.location.line));
        }
        match scoped {
            Some(code_text) => body.push_str(&code_text),
            None => {
                let (name, rhs) = binding.clone().unwrap_or_else(|| ("guard".to_string(), lock_call.clone()));
                body.push_str(
                    "// pattern: copy what the `.await`s need out of the guard in a block of its own; they then run without the lock\n",
                );
                body.push_str(&sanitize_source(&format!(
                    "let copied = {{\n    let {name} = {};\n    /* clone what the code below needs out of `{name}` */\n}}; // `{name}` is dropped here\n/* the code with the `.await`s, using `copied` */\n",
                    one_line(&rhs)
                )));
            }
        }
    }
    let lead = "End the guard before the `.await`:".to_string();
    let alternative = (!instead.is_empty()).then(|| {
        format!(
            "if the guard really must be held across the `.await`, use {} (its `lock().await` yields instead of blocking); it is slower, so prefer the scope.",
            code(&instead)
        )
    });
    (lead, body, alternative)
}

/// Whether `name` appears in `line` as a whole identifier.
fn uses_word(line: &str, name: &str) -> bool {
    line.match_indices(name).any(|(i, _)| {
        let before = line[..i].bytes().last().is_none_or(|c| !is_ident_byte(c));
        let after = line[i + name.len()..].bytes().next().is_none_or(|c| !is_ident_byte(c));
        before && after
    })
}

/// `let mut cache = self.cache.lock().unwrap();` -> ("cache", "self.cache.lock().unwrap()").
fn let_binding(line: &str) -> Option<(String, String)> {
    let rest = line.trim().strip_prefix("let ")?;
    let (pat, rhs) = rest.split_once('=')?;
    let pat = pat.split(':').next()?.trim();
    let name = pat.strip_prefix("mut ").unwrap_or(pat).trim();
    let rhs = rhs.trim().strip_suffix(';')?.trim();
    (!name.is_empty() && name.bytes().all(is_ident_byte)).then(|| (name.to_string(), rhs.to_string()))
}

/// The guard's lines (from its `let` to the line before the `.await`) wrapped in a block, then the
/// `.await` line, and a note when the guard's name is used after the `.await`.
fn scoped_guard(src: &Source, guard: u32, await_line: u32, name: &str, rhs: &str) -> Option<String> {
    let inner: Vec<String> =
        (guard..await_line).map(|n| src.line(n).map(|l| strip_line_comment(l).to_string())).collect::<Option<_>>()?;
    // The lines must open and close their own brackets, or a block around them breaks the code.
    let joined = inner.join("\n");
    let lexed = lex(&joined);
    let mut depth = 0i32;
    for (i, b) in joined.bytes().enumerate() {
        if lexed.code[i] {
            match b {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth -= 1;
                    if depth < 0 {
                        return None;
                    }
                }
                _ => {}
            }
        }
    }
    if depth != 0 {
        return None;
    }
    let await_text = strip_line_comment(src.line(await_line)?).to_string();
    if inner.iter().skip(1).all(|l| l.trim().is_empty()) {
        // Nothing uses the guard before the `.await`: take the lock after it instead.
        if uses_word(&await_text, name) {
            return None;
        }
        let lines = [await_text.as_str(), inner[0].as_str()];
        let mut out = String::from("// take the lock after the `.await`, not before it\n");
        out.push_str(&dedent(&lines));
        out.push('\n');
        return Some(sanitize_source(&out));
    }
    let refs: Vec<&str> = inner.iter().map(String::as_str).collect();
    let block = dedent(&refs);
    let mut out = String::from("// pattern: the guard gets its own block and is dropped before the `.await`; copy out what the code after it needs\n{\n");
    for l in block.lines() {
        out.push_str(&format!("    {l}\n"));
    }
    out.push_str(&format!("}} // `{name}` is dropped here\n"));
    out.push_str(&format!("{}\n", dedent(&[await_text.as_str()])));
    // Is the guard used after the `.await`, in the rest of its block?
    let mut depth = 0i32;
    let mut used_at = None;
    let mut n = await_line;
    while n < src.line_count() && used_at.is_none() {
        n += 1;
        let Some(l) = src.line(n) else { break };
        let l = strip_line_comment(l);
        for b in l.bytes() {
            match b {
                b'{' => depth += 1,
                b'}' => depth -= 1,
                _ => {}
            }
        }
        if depth < 0 {
            break;
        }
        if uses_word(l, name) {
            used_at = Some(n);
        }
    }
    if let Some(at) = used_at {
        out.push_str(&format!(
            "// `{name}` is used again on line {at}: take the lock again there, after the `.await`\nlet mut {name} = {rhs};\n"
        ));
    }
    Some(sanitize_source(&out))
}

fn action(issue: &Issue, kind: &str, apis: &[String], helper: Option<&(String, String, u32)>) -> String {
    let path = code(&issue.findings[0].location.path);
    if let Some(t) = super::review_db::text(issue.rule) {
        return t.action.replace("{where}", &path);
    }
    let n = issue.findings.len();
    match (issue.rule, helper) {
        (BLOCKING, Some((name, ..)))
            if issue.is_chain()
                && apis.iter().any(|a| a.starts_with("reqwest::blocking::Client") && !a.ends_with("::execute")) =>
        {
            format!("Make the sync helper {} build the async `reqwest::Client`", code(name))
        }
        (BLOCK_ON, Some((name, ..))) if issue.is_chain() && kind == "build-runtime" => {
            format!("Stop building a runtime in {}: use the running one", code(name))
        }
        (BLOCKING, Some((name, ..))) if issue.is_chain() => format!(
            "Take the sync helper {} off the async workers ({}: `spawn_blocking`, or make it async)",
            code(name),
            plural(n, "call site", "call sites")
        ),
        (BLOCK_ON, Some((name, ..))) if issue.is_chain() => {
            format!("Stop blocking on async work in {} ({})", code(name), plural(n, "call site", "call sites"))
        }
        (BLOCKING, _) => match kind {
            "sleep" => format!("Replace `std::thread::sleep` with `tokio::time::sleep(..).await` in {path}"),
            "filesystem" => format!("Move the filesystem calls in {path} to `tokio::fs`"),
            "database" => format!("Take the synchronous database calls in {path} off the async workers"),
            "http" => format!("Use the async `reqwest::Client` in {path}"),
            _ => format!("Take the {} in {path} off the async workers", blocking_words(kind, issue.severity).noun),
        },
        (BLOCK_ON, _) => match kind {
            "build-runtime" => format!("Stop building runtimes inside the runtime in {path}"),
            "panic-blocking" => format!("Replace the tokio `blocking_*` calls with `.await` in {path}"),
            _ => format!(
                "Replace `{}` with `.await` in {path}",
                last_segment(apis.first().map_or("block_on", |s| s.as_str()))
            ),
        },
        (LOCK, _) => {
            let fns = issue.functions();
            format!("Release the lock guard before the `.await` in {}", join_and(&fns))
        }
        _ => format!("Address the {} findings in {path}", code(issue.rule)),
    }
}

// ---- the whole review ----------------------------------------------------------------------------

fn rule_description(id: &str) -> String {
    match id {
        BLOCKING => {
            "blocking calls in async code, directly or through sync helpers (`blocking-call-in-async`)".to_string()
        }
        BLOCK_ON => {
            "`block_on`, nested runtimes and tokio `blocking_*` calls reached from async code (`block-on-in-async`)"
                .to_string()
        }
        LOCK => "sync lock guards held across `.await` (`sync-lock-across-await`)".to_string(),
        UNUSED => "suppression directives that suppress nothing (`unused-suppression`)".to_string(),
        other => super::review_db::text(other).map_or_else(|| format!("`{other}`"), |t| t.scope.to_string()),
    }
}

/// "synchronous database calls" etc., for the summary, by finding.
fn class_of(f: &Finding, facts: Option<&Facts>) -> String {
    let kind = facts.map_or("", |x| x.kind.as_str());
    match f.rule {
        BLOCKING => blocking_words(kind, f.severity).noun.to_string(),
        BLOCK_ON => match kind {
            "deadlock" => "`block_on` calls that can deadlock silently".to_string(),
            "build-runtime" => "runtimes built inside the runtime".to_string(),
            "panic-blocking" => "tokio `blocking_*` calls that panic".to_string(),
            _ => "`block_on` calls that panic".to_string(),
        },
        LOCK => "sync lock guards held across `.await`".to_string(),
        other => super::review_db::text(other).map_or_else(|| format!("`{other}` findings"), |t| t.noun.to_string()),
    }
}

fn summary_sentences(analysis: &Analysis, issues: &[Issue]) -> String {
    if analysis.findings.is_empty() {
        return "The rules that ran found no async anti-patterns.".to_string();
    }
    // Call sites per rule and class, from the grouped facts.
    // rule rank -> (rule, call sites, call sites per class, call sites reached through helpers)
    type PerRule<'r> = (&'r str, usize, BTreeMap<String, usize>, usize);
    let mut by_rule: BTreeMap<u8, PerRule> = BTreeMap::new();
    for issue in issues {
        for (f, fa) in issue.findings.iter().zip(&issue.facts) {
            let e = by_rule.entry(rule_rank(f.rule)).or_insert((f.rule, 0, BTreeMap::new(), 0));
            e.1 += 1;
            *e.2.entry(class_of(f, fa.as_ref())).or_insert(0) += 1;
            if !f.chain.is_empty() {
                e.3 += 1;
            }
        }
    }
    let mut rules: Vec<_> = by_rule.into_values().collect();
    rules.sort_by(|a, b| b.1.cmp(&a.1).then(rule_rank(a.0).cmp(&rule_rank(b.0))));
    let mut out = Vec::new();
    for (i, (rule, n, classes, via)) in rules.iter().enumerate() {
        let mut classes: Vec<(&String, &usize)> = classes.iter().collect();
        classes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let list: Vec<String> = classes.iter().map(|(c, k)| format!("{c} ({k})")).collect();
        let sites = plural(*n, "call site", "call sites");
        let what = match *rule {
            BLOCKING => format!("blocking work on tokio's worker threads ({sites}): {}", join_and(&list)),
            BLOCK_ON => format!("blocking on async work from inside the runtime ({sites}): {}", join_and(&list)),
            LOCK => format!("{} held across an `.await`", plural(*n, "sync lock guard", "sync lock guards")),
            r if super::review_db::text(r).is_some() => {
                format!(
                    "database lifecycle and SQL problems ({}): {}",
                    plural(*n, "finding", "findings"),
                    join_and(&list)
                )
            }
            _ => plural(*n, "other finding", "other findings"),
        };
        let lead = if i == 0 { "The dominant problem is" } else { "The review also found" };
        let mut s = format!("{lead} {what}");
        if *via > 0 {
            let which = match (*via, *n) {
                (1, 1) => "it is".to_string(),
                (v, n) if v == n => "all of them are".to_string(),
                (1, _) => "1 of them is".to_string(),
                (v, _) => format!("{v} of them are"),
            };
            if super::review_db::text(rule).is_some() {
                s.push_str(&format!(
                    "; {which} reached through workspace helpers, where nothing at the call site looks like a write"
                ));
            } else {
                s.push_str(&format!(
                    "; {which} reached through sync helpers, where nothing at the call site looks blocking"
                ));
            }
        }
        s.push('.');
        out.push(message(&s));
    }
    out.join(" ")
}

fn positives(analysis: &Analysis, ctx: &MarkdownContext) -> Vec<String> {
    let ran = |id: &str| ctx.rules.iter().any(|r| r == id);
    let fired = |id: &str| analysis.findings.iter().any(|f| f.rule == id);
    let mut out = Vec::new();
    if ran(BLOCK_ON) && !fired(BLOCK_ON) {
        out.push("**No `block_on` inside the runtime**: no `block_on`, nested runtime or tokio `blocking_*` call is reachable from async code".to_string());
    }
    if ran(LOCK) && !fired(LOCK) {
        out.push("**No sync lock held across `.await`**: every `std::sync`, `parking_lot` or `RefCell` guard the analysis could type is released before the task suspends".to_string());
    }
    if ran(BLOCKING) && !fired(BLOCKING) {
        out.push("**No blocking calls on the async workers**: no known blocking API is called from async code, directly or through sync helpers".to_string());
    }
    let with_findings: BTreeSet<&str> = analysis.findings.iter().map(|f| f.location.path.as_str()).collect();
    let clean = analysis.files.saturating_sub(with_findings.len() + analysis.errors.len());
    if !analysis.findings.is_empty() && clean > 0 {
        out.push(format!(
            "**Clean files**: {} of the {} analysed have no findings",
            plural(clean, "file", "files"),
            analysis.files
        ));
    }
    if analysis.errors.is_empty() && analysis.files > 0 {
        out.push(format!(
            "**Complete coverage**: all {} parsed; nothing was skipped",
            plural(analysis.files, "file", "files")
        ));
    }
    for p in ctx.positives {
        out.push(message(p));
    }
    out
}

fn testing(issues: &[Issue]) -> Vec<String> {
    let mut out = Vec::new();
    let blocking: Vec<&Issue> = issues.iter().filter(|i| i.rule == BLOCKING).collect();
    let names = |list: &[&Issue]| -> String {
        let mut fns: Vec<String> = Vec::new();
        for i in list.iter().filter(|i| !i.all_in_tests() && !i.all_in_main()) {
            for f in i.functions() {
                if !fns.contains(&f) && fns.len() < 3 {
                    fns.push(f);
                }
            }
        }
        join_and(&fns)
    };
    if !blocking.is_empty() {
        out.push(format!(
            "**Stall test on a multi-thread runtime**: run the handlers that used to block ({}) while a ticker task runs on the same runtime, each under a short `tokio::time::timeout`; assert the ticker kept ticking and no call timed out",
            names(&blocking)
        ));
        out.push("**`current_thread` runtime test**: in a plain `#[tokio::test]` (current-thread by default), `tokio::join!` the handler with a task that sleeps a few milliseconds; with a blocking call inside, the short task cannot finish before the handler does".to_string());
    }
    if blocking.iter().any(|i| i.kind() == "database") {
        out.push("**Pool exhaustion test**: with a pool (or shared connection) of size 1 held by one request, a second request must wait asynchronously or time out cleanly, without freezing unrelated endpoints".to_string());
    }
    let block_on: Vec<&Issue> = issues.iter().filter(|i| i.rule == BLOCK_ON).collect();
    if !block_on.is_empty() {
        out.push(format!(
            "**Runtime panic test**: call {} from `#[tokio::test]` and assert it completes; today it panics (\"Cannot start a runtime from within a runtime\") or hangs, so wrap it in `tokio::time::timeout`",
            names(&block_on)
        ));
    }
    let locks: Vec<&Issue> = issues.iter().filter(|i| i.rule == LOCK).collect();
    if !locks.is_empty() {
        out.push(format!(
            "**`Send` check**: a compile-time test `fn assert_send<T: Send>(_: T) {{}}` on the future of {} fails while a std guard lives across the `.await`",
            names(&locks)
        ));
        out.push("**Contention test**: run many concurrent calls of the locking code on a multi-thread runtime under `tokio::time::timeout`; a guard held across `.await` shows up as timeouts".to_string());
    }
    let mut db_rules: Vec<&str> =
        issues.iter().map(|i| i.rule).filter(|r| super::review_db::text(r).is_some()).collect();
    db_rules.sort_by_key(|r| super::review_db::DB_RULES.iter().position(|x| x == r));
    db_rules.dedup();
    for r in db_rules {
        if let Some(t) = super::review_db::text(r) {
            out.push(t.testing.to_string());
        }
    }
    out.push("**Keep the review in CI**: run `asynclint check --fail-on critical` on every pull request so new blocking calls are caught before review".to_string());
    // Markdown already: fixed text with `code`, and names made with `code()`.
    out
}

fn references(issues: &[Issue]) -> Vec<String> {
    let fired = |rule: &str| issues.iter().any(|i| i.rule == rule);
    let mut out = vec![
        "[tokio::task::spawn_blocking](https://docs.rs/tokio/latest/tokio/task/fn.spawn_blocking.html)".to_string(),
        "[tokio::task::block_in_place](https://docs.rs/tokio/latest/tokio/task/fn.block_in_place.html)".to_string(),
        "[Alice Ryhl: Async: What is blocking?](https://ryhl.io/blog/async-what-is-blocking/)".to_string(),
    ];
    if fired(BLOCK_ON) {
        out.push("[tokio::runtime::Handle::block_on](https://docs.rs/tokio/latest/tokio/runtime/struct.Handle.html#method.block_on)".to_string());
    }
    out.push("[tokio::sync::Mutex: which kind of mutex should you use?](https://docs.rs/tokio/latest/tokio/sync/struct.Mutex.html#which-kind-of-mutex-should-you-use)".to_string());
    out.push("[std::sync::Mutex](https://doc.rust-lang.org/std/sync/struct.Mutex.html)".to_string());
    if fired(LOCK) {
        out.push("[Tokio tutorial: Shared state](https://tokio.rs/tokio/tutorial/shared-state)".to_string());
    }
    let mut rules: Vec<&str> = issues.iter().map(|i| i.rule).collect();
    rules.sort_by_key(|r| (rule_rank(r), super::review_db::DB_RULES.iter().position(|x| x == r)));
    rules.dedup();
    for r in &rules {
        if let Some(t) = super::review_db::text(r) {
            out.push(t.reference.to_string());
        }
    }
    for r in rules {
        out.push(format!("{}: the rule's documentation, with examples", code(&format!("asynclint explain {r}"))));
    }
    out
}

/// "#1", "#1-4", "#2, #5".
fn issue_numbers(numbers: &[usize]) -> String {
    match numbers {
        [] => String::new(),
        [one] => format!("#{one}"),
        [a, b] => format!("#{a} and #{b}"),
        [first, .., last] if last - first + 1 == numbers.len() => format!("#{first}-{last}"),
        _ => numbers.iter().map(|n| format!("#{n}")).collect::<Vec<_>>().join(", "),
    }
}

/// Renders the review. Pure: the same analysis and context give the same bytes.
pub fn render(analysis: &Analysis, ctx: &MarkdownContext) -> String {
    let apis = Apis::load();
    let issues = group_findings(&analysis.findings, &apis);
    let sources: Sources = ctx.sources.iter().map(|(path, text)| (path.clone(), Source::new(text))).collect();
    let rendered: Vec<Rendered> = issues.iter().map(|i| render_issue(i, &sources, &apis)).collect();
    let count = |s: Severity| issues.iter().filter(|i| i.severity == s).count();
    let (critical, high, medium) = (count(Severity::Critical), count(Severity::High), count(Severity::Medium));

    let mut out = String::new();
    let since = ctx.base.map_or(String::new(), |b| format!(" (changes since {})", code(b)));
    match ctx.branch {
        Some(b) => out.push_str(&format!("# Async Code Review - {} - {} Branch{since}\n\n", text(ctx.target), code(b))),
        None => out.push_str(&format!("# Async Code Review - {}{since}\n\n", text(ctx.target))),
    }
    out.push_str(&format!("**Review Date**: {}\n", text(ctx.date)));
    if let Some(b) = ctx.branch {
        out.push_str(&format!("**Branch**: {}\n", code(b)));
    }
    if let Some(b) = ctx.base {
        out.push_str(&format!(
            "**Base**: {} (the whole workspace was analysed; only findings on lines added or changed since the merge base are reviewed)\n",
            code(b)
        ));
    }
    out.push_str(&format!("**Reviewer**: asynclint {}\n", text(ctx.version)));
    let mut scope = format!("Async anti-patterns in {}", plural(analysis.files, "Rust file", "Rust files"));
    if let Some(c) = ctx.crates {
        scope.push_str(&format!(" of {}", plural(c, "crate", "crates")));
    }
    let rules: Vec<String> = ctx.rules.iter().map(|r| rule_description(r)).collect();
    if !rules.is_empty() {
        scope.push_str(&format!(": {}", join_and(&rules)));
    }
    if !analysis.errors.is_empty() {
        scope.push_str(&format!("; {} could not be analysed", plural(analysis.errors.len(), "file", "files")));
    }
    out.push_str(&format!("**Scope**: {}\n\n", message(&scope)));

    out.push_str("## Executive Summary\n\n");
    out.push_str(&format!(
        "This review identified **{}**, **{}**, and **{}** in the async code of {}. {}",
        plural(critical, "critical issue", "critical issues"),
        plural(high, "high-priority issue", "high-priority issues"),
        plural(medium, "medium-priority improvement", "medium-priority improvements"),
        text(ctx.target),
        summary_sentences(analysis, &issues)
    ));
    if !analysis.errors.is_empty() {
        let list: Vec<String> = analysis
            .errors
            .iter()
            .map(|e| {
                let at = e.line.map_or(String::new(), |l| format!(" line {l}"));
                format!("{} ({}{at}: {})", code(&e.path), e.kind.as_str(), code(&e.message))
            })
            .collect();
        out.push_str(&format!(
            " **{} could not be analysed** and {} not covered by this review: {}.",
            plural(analysis.errors.len(), "file", "files"),
            if analysis.errors.len() == 1 { "is" } else { "are" },
            list.join(", ")
        ));
    }
    out.push_str("\n\n---\n\n");

    let sections = [
        (Severity::Critical, "## 🔴 CRITICAL ISSUES", "No critical issues."),
        (Severity::High, "## 🟡 HIGH PRIORITY ISSUES", "No high-priority issues."),
        (Severity::Medium, "## 🟢 MEDIUM PRIORITY IMPROVEMENTS", "No medium-priority improvements."),
    ];
    let mut numbers: BTreeMap<Severity, Vec<usize>> = BTreeMap::new();
    for (severity, heading, none) in sections {
        out.push_str(&format!("{heading}\n\n"));
        let mut any = false;
        for (n, (issue, r)) in issues.iter().zip(&rendered).enumerate() {
            if issue.severity != severity {
                continue;
            }
            any = true;
            numbers.entry(severity).or_default().push(n + 1);
            out.push_str(&format!("### {}. {}\n\n{}---\n\n", n + 1, r.title, r.body));
        }
        if !any {
            out.push_str(&format!("{none}\n\n---\n\n"));
        }
    }

    out.push_str("## ✅ POSITIVE FINDINGS\n\n");
    let pos = positives(analysis, ctx);
    if pos.is_empty() {
        out.push_str("The findings alone support no positive observation for this code.\n");
    }
    for (i, p) in pos.iter().enumerate() {
        out.push_str(&format!("{}. {p}\n", i + 1));
    }
    out.push_str("\n---\n\n## 📋 RECOMMENDATIONS SUMMARY\n\n");
    let recs = [
        (Severity::Critical, "### Immediate Actions (Critical)", "✅ "),
        (Severity::High, "### Short-term (High Priority)", ""),
        (Severity::Medium, "### Long-term (Medium Priority)", ""),
    ];
    for (severity, heading, tick) in recs {
        out.push_str(&format!("{heading}\n\n"));
        let mut k = 0;
        for (n, (issue, r)) in issues.iter().zip(&rendered).enumerate() {
            if issue.severity == severity {
                k += 1;
                out.push_str(&format!("{k}. {tick}{} (Issue #{})\n", r.action, n + 1));
            }
        }
        if severity == Severity::Medium {
            for alt in long_term(&issues) {
                k += 1;
                out.push_str(&format!("{k}. {alt}\n"));
            }
        }
        if k == 0 {
            out.push_str("None.\n");
        }
        out.push('\n');
    }
    out.push_str("---\n\n## 🔍 TESTING RECOMMENDATIONS\n\n");
    for (i, t) in testing(&issues).iter().enumerate() {
        out.push_str(&format!("{}. {t}\n", i + 1));
    }
    out.push_str("\n---\n\n## 📚 REFERENCES\n\n");
    for r in references(&issues) {
        out.push_str(&format!("- {r}\n"));
    }
    out.push_str("\n---\n\n");

    let status = if critical > 0 {
        "⚠️ **REQUIRES IMMEDIATE ATTENTION**"
    } else if high + medium > 0 {
        "🟡 **CHANGES RECOMMENDED**"
    } else {
        "✅ **APPROVED**"
    };
    out.push_str(&format!("**Review Status**: {status}\n\n**Next Steps**:\n\n"));
    let mut steps = Vec::new();
    if let Some(n) = numbers.get(&Severity::Critical) {
        steps.push(format!(
            "Address critical {} {} before merging",
            if n.len() == 1 { "issue" } else { "issues" },
            issue_numbers(n)
        ));
    }
    if let Some(n) = numbers.get(&Severity::High) {
        steps.push(format!(
            "Fix high-priority {} {} in a follow-up, or track {} as tickets",
            if n.len() == 1 { "issue" } else { "issues" },
            issue_numbers(n),
            if n.len() == 1 { "it" } else { "them" }
        ));
    }
    if let Some(n) = numbers.get(&Severity::Medium) {
        steps.push(format!(
            "Schedule the medium-priority {} {}",
            if n.len() == 1 { "improvement" } else { "improvements" },
            issue_numbers(n)
        ));
    }
    if !analysis.errors.is_empty() {
        steps.push(match analysis.errors.len() {
            1 => "Fix the file that could not be analysed and review again: it is not covered".to_string(),
            n => format!("Fix the {n} files that could not be analysed and review again: they are not covered"),
        });
    }
    if issues.is_empty() {
        steps.push("Merge; keep `asynclint check` in CI to keep it this way".to_string());
    } else {
        steps.push("Run `asynclint review` again after the fixes to confirm every issue is gone".to_string());
    }
    for (i, s) in steps.iter().enumerate() {
        out.push_str(&format!("{}. {s}\n", i + 1));
    }
    out
}

/// Long-term items that follow from the issues: the migrations that remove whole classes.
fn long_term(issues: &[Issue]) -> Vec<String> {
    let mut alts: Vec<String> = Vec::new();
    for issue in issues.iter().filter(|i| i.rule == BLOCKING && i.kind() == "database") {
        for api in issue.apis() {
            if let Some(alt) = async_alternative(&api) {
                let item = format!("Plan the migration of the synchronous database layer to {alt}, so the `spawn_blocking` bridges can go");
                if !alts.contains(&item) {
                    alts.push(item);
                }
            }
        }
    }
    alts.into_iter().map(|a| message(&a)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(date_from_unix_seconds(1_700_000_000), "2023-11-14");
        for d in -800_000..800_000 {
            let (y, m, day) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, day), d);
        }
    }

    #[test]
    fn dates_are_checked() {
        assert!(parse_date("2024-02-29").is_ok());
        assert!(parse_date("2023-02-29").is_err());
        assert!(parse_date("2023-13-01").is_err());
        assert!(parse_date("2023-1-01").is_err());
        assert!(parse_date("+023-01-01").is_err());
    }

    #[test]
    fn calls_are_split() {
        assert_eq!(path_call("std::thread::sleep(d)"), Some(("std::thread::sleep", "(d)")));
        assert_eq!(path_call("a.b(c)"), None);
        assert_eq!(method_call("file.write_all(x.as_bytes())"), Some(("file", "write_all", "(x.as_bytes())")));
        assert_eq!(method_call("f(\").x(\")"), None);
        assert_eq!(strip_line_comment("let a = \"http://x\"; // note"), "let a = \"http://x\";");
    }

    #[test]
    fn inline_code_escapes() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(text("<script>"), "\\<script\\>");
        assert!(code_block("rust", "let s = \"```\";").starts_with("````rust\n"));
    }
}
