//! Running the `s3ward` binary the way a person at a terminal would, against moto.
//!
//! ```ignore
//! let dir = PlanDir::new();
//! dir.write("plan.toml", PLAN);
//! let run = dir.s3ward(&["apply", "plan.toml"]).stdin("yes\n").run();
//! assert_eq!(run.code, 0, "{run}");
//! insta::assert_snapshot!(run.snapshot_text());
//! ```
//!
//! Every run gets the hermetic environment of [`super::hermetic_env`]; `.env(..)` calls
//! come after it, so a test can still override any variable.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{hermetic_env, moto};

/// Longer than s3ward's own retry budgets (two minutes for a principal to propagate).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);

/// Starts describing a run of `s3ward ARGS...`.
pub fn s3ward(args: &[&str]) -> Cmd {
    Cmd::new(env!("CARGO_BIN_EXE_s3ward"), args)
}

impl Cmd {
    /// Any program, run the same way as `s3ward` (for testing the runner itself, or tools
    /// the tests need).
    pub fn new(program: impl AsRef<OsStr>, args: &[&str]) -> Cmd {
        Cmd {
            program: program.as_ref().to_owned(),
            args: args.iter().map(OsString::from).collect(),
            envs: Vec::new(),
            stdin: None,
            dir: None,
            timeout: DEFAULT_TIMEOUT,
            filters: Vec::new(),
        }
    }
}

/// A run of the binary that has not happened yet.
#[must_use = "a Cmd does nothing until .run()"]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, Option<OsString>)>,
    stdin: Option<Vec<u8>>,
    dir: Option<PathBuf>,
    timeout: Duration,
    filters: Vec<(String, String)>,
}

impl Cmd {
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.envs.push((key.as_ref().to_owned(), None));
        self
    }

    /// Text typed on stdin (a pipe, not a terminal). Without it stdin is empty.
    pub fn stdin(mut self, text: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(text.into());
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_owned());
        self
    }

    /// The run fails the test when it takes longer than this (default 180 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Replaces `from` by `to` in [`Run::snapshot_text`] (literal text, applied first).
    pub fn filter(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.filters.push((from.into(), to.into()));
        self
    }

    /// Runs the binary to completion. Blocks: in an async test prefer [`Cmd::run_async`]
    /// when the test also serves something on its own runtime.
    pub fn run(self) -> Run {
        self.spawn().wait()
    }

    /// [`Cmd::run`] on a blocking thread, so that the test's runtime keeps serving.
    pub async fn run_async(self) -> Run {
        tokio::task::spawn_blocking(move || self.run())
            .await
            .expect("runner thread")
    }

    /// Starts the binary and returns at once: for tests that act on the process while it
    /// runs (kill it at a chosen point with [`Spawned::killer`]). [`Spawned::wait`] then
    /// gives the [`Run`], as [`Cmd::run`] would.
    pub fn spawn(self) -> Spawned {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        hermetic_env(&mut cmd, &moto().endpoint);
        for (key, value) in &self.envs {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.program.to_string_lossy()));

        // Feed stdin and drain both pipes on threads, so that no pipe fills up and blocks.
        if let Some(input) = self.stdin {
            let mut pipe = child.stdin.take().expect("piped stdin");
            std::thread::spawn(move || {
                // The program may exit without reading: a broken pipe is not our failure.
                let _ = pipe.write_all(&input);
            });
        }
        let stdout = drain(child.stdout.take().expect("piped stdout"));
        let stderr = drain(child.stderr.take().expect("piped stderr"));
        Spawned {
            pid: child.id(),
            child: Arc::new(Mutex::new(child)),
            program: self.program,
            args: self.args,
            deadline: Instant::now() + self.timeout,
            timeout: self.timeout,
            stdout,
            stderr,
            filters: self.filters,
        }
    }
}

/// A run of the binary that has started ([`Cmd::spawn`]).
pub struct Spawned {
    pid: u32,
    child: Arc<Mutex<Child>>,
    program: OsString,
    args: Vec<OsString>,
    deadline: Instant,
    timeout: Duration,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
    filters: Vec<(String, String)>,
}

/// Kills one spawned process (SIGKILL); usable from any thread, any number of times.
#[derive(Clone)]
pub struct Killer(Arc<Mutex<Child>>);

impl Killer {
    /// Sends SIGKILL, unless the process has already been waited for (so never another
    /// process that reused its pid).
    pub fn kill(&self) {
        let _ = self.0.lock().expect("child lock").kill();
    }
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn killer(&self) -> Killer {
        Killer(self.child.clone())
    }

    /// Waits for the process to end (failing the test after the [`Cmd::timeout`]).
    /// A process killed by a signal has code `128 + signal` (137 for SIGKILL).
    pub fn wait(self) -> Run {
        let status = loop {
            let mut child = self.child.lock().expect("child lock");
            if let Some(status) = child.try_wait().expect("wait for s3ward") {
                break status;
            }
            if Instant::now() >= self.deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{} {:?} ran longer than {:?}",
                    self.program.to_string_lossy(),
                    self.args,
                    self.timeout
                );
            }
            drop(child);
            std::thread::sleep(Duration::from_millis(5));
        };
        let code = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        Run {
            program: self.program,
            args: self.args,
            code,
            stdout: self.stdout.join().expect("stdout reader"),
            stderr: self.stderr.join().expect("stderr reader"),
            filters: self.filters,
        }
    }

    /// [`Spawned::wait`] on a blocking thread.
    pub async fn wait_async(self) -> Run {
        tokio::task::spawn_blocking(move || self.wait())
            .await
            .expect("runner thread")
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// What a run of the binary did.
#[derive(Clone, Debug)]
pub struct Run {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    filters: Vec<(String, String)>,
}

impl Run {
    /// `exit: N`, then stdout and stderr, with unstable text filtered out: loopback ports
    /// become `[PORT]`, plan directories `[TMP]`, the target's temp directory
    /// `[TARGET_TMP]`. For `insta::assert_snapshot!`.
    pub fn snapshot_text(&self) -> String {
        let text = format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code,
            with_newline(&self.stdout),
            with_newline(&self.stderr)
        );
        let mut text = text;
        for (from, to) in &self.filters {
            text = text.replace(from.as_str(), to);
        }
        text = text.replace(env!("CARGO_TARGET_TMPDIR"), "[TARGET_TMP]");
        let plan_dirs = std::env::temp_dir().join(PLAN_DIR_PREFIX);
        text = replace_with_suffix(&text, &plan_dirs.to_string_lossy(), "[TMP]", |c| {
            c.is_ascii_alphanumeric()
        });
        for host in ["127.0.0.1:", "localhost:", "[::1]:"] {
            let to = format!("{host}[PORT]");
            text = replace_with_suffix(&text, host, &to, |c| c.is_ascii_digit());
        }
        text
    }
}

impl fmt::Display for Run {
    /// The whole run, for assertion messages: `assert_eq!(run.code, 0, "{run}")`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let program = Path::new(&self.program);
        let name = program.file_name().unwrap_or(program.as_os_str());
        let args: Vec<_> = self.args.iter().map(|a| a.to_string_lossy()).collect();
        write!(
            f,
            "$ {} {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
            name.to_string_lossy(),
            args.join(" "),
            self.code,
            with_newline(&self.stdout),
            with_newline(&self.stderr)
        )
    }
}

fn with_newline(s: &str) -> String {
    if s.is_empty() || s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n")
    }
}

/// Replaces each `prefix` followed by at least one character matching `suffix` (the whole
/// run of them) with `to`.
fn replace_with_suffix(
    text: &str,
    prefix: &str,
    to: &str,
    suffix: impl Fn(char) -> bool,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let after = &rest[at + prefix.len()..];
        let len: usize = after
            .chars()
            .take_while(|&c| suffix(c))
            .map(char::len_utf8)
            .sum();
        out.push_str(&rest[..at]);
        if len == 0 {
            out.push_str(prefix);
        } else {
            out.push_str(to);
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

const PLAN_DIR_PREFIX: &str = "s3ward-plan-";

/// A temporary directory for plan files and saved change sets, removed on drop.
pub struct PlanDir {
    dir: tempfile::TempDir,
}

impl PlanDir {
    pub fn new() -> PlanDir {
        let dir = tempfile::Builder::new()
            .prefix(PLAN_DIR_PREFIX)
            .tempdir()
            .expect("create a temporary plan directory");
        PlanDir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `name` (relative, parents created) and returns its full path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create plan subdirectory");
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// `s3ward ARGS...` run inside this directory, so that plan files can be named
    /// relatively, as a person would.
    pub fn s3ward(&self, args: &[&str]) -> Cmd {
        s3ward(args).current_dir(self.path())
    }
}

impl Default for PlanDir {
    fn default() -> Self {
        PlanDir::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_ports_and_plan_dirs() {
        let tmp = std::env::temp_dir().join("s3ward-plan-AbC123");
        let run = Run {
            program: "s3ward".into(),
            args: Vec::new(),
            code: 1,
            stdout: format!("read {}/plan.toml\n", tmp.display()),
            stderr: "error: connect http://127.0.0.1:54321/ and localhost:8\nport 127.0.0.1:x"
                .into(),
            filters: Vec::new(),
        };
        assert_eq!(
            run.snapshot_text(),
            "exit: 1\n--- stdout\nread [TMP]/plan.toml\n--- stderr\n\
             error: connect http://127.0.0.1:[PORT]/ and localhost:[PORT]\nport 127.0.0.1:x\n"
        );
    }
}
