//! Parsing: source text in, compact facts out. Runs on many threads at once; each call parses one
//! file with syn, extracts its facts, and lets go of the syntax tree before returning.

pub mod cached;
pub mod extract;
pub mod facts;

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
    // Tokens and tree are scratch, the facts are not (see `crate::memory`).
    let tokens: proc_macro2::TokenStream = crate::memory::scratch(|| text.parse())
        .map_err(|e: proc_macro2::LexError| to_error(e.span(), e.to_string()))?;
    // Nesting cannot be deeper than the number of opening brackets in the text, so nearly every
    // file skips the walk over its tokens.
    let may_be_too_deep = text.bytes().filter(|b| matches!(b, b'(' | b'[' | b'{')).count() >= MAX_NESTING;
    if let Some(span) = may_be_too_deep.then(|| too_deep(&tokens)).flatten() {
        return Err(to_error(span, format!("nesting deeper than {MAX_NESTING} levels; this file is not analysed")));
    }
    let file =
        crate::memory::scratch(|| syn::parse2::<syn::File>(tokens)).map_err(|e| to_error(e.span(), e.to_string()))?;
    let facts = crate::memory::lasting(|| {
        let mut facts = extract::Extractor::new(interner, text).extract_file(&file);
        // Comments never reach syn: suppression directives come from the text itself.
        facts.directives = crate::suppress::scan(text);
        facts.shrink();
        facts
    });
    // Dropping a deeply nested tree recurses as deep as parsing did; do it here, on the parsing
    // thread with its large stack, not on whichever thread would drop it later.
    drop(file);
    Ok(facts)
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
