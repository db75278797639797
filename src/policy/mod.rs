//! IAM policy documents: parse (any valid form, URL-encoded or not), canonical form and
//! equality by meaning, a statement-level diff, pretty JSON for display, and lints.
//!
//! Pure: nothing here touches the network or the plan file.

pub mod canonical;
pub mod diff;
pub mod document;
pub mod lint;
pub mod strict_json;

#[cfg(test)]
mod proptests;

pub use canonical::{CanonicalPolicy, equivalent, pretty};
pub use diff::{PolicyDiff, StatementChange};
pub use document::{Condition, Effect, ParseError, PolicyDocument, Principal, Statement};
