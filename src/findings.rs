//! Findings and diagnostics: the plain data that rules produce and reporters print. Every location
//! here is final: a path relative to the checked root with `/`, 1-based lines, 1-based columns in
//! characters, an exclusive end column, and the byte range.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    // Ordered so that sorting puts the most severe first.
    Critical,
    High,
    Medium,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
        }
    }

    /// Whether a finding of this severity is at or above `threshold`.
    pub fn at_least(self, threshold: Severity) -> bool {
        self <= threshold
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "critical" => Some(Severity::Critical),
            "high" => Some(Severity::High),
            "medium" => Some(Severity::Medium),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    /// Byte offsets into the file (0-based, end exclusive).
    pub byte_start: u32,
    pub byte_end: u32,
}

/// One step of a call chain, from the async call site down to the blocking API.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ChainStep {
    pub function: String,
    pub path: String,
    pub line: u32,
    pub column: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Related {
    pub message: String,
    pub path: String,
    pub line: u32,
    pub column: u32,
}

/// A mechanical edit that fixes a finding: replace the finding's span with `replacement`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub replacement: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    #[serde(flatten)]
    pub location: Location,
    /// The enclosing function, as a path: `crate::net::retry`, `crate::db::Repo::load`.
    pub function: String,
    pub chain: Vec<ChainStep>,
    /// Other places the finding involves, such as the `.await` a guard is held across.
    pub related: Vec<Related>,
    pub help: String,
    /// The code the finding points at, whitespace-normalised.
    pub snippet: String,
    pub fingerprint: String,
    /// A mechanical fix, when there is one.
    pub fix: Option<Fix>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    ParseError,
    IoError,
    InternalError,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::ParseError => "parse-error",
            ErrorKind::IoError => "io-error",
            ErrorKind::InternalError => "internal-error",
        }
    }
}

/// A problem with the input rather than with the code: a file that could not be read or parsed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FileError {
    pub kind: ErrorKind,
    pub path: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}
