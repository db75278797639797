//! s3ward keeps S3 access for ML model storage exactly as a reviewed TOML plan file says.
//!
//! The pipeline (`docs/architecture.md` draws it whole and says what each folder owns):
//!
//! ```text
//! argv ──cli──▶ settings ──▶ app (orchestration)
//!
//! plan file ──plan_file──▶ Desired ─┐
//!                                   ├─ diff (pure) ─▶ ChangeSet ─┬─ render (text, markdown, json)
//! AWS ──live (reads, concurrent)──▶ state ─┘                     └─ apply (graph → executor → writes) ─▶ AWS
//! ```
//!
//! Only the AWS door (`aws`), the reads (`live`, `check::read`), the writes and the lock
//! (`apply::writes`, `apply::lock`) import the AWS SDK; everything between the two AWS edges
//! is pure data and pure functions.

/// Access evaluation (`why`, expectations): AWS's policy evaluation logic for S3, pure.
pub mod access;
/// The commands: orchestration only (connect, read, diff, show, confirm, apply, report).
pub mod app;
/// The `s3ward:applied` record: digests per setting, its tag, drift versus pending.
pub mod applied;
/// Carry out a change set in an order AWS accepts: graph, executor, writes, lock, safety.
pub mod apply;
/// The one door to AWS: clients, the call wrapper (permits, retries, counts), `AwsError`.
pub mod aws;
/// The change set: `Address`, `Action`, `Change`, `Write` — what plan found, apply does.
pub mod change;
/// `s3ward check`: model directories complete, objects owned by the bucket owner.
pub mod check;
/// clap's definitions of the command line; nothing else sees clap but `settings`.
pub mod cli;
/// What the plan file asks for, resolved, with the documents s3ward will write.
pub mod desired;
/// Desired × state → ChangeSet, with drift classification. Pure.
pub mod diff;
/// Errors that end a command: their words, hints and exit codes, in one place.
pub mod error;
/// `s3ward import`: live resources in, a plan file that plans `No changes.` out.
pub mod import;
/// `s3ward k8s`: the ServiceAccount, PersistentVolume and claim of each workload. Pure.
pub mod k8s;
/// Reading AWS: exactly the managed settings, concurrently, into `state`.
pub mod live;
/// Logging to stderr (`-v`, `RUST_LOG`), with access key ids masked.
pub mod logging;
/// AWS naming rules: account ids, regions, bucket and role names, IAM paths, ARNs, tags.
pub mod names;
/// The least-privilege IAM policies a plan file needs (`s3ward permissions`). Pure.
pub mod permissions;
/// The plan file: TOML in, `Desired` out, or every problem with its line and column.
pub mod plan_file;
/// IAM policy documents: parse, canonical form, equality by meaning, diff, lints, self-lockout.
pub mod policy;
/// Renderers of the change set and reports: text, markdown, JSON.
pub mod render;
/// The safety rules (sizes, tags, public, self-lockout), one home for validate/plan/apply.
pub mod rules;
/// Saved plans: write, read, staleness, and the check that they match their plan file.
pub mod saved;
/// The command line, decided: `Cli` → `Settings` + one command's plain settings.
pub mod settings;
/// What was read from AWS, as plain data (no SDK types), and its fingerprints.
pub mod state;
