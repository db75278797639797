//! The commands: each turns parsed arguments into calls on the pipeline and an [`Exit`].
//!
//! Output discipline: stdout carries only data (plans, reports, JSON); diagnostics, logs,
//! progress and errors go to stderr. Commands orchestrate; what they print is laid out in
//! `render` (the `validate` summary line aside), never with hand-written escapes.

use std::io::Write;

pub mod apply;
pub mod check;
pub mod check_local;
pub mod drift;
pub mod import;
pub mod k8s;
pub mod permissions;
pub mod plan;
pub mod progress;
pub mod why;

use crate::error::{Error, Exit};
use crate::plan_file::{self, diagnostic::display_path};
use crate::render::style::plural;
use crate::settings::{Command, Settings, ValidateSettings};

/// Stdout, for a command's data. When the reader goes away (`s3ward drift | head -1`), the
/// rest of the output is discarded and the command still finishes and exits with its own
/// code: a closed pipe must never turn drift's 2 (differs) into 0.
pub fn stdout() -> Stdout {
    Stdout {
        inner: std::io::stdout().lock(),
        closed: false,
    }
}

/// See [`stdout`].
pub struct Stdout {
    inner: std::io::StdoutLock<'static>,
    closed: bool,
}

impl Stdout {
    fn absorb<T>(&mut self, r: std::io::Result<T>, none: T) -> std::io::Result<T> {
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(none)
            }
            r => r,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let r = self.inner.write(buf);
        self.absorb(r, buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = self.inner.flush();
        self.absorb(r, ())
    }
}

pub fn run(settings: &Settings, command: &Command) -> Result<Exit, Error> {
    match command {
        Command::Validate(v) => validate(v, settings.color_err),
        Command::Plan(p) => runtime().block_on(plan::run(settings, p)),
        Command::Apply(a) => runtime().block_on(apply::run(settings, a)),
        Command::Drift(d) => runtime().block_on(drift::run(settings, d)),
        Command::Check(c) => runtime().block_on(check::run(settings, c)),
        Command::CheckLocal(c) => check_local::run(settings, c),
        Command::K8s(k) => k8s::run(settings, k),
        Command::Import(i) => runtime().block_on(import::run(settings, i)),
        Command::Permissions(p) => permissions::run(settings, p),
        Command::Why(w) => why::run(settings, w),
        Command::Print(bytes) => write_stdout(bytes),
    }
}

fn write_stdout(bytes: &[u8]) -> Result<Exit, Error> {
    let mut out = stdout();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(Error::stdout)?;
    Ok(Exit::Success)
}

/// The async runtime, for commands that talk to AWS (validate never builds one).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}

fn validate(args: &ValidateSettings, err_color: bool) -> Result<Exit, Error> {
    let options = plan_file::Options {
        allow_self_lockout: args.allow_self_lockout,
    };
    let mut first_error = None;
    let mut stdout = stdout();
    for path in &args.plans {
        match plan_file::load(path, options) {
            Ok(loaded) => {
                let w = loaded.warnings.render(err_color);
                eprint!("{w}");
                let d = &loaded.desired;
                let n = loaded.warnings.warnings();
                let _ = writeln!(
                    stdout,
                    "{}: valid ({} account{}, {} role{}, {} bucket{}, {} grant{}){}",
                    display_path(path),
                    d.accounts.len(),
                    plural(d.accounts.len()),
                    d.roles.len(),
                    plural(d.roles.len()),
                    d.buckets.len(),
                    plural(d.buckets.len()),
                    d.buckets.values().map(|b| b.grants.len()).sum::<usize>(),
                    plural(d.buckets.values().map(|b| b.grants.len()).sum::<usize>()),
                    if n > 0 {
                        format!(", {n} warning{}", plural(n))
                    } else {
                        String::new()
                    }
                );
            }
            Err(e) => {
                let e = Error::from(e);
                // Report each file's problems as they come; fail once at the end.
                if first_error.is_some() {
                    crate::render::error::report(&e, &mut std::io::stderr(), err_color);
                } else {
                    first_error = Some(e);
                }
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(Exit::Success),
    }
}
