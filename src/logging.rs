//! Logging to stderr with `tracing`: `-v` shows each AWS call with its duration and each
//! retry; `-vv` adds debug detail; `RUST_LOG` overrides both. Credentials never reach a log:
//! s3ward logs operation names and resource names only, and the SDK's own logs stay at
//! `warn` unless RUST_LOG asks for them.

use tracing_subscriber::EnvFilter;

use crate::cli::ColorChoice;

pub fn init(verbose: u8, color: ColorChoice) {
    let default = match verbose {
        0 => "s3ward=warn",
        1 => "s3ward=debug",
        _ => "s3ward=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = crate::app::use_color(color, &std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .without_time()
        .try_init();
}
