//! Renderers: everything s3ward says, laid out for a reader, written to any `impl Write`.
//!
//! One [`ChangeSet`](crate::change::ChangeSet), three outputs ([`text`], [`markdown`],
//! [`json`]); the body of a change (its lines of diff) is built here once and shared by text
//! and markdown, so both say the same thing. Beside them: the apply report
//! ([`apply_report`]), the check report ([`check`]), the import summary ([`import`]), and
//! errors in uv's style ([`error`]). [`style`] is the one place that paints (colour, labels),
//! counts (`plural`) and quotes (backticks).
//!
//! Renderers are pure: plain data in, text out. They never read AWS, the clock or the
//! environment (the caller decides colour and passes timestamps), and never choose an exit
//! code.

pub mod apply_report;
pub mod check;
pub mod check_local;
pub mod error;
pub mod import;
pub mod json;
pub mod k8s;
pub mod markdown;
pub mod permissions;
pub mod style;
pub mod text;
pub mod why;

use serde_json::Value;

use self::style::plural;
use crate::applied::APPLIED_TAG;
use crate::change::{Action, Address, Change};
use crate::policy::StatementChange;
use crate::policy::diff::unified;

/// A line of a change's body, with the sign that colours it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub sign: Sign,
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    Add,
    Remove,
    Change,
    Context,
}

impl Sign {
    pub fn char(self) -> char {
        match self {
            Sign::Add => '+',
            Sign::Remove => '-',
            Sign::Change => '~',
            Sign::Context => ' ',
        }
    }
}

fn line(sign: Sign, text: impl Into<String>) -> Line {
    Line {
        sign,
        text: text.into(),
    }
}

/// The `s3ward:applied` records apply writes: none while the change set has problems (then
/// apply writes nothing at all).
pub fn records_written(
    cs: &crate::change::ChangeSet,
) -> impl Iterator<Item = (&crate::change::Resource, &crate::applied::AppliedRecord)> {
    cs.applied.iter().filter(|_| cs.problems.is_empty())
}

/// The one-line notes of the `s3ward:applied` records apply writes, one per resource:
/// `bucket.models: records the applied state (tag s3ward:applied)`. Not a diff: the record is
/// s3ward's bookkeeping (see `applied`), but nothing apply writes is left unsaid.
pub fn record_notes(cs: &crate::change::ChangeSet) -> Vec<String> {
    records_written(cs)
        .map(|(r, _)| format!("{r}: records the applied state (tag {APPLIED_TAG})"))
        .collect()
}

/// The sentence above the record notes when they are all apply would write: the summary
/// line still says `No changes.` (nothing about access changes), so this says what remains.
pub fn records_only_line(n: usize) -> String {
    format!(
        "No changes to access. `apply` would only record the applied state of {n} resource{} (tag {APPLIED_TAG}):",
        plural(n)
    )
}

/// The heading of the "Not managed" section (text and markdown).
pub const NOT_MANAGED_HEADING: &str =
    "Not managed: live settings that grant access beyond the plan file (s3ward leaves them alone)";

/// One line of the "Not managed" section, without its bullet: `role.reader: managed policy
/// `ARN` is attached; to manage it, declare `managed_policies` in [roles.reader]`.
pub fn not_managed_line(n: &crate::change::NotManaged) -> String {
    use crate::change::{NotManagedKind, Resource};
    let what = match n.kind {
        NotManagedKind::ManagedPolicy => format!("managed policy `{}` is attached", n.name),
        NotManagedKind::InlinePolicy => format!("inline policy `{}` allows access", n.name),
        NotManagedKind::BucketPolicyStatement => {
            let name = if n.name.starts_with('[') {
                format!("statement {}", n.name)
            } else {
                format!("statement \"{}\"", n.name)
            };
            match &n.detail {
                Some(d) => format!("policy {name} allows {d}"),
                None => format!("policy {name} allows access"),
            }
        }
    };
    let table = match &n.resource {
        Resource::Bucket(k) => format!("[buckets.{k}]"),
        Resource::Role(k) => format!("[roles.{k}]"),
        Resource::Key(k) => format!("[keys.{k}]"),
    };
    format!(
        "{}: {what}; to manage it, declare `{}` in {table}",
        n.resource, n.key
    )
}

/// `bucket.models.policy will be updated`.
pub fn headline(c: &Change) -> String {
    format!("{} will be {}", c.address, c.action.past())
}

/// A short description for tables: `update: 1 statement changed, 2 added`.
pub fn short_description(c: &Change) -> String {
    let action = match c.action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
    };
    match &c.policy_diff {
        Some(d) if !d.is_empty() && c.action == Action::Update => {
            let (mut added, mut removed, mut changed) = (0, 0, 0);
            for s in &d.changes {
                match s {
                    StatementChange::Added { .. } => added += 1,
                    StatementChange::Removed { .. } => removed += 1,
                    StatementChange::Changed { .. } => changed += 1,
                }
            }
            let mut parts = Vec::new();
            if changed > 0 {
                parts.push(format!("{changed} statement{} changed", plural(changed)));
            }
            if added > 0 {
                parts.push(format!("{added} added"));
            }
            if removed > 0 {
                parts.push(format!("{removed} removed"));
            }
            format!("{action}: {}", parts.join(", "))
        }
        _ => action.to_string(),
    }
}

/// The lines under a change's headline.
pub fn body(c: &Change) -> Vec<Line> {
    let mut out = Vec::new();
    if let Some(d) = &c.policy_diff {
        policy_lines(d, c.action, &mut out);
    } else {
        value_lines(c, &mut out);
    }
    for n in &c.notes {
        out.push(line(Sign::Context, format!("# {n}")));
    }
    out
}

fn policy_lines(d: &crate::policy::PolicyDiff, action: Action, out: &mut Vec<Line>) {
    if let Some((b, a)) = &d.version {
        out.push(line(Sign::Change, format!("Version: \"{b}\" -> \"{a}\"")));
    }
    if d.unchanged > 0 && action != Action::Delete {
        out.push(line(
            Sign::Context,
            format!(
                "({} statement{} unchanged, not shown)",
                d.unchanged,
                plural(d.unchanged)
            ),
        ));
    }
    for s in &d.changes {
        match s {
            StatementChange::Added { sid, after } => {
                out.push(line(
                    Sign::Add,
                    format!("statement {}", sid_label(sid.as_deref())),
                ));
                json_block(after, Sign::Add, out);
            }
            StatementChange::Removed { sid, before } => {
                out.push(line(
                    Sign::Remove,
                    format!("statement {}", sid_label(sid.as_deref())),
                ));
                json_block(before, Sign::Remove, out);
            }
            StatementChange::Changed { sid, before, after } => {
                out.push(line(
                    Sign::Change,
                    format!("statement {}", sid_label(Some(sid))),
                ));
                for l in unified(before, after).lines() {
                    let (sign, rest) = match l.split_at(1) {
                        ("+", r) => (Sign::Add, r),
                        ("-", r) => (Sign::Remove, r),
                        (_, r) => (Sign::Context, r),
                    };
                    out.push(line(sign, format!("    {rest}")));
                }
            }
        }
    }
}

fn sid_label(sid: Option<&str>) -> String {
    match sid {
        Some(s) => format!("\"{s}\""),
        None => "(no Sid)".into(),
    }
}

fn json_block(v: &Value, sign: Sign, out: &mut Vec<Line>) {
    let text = serde_json::to_string_pretty(v).expect("a Value serialises");
    for l in text.lines() {
        out.push(line(sign, format!("    {l}")));
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => serde_json::to_string(other).expect("a Value serialises"),
    }
}

/// Non-policy values: scalars as `a -> b`, objects key by key.
fn value_lines(c: &Change, out: &mut Vec<Line>) {
    match (&c.before, &c.after) {
        (None, Some(Value::Object(a))) => {
            for (k, v) in a {
                object_entry(Sign::Add, k, v, out);
            }
        }
        (Some(Value::Object(b)), None) => {
            for (k, v) in b {
                object_entry(Sign::Remove, k, v, out);
            }
        }
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            for (k, av) in a {
                match b.get(k) {
                    None => object_entry(Sign::Add, k, av, out),
                    Some(bv) if bv != av => out.push(line(
                        Sign::Change,
                        format!("{k}: {} -> {}", scalar(bv), scalar(av)),
                    )),
                    Some(_) => {}
                }
            }
            for (k, bv) in b {
                if !a.contains_key(k) {
                    object_entry(Sign::Remove, k, bv, out);
                }
            }
        }
        (None, Some(a)) => out.push(line(Sign::Add, scalar(a))),
        (Some(b), None) => out.push(line(Sign::Remove, scalar(b))),
        (Some(b), Some(a)) => {
            if matches!(c.address, Address::BucketAcl(_)) {
                // The result in words. Listing every live grant as removed would show the
                // owner's own FULL_CONTROL going away, which reads as the owner losing
                // access; the grants to others that go are the change's notes.
                out.push(line(
                    Sign::Change,
                    format!("grants to others -> {}", acl_result(a)),
                ));
            } else if b.is_array() {
                for g in b.as_array().into_iter().flatten() {
                    out.push(line(Sign::Remove, compact(g)));
                }
                out.push(line(Sign::Add, scalar(a)));
            } else {
                out.push(line(
                    Sign::Change,
                    format!("{} -> {}", scalar(b), scalar(a)),
                ));
            }
        }
        (None, None) => {}
    }
}

fn object_entry(sign: Sign, k: &str, v: &Value, out: &mut Vec<Line>) {
    match v {
        Value::Object(m) if !m.is_empty() && k != "tags" => {
            // Nested documents (a trust policy) as an indented block.
            out.push(line(sign, format!("{k}:")));
            json_block(v, sign, out);
        }
        _ => out.push(line(sign, format!("{k}: {}", compact(v)))),
    }
}

/// What an ACL becomes, in words.
fn acl_result(after: &Value) -> String {
    match after.as_str() {
        Some("private") => {
            "owner only (`private`): the bucket owner keeps FULL_CONTROL, and the ACL grants \
             nothing to anyone else"
                .into()
        }
        _ => scalar(after),
    }
}

fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => serde_json::to_string(other).expect("a Value serialises"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Write;
    use serde_json::json;

    /// The owner's own grant is not shown as removed: the result is said in words, and the
    /// grants to others that go are the notes.
    #[test]
    fn an_acl_reset_says_owner_only_without_removing_the_owner() {
        let mut c = Change::new(
            Address::BucketAcl("models".into()),
            Action::Update,
            Write::ResetBucketAcl {
                bucket: "acme-models".into(),
            },
        );
        c.before = Some(json!([
            {"grantee": "CanonicalUser:owner-id", "permission": "FULL_CONTROL"},
            {"grantee": "CanonicalUser:someone-else", "permission": "READ"},
        ]));
        c.after = Some(json!("private"));
        c.notes = vec!["access that will be removed: READ for CanonicalUser:someone-else".into()];
        let text: Vec<String> = body(&c)
            .into_iter()
            .map(|l| format!("{} {}", l.sign.char(), l.text))
            .collect();
        insta::assert_snapshot!(text.join("\n"));
    }
}
