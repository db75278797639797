//! The plan file: TOML in, [`Desired`](crate::desired::Desired) out, or every problem with
//! its line and column.
//!
//! Two stages, as ripgrep parses flags: [`raw`] checks shape (serde, unknown keys refused),
//! [`resolve`] checks meaning (references, limits, safety) and builds the resolved model.

pub mod diagnostic;
#[cfg(test)]
mod key_access_tests;
#[cfg(test)]
mod kms_tests;
pub mod raw;
#[cfg(test)]
mod reference_tests;
pub mod resolve;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod workload_tests;

use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, Report, Severity};
pub use resolve::{Loaded, Options};

/// Why a plan file could not be loaded. Plain data: `crate::error` turns it into words (the
/// parser does not depend on the command's error type).
#[derive(Debug)]
pub enum LoadError {
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    NotUtf8 {
        path: PathBuf,
    },
    Invalid(Box<Report>),
}

/// Reads and resolves a plan file.
pub fn load(path: &Path, options: Options) -> Result<Loaded, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8 {
        path: path.to_path_buf(),
    })?;
    parse(path, &text, options).map_err(LoadError::Invalid)
}

/// Resolves plan-file text (for tests and saved plans, which carry the text). The error is
/// every problem found, with its place.
pub fn parse(path: &Path, text: &str, options: Options) -> Result<Loaded, Box<Report>> {
    resolve::resolve(path, text, options).map_err(Box::new)
}
