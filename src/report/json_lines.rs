//! `--format json-lines`: one JSON object per line: each finding exactly as in the `json`
//! format's `findings` array (it has a `rule` field), then each file error exactly as in its
//! `errors` array (it has a `kind` field). No summary line, so every line parses on its own and
//! the output can be streamed into `jq -c`, a database or a log pipeline.

use super::json::{error_value, finding_value};
use crate::Analysis;

pub fn render(analysis: &Analysis) -> String {
    let mut out = String::new();
    let values = analysis.findings.iter().map(finding_value).chain(analysis.errors.iter().map(error_value));
    for v in values {
        out.push_str(&serde_json::to_string(&v).unwrap_or_default());
        out.push('\n');
    }
    out
}
