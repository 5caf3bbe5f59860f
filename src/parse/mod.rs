//! Parsing: source text in, compact facts out. Runs on many threads at once; each call parses one
//! file with syn, extracts its facts, and lets go of the syntax tree before returning.

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

/// Parses one file's text (already passed through `source_text`) into facts.
pub fn parse_facts(text: &str, interner: &Interner) -> Result<FileFacts, SyntaxError> {
    let file = syn::parse_str::<syn::File>(text).map_err(|e| {
        let r = e.span().byte_range();
        SyntaxError { span: ByteSpan { start: r.start as u32, end: r.end as u32 }, message: e.to_string() }
    })?;
    let mut facts = extract::Extractor::new(interner).extract_file(&file);
    facts.shrink();
    // Dropping a deeply nested tree recurses as deep as parsing did; do it here, on the parsing
    // thread with its large stack, not on whichever thread would drop it later.
    drop(file);
    Ok(facts)
}
