//! `cargo asynclint ...`: cargo runs `cargo-asynclint asynclint ...`, with the subcommand's name as
//! the first argument. This binary drops that argument and runs the very same CLI as `asynclint`
//! (src/main.rs, compiled into this binary as a module), so `cargo asynclint check` and
//! `asynclint check` take the same options and print the same bytes.

#[allow(dead_code)] // its `fn main` is the other binary's entry point
#[path = "../main.rs"]
mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `cargo asynclint check` passes `asynclint`; `cargo-asynclint check`, run by hand, does not.
    if args.get(1).is_some_and(|a| a == "asynclint") {
        args.remove(1);
    }
    cli::run(args, "cargo asynclint")
}
