//! The command line, decided: `Cli` (clap's definitions, [`crate::cli`]) → [`Settings`] and
//! one [`Command`] of plain options. The second of ripgrep's two stages (raw flags, then
//! the resolved model): colour is decided here once per stream (`--color`, `NO_COLOR`,
//! whether the stream is a terminal), the AWS options are gathered, and completions and the
//! manual page are rendered.
//!
//! Nothing after this stage sees a clap type: `app` and everything below it take these.
//! This module decides nothing about AWS or the plan file; it does not read either.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::aws::AwsOptions;
use crate::cli::{self, Cli};
use crate::permissions::Purpose;

mod import;
pub use import::{ImportAccount, ImportSettings};

/// What every command shares.
#[derive(Clone, Debug)]
pub struct Settings {
    pub aws: AwsOptions,
    /// Colour on stdout (the data: plans, reports).
    pub color_out: bool,
    /// Colour on stderr (diagnostics, errors, progress).
    pub color_err: bool,
}

/// `--color` before it meets a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour `stream`: `auto` colours a terminal unless `NO_COLOR` is set.
    pub fn for_stream(self, stream: &impl IsTerminal) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// `plan --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

/// `drift --format`, `check --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
}

/// Narrowing and safety choices shared by plan, apply and drift.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// `--target` values as given (checked against the plan file once it is read).
    pub targets: Vec<String>,
    pub allow_self_lockout: bool,
}

#[derive(Clone, Debug)]
pub struct ValidateSettings {
    pub plans: Vec<PathBuf>,
    pub allow_self_lockout: bool,
}

#[derive(Clone, Debug)]
pub struct PlanSettings {
    pub plan: PathBuf,
    pub format: Format,
    pub out: Option<PathBuf>,
    pub detailed_exitcode: bool,
    pub selection: Selection,
}

#[derive(Clone, Debug)]
pub struct ApplySettings {
    pub plan: Option<PathBuf>,
    pub saved: Option<PathBuf>,
    pub plan_file: Option<PathBuf>,
    pub auto_approve: bool,
    pub force_unlock: bool,
    pub selection: Selection,
}

#[derive(Clone, Debug)]
pub struct DriftSettings {
    pub plan: PathBuf,
    pub format: ReportFormat,
    pub selection: Selection,
}

#[derive(Clone, Debug)]
pub struct CheckSettings {
    pub plan: PathBuf,
    pub format: ReportFormat,
    /// `--all-objects`: `Some(--max-objects)`, the most objects looked at per bucket.
    pub all_objects: Option<usize>,
}

/// `k8s PLAN`.
#[derive(Clone, Debug)]
pub struct K8sSettings {
    pub plan: PathBuf,
    pub workloads: Vec<String>,
}

/// `check --local DIR`.
#[derive(Clone, Debug)]
pub struct CheckLocalSettings {
    pub dir: PathBuf,
    pub require: Vec<String>,
    /// `--plan PLAN --model BUCKETKEY:PREFIX`.
    pub model: Option<(PathBuf, String)>,
    pub format: ReportFormat,
}

#[derive(Clone, Debug)]
pub struct PermissionsSettings {
    pub plan: PathBuf,
    pub purpose: Purpose,
    /// `--all-objects` was given (it only goes with `--for check`).
    pub all_objects: bool,
}

#[derive(Clone, Debug)]
pub struct WhySettings {
    pub plan: PathBuf,
    pub principal: String,
    pub action: String,
    pub resource: String,
    pub live: bool,
    pub context: Vec<(String, String)>,
    pub format: ReportFormat,
}

/// The command to run, with its own settings.
#[derive(Clone, Debug)]
pub enum Command {
    Validate(ValidateSettings),
    Plan(PlanSettings),
    Apply(ApplySettings),
    Drift(DriftSettings),
    Check(CheckSettings),
    CheckLocal(CheckLocalSettings),
    K8s(K8sSettings),
    Import(ImportSettings),
    Permissions(PermissionsSettings),
    Why(WhySettings),
    /// Text already rendered (shell completions, the manual page), for stdout.
    Print(Vec<u8>),
}

impl From<cli::ColorChoice> for ColorChoice {
    fn from(c: cli::ColorChoice) -> ColorChoice {
        match c {
            cli::ColorChoice::Auto => ColorChoice::Auto,
            cli::ColorChoice::Always => ColorChoice::Always,
            cli::ColorChoice::Never => ColorChoice::Never,
        }
    }
}

fn format(f: cli::Format) -> Format {
    match f {
        cli::Format::Text => Format::Text,
        cli::Format::Markdown => Format::Markdown,
        cli::Format::Json => Format::Json,
    }
}

fn report_format(f: cli::ReportFormat) -> ReportFormat {
    match f {
        cli::ReportFormat::Text => ReportFormat::Text,
        cli::ReportFormat::Json => ReportFormat::Json,
    }
}

fn selection(s: cli::Selection) -> Selection {
    Selection {
        targets: s.targets,
        allow_self_lockout: s.allow_self_lockout,
    }
}

impl Settings {
    /// Decides everything the command line says.
    pub fn from_cli(cli: Cli) -> (Settings, Command) {
        let g = cli.global;
        let color = ColorChoice::from(g.color);
        let settings = Settings {
            aws: AwsOptions {
                region: g.region,
                profile: g.profile,
                endpoint_url: g.endpoint_url,
                parallelism: g.parallelism as usize,
            },
            color_out: color.for_stream(&std::io::stdout()),
            color_err: color.for_stream(&std::io::stderr()),
        };
        let command = match cli.command {
            cli::Command::Validate(a) => Command::Validate(ValidateSettings {
                plans: a.plans,
                allow_self_lockout: a.allow_self_lockout,
            }),
            cli::Command::Plan(a) => Command::Plan(PlanSettings {
                plan: a.plan,
                format: format(a.format),
                out: a.out,
                detailed_exitcode: a.detailed_exitcode,
                selection: selection(a.selection),
            }),
            cli::Command::Apply(a) => Command::Apply(ApplySettings {
                plan: a.plan,
                saved: a.saved,
                plan_file: a.plan_file,
                auto_approve: a.auto_approve,
                force_unlock: a.force_unlock,
                selection: selection(a.selection),
            }),
            cli::Command::Drift(a) => Command::Drift(DriftSettings {
                plan: a.plan,
                format: report_format(a.format),
                selection: selection(a.selection),
            }),
            cli::Command::Check(a) => match (a.local, a.plan) {
                (Some(dir), _) => Command::CheckLocal(CheckLocalSettings {
                    dir,
                    require: a.require,
                    model: a.local_plan.zip(a.model),
                    format: report_format(a.format),
                }),
                (None, plan) => Command::Check(CheckSettings {
                    plan: plan.expect("clap requires PLAN without --local"),
                    format: report_format(a.format),
                    all_objects: a
                        .all_objects
                        .then(|| usize::try_from(a.max_objects).unwrap_or(usize::MAX)),
                }),
            },
            cli::Command::Import(a) => Command::Import(import::group(a)),
            cli::Command::Permissions(a) => Command::Permissions(PermissionsSettings {
                plan: a.plan,
                purpose: match a.purpose {
                    cli::PermissionsFor::Plan => Purpose::Plan,
                    cli::PermissionsFor::Apply => Purpose::Apply,
                    cli::PermissionsFor::Drift => Purpose::Drift,
                    cli::PermissionsFor::Check if a.all_objects => Purpose::CheckAllObjects,
                    cli::PermissionsFor::Check => Purpose::Check,
                },
                all_objects: a.all_objects,
            }),
            cli::Command::K8s(a) => Command::K8s(K8sSettings {
                plan: a.plan,
                workloads: a.workloads,
            }),
            cli::Command::Why(a) => Command::Why(WhySettings {
                plan: a.plan,
                principal: a.principal,
                action: a.action,
                resource: a.resource,
                live: a.live,
                context: a.context,
                format: report_format(a.format),
            }),
            cli::Command::Completions { shell } => Command::Print(cli::completions(shell)),
            cli::Command::Man => Command::Print(cli::man_page()),
        };
        (settings, command)
    }
}
