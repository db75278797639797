//! The plan file: TOML in, [`Desired`](crate::desired::Desired) out, or every problem with
//! its line and column.
//!
//! Two stages, as ripgrep parses flags: [`raw`] checks shape (serde, unknown keys refused),
//! [`resolve`] checks meaning (references, limits, safety) and builds the resolved model.

pub mod diagnostic;
pub mod raw;
pub mod resolve;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use diagnostic::{Diagnostic, Report, Severity};
pub use resolve::{Loaded, Options};

use crate::error::Error;

/// Reads and resolves a plan file.
pub fn load(path: &Path, options: Options) -> Result<Loaded, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::ReadPlan {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| Error::PlanNotUtf8 {
        path: path.to_path_buf(),
    })?;
    parse(path, &text, options)
}

/// Resolves plan-file text (for tests and saved plans, which carry the text).
pub fn parse(path: &Path, text: &str, options: Options) -> Result<Loaded, Error> {
    resolve::resolve(path, text, options).map_err(|report| Error::InvalidPlan(Box::new(report)))
}
