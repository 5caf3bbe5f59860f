//! The rule docs cannot lie: each `rules/<id>.md` has its headings, its Example yields exactly one
//! finding of its rule, and every code block under Use instead yields none at all. Also checks
//! that the README's rule table lists every rule.

use asynclint::workspace::WorkspaceInput;
use asynclint::{analyze, rules, MemoryLoader, Options};

const HEADINGS: &[&str] = &[
    "## What it does",
    "## Why is this bad?",
    "## Example",
    "## Use instead",
    "## Known problems",
    "## Configuration",
];

/// The ```rust blocks between a heading and the next `## ` heading.
fn rust_blocks<'a>(doc: &'a str, heading: &str) -> Vec<&'a str> {
    let Some(start) = doc.find(heading) else { return Vec::new() };
    let section = &doc[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut blocks = Vec::new();
    let mut rest = section;
    while let Some(open) = rest.find("```rust\n") {
        let body = &rest[open + 8..];
        let Some(close) = body.find("\n```") else { break };
        blocks.push(&body[..close]);
        rest = &body[close + 4..];
    }
    blocks
}

fn findings_of(code: &str) -> Vec<(String, String)> {
    let mut loader = MemoryLoader::default();
    loader.files.insert("doc.rs".to_string(), code.as_bytes().to_vec());
    let input = WorkspaceInput { files: vec!["doc.rs".to_string()], ..Default::default() };
    let analysis = analyze(&input, &loader, &Options::default()).unwrap();
    assert!(analysis.errors.is_empty(), "doc code does not parse: {:?}\n{code}", analysis.errors);
    analysis.findings.into_iter().map(|f| (f.rule.to_string(), f.message)).collect()
}

#[test]
fn every_rule_doc_has_the_headings_and_its_examples_are_true() {
    for rule in rules::all() {
        let meta = rule.meta();
        let doc = meta.doc;
        assert!(doc.starts_with(&format!("# {}\n", meta.id)), "rules/{}.md must start with its id", meta.id);
        for h in HEADINGS {
            assert!(doc.contains(h), "rules/{}.md lacks `{h}`", meta.id);
        }
        let examples = rust_blocks(doc, "## Example");
        assert_eq!(examples.len(), 1, "rules/{}.md: Example needs exactly one rust block", meta.id);
        let found = findings_of(examples[0]);
        let own: Vec<_> = found.iter().filter(|(r, _)| r == meta.id).collect();
        assert_eq!(
            own.len(),
            1,
            "rules/{}.md: Example must yield exactly one `{}` finding, got {found:?}",
            meta.id,
            meta.id
        );
        let instead = rust_blocks(doc, "## Use instead");
        assert!(!instead.is_empty(), "rules/{}.md: Use instead has no rust block", meta.id);
        for block in instead {
            let found = findings_of(block);
            assert!(found.is_empty(), "rules/{}.md: a Use instead block yields findings: {found:?}\n{block}", meta.id);
        }
    }
}

#[test]
fn readme_rule_table_lists_every_rule() {
    let readme = include_str!("../README.md");
    for rule in rules::all() {
        let id = rule.meta().id;
        assert!(readme.contains(&format!("| `{id}` |")), "README's rule table lacks `{id}`");
    }
}
