//! Desired × Live → ChangeSet. Pure: no AWS, no I/O.
//!
//! For every managed setting of every resource read, compare what the plan file asks for
//! with what AWS has, by meaning (policies through `policy::canonical`), and emit at most one
//! [`Change`] per address with the exact [`Write`] apply will send, classified as drift or
//! pending from the resource's `s3ward:applied` record ([`crate::applied`]).
//!
//! One file per resource: `bucket.rs` (with `bucket_policy.rs`, its richest setting) and
//! `role.rs` compare their settings and compute the digests of them that the record holds.
//! This file holds the entry [`diff`], the [`Context`] known once connected, and what every
//! resource shares: building changes, declared tags, closing a resource (drift kinds, its
//! record, the tag limit), and the rule on roles s3ward runs as. It never reads AWS, never
//! prints, and never orders writes (apply's graph does).

mod bucket;
mod bucket_policy;
mod key;
mod not_managed;
mod pod_identity;
mod principals;
mod role;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::applied::{self, APPLIED_TAG, AppliedRecord, Digests, Recorded};
use crate::change::{Action, Address, Change, ChangeSet, Problem, Resource, Write};
use crate::desired::Desired;
use crate::policy::canonical::{CanonicalStatement, display_document};
use crate::policy::diff::diff as policy_diff;
use crate::policy::lint;
use crate::policy::{Identity, PolicyDocument, Statement};
use crate::rules;
use crate::state::{Live, LiveDocument};

pub use bucket::bucket_digests;
pub use key::key_digests;
pub use role::role_digests;

/// Facts known only once connected.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Bucket key → the region its client uses.
    pub regions: BTreeMap<String, String>,
    /// Account key → who applies there (for the self-lockout check).
    pub identities: BTreeMap<String, Identity>,
    pub allow_self_lockout: bool,
}

/// Computes the change set for every resource present in `live`.
pub fn diff(desired: &Desired, live: &Live, ctx: &Context) -> ChangeSet {
    let mut cs = ChangeSet::default();
    for (key, lr) in &live.roles {
        if let Some(role) = desired.roles.get(key) {
            role::diff_role(desired, role, lr, live.pod_identity.get(key), &mut cs);
        }
    }
    for (key, lb) in &live.buckets {
        if let Some(bucket) = desired.buckets.get(key) {
            bucket::diff_bucket(desired, bucket, lb, ctx, &mut cs);
        }
    }
    for (key, lk) in &live.keys {
        if let Some(k) = desired.keys.get(key) {
            key::diff_key(k, lk, ctx, &mut cs);
        }
    }
    key::managed_outside_keys(desired, live, &mut cs);
    own_role_changes(desired, ctx, &mut cs);
    principals::check(desired, live, &mut cs);
    not_managed::list(desired, live, &mut cs);
    cs.sort();
    cs
}

fn problem(address: Address, f: rules::Finding) -> Problem {
    Problem {
        address,
        message: f.message,
        hint: f.hint,
        place: None,
    }
}

/// Changes to the trust or policies of a role s3ward runs as are problems (SPEC item 7).
fn own_role_changes(desired: &Desired, ctx: &Context, cs: &mut ChangeSet) {
    let mut found = Vec::new();
    for c in &cs.changes {
        let Resource::Role(key) = c.address.resource() else {
            continue;
        };
        let (Some(r), Some(who)) = (
            desired.roles.get(&key),
            desired
                .roles
                .get(&key)
                .and_then(|r| ctx.identities.get(&r.account)),
        ) else {
            continue;
        };
        if let Some(f) = rules::own_role_change(
            &c.address,
            &r.account_id,
            &r.name,
            who,
            ctx.allow_self_lockout,
        ) {
            found.push(problem(c.address.clone(), f));
        }
    }
    cs.problems.extend(found);
}

/// The tags s3ward may write on one resource, for AWS's limit on tags per resource.
struct Tagging<'a> {
    /// `bucket.KEY.tags` or `role.KEY.tags`.
    address: Address,
    /// `bucket `NAME`` or `role `NAME``.
    what: String,
    live: &'a BTreeMap<String, String>,
    written: &'a BTreeMap<String, String>,
}

/// Ends the diff of a resource s3ward creates: it is recorded whole, and its tags counted.
fn close_created(cs: &mut ChangeSet, resource: Resource, want: Digests, tags: Tagging<'_>) {
    cs.applied.insert(
        resource.clone(),
        AppliedRecord::new(want, Recorded::default()),
    );
    tag_count(cs, &resource, tags);
}

/// Ends the diff of a resource that exists, whose changes are `cs.changes[start..]`: each
/// change is drift or pending as its record says (`live`: the live digests); the resource is
/// recorded again when it changes or its record is not `want`; its tags are counted.
fn close_existing(
    cs: &mut ChangeSet,
    start: usize,
    resource: Resource,
    (recorded, live): (Recorded, Digests),
    want: Digests,
    tags: Tagging<'_>,
) {
    for c in &mut cs.changes[start..] {
        c.kind = recorded.kind(&live, c.address.setting());
    }
    if cs.changes.len() > start || !recorded.says(&want) {
        cs.applied
            .insert(resource.clone(), AppliedRecord::new(want, recorded));
    }
    tag_count(cs, &resource, tags);
}

/// More than AWS's 50 tags once s3ward's are merged into the live ones is a problem when
/// s3ward is going to tag the resource (a tag change, or its `s3ward:applied` record).
fn tag_count(cs: &mut ChangeSet, resource: &Resource, t: Tagging<'_>) {
    let writes =
        cs.applied.contains_key(resource) || cs.changes.iter().any(|c| c.address == t.address);
    if !writes {
        return;
    }
    let mut keys: BTreeSet<&str> = t.live.keys().map(String::as_str).collect();
    keys.extend(t.written.keys().map(String::as_str));
    keys.insert(APPLIED_TAG);
    if let Some(f) = rules::tag_count(&t.what, keys.len(), t.live.len()) {
        cs.problems.push(problem(t.address, f));
    }
}

/// The change that sets a resource's declared tags, when one differs from `live`. Only the
/// declared keys are s3ward's: `before` shows those present, and others are left alone.
fn declared_tags(
    address: Address,
    declared: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
    write: Write,
) -> Option<Change> {
    if declared.iter().all(|(k, v)| live.get(k) == Some(v)) {
        return None;
    }
    let before: BTreeMap<&String, &String> = declared
        .keys()
        .filter_map(|k| live.get_key_value(k))
        .collect();
    let mut c = change(address, create_or_update(!before.is_empty()), write);
    c.before = (!before.is_empty()).then(|| json!(before));
    c.after = Some(json!(declared));
    Some(c)
}

/// The tags s3ward puts on what it creates, then the declared ones.
fn created_tags(
    desired: &Desired,
    declared: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::from([
        ("managed-by".to_string(), "s3ward".to_string()),
        ("s3ward:plan".to_string(), desired.name.clone()),
    ]);
    tags.extend(declared.clone());
    tags
}

/// A setting that exists is updated; one that does not is created.
fn create_or_update(exists: bool) -> Action {
    if exists {
        Action::Update
    } else {
        Action::Create
    }
}

/// A create of `address` that leaves it as `after`.
fn created(address: Address, write: Write, after: Value) -> Change {
    let mut c = change(address, Action::Create, write);
    c.after = Some(after);
    c
}

/// A create of the policy document `doc` at `address`, shown whole as added lines.
fn created_policy(address: Address, write: Write, doc: &PolicyDocument) -> Change {
    let mut c = created(address, write, doc_value(doc));
    c.policy_diff = Some(policy_diff(None, Some(doc)));
    c
}

fn change(address: Address, action: Action, write: Write) -> Change {
    Change::new(address, action, write)
}

fn doc_value(doc: &PolicyDocument) -> Value {
    display_document(doc).to_value()
}

fn live_doc_value(d: &LiveDocument) -> Value {
    match &d.doc {
        Ok(doc) => doc_value(doc),
        Err(_) => Value::String(d.text.clone()),
    }
}

fn deleted_identity_notes(d: &LiveDocument) -> Vec<String> {
    match &d.doc {
        Ok(doc) => lint::deleted_identities(doc)
            .into_iter()
            .map(|id| {
                format!(
                    "`{id}` is a deleted identity: AWS shows a role's or user's unique id once the identity is deleted; recreating it does not restore this grant"
                )
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

// ------------------------------------------------------------------------------------------
// Digests shared by the resources (see `applied`)

fn statements_digest(statements: &[Statement]) -> String {
    let set: BTreeSet<CanonicalStatement> = statements.iter().map(CanonicalStatement::of).collect();
    applied::digest(&format!("{set:?}"))
}

fn doc_digest(d: Option<&LiveDocument>) -> String {
    match d {
        None => applied::digest("absent"),
        Some(d) => match &d.doc {
            Ok(doc) => statements_digest(&doc.statements),
            Err(_) => applied::digest(&d.text),
        },
    }
}

/// The digest of the declared tags: as declared (`live = None`), or the values AWS has for
/// the declared keys.
fn tags_digest(
    declared: &BTreeMap<String, String>,
    live: Option<&BTreeMap<String, String>>,
) -> String {
    match live {
        None => applied::digest(&format!("{declared:?}")),
        Some(live) => {
            let managed: BTreeMap<&String, &String> = declared
                .keys()
                .filter_map(|k| live.get_key_value(k))
                .collect();
            applied::digest(&format!("{managed:?}"))
        }
    }
}

#[cfg(test)]
mod key_tests;
#[cfg(test)]
mod tests;
