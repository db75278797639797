//! Errors that end a command, and the one place that turns them into words and exit codes.
//!
//! Variants carry data, not sentences (as `just` does); [`Error::hint`] adds the advice, and
//! `render::error::report` prints `error: …`, `  caused by: …` and `hint: …` in uv's
//! style. This module never paints or prints: it must not depend on `render` (which
//! depends on it).
//!
//! Exit codes (also in README.md):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success; for `plan --detailed-exitcode`, `drift` and `check`: nothing to report |
//! | 1 | an error: invalid plan file, AWS failure, refusal, stale saved plan |
//! | 2 | `plan --detailed-exitcode`: changes; `drift`: AWS differs; `check`: problems found |

use std::path::PathBuf;
use std::process::ExitCode;

use crate::aws::AwsError;
use crate::plan_file::Report;

/// What a command ends with when it does not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// Exit code 2: changes pending, drift found, or check problems.
    Differs,
}

impl Exit {
    pub fn code(self) -> ExitCode {
        match self {
            Exit::Success => ExitCode::SUCCESS,
            Exit::Differs => ExitCode::from(2),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not read plan file `{}`", path.display())]
    ReadPlan {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("plan file `{}` is not UTF-8 text", path.display())]
    PlanNotUtf8 { path: PathBuf },

    #[error("{}", invalid_plan_title(.0))]
    InvalidPlan(Box<Report>),

    /// An AWS call failed; `address` says which resource it was for.
    #[error("{}", aws_title(address, source))]
    Aws {
        address: Option<String>,
        #[source]
        source: AwsError,
    },

    #[error("account `{key}` is {declared}, but the credentials are for account {ambient}")]
    AmbientAccountMismatch {
        key: String,
        declared: String,
        ambient: String,
    },

    #[error(
        "assuming `{role}` for account `{key}` gave credentials for account {got}, not {declared}"
    )]
    AssumedWrongAccount {
        key: String,
        role: String,
        declared: String,
        got: String,
    },

    #[error("could not find AWS credentials")]
    NoCredentials {
        #[source]
        source: AwsError,
    },

    #[error("{what}")]
    Refused { what: String, hint: Option<String> },

    #[error("could not write `{}`", path.display())]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("could not read saved plan `{}`: {reason}", path.display())]
    ReadSaved { path: PathBuf, reason: String },

    #[error("saved plan is stale: {}", reasons.join("; "))]
    StalePlan { reasons: Vec<String> },

    /// Every change since the plan was saved is this saved plan's own apply.
    #[error(
        "saved plan was already applied: {} carr{} the `s3ward:applied` record it writes",
        resources.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", "),
        if resources.len() == 1 { "ies" } else { "y" }
    )]
    SavedApplied { resources: Vec<String> },

    /// The saved plan is not what its plan file gives: it was altered on its way.
    #[error("saved plan does not match its plan file: {}", reasons.join("; "))]
    SavedMismatch { reasons: Vec<String> },

    #[error("the plan has {count} problem{} (above); nothing can be applied until {} fixed", if *count == 1 { "" } else { "s" }, if *count == 1 { "it is" } else { "they are" })]
    PlanProblems { count: usize },

    #[error("apply failed: {failed} change{} failed, {not_attempted} not attempted (see the report above)", if *failed == 1 { "" } else { "s" })]
    ApplyFailed { failed: usize, not_attempted: usize },

    #[error("the apply lock `{location}` is held by {holder}{}{}; nothing was changed", if since.is_empty() { String::new() } else { format!(" since {since}") }, if host.is_empty() { String::new() } else { format!(" on {host}") })]
    Locked {
        location: String,
        holder: String,
        since: String,
        host: String,
    },

    /// Something other than an s3ward lock sits at the lock key.
    #[error(
        "`{location}` holds an object ({size} bytes) that s3ward did not write as a lock; s3ward never deletes it, and cannot take the apply lock while it is there; nothing was changed"
    )]
    NotALock { location: String, size: usize },

    #[error("could not read directory `{}`", path.display())]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },

    /// `check --local --model BUCKETKEY:PREFIX` names no `[[buckets.KEY.models]]` entry.
    #[error("`{model}` is not a model directory of `{}` (`[[buckets.KEY.models]]`)", plan.display())]
    UnknownModel { plan: PathBuf, model: String },

    /// `k8s --workload KEY` names no `[workloads.KEY]`.
    #[error("no workload {} in `{}`", keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "), plan.display())]
    UnknownWorkload {
        plan: PathBuf,
        keys: Vec<String>,
        known: Vec<String>,
    },

    #[error("{0}")]
    Usage(String),
}

fn invalid_plan_title(r: &Report) -> String {
    let e = r.errors();
    format!(
        "plan file `{}` has {e} error{}",
        crate::plan_file::diagnostic::display_path(&r.path),
        if e == 1 { "" } else { "s" }
    )
}

fn aws_title(address: &Option<String>, e: &AwsError) -> String {
    match address {
        Some(a) => format!("{a}: {} {} failed", e.service_name(), e.operation),
        None => format!("{} {} failed", e.service_name(), e.operation),
    }
}

impl From<crate::plan_file::LoadError> for Error {
    fn from(e: crate::plan_file::LoadError) -> Error {
        use crate::plan_file::LoadError;
        match e {
            LoadError::Read { path, source } => Error::ReadPlan { path, source },
            LoadError::NotUtf8 { path } => Error::PlanNotUtf8 { path },
            LoadError::Invalid(report) => Error::InvalidPlan(report),
        }
    }
}

impl From<Box<Report>> for Error {
    fn from(report: Box<Report>) -> Error {
        Error::InvalidPlan(report)
    }
}

impl Error {
    pub fn aws(address: impl Into<Option<String>>, source: AwsError) -> Error {
        Error::Aws {
            address: address.into(),
            source,
        }
    }

    /// Advice for the person at the terminal, when there is any.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::ReadPlan { .. } => Some("check the path; plan files are TOML, like `plans/ml-models.toml`".into()),
            Error::AmbientAccountMismatch { key, declared, .. } => Some(format!(
                "run with credentials for account {declared}, or give `[accounts.{key}]` an `assume_role = \"arn:aws:iam::{declared}:role/NAME\"`"
            )),
            Error::NoCredentials { .. } => Some(
                "s3ward uses the standard AWS chain: AWS_PROFILE or --profile, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, web identity, or instance metadata".into(),
            ),
            Error::Aws { source, .. } => aws_hint(source),
            Error::Refused { hint, .. } => hint.clone(),
            Error::ApplyFailed { .. } => Some(
                "fix the cause, then run `s3ward apply` again: it plans afresh and does only what is still missing".into(),
            ),
            Error::Locked { .. } => Some(
                "another apply of this plan file is running; wait for it. If it died (killed, crashed), run `s3ward apply --force-unlock ...` to remove its lock".into(),
            ),
            Error::SavedMismatch { .. } => Some(
                "nothing was changed. The saved plan was altered after `s3ward plan --out` wrote it, or was not made from the plan file that was reviewed: run `s3ward plan --out FILE` on the reviewed plan file, review it, and apply that".into(),
            ),
            Error::NotALock { .. } => Some(
                "the lock key must hold nothing but s3ward's lock: move that object away yourself, or point `settings.lock` at another key".into(),
            ),
            Error::SavedApplied { .. } => Some(
                "nothing was changed; a saved plan applies once. Run `s3ward plan` to see whether anything is left to do".into(),
            ),
            Error::ReadDir { .. } => Some(
                "give the directory the model is in (in a pod: the volume's `mountPath` and the model's directory under it)".into(),
            ),
            Error::UnknownModel { .. } => Some(
                "write it as `BUCKETKEY:PREFIX`, e.g. `models:Mistral-7B-v0.1/`, with a bucket key and prefix the plan file declares".into(),
            ),
            Error::UnknownWorkload { known, .. } if known.is_empty() => Some(
                "the plan file declares no `[workloads.KEY]`".into(),
            ),
            Error::UnknownWorkload { known, .. } => Some(format!(
                "its workloads: {}",
                known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
            )),
            Error::StalePlan { .. } => Some(
                "AWS or the plan file changed after the plan was saved; run `s3ward plan --out FILE` again and review it".into(),
            ),
            _ => None,
        }
    }

    /// Writing the command's output to stdout failed.
    pub fn stdout(source: std::io::Error) -> Error {
        Error::WriteFile {
            path: "<stdout>".into(),
            source,
        }
    }

    /// A write to stdout failed because the reader went away.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::WriteFile { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::FAILURE
    }
}

fn aws_hint(e: &AwsError) -> Option<String> {
    match e.code.as_deref() {
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => Some(format!(
            "the identity s3ward runs as needs `{}:{}`",
            e.service, e.operation
        )),
        Some("ExpiredToken" | "ExpiredTokenException" | "InvalidClientTokenId") => Some(
            "the credentials have expired or are not valid; refresh them (e.g. `aws sso login`)"
                .into(),
        ),
        Some("PermanentRedirect" | "AuthorizationHeaderMalformed") => Some(
            "the bucket is in another region than s3ward used: set `region` on the bucket in the plan file (or `settings.region`); S3 never moves a bucket between regions".into(),
        ),
        Some("BucketAlreadyExists") => Some(
            "bucket names are global, and another account owns this one: choose another `name`"
                .into(),
        ),
        _ if e.no_response => {
            Some("check the network, `--endpoint-url` / AWS_ENDPOINT_URL, and the region".into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_and_name_errors_say_what_to_change() {
        let mut e = AwsError {
            service: "s3",
            operation: "GetBucketPolicy",
            code: Some("PermanentRedirect".into()),
            message: "The bucket you are attempting to access must be addressed using the specified endpoint".into(),
            status: Some(301),
            attempts: 1,
            no_response: false,
        };
        assert!(aws_hint(&e).unwrap().contains("set `region` on the bucket"));
        e.code = Some("BucketAlreadyExists".into());
        assert!(
            aws_hint(&e)
                .unwrap()
                .contains("another account owns this one")
        );
    }
}
