//! The rules. Each rule lives in its own file with its metadata; its documentation is
//! `rules/<rule-id>.md` and its fixtures are `fixtures/<rule-id>/`. Rules read the model and
//! produce raw findings; they do no IO and print nothing.

pub mod blocking_call_in_async;

use crate::findings::Severity;
use crate::model::Model;
use crate::parse::facts::ByteSpan;

pub struct RuleMeta {
    /// The kebab-case id, which reads well after "allow".
    pub id: &'static str,
    pub default_severity: Severity,
    pub summary: &'static str,
    /// The rule's documentation page, `rules/<id>.md`.
    pub doc: &'static str,
}

/// A finding before it is given lines, columns, a snippet and a fingerprint.
#[derive(Clone, Debug)]
pub struct RawFinding {
    pub rule: &'static str,
    pub severity: Severity,
    pub file: u32,
    pub span: ByteSpan,
    pub message: String,
    pub help: String,
    pub function: String,
    pub chain: Vec<RawStep>,
}

#[derive(Clone, Debug)]
pub struct RawStep {
    pub function: String,
    pub file: u32,
    pub span: ByteSpan,
}

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, model: &Model, out: &mut Vec<RawFinding>);
}

/// Every rule, in the order `asynclint rules` lists them.
pub fn all() -> &'static [&'static dyn Rule] {
    &[&blocking_call_in_async::BlockingCallInAsync]
}

pub fn by_id(id: &str) -> Option<&'static dyn Rule> {
    all().iter().copied().find(|r| r.meta().id == id)
}
