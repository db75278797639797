//! Apply: carry out a change set against AWS, in an order AWS accepts.
//!
//! # Expected flow
//!
//! 1. `plan` (or a saved plan) gives a [`ChangeSet`]; every change carries the exact
//!    [`Write`](crate::change::Write) to send.
//! 2. [`safety::check`] refuses, before the first write, what SPEC forbids (sizes, public
//!    policies, self-lockout, problems found while planning).
//! 3. [`graph::build`] orders the changes: roles before policies that name them, one write
//!    at a time per bucket in SPEC's order, removals of access last.
//! 4. [`executor::execute`] runs every change whose dependencies succeeded, in parallel
//!    (requests bounded by `--parallelism`), and records what it applied in each resource's
//!    `s3ward:applied` tag.
//!
//! # Guarantees
//!
//! - Nothing is written when a safety check fails or the plan has problems.
//! - A failed change stops the changes that depend on it, and nothing else.
//! - The report lists every change as applied, failed (address, AWS operation, error code,
//!   message) or not attempted (and what it waited for).
//! - s3ward never deletes a bucket, an object, or a role.
//!
//! # Assumptions
//!
//! - Every write is idempotent ([`writes`]): running it twice leaves AWS as running it once.
//!   So an apply that failed, or was killed at any point, is finished by running `apply`
//!   again: the new plan contains exactly what is still missing.
//! - Writes fixed at plan time are still right at apply time. For `apply PLAN` the window is
//!   the confirmation prompt; for `apply --saved` the live fingerprints are checked first.
//!
//! # Caveats
//!
//! - A killed apply can leave a resource half-changed (its policy written, its ownership
//!   not yet), and the `s3ward:applied` tag of that resource not yet updated: `drift` then
//!   reports the remaining differences as `pending`, and the next apply finishes them.
//! - Bucket tags are read and written back whole (S3 has no "add tags"): a tag added by
//!   someone else between that read and write would be lost. The window is one round trip.
//!
//! # Errors
//!
//! Throttling, 5xx, dropped connections and 409 `OperationAborted` are retried with backoff
//! (about 40 s); a principal created moments ago (`MalformedPolicy` "Invalid principal") for
//! up to 2 minutes; `NoSuchBucket` right after CreateBucket for 30 s. Every retry is logged at
//! `-v`. When a budget runs out the change fails with the AWS error, naming the principals
//! when it was a principal that never became valid.

// The report of an apply, in types (a [`Step`] is a change's address or a resource's record);
// turning it into words is the caller's business, never this module's.

pub mod executor;
pub mod graph;
mod key_order;
pub mod lock;
pub mod safety;
pub mod writes;

use std::fmt;

use serde::Serialize;

use crate::change::{Address, Resource};

/// One step of an apply, as the executor runs and reports it: a write at an address (a
/// change, or the real trust of a role created with an inert one), or the `s3ward:applied`
/// record of a resource (bookkeeping, not a change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Change(Address),
    Record(Resource),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Change(a) => write!(f, "{a}"),
            Step::Record(r) => write!(f, "{r} (s3ward:applied tag)"),
        }
    }
}

/// What a step that was not attempted waited for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitedFor {
    /// The step that failed (the one it needs, directly or through others).
    Failed(Step),
    /// Steps that wait for each other (and so never start), as the graph could not break.
    Cycle(Vec<Step>),
}

impl fmt::Display for WaitedFor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitedFor::Failed(s) => write!(f, "{s}"),
            WaitedFor::Cycle(on) => {
                let on: Vec<String> = on.iter().map(Step::to_string).collect();
                write!(f, "a dependency cycle ({})", on.join(", "))
            }
        }
    }
}

/// Steps and what they waited for serialise as the text the report prints.
macro_rules! serialize_as_text {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

serialize_as_text!(Step);
serialize_as_text!(WaitedFor);

/// A step that failed: a change, or a resource's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub address: Step,
    pub operation: String,
    pub code: Option<String>,
    pub message: String,
}

/// A change that was not attempted because something it depends on did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub address: Address,
    pub waited_for: WaitedFor,
}

/// What an apply did. Records (the `s3ward:applied` tags) are not changes: they are listed
/// only when they fail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub applied: Vec<Address>,
    pub failed: Vec<Failure>,
    pub not_attempted: Vec<Skipped>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.not_attempted.is_empty()
    }
}
