//! The diff of one bucket: its creation, or each managed setting (policy in
//! `bucket_policy.rs`, ACL, object ownership, public access block, declared tags) compared
//! with what AWS has; and the digests of those settings that its `s3ward:applied` record
//! holds, computed in the same terms as the comparison. Pure: no AWS, no output.

use std::collections::BTreeMap;

use serde_json::json;

use super::{
    Context, Tagging, change, close_created, close_existing, create_or_update, created,
    created_policy, created_tags, declared_tags, problem, statements_digest, tags_digest,
};
use crate::applied::{self, APPLIED_TAG, Digests, Recorded};
use crate::change::{Action, Address, Change, ChangeSet, Problem, Resource, Write};
use crate::desired::{AclMode, Bucket, Desired, ObjectOwnership};
use crate::policy::Statement;
use crate::rules::{self, Stage};
use crate::state::{LiveBucket, Setting};

pub(super) fn diff_bucket(
    desired: &Desired,
    b: &Bucket,
    lb: &LiveBucket,
    ctx: &Context,
    cs: &mut ChangeSet,
) {
    let key = &b.key;
    let region = ctx
        .regions
        .get(key)
        .cloned()
        .or_else(|| b.region.clone())
        .unwrap_or_else(|| crate::aws::FALLBACK_REGION.to_string());
    let resource = Resource::Bucket(key.clone());
    let tagging = |live, written| Tagging {
        address: Address::BucketTags(key.clone()),
        what: format!("bucket `{}`", b.name),
        live,
        written,
    };

    if !lb.exists {
        if !b.create {
            cs.problems.push(Problem {
                address: resource.address(),
                message: format!(
                    "bucket `{}` does not exist, and the plan file says `create = false`",
                    b.name
                ),
                hint: Some("create it by hand, or remove `create = false`".into()),
                place: None,
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
        super::key::diff_encryption(b, None, cs);
        // What s3ward creates carries `managed-by` and `s3ward:plan` (SPEC), as roles do.
        let tags = created_tags(desired, &b.tags);
        cs.changes.push(created(
            Address::BucketTags(key.clone()),
            Write::PutBucketTags {
                bucket: b.name.clone(),
                tags: tags.clone(),
            },
            json!(tags),
        ));
        let none = BTreeMap::new();
        close_created(cs, resource, bucket_digests(b, None), tagging(&none, &tags));
        return;
    }

    let recorded = Recorded::parse(
        lb.tags
            .present()
            .and_then(|t| t.get(APPLIED_TAG))
            .map(String::as_str),
    );
    let live_digests = bucket_digests(b, Some(lb));
    let start = cs.changes.len();

    // Policy.
    if let Setting::Present(_) | Setting::Absent = &lb.policy {
        super::bucket_policy::diff(b, lb, cs);
    }
    super::key::diff_encryption(b, Some(lb), cs);
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
            cs.changes.push(c);
        }
    }
    // Ownership.
    if let Some(want) = b.ownership {
        let write = Write::PutBucketOwnership {
            bucket: b.name.clone(),
            ownership: want,
        };
        let have = lb.ownership.present().copied();
        let show = |o: ObjectOwnership| json!(o.as_str());
        let address = Address::BucketOwnership(key.clone());
        if let Some(mut c) = declared_value(address, want, have, write, show) {
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
            cs.changes.push(c);
        }
    }
    // Public access block.
    if let Some(want) = b.public_access_block {
        let write = Write::PutPublicAccessBlock {
            bucket: b.name.clone(),
            config: want,
        };
        let have = lb.public_access_block.present().copied();
        let address = Address::BucketPublicAccessBlock(key.clone());
        cs.changes
            .extend(declared_value(address, want, have, write, |p| json!(p)));
    }
    // Tags: declared keys only.
    let live_tags = lb.tags.present().cloned().unwrap_or_default();
    let write = Write::PutBucketTags {
        bucket: b.name.clone(),
        tags: b.tags.clone(),
    };
    cs.changes.extend(declared_tags(
        Address::BucketTags(key.clone()),
        &b.tags,
        &live_tags,
        write,
    ));
    close_existing(
        cs,
        start,
        resource,
        (recorded, live_digests),
        bucket_digests(b, None),
        tagging(&live_tags, &b.tags),
    );
    self_lockout_at_plan_time(b, ctx, cs);
}

/// The change that sets a declared value where AWS has `have` (`None`: not set), when the
/// two differ: a create when AWS has none, else an update; `show` gives a value's display.
fn declared_value<T: PartialEq + Copy>(
    address: Address,
    want: T,
    have: Option<T>,
    write: Write,
    show: impl Fn(T) -> serde_json::Value,
) -> Option<Change> {
    if have == Some(want) {
        return None;
    }
    let mut c = change(address, create_or_update(have.is_some()), write);
    c.before = have.map(&show);
    c.after = Some(show(want));
    Some(c)
}

/// Re-runs the self-lockout check with the identity that will apply, when the plan writes the
/// bucket policy (a policy already in place is not made worse by leaving it).
pub(super) fn self_lockout_at_plan_time(b: &Bucket, ctx: &Context, cs: &mut ChangeSet) {
    let writes = cs.changes.iter().any(|c| {
        c.address == Address::BucketPolicy(b.key.clone())
            && matches!(c.write, Write::PutBucketPolicy { .. })
    });
    if writes {
        self_lockout_findings(b, ctx, cs);
    }
}

pub(super) fn self_lockout_findings(b: &Bucket, ctx: &Context, cs: &mut ChangeSet) {
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

/// Digests of a bucket's managed settings: desired (`live = None`) or live.
pub fn bucket_digests(b: &Bucket, live: Option<&LiveBucket>) -> Digests {
    let mut d = Digests::new();
    match live {
        None => {
            d.insert("policy", statements_digest(&b.policy_statements));
            if b.acl == AclMode::Private {
                d.insert("acl", applied::digest("private"));
            }
            if let Some(o) = b.ownership {
                d.insert("ownership", applied::digest(o.as_str()));
            }
            if let Some(p) = b.public_access_block {
                d.insert("public_access_block", applied::digest(&format!("{p:?}")));
            }
            d.insert("tags", tags_digest(&b.tags, None));
            if let Some(e) = &b.encryption {
                d.insert("encryption", super::key::encryption_digest(Some(e)));
            }
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
                    d.insert("policy", applied::digest("unparseable"));
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
                d.insert("acl", applied::digest(&v));
            }
            if b.ownership.is_some() {
                let v = lb.ownership.present().map_or("absent", |o| o.as_str());
                d.insert("ownership", applied::digest(v));
            }
            if b.public_access_block.is_some() {
                let v = lb
                    .public_access_block
                    .present()
                    .map_or_else(|| "absent".to_string(), |p| format!("{p:?}"));
                d.insert("public_access_block", applied::digest(&v));
            }
            let live_tags = lb.tags.present().cloned().unwrap_or_default();
            d.insert("tags", tags_digest(&b.tags, Some(&live_tags)));
            if b.encryption.is_some() {
                d.insert(
                    "encryption",
                    super::key::encryption_digest(lb.encryption.present()),
                );
            }
        }
    }
    d
}
