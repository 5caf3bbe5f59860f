//! The `asynclint` command: parses arguments, walks, runs the analysis, prints the report and picks
//! the exit code. The only place that prints or exits.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

use asynclint::baseline::{self, Baseline};
use asynclint::cache::DiskCache;
use asynclint::diff::{self, ChangedLines};
use asynclint::findings::Severity;
use asynclint::report::{self, ReportContext};
use asynclint::walk::{self, FsLoader, WalkOptions};
use asynclint::{analyze, rules, Analysis, Options, SourceLoader};

/// syn allocates a node for nearly every token; with several parsing threads the system allocator
/// spent a third of the run in malloc and free. mimalloc's per-thread heaps remove that contention.
#[global_allocator]
static GLOBAL: allocator::Allocator = allocator::Allocator;

/// mimalloc, with the scratch allocations that the core marks (`asynclint::memory`: file texts,
/// tokens, syntax trees) served from a heap of their own, so that the facts that outlive them
/// are not scattered over their pages.
mod allocator {
    use libmimalloc_sys as mi;
    use std::alloc::{GlobalAlloc, Layout};
    use std::ffi::c_void;
    use std::sync::atomic::{AtomicPtr, Ordering};

    pub struct Allocator;

    static SCRATCH_HEAP: AtomicPtr<mi::mi_heap_t> = AtomicPtr::new(std::ptr::null_mut());

    /// The scratch heap, made on first use; null if mimalloc could not make one, and then
    /// scratch comes from the default heap like everything else.
    fn scratch_heap() -> *mut mi::mi_heap_t {
        let heap = SCRATCH_HEAP.load(Ordering::Acquire);
        if !heap.is_null() {
            return heap;
        }
        // SAFETY: plain FFI calls; mimalloc 3's heaps may be used and freed from any thread.
        let made = unsafe { mi::mi_heap_new() };
        match SCRATCH_HEAP.compare_exchange(std::ptr::null_mut(), made, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => made,
            Err(other) => {
                if !made.is_null() {
                    // SAFETY: `made` is ours and empty; another thread's heap won the race.
                    unsafe { mi::mi_heap_delete(made) };
                }
                other
            }
        }
    }

    fn scratch() -> Option<*mut mi::mi_heap_t> {
        if asynclint::memory::in_scratch() {
            Some(scratch_heap()).filter(|h| !h.is_null())
        } else {
            None
        }
    }

    // SAFETY: every block comes from mimalloc with the layout's size and alignment, and mimalloc
    // frees and reallocates a block whichever heap or thread it came from.
    unsafe impl GlobalAlloc for Allocator {
        #[inline]
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            match scratch() {
                Some(heap) => mi::mi_heap_malloc_aligned(heap, layout.size(), layout.align()) as *mut u8,
                None => mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8,
            }
        }

        #[inline]
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            match scratch() {
                Some(heap) => mi::mi_heap_zalloc_aligned(heap, layout.size(), layout.align()) as *mut u8,
                None => mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8,
            }
        }

        #[inline]
        unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
            mi::mi_free(ptr as *mut c_void);
        }

        #[inline]
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            match scratch() {
                Some(heap) => {
                    mi::mi_heap_realloc_aligned(heap, ptr as *mut c_void, new_size, layout.align()) as *mut u8
                }
                None => mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8,
            }
        }
    }

    /// Freed pages stay with the process instead of going back to the OS a second later:
    /// parsing frees and reuses hundreds of MB of syntax trees, and each page handed back was
    /// faulted in and zeroed again by the next tree (8 % of the run's CPU on the bench corpus).
    ///
    /// They are scheduled for return with a delay no run reaches, rather than never (a negative
    /// delay), so that `release_freed_pages` can hand them all back at once when parsing is done.
    pub fn keep_freed_pages() {
        // SAFETY: sets a documented mimalloc option; it is read each time mimalloc purges.
        unsafe { mi::mi_option_set(MI_OPTION_PURGE_DELAY, AN_HOUR_IN_MS) };
        asynclint::memory::set_release(release_freed_pages);
    }

    /// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (the sys crate names no constant).
    const MI_OPTION_PURGE_DELAY: mi::mi_option_t = 15;
    const AN_HOUR_IN_MS: std::ffi::c_long = 3_600_000;
    /// mimalloc's own default delay.
    const DEFAULT_PURGE_DELAY_MS: std::ffi::c_long = 10;

    /// Hands the free pages of this thread's heaps, and every free page scheduled so far, back to
    /// the OS now, whatever their delay. The analysis calls it on each thread once parsing is
    /// done: the trees' pages are not needed again, and the call graph, which comes next, makes
    /// the run's peak. On the bench corpus this took the resident size after parsing from 519 to
    /// 423 MB, and the peak from 577 to 583 MB to 544 to 552 MB, for no measurable time.
    fn release_freed_pages() {
        // The scratch heap as it is: a run that read no file has none, and need not make one
        // just to collect it.
        let scratch = SCRATCH_HEAP.load(Ordering::Acquire);
        // SAFETY: plain FFI calls; collecting a heap only frees what no one holds.
        unsafe {
            if !scratch.is_null() {
                mi::mi_heap_collect(scratch, true);
            }
            mi::mi_collect(true);
            // From here on, pages freed go back after mimalloc's usual delay: the later phases
            // free far less, and what they keep would otherwise add to the peak (about 10 MB of the
            // call graph's memo tables and lists, grown and freed as they fill).
            mi::mi_option_set(MI_OPTION_PURGE_DELAY, DEFAULT_PURGE_DELAY_MS);
        }
    }
}

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
    ///
    /// With `--base REV`, the review covers only the findings on lines the branch added or changed
    /// since its merge base with REV.
    #[command(mut_arg("format", |a| a.default_value("markdown").env(None)))]
    #[command(mut_arg("new_from_rev", |a| a.long("base").visible_alias("new-from-rev")))]
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
    /// Do not read or write the cache of parsed facts.
    #[arg(long)]
    no_cache: bool,
    /// Keep the cache of parsed facts in this folder [env: ASYNCLINT_CACHE_DIR; default:
    /// target/asynclint in the checked project's cargo workspace].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// The review date of `--format markdown` [default: SOURCE_DATE_EPOCH, else today in UTC].
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = report::markdown::parse_date)]
    date: Option<String>,
    /// Hide the findings recorded in this baseline file and report only new ones.
    #[arg(long, value_name = "FILE", conflicts_with = "generate_baseline")]
    baseline: Option<PathBuf>,
    /// Write every current finding to this baseline file, print no report, and exit 0.
    #[arg(long, value_name = "FILE", conflicts_with = "new_from_rev")]
    generate_baseline: Option<PathBuf>,
    /// With --baseline: remove the entries that no finding matches any more from the file.
    #[arg(long, requires = "baseline")]
    prune_baseline: bool,
    /// Report only findings on lines added or changed since the merge base of REV and HEAD
    /// (commits, uncommitted changes and untracked files); the whole workspace is still analysed.
    #[arg(long, value_name = "REV")]
    new_from_rev: Option<String>,
    /// With --new-from-rev (`review --base`): report findings anywhere in a changed file.
    #[arg(long, requires = "new_from_rev")]
    whole_files: bool,
    /// Read the configuration from this file (an asynclint.toml, or a Cargo.toml with an asynclint
    /// metadata table) instead of looking for one from the checked path upwards.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Print one row per rule (count, rule, severity, summary) and the totals instead of the findings.
    #[arg(long)]
    statistics: bool,
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
    run(std::env::args_os().collect(), "asynclint")
}

/// Parses `args` (the program name first) and runs the command. `bin_name` is the name help and
/// usage show: `asynclint`, or `cargo asynclint` for src/bin/cargo-asynclint.rs, which shares
/// this file.
pub fn run(args: Vec<std::ffi::OsString>, bin_name: &str) -> ExitCode {
    allocator::keep_freed_pages();
    let mut command = <Cli as clap::CommandFactory>::command().bin_name(bin_name);
    let matches = command.try_get_matches_from_mut(args).unwrap_or_else(|e| e.exit());
    let cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit());
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
    let width = rules::all().iter().map(|r| r.meta().id.len()).max().unwrap_or(0);
    for r in rules::all() {
        let m = r.meta();
        println!("{:<width$}  {:<9} {}", m.id, m.default_severity.as_str(), m.summary);
    }
}

fn check(args: CheckArgs) -> ExitCode {
    for id in &args.select {
        if rules::by_id(id).is_none() {
            eprintln!("error: unknown rule `{id}` in --select; `asynclint rules` lists them");
            return ExitCode::from(EXIT_ERROR);
        }
    }
    if args.statistics && !matches!(args.format, Format::Full | Format::Concise | Format::Json) {
        eprintln!("error: --statistics prints a table (--format full or concise) or JSON (--format json)");
        return ExitCode::from(EXIT_ERROR);
    }
    // A bad configuration is a usage error, found before any work.
    let mut config = match load_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
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
    // So is an unreadable baseline.
    let known = match args.baseline.as_deref().map(read_baseline).transpose() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
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
    // The branch's changes are read before the analysis, so an unknown revision fails fast.
    let changes = match args.new_from_rev.as_deref().map(|rev| changed_since(&paths[0], &walked.base, rev)).transpose()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let loader = FsLoader { base: walked.base.clone() };
    let cache = match cache_folder(&args, &paths) {
        Ok(folder) => folder.map(|dir| Arc::new(DiskCache::open(&dir))),
        // A cache costs the next run time, not this run its result.
        Err(e) => {
            eprintln!("warning: not caching: {e}");
            None
        }
    };
    let selected = config.rules_to_run(&args.select);
    let mut options = Options {
        threads: args.threads,
        rules: selected.clone(),
        extra_apis: std::mem::take(&mut config.blocking_apis),
        extra_offload: std::mem::take(&mut config.offload),
        require_reason: config.require_reason,
        cache: cache.clone().map(|c| c as Arc<dyn asynclint::FactsCache>),
        progress: None,
        review: matches!(args.format, Format::Markdown),
    };
    let progress = Progress::start(&args, walked.input.files.len());
    options.progress = progress.as_ref().map(|p| p.count.clone());
    let analysis = analyze(&walked.input, &loader, &options);
    if let Some(p) = progress {
        p.finish();
    }
    let mut analysis = match analysis {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {}", e.0);
            return ExitCode::from(EXIT_ERROR);
        }
    };
    drop(options);
    if let Some(cache) = cache.and_then(|c| Arc::try_unwrap(c).ok()) {
        // A cache that cannot be written costs the next run time, not this run its result.
        if let Err(e) = cache.save(&walked.input.files) {
            eprintln!("warning: cannot write the cache: {e}");
        }
    }
    analysis.errors.extend(walked.errors);
    analysis.errors.sort();
    analysis.errors.dedup();
    // `[per-path-ignores]` and `[severity]` of the configuration.
    config.apply(&mut analysis.findings);

    if let Some(path) = &args.generate_baseline {
        return write_baseline(&analysis, path);
    }
    let unmatched = match gate(&mut analysis, &args, known.as_ref(), changes.as_ref()) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };

    let report_start = std::time::Instant::now();
    let review = Review { date: review_date, input: &walked.input, base: args.new_from_rev.clone(), rules: selected };
    // The findings report in JSON lists the stale baseline entries itself; elsewhere, stderr does.
    let json_lists_unmatched = args.format == Format::Json && !args.statistics;
    let rendered = match &unmatched {
        Some(u) if json_lists_unmatched => json_with_baseline(&analysis, &u.unmatched),
        _ => render(&analysis, &args, &loader, &review),
    };
    if let Err(e) = emit(&rendered, args.output.as_ref()) {
        eprintln!("error: cannot write the report: {e}");
        return ExitCode::from(EXIT_ERROR);
    }
    if let Some(u) = &unmatched {
        if !json_lists_unmatched {
            print_baseline_notes(u, &args);
        }
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
    ExitCode::from(exit_code(&analysis, &args, config.fail_on))
}

fn render(analysis: &Analysis, args: &CheckArgs, loader: &FsLoader, review: &Review) -> String {
    if args.statistics {
        return match args.format {
            Format::Json => report::statistics::render_json(analysis),
            _ => report::statistics::render(analysis),
        };
    }
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
            let paths = report::rdjson::source_paths(analysis);
            let sources = load_sources(loader, paths.iter().map(String::as_str));
            let ctx = ReportContext { sources: &sources, color: false, width: 0 };
            match args.format {
                Format::Rdjson => report::rdjson::render(analysis, &ctx),
                Format::Rdjsonl => report::rdjson::render_lines(analysis, &ctx),
                _ => report::cargo_json::render(analysis, &ctx),
            }
        }
        Format::Full => {
            let sources = load_sources(loader, analysis.findings.iter().map(|f| f.location.path.as_str()));
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

/// `config_fail_on` is the configuration's `fail-on`, which `--fail-on` overrides.
fn exit_code(analysis: &Analysis, args: &CheckArgs, config_fail_on: Option<Severity>) -> u8 {
    let threshold = match args.fail_on {
        Some(FailOn::Critical) => Severity::Critical,
        Some(FailOn::High) => Severity::High,
        Some(FailOn::Medium) => Severity::Medium,
        None => config_fail_on.unwrap_or(Severity::Medium),
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

/// The texts reporters show, by path, each read once (as the analysis saw it: BOM and shebang
/// handled); an unreadable file shows as empty.
fn load_sources<'p>(loader: &FsLoader, paths: impl IntoIterator<Item = &'p str>) -> HashMap<String, String> {
    let mut sources = HashMap::new();
    for path in paths {
        if !sources.contains_key(path) {
            let text = loader.load(path).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default();
            sources.insert(path.to_string(), asynclint::parse::source_text(&text).into_owned());
        }
    }
    sources
}

/// What the Markdown review needs from `check` besides the analysis.
struct Review<'a> {
    date: String,
    input: &'a asynclint::workspace::WorkspaceInput,
    /// `--base REV` / `--new-from-rev REV`, when only the branch's changes are reviewed.
    base: Option<String>,
    /// The rules that ran (`--select` and the configuration); `None`: all of them.
    rules: Option<Vec<String>>,
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
    let paths = analysis.findings.iter().flat_map(|f| {
        std::iter::once(f.location.path.as_str())
            .chain(f.chain.iter().map(|s| s.path.as_str()))
            .chain(f.related.iter().map(|r| r.path.as_str()))
    });
    let sources = load_sources(loader, paths);
    let rules: Vec<String> = rules::all()
        .iter()
        .map(|r| r.meta().id)
        .filter(|id| review.rules.as_ref().is_none_or(|r| r.iter().any(|s| s == id)))
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
        positives: &offload_positives(analysis),
        base: review.base.as_deref(),
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

// ---- CI gate: baseline and branch review ---------------------------------------------------------

fn read_baseline(path: &Path) -> Result<Baseline, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read baseline {}: {e}", path.display()))?;
    baseline::from_json(&text).map_err(|e| format!("cannot use baseline {}: {e}", path.display()))
}

/// `--generate-baseline FILE`: records every finding of the run and prints no report.
fn write_baseline(analysis: &Analysis, path: &Path) -> ExitCode {
    let known = baseline::generate(&analysis.findings);
    if let Err(e) = std::fs::write(path, baseline::to_json(&known)) {
        eprintln!("error: cannot write baseline {}: {e}", path.display());
        return ExitCode::from(EXIT_ERROR);
    }
    eprintln!("asynclint: wrote {} to {}", plural(analysis.findings.len(), "finding"), path.display());
    if !analysis.errors.is_empty() {
        eprintln!(
            "asynclint: {} could not be analysed; findings in them are not in the baseline",
            plural(analysis.errors.len(), "file")
        );
    }
    ExitCode::from(EXIT_CLEAN)
}

/// Hides the baseline's findings (and, with `--prune-baseline`, removes its stale entries from the
/// file), then keeps only the findings on the branch's changed lines. The baseline is matched
/// against every finding, so that the diff filter never makes an entry look stale.
fn gate(
    analysis: &mut Analysis,
    args: &CheckArgs,
    known: Option<&Baseline>,
    changes: Option<&BranchChanges>,
) -> Result<Option<baseline::Filtered>, String> {
    let mut outcome = None;
    if let (Some(known), Some(path)) = (known, &args.baseline) {
        let mut filtered = baseline::filter(std::mem::take(&mut analysis.findings), known);
        analysis.findings = std::mem::take(&mut filtered.new);
        if args.prune_baseline && !filtered.unmatched.is_empty() {
            let pruned = baseline::prune(known, &filtered.unmatched);
            std::fs::write(path, baseline::to_json(&pruned))
                .map_err(|e| format!("cannot write baseline {}: {e}", path.display()))?;
        }
        outcome = Some(filtered);
    }
    if let Some(c) = changes {
        analysis.findings.retain(|f| {
            diff::repo_relative(&c.base, &c.top, &f.location.path)
                .is_some_and(|p| c.changed.keeps(&p, f.location.line, args.whole_files))
        });
    }
    Ok(outcome)
}

/// `--format json` with the baseline's unmatched entries under a top-level `baseline` key.
fn json_with_baseline(analysis: &Analysis, unmatched: &[baseline::Entry]) -> String {
    let mut value = report::json::to_value(analysis);
    if let Some(object) = value.as_object_mut() {
        let list: Vec<serde_json::Value> = unmatched.iter().map(baseline::entry_value).collect();
        object.insert("baseline".to_string(), serde_json::json!({ "unmatched": list }));
    }
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}

/// What the baseline hid and which of its entries are stale, on standard error.
fn print_baseline_notes(filtered: &baseline::Filtered, args: &CheckArgs) {
    let file = args.baseline.as_deref().unwrap_or(Path::new("")).display();
    if filtered.hidden > 0 && matches!(args.format, Format::Full | Format::Concise) {
        eprintln!("asynclint: {} hidden by baseline {file}", plural(filtered.hidden, "known finding"));
    }
    if filtered.unmatched.is_empty() {
        return;
    }
    let count: u32 = filtered.unmatched.iter().map(|e| e.count).sum();
    let entries = plural(usize::try_from(count).unwrap_or(usize::MAX), "baseline entry");
    if args.prune_baseline {
        eprintln!("asynclint: removed {entries} that no finding matches any more from {file}:");
    } else {
        let verb = if count == 1 { "matches" } else { "match" };
        eprintln!(
            "asynclint: {entries} in {file} no longer {verb} a finding (fixed or changed); remove with --prune-baseline:"
        );
    }
    for e in &filtered.unmatched {
        let times = if e.count > 1 { format!(" (x{})", e.count) } else { String::new() };
        eprintln!("  {}: {} in `{}`: {} [{}]{times}", e.path, e.rule, e.function, e.message, e.fingerprint);
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else if let Some(stem) = one.strip_suffix("entry") {
        format!("{n} {stem}entries")
    } else {
        format!("{n} {one}s")
    }
}

/// What a branch changed, and the two folders that map finding paths onto the diff's paths.
struct BranchChanges {
    changed: ChangedLines,
    /// The repository's top-level folder, canonical: the diff's paths are relative to it.
    top: PathBuf,
    /// The checked root, canonical: finding paths are relative to it.
    base: PathBuf,
}

/// The lines changed since the merge base of `rev` and HEAD in the git repository holding the
/// first path checked: committed, staged and unstaged changes, and untracked (not ignored) files in
/// full. `base` is the walk's base, which finding paths are relative to.
fn changed_since(first: &Path, base: &Path, rev: &str) -> Result<BranchChanges, String> {
    let or_dot = |p: &Path| if p.as_os_str().is_empty() { PathBuf::from(".") } else { p.to_path_buf() };
    let base = or_dot(base).canonicalize().map_err(|e| format!("cannot resolve {}: {e}", base.display()))?;
    let dir = if first.is_file() { or_dot(first.parent().unwrap_or(Path::new(""))) } else { or_dot(first) };
    let dir = dir.as_path();
    if rev.starts_with('-') {
        return Err(format!("`{rev}` is not a git revision"));
    }
    let top = git(dir, &["rev-parse", "--show-toplevel"]).map_err(|e| match e.strip_prefix(GIT_NOT_RUN) {
        Some(_) => e,
        None => {
            format!("reviewing changes since `{rev}` needs a git repository: {} is not in one ({e})", dir.display())
        }
    })?;
    let top = PathBuf::from(top.trim_end_matches(['\n', '\r']));
    let top = top.canonicalize().map_err(|e| format!("cannot open the repository at {}: {e}", top.display()))?;
    let commit = git(&top, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
        .map_err(|_| format!("unknown git revision `{rev}` in {}", top.display()))?;
    let merge_base = git(&top, &["merge-base", commit.trim(), "HEAD"]).map_err(|e| {
        format!("cannot find the merge base of `{rev}` and HEAD ({e}); in a shallow clone, fetch the history first (e.g. `fetch-depth: 0`)")
    })?;
    let diff = git(
        &top,
        &[
            "-c",
            "core.quotePath=false",
            "diff",
            "--unified=0",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--find-renames",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            merge_base.trim(),
            "--",
        ],
    )?;
    let mut changed = ChangedLines::parse(&diff).map_err(|e| format!("git diff: {e}"))?;
    let untracked = git(&top, &["ls-files", "-z", "--others", "--exclude-standard"])?;
    for path in untracked.split('\0').filter(|p| !p.is_empty()) {
        changed.add_whole_file(path);
    }
    Ok(BranchChanges { changed, top, base })
}

/// How an error of `git` starts when git could not be started at all.
const GIT_NOT_RUN: &str = "cannot run git: ";

/// Runs `git -C dir args..` and returns its standard output; on failure, its standard error.
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("{GIT_NOT_RUN}{e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(if err.is_empty() { format!("git {} failed", args.join(" ")) } else { err })
    }
}

/// Names the cache folder, like `--cache-dir`.
const CACHE_DIR_VARIABLE: &str = "ASYNCLINT_CACHE_DIR";

/// Where the facts cache lives: `--cache-dir` (or `ASYNCLINT_CACHE_DIR`), else `asynclint/` in the
/// cargo target folder of what is checked (see `cache_anchor` and `cargo_target_owner`), in a
/// subfolder of its own when the anchor is not the folder that target belongs to, so that checking
/// a workspace and one of its crates do not evict each other's entries. Nowhere with `--no-cache`,
/// nor for files or folders outside any cargo project other than one named folder: no folder is
/// theirs to write in. A pack there could come with an untrusted pull request;
/// `cache::DiskCache` trusts only one it sealed itself.
fn cache_folder(args: &CheckArgs, paths: &[PathBuf]) -> Result<Option<PathBuf>, String> {
    if args.no_cache {
        return Ok(None);
    }
    // Read here rather than by clap, so that an empty variable means unset, as for `XDG_*`.
    let named = args
        .cache_dir
        .clone()
        .or_else(|| std::env::var_os(CACHE_DIR_VARIABLE).filter(|v| !v.is_empty()).map(PathBuf::from));
    if named.is_some() {
        return Ok(named);
    }
    let Some(anchor) = cache_anchor(paths) else { return Ok(None) };
    let owner = match cargo_target_owner(&anchor) {
        Some(owner) => owner,
        // Outside any cargo project, one folder named is a project of its own; anything else (a
        // file, which the walk shows from the current folder, or folders side by side) has no
        // folder of its own, and the current one is not ours to write in.
        None if matches!(paths, [one] if one.is_dir()) => anchor.clone(),
        None => return Ok(None),
    };
    let mut parts = vec!["target".to_string(), "asynclint".to_string()];
    match anchor.strip_prefix(&owner) {
        Ok(rel) if !rel.as_os_str().is_empty() => {
            parts.push(format!("{:016x}", asynclint::content_hash(rel.to_string_lossy().as_bytes())));
        }
        _ => {}
    }
    // These folders are in the checked tree, which may come from an untrusted pull request: a
    // `target` committed as a link to elsewhere must not make us write there.
    let mut folder = owner;
    for part in parts {
        folder.push(part);
        match std::fs::symlink_metadata(&folder) {
            Ok(meta) if !meta.is_dir() => {
                return Err(format!(
                    "{} is not a plain folder (a link or a file); name one with --cache-dir",
                    folder.display()
                ));
            }
            _ => {}
        }
    }
    Ok(Some(folder))
}

/// The folder that holds everything checked, canonical: a folder named, or the folder of a file
/// named; for several, the deepest folder holding them all. None if a path cannot be resolved.
fn cache_anchor(paths: &[PathBuf]) -> Option<PathBuf> {
    let mut anchor: Option<PathBuf> = None;
    for path in paths {
        let canonical = path.canonicalize().ok()?;
        let folder = if canonical.is_dir() { canonical } else { canonical.parent()?.to_path_buf() };
        anchor = Some(match anchor {
            None => folder,
            Some(held) => held.ancestors().find(|a| folder.starts_with(a))?.to_path_buf(),
        });
    }
    anchor
}

/// The folder whose `target/` cargo would build `anchor` in: like cargo, the nearest folder at or
/// above it with a `Cargo.toml`, or the nearest at or above that one whose `Cargo.toml` has a
/// `[workspace]` table; None with no manifest at or above it. (`CARGO_TARGET_DIR` is not followed:
/// the cache stays beside the project it describes.)
fn cargo_target_owner(anchor: &Path) -> Option<PathBuf> {
    let package = anchor.ancestors().find(|d| d.join("Cargo.toml").is_file())?;
    let declares_workspace = |dir: &Path| {
        std::fs::read_to_string(dir.join("Cargo.toml"))
            .ok()
            .and_then(|text| text.parse::<toml::Table>().ok())
            .is_some_and(|manifest| manifest.contains_key("workspace"))
    };
    Some(package.ancestors().find(|d| declares_workspace(d)).unwrap_or(package).to_path_buf())
}

// ---- configuration -------------------------------------------------------------------------------

/// `--config PATH`, else the nearest configuration at or above the checked folder (the one path
/// named, or the parent of the one file named; the current folder otherwise); none is fine.
fn load_config(args: &CheckArgs) -> Result<asynclint::config::Config, asynclint::config::ConfigError> {
    if let Some(path) = &args.config {
        return asynclint::config::load(path);
    }
    let start = match args.paths.as_slice() {
        [one] if one.is_dir() => one.clone(),
        [one] => {
            one.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        }
        _ => PathBuf::from("."),
    };
    Ok(asynclint::config::discover(&start)?.unwrap_or_default())
}

/// The review's positive findings the analysis can see: blocking work the code already runs off
/// the async workers, with an example of each API.
fn offload_positives(analysis: &Analysis) -> Vec<String> {
    let mut out = db_positives(&analysis.db_practices);
    if analysis.offloaded.is_empty() {
        return out;
    }
    let mut apis: Vec<&str> = analysis.offloaded.iter().map(|o| o.api.as_str()).collect();
    apis.sort_unstable();
    apis.dedup();
    let first = &analysis.offloaded[0];
    let n = analysis.offloaded.len();
    let shown: Vec<String> = apis.iter().take(4).map(|a| format!("`{a}`")).collect();
    let more = if apis.len() > 4 { format!(" and {} more", apis.len() - 4) } else { String::new() };
    out.push(format!(
        "Blocking work offloaded: {n} blocking {} ({}{more}) already run inside `spawn_blocking`-style closures, off the async worker threads, e.g. `{}` line {} in `{}`",
        if n == 1 { "call" } else { "calls" },
        shown.join(", "),
        first.path,
        first.line,
        first.function
    ));
    out
}

/// The review's positive findings about the database code.
fn db_positives(p: &asynclint::model::db::DbPractices) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(first) = p.pool_closers.first() {
        let more = match p.pool_closers.len() {
            1 => String::new(),
            n => format!(" and {} other {}", n - 1, if n == 2 { "place" } else { "places" }),
        };
        out.push(format!("Pools closed: `close()` is called on a pool in `{first}`{more}, so connections are drained rather than cut"));
    }
    if p.transactions > 0 {
        let sp = match p.savepoints {
            0 => String::new(),
            1 => ", with 1 savepoint for per-item failures".to_string(),
            n => format!(", with {n} savepoints for per-item failures"),
        };
        out.push(format!(
            "Transactions: {} {} opened for multi-statement work{sp}",
            p.transactions,
            if p.transactions == 1 { "transaction is" } else { "transactions are" }
        ));
    }
    if p.bound_queries > 0 {
        out.push(format!(
            "Bound parameters: {} {} their values with `.bind(..)` instead of formatting them into the SQL",
            p.bound_queries,
            if p.bound_queries == 1 { "query passes" } else { "queries pass" }
        ));
    }
    if p.configured_pool_settings > 0 {
        out.push(format!(
            "Pool settings from configuration: {} pool size or timeout {} a configured value rather than a literal",
            p.configured_pool_settings,
            if p.configured_pool_settings == 1 { "setting takes" } else { "settings take" }
        ));
    }
    out
}

/// A progress line on stderr for runs longer than a moment: only when stderr is a terminal and the
/// report is for people (never for machine formats, pipes or CI logs), drawn over itself and
/// erased when the analysis ends.
struct Progress {
    count: Arc<std::sync::atomic::AtomicUsize>,
    done: Arc<std::sync::atomic::AtomicBool>,
    painter: std::thread::JoinHandle<()>,
}

impl Progress {
    fn start(args: &CheckArgs, total: usize) -> Option<Progress> {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let human = matches!(args.format, Format::Full | Format::Concise | Format::Markdown);
        if !human || !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
            return None;
        }
        let count = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let (c, d) = (count.clone(), done.clone());
        let painter = std::thread::spawn(move || {
            // Quick runs finish before anything is drawn.
            let started = std::time::Instant::now();
            let mut drawn = false;
            while !d.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(100));
                if started.elapsed() < std::time::Duration::from_millis(700) {
                    continue;
                }
                let n = c.load(Ordering::Relaxed);
                let line = if n < total {
                    format!("asynclint: parsed {n} of {total} files")
                } else {
                    "asynclint: analysing".to_string()
                };
                eprint!("\r{line:<48}");
                drawn = true;
            }
            if drawn {
                eprint!("\r{:<48}\r", "");
            }
        });
        Some(Progress { count, done, painter })
    }

    fn finish(self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.painter.join();
    }
}
