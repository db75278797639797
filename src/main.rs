//! The `s3ward` binary: parse arguments, set up logging, run the command, map the outcome to
//! an exit code. Everything else lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    // clap exits 2 on a usage error, and 2 is s3ward's "differences" code: print clap's
    // message and exit 1 (error) instead; `--help` and `--version` still print and exit 0.
    let cli = match s3ward::cli::Cli::try_parse_ordered() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
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
