//! Desired × Live → ChangeSet. Pure: no AWS, no I/O.
//!
//! For every managed setting of every resource read, compare what the plan file asks for
//! with what AWS has, by meaning (policies through `policy::canonical`), and emit at most one
//! [`Change`] per address with the exact [`Write`] apply will send. Also computes the
//! `s3ward:applied` digests (see [`digests`]) that `drift` uses to tell drift from pending
//! changes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::change::{Action, Address, AppliedRecord, Change, ChangeSet, DriftKind, Problem, Write};
use crate::desired::{
    APPLIED_TAG, AclMode, Bucket, Desired, GRANTS_POLICY_NAME, Mode, ObjectOwnership, PolicyMode,
    Role,
};
use crate::live::{Live, LiveBucket, LiveDocument, LiveRole, Setting};
use crate::policy::canonical::{CanonicalStatement, display_document, has_policy_variable};
use crate::policy::diff::diff as policy_diff;
use crate::policy::lint::{self, Identity};
use crate::policy::{PolicyDocument, Statement};
use crate::rules::{self, Stage};

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
            diff_role(desired, role, lr, &mut cs);
        }
    }
    for (key, lb) in &live.buckets {
        if let Some(bucket) = desired.buckets.get(key) {
            diff_bucket(desired, bucket, lb, ctx, &mut cs);
        }
    }
    own_role_changes(desired, ctx, &mut cs);
    cs.sort();
    cs
}

fn problem(address: impl ToString, f: rules::Finding) -> Problem {
    Problem {
        address: address.to_string(),
        message: f.message,
        hint: f.hint,
    }
}

/// Changes to the trust or policies of a role s3ward runs as are problems (SPEC item 7).
fn own_role_changes(desired: &Desired, ctx: &Context, cs: &mut ChangeSet) {
    let mut found = Vec::new();
    for c in &cs.changes {
        let crate::change::Resource::Role(key) = c.address.resource() else {
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
            found.push(problem(&c.address, f));
        }
    }
    cs.problems.extend(found);
}

/// More than AWS's 50 tags once s3ward's are merged into the live ones is a problem when
/// s3ward is going to tag the resource (a tag change, or its `s3ward:applied` record).
fn tag_count(
    cs: &mut ChangeSet,
    resource: &str,
    address: Address,
    what: String,
    live: &BTreeMap<String, String>,
    written: &BTreeMap<String, String>,
) {
    let writes =
        cs.applied.contains_key(resource) || cs.changes.iter().any(|c| c.address == address);
    if !writes {
        return;
    }
    let mut keys: BTreeSet<&str> = live.keys().map(String::as_str).collect();
    keys.extend(written.keys().map(String::as_str));
    keys.insert(APPLIED_TAG);
    if let Some(f) = rules::tag_count(&what, keys.len(), live.len()) {
        cs.problems.push(problem(address, f));
    }
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
    Change {
        address,
        action,
        before: None,
        after: None,
        reason: None,
        policy_diff: None,
        notes: Vec::new(),
        kind: None,
        write,
    }
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
// Buckets

fn diff_bucket(desired: &Desired, b: &Bucket, lb: &LiveBucket, ctx: &Context, cs: &mut ChangeSet) {
    let key = &b.key;
    let region = ctx
        .regions
        .get(key)
        .cloned()
        .or_else(|| b.region.clone())
        .unwrap_or_else(|| crate::aws::FALLBACK_REGION.to_string());
    let resource = format!("bucket.{key}");

    if !lb.exists {
        if !b.create {
            cs.problems.push(Problem {
                address: resource,
                message: format!(
                    "bucket `{}` does not exist, and the plan file says `create = false`",
                    b.name
                ),
                hint: Some("create it by hand, or remove `create = false`".into()),
            });
            return;
        }
        let mut c = change(
            Address::Bucket(key.clone()),
            Action::Create,
            Write::CreateBucket {
                bucket: b.name.clone(),
                region: region.clone(),
                ownership: b.ownership,
            },
        );
        let mut after = json!({"name": b.name, "account": b.account_id, "region": region});
        if let Some(o) = b.ownership {
            after["object_ownership"] = json!(o.as_str());
        }
        c.after = Some(after);
        cs.changes.push(c);
        if let Some(doc) = b.policy_document() {
            self_lockout_findings(b, ctx, cs);
            cs.changes.push(created_policy(
                Address::BucketPolicy(key.clone()),
                Write::PutBucketPolicy {
                    bucket: b.name.clone(),
                    policy: doc.to_json(),
                    merge: b.merge_prefix(),
                },
                &doc,
            ));
        }
        if let Some(pab) = b.public_access_block {
            cs.changes.push(created(
                Address::BucketPublicAccessBlock(key.clone()),
                Write::PutPublicAccessBlock {
                    bucket: b.name.clone(),
                    config: pab,
                },
                json!(pab),
            ));
        }
        // What s3ward creates carries `managed-by` and `s3ward:plan` (SPEC), as roles do.
        let mut tags = created_tags(desired);
        tags.extend(b.tags.clone());
        cs.changes.push(created(
            Address::BucketTags(key.clone()),
            Write::PutBucketTags {
                bucket: b.name.clone(),
                tags: tags.clone(),
            },
            json!(tags),
        ));
        cs.applied.insert(
            resource.clone(),
            record(bucket_digests(b, None), BTreeMap::new()),
        );
        tag_count(
            cs,
            &resource,
            Address::BucketTags(key.clone()),
            format!("bucket `{}`", b.name),
            &BTreeMap::new(),
            &tags,
        );
        return;
    }

    let applied = lb
        .tags
        .present()
        .and_then(|t| t.get(APPLIED_TAG))
        .map(|v| parse_digests(v))
        .unwrap_or_default();
    let live_digests = bucket_digests(b, Some(lb));
    let kind_of = |setting: &str| drift_kind(&applied, &live_digests, setting);
    let start = cs.changes.len();

    // Policy.
    if let Setting::Present(_) | Setting::Absent = &lb.policy {
        bucket_policy(b, lb, cs, &kind_of);
    }
    // ACL: grants to others are access that will be removed.
    if let (AclMode::Private, Setting::Present(acl)) = (b.acl, &lb.acl) {
        let foreign = acl.foreign_grants();
        if !foreign.is_empty() {
            let mut c = change(
                Address::BucketAcl(key.clone()),
                Action::Update,
                Write::ResetBucketAcl {
                    bucket: b.name.clone(),
                },
            );
            c.before = Some(json!(acl.grants));
            c.after = Some(json!("private"));
            c.reason = Some("the bucket ACL grants access to others".into());
            c.notes = foreign
                .iter()
                .map(|g| {
                    format!(
                        "access that will be removed: {} for {}",
                        g.permission, g.grantee
                    )
                })
                .collect();
            c.kind = Some(kind_of("acl"));
            cs.changes.push(c);
        }
    }
    // Ownership.
    if let Some(want) = b.ownership {
        let have = lb.ownership.present().copied();
        if have != Some(want) {
            let action = create_or_update(have.is_some());
            let mut c = change(
                Address::BucketOwnership(key.clone()),
                action,
                Write::PutBucketOwnership {
                    bucket: b.name.clone(),
                    ownership: want,
                },
            );
            c.before = have.map(|o| json!(o.as_str()));
            c.after = Some(json!(want.as_str()));
            if want == ObjectOwnership::BucketOwnerEnforced {
                c.reason = Some(
                    "the bucket will own every object, whoever uploaded it; ACLs stop applying"
                        .into(),
                );
                let acl_blocks =
                    matches!(&lb.acl, Setting::Present(a) if !a.foreign_grants().is_empty());
                if b.acl == AclMode::Unmanaged {
                    // We did not read the ACL; AWS refuses enforcement while it grants others.
                    c.notes.push("`bucket_acl = \"unmanaged\"`: if the bucket ACL grants access to others, AWS refuses BucketOwnerEnforced (InvalidBucketAclWithObjectOwnership)".into());
                } else if acl_blocks {
                    c.notes.push(
                        "applied after the bucket ACL is reset to private, as AWS requires".into(),
                    );
                }
            }
            c.kind = Some(kind_of("ownership"));
            cs.changes.push(c);
        }
    }
    // Public access block.
    if let Some(want) = b.public_access_block {
        let have = lb.public_access_block.present().copied();
        if have != Some(want) {
            let action = create_or_update(have.is_some());
            let mut c = change(
                Address::BucketPublicAccessBlock(key.clone()),
                action,
                Write::PutPublicAccessBlock {
                    bucket: b.name.clone(),
                    config: want,
                },
            );
            c.before = have.map(|p| json!(p));
            c.after = Some(json!(want));
            c.kind = Some(kind_of("public_access_block"));
            cs.changes.push(c);
        }
    }
    // Tags: declared keys only.
    if !b.tags.is_empty() {
        let live_tags = lb.tags.present().cloned().unwrap_or_default();
        let before: BTreeMap<&String, &String> = b
            .tags
            .keys()
            .filter_map(|k| live_tags.get_key_value(k))
            .collect();
        if b.tags.iter().any(|(k, v)| live_tags.get(k) != Some(v)) {
            let action = create_or_update(!before.is_empty());
            let mut c = change(
                Address::BucketTags(key.clone()),
                action,
                Write::PutBucketTags {
                    bucket: b.name.clone(),
                    tags: b.tags.clone(),
                },
            );
            c.before = (!before.is_empty()).then(|| json!(before));
            c.after = Some(json!(b.tags));
            c.kind = Some(kind_of("tags"));
            cs.changes.push(c);
        }
    }
    let want = bucket_digests(b, None);
    if cs.changes.len() > start || !same_digests(&applied, &want) {
        cs.applied.insert(resource.clone(), record(want, applied));
    }
    tag_count(
        cs,
        &resource,
        Address::BucketTags(key.clone()),
        format!("bucket `{}`", b.name),
        &lb.tags.present().cloned().unwrap_or_default(),
        &b.tags,
    );
    self_lockout_at_plan_time(b, ctx, cs);
}

fn bucket_policy(
    b: &Bucket,
    lb: &LiveBucket,
    cs: &mut ChangeSet,
    kind_of: &dyn Fn(&str) -> DriftKind,
) {
    let key = &b.key;
    let addr = Address::BucketPolicy(key.clone());
    let live = lb.policy.present();
    let mut notes = live.map(deleted_identity_notes).unwrap_or_default();
    let desired_doc = b.policy_document();
    // What s3ward owns of the live policy, and what it must keep.
    let (owned_live, foreign): (Option<PolicyDocument>, Vec<Statement>) = match (
        b.policy_mode,
        live,
    ) {
        (_, None) => (None, Vec::new()),
        (PolicyMode::Authoritative, Some(d)) => match &d.doc {
            Ok(doc) => (Some(doc.clone()), Vec::new()),
            Err(e) => {
                // Unparseable: s3ward owns it all, so overwriting it loses nothing managed.
                cs.warnings.push(Problem {
                    address: addr.to_string(),
                    message: format!("the live bucket policy is not a valid policy document: {e}"),
                    hint: Some("s3ward will replace it with the plan file's policy".into()),
                });
                let mut c = change(
                    addr.clone(),
                    if desired_doc.is_some() {
                        Action::Update
                    } else {
                        Action::Delete
                    },
                    match &desired_doc {
                        Some(doc) => Write::PutBucketPolicy {
                            bucket: b.name.clone(),
                            policy: doc.to_json(),
                            merge: b.merge_prefix(),
                        },
                        None => Write::DeleteBucketPolicy {
                            bucket: b.name.clone(),
                            merge: b.merge_prefix(),
                        },
                    },
                );
                c.before = Some(Value::String(d.text.clone()));
                c.after = desired_doc.as_ref().map(doc_value);
                c.kind = Some(kind_of("policy"));
                cs.changes.push(c);
                return;
            }
        },
        (PolicyMode::Merge, Some(d)) => match &d.doc {
            Ok(doc) => {
                let (mine, theirs): (Vec<Statement>, Vec<Statement>) =
                    doc.statements.iter().cloned().partition(|s| b.owns(s));
                let owned = (!mine.is_empty()).then(|| PolicyDocument {
                    version: doc.version.clone(),
                    id: None,
                    statements: mine,
                });
                // Unique ids in statements s3ward does not own are only worth a warning.
                if !notes.is_empty()
                    && owned
                        .as_ref()
                        .is_none_or(|o| lint::deleted_identities(o).is_empty())
                {
                    for n in notes.drain(..) {
                        cs.warnings.push(Problem {
                            address: addr.to_string(),
                            message: n,
                            hint: Some("`policy_mode = \"merge\"`: s3ward leaves statements it does not own alone".into()),
                        });
                    }
                }
                (owned, theirs)
            }
            Err(e) => {
                cs.problems.push(Problem {
                    address: addr.to_string(),
                    message: format!("the live bucket policy is not a valid policy document: {e}"),
                    hint: Some("in `merge` mode s3ward keeps statements it does not own, and cannot find them in this text; fix the policy by hand, or use `policy_mode = \"authoritative\"`".into()),
                });
                return;
            }
        },
    };
    let same = match (&owned_live, &desired_doc) {
        (None, None) => true,
        (Some(a), Some(d)) => crate::policy::equivalent(a, d),
        _ => false,
    };
    if same {
        return;
    }
    // The document to write: the foreign statements (merge mode) plus s3ward's.
    let mut statements = foreign.clone();
    statements.extend(desired_doc.iter().flat_map(|d| d.statements.clone()));
    // The Version to write: 2012-10-17, unless statements kept in merge mode hold `${` under
    // 2008-10-17 (which reads it as text): then theirs, since rewriting it would turn their
    // text into policy variables. s3ward's own statements with `${` need 2012-10-17; both at
    // once cannot be written as one document.
    let old_foreign = live.and_then(|l| l.doc.as_ref().ok()).filter(|d| {
        d.version.as_deref() != Some("2012-10-17") && foreign.iter().any(has_policy_variable)
    });
    if let Some(live_doc) = old_foreign
        && desired_doc
            .iter()
            .flat_map(|d| &d.statements)
            .any(has_policy_variable)
    {
        cs.problems.push(Problem {
            address: addr.to_string(),
            message: format!(
                "the live bucket policy's `Version` is `{}` and statements s3ward does not own hold `${{…}}`, which that version reads as text; the plan file's statements hold `${{…}}` as policy variables, which need `2012-10-17`",
                live_doc.version.as_deref().unwrap_or("2008-10-17")
            ),
            hint: Some("move the other statements to `2012-10-17` (writing a literal `${` as `${$}{`), then plan again".into()),
        });
        return;
    }
    let write = if statements.is_empty() {
        Write::DeleteBucketPolicy {
            bucket: b.name.clone(),
            merge: b.merge_prefix(),
        }
    } else {
        let version = match old_foreign {
            Some(d) => d.version.clone(),
            None => Some("2012-10-17".into()),
        };
        Write::PutBucketPolicy {
            bucket: b.name.clone(),
            policy: PolicyDocument {
                version,
                id: None,
                statements,
            }
            .to_json(),
            merge: b.merge_prefix(),
        }
    };
    let action = match (&owned_live, &desired_doc) {
        (None, Some(_)) => Action::Create,
        (Some(_), None) => Action::Delete,
        _ => Action::Update,
    };
    // When the whole live policy is going away in merge mode it's a delete of our part only.
    let action = if action == Action::Create && live.is_some() {
        Action::Update
    } else {
        action
    };
    let mut c = change(addr, action, write);
    c.before = owned_live.as_ref().map(doc_value);
    c.after = desired_doc.as_ref().map(doc_value);
    c.policy_diff = Some(policy_diff(owned_live.as_ref(), desired_doc.as_ref()));
    if b.policy_mode == PolicyMode::Merge && !foreign.is_empty() {
        c.reason = Some(if foreign.len() == 1 {
            "`policy_mode = \"merge\"`: 1 statement not owned by s3ward is kept as it is"
                .to_string()
        } else {
            format!(
                "`policy_mode = \"merge\"`: {} statements not owned by s3ward are kept as they are",
                foreign.len()
            )
        });
    }
    c.notes = notes;
    c.kind = Some(kind_of("policy"));
    cs.changes.push(c);
}

/// Re-runs the self-lockout check with the identity that will apply, when the plan writes the
/// bucket policy (a policy already in place is not made worse by leaving it).
fn self_lockout_at_plan_time(b: &Bucket, ctx: &Context, cs: &mut ChangeSet) {
    let writes = cs.changes.iter().any(|c| {
        c.address == Address::BucketPolicy(b.key.clone())
            && matches!(c.write, Write::PutBucketPolicy { .. })
    });
    if writes {
        self_lockout_findings(b, ctx, cs);
    }
}

fn self_lockout_findings(b: &Bucket, ctx: &Context, cs: &mut ChangeSet) {
    let Some(who) = ctx.identities.get(&b.account) else {
        return;
    };
    let findings = rules::self_lockout(
        &b.policy_statements,
        who,
        &b.name,
        ctx.allow_self_lockout,
        Stage::Connected,
    );
    for f in findings.into_iter().filter(|f| f.refused) {
        cs.problems
            .push(problem(Address::BucketPolicy(b.key.clone()), f));
    }
}

// ------------------------------------------------------------------------------------------
// Roles

fn diff_role(desired: &Desired, r: &Role, lr: &LiveRole, cs: &mut ChangeSet) {
    let key = &r.key;
    let resource = format!("role.{key}");
    if !lr.exists {
        let mut tags = created_tags(desired);
        tags.extend(r.tags.clone());
        let mut c = change(
            Address::Role(key.clone()),
            Action::Create,
            Write::CreateRole {
                name: r.name.clone(),
                path: r.path_or_default().to_string(),
                description: r.description.clone(),
                max_session_duration: r.max_session_duration,
                trust: r.trust.to_json(),
                tags: tags.clone(),
            },
        );
        let mut after = json!({
            "name": r.name,
            "account": r.account_id,
            "path": r.path_or_default(),
            "arn": r.arn(),
            "tags": tags,
            "trust": doc_value(&r.trust),
        });
        if let Some(d) = &r.description {
            after["description"] = json!(d);
        }
        if let Some(m) = r.max_session_duration {
            after["max_session_duration"] = json!(m);
        }
        c.after = Some(after);
        cs.changes.push(c);
        for (name, doc) in desired_inline(r) {
            cs.changes.push(created_policy(
                Address::RoleInlinePolicy(key.clone(), name.clone()),
                Write::PutRolePolicy {
                    role: r.name.clone(),
                    name: name.clone(),
                    policy: doc.to_json(),
                },
                doc,
            ));
        }
        for arn in r.managed_policies.iter().flatten() {
            cs.changes.push(created(
                Address::RoleManagedPolicy(key.clone(), arn.clone()),
                Write::AttachRolePolicy {
                    role: r.name.clone(),
                    arn: arn.clone(),
                },
                json!(arn),
            ));
        }
        cs.applied.insert(
            resource.clone(),
            record(role_digests(r, None), BTreeMap::new()),
        );
        tag_count(
            cs,
            &resource,
            Address::RoleTags(key.clone()),
            format!("role `{}`", r.name),
            &BTreeMap::new(),
            &tags,
        );
        return;
    }

    let applied = lr
        .tags
        .get(APPLIED_TAG)
        .map(|v| parse_digests(v))
        .unwrap_or_default();
    let live_digests = role_digests(r, Some(lr));
    let kind_of = |setting: &str| drift_kind(&applied, &live_digests, setting);
    let start = cs.changes.len();

    if lr.path != r.path_or_default() && r.path.is_some() {
        cs.warnings.push(Problem {
            address: resource.clone(),
            message: format!(
                "the role's path is `{}` in AWS but `{}` in the plan file",
                lr.path,
                r.path_or_default()
            ),
            hint: Some("IAM cannot change a role's path; s3ward leaves it. Recreate the role by hand to move it".into()),
        });
    }
    // Role settings (description, session length), when declared.
    let desc_differs = r.description.is_some() && r.description != lr.description;
    let max_differs =
        r.max_session_duration.is_some() && r.max_session_duration != lr.max_session_duration;
    if desc_differs || max_differs {
        let mut c = change(
            Address::Role(key.clone()),
            Action::Update,
            Write::UpdateRole {
                name: r.name.clone(),
                description: r.description.clone(),
                max_session_duration: r.max_session_duration,
            },
        );
        let mut before = serde_json::Map::new();
        let mut after = serde_json::Map::new();
        if desc_differs {
            before.insert("description".into(), json!(lr.description));
            after.insert("description".into(), json!(r.description));
        }
        if max_differs {
            before.insert(
                "max_session_duration".into(),
                json!(lr.max_session_duration),
            );
            after.insert("max_session_duration".into(), json!(r.max_session_duration));
        }
        c.before = Some(Value::Object(before));
        c.after = Some(Value::Object(after));
        c.kind = Some(kind_of("role"));
        cs.changes.push(c);
    }
    // Trust.
    if let Some(live_trust) = &lr.trust {
        let same = matches!(&live_trust.doc, Ok(d) if crate::policy::equivalent(d, &r.trust));
        if !same {
            let mut c = change(
                Address::RoleTrust(key.clone()),
                Action::Update,
                Write::UpdateTrust {
                    role: r.name.clone(),
                    policy: r.trust.to_json(),
                },
            );
            c.before = Some(live_doc_value(live_trust));
            c.after = Some(doc_value(&r.trust));
            c.policy_diff = live_trust
                .doc
                .as_ref()
                .ok()
                .map(|d| policy_diff(Some(d), Some(&r.trust)));
            c.notes = deleted_identity_notes(live_trust);
            if let Err(e) = &live_trust.doc {
                c.notes.push(format!(
                    "the live trust policy is not a valid document: {e}"
                ));
            }
            c.kind = Some(kind_of("trust"));
            cs.changes.push(c);
        }
    }
    // Inline policies: the desired ones, then undeclared ones in exclusive mode.
    let want = desired_inline(r);
    for (name, doc) in &want {
        let live_doc = lr.inline.get(name);
        let same =
            matches!(live_doc.map(|d| &d.doc), Some(Ok(d)) if crate::policy::equivalent(d, doc));
        if same {
            continue;
        }
        let mut c = change(
            Address::RoleInlinePolicy(key.clone(), name.clone()),
            create_or_update(live_doc.is_some()),
            Write::PutRolePolicy {
                role: r.name.clone(),
                name: name.clone(),
                policy: doc.to_json(),
            },
        );
        c.before = live_doc.map(live_doc_value);
        c.after = Some(doc_value(doc));
        c.policy_diff = match live_doc.map(|d| &d.doc) {
            None => Some(policy_diff(None, Some(doc))),
            Some(Ok(d)) => Some(policy_diff(Some(d), Some(doc))),
            Some(Err(e)) => {
                c.notes.push(format!(
                    "the live inline policy is not a valid document: {e}"
                ));
                None
            }
        };
        c.kind = Some(kind_of("inline"));
        cs.changes.push(c);
    }
    for (name, live_doc) in &lr.inline {
        if want.contains_key(name) {
            continue;
        }
        // `s3ward-grants` always belongs to s3ward; others only in exclusive mode.
        let ours = name == GRANTS_POLICY_NAME
            || (r.inline_policies.is_some() && r.inline_policies_mode == Mode::Exclusive);
        if !ours {
            continue;
        }
        let mut c = change(
            Address::RoleInlinePolicy(key.clone(), name.clone()),
            Action::Delete,
            Write::DeleteRolePolicy {
                role: r.name.clone(),
                name: name.clone(),
            },
        );
        c.before = Some(live_doc_value(live_doc));
        c.reason = Some(if name == GRANTS_POLICY_NAME {
            "no grant in the plan file names this role any more".into()
        } else {
            "not declared, and `inline_policies_mode` is exclusive".into()
        });
        c.kind = Some(kind_of("inline"));
        cs.changes.push(c);
    }
    inline_size(r, lr, &want, cs);
    // Managed policies.
    if let (Some(declared), Setting::Present(attached)) = (&r.managed_policies, &lr.managed) {
        for arn in declared.difference(attached) {
            let mut c = change(
                Address::RoleManagedPolicy(key.clone(), arn.clone()),
                Action::Create,
                Write::AttachRolePolicy {
                    role: r.name.clone(),
                    arn: arn.clone(),
                },
            );
            c.after = Some(json!(arn));
            c.kind = Some(kind_of("managed"));
            cs.changes.push(c);
        }
        if r.managed_policies_mode == Mode::Exclusive {
            for arn in attached.difference(declared) {
                let mut c = change(
                    Address::RoleManagedPolicy(key.clone(), arn.clone()),
                    Action::Delete,
                    Write::DetachRolePolicy {
                        role: r.name.clone(),
                        arn: arn.clone(),
                    },
                );
                c.before = Some(json!(arn));
                c.reason = Some(
                    "attached but not declared, and `managed_policies_mode` is exclusive".into(),
                );
                c.kind = Some(kind_of("managed"));
                cs.changes.push(c);
            }
        }
    }
    // Tags: declared keys only.
    let differing: BTreeMap<&String, &String> = r
        .tags
        .iter()
        .filter(|(k, v)| lr.tags.get(*k) != Some(*v))
        .collect();
    if !differing.is_empty() {
        let before: BTreeMap<&String, &String> = r
            .tags
            .keys()
            .filter_map(|k| lr.tags.get_key_value(k))
            .collect();
        let mut c = change(
            Address::RoleTags(key.clone()),
            create_or_update(!before.is_empty()),
            Write::TagRole {
                role: r.name.clone(),
                tags: r.tags.clone(),
            },
        );
        c.before = (!before.is_empty()).then(|| json!(before));
        c.after = Some(json!(r.tags));
        c.kind = Some(kind_of("tags"));
        cs.changes.push(c);
    }
    let want = role_digests(r, None);
    if cs.changes.len() > start || !same_digests(&applied, &want) {
        cs.applied.insert(resource.clone(), record(want, applied));
    }
    tag_count(
        cs,
        &resource,
        Address::RoleTags(key.clone()),
        format!("role `{}`", r.name),
        &lr.tags,
        &r.tags,
    );
}

/// IAM's size limit covers all of a role's inline policies: when s3ward writes one, count
/// those it writes and the live ones that stay (undeclared ones that it does not delete).
fn inline_size(
    r: &Role,
    lr: &LiveRole,
    want: &BTreeMap<String, &PolicyDocument>,
    cs: &mut ChangeSet,
) {
    let role_addr = Address::Role(r.key.clone());
    let writes = cs.changes.iter().any(|c| {
        c.address.resource() == role_addr.resource()
            && matches!(c.write, Write::PutRolePolicy { .. })
    });
    if !writes {
        return;
    }
    let written: usize = want.values().map(|d| lint::iam_size(d)).sum();
    let deleted = |name: &str| {
        cs.changes.iter().any(|c| {
            c.address == Address::RoleInlinePolicy(r.key.clone(), name.to_string())
                && matches!(c.write, Write::DeleteRolePolicy { .. })
        })
    };
    let staying: Vec<(String, usize)> = lr
        .inline
        .iter()
        .filter(|(name, _)| !want.contains_key(*name) && !deleted(name))
        .map(|(name, d)| {
            let size = rules::inline_policy_chars(d.doc.as_ref().map_err(|_| d.text.as_str()));
            (name.clone(), size)
        })
        .collect();
    if let Some(f) = rules::inline_policies_size(&r.name, written, &staying) {
        cs.problems.push(problem(role_addr, f));
    }
}

/// The tags s3ward puts on what it creates.
fn created_tags(desired: &Desired) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("managed-by".to_string(), "s3ward".to_string()),
        ("s3ward:plan".to_string(), desired.name.clone()),
    ])
}

/// The inline policies s3ward writes for a role: declared ones and `s3ward-grants`.
fn desired_inline(r: &Role) -> BTreeMap<String, &PolicyDocument> {
    let mut out: BTreeMap<String, &PolicyDocument> = r
        .inline_policies
        .iter()
        .flatten()
        .map(|(n, d)| (n.clone(), d))
        .collect();
    if let Some(g) = &r.grants_policy {
        out.insert(GRANTS_POLICY_NAME.to_string(), g);
    }
    out
}

// ------------------------------------------------------------------------------------------
// Digests for the `s3ward:applied` tag

/// Setting name → short digest. Computed from the desired state (what apply writes) or from
/// the live state, in the same canonical terms, so that the two are equal exactly when the
/// setting is in sync.
pub type Digests = BTreeMap<&'static str, String>;

fn short(input: &str) -> String {
    hex::encode(&Sha256::digest(input.as_bytes())[..4])
}

fn statements_digest(statements: &[Statement]) -> String {
    let set: BTreeSet<CanonicalStatement> = statements.iter().map(CanonicalStatement::of).collect();
    short(&format!("{set:?}"))
}

fn doc_digest(d: Option<&LiveDocument>) -> String {
    match d {
        None => short("absent"),
        Some(d) => match &d.doc {
            Ok(doc) => statements_digest(&doc.statements),
            Err(_) => short(&d.text),
        },
    }
}

/// Digests of a bucket's managed settings: desired (`live = None`) or live.
pub fn bucket_digests(b: &Bucket, live: Option<&LiveBucket>) -> Digests {
    let mut d = Digests::new();
    match live {
        None => {
            d.insert("policy", statements_digest(&b.policy_statements));
            if b.acl == AclMode::Private {
                d.insert("acl", short("private"));
            }
            if let Some(o) = b.ownership {
                d.insert("ownership", short(o.as_str()));
            }
            if let Some(p) = b.public_access_block {
                d.insert("public_access_block", short(&format!("{p:?}")));
            }
            d.insert("tags", short(&format!("{:?}", b.tags)));
        }
        Some(lb) => {
            let owned: Vec<Statement> = match lb.policy.present().map(|p| &p.doc) {
                None => Vec::new(),
                Some(Ok(doc)) => doc
                    .statements
                    .iter()
                    .filter(|s| b.owns(s))
                    .cloned()
                    .collect(),
                Some(Err(_)) => {
                    d.insert("policy", short("unparseable"));
                    Vec::new()
                }
            };
            d.entry("policy")
                .or_insert_with(|| statements_digest(&owned));
            if let Setting::Present(acl) = &lb.acl {
                let v = if acl.foreign_grants().is_empty() {
                    "private".to_string()
                } else {
                    format!("{:?}", acl.grants)
                };
                d.insert("acl", short(&v));
            }
            if b.ownership.is_some() {
                let v = lb.ownership.present().map_or("absent", |o| o.as_str());
                d.insert("ownership", short(v));
            }
            if b.public_access_block.is_some() {
                let v = lb
                    .public_access_block
                    .present()
                    .map_or_else(|| "absent".to_string(), |p| format!("{p:?}"));
                d.insert("public_access_block", short(&v));
            }
            let live_tags = lb.tags.present().cloned().unwrap_or_default();
            let managed: BTreeMap<String, String> = b
                .tags
                .keys()
                .filter_map(|k| live_tags.get(k).map(|v| (k.clone(), v.clone())))
                .collect();
            d.insert("tags", short(&format!("{managed:?}")));
        }
    }
    d
}

/// Digests of a role's managed settings: desired (`live = None`) or live.
pub fn role_digests(r: &Role, live: Option<&LiveRole>) -> Digests {
    let mut d = Digests::new();
    let inline_names = |names: &mut Vec<String>| {
        names.sort();
        names.dedup();
    };
    match live {
        None => {
            d.insert(
                "role",
                short(&format!("{:?} {:?}", r.description, r.max_session_duration)),
            );
            d.insert("trust", statements_digest(&r.trust.statements));
            if let Some(m) = &r.managed_policies {
                d.insert("managed", short(&format!("{m:?}")));
            }
            let parts: Vec<String> = desired_inline(r)
                .iter()
                .map(|(n, doc)| format!("{n}={}", statements_digest(&doc.statements)))
                .collect();
            d.insert("inline", short(&parts.join(";")));
            d.insert("tags", short(&format!("{:?}", r.tags)));
        }
        Some(lr) => {
            let desc = if r.description.is_some() {
                lr.description.clone()
            } else {
                None
            };
            let max = if r.max_session_duration.is_some() {
                lr.max_session_duration
            } else {
                None
            };
            d.insert("role", short(&format!("{desc:?} {max:?}")));
            d.insert("trust", doc_digest(lr.trust.as_ref()));
            if let (Some(declared), Setting::Present(attached)) = (&r.managed_policies, &lr.managed)
            {
                let set: BTreeSet<&String> = match r.managed_policies_mode {
                    Mode::Exclusive => attached.iter().collect(),
                    Mode::Additive => attached.intersection(declared).collect(),
                };
                d.insert("managed", short(&format!("{set:?}")));
            }
            let mut names: Vec<String> = desired_inline(r).keys().cloned().collect();
            // Undeclared ones count only where s3ward owns them (exclusive mode); in additive
            // mode they are read for the size limit, not managed.
            let exclusive =
                r.inline_policies.is_some() && r.inline_policies_mode == Mode::Exclusive;
            if lr.inline_complete && exclusive {
                names.extend(lr.inline.keys().cloned());
            }
            inline_names(&mut names);
            let parts: Vec<String> = names
                .iter()
                .filter_map(|n| {
                    lr.inline
                        .get(n)
                        .map(|doc| format!("{n}={}", doc_digest(Some(doc))))
                })
                .collect();
            d.insert("inline", short(&parts.join(";")));
            let managed: BTreeMap<&String, &String> = r
                .tags
                .keys()
                .filter_map(|k| lr.tags.get_key_value(k))
                .collect();
            d.insert("tags", short(&format!("{managed:?}")));
        }
    }
    d
}

/// `policy=1a2b3c4d tags=...`: fits a tag value (letters, digits, `=`, spaces).
pub fn render_digests(d: &Digests) -> String {
    record(d.clone(), BTreeMap::new()).tag_value()
}

fn record(digests: Digests, previous: BTreeMap<String, String>) -> AppliedRecord {
    AppliedRecord {
        digests: digests
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        previous,
    }
}

/// Whether a resource's current record says exactly what s3ward would record now. When it
/// does not (no tag yet, say after `import`), apply records it even with nothing to change,
/// so that later differences read as drift rather than pending.
fn same_digests(applied: &BTreeMap<String, String>, want: &Digests) -> bool {
    applied.len() == want.len() && want.iter().all(|(k, v)| applied.get(*k) == Some(v))
}

pub fn parse_digests(v: &str) -> BTreeMap<String, String> {
    v.split_whitespace()
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Drift when s3ward applied this setting and AWS no longer has what it applied; pending
/// when AWS still has it (the plan file changed) or s3ward never applied it.
fn drift_kind(applied: &BTreeMap<String, String>, live: &Digests, setting: &str) -> DriftKind {
    match (applied.get(setting), live.get(setting)) {
        (Some(a), Some(l)) if a != l => DriftKind::Drift,
        _ => DriftKind::Pending,
    }
}

#[cfg(test)]
mod tests;
