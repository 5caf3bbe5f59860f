//! Which allocations are scratch: the text of a file, its tokens and its syntax tree, all dropped
//! before the next file. The core only marks the spans of code that allocate scratch; the binary's
//! global allocator (`main.rs`) reads the mark and serves scratch from a heap of its own.
//!
//! Why: facts are small and live for the whole run, syntax trees are large and live for one file.
//! From one heap, each file's facts were scattered over the pages of its tree. With scratch
//! apart, facts fill pages of their own and a tree's pages serve the next tree. Measured on the
//! bench corpus, this made a cold run faster (11.8 s against 12.8 to 13.0 s); the peak memory
//! stayed the same within noise, because the gap between live data and resident memory comes
//! mostly from the millions of small facts themselves, not from tree pages.
//!
//! Only a hint: which heap serves a block changes neither its contents nor who may free it, and
//! under another allocator (the tests') the mark is ignored.
//!
//! The binary also registers how freed memory goes back to the OS (`set_release`): it keeps
//! freed pages during parsing, for the next tree, and the analysis calls `release_freed` on each
//! thread once parsing is done; from then on, freed pages go back to the OS as they usually do.

use std::cell::Cell;
use std::sync::OnceLock;

thread_local! {
    // `const` and without a destructor, so that the allocator may read it at any time, even
    // while this thread is being torn down.
    static SCRATCH: Cell<bool> = const { Cell::new(false) };
}

/// Whether allocations on this thread are scratch right now.
#[inline]
pub fn in_scratch() -> bool {
    SCRATCH.try_with(Cell::get).unwrap_or(false)
}

/// Runs `f` with its allocations marked as scratch. What `f` returns may live on: the mark is
/// about locality, not lifetime.
pub fn scratch<R>(f: impl FnOnce() -> R) -> R {
    let _mark = Mark::set(true);
    f()
}

/// Runs `f` with its allocations marked as lasting (facts built while a syntax tree is alive).
pub fn lasting<R>(f: impl FnOnce() -> R) -> R {
    let _mark = Mark::set(false);
    f()
}

/// Restores the previous mark when dropped, also when `f` panics.
struct Mark(bool);

impl Mark {
    fn set(scratch: bool) -> Mark {
        Mark(SCRATCH.with(|s| s.replace(scratch)))
    }
}

impl Drop for Mark {
    fn drop(&mut self) {
        SCRATCH.with(|s| s.set(self.0));
    }
}

/// How the binary's allocator hands freed memory back to the OS (see `main.rs`); unset under
/// another allocator (the tests').
static RELEASE: OnceLock<fn()> = OnceLock::new();

/// Registers how to hand freed memory back; the first registration holds.
pub fn set_release(release: fn()) {
    let _ = RELEASE.set(release);
}

/// Hands the calling thread's freed memory back to the OS, if the allocator can. Only a hint:
/// called when a phase has dropped much that no later phase reuses.
pub fn release_freed() {
    if let Some(release) = RELEASE.get() {
        release();
    }
}
