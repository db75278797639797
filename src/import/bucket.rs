//! One live bucket as a `[buckets.KEY]` entry: ownership, public access block, ACL grants to
//! others, tags, and its policy as grants ([`grants`](super::grants)) plus the statements
//! kept verbatim, with a comment on everything the entry cannot say the same way.
//!
//! Pure: reads the [`BucketIn`] it is given; whether the entry really plans `No changes.` is
//! for the verification in [`import`](super::import) to find out.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use super::build::plan_tags;
use super::model::BucketOut;
use super::{BucketIn, grants};
use crate::desired::{AclMode, Bucket, PolicyMode, PublicAccessBlock, merge_sid_prefix, owns_sid};
use crate::policy::Statement;
use crate::policy::canonical::effective_version;
use crate::policy::lint;
use crate::state::LiveBucket;

/// The statements of a live bucket policy (none when absent or unparseable).
pub(super) fn policy_statements(b: &LiveBucket) -> &[Statement] {
    match b.policy.present().map(|d| &d.doc) {
        Some(Ok(doc)) => &doc.statements,
        _ => &[],
    }
}

/// The grants of a bucket policy to write in `merge` mode, when that mode reproduces it:
/// the policy holds statements this plan owns in `merge` mode (`owns_sid`: Sids `s3ward` +
/// the plan's name, as a plan of that name in `merge` mode wrote them, and the older
/// `s3ward` + a capital letter, which every merge plan claims) and every one of them is a
/// grant. The other statements (a colleague's, another plan's) are then left as they are,
/// which is less to manage than copying them into `extra_policy_statements` of an
/// authoritative policy. `None`: write the policy authoritatively, as before: no statement of
/// this plan's name (nothing says the bucket was shared; `--name` may not be the plan's), or
/// one that `merge` would write again (edited by hand, an old Sid, a grantee this import
/// cannot name).
pub(super) fn merge_grants(
    skeleton: &Bucket,
    plan_name: &str,
    statements: &[Statement],
    names: &mut grants::Names,
) -> Option<Vec<super::model::GrantOut>> {
    let prefix = merge_sid_prefix(plan_name);
    let owned: Vec<Statement> = statements
        .iter()
        .filter(|s| owns_sid(&prefix, s.sid()))
        .cloned()
        .collect();
    if owned.is_empty() {
        return None;
    }
    let merge = Bucket {
        policy_mode: PolicyMode::Merge,
        sid_prefix: prefix,
        ..skeleton.clone()
    };
    // On a copy: the principals and accounts a failed attempt named must not leak.
    let mut tried = names.clone();
    let m = grants::match_bucket(&merge, &owned, &mut tried, &BTreeSet::new());
    if !m.extras.is_empty() {
        return None;
    }
    *names = tried;
    Some(m.grants)
}

pub(super) fn bucket(
    b: &BucketIn,
    key: &str,
    (account_key, account_id): (&str, &str),
    plan_name: &str,
    settings_region: Option<&str>,
    names: &mut grants::Names,
    all_extras: bool,
) -> BucketOut {
    let live = &b.live;
    let mut comments = Vec::new();
    let statements = policy_statements(live);
    let public = statements.iter().any(lint::is_public_statement);
    let mut public_access_block = live.public_access_block.present().copied();
    if public && public_access_block.is_none() {
        public_access_block = Some(PublicAccessBlock::all(false));
        comments.push(
            "The policy is public and the bucket has no public access block. s3ward accepts a \
             public policy only with `block_public_access = false` declared, so the first apply \
             creates a block with every flag off: access does not change."
                .into(),
        );
    } else if public && public_access_block.is_some_and(|p| !p.allows_public_policy()) {
        comments.push(
            "The policy is public, but the public access block blocks public policies: AWS \
             ignores the public statements (RestrictPublicBuckets) or refuses to write them \
             again (BlockPublicPolicy). s3ward refuses such a plan file; decide which should go."
                .into(),
        );
    }
    let skeleton = Bucket {
        key: key.to_string(),
        name: b.name.clone(),
        account: account_key.to_string(),
        account_id: account_id.to_string(),
        region: Some(b.region.clone()),
        create: true,
        ownership: live.ownership.present().copied(),
        public_access_block,
        acl: AclMode::Private,
        policy_mode: PolicyMode::Authoritative,
        sid_prefix: "s3ward".into(),
        policy_statements: Vec::new(),
        tags: BTreeMap::new(),
        encryption: None,
        grants: Vec::new(),
        models: Vec::new(),
    };
    let merged = (!all_extras)
        .then(|| merge_grants(&skeleton, plan_name, statements, names))
        .flatten();
    let merge = merged.is_some();
    let (grants, extras, extras_comments) = if let Some(grants) = merged {
        (grants, Vec::new(), Vec::new())
    } else if all_extras {
        let why = if statements.iter().any(Statement::is_s3ward) {
            " (grants read from its s3ward statements did not write the same policy again)"
        } else {
            ""
        };
        (
            Vec::new(),
            statements.to_vec(),
            vec![format!(
                "The bucket policy's statements, kept as they are{why}."
            )],
        )
    } else {
        let m = grants::match_bucket(&skeleton, statements, names, &BTreeSet::new());
        let mut why = Vec::new();
        let in_unmatched = |s: &Statement| {
            s.sid()
                .and_then(grants::split_part)
                .is_some_and(|(stem, _)| m.unmatched_stems.iter().any(|u| u == stem))
        };
        let foreign = m.extras.iter().filter(|s| !in_unmatched(s)).count();
        if foreign > 0 {
            why.push(format!(
                "{foreign} statement{} that s3ward's grants do not write",
                if foreign == 1 { "" } else { "s" }
            ));
        }
        if !m.unmatched_stems.is_empty() {
            why.push(format!(
                "statements named like a grant's ({}) that differ from what the grant would \
                 write now, or name a grantee this plan file cannot name the same way",
                m.unmatched_stems
                    .iter()
                    .map(|s| format!("`{s}…`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let c = if m.extras.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "Kept verbatim from the live policy: {}.",
                why.join("; and ")
            )]
        };
        (m.grants, m.extras, c)
    };
    if let Some(d) = live.policy.present() {
        match &d.doc {
            Err(e) => comments.push(format!(
                "The live bucket policy is not a valid policy document ({e}); it is left out, \
                 and plan will replace it."
            )),
            Ok(doc) if effective_version(doc) != "2012-10-17" => comments.push(format!(
                "The live policy's `Version` is {} and it holds `${{…}}`, which that version \
                 reads as text; s3ward writes `2012-10-17`, where `${{…}}` is a policy variable, \
                 which plan will show as an update.",
                doc.version.as_deref().unwrap_or("missing")
            )),
            Ok(_) => {}
        }
    }
    let (tags, tag_comment) = plan_tags(live.tags.present().unwrap_or(&BTreeMap::new()));
    comments.extend(tag_comment);
    let acl_grants = live
        .acl
        .present()
        .map(|a| a.foreign_grants().into_iter().cloned().collect())
        .unwrap_or_default();
    BucketOut {
        key: key.to_string(),
        account: account_key.to_string(),
        merge,
        name: b.name.clone(),
        region: (settings_region != Some(b.region.as_str())).then(|| b.region.clone()),
        ownership: skeleton.ownership,
        public_access_block,
        acl_grants,
        tags,
        grants,
        extras,
        extras_comments,
        comments,
        encryption: None,
        encryption_comment: None,
    }
}
