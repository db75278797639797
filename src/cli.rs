//! Command-line definitions (clap), and the two things only clap can render (completions,
//! the manual page). Nothing else in s3ward sees clap types: the `settings` stage turns these
//! into plain settings, and everything after it takes those.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `--parallelism` when not given: the most requests in flight to each AWS service. High
/// enough for S3's control plane, which answers hundreds of requests a second; IAM, STS and
/// EKS start far lower and grow only while AWS answers without throttling
/// (`src/aws/limiter.rs`).
pub const DEFAULT_PARALLELISM: u16 = 64;

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
    /// Most requests in flight at once to each AWS service (each slows down when throttled).
    #[arg(long, global = true, default_value_t = DEFAULT_PARALLELISM, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
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
    /// Read AWS and show what would change. Never writes to AWS.
    Plan(PlanArgs),
    /// Plan, ask for `yes`, then make AWS match the plan file (or apply a saved plan exactly).
    #[command(
        override_usage = "s3ward apply [OPTIONS] <PLAN>\n       s3ward apply [OPTIONS] --saved <FILE>"
    )]
    Apply(ApplyArgs),
    /// Read-only check for cron: exit 2 when AWS differs, telling drift from pending changes.
    Drift(DriftArgs),
    /// Check that every declared model directory is complete and owned by the bucket owner.
    Check(CheckArgs),
    /// Print a plan file that describes live buckets and roles (`plan` with it: no changes). Only reads AWS.
    Import(ImportArgs),
    /// Print, per account, the least-privilege IAM policy s3ward needs for a plan file, as JSON. No AWS call.
    Permissions(PermissionsArgs),
    /// Print the Kubernetes ServiceAccount, PersistentVolume and claim YAML of the plan's workloads. No AWS call.
    K8s(K8sArgs),
    /// May a principal do an action on a bucket or object? Evaluated as AWS does, from the plan file or --live.
    Why(WhyArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `s3ward man > s3ward.1`.
    Man,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Several accounts in one run: each `--bucket`, `--role`, `--key`, `--account-key`, `--assume-role` and `--external-id` belongs to the `--account` before it, e.g.\n  s3ward import --account 111111111111:arn:aws:iam::111111111111:role/s3ward --bucket models \\\n                --account 222222222222:arn:aws:iam::222222222222:role/s3ward --role ray-nodes"
)]
pub struct ImportArgs {
    /// An account the resources after it are in: `ID` (12 digits), or `ID:ROLE_ARN` to assume that role there. Repeatable.
    #[arg(long, value_name = "ID[:ROLE_ARN]", required = true)]
    pub account: Vec<String>,
    /// That account's key in the plan file [default: the key s3ward's own statement ids name, else `main` for the first account and `account-` + the id's last 4 digits for the others].
    #[arg(long, value_name = "KEY")]
    pub account_key: Vec<String>,
    /// Assume this role in the account (else the credentials must be the account's); also written to the plan file. Same as `--account ID:ROLE_ARN`.
    #[arg(long, value_name = "ARN")]
    pub assume_role: Vec<String>,
    /// External id for the role assumed in the account.
    #[arg(long, value_name = "ID")]
    pub external_id: Vec<String>,
    /// Buckets to import, by name, in the `--account` before. Repeatable.
    #[arg(long = "bucket", value_name = "NAME", num_args = 1.., required_unless_present_any = ["roles", "keys"])]
    pub buckets: Vec<String>,
    /// Roles to import, by name (without the path), in the `--account` before. Repeatable.
    #[arg(long = "role", value_name = "NAME", num_args = 1..)]
    pub roles: Vec<String>,
    /// KMS keys to adopt, by ARN (their policy in `merge` mode), in the `--account` before. Repeatable.
    #[arg(long = "key", value_name = "ARN", num_args = 1..)]
    pub keys: Vec<String>,
    /// `settings.name` of the plan file (bucket policies in `merge` mode: their Sids start with `s3ward` + this name).
    #[arg(long, value_name = "NAME", default_value = "imported")]
    pub name: String,
    /// Write the plan file here (never over an existing file) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Where each per-account flag's values stood on the command line (filled by
    /// [`Cli::try_parse_ordered`]): which `--account` they belong to.
    #[arg(skip)]
    pub positions: Box<ImportPositions>,
}

/// The command-line index of every value of `import`'s per-account flags, as clap's
/// `ArgMatches::indices_of` gives them. Empty when parsed without [`Cli::try_parse_ordered`].
#[derive(Clone, Debug, Default)]
pub struct ImportPositions {
    pub account: Vec<usize>,
    pub account_key: Vec<usize>,
    pub assume_role: Vec<usize>,
    pub external_id: Vec<usize>,
    pub buckets: Vec<usize>,
    pub roles: Vec<usize>,
    pub keys: Vec<usize>,
}

impl Cli {
    /// Parses argv like `try_parse`, and records where `import`'s per-account flags stood, so
    /// that order on the command line says which account a resource is in.
    pub fn try_parse_ordered() -> Result<Self, clap::Error> {
        Self::try_parse_ordered_from(std::env::args_os())
    }

    /// [`Cli::try_parse_ordered`] from the given arguments (the first is the program name).
    pub fn try_parse_ordered_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory, FromArgMatches};
        let mut matches = Self::command().try_get_matches_from(args)?;
        let positions = matches.subcommand_matches("import").map(|m| {
            let at = |id: &str| -> Vec<usize> {
                m.indices_of(id).map(Iterator::collect).unwrap_or_default()
            };
            ImportPositions {
                account: at("account"),
                account_key: at("account_key"),
                assume_role: at("assume_role"),
                external_id: at("external_id"),
                buckets: at("buckets"),
                roles: at("roles"),
                keys: at("keys"),
            }
        });
        let mut cli = Self::from_arg_matches_mut(&mut matches)?;
        if let (Command::Import(args), Some(p)) = (&mut cli.command, positions) {
            *args.positions = p;
        }
        Ok(cli)
    }
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Who asks: `role.KEY`, `principal.KEY`, or an IAM role, user, session or account ARN.
    #[arg(long, value_name = "WHO")]
    pub principal: String,
    /// The action, like `s3:GetObject`.
    #[arg(long, value_name = "ACTION")]
    pub action: String,
    /// The bucket or object, `s3://BUCKET` or `s3://BUCKET/KEY` (for s3:ListBucket, KEY is the prefix).
    #[arg(long, value_name = "S3_URL")]
    pub resource: String,
    /// Read the live documents instead of the plan file's.
    #[arg(long)]
    pub live: bool,
    /// A request value, like `aws:SourceVpce=vpce-1a2b` (several values: comma-separated). Repeatable.
    #[arg(long = "context", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub context: Vec<(String, String)>,
    /// Output format (stdout).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// `permissions --for`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PermissionsFor {
    Plan,
    Apply,
    Drift,
    Check,
}

#[derive(Debug, Args)]
pub struct PermissionsArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// The command the policy is for (plan and drift read; apply reads and writes; check lists model directories).
    #[arg(long = "for", value_enum, default_value_t = PermissionsFor::Plan, value_name = "COMMAND")]
    pub purpose: PermissionsFor,
    /// With --for check: for `check --all-objects` (every bucket, listed whole).
    #[arg(long)]
    pub all_objects: bool,
}

#[derive(Debug, Args)]
pub struct K8sArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Only this workload (`[workloads.KEY]`). Repeatable [default: all].
    #[arg(long = "workload", value_name = "KEY")]
    pub workloads: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The plan file (not with --local).
    #[arg(
        value_name = "PLAN",
        required_unless_present = "local",
        conflicts_with = "local"
    )]
    pub plan: Option<PathBuf>,
    /// Check this local directory instead (inside a pod: the mounted model), without AWS.
    #[arg(long, value_name = "DIR")]
    pub local: Option<PathBuf>,
    /// With --local: a file the directory must hold (relative path). Repeatable [default: config.json].
    #[arg(long = "require", value_name = "FILE", requires = "local")]
    pub require: Vec<String>,
    /// With --local: take `require` from this plan file's model directory (with --model).
    #[arg(long = "plan", value_name = "PLAN", requires_all = ["local", "model"])]
    pub local_plan: Option<PathBuf>,
    /// With --plan: the model directory, as `BUCKETKEY:PREFIX`.
    #[arg(long, value_name = "BUCKETKEY:PREFIX", requires = "local_plan")]
    pub model: Option<String>,
    /// Also scan every object of the plan file's buckets (not only the model directories) for objects another account owns.
    #[arg(long, conflicts_with = "local")]
    pub all_objects: bool,
    /// With --all-objects: look at no more than N objects per bucket.
    #[arg(long, value_name = "N", default_value_t = 1_000_000, requires = "all_objects", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_objects: u64,
    /// Output format (stdout).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Output format (stdout).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    #[command(flatten)]
    pub selection: Selection,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["plan", "saved"])))]
pub struct ApplyArgs {
    /// The plan file (not with --saved).
    #[arg(value_name = "PLAN", conflicts_with = "saved")]
    pub plan: Option<PathBuf>,
    /// Apply exactly this saved plan (from `plan --out`), without asking; refused when stale.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["targets", "auto_approve"])]
    pub saved: Option<PathBuf>,
    /// With --saved: refuse unless this file holds exactly the plan-file text the saved plan
    /// was made from (CI passes the plan file of the merged commit).
    #[arg(long, value_name = "PATH", requires = "saved")]
    pub plan_file: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Remove the plan file's apply lock (`settings.lock`) first, whoever holds it. Only when
    /// sure that no other apply is running.
    #[arg(long)]
    pub force_unlock: bool,
    #[command(flatten)]
    pub selection: Selection,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Output format (stdout).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write a saved plan for `s3ward apply --saved FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when there are changes (0 when none, 1 on error).
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub selection: Selection,
}

/// Narrowing and safety flags shared by plan, apply and drift.
#[derive(Debug, Args, Default)]
pub struct Selection {
    /// Only this address and what is under it (`bucket.KEY`, `role.KEY`, `bucket.KEY.policy`, ...). Repeatable.
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// Accept a Deny that would lock the applying identity out of a bucket policy.
    #[arg(long)]
    pub allow_self_lockout: bool,
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

/// A shell completion script.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "s3ward", &mut buf);
    buf
}

/// The manual page (roff).
pub fn man_page() -> Vec<u8> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .expect("writing to memory cannot fail");
    buf
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
