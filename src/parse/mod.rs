//! Parsing: source text in, compact facts out. Runs on many threads at once; each call parses one
//! file with syn, extracts its facts, and lets go of the syntax tree before returning.

pub mod cached;
pub mod extract;
pub mod facts;
mod skim;

use crate::intern::Interner;
use facts::{ByteSpan, FileFacts, SyntaxError};

/// The text syn sees: without a leading BOM (which shifts no offsets that we report, since every
/// offset is taken relative to this text), and with a shebang line blanked out rather than cut, so
/// that lines, columns and byte offsets stay those of the file.
pub fn source_text(raw: &str) -> std::borrow::Cow<'_, str> {
    let text = raw.strip_prefix('\u{feff}').unwrap_or(raw);
    if let Some(rest) = text.strip_prefix("#!") {
        if !rest.trim_start().starts_with('[') {
            let end = text.find('\n').unwrap_or(text.len());
            let mut owned = String::with_capacity(text.len());
            owned.push_str(&" ".repeat(end));
            owned.push_str(&text[end..]);
            return std::borrow::Cow::Owned(owned);
        }
    }
    std::borrow::Cow::Borrowed(text)
}

/// Deeper nesting than this is refused with a parse error rather than parsed: syn, our walk over
/// its tree and the tree's drop all recurse once per level, and no stack is deep enough for any
/// input. Real code stays far below; generated code that goes beyond is not analysed.
pub const MAX_NESTING: usize = 12_000;

/// Parses one file's text (already passed through `source_text`) into facts.
pub fn parse_facts(text: &str, interner: &Interner) -> Result<FileFacts, SyntaxError> {
    let to_error = |span: proc_macro2::Span, message: String| {
        let r = span.byte_range();
        SyntaxError { span: ByteSpan { start: r.start as u32, end: r.end as u32 }, message }
    };
    // Lexing keeps its own stack, so it survives any nesting; the depth is checked before syn
    // recurses into it. syn then parses these tokens, which is all `parse_str` would do.
    // Tokens and tree are scratch, the facts are not (see `crate::memory`). Plain const lines are
    // blanked first (`skim`); offsets do not move, so the facts still index `text`.
    let skimmed = crate::memory::scratch(|| skim::blank_lines(text));
    let lexed = skimmed.as_deref().unwrap_or(text);
    let tokens: proc_macro2::TokenStream = crate::memory::scratch(|| lexed.parse())
        .map_err(|e: proc_macro2::LexError| to_error(e.span(), e.to_string()))?;
    drop(skimmed);
    // Nesting cannot be deeper than the number of opening brackets in the text, so nearly every
    // file skips the walk over its tokens.
    let may_be_too_deep = text.bytes().filter(|b| matches!(b, b'(' | b'[' | b'{')).count() >= MAX_NESTING;
    if let Some(span) = may_be_too_deep.then(|| too_deep(&tokens)).flatten() {
        return Err(to_error(span, format!("nesting deeper than {MAX_NESTING} levels; this file is not analysed")));
    }
    let tokens = if text.len() >= TABLE_FILE_BYTES { crate::memory::scratch(|| empty_tables(tokens)) } else { tokens };
    let file =
        crate::memory::scratch(|| syn::parse2::<syn::File>(tokens)).map_err(|e| to_error(e.span(), e.to_string()))?;
    let facts = crate::memory::lasting(|| {
        let mut facts = extract::Extractor::new(interner, text).extract_file(&file);
        // Comments never reach syn: suppression directives come from the text itself.
        facts.directives = crate::suppress::scan(text);
        facts
    });
    // Dropping a deeply nested tree recurses as deep as parsing did; do it here, on the parsing
    // thread with its large stack, not on whichever thread would drop it later.
    drop(file);
    Ok(crate::memory::lasting(|| facts.compact()))
}

/// Files this large may hold data tables (`static TABLE: [u16; 65536] = [..]`): see `empty_tables`.
const TABLE_FILE_BYTES: usize = 1 << 18;

/// Groups of at least this many tokens, made only of numbers, chars and bytes, commas and minus
/// signs, are tables.
const TABLE_MIN_TOKENS: usize = 256;

/// The tokens with every table's group emptied. A table holds no call, path or name, so no fact
/// comes from it; but syn makes a node of some 100 bytes for each of its literals, and the largest
/// tables of the bench corpus (a 2.5 MB file of numbers) made trees of hundreds of MB. Text in a
/// table is kept: strings can be SQL. A syntax error inside a table goes unreported.
fn empty_tables(tokens: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    empty_tables_in(tokens).0
}

/// One pass, bottom-up, so that each token is visited once (a top-down check of every group's
/// contents made deep nesting quadratic: 11,000 nested parentheses took 3 s). Returns the
/// tokens with their tables emptied, and how many tokens they hold if they are table data only
/// (counted before emptying, so that a table of tables is one table).
///
/// Tokens are moved, never cloned: a group's stream is taken out of the group before it is
/// walked, so that it has one owner and iterating it hands over its tokens. (Walking a stream the
/// group still shared copied every name and literal in it, each a string of its own; that was
/// 2 % of a run's CPU.) Every group is rebuilt with its delimiter and span.
fn empty_tables_in(tokens: proc_macro2::TokenStream) -> (proc_macro2::TokenStream, Option<usize>) {
    use proc_macro2::{Group, TokenStream, TokenTree};
    let mut trees: Vec<TokenTree> = Vec::new();
    let mut size = Some(0usize);
    for tree in tokens {
        let (tree, n) = match tree {
            TokenTree::Group(g) => {
                let (delimiter, span, stream) = (g.delimiter(), g.span(), g.stream());
                drop(g);
                let (inner, inner_size) = empty_tables_in(stream);
                let is_table = inner_size.is_some_and(|n| n >= TABLE_MIN_TOKENS);
                let mut rebuilt = Group::new(delimiter, if is_table { TokenStream::new() } else { inner });
                rebuilt.set_span(span);
                (TokenTree::Group(rebuilt), inner_size.map(|n| n + 1))
            }
            TokenTree::Literal(l) => {
                let text = l.to_string();
                let data = text.starts_with(|c: char| c.is_ascii_digit() || c == '\'') || text.starts_with("b'");
                (TokenTree::Literal(l), data.then_some(1))
            }
            TokenTree::Punct(p) => {
                let data = matches!(p.as_char(), ',' | '-');
                (TokenTree::Punct(p), data.then_some(1))
            }
            other => (other, None),
        };
        size = size.zip(n).map(|(a, b)| a + b);
        trees.push(tree);
    }
    (trees.into_iter().collect(), size)
}

/// The opening of the first group nested deeper than `MAX_NESTING`, found without recursion.
fn too_deep(tokens: &proc_macro2::TokenStream) -> Option<proc_macro2::Span> {
    use proc_macro2::TokenTree;
    let mut stack: Vec<proc_macro2::token_stream::IntoIter> = vec![tokens.clone().into_iter()];
    while let Some(top) = stack.last_mut() {
        match top.next() {
            Some(TokenTree::Group(g)) => {
                if stack.len() >= MAX_NESTING {
                    return Some(g.span_open());
                }
                stack.push(g.stream().into_iter());
            }
            Some(_) => {}
            None => {
                stack.pop();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(n: usize) -> String {
        (0..n).map(|i| format!("{}", i as i64 - 3)).collect::<Vec<_>>().join(", ")
    }

    fn groups_emptied(text: &str) -> String {
        empty_tables(text.parse().unwrap()).to_string()
    }

    #[test]
    fn tables_of_numbers_are_emptied_and_nothing_else_is() {
        let table = format!("static T: [i16; 300] = [{}];", numbers(300));
        assert_eq!(groups_emptied(&table), "static T : [i16 ; 300] = [] ;");
        // Rows of a table (groups inside it) are table data too; chars and bytes as well.
        let rows = format!("const R: [(u8, char); 150] = [{}];", vec!["(b'a', 'x')"; 150].join(", "));
        assert_eq!(groups_emptied(&rows), "const R : [(u8 , char) ; 150] = [] ;");
        // Too small, a name inside, strings (they may be SQL): kept as they are.
        for kept in [
            format!("static T: [i16; 3] = [{}];", numbers(3)),
            format!("static T: [u32; 301] = [{}, N];", numbers(300)),
            format!("static S: [&str; 300] = [{}];", vec!["\"SELECT 1\""; 300].join(", ")),
        ] {
            let tokens: proc_macro2::TokenStream = kept.parse().unwrap();
            assert_eq!(groups_emptied(&kept), tokens.to_string());
        }
    }

    #[test]
    fn a_call_given_a_table_keeps_its_facts() {
        let padding = " ".repeat(TABLE_FILE_BYTES);
        let text = format!("fn f() {{ std::thread::sleep(d(&[{}])); }}\n{padding}", numbers(400));
        let names = Interner::new();
        let facts = parse_facts(&text, &names).unwrap();
        assert_eq!(facts.fns[0].calls.len(), 2);
        // Spans still point into the file's own text.
        let last = &facts.fns[0].calls[0];
        assert!((last.span.end as usize) < text.len() - padding.len());
    }
}
