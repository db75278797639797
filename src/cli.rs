//! Command-line definitions (clap). Nothing else in s3ward sees clap types: `app` turns
//! these into plain options.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Keep S3 access for ML model storage exactly as a reviewed TOML plan file says.
///
/// s3ward reads a plan file that declares buckets, IAM roles, cross-account principals and
/// the grants between them, compares it with AWS, and applies the difference in an order
/// AWS accepts.
#[derive(Debug, Parser)]
#[command(name = "s3ward", version, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 success · 1 error · 2 differences (plan --detailed-exitcode, drift, check).\nDocs: README.md and docs/ in the s3ward repository."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Region for buckets that do not say one (else the plan's settings.region, AWS_REGION, the profile).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send every request to this endpoint (an emulator or proxy); S3 then uses path-style addressing.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Most AWS requests in flight at once.
    #[arg(long, global = true, default_value_t = 16, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// When to colour output (NO_COLOR is honoured under `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Log to stderr: -v each AWS call and retry, -vv more. RUST_LOG works too.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check plan files offline: syntax, references, limits, safety. No AWS call.
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Plan files to check.
    #[arg(required = true, value_name = "PLAN")]
    pub plans: Vec<PathBuf>,
    /// Accept a Deny in extra_policy_statements that would lock s3ward out of the bucket policy.
    #[arg(long)]
    pub allow_self_lockout: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
