//! `--format json`: the change set as documented in `docs/json-format.md`
//! (`format_version: 1`; the schema only grows within a version).
//!
//! Renders what it is given and computes nothing. Every change carries its drift kind; this
//! module decides where it is printed: in drift reports, never in plans (SPEC).

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

use crate::applied::{APPLIED_TAG, DriftKind};
use crate::change::{
    Action, Address, ChangeSet, NotManaged, Problem, Summary, UnverifiedPrincipal,
};
use crate::policy::StatementChange;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct PlanFileRef<'a> {
    pub path: String,
    pub name: &'a str,
    pub sha256: &'a str,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    address: &'a Address,
    action: Action,
    before: &'a Option<Value>,
    after: &'a Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<DriftKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    statements: Option<&'a [StatementChange]>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
}

#[derive(Serialize)]
struct JsonPlan<'a> {
    format_version: u32,
    s3ward_version: &'static str,
    plan_file: PlanFileRef<'a>,
    summary: Summary,
    changes: Vec<JsonChange<'a>>,
    warnings: &'a [Problem],
    problems: &'a [Problem],
    /// Principals named in accounts s3ward could not read.
    not_verified: &'a [UnverifiedPrincipal],
    /// Expectations the live state does not meet (`bucket.KEY.expect[N]`).
    #[serde(skip_serializing_if = "<[Problem]>::is_empty")]
    expectations: &'a [Problem],
    /// The `s3ward:applied` records apply writes (see `render::record_notes`).
    records: Vec<JsonRecord>,
    /// Live settings that grant access beyond the plan file.
    not_managed: &'a [NotManaged],
}

/// One `s3ward:applied` record apply writes: not a change, s3ward's own bookkeeping.
#[derive(Serialize)]
struct JsonRecord {
    resource: String,
    tag: &'static str,
    value: String,
}

fn json_records(cs: &ChangeSet) -> Vec<JsonRecord> {
    super::records_written(cs)
        .map(|(r, record)| JsonRecord {
            resource: r.to_string(),
            tag: APPLIED_TAG,
            value: record.tag_value(),
        })
        .collect()
}

/// Whether a change's `kind` is printed: a plan leaves it out, a drift report gives it
/// (SPEC: JSON has `kind` for drift only).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kinds {
    Hidden,
    Shown,
}

/// The change list as JSON values (with their kinds), for embedding in other reports (drift).
pub fn changes_value(cs: &ChangeSet) -> Value {
    serde_json::to_value(json_changes(cs, Kinds::Shown)).expect("serialisable")
}

fn json_changes(cs: &ChangeSet, kinds: Kinds) -> Vec<JsonChange<'_>> {
    cs.changes
        .iter()
        .map(|c| JsonChange {
            address: &c.address,
            action: c.action,
            before: &c.before,
            after: &c.after,
            reason: &c.reason,
            kind: (kinds == Kinds::Shown).then_some(c.kind),
            statements: c.policy_diff.as_ref().map(|d| d.changes.as_slice()),
            notes: &c.notes,
        })
        .collect()
}

pub fn write_plan(w: &mut dyn Write, cs: &ChangeSet, plan_file: PlanFileRef<'_>) -> io::Result<()> {
    let doc = JsonPlan {
        format_version: FORMAT_VERSION,
        s3ward_version: env!("CARGO_PKG_VERSION"),
        plan_file,
        summary: cs.summary(),
        changes: json_changes(cs, Kinds::Hidden),
        warnings: &cs.warnings,
        problems: &cs.problems,
        not_verified: &cs.unverified_principals,
        expectations: &cs.expectations,
        records: json_records(cs),
        not_managed: &cs.not_managed,
    };
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}

/// What a drift report says besides the changes.
pub struct DriftContext<'a> {
    pub plan_file: PlanFileRef<'a>,
    /// (key, id) of every account read.
    pub accounts: Vec<(String, String)>,
    /// RFC 3339, UTC.
    pub generated_at: String,
}

#[derive(Serialize)]
struct JsonAccount {
    key: String,
    id: String,
}

#[derive(Serialize)]
struct DriftSummary {
    drift: usize,
    pending: usize,
}

#[derive(Serialize)]
struct JsonDrift<'a> {
    format_version: u32,
    s3ward_version: &'static str,
    generated_at: String,
    plan_file: PlanFileRef<'a>,
    accounts: Vec<JsonAccount>,
    in_sync: bool,
    summary: DriftSummary,
    differences: Vec<JsonChange<'a>>,
    warnings: &'a [Problem],
    problems: &'a [Problem],
    /// Principals named in accounts s3ward could not read.
    not_verified: &'a [UnverifiedPrincipal],
    /// Expectations the live state does not meet (`bucket.KEY.expect[N]`).
    #[serde(skip_serializing_if = "<[Problem]>::is_empty")]
    expectations: &'a [Problem],
    /// Live settings that grant access beyond the plan file; `in_sync` does not count them.
    not_managed: &'a [NotManaged],
}

pub fn write_drift(w: &mut dyn Write, cs: &ChangeSet, ctx: DriftContext<'_>) -> io::Result<()> {
    let differences = json_changes(cs, Kinds::Shown);
    let drift = cs
        .changes
        .iter()
        .filter(|c| c.kind == DriftKind::Drift)
        .count();
    let doc = JsonDrift {
        format_version: FORMAT_VERSION,
        s3ward_version: env!("CARGO_PKG_VERSION"),
        generated_at: ctx.generated_at,
        plan_file: ctx.plan_file,
        accounts: ctx
            .accounts
            .into_iter()
            .map(|(key, id)| JsonAccount { key, id })
            .collect(),
        in_sync: cs.changes.is_empty() && cs.expectations.is_empty(),
        summary: DriftSummary {
            drift,
            pending: cs.changes.len() - drift,
        },
        differences,
        warnings: &cs.warnings,
        problems: &cs.problems,
        not_verified: &cs.unverified_principals,
        expectations: &cs.expectations,
        not_managed: &cs.not_managed,
    };
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}
