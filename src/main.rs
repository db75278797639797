//! The `s3ward` binary: parse arguments, set up logging, run the command, map the outcome to
//! an exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = s3ward::cli::Cli::parse();
    s3ward::logging::init(cli.global.verbose, cli.global.color.into());
    let (settings, command) = s3ward::settings::Settings::from_cli(cli);
    let color = settings.color_err;
    match s3ward::app::run(&settings, &command) {
        Ok(exit) => exit.code(),
        // Whoever reads stdout stopped: nothing left to say there, and the outcome stays a
        // failure (commands write through `app::stdout`, which lets them finish instead).
        Err(err) if err.is_broken_pipe() => err.exit_code(),
        Err(err) => {
            s3ward::render::error::report(&err, &mut std::io::stderr(), color);
            err.exit_code()
        }
    }
}
