//! What the integration tests that run the binary share: one run, with a fixed environment and a
//! time limit, that fails the test on a hang or a crash instead of hanging the suite.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a run of the binary gave.
pub struct Output {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// Read by the robustness tests only; each test binary compiles this module on its own.
    #[allow(dead_code)]
    pub elapsed: Duration,
}

/// Runs `command args..` in `cwd` with the environment reports depend on made fixed (no
/// `ASYNCLINT_FORMAT`, no `NO_COLOR`, 100 columns, no stdin). The caller sets anything else
/// (`HOME`, the cache home). Panics if the run outlives `timeout` (a hang) or dies of a signal (a
/// stack overflow aborts), with the end of its stderr.
pub fn run_binary(mut command: Command, cwd: &Path, args: &[&str], timeout: Duration) -> Output {
    let mut child = command
        .args(args)
        .current_dir(cwd)
        .env_remove("ASYNCLINT_FORMAT")
        .env_remove("NO_COLOR")
        .env("COLUMNS", "100")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start asynclint");
    // Both pipes are drained while the child runs, so a full pipe never stalls it.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).unwrap();
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).unwrap();
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("asynclint {args:?} in {} did not finish within {timeout:?} (a hang)", cwd.display());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let stdout = out_reader.join().unwrap();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned();
    let Some(code) = status.code() else {
        let tail: String = stderr.chars().rev().take(2000).collect::<Vec<_>>().into_iter().rev().collect();
        panic!("asynclint {args:?} in {} crashed: {status}\nstderr (end):\n{tail}", cwd.display());
    };
    Output { code, stdout, stderr, elapsed }
}
