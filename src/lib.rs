//! s3ward keeps S3 access for ML model storage exactly as a reviewed TOML plan file says.
//!
//! The pipeline:
//!
//! ```text
//! plan file ──plan_file──▶ Desired ─┐
//!                                   ├─ diff ─▶ ChangeSet ─┬─ render
//! AWS ──live (concurrent)──▶ Live ──┘                     └─ apply ─▶ AWS
//! ```
//!
//! Only `aws`, `live` and `apply` talk to AWS; everything else is pure.

pub mod app;
pub mod apply;
pub mod aws;
pub mod change;
pub mod check;
pub mod cli;
pub mod desired;
pub mod diff;
pub mod error;
pub mod import;
pub mod live;
pub mod logging;
pub mod names;
pub mod plan_file;
pub mod policy;
pub mod render;
pub mod rules;
pub mod saved;
pub mod settings;
pub mod state;
