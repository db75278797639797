//! s3ward's integration tests: one binary (so one build and one link), talking to a local
//! moto server through the real AWS SDK clients. See `docs/testing.md`.

#[path = "../support/mod.rs"]
mod support;

mod apply;
mod check;
mod check_local;
mod distribution;
mod docs;
mod drift;
mod error_messages;
mod import;
mod k8s;
mod kms;
mod permissions;
mod plan;
mod pod_identity;
mod principals;
mod promises;
mod proxy;
mod reliability;
mod strict;
mod validate;
mod why;
mod wiring;
