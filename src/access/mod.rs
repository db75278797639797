//! Access evaluation: may this principal do this action on this bucket or object? The
//! answer AWS would give, from the documents on every side, three-valued (`allowed`,
//! `denied`, or `depends` on request values s3ward does not know, named).
//!
//! Pure, over [`crate::policy`] documents and plain facts about the bucket (ownership, public
//! access block) and the key; `why` (in `app/why.rs`) and the plan file's expectations feed
//! it, `render/why.rs` words it. The rules implemented, with the AWS pages they come from,
//! are in `docs/access.md`.
//!
//! - [`matching`]: wildcards in actions, resources and ARNs;
//! - [`variables`]: policy variables;
//! - [`conditions`]: every condition operator;
//! - [`request`]: the caller and the request context;
//! - [`statement`]: one statement against one request;
//! - [`report`]: the answer, as plain data;
//! - [`keys`]: the key side of an SSE-KMS bucket, from the plan file or AWS;
//! - [`decide`]: the sides (identity, bucket, key) and the S3 layers (ownership, public
//!   access block) combined into one decision.

pub mod conditions;
pub mod decide;
pub mod expect;
pub mod keys;
pub mod live;
pub mod matching;
pub mod offline;
pub mod report;
pub mod request;
pub mod sources;
pub mod statement;
pub mod variables;

#[cfg(test)]
mod cases;
#[cfg(test)]
mod proptests;

use std::collections::BTreeSet;

pub use decide::{BucketFacts, Evaluation, Identity, KeyFacts, Policy, Sourced, evaluate};
pub use report::{Deciding, Decision, Side, SideReport, Verdict};
pub use request::{Caller, Context, Request};

/// Yes, no, or depends on the values of these condition keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tri {
    Yes,
    No,
    Depends(BTreeSet<String>),
}

impl Tri {
    pub fn of(yes: bool) -> Tri {
        if yes { Tri::Yes } else { Tri::No }
    }

    pub fn depends(key: impl Into<String>) -> Tri {
        Tri::Depends(BTreeSet::from([key.into()]))
    }

    pub fn negate(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            d => d,
        }
    }

    /// Yes when any is; else depends when any does (on every key); else no.
    pub fn any(items: impl IntoIterator<Item = Tri>) -> Tri {
        let mut keys = BTreeSet::new();
        for t in items {
            match t {
                Tri::Yes => return Tri::Yes,
                Tri::Depends(k) => keys.extend(k),
                Tri::No => {}
            }
        }
        if keys.is_empty() {
            Tri::No
        } else {
            Tri::Depends(keys)
        }
    }

    /// No when any is; else depends when any does; else yes.
    pub fn all(items: impl IntoIterator<Item = Tri>) -> Tri {
        Tri::any(items.into_iter().map(Tri::negate)).negate()
    }
}
