//! IAM policy documents: parse (any valid form, URL-encoded or not), canonical form and
//! equality by meaning, a statement-level diff, pretty JSON for display, lints (`lint`: sizes,
//! public statements, deleted identities), and the self-lockout evaluation (`lockout`, against
//! the `identity` that applies).
//!
//! Pure: nothing here touches the network or the plan file, and nothing here words a finding
//! for the user (that is `rules`' job).

pub mod canonical;
pub mod diff;
pub mod document;
pub mod identity;
pub mod lint;
pub mod lockout;
pub mod strict_json;

#[cfg(test)]
mod proptests;

pub use canonical::{CanonicalPolicy, equivalent, pretty};
pub use diff::{PolicyDiff, StatementChange};
pub use document::{Condition, Effect, ParseError, PolicyDocument, Principal, Statement};
pub use identity::Identity;
