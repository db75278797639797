//! What an evaluation answers: the decision, and for each side (identity, bucket, key, and
//! the S3 layers) its own decision with the statements that made it. Plain data, for
//! `render/why.rs` and the expectations to word.

use super::Tri;
use crate::policy::Effect;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Decision {
    Allowed,
    Denied,
    Depends,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::Denied => "denied",
            Decision::Depends => "depends",
        }
    }
    pub(super) fn of(t: &Tri) -> Decision {
        match t {
            Tri::Yes => Decision::Allowed,
            Tri::No => Decision::Denied,
            Tri::Depends(_) => Decision::Depends,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Identity,
    Bucket,
    Key,
    Ownership,
    PublicAccessBlock,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Identity => "identity",
            Side::Bucket => "bucket",
            Side::Key => "key",
            Side::Ownership => "ownership",
            Side::PublicAccessBlock => "public_access_block",
        }
    }
}

/// A statement that decided a side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deciding {
    pub sid: Option<String>,
    pub effect: Effect,
    pub policy: String,
    pub source: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideReport {
    pub side: Side,
    pub decision: Decision,
    pub statements: Vec<Deciding>,
    /// Why, in a few words, when no statement says it (`no statement allows`).
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub decision: Decision,
    pub sides: Vec<SideReport>,
    pub missing_context: Vec<String>,
    /// The rule that combined the sides (same account, or across accounts).
    pub rule: String,
    /// What could still deny an `allowed`/`depends` that s3ward does not evaluate.
    pub not_evaluated: Vec<String>,
}
