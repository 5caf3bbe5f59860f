//! Lines the lexer need not see, blanked (every byte but the line break becomes a space) before
//! lexing, so that lines, columns and byte offsets stay those of the file:
//! - doc comments (`///`) and one-line attributes the extractor never reads
//!   (`FACTLESS_ATTRIBUTES`: `#[doc = ..]`, `#[cfg(..)]` without `test`, `#[derive(..)]`, ...),
//!   unless they are attached to nothing: the lexer makes each a group of tokens, syn parses it
//!   (and unescapes every doc string), and no fact comes from them;
//! - plain `const` items, one per line, with the one-line attributes right above them.
//!
//! Why: on the bench corpus (276 MB) these are 95 MB, in 2.0 million lines: doc comments 31 MB,
//! one-line `#[doc = ..]` 17 MB (web-sys writes its docs that way), other such attributes 11 MB,
//! and `pub const NAME: Type = value;` lines 37 MB (generated bindings, such as windows-sys,
//! linux-raw-sys and libsqlite3-sys, declare constants by the hundred thousand). Lexing them,
//! buffering their tokens and parsing them into syn nodes was work thrown away. Of a const, the
//! extractor keeps only its name and, if its value is a string, whether that string is SQL
//! (`Extractor::item`). A value here holds no string (no `"`), so only the name is lost, and a
//! name that resolves to a const is as silent as one that does not resolve: no rule judges a
//! const, and consts are never called.
//!
//! The test is on the line's text alone, so it is strict, and when in doubt the line is kept:
//! - a const line is `[visibility] const NAME: ... = ...;` with brackets balanced, one `;` outside
//!   brackets and that at the end, and no `"`, `'`, `#`, `//` or `/*`;
//! - the line above it (over blank lines, comments, the lines blanked anyway, and the one-line
//!   attributes that are blanked with it) ends an item or opens a block: it ends with `;`, `{` or
//!   `}`, or it is an inner attribute or inner doc comment, or there is none. An attribute that
//!   does not fit on one line stops the search, so no attribute of a blanked const is left behind
//!   to attach itself to the next item;
//! - doc comments and attributes followed by `}`, `)`, `]` or the end of the file are kept: syn
//!   rejects them, and so must we.
//!
//! A line that only looks like one of these (inside a block comment, a multi-line string or a
//! `macro_rules!` body) may be blanked too: the comment or macro body means nothing to the
//! analysis, and a string line without a quote cannot be where the SQL the rules read starts or
//! ends. A syntax error inside a blanked line goes unreported, as inside an emptied table. An
//! attribute or doc comment on a statement (rare: rustc warns of an unused doc comment) no longer
//! counts as where the statement starts.

use std::ops::Range;

/// The text with its doc comments and plain const lines blanked, or `None` when it has none.
pub fn blank_lines(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut blank: Vec<Range<usize>> = Vec::new();
    // Lines starting with `#[` since the last line that ends an item: blanked with the const that
    // follows them if each is a one-line attribute, forgotten at any other line.
    let mut pending: Vec<Range<usize>> = Vec::new();
    let mut after_boundary = true;
    // The doc comments and factless attributes since the last line of code: they are seen through
    // when looking for the line above a const.
    let mut factless: Vec<Range<usize>> = Vec::new();
    // Bytes, and ASCII whitespace only: this runs over every line of every file.
    let ends = memchr::memchr_iter(b'\n', bytes).chain((!bytes.ends_with(b"\n")).then_some(bytes.len()));
    let mut line_start = 0;
    for end in ends {
        let line = &bytes[line_start..end];
        let range_base = line_start;
        line_start = end + 1;
        let lead = line.len() - line.trim_ascii_start().len();
        let t = line[lead..].trim_ascii_end();
        let Some(&first) = t.first() else { continue };
        let range = range_base + lead..range_base + lead + t.len();
        if t.starts_with(b"//") {
            if t.starts_with(b"///") && !t.starts_with(b"////") {
                factless.push(range);
                continue;
            }
            if !t.starts_with(b"//!") {
                // A plain comment (four slashes make one too).
                continue;
            }
        }
        if first == b'#' && is_factless_attribute(t) {
            factless.push(range);
            continue;
        }
        // They go unless they are attached to nothing (a syntax error to report, not to hide).
        if matches!(first, b'}' | b')' | b']') {
            factless.clear();
        } else {
            blank.append(&mut factless);
        }
        if t.starts_with(b"#[") {
            if after_boundary {
                pending.push(range);
            }
            continue;
        }
        if after_boundary
            && matches!(first, b'p' | b'c')
            && is_plain_const(t)
            && pending.iter().all(|r| is_one_line_attribute(&bytes[r.clone()], b"#["))
        {
            blank.append(&mut pending);
            blank.push(range);
            continue;
        }
        pending.clear();
        after_boundary =
            t.starts_with(b"//!") || is_one_line_attribute(t, b"#![") || matches!(t.last(), Some(b';' | b'{' | b'}'));
    }
    if blank.is_empty() {
        return None;
    }
    // Ranges are whole lines trimmed of ASCII whitespace, so they start and end on character
    // boundaries; they were gathered out of order (a doc comment is kept until the line after it).
    blank.sort_unstable_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for range in blank {
        out.push_str(&text[copied..range.start]);
        let mut left = range.len();
        while left > 0 {
            let n = left.min(SPACES.len());
            out.push_str(&SPACES[..n]);
            left -= n;
        }
        copied = range.end;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// Attributes the extractor never reads (it reads `cfg(test)`, `test` and `*::test`, `path`, and
/// the runtime entries such as `tokio::main`), among those common enough to matter: on the bench
/// corpus, one-line `#[doc = ..]` alone is 17 MB (web-sys writes its docs that way), `#[cfg(..)]`
/// 6 MB and `#[derive(..)]` 2 MB. Built-in or inert for us: none of them makes code async, test or
/// a module file.
const FACTLESS_ATTRIBUTES: &[&[u8]] = &[
    b"doc",
    b"cfg",
    b"derive",
    b"repr",
    b"inline",
    b"allow",
    b"warn",
    b"deny",
    b"forbid",
    b"expect",
    b"non_exhaustive",
    b"deprecated",
    b"must_use",
    b"automatically_derived",
    b"track_caller",
    b"cold",
    b"wasm_bindgen",
];

/// A one-line outer attribute named in `FACTLESS_ATTRIBUTES`; a `cfg` only if the word `test`
/// appears nowhere in it (`cfg(test)`, `cfg(any(test, ..))` make code test code).
fn is_factless_attribute(t: &[u8]) -> bool {
    let Some(inside) = t.strip_prefix(b"#[") else { return false };
    let inside = inside.trim_ascii_start();
    let name_len = inside.iter().position(|&b| !(b.is_ascii_alphanumeric() || b == b'_')).unwrap_or(inside.len());
    let (name, rest) = inside.split_at(name_len);
    if !matches!(rest.trim_ascii_start().first(), Some(b'(' | b'=' | b']')) || !FACTLESS_ATTRIBUTES.contains(&name) {
        return false;
    }
    if name == b"cfg" && t.windows(4).any(|w| w == b"test") {
        return false;
    }
    is_one_line_attribute(t, b"#[")
}

/// What blanked lines are made of, a piece at a time.
const SPACES: &str = "                                                                ";

/// `[visibility] const NAME: ... = ...;` alone on the line, as described in the module doc.
fn is_plain_const(t: &[u8]) -> bool {
    let rest = match t.strip_prefix(b"pub") {
        None => t,
        Some(after) => match after.trim_ascii_start() {
            // `pub` must be a word of its own.
            trimmed if trimmed.len() == after.len() && !after.starts_with(b"(") => return false,
            trimmed => match trimmed.strip_prefix(b"(") {
                Some(inside) => match inside.iter().position(|&b| b == b')') {
                    Some(close) => &inside[close + 1..],
                    None => return false,
                },
                None => trimmed,
            },
        },
    };
    let Some(rest) = rest.trim_ascii_start().strip_prefix(b"const") else { return false };
    if !rest.first().is_some_and(u8::is_ascii_whitespace) {
        return false;
    }
    let rest = rest.trim_ascii_start();
    let name_len = rest.iter().position(|&b| !(b.is_ascii_alphanumeric() || b == b'_')).unwrap_or(rest.len());
    let (name, rest) = rest.split_at(name_len);
    if name.first().is_none_or(u8::is_ascii_digit) {
        return false;
    }
    let rest = rest.trim_ascii_start();
    if !rest.starts_with(b":") || rest.starts_with(b"::") || !rest.contains(&b'=') {
        return false;
    }
    if rest.iter().any(|b| matches!(b, b'"' | b'\'' | b'#')) || rest.windows(2).any(|w| w == b"//" || w == b"/*") {
        return false;
    }
    // Brackets balanced, and the one `;` outside them is the last byte.
    let mut depth = 0i32;
    for (i, &b) in rest.iter().enumerate() {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            b';' if depth == 0 => return i == rest.len() - 1,
            _ => {}
        }
    }
    false
}

/// An attribute that opens with `open` (`#[` or `#![`) and closes at the end of the same line:
/// its brackets, outside string literals, first balance at the last byte.
fn is_one_line_attribute(t: &[u8], open: &[u8]) -> bool {
    if !t.starts_with(open) || !t.ends_with(b"]") {
        return false;
    }
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in t.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'(' | b'{' => depth += 1,
            b']' | b')' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i == t.len() - 1;
                }
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text with blanked lines shown as `~`, so that a test reads what was kept.
    fn skim(text: &str) -> String {
        let out = blank_lines(text).unwrap_or_else(|| text.to_string());
        assert_eq!(out.len(), text.len(), "offsets moved");
        out.lines().map(|l| if !l.is_empty() && l.trim().is_empty() { "~" } else { l }).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn plain_consts_and_their_docs_and_attributes_are_blanked() {
        let text = "\
pub const A: u32 = 1u32;
pub(crate) const B: [u8; 4] = [1, 2, 3, 4];
/// The answer.
#[cfg(feature = \"x\")]
const C: Foo = Foo { a: 1, b: Bar::X };
pub const D: i32 = -1 << 3;
fn f() {
    const N: usize = 4;
    g(N);
}";
        assert_eq!(skim(text), "~\n~\n~\n~\n~\n~\nfn f() {\n~\n    g(N);\n}");
    }

    #[test]
    fn consts_that_could_matter_or_that_a_line_cannot_show_are_kept() {
        for kept in [
            // A string may be SQL, which the rules read.
            "pub const Q: &str = \"SELECT 1\";",
            "const C: char = ';';",
            // Not a const item, or not all of it on this line.
            "pub const fn f() -> u32 { 1 }",
            "const unsafe fn g() {}",
            "const X: [u8; 2] = [1,",
            "const X: u8 = 1; static S: u8 = 2;",
            "const X: u8 = 1; // note",
            "const X: u8 = /* ; */ 1;",
            "const X: u8;",
            "const { assert!(true) };",
            "pubconst X: u8 = 1;",
        ] {
            let text = format!("fn a() {{}}\n{kept}\n");
            assert_eq!(skim(&text), text.trim_end(), "{kept}");
        }
    }

    #[test]
    fn an_attribute_is_never_left_behind() {
        // The attribute spans lines: the const stays, or the attribute would take the next item.
        let text = "#[cfg(any(\n    unix,\n))]\npub const A: u8 = 1;\nfn f() {}";
        assert_eq!(skim(text), text);
        // A line that ends no item is above: the const may belong to it.
        let text = "x = y\nconst A: u8 = 1;";
        assert_eq!(skim(text), text);
        let text = "/**\n * Doc.\n */\nconst A: u8 = 1;";
        assert_eq!(skim(text), text);
        // A one-line attribute and a doc comment above go with it; an inner one stays.
        assert_eq!(skim("#![allow(x)]\n/// A.\n#[doc(hidden)]\nconst A: u8 = 1;"), "#![allow(x)]\n~\n~\n~");
        // Blank lines and plain comments in between change nothing.
        assert_eq!(skim("struct S;\n\n// c\n//// c\nconst A: u8 = 1;"), "struct S;\n\n// c\n//// c\n~");
    }

    #[test]
    fn attributes_are_told_by_their_brackets() {
        assert!(is_one_line_attribute(b"#[doc = \"a ] b\"]", b"#["));
        assert!(is_one_line_attribute(b"#[cfg(all(a, not(b)))]", b"#["));
        assert!(!is_one_line_attribute(b"#[a] fn f() { x[0] }", b"#["));
        assert!(!is_one_line_attribute(b"#[cfg(any(", b"#["));
        assert!(!is_one_line_attribute(b"#![a]", b"#["));
        assert!(is_one_line_attribute(b"#![a]", b"#!["));
    }

    #[test]
    fn doc_comments_go_unless_they_document_nothing() {
        let text = "/// Doc.\n//// Not doc.\npub fn f() {\n    /// On a statement.\n    let x = 1;\n    /// Nothing.\n}\n/// End.";
        assert_eq!(skim(text), "~\n//// Not doc.\npub fn f() {\n~\n    let x = 1;\n    /// Nothing.\n}\n/// End.");
        // Through attributes and comments, to the item.
        assert_eq!(skim("/// A.\n// c\n#[test]\nfn f() {}"), "~\n// c\n#[test]\nfn f() {}");
        // In a field list, before its closing bracket.
        assert_eq!(skim("struct S {\n    a: u8,\n    /// B.\n}"), "struct S {\n    a: u8,\n    /// B.\n}");
    }

    #[test]
    fn attributes_the_extractor_never_reads_go_too() {
        let text =
            "#[derive(Debug, Clone)]\n#[repr(C)]\npub struct S;\n#[doc = \"x\"]\n#[cfg(feature = \"a\")]\nfn f() {}";
        assert_eq!(skim(text), "~\n~\npub struct S;\n~\n~\nfn f() {}");
        for kept in [
            "#[cfg(test)]",
            "#[cfg(any(test, feature = \"x\"))]",
            "#[cfg(feature = \"test-utils\")]",
            "#[cfg_attr(test, path = \"a.rs\")]",
            "#[path = \"a.rs\"]",
            "#[test]",
            "#[tokio::test]",
            "#[tokio::main(flavor = \"current_thread\")]",
            "#[async_trait]",
            "#[doc::x]",
            "#[derive(Debug)] struct T;",
            "#[cfg(any(",
        ] {
            let text = format!("{kept}\nfn f() {{}}");
            assert_eq!(skim(&text), text, "{kept}");
        }
        // Attached to nothing: a syntax error, kept for syn to report.
        assert_eq!(skim("struct S {\n    #[doc = \"b\"]\n}"), "struct S {\n    #[doc = \"b\"]\n}");
    }

    #[test]
    fn crlf_and_non_ascii_lines_keep_their_offsets() {
        let text = "const A: u8 = 1;\r\nconst É: u8 = 2;\r\nconst B: Wörd = 3;\r\n";
        let out = blank_lines(text).unwrap();
        assert_eq!(out.len(), text.len());
        // `É` is not an ASCII name: kept. The type may be anything.
        assert_eq!(out, "                \r\nconst É: u8 = 2;\r\n                   \r\n");
    }

    /// Items that parse on their own, with the lines skimming looks at: doc comments, attributes
    /// on one line or several, consts with and without attributes, and items that must keep theirs.
    const SNIPPETS: &[&str] = &[
        "/// Doc.\npub const A: u32 = 1;",
        "#[cfg(unix)]\nconst B: [u8; 2] = [1, 2];",
        "#[cfg(any(\n    unix,\n    windows,\n))]\npub const C: u8 = 3;",
        "#[cfg(test)]\npub(crate) const D: Foo = Foo { a: 1 };",
        "#[cfg(test)]\nfn tested() {}",
        "#[cfg(all(\n    test,\n    unix,\n))]\nconst T: u8 = 1;",
        "#[cfg(any(\n    test,\n))]\nfn tested_too() {}",
        "/// Doc.\n#[derive(Debug)]\n#[repr(C)]\npub struct S {\n    /// Field.\n    pub a: u8,\n}",
        "#[tokio::main]\nasync fn main() {}",
        "#[path = \"x.rs\"]\nmod x;",
        "#[doc = \"d\"]\n#[inline]\npub fn f() {\n    const N: usize = 2;\n    /// On a statement.\n    let _ = N;\n}",
        "impl S {\n    /// Doc.\n    pub const E: u8 = 1;\n    #[test]\n    fn t() {}\n}",
        "const Q: &str = \"SELECT 1\";",
        "#[allow(dead_code)]\nconst fn k() -> u8 { 1 }",
        "// plain\n//// four\nstatic S2: u8 = 0;",
        "macro_rules! m {\n    () => {\n        const M: u8 = 1;\n    };\n}",
        "fn s() -> &'static str {\n    \"\n/// not doc\nconst X: u8 = 1;\n\"\n}",
    ];

    /// What must survive skimming: every item but consts, in order, with its name and the
    /// attributes the extractor reads.
    fn outline(items: &[syn::Item], out: &mut Vec<String>) {
        let kept = |attrs: &[syn::Attribute]| -> Vec<String> {
            attrs
                .iter()
                .map(|a| {
                    let path: Vec<String> = a.path().segments.iter().map(|s| s.ident.to_string()).collect();
                    let args = match &a.meta {
                        syn::Meta::List(l) => l.tokens.to_string(),
                        _ => String::new(),
                    };
                    (path.join("::"), args)
                })
                .filter(|(path, args)| {
                    let factless = FACTLESS_ATTRIBUTES.contains(&path.as_bytes());
                    !factless || (path == "cfg" && args.contains("test"))
                })
                .map(|(path, args)| format!("{path}({args})"))
                .collect()
        };
        for item in items {
            match item {
                syn::Item::Const(_) => {}
                syn::Item::Fn(f) => out.push(format!("fn {} {:?}", f.sig.ident, kept(&f.attrs))),
                syn::Item::Mod(m) => {
                    out.push(format!("mod {} {:?}", m.ident, kept(&m.attrs)));
                    if let Some((_, inner)) = &m.content {
                        outline(inner, out);
                    }
                    out.push("end mod".into());
                }
                syn::Item::Impl(i) => {
                    out.push(format!("impl {:?}", kept(&i.attrs)));
                    for it in &i.items {
                        if let syn::ImplItem::Fn(f) = it {
                            out.push(format!("  fn {} {:?}", f.sig.ident, kept(&f.attrs)));
                        }
                    }
                }
                syn::Item::Struct(x) => out.push(format!("struct {} {:?}", x.ident, kept(&x.attrs))),
                syn::Item::Static(x) => out.push(format!("static {} {:?}", x.ident, kept(&x.attrs))),
                syn::Item::Macro(x) => {
                    out.push(format!("macro {:?} {:?}", x.ident.as_ref().map(ToString::to_string), kept(&x.attrs)))
                }
                _ => out.push("other".into()),
            }
        }
    }

    proptest::proptest! {
        /// Any mix of the snippets, at top level or in inline modules: the skimmed text has the
        /// same length and line breaks, still parses, and keeps every item but consts with the
        /// attributes the extractor reads (none left behind to attach itself elsewhere).
        #[test]
        fn skimming_keeps_every_item_and_its_attributes(
            picks in proptest::collection::vec((0..SNIPPETS.len(), 0..3usize), 1..12)
        ) {
            let mut text = String::new();
            for (i, (pick, wrap)) in picks.iter().enumerate() {
                match wrap {
                    0 => text.push_str(&format!("mod w{i} {{\n{}\n}}\n", SNIPPETS[*pick])),
                    _ => text.push_str(&format!("{}\n", SNIPPETS[*pick])),
                }
            }
            let skimmed = blank_lines(&text).unwrap_or_else(|| text.clone());
            proptest::prop_assert_eq!(skimmed.len(), text.len());
            for (a, b) in text.bytes().zip(skimmed.bytes()) {
                proptest::prop_assert!(a == b || b == b' ', "a byte became something other than a space");
                proptest::prop_assert_eq!(a == b'\n', b == b'\n');
            }
            let before = syn::parse_file(&text).expect("the snippets parse");
            let after = syn::parse_file(&skimmed);
            proptest::prop_assert!(after.is_ok(), "skimming broke the parse:\n{}\n---\n{}", text, skimmed);
            let (mut was, mut is) = (Vec::new(), Vec::new());
            outline(&before.items, &mut was);
            outline(&after.unwrap().items, &mut is);
            proptest::prop_assert_eq!(was, is, "{}\n---\n{}", text, skimmed);
        }
    }
}
