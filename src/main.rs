//! The `asynclint` command: parses arguments, walks, runs the analysis, prints the report and picks
//! the exit code. The only place that prints or exits.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use asynclint::findings::Severity;
use asynclint::report::{self, ReportContext};
use asynclint::walk::{self, FsLoader, WalkOptions};
use asynclint::{analyze, rules, Analysis, Options, SourceLoader};

/// syn allocates a node for nearly every token; with several parsing threads the system allocator
/// spent a third of the run in malloc and free. mimalloc's per-thread heaps remove that contention.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes, as ruff and ESLint use them.
const EXIT_CLEAN: u8 = 0;
const EXIT_FINDINGS: u8 = 1;
const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(name = "asynclint", version, about = "A fast static reviewer for async Rust", propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse Cargo projects or files and report findings.
    Check(CheckArgs),
    /// Analyse like `check` and write the findings up as a Markdown code review.
    #[command(mut_arg("format", |a| a.default_value("markdown").env(None)))]
    Review(CheckArgs),
    /// List every rule with its default severity and summary.
    Rules {
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a rule's documentation.
    Explain {
        /// The rule id, e.g. `blocking-call-in-async`.
        rule: String,
    },
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Files or folders to analyse [default: the current directory].
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Full, env = "ASYNCLINT_FORMAT")]
    format: Format,
    /// When to use color in the `full` format.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Fail only on findings of this severity or worse [default: any finding fails].
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
    /// Exit with 0 even when there are findings or unreadable files (usage and internal errors still exit with 2).
    #[arg(long)]
    exit_zero: bool,
    /// Also fail (exit 1) when a file cannot be read or parsed.
    #[arg(long)]
    strict: bool,
    /// Do not respect .gitignore and other ignore files.
    #[arg(long)]
    no_ignore: bool,
    /// Run only these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    select: Vec<String>,
    /// Worker threads for parsing [default: one per core].
    #[arg(long)]
    threads: Option<usize>,
    /// Write the report to this file instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Print the time each phase took to standard error.
    #[arg(long)]
    timings: bool,
    /// The review date of `--format markdown` [default: SOURCE_DATE_EPOCH, else today in UTC].
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = report::markdown::parse_date)]
    date: Option<String>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Full,
    Concise,
    Json,
    JsonLines,
    Sarif,
    Rdjson,
    Rdjsonl,
    Github,
    Gitlab,
    CargoJson,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
    Critical,
    High,
    Medium,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check(args),
        Command::Review(args) => check(args),
        Command::Rules { json } => {
            print_rules(json);
            ExitCode::from(EXIT_CLEAN)
        }
        Command::Explain { rule } => match rules::by_id(&rule) {
            Some(r) => {
                print!("{}", r.meta().doc);
                ExitCode::from(EXIT_CLEAN)
            }
            None => {
                let ids: Vec<&str> = rules::all().iter().map(|r| r.meta().id).collect();
                eprintln!("error: unknown rule `{rule}`; known rules: {}", ids.join(", "));
                ExitCode::from(EXIT_ERROR)
            }
        },
    }
}

fn print_rules(json: bool) {
    if json {
        let list: Vec<serde_json::Value> = rules::all()
            .iter()
            .map(|r| {
                let m = r.meta();
                serde_json::json!({"id": m.id, "severity": m.default_severity.as_str(), "summary": m.summary})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
        return;
    }
    for r in rules::all() {
        let m = r.meta();
        println!("{:<28} {:<9} {}", m.id, m.default_severity.as_str(), m.summary);
    }
}

fn check(args: CheckArgs) -> ExitCode {
    for id in &args.select {
        if rules::by_id(id).is_none() {
            eprintln!("error: unknown rule `{id}` in --select; `asynclint rules` lists them");
            return ExitCode::from(EXIT_ERROR);
        }
    }
    // The review date is settled before the work, so a malformed SOURCE_DATE_EPOCH fails fast.
    let review_date = match args.format {
        Format::Markdown => match review_date(args.date.as_deref()) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        },
        _ => String::new(),
    };
    let paths = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    let started = std::time::Instant::now();
    let walked = match walk::walk(&paths, &WalkOptions { no_ignore: args.no_ignore }) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {}", e.0);
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let walk_time = started.elapsed();
    let loader = FsLoader { base: walked.base.clone() };
    let options = Options {
        threads: args.threads,
        rules: if args.select.is_empty() { None } else { Some(args.select.clone()) },
        ..Options::default()
    };
    let mut analysis = match analyze(&walked.input, &loader, &options) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {}", e.0);
            return ExitCode::from(EXIT_ERROR);
        }
    };
    analysis.errors.extend(walked.errors);
    analysis.errors.sort();
    analysis.errors.dedup();

    let report_start = std::time::Instant::now();
    let rendered = render(&analysis, &args, &loader, &Review { date: review_date, input: &walked.input });
    if let Err(e) = emit(&rendered, args.output.as_ref()) {
        eprintln!("error: cannot write the report: {e}");
        return ExitCode::from(EXIT_ERROR);
    }
    if args.timings {
        let mut phases = vec![("walk", walk_time)];
        phases.extend(analysis.timings.iter().copied());
        phases.push(("report", report_start.elapsed()));
        for (name, d) in &phases {
            eprintln!("{name:>12} {:>9.3} s", d.as_secs_f64());
        }
        eprintln!("{:>12} {:>9.3} s  ({} files)", "total", started.elapsed().as_secs_f64(), analysis.files);
    }
    ExitCode::from(exit_code(&analysis, &args))
}

fn render(analysis: &Analysis, args: &CheckArgs, loader: &FsLoader, review: &Review) -> String {
    match args.format {
        Format::Markdown => markdown_review(analysis, args, loader, review),
        Format::Json => report::json::render(analysis),
        Format::Concise => report::concise::render(analysis),
        Format::JsonLines => report::json_lines::render(analysis),
        Format::Sarif => report::sarif::render(analysis),
        Format::Github => report::github::render(analysis),
        Format::Gitlab => report::gitlab::render(analysis),
        Format::Rdjson | Format::Rdjsonl | Format::CargoJson => {
            // Byte columns and offsets of file errors need the texts the byte offsets index.
            let mut sources = HashMap::new();
            for path in report::rdjson::source_paths(analysis) {
                let text = loader.load(&path).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default();
                sources.insert(path, asynclint::parse::source_text(&text).into_owned());
            }
            let ctx = ReportContext { sources: &sources, color: false, width: 0 };
            match args.format {
                Format::Rdjson => report::rdjson::render(analysis, &ctx),
                Format::Rdjsonl => report::rdjson::render_lines(analysis, &ctx),
                _ => report::cargo_json::render(analysis, &ctx),
            }
        }
        Format::Full => {
            let mut sources = HashMap::new();
            for f in &analysis.findings {
                if !sources.contains_key(&f.location.path) {
                    let text =
                        loader.load(&f.location.path).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default();
                    sources.insert(f.location.path.clone(), asynclint::parse::source_text(&text).into_owned());
                }
            }
            let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
            let color = match args.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            };
            let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(100);
            report::full::render(analysis, &ReportContext { sources: &sources, color, width })
        }
    }
}

fn emit(text: &str, output: Option<&PathBuf>) -> std::io::Result<()> {
    match output {
        Some(path) => std::fs::write(path, text),
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            match lock.write_all(text.as_bytes()).and_then(|_| lock.flush()) {
                // A closed pipe (`asynclint check | head`) is the reader's choice, not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other,
            }
        }
    }
}

fn exit_code(analysis: &Analysis, args: &CheckArgs) -> u8 {
    let threshold = match args.fail_on {
        Some(FailOn::Critical) => Severity::Critical,
        Some(FailOn::High) => Severity::High,
        Some(FailOn::Medium) | None => Severity::Medium,
    };
    if args.exit_zero {
        return EXIT_CLEAN;
    }
    let failing = analysis.findings.iter().any(|f| f.severity.at_least(threshold));
    if failing || (args.strict && !analysis.errors.is_empty()) {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}

/// What the Markdown review needs from `check` besides the analysis.
struct Review<'a> {
    date: String,
    input: &'a asynclint::workspace::WorkspaceInput,
}

/// `--date`, else `SOURCE_DATE_EPOCH` (reproducible builds), else today in UTC.
fn review_date(flag: Option<&str>) -> Result<String, String> {
    if let Some(date) = flag {
        return Ok(date.to_string());
    }
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse::<i64>()
            .map(report::markdown::date_from_unix_seconds)
            .map_err(|_| format!("SOURCE_DATE_EPOCH must be a Unix time in seconds, got `{v}`")),
        _ => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            let secs = now.map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            Ok(report::markdown::date_from_unix_seconds(secs))
        }
    }
}

fn markdown_review(analysis: &Analysis, args: &CheckArgs, loader: &FsLoader, review: &Review) -> String {
    // The code of every file a finding, a call chain or a related location is in.
    let mut sources = HashMap::new();
    for f in &analysis.findings {
        let paths = std::iter::once(&f.location.path)
            .chain(f.chain.iter().map(|s| &s.path))
            .chain(f.related.iter().map(|r| &r.path));
        for path in paths {
            if !sources.contains_key(path) {
                let text = loader.load(path).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default();
                sources.insert(path.clone(), asynclint::parse::source_text(&text).into_owned());
            }
        }
    }
    let rules: Vec<String> = rules::all()
        .iter()
        .map(|r| r.meta().id)
        .filter(|id| args.select.is_empty() || args.select.iter().any(|s| s == id))
        .map(str::to_string)
        .collect();
    let packages: std::collections::BTreeSet<&str> =
        review.input.crates.iter().filter(|c| c.deps.is_some()).map(|c| c.package_dir.as_str()).collect();
    let target = review_target(args, &loader.base);
    let branch = git_branch(&loader.base);
    let ctx = report::markdown::MarkdownContext {
        sources: &sources,
        target: &target,
        branch: branch.as_deref(),
        date: &review.date,
        version: env!("CARGO_PKG_VERSION"),
        rules: &rules,
        crates: (!packages.is_empty()).then_some(packages.len()),
        positives: &[],
    };
    report::markdown::render(analysis, &ctx)
}

/// The name of what was reviewed: the folder or file named, else the folder paths are shown from.
fn review_target(args: &CheckArgs, base: &std::path::Path) -> String {
    let named = match args.paths.as_slice() {
        [one] => one.clone(),
        [] => PathBuf::from("."),
        _ => base.to_path_buf(),
    };
    let canon = named.canonicalize().unwrap_or(named);
    canon.file_name().map_or_else(|| canon.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// The branch checked out in `root` itself (not in a parent folder), when `root` is a git work
/// tree on a branch. A `.git` file (worktrees, submodules) points at the real git folder.
fn git_branch(root: &std::path::Path) -> Option<String> {
    let dot_git = root.join(".git");
    let git_dir = if dot_git.is_file() {
        let text = std::fs::read_to_string(&dot_git).ok()?;
        root.join(text.trim().strip_prefix("gitdir:")?.trim())
    } else {
        dot_git
    };
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    head.trim().strip_prefix("ref: refs/heads/").map(str::to_string)
}
