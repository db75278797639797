//! The commands: each turns parsed arguments into calls on the pipeline and an [`Exit`].
//!
//! Output discipline: stdout carries only data (plans, reports, JSON); diagnostics, logs,
//! progress and errors go to stderr.

use std::io::Write;

use crate::cli::{Cli, ColorChoice, Command, ValidateArgs};
use crate::error::{Error, Exit};
use crate::plan_file::{self, diagnostic::display_path};

/// Whether to colour a stream, after `--color` and `NO_COLOR`.
pub fn use_color(choice: ColorChoice, stream: &impl std::io::IsTerminal) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

pub fn run(cli: Cli) -> Result<Exit, Error> {
    match cli.command {
        Command::Validate(args) => validate(&args, cli.global.color),
    }
}

fn validate(args: &ValidateArgs, color: ColorChoice) -> Result<Exit, Error> {
    let err_color = use_color(color, &std::io::stderr());
    let options = plan_file::Options {
        allow_self_lockout: args.allow_self_lockout,
    };
    let mut first_error = None;
    let mut stdout = std::io::stdout().lock();
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
                // Report each file's problems as they come; fail once at the end.
                if first_error.is_some() {
                    crate::error::report(&e, &mut std::io::stderr(), err_color);
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

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
