//! Expectations (`[[buckets.KEY.expect]]`): what a principal must and must not be able to do
//! on a bucket, written down in the plan file and checked by `validate` (against the
//! documents the plan file writes) and by `plan`/`drift` (against what AWS holds).
//! Plain data; `access::expect` evaluates them.

use std::ops::Range;

use super::Access;

/// One `[[buckets.KEY.expect]]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// The bucket's key, and the entry's index among its expectations (`expect[N]`).
    pub bucket: String,
    pub index: usize,
    /// As a grant's `to`: `role.KEY`, `principal.KEY`, `account.KEY` or an IAM ARN.
    pub who: String,
    pub can: Vec<Want>,
    pub cannot: Vec<Want>,
    /// A key prefix (`Mistral-7B-v0.1/`); `None`: the whole bucket.
    pub prefix: Option<String>,
    /// Where the entry is in the plan file.
    pub span: Option<Range<usize>>,
}

/// An access level or one action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Want {
    Level(Access),
    Action(String),
}

impl Want {
    pub fn parse(s: &str) -> Option<Want> {
        if let Some(a) = Access::parse(s) {
            return Some(Want::Level(a));
        }
        let (service, action) = s.split_once(':')?;
        (!service.is_empty() && !action.is_empty() && !action.contains(':'))
            .then(|| Want::Action(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Want::Level(a) => a.as_str(),
            Want::Action(s) => s,
        }
    }
}
